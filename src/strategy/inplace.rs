//! AWS CodeDeploy in-place deployments (EC2/on-premises compute platform).
//!
//! Semantics from the CodeDeploy User Guide ("Working with deployment configurations",
//! "Instance health") and the `MinimumHealthyHosts` API reference:
//! - with `HOST_COUNT` h of n instances, CodeDeploy deploys to up to n − h at a time and
//!   the deployment succeeds if at least h instances were deployed to successfully; with
//!   `FLEET_PERCENT` p the minimum is ⌈n·p/100⌉ (9 instances at 40 %: 5 at a time, ≥ 4
//!   must succeed);
//! - `HalfAtATime` is `FLEET_PERCENT` 50, `AllAtOnce` is `HOST_COUNT` 0 and succeeds if at
//!   least one instance succeeds;
//! - `OneAtATime` deploys to one instance at a time and keeps all but one healthy, so the
//!   deployment fails as soon as any but the last instance fails, and succeeds if only the
//!   last one failed;
//! - an instance whose deployment failed counts as unhealthy, so failures shrink the
//!   batch; once no instance may be taken offline the deployment fails.
//!
//! Each instance goes through BlockTraffic (`block_traffic`), ApplicationStop to
//! ApplicationStart (`install`), then boots and must pass its readiness probe within
//! `validate_timeout` of the stop (ValidateService) to be registered again (AllowTraffic).
//! An automatic rollback is a new in-place deployment of the last good revision, with the
//! same configuration, to the instances that run the failed one.

use super::analysis::{AnalysisRun, Phase};
use super::{Ctx, RolloutCommand, Strategy};
use crate::des::time::Time;
use crate::model::fleet::{InPlaceRequest, NEW, STABLE};
use crate::scenario::{InPlaceConfig, InPlaceSpec};

#[derive(Clone, Debug)]
pub struct InPlace {
    spec: InPlaceSpec,
    /// The pool being deployed: [`NEW`], or [`STABLE`] while rolling back.
    target: u8,
    /// Instances to update, in order, and how many have been started.
    order: Vec<u32>,
    next: usize,
    /// Instances being updated, with when their update started.
    running: Vec<(u32, Time)>,
    succeeded: u32,
    failed: Vec<u32>,
    /// Instances in the deployment group.
    n: u32,
    alarms: Option<AnalysisRun>,
    started: bool,
    done: bool,
}

impl InPlace {
    pub fn new(spec: &InPlaceSpec) -> InPlace {
        InPlace {
            spec: spec.clone(),
            target: NEW,
            order: Vec::new(),
            next: 0,
            running: Vec::new(),
            succeeded: 0,
            failed: Vec::new(),
            n: 0,
            alarms: None,
            started: false,
            done: false,
        }
    }

    /// Instances that must stay healthy: the `MinimumHealthyHosts` of the configuration.
    pub fn min_healthy(config: InPlaceConfig, n: u32) -> u32 {
        match config {
            InPlaceConfig::OneAtATime => n.saturating_sub(1),
            InPlaceConfig::HalfAtATime => n.div_ceil(2),
            InPlaceConfig::AllAtOnce => 0,
            InPlaceConfig::HostCount(h) => h.min(n),
            InPlaceConfig::FleetPercent(p) => ((n as f64 * p.0 / 100.0).ceil() as u32).min(n),
        }
    }

    /// Successful instance deployments the deployment needs to succeed.
    pub fn required(config: InPlaceConfig, n: u32) -> u32 {
        match config {
            InPlaceConfig::OneAtATime => n.saturating_sub(1).max(1).min(n),
            _ => Self::min_healthy(config, n).max(1).min(n),
        }
    }

    /// Instances that may be offline at once, given the failures so far.
    fn batch(&self) -> u32 {
        match self.spec.config {
            InPlaceConfig::OneAtATime => 1,
            c => (self.n - Self::min_healthy(c, self.n)).saturating_sub(self.failed.len() as u32),
        }
    }

    fn begin(&mut self, cx: &mut Ctx, target: u8) {
        self.target = target;
        let from = 1 - target;
        self.order = cx
            .fleet
            .active
            .iter()
            .copied()
            .filter(|&id| {
                let i = &cx.fleet.instances[id as usize];
                i.version == from && !i.deleting
            })
            .collect();
        self.n = if target == NEW { self.order.len() as u32 } else { self.n.max(self.order.len() as u32) };
        self.next = 0;
        self.running.clear();
        self.succeeded = 0;
        self.failed.clear();
        let what = if target == NEW { "deployment" } else { "rollback deployment" };
        cx.log(format!(
            "in-place {what} ({:?}) to {} instances, up to {} at a time",
            self.spec.config,
            self.order.len(),
            self.batch()
        ));
    }

    fn update(&mut self, cx: &mut Ctx, id: u32) {
        let from = 1 - self.target;
        let (df, dt) = (cx.fleet.desired[from as usize], cx.fleet.desired[self.target as usize]);
        cx.scale(from, df.saturating_sub(1));
        cx.scale(self.target, dt + 1);
        cx.fleet.in_place.push(InPlaceRequest {
            id,
            pool: self.target,
            block_traffic: self.spec.block_traffic.time(),
            install: self.spec.install.time(),
        });
        self.running.push((id, cx.now));
        cx.wake_at(cx.now + self.deadline());
    }

    fn deadline(&self) -> Time {
        self.spec.block_traffic.time() + self.spec.validate_timeout.time()
    }

    fn fail(&mut self, cx: &mut Ctx, reason: String) {
        cx.abort(reason);
        if let Some(a) = self.alarms.as_mut() {
            a.stop(cx);
        }
        self.alarms = None;
        if self.spec.auto_rollback {
            self.begin(cx, STABLE);
        } else {
            cx.log("deployment failed; no automatic rollback: instances stay as they are");
            self.done = true;
        }
    }
}

impl Strategy for InPlace {
    fn start(&mut self, cx: &mut Ctx) {
        self.started = true;
        self.begin(cx, NEW);
        if let Some(spec) = self.spec.alarms.clone() {
            self.alarms = Some(AnalysisRun::start(cx, "alarms", &spec));
        }
    }

    fn reconcile(&mut self, cx: &mut Ctx) {
        if !self.started || self.done || cx.is_over() || cx.rollout.paused {
            return;
        }
        if let Some(a) = self.alarms.as_mut() {
            let phase = a.poll(cx);
            if matches!(phase, Phase::Failed | Phase::Error) {
                let message = a.verdicts.message.clone();
                self.alarms = None;
                self.fail(cx, format!("alarm: {message}"));
                return;
            }
        }
        // Instances whose update ended, well or badly.
        let deadline = self.deadline();
        let mut i = 0;
        while i < self.running.len() {
            let (id, t0) = self.running[i];
            let inst = &cx.fleet.instances[id as usize];
            if inst.ready && inst.version == self.target {
                self.succeeded += 1;
                self.running.swap_remove(i);
            } else if cx.now >= t0 + deadline {
                cx.log(format!("instance {id}: deployment failed (not healthy within the validation timeout)"));
                self.failed.push(id);
                self.running.swap_remove(i);
            } else {
                i += 1;
            }
        }
        let remaining = (self.order.len() - self.next) as u32;
        if self.target == NEW {
            let last = self.order.last().copied();
            let fatal = match self.spec.config {
                InPlaceConfig::OneAtATime => self.failed.iter().any(|&id| Some(id) != last),
                _ => remaining > 0 && self.batch() == 0,
            };
            let reachable = self.succeeded + self.running.len() as u32 + remaining;
            if fatal || reachable < Self::required(self.spec.config, self.n) {
                let reason =
                    format!("{} of {} instance deployments failed ({:?})", self.failed.len(), self.n, self.spec.config);
                self.fail(cx, reason);
                return;
            }
        }
        let batch = self.batch().max(if self.target == STABLE { 1 } else { 0 });
        while (self.running.len() as u32) < batch && self.next < self.order.len() {
            let id = self.order[self.next];
            self.next += 1;
            self.update(cx, id);
        }
        if self.running.is_empty() && self.next == self.order.len() {
            if self.target == NEW {
                if let Some(a) = self.alarms.as_mut() {
                    a.stop(cx);
                }
                self.alarms = None;
                cx.promoted();
            } else {
                cx.rolled_back();
            }
            self.done = true;
        }
    }

    fn command(&mut self, cx: &mut Ctx, cmd: RolloutCommand) {
        if cmd == RolloutCommand::Abort && self.started && !self.done && self.target == NEW && !cx.is_over() {
            self.fail(cx, "aborted by command".into());
        }
    }
}

impl InPlace {
    /// The stages for front ends: deploying, then done (or rolling back, then done).
    pub fn plan(&self) -> (Vec<String>, Option<usize>) {
        let n = self.order.len();
        let steps = vec![
            format!(
                "{:?}: {} of {} instances must succeed",
                self.spec.config,
                Self::required(self.spec.config, self.n),
                self.n
            ),
            format!("instances updated: {} of {n}", self.succeeded),
            "done".into(),
        ];
        let at = if self.done {
            2
        } else if self.started {
            1
        } else {
            0
        };
        (steps, Some(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Percent;

    /// The figures of the `MinimumHealthyHosts` API reference: nine instances, HOST_COUNT 6
    /// deploys to three at a time and needs six; FLEET_PERCENT 40 deploys to five at a time
    /// and needs four.
    #[test]
    fn minimum_healthy_hosts_match_the_api_reference() {
        assert_eq!(9 - InPlace::min_healthy(InPlaceConfig::HostCount(6), 9), 3);
        assert_eq!(InPlace::required(InPlaceConfig::HostCount(6), 9), 6);
        assert_eq!(9 - InPlace::min_healthy(InPlaceConfig::FleetPercent(Percent(40.0)), 9), 5);
        assert_eq!(InPlace::required(InPlaceConfig::FleetPercent(Percent(40.0)), 9), 4);
        // HalfAtATime: half rounded down at a time, half rounded up must succeed.
        assert_eq!(9 - InPlace::min_healthy(InPlaceConfig::HalfAtATime, 9), 4);
        assert_eq!(InPlace::required(InPlaceConfig::HalfAtATime, 9), 5);
        // AllAtOnce: everything at once, one success is enough.
        assert_eq!(InPlace::min_healthy(InPlaceConfig::AllAtOnce, 9), 0);
        assert_eq!(InPlace::required(InPlaceConfig::AllAtOnce, 9), 1);
        assert_eq!(InPlace::required(InPlaceConfig::OneAtATime, 9), 8);
    }
}
