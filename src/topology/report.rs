//! What a topology run measured, and its table.
//!
//! Definitions:
//! - `requests`, `failed`: user requests that entered the front service, and those whose
//!   answer was an error. Counted in the second they ended.
//! - `series`: per second, user requests and failed ones (the error rate is their ratio).
//! - `downtime_s`: seconds (within the scenario's duration) in which fewer than 50 % of the
//!   user requests that ended succeeded.
//! - `error_window_s`: from the first second with a failed user request to the end of the
//!   last one; `error_seconds`: seconds with at least one.
//! - `users_affected`: distinct users with at least one failed request.
//! - per service `attempts`: calls that arrived at the service, retries included (user
//!   requests at the front service count too); `failed` by cause.
//! - per call edge: `calls` (first attempts), `attempts` (first attempts and retries),
//!   `retries`, `retries_denied` by the budget, `timeouts`, `failed_calls` (after retries),
//!   `contract_errors`.
//! - `plan_finished_s`: when the plan's last step (or the automatic rollback) ended.

use serde::Serialize;

/// Why a visit failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The service was down (a `Down` fault).
    Down,
    /// The caller's version requires an API this instance's version does not provide.
    Contract,
    /// The instance's queue was full.
    Rejected,
    /// The version's schema range does not match the database.
    Schema,
    /// The database queue was full.
    Db,
    /// Its own work failed (error rates).
    Error,
    /// A required call failed.
    Dependency,
    /// An attempt timed out (only on call edges, never a service's own failure).
    Timeout,
}

#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct ServiceStats {
    pub name: String,
    /// The version it was last moved to (or runs from the start).
    pub version: String,
    pub attempts: u64,
    pub ok: u64,
    pub failed: u64,
    pub down: u64,
    pub contract: u64,
    pub rejected: u64,
    pub schema: u64,
    pub db: u64,
    pub error: u64,
    pub dependency: u64,
    /// Execution environments it started (a function-backed service; 0 otherwise).
    pub cold_starts: u64,
    /// What it cost: its instances' time at the fleet's hourly price, or a function's
    /// requests and billed GB-seconds.
    pub cost: f64,
    /// Visits it worked on (attempts that took a slot or an environment), their mean
    /// time there (its own work, its query and its calls), and the time-average number of
    /// visits at it up to the scenario's end: Little's law per service.
    pub visits: u64,
    pub mean_visit_ms: Option<f64>,
    pub mean_in_service: f64,
}

impl ServiceStats {
    pub(crate) fn count(&mut self, c: Cause) {
        self.failed += 1;
        match c {
            Cause::Down => self.down += 1,
            Cause::Contract => self.contract += 1,
            Cause::Rejected => self.rejected += 1,
            Cause::Schema => self.schema += 1,
            Cause::Db => self.db += 1,
            Cause::Error => self.error += 1,
            Cause::Dependency | Cause::Timeout => self.dependency += 1,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct EdgeStats {
    pub from: String,
    pub to: String,
    pub calls: u64,
    pub attempts: u64,
    pub retries: u64,
    pub retries_denied: u64,
    pub timeouts: u64,
    pub failed_attempts: u64,
    pub failed_calls: u64,
    pub contract_errors: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SecondStats {
    pub requests: u64,
    pub failed: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(rename = "TopologyOutcome")]
pub enum Outcome {
    #[default]
    NoPlan,
    Running,
    Completed,
    RolledBack,
}

/// The result of a topology run.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
#[schemars(rename = "TopologyReport")]
pub struct Report {
    pub name: String,
    pub seed: u64,
    pub duration_s: f64,
    pub requests: u64,
    pub failed: u64,
    pub failure_ratio: f64,
    /// Mean time from arrival to answer of the successful user requests.
    pub mean_latency_ms: f64,
    pub downtime_s: u64,
    pub error_seconds: u64,
    pub error_window_s: Option<(u64, u64)>,
    pub users_affected: u64,
    pub outcome: Outcome,
    pub plan_finished_s: Option<f64>,
    pub rollback_s: Option<f64>,
    /// The schema level at the end.
    pub schema: Option<u32>,
    pub db_queries: u64,
    pub db_rejected: u64,
    /// When the last event ran (in-flight work finishes after the duration).
    pub finished_s: f64,
    pub services: Vec<ServiceStats>,
    pub calls: Vec<EdgeStats>,
    pub series: Vec<SecondStats>,
    pub log: Vec<(f64, String)>,
}

impl Report {
    pub fn service(&self, name: &str) -> Option<&ServiceStats> {
        self.services.iter().find(|s| s.name == name)
    }
    pub fn call(&self, from: &str, to: &str) -> Option<&EdgeStats> {
        self.calls.iter().find(|e| e.from == from && e.to == to)
    }
    pub fn contract_errors(&self) -> u64 {
        self.services.iter().map(|s| s.contract).sum()
    }
    pub fn schema_errors(&self) -> u64 {
        self.services.iter().map(|s| s.schema).sum()
    }

    /// One JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The table `deploysim run` prints.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let pct = |a: u64, b: u64| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
        let _ = writeln!(o, "{} (seed {}, topology)", self.name, self.seed);
        let _ = writeln!(o, "  user requests        {}", self.requests);
        let _ = writeln!(o, "  failed               {} ({:.2} %)", self.failed, pct(self.failed, self.requests));
        let _ = writeln!(o, "  users affected       {}", self.users_affected);
        let _ = writeln!(o, "  downtime             {} s (seconds with < 50 % success)", self.downtime_s);
        let window = match self.error_window_s {
            Some((a, b)) => format!("{a} s – {b} s ({} s with errors)", self.error_seconds),
            None => "none".into(),
        };
        let _ = writeln!(o, "  error window         {window}");
        let _ = writeln!(o, "  mean latency (ok)    {:.1} ms", self.mean_latency_ms);
        let outcome = match self.outcome {
            Outcome::NoPlan => "no plan",
            Outcome::Running => "still running at the end",
            Outcome::Completed => "completed",
            Outcome::RolledBack => "rolled back",
        };
        let _ = writeln!(o, "  plan                 {outcome}");
        if let Some(t) = self.plan_finished_s {
            let _ = writeln!(o, "  plan finished at     {t:.1} s");
        }
        if let Some(t) = self.rollback_s {
            let _ = writeln!(o, "  rollback at          {t:.1} s");
        }
        if let Some(s) = self.schema {
            let _ = writeln!(
                o,
                "  database             schema {s}, {} queries, {} rejected",
                self.db_queries, self.db_rejected
            );
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "  {:<14} {:<8} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "service", "version", "attempts", "failed", "down", "contract", "rejected", "schema", "db", "dep"
        );
        for s in &self.services {
            let _ = writeln!(
                o,
                "  {:<14} {:<8} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
                s.name, s.version, s.attempts, s.failed, s.down, s.contract, s.rejected, s.schema, s.db, s.dependency
            );
        }
        if !self.calls.is_empty() {
            let _ = writeln!(o);
            let _ = writeln!(
                o,
                "  {:<24} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8}",
                "call", "calls", "attempts", "retries", "denied", "timeouts", "failed"
            );
            for e in &self.calls {
                let _ = writeln!(
                    o,
                    "  {:<24} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8}",
                    format!("{} → {}", e.from, e.to),
                    e.calls,
                    e.attempts,
                    e.retries,
                    e.retries_denied,
                    e.timeouts,
                    e.failed_calls
                );
            }
        }
        if !self.log.is_empty() {
            let _ = writeln!(o);
            for (t, text) in &self.log {
                let _ = writeln!(o, "  {t:>8.1} s  {text}");
            }
        }
        o
    }
}
