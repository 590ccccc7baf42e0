//! Feature toggles: ship the new code dark, then turn it on for more and more users.
//!
//! The build is deployed with any strategy while its flag is off, so nobody runs the new
//! code path (a dark launch). Then the ramp walks its steps — e.g. internal users, beta
//! users, 1 %, 10 %, 50 %, 100 % — with pauses and analyses between them. The flag is
//! evaluated inside the instances on every request with Unleash's semantics (see
//! [`crate::model::flags`]): percentage rollouts bucket users by murmur3 of
//! `"{groupId}:{userId}"`, so a user who is in stays in as the percentage grows. The kill
//! switch (a command, or a failed analysis) turns the new code off for everyone on the
//! next request, without a redeploy.

use super::analysis::{AnalysisRun, Phase, Reaction, poll_step, react};
use super::{Controller, Ctx, RolloutCommand, RolloutOutcome, RolloutState, Strategy, with_inner};
use crate::des::time::Time;
use crate::metrics::NEW_CODE;
use crate::model::gate::{FlagGate, Gate};
use crate::scenario::flags::{Flag, FlagRule, PercentageRollout};
use crate::scenario::{AnalysisSpec, FeatureToggleSpec, RampStep};

#[derive(Clone, Debug)]
pub struct FeatureToggle {
    deploy: Controller,
    deploy_state: RolloutState,
    flag: Flag,
    ramp: Vec<RampStep>,
    analysis: Option<AnalysisSpec>,
    deployed: bool,
    step: usize,
    step_started: Time,
    run: Option<AnalysisRun>,
    background: Option<AnalysisRun>,
    waiting: bool,
    killed: bool,
    started: bool,
}

impl FeatureToggle {
    /// The nested deployment controller.
    pub fn deploy_mut(&mut self) -> &mut super::Controller {
        &mut self.deploy
    }

    pub fn new(spec: &FeatureToggleSpec, replicas: u32) -> FeatureToggle {
        FeatureToggle {
            deploy: Controller::new(&spec.deploy, replicas),
            deploy_state: RolloutState::new(RolloutOutcome::Running),
            flag: spec.flag.clone(),
            ramp: spec.ramp.clone(),
            analysis: spec.analysis.clone(),
            deployed: false,
            step: 0,
            step_started: Time::ZERO,
            run: None,
            background: None,
            waiting: false,
            killed: false,
            started: false,
        }
    }

    fn update_flag(cx: &mut Ctx, f: impl FnOnce(&mut Flag)) {
        if let Some(Gate::Flag(g)) = cx.gate.as_mut() {
            g.update(f);
        }
    }

    fn kill(&mut self, cx: &mut Ctx, reason: &str) {
        if self.killed || cx.is_over() {
            return;
        }
        self.killed = true;
        Self::update_flag(cx, |f| f.enabled = false);
        cx.abort(format!("kill switch: {reason}"));
        for run in [&mut self.run, &mut self.background].into_iter().flatten() {
            run.stop(cx);
        }
        cx.rolled_back();
    }

    /// Reacts to an analysis phase; returns true if the ramp may go on.
    fn on_analysis(&mut self, cx: &mut Ctx, phase: Phase, message: &str) -> bool {
        match react(cx, phase, message, &mut self.waiting, "ramp paused until promoted") {
            Reaction::Abort(reason) => {
                self.kill(cx, &reason);
                false
            }
            Reaction::Wait => false,
            Reaction::GoOn => true,
        }
    }

    /// Runs the current ramp step; true when it is complete.
    fn run_step(&mut self, cx: &mut Ctx) -> bool {
        match self.ramp[self.step].clone() {
            RampStep::Enable(rule) => {
                Self::update_flag(cx, |f| f.rules.push(rule));
                true
            }
            RampStep::Percent(p) => {
                Self::update_flag(cx, |f| {
                    let existing = f.rules.iter_mut().find_map(|r| match r {
                        FlagRule::Percentage(pr) => Some(pr),
                        _ => None,
                    });
                    match existing {
                        Some(pr) => pr.percent = p,
                        None => f.rules.push(FlagRule::Percentage(PercentageRollout { percent: p, group_id: None })),
                    }
                });
                true
            }
            RampStep::Pause(d) => {
                let until = self.step_started + d.time();
                cx.wake_at(until);
                cx.now >= until
            }
            RampStep::PauseUntilPromoted => {
                self.waiting = true;
                false
            }
            RampStep::Analysis(spec) => {
                let step = self.step;
                let (phase, message) =
                    poll_step(&mut self.run, cx, || format!("ramp step {}", step + 1), &spec, NEW_CODE);
                self.on_analysis(cx, phase, &message) && phase == Phase::Successful
            }
        }
    }

    fn next_step(&mut self, cx: &mut Ctx) {
        self.step += 1;
        self.step_started = cx.now;
        self.run = None;
        match self.ramp.get(self.step) {
            Some(s) => cx.log(format!("ramp step {}: {s}", self.step + 1)),
            None => cx.log("ramp complete: flag on"),
        }
    }
}

impl Strategy for FeatureToggle {
    fn start(&mut self, cx: &mut Ctx) {
        self.started = true;
        let names = cx.segment_names.to_vec();
        *cx.gate = Some(Gate::Flag(FlagGate::new(self.flag.clone(), names)));
        cx.log(format!("feature toggle `{}`: deploying the build dark", self.flag.name));
        self.deploy_state.started = Some(cx.now);
        with_inner(cx, &mut self.deploy, &mut self.deploy_state, |c, sub| c.start(sub));
    }

    fn reconcile(&mut self, cx: &mut Ctx) {
        if !self.started || cx.is_over() {
            return;
        }
        if !self.deployed {
            with_inner(cx, &mut self.deploy, &mut self.deploy_state, |c, sub| c.reconcile(sub));
            match self.deploy_state.outcome {
                RolloutOutcome::Promoted => {
                    self.deployed = true;
                    self.step_started = cx.now;
                    cx.log("build deployed dark");
                    if let Some(s) = self.ramp.first() {
                        cx.log(format!("ramp step 1: {s}"));
                    }
                }
                RolloutOutcome::RolledBack => {
                    if cx.rollout.abort_at.is_none() {
                        let reason = self.deploy_state.abort_reason.clone().unwrap_or_default();
                        cx.abort(format!("deployment rolled back: {reason}"));
                    }
                    cx.rolled_back();
                    return;
                }
                _ => {
                    if let Some(reason) = self.deploy_state.abort_reason.clone()
                        && cx.rollout.abort_at.is_none()
                    {
                        cx.abort(format!("deployment: {reason}"));
                    }
                    return;
                }
            }
        }
        if cx.rollout.paused {
            return;
        }
        let gate_on = cx.gate.as_ref().is_some_and(|g| !g.is_dark());
        if let Some(spec) = &self.analysis
            && self.background.is_none()
            && gate_on
        {
            let spec = spec.clone();
            self.background = Some(AnalysisRun::start_on(cx, "background", &spec, NEW_CODE));
        }
        if let Some(bg) = self.background.as_mut() {
            let phase = bg.poll(cx);
            let message = bg.verdicts.message.clone();
            if !self.on_analysis(cx, phase, &message) {
                return;
            }
        }
        if self.waiting {
            return;
        }
        while self.step < self.ramp.len() {
            if !self.run_step(cx) || self.killed || self.waiting {
                return;
            }
            self.next_step(cx);
        }
        if let Some(mut bg) = self.background.take() {
            bg.stop(cx);
        }
        cx.promoted();
    }

    fn command(&mut self, cx: &mut Ctx, cmd: RolloutCommand) {
        match cmd {
            RolloutCommand::Abort => {
                if self.deployed {
                    self.kill(cx, "by command");
                } else {
                    with_inner(cx, &mut self.deploy, &mut self.deploy_state, |c, sub| c.command(sub, cmd));
                }
            }
            RolloutCommand::Promote if self.deployed && !self.killed => {
                cx.log("promoted by command");
                self.waiting = false;
                if matches!(
                    self.ramp.get(self.step),
                    Some(RampStep::Pause(_) | RampStep::PauseUntilPromoted | RampStep::Analysis(_))
                ) {
                    if let Some(mut run) = self.run.take() {
                        run.stop(cx);
                    }
                    self.next_step(cx);
                }
            }
            other => with_inner(cx, &mut self.deploy, &mut self.deploy_state, |c, sub| c.command(sub, other)),
        }
    }
}

impl FeatureToggle {
    /// The dark deployment and the ramp, with the current step, for front ends.
    pub fn plan(&self) -> (Vec<String>, Option<usize>) {
        let mut steps = vec![format!("deploy the build dark (flag `{}` off)", self.flag.name)];
        steps.extend(self.ramp.iter().map(|s| format!("{s}")));
        steps.push("flag fully on".into());
        let i = if self.deployed { 1 + self.step.min(self.ramp.len()) } else { 0 };
        (steps, Some(i))
    }
}
