//! Shadow traffic (dark launch by mirroring): a share of live requests is copied to the
//! new version and its responses are thrown away, as a service mesh's traffic mirroring
//! does (Istio `mirror`, Envoy `request_mirror_policies`). Users see nothing of the new
//! version — no failure, no latency — but its load and cost are real and its errors are
//! measured, so an analysis can stop a bad release before anyone is exposed. After a
//! clean shadow period all traffic moves to the new version at once.

use super::analysis::{AnalysisRun, Phase};
use super::{Ctx, RolloutCommand, Strategy, settle_on_stable};
use crate::des::time::Time;
use crate::model::fleet::{NEW, STABLE};
use crate::scenario::ShadowSpec;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    WarmUp,
    Mirroring,
    Switching,
    Aborted,
}

#[derive(Clone, Debug)]
pub struct Shadow {
    replicas: u32,
    spec: ShadowSpec,
    stage: Stage,
    until: Time,
    run: Option<AnalysisRun>,
    waiting: bool,
    started: bool,
}

impl Shadow {
    /// A new `spec.replicas` (set by an autoscaler), used from the next scaling action on.
    pub fn set_replicas(&mut self, replicas: u32) {
        self.replicas = replicas;
    }

    pub fn new(spec: &ShadowSpec, replicas: u32) -> Shadow {
        Shadow {
            replicas,
            spec: spec.clone(),
            stage: Stage::WarmUp,
            until: Time::ZERO,
            run: None,
            waiting: false,
            started: false,
        }
    }

    fn abort(&mut self, cx: &mut Ctx, reason: &str) {
        if self.stage == Stage::Aborted || cx.is_over() {
            return;
        }
        cx.abort(reason);
        if let Some(mut r) = self.run.take() {
            r.stop(cx);
        }
        cx.router.mirror = 0.0;
        self.stage = Stage::Aborted;
    }
}

impl Strategy for Shadow {
    fn start(&mut self, cx: &mut Ctx) {
        self.started = true;
        let n = self.spec.replicas.map_or(self.replicas, |r| r.0 as u32);
        cx.set_weights([1.0, 0.0, 0.0]);
        cx.scale(NEW, n);
        cx.log(format!("shadow: {n} instances of the new version, mirroring {:.0} %", self.spec.mirror.0));
    }

    fn reconcile(&mut self, cx: &mut Ctx) {
        if !self.started || cx.is_over() {
            return;
        }
        match self.stage {
            Stage::WarmUp => {
                if !cx.pool_available(NEW) {
                    return;
                }
                cx.router.mirror = self.spec.mirror.0 / 100.0;
                self.until = cx.now + self.spec.duration.time();
                cx.wake_at(self.until);
                if let Some(spec) = self.spec.analysis.clone() {
                    self.run = Some(AnalysisRun::start(cx, "shadow", &spec));
                }
                cx.log("mirroring started");
                self.stage = Stage::Mirroring;
            }
            Stage::Mirroring => {
                if let Some(run) = self.run.as_mut() {
                    let phase = run.poll(cx);
                    let message = run.verdicts.message.clone();
                    match phase {
                        Phase::Failed | Phase::Error => {
                            self.abort(cx, &format!("shadow analysis {phase:?}: {message}"));
                            return self.reconcile(cx);
                        }
                        Phase::Inconclusive if !self.waiting => {
                            cx.log(format!("shadow analysis inconclusive ({message}): waiting for promote or abort"));
                            self.waiting = true;
                        }
                        _ => {}
                    }
                }
                if self.waiting || cx.now < self.until || cx.rollout.paused {
                    return;
                }
                if let Some(mut run) = self.run.take() {
                    run.stop(cx);
                }
                cx.router.mirror = 0.0;
                cx.scale(NEW, self.replicas);
                cx.log("shadow clean: switching traffic to the new version");
                self.stage = Stage::Switching;
                self.reconcile(cx);
            }
            Stage::Switching => {
                if !cx.pool_available(NEW) {
                    return;
                }
                cx.set_weights([0.0, 1.0, 0.0]);
                cx.scale(STABLE, 0);
                if cx.pool(STABLE).current == 0 {
                    cx.promoted();
                }
            }
            Stage::Aborted => {
                if settle_on_stable(cx) {
                    cx.rolled_back();
                }
            }
        }
    }

    fn command(&mut self, cx: &mut Ctx, cmd: RolloutCommand) {
        match cmd {
            RolloutCommand::Abort => self.abort(cx, "aborted by command"),
            RolloutCommand::Promote if self.stage == Stage::Mirroring => {
                self.waiting = false;
                self.until = cx.now;
            }
            _ => {}
        }
    }
}

impl Shadow {
    /// Stages, for front ends.
    pub fn plan(&self) -> (Vec<String>, Option<usize>) {
        let steps = vec![
            "start the shadow fleet".into(),
            format!("mirror {:.0} % of traffic for {}", self.spec.mirror.0, self.spec.duration),
            "switch all traffic to the new version".into(),
            "aborted: shadow stopped".into(),
        ];
        let i = match self.stage {
            Stage::WarmUp => 0,
            Stage::Mirroring => 1,
            Stage::Switching => 2,
            Stage::Aborted => 3,
        };
        (steps, Some(i))
    }
}
