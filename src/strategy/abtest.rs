//! A/B experiments: the build with every variant is deployed dark, then users are
//! assigned sticky variants by a hash of their id (the first variant is the control; the
//! others run the new code path). Each session converts with its variant's probability
//! (`base_conversion × (1 + lift)`). When the experiment's time is up, the report tests
//! each treatment against the control (two-proportion z-test), checks the split for a
//! sample-ratio mismatch (chi-square, alert at p < 0.001 as GrowthBook and Statsig do),
//! estimates the sample size needed for the minimum detectable effect, and decides: ship
//! the winner, or keep the control.

use super::{Controller, Ctx, RolloutCommand, RolloutOutcome, RolloutState, Strategy, with_inner};
use crate::des::time::Time;
use crate::metrics::ab::{AbTally, report};
use crate::model::gate::{Gate, Variants};
use crate::scenario::AbTestSpec;

#[derive(Clone, Debug)]
pub struct AbTest {
    spec: AbTestSpec,
    deploy: Controller,
    deploy_state: RolloutState,
    ends_at: Option<Time>,
    started: bool,
    stopped: bool,
}

impl AbTest {
    /// The nested deployment controller.
    pub fn deploy_mut(&mut self) -> &mut super::Controller {
        &mut self.deploy
    }

    pub fn new(spec: &AbTestSpec, replicas: u32) -> AbTest {
        AbTest {
            spec: spec.clone(),
            deploy: Controller::new(&spec.deploy, replicas),
            deploy_state: RolloutState::new(RolloutOutcome::Running),
            ends_at: None,
            started: false,
            stopped: false,
        }
    }

    fn conclude(&mut self, cx: &mut Ctx) {
        let Some(tally) = cx.metrics.ab.take() else {
            return;
        };
        let r = report(&self.spec, &tally);
        cx.log(format!("experiment over: {}", r.decision));
        if r.winner > 0 {
            *cx.gate = None;
            cx.rollout.ab = Some(r);
            cx.promoted();
        } else {
            *cx.gate = Some(Gate::Dark);
            cx.rollout.ab = Some(r);
            cx.rolled_back();
        }
    }
}

impl Strategy for AbTest {
    fn start(&mut self, cx: &mut Ctx) {
        self.started = true;
        *cx.gate = Some(Gate::Dark);
        cx.log("A/B test: deploying the variants dark");
        with_inner(cx, &mut self.deploy, &mut self.deploy_state, |c, sub| c.start(sub));
    }

    fn reconcile(&mut self, cx: &mut Ctx) {
        if !self.started || cx.is_over() {
            return;
        }
        match self.ends_at {
            None => {
                with_inner(cx, &mut self.deploy, &mut self.deploy_state, |c, sub| c.reconcile(sub));
                match self.deploy_state.outcome {
                    RolloutOutcome::Promoted => {
                        let weights: Vec<f64> = self.spec.variants.iter().map(|v| v.weight.0).collect();
                        *cx.gate = Some(Gate::Variants(Variants::new(&weights, cx.seed)));
                        let users = cx.metrics.user_count();
                        cx.metrics.ab = Some(AbTally::new(&self.spec, users, cx.seed));
                        let end = cx.now + self.spec.duration.time();
                        self.ends_at = Some(end);
                        cx.wake_at(end);
                        cx.log(format!("experiment starts: {} variants", self.spec.variants.len()));
                    }
                    RolloutOutcome::RolledBack => {
                        let reason = self.deploy_state.abort_reason.clone().unwrap_or_default();
                        cx.abort(format!("deployment rolled back: {reason}"));
                        cx.rolled_back();
                    }
                    _ => {}
                }
            }
            Some(end) if cx.now >= end || self.stopped => self.conclude(cx),
            Some(_) => {}
        }
    }

    fn command(&mut self, cx: &mut Ctx, cmd: RolloutCommand) {
        match cmd {
            // Stopping early: conclude with what was collected (peeking inflates false
            // positives — the report says what it saw).
            RolloutCommand::Promote if self.ends_at.is_some() => self.stopped = true,
            RolloutCommand::Abort if self.ends_at.is_some() && !cx.is_over() => {
                cx.abort("experiment aborted by command");
                cx.metrics.ab = None;
                *cx.gate = Some(Gate::Dark);
                cx.rolled_back();
            }
            other => with_inner(cx, &mut self.deploy, &mut self.deploy_state, |c, sub| c.command(sub, other)),
        }
    }
}

impl AbTest {
    /// Stages, for front ends.
    pub fn plan(&self, over: bool) -> (Vec<String>, Option<usize>) {
        let names: Vec<&str> = self.spec.variants.iter().map(|v| v.name.as_str()).collect();
        let steps = vec![
            "deploy the variants dark".into(),
            format!("experiment: {} for {}", names.join(" vs "), self.spec.duration),
            "decide: ship the winner or keep the control".into(),
        ];
        let i = if over {
            2
        } else if self.ends_at.is_some() {
            1
        } else {
            0
        };
        (steps, Some(i))
    }
}
