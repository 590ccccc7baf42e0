//! The serverless engine: a discrete-event simulation of one function's execution
//! environments behind a weighted alias while AWS CodeDeploy shifts the alias from
//! version 1 to version 2.
//!
//! Semantics, from the AWS Lambda developer guide:
//! - An execution environment serves one request at a time; a request that finds no idle
//!   environment of its version gets a new one, which first runs the INIT phase (a cold
//!   start) — "Understanding the Lambda execution environment lifecycle",
//!   <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>.
//!   Among idle environments the most recently used one is taken (Lambda does not say
//!   which; this choice lets the least recently used ones age out, as scale-to-zero needs).
//! - Concurrency is "the number of in-flight requests your function is handling at the
//!   same time"; above the reserved concurrency, invocations are throttled with HTTP 429
//!   `TooManyRequestsException` — "Understanding Lambda function scaling" and
//!   "Configuring reserved concurrency",
//!   <https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html>. Idle
//!   environments do not count, so the limit is a loss system (Erlang's M/G/c/c).
//! - An environment idle for `idle_timeout` is shut down (Lambda keeps it "for some
//!   time in anticipation of another invocation"; the time is not documented).
//! - A weighted alias sends each invocation to the additional version with its weight,
//!   independently per request, with no stickiness — "Implement Lambda canary deployments
//!   using a weighted alias",
//!   <https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html>.
//! - Billing: requests, and duration "rounded up to the nearest 1 ms" ("New for AWS Lambda
//!   – 1ms Billing Granularity", AWS News Blog, 2020) times the configured memory in GB
//!   (MB / 1024) — <https://aws.amazon.com/lambda/pricing/>. Since 1 August 2025 the INIT
//!   phase of on-demand functions is billed as duration too ("AWS Lambda standardizes
//!   billing for INIT Phase", AWS Compute Blog, 2025); `bill_init: false` gives the old
//!   rule for ZIP functions on managed runtimes. Throttled invocations are not billed.
//!
//! Randomness is keyed by request id, as in the instance engine: arrivals and users come
//! from `model::traffic`, execution times from `model::service` (`streams::SERVICE`), the
//! alias draw from `streams::ROUTE_VERSION`, errors from `streams::ERROR`, init durations
//! from their own stream. Two runs of one scenario and seed are identical.
//!
//! Not modelled (gaps): provisioned concurrency, the burst scaling rate limit (1000
//! environments per 10 s per function), retries of asynchronous invocations, INIT phase
//! failures and the 10 s INIT limit, SnapStart, pre/post-traffic hooks.

use std::collections::VecDeque;

use serde::Serialize;

use crate::des::queue::EventQueue;
use crate::metrics::Summary;
use crate::metrics::histogram::Histogram;
use crate::metrics::{Outcome as RequestEnd, Recorder, RolloutRecord, RunRecord};
use crate::model::fleet::{NEW, POOLS, STABLE};
use crate::model::service::{ServiceTimes, VersionProfile};
use crate::model::traffic::{ArrivalProcess, Users};
use crate::scenario::Scenario;
use crate::scenario::serverless::ServerlessSpec;
use rand::RngExt;

use crate::des::rng::{Stream, streams};
use crate::des::time::Time;

/// Stream of init durations ("SLS-INIT"); distinct from every `streams::*` constant.
const INIT_STREAM: u64 = 0x534c_532d_494e_4954;

/// How one request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Error,
    /// Over the concurrency limit: 429 `TooManyRequestsException`.
    Throttled,
}

/// One finished request, as given to an observer (tests use it to check the engine's
/// counts independently).
#[derive(Clone, Copy, Debug)]
pub struct RequestOutcome {
    pub id: u64,
    pub user: u32,
    pub arrival: Time,
    /// 0: version 1 (running before the release), 1: version 2 (the release).
    pub version: u8,
    pub outcome: Outcome,
    pub cold: bool,
    /// INIT duration (zero for a warm start or a throttle).
    pub init: Time,
    /// Execution duration (zero for a throttle).
    pub exec: Time,
    /// Billed duration in whole milliseconds.
    pub billed_ms: u64,
    pub end: Time,
}

/// One second of the run; requests are counted in the second they ended, throttles in
/// the second they arrived. Index 0 is version 1, index 1 version 2.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct SecondRow {
    pub t: u64,
    pub requests: [u32; 2],
    pub errors: [u32; 2],
    pub throttles: [u32; 2],
    pub cold_starts: [u32; 2],
    /// Most requests in flight at once during the second.
    pub concurrency: u32,
    /// Most execution environments alive (busy or idle) during the second.
    pub environments: u32,
    /// The alias weight of version 2 at the end of the second, percent.
    pub weight_pct: f64,
}

/// An alias weight change.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema, PartialEq)]
pub struct WeightChange {
    pub t_s: f64,
    pub weight_pct: f64,
}

/// The result of a serverless run. Metric definitions are in the README.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ServerlessSummary {
    pub scenario: String,
    pub seed: u64,
    pub deployment: String,
    pub duration_s: f64,
    pub memory_mb: u64,
    pub concurrency_limit: u64,
    /// Requests that arrived.
    pub requests: u64,
    pub successes: u64,
    pub errors: u64,
    pub throttles: u64,
    /// Invocations that ran (successes + errors); these are billed.
    pub invocations: u64,
    pub cold_starts: u64,
    /// Cold starts / invocations.
    pub cold_start_share: f64,
    pub latency_mean_ms: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub peak_concurrency: u32,
    pub environments_created: u64,
    pub peak_environments: u32,
    pub billed_ms: u64,
    pub gb_seconds: f64,
    pub cost_requests: f64,
    pub cost_duration: f64,
    pub cost: f64,
    /// What `fleet.replicas` always-on instances at `fleet.instance.hourly_cost` cost
    /// over the same time, for comparison.
    pub always_on_cost: f64,
    pub always_on_instances: u64,
    /// `no_release`, `promoted`, `rolled_back` or `running`.
    pub outcome: String,
    pub release_at_s: Option<f64>,
    pub promoted_at_s: Option<f64>,
    pub rolled_back_at_s: Option<f64>,
    pub weight_timeline: Vec<WeightChange>,
    pub new_version_requests: u64,
    pub new_version_errors: u64,
    pub new_version_throttles: u64,
    pub active_users: u64,
    pub exposed_users: u64,
    /// Distinct users with at least one failed request served by version 2.
    pub blast_radius_users: u64,
    pub blast_radius_pct: f64,
    pub series: Vec<SecondRow>,
}

#[derive(Clone, Copy, Debug)]
enum Ev {
    Arrival(Time),
    Done(u32),
    Reclaim { env: u32, epoch: u32 },
    Deploy,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    NoRelease,
    Waiting,
    Shifting,
    Promoted,
    RolledBack,
}

#[derive(Clone, Copy, Debug, Default)]
struct Request {
    id: u64,
    user: u32,
    arrival: Time,
    cold: bool,
    init: Time,
    exec: Time,
    error: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Env {
    version: u8,
    busy: bool,
    epoch: u32,
    req: Request,
}

struct Bits(Vec<u64>);

impl Bits {
    fn new(n: u32) -> Bits {
        Bits(vec![0; (n as usize).div_ceil(64)])
    }
    fn set(&mut self, i: u32) {
        self.0[(i / 64) as usize] |= 1 << (i % 64);
    }
    fn count(&self) -> u64 {
        self.0.iter().map(|w| w.count_ones() as u64).sum()
    }
}

struct Engine<'a> {
    scenario: &'a Scenario,
    spec: &'a ServerlessSpec,
    horizon: Time,
    queue: EventQueue<Ev>,
    arrivals: ArrivalProcess,
    next_id: u64,
    users: Users,
    exec_times: ServiceTimes,
    init_times: ServiceTimes,
    route: Stream,
    error: Stream,
    profiles: [VersionProfile; 2],
    envs: Vec<Env>,
    free: Vec<u32>,
    idle: [VecDeque<u32>; 2],
    alive: u32,
    in_flight: u32,
    // deployment
    phase: Phase,
    weight: f64,
    schedule: Vec<(Time, f64)>,
    next_step: usize,
    release_at: Time,
    next_alarm: Option<Time>,
    alarm_seen: (u64, u64),
    timeline: Vec<WeightChange>,
    promoted_at: Option<Time>,
    rolled_back_at: Option<Time>,
    // metrics
    series: Vec<SecondRow>,
    cur_sec: u64,
    last_sec: u64,
    requests: u64,
    outcomes: [[u64; 3]; 2],
    cold_starts: u64,
    created: u64,
    peak_concurrency: u32,
    peak_envs: u32,
    billed_ms: u64,
    latency: Histogram,
    v2_done: (u64, u64),
    active: Bits,
    exposed: Bits,
    blast: Bits,
    /// The user's view, recorded as every engine records it (for the run summary).
    rec: Recorder,
    /// Environments alive per version.
    alive_v: [u32; 2],
    /// The integral of requests in the system up to the end, request·µs.
    request_area: u128,
}

/// The error of running a scenario without a `serverless` section serverless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the scenario has no `serverless` section")]
pub struct NoServerlessSection;

/// Runs a scenario with a `serverless` section. Errors if it has none.
pub fn run(scenario: &Scenario) -> Result<ServerlessSummary, NoServerlessSection> {
    run_observed(scenario, |_| {})
}

/// Runs a scenario with a `serverless` section, calling `observe` once for every
/// request when it ends (in order of ending).
pub fn run_observed(
    scenario: &Scenario,
    mut observe: impl FnMut(&RequestOutcome),
) -> Result<ServerlessSummary, NoServerlessSection> {
    let spec = scenario.serverless.as_ref().ok_or(NoServerlessSection)?;
    let mut e = Engine::new(scenario, spec);
    e.run(&mut observe);
    Ok(e.summary())
}

/// Runs the scenario and its no-release baseline (the same seed: the same arrivals,
/// users, execution times and error draws), and summarises the run against it in the
/// vocabulary of every run; beside it, the function's own report.
pub fn run_summarised(scenario: &Scenario) -> Result<(Summary, ServerlessSummary), NoServerlessSection> {
    summarised(scenario, false).map(|r| (r.summary, r.function))
}

/// [`run_summarised`], with the run's per-second series in the vocabulary of every run
/// (latency quantiles included) and its log (the alias's weight changes), for files.
pub fn run_recorded(scenario: &Scenario) -> Result<Recorded, NoServerlessSection> {
    summarised(scenario, true)
}

/// A summarised run with what it recorded (see [`run_recorded`]).
pub struct Recorded {
    pub summary: Summary,
    pub function: ServerlessSummary,
    pub series: Vec<crate::metrics::SecondRecord>,
    pub log: Vec<crate::strategy::LogEntry>,
}

fn summarised(scenario: &Scenario, full: bool) -> Result<Recorded, NoServerlessSection> {
    let spec = scenario.serverless.as_ref().ok_or(NoServerlessSection)?;
    let mut run = Engine::new(scenario, spec);
    if !full {
        run.rec.keep_summary_only();
    }
    run.run(&mut |_| {});
    let mut summary = if scenario.release.is_none() {
        Summary::compute(&run.record(), &run.record())
    } else {
        let mut b = scenario.clone();
        b.release = None;
        let mut base = Engine::new(&b, spec);
        base.rec.keep_summary_only();
        base.run(&mut |_| {});
        Summary::compute(&run.record(), &base.record())
    };
    let own = run.summary();
    summary.strategy = own.deployment.clone();
    if let Some(s) = summary.services.first_mut() {
        s.name = "function".into();
        s.cold_starts = own.cold_starts;
    }
    let log = own
        .weight_timeline
        .iter()
        .map(|w| crate::strategy::LogEntry {
            t: Time::from_secs_f64(w.t_s),
            text: format!("alias: {} % to version 2", w.weight_pct),
        })
        .collect();
    let series = std::mem::take(&mut run.rec.series);
    Ok(Recorded { summary, function: own, series, log })
}

impl<'a> Engine<'a> {
    fn new(scenario: &'a Scenario, spec: &'a ServerlessSpec) -> Engine<'a> {
        let seed = scenario.seed;
        let horizon = scenario.duration.time();
        let users = Users::new(&scenario.traffic, seed);
        let v1 = VersionProfile::stable(&scenario.fleet.version, &scenario.service);
        let (v2, phase, release_at) = match &scenario.release {
            Some(r) => {
                (VersionProfile::release(r, &scenario.service, |s| users.segment_index(s)), Phase::Waiting, r.at.time())
            }
            None => (v1.clone(), Phase::NoRelease, Time::MAX),
        };
        let n_users = users.count;
        // The second that holds the last instant before the end.
        let last_sec = horizon.saturating_sub(Time::from_micros(1)).whole_secs();
        let rec = Recorder::new(n_users, scenario.traffic.session_gap.time(), last_sec as usize + 1);
        let mut e = Engine {
            scenario,
            spec,
            horizon,
            queue: EventQueue::default(),
            arrivals: ArrivalProcess::new(&scenario.traffic, seed, horizon),
            next_id: 0,
            users,
            exec_times: ServiceTimes::new(&scenario.service.latency, seed),
            init_times: ServiceTimes::with_stream(&spec.init, seed, INIT_STREAM),
            route: Stream::new(seed, streams::ROUTE_VERSION),
            error: Stream::new(seed, streams::ERROR),
            profiles: [v1, v2],
            envs: Vec::new(),
            free: Vec::new(),
            idle: [VecDeque::new(), VecDeque::new()],
            alive: 0,
            in_flight: 0,
            phase,
            weight: 0.0,
            schedule: spec.deployment.schedule(),
            next_step: 0,
            release_at,
            next_alarm: None,
            alarm_seen: (0, 0),
            timeline: Vec::new(),
            promoted_at: None,
            rolled_back_at: None,
            series: vec![SecondRow::default()],
            cur_sec: 0,
            last_sec,
            requests: 0,
            outcomes: [[0; 3]; 2],
            cold_starts: 0,
            created: 0,
            peak_concurrency: 0,
            peak_envs: 0,
            billed_ms: 0,
            latency: Histogram::new(),
            v2_done: (0, 0),
            active: Bits::new(n_users),
            exposed: Bits::new(n_users),
            blast: Bits::new(n_users),
            rec,
            alive_v: [0; 2],
            request_area: 0,
        };
        if let Some(t) = e.arrivals.next_arrival() {
            e.queue.push(t, Ev::Arrival(t));
        }
        if matches!(e.phase, Phase::Waiting) {
            e.queue.push(release_at, Ev::Deploy);
        }
        e
    }

    fn run(&mut self, observe: &mut impl FnMut(&RequestOutcome)) {
        while let Some((t, ev)) = self.queue.pop() {
            match ev {
                Ev::Arrival(at) => {
                    self.advance(t);
                    self.arrive(at, observe);
                    if let Some(n) = self.arrivals.next_arrival() {
                        self.queue.push(n, Ev::Arrival(n));
                    }
                }
                Ev::Done(env) => {
                    self.advance(t);
                    self.done(t, env, observe);
                }
                Ev::Reclaim { env, epoch } => {
                    // Past the end nothing is measured any more.
                    if t < self.horizon {
                        self.advance(t);
                        self.reclaim(env, epoch);
                    }
                }
                Ev::Deploy => {
                    if t < self.horizon {
                        self.advance(t);
                        self.deploy(t);
                    }
                }
            }
        }
        // Fill the seconds after the last event up to the end.
        self.advance(self.horizon.saturating_sub(Time::from_micros(1)));
        while self.rec.series.len() <= self.last_sec as usize {
            self.close_recorded_second();
        }
        let mut w = 0.0;
        let mut k = 0;
        for row in &mut self.series {
            while k < self.timeline.len() && self.timeline[k].t_s < (row.t + 1) as f64 {
                w = self.timeline[k].weight_pct;
                k += 1;
            }
            row.weight_pct = w;
        }
    }

    fn sec_of(&self, t: Time) -> u64 {
        t.whole_secs().min(self.last_sec)
    }

    fn row(&mut self, t: Time) -> &mut SecondRow {
        let s = self.sec_of(t) as usize;
        &mut self.series[s]
    }

    /// Moves the series forward to `t`'s second; seconds without events carry the
    /// concurrency and environments of the moment.
    fn advance(&mut self, t: Time) {
        let s = self.sec_of(t);
        while (self.rec.series.len() as u64) < s {
            self.close_recorded_second();
        }
        while self.cur_sec < s {
            self.cur_sec += 1;
            self.series.push(SecondRow {
                t: self.cur_sec,
                concurrency: self.in_flight,
                environments: self.alive,
                ..SecondRow::default()
            });
        }
    }

    fn close_recorded_second(&mut self) {
        let mut ready = [0u16; POOLS];
        ready[STABLE as usize] = self.alive_v[0].min(u16::MAX as u32) as u16;
        ready[NEW as usize] = self.alive_v[1].min(u16::MAX as u32) as u16;
        let alive = self.alive.min(u16::MAX as u32) as u16;
        let cost = self.cost_so_far();
        self.rec.close_second(ready, alive, self.weight / 100.0, cost);
    }

    /// What was billed so far: requests and GB-seconds.
    fn cost_so_far(&self) -> f64 {
        let invocations: u64 = self.outcomes.iter().map(|o| o[0] + o[1]).sum();
        let gb_seconds = self.billed_ms as f64 / 1000.0 * (self.spec.memory_mb.0 as f64 / 1024.0);
        invocations as f64 * self.spec.price_per_million_requests / 1e6 + gb_seconds * self.spec.price_per_gb_second
    }

    /// A request ended: recorded for the summary like a request of any engine.
    fn record_end(&mut self, user: u32, arrival: Time, version: u8, end: RequestEnd, t: Time) {
        let upto = t.min(self.horizon);
        self.request_area += u128::from(upto.saturating_sub(arrival.min(self.horizon)).as_micros());
        let new = version == 1;
        let pool = if new { NEW } else { STABLE };
        if end != RequestEnd::Rejected {
            self.rec.served(user, new);
        }
        self.rec.finish(user, Some(pool), new, end, t - arrival, t);
    }

    fn note_levels(&mut self, t: Time) {
        let (f, a) = (self.in_flight, self.alive);
        let row = self.row(t);
        row.concurrency = row.concurrency.max(f);
        row.environments = row.environments.max(a);
        self.peak_concurrency = self.peak_concurrency.max(f);
        self.peak_envs = self.peak_envs.max(a);
    }

    fn arrive(&mut self, t: Time, observe: &mut impl FnMut(&RequestOutcome)) {
        let id = self.next_id;
        self.next_id += 1;
        self.requests += 1;
        let user = self.users.user_of_request(id);
        self.active.set(user);
        self.rec.arrival(user, t);
        let v = match self.phase {
            Phase::Shifting => u8::from(self.route.rng(id).random::<f64>() * 100.0 < self.weight),
            Phase::Promoted => 1,
            _ => 0,
        };
        let vi = v as usize;
        if self.in_flight >= self.spec.concurrency_limit.0 as u32 {
            self.outcomes[vi][2] += 1;
            self.row(t).throttles[vi] += 1;
            self.record_end(user, t, v, RequestEnd::Rejected, t);
            observe(&RequestOutcome {
                id,
                user,
                arrival: t,
                version: v,
                outcome: Outcome::Throttled,
                cold: false,
                init: Time::ZERO,
                exec: Time::ZERO,
                billed_ms: 0,
                end: t,
            });
            return;
        }
        let (env, cold) = match self.idle[vi].pop_back() {
            Some(env) => (env, false),
            None => {
                self.created += 1;
                self.alive += 1;
                self.alive_v[vi] += 1;
                let fresh = Env { version: v, ..Env::default() };
                let env = match self.free.pop() {
                    Some(i) => {
                        self.envs[i as usize] = Env { epoch: self.envs[i as usize].epoch.wrapping_add(1), ..fresh };
                        i
                    }
                    None => {
                        self.envs.push(fresh);
                        (self.envs.len() - 1) as u32
                    }
                };
                (env, true)
            }
        };
        let init = if cold { micros(self.init_times.base_micros(id)) } else { Time::ZERO };
        let p = &self.profiles[vi];
        let exec = micros(self.exec_times.base_micros(id) * p.latency_factor);
        let fail = p.failure_probability(self.users.segment(user), 0.0, 0.0);
        let error = self.error.rng(id).random::<f64>() < fail;
        let e = &mut self.envs[env as usize];
        e.busy = true;
        e.epoch = e.epoch.wrapping_add(1);
        e.req = Request { id, user, arrival: t, cold, init, exec, error };
        self.in_flight += 1;
        self.note_levels(t);
        self.queue.push(t + init + exec, Ev::Done(env));
    }

    fn done(&mut self, t: Time, env: u32, observe: &mut impl FnMut(&RequestOutcome)) {
        let e = &mut self.envs[env as usize];
        e.busy = false;
        let (v, r, epoch) = (e.version, e.req, e.epoch);
        let vi = v as usize;
        self.in_flight -= 1;
        self.idle[vi].push_back(env);
        if t < self.horizon {
            self.queue.push(t + self.spec.idle_timeout.time(), Ev::Reclaim { env, epoch });
        }
        let billed_us = r.exec.as_micros() + if self.spec.bill_init { r.init.as_micros() } else { 0 };
        let billed_ms = billed_us.div_ceil(1000);
        self.billed_ms += billed_ms;
        self.latency.record((r.init + r.exec).as_micros());
        self.outcomes[vi][usize::from(r.error)] += 1;
        if r.cold {
            self.cold_starts += 1;
        }
        if v == 1 {
            self.exposed.set(r.user);
            self.v2_done.0 += 1;
            if r.error {
                self.v2_done.1 += 1;
                self.blast.set(r.user);
            }
        }
        self.record_end(r.user, r.arrival, v, if r.error { RequestEnd::Error } else { RequestEnd::Success }, t);
        let row = self.row(t);
        row.requests[vi] += 1;
        row.errors[vi] += u32::from(r.error);
        row.cold_starts[vi] += u32::from(r.cold);
        observe(&RequestOutcome {
            id: r.id,
            user: r.user,
            arrival: r.arrival,
            version: v,
            outcome: if r.error { Outcome::Error } else { Outcome::Success },
            cold: r.cold,
            init: r.init,
            exec: r.exec,
            billed_ms,
            end: t,
        });
    }

    fn reclaim(&mut self, env: u32, epoch: u32) {
        let e = self.envs[env as usize];
        if e.busy || e.epoch != epoch {
            return; // used again since it went idle
        }
        let q = &mut self.idle[e.version as usize];
        // Idle times and the timeout are the same for all, so the oldest goes first.
        if let Some(pos) = q.iter().position(|&i| i == env) {
            q.remove(pos);
            self.alive -= 1;
            self.alive_v[e.version as usize] -= 1;
            self.envs[env as usize].epoch = epoch.wrapping_add(1);
            self.free.push(env);
        }
    }

    /// Alarm check (first, if due) and the next traffic shift, then the next wake-up.
    fn deploy(&mut self, t: Time) {
        if matches!(self.phase, Phase::Waiting) {
            self.phase = Phase::Shifting;
            self.next_alarm = self.spec.alarm.as_ref().map(|a| t + a.period.time());
            self.alarm_seen = self.v2_done;
        }
        if !matches!(self.phase, Phase::Shifting) {
            return;
        }
        if let (Some(due), Some(alarm)) = (self.next_alarm, &self.spec.alarm)
            && due <= t
        {
            let n = self.v2_done.0 - self.alarm_seen.0;
            let bad = self.v2_done.1 - self.alarm_seen.1;
            self.alarm_seen = self.v2_done;
            self.next_alarm = Some(due + alarm.period.time());
            if n >= alarm.min_requests.0 && bad as f64 > alarm.max_error_rate.0 * n as f64 {
                self.phase = Phase::RolledBack;
                self.rolled_back_at = Some(t);
                self.set_weight(t, 0.0);
                return;
            }
        }
        if let Some(&(off, w)) = self.schedule.get(self.next_step)
            && self.release_at + off <= t
        {
            self.next_step += 1;
            self.set_weight(t, w);
            if w >= 100.0 {
                self.phase = Phase::Promoted;
                self.promoted_at = Some(t);
                return;
            }
        }
        let next_shift = self.schedule.get(self.next_step).map(|&(off, _)| self.release_at + off);
        let next = match (next_shift, self.next_alarm) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(n) = next
            && n < self.horizon
        {
            self.queue.push(n, Ev::Deploy);
        }
    }

    fn set_weight(&mut self, t: Time, w: f64) {
        self.weight = w;
        self.timeline.push(WeightChange { t_s: t.as_secs_f64(), weight_pct: w });
    }

    /// What the run recorded, for the run summary.
    fn record(&self) -> RunRecord<'_> {
        let started = (!matches!(self.phase, Phase::NoRelease | Phase::Waiting)).then_some(self.release_at);
        RunRecord {
            scenario: self.scenario,
            metrics: &self.rec,
            rollout: RolloutRecord {
                outcome: match self.phase {
                    Phase::NoRelease => "no_rollout",
                    Phase::Waiting => "pending",
                    Phase::Shifting => "running",
                    Phase::Promoted => "promoted",
                    Phase::RolledBack => "rolled_back",
                },
                started,
                finished: self.promoted_at.or(self.rolled_back_at),
                abort_at: self.rolled_back_at,
                abort_reason: self.rolled_back_at.map(|_| "the CloudWatch alarm went off"),
                // The alias points back at version 1 at once.
                recovered_at: self.rolled_back_at,
                ab: None,
            },
            first_new_harm: self.rec.first_new_failure,
            end: self.horizon,
            cost: self.cost_so_far(),
            peak_instances: self.peak_envs as usize,
            request_seconds: self.request_area as f64 / 1e6,
        }
    }

    fn summary(&self) -> ServerlessSummary {
        let s = self.scenario;
        let spec = self.spec;
        let [a, b] = self.outcomes;
        let successes = a[0] + b[0];
        let errors = a[1] + b[1];
        let throttles = a[2] + b[2];
        let invocations = successes + errors;
        let gb = spec.memory_mb.0 as f64 / 1024.0;
        let gb_seconds = self.billed_ms as f64 / 1000.0 * gb;
        let cost_requests = invocations as f64 * spec.price_per_million_requests / 1e6;
        let cost_duration = gb_seconds * spec.price_per_gb_second;
        let hours = s.duration.as_secs_f64() / 3600.0;
        let [mean, p50, p99] = [self.latency.mean(), self.latency.quantile(0.5), self.latency.quantile(0.99)]
            .map(|v| v.map(|us| us / 1000.0));
        let active = self.active.count();
        let blast = self.blast.count();
        ServerlessSummary {
            scenario: s.name.clone(),
            seed: s.seed,
            deployment: spec.deployment.name(),
            duration_s: s.duration.as_secs_f64(),
            memory_mb: spec.memory_mb.0,
            concurrency_limit: spec.concurrency_limit.0,
            requests: self.requests,
            successes,
            errors,
            throttles,
            invocations,
            cold_starts: self.cold_starts,
            cold_start_share: if invocations > 0 { self.cold_starts as f64 / invocations as f64 } else { 0.0 },
            latency_mean_ms: mean,
            latency_p50_ms: p50,
            latency_p99_ms: p99,
            peak_concurrency: self.peak_concurrency,
            environments_created: self.created,
            peak_environments: self.peak_envs,
            billed_ms: self.billed_ms,
            gb_seconds,
            cost_requests,
            cost_duration,
            cost: cost_requests + cost_duration,
            always_on_cost: s.fleet.replicas.0 as f64 * s.fleet.instance.hourly_cost.0 * hours,
            always_on_instances: s.fleet.replicas.0,
            outcome: match self.phase {
                Phase::NoRelease => "no_release",
                Phase::Waiting | Phase::Shifting => "running",
                Phase::Promoted => "promoted",
                Phase::RolledBack => "rolled_back",
            }
            .into(),
            release_at_s: s.release.as_ref().map(|r| r.at.as_secs_f64()),
            promoted_at_s: self.promoted_at.map(Time::as_secs_f64),
            rolled_back_at_s: self.rolled_back_at.map(Time::as_secs_f64),
            weight_timeline: self.timeline.clone(),
            new_version_requests: b[0] + b[1],
            new_version_errors: b[1],
            new_version_throttles: b[2],
            active_users: active,
            exposed_users: self.exposed.count(),
            blast_radius_users: blast,
            blast_radius_pct: if active > 0 { 100.0 * blast as f64 / active as f64 } else { 0.0 },
            series: self.series.clone(),
        }
    }
}

/// Microseconds (a non-negative float) to `Time`, rounded to the nearest.
fn micros(us: f64) -> Time {
    Time::from_secs_f64(us / 1e6)
}
