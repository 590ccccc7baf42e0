//! Analysis runs, with Argo Rollouts' AnalysisRun semantics.
//!
//! Argo docs, "Analysis & Progressive Delivery": a run takes a measurement of each
//! metric every `interval`, `count` times (or until terminated, for background
//! analysis), after `initialDelay`. A metric is **Failed** once more than `failureLimit`
//! measurements failed, **Inconclusive** once more than `inconclusiveLimit` were
//! inconclusive, **Error** once more than `consecutiveErrorLimit` errors happened in a
//! row; otherwise **Successful** after `count` measurements. The run takes the worst
//! phase of its metrics. A rollout aborts on Failed or Error and pauses on Inconclusive.
//!
//! Difference from Argo, on purpose: Argo's first measurement is taken right after
//! `initialDelay` and queries the provider's own window; here each measurement covers the
//! `interval` before it, so the first is taken one interval after `initialDelay`. A
//! window with fewer than `min_requests` requests is *no data* — inconclusive (or an
//! error, as Argo's Prometheus provider reports an empty result) — never a silent pass.

use super::Ctx;
use super::judge;
use crate::des::time::Time;
use crate::metrics::{Slice, Tap};
use crate::model::fleet::{BASELINE, NEW};
use crate::scenario::{AnalysisSpec, Check, KayentaMetric, KayentaSpec, NoData};

/// The phase of an analysis run or of one of its metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Running,
    Successful,
    Inconclusive,
    Failed,
    Error,
}

impl Phase {
    fn severity(self) -> u8 {
        match self {
            Phase::Successful => 0,
            Phase::Running => 1,
            Phase::Inconclusive => 2,
            Phase::Failed | Phase::Error => 3,
        }
    }
    pub fn is_done(self) -> bool {
        self != Phase::Running
    }
}

/// The result of one measurement of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measurement {
    Successful,
    Failed,
    Inconclusive,
    Error,
}

#[derive(Clone, Debug, Default)]
struct CheckState {
    failed: u64,
    inconclusive: u64,
    consecutive_errors: u64,
}

/// The counting half of an analysis run: the measurements taken so far, each check's
/// failed, inconclusive and consecutive-error counts against the spec's limits, and the
/// phase they give. It reads windows it is handed, so every engine that can fill a
/// [`Tap`] (one service's fleet, or one service of a graph) judges with the same rules.
#[derive(Clone, Debug)]
pub struct Verdicts {
    pub name: String,
    spec: AnalysisSpec,
    taken: u64,
    checks: Vec<CheckState>,
    pub phase: Phase,
    /// Why it ended, for the log.
    pub message: String,
}

impl Verdicts {
    pub fn new(name: &str, spec: &AnalysisSpec) -> Verdicts {
        Verdicts {
            name: name.into(),
            spec: spec.clone(),
            taken: 0,
            checks: vec![CheckState::default(); spec.checks.len()],
            phase: Phase::Running,
            message: String::new(),
        }
    }

    pub fn spec(&self) -> &AnalysisSpec {
        &self.spec
    }

    /// Measurements taken so far.
    pub fn taken(&self) -> u64 {
        self.taken
    }

    /// Takes one measurement of every check on `window` (and `baseline`, for Kayenta),
    /// updates the phase and returns the log lines it gives.
    pub fn measure(&mut self, window: &Tap, baseline: Option<&Tap>) -> Vec<String> {
        self.taken += 1;
        let mut notes = Vec::new();
        let mut run_phase = Phase::Successful;
        for (i, check) in self.spec.checks.iter().enumerate() {
            let (m, note) = measure_check(check, window, baseline, &self.spec);
            notes.push(note.clone());
            let st = &mut self.checks[i];
            match m {
                Measurement::Successful => st.consecutive_errors = 0,
                Measurement::Failed => {
                    st.failed += 1;
                    st.consecutive_errors = 0;
                }
                Measurement::Inconclusive => {
                    st.inconclusive += 1;
                    st.consecutive_errors = 0;
                }
                Measurement::Error => st.consecutive_errors += 1,
            }
            let phase = if st.failed > self.spec.failure_limit.0 {
                Phase::Failed
            } else if st.consecutive_errors > self.spec.consecutive_error_limit.0 {
                Phase::Error
            } else if st.inconclusive > self.spec.inconclusive_limit.0 {
                Phase::Inconclusive
            } else if self.spec.count.is_some_and(|c| self.taken >= c.0) {
                Phase::Successful
            } else {
                Phase::Running
            };
            if phase.severity() > run_phase.severity() || (phase == Phase::Error && run_phase == Phase::Failed) {
                run_phase = phase;
                if phase != Phase::Running {
                    self.message = note;
                }
            }
        }
        let mut log = vec![format!("analysis `{}` #{}: {}", self.name, self.taken, notes.join("; "))];
        if run_phase.is_done() {
            if run_phase == Phase::Successful {
                self.message = format!("{} measurements passed", self.taken);
            }
            log.push(format!("analysis `{}` {:?}: {}", self.name, run_phase, self.message));
        }
        self.phase = run_phase;
        log
    }

    /// Stops a run that has no `count` (background analysis): Argo counts a terminated
    /// run that had not failed as successful.
    pub fn stop(&mut self) {
        if self.phase == Phase::Running {
            self.phase = Phase::Successful;
            self.message = "stopped".into();
        }
    }
}

/// One analysis run against the new pool (and the baseline pool, for a Kayenta check).
#[derive(Clone, Debug)]
pub struct AnalysisRun {
    pub verdicts: Verdicts,
    tap: usize,
    baseline_tap: Option<usize>,
    next: Time,
    discard_at: Option<Time>,
}

impl AnalysisRun {
    /// Starts measuring the new pool now.
    pub fn start(cx: &mut Ctx, name: &str, spec: &AnalysisSpec) -> AnalysisRun {
        Self::start_on(cx, name, spec, NEW)
    }

    /// Starts measuring `pool` (or [`crate::metrics::NEW_CODE`]) now.
    pub fn start_on(cx: &mut Ctx, name: &str, spec: &AnalysisSpec, pool: u8) -> AnalysisRun {
        let tap = cx.metrics.open_tap(pool);
        let baseline_tap = uses_baseline(spec).then(|| cx.metrics.open_tap(BASELINE));
        let delay = spec.initial_delay.time();
        let next = cx.now + delay + spec.interval.time();
        cx.wake_at(next);
        let discard_at = (delay > Time::ZERO).then(|| cx.now + delay);
        if let Some(t) = discard_at {
            cx.wake_at(t);
        }
        cx.log(format!("analysis `{name}` started"));
        AnalysisRun { verdicts: Verdicts::new(name, spec), tap, baseline_tap, next, discard_at }
    }

    /// Takes the measurements that are due and returns the run's phase.
    pub fn poll(&mut self, cx: &mut Ctx) -> Phase {
        // Data from before the end of the initial delay is not measured.
        if let Some(t) = self.discard_at
            && cx.now >= t
        {
            self.discard_at = None;
            cx.metrics.take_tap(self.tap);
            if let Some(b) = self.baseline_tap {
                cx.metrics.take_tap(b);
            }
        }
        while self.verdicts.phase == Phase::Running && cx.now >= self.next {
            self.measure(cx);
            self.next += self.verdicts.spec.interval.time();
            if self.verdicts.phase == Phase::Running {
                cx.wake_at(self.next);
            }
        }
        if self.verdicts.phase.is_done() {
            self.close(cx);
        }
        self.verdicts.phase
    }

    /// Stops a run that has no `count` (see [`Verdicts::stop`]).
    pub fn stop(&mut self, cx: &mut Ctx) {
        self.verdicts.stop();
        self.close(cx);
    }

    fn close(&mut self, cx: &mut Ctx) {
        cx.metrics.close_tap(self.tap);
        if let Some(b) = self.baseline_tap {
            cx.metrics.close_tap(b);
        }
    }

    fn measure(&mut self, cx: &mut Ctx) {
        let window = cx.metrics.take_tap(self.tap);
        let baseline = self.baseline_tap.and_then(|b| cx.metrics.take_tap(b));
        let Some(window) = window else { return };
        for line in self.verdicts.measure(&window, baseline.as_ref()) {
            cx.log(line);
        }
    }
}

/// An analysis step: starts the run on `pool` the first time (named `name`), then polls it;
/// returns its phase and message.
pub fn poll_step(
    slot: &mut Option<AnalysisRun>,
    cx: &mut Ctx,
    name: impl FnOnce() -> String,
    spec: &AnalysisSpec,
    pool: u8,
) -> (Phase, String) {
    let run = slot.get_or_insert_with(|| AnalysisRun::start_on(cx, &name(), spec, pool));
    let phase = run.poll(cx);
    (phase, run.verdicts.message.clone())
}

/// What a rollout does with an analysis phase, as Argo does: Failed or Error aborts,
/// Inconclusive waits for a person to promote or abort, anything else goes on.
pub enum Reaction {
    GoOn,
    Wait,
    Abort(String),
}

/// Decides the [`Reaction`] to `phase`; logs the first wait (`paused` says what pauses).
pub fn react(cx: &mut Ctx, phase: Phase, message: &str, waiting: &mut bool, paused: &str) -> Reaction {
    match phase {
        Phase::Failed | Phase::Error => Reaction::Abort(format!("analysis {phase:?}: {message}")),
        Phase::Inconclusive => {
            if !*waiting {
                cx.log(format!("analysis inconclusive ({message}): {paused}"));
            }
            *waiting = true;
            Reaction::Wait
        }
        Phase::Running | Phase::Successful => Reaction::GoOn,
    }
}

fn uses_baseline(spec: &AnalysisSpec) -> bool {
    spec.checks.iter().any(|c| matches!(c, Check::Kayenta(_)))
}

/// Whether an analysis spec needs a baseline pool of the canary's size.
pub fn needs_baseline(spec: Option<&AnalysisSpec>) -> bool {
    spec.is_some_and(uses_baseline)
}

fn no_data(spec: &AnalysisSpec, what: String) -> (Measurement, String) {
    let m = match spec.no_data {
        NoData::Inconclusive => Measurement::Inconclusive,
        NoData::Error => Measurement::Error,
    };
    (m, format!("no data: {what}"))
}

/// Evaluates one check on one window.
pub fn measure_check(check: &Check, w: &Tap, baseline: Option<&Tap>, spec: &AnalysisSpec) -> (Measurement, String) {
    let min = spec.min_requests.0;
    if !matches!(check, Check::Kayenta(_)) && w.ended < min.max(1) {
        return no_data(spec, format!("{} requests < {min}", w.ended));
    }
    match check {
        Check::SuccessRate(p) => {
            let rate = 1.0 - w.failed as f64 / w.ended as f64;
            let pass = rate >= p.0;
            let cmp = if pass { "≥" } else { "<" };
            let m = if pass { Measurement::Successful } else { Measurement::Failed };
            (m, format!("success {:.2} % {cmp} {:.2} %", rate * 100.0, p.0 * 100.0))
        }
        Check::LatencyP99(max) => match w.latency.quantile(0.99) {
            None => no_data(spec, "no answered requests".into()),
            Some(p99) => {
                let pass = p99 <= max.time().as_micros() as f64;
                let m = if pass { Measurement::Successful } else { Measurement::Failed };
                let cmp = if pass { "≤" } else { ">" };
                (m, format!("p99 {:.1} ms {cmp} {:.1} ms", p99 / 1e3, max.time().as_millis_f64()))
            }
        },
        Check::ErrorCount(max) => {
            let pass = w.failed <= max.0;
            let m = if pass { Measurement::Successful } else { Measurement::Failed };
            (m, format!("{} errors (limit {})", w.failed, max.0))
        }
        Check::Kayenta(k) => match baseline {
            None => no_data(spec, "no baseline".into()),
            Some(b) if b.ended < min.max(1) || w.ended < min.max(1) => {
                no_data(spec, format!("canary {} / baseline {} requests < {min}", w.ended, b.ended))
            }
            Some(b) => kayenta(k, w, b),
        },
    }
}

/// Groups one-second slices into samples of `step` seconds.
fn steps(slices: &[Slice], step: usize) -> Vec<Slice> {
    slices
        .chunks(step.max(1))
        .map(|c| {
            c.iter().fold(Slice::default(), |a, s| Slice {
                ended: a.ended + s.ended,
                failed: a.failed + s.failed,
                answered: a.answered + s.answered,
                latency_sum_us: a.latency_sum_us + s.latency_sum_us,
            })
        })
        .collect()
}

fn kayenta(k: &KayentaSpec, canary: &Tap, baseline: &Tap) -> (Measurement, String) {
    let step = k.step.time().whole_secs().max(1) as usize;
    let (c, b) = (steps(&canary.slices, step), steps(&baseline.slices, step));
    let error_rate = |s: &Slice| {
        if s.ended > 0 { s.failed as f64 / s.ended as f64 } else { f64::NAN }
    };
    let latency = |s: &Slice| {
        if s.answered > 0 { s.latency_sum_us / s.answered as f64 / 1e3 } else { f64::NAN }
    };
    let mut classes = Vec::new();
    let mut notes = Vec::new();
    for metric in &k.metrics {
        let f: &dyn Fn(&Slice) -> f64 = match metric {
            KayentaMetric::ErrorRate => &error_rate,
            KayentaMetric::Latency => &latency,
        };
        let (xs, ys): (Vec<f64>, Vec<f64>) = (b.iter().map(f).collect(), c.iter().map(f).collect());
        let cl = judge::classify(&xs, &ys, judge::Direction::Increase, k.confidence.0, k.tolerance.0);
        notes.push(format!("{metric:?} {:?}", cl.class));
        classes.push((cl.class, 1.0));
    }
    let cfg = judge::JudgeConfig {
        confidence: k.confidence.0,
        tolerance: k.tolerance.0,
        pass_score: k.pass_score.0,
        marginal_score: k.marginal_score.0,
    };
    let score = judge::score(&classes);
    let m = match judge::verdict(score, &cfg) {
        judge::Verdict::Pass => Measurement::Successful,
        judge::Verdict::Marginal => Measurement::Inconclusive,
        judge::Verdict::Fail => Measurement::Failed,
    };
    (m, format!("Kayenta score {score:.0} ({})", notes.join(", ")))
}
