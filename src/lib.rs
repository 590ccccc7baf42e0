//! deploysim: a deterministic discrete-event simulation of user traffic, instance
//! fleets, failures and cost while a new version rolls out, to measure blast radius,
//! downtime, detection time and cost of each deployment strategy.
//!
//! The core (`scenario`, `sim`, `model`, `strategy`, `metrics`) knows nothing of its
//! front ends. A front end builds a [`sim::Simulation`] from a [`scenario::Scenario`],
//! steps it, applies [`sim::Command`]s and reads its metrics; [`run`] does a whole run
//! with its no-rollout baseline and returns the [`metrics::Summary`].

pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod strategy;

use std::sync::Arc;

use scenario::{Scenario, StrategySpec};
use sim::Simulation;

/// A finished run and its baseline.
pub struct RunResult {
    pub run: Simulation,
    pub baseline: Simulation,
    pub summary: metrics::Summary,
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
    let mut run = Simulation::new(Arc::new(scenario.clone()));
    run.run_to_end();
    let baseline = if matches!(scenario.strategy, StrategySpec::None) {
        run.clone()
    } else {
        let mut b = Simulation::new(Arc::new(baseline_of(scenario)));
        b.run_to_end();
        b
    };
    let summary = metrics::Summary::compute(&run, &baseline);
    RunResult {
        run,
        baseline,
        summary,
    }
}
