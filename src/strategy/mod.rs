//! Rollout strategies: one controller per strategy, all behind [`Strategy`].
//!
//! A controller works like a Kubernetes controller: it is asked to `reconcile` whenever
//! the fleet changed or a wake-up it asked for is due, reads the pools of each version
//! through [`Ctx`], and acts by setting desired instance counts and router weights,
//! asking for wake-ups, and declaring the rollout promoted, rolled back or stuck. The
//! engine materialises desired counts into instances (the ReplicaSet's job).

pub mod abtest;
pub mod analysis;
pub mod bluegreen;
pub mod canary;
pub mod feature_toggle;
pub mod flagger;
pub mod inplace;
pub mod judge;
pub mod none;
pub mod progress;
pub mod recreate;
pub mod rolling;
pub mod shadow;

use serde::{Deserialize, Serialize};

use crate::des::time::Time;
use crate::metrics::Recorder;
use crate::model::fleet::{Fleet, NEW, POOLS, PoolStatus, STABLE};
use crate::model::gate::Gate;
use crate::model::router::{Router, Weights};
use crate::scenario::{RolloutCommand, StrategySpec};

pub use abtest::AbTest;
pub use bluegreen::BlueGreen;
pub use canary::Canary;
pub use feature_toggle::FeatureToggle;
pub use flagger::Flagger;
pub use inplace::InPlace;
pub use none::NoRollout;
pub use recreate::Recreate;
pub use rolling::Rolling;
pub use shadow::Shadow;

/// How a rollout ended, or where it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutOutcome {
    /// No rollout was attempted (strategy `None`, the baseline).
    NoRollout,
    /// Not yet started (before `release.at`).
    Pending,
    Running,
    Promoted,
    RolledBack,
    /// Stopped making progress and was left degraded (e.g. `ProgressDeadlineExceeded`
    /// with `on_progress_deadline: Report`).
    Stuck,
}

impl RolloutOutcome {
    pub fn label(self) -> &'static str {
        match self {
            RolloutOutcome::NoRollout => "no_rollout",
            RolloutOutcome::Pending => "pending",
            RolloutOutcome::Running => "running",
            RolloutOutcome::Promoted => "promoted",
            RolloutOutcome::RolledBack => "rolled_back",
            RolloutOutcome::Stuck => "stuck",
        }
    }
}

/// The rollout's state, shared by the engine and the controller.
#[derive(Clone, Debug)]
pub struct RolloutState {
    pub outcome: RolloutOutcome,
    pub started: Option<Time>,
    pub finished: Option<Time>,
    /// When the decision to abort (roll back) was taken.
    pub abort_at: Option<Time>,
    pub abort_reason: Option<String>,
    /// When traffic had left the new version and stable capacity was back.
    pub recovered_at: Option<Time>,
    pub paused: bool,
    /// The A/B experiment's report, once it has ended.
    pub ab: Option<crate::metrics::ab::AbReport>,
}

impl RolloutState {
    pub fn new(outcome: RolloutOutcome) -> RolloutState {
        RolloutState {
            outcome,
            started: None,
            finished: None,
            abort_at: None,
            abort_reason: None,
            recovered_at: None,
            paused: false,
            ab: None,
        }
    }
}

/// A message in the rollout's event log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogEntry {
    pub t: Time,
    pub text: String,
}

/// What a controller sees and can do.
pub struct Ctx<'a> {
    pub now: Time,
    /// Desired instances of the strategy's target (the Deployment's `replicas`).
    pub replicas: u32,
    pub fleet: &'a mut Fleet,
    pub router: &'a mut Router,
    pub rollout: &'a mut RolloutState,
    pub log: &'a mut Vec<LogEntry>,
    pub wakes: &'a mut Vec<Time>,
    /// Metric taps for analysis.
    pub metrics: &'a mut Recorder,
    /// The gate on the new code path (feature flag, experiment).
    pub gate: &'a mut Option<Gate>,
    pub seed: u64,
    /// Segment names by index (0 is `default`).
    pub segment_names: &'a [String],
}

impl Ctx<'_> {
    pub fn pool(&self, version: u8) -> PoolStatus {
        self.fleet.status(version)
    }

    /// Sets the desired instance count of `version`.
    pub fn scale(&mut self, version: u8, n: u32) {
        let v = version as usize;
        if self.fleet.desired[v] != n {
            self.fleet.desired[v] = n;
        }
    }

    pub fn wake_at(&mut self, t: Time) {
        if t > self.now {
            self.wakes.push(t);
        }
    }

    pub fn log(&mut self, text: impl Into<String>) {
        self.log.push(LogEntry { t: self.now, text: text.into() });
    }

    pub fn promoted(&mut self) {
        if !self.is_over() {
            self.rollout.outcome = RolloutOutcome::Promoted;
            self.rollout.finished = Some(self.now);
            self.log("rollout complete: new version promoted");
        }
    }

    pub fn rolled_back(&mut self) {
        if !self.is_over() {
            self.rollout.outcome = RolloutOutcome::RolledBack;
            self.rollout.finished = Some(self.now);
            self.log("rollback complete");
        }
    }

    /// Records the decision to abort; the controller then rolls back its own way.
    pub fn abort(&mut self, reason: impl Into<String>) {
        if self.rollout.abort_at.is_none() {
            let reason = reason.into();
            self.rollout.abort_at = Some(self.now);
            self.log(format!("abort: {reason}"));
            self.rollout.abort_reason = Some(reason);
        }
    }

    /// Sets explicit traffic shares `[stable, new, baseline]`.
    pub fn set_weights(&mut self, w: Weights) {
        self.router.dns = None;
        self.router.weights = Some(w);
    }

    /// Sends `percent` of traffic to the new pool and the rest to stable; with a
    /// baseline, the baseline gets as much as the new pool.
    pub fn set_canary_weight(&mut self, percent: f64, baseline: bool) {
        let w = (percent / 100.0).clamp(0.0, 1.0);
        let b = if baseline { w.min(1.0 - w) } else { 0.0 };
        self.set_weights([1.0 - w - b, w, b]);
    }

    /// Whether every desired instance of `pool` exists and is available.
    pub fn pool_available(&self, pool: u8) -> bool {
        let p = self.pool(pool);
        p.current >= p.desired && p.available >= p.desired
    }

    pub fn is_over(&self) -> bool {
        matches!(self.rollout.outcome, RolloutOutcome::Promoted | RolloutOutcome::RolledBack)
    }
}

/// The interface every strategy implements.
pub trait Strategy {
    /// The release starts now.
    fn start(&mut self, cx: &mut Ctx);
    /// Something changed (fleet, time, command): look and act. Called until it acts no more.
    fn reconcile(&mut self, cx: &mut Ctx);
    /// A command from outside. Pause and resume have already set `rollout.paused`.
    fn command(&mut self, cx: &mut Ctx, cmd: RolloutCommand);
}

/// All controllers, as one cloneable value.
#[derive(Clone, Debug)]
pub enum Controller {
    None(NoRollout),
    Recreate(Recreate),
    Rolling(Rolling),
    BlueGreen(Box<BlueGreen>),
    Canary(Box<Canary>),
    Flagger(Box<Flagger>),
    FeatureToggle(Box<FeatureToggle>),
    AbTest(Box<AbTest>),
    Shadow(Box<Shadow>),
    InPlace(Box<InPlace>),
}

impl Controller {
    pub fn new(spec: &StrategySpec, replicas: u32) -> Controller {
        match spec {
            StrategySpec::None => Controller::None(NoRollout),
            StrategySpec::Recreate(s) => Controller::Recreate(Recreate::new(s, replicas)),
            StrategySpec::Rolling(s) => Controller::Rolling(Rolling::new(s, replicas)),
            StrategySpec::BlueGreen(s) => Controller::BlueGreen(Box::new(BlueGreen::new(s, replicas))),
            StrategySpec::Canary(s) => Controller::Canary(Box::new(Canary::new(s, replicas))),
            StrategySpec::CodeDeploy(s) => Controller::Canary(Box::new(Canary::code_deploy(s, replicas))),
            StrategySpec::Flagger(s) => Controller::Flagger(Box::new(Flagger::new(s, replicas))),
            StrategySpec::FeatureToggle(s) => Controller::FeatureToggle(Box::new(FeatureToggle::new(s, replicas))),
            StrategySpec::AbTest(s) => Controller::AbTest(Box::new(AbTest::new(s, replicas))),
            StrategySpec::Shadow(s) => Controller::Shadow(Box::new(Shadow::new(s, replicas))),
            StrategySpec::InPlace(s) => Controller::InPlace(Box::new(InPlace::new(s))),
        }
    }

    /// The target's `spec.replicas` changed (an autoscaler): controllers derive their
    /// pool sizes from the new value from now on.
    pub fn set_replicas(&mut self, replicas: u32) {
        match self {
            Controller::None(_) => {}
            Controller::Recreate(c) => c.set_replicas(replicas),
            Controller::Rolling(c) => c.set_replicas(replicas),
            Controller::BlueGreen(c) => c.set_replicas(replicas),
            Controller::Canary(c) => c.set_replicas(replicas),
            Controller::Flagger(c) => c.set_replicas(replicas),
            Controller::FeatureToggle(c) => c.deploy_mut().set_replicas(replicas),
            Controller::AbTest(c) => c.deploy_mut().set_replicas(replicas),
            Controller::Shadow(c) => c.set_replicas(replicas),
            // Refused by the scenario checks: an in-place deployment updates the hosts it
            // found at its start.
            Controller::InPlace(_) => {}
        }
    }

    pub fn get(&mut self) -> &mut dyn Strategy {
        match self {
            Controller::None(c) => c,
            Controller::Recreate(c) => c,
            Controller::Rolling(c) => c,
            Controller::BlueGreen(c) => c.as_mut(),
            Controller::Canary(c) => c.as_mut(),
            Controller::Flagger(c) => c.as_mut(),
            Controller::FeatureToggle(c) => c.as_mut(),
            Controller::AbTest(c) => c.as_mut(),
            Controller::Shadow(c) => c.as_mut(),
            Controller::InPlace(c) => c.as_mut(),
        }
    }

    /// A short description of where the rollout stands (current step), for front ends.
    /// The strategy's steps or stages and the current one, for front ends.
    pub fn plan(&self, rollout: &RolloutState) -> (Vec<String>, Option<usize>) {
        let over = matches!(rollout.outcome, RolloutOutcome::Promoted | RolloutOutcome::RolledBack);
        if rollout.started.is_none() && !matches!(self, Controller::None(_)) {
            let (steps, _) = self.plan_inner(rollout, over);
            return (steps, None);
        }
        self.plan_inner(rollout, over)
    }

    fn plan_inner(&self, rollout: &RolloutState, over: bool) -> (Vec<String>, Option<usize>) {
        match self {
            Controller::None(_) => (vec!["no rollout".into()], None),
            Controller::Recreate(c) => {
                let stage = if over {
                    2
                } else if rollout.started.is_some() {
                    1
                } else {
                    0
                };
                c.plan(stage)
            }
            Controller::Rolling(c) => c.plan(over),
            Controller::BlueGreen(c) => c.plan(),
            Controller::Canary(c) => c.plan(),
            Controller::Flagger(c) => c.plan(),
            Controller::FeatureToggle(c) => c.plan(),
            Controller::AbTest(c) => c.plan(over),
            Controller::Shadow(c) => c.plan(),
            Controller::InPlace(c) => c.plan(),
        }
    }
}

/// Runs a nested controller (the deployment beneath a flag or an experiment) with its
/// own rollout state, so that its promotion is not the outer rollout's.
pub fn with_inner(
    cx: &mut Ctx,
    inner: &mut Controller,
    state: &mut RolloutState,
    f: impl FnOnce(&mut dyn Strategy, &mut Ctx),
) {
    let mut sub = Ctx {
        now: cx.now,
        replicas: cx.replicas,
        fleet: &mut *cx.fleet,
        router: &mut *cx.router,
        rollout: state,
        log: &mut *cx.log,
        wakes: &mut *cx.wakes,
        metrics: &mut *cx.metrics,
        gate: &mut *cx.gate,
        seed: cx.seed,
        segment_names: cx.segment_names,
    };
    f(inner.get(), &mut sub);
}

/// Moves every user back to the stable pool and scales the others down: the common
/// end of an abort. Returns true once nothing but stable remains and stable is whole.
pub fn settle_on_stable(cx: &mut Ctx) -> bool {
    cx.router.mirror = 0.0;
    cx.set_weights([1.0, 0.0, 0.0]);
    let r = cx.replicas;
    cx.scale(STABLE, r);
    for p in 1..POOLS as u8 {
        cx.scale(p, 0);
    }
    let new = cx.pool(NEW);
    cx.pool_available(STABLE) && new.current + new.terminating == 0
}
