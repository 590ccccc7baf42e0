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
use crate::scenario::topology::check::{Fault, MigrationKind, Model, Rollback, Step};
use crate::scenario::topology::{Order, RollbackOrder, SwitchSpec, Topology};

/// Random streams of the topology engine (numbered apart from the main engine's).
mod streams {
    pub const ERROR: u64 = 101;
    pub const DB: u64 = 102;
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
    /// Attempt `seq` of the visit's current call timed out.
    AttemptTimeout(VRef, u32),
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
}

#[derive(Clone, Debug)]
struct Inst {
    version: u8,
    busy: u32,
    queue: VecDeque<VRef>,
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
    switch: SwitchSpec,
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
            for _ in 0..sp.replicas.0 {
                insts.push(Inst { version: 0, busy: 0, queue: VecDeque::new() });
            }
            svcs.push(Svc {
                first,
                replicas: sp.replicas.0 as u32,
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
            });
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
        let mut rec = Recorder::new(users.count, s.traffic.session_gap.time(), dur_s);
        // Only the summary reads it: the engine's own report has the per-second series.
        rec.keep_summary_only();
        let mut e = Engine {
            budgets: vec![Budget::default(); m.edges.len()],
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
            Ev::AttemptTimeout(v, seq) => {
                if self.live(v) {
                    let vis = self.visits[v.idx as usize];
                    if vis.state == State::Calling && vis.seq == seq {
                        let e = self.m.out[vis.svc as usize][vis.call as usize];
                        self.report.calls[e].timeouts += 1;
                        self.attempt_result(v, Err(Cause::Timeout));
                    }
                }
            }
            Ev::Retry(v) => {
                if self.live(v) && self.visits[v.idx as usize].state == State::Backoff {
                    self.send_attempt(v);
                }
            }
            Ev::Switch { svc, from, to, version, token } => {
                if token == self.token {
                    let s = &self.svcs[svc as usize];
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
        let inst = s.first + s.rr % s.replicas;
        s.rr = s.rr.wrapping_add(1);
        let version = self.insts[inst as usize].version;
        if let Some((_, cv, e)) = caller
            && !self.m.compat[e][cv as usize][version as usize]
        {
            return self.fail_early(svc, parent, Cause::Contract, version != 0);
        }
        let (concurrency, queue_cap) = (s.concurrency, s.queue_cap);
        let i = &self.insts[inst as usize];
        if i.busy >= concurrency && i.queue.len() >= queue_cap {
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
        };
        let v = match self.free.pop() {
            Some(idx) => {
                let epoch = self.visits[idx as usize].epoch;
                self.visits[idx as usize] = Visit { epoch, ..visit };
                VRef { idx, epoch }
            }
            None => {
                self.visits.push(visit);
                VRef { idx: self.visits.len() as u32 - 1, epoch: 0 }
            }
        };
        if self.insts[inst as usize].busy < concurrency {
            self.start_work(v);
        } else {
            self.insts[inst as usize].queue.push_back(v);
        }
    }

    fn start_work(&mut self, v: VRef) {
        let vis = self.visits[v.idx as usize];
        self.insts[vis.inst as usize].busy += 1;
        let s = &self.svcs[vis.svc as usize];
        let slow: f64 = s.slow.iter().map(|x| x.1).product();
        let us = s.times.base_micros(vis.serial) * s.ver_factor[vis.version as usize] * slow;
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
            self.q.push(self.now + t, Ev::AttemptTimeout(v, seq));
        }
        let to = self.m.edges[e].to;
        self.arrive(to, Parent::Call { v, seq }, Some((svc, version, e)));
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
        if vis.state != State::Queued {
            let inst = &mut self.insts[vis.inst as usize];
            inst.busy -= 1;
            if let Some(next) = inst.queue.pop_front() {
                self.start_work(next);
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
        for i in &self.insts {
            let pool = if i.version == 0 { STABLE } else { NEW };
            ready[pool as usize] = ready[pool as usize].saturating_add(1);
        }
        let alive = self.insts.len().min(u16::MAX as usize) as u16;
        let share_new =
            if self.insts.is_empty() { 0.0 } else { f64::from(ready[NEW as usize]) / self.insts.len() as f64 };
        self.rec.close_second(ready, alive, share_new, self.insts.len() as f64 * self.instance_cost_s);
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
        };
        self.log(text);
    }

    // ----- the plan ---------------------------------------------------------------

    fn run_step(&mut self, pc: usize) {
        if pc == 0 && self.plan_started.is_none() {
            self.plan_started = Some(self.now);
        }
        let Some(step) = self.m.steps.get(pc).cloned() else {
            self.report.plan_finished_s = Some(self.now.as_secs_f64());
            if self.abort_at.is_some() {
                self.recovered_at.get_or_insert(self.now);
            }
            self.plan_finished = Some(self.now);
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
        self.rollout = Some(Rollout { waves, wave: 0, switch: r.switch, bake: r.bake, next_pc, rollback: true });
        self.start_wave();
    }

    fn start_wave(&mut self) {
        let Some(ro) = &self.rollout else { return };
        let Some(wave) = ro.waves.get(ro.wave).cloned() else {
            let next = ro.next_pc;
            self.rollout = None;
            return self.run_step(next);
        };
        let (switch, rollback) = (ro.switch, ro.rollback);
        let mut done = self.now;
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
                SwitchSpec::Instant => s.replicas,
                SwitchSpec::Rolling(r) => (r.batch.0 as u32).min(s.replicas),
            };
            let batches = s.replicas.div_ceil(batch);
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
            self.log(format!(
                "auto rollback: {f} of {n} user requests failed in the last {}s (≥ {rate})",
                window.whole_secs()
            ));
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
        let instances = self.insts.len();
        Finished {
            report: self.report,
            recorder: self.rec,
            plan_started: self.plan_started,
            plan_finished: self.plan_finished,
            abort_at: self.abort_at,
            recovered_at: self.recovered_at,
            end: self.end,
            cost: instances as f64 * self.instance_cost_s * self.end.as_secs_f64(),
            peak_instances: instances,
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
    /// Every instance of every service at the scenario's `fleet.instance.hourly_cost`,
    /// over the scenario's duration (instances are switched in place: the count never
    /// changes).
    pub cost: f64,
    pub peak_instances: usize,
    pub request_seconds: f64,
}

impl Finished {
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
                abort_reason: None,
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
