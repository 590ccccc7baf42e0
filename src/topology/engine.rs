//! The topology engine: a discrete-event simulation of user requests through a graph of
//! services, their calls with timeouts, retries and budgets, a database, and a deployment
//! plan that switches versions and migrates the schema.
//!
//! A *visit* is one attempt being handled by one instance. Its life:
//!
//! 1. It arrives at the callee service. A service that is down answers with an error at
//!    once. An instance is picked round-robin (like Envoy's `ROUND_ROBIN` or kube-proxy's
//!    IPVS `rr`). If the caller's version requires an API the instance's version does
//!    not provide, it fails at once (a contract error). Otherwise it takes a free slot,
//!    or waits in the instance's FIFO queue, or is rejected when the queue is full.
//! 2. In its slot it does the service's own work (a draw from the service's latency
//!    distribution × version factor × `Slow` fault factor; its error is drawn when the
//!    work starts and reported when it ends).
//! 3. If the service uses the database it makes one query: a version whose schema range
//!    does not match the database fails at once (a schema error); otherwise the query
//!    takes a database slot (or waits, or is rejected when the database queue is full).
//! 4. It calls its dependencies **one after another**, in the order of `calls`. Each
//!    attempt has the edge's timeout; a failed or timed-out attempt (not a contract error,
//!    which is a 4xx and is not retried) is retried after the backoff while retries and
//!    the edge's budget allow. A required call that fails makes the visit fail.
//! 5. It ends: the slot goes to the next queued visit, and the result goes to whoever
//!    waits for it (the user, or the caller's attempt if it has not timed out).
//!
//! The slot is held for the whole visit, calls included (a thread-per-request server).
//! Servers never learn that a caller gave up: work whose caller timed out is still done
//! (no deadline propagation), which is what makes retry storms heavy.
//!
//! Time is integer microseconds; events at equal times run in the order they were
//! scheduled; every draw is keyed by `(seed, stream, visit number)`; so a run is a pure
//! function of the scenario and its seed.

use std::collections::VecDeque;

use crate::des::queue::EventQueue;
use crate::metrics::{Outcome as RequestOutcome, Recorder};
use crate::model::fleet::{NEW, POOLS, STABLE};
use crate::model::service::ServiceTimes;
use crate::model::traffic::{ArrivalProcess, Users};
use crate::scenario::Scenario;
use rand::RngExt;

use crate::des::rng::{Stream, mix64};
use crate::des::time::Time;

use super::report::{Cause, EdgeStats, Outcome, Report, SecondStats, ServiceStats};
use crate::metrics::Tap;
use crate::scenario::CanaryStep;
use crate::scenario::topology::check::{CanaryPlan, Fault, MigrationKind, Model, Rollback, Step, Switch};
use crate::scenario::topology::{Order, RollbackOrder, Topology};
use crate::strategy::analysis::{Phase, Verdicts};

/// Random streams of the topology engine (numbered apart from the main engine's).
mod streams {
    pub const ERROR: u64 = 101;
    pub const DB: u64 = 102;
    /// Which side of a canaried service a call goes to.
    pub const CANARY: u64 = 103;
    /// Cold start durations of a function-backed service.
    pub const INIT: u64 = 104;
    /// Which replicas a `Crash` fault picks.
    pub const CRASH: u64 = 105;
}

/// A reference to a visit that survives slot reuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct VRef {
    idx: u32,
    epoch: u32,
}

#[derive(Clone, Copy, Debug)]
enum Ev {
    Arrival,
    /// The visit's own work is done.
    Worked(VRef),
    QueryDone(VRef),
    /// The earliest pending timeout of call edge `e` is due (see `Engine::timeouts`).
    EdgeTimeout(u32),
    /// The backoff before the next attempt is over.
    Retry(VRef),
    /// Replicas `from..to` of a service switch to a version.
    Switch {
        svc: u16,
        from: u32,
        to: u32,
        version: u8,
        token: u32,
    },
    /// Every service of the current wave is switched.
    WaveDone {
        token: u32,
    },
    NextWave {
        token: u32,
    },
    /// Run plan step `pc`.
    Step {
        pc: u32,
        token: u32,
    },
    FaultStart(u32),
    FaultEnd(u32),
    Tick,
    /// A service's canary goes on with its steps (after a pause, or once the instances
    /// it waited for are ready).
    CanaryNext {
        svc: u16,
        token: u32,
    },
    /// The first `n` canary instances of a service are ready.
    CanaryReady {
        svc: u16,
        n: u32,
        token: u32,
    },
    /// An analysis of a service's canary: `step` (an `Analysis` step) or the background
    /// one; `discard` ends the initial delay (what came before is not measured).
    CanaryMeasure {
        svc: u16,
        step: bool,
        discard: bool,
        token: u32,
    },
    /// A promoted canary: the stable replicas run the new version, the canary goes.
    CanaryPromoted {
        svc: u16,
        token: u32,
    },
    /// An aborted canary's instances go (`abort_scale_down_delay` after the abort).
    CanaryScaleDown {
        svc: u16,
    },
    /// A crashed instance serves again.
    Restarted(u32),
    /// A function's execution environment has been idle for the idle timeout.
    Reclaim {
        svc: u16,
        env: u32,
        epoch: u32,
    },
}

/// Who waits for a visit's result.
#[derive(Clone, Copy, Debug)]
enum Parent {
    User {
        user: u32,
        arrival: Time,
    },
    /// Attempt `seq` of the caller visit's current call.
    Call {
        v: VRef,
        seq: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    Queued,
    Working,
    Querying,
    /// Waiting for an attempt's answer.
    Calling,
    Backoff,
}

#[derive(Clone, Copy, Debug)]
struct Visit {
    epoch: u32,
    state: State,
    svc: u16,
    version: u8,
    inst: u32,
    parent: Parent,
    serial: u64,
    /// Its own work fails (drawn when it starts).
    fail: bool,
    holds_db: bool,
    /// Index into the service's outgoing edges.
    call: u16,
    tries: u32,
    seq: u32,
    /// It, or a call it made, ran a version the plan deployed (not the one its service
    /// started with).
    new: bool,
    /// When it arrived at its instance.
    start: Time,
    /// A function's visit that started a new execution environment.
    cold: bool,
}

#[derive(Clone, Debug)]
struct Inst {
    version: u8,
    busy: u32,
    queue: VecDeque<VRef>,
    /// Running (and costing). A service's replicas always are; its canary instances
    /// only while the canary has them.
    active: bool,
    /// Crashed and restarting: it takes no calls (a crashed instance still costs).
    down: bool,
}

#[derive(Clone, Debug)]
struct Svc {
    first: u32,
    replicas: u32,
    concurrency: u32,
    queue_cap: usize,
    times: ServiceTimes,
    error_rate: f64,
    boot: Time,
    database: bool,
    rr: u32,
    down: u32,
    slow: Vec<(u32, f64)>,
    /// The version the plan moved it from (what a rollback returns to).
    prev: Option<u8>,
    /// The version it is moving to or runs.
    target: u8,
    ver_error: Vec<f64>,
    ver_factor: Vec<f64>,
    /// Its canary instances are `canary_first..canary_first + canary_cap`; the first
    /// `canary_live` run, the first `canary_ready` of those take calls.
    canary_first: u32,
    canary_cap: u32,
    canary_live: u32,
    canary_ready: u32,
    /// Share of calls routed to the canary (0 to 1).
    canary_weight: f64,
    canary_rr: u32,
    /// The version a canary of it runs.
    canary_version: u8,
    /// A function-backed service's execution environments (its `inst` ranges are empty).
    functions: Option<Functions>,
    /// Its running instances, and their integral (instance·µs) up to the engine's
    /// `active_since`.
    active: u32,
    instance_area: u128,
    /// Visits at it now, the integral of that (visit·µs) up to `visits_since`, and the
    /// summed time of the visits that ended.
    visits_now: u32,
    visit_area: u128,
    visits_since: Time,
    sojourn_us: u128,
    visits_ended: u64,
}

impl Svc {
    /// Visits at it change by `delta` at `now`; the integral counts up to `end`.
    #[inline]
    fn visits_change(&mut self, now: Time, end: Time, delta: i32) {
        let t = now.min(end);
        if t > self.visits_since {
            self.visit_area += u128::from(self.visits_now) * u128::from((t - self.visits_since).as_micros());
            self.visits_since = t;
        }
        self.visits_now = self.visits_now.wrapping_add_signed(delta);
    }
}

/// One execution environment of a function.
#[derive(Clone, Copy, Debug)]
struct Env {
    version: u8,
    busy: bool,
    epoch: u32,
}

/// The execution environments of a function-backed service, with the semantics of the
/// serverless engine (see `crate::serverless::engine`): one call per environment, a cold
/// start for a new one, the most recently used idle one taken first, shut down after the
/// idle timeout, a loss system above the concurrency limit, billed per request and per
/// millisecond-GB.
#[derive(Clone, Debug)]
struct Functions {
    limit: u32,
    in_flight: u32,
    envs: Vec<Env>,
    free: Vec<u32>,
    idle: Vec<VecDeque<u32>>,
    init: ServiceTimes,
    idle_timeout: Time,
    bill_init: bool,
    gb: f64,
    price_request: f64,
    price_gb_s: f64,
    /// The version the alias points at.
    alias: u8,
    cost: f64,
    cold_starts: u64,
}

impl Svc {
    fn is_canary(&self, inst: u32) -> bool {
        inst >= self.canary_first && inst < self.canary_first + self.canary_cap
    }

    /// A visit of version `version` on instance (or environment) `inst` ran the canary.
    fn on_canary(&self, inst: u32, version: u8) -> bool {
        match &self.functions {
            None => self.canary_cap > 0 && self.is_canary(inst),
            Some(f) => self.canary_weight > 0.0 && version != f.alias && version == self.canary_version,
        }
    }
}

/// What a canary of one service is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CanaryState {
    Stepping,
    /// Waiting for its instances to be ready before the step's weight takes effect.
    Scaling,
    /// Paused until the end of the run (inconclusive analysis, `PauseUntilPromoted`).
    Paused,
    Promoting,
    Promoted,
    Aborted,
}

/// The canary of one service in the current wave.
#[derive(Clone, Debug)]
struct CanaryRun {
    svc: usize,
    version: u8,
    plan: CanaryPlan,
    pc: usize,
    state: CanaryState,
    /// `SetCanaryScale(replicas)`/`(weight)` override of the instance count.
    scale: Option<u32>,
    /// The weight (percent) the steps asked for last.
    weight: f64,
    background: Option<Verdicts>,
    background_tap: Tap,
    step_analysis: Option<Verdicts>,
    step_tap: Tap,
}

#[derive(Clone, Debug)]
struct Db {
    schema: u32,
    /// Code written for a level below this fails.
    floor: u32,
    capacity: u32,
    queue_cap: usize,
    busy: u32,
    queue: VecDeque<VRef>,
    times: ServiceTimes,
    overload: Vec<(u32, f64)>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Budget {
    window: u64,
    calls: u64,
    retries: u64,
}

/// A deployment or rollback in progress: waves of `(service, version)` switched together.
#[derive(Clone, Debug)]
struct Rollout {
    waves: Vec<Vec<(usize, u8)>>,
    wave: usize,
    switch: Switch,
    bake: Time,
    /// Plan step to run when it is done.
    next_pc: usize,
    /// A rollback (does not record `prev`).
    rollback: bool,
}

/// One run of a topology scenario.
pub struct Engine {
    m: Model,
    end: Time,
    now: Time,
    q: EventQueue<Ev>,
    arrivals: ArrivalProcess,
    users: Users,
    next_request: u64,
    serial: u64,
    error_draw: Stream,
    svcs: Vec<Svc>,
    insts: Vec<Inst>,
    db: Option<Db>,
    visits: Vec<Visit>,
    free: Vec<u32>,
    budgets: Vec<Budget>,
    token: u32,
    rollout: Option<Rollout>,
    /// Pending attempt timeouts per call edge, in deadline order (an edge's timeout is one
    /// constant, so deadlines arrive sorted), and whether the queue holds an `EdgeTimeout`
    /// for the edge's earliest. One queued event per edge instead of one per attempt keeps
    /// the event queue small: almost every attempt is answered before its timeout. Written
    /// here because no timer crate keeps this engine's `(time, seq)` event order.
    timeouts: Vec<VecDeque<(Time, VRef, u32)>>,
    timeout_armed: Vec<bool>,
    /// The canaries of the current wave.
    canaries: Vec<CanaryRun>,
    canary_draw: Stream,
    crash_draw: Stream,
    /// Calls routed at canaried services (the key of their routing draws).
    routed: u64,
    /// Instances running, their integral (instance·µs) up to `active_since`, the most at once.
    active_insts: u32,
    instance_area: u128,
    active_since: Time,
    peak_instances: u32,
    /// An aborted canary still has calls in flight on its instances.
    awaiting_recovery: bool,
    abort_reason: Option<String>,
    deployed_order: Vec<usize>,
    report: Report,
    affected: Vec<u64>,
    latency_sum_us: f64,
    ok_requests: u64,
    /// The user's view, recorded as the single-service engine records it: every user
    /// request, its outcome and latency, per second, with the users it failed.
    rec: Recorder,
    /// Seconds in the scenario (the last one also counts what ends after it).
    dur_s: usize,
    /// The integral of user requests in the system, request·µs.
    request_area: u128,
    /// What one instance costs per second.
    instance_cost_s: f64,
    /// The plan's times: its first step, its end, an automatic rollback's decision and
    /// the end of that rollback.
    pub(super) plan_started: Option<Time>,
    pub(super) plan_finished: Option<Time>,
    pub(super) abort_at: Option<Time>,
    pub(super) recovered_at: Option<Time>,
}

fn derived_seed(seed: u64, k: u64) -> u64 {
    mix64(seed ^ mix64(k.wrapping_add(0x7f4a_7c15)))
}

impl Engine {
    /// Builds a run; an error if the topology does not check (loaded scenarios always do).
    pub fn new(s: &Scenario, t: &Topology) -> Result<Engine, super::TopologyError> {
        let m = crate::scenario::topology::check::resolve(s, t)
            .map_err(|(field, message)| super::TopologyError::Check { field, message })?;
        let seed = s.seed;
        let end = s.duration.time();
        let mut insts = Vec::new();
        let mut svcs = Vec::new();
        for (i, sp) in t.services.iter().enumerate() {
            let first = insts.len() as u32;
            let functions = match &sp.backend {
                crate::scenario::topology::Backend::Instances => None,
                crate::scenario::topology::Backend::Functions(f) => Some(Functions {
                    limit: f.concurrency_limit.0 as u32,
                    in_flight: 0,
                    envs: Vec::new(),
                    free: Vec::new(),
                    idle: vec![VecDeque::new(); sp.versions.len()],
                    init: ServiceTimes::new(&f.init, derived_seed(seed, (i as u64) | (streams::INIT << 32))),
                    idle_timeout: f.idle_timeout.time(),
                    bill_init: f.bill_init,
                    gb: f.memory_mb.0 as f64 / 1024.0,
                    price_request: f.price_per_million_requests / 1e6,
                    price_gb_s: f.price_per_gb_second,
                    alias: 0,
                    cost: 0.0,
                    cold_starts: 0,
                }),
            };
            let replicas = if functions.is_some() { 0 } else { sp.replicas.0 as u32 };
            for _ in 0..replicas {
                insts.push(Inst { version: 0, busy: 0, queue: VecDeque::new(), active: true, down: false });
            }
            svcs.push(Svc {
                first,
                replicas,
                concurrency: sp.concurrency.0 as u32,
                queue_cap: sp.queue.0 as usize,
                times: ServiceTimes::new(&sp.latency, derived_seed(seed, i as u64)),
                error_rate: sp.error_rate.0,
                boot: sp.boot.time(),
                database: sp.database,
                rr: 0,
                down: 0,
                slow: Vec::new(),
                prev: None,
                target: 0,
                ver_error: sp.versions.iter().map(|v| v.error_rate.0).collect(),
                ver_factor: sp.versions.iter().map(|v| v.latency_factor.0).collect(),
                canary_first: 0,
                canary_cap: m.canary_cap[i],
                canary_live: 0,
                canary_ready: 0,
                canary_weight: 0.0,
                canary_rr: 0,
                canary_version: 0,
                functions,
                active: replicas,
                instance_area: 0,
                visits_now: 0,
                visit_area: 0,
                visits_since: Time::ZERO,
                sojourn_us: 0,
                visits_ended: 0,
            });
        }
        // Canary instances after every service's replicas, so a service's replicas stay
        // one range.
        let replicas_total = insts.len() as u32;
        for s in &mut svcs {
            s.canary_first = insts.len() as u32;
            for _ in 0..s.canary_cap {
                insts.push(Inst { version: 0, busy: 0, queue: VecDeque::new(), active: false, down: false });
            }
        }
        let db = t.database.as_ref().map(|d| Db {
            schema: d.schema.0 as u32,
            floor: 0,
            capacity: d.capacity.0 as u32,
            queue_cap: d.queue.0 as usize,
            busy: 0,
            queue: VecDeque::new(),
            times: ServiceTimes::new(&d.latency, derived_seed(seed, streams::DB << 32)),
            overload: Vec::new(),
        });
        let report = Report {
            name: s.name.clone(),
            seed,
            duration_s: end.as_secs_f64(),
            services: m
                .names
                .iter()
                .enumerate()
                .map(|(i, n)| ServiceStats { name: n.clone(), version: m.versions[i][0].clone(), ..Default::default() })
                .collect(),
            calls: m
                .edges
                .iter()
                .map(|e| EdgeStats { from: m.names[e.from].clone(), to: m.names[e.to].clone(), ..Default::default() })
                .collect(),
            schema: db.as_ref().map(|d| d.schema),
            outcome: if m.plan_at.is_some() { Outcome::Running } else { Outcome::NoPlan },
            ..Default::default()
        };
        let users = Users::new(&s.traffic, seed);
        let words = (users.count as usize).div_ceil(64);
        let dur_s = (end.whole_secs() as usize + usize::from(!end.as_micros().is_multiple_of(1_000_000))).max(1);
        let rec = Recorder::new(users.count, s.traffic.session_gap.time(), dur_s);
        let edges = m.edges.len();
        let mut e = Engine {
            budgets: vec![Budget::default(); edges],
            m,
            end,
            now: Time::ZERO,
            q: EventQueue::default(),
            arrivals: ArrivalProcess::new(&s.traffic, seed, end),
            users,
            next_request: 0,
            serial: 0,
            error_draw: Stream::new(seed, streams::ERROR),
            svcs,
            insts,
            db,
            visits: Vec::new(),
            free: Vec::new(),
            token: 0,
            rollout: None,
            timeouts: vec![VecDeque::new(); edges],
            timeout_armed: vec![false; edges],
            canaries: Vec::new(),
            canary_draw: Stream::new(seed, streams::CANARY),
            crash_draw: Stream::new(seed, streams::CRASH),
            routed: 0,
            active_insts: replicas_total,
            instance_area: 0,
            active_since: Time::ZERO,
            peak_instances: replicas_total,
            awaiting_recovery: false,
            abort_reason: None,
            deployed_order: Vec::new(),
            report,
            affected: vec![0; words],
            latency_sum_us: 0.0,
            ok_requests: 0,
            rec,
            dur_s,
            request_area: 0,
            instance_cost_s: s.fleet.instance.hourly_cost.0 / 3600.0,
            plan_started: None,
            plan_finished: None,
            abort_at: None,
            recovered_at: None,
        };
        if let Some(t0) = e.arrivals.next_arrival() {
            e.q.push(t0, Ev::Arrival);
        }
        if let Some(at) = e.m.plan_at {
            e.q.push(at, Ev::Step { pc: 0, token: 0 });
        }
        for (i, f) in e.m.faults.iter().enumerate() {
            e.q.push(f.0, Ev::FaultStart(i as u32));
            e.q.push(f.1, Ev::FaultEnd(i as u32));
        }
        if e.m.auto_rollback.is_some() {
            e.q.push(Time::SECOND, Ev::Tick);
        }
        Ok(e)
    }

    /// Records only what the summary reads (no per-second latency): for runs of which
    /// only the summary is kept.
    pub fn keep_summary_only(&mut self) {
        self.rec.keep_summary_only();
    }

    /// Runs until no event is left (requests in flight at the end finish; the plan, faults
    /// and ticks stop at the end) and returns the report.
    pub fn run(mut self) -> Finished {
        while let Some((t, ev)) = self.q.pop() {
            let control = matches!(
                ev,
                Ev::Switch { .. }
                    | Ev::WaveDone { .. }
                    | Ev::NextWave { .. }
                    | Ev::Step { .. }
                    | Ev::FaultStart(_)
                    | Ev::Tick
                    | Ev::CanaryNext { .. }
                    | Ev::CanaryReady { .. }
                    | Ev::CanaryMeasure { .. }
                    | Ev::CanaryPromoted { .. }
            );
            if control && t > self.end {
                continue;
            }
            self.now = t;
            self.handle(ev);
        }
        self.finish_report()
    }

    fn log(&mut self, text: String) {
        self.report.log.push((self.now.as_secs_f64(), text));
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Arrival => {
                let id = self.next_request;
                self.next_request += 1;
                let user = self.users.user_of_request(id);
                if let Some(t) = self.arrivals.next_arrival() {
                    self.q.push(t, Ev::Arrival);
                }
                self.report.requests += 1;
                self.advance_seconds();
                self.rec.arrival(user, self.now);
                let front = self.m.front;
                self.arrive(front, Parent::User { user, arrival: self.now }, None);
            }
            Ev::Worked(v) => {
                if self.live(v) {
                    self.worked(v);
                }
            }
            Ev::QueryDone(v) => {
                if self.live(v) {
                    self.query_done(v);
                }
            }
            Ev::EdgeTimeout(e) => self.edge_timeouts(e as usize),
            Ev::Retry(v) => {
                if self.live(v) && self.visits[v.idx as usize].state == State::Backoff {
                    self.send_attempt(v);
                }
            }
            Ev::Switch { svc, from, to, version, token } => {
                if token == self.token {
                    let s = &mut self.svcs[svc as usize];
                    if let Some(f) = &mut s.functions {
                        f.alias = version;
                    }
                    for i in s.first + from..s.first + to {
                        self.insts[i as usize].version = version;
                    }
                    let name = &self.m.versions[svc as usize][version as usize];
                    let text = if to - from == self.svcs[svc as usize].replicas {
                        format!("{} now runs {name}", self.m.names[svc as usize])
                    } else {
                        format!("{} replicas {}..{} now run {name}", self.m.names[svc as usize], from, to)
                    };
                    self.log(text);
                }
            }
            Ev::WaveDone { token } => {
                if token == self.token {
                    self.wave_done();
                }
            }
            Ev::NextWave { token } => {
                if token == self.token {
                    self.start_wave();
                }
            }
            Ev::Step { pc, token } => {
                if token == self.token {
                    self.run_step(pc as usize);
                }
            }
            Ev::FaultStart(i) => self.fault(i, true),
            Ev::FaultEnd(i) => self.fault(i, false),
            Ev::Tick => {
                self.check_auto_rollback();
                if self.now + Time::SECOND <= self.end {
                    self.q.push(self.now + Time::SECOND, Ev::Tick);
                }
            }
            Ev::CanaryNext { svc, token } => {
                if token == self.token {
                    self.canary_advance(svc as usize);
                }
            }
            Ev::CanaryReady { svc, n, token } => {
                if token == self.token {
                    self.canary_ready(svc as usize, n);
                }
            }
            Ev::CanaryMeasure { svc, step, discard, token } => {
                if token == self.token {
                    self.canary_measure(svc as usize, step, discard);
                }
            }
            Ev::CanaryPromoted { svc, token } => {
                if token == self.token {
                    self.canary_promoted(svc as usize);
                }
            }
            Ev::CanaryScaleDown { svc } => self.canary_scale_to(svc as usize, 0),
            Ev::Reclaim { svc, env, epoch } => self.reclaim(svc as usize, env, epoch),
            Ev::Restarted(i) => {
                self.insts[i as usize].down = false;
                let svc = self.svcs.iter().position(|s| i >= s.first && i < s.first + s.replicas).unwrap_or(0);
                let text = format!("{}: replica {} restarted", self.m.names[svc], i - self.svcs[svc].first);
                self.log(text);
            }
        }
    }

    fn live(&self, v: VRef) -> bool {
        let x = &self.visits[v.idx as usize];
        x.epoch == v.epoch && x.state != State::Free
    }

    // ----- requests ---------------------------------------------------------------

    /// A user request or an attempt arrives at service `svc`; `caller` is the calling
    /// visit's `(service, version, edge)`.
    fn arrive(&mut self, svc: usize, parent: Parent, caller: Option<(usize, u8, usize)>) {
        self.report.services[svc].attempts += 1;
        let s = &mut self.svcs[svc];
        if s.down > 0 {
            return self.fail_early(svc, parent, Cause::Down, false);
        }
        if s.functions.is_some() {
            return self.invoke(svc, parent, caller);
        }
        let to_canary = s.canary_weight > 0.0 && s.canary_ready > 0 && {
            self.routed += 1;
            self.canary_draw.rng(self.routed).random::<f64>() < s.canary_weight
        };
        let inst = if to_canary {
            let i = s.canary_first + s.canary_rr % s.canary_ready;
            s.canary_rr = s.canary_rr.wrapping_add(1);
            i
        } else {
            // Round-robin over the replicas that are up (a crashed one is skipped, as a
            // load balancer skips an endpoint that is not ready).
            let mut pick = None;
            for _ in 0..s.replicas {
                let i = s.first + s.rr % s.replicas;
                s.rr = s.rr.wrapping_add(1);
                if !self.insts[i as usize].down {
                    pick = Some(i);
                    break;
                }
            }
            match pick {
                Some(i) => i,
                // No replica is up: refused at once, like a 503 with no ready endpoint.
                None => return self.fail_early(svc, parent, Cause::Rejected, false),
            }
        };
        let version = self.insts[inst as usize].version;
        if let Some((_, cv, e)) = caller
            && !self.m.compat[e][cv as usize][version as usize]
        {
            if to_canary {
                self.canary_record(svc, true, false, Time::ZERO);
            }
            return self.fail_early(svc, parent, Cause::Contract, version != 0);
        }
        let (concurrency, queue_cap) = (s.concurrency, s.queue_cap);
        let i = &self.insts[inst as usize];
        if i.busy >= concurrency && i.queue.len() >= queue_cap {
            if to_canary {
                self.canary_record(svc, true, false, Time::ZERO);
            }
            return self.fail_early(svc, parent, Cause::Rejected, false);
        }
        self.serial += 1;
        let visit = Visit {
            epoch: 0,
            state: State::Queued,
            svc: svc as u16,
            version,
            inst,
            parent,
            serial: self.serial,
            fail: false,
            holds_db: false,
            call: 0,
            tries: 0,
            seq: 0,
            new: version != 0,
            start: self.now,
            cold: false,
        };
        let v = self.new_visit(visit);
        if self.insts[inst as usize].busy < concurrency {
            self.start_work(v);
        } else {
            self.insts[inst as usize].queue.push_back(v);
        }
    }

    fn new_visit(&mut self, visit: Visit) -> VRef {
        self.svcs[visit.svc as usize].visits_change(self.now, self.end, 1);
        match self.free.pop() {
            Some(idx) => {
                let epoch = self.visits[idx as usize].epoch;
                self.visits[idx as usize] = Visit { epoch, ..visit };
                VRef { idx, epoch }
            }
            None => {
                self.visits.push(visit);
                VRef { idx: self.visits.len() as u32 - 1, epoch: 0 }
            }
        }
    }

    /// A call to a function-backed service: the alias picks the version (the canary's
    /// with its weight), an idle environment of it serves, or a new one after its cold
    /// start; above the concurrency limit the call is throttled.
    fn invoke(&mut self, svc: usize, parent: Parent, caller: Option<(usize, u8, usize)>) {
        let s = &self.svcs[svc];
        let Some(f) = &s.functions else { return };
        let to_canary = s.canary_weight > 0.0 && {
            self.routed += 1;
            self.canary_draw.rng(self.routed).random::<f64>() < s.canary_weight
        };
        let version = if to_canary { s.canary_version } else { f.alias };
        if let Some((_, cv, e)) = caller
            && !self.m.compat[e][cv as usize][version as usize]
        {
            if to_canary {
                self.canary_record(svc, true, false, Time::ZERO);
            }
            return self.fail_early(svc, parent, Cause::Contract, version != 0);
        }
        if f.in_flight >= f.limit {
            if to_canary {
                self.canary_record(svc, true, false, Time::ZERO);
            }
            return self.fail_early(svc, parent, Cause::Rejected, false);
        }
        let Some(f) = &mut self.svcs[svc].functions else { return };
        f.in_flight += 1;
        let (env, cold) = match f.idle[version as usize].pop_back() {
            Some(env) => (env, false),
            None => {
                f.cold_starts += 1;
                let fresh = Env { version, busy: false, epoch: 0 };
                let env = match f.free.pop() {
                    Some(i) => {
                        f.envs[i as usize] = Env { epoch: f.envs[i as usize].epoch.wrapping_add(1), ..fresh };
                        i
                    }
                    None => {
                        f.envs.push(fresh);
                        f.envs.len() as u32 - 1
                    }
                };
                (env, true)
            }
        };
        let e = &mut f.envs[env as usize];
        e.busy = true;
        e.epoch = e.epoch.wrapping_add(1);
        self.serial += 1;
        let visit = Visit {
            epoch: 0,
            state: State::Queued,
            svc: svc as u16,
            version,
            inst: env,
            parent,
            serial: self.serial,
            fail: false,
            holds_db: false,
            call: 0,
            tries: 0,
            seq: 0,
            new: version != 0,
            start: self.now,
            cold,
        };
        let v = self.new_visit(visit);
        self.start_work(v);
    }

    /// The environment ends its call: it goes idle (most recently used last) and is shut
    /// down `idle_timeout` later unless used again; the call is billed.
    fn release_env(&mut self, vis: &Visit) {
        let now = self.now;
        let end = self.end;
        let svc = vis.svc as usize;
        let Some(f) = &mut self.svcs[svc].functions else { return };
        f.in_flight -= 1;
        let env = &mut f.envs[vis.inst as usize];
        env.busy = false;
        let epoch = env.epoch;
        f.idle[vis.version as usize].push_back(vis.inst);
        if now < end {
            self.q.push(now + f.idle_timeout, Ev::Reclaim { svc: svc as u16, env: vis.inst, epoch });
        }
        let mut billed = now - vis.start;
        if vis.cold && !f.bill_init {
            billed = billed.saturating_sub(Time::from_secs_f64(f.init.base_micros(vis.serial) / 1e6));
        }
        let ms = billed.as_micros().div_ceil(1000);
        f.cost += f.price_request + ms as f64 / 1000.0 * f.gb * f.price_gb_s;
    }

    fn reclaim(&mut self, svc: usize, env: u32, epoch: u32) {
        let Some(f) = &mut self.svcs[svc].functions else { return };
        let e = f.envs[env as usize];
        if e.busy || e.epoch != epoch {
            return; // used again since it went idle
        }
        let q = &mut f.idle[e.version as usize];
        if let Some(pos) = q.iter().position(|&i| i == env) {
            q.remove(pos);
            f.envs[env as usize].epoch = epoch.wrapping_add(1);
            f.free.push(env);
        }
    }

    fn start_work(&mut self, v: VRef) {
        let vis = self.visits[v.idx as usize];
        let s = &self.svcs[vis.svc as usize];
        let init = match &s.functions {
            None => {
                self.insts[vis.inst as usize].busy += 1;
                0.0
            }
            Some(f) if vis.cold => f.init.base_micros(vis.serial),
            Some(_) => 0.0,
        };
        let s = &self.svcs[vis.svc as usize];
        let slow: f64 = s.slow.iter().map(|x| x.1).product();
        let us = init + s.times.base_micros(vis.serial) * s.ver_factor[vis.version as usize] * slow;
        let p_ok = (1.0 - s.error_rate) * (1.0 - s.ver_error[vis.version as usize]);
        let fail = self.error_draw.rng(vis.serial).random::<f64>() >= p_ok;
        let x = &mut self.visits[v.idx as usize];
        x.state = State::Working;
        x.fail = fail;
        self.q.push(self.now + Time::from_secs_f64(us / 1e6), Ev::Worked(v));
    }

    fn worked(&mut self, v: VRef) {
        let vis = self.visits[v.idx as usize];
        if vis.fail {
            return self.finish(v, Err(Cause::Error));
        }
        if !self.svcs[vis.svc as usize].database {
            return self.next_call(v);
        }
        let Some(db) = &mut self.db else {
            return self.next_call(v);
        };
        self.report.db_queries += 1;
        let (min, max) = self.m.schema[vis.svc as usize][vis.version as usize];
        let ok = min.is_none_or(|m| db.floor <= m && m <= db.schema) && max.is_none_or(|x| db.schema <= x);
        if !ok {
            return self.finish(v, Err(Cause::Schema));
        }
        if db.busy < db.capacity {
            self.start_query(v);
        } else if db.queue.len() < db.queue_cap {
            db.queue.push_back(v);
            self.visits[v.idx as usize].state = State::Querying;
        } else {
            self.report.db_rejected += 1;
            self.finish(v, Err(Cause::Db));
        }
    }

    fn start_query(&mut self, v: VRef) {
        let Some(db) = &mut self.db else { return };
        db.busy += 1;
        let vis = &mut self.visits[v.idx as usize];
        vis.state = State::Querying;
        vis.holds_db = true;
        let factor: f64 = db.overload.iter().map(|x| x.1).product();
        let us = db.times.base_micros(vis.serial) * factor;
        self.q.push(self.now + Time::from_secs_f64(us / 1e6), Ev::QueryDone(v));
    }

    fn query_done(&mut self, v: VRef) {
        self.release_db(v);
        self.next_call(v);
    }

    fn release_db(&mut self, v: VRef) {
        if !self.visits[v.idx as usize].holds_db {
            return;
        }
        self.visits[v.idx as usize].holds_db = false;
        let Some(db) = &mut self.db else { return };
        db.busy -= 1;
        if let Some(next) = db.queue.pop_front() {
            self.start_query(next);
        }
    }

    fn next_call(&mut self, v: VRef) {
        let vis = self.visits[v.idx as usize];
        if vis.call as usize >= self.m.out[vis.svc as usize].len() {
            return self.finish(v, Ok(()));
        }
        self.visits[v.idx as usize].tries = 0;
        self.send_attempt(v);
    }

    fn send_attempt(&mut self, v: VRef) {
        let vis = &mut self.visits[v.idx as usize];
        vis.tries += 1;
        vis.seq = vis.seq.wrapping_add(1);
        vis.state = State::Calling;
        let (svc, version, seq, first) = (vis.svc as usize, vis.version, vis.seq, vis.tries == 1);
        let e = self.m.out[svc][vis.call as usize];
        let st = &mut self.report.calls[e];
        st.attempts += 1;
        if first {
            st.calls += 1;
            if let Some((_, _, window)) = self.m.edges[e].budget {
                let w = self.now.as_micros() / window.as_micros();
                let b = &mut self.budgets[e];
                if b.window != w {
                    *b = Budget { window: w, calls: 0, retries: 0 };
                }
                b.calls += 1;
            }
        } else {
            st.retries += 1;
        }
        if let Some(t) = self.m.edges[e].timeout {
            self.arm_timeout(e, self.now + t, v, seq);
        }
        let to = self.m.edges[e].to;
        self.arrive(to, Parent::Call { v, seq }, Some((svc, version, e)));
    }

    /// Attempt `seq` of `v` on edge `e` times out at `at` unless answered before.
    fn arm_timeout(&mut self, e: usize, at: Time, v: VRef, seq: u32) {
        self.timeouts[e].push_back((at, v, seq));
        if !self.timeout_armed[e] {
            self.timeout_armed[e] = true;
            self.q.push(at, Ev::EdgeTimeout(e as u32));
        }
    }

    /// Whether attempt `seq` of `v` still waits for its answer.
    fn waiting(&self, v: VRef, seq: u32) -> bool {
        self.live(v) && {
            let vis = &self.visits[v.idx as usize];
            vis.state == State::Calling && vis.seq == seq
        }
    }

    /// Times out edge `e`'s attempts that are due and still waiting, drops answered ones
    /// from the front, and arms the next.
    fn edge_timeouts(&mut self, e: usize) {
        self.timeout_armed[e] = false;
        while let Some(&(at, v, seq)) = self.timeouts[e].front() {
            let waiting = self.waiting(v, seq);
            if waiting && at > self.now {
                self.timeout_armed[e] = true;
                self.q.push(at, Ev::EdgeTimeout(e as u32));
                return;
            }
            self.timeouts[e].pop_front();
            if waiting {
                self.report.calls[e].timeouts += 1;
                self.attempt_result(v, Err(Cause::Timeout));
            }
        }
    }

    /// The answer (or timeout) of the current attempt of `v`'s current call.
    fn attempt_result(&mut self, v: VRef, res: Result<(), Cause>) {
        let vis = self.visits[v.idx as usize];
        let e = self.m.out[vis.svc as usize][vis.call as usize];
        let (retries, backoff, required) = (self.m.edges[e].retries, self.m.edges[e].backoff, self.m.edges[e].required);
        match res {
            Ok(()) => {
                self.visits[v.idx as usize].call += 1;
                self.next_call(v);
            }
            Err(cause) => {
                self.report.calls[e].failed_attempts += 1;
                if cause != Cause::Contract && vis.tries <= retries && self.budget_allows(e) {
                    let k = vis.tries - 1;
                    let wait = Time::from_micros(backoff.as_micros().saturating_mul(1u64 << k.min(30)));
                    self.visits[v.idx as usize].state = State::Backoff;
                    self.q.push(self.now + wait, Ev::Retry(v));
                } else {
                    self.report.calls[e].failed_calls += 1;
                    if cause == Cause::Contract {
                        self.report.calls[e].contract_errors += 1;
                    }
                    if required {
                        self.finish(v, Err(Cause::Dependency));
                    } else {
                        self.visits[v.idx as usize].call += 1;
                        self.next_call(v);
                    }
                }
            }
        }
    }

    /// Takes one retry from edge `e`'s budget if it has one left in this window.
    fn budget_allows(&mut self, e: usize) -> bool {
        let Some((ratio, min_rps, window)) = self.m.edges[e].budget else {
            return true;
        };
        let w = self.now.as_micros() / window.as_micros();
        let b = &mut self.budgets[e];
        if b.window != w {
            *b = Budget { window: w, calls: 0, retries: 0 };
        }
        let allowance = ratio * b.calls as f64 + min_rps * window.as_secs_f64();
        if (b.retries + 1) as f64 <= allowance + 1e-9 {
            b.retries += 1;
            true
        } else {
            self.report.calls[e].retries_denied += 1;
            false
        }
    }

    /// A visit that never started (down, contract, rejected).
    fn fail_early(&mut self, svc: usize, parent: Parent, cause: Cause, new: bool) {
        self.report.services[svc].count(cause);
        self.deliver(parent, Err(cause), new);
    }

    fn finish(&mut self, v: VRef, res: Result<(), Cause>) {
        let vis = self.visits[v.idx as usize];
        self.release_db(v);
        match res {
            Ok(()) => self.report.services[vis.svc as usize].ok += 1,
            Err(c) => self.report.services[vis.svc as usize].count(c),
        }
        let x = &mut self.visits[v.idx as usize];
        x.state = State::Free;
        x.epoch = x.epoch.wrapping_add(1);
        self.free.push(v.idx);
        let svc = vis.svc as usize;
        let s = &mut self.svcs[svc];
        s.visits_change(self.now, self.end, -1);
        s.sojourn_us += u128::from((self.now - vis.start).as_micros());
        s.visits_ended += 1;
        if self.svcs[svc].functions.is_some() {
            self.release_env(&vis);
        } else if vis.state != State::Queued {
            let inst = &mut self.insts[vis.inst as usize];
            inst.busy -= 1;
            if !inst.down
                && let Some(next) = inst.queue.pop_front()
            {
                self.start_work(next);
            }
        }
        if self.svcs[svc].on_canary(vis.inst, vis.version) {
            // An answer with an error the instance gave is "answered"; one it never
            // worked on (a dependency's rejection, say) still counts against it.
            self.canary_record(svc, res.is_err(), true, self.now - vis.start);
            if self.awaiting_recovery {
                self.check_recovered();
            }
        }
        let new = self.visits[v.idx as usize].new;
        self.deliver(vis.parent, res, new);
    }

    /// An answer goes to whoever waits for it; `new` when a deployed version had a part.
    fn deliver(&mut self, parent: Parent, res: Result<(), Cause>, new: bool) {
        match parent {
            Parent::User { user, arrival } => self.user_done(user, arrival, res, new),
            Parent::Call { v, seq } => {
                if self.live(v) {
                    let p = self.visits[v.idx as usize];
                    if p.state == State::Calling && p.seq == seq {
                        self.visits[v.idx as usize].new |= new;
                        self.attempt_result(v, res);
                    }
                }
            }
        }
    }

    fn user_done(&mut self, user: u32, arrival: Time, res: Result<(), Cause>, new: bool) {
        let ok = res.is_ok();
        self.advance_seconds();
        let outcome = match res {
            Ok(()) => RequestOutcome::Success,
            Err(Cause::Rejected) => RequestOutcome::Rejected,
            Err(Cause::Timeout) => RequestOutcome::Timeout,
            Err(_) => RequestOutcome::Error,
        };
        let latency = self.now - arrival;
        // Counted up to the scenario's end, as the single-service engine counts it.
        let upto = self.now.min(self.end);
        self.request_area += u128::from(upto.saturating_sub(arrival.min(self.end)).as_micros());
        self.rec.served(user, new);
        self.rec.finish(user, Some(if new { NEW } else { STABLE }), new, outcome, latency, self.now);
        let sec = self.now.whole_secs() as usize;
        let series = &mut self.report.series;
        if series.len() <= sec {
            series.resize(sec + 1, SecondStats::default());
        }
        series[sec].requests += 1;
        if ok {
            self.ok_requests += 1;
            self.latency_sum_us += (self.now - arrival).as_micros() as f64;
        } else {
            series[sec].failed += 1;
            self.report.failed += 1;
            self.affected[user as usize / 64] |= 1 << (user % 64);
        }
    }

    /// Closes the recorder's seconds up to the current one (what ends after the
    /// scenario's end counts in its last second).
    fn advance_seconds(&mut self) {
        let sec = (self.now.whole_secs() as usize).min(self.dur_s - 1);
        while self.rec.series.len() < sec {
            self.close_second();
        }
    }

    fn close_second(&mut self) {
        let mut ready = [0u16; POOLS];
        let mut alive = 0u32;
        for i in self.insts.iter().filter(|i| i.active) {
            let pool = if i.version == 0 { STABLE } else { NEW };
            ready[pool as usize] = ready[pool as usize].saturating_add(1);
            alive += 1;
        }
        let share_new = if alive == 0 { 0.0 } else { f64::from(ready[NEW as usize]) / f64::from(alive) };
        let alive16 = alive.min(u32::from(u16::MAX)) as u16;
        // The cost so far, at the end of this second (or of the run).
        let t = Time::from_secs(self.rec.series.len() as u64 + 1).min(self.end);
        let area = self.instance_area
            + u128::from(self.active_insts) * u128::from(t.saturating_sub(self.active_since.min(t)).as_micros());
        let functions: f64 = self.svcs.iter().filter_map(|s| s.functions.as_ref().map(|f| f.cost)).sum();
        let cost = area as f64 / 1e6 * self.instance_cost_s + functions;
        self.rec.close_second(ready, alive16, share_new, cost);
    }

    /// Instances running of service `svc` change by `delta` now: integrates every
    /// service's instance time before it.
    fn instances_change(&mut self, svc: usize, delta: i64) {
        let t = self.now.min(self.end);
        let dt = u128::from(t.saturating_sub(self.active_since.min(t)).as_micros());
        self.instance_area += u128::from(self.active_insts) * dt;
        for s in &mut self.svcs {
            s.instance_area += u128::from(s.active) * dt;
        }
        self.active_since = self.active_since.max(t);
        self.active_insts = (i64::from(self.active_insts) + delta).max(0) as u32;
        let s = &mut self.svcs[svc];
        s.active = (i64::from(s.active) + delta).max(0) as u32;
        self.peak_instances = self.peak_instances.max(self.active_insts);
    }

    // ----- faults -----------------------------------------------------------------

    fn fault(&mut self, i: u32, start: bool) {
        let f = self.m.faults[i as usize].2;
        let text = match f {
            Fault::Down(s) => {
                let svc = &mut self.svcs[s];
                if start {
                    svc.down += 1
                } else {
                    svc.down -= 1
                }
                format!("{} {}", self.m.names[s], if start { "is down" } else { "is back" })
            }
            Fault::Slow(s, x) => {
                let svc = &mut self.svcs[s];
                if start {
                    svc.slow.push((i, x))
                } else {
                    svc.slow.retain(|y| y.0 != i)
                }
                format!(
                    "{} {}",
                    self.m.names[s],
                    if start { format!("is {x}× slower") } else { "is fast again".into() }
                )
            }
            Fault::DbOverload(x) => {
                if let Some(db) = &mut self.db {
                    if start { db.overload.push((i, x)) } else { db.overload.retain(|y| y.0 != i) }
                }
                if start { format!("database overloaded: queries {x}× slower") } else { "database recovered".into() }
            }
            Fault::Crash(s, count) => {
                if !start {
                    return; // each instance restarts on its own event
                }
                let restart = self.m.faults[i as usize].1;
                let crashed = self.crash(s, count, u64::from(i), restart);
                format!("{}: {crashed} replica(s) crashed", self.m.names[s])
            }
        };
        self.log(text);
    }

    /// Crashes `count` of service `s`'s replicas that are up (picked by a keyed draw):
    /// what they hold fails now; each serves again at `restart`. Returns how many crashed.
    fn crash(&mut self, s: usize, count: u32, key: u64, restart: Time) -> u32 {
        let (first, replicas) = (self.svcs[s].first, self.svcs[s].replicas);
        let mut up: Vec<u32> = (first..first + replicas).filter(|&i| !self.insts[i as usize].down).collect();
        // A partial Fisher–Yates shuffle: the first `count` are a uniform sample.
        let mut rng = self.crash_draw.rng(key);
        let n = (count as usize).min(up.len());
        for k in 0..n {
            let j = rng.random_range(k..up.len());
            up.swap(k, j);
        }
        let chosen = up[..n].to_vec();
        for &i in &chosen {
            self.insts[i as usize].down = true;
            self.q.push(restart.max(self.now), Ev::Restarted(i));
        }
        // Everything the crashed instances hold fails: what waits in their queues, and
        // what is in their slots (its own work, a query, or waiting for a call).
        for &i in &chosen {
            let queued: Vec<VRef> = self.insts[i as usize].queue.drain(..).collect();
            for v in queued {
                if self.live(v) {
                    self.finish(v, Err(Cause::Error));
                }
            }
        }
        let holding: Vec<VRef> = self
            .visits
            .iter()
            .enumerate()
            .filter(|(_, x)| {
                x.state != State::Free
                    && x.state != State::Queued
                    && self.svcs[x.svc as usize].functions.is_none()
                    && chosen.contains(&x.inst)
            })
            .map(|(idx, x)| VRef { idx: idx as u32, epoch: x.epoch })
            .collect();
        for v in holding {
            if self.live(v) {
                self.finish(v, Err(Cause::Error));
            }
        }
        n as u32
    }

    // ----- the plan ---------------------------------------------------------------

    fn run_step(&mut self, pc: usize) {
        if pc == 0 && self.plan_started.is_none() {
            self.plan_started = Some(self.now);
        }
        let Some(step) = self.m.steps.get(pc).cloned() else {
            self.report.plan_finished_s = Some(self.now.as_secs_f64());
            if self.abort_at.is_some() && !self.awaiting_recovery {
                self.recovered_at.get_or_insert(self.now);
            }
            self.plan_finished = Some(self.now);
            if self.awaiting_recovery {
                self.check_recovered();
            }
            if self.report.outcome == Outcome::Running {
                self.report.outcome = Outcome::Completed;
            }
            self.log("plan finished".into());
            return;
        };
        match step {
            Step::Wait(d) => self.q.push(self.now + d, Ev::Step { pc: pc as u32 + 1, token: self.token }),
            Step::Migrate { kind, to } => {
                if let Some(db) = &mut self.db {
                    let before = db.schema;
                    db.floor = match kind {
                        MigrationKind::Expand => db.floor,
                        MigrationKind::Contract => before,
                        MigrationKind::Breaking => to,
                    };
                    db.schema = to;
                    self.report.schema = Some(to);
                }
                let what = match kind {
                    MigrationKind::Expand => "expanded",
                    MigrationKind::Contract => "contracted",
                    MigrationKind::Breaking => "migrated (breaking)",
                };
                self.log(format!("schema {what} to {to}"));
                self.run_step(pc + 1);
            }
            Step::Deploy { order, switch, bake, to } => {
                let waves = match order {
                    Order::BigBang => vec![to],
                    Order::OneAtATime => {
                        self.m.order.iter().filter_map(|s| to.iter().find(|t| t.0 == *s).map(|&t| vec![t])).collect()
                    }
                };
                self.rollout = Some(Rollout { waves, wave: 0, switch, bake, next_pc: pc + 1, rollback: false });
                self.start_wave();
            }
            Step::Rollback(r) => self.start_rollback(&r, pc + 1),
        }
    }

    fn start_rollback(&mut self, r: &Rollback, next_pc: usize) {
        let order: Vec<usize> = self
            .deployed_order
            .iter()
            .rev()
            .copied()
            .filter(|s| r.services.is_empty() || r.services.contains(s))
            .collect();
        let targets: Vec<(usize, u8)> = order.iter().filter_map(|&s| self.svcs[s].prev.map(|p| (s, p))).collect();
        let waves = match r.order {
            RollbackOrder::AllAtOnce if targets.is_empty() => Vec::new(),
            RollbackOrder::AllAtOnce => vec![targets],
            RollbackOrder::Reverse => targets.into_iter().map(|t| vec![t]).collect(),
        };
        self.log(format!(
            "rollback of {}",
            if order.is_empty() {
                "nothing (no service deployed)".to_string()
            } else {
                order.iter().map(|&s| self.m.names[s].as_str()).collect::<Vec<_>>().join(", ")
            }
        ));
        self.rollout =
            Some(Rollout { waves, wave: 0, switch: r.switch.clone(), bake: r.bake, next_pc, rollback: true });
        self.start_wave();
    }

    fn start_wave(&mut self) {
        let Some(ro) = &self.rollout else { return };
        let Some(wave) = ro.waves.get(ro.wave).cloned() else {
            let next = ro.next_pc;
            self.rollout = None;
            return self.run_step(next);
        };
        let (switch, rollback) = (ro.switch.clone(), ro.rollback);
        let mut done = self.now;
        if let Switch::Canary(plan) = &switch {
            for &(svc, version) in &wave {
                let s = &mut self.svcs[svc];
                s.prev = Some(s.target);
                s.canary_version = version;
                if !self.deployed_order.contains(&svc) {
                    self.deployed_order.push(svc);
                }
                let text = format!("canary of {} {}", self.m.names[svc], self.m.versions[svc][version as usize]);
                self.log(text);
                self.canaries.push(CanaryRun {
                    svc,
                    version,
                    plan: plan.clone(),
                    pc: 0,
                    state: CanaryState::Stepping,
                    scale: None,
                    weight: 0.0,
                    background: None,
                    background_tap: Tap::new(NEW),
                    step_analysis: None,
                    step_tap: Tap::new(NEW),
                });
            }
            for &(svc, _) in &wave {
                self.canary_advance(svc);
            }
            return;
        }
        for (svc, version) in wave {
            let s = &mut self.svcs[svc];
            if !rollback {
                s.prev = Some(s.target);
                if !self.deployed_order.contains(&svc) {
                    self.deployed_order.push(svc);
                }
            }
            s.target = version;
            let batch = match switch {
                Switch::Rolling(b) => b.min(s.replicas),
                Switch::Instant | Switch::Canary(_) => s.replicas,
            };
            // A function moves its alias at once: one switch.
            let batches = if s.replicas == 0 { 1 } else { s.replicas.div_ceil(batch) };
            let boot = s.boot;
            let replicas = s.replicas;
            for b in 0..batches {
                let at = self.now + Time::from_micros(boot.as_micros().saturating_mul(b as u64 + 1));
                let ev = Ev::Switch {
                    svc: svc as u16,
                    from: b * batch,
                    to: ((b + 1) * batch).min(replicas),
                    version,
                    token: self.token,
                };
                self.q.push(at, ev);
                done = done.max(at);
            }
            let verb = if rollback { "rolling back" } else { "deploying" };
            let text = format!("{verb} {} to {}", self.m.names[svc], self.m.versions[svc][version as usize]);
            self.log(text);
        }
        self.q.push(done, Ev::WaveDone { token: self.token });
    }

    fn wave_done(&mut self) {
        let Some(ro) = &mut self.rollout else { return };
        ro.wave += 1;
        if ro.wave < ro.waves.len() {
            let at = self.now + ro.bake;
            self.q.push(at, Ev::NextWave { token: self.token });
        } else {
            let next = ro.next_pc;
            self.rollout = None;
            self.run_step(next);
        }
    }

    // ----- canaries ---------------------------------------------------------------

    fn canary_index(&self, svc: usize) -> Option<usize> {
        self.canaries.iter().position(|c| c.svc == svc)
    }

    /// A call answered by (or refused at) one of `svc`'s canary instances.
    fn canary_record(&mut self, svc: usize, failed: bool, answered: bool, latency: Time) {
        if let Some(c) = self.canaries.iter_mut().find(|c| c.svc == svc) {
            c.background_tap.record(failed, answered, latency);
            c.step_tap.record(failed, answered, latency);
        }
    }

    /// Instances the canary's current step asks for.
    fn canary_wanted(&self, c: &CanaryRun) -> u32 {
        let replicas = self.svcs[c.svc].replicas;
        let n = c.scale.unwrap_or_else(|| crate::scenario::canary_replicas(replicas, c.weight));
        n.min(self.svcs[c.svc].canary_cap)
    }

    /// Starts or stops canary instances of `svc` until `n` run; new ones are ready `boot`
    /// later, stopped ones take no new calls and finish what they hold.
    fn canary_scale_to(&mut self, svc: usize, n: u32) {
        let version = self.canary_index(svc).map_or(self.svcs[svc].target, |k| self.canaries[k].version);
        let (first, live, boot) = {
            let s = &self.svcs[svc];
            (s.canary_first, s.canary_live, s.boot)
        };
        let n = n.min(self.svcs[svc].canary_cap);
        if n > live {
            for i in first + live..first + n {
                let inst = &mut self.insts[i as usize];
                inst.active = true;
                inst.version = version;
            }
            self.instances_change(svc, i64::from(n - live));
            self.q.push(self.now + boot, Ev::CanaryReady { svc: svc as u16, n, token: self.token });
        } else if n < live {
            for i in first + n..first + live {
                self.insts[i as usize].active = false;
            }
            self.instances_change(svc, -i64::from(live - n));
            let s = &mut self.svcs[svc];
            s.canary_ready = s.canary_ready.min(n);
        }
        self.svcs[svc].canary_live = n;
    }

    fn canary_ready(&mut self, svc: usize, n: u32) {
        let s = &mut self.svcs[svc];
        s.canary_ready = s.canary_ready.max(n.min(s.canary_live));
        if let Some(k) = self.canary_index(svc)
            && self.canaries[k].state == CanaryState::Scaling
        {
            self.canary_advance(svc);
        }
    }

    /// Runs the canary's steps from its current one until one waits.
    fn canary_advance(&mut self, svc: usize) {
        let Some(k) = self.canary_index(svc) else { return };
        let token = self.token;
        loop {
            let c = &mut self.canaries[k];
            if matches!(
                c.state,
                CanaryState::Paused | CanaryState::Promoting | CanaryState::Promoted | CanaryState::Aborted
            ) {
                return;
            }
            c.state = CanaryState::Stepping;
            if c.pc == c.plan.analysis_start_step
                && c.background.is_none()
                && let Some(spec) = c.plan.analysis.clone()
            {
                let name = format!("{} background", self.m.names[svc]);
                self.start_analysis(k, &name, &spec, false);
            }
            let c = &self.canaries[k];
            let Some(step) = c.plan.steps.get(c.pc).cloned() else {
                return self.canary_promote(k);
            };
            match step {
                CanaryStep::SetWeight(w) => {
                    let c = &mut self.canaries[k];
                    c.weight = w.0;
                    let wanted = self.canary_wanted(&self.canaries[k]);
                    if !self.canary_apply(k, wanted) {
                        return;
                    }
                }
                CanaryStep::SetCanaryScale(sc) => {
                    let replicas = self.svcs[svc].replicas;
                    let c = &mut self.canaries[k];
                    c.scale = match (sc.replicas, sc.weight) {
                        (Some(n), _) => Some(n.0 as u32),
                        (None, Some(w)) => Some(crate::scenario::canary_replicas(replicas, w.0)),
                        (None, None) => None,
                    };
                    let wanted = self.canary_wanted(&self.canaries[k]);
                    if !self.canary_apply(k, wanted) {
                        return;
                    }
                }
                CanaryStep::Pause(d) => {
                    self.canaries[k].pc += 1;
                    self.q.push(self.now + d.time(), Ev::CanaryNext { svc: svc as u16, token });
                    return;
                }
                CanaryStep::PauseUntilPromoted => {
                    self.canaries[k].state = CanaryState::Paused;
                    let text = format!(
                        "canary of {} paused until promoted (a graph's plan takes no commands)",
                        self.m.names[svc]
                    );
                    self.log(text);
                    return;
                }
                CanaryStep::Analysis(spec) => {
                    if self.canaries[k].step_analysis.is_none() {
                        let name = format!("{} step {}", self.m.names[svc], self.canaries[k].pc);
                        self.start_analysis(k, &name, &spec, true);
                        return;
                    }
                    // The step's analysis ended successfully (a measurement moved it on).
                    self.canaries[k].step_analysis = None;
                }
            }
            self.canaries[k].pc += 1;
        }
    }

    /// Scales the canary to `wanted` instances; true once they are ready, when the
    /// step's weight is the router's (false: it waits for `CanaryReady`).
    fn canary_apply(&mut self, k: usize, wanted: u32) -> bool {
        let svc = self.canaries[k].svc;
        let live = self.svcs[svc].canary_live;
        if wanted != live {
            self.canary_scale_to(svc, wanted);
        }
        if self.svcs[svc].canary_ready < wanted {
            self.canaries[k].state = CanaryState::Scaling;
            return false;
        }
        let w = self.canaries[k].weight;
        if (self.svcs[svc].canary_weight - w / 100.0).abs() > 1e-12 {
            self.svcs[svc].canary_weight = w / 100.0;
            let how = if self.svcs[svc].functions.is_some() {
                "through its weighted alias".to_string()
            } else {
                format!("({wanted} instances)")
            };
            let text = format!("{}: {w}% of calls to the canary {how}", self.m.names[svc]);
            self.log(text);
        }
        true
    }

    fn start_analysis(&mut self, k: usize, name: &str, spec: &crate::scenario::AnalysisSpec, step: bool) {
        let svc = self.canaries[k].svc as u16;
        let delay = spec.initial_delay.time();
        let token = self.token;
        let c = &mut self.canaries[k];
        let v = Some(Verdicts::new(name, spec));
        if step {
            c.step_analysis = v;
            c.step_tap = Tap::new(NEW);
        } else {
            c.background = v;
            c.background_tap = Tap::new(NEW);
        }
        if delay > Time::ZERO {
            self.q.push(self.now + delay, Ev::CanaryMeasure { svc, step, discard: true, token });
        }
        self.q.push(self.now + delay + spec.interval.time(), Ev::CanaryMeasure { svc, step, discard: false, token });
        self.log(format!("analysis `{name}` started"));
    }

    fn canary_measure(&mut self, svc: usize, step: bool, discard: bool) {
        let Some(k) = self.canary_index(svc) else { return };
        let c = &mut self.canaries[k];
        if matches!(c.state, CanaryState::Promoted | CanaryState::Aborted) {
            return;
        }
        let (verdicts, tap) =
            if step { (&mut c.step_analysis, &mut c.step_tap) } else { (&mut c.background, &mut c.background_tap) };
        let Some(v) = verdicts.as_mut() else { return };
        if v.phase.is_done() {
            return;
        }
        let window = std::mem::replace(tap, Tap::new(NEW));
        if discard {
            return;
        }
        let lines = v.measure(&window, None);
        let (phase, message, interval) = (v.phase, v.message.clone(), v.spec().interval.time());
        for l in lines {
            self.log(l);
        }
        match phase {
            Phase::Running => {
                let token = self.token;
                self.q.push(self.now + interval, Ev::CanaryMeasure { svc: svc as u16, step, discard: false, token });
            }
            Phase::Successful => {
                if step && self.canaries[k].state == CanaryState::Stepping {
                    self.canary_advance(svc);
                }
            }
            Phase::Inconclusive => {
                self.canaries[k].state = CanaryState::Paused;
                let text = format!("canary of {} paused: analysis inconclusive ({message})", self.m.names[svc]);
                self.log(text);
            }
            Phase::Failed | Phase::Error => {
                let reason = format!("analysis {phase:?}: {message}");
                self.canary_abort(reason);
            }
        }
    }

    /// Every step passed: the stable replicas move to the new version, `boot` later the
    /// canary's instances go.
    fn canary_promote(&mut self, k: usize) {
        let (svc, version) = (self.canaries[k].svc, self.canaries[k].version);
        self.canaries[k].state = CanaryState::Promoting;
        self.svcs[svc].target = version;
        let (replicas, boot) = (self.svcs[svc].replicas, self.svcs[svc].boot);
        let token = self.token;
        self.q.push(self.now + boot, Ev::Switch { svc: svc as u16, from: 0, to: replicas, version, token });
        self.q.push(self.now + boot, Ev::CanaryPromoted { svc: svc as u16, token });
        let text = format!("canary of {} passed its steps: promoting", self.m.names[svc]);
        self.log(text);
    }

    fn canary_promoted(&mut self, svc: usize) {
        let Some(k) = self.canary_index(svc) else { return };
        self.svcs[svc].canary_weight = 0.0;
        self.canary_scale_to(svc, 0);
        let c = &mut self.canaries[k];
        c.state = CanaryState::Promoted;
        if let Some(b) = c.background.as_mut() {
            b.stop();
        }
        let text = format!("{} promoted", self.m.names[svc]);
        self.log(text);
        if self.canaries.iter().all(|c| c.state == CanaryState::Promoted) {
            self.canaries.clear();
            self.wave_done();
        }
    }

    /// Weight 0 at once for every canary of the wave; their instances go after the delay.
    fn stop_canaries(&mut self) {
        for k in 0..self.canaries.len() {
            let c = &mut self.canaries[k];
            if matches!(c.state, CanaryState::Promoted | CanaryState::Aborted) {
                continue;
            }
            c.state = CanaryState::Aborted;
            let (svc, delay) = (c.svc, c.plan.abort_scale_down_delay);
            let s = &mut self.svcs[svc];
            s.canary_weight = 0.0;
            if let Some(p) = s.prev {
                s.target = p;
            }
            self.q.push(self.now + delay, Ev::CanaryScaleDown { svc: svc as u16 });
            let text = format!("canary of {} aborted: weight 0", self.m.names[svc]);
            self.log(text);
        }
    }

    /// A canary's analysis failed: every canary of the wave stops, the plan stops (or
    /// runs its `on_abort`).
    fn canary_abort(&mut self, reason: String) {
        self.token += 1;
        self.stop_canaries();
        self.report.outcome = Outcome::RolledBack;
        self.report.rollback_s = Some(self.now.as_secs_f64());
        self.abort_at = Some(self.now);
        self.abort_reason = Some(reason.clone());
        self.log(format!("rollout aborted: {reason}"));
        self.awaiting_recovery = true;
        self.rollout = None;
        match self.m.on_abort.clone() {
            Some(r) => self.start_rollback(&r, self.m.steps.len()),
            None => self.run_step(self.m.steps.len()),
        }
        self.check_recovered();
    }

    /// After a canary's abort: recovered once no canary instance holds a call and what
    /// the plan rolls back is done.
    fn check_recovered(&mut self) {
        if !self.awaiting_recovery || self.plan_finished.is_none() {
            return;
        }
        let busy = self.canaries.iter().any(|c| {
            let s = &self.svcs[c.svc];
            match &s.functions {
                Some(f) => f.envs.iter().any(|e| e.busy && e.version == c.version && c.version != f.alias),
                None => (s.canary_first..s.canary_first + s.canary_cap)
                    .any(|i| self.insts[i as usize].busy > 0 || !self.insts[i as usize].queue.is_empty()),
            }
        });
        if !busy {
            self.awaiting_recovery = false;
            self.recovered_at.get_or_insert(self.now);
            self.log("recovered: no call in flight on a canary".into());
        }
    }

    /// At every whole second while the plan runs: the users' failure ratio over the window.
    fn check_auto_rollback(&mut self) {
        let Some((rate, window, min_requests, r)) = self.m.auto_rollback.clone() else { return };
        let started = self.m.plan_at.is_some_and(|a| self.now > a);
        if !started || self.report.outcome != Outcome::Running {
            return;
        }
        let now_s = self.now.whole_secs() as usize;
        let from = now_s.saturating_sub(window.whole_secs().max(1) as usize);
        let (mut n, mut f) = (0u64, 0u64);
        for s in self.report.series.iter().take(now_s).skip(from) {
            n += s.requests;
            f += s.failed;
        }
        if n >= min_requests.max(1) && f as f64 >= rate * n as f64 {
            self.token += 1;
            self.report.outcome = Outcome::RolledBack;
            self.report.rollback_s = Some(self.now.as_secs_f64());
            self.abort_at = Some(self.now);
            let reason = format!(
                "auto rollback: {f} of {n} user requests failed in the last {}s (≥ {rate})",
                window.whole_secs()
            );
            self.log(reason.clone());
            self.abort_reason = Some(reason);
            self.stop_canaries();
            self.start_rollback(&r, self.m.steps.len());
        }
    }

    fn finish_report(mut self) -> Finished {
        while self.rec.series.len() < self.dur_s {
            self.close_second();
        }
        let r = &mut self.report;
        let dur_s = self.end.whole_secs() as usize + usize::from(!self.end.as_micros().is_multiple_of(1_000_000));
        if r.series.len() < dur_s {
            r.series.resize(dur_s, SecondStats::default());
        }
        r.users_affected = self.affected.iter().map(|w| w.count_ones() as u64).sum();
        r.failure_ratio = if r.requests == 0 { 0.0 } else { r.failed as f64 / r.requests as f64 };
        r.mean_latency_ms =
            if self.ok_requests == 0 { 0.0 } else { self.latency_sum_us / self.ok_requests as f64 / 1e3 };
        r.downtime_s =
            r.series.iter().take(dur_s).filter(|s| s.requests > 0 && 2 * s.failed > s.requests).count() as u64;
        r.error_seconds = r.series.iter().filter(|s| s.failed > 0).count() as u64;
        let first = r.series.iter().position(|s| s.failed > 0);
        let last = r.series.iter().rposition(|s| s.failed > 0);
        r.error_window_s = first.zip(last).map(|(a, b)| (a as u64, b as u64 + 1));
        r.finished_s = self.now.as_secs_f64();
        for (i, s) in r.services.iter_mut().enumerate() {
            s.version = self.m.versions[i][self.svcs[i].target as usize].clone();
        }
        if let Some(db) = &self.db {
            r.schema = Some(db.schema);
        }
        let end = self.end;
        let now = self.now;
        self.now = end;
        self.instances_change(0, 0);
        self.now = now;
        // Mean instances running × price × duration.
        let instance_cost = |area: u128| {
            let mean = if end == Time::ZERO { 0.0 } else { area as f64 / end.as_micros() as f64 };
            mean * self.instance_cost_s * end.as_secs_f64()
        };
        let mut cost = instance_cost(self.instance_area);
        for (i, s) in self.svcs.iter_mut().enumerate() {
            s.visits_change(end, end, 0);
            let st = &mut self.report.services[i];
            // Up to the scenario's end, as the run's own `mean_in_system`.
            st.mean_in_service = s.visit_area as f64 / end.as_micros().max(1) as f64;
            st.visits = s.visits_ended;
            st.mean_visit_ms = (s.visits_ended > 0).then(|| s.sojourn_us as f64 / s.visits_ended as f64 / 1e3);
            st.cost = instance_cost(s.instance_area);
            if let Some(f) = &s.functions {
                st.cost += f.cost;
                st.cold_starts = f.cold_starts;
                cost += f.cost;
            }
        }
        Finished {
            report: self.report,
            recorder: self.rec,
            plan_started: self.plan_started,
            plan_finished: self.plan_finished,
            abort_at: self.abort_at,
            recovered_at: self.recovered_at,
            end: self.end,
            cost,
            peak_instances: self.peak_instances as usize,
            abort_reason: self.abort_reason,
            request_seconds: self.request_area as f64 / 1e6,
        }
    }
}

/// A finished topology run: its report, and what it recorded of the user's view for the
/// run summary (see [`Finished::record`]).
pub struct Finished {
    pub report: Report,
    pub recorder: Recorder,
    pub plan_started: Option<Time>,
    pub plan_finished: Option<Time>,
    pub abort_at: Option<Time>,
    pub recovered_at: Option<Time>,
    pub end: Time,
    /// Every running instance of every service (replicas and canary instances) at the
    /// scenario's `fleet.instance.hourly_cost`, up to the scenario's end.
    pub cost: f64,
    pub peak_instances: usize,
    pub abort_reason: Option<String>,
    pub request_seconds: f64,
}

impl Finished {
    /// The plan's log as the log of every run.
    pub fn log(&self) -> Vec<crate::strategy::LogEntry> {
        self.report
            .log
            .iter()
            .map(|(t, text)| crate::strategy::LogEntry { t: Time::from_secs_f64(*t), text: text.clone() })
            .collect()
    }

    /// What the run recorded, for [`crate::metrics::Summary`]. `scenario` is the one it ran.
    pub fn record<'a>(&'a self, scenario: &'a Scenario) -> crate::metrics::RunRecord<'a> {
        crate::metrics::RunRecord {
            scenario,
            metrics: &self.recorder,
            rollout: crate::metrics::RolloutRecord {
                outcome: match self.report.outcome {
                    Outcome::NoPlan => "no_rollout",
                    Outcome::Running => "running",
                    Outcome::Completed => "promoted",
                    Outcome::RolledBack => "rolled_back",
                },
                started: self.plan_started,
                finished: self.plan_finished,
                abort_at: self.abort_at,
                abort_reason: self.abort_reason.as_deref(),
                recovered_at: self.recovered_at,
                ab: None,
            },
            first_new_harm: self.recorder.first_new_failure,
            end: self.end,
            cost: self.cost,
            peak_instances: self.peak_instances,
            request_seconds: self.request_seconds,
        }
    }
}
