//! Draws that every run of one seed shares.
//!
//! The arrival times, the user of each request and each request's base service time
//! depend only on the traffic, the service's latency distribution and the seed — never
//! on the strategy (see [`crate::model::traffic`] and [`crate::des::rng`]). A batch runs
//! a no-rollout baseline and one run per strategy on every seed; drawing these once per
//! seed into a [`RequestTape`] and handing it to each of them saves the repeated work
//! (an exponential, the log-normal quantile and three mixes per request) without changing a
//! single result: a run with a tape is the same run as without one.

use crate::des::time::Time;
use crate::model::service::ServiceTimes;
use crate::model::traffic::{ArrivalProcess, Users};
use crate::scenario::Scenario;

/// The shared per-request draws of one scenario and seed, indexed by request id.
#[derive(Debug)]
pub struct RequestTape {
    /// What the draws depend on, to refuse a tape made for another scenario or seed.
    fingerprint: Option<String>,
    arrivals: Vec<Time>,
    users: Vec<u32>,
    base_us: Vec<f64>,
}

/// The largest tape a batch builds, in expected requests: 20 bytes each, so at most
/// 160 MB per worker thread. Longer or busier scenarios draw as they go.
pub const MAX_REQUESTS: f64 = 8e6;

/// The memory of a finished tape, for the next seed's tape to be drawn into: a batch
/// worker keeps one and so allocates (and the kernel zeroes) its tens of megabytes once,
/// not once per seed.
#[derive(Debug, Default)]
pub struct TapeStorage {
    arrivals: Vec<Time>,
    users: Vec<u32>,
    base_us: Vec<f64>,
}

impl RequestTape {
    /// The tape of `scenario`'s seed, or `None` when it would hold more than
    /// [`MAX_REQUESTS`] requests on average.
    pub fn bounded(scenario: &Scenario) -> Option<RequestTape> {
        Self::bounded_in(scenario, TapeStorage::default())
    }

    /// [`bounded`](Self::bounded), drawn into `storage`.
    pub fn bounded_in(scenario: &Scenario, storage: TapeStorage) -> Option<RequestTape> {
        (request_bound(scenario) <= MAX_REQUESTS).then(|| RequestTape::new_in(scenario, storage))
    }

    /// Draws every request of `scenario`'s seed.
    pub fn new(scenario: &Scenario) -> RequestTape {
        Self::new_in(scenario, TapeStorage::default())
    }

    /// [`new`](Self::new), drawn into `storage`.
    pub fn new_in(scenario: &Scenario, storage: TapeStorage) -> RequestTape {
        let seed = scenario.seed;
        let end = scenario.duration.time();
        let mut process = ArrivalProcess::new(&scenario.traffic, seed, end);
        let users = Users::new(&scenario.traffic, seed);
        let service = ServiceTimes::new(&scenario.service.latency, seed);
        let expected = (request_bound(scenario) * 1.01).clamp(0.0, MAX_REQUESTS) as usize + 16;
        let TapeStorage { mut arrivals, users: mut who, mut base_us } = storage;
        arrivals.clear();
        who.clear();
        base_us.clear();
        arrivals.reserve(expected);
        who.reserve(expected);
        base_us.reserve(expected);
        let mut tape = RequestTape { fingerprint: fingerprint(scenario), arrivals, users: who, base_us };
        let mut id = 0u64;
        while let Some(t) = process.next_arrival() {
            tape.arrivals.push(t);
            tape.users.push(users.user_of_request(id));
            tape.base_us.push(service.base_micros(id));
            id += 1;
        }
        tape
    }

    /// Gives the tape's memory back for the next one.
    pub fn into_storage(self) -> TapeStorage {
        TapeStorage { arrivals: self.arrivals, users: self.users, base_us: self.base_us }
    }

    /// Whether this tape holds `scenario`'s draws (same seed, duration, traffic and
    /// service latency).
    pub fn fits(&self, scenario: &Scenario) -> bool {
        self.fingerprint.is_some() && self.fingerprint == fingerprint(scenario)
    }

    /// Number of requests on the tape.
    pub fn len(&self) -> usize {
        self.arrivals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.arrivals.is_empty()
    }

    #[inline]
    pub fn arrival(&self, id: u64) -> Option<Time> {
        self.arrivals.get(id as usize).copied()
    }

    #[inline]
    pub fn user(&self, id: u64) -> u32 {
        self.users[id as usize]
    }

    #[inline]
    pub fn base_micros(&self, id: u64) -> f64 {
        self.base_us[id as usize]
    }
}

/// Arrivals on average over the scenario, or more (the peak rate stands in for the mean
/// of ramps, spikes, steps and traces).
fn request_bound(s: &Scenario) -> f64 {
    let secs = s.duration.time().as_secs_f64();
    s.traffic.rate.mean_rps(secs) * secs
}

fn fingerprint(s: &Scenario) -> Option<String> {
    let key = (s.seed, s.duration.time().as_micros(), &s.traffic, &s.service.latency);
    ron::to_string(&key).ok()
}
