//! What a run measures: totals, per-second series, latency histograms and the sets
//! of users who were served by the new version, saw failures or mixed versions.
//!
//! Memory is fixed per user and per simulated second; it does not grow with the number
//! of requests.

pub mod ab;
pub mod histogram;
pub mod stats;
pub mod summary;

use serde::Serialize;

pub use histogram::Histogram;
pub use summary::{BaselineTotals, RolloutRecord, RunRecord, ServiceSummary, Summary};

use crate::des::time::Time;
use crate::model::fleet::POOLS;

/// One slice (a simulated second) of a [`Tap`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Slice {
    pub ended: u32,
    pub failed: u32,
    /// Requests answered by an instance (success or error), and their summed latency.
    pub answered: u32,
    pub latency_sum_us: f64,
}

/// Tap on every request that ran the new code, whatever its pool (see [`Recorder::open_tap`]).
pub const NEW_CODE: u8 = u8::MAX;

/// What an analysis reads: the requests one pool ended (or, with [`NEW_CODE`], the
/// requests that ran the new code) since the tap was opened or last taken, in total, as a
/// latency histogram, and per simulated second.
#[derive(Clone, Debug)]
pub struct Tap {
    pub pool: u8,
    pub ended: u64,
    pub failed: u64,
    pub latency: Histogram,
    /// Closed seconds.
    pub slices: Vec<Slice>,
    current: Slice,
}

impl Tap {
    pub fn new(pool: u8) -> Tap {
        Tap { pool, ended: 0, failed: 0, latency: Histogram::new(), slices: Vec::new(), current: Slice::default() }
    }

    #[inline]
    pub fn record(&mut self, failed: bool, answered: bool, latency: Time) {
        self.ended += 1;
        self.current.ended += 1;
        if failed {
            self.failed += 1;
            self.current.failed += 1;
        }
        if answered {
            self.latency.record(latency.as_micros());
            self.current.answered += 1;
            self.current.latency_sum_us += latency.as_micros() as f64;
        }
    }
}

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
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SecondRecord {
    /// Start of the second, seconds since the run began.
    pub t: u32,
    pub arrivals: u32,
    /// Per pool: `[stable, new, baseline]`.
    pub success: [u32; POOLS],
    pub error: [u32; POOLS],
    pub timeout: [u32; POOLS],
    /// Refused by a full queue of an instance of that pool.
    pub rejected: [u32; POOLS],
    /// Refused at the load balancer: no ready instance.
    pub no_backend: u32,
    pub latency_mean_ms: Option<f32>,
    pub latency_p50_ms: Option<f32>,
    pub latency_p99_ms: Option<f32>,
    pub ready: [u16; POOLS],
    /// Mirrored copies that ended on the new version, and those that failed there
    /// (users never see them).
    pub shadow: u32,
    pub shadow_failed: u32,
    /// Instances alive at the end of the second (including booting and draining).
    pub alive: u16,
    /// Share of traffic routed to the new version at the end of the second, percent.
    pub share_new_pct: f32,
    /// Distinct users with at least one failed request so far.
    pub impacted_users: u32,
    /// Cost so far.
    pub cost: f64,
}

impl SecondRecord {
    pub fn ended(&self) -> u64 {
        (0..POOLS).map(|v| (self.success[v] + self.error[v] + self.timeout[v] + self.rejected[v]) as u64).sum::<u64>()
            + self.no_backend as u64
    }
    /// Percentage of the requests that ended in this second that failed (0 if none ended).
    pub fn failed_pct(&self) -> f64 {
        let ended = self.ended();
        if ended == 0 { 0.0 } else { 100.0 * (ended - self.succeeded()) as f64 / ended as f64 }
    }

    pub fn succeeded(&self) -> u64 {
        self.success.iter().map(|&x| x as u64).sum()
    }
}

/// A fixed-size set of user ids.
#[derive(Clone, Debug, Default)]
pub struct UserSet {
    words: Vec<u64>,
}

impl UserSet {
    pub fn new(n: u32) -> UserSet {
        UserSet { words: vec![0; (n as usize).div_ceil(64)] }
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
    /// Adds the members of `a` that are not in `b` (sets of the same population).
    pub fn insert_difference(&mut self, a: &UserSet, b: &UserSet) {
        for ((w, x), y) in self.words.iter_mut().zip(&a.words).zip(&b.words) {
            *w |= x & !y;
        }
    }
    /// Adds the members of `other` (a set of the same population).
    pub fn insert_all(&mut self, other: &UserSet) {
        for (w, x) in self.words.iter_mut().zip(&other.words) {
            *w |= x;
        }
    }
    /// Members of `self` that are not in `other`.
    pub fn count_minus(&self, other: &UserSet) -> u64 {
        self.words.iter().zip(&other.words).map(|(a, b)| (a & !b).count_ones() as u64).sum()
    }
}

/// The time bits of a session word: all ones before a user's first request.
const NEVER: u64 = (1 << 62) - 1;
/// The session word's bits for the code a session met.
const STABLE_MET: u64 = 1 << 62;
const NEW_MET: u64 = 1 << 63;

/// Collects everything a run measures.
#[derive(Clone, Debug)]
pub struct Recorder {
    /// `[stable, new, baseline, no backend][success, error, timeout, rejected]`.
    pub totals: [[u64; 4]; POOLS + 1],
    /// Mirrored copies that ended, and those that failed.
    pub shadow: u64,
    pub shadow_failed: u64,
    taps: Vec<Option<Tap>>,
    /// The running A/B experiment's counts.
    pub ab: Option<ab::AbTally>,
    pub arrivals: u64,
    pub latency: Histogram,
    second_latency: Histogram,
    pub cur: SecondRecord,
    pub series: Vec<SecondRecord>,
    pub active_users: UserSet,
    pub failed_users: UserSet,
    /// Size of `failed_users`, kept as it grows.
    pub failed_user_count: u64,
    pub exposed_users: UserSet,
    pub mixed_users: UserSet,
    /// Per user, one word: when the user's last request arrived (µs, [`NEVER`] before
    /// the first) in the low 62 bits, and which code its current session met in the top
    /// two (bit 62 the stable code, bit 63 the new). One word, so an arrival and its start
    /// touch one cache line of a user.
    sessions: Vec<u64>,
    session_gap: u64,
    /// First request that failed on the new version.
    pub first_new_failure: Option<Time>,
    /// A running hash of every arrival's time and user: two runs with equal digests saw
    /// the same arrival sequence.
    pub arrival_digest: u64,
    /// Keep only what a summary compares a run against: see
    /// [`keep_totals_only`](Self::keep_totals_only).
    totals_only: bool,
    /// Users with a failed request since [`note_failed_users`](Self::note_failed_users).
    pub failed_users_since: Option<UserSet>,
    /// Keep what a summary reads of a run: see [`keep_summary_only`](Self::keep_summary_only).
    summary_only: bool,
}

impl Recorder {
    pub fn new(users: u32, session_gap: Time, seconds: usize) -> Recorder {
        Recorder {
            totals: [[0; 4]; POOLS + 1],
            shadow: 0,
            shadow_failed: 0,
            taps: Vec::new(),
            ab: None,
            arrivals: 0,
            latency: Histogram::new(),
            second_latency: Histogram::new(),
            cur: SecondRecord::default(),
            series: Vec::with_capacity(seconds),
            active_users: UserSet::new(users),
            failed_users: UserSet::new(users),
            failed_user_count: 0,
            exposed_users: UserSet::new(users),
            mixed_users: UserSet::new(users),
            sessions: vec![NEVER; users as usize],
            session_gap: session_gap.as_micros(),
            first_new_failure: None,
            arrival_digest: 0,
            totals_only: false,
            failed_users_since: None,
            summary_only: false,
        }
    }

    /// Records from now on only what [`Summary::compute`] reads of a baseline: the
    /// arrival count, the outcome totals and the users with a failed request. No latency
    /// histograms, per-second series, sessions, exposure or arrival digest. For a
    /// no-rollout run used only as a batch's baseline.
    pub fn keep_totals_only(&mut self) {
        self.totals_only = true;
    }

    /// Records from now on what [`Summary::compute`] reads of a run: every total, user
    /// set and latency histogram, and the per-second counts, but no per-second latency
    /// (the series' `latency_*` stay empty) and no arrival digest. For a batch's runs,
    /// of which only the summary is kept.
    pub fn keep_summary_only(&mut self) {
        self.summary_only = true;
    }

    /// Notes from now on, apart from `failed_users`, which users have a failed request.
    pub fn note_failed_users(&mut self) {
        self.failed_users_since = Some(UserSet::new(self.user_count()));
    }

    /// A request of `user` arrived; returns true when it starts a new session.
    #[inline]
    pub fn arrival(&mut self, user: u32, now: Time) -> bool {
        if self.totals_only {
            self.arrivals += 1;
            return false;
        }
        if !self.summary_only {
            self.arrival_digest = crate::des::rng::mix64(self.arrival_digest ^ now.as_micros() ^ ((user as u64) << 40));
        }
        self.arrivals += 1;
        self.cur.arrivals += 1;
        self.active_users.insert(user);
        let u = user as usize;
        // Runs last days at most (`MAX_SIM_DURATION_S`), far below 2^62 µs.
        let t = now.as_micros();
        debug_assert!(t < NEVER);
        let word = self.sessions[u];
        let last = word & NEVER;
        let new_session = last == NEVER || t.saturating_sub(last) > self.session_gap;
        self.sessions[u] = if new_session { t } else { (word & !NEVER) | t };
        new_session
    }

    /// A request of `user` started on an instance; `new_code` when it ran the new
    /// version's code (a new-pool instance, with its feature on where flags gate it).
    #[inline]
    pub fn served(&mut self, user: u32, new_code: bool) {
        if self.totals_only {
            return;
        }
        let word = &mut self.sessions[user as usize];
        *word |= if new_code { NEW_MET } else { STABLE_MET };
        let both = *word & (NEW_MET | STABLE_MET) == NEW_MET | STABLE_MET;
        if new_code {
            self.exposed_users.insert(user);
        }
        if both {
            self.mixed_users.insert(user);
        }
    }

    /// A request ended. `version` is the pool of the instance it reached, if any;
    /// `new_code` whether it ran the new version's code.
    #[inline(always)]
    pub fn finish(
        &mut self,
        user: u32,
        version: Option<u8>,
        new_code: bool,
        outcome: Outcome,
        latency: Time,
        now: Time,
    ) {
        let vi = version.map_or(POOLS, |v| v as usize);
        if self.totals_only {
            self.totals[vi][outcome as usize] += 1;
            if outcome.failed() {
                self.failed_user(user);
            }
            return;
        }
        if let Some(p) = version {
            for tap in self.taps.iter_mut().flatten() {
                if tap.pool == p || (new_code && tap.pool == NEW_CODE) {
                    let answered = matches!(outcome, Outcome::Success | Outcome::Error);
                    tap.record(outcome.failed(), answered, latency);
                }
            }
        }
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
            if !self.summary_only {
                self.second_latency.record(latency.as_micros());
            }
        }
        if outcome.failed() {
            self.failed_user(user);
            // The earliest, whatever order completions are counted in.
            if new_code && self.first_new_failure.is_none_or(|f| now < f) {
                self.first_new_failure = Some(now);
            }
        }
    }

    #[inline]
    fn failed_user(&mut self, user: u32) {
        if self.failed_users.insert(user) {
            self.failed_user_count += 1;
        }
        if let Some(since) = self.failed_users_since.as_mut() {
            since.insert(user);
        }
    }

    /// A mirrored copy ended on an instance of `pool`; nobody waits for it, but a
    /// failure there is still a failure of the new version (for detection time).
    pub fn finish_shadow(&mut self, pool: u8, failed: bool, latency: Time, now: Time) {
        self.shadow += 1;
        self.cur.shadow += 1;
        if failed {
            self.shadow_failed += 1;
            self.cur.shadow_failed += 1;
            if self.first_new_failure.is_none_or(|f| now < f) {
                self.first_new_failure = Some(now);
            }
        }
        for tap in self.taps.iter_mut().flatten() {
            if tap.pool == pool || tap.pool == NEW_CODE {
                tap.record(failed, true, latency);
            }
        }
    }

    /// Starts collecting the requests `pool` ends; returns the tap's id.
    pub fn open_tap(&mut self, pool: u8) -> usize {
        let tap = Some(Tap::new(pool));
        if let Some(i) = self.taps.iter().position(Option::is_none) {
            self.taps[i] = tap;
            i
        } else {
            self.taps.push(tap);
            self.taps.len() - 1
        }
    }

    /// What the tap collected since it was opened or last taken; it starts afresh.
    pub fn take_tap(&mut self, id: usize) -> Option<Tap> {
        let slot = self.taps.get_mut(id)?;
        let pool = slot.as_ref()?.pool;
        slot.replace(Tap::new(pool))
    }

    pub fn close_tap(&mut self, id: usize) {
        if let Some(slot) = self.taps.get_mut(id) {
            *slot = None;
        }
    }

    /// Closes the current second with the fleet's state at its end.
    pub fn close_second(&mut self, ready: [u16; POOLS], alive: u16, share_new: f64, cost: f64) {
        if self.totals_only {
            return;
        }
        for tap in self.taps.iter_mut().flatten() {
            let s = std::mem::take(&mut tap.current);
            tap.slices.push(s);
        }
        let mut rec = std::mem::take(&mut self.cur);
        if !self.summary_only {
            let h = &self.second_latency;
            rec.latency_mean_ms = h.mean().map(|m| (m / 1e3) as f32);
            let [p50, p99] = h.quantiles([0.5, 0.99]);
            rec.latency_p50_ms = p50.map(|m| (m / 1e3) as f32);
            rec.latency_p99_ms = p99.map(|m| (m / 1e3) as f32);
            self.second_latency.clear();
        }
        rec.ready = ready;
        rec.alive = alive;
        rec.share_new_pct = (share_new * 100.0) as f32;
        rec.impacted_users = self.failed_user_count as u32;
        rec.cost = cost;
        let t = self.series.len() as u32;
        rec.t = t;
        self.series.push(rec);
        self.cur.t = t + 1;
    }

    /// Size of the user population.
    pub fn user_count(&self) -> u32 {
        self.sessions.len() as u32
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
