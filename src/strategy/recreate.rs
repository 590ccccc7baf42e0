//! Kubernetes `Recreate`.
//!
//! Kubernetes Deployment docs, "Recreate Deployment": "All existing Pods are killed
//! before new ones are created"; the new ReplicaSet is scaled up only once all old pods
//! have terminated. The gap between the two is downtime by design. Aborting recreates
//! the old version the same way.

use super::progress::ProgressDeadline;
use super::{Ctx, RolloutCommand, RolloutOutcome, Strategy};
use crate::model::fleet::{NEW, STABLE};
use crate::scenario::{DeadlineAction, RecreateSpec};

#[derive(Clone, Debug)]
pub struct Recreate {
    pub replicas: u32,
    target: u8,
    progress: ProgressDeadline,
    started: bool,
}

impl Recreate {
    /// A new `spec.replicas` (set by an autoscaler), used from the next scaling action on.
    pub fn set_replicas(&mut self, replicas: u32) {
        self.replicas = replicas;
    }

    pub fn new(spec: &RecreateSpec, replicas: u32) -> Recreate {
        Recreate {
            replicas,
            target: NEW,
            progress: ProgressDeadline::new(spec.progress_deadline, spec.on_progress_deadline),
            started: false,
        }
    }

    fn switch_to(&mut self, cx: &mut Ctx, target: u8) {
        self.target = target;
        let other = 1 - target;
        cx.scale(other, 0);
        cx.log(format!("scaled {} to 0", if other == NEW { "new version" } else { "stable version" }));
        self.progress.reset(cx, target);
    }
}

impl Strategy for Recreate {
    fn start(&mut self, cx: &mut Ctx) {
        self.started = true;
        cx.log("recreate: stopping every old instance first");
        self.switch_to(cx, NEW);
    }

    fn reconcile(&mut self, cx: &mut Ctx) {
        if !self.started || cx.is_over() || cx.rollout.paused {
            return;
        }
        let (t, o) = (self.target, 1 - self.target);
        let new = cx.pool(t);
        let old = cx.pool(o);
        if new.current == self.replicas && new.available >= self.replicas && old.current + old.terminating == 0 {
            if t == NEW {
                cx.promoted()
            } else {
                cx.rolled_back()
            }
            return;
        }
        if self.progress.check(cx, t) {
            let secs = self.progress.deadline.as_secs_f64();
            cx.log(format!("ProgressDeadlineExceeded: no progress for {secs}s"));
            match self.progress.action {
                DeadlineAction::Report => cx.rollout.outcome = RolloutOutcome::Stuck,
                DeadlineAction::Rollback if t == NEW => {
                    cx.abort(format!("progress deadline of {secs}s exceeded"));
                    self.switch_to(cx, STABLE);
                    return;
                }
                DeadlineAction::Rollback => {}
            }
        }
        if old.current + old.terminating == 0 && new.desired != self.replicas {
            cx.log(format!(
                "old instances gone; scaling {} to {}",
                if t == NEW { "new version" } else { "stable version" },
                self.replicas
            ));
            cx.scale(t, self.replicas);
        }
    }

    fn command(&mut self, cx: &mut Ctx, cmd: RolloutCommand) {
        match cmd {
            RolloutCommand::Abort if self.started && self.target == NEW && !cx.is_over() => {
                cx.abort("aborted by command");
                self.switch_to(cx, STABLE);
            }
            RolloutCommand::Resume if self.started => self.progress.reset(cx, self.target),
            _ => {}
        }
    }
}

impl Recreate {
    /// Stages, for front ends.
    pub fn plan(&self, stage: usize) -> (Vec<String>, Option<usize>) {
        let steps = vec!["stop every old instance".into(), "start the new instances".into(), "complete".into()];
        (steps, Some(stage))
    }
}
