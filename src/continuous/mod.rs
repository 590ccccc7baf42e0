//! Continuous deployment: a stream of releases over a simulated week or month, each
//! rolled out with a strategy, and the DORA metrics of each strategy.
//!
//! A scenario with a `continuous` section (see [`crate::scenario::continuous::ContinuousSpec`]) describes the
//! stream; its `traffic`, `service`, `fleet`, `router`, `slo` and `cost` are the template
//! of every rollout, and its `duration` is the **longest window simulated per release**
//! (rollout, and if the release is bad, the wait for the alert, the response and the
//! rollback; see [`window`]).
//!
//! How time is spent, per strategy:
//!
//! 1. Releases are committed as a Poisson process over `period` ([`stream::plan`]),
//!    each ready `pipeline` after its commit.
//! 2. The pipeline deploys **one release at a time, in commit order**: a release ready
//!    while the previous one's window is still open (rollout in progress, or an incident
//!    it caused not yet restored — a deploy freeze) waits for it. Releases are not
//!    batched together.
//! 3. Each release's window runs in the engine from its rollout start, with a fresh
//!    fleet of the running version (the previous release, fully live or rolled back to).
//!    Window `i` uses the same seed for every strategy (keyed by `i`), so all strategies
//!    see the same traffic and luck in it.
//! 4. The quiet time between windows is not simulated: there the fleet is steady, its
//!    cost is `replicas × hourly price + fixed hourly` per hour (exact), and its failures
//!    are not caused by a release, so they belong to no metric here.
//!
//! Every release committed in the period is deployed, even if that happens after the
//! period's end; the report's `horizon_s` says how far that went.
//!
//! Modelling limits, stated where they are made: a person's restore of a release that is
//! already fully live is complete at `alert + response` (the engine cannot roll back a
//! finished rollout); the alert watches the error ratio only, so a latency-only defect is
//! noticed at the window's end; user ids are the same population in every window, but
//! which users make requests (and their segments) is drawn per window.

pub mod dora;
pub mod stream;
pub mod summary;
pub mod window;

use rayon::prelude::*;
use serde::Serialize;

pub use dora::{DoraReport, ReleaseRecord};

use crate::des::time::Time;
use crate::metrics::UserSet;
use crate::scenario::continuous::ContinuousSpec;
use crate::scenario::{Scenario, StrategySpec};

/// The result of `deploysim run` on a continuous scenario.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ContinuousReport {
    pub scenario: String,
    pub seed: u64,
    pub period_s: f64,
    /// Releases in the stream (the same for every strategy).
    pub releases: u64,
    pub bad_releases: u64,
    pub strategies: Vec<DoraReport>,
}

/// The strategies a continuous scenario compares: its own (unless `None`), then every
/// entry of its `compare` list.
pub fn variants(scenario: &Scenario) -> Vec<(String, StrategySpec)> {
    let mut v = Vec::new();
    if !matches!(scenario.strategy, StrategySpec::None) {
        v.push((scenario.strategy.name().to_string(), scenario.strategy.clone()));
    }
    v.extend(scenario.compare.iter().map(|c| (c.name.clone(), c.strategy.clone())));
    v
}

/// Why a scenario's release stream cannot run (a loaded continuous scenario always can).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContinuousError {
    #[error("the scenario has no `continuous` section")]
    NoSection,
    #[error("a continuous scenario needs a strategy (or a `compare` list)")]
    NoStrategy,
}

/// Runs the stream with every strategy of [`variants`] (in parallel; the result does not
/// depend on the number of threads). Errors if the scenario has no `continuous` section.
pub fn run(scenario: &Scenario) -> Result<ContinuousReport, ContinuousError> {
    run_summarised(scenario).map(|(r, _)| r)
}

/// [`run`], with each strategy's stream summary (see [`summary`]), in the order of the
/// report's strategies: the scenario's own first.
pub fn run_summarised(
    scenario: &Scenario,
) -> Result<(ContinuousReport, Vec<crate::metrics::Summary>), ContinuousError> {
    let spec = scenario.continuous.as_ref().ok_or(ContinuousError::NoSection)?;
    let variants = variants(scenario);
    if variants.is_empty() {
        return Err(ContinuousError::NoStrategy);
    }
    let plan = stream::plan(scenario.seed, spec);
    let (strategies, summaries): (Vec<_>, Vec<_>) = variants
        .par_iter()
        .map(|(name, strategy)| run_strategy_summarised(scenario, spec, &plan, name, strategy))
        .collect::<Vec<_>>()
        .into_iter()
        .unzip();
    let report = ContinuousReport {
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        period_s: spec.period.as_secs_f64(),
        releases: plan.len() as u64,
        bad_releases: plan.iter().filter(|r| r.bad).count() as u64,
        strategies,
    };
    Ok((report, summaries))
}

/// Runs the whole stream with one strategy.
pub fn run_strategy(
    scenario: &Scenario,
    spec: &ContinuousSpec,
    plan: &[stream::PlannedRelease],
    name: &str,
    strategy: &StrategySpec,
) -> DoraReport {
    run_strategy_summarised(scenario, spec, plan, name, strategy).0
}

/// [`run_strategy`], with the stream's summary (see [`summary`]).
pub fn run_strategy_summarised(
    scenario: &Scenario,
    spec: &ContinuousSpec,
    plan: &[stream::PlannedRelease],
    name: &str,
    strategy: &StrategySpec,
) -> (DoraReport, crate::metrics::Summary) {
    let users = scenario.traffic.users.0 as u32;
    let mut stream_summary = summary::StreamSummary::new(users);
    let mut hurt = UserSet::new(users);
    let nobody = UserSet::new(users);
    let mut free_at = Time::ZERO;
    let mut records = Vec::with_capacity(plan.len());
    let (mut simulated, mut window_cost, mut baseline_cost) = (Time::ZERO, 0.0, 0.0);
    let (mut requests, mut false_alerts) = (0u64, 0u64);
    let secs = |t: Time| t.as_secs_f64();
    for release in plan {
        let start = release.ready().max(free_at);
        let w = window::run_window(scenario, spec, strategy, release, start);
        free_at = start + w.length;
        simulated += w.length;
        window_cost += w.cost;
        baseline_cost += w.baseline_cost;
        requests += w.requests;
        if w.alert_at.is_some() && !release.bad {
            false_alerts += 1;
        }
        hurt.insert_difference(&w.hurt, &nobody);
        stream_summary.add(&w);
        let live = w.live_at.map(|t| start + t);
        records.push(ReleaseRecord {
            index: release.index,
            commit_s: secs(release.commit),
            ready_s: secs(release.ready()),
            start_s: secs(start),
            bad: release.bad,
            outcome: w.outcome,
            live_s: live.map(secs),
            lead_time_s: live.map(|l| secs(l.saturating_sub(release.commit))),
            alert_s: w.alert_at.map(|t| secs(start + t)),
            failure_start_s: w.failure_start.map(|t| secs(start + t)),
            restored_s: w.restored_at.map(|t| secs(start + t)),
            restored_by: w.restored_by,
            blast_radius_users: w.hurt_count,
            excess_failed_requests: w.excess_failed,
            end_s: secs(free_at),
        });
    }
    let period = spec.period.time();
    let horizon = period.max(free_at);
    let quiet_hours = secs(horizon.saturating_sub(simulated)) / 3600.0;
    let steady_hourly =
        scenario.fleet.replicas.0 as f64 * scenario.fleet.instance.hourly_cost.0 + scenario.cost.fixed_hourly.0;
    let totals = dora::Totals {
        period_s: secs(period),
        blast_radius_users: hurt.len(),
        users: users as u64,
        horizon_s: secs(horizon),
        simulated_s: secs(simulated),
        cost: window_cost + steady_hourly * quiet_hours,
        extra_cost: window_cost - baseline_cost,
        window_requests: requests,
        false_alerts,
    };
    let summary = stream_summary.finish(scenario, name, &totals);
    (DoraReport::compute(name, records, totals), summary)
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_string(), f)
}

/// A duration in seconds for people: `42s`, `12.5m`, `3.2h`.
fn human(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0}s")
    } else if s < 2.0 * 3600.0 {
        format!("{:.1}m", s / 60.0)
    } else if s < 2.0 * 86_400.0 {
        format!("{:.1}h", s / 3600.0)
    } else {
        format!("{:.1}d", s / 86_400.0)
    }
}

/// The report as a table: one row per metric, one column per strategy.
pub fn table(r: &ContinuousReport) -> String {
    type Row = (&'static str, fn(&DoraReport) -> String);
    let rows: Vec<Row> = vec![
        ("deployments", |d| format!("{} of {}", d.deployments, d.releases)),
        ("deployment frequency", |d| format!("{:.2} /day", d.deployment_frequency_per_day)),
        ("lead time median", |d| opt(d.lead_time_median_s, human)),
        ("lead time p90", |d| opt(d.lead_time_p90_s, human)),
        ("change failure rate", |d| {
            let pct = |v: Option<f64>| opt(v, |x| format!("{:.1} %", 100.0 * x));
            format!("{} ({} failed)", pct(d.change_failure_rate), d.failed_deployments)
        }),
        ("rolled back by strategy", |d| format!("{} ({} bad)", d.rolled_back_by_strategy, d.bad_caught_by_strategy)),
        ("releases hurting users", |d| {
            let pct = |v: Option<f64>| opt(v, |x| format!("{:.1} %", 100.0 * x));
            format!("{} ({})", d.harmful_releases, pct(d.harmful_release_rate))
        }),
        ("incidents (by a person)", |d| format!("{} ({})", d.incidents, d.incidents_restored_by_person)),
        ("time to restore median", |d| opt(d.time_to_restore_median_s, human)),
        ("time to restore mean", |d| opt(d.time_to_restore_mean_s, human)),
        ("blast radius", |d| format!("{} users ({:.2} %)", d.blast_radius_users, d.blast_radius_pct)),
        ("failed requests", |d| d.failed_requests.to_string()),
        ("timed out / false alerts", |d| format!("{} / {}", d.timed_out, d.false_alerts)),
        ("queued (max wait)", |d| format!("{} ({})", d.queued_releases, human(d.max_queue_wait_s))),
        ("cost (extra)", |d| format!("{:.2} ({:+.2})", d.cost, d.extra_cost)),
        ("horizon (simulated)", |d| format!("{} ({})", human(d.horizon_s), human(d.simulated_s))),
    ];
    let mut cols: Vec<Vec<String>> =
        vec![std::iter::once(String::new()).chain(rows.iter().map(|r| r.0.into())).collect()];
    for d in &r.strategies {
        cols.push(std::iter::once(d.strategy.clone()).chain(rows.iter().map(|row| (row.1)(d))).collect());
    }
    let widths: Vec<usize> = cols.iter().map(|c| c.iter().map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = format!(
        "{} (seed {}): {} releases over {}, {} bad; every strategy sees the same stream\n",
        r.scenario,
        r.seed,
        r.releases,
        human(r.period_s),
        r.bad_releases
    );
    for i in 0..=rows.len() {
        let mut line = String::new();
        for (c, w) in cols.iter().zip(&widths) {
            let cell = &c[i];
            let pad = w - cell.chars().count();
            if line.is_empty() {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The report as one line of JSON.
pub fn json(r: &ContinuousReport) -> String {
    serde_json::to_string(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
