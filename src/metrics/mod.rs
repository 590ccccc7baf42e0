//! What a run measures: totals, per-second series, latency histograms and the sets
//! of users who were served by the new version, saw failures or mixed versions.
//!
//! Memory is fixed per user and per simulated second; it does not grow with the number
//! of requests.

pub mod histogram;
pub mod stats;
pub mod summary;

use serde::Serialize;

pub use histogram::Histogram;
pub use summary::Summary;

use crate::sim::time::Time;

/// How a request ended. Every request ends exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The instance answered with an error, crashed or was drained while serving it.
    Error,
    /// The client gave up.
    Timeout,
    /// Refused: a full instance queue, or no ready instance at the load balancer (503).
    Rejected,
}

impl Outcome {
    pub fn failed(self) -> bool {
        self != Outcome::Success
    }
}

/// One simulated second. Requests are counted in the second they ended.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SecondRecord {
    /// Start of the second, seconds since the run began.
    pub t: u32,
    pub arrivals: u32,
    /// Per version: `[stable, new]`.
    pub success: [u32; 2],
    pub error: [u32; 2],
    pub timeout: [u32; 2],
    /// Refused by a full queue of that version's instance.
    pub rejected: [u32; 2],
    /// Refused at the load balancer: no ready instance.
    pub no_backend: u32,
    pub latency_mean_ms: Option<f32>,
    pub latency_p50_ms: Option<f32>,
    pub latency_p99_ms: Option<f32>,
    pub ready: [u16; 2],
    /// Instances alive at the end of the second (including booting and draining).
    pub alive: u16,
    /// Share of traffic routed to the new version at the end of the second, percent.
    pub share_new_pct: f32,
    /// Cost so far.
    pub cost: f64,
}

impl SecondRecord {
    pub fn ended(&self) -> u64 {
        (0..2)
            .map(|v| (self.success[v] + self.error[v] + self.timeout[v] + self.rejected[v]) as u64)
            .sum::<u64>()
            + self.no_backend as u64
    }
    pub fn succeeded(&self) -> u64 {
        (self.success[0] + self.success[1]) as u64
    }
}

/// A fixed-size set of user ids.
#[derive(Clone, Debug, Default)]
pub struct UserSet {
    words: Vec<u64>,
}

impl UserSet {
    pub fn new(n: u32) -> UserSet {
        UserSet {
            words: vec![0; (n as usize).div_ceil(64)],
        }
    }
    /// Inserts; returns whether it was new.
    #[inline]
    pub fn insert(&mut self, u: u32) -> bool {
        let w = &mut self.words[(u >> 6) as usize];
        let bit = 1u64 << (u & 63);
        let new = *w & bit == 0;
        *w |= bit;
        new
    }
    #[inline]
    pub fn contains(&self, u: u32) -> bool {
        self.words[(u >> 6) as usize] & (1u64 << (u & 63)) != 0
    }
    pub fn len(&self) -> u64 {
        self.words.iter().map(|w| w.count_ones() as u64).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Members of `self` that are not in `other`.
    pub fn count_minus(&self, other: &UserSet) -> u64 {
        self.words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| (a & !b).count_ones() as u64)
            .sum()
    }
}

/// Collects everything a run measures.
#[derive(Clone, Debug)]
pub struct Recorder {
    /// `[stable, new, no backend][success, error, timeout, rejected]`.
    pub totals: [[u64; 4]; 3],
    pub arrivals: u64,
    pub latency: Histogram,
    second_latency: Histogram,
    pub cur: SecondRecord,
    pub series: Vec<SecondRecord>,
    pub active_users: UserSet,
    pub failed_users: UserSet,
    pub exposed_users: UserSet,
    pub mixed_users: UserSet,
    last_seen: Vec<u64>,
    session_mask: Vec<u8>,
    session_gap: u64,
    /// First request that failed on the new version.
    pub first_new_failure: Option<Time>,
    /// A running hash of every arrival's time and user: two runs with equal digests saw
    /// the same arrival sequence.
    pub arrival_digest: u64,
}

impl Recorder {
    pub fn new(users: u32, session_gap: Time, seconds: usize) -> Recorder {
        Recorder {
            totals: [[0; 4]; 3],
            arrivals: 0,
            latency: Histogram::new(),
            second_latency: Histogram::new(),
            cur: SecondRecord::default(),
            series: Vec::with_capacity(seconds),
            active_users: UserSet::new(users),
            failed_users: UserSet::new(users),
            exposed_users: UserSet::new(users),
            mixed_users: UserSet::new(users),
            last_seen: vec![u64::MAX; users as usize],
            session_mask: vec![0; users as usize],
            session_gap: session_gap.as_micros(),
            first_new_failure: None,
            arrival_digest: 0,
        }
    }

    #[inline]
    pub fn arrival(&mut self, user: u32, now: Time) {
        self.arrival_digest =
            crate::sim::rng::mix64(self.arrival_digest ^ now.as_micros() ^ ((user as u64) << 40));
        self.arrivals += 1;
        self.cur.arrivals += 1;
        self.active_users.insert(user);
    }

    /// A request of `user` was handed to an instance of `version`.
    #[inline]
    pub fn served(&mut self, user: u32, version: u8, now: Time) {
        let u = user as usize;
        let t = now.as_micros();
        let last = self.last_seen[u];
        if last == u64::MAX || t.saturating_sub(last) > self.session_gap {
            self.session_mask[u] = 0;
        }
        self.last_seen[u] = t;
        self.session_mask[u] |= 1 << version;
        if version == 1 {
            self.exposed_users.insert(user);
        }
        if self.session_mask[u] == 3 {
            self.mixed_users.insert(user);
        }
    }

    /// A request ended. `version` is that of the instance it reached, if any.
    #[inline]
    pub fn finish(
        &mut self,
        user: u32,
        version: Option<u8>,
        outcome: Outcome,
        latency: Time,
        now: Time,
    ) {
        let vi = version.map_or(2, |v| v as usize);
        self.totals[vi][outcome as usize] += 1;
        let c = &mut self.cur;
        match (outcome, version) {
            (_, None) => c.no_backend += 1,
            (Outcome::Success, Some(v)) => c.success[v as usize] += 1,
            (Outcome::Error, Some(v)) => c.error[v as usize] += 1,
            (Outcome::Timeout, Some(v)) => c.timeout[v as usize] += 1,
            (Outcome::Rejected, Some(v)) => c.rejected[v as usize] += 1,
        }
        if matches!(outcome, Outcome::Success | Outcome::Error) && version.is_some() {
            self.latency.record(latency.as_micros());
            self.second_latency.record(latency.as_micros());
        }
        if outcome.failed() {
            self.failed_users.insert(user);
            if version == Some(1) && self.first_new_failure.is_none() {
                self.first_new_failure = Some(now);
            }
        }
    }

    /// Closes the current second with the fleet's state at its end.
    pub fn close_second(&mut self, ready: [u16; 2], alive: u16, share_new: f64, cost: f64) {
        let mut rec = std::mem::take(&mut self.cur);
        let h = &self.second_latency;
        rec.latency_mean_ms = h.mean().map(|m| (m / 1e3) as f32);
        rec.latency_p50_ms = h.quantile(0.5).map(|m| (m / 1e3) as f32);
        rec.latency_p99_ms = h.quantile(0.99).map(|m| (m / 1e3) as f32);
        rec.ready = ready;
        rec.alive = alive;
        rec.share_new_pct = (share_new * 100.0) as f32;
        rec.cost = cost;
        self.second_latency.clear();
        let t = self.series.len() as u32;
        rec.t = t;
        self.series.push(rec);
        self.cur.t = t + 1;
    }

    pub fn ended(&self) -> u64 {
        self.totals.iter().flatten().sum()
    }

    pub fn failed(&self) -> u64 {
        self.totals.iter().map(|v| v[1] + v[2] + v[3]).sum()
    }

    pub fn outcome_total(&self, o: Outcome) -> u64 {
        self.totals.iter().map(|v| v[o as usize]).sum()
    }
}
