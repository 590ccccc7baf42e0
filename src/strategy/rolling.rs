//! Kubernetes `RollingUpdate`, following the Deployment controller.
//!
//! Kubernetes Deployment docs, "Rolling Update Deployment":
//! - `maxSurge`: pods that may be created above the desired number; a percentage is
//!   rounded **up**.
//! - `maxUnavailable`: pods that may be unavailable during the update; a percentage is
//!   rounded **down**. Both may not be 0; if both resolve to 0, unavailable is 1
//!   (`ResolveFenceposts` in the deployment controller).
//! - A pod counts as available once it has been ready for `minReadySeconds`.
//!
//! Each reconcile does what `rolloutRolling` does: scale the new ReplicaSet up to at most
//! `replicas + maxSurge` pods in total (counting ReplicaSet sizes, so terminating pods do
//! not count), then scale old ReplicaSets down, first their unhealthy pods, then as far
//! as keeping `replicas − maxUnavailable` pods available allows. Rolling back is the same
//! procedure towards the old version (`kubectl rollout undo`).

use super::progress::ProgressDeadline;
use super::{Ctx, RolloutCommand, Strategy};
use crate::model::fleet::{NEW, STABLE};
use crate::scenario::{DeadlineAction, RollingSpec};

#[derive(Clone, Debug)]
pub struct Rolling {
    pub replicas: u32,
    pub max_surge: u32,
    pub max_unavailable: u32,
    /// `maxSurge` and `maxUnavailable` as written, resolved again when `replicas` changes.
    fenceposts: RollingSpec,
    /// The version being rolled to: the new one, or the stable one when rolling back.
    target: u8,
    progress: ProgressDeadline,
    started: bool,
}

/// Resolves `maxSurge` / `maxUnavailable` for `replicas` as Kubernetes does.
pub fn resolve_fenceposts(spec: &RollingSpec, replicas: u32) -> (u32, u32) {
    let surge = spec.max_surge.resolve(replicas, true);
    let unavailable = spec.max_unavailable.resolve(replicas, false);
    if surge == 0 && unavailable == 0 { (0, 1) } else { (surge, unavailable) }
}

impl Rolling {
    pub fn new(spec: &RollingSpec, replicas: u32) -> Rolling {
        let (max_surge, max_unavailable) = resolve_fenceposts(spec, replicas);
        Rolling {
            replicas,
            max_surge,
            max_unavailable,
            fenceposts: spec.clone(),
            target: NEW,
            progress: ProgressDeadline::new(spec.progress_deadline, spec.on_progress_deadline),
            started: false,
        }
    }

    /// A new `spec.replicas` (set by an autoscaler): the surge and unavailability
    /// budgets are resolved against it, as the Deployment controller does on each sync.
    pub fn set_replicas(&mut self, replicas: u32) {
        self.replicas = replicas;
        (self.max_surge, self.max_unavailable) = resolve_fenceposts(&self.fenceposts, replicas);
    }

    fn rollback(&mut self, cx: &mut Ctx, reason: &str) {
        if self.target == STABLE || cx.is_over() {
            return;
        }
        cx.abort(reason);
        self.target = STABLE;
        self.progress.reset(cx, STABLE);
        cx.log("rolling back to the previous version");
    }

    fn complete(&self, cx: &Ctx) -> bool {
        let new = cx.pool(self.target);
        let old = cx.pool(1 - self.target);
        new.desired == self.replicas
            && new.current == self.replicas
            && new.available >= self.replicas
            && old.current == 0
    }
}

impl Strategy for Rolling {
    fn start(&mut self, cx: &mut Ctx) {
        self.started = true;
        cx.log(format!(
            "rolling update: maxSurge {} maxUnavailable {} of {} replicas",
            self.max_surge, self.max_unavailable, self.replicas
        ));
        self.progress.reset(cx, self.target);
    }

    fn reconcile(&mut self, cx: &mut Ctx) {
        if !self.started || cx.is_over() || cx.rollout.paused {
            return;
        }
        let (t, o) = (self.target, 1 - self.target);
        if self.complete(cx) {
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
                DeadlineAction::Report => cx.rollout.outcome = super::RolloutOutcome::Stuck,
                DeadlineAction::Rollback => {
                    self.rollback(cx, &format!("progress deadline of {secs}s exceeded"));
                    return;
                }
            }
        }
        let r = self.replicas as i64;
        let new = cx.pool(t);
        let old = cx.pool(o);
        // reconcileNewReplicaSet: scale up within the surge budget.
        let max_total = r + self.max_surge as i64;
        let all = new.desired as i64 + old.desired as i64;
        if all < max_total && (new.desired as i64) < r {
            let up = (max_total - all).min(r - new.desired as i64);
            let n = new.desired + up as u32;
            cx.log(format!("scaled up {} to {n}", version_label(t)));
            cx.scale(t, n);
            return; // the controller resyncs before scaling down
        }
        if new.desired as i64 > r {
            cx.scale(t, self.replicas);
            return;
        }
        // reconcileOldReplicaSets.
        if old.desired == 0 {
            return;
        }
        let min_available = r - self.max_unavailable as i64;
        let new_unavailable = new.desired as i64 - new.available as i64;
        let max_scaled_down = all - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return;
        }
        // cleanupUnhealthyReplicas: old pods that are not available go first.
        let unhealthy = old.desired as i64 - old.available as i64;
        let cleanup = unhealthy.min(max_scaled_down).max(0);
        let mut old_desired = old.desired as i64 - cleanup;
        // scaleDownOldReplicaSetsForRollingUpdate.
        let available = (new.available + old.available) as i64;
        let budget = available - min_available;
        if budget > 0 {
            old_desired -= budget.min(old_desired);
        }
        if old_desired != old.desired as i64 {
            cx.log(format!("scaled down {} to {old_desired}", version_label(o)));
            cx.scale(o, old_desired as u32);
        }
    }

    fn command(&mut self, cx: &mut Ctx, cmd: RolloutCommand) {
        match cmd {
            RolloutCommand::Abort => self.rollback(cx, "aborted by command"),
            RolloutCommand::Resume => {
                if self.started {
                    self.progress.reset(cx, self.target)
                }
            }
            RolloutCommand::Pause | RolloutCommand::Promote => {}
        }
    }
}

fn version_label(v: u8) -> &'static str {
    if v == NEW { "new version" } else { "stable version" }
}

impl Rolling {
    /// Stages, for front ends.
    pub fn plan(&self, done: bool) -> (Vec<String>, Option<usize>) {
        let steps = vec![
            format!("replace instances (maxSurge {}, maxUnavailable {})", self.max_surge, self.max_unavailable),
            if self.target == STABLE { "rolled back".into() } else { "complete".into() },
        ];
        (steps, Some(usize::from(done)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::IntOrPercent;

    fn spec(s: IntOrPercent, u: IntOrPercent) -> RollingSpec {
        RollingSpec { max_surge: s, max_unavailable: u, ..RollingSpec::default() }
    }

    /// Kubernetes docs: the default 25%/25% of 10 replicas is surge 3 (up), unavailable 2 (down).
    #[test]
    fn default_fenceposts_for_ten_replicas() {
        let s = spec(IntOrPercent::Percent(25), IntOrPercent::Percent(25));
        assert_eq!(resolve_fenceposts(&s, 10), (3, 2));
    }

    /// Both resolving to zero is not allowed; the controller uses maxUnavailable = 1.
    #[test]
    fn both_zero_means_one_unavailable() {
        let s = spec(IntOrPercent::Percent(10), IntOrPercent::Percent(10));
        assert_eq!(resolve_fenceposts(&s, 3), (1, 0));
        let s = spec(IntOrPercent::Count(0), IntOrPercent::Percent(10));
        assert_eq!(resolve_fenceposts(&s, 3), (0, 1));
    }
}
