//! Classroom lessons: a scenario plus scripted steps — narration, actions that drive the
//! simulation, questions to predict before the reveal, and the quantitative claims the
//! narration makes, which the test suite checks against the simulation the lesson runs.
//!
//! No Bevy here: [`run::LessonRun`] drives the simulation, [`player::Player`] is the
//! next/back/answer state machine the app and the text mode share, [`text`] plays a lesson
//! in a terminal and exports each step's figure.

pub mod player;
pub mod run;
pub mod text;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::scenario::Command;
use crate::scenario::source::{self, Source};
use crate::scenario::{Duration, Fault, Scenario, ScenarioError, ScenarioErrorKind, StrategySpec};

/// Largest lesson file accepted.
pub const MAX_LESSON_BYTES: u64 = 256 << 10;
/// At most this many steps per lesson.
pub const MAX_STEPS: usize = 200;

/// A lesson file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub title: String,
    /// One or two sentences: what the class will learn.
    #[serde(default)]
    pub summary: String,
    /// The scenario: a path relative to the lesson file, or the scenario inline.
    pub scenario: ScenarioRef,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ScenarioRef {
    Path(String),
    Inline(Box<Scenario>),
}

/// One step: its actions run when the class reaches it, then the narration is shown, then
/// the question (if any) waits for an answer before its reveal.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub title: String,
    /// Narration, a few sentences; `**bold**` and line breaks are kept.
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub actions: Vec<Action>,
    #[serde(default)]
    pub question: Option<Question>,
    /// The numbers the narration or the answers state, checked against the simulation as
    /// it stands after the step's actions.
    #[serde(default)]
    pub claims: Vec<Claim>,
    /// What to look at.
    #[serde(default)]
    pub highlight: Option<Highlight>,
}

/// Something a step does to the simulation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Action {
    /// Simulate until this time (from the start of the run).
    RunUntil(Duration),
    /// Simulate this much longer.
    RunFor(Duration),
    /// Simulate until the event happens (or the run ends).
    RunUntilEvent(Event),
    /// Inject a fault now.
    Inject(Fault),
    /// A command now, as a person at the controls would give it.
    Command(Command),
    /// Replay the run so far under another strategy (same seed, same commands).
    SwitchStrategy(Box<StrategySpec>),
    /// Show these strategies side by side (built-in names or the scenario's `compare` names).
    OpenCompare(Vec<String>),
}

/// Moments a step can wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    ReleaseStarted,
    /// The strategy reached its step number `n` (1-based, as shown in the steps list).
    StepReached(u32),
    /// A user request failed (first failure after the release started).
    FirstFailure,
    /// The rollout decided to abort (an analysis failed, an alarm fired, a command).
    Aborted,
    Promoted,
    RolledBack,
    /// After an abort: no traffic on the new version and the stable capacity back.
    Recovered,
}

/// A question for the class.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub prompt: String,
    pub kind: QuestionKind,
    /// Shown after the reveal.
    #[serde(default)]
    pub explain: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum QuestionKind {
    /// Multiple choice; `answer` is the index of the right option (0-based).
    Choice { options: Vec<String>, answer: usize },
    /// A number to estimate; the answer is read from the simulation at the reveal, and a
    /// guess within `tolerance` (relative, 0.25 = ±25 %) counts as right.
    Estimate { quantity: Quantity, unit: String, tolerance: f64 },
}

/// A number a lesson can state about the simulation as it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Quantity {
    /// A number of the run's report by its path in the JSON that `deploysim run --json`
    /// prints (`"downtime_s"`, `"strategies[1].time_to_restore_mean_s"`): for serverless,
    /// multi-service and continuous-deployment scenarios, which run to the end at once; for
    /// a fleet scenario, the summary as it stands.
    Metric(String),
    /// Simulated time, seconds.
    TimeS,
    /// Share of traffic routed to the new version now, %.
    ShareNewPct,
    /// Share of active users who were served by the new version, %.
    ExposedUsersPct,
    /// Users with a failed request who had none in the baseline.
    BlastRadiusUsers,
    /// The same, % of active users.
    BlastRadiusPct,
    /// Failed requests so far.
    FailedRequests,
    /// Failed requests minus the baseline's so far.
    ExcessFailedRequests,
    /// Failed share of all requests so far, %.
    ErrorRatePct,
    /// Failed share of the requests of the last minute, %.
    ErrorRateLastMinutePct,
    /// Ready instances, all pools.
    ReadyInstances,
    /// Ready instances of the new version.
    ReadyNew,
    /// Instances alive (paid for), all pools.
    AliveInstances,
    /// Instances alive now divided by the baseline's: the momentary cost ratio.
    CostRateRatio,
    /// Cost so far.
    Cost,
    /// Cost so far minus the baseline's.
    ExtraCost,
    /// Users who were served by both versions, % of active users.
    MixedUsersPct,
    /// Seconds from the release to the abort (none: no abort yet).
    DetectionS,
    /// p99 latency of the last minute, ms.
    P99LastMinuteMs,
    /// Requests served by the new version in the last minute.
    NewRequestsLastMinute,
    /// Most instances alive at once so far (paid for).
    PeakInstances,
    /// Fewest ready instances in any second since the release started.
    MinReadySinceRelease,
}

/// A claim checked against the simulation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Claim {
    /// `quantity` lies in `[min, max]`.
    Range { quantity: Quantity, min: f64, max: f64 },
    /// The rollout's outcome so far is this one.
    Outcome(OutcomeIs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutcomeIs {
    Pending,
    Running,
    Promoted,
    RolledBack,
    Stuck,
}

/// What the app should point at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Highlight {
    Chart(ChartKind),
    Instance(u32),
    Steps,
    Summary,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChartKind {
    Traffic,
    Errors,
    Latency,
    Ready,
    Cost,
    Impacted,
}

/// A lesson with its scenario resolved (and run, for the kinds that run to the end at once).
#[derive(Clone, Debug)]
pub struct LoadedLesson {
    pub file: String,
    pub lesson: Lesson,
    pub scenario: Scenario,
    pub report: Option<std::sync::Arc<serde_json::Value>>,
}

/// Reads and checks a lesson file — a path, or the name of a shipped lesson (see
/// [`crate::scenario::source::find`]); errors name the file, line and field like scenario
/// errors.
pub fn load_lesson(path: &Path) -> Result<LoadedLesson, ScenarioError> {
    load_lesson_source(&source::find(path, source::Kind::Lesson)?)
}

/// Reads and checks a lesson from disk or from the shipped library; its `Path` scenario is
/// read relative to it (among the shipped files for a shipped lesson).
pub fn load_lesson_source(src: &Source) -> Result<LoadedLesson, ScenarioError> {
    let file = src.to_string();
    let text = crate::scenario::load::read_source(src, &file, "lesson", MAX_LESSON_BYTES)?;
    parse_lesson_in(&file, &text, src)
}

/// Parses and checks lesson text; a `Path` scenario is read relative to `base`.
pub fn parse_lesson(file: &str, text: &str, base: &Path) -> Result<LoadedLesson, ScenarioError> {
    // `join` resolves against a file's folder: stand for a file inside `base`.
    parse_lesson_in(file, text, &Source::Disk(base.join("lesson.ron")))
}

/// The title of a shipped lesson, read without loading its scenario.
pub fn title_of(text: &str) -> Option<String> {
    crate::scenario::load::from_ron_str::<Lesson>("", text).ok().map(|l| l.title)
}

fn parse_lesson_in(file: &str, text: &str, origin: &Source) -> Result<LoadedLesson, ScenarioError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lesson: Lesson = crate::scenario::load::from_ron_str(file, text)?;
    let at = |field: String, kind| ScenarioError::in_field(file, text, field, kind);
    let scenario = match &lesson.scenario {
        ScenarioRef::Path(p) => {
            let does_not_load = |e: ScenarioError| {
                at("scenario".into(), ScenarioErrorKind::LessonScenario { path: p.clone(), error: Box::new(e) })
            };
            let src = origin.join(p).map_err(|reason| {
                does_not_load(ScenarioError::whole(p.clone(), ScenarioErrorKind::Read { reason: reason.to_string() }))
            })?;
            crate::scenario::load_source(&src).map_err(does_not_load)?
        }
        ScenarioRef::Inline(s) => {
            crate::scenario::check_scenario(s)
                .map_err(|(field, m)| at(format!("scenario.{field}"), ScenarioErrorKind::Invalid(m)))?;
            (**s).clone()
        }
    };
    check(&lesson, &scenario).map_err(|(field, m)| at(field, ScenarioErrorKind::Invalid(m)))?;
    let report = run::headless_report(&scenario)
        .map_err(|e| at("scenario".into(), ScenarioErrorKind::LessonRun { reason: e.to_string() }))?
        .map(std::sync::Arc::new);
    Ok(LoadedLesson { file: file.into(), lesson, scenario, report })
}

fn check(l: &Lesson, s: &Scenario) -> Result<(), (String, String)> {
    if l.steps.is_empty() {
        return Err(("steps".into(), "a lesson needs at least one step".into()));
    }
    if l.steps.len() > MAX_STEPS {
        return Err(("steps".into(), format!("at most {MAX_STEPS} steps are allowed")));
    }
    for (i, st) in l.steps.iter().enumerate() {
        let path = |f: &str| format!("steps[{i}].{f}");
        if st.text.len() > 4000 {
            return Err((path("text"), "narration is limited to 4000 characters".into()));
        }
        if crate::headless_kind(s).is_some() && st.actions.iter().any(|a| !matches!(a, Action::OpenCompare(_))) {
            return Err((
                path("actions"),
                "a serverless, topology or continuous scenario runs to the end at once; its steps take no actions"
                    .into(),
            ));
        }
        for a in &st.actions {
            match a {
                Action::RunUntil(d) if *d > s.duration => {
                    return Err((
                        path("actions"),
                        format!("RunUntil({d}) is after the scenario's end ({})", s.duration),
                    ));
                }
                Action::OpenCompare(names) => {
                    if !(2..=4).contains(&names.len()) {
                        return Err((path("actions"), "OpenCompare takes 2 to 4 strategies".into()));
                    }
                    if crate::headless_kind(s).is_some() {
                        return Err((path("actions"), "OpenCompare needs a fleet scenario".into()));
                    }
                    crate::compare_variants(s, Some(names)).map_err(|e| (path("actions"), e.to_string()))?;
                }
                Action::Command(Command::CrashInstance(id)) if *id >= 100_000 => {
                    return Err((path("actions"), format!("no instance {id}")));
                }
                _ => {}
            }
        }
        if let Some(q) = &st.question {
            match &q.kind {
                QuestionKind::Choice { options, answer } => {
                    if options.len() < 2 || options.len() > 9 {
                        return Err((path("question.kind"), "a choice needs 2 to 9 options".into()));
                    }
                    if *answer >= options.len() {
                        return Err((
                            path("question.kind.answer"),
                            format!("answer {answer} is not an option (0 to {})", options.len() - 1),
                        ));
                    }
                }
                QuestionKind::Estimate { tolerance, .. } => {
                    if !(tolerance.is_finite() && *tolerance > 0.0 && *tolerance <= 10.0) {
                        return Err((path("question.kind.tolerance"), "must be above 0 and at most 10".into()));
                    }
                }
            }
        }
        for c in &st.claims {
            if let Claim::Range { min, max, .. } = c
                && !(min.is_finite() && max.is_finite() && min <= max)
            {
                return Err((path("claims"), format!("a range needs finite min ≤ max, not [{min}, {max}]")));
            }
        }
    }
    Ok(())
}
