//! A serverless fleet: one function's execution environments instead of instances,
//! behind a weighted alias that AWS CodeDeploy shifts from version 1 to version 2.
//!
//! A scenario with a `serverless` section is run by this engine instead of
//! [`crate::sim::Simulation`]. It reuses the scenario's `traffic` (arrivals and users,
//! `model::traffic`), `service.latency` (the execution-time distribution,
//! `model::service`), `service.error_rate` (version 1) and `release` (version 2, its
//! `at` and its `ErrorRate`, `LatencyFactor` and `SegmentErrors` defects), and the
//! engine's `Time`, event heap and keyed random streams. `fleet` only prices an
//! always-on fleet for comparison.
//!
//! - `spec.rs` — the file format: memory, concurrency limit, init distribution, idle
//!   timeout, prices, CodeDeploy deployment configuration and rollback alarm.
//! - `engine.rs` — the simulation and the [`ServerlessSummary`].
//! - `report.rs` — the table and JSON that `deploysim run` prints.

mod engine;
pub mod report;

pub use engine::{
    NoServerlessSection, Outcome, Recorded, RequestOutcome, SecondRow, ServerlessSummary, WeightChange, run,
    run_observed, run_recorded, run_summarised,
};
