//! Kubernetes' `progressDeadlineSeconds`.
//!
//! A Deployment makes progress when its new ReplicaSet gains pods, the old ones lose
//! pods, or ready or available pods increase (`DeploymentProgressing` in the deployment
//! controller). If no progress is seen for the deadline, the Deployment reports
//! `Progressing=False` with reason `ProgressDeadlineExceeded`. Kubernetes does nothing
//! more; a pipeline may then roll back. While paused, progress is not checked.

use super::Ctx;
use crate::des::time::Time;
use crate::scenario::{DeadlineAction, Duration};

#[derive(Clone, Debug)]
pub struct ProgressDeadline {
    pub deadline: Time,
    pub action: DeadlineAction,
    last_progress: Time,
    /// (updated, old, ready, available) at the last look.
    seen: (u32, u32, u32, u32),
    pub exceeded: bool,
}

impl ProgressDeadline {
    pub fn new(deadline: Duration, action: DeadlineAction) -> ProgressDeadline {
        ProgressDeadline {
            deadline: deadline.time(),
            action,
            last_progress: Time::ZERO,
            seen: (0, 0, 0, 0),
            exceeded: false,
        }
    }

    /// Starts (or restarts, after a resume or a rollback) the clock.
    pub fn reset(&mut self, cx: &mut Ctx, target: u8) {
        self.last_progress = cx.now;
        self.seen = Self::observe(cx, target);
        self.exceeded = false;
        cx.wake_at(cx.now + self.deadline);
    }

    fn observe(cx: &Ctx, target: u8) -> (u32, u32, u32, u32) {
        let n = cx.pool(target);
        let o = cx.pool(1 - target);
        (n.current, o.current, n.ready + o.ready, n.available + o.available)
    }

    /// Looks for progress; returns true the first time the deadline is found exceeded.
    pub fn check(&mut self, cx: &mut Ctx, target: u8) -> bool {
        let now = Self::observe(cx, target);
        let (u0, o0, r0, a0) = self.seen;
        if now.0 > u0 || now.1 < o0 || now.2 > r0 || now.3 > a0 {
            self.last_progress = cx.now;
            cx.wake_at(cx.now + self.deadline);
        }
        self.seen = now;
        if !self.exceeded && cx.now >= self.last_progress + self.deadline {
            self.exceeded = true;
            return true;
        }
        false
    }
}
