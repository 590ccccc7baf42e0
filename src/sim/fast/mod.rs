//! The speed machinery of the instance engine, behind one boundary: nothing here changes
//! what a run does, only how fast it gets there (each part is tested to give the same
//! run as the general path).
//!
//! - `completions.rs`: service completions that only count an outcome, kept in their
//!   instance's list instead of the event queue.
//! - `quiet.rs`: arrivals started and kept in one loop while nothing else can happen.
//! - `tape.rs`: a seed's arrivals, users and base service times drawn once and shared by
//!   the runs of that seed (used by the crate root and `batch`).
//! - `converge.rs`: whether a run will from now on do exactly what another does (a batch's
//!   carried baseline).

pub(super) mod completions;
pub(super) mod converge;
pub(super) mod quiet;
pub mod tape;
