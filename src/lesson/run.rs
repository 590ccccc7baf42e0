//! Drives a lesson's simulation: a run and its baseline in step, the steps' actions, the
//! quantities lessons speak of, and rewinding by re-simulating on the same seed.

use std::sync::Arc;

use super::{Action, Claim, Event, LoadedLesson, OutcomeIs, Quantity};
use crate::baseline_of;
use crate::des::time::Time;
use crate::sim::Simulation;
use crate::strategy::RolloutOutcome;

/// What happened when a step's actions ran, for the narration and the tests.
#[derive(Clone, Debug, PartialEq)]
pub enum Note {
    /// Simulated until this time.
    Ran(Time),
    /// Waited for an event: reached at this time, or not before the end.
    Waited {
        event: Event,
        reached: Option<Time>,
    },
    Injected(String),
    Commanded(String),
    Switched(String),
    Compare(Vec<String>),
}

/// A lesson being played: the simulation as it stands at the current step.
#[derive(Clone)]
pub struct LessonRun {
    pub lesson: Arc<LoadedLesson>,
    pub sim: Simulation,
    pub baseline: Simulation,
    /// The step whose actions ran last (`None` before the first).
    pub step: Option<usize>,
    /// Notes of the current step's actions.
    pub notes: Vec<Note>,
    /// Strategies the current step asked to compare.
    pub compare: Option<Vec<String>>,
    /// The finished report of a serverless, topology or continuous scenario, as JSON.
    pub report: Option<Arc<serde_json::Value>>,
}

/// Runs a scenario of another kind than a fleet to the end and returns its JSON report:
/// what `run --json` prints for it.
pub fn headless_report(s: &crate::scenario::Scenario) -> Result<Option<serde_json::Value>, HeadlessError> {
    let text = match crate::engine_of(s) {
        crate::EngineKind::Instances => return Ok(None),
        crate::EngineKind::Releases | crate::EngineKind::Graph | crate::EngineKind::Functions => {
            let (summary, detail) = crate::summarise(s)?;
            crate::report::run_json(summary, detail)
        }
    };
    Ok(Some(serde_json::from_str(&text)?))
}

/// Why a headless scenario's report is not there.
#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    #[error(transparent)]
    Summarise(#[from] crate::SummariseError),
    #[error("report: {0}")]
    Json(#[from] serde_json::Error),
}

/// The number at `path` (`a.b[2].c`) in a JSON value.
pub fn json_number(v: &serde_json::Value, path: &str) -> Option<f64> {
    let mut cur = v;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    match cur {
        serde_json::Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        other => other.as_f64(),
    }
}

impl LessonRun {
    /// The run before any step.
    pub fn new(lesson: Arc<LoadedLesson>) -> LessonRun {
        let sim = Simulation::new(Arc::new(lesson.scenario.clone()));
        let baseline = Simulation::new(Arc::new(baseline_of(&lesson.scenario)));
        let report = lesson.report.clone();
        LessonRun { lesson, sim, baseline, step: None, notes: Vec::new(), compare: None, report }
    }

    /// Goes to step `k`: forward by running the steps in between, backward by re-simulating
    /// from the start on the same seed (the run is deterministic, so this is exact).
    pub fn goto(&mut self, k: usize) {
        let k = k.min(self.lesson.lesson.steps.len() - 1);
        if self.step.is_some_and(|s| s > k) {
            *self = LessonRun::new(self.lesson.clone());
        }
        while self.step.is_none_or(|s| s < k) {
            let next = self.step.map_or(0, |s| s + 1);
            self.enter(next);
        }
    }

    /// Runs step `k`'s actions (the steps before it must have run).
    fn enter(&mut self, k: usize) {
        self.step = Some(k);
        self.notes.clear();
        self.compare = None;
        let actions = self.lesson.lesson.steps[k].actions.clone();
        for a in actions {
            self.act(a);
        }
        self.sync_baseline();
    }

    fn act(&mut self, a: Action) {
        match a {
            Action::RunUntil(d) => {
                self.sim.step_until(d.time());
                self.notes.push(Note::Ran(self.sim.now()));
            }
            Action::RunFor(d) => {
                let t = self.sim.now() + d.time();
                self.sim.step_until(t);
                self.notes.push(Note::Ran(self.sim.now()));
            }
            Action::RunUntilEvent(e) => {
                let reached = self.run_until_event(e);
                self.notes.push(Note::Waited { event: e, reached });
            }
            Action::Inject(f) => {
                self.notes.push(Note::Injected(format!("{f:?}")));
                self.sim.apply(crate::scenario::Command::InjectFault(f));
            }
            Action::Command(c) => {
                self.notes.push(Note::Commanded(format!("{c:?}")));
                self.sim.apply(c);
            }
            Action::SwitchStrategy(spec) => {
                let now = self.sim.now();
                let mut s = self.sim.session_scenario();
                s.strategy = *spec;
                self.notes.push(Note::Switched(s.strategy.name().into()));
                self.sim = Simulation::new(Arc::new(s));
                self.sim.step_until(now);
            }
            Action::OpenCompare(names) => {
                self.notes.push(Note::Compare(names.clone()));
                self.compare = Some(names);
            }
        }
    }

    /// Steps second by second until `e` happens; returns when it happened.
    fn run_until_event(&mut self, e: Event) -> Option<Time> {
        loop {
            if self.happened(e) {
                return Some(self.sim.now());
            }
            if self.sim.now() >= self.sim.end() {
                return None;
            }
            let t = self.sim.now() + Time::SECOND;
            self.sim.step_until(t);
        }
    }

    fn happened(&self, e: Event) -> bool {
        let r = self.sim.rollout();
        match e {
            Event::ReleaseStarted => r.started.is_some(),
            Event::StepReached(n) => self.sim.plan().1.is_some_and(|c| c + 1 >= n as usize),
            Event::FirstFailure => r.started.is_some_and(|t0| {
                let from = t0.whole_secs() as usize;
                self.sim.metrics().series.iter().skip(from).any(|s| s.ended() > s.succeeded())
            }),
            Event::Aborted => r.abort_at.is_some(),
            Event::Promoted => r.outcome == RolloutOutcome::Promoted,
            Event::RolledBack => r.outcome == RolloutOutcome::RolledBack,
            Event::Recovered => r.recovered_at.is_some(),
        }
    }

    fn sync_baseline(&mut self) {
        let t = self.sim.now();
        if self.baseline.now() < t {
            self.baseline.step_until(t);
        }
    }

    /// The value of `q` now (`None` where it has no value yet, e.g. detection before an abort).
    pub fn value(&self, q: &Quantity) -> Option<f64> {
        let m = self.sim.metrics();
        let b = self.baseline.metrics();
        let active = m.active_users.len().max(1) as f64;
        let last_minute = |f: &dyn Fn(&crate::metrics::SecondRecord) -> (f64, f64)| -> Option<f64> {
            let n = m.series.len();
            let (mut a, mut c) = (0.0, 0.0);
            for r in &m.series[n.saturating_sub(60)..] {
                let (x, y) = f(r);
                a += x;
                c += y;
            }
            (c > 0.0).then(|| a / c)
        };
        Some(match q {
            Quantity::Metric(path) => match &self.report {
                Some(r) => json_number(r, path)?,
                None => {
                    let summary = self.sim.summary(&self.baseline);
                    json_number(&serde_json::to_value(&summary).ok()?, path)?
                }
            },
            Quantity::TimeS => self.sim.now().as_secs_f64(),
            Quantity::ShareNewPct => 100.0 * self.sim.router().share_new(self.sim.fleet(), self.sim.now()),
            Quantity::ExposedUsersPct => 100.0 * m.exposed_users.len() as f64 / active,
            Quantity::BlastRadiusUsers => m.failed_users.count_minus(&b.failed_users) as f64,
            Quantity::BlastRadiusPct => 100.0 * m.failed_users.count_minus(&b.failed_users) as f64 / active,
            Quantity::FailedRequests => m.failed() as f64,
            Quantity::ExcessFailedRequests => m.failed() as f64 - b.failed() as f64,
            Quantity::ErrorRatePct => 100.0 * m.failed() as f64 / (m.arrivals.max(1)) as f64,
            Quantity::ErrorRateLastMinutePct => {
                100.0 * last_minute(&|r| ((r.ended() - r.succeeded()) as f64, r.ended() as f64))?
            }
            Quantity::ReadyInstances => self.sim.fleet().routable.iter().map(Vec::len).sum::<usize>() as f64,
            Quantity::ReadyNew => self.sim.fleet().routable[crate::model::fleet::NEW as usize].len() as f64,
            Quantity::AliveInstances => self.sim.fleet().alive_count() as f64,
            Quantity::CostRateRatio => {
                self.sim.fleet().alive_count() as f64 / self.baseline.fleet().alive_count().max(1) as f64
            }
            Quantity::Cost => self.sim.cost(),
            Quantity::ExtraCost => self.sim.cost() - self.baseline.cost(),
            Quantity::MixedUsersPct => 100.0 * m.mixed_users.len() as f64 / active,
            Quantity::DetectionS => {
                let r = self.sim.rollout();
                (r.abort_at? - r.started?).as_secs_f64()
            }
            Quantity::PeakInstances => self.sim.peak_instances() as f64,
            Quantity::MinReadySinceRelease => {
                let from = self.sim.rollout().started?.whole_secs() as usize;
                m.series
                    .iter()
                    .skip(from)
                    .map(|r| r.ready.iter().map(|&x| f64::from(x)).sum::<f64>())
                    .reduce(f64::min)?
            }
            Quantity::NewRequestsLastMinute => {
                let n = m.series.len();
                let p = crate::model::fleet::NEW as usize;
                m.series[n.saturating_sub(60)..]
                    .iter()
                    .map(|r| (r.success[p] + r.error[p] + r.timeout[p] + r.rejected[p]) as f64)
                    .sum()
            }
            Quantity::P99LastMinuteMs => {
                let n = m.series.len();
                m.series[n.saturating_sub(60)..]
                    .iter()
                    .filter_map(|r| r.latency_p99_ms)
                    .map(f64::from)
                    .reduce(f64::max)?
            }
        })
    }

    /// The numbers the current step's claims speak of, as (name, value) for display.
    pub fn numbers(&self) -> Vec<(String, String)> {
        let Some(k) = self.step else { return Vec::new() };
        self.lesson.lesson.steps[k]
            .claims
            .iter()
            .filter_map(|c| match c {
                Claim::Range { quantity, .. } => {
                    let name = match quantity {
                        Quantity::Metric(m) => m.clone(),
                        q => format!("{q:?}"),
                    };
                    self.value(quantity).map(|v| (name, fmt_number(v)))
                }
                Claim::Outcome(_) => Some(("outcome".into(), self.sim.rollout().outcome.label().into())),
            })
            .collect()
    }

    /// Whether `c` holds now, with the measured value for the message.
    pub fn check(&self, c: &Claim) -> Result<(), ClaimError> {
        match c {
            Claim::Range { quantity, min, max } => match self.value(quantity) {
                Some(v) if v >= *min && v <= *max => Ok(()),
                value => Err(ClaimError::Range { quantity: quantity.clone(), value, min: *min, max: *max }),
            },
            Claim::Outcome(o) => {
                let got = self.sim.rollout().outcome;
                let want = match o {
                    OutcomeIs::Pending => RolloutOutcome::Pending,
                    OutcomeIs::Running => RolloutOutcome::Running,
                    OutcomeIs::Promoted => RolloutOutcome::Promoted,
                    OutcomeIs::RolledBack => RolloutOutcome::RolledBack,
                    OutcomeIs::Stuck => RolloutOutcome::Stuck,
                };
                if got == want { Ok(()) } else { Err(ClaimError::Outcome { got: got.label(), claimed: want.label() }) }
            }
        }
    }
}

/// A lesson's claim that does not hold: what was claimed and what was measured.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ClaimError {
    #[error("{quantity:?} {}, claimed [{min}, {max}]", .value.map_or("has no value yet".to_string(), |v| format!("is {v:.3}")))]
    Range { quantity: Quantity, value: Option<f64>, min: f64, max: f64 },
    #[error("outcome is {got}, claimed {claimed}")]
    Outcome { got: &'static str, claimed: &'static str },
}
/// A number as a person would say it: no more digits than matter.
pub fn fmt_number(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
