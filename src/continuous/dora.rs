//! DORA metrics of one strategy over a release stream.
//!
//! Definitions follow DORA's "four keys" (dora.dev, "DORA's software delivery metrics:
//! the four keys", https://dora.dev/guides/dora-metrics-four-keys/; Forsgren, Humble &
//! Kim, *Accelerate*, 2018, ch. 2), made precise for the simulation:
//!
//! - **Deployment frequency** — how often changes are deployed to production: releases
//!   the strategy made fully live (promoted), per day of the period. A bad release that
//!   went fully live counts: it *was* deployed (and counts as a failure below).
//! - **Lead time for changes** — commit to running in production: commit → the moment
//!   the strategy promoted the release (fully live), over the deployed releases; median
//!   and 90th percentile (type 7 interpolation). It includes the pipeline delay, the
//!   wait behind earlier releases and the rollout itself.
//! - **Change failure rate** — the share of deployments that caused a failure in
//!   production needing remediation (rollback or fix). Here: releases that needed a
//!   *person* to restore service (a bad release that went fully live, or a rollout a
//!   person had to abort) over the releases that went to production without the strategy
//!   stopping them (deployed + failed). A bad release the strategy's own analysis rolled
//!   back is *not* a failed deployment (it never went fully live and needed no one); it is
//!   reported separately (`rolled_back_by_strategy`), and the users it hurt are counted in
//!   `harmful_release_rate` — the share of rollouts that made at least one user's
//!   request fail — so partial exposure is never hidden.
//! - **Time to restore service** (DORA's "failed deployment recovery time") — failure
//!   start → service restored, over *incidents*: bad releases whose code served users,
//!   whoever ended them. Failure start is the first failure the release caused (a
//!   failed request or a crash; the rollout's start if it caused none); restored is the
//!   engine's recovery (no traffic on the new version, stable capacity back) after a
//!   rollback, or the moment a person's fix is complete.
//!
//! Plus the harm and cost over the period: users hurt (distinct users with a failed
//! request the no-release baseline did not have, over all windows), excess failed
//! requests, and cost — the engine's cost over the rollout windows plus the steady fleet
//! `replicas × hourly price + fixed hourly` over the quiet time between them, which is
//! exact because between windows the fleet is constant (random crashes from
//! `fleet.mtbf` are not simulated there).

use serde::Serialize;

use super::window::{ReleaseOutcome, RestoredBy};
use crate::metrics::stats::percentile;

/// One release as one strategy handled it; times in seconds from the period's start.
#[derive(Clone, Debug, Serialize)]
pub struct ReleaseRecord {
    pub index: u32,
    pub commit_s: f64,
    /// Commit + pipeline delay.
    pub ready_s: f64,
    /// Rollout start (after waiting for the previous release's window).
    pub start_s: f64,
    pub bad: bool,
    pub outcome: ReleaseOutcome,
    /// Fully live (promoted).
    pub live_s: Option<f64>,
    /// `live_s − commit_s`.
    pub lead_time_s: Option<f64>,
    pub alert_s: Option<f64>,
    /// Incidents only: first failure caused, and service restored.
    pub failure_start_s: Option<f64>,
    pub restored_s: Option<f64>,
    pub restored_by: Option<RestoredBy>,
    /// Users in this window with a failed request the baseline did not have.
    pub blast_radius_users: u64,
    pub excess_failed_requests: i64,
    /// End of the window (the next release may start from here).
    pub end_s: f64,
}

impl ReleaseRecord {
    pub fn time_to_restore_s(&self) -> Option<f64> {
        Some(self.restored_s? - self.failure_start_s?)
    }
}

/// DORA metrics and harm of one strategy over the stream. `None` where no release
/// qualifies (e.g. no incident, so no time to restore).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct DoraReport {
    pub strategy: String,
    pub period_days: f64,
    /// Releases committed in the period.
    pub releases: u64,
    pub bad_releases: u64,
    /// Releases made fully live.
    pub deployments: u64,
    /// `deployments / period_days`.
    pub deployment_frequency_per_day: f64,
    pub lead_time_median_s: Option<f64>,
    pub lead_time_p90_s: Option<f64>,
    pub lead_time_mean_s: Option<f64>,
    /// Releases that needed a person to restore service.
    pub failed_deployments: u64,
    /// `failed / (deployed + failed)`.
    pub change_failure_rate: Option<f64>,
    /// Rollouts the strategy rolled back on its own, and how many of them were bad.
    pub rolled_back_by_strategy: u64,
    pub bad_caught_by_strategy: u64,
    /// Releases not fully live at their window's end that hurt no one (abandoned).
    pub timed_out: u64,
    /// Rollouts that made at least one user's request fail (beyond the baseline).
    pub harmful_releases: u64,
    /// `harmful_releases / releases`.
    pub harmful_release_rate: Option<f64>,
    /// Bad releases whose code served users.
    pub incidents: u64,
    pub incidents_restored_by_person: u64,
    pub time_to_restore_median_s: Option<f64>,
    pub time_to_restore_mean_s: Option<f64>,
    pub time_to_restore_p90_s: Option<f64>,
    /// Alerts on good releases (nobody acts on them).
    pub false_alerts: u64,
    /// Releases that waited for an earlier one, and the longest wait.
    pub queued_releases: u64,
    pub max_queue_wait_s: f64,
    /// Distinct users with a failed request caused by a release, over the period.
    pub blast_radius_users: u64,
    /// As a percentage of the user population.
    pub blast_radius_pct: f64,
    /// Failed requests caused by releases (excess over the baseline, summed over windows).
    pub failed_requests: i64,
    /// Requests simulated in the rollout windows.
    pub window_requests: u64,
    /// From the period's start to the end of the last window (or the period's end).
    pub horizon_s: f64,
    /// Time simulated by the engine (the windows); the rest is quiet time.
    pub simulated_s: f64,
    /// Total cost over the horizon, and what the rollouts added to the steady fleet's.
    pub cost: f64,
    pub extra_cost: f64,
    /// Every release, in commit order.
    #[serde(skip)]
    pub release_records: Vec<ReleaseRecord>,
}

fn quantiles(mut v: Vec<f64>) -> (Option<f64>, Option<f64>, Option<f64>) {
    if v.is_empty() {
        return (None, None, None);
    }
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (Some(percentile(&v, 0.5)), Some(percentile(&v, 0.9)), Some(mean))
}

/// Totals a strategy's run needs besides its release records.
pub struct Totals {
    pub period_s: f64,
    pub blast_radius_users: u64,
    pub users: u64,
    pub horizon_s: f64,
    pub simulated_s: f64,
    pub cost: f64,
    pub extra_cost: f64,
    pub window_requests: u64,
    pub false_alerts: u64,
}

impl DoraReport {
    pub fn compute(strategy: &str, records: Vec<ReleaseRecord>, t: Totals) -> DoraReport {
        let count = |f: &dyn Fn(&ReleaseRecord) -> bool| records.iter().filter(|r| f(r)).count() as u64;
        let days = t.period_s / 86_400.0;
        let releases = records.len() as u64;
        let deployments = count(&|r| r.live_s.is_some());
        let deployed = count(&|r| r.outcome == ReleaseOutcome::Deployed);
        let failed = count(&|r| r.outcome == ReleaseOutcome::Failed);
        let rolled_back = count(&|r| r.outcome == ReleaseOutcome::RolledBackByStrategy);
        let harmful = count(&|r| r.blast_radius_users > 0);
        let incidents = count(&|r| r.restored_s.is_some());
        let (lt50, lt90, ltm) = quantiles(records.iter().filter_map(|r| r.lead_time_s).collect());
        let (tr50, tr90, trm) = quantiles(records.iter().filter_map(ReleaseRecord::time_to_restore_s).collect());
        let waits: Vec<f64> = records.iter().map(|r| r.start_s - r.ready_s).collect();
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        DoraReport {
            strategy: strategy.to_string(),
            period_days: days,
            releases,
            bad_releases: count(&|r| r.bad),
            deployments,
            deployment_frequency_per_day: deployments as f64 / days,
            lead_time_median_s: lt50,
            lead_time_p90_s: lt90,
            lead_time_mean_s: ltm,
            failed_deployments: failed,
            change_failure_rate: ratio(failed, deployed + failed),
            rolled_back_by_strategy: rolled_back,
            bad_caught_by_strategy: count(&|r| r.bad && r.outcome == ReleaseOutcome::RolledBackByStrategy),
            timed_out: count(&|r| r.outcome == ReleaseOutcome::TimedOut),
            harmful_releases: harmful,
            harmful_release_rate: ratio(harmful, releases),
            incidents,
            incidents_restored_by_person: count(&|r| r.restored_by == Some(RestoredBy::Person)),
            time_to_restore_median_s: tr50,
            time_to_restore_mean_s: trm,
            time_to_restore_p90_s: tr90,
            false_alerts: t.false_alerts,
            queued_releases: waits.iter().filter(|&&w| w > 0.0).count() as u64,
            max_queue_wait_s: waits.iter().copied().fold(0.0, f64::max),
            blast_radius_users: t.blast_radius_users,
            blast_radius_pct: if t.users > 0 { 100.0 * t.blast_radius_users as f64 / t.users as f64 } else { 0.0 },
            failed_requests: records.iter().map(|r| r.excess_failed_requests).sum(),
            window_requests: t.window_requests,
            horizon_s: t.horizon_s,
            simulated_s: t.simulated_s,
            cost: t.cost,
            extra_cost: t.extra_cost,
            release_records: records,
        }
    }
}
