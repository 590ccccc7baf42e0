//! Argo Rollouts canary (and AWS CodeDeploy traffic shifting, which is a fixed canary).
//!
//! Argo Rollouts docs, "Canary": the rollout walks its `steps` in order —
//! `setWeight` (send that share of traffic to the canary), `pause` (for a duration, or
//! until promoted), `setCanaryScale` (scale the canary independently of its weight),
//! `analysis` (run an AnalysisRun and wait for it) — while a background analysis may run
//! from `analysis.startingStep`. A failed analysis aborts: the weight goes back to 0,
//! the stable side is whole again, and the canary is scaled down after
//! `abortScaleDownDelaySeconds` (30 s by default). An inconclusive one pauses until
//! a person promotes or aborts. After the last step the canary becomes the new stable.
//!
//! Routing: with a traffic router (`router.mode: Weighted`) the split is exact and
//! the canary gets `⌈weight × replicas⌉` pods while the stable side stays fully scaled
//! (Argo's default without `dynamicStableScale`). Without one, traffic follows pods, so
//! the weight is approximated by replica counts as `approximateWeightedCanaryStableReplicaCounts`
//! does in Argo's `utils/replicaset/canary.go`: e.g. 41 % of 10 replicas is 4 canary
//! and 6 stable, and for weights 1–99 % with 2 or more replicas neither side drops to 0.
//! Simplification: the canary is scaled up first and the stable side is scaled down once
//! the canary is available (Argo interleaves both within maxSurge/maxUnavailable).

use super::analysis::{AnalysisRun, Phase, Reaction, needs_baseline, poll_step, react};
use super::{Ctx, RolloutCommand, Strategy, settle_on_stable};
use crate::des::time::Time;
use crate::model::fleet::{BASELINE, NEW, STABLE};
use crate::scenario::{
    AnalysisSpec, CanaryScale, CanarySpec, CanaryStep, CodeDeployConfig, CodeDeploySpec, Duration, Percent, RouterMode,
};

/// Argo's replica approximation of a canary weight without a traffic router. Returns
/// `(canary, stable)`. The two may sum to `replicas + 1` when surging is allowed.
pub fn approximate_weighted_counts(replicas: u32, weight: u32, max_surge: u32) -> (u32, u32) {
    if replicas == 0 {
        return (0, 0);
    }
    let exact = replicas as f64 * weight as f64 / 100.0;
    let ceil = exact.ceil() as u32;
    let floor = exact.floor() as u32;
    // Ceiling and floor equally far from the weight: prefer the larger canary.
    let tied = |total: u32| (total as f64 * weight as f64 / 100.0).fract() == 0.5;
    let zero_allowed = weight == 0 || weight == 100 || (replicas == 1 && max_surge == 0);
    let mut options: Vec<(u32, u32)> = Vec::new();
    if ceil < replicas || zero_allowed {
        options.push((ceil, replicas));
    }
    if !tied(replicas) && (floor != 0 || zero_allowed) {
        options.push((floor, replicas));
    }
    if max_surge > 0 {
        options.push((ceil, replicas + 1));
        if !tied(replicas + 1) && (floor != 0 || zero_allowed) {
            options.push((floor, replicas + 1));
        }
    }
    let delta = |(c, t): (u32, u32)| (c as f64 * 100.0 / t as f64 - weight as f64).abs();
    let mut best = match options.first() {
        Some(&o) => o,
        None => return (0, replicas),
    };
    for &o in &options[1..] {
        if delta(o) < delta(best) {
            best = o;
        }
    }
    (best.0, best.1 - best.0)
}

pub use crate::scenario::canary_replicas as traffic_weight_to_replicas;

#[derive(Clone, Debug)]
pub struct Canary {
    replicas: u32,
    steps: Vec<CanaryStep>,
    analysis: Option<AnalysisSpec>,
    analysis_start: usize,
    max_surge: u32,
    /// `maxSurge` as written, resolved again when `replicas` changes.
    max_surge_spec: crate::scenario::IntOrPercent,
    /// `replicas` changed since the split was last put in place.
    rescale: bool,
    abort_delay: Time,
    /// CodeDeploy always shifts with exact weights (load balancer listeners).
    force_weighted: bool,
    label: &'static str,
    baseline: bool,
    step: usize,
    step_started: Time,
    weight: f64,
    scale: Option<CanaryScale>,
    step_run: Option<AnalysisRun>,
    background: Option<AnalysisRun>,
    /// Waiting for a promote command (a pause, or an inconclusive analysis).
    waiting: bool,
    aborted: Option<Time>,
    promoting_since: Option<Time>,
    started: bool,
}

impl Canary {
    pub fn new(spec: &CanarySpec, replicas: u32) -> Canary {
        let baseline = needs_baseline(spec.analysis.as_ref())
            || spec.steps.iter().any(|s| matches!(s, CanaryStep::Analysis(a) if needs_baseline(Some(a))));
        Canary {
            replicas,
            steps: spec.steps.clone(),
            analysis: spec.analysis.clone(),
            analysis_start: spec.analysis_start_step.0 as usize,
            max_surge: spec.max_surge.resolve(replicas, true),
            max_surge_spec: spec.max_surge,
            rescale: false,
            abort_delay: spec.abort_scale_down_delay.time(),
            force_weighted: false,
            label: "canary",
            baseline,
            step: 0,
            step_started: Time::ZERO,
            weight: 0.0,
            scale: None,
            step_run: None,
            background: None,
            waiting: false,
            aborted: None,
            promoting_since: None,
            started: false,
        }
    }

    /// AWS CodeDeploy's predefined configurations as canary steps (AWS CodeDeploy user
    /// guide, "Deployment configurations on an AWS Lambda / Amazon ECS compute platform").
    pub fn code_deploy(spec: &CodeDeploySpec, replicas: u32) -> Canary {
        let w = |p: f64| CanaryStep::SetWeight(Percent(p));
        let pause = |s: u64| CanaryStep::Pause(Duration::secs(s));
        let steps = match spec.config {
            CodeDeployConfig::Canary10Percent5Minutes => vec![w(10.0), pause(300), w(100.0)],
            CodeDeployConfig::Canary10Percent15Minutes => vec![w(10.0), pause(900), w(100.0)],
            CodeDeployConfig::Linear10PercentEvery1Minute => {
                (1..=10).flat_map(|k| [w(k as f64 * 10.0), pause(60)]).take(19).collect()
            }
            CodeDeployConfig::Linear10PercentEvery3Minutes => {
                (1..=10).flat_map(|k| [w(k as f64 * 10.0), pause(180)]).take(19).collect()
            }
            CodeDeployConfig::AllAtOnce => vec![w(100.0)],
        };
        let mut c =
            Canary::new(&CanarySpec { steps, analysis: spec.alarms.clone(), ..CanarySpec::default() }, replicas);
        c.force_weighted = true;
        c.label = "codedeploy";
        // CodeDeploy ECS blue/green brings up the full replacement task set first.
        c.scale = Some(CanaryScale { replicas: Some(crate::scenario::Int(replicas as u64)), ..Default::default() });
        c
    }

    /// A new `spec.replicas` (set by an autoscaler): Argo Rollouts re-derives the
    /// ReplicaSets' sizes from it for the current weight on its next sync.
    pub fn set_replicas(&mut self, replicas: u32) {
        if let Some(CanaryScale { replicas: Some(r), .. }) = self.scale.as_mut()
            && self.force_weighted
        {
            // CodeDeploy's full replacement set follows the service's size.
            *r = crate::scenario::Int(replicas as u64);
        }
        self.replicas = replicas;
        self.max_surge = self.max_surge_spec.resolve(replicas, true);
        self.rescale = true;
    }

    fn weighted(&self, cx: &Ctx) -> bool {
        self.force_weighted || cx.router.mode == RouterMode::Weighted
    }

    /// Desired canary pods for the current weight and scale override (weighted routing).
    fn canary_pods(&self) -> u32 {
        match &self.scale {
            Some(s) if !s.match_traffic_weight => match (s.replicas, s.weight) {
                (Some(r), _) => r.0 as u32,
                (None, Some(w)) => traffic_weight_to_replicas(self.replicas, w.0),
                (None, None) => traffic_weight_to_replicas(self.replicas, self.weight),
            },
            _ => traffic_weight_to_replicas(self.replicas, self.weight),
        }
    }

    /// Scales toward the current weight; true once the split is in place.
    fn apply_weight(&mut self, cx: &mut Ctx) -> bool {
        if self.weighted(cx) {
            let pods = self.canary_pods().max(u32::from(self.weight > 0.0));
            cx.scale(NEW, pods);
            cx.scale(STABLE, self.replicas);
            cx.scale(BASELINE, if self.baseline { pods } else { 0 });
            let ready = cx.pool_available(NEW) && (!self.baseline || cx.pool_available(BASELINE));
            if ready {
                cx.set_canary_weight(self.weight, self.baseline);
            }
            ready
        } else {
            let (c, s) = approximate_weighted_counts(self.replicas, self.weight.round() as u32, self.max_surge);
            cx.scale(NEW, c);
            if cx.pool_available(NEW) {
                cx.scale(STABLE, s);
                cx.scale(BASELINE, 0);
            }
            cx.pool_available(NEW) && cx.pool(STABLE).current == s
        }
    }

    fn abort(&mut self, cx: &mut Ctx, reason: &str) {
        if self.aborted.is_some() || cx.is_over() {
            return;
        }
        cx.abort(reason);
        self.aborted = Some(cx.now);
        self.waiting = false;
        for run in [&mut self.step_run, &mut self.background].into_iter().flatten() {
            run.stop(cx);
        }
        self.step_run = None;
        self.background = None;
        cx.wake_at(cx.now + self.abort_delay);
    }

    /// Reacts to an analysis phase; returns true if the rollout may go on.
    fn on_analysis(&mut self, cx: &mut Ctx, phase: Phase, message: &str) -> bool {
        match react(cx, phase, message, &mut self.waiting, "paused until promoted or aborted") {
            Reaction::Abort(reason) => {
                self.abort(cx, &reason);
                false
            }
            Reaction::Wait => false,
            Reaction::GoOn => true,
        }
    }

    fn next_step(&mut self, cx: &mut Ctx) {
        self.step += 1;
        self.step_started = cx.now;
        self.step_run = None;
        if let Some(s) = self.steps.get(self.step) {
            cx.log(format!("step {}: {s}", self.step + 1));
        } else {
            cx.log("all steps done: promoting the canary to stable");
        }
    }

    /// Runs the current step; true when it is complete.
    fn run_step(&mut self, cx: &mut Ctx) -> bool {
        let step = self.steps[self.step].clone();
        match step {
            CanaryStep::SetWeight(w) => {
                self.weight = w.0;
                self.apply_weight(cx)
            }
            CanaryStep::Pause(d) => {
                let until = self.step_started + d.time();
                cx.wake_at(until);
                cx.now >= until
            }
            CanaryStep::PauseUntilPromoted => {
                if !self.waiting {
                    cx.log("paused until promoted");
                }
                self.waiting = true;
                false
            }
            CanaryStep::SetCanaryScale(s) => {
                self.scale = Some(s);
                self.apply_weight(cx)
            }
            CanaryStep::Analysis(spec) => {
                let step = self.step;
                let (phase, message) = poll_step(&mut self.step_run, cx, || format!("step {}", step + 1), &spec, NEW);
                self.on_analysis(cx, phase, &message) && phase == Phase::Successful
            }
        }
    }

    fn promote_fully(&mut self, cx: &mut Ctx) {
        if let Some(mut bg) = self.background.take() {
            bg.stop(cx);
        }
        cx.scale(NEW, self.replicas);
        cx.scale(BASELINE, 0);
        if !cx.pool_available(NEW) {
            return;
        }
        let since = *self.promoting_since.get_or_insert(cx.now);
        cx.set_weights([0.0, 1.0, 0.0]);
        // The old stable side is scaled down after scaleDownDelaySeconds (30 s) with a
        // traffic router, at once without one.
        let delay = if self.weighted(cx) { Time::from_secs(30) } else { Time::ZERO };
        if cx.now >= since + delay {
            cx.scale(STABLE, 0);
        } else {
            cx.wake_at(since + delay);
        }
        if cx.pool(STABLE).current == 0 {
            cx.promoted();
        }
    }
}

impl Strategy for Canary {
    fn start(&mut self, cx: &mut Ctx) {
        self.started = true;
        self.step_started = cx.now;
        if self.weighted(cx) {
            cx.set_canary_weight(0.0, false);
        }
        cx.log(format!("{}: {} steps", self.label, self.steps.len()));
        if let Some(s) = self.steps.first() {
            cx.log(format!("step 1: {s}"));
        }
    }

    fn reconcile(&mut self, cx: &mut Ctx) {
        if !self.started || cx.is_over() {
            return;
        }
        if let Some(t) = self.aborted {
            cx.set_weights([1.0, 0.0, 0.0]);
            cx.scale(STABLE, self.replicas);
            if cx.now >= t + self.abort_delay && settle_on_stable(cx) {
                cx.rolled_back();
            }
            return;
        }
        if self.rescale && self.promoting_since.is_none() && self.apply_weight(cx) {
            self.rescale = false;
        }
        if cx.rollout.paused {
            return;
        }
        if let Some(spec) = &self.analysis
            && self.background.is_none()
            && self.step >= self.analysis_start
        {
            let spec = spec.clone();
            self.background = Some(AnalysisRun::start(cx, "background", &spec));
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
        while self.step < self.steps.len() {
            if !self.run_step(cx) || self.aborted.is_some() || self.waiting {
                return;
            }
            self.next_step(cx);
        }
        self.weight = 100.0;
        self.promote_fully(cx);
    }

    fn command(&mut self, cx: &mut Ctx, cmd: RolloutCommand) {
        match cmd {
            RolloutCommand::Abort => self.abort(cx, "aborted by command"),
            RolloutCommand::Promote if self.started && self.aborted.is_none() && !cx.is_over() => {
                cx.log("promoted by command");
                self.waiting = false;
                let at_gate = matches!(
                    self.steps.get(self.step),
                    Some(CanaryStep::Pause(_) | CanaryStep::PauseUntilPromoted | CanaryStep::Analysis(_))
                );
                if at_gate {
                    if let Some(mut run) = self.step_run.take() {
                        run.stop(cx);
                    }
                    self.next_step(cx);
                }
            }
            _ => {}
        }
    }
}

impl Canary {
    /// The steps and the current one, for front ends.
    pub fn plan(&self) -> (Vec<String>, Option<usize>) {
        let mut steps: Vec<String> = self.steps.iter().map(|s| format!("{s}")).collect();
        steps.push("promote: canary becomes stable".into());
        if self.aborted.is_some() {
            steps.push("aborted: weight 0, canary scaled down".into());
            let last = steps.len() - 1;
            return (steps, Some(last));
        }
        (steps, Some(self.step.min(self.steps.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Argo Rollouts docs ("Canary", mimicking canary without a traffic router): with
    /// 10 replicas, `setWeight: 41` runs 4 canary and 6 stable pods.
    #[test]
    fn canary_at_41_percent_of_10_replicas_runs_4_canary_pods() {
        assert_eq!(approximate_weighted_counts(10, 41, 0), (4, 6));
        assert_eq!(approximate_weighted_counts(10, 41, 3), (4, 6));
    }

    /// Argo: for weights 1–99 with 2+ replicas neither side is 0 (canary.go docs).
    #[test]
    fn small_and_large_weights_never_empty_a_side() {
        for surge in [0, 1] {
            for replicas in 2..=20 {
                for weight in [1, 99] {
                    let (c, s) = approximate_weighted_counts(replicas, weight, surge);
                    assert!(c >= 1 && s >= 1, "{replicas} replicas at {weight}% (surge {surge}): {c}/{s}");
                    assert!(c + s <= replicas + u32::from(surge > 0));
                }
            }
        }
        // 1 % of 10: one canary pod; with surge the stable side keeps all 10.
        assert_eq!(approximate_weighted_counts(10, 1, 0), (1, 9));
        assert_eq!(approximate_weighted_counts(10, 1, 1), (1, 10));
        // 99 % of 10: with surge, 10 canary and 1 stable; without, 9 and 1.
        assert_eq!(approximate_weighted_counts(10, 99, 1), (10, 1));
        assert_eq!(approximate_weighted_counts(10, 99, 0), (9, 1));
    }

    #[test]
    fn zero_and_full_weight_are_exact() {
        assert_eq!(approximate_weighted_counts(10, 0, 1), (0, 10));
        assert_eq!(approximate_weighted_counts(10, 100, 1), (10, 0));
        // One replica without surge may go to zero on either side.
        assert_eq!(approximate_weighted_counts(1, 40, 0), (0, 1));
    }

    /// Ties between floor and ceiling pick the larger canary (3 replicas at 50 %).
    #[test]
    fn ties_prefer_the_larger_canary() {
        assert_eq!(approximate_weighted_counts(3, 50, 0), (2, 1));
    }

    /// Argo's `trafficWeightToReplicas` rounds up.
    #[test]
    fn traffic_routed_canary_rounds_pods_up() {
        assert_eq!(traffic_weight_to_replicas(10, 5.0), 1);
        assert_eq!(traffic_weight_to_replicas(10, 41.0), 5);
        assert_eq!(traffic_weight_to_replicas(10, 0.0), 0);
        assert_eq!(traffic_weight_to_replicas(10, 100.0), 10);
    }
}
