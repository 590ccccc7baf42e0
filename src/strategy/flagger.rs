//! The Flagger canary loop.
//!
//! Flagger docs, "Deployment Strategies — Canary Release": every `analysis.interval`
//! Flagger runs the metric checks against the canary. If they pass and the canary weight
//! is below `maxWeight` it is increased by `stepWeight` (or to the next of `stepWeights`);
//! once the weight has reached `maxWeight` and the checks pass again, the canary is
//! promoted (the primary is updated, traffic goes back to the primary, the canary is
//! scaled to zero). Every failed check — including a query that returns no data —
//! increments the failed-checks counter, which is never reset during the analysis; when it
//! reaches `threshold` traffic goes back to the primary and the canary is scaled to zero.
//! So a healthy canary is promoted no sooner than `interval × maxWeight / stepWeight`, and
//! a failing one is rolled back after about `interval × threshold`.

use super::analysis::{Measurement, measure_check};
use super::{Ctx, RolloutCommand, Strategy, settle_on_stable};
use crate::des::time::Time;
use crate::model::fleet::{NEW, STABLE};
use crate::scenario::{AnalysisSpec, FlaggerSpec, NoData};

#[derive(Clone, Debug)]
pub struct Flagger {
    replicas: u32,
    spec: FlaggerSpec,
    /// The weights to walk through, ending at `maxWeight`.
    weights: Vec<f64>,
    index: Option<usize>,
    failed_checks: u64,
    next: Time,
    tap: Option<usize>,
    started: bool,
    aborted: bool,
    promoting: bool,
}

impl Flagger {
    /// A new `spec.replicas` (set by an autoscaler), used from the next scaling action on.
    pub fn set_replicas(&mut self, replicas: u32) {
        self.replicas = replicas;
    }

    pub fn new(spec: &FlaggerSpec, replicas: u32) -> Flagger {
        let weights = if spec.step_weights.is_empty() {
            let (step, max) = (spec.step_weight.0.max(0.1), spec.max_weight.0);
            let mut w = Vec::new();
            let mut x = step;
            while x < max - 1e-9 {
                w.push(x);
                x += step;
            }
            w.push(max);
            w
        } else {
            spec.step_weights.iter().map(|p| p.0).collect()
        };
        Flagger {
            replicas,
            spec: spec.clone(),
            weights,
            index: None,
            failed_checks: 0,
            next: Time::ZERO,
            tap: None,
            started: false,
            aborted: false,
            promoting: false,
        }
    }

    fn weight(&self) -> f64 {
        self.index.map_or(0.0, |i| self.weights[i])
    }

    /// One analysis iteration: every check on the canary's requests of the last interval.
    fn iterate(&mut self, cx: &mut Ctx) {
        let Some(tap) = self.tap else { return };
        let Some(window) = cx.metrics.take_tap(tap) else {
            return;
        };
        // Flagger treats a metric query without values as a failed check.
        let spec =
            AnalysisSpec { min_requests: self.spec.min_requests, no_data: NoData::Error, ..AnalysisSpec::default() };
        let mut failed = Vec::new();
        for check in &self.spec.checks {
            let (m, note) = measure_check(check, &window, None, &spec);
            if m != Measurement::Successful {
                failed.push(note);
            }
        }
        if !failed.is_empty() {
            self.failed_checks += 1;
            cx.log(format!(
                "canary weight {:.0} %: check failed ({}); failed checks {}/{}",
                self.weight(),
                failed.join("; "),
                self.failed_checks,
                self.spec.threshold.0
            ));
            if self.failed_checks >= self.spec.threshold.0 {
                self.aborted = true;
                cx.abort(format!("failed checks reached the threshold of {}", self.spec.threshold.0));
                cx.metrics.close_tap(tap);
                self.tap = None;
            }
            return;
        }
        match self.index {
            Some(i) if i + 1 >= self.weights.len() => {
                cx.log("checks passed at max weight: promoting");
                self.promoting = true;
                cx.metrics.close_tap(tap);
                self.tap = None;
            }
            _ => {
                let i = self.index.map_or(0, |i| i + 1);
                self.index = Some(i);
                cx.log(format!("advance canary weight to {:.0} %", self.weights[i]));
                cx.set_canary_weight(self.weights[i], false);
            }
        }
    }
}

impl Strategy for Flagger {
    fn start(&mut self, cx: &mut Ctx) {
        self.started = true;
        // Flagger scales the canary deployment to the primary's size before routing to it.
        cx.scale(NEW, self.replicas);
        cx.set_canary_weight(0.0, false);
        cx.log(format!(
            "flagger: interval {}s, weights {:?}, threshold {}",
            self.spec.interval.time().whole_secs(),
            self.weights,
            self.spec.threshold.0
        ));
    }

    fn reconcile(&mut self, cx: &mut Ctx) {
        if !self.started || cx.is_over() {
            return;
        }
        if self.aborted {
            if settle_on_stable(cx) {
                cx.rolled_back();
            }
            return;
        }
        if self.promoting {
            cx.set_weights([0.0, 1.0, 0.0]);
            cx.scale(STABLE, 0);
            if cx.pool(STABLE).current == 0 {
                cx.promoted();
            }
            return;
        }
        if cx.rollout.paused {
            return;
        }
        if self.index.is_none() && self.tap.is_none() {
            if !cx.pool_available(NEW) {
                return;
            }
            // Canary ready: first step of traffic, then an iteration every interval.
            self.index = Some(0);
            cx.set_canary_weight(self.weights[0], false);
            cx.log(format!("canary ready: weight {:.0} %", self.weights[0]));
            self.tap = Some(cx.metrics.open_tap(NEW));
            self.next = cx.now + self.spec.interval.time();
            cx.wake_at(self.next);
            return;
        }
        while self.tap.is_some() && cx.now >= self.next && !self.aborted && !self.promoting {
            self.iterate(cx);
            self.next += self.spec.interval.time();
            cx.wake_at(self.next);
        }
        if self.aborted || self.promoting {
            self.reconcile(cx);
        }
    }

    fn command(&mut self, cx: &mut Ctx, cmd: RolloutCommand) {
        match cmd {
            RolloutCommand::Abort if self.started && !self.aborted && !cx.is_over() => {
                self.aborted = true;
                cx.abort("aborted by command");
                if let Some(t) = self.tap.take() {
                    cx.metrics.close_tap(t);
                }
            }
            RolloutCommand::Promote if self.started && !self.aborted => {
                self.promoting = true;
                if let Some(t) = self.tap.take() {
                    cx.metrics.close_tap(t);
                }
            }
            _ => {}
        }
    }
}

impl Flagger {
    /// The weights and the current one, for front ends.
    pub fn plan(&self) -> (Vec<String>, Option<usize>) {
        let mut steps: Vec<String> = self.weights.iter().map(|w| format!("weight {w:.0} %")).collect();
        steps.push("promote".into());
        let i = if self.promoting { self.weights.len() } else { self.index.unwrap_or(0) };
        (steps, Some(i))
    }
}
