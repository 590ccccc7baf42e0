//! Rollout strategies: one controller per strategy, all behind [`Strategy`].
//!
//! A controller works like a Kubernetes controller: it is asked to `reconcile` whenever
//! the fleet changed or a wake-up it asked for is due, reads the pools of each version
//! through [`Ctx`], and acts by setting desired instance counts and router weights,
//! asking for wake-ups, and declaring the rollout promoted, rolled back or stuck. The
//! engine materialises desired counts into instances (the ReplicaSet's job).

pub mod none;
pub mod progress;
pub mod recreate;
pub mod rolling;

use serde::{Deserialize, Serialize};

use crate::model::fleet::{Fleet, PoolStatus};
use crate::model::router::Router;
use crate::scenario::StrategySpec;
use crate::sim::time::Time;

pub use none::NoRollout;
pub use recreate::Recreate;
pub use rolling::Rolling;

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
        self.log.push(LogEntry {
            t: self.now,
            text: text.into(),
        });
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

    pub fn is_over(&self) -> bool {
        matches!(
            self.rollout.outcome,
            RolloutOutcome::Promoted | RolloutOutcome::RolledBack
        )
    }
}

/// A command to the rollout from outside (a person, a lesson, a pipeline).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RolloutCommand {
    /// Go on past a manual gate (Argo's `promote`); no effect where there is no gate.
    Promote,
    /// Roll back now.
    Abort,
    /// `kubectl rollout pause`.
    Pause,
    /// `kubectl rollout resume`.
    Resume,
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
}

impl Controller {
    pub fn new(spec: &StrategySpec, replicas: u32) -> Controller {
        match spec {
            StrategySpec::None => Controller::None(NoRollout),
            StrategySpec::Recreate(s) => Controller::Recreate(Recreate::new(s, replicas)),
            StrategySpec::Rolling(s) => Controller::Rolling(Rolling::new(s, replicas)),
        }
    }

    pub fn get(&mut self) -> &mut dyn Strategy {
        match self {
            Controller::None(c) => c,
            Controller::Recreate(c) => c,
            Controller::Rolling(c) => c,
        }
    }
}
