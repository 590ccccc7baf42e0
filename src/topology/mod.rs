//! Multi-service topologies: a call graph of services with versioned API contracts, a
//! database with schema migrations, calls with timeouts, retries and retry budgets, and a
//! deployment plan (big bang or one service at a time in dependency order, optional
//! rollback).
//!
//! A scenario with a `topology` section is run by this module's engine
//! ([`engine::Engine`]); the single-service engine in [`crate::sim`] ignores the section.
//! It reuses the core's pieces: [`crate::des::time::Time`], the `(time, seq)` event queue,
//! keyed random streams, the arrival process and users of [`crate::model::traffic`] and
//! the latency distributions of [`crate::model::service`].
//!
//! Simplifications (each documented where it lives):
//! - A service's visit does its own work, then its database query, then its calls one
//!   after another (never in parallel).
//! - Instances never go away: a deployment switches each replica's version in place when
//!   its batch is ready (`boot` after the batch starts), like a surge-one rolling update
//!   whose new pod takes the old one's traffic; work in progress finishes under the version
//!   it started with.
//! - Instances are picked round-robin per service; there is no outlier ejection.
//! - Retry budgets count in tumbling windows (see [`crate::scenario::topology::RetryBudget`]) and are shared by
//!   all instances of the caller (one budget per call edge).
//! - Schema migrations are instant and are never rolled back by a code rollback.
//! - There is no user-facing timeout: users wait for the front service's answer.

pub mod engine;
pub mod report;

pub use report::Report;

use crate::metrics::Summary;
use crate::scenario::Scenario;

/// Why a topology cannot run (a loaded scenario's always can).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    #[error("the scenario has no `topology` section")]
    NoSection,
    /// A cross-field check fails at the dotted `field`.
    #[error("{field}: {message}")]
    Check { field: String, message: String },
}

/// Runs a scenario's topology to the end; `Err` if it has none or it does not check
/// (a scenario from [`crate::scenario::load_file`] always checks).
pub fn run(scenario: &Scenario) -> Result<Report, TopologyError> {
    Ok(run_finished(scenario)?.report)
}

/// [`run`], with what the run recorded for its summary.
pub fn run_finished(scenario: &Scenario) -> Result<engine::Finished, TopologyError> {
    finished(scenario, false)
}

fn finished(scenario: &Scenario, full: bool) -> Result<engine::Finished, TopologyError> {
    let t = scenario.topology.as_ref().ok_or(TopologyError::NoSection)?;
    let mut e = engine::Engine::new(scenario, t)?;
    if !full {
        e.keep_summary_only();
    }
    Ok(e.run())
}

/// The same scenario and seed with no rollout: the plan removed, faults kept.
pub fn baseline_of(scenario: &Scenario) -> Scenario {
    let mut b = scenario.clone();
    if let Some(t) = b.topology.as_mut() {
        t.plan = None;
    }
    b
}

/// Runs the scenario and its no-rollout baseline on the same seed, and summarises the
/// run against it in the vocabulary of every run (see [`crate::metrics::Summary`]).
pub fn run_summarised(scenario: &Scenario) -> Result<(Summary, Report), TopologyError> {
    summarised(scenario, false).map(|(s, f)| (s, f.report))
}

/// [`run_summarised`], with the run's per-second series in the vocabulary of every run
/// (latency quantiles included) in the returned run's recorder, for files.
pub fn run_recorded(scenario: &Scenario) -> Result<(Summary, engine::Finished), TopologyError> {
    summarised(scenario, true)
}

fn summarised(scenario: &Scenario, full: bool) -> Result<(Summary, engine::Finished), TopologyError> {
    let run = finished(scenario, full)?;
    let base_scenario = baseline_of(scenario);
    let has_plan = scenario.topology.as_ref().is_some_and(|t| t.plan.is_some());
    let summary = if !has_plan {
        Summary::compute(&run.record(scenario), &run.record(scenario))
    } else {
        let base = run_finished(&base_scenario)?;
        Summary::compute(&run.record(scenario), &base.record(&base_scenario))
    };
    let mut summary = summary;
    summary.strategy = plan_name(scenario).into();
    summary.services = run.report.services.iter().map(service_summary).collect();
    Ok((summary, run))
}

/// The name a topology's plan goes by in summaries: `canary` when its first deployment
/// is a canary, else that deployment's order.
pub fn plan_name(scenario: &Scenario) -> &'static str {
    use crate::scenario::topology::{Order, PlanStep, SwitchSpec};
    let plan = scenario.topology.as_ref().and_then(|t| t.plan.as_ref());
    let first = plan.and_then(|p| {
        p.steps.iter().find_map(|s| match s {
            PlanStep::Deploy(d) => Some((d.order, matches!(d.switch, SwitchSpec::Canary(_)))),
            _ => None,
        })
    });
    match (plan, first) {
        (None, _) => "none",
        (Some(_), Some((_, true))) => "canary",
        (Some(_), Some((Order::BigBang, false))) => "big-bang",
        (Some(_), Some((Order::OneAtATime, false))) => "one-at-a-time",
        (Some(_), None) => "plan",
    }
}

fn service_summary(s: &report::ServiceStats) -> crate::metrics::ServiceSummary {
    let causes = [
        ("down", s.down),
        ("contract", s.contract),
        ("rejected", s.rejected),
        ("schema", s.schema),
        ("db", s.db),
        ("error", s.error),
        ("dependency", s.dependency),
    ];
    crate::metrics::ServiceSummary {
        name: s.name.clone(),
        version: s.version.clone(),
        requests: s.attempts,
        failed_requests: s.failed,
        failed_by_cause: causes.into_iter().filter(|(_, n)| *n > 0).map(|(k, n)| (k.to_string(), n)).collect(),
        cost: s.cost,
        cold_starts: s.cold_starts,
        latency_mean_ms: s.mean_visit_ms,
        mean_in_system: s.mean_in_service,
    }
}
