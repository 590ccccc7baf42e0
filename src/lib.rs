//! deploysim: a deterministic discrete-event simulation of user traffic, instance
//! fleets, failures and cost while a new version rolls out, to measure blast radius,
//! downtime, detection time and cost of each deployment strategy.
//!
//! The core (`scenario`, `sim`, `model`, `strategy`, `metrics`) knows nothing of its
//! front ends. A front end builds a [`sim::Simulation`] from a [`scenario::Scenario`],
//! steps it, applies [`sim::Command`]s and reads its metrics; [`run`] does a whole run
//! with its no-rollout baseline and returns the [`metrics::Summary`].

#[cfg(feature = "gui")]
pub mod app;
pub mod batch;
pub mod continuous;
pub mod des;
pub mod lesson;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;
pub mod serverless;
pub mod sim;
pub mod strategy;
pub mod topology;

use std::sync::Arc;

use scenario::{Scenario, StrategySpec};
use sim::Simulation;
use sim::fast::tape::RequestTape;

/// Which engine runs a scenario. Chosen here, and only here, from the scenario's
/// sections; front ends ask rather than look at the sections themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// One service on a fleet of instances ([`sim::Simulation`]).
    Instances,
    /// A graph of services (`topology`, [`topology`]).
    Graph,
    /// A function (`serverless`, [`serverless`]).
    Functions,
    /// A stream of releases (`continuous`, [`continuous`]).
    Releases,
}

/// The engine that runs `s`.
pub fn engine_of(s: &Scenario) -> EngineKind {
    if s.serverless.is_some() {
        EngineKind::Functions
    } else if s.topology.is_some() {
        EngineKind::Graph
    } else if s.continuous.is_some() {
        EngineKind::Releases
    } else {
        EngineKind::Instances
    }
}

/// An engine's own report, beside the summary every run has.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunDetail {
    /// The graph's calls, schema, database and log.
    Topology(topology::Report),
    /// The function's invocations, cold starts, throttles, environments, billing, the
    /// alias's weights, and its own blast radius (users failed by version 2).
    Serverless(serverless::ServerlessSummary),
    /// A release stream's DORA report: every strategy's releases and figures.
    Continuous(continuous::ContinuousReport),
}

/// Why a scenario could not be summarised.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SummariseError {
    #[error(transparent)]
    Topology(#[from] topology::TopologyError),
    #[error(transparent)]
    Serverless(#[from] serverless::NoServerlessSection),
    #[error(transparent)]
    Continuous(#[from] continuous::ContinuousError),
    #[error("a continuous scenario is a stream of releases: its per-second series are those of many windows")]
    Releases,
}

/// Runs any scenario with its no-rollout baseline on the same seed and summarises it in
/// the vocabulary every run shares, with the engine's own report where it has one.
pub fn summarise(scenario: &Scenario) -> Result<(metrics::Summary, Option<RunDetail>), SummariseError> {
    match engine_of(scenario) {
        EngineKind::Instances => Ok((run(scenario).summary, None)),
        EngineKind::Graph => {
            topology::run_summarised(scenario).map(|(s, r)| (s, Some(RunDetail::Topology(r)))).map_err(Into::into)
        }
        EngineKind::Functions => {
            serverless::run_summarised(scenario).map(|(s, r)| (s, Some(RunDetail::Serverless(r)))).map_err(Into::into)
        }
        EngineKind::Releases => {
            // The stream under the scenario's own strategy (or its first `compare` entry);
            // the detail has every strategy's DORA figures.
            let (report, mut summaries) = continuous::run_summarised(scenario)?;
            let first = summaries.swap_remove(0);
            Ok((first, Some(RunDetail::Continuous(report))))
        }
    }
}

/// A summarised run with what it recorded, for `--csv` and `--report`.
pub struct Recorded {
    pub summary: metrics::Summary,
    pub detail: Option<RunDetail>,
    /// The run's per-second series, in the vocabulary of every run.
    pub series: Vec<metrics::SecondRecord>,
    /// What the rollout did, when.
    pub log: Vec<strategy::LogEntry>,
}

/// [`summarise`], keeping the run's per-second series and log (every engine records
/// them in the same [`metrics::Recorder`]).
pub fn summarise_recorded(scenario: &Scenario) -> Result<Recorded, SummariseError> {
    match engine_of(scenario) {
        EngineKind::Instances => {
            let r = run(scenario);
            let series = r.run.metrics().series.clone();
            Ok(Recorded { summary: r.summary, detail: None, series, log: r.run.log().to_vec() })
        }
        EngineKind::Graph => {
            let (summary, mut run) = topology::run_recorded(scenario)?;
            let log = run.log();
            let series = std::mem::take(&mut run.recorder.series);
            Ok(Recorded { summary, detail: Some(RunDetail::Topology(run.report)), series, log })
        }
        EngineKind::Functions => {
            let r = serverless::run_recorded(scenario)?;
            let detail = Some(RunDetail::Serverless(r.function));
            Ok(Recorded { summary: r.summary, detail, series: r.series, log: r.log })
        }
        EngineKind::Releases => {
            // Many windows, each with its own series: the stream keeps its summary and
            // its DORA report, and its log is the releases' outcomes.
            let (summary, detail) = summarise(scenario)?;
            Ok(Recorded { summary, detail, series: Vec::new(), log: Vec::new() })
        }
    }
}

/// The one variant a graph or a function runs in `batch` and `sweep`: its plan or its
/// deployment configuration, by name (their strategies are not single-service ones).
pub fn own_variant(scenario: &Scenario) -> (String, StrategySpec) {
    let name = match engine_of(scenario) {
        EngineKind::Graph => topology::plan_name(scenario).to_string(),
        EngineKind::Functions => scenario.serverless.as_ref().map_or_else(String::new, |f| f.deployment.name()),
        _ => scenario.strategy.name().to_string(),
    };
    (name, scenario.strategy.clone())
}

/// What `compare` runs for a graph or a function, as whole scenarios on the same seed: a
/// graph's plan with every deployment in each order (its own plan first), a function's
/// release under each CodeDeploy predefined configuration family (its own first). `names`
/// picks among them. `Ok(None)` for a single service, whose variants are strategies
/// ([`compare_variants`]).
pub fn scenario_variants(
    scenario: &Scenario,
    names: Option<&[String]>,
) -> Result<Option<Vec<(String, Scenario)>>, UnknownStrategy> {
    use scenario::serverless::LambdaDeployment;
    use scenario::topology::{Order, PlanStep, SwitchSpec};
    let mut all = vec![(own_variant(scenario).0, scenario.clone())];
    match engine_of(scenario) {
        EngineKind::Graph => {
            // The file's canary, or the variant's own: 10 % then 50 %, two minutes each,
            // with a success-rate analysis every 30 s.
            let file_canary = scenario.topology.as_ref().and_then(|t| t.plan.as_ref()).and_then(|p| {
                p.steps.iter().find_map(|s| match s {
                    PlanStep::Deploy(d) => match &d.switch {
                        SwitchSpec::Canary(c) => Some(c.clone()),
                        _ => None,
                    },
                    _ => None,
                })
            });
            let canary = file_canary.unwrap_or_else(|| scenario::CanarySpec {
                steps: vec![
                    scenario::CanaryStep::SetWeight(scenario::Percent(10.0)),
                    scenario::CanaryStep::Pause(scenario::Duration::secs(120)),
                    scenario::CanaryStep::SetWeight(scenario::Percent(50.0)),
                    scenario::CanaryStep::Pause(scenario::Duration::secs(120)),
                ],
                analysis: Some(scenario::AnalysisSpec {
                    interval: scenario::Duration::secs(30),
                    checks: vec![scenario::Check::SuccessRate(scenario::Probability(0.99))],
                    ..Default::default()
                }),
                ..Default::default()
            });
            let variants = [
                ("big-bang", Order::BigBang, Some(SwitchSpec::Instant)),
                ("one-at-a-time", Order::OneAtATime, None),
                ("canary", Order::OneAtATime, Some(SwitchSpec::Canary(canary))),
            ];
            for (name, order, switch) in variants {
                let mut s = scenario.clone();
                if let Some(plan) = s.topology.as_mut().and_then(|t| t.plan.as_mut()) {
                    for step in &mut plan.steps {
                        if let PlanStep::Deploy(d) = step {
                            d.order = order;
                            match &switch {
                                Some(sw) => d.switch = sw.clone(),
                                // One at a time keeps the file's switch, unless it is a canary.
                                None if matches!(d.switch, SwitchSpec::Canary(_)) => d.switch = SwitchSpec::Instant,
                                None => {}
                            }
                        }
                    }
                }
                all.push((name.to_string(), s));
            }
        }
        EngineKind::Functions => {
            for d in [
                LambdaDeployment::AllAtOnce,
                LambdaDeployment::Canary10Percent5Minutes,
                LambdaDeployment::Linear10PercentEvery1Minute,
            ] {
                let mut s = scenario.clone();
                let name = d.name();
                if let Some(f) = s.serverless.as_mut() {
                    f.deployment = d;
                }
                all.push((name, s));
            }
        }
        EngineKind::Instances | EngineKind::Releases => return Ok(None),
    }
    let mut seen = std::collections::BTreeSet::new();
    all.retain(|(n, _)| seen.insert(n.clone()));
    match names {
        None => Ok(Some(all)),
        Some(names) => names
            .iter()
            .map(|n| {
                all.iter().find(|(m, _)| m == n).cloned().ok_or_else(|| UnknownStrategy {
                    name: n.clone(),
                    known: all.iter().map(|(m, _)| m.clone()).collect(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
    }
}

/// A finished run and its baseline.
pub struct RunResult {
    pub run: Simulation,
    pub baseline: Simulation,
    pub summary: metrics::Summary,
}

/// The kind of system a scenario describes when it is not one service's instance fleet
/// (`serverless`, `topology`, `continuous`): these run with `deploysim run`, not in the
/// app's fleet view.
pub fn headless_kind(s: &Scenario) -> Option<&'static str> {
    match engine_of(s) {
        EngineKind::Functions => Some("serverless"),
        EngineKind::Graph => Some("multi-service topology"),
        EngineKind::Releases => Some("continuous deployment"),
        EngineKind::Instances => None,
    }
}

/// The same scenario and seed with no rollout.
pub fn baseline_of(scenario: &Scenario) -> Scenario {
    let mut b = scenario.clone();
    b.strategy = StrategySpec::None;
    b
}

/// Runs `scenario` to the end, and its no-rollout baseline on the same seed, and
/// summarises the run against the baseline. A scenario without a rollout is its own
/// baseline.
pub fn run(scenario: &Scenario) -> RunResult {
    if matches!(scenario.strategy, StrategySpec::None) {
        let mut run = Simulation::new(Arc::new(scenario.clone()));
        run.run_to_end();
        let summary = run.summary(&run);
        return RunResult { baseline: run.clone(), run, summary };
    }
    let (b, tape) = finished_baseline(scenario);
    run_against_with(scenario, b, tape)
}

/// The seed's tape (see [`sim::fast::tape`]) and the no-rollout baseline run to the end on it,
/// for the runs of every strategy on that seed to share.
pub fn finished_baseline(scenario: &Scenario) -> (Simulation, Option<Arc<RequestTape>>) {
    let tape = RequestTape::bounded_in(scenario, sim::fast::tape::TapeStorage::default()).map(Arc::new);
    let mut b = Simulation::with_tape(Arc::new(baseline_of(scenario)), tape.clone());
    b.run_to_end();
    (b, tape)
}

/// Runs `scenario` and summarises it against an already finished `baseline` (which must
/// be [`baseline_of`] the same scenario and seed).
pub fn run_against(scenario: &Scenario, baseline: Simulation) -> RunResult {
    run_against_with(scenario, baseline, None)
}

/// [`run_against`], reading the seed's shared draws from `tape` (see [`sim::fast::tape`]).
fn run_against_with(scenario: &Scenario, baseline: Simulation, tape: Option<Arc<RequestTape>>) -> RunResult {
    let mut run = Simulation::with_tape(Arc::new(scenario.clone()), tape);
    run.run_to_end();
    let summary = run.summary(&baseline);
    RunResult { run, baseline, summary }
}

/// The built-in strategy variants `compare` knows by name, with default settings (and,
/// for the progressive ones, a default analysis: success rate ≥ 99 % every minute).
pub fn builtin_strategy(name: &str) -> Option<StrategySpec> {
    use scenario::*;
    Some(match name {
        "none" => StrategySpec::None,
        "recreate" => StrategySpec::Recreate(RecreateSpec::default()),
        "rolling" => StrategySpec::Rolling(RollingSpec::default()),
        "blue-green" => StrategySpec::BlueGreen(BlueGreenSpec {
            post_promotion_analysis: Some(AnalysisSpec { count: Some(Int(3)), ..AnalysisSpec::default() }),
            ..BlueGreenSpec::default()
        }),
        "canary" => {
            StrategySpec::Canary(CanarySpec { analysis: Some(AnalysisSpec::default()), ..CanarySpec::default() })
        }
        "flagger" => StrategySpec::Flagger(FlaggerSpec::default()),
        "codedeploy" => StrategySpec::CodeDeploy(CodeDeploySpec {
            config: CodeDeployConfig::Canary10Percent5Minutes,
            alarms: Some(AnalysisSpec::default()),
        }),
        "feature-toggle" => StrategySpec::FeatureToggle(FeatureToggleSpec {
            analysis: Some(AnalysisSpec { min_requests: Int(10), ..AnalysisSpec::default() }),
            ..FeatureToggleSpec::default()
        }),
        "ab-test" => StrategySpec::AbTest(AbTestSpec::default()),
        "shadow" => {
            StrategySpec::Shadow(ShadowSpec { analysis: Some(AnalysisSpec::default()), ..ShadowSpec::default() })
        }
        "in-place" => StrategySpec::InPlace(InPlaceSpec::default()),
        _ => return None,
    })
}

/// Names accepted by [`builtin_strategy`].
pub const BUILTIN_STRATEGIES: [&str; 11] = [
    "none",
    "recreate",
    "rolling",
    "blue-green",
    "canary",
    "flagger",
    "codedeploy",
    "feature-toggle",
    "ab-test",
    "shadow",
    "in-place",
];

/// A strategy name that is neither in the scenario's `compare` list nor built in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown strategy `{name}`; known: {}", .known.join(", "))]
pub struct UnknownStrategy {
    pub name: String,
    /// The scenario's `compare` names, then the built-in ones.
    pub known: Vec<String>,
}

/// The variants `compare` runs: the named ones (from the scenario's `compare` list, else
/// the scenario's own strategy if the name is its kind, else built in), or the scenario's list, or its own strategy and every built-in one.
pub fn compare_variants(
    scenario: &Scenario,
    names: Option<&[String]>,
) -> Result<Vec<(String, StrategySpec)>, UnknownStrategy> {
    match names {
        Some(names) => names
            .iter()
            .map(|n| {
                scenario
                    .compare
                    .iter()
                    .find(|v| v.name == *n)
                    .map(|v| (v.name.clone(), v.strategy.clone()))
                    .or_else(|| (scenario.strategy.name() == n).then(|| (n.clone(), scenario.strategy.clone())))
                    .or_else(|| builtin_strategy(n).map(|s| (n.clone(), s)))
                    .ok_or_else(|| {
                        let mut known: Vec<String> = scenario.compare.iter().map(|v| v.name.clone()).collect();
                        known.extend(BUILTIN_STRATEGIES.iter().map(|s| s.to_string()));
                        UnknownStrategy { name: n.clone(), known }
                    })
            })
            .collect(),
        None if !scenario.compare.is_empty() => {
            Ok(scenario.compare.iter().map(|v| (v.name.clone(), v.strategy.clone())).collect())
        }
        None => {
            let mut v = vec![(scenario.strategy.name().to_string(), scenario.strategy.clone())];
            for n in BUILTIN_STRATEGIES.iter().skip(1) {
                if *n != scenario.strategy.name()
                    && let Some(s) = builtin_strategy(n)
                {
                    v.push((n.to_string(), s));
                }
            }
            Ok(v)
        }
    }
}

/// Runs every variant on the same seed against one shared baseline. Each summary's
/// `strategy` is the variant's name.
pub fn compare(scenario: &Scenario, variants: &[(String, StrategySpec)]) -> Vec<(String, RunResult)> {
    let (b, tape) = finished_baseline(scenario);
    variants
        .iter()
        .map(|(name, strategy)| {
            let mut s = scenario.clone();
            s.strategy = strategy.clone();
            let mut r = run_against_with(&s, b.clone(), tape.clone());
            r.summary.strategy = name.clone();
            (name.clone(), r)
        })
        .collect()
}
