//! Argo Rollouts blue-green.
//!
//! Argo Rollouts docs, "BlueGreen Deployment Strategy": the new ReplicaSet comes up
//! beside the active one with `previewReplicaCount` pods behind the preview service;
//! `prePromotionAnalysis` runs against it; promotion is automatic (`autoPromotionEnabled`,
//! optionally `autoPromotionSeconds` after the preview is ready) or waits for a person;
//! before the switch the new side is scaled to full size; then the active service's
//! selector moves to it. `postPromotionAnalysis` runs after the switch and, if it fails,
//! the rollout aborts and the active service goes back to the old side, which is kept
//! until then and for `scaleDownDelaySeconds` (30 s) after. An abort before promotion
//! leaves the active side alone and scales the preview down after
//! `abortScaleDownDelaySeconds`. Both sides run at full size for a while: it costs.
//!
//! The switch can also be a DNS change: clients follow as their cached answers expire
//! (see [`DnsCutover`]).

use super::analysis::{AnalysisRun, Phase};
use super::{Ctx, RolloutCommand, Strategy, settle_on_stable};
use crate::des::time::Time;
use crate::model::fleet::{NEW, STABLE};
use crate::model::router::DnsCutover;
use crate::scenario::{BlueGreenSpec, Promotion, Switch};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Preview coming up.
    Preview,
    /// Pre-promotion analysis running.
    PreAnalysis,
    /// Waiting for promotion (timer or command).
    AwaitPromotion,
    /// Scaling the new side to full size before the switch.
    ScaleUp,
    /// Traffic on the new side; post-promotion analysis and the scale-down delay.
    Switched,
    /// Rolled back (before or after the switch).
    Aborted,
}

#[derive(Clone, Debug)]
pub struct BlueGreen {
    replicas: u32,
    spec: BlueGreenSpec,
    stage: Stage,
    ready_at: Option<Time>,
    switched_at: Option<Time>,
    post_done_at: Option<Time>,
    aborted_at: Option<Time>,
    promote_requested: bool,
    run: Option<AnalysisRun>,
    started: bool,
}

impl BlueGreen {
    /// A new `spec.replicas` (set by an autoscaler), used from the next scaling action on.
    pub fn set_replicas(&mut self, replicas: u32) {
        self.replicas = replicas;
    }

    pub fn new(spec: &BlueGreenSpec, replicas: u32) -> BlueGreen {
        BlueGreen {
            replicas,
            spec: spec.clone(),
            stage: Stage::Preview,
            ready_at: None,
            switched_at: None,
            post_done_at: None,
            aborted_at: None,
            promote_requested: false,
            run: None,
            started: false,
        }
    }

    fn preview_size(&self) -> u32 {
        self.spec.preview_replicas.map_or(self.replicas, |p| p.0 as u32).min(self.replicas)
    }

    /// Moves traffic from `from` to `to` by load balancer (at once) or DNS (over the TTL).
    fn switch(&self, cx: &mut Ctx, from: [f64; 3], to: [f64; 3]) {
        match &self.spec.switch {
            Switch::LoadBalancer => cx.set_weights(to),
            Switch::Dns(d) => {
                cx.router.weights = Some(to);
                cx.router.dns = Some(DnsCutover {
                    at: cx.now,
                    ttl: d.ttl.time(),
                    stale_share: d.stale_share.0,
                    stale_for: d.stale_for.time(),
                    from,
                    to,
                });
            }
        }
    }

    /// When the last client has moved after a switch.
    fn switch_settled_at(&self, t: Time) -> Time {
        match &self.spec.switch {
            Switch::LoadBalancer => t,
            Switch::Dns(d) => {
                let tail = if d.stale_share.0 > 0.0 { d.stale_for.time() } else { Time::ZERO };
                t + d.ttl.time().max(tail)
            }
        }
    }

    fn abort(&mut self, cx: &mut Ctx, reason: &str) {
        if self.stage == Stage::Aborted || cx.is_over() {
            return;
        }
        cx.abort(reason);
        if let Some(mut run) = self.run.take() {
            run.stop(cx);
        }
        cx.router.mirror = 0.0;
        if self.switched_at.is_some() {
            cx.log("switching the active service back to the old version");
            cx.scale(STABLE, self.replicas);
            self.switch(cx, [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]);
        }
        let t = self.switch_settled_at(cx.now).max(cx.now + self.spec.abort_scale_down_delay.time());
        self.aborted_at = Some(t);
        cx.wake_at(t);
        self.stage = Stage::Aborted;
    }

    /// Polls the running analysis; true when it passed (or there is none).
    fn analysis_passed(&mut self, cx: &mut Ctx) -> bool {
        let Some(run) = self.run.as_mut() else {
            return true;
        };
        let phase = run.poll(cx);
        let message = format!("{} analysis {phase:?}: {}", run.verdicts.name, run.verdicts.message);
        match phase {
            Phase::Successful => {
                self.run = None;
                true
            }
            Phase::Running => false,
            Phase::Inconclusive => {
                // Argo pauses the rollout; a promote command goes on, abort rolls back.
                if !self.promote_requested {
                    if !cx.rollout.paused {
                        cx.log(format!("analysis inconclusive ({message}): waiting for promote or abort"));
                    }
                    cx.rollout.paused = true;
                    false
                } else {
                    self.run = None;
                    self.promote_requested = false;
                    true
                }
            }
            Phase::Failed | Phase::Error => {
                self.abort(cx, &message);
                false
            }
        }
    }
}

impl Strategy for BlueGreen {
    fn start(&mut self, cx: &mut Ctx) {
        self.started = true;
        cx.set_weights([1.0, 0.0, 0.0]);
        let n = self.preview_size();
        cx.scale(NEW, n);
        cx.log(format!("blue-green: preview environment of {n} instances"));
    }

    fn reconcile(&mut self, cx: &mut Ctx) {
        if !self.started || cx.is_over() {
            return;
        }
        loop {
            let before = self.stage;
            match self.stage {
                Stage::Preview => {
                    if !cx.pool_available(NEW) {
                        return;
                    }
                    self.ready_at = Some(cx.now);
                    cx.log("preview ready");
                    if let Some(spec) = self.spec.pre_promotion_analysis.clone() {
                        cx.router.mirror = self.spec.preview_test_share.0;
                        self.run = Some(AnalysisRun::start(cx, "pre-promotion", &spec));
                        self.stage = Stage::PreAnalysis;
                    } else {
                        self.stage = Stage::AwaitPromotion;
                    }
                }
                Stage::PreAnalysis => {
                    if cx.rollout.paused && !self.promote_requested {
                        return;
                    }
                    if !self.analysis_passed(cx) {
                        return;
                    }
                    cx.router.mirror = 0.0;
                    cx.rollout.paused = false;
                    self.stage = Stage::AwaitPromotion;
                    self.ready_at = Some(cx.now);
                }
                Stage::AwaitPromotion => {
                    let ready = self.ready_at.unwrap_or(cx.now);
                    let go = match &self.spec.promotion {
                        Promotion::Auto => true,
                        Promotion::AutoAfter(d) => {
                            cx.wake_at(ready + d.time());
                            cx.now >= ready + d.time() || self.promote_requested
                        }
                        Promotion::Manual => self.promote_requested,
                    };
                    if !go || cx.rollout.paused {
                        return;
                    }
                    self.promote_requested = false;
                    cx.scale(NEW, self.replicas);
                    self.stage = Stage::ScaleUp;
                }
                Stage::ScaleUp => {
                    if !cx.pool_available(NEW) {
                        return;
                    }
                    cx.log("switching the active service to the new version");
                    self.switch(cx, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]);
                    self.switched_at = Some(cx.now);
                    if let Some(spec) = self.spec.post_promotion_analysis.clone() {
                        self.run = Some(AnalysisRun::start(cx, "post-promotion", &spec));
                    }
                    self.stage = Stage::Switched;
                }
                Stage::Switched => {
                    if cx.rollout.paused && !self.promote_requested {
                        return;
                    }
                    if !self.analysis_passed(cx) {
                        return;
                    }
                    cx.rollout.paused = false;
                    let switched = self.switched_at.unwrap_or(cx.now);
                    let done = *self.post_done_at.get_or_insert(cx.now);
                    let down_at = (done + self.spec.scale_down_delay.time()).max(self.switch_settled_at(switched));
                    if cx.now < down_at {
                        cx.wake_at(down_at);
                        return;
                    }
                    cx.router.dns = None;
                    cx.set_weights([0.0, 1.0, 0.0]);
                    cx.scale(STABLE, 0);
                    if cx.pool(STABLE).current == 0 {
                        cx.promoted();
                    }
                    return;
                }
                Stage::Aborted => {
                    let t = self.aborted_at.unwrap_or(cx.now);
                    if cx.now < t {
                        cx.scale(STABLE, self.replicas);
                        return;
                    }
                    cx.router.dns = None;
                    if settle_on_stable(cx) {
                        cx.rolled_back();
                    }
                    return;
                }
            }
            if self.stage == before {
                return;
            }
        }
    }

    fn command(&mut self, cx: &mut Ctx, cmd: RolloutCommand) {
        match cmd {
            RolloutCommand::Abort => self.abort(cx, "aborted by command"),
            RolloutCommand::Promote if self.started && !cx.is_over() => {
                cx.log("promoted by command");
                self.promote_requested = true;
                cx.rollout.paused = false;
            }
            _ => {}
        }
    }
}

impl BlueGreen {
    /// Stages, for front ends.
    pub fn plan(&self) -> (Vec<String>, Option<usize>) {
        let steps = vec![
            format!("preview environment ({} instances)", self.preview_size()),
            "pre-promotion analysis".into(),
            "promotion".into(),
            "scale the new side to full size".into(),
            "switched: post-promotion analysis, then scale down the old side".into(),
            "aborted: back to the old side".into(),
        ];
        let i = match self.stage {
            Stage::Preview => 0,
            Stage::PreAnalysis => 1,
            Stage::AwaitPromotion => 2,
            Stage::ScaleUp => 3,
            Stage::Switched => 4,
            Stage::Aborted => 5,
        };
        (steps, Some(i))
    }
}
