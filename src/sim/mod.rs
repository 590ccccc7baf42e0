//! The engine: simulated time, the event queue, keyed random streams, and
//! [`Simulation`], which moves requests and instances through their lives and lets the
//! strategy's controller act.
//!
//! The front ends drive it through a small API: [`Simulation::new`], [`step_until`],
//! [`run_to_end`], [`step_for`] (wall-clock budgeted), [`apply`] for commands, read-only
//! accessors, and [`crate::run`] for a finished run with its baseline.
//!
//! [`step_until`]: Simulation::step_until
//! [`run_to_end`]: Simulation::run_to_end
//! [`step_for`]: Simulation::step_for
//! [`apply`]: Simulation::apply

mod event;
pub mod fast;
pub mod faults;

use std::sync::Arc;

use rand::RngExt;
use rand_distr::{Distribution, Exp1};
use serde::{Deserialize, Serialize};

use crate::des::queue::EventQueue;
use crate::des::rng::{Stream, streams};
use crate::des::time::Time;
use crate::metrics::{BaselineTotals, Outcome, Recorder, RolloutRecord, RunRecord, Summary};
use crate::model::autoscaler::{Hpa, Sample};
use crate::model::fleet::{Fleet, Kept, NEW, POOLS, Phase, STABLE};
use crate::model::gate::Gate;
use crate::model::router::Router;
use crate::model::service::{BACKOFF_RESET, ServiceTimes, VersionProfile, crash_backoff};
use crate::model::traffic::{ArrivalProcess, Users};
use crate::scenario::{Command, RolloutCommand};
use crate::scenario::{Fault, Scenario, StrategySpec};
use crate::strategy::{Controller, Ctx, LogEntry, RolloutOutcome, RolloutState};
use event::{Event, Life};
use faults::Effect;

/// Builds a controller context from disjoint fields of the simulation.
macro_rules! ctx {
    ($s:ident) => {
        Ctx {
            now: $s.now,
            replicas: $s.replicas,
            fleet: &mut $s.fleet,
            router: &mut $s.router,
            rollout: &mut $s.rollout,
            log: &mut $s.log,
            wakes: &mut $s.wakes,
            metrics: &mut $s.metrics,
            gate: &mut $s.gate,
            seed: $s.scenario.seed,
            segment_names: &$s.users.segment_names,
        }
    };
}

/// `minReadySeconds` of the Deployment a strategy drives (through a flag or experiment).
fn min_ready_of(spec: &StrategySpec) -> Time {
    match spec {
        StrategySpec::Rolling(r) => r.min_ready.time(),
        StrategySpec::Recreate(r) => r.min_ready.time(),
        StrategySpec::FeatureToggle(f) => min_ready_of(&f.deploy),
        StrategySpec::AbTest(a) => min_ready_of(&a.deploy),
        _ => Time::ZERO,
    }
}

/// When a service of `micros` that starts at `start` completes. Rounds half up: for
/// non-negative values below 2^52 the same as `round()`, without its library call on the
/// hot path.
#[inline(always)]
fn completion_at(start: Time, micros: f64) -> Time {
    start + Time::from_micros((micros + 0.5).clamp(0.0, 1e15) as i64 as u64)
}

/// Error probability `p` together with an instance's bad configuration and drift.
#[inline(always)]
fn with_config_error(p: f64, bad_config: f64, drift: f64) -> f64 {
    if bad_config == 0.0 && drift == 0.0 {
        return p;
    }
    let config_error = 1.0 - (1.0 - bad_config) * (1.0 - drift);
    if config_error > 0.0 { 1.0 - (1.0 - p) * (1.0 - config_error) } else { p }
}

/// A finished request kept for drawing (a sample of all requests).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecentRequest {
    pub arrival: Time,
    pub end: Time,
    pub user: u32,
    /// The instance that took it; `None` when the load balancer refused it.
    pub instance: Option<u32>,
    pub pool: Option<u8>,
    pub outcome: Outcome,
    pub shadow: bool,
    pub new_code: bool,
}

/// Longest list of recent requests kept for drawing.
pub const RECENT_CAPACITY: usize = 4096;

/// A command with the time it was applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedCommand {
    pub at_us: u64,
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReqState {
    Free,
    Queued,
    InService,
    /// The client timed out while it was being served; the server still works on it.
    TimedOut,
    /// The client timed out while it waited in a queue; skipped when dequeued.
    Abandoned,
    /// Sent to an instance that no longer answers; ends at its deadline.
    Hanging,
}

#[derive(Clone, Copy, Debug)]
struct Req {
    id: u64,
    arrival: Time,
    deadline: Time,
    done: Time,
    user: u32,
    generation: u32,
    state: ReqState,
    version: u8,
    fail: bool,
    timeout_armed: bool,
    /// A mirrored copy: its response is discarded and nobody waits for it.
    shadow: bool,
    /// It runs (ran) the new version's code.
    new_code: bool,
    /// The instance it was handed to.
    inst: u32,
}

/// Settings the engine reads on every event, resolved once from the scenario.
#[derive(Clone, Debug)]
struct Config {
    replicas: u32,
    concurrency: usize,
    queue_cap: usize,
    timeout: Option<Time>,
    provision: Time,
    boot: Time,
    probe_delay: Time,
    probe_period: Time,
    probe_failures: u64,
    drain_timeout: Time,
    mtbf_s: Option<f64>,
    hourly_cost: f64,
    fixed_hourly: f64,
    release_at: Option<Time>,
    end: Time,
}

/// One simulation run. `Clone` forks it: both copies continue identically unless they
/// are given different commands.
#[derive(Clone, Debug)]
pub struct Simulation {
    scenario: Arc<Scenario>,
    cfg: Config,
    now: Time,
    queue: EventQueue<Event>,
    arrivals: ArrivalProcess,
    /// The seed's shared per-request draws, when a batch provides them.
    tape: Option<Arc<fast::tape::RequestTape>>,
    next_arrival: Option<Time>,
    next_request: u64,
    users: Users,
    service: ServiceTimes,
    versions: [VersionProfile; POOLS],
    /// Gates the new code path per user (feature flag, experiment variant).
    gate: Option<Gate>,
    error_draw: Stream,
    crash_draw: Stream,
    fault_draw: Stream,
    fleet: Fleet,
    router: Router,
    reqs: Vec<Req>,
    free: Vec<u32>,
    controller: Controller,
    rollout: RolloutState,
    /// Faults by number: the scheduled ones, then the random occurrences.
    fault_list: Vec<Fault>,
    /// Timed fault effects, and what they add up to now.
    effects: Vec<faults::Timed>,
    dep_factor: f64,
    dep_error: f64,
    mods: Option<Box<faults::Mods>>,
    crash_on_start: bool,
    /// `(rate per second, latest end)` of the memory leaks in force.
    leak: Option<(f64, Time)>,
    config_pushes: Vec<faults::ConfigPush>,
    fault_seq: u64,
    fault_rng: Stream,
    metrics: Recorder,
    in_system: u64,
    /// Time in the system of the requests that ended, clipped to the end, in µs; with
    /// `in_flight_arrivals` (the sum of the arrival times of the requests still in the
    /// system) it gives the time integral of requests in the system. Integers, so exact.
    system_area: u128,
    in_flight_arrivals: u128,
    /// Time integral of live instances in count·µs, updated on every event.
    instance_area: u128,
    peak_instances: usize,
    next_second: Time,
    log: Vec<LogEntry>,
    commands: Vec<RecordedCommand>,
    fault_picks: u64,
    first_new_crash: Option<Time>,
    /// Requests holding a slot that run the new code (for recovery after a kill switch).
    new_code_in_flight: u64,
    /// When a request last started running the new code.
    last_new_code_start: Option<Time>,
    /// Share of requests kept in `recent` (0: none).
    sample_rate: f64,
    sample_draw: Stream,
    recent: std::collections::VecDeque<RecentRequest>,
    wakes: Vec<Time>,
    dirty: bool,
    finished: bool,
    /// The service's `spec.replicas` now: `fleet.replicas`, or what the autoscaler set.
    replicas: u32,
    hpa: Option<Hpa>,
    /// Requests in service on instances not being deleted (the busy slots the
    /// autoscaler's metric counts; mirrored copies included, they use the slot too).
    busy: u64,
    /// Time integrals since the autoscaler's last sync, slot-µs and instance-µs.
    busy_area: f64,
    ready_area: f64,
    /// Whether completions may wait with their instance (see [`completions`]): not
    /// while an autoscaler integrates busy slots.
    keep_completions: bool,
    /// Whether a request's error rate depends on how busy its instance is (a version's
    /// or a fault's errors above a load): then waiting completions are counted first.
    load_sensitive: bool,
    /// Instances whose `kept` list may have entries.
    kept_lists: Vec<u32>,
    /// No kept completion has a key below this.
    kept_min: u128,
    /// Whether quiet stretches of arrivals run in one loop (see [`quiet`]); off only to
    /// check that it is the same run.
    fast_arrivals: bool,
    /// Arrivals handled in quiet stretches.
    quiet_count: u64,
}

impl Simulation {
    /// Builds a run of `scenario` with its own seed and strategy.
    pub fn new(scenario: Arc<Scenario>) -> Simulation {
        Simulation::with_tape(scenario, None)
    }

    /// Like [`new`](Self::new), reading arrivals, users and base service times from
    /// `tape` (the same values it would draw itself) when the tape fits the scenario.
    pub fn with_tape(scenario: Arc<Scenario>, tape: Option<Arc<fast::tape::RequestTape>>) -> Simulation {
        let tape = tape.filter(|t| t.fits(&scenario));
        let s = &*scenario;
        let seed = s.seed;
        let end = s.duration.time();
        let users = Users::new(&s.traffic, seed);
        let stable = VersionProfile::stable(&s.fleet.version, &s.service);
        let new = match &s.release {
            Some(r) => VersionProfile::release(r, &s.service, |n| users.segment_index(n)),
            None => VersionProfile { name: "(none)".into(), ..stable.clone() },
        };
        let replicas = s.fleet.replicas.0 as u32;
        let cfg = Config {
            replicas,
            concurrency: s.service.concurrency.0 as usize,
            queue_cap: s.service.queue.0 as usize,
            timeout: s.service.timeout.map(|d| d.time()),
            provision: s.fleet.instance.provision.time(),
            boot: s.fleet.instance.boot.time(),
            probe_delay: s.fleet.readiness.initial_delay.time(),
            probe_period: s.fleet.readiness.period.time(),
            probe_failures: s.fleet.readiness.failure_threshold.0,
            drain_timeout: s.fleet.drain_timeout.time(),
            mtbf_s: s.fleet.mtbf.map(|d| d.as_secs_f64()),
            hourly_cost: s.fleet.instance.hourly_cost.0,
            fixed_hourly: s.cost.fixed_hourly.0,
            release_at: match s.strategy {
                StrategySpec::None => None,
                _ => s.release.as_ref().map(|r| r.at.time()),
            },
            end,
        };
        let mut fleet = Fleet::new(s.fleet.zones.0 as u16);
        fleet.min_ready = min_ready_of(&s.strategy);
        let mut arrivals = ArrivalProcess::new(&s.traffic, seed, end);
        let next_arrival = match &tape {
            Some(t) => t.arrival(0),
            None => arrivals.next_arrival(),
        };
        let seconds = end.whole_secs() as usize + 1;
        let mut sim = Simulation {
            cfg,
            now: Time::ZERO,
            queue: EventQueue::default(),
            arrivals,
            tape,
            next_arrival,
            next_request: 0,
            service: ServiceTimes::new(&s.service.latency, seed),
            versions: [stable.clone(), new, VersionProfile { name: format!("{} (baseline)", stable.name), ..stable }],
            gate: None,
            error_draw: Stream::new(seed, streams::ERROR),
            crash_draw: Stream::new(seed, streams::CRASH),
            fault_draw: Stream::new(seed, streams::FAULT_PICK),
            fleet,
            router: Router::new(s.router.mode, s.router.affinity, seed),
            reqs: Vec::new(),
            free: Vec::new(),
            controller: Controller::new(&s.strategy, replicas),
            rollout: RolloutState::new(if matches!(s.strategy, StrategySpec::None) {
                RolloutOutcome::NoRollout
            } else {
                RolloutOutcome::Pending
            }),
            fault_list: Vec::new(),
            effects: Vec::new(),
            dep_factor: 1.0,
            dep_error: 0.0,
            mods: None,
            crash_on_start: false,
            leak: None,
            config_pushes: Vec::new(),
            fault_seq: 0,
            fault_rng: Stream::new(seed, streams::FAULT_TIMES),
            metrics: Recorder::new(users.count, s.traffic.session_gap.time(), seconds),
            users,
            in_system: 0,
            system_area: 0,
            in_flight_arrivals: 0,
            instance_area: 0,
            peak_instances: 0,
            next_second: Time::SECOND,
            log: Vec::new(),
            commands: Vec::new(),
            fault_picks: 0,
            first_new_crash: None,
            new_code_in_flight: 0,
            last_new_code_start: None,
            sample_rate: 0.0,
            sample_draw: Stream::new(seed, streams::SAMPLE),
            recent: std::collections::VecDeque::new(),
            wakes: Vec::new(),
            dirty: false,
            finished: false,
            replicas,
            hpa: s.autoscaler.as_ref().map(|a| Hpa::new(a, replicas)),
            busy: 0,
            busy_area: 0.0,
            ready_area: 0.0,
            keep_completions: s.autoscaler.is_none(),
            load_sensitive: false,
            kept_lists: Vec::new(),
            kept_min: u128::MAX,
            fast_arrivals: true,
            quiet_count: 0,
            scenario,
        };
        sim.update_load_sensitive();
        if let Some(h) = &sim.hpa {
            sim.queue.push(h.sync_period(), Event::Autoscale);
        }
        sim.start_fleet();
        if let Some(at) = sim.cfg.release_at {
            sim.queue.push(at, Event::Release);
        }
        let list = faults::occurrences(&sim.scenario, seed);
        for (i, (t, _)) in list.iter().enumerate() {
            sim.queue.push(*t, Event::Fault(i as u32));
        }
        sim.fault_list = list.into_iter().map(|(_, f)| f).collect();
        for (i, c) in sim.scenario.commands.iter().enumerate() {
            sim.queue.push(c.at.time(), Event::Command(i as u32));
        }
        sim
    }

    /// The initial fleet: `replicas` stable instances, ready and available at time 0.
    fn start_fleet(&mut self) {
        self.fleet.desired = [self.cfg.replicas, 0, 0];
        for _ in 0..self.cfg.replicas {
            let zone = self.fleet.pick_zone(STABLE);
            let id = self.fleet.add(STABLE, zone, Time::ZERO);
            let inst = &mut self.fleet.instances[id as usize];
            inst.phase = Phase::Running;
            inst.up_since = Some(Time::ZERO);
            inst.ready_since = Some(Time::ZERO);
            inst.ready = true;
            inst.available = true;
            self.fleet.set_routable(id, true);
            self.schedule_uptime_crash(id);
        }
        self.peak_instances = self.fleet.alive_count();
    }

    // ----- read-only views -------------------------------------------------------

    pub fn now(&self) -> Time {
        self.now
    }
    pub fn end(&self) -> Time {
        self.cfg.end
    }
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }
    pub fn router(&self) -> &Router {
        &self.router
    }
    pub fn metrics(&self) -> &Recorder {
        &self.metrics
    }
    pub fn rollout(&self) -> &RolloutState {
        &self.rollout
    }
    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }
    pub fn commands(&self) -> &[RecordedCommand] {
        &self.commands
    }
    pub fn users(&self) -> &Users {
        &self.users
    }
    /// Names of the versions the pools run: `[stable, new, baseline]`.
    pub fn version_names(&self) -> [&str; POOLS] {
        [&self.versions[0].name, &self.versions[1].name, &self.versions[2].name]
    }
    /// The gate on the new code path, if any.
    pub fn gate(&self) -> Option<&Gate> {
        self.gate.as_ref()
    }
    pub fn is_finished(&self) -> bool {
        self.finished
    }
    /// Requests that arrived and have not ended.
    pub fn in_system(&self) -> u64 {
        self.in_system
    }
    /// Request records allocated: grows with the most requests ever in flight at once,
    /// never with the number of requests.
    pub fn request_slots(&self) -> usize {
        self.reqs.len()
    }
    /// Events waiting in the queue.
    pub fn pending_events(&self) -> usize {
        self.queue.len() + self.kept_completions()
    }
    /// Time integral of requests in the system, request-seconds (for Little's law).
    pub fn request_seconds(&self) -> f64 {
        let now = u128::from(self.now.min(self.cfg.end).as_micros());
        let open = (u128::from(self.in_system) * now).saturating_sub(self.in_flight_arrivals);
        (self.system_area + open) as f64 / 1e6
    }
    /// Cost so far: instance time at the hourly price plus the fixed hourly cost.
    pub fn cost(&self) -> f64 {
        self.cost_with(self.instance_area)
    }
    /// Time integral of live instances so far, instance-µs: what [`cost`](Self::cost)
    /// prices.
    pub fn instance_area(&self) -> u128 {
        self.instance_area
    }
    /// The cost so far of a run of this scenario whose instance time integral is `area`.
    pub fn cost_with(&self, area: u128) -> f64 {
        let hours = self.now.min(self.cfg.end).as_secs_f64() / 3600.0;
        area as f64 / 3.6e9 * self.cfg.hourly_cost + self.cfg.fixed_hourly * hours
    }
    /// Records only what a summary reads of this run (see [`Recorder::keep_summary_only`]).
    pub fn keep_summary_only(&mut self) {
        self.metrics.keep_summary_only();
    }
    /// Notes from now on which users have a failed request (see
    /// [`Recorder::note_failed_users`]).
    pub fn note_failed_users(&mut self) {
        self.metrics.note_failed_users();
    }
    /// Keeps this share of finished requests for drawing (see [`Simulation::recent`]).
    /// Sampling is keyed by request id, so it does not change the run.
    pub fn set_sample_rate(&mut self, rate: f64) {
        self.sample_rate = rate.clamp(0.0, 1.0);
        if self.sample_rate > 0.0 {
            // Samples are kept in the order requests end.
            self.make_all_eager();
        }
    }
    /// The most recent sampled finished requests, oldest first.
    pub fn recent(&self) -> &std::collections::VecDeque<RecentRequest> {
        &self.recent
    }
    /// The strategy's plan (steps or stages) and the current one, for front ends.
    pub fn plan(&self) -> (Vec<String>, Option<usize>) {
        self.controller.plan(&self.rollout)
    }
    /// When a request last started running the new version's code.
    pub fn last_new_code_start(&self) -> Option<Time> {
        self.last_new_code_start
    }
    /// The service's `spec.replicas` now (changed only by an autoscaler).
    pub fn replicas(&self) -> u32 {
        self.replicas
    }
    /// The autoscaler with its decisions so far, if the scenario has one.
    pub fn autoscaler(&self) -> Option<&Hpa> {
        self.hpa.as_ref()
    }
    pub fn peak_instances(&self) -> usize {
        self.peak_instances
    }
    /// The first harm done by the new version: its first failed request or crash.
    /// What this run recorded, for the metrics.
    pub fn record(&self) -> RunRecord<'_> {
        let r = &self.rollout;
        RunRecord {
            scenario: &self.scenario,
            metrics: self.metrics(),
            rollout: RolloutRecord {
                outcome: r.outcome.label(),
                started: r.started,
                finished: r.finished,
                abort_at: r.abort_at,
                abort_reason: r.abort_reason.as_deref(),
                recovered_at: r.recovered_at,
                ab: r.ab.as_ref(),
            },
            first_new_harm: self.first_new_harm(),
            end: self.end(),
            cost: self.cost(),
            peak_instances: self.peak_instances(),
            request_seconds: self.request_seconds(),
        }
    }

    /// This run's summary against `baseline` (the same scenario and seed, no rollout).
    pub fn summary(&self, baseline: &Simulation) -> Summary {
        Summary::compute(&self.record(), &baseline.record())
    }

    /// This run's summary against what its baseline totalled.
    pub fn summary_against(&self, baseline: &BaselineTotals) -> Summary {
        Summary::against(&self.record(), baseline)
    }

    /// What a summary reads of this run when it is the baseline.
    pub fn baseline_totals(&self) -> BaselineTotals {
        BaselineTotals::of(&self.record())
    }

    pub fn first_new_harm(&self) -> Option<Time> {
        match (self.metrics.first_new_failure, self.first_new_crash) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----- driving ---------------------------------------------------------------

    /// Applies a command at the current time and records it.
    pub fn apply(&mut self, command: Command) {
        self.commands.push(RecordedCommand { at_us: self.now.as_micros(), command: command.clone() });
        self.apply_now(command);
    }

    /// The scenario with every command applied so far added to its `commands`, so that
    /// running it replays this session exactly.
    pub fn session_scenario(&self) -> Scenario {
        let mut s = (*self.scenario).clone();
        for c in &self.commands {
            s.commands.push(crate::scenario::ScheduledCommand {
                at: crate::scenario::Duration(Time::from_micros(c.at_us)),
                command: c.command.clone(),
            });
        }
        s.commands.sort_by_key(|c| c.at);
        s
    }

    fn apply_now(&mut self, command: Command) {
        match command {
            Command::Rollout(cmd) => {
                match cmd {
                    RolloutCommand::Pause => self.rollout.paused = true,
                    RolloutCommand::Resume => self.rollout.paused = false,
                    _ => {}
                }
                self.log.push(LogEntry { t: self.now, text: format!("command: {cmd:?}") });
                if self.rollout.started.is_some() {
                    let mut cx = ctx!(self);
                    self.controller.get().command(&mut cx, cmd);
                    self.after_controller();
                    self.dirty = true;
                }
            }
            Command::KillSwitch => {
                self.log.push(LogEntry { t: self.now, text: "kill switch: new code path off".into() });
                self.kill_switch();
                if self.rollout.started.is_some() {
                    let mut cx = ctx!(self);
                    self.controller.get().command(&mut cx, RolloutCommand::Abort);
                    self.after_controller();
                    self.dirty = true;
                }
            }
            Command::CrashInstance(id) => {
                let alive = self.fleet.instances.get(id as usize).is_some_and(|i| i.alive());
                if alive {
                    self.log.push(LogEntry { t: self.now, text: format!("instance {id} crashed (command)") });
                    self.crash(id);
                }
            }
            Command::ReleaseErrorRate(p) => {
                let v = &mut self.versions[NEW as usize];
                v.error_rate = 1.0 - (1.0 - v.error_rate) * (1.0 - p.0);
                self.log
                    .push(LogEntry { t: self.now, text: format!("release made worse: +{:.1} % errors", p.0 * 100.0) });
            }
            Command::InjectFault(f) => {
                self.log.push(LogEntry { t: self.now, text: format!("fault injected: {f:?}") });
                self.fault(&f);
            }
        }
        self.flush();
    }

    /// Runs every event before `target` (capped at the end), then sets the clock to it.
    pub fn step_until(&mut self, target: Time) {
        let target = target.min(self.cfg.end);
        while self.step_one::<true>(target) {}
        self.advance_to(target);
        self.settle();
    }

    /// Completes the waiting completions that are due by now, so that what the run shows
    /// (requests in the system, busy instances) is current.
    fn settle(&mut self) {
        let limit = if self.now >= self.cfg.end {
            fast::completions::before(self.cfg.end)
        } else {
            fast::completions::through(self.now)
        };
        self.catch_up_all(limit.min(self.queue.peek_key()));
    }

    /// Handles every arrival by the general path, never a quiet stretch in one loop (see
    /// [`quiet`]): the same run, for tests that show it is.
    pub fn without_quiet_arrivals(&mut self) {
        self.fast_arrivals = false;
    }

    /// How many arrivals were handled in quiet stretches.
    pub fn quiet_arrival_count(&self) -> u64 {
        self.quiet_count
    }

    /// Makes this run record only what a summary compares a run against (see
    /// [`Recorder::keep_totals_only`]), when it is a no-rollout run that has not started:
    /// a batch's baseline whose own summary nobody asks for. Otherwise does nothing.
    pub fn keep_totals_only(&mut self) {
        if matches!(self.scenario.strategy, crate::scenario::StrategySpec::None) && self.next_request == 0 {
            self.metrics.keep_totals_only();
        }
    }

    /// Processes exactly one event (an arrival or a scheduled event) before the end.
    /// Returns false when nothing is left before the end. For tests and step-by-step
    /// teaching; front ends normally use [`step_until`](Self::step_until).
    pub fn step(&mut self) -> bool {
        let stepped = self.step_one::<false>(self.cfg.end);
        self.settle();
        stepped
    }

    /// Checks the engine's bookkeeping: requests whose client still waits equal the
    /// requests in the system, routable instances are ready and alive, no instance serves
    /// more than its concurrency, and outcomes plus requests in flight equal arrivals.
    pub fn audit(&self) -> Result<(), AuditError> {
        let waiting = self
            .reqs
            .iter()
            .filter(|r| !r.shadow && matches!(r.state, ReqState::Queued | ReqState::InService | ReqState::Hanging))
            .count() as u64
            + self.kept_lists.iter().flat_map(|&i| &self.fleet.instances[i as usize].kept).filter(|k| !k.shadow).count()
                as u64;
        if waiting != self.in_system {
            return Err(AuditError::Waiting { waiting, in_system: self.in_system });
        }
        if self.metrics.ended() + self.in_system != self.metrics.arrivals {
            return Err(AuditError::Ended {
                ended: self.metrics.ended(),
                in_flight: self.in_system,
                arrivals: self.metrics.arrivals,
            });
        }
        for v in 0..POOLS {
            for &id in &self.fleet.routable[v] {
                let i = &self.fleet.instances[id as usize];
                if !i.ready || !i.alive() || i.deleting || i.version as usize != v {
                    return Err(AuditError::Routable { id: id as u64, pool: v });
                }
            }
        }
        let busy: usize = self.fleet.instances.iter().filter(|i| i.alive() && !i.deleting).map(|i| i.serving()).sum();
        if busy as u64 != self.busy {
            return Err(AuditError::Busy { serving: busy as u64, counted: self.busy });
        }
        for i in &self.fleet.instances {
            if i.serving() > self.cfg.concurrency {
                return Err(AuditError::OverConcurrency {
                    id: i.id as u64,
                    serving: i.serving() as u64,
                    concurrency: self.cfg.concurrency as u64,
                });
            }
            if !i.alive() && i.has_work() {
                return Err(AuditError::TerminatedHoldsWork { id: i.id as u64 });
            }
        }
        Ok(())
    }

    /// Like [`step_until`](Self::step_until), but returns after about `budget` of wall
    /// time. Returns true when `target` was reached.
    pub fn step_for(&mut self, target: Time, budget: std::time::Duration) -> bool {
        let target = target.min(self.cfg.end);
        // The wall-clock budget only decides where this call returns; the run's state at
        // any simulated time is the same however it was stepped there.
        #[allow(clippy::disallowed_methods)]
        let start = std::time::Instant::now();
        loop {
            for _ in 0..1024 {
                if !self.step_one::<true>(target) {
                    self.advance_to(target);
                    self.settle();
                    return true;
                }
            }
            if start.elapsed() >= budget {
                self.settle();
                return false;
            }
        }
    }

    /// Runs to the end of the scenario, lets the requests in flight finish, and closes
    /// the metrics.
    pub fn run_to_end(&mut self) {
        if self.finished {
            return;
        }
        self.step_until(self.cfg.end);
        self.drain_in_flight();
        self.finish_rollout();
        self.finished = true;
    }

    /// Processes the next event if it is before `target` and the end; false otherwise.
    /// With `QUIET`, a quiet stretch of arrivals counts as one event (see [`quiet`]).
    #[inline(always)]
    fn step_one<const QUIET: bool>(&mut self, target: Time) -> bool {
        let ev = self.queue.peek_time().unwrap_or(Time::MAX);
        let arr = self.next_arrival.unwrap_or(Time::MAX);
        let t = ev.min(arr);
        if t >= self.cfg.end || t > target {
            return false;
        }
        self.advance_to(t);
        if ev <= arr {
            self.catch_up_all(self.queue.peek_key());
            if let Some((_, e)) = self.queue.pop() {
                self.handle(e);
            }
        } else if !(QUIET && self.quiet_arrivals(target, ev)) {
            self.arrive();
            self.draw_next_arrival();
        }
        self.flush();
        if self.awaiting_recovery() {
            // Recovery watches the new code's requests in flight: from the abort on,
            // their completions run at their own time.
            if !self.kept_lists.is_empty() {
                self.make_all_eager();
            }
            self.check_recovered();
        }
        true
    }

    /// After the end: no arrivals, faults or controller; requests in flight finish.
    fn drain_in_flight(&mut self) {
        self.keep_completions = false;
        self.make_all_eager();
        let mut guard = 0u64;
        while self.in_system > 0 {
            let Some((t, e)) = self.queue.pop() else {
                break;
            };
            self.now = self.now.max(t);
            match e {
                Event::Wake
                | Event::Release
                | Event::Fault(_)
                | Event::ZoneUp(_)
                | Event::FaultChange
                | Event::Autoscale
                | Event::Command(_) => {}
                _ => self.handle(e),
            }
            self.dirty = false;
            guard += 1;
            if guard > 1 << 32 {
                break;
            }
        }
        // Requests that ended after the end are counted in the last second.
        let tail = std::mem::take(&mut self.metrics.cur);
        if let Some(last) = self.metrics.series.last_mut() {
            last.arrivals += tail.arrivals;
            last.shadow += tail.shadow;
            last.shadow_failed += tail.shadow_failed;
            for v in 0..POOLS {
                last.success[v] += tail.success[v];
                last.error[v] += tail.error[v];
                last.timeout[v] += tail.timeout[v];
                last.rejected[v] += tail.rejected[v];
            }
            last.no_backend += tail.no_backend;
        }
    }

    fn finish_rollout(&mut self) {
        if self.rollout.outcome == RolloutOutcome::Pending {
            self.rollout.outcome = RolloutOutcome::Running;
        }
    }

    /// Moves the clock to `t`, integrating cost and occupancy and closing seconds.
    #[inline]
    fn advance_to(&mut self, t: Time) {
        if t < self.next_second {
            self.integrate(t);
        } else {
            self.close_seconds(t);
        }
    }

    #[cold]
    fn close_seconds(&mut self, t: Time) {
        while self.next_second <= t && self.next_second <= self.cfg.end {
            let b = self.next_second;
            self.catch_up_all(fast::completions::before(b));
            self.integrate(b);
            let ready = [0, 1, 2].map(|p| self.fleet.routable[p].len() as u16);
            let share = self.router.share_new(&self.fleet, b);
            let cost = self.cost();
            self.metrics.close_second(ready, self.fleet.alive_count() as u16, share, cost);
            self.next_second = b + Time::SECOND;
        }
        self.integrate(t);
    }

    #[inline]
    fn integrate(&mut self, t: Time) {
        if t > self.now {
            let until = t.min(self.cfg.end);
            if until > self.now {
                let us = (until - self.now).as_micros();
                self.instance_area += u128::from(us) * self.fleet.alive_count() as u128;
                if self.hpa.is_some() {
                    let dt = us as f64;
                    self.busy_area += self.busy as f64 * dt;
                    let ready: usize = self.fleet.routable.iter().map(Vec::len).sum();
                    self.ready_area += ready as f64 * dt;
                }
            }
            self.now = t;
        }
    }

    // ----- requests --------------------------------------------------------------

    /// The user who makes request `id`: from the tape when the run has one.
    #[inline(always)]
    fn user_of(&self, id: u64) -> u32 {
        match &self.tape {
            Some(tape) => tape.user(id),
            None => self.users.user_of_request(id),
        }
    }

    /// Request `id`'s base service time, µs: from the tape when the run has one.
    #[inline(always)]
    fn base_micros_of(&self, id: u64) -> f64 {
        match &self.tape {
            Some(tape) => tape.base_micros(id),
            None => self.service.base_micros(id),
        }
    }

    /// Sets the time of the next arrival, that of request `next_request`.
    #[inline(always)]
    fn draw_next_arrival(&mut self) {
        self.next_arrival = match &self.tape {
            Some(tape) => tape.arrival(self.next_request),
            None => self.arrivals.next_arrival(),
        };
    }

    fn alloc(&mut self, r: Req) -> u32 {
        if let Some(slot) = self.free.pop() {
            let generation = self.reqs[slot as usize].generation;
            self.reqs[slot as usize] = Req { generation, ..r };
            slot
        } else {
            self.reqs.push(r);
            (self.reqs.len() - 1) as u32
        }
    }

    fn release_slot(&mut self, slot: u32) {
        let r = &mut self.reqs[slot as usize];
        if r.new_code {
            r.new_code = false;
            self.new_code_in_flight -= 1;
        }
        r.state = ReqState::Free;
        r.generation = r.generation.wrapping_add(1);
        self.free.push(slot);
    }

    /// Ends a request that is not in the slab (refused at once).
    fn end_request(&mut self, user: u32, version: Option<u8>, outcome: Outcome, latency: Time) {
        self.metrics.finish(user, version, false, outcome, latency, self.now);
        self.leave(self.now);
    }

    /// A user's request that arrived at `arrival` leaves the system now.
    #[inline]
    fn leave(&mut self, arrival: Time) {
        self.in_system -= 1;
        let until = self.now.min(self.cfg.end).max(arrival);
        self.system_area += u128::from((until - arrival).as_micros());
        self.in_flight_arrivals -= u128::from(arrival.as_micros());
    }

    /// Keeps a sample of finished requests for drawing (off unless a front end asks).
    #[inline]
    fn sample(&mut self, r: &Req, instance: Option<u32>, pool: Option<u8>, outcome: Outcome) {
        if self.sample_rate > 0.0
            && self.sample_draw.rng(r.id ^ (u64::from(r.shadow) << 63)).random::<f64>() < self.sample_rate
        {
            if self.recent.len() >= RECENT_CAPACITY {
                self.recent.pop_front();
            }
            self.recent.push_back(RecentRequest {
                arrival: r.arrival,
                end: self.now,
                user: r.user,
                instance,
                pool,
                outcome,
                shadow: r.shadow,
                new_code: r.new_code,
            });
        }
    }

    /// Ends the request in `slot`: a user's request is counted, a mirrored copy only
    /// in the shadow counters.
    fn end_slot(&mut self, slot: u32, outcome: Outcome) {
        let r = self.reqs[slot as usize];
        let latency = self.now - r.arrival;
        let inst = (r.inst != u32::MAX).then_some(r.inst);
        self.sample(&r, inst, Some(r.version), outcome);
        if r.shadow {
            self.metrics.finish_shadow(r.version, outcome.failed(), latency, self.now);
        } else {
            self.metrics.finish(r.user, Some(r.version), r.new_code, outcome, latency, self.now);
            self.leave(r.arrival);
        }
    }

    fn arrive(&mut self) {
        let id = self.next_request;
        self.next_request += 1;
        let user = self.user_of(id);
        let new_session = self.metrics.arrival(user, self.now);
        if new_session && let Some(ab) = self.metrics.ab.as_mut() {
            ab.session(user, id);
        }
        self.in_system += 1;
        self.in_flight_arrivals += u128::from(self.now.as_micros());
        let deadline = self.cfg.timeout.map_or(Time::MAX, |d| self.now + d);
        let req = Req {
            id,
            arrival: self.now,
            deadline,
            done: Time::MAX,
            user,
            generation: 0,
            state: ReqState::Queued,
            version: STABLE,
            fail: false,
            timeout_armed: false,
            shadow: false,
            new_code: false,
            inst: u32::MAX,
        };
        match self.router.pick(&self.fleet, id, user, self.now) {
            Some(inst) => self.dispatch(inst, req),
            None => {
                self.sample(&req, None, None, Outcome::Rejected);
                self.end_request(user, None, Outcome::Rejected, Time::ZERO);
            }
        }
        if let Some(inst) = self.router.mirror_target(&self.fleet, id) {
            let copy = Req { deadline: Time::MAX, shadow: true, ..req };
            self.dispatch(inst, copy);
        }
    }

    /// Hands a request to an instance: serve it now, queue it, or refuse it.
    fn dispatch(&mut self, inst: u32, req: Req) {
        // Waiting completions matter when the instance may be full, or when its error
        // rate depends on how busy it is.
        let i = &self.fleet.instances[inst as usize];
        if i.serving() >= self.cfg.concurrency || self.load_sensitive {
            self.catch_up(inst, fast::completions::through(self.now));
        }
        let (version, unresponsive, busy, queued) = {
            let i = &self.fleet.instances[inst as usize];
            (i.version, i.unresponsive, i.serving(), i.queue.len())
        };
        let req = Req { version, inst, ..req };
        if unresponsive {
            let slot = self.alloc(Req { state: ReqState::Hanging, ..req });
            if req.deadline == Time::MAX {
                self.end_slot(slot, Outcome::Error);
                self.release_slot(slot);
            } else {
                self.arm_timeout(slot);
            }
            return;
        }
        if busy < self.cfg.concurrency {
            self.start_service(inst, req, None);
        } else if queued < self.cfg.queue_cap {
            // A completion now starts the next request in the queue: it runs at its time.
            self.make_eager(inst);
            let slot = self.alloc(req);
            self.fleet.instances[inst as usize].queue.push_back(slot);
            self.arm_timeout(slot);
        } else if req.shadow {
            self.metrics.finish_shadow(version, true, Time::ZERO, self.now);
        } else {
            self.sample(&req, Some(inst), Some(version), Outcome::Rejected);
            self.end_request(req.user, Some(version), Outcome::Rejected, Time::ZERO);
        }
    }

    fn arm_timeout(&mut self, slot: u32) {
        let r = &mut self.reqs[slot as usize];
        if !r.timeout_armed && r.deadline != Time::MAX {
            r.timeout_armed = true;
            let (deadline, generation) = (r.deadline, r.generation);
            self.queue.push(deadline, Event::Timeout { slot, generation });
        }
    }

    /// Whether a request of `user` on a new-pool instance runs the new code: always,
    /// unless a feature flag or an experiment gates the new code path.
    #[inline]
    fn new_code_for(&self, user: u32) -> bool {
        match &self.gate {
            None => true,
            Some(g) => g.is_on(user, self.users.segment(user)),
        }
    }

    /// Starts serving request `r` on `inst`: `slot` holds it when it waited in the
    /// instance's queue (its timeout may be armed there), `None` when it starts on arrival.
    fn start_service(&mut self, inst: u32, r: Req, slot: Option<u32>) {
        let (version, busy, bad_config, drift) = {
            let i = &self.fleet.instances[inst as usize];
            (i.version, i.serving(), i.bad_config, i.drift)
        };
        let new_code = version == NEW && (r.shadow || self.new_code_for(r.user));
        if !r.shadow {
            self.metrics.served(r.user, new_code);
        }
        if new_code {
            self.new_code_in_flight += 1;
            self.last_new_code_start = Some(self.now);
        }
        let profile = if new_code { &self.versions[NEW as usize] } else { &self.versions[STABLE as usize] };
        let mut micros = self.base_micros_of(r.id) * profile.latency_factor * self.dep_factor;
        // The user's segment and the instance's load matter only to errors that depend on
        // them; looking the segment up is a cache miss more per request.
        let (segment, utilization) =
            if profile.segment_errors.is_empty() && profile.load_errors.is_empty() && self.mods.is_none() {
                (0, 0.0)
            } else {
                (self.users.segment(r.user), busy as f64 / self.cfg.concurrency as f64)
            };
        let mut p = profile.failure_probability(segment, utilization, self.dep_error);
        if let Some(m) = &self.mods {
            p = m.failure_probability(p, segment, utilization);
            micros += m.delay_micros(r.id);
        }
        let done = completion_at(self.now, micros);
        let p = with_config_error(p, bad_config, drift);
        let fail = p > 0.0 && self.error_draw.rng(r.id).random::<f64>() < p;
        if !self.fleet.instances[inst as usize].deleting {
            self.busy += 1;
        }
        let key = self.queue.next_key(done);
        if slot.is_none() && r.deadline >= done && self.may_keep(inst) {
            let kept =
                Kept { key, id: r.id, arrival: r.arrival, user: r.user, version, fail, new_code, shadow: r.shadow };
            self.keep(inst, kept);
            return;
        }
        let started = Req { state: ReqState::InService, done, fail, new_code, ..r };
        let slot = match slot {
            Some(slot) => {
                let rr = &mut self.reqs[slot as usize];
                *rr = Req { generation: rr.generation, timeout_armed: rr.timeout_armed, ..started };
                slot
            }
            None => self.alloc(started),
        };
        let generation = self.reqs[slot as usize].generation;
        self.fleet.instances[inst as usize].in_service.push(slot);
        self.queue.push_key(key, Event::ServiceDone { inst, slot, generation });
        if r.deadline < done {
            self.arm_timeout(slot);
        }
    }

    fn service_done(&mut self, inst: u32, slot: u32, generation: u32) {
        let r = self.reqs[slot as usize];
        if r.generation != generation || !matches!(r.state, ReqState::InService | ReqState::TimedOut) {
            return;
        }
        let i = &mut self.fleet.instances[inst as usize];
        if let Some(p) = i.in_service.iter().position(|&s| s == slot) {
            i.in_service.swap_remove(p);
            if !i.deleting {
                self.busy -= 1;
            }
        }
        if r.state == ReqState::InService {
            self.end_slot(slot, if r.fail { Outcome::Error } else { Outcome::Success });
        }
        self.release_slot(slot);
        self.pull_queue(inst);
        let i = &self.fleet.instances[inst as usize];
        if i.deleting && !i.has_work() && i.alive() {
            self.terminate(inst);
        }
    }

    fn pull_queue(&mut self, inst: u32) {
        loop {
            let i = &mut self.fleet.instances[inst as usize];
            if i.serving() >= self.cfg.concurrency {
                return;
            }
            let Some(slot) = i.queue.pop_front() else {
                return;
            };
            if self.reqs[slot as usize].state == ReqState::Abandoned {
                self.release_slot(slot);
                continue;
            }
            let r = self.reqs[slot as usize];
            self.start_service(inst, r, Some(slot));
        }
    }

    fn timeout(&mut self, slot: u32, generation: u32) {
        let r = self.reqs[slot as usize];
        if r.generation != generation {
            return;
        }
        match r.state {
            ReqState::Queued => {
                self.end_slot(slot, Outcome::Timeout);
                self.reqs[slot as usize].state = ReqState::Abandoned;
            }
            ReqState::InService if r.done > self.now => {
                self.end_slot(slot, Outcome::Timeout);
                self.reqs[slot as usize].state = ReqState::TimedOut;
            }
            ReqState::Hanging => {
                self.end_slot(slot, Outcome::Timeout);
                self.release_slot(slot);
            }
            _ => {}
        }
    }

    /// Ends or orphans every request on an instance: with `hang`, clients wait for their
    /// deadline (a silent instance); otherwise they get an error now (a reset connection).
    fn fail_all(&mut self, inst: u32, hang: bool) {
        let i = &mut self.fleet.instances[inst as usize];
        if !i.deleting {
            self.busy -= i.serving() as u64;
        }
        let in_service: Vec<u32> = std::mem::take(&mut i.in_service);
        let kept = std::mem::take(&mut i.kept);
        i.kept_min = u128::MAX;
        let queued: Vec<u32> = i.queue.drain(..).collect();
        self.fail_slots(in_service, hang);
        for k in &kept {
            let r = self.kept_record(inst, k);
            if hang && r.deadline != Time::MAX {
                let slot = self.alloc(Req { state: ReqState::Hanging, ..r });
                self.arm_timeout(slot);
            } else {
                self.end_kept(k, Outcome::Error);
            }
        }
        self.fail_slots(queued, hang);
    }

    /// [`fail_all`](Self::fail_all) for requests in the slab.
    fn fail_slots(&mut self, slots: Vec<u32>, hang: bool) {
        for slot in slots {
            let r = self.reqs[slot as usize];
            match r.state {
                ReqState::InService | ReqState::Queued => {
                    if hang && r.deadline != Time::MAX {
                        self.reqs[slot as usize].state = ReqState::Hanging;
                        self.arm_timeout(slot);
                    } else {
                        self.end_slot(slot, Outcome::Error);
                        self.release_slot(slot);
                    }
                }
                ReqState::TimedOut | ReqState::Abandoned => self.release_slot(slot),
                ReqState::Free | ReqState::Hanging => {}
            }
        }
    }

    // ----- instances -------------------------------------------------------------

    fn life_at(&mut self, t: Time, inst: u32, what: Life) {
        let epoch = self.fleet.instances[inst as usize].epoch;
        self.queue.push(t, Event::Life { inst, epoch, what });
    }

    fn create_instance(&mut self, version: u8) {
        let zone = self.fleet.pick_zone(version);
        let id = self.fleet.add(version, zone, self.now);
        self.peak_instances = self.peak_instances.max(self.fleet.alive_count());
        if self.fleet.zone_down[zone as usize] > 0 {
            self.fleet.instances[id as usize].phase = Phase::Down;
            return;
        }
        let t = self.now + self.cfg.provision;
        self.life_at(t, id, Life::ContainerStart);
    }

    fn container_start(&mut self, id: u32) {
        let crash_loop = {
            let i = &mut self.fleet.instances[id as usize];
            i.phase = Phase::Booting;
            i.up_since = None;
            self.versions[i.version as usize].crash_loop || self.crash_on_start
        };
        let t = self.now + self.cfg.boot;
        self.fleet.instances[id as usize].ready_since = None;
        let what = if crash_loop { Life::StartupCrash } else { Life::AppUp };
        self.life_at(t, id, what);
        if !crash_loop {
            self.schedule_readiness(id);
        }
    }

    /// Kubernetes probes run at `initialDelay + k·period` after the container starts (now);
    /// the instance becomes ready at the first probe at or after the application is up.
    fn schedule_readiness(&mut self, id: u32) {
        let first_probe = self.now + self.cfg.probe_delay;
        let app_up = self.now + self.cfg.boot;
        let ready_at = if app_up <= first_probe {
            first_probe
        } else {
            let p = self.cfg.probe_period.as_micros();
            let k = (app_up - first_probe).as_micros().div_ceil(p);
            first_probe + Time::from_micros(k * p)
        };
        self.life_at(ready_at, id, Life::Ready);
    }

    fn app_up(&mut self, id: u32) {
        let i = &mut self.fleet.instances[id as usize];
        i.phase = Phase::Running;
        i.up_since = Some(self.now);
        self.schedule_uptime_crash(id);
        self.schedule_leak_crash(id);
    }

    /// Crash after an exponential uptime: the version's leak and the fleet's MTBF
    /// combine as competing exponentials (rates add).
    fn schedule_uptime_crash(&mut self, id: u32) {
        let i = &self.fleet.instances[id as usize];
        let mut rate = 0.0;
        if let Some(m) = self.versions[i.version as usize].crash_after_mean_s {
            rate += 1.0 / m;
        }
        if let Some(m) = self.cfg.mtbf_s {
            rate += 1.0 / m;
        }
        if rate <= 0.0 {
            return;
        }
        let key = ((id as u64) << 24) ^ (i.restarts as u64) ^ ((i.epoch as u64) << 48);
        let uptime: f64 = Exp1.sample(&mut self.crash_draw.rng(key));
        let uptime = uptime / rate;
        let t = self.now + Time::from_secs_f64(uptime);
        self.life_at(t, id, Life::Crash);
    }

    fn ready(&mut self, id: u32) {
        let i = &mut self.fleet.instances[id as usize];
        if i.deleting {
            return;
        }
        i.ready = true;
        i.ready_since = Some(self.now);
        self.fleet.set_routable(id, true);
        if self.fleet.min_ready == Time::ZERO {
            self.fleet.instances[id as usize].available = true;
        } else {
            let t = self.now + self.fleet.min_ready;
            self.life_at(t, id, Life::Available);
        }
        self.dirty = true;
    }

    fn crash(&mut self, id: u32) {
        self.fail_all(id, false);
        self.fleet.set_routable(id, false);
        let now = self.now;
        let i = &mut self.fleet.instances[id as usize];
        i.ready = false;
        i.available = false;
        i.epoch += 1;
        i.crashes += 1;
        if i.version == NEW && self.first_new_crash.is_none() {
            self.first_new_crash = Some(now);
        }
        if i.deleting {
            self.terminate(id);
            return;
        }
        if i.up_since.is_some_and(|u| now - u >= BACKOFF_RESET) {
            i.restarts = 0;
        }
        i.restarts += 1;
        i.phase = Phase::Backoff;
        i.up_since = None;
        let t = now + crash_backoff(i.restarts);
        self.life_at(t, id, Life::ContainerStart);
        self.dirty = true;
    }

    /// Starts an in-place update: the instance leaves the endpoints now and moves to its
    /// new pool (so the ReplicaSet counts stay whole and nothing is created or deleted);
    /// the process stops after `block_traffic` and starts again after `install`.
    fn update_in_place(&mut self, r: crate::model::fleet::InPlaceRequest) {
        let alive = self.fleet.instances.get(r.id as usize).is_some_and(|i| i.alive() && !i.deleting);
        if !alive {
            return;
        }
        self.fleet.set_routable(r.id, false);
        let i = &mut self.fleet.instances[r.id as usize];
        i.ready = false;
        i.available = false;
        i.unresponsive = false;
        i.ready_since = None;
        i.epoch += 1;
        i.version = r.pool;
        i.phase = Phase::Updating;
        i.install = r.install;
        let t = self.now + r.block_traffic;
        self.life_at(t, r.id, Life::InPlaceStop);
        self.dirty = true;
    }

    fn delete(&mut self, id: u32) {
        // Its last completion terminates it, at its time.
        self.make_eager(id);
        self.fleet.set_routable(id, false);
        let i = &mut self.fleet.instances[id as usize];
        if !i.deleting {
            self.busy -= i.in_service.len() as u64;
        }
        i.deleting = true;
        i.ready = false;
        i.available = false;
        i.epoch += 1;
        let idle = !i.has_work() || matches!(i.phase, Phase::Pending | Phase::Booting | Phase::Backoff | Phase::Down);
        if idle {
            self.fail_all(id, false);
            self.terminate(id);
        } else {
            i.phase = Phase::Draining;
            let t = self.now + self.cfg.drain_timeout;
            self.life_at(t, id, Life::DrainDeadline);
        }
    }

    fn terminate(&mut self, id: u32) {
        self.fleet.mark_terminated(id);
        self.dirty = true;
    }

    /// Creates or deletes instances so each version has its desired count.
    fn sync_fleet(&mut self) {
        for v in [STABLE, NEW, crate::model::fleet::BASELINE] {
            let current = self.fleet.status(v).current;
            let desired = self.fleet.desired[v as usize];
            if current < desired {
                for _ in current..desired {
                    self.create_instance(v);
                }
            } else if current > desired {
                for id in self.fleet.victims(v, (current - desired) as usize) {
                    self.delete(id);
                }
            }
        }
    }

    // ----- faults ----------------------------------------------------------------

    fn fault(&mut self, f: &Fault) {
        match f {
            Fault::CrashInstances(c) => {
                let version = c.version.as_ref().and_then(|n| self.versions.iter().position(|v| v.name == *n));
                for id in self.pick_instances(c.count.0 as usize, version) {
                    self.crash(id);
                }
            }
            Fault::ZoneOutage(z) => {
                let zone = z.zone.0 as u16;
                if zone >= self.fleet.zones {
                    return;
                }
                self.fleet.zone_down[zone as usize] += 1;
                let ids: Vec<u32> = self
                    .fleet
                    .active
                    .iter()
                    .copied()
                    .filter(|&id| self.fleet.instances[id as usize].zone == zone)
                    .collect();
                for id in ids {
                    self.fail_all(id, true);
                    let i = &mut self.fleet.instances[id as usize];
                    if i.deleting {
                        self.terminate(id);
                        continue;
                    }
                    i.epoch += 1;
                    i.phase = Phase::Down;
                    i.up_since = None;
                    if i.ready {
                        // Still in the endpoints until its readiness probe has failed
                        // `failureThreshold` times in a row.
                        i.unresponsive = true;
                        let t =
                            self.now + Time::from_micros(self.cfg.probe_period.as_micros() * self.cfg.probe_failures);
                        self.life_at(t, id, Life::ProbeFailed);
                    }
                }
                self.queue.push(self.now + z.duration.time(), Event::ZoneUp(zone));
                self.dirty = true;
            }
            Fault::DependencySlow(d) => self.add_effect(d.duration, Effect::Slow(d.factor.0)),
            Fault::DependencyErrors(d) => self.add_effect(d.duration, Effect::Errors(d.rate.0)),
            Fault::DependencyDown(w) => self.add_effect(w.duration, Effect::Errors(1.0)),
            Fault::DbOverload(d) => {
                self.add_effect(d.duration, Effect::Slow(d.factor.0));
                self.add_effect(d.duration, Effect::Errors(d.rate.0));
            }
            Fault::CrashLoop(c) => {
                self.add_effect(c.duration, Effect::CrashOnStart);
                for id in self.pick_instances(c.count.0 as usize, None) {
                    self.crash(id);
                }
            }
            Fault::LatencyInjection(l) => {
                self.add_effect(l.duration, Effect::Delay { us: l.delay.time().as_micros(), share: l.share.0 })
            }
            Fault::ErrorBursts(b) => {
                let end = self.now + b.duration.time();
                let mean_gap = b.gap.as_secs_f64();
                let mut t = self.now;
                let mut k = 0;
                while t < end && k < crate::scenario::MAX_BURSTS {
                    let stop = (t + b.burst.time()).min(end);
                    self.add_effect_at(t, stop, Effect::Errors(b.rate.0));
                    let gap: f64 = Exp1.sample(&mut self.fault_rng.rng2(self.fault_seq, k));
                    let gap = mean_gap * gap;
                    t = stop + Time::from_secs_f64(gap);
                    k += 1;
                }
                self.fault_seq += 1;
            }
            Fault::BadConfigPush(b) => {
                let ids: Vec<u32> = self
                    .fleet
                    .active
                    .iter()
                    .copied()
                    .filter(|&id| !self.fleet.instances[id as usize].deleting)
                    .collect();
                let end = b.duration.map(|d| self.now + d.time());
                if let Some(e) = end {
                    self.queue.push(e, Event::FaultChange);
                }
                self.config_pushes.push(faults::ConfigPush { end, rate: b.rate.0, ids: ids.clone() });
                for id in ids {
                    self.recompute_config(id);
                }
            }
            Fault::ConfigDrift(c) => {
                for id in self.pick_instances(c.count.0 as usize, None) {
                    let i = &mut self.fleet.instances[id as usize];
                    i.drift = 1.0 - (1.0 - i.drift) * (1.0 - c.rate.0);
                }
            }
            Fault::MemoryLeak(m) => {
                self.add_effect(m.duration, Effect::Leak(1.0 / m.mean_uptime.as_secs_f64().max(1e-6)));
                let running: Vec<u32> = self
                    .fleet
                    .active
                    .iter()
                    .copied()
                    .filter(|&id| self.fleet.instances[id as usize].up_since.is_some())
                    .collect();
                for id in running {
                    self.schedule_leak_crash(id);
                }
            }
            Fault::SegmentBug(b) => match self.users.segment_index(&b.segment) {
                Some(seg) => self.add_effect(b.duration, Effect::Segment { seg, rate: b.rate.0 }),
                None => self.log.push(LogEntry { t: self.now, text: format!("no segment `{}`", b.segment) }),
            },
            Fault::LoadBug(b) => {
                self.add_effect(b.duration, Effect::Load { utilization: b.utilization.0, rate: b.rate.0 })
            }
        }
    }

    /// Up to `n` distinct routable instances (of `pool`, or any), drawn at random.
    fn pick_instances(&mut self, n: usize, pool: Option<usize>) -> Vec<u32> {
        let mut candidates: Vec<u32> = match pool {
            Some(v) => self.fleet.routable[v].clone(),
            None => self.fleet.routable.concat(),
        };
        candidates.sort_unstable();
        let mut out = Vec::new();
        while out.len() < n && !candidates.is_empty() {
            let k = self.fault_draw.rng(self.fault_picks).random_range(0..candidates.len());
            self.fault_picks += 1;
            out.push(candidates.remove(k));
        }
        out
    }

    fn add_effect(&mut self, duration: crate::scenario::Duration, effect: Effect) {
        self.add_effect_at(self.now, self.now + duration.time(), effect);
    }

    fn add_effect_at(&mut self, start: Time, end: Time, effect: Effect) {
        if end <= start {
            return;
        }
        if start > self.now {
            self.queue.push(start, Event::FaultChange);
        }
        self.queue.push(end, Event::FaultChange);
        self.effects.push(faults::Timed { start, end, effect });
        self.update_effects();
    }

    /// Recomputes what the fault effects in force add up to, and reverts configuration
    /// pushes whose time is up.
    fn update_effects(&mut self) {
        let now = self.now;
        self.effects.retain(|e| e.end > now);
        let sum =
            faults::combine(self.effects.iter().filter(|e| e.start <= now).map(|e| &e.effect), self.scenario.seed);
        self.dep_factor = sum.factor;
        self.dep_error = sum.error;
        self.crash_on_start = sum.crash_on_start;
        let leak_end = self
            .effects
            .iter()
            .filter(|e| e.start <= now && matches!(e.effect, Effect::Leak(_)))
            .map(|e| e.end)
            .max()
            .unwrap_or(Time::ZERO);
        self.leak = (sum.leak_rate > 0.0).then_some((sum.leak_rate, leak_end));
        self.mods = sum.mods;
        self.update_load_sensitive();
        let expired: Vec<faults::ConfigPush> = {
            let (gone, kept): (Vec<_>, Vec<_>) =
                std::mem::take(&mut self.config_pushes).into_iter().partition(|p| p.end.is_some_and(|e| e <= now));
            self.config_pushes = kept;
            gone
        };
        for p in expired {
            self.log.push(LogEntry { t: now, text: "bad configuration reverted".into() });
            for id in p.ids {
                self.recompute_config(id);
            }
        }
    }

    fn recompute_config(&mut self, id: u32) {
        let ok: f64 = self.config_pushes.iter().filter(|p| p.ids.contains(&id)).map(|p| 1.0 - p.rate).product();
        self.fleet.instances[id as usize].bad_config = 1.0 - ok;
    }

    /// While a memory leak is in force, a running instance crashes after an exponential
    /// uptime (if that comes before the leak ends).
    fn schedule_leak_crash(&mut self, id: u32) {
        let Some((rate, end)) = self.leak else {
            return;
        };
        let i = &self.fleet.instances[id as usize];
        let key = ((id as u64) << 24) ^ (i.restarts as u64) ^ ((i.epoch as u64) << 48);
        let uptime: f64 =
            Exp1.sample(&mut Stream::new(self.scenario.seed, streams::FAULT_LEAK).rng2(key, self.fault_seq));
        let uptime = uptime / rate;
        let t = self.now + Time::from_secs_f64(uptime);
        if t < end {
            self.life_at(t, id, Life::Crash);
        }
    }

    fn zone_up(&mut self, zone: u16) {
        let z = &mut self.fleet.zone_down[zone as usize];
        *z = z.saturating_sub(1);
        if *z > 0 {
            return;
        }
        let ids: Vec<u32> =
            self.fleet.active.iter().copied().filter(|&id| self.fleet.instances[id as usize].zone == zone).collect();
        for id in ids {
            self.fleet.set_routable(id, false);
            let i = &mut self.fleet.instances[id as usize];
            if i.phase != Phase::Down {
                continue;
            }
            i.unresponsive = false;
            i.ready = false;
            i.available = false;
            i.epoch += 1;
            let provision = self.cfg.provision;
            let t = self.now + provision;
            self.life_at(t, id, Life::ContainerStart);
        }
        self.dirty = true;
    }

    // ----- events and the controller ---------------------------------------------

    fn handle(&mut self, e: Event) {
        match e {
            Event::ServiceDone { inst, slot, generation } => self.service_done(inst, slot, generation),
            Event::Timeout { slot, generation } => self.timeout(slot, generation),
            Event::Life { inst, epoch, what } => {
                let i = &self.fleet.instances[inst as usize];
                if i.epoch != epoch || !i.alive() {
                    return;
                }
                match what {
                    Life::ContainerStart => self.container_start(inst),
                    Life::AppUp => self.app_up(inst),
                    Life::StartupCrash | Life::Crash => self.crash(inst),
                    Life::Ready => self.ready(inst),
                    Life::Available => {
                        let i = &mut self.fleet.instances[inst as usize];
                        if i.ready && !i.deleting {
                            i.available = true;
                            self.dirty = true;
                        }
                    }
                    Life::DrainDeadline => {
                        self.fail_all(inst, false);
                        self.terminate(inst);
                    }
                    Life::InPlaceStop => {
                        self.fail_all(inst, false);
                        let i = &mut self.fleet.instances[inst as usize];
                        i.phase = Phase::Pending;
                        i.restarts = 0;
                        i.up_since = None;
                        let t = self.now + i.install;
                        self.life_at(t, inst, Life::ContainerStart);
                    }
                    Life::ProbeFailed => {
                        self.fleet.set_routable(inst, false);
                        let i = &mut self.fleet.instances[inst as usize];
                        i.ready = false;
                        i.available = false;
                        i.unresponsive = false;
                        self.dirty = true;
                    }
                }
            }
            Event::Wake => self.dirty = true,
            Event::Release => {
                self.rollout.started = Some(self.now);
                self.rollout.outcome = RolloutOutcome::Running;
                let name = self.versions[NEW as usize].name.clone();
                self.log.push(LogEntry { t: self.now, text: format!("release of {name} starts") });
                let mut cx = ctx!(self);
                self.controller.get().start(&mut cx);
                self.after_controller();
                self.dirty = true;
            }
            Event::Fault(n) => {
                let f = self.fault_list[n as usize].clone();
                self.log.push(LogEntry { t: self.now, text: format!("fault: {f:?}") });
                self.fault(&f);
            }
            Event::ZoneUp(z) => self.zone_up(z),
            Event::Command(n) => {
                let c = self.scenario.commands[n as usize].command.clone();
                self.apply_now(c);
            }
            Event::FaultChange => self.update_effects(),
            Event::Autoscale => self.autoscale(),
        }
    }

    /// One sync of the HorizontalPodAutoscaler: measure, decide (see
    /// [`crate::model::autoscaler`]), and hand a new `spec.replicas` to whoever owns the
    /// pools: the strategy's controller while a rollout runs (it re-derives its pool
    /// sizes), otherwise the pool that serves (stable before and after a rollback, new
    /// after a promotion).
    fn autoscale(&mut self) {
        let Some(hpa) = self.hpa.as_mut() else {
            return;
        };
        let period = hpa.sync_period();
        self.queue.push(self.now + period, Event::Autoscale);
        let sample = (self.ready_area > 0.0).then(|| {
            let ready: usize = self.fleet.routable.iter().map(Vec::len).sum();
            let existing: u32 = (0..POOLS as u8).map(|p| self.fleet.status(p).current).sum();
            Sample {
                utilization: self.busy_area / (self.ready_area * self.cfg.concurrency as f64),
                ready: ready as u32,
                unready: existing.saturating_sub(ready as u32),
            }
        });
        self.busy_area = 0.0;
        self.ready_area = 0.0;
        let current = self.replicas;
        let next = hpa.sync(self.now, current, sample);
        if next == current {
            return;
        }
        let target = hpa.spec.target_utilization.0;
        let measured = sample.map_or("no metrics".to_string(), |s| {
            format!(
                "utilization {:.0} % of {} ready pods, target {:.0} %",
                s.utilization * 100.0,
                s.ready,
                target * 100.0
            )
        });
        self.log
            .push(LogEntry { t: self.now, text: format!("autoscaler: {current} → {next} replicas ({measured})") });
        self.replicas = next;
        self.controller.set_replicas(next);
        let running = self.rollout.started.is_some()
            && !matches!(self.rollout.outcome, RolloutOutcome::Promoted | RolloutOutcome::RolledBack);
        if !running {
            let owner = if self.rollout.outcome == RolloutOutcome::Promoted { NEW } else { STABLE };
            self.fleet.desired[owner as usize] = next;
        }
        self.dirty = true;
    }

    fn after_controller(&mut self) {
        for t in std::mem::take(&mut self.wakes) {
            self.queue.push(t, Event::Wake);
        }
        for r in std::mem::take(&mut self.fleet.in_place) {
            self.update_in_place(r);
        }
        self.sync_fleet();
    }

    /// Lets the controller act until it is satisfied, then materialises its wishes.
    fn flush(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        if self.rollout.started.is_some() {
            for _ in 0..32 {
                let before = self.controller_visible_state();
                let mut cx = ctx!(self);
                self.controller.get().reconcile(&mut cx);
                self.after_controller();
                let after = self.controller_visible_state();
                if before == after {
                    break;
                }
            }
        } else {
            self.sync_fleet();
        }
        self.dirty = false;
        self.check_recovered();
    }

    /// Closes the gate on the new code for everyone; the next request sees it.
    fn kill_switch(&mut self) {
        match &mut self.gate {
            Some(Gate::Flag(f)) => f.update(|flag| flag.enabled = false),
            Some(g) => *g = Gate::Dark,
            None => {}
        }
    }

    /// What a controller's actions change; reconciling stops when it stays the same. An
    /// abort counts: the controller acts on it in the same instant (Argo moves the canary's
    /// weight back to 0 at once and only delays the scale-down).
    #[allow(clippy::type_complexity)]
    fn controller_visible_state(&self) -> ([u32; POOLS], Option<[f64; POOLS]>, bool, f64, RolloutOutcome, bool) {
        (
            self.fleet.desired,
            self.router.weights,
            self.router.dns.is_some(),
            self.router.mirror,
            self.rollout.outcome,
            self.rollout.abort_at.is_some(),
        )
    }

    /// A rollout was aborted and has not recovered yet.
    #[inline]
    fn awaiting_recovery(&self) -> bool {
        self.rollout.abort_at.is_some() && self.rollout.recovered_at.is_none()
    }

    /// Recovery after an abort: no routable new instance, no work left on one, and
    /// stable ready capacity back at `replicas`.
    fn check_recovered(&mut self) {
        if !self.awaiting_recovery() {
            return;
        }
        // With the new code gated off (a kill switch), new-version instances serve the
        // old code path and count as capacity.
        let dark = self.gate.as_ref().is_some_and(Gate::is_dark);
        let new_routable = self.fleet.routable[NEW as usize].len() as u32;
        let weighted_away = self.router.dns.is_none() && self.router.weights.is_some_and(|w| w[NEW as usize] == 0.0);
        let routed_away = dark || new_routable == 0 || weighted_away;
        let no_new_traffic = routed_away && self.new_code_in_flight == 0;
        let capacity = self.fleet.routable[STABLE as usize].len() as u32 + if dark { new_routable } else { 0 };
        if no_new_traffic && capacity >= self.replicas {
            self.rollout.recovered_at = Some(self.now);
            self.log.push(LogEntry {
                t: self.now,
                text: "recovered: no traffic on the new version, stable capacity restored".into(),
            });
        }
    }
}

/// A broken rule of the engine's bookkeeping that [`Simulation::audit`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("{waiting} requests wait in the slab or with instances but {in_system} are in the system")]
    Waiting { waiting: u64, in_system: u64 },
    #[error("ended {ended} + in flight {in_flight} != arrivals {arrivals}")]
    Ended { ended: u64, in_flight: u64, arrivals: u64 },
    #[error("instance {id} is routable but not a ready, live instance of version {pool}")]
    Routable { id: u64, pool: usize },
    #[error("{serving} requests are in service on live instances but the busy count is {counted}")]
    Busy { serving: u64, counted: u64 },
    #[error("instance {id} serves {serving} requests with concurrency {concurrency}")]
    OverConcurrency { id: u64, serving: u64, concurrency: u64 },
    #[error("terminated instance {id} still holds requests")]
    TerminatedHoldsWork { id: u64 },
}
