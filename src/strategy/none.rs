//! No rollout: the fleet keeps running the stable version. Every other run's
//! comparative metrics (blast radius, excess failures, extra cost) are measured against
//! this baseline on the same seed.

use super::{Ctx, RolloutCommand, Strategy};

#[derive(Clone, Copy, Debug, Default)]
pub struct NoRollout;

impl Strategy for NoRollout {
    fn start(&mut self, _cx: &mut Ctx) {}
    fn reconcile(&mut self, _cx: &mut Ctx) {}
    fn command(&mut self, _cx: &mut Ctx, _cmd: RolloutCommand) {}
}
