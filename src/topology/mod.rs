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
    let t = scenario.topology.as_ref().ok_or(TopologyError::NoSection)?;
    Ok(engine::Engine::new(scenario, t)?.run())
}
