//! The run summary: the metric definitions of the design, computed from a finished
//! run and its no-rollout baseline on the same seed.

use serde::{Deserialize, Serialize};

use super::ab::AbReport;
use super::{Outcome, Recorder, SecondRecord, UserSet};
use crate::des::time::Time;
use crate::scenario::Scenario;

/// What a run recorded, as the engine hands it to the metrics: the summary is computed
/// from this alone, never from the engine's state.
#[derive(Clone, Copy, Debug)]
pub struct RunRecord<'a> {
    pub scenario: &'a Scenario,
    pub metrics: &'a Recorder,
    pub rollout: RolloutRecord<'a>,
    /// When the new version first failed a request (or crashed an instance).
    pub first_new_harm: Option<Time>,
    /// The simulated time the run has reached.
    pub end: Time,
    pub cost: f64,
    pub peak_instances: usize,
    /// The integral of requests in the system over time, request·seconds.
    pub request_seconds: f64,
}

/// What the rollout recorded: its outcome and the times of its decisions.
#[derive(Clone, Copy, Debug)]
pub struct RolloutRecord<'a> {
    /// The outcome's label (`promoted`, `rolled_back`, ...).
    pub outcome: &'static str,
    pub started: Option<Time>,
    pub finished: Option<Time>,
    pub abort_at: Option<Time>,
    pub abort_reason: Option<&'a str>,
    pub recovered_at: Option<Time>,
    pub ab: Option<&'a AbReport>,
}

/// Everything `run --json` prints. Times are seconds; `None` prints as `null` where a
/// metric does not apply.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema, Deserialize, PartialEq)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub strategy: String,
    pub outcome: String,
    /// Requests that arrived (each ended exactly once).
    pub requests: u64,
    /// Errors, timeouts and rejections.
    pub failed_requests: u64,
    /// Seconds with fewer than 50 % successful requests, or with arrivals and no ready instance.
    pub downtime_s: u64,
    /// Seconds whose trailing SLO window had a success ratio below the target.
    pub slo_violation_s: u64,
    /// Distinct users served by the new version at least once.
    pub exposed_users: u64,
    /// Distinct users with a failed request who had none in the baseline.
    pub blast_radius_users: u64,
    /// Blast radius as a percentage of the users who made a request.
    pub blast_radius_pct: f64,
    /// Failed requests minus the baseline's (negative when the rollout failed fewer).
    pub excess_failed_requests: i64,
    /// Excess failed requests over the allowed failures `(1 − SLO) × requests`.
    pub error_budget_burn: Option<f64>,
    /// First failure caused by the new version (failed request or crash) → abort decision.
    pub time_to_detect_s: Option<f64>,
    /// Abort decision → no traffic on the new version and stable capacity restored.
    pub time_to_recover_s: Option<f64>,
    /// Rollout start → promoted or rolled back.
    pub rollout_duration_s: Option<f64>,
    pub cost: f64,
    /// Cost minus the baseline's.
    pub extra_cost: f64,
    pub peak_instances: u64,
    /// Users served by both versions within one session.
    pub mixed_version_users: u64,
    /// Latency of requests answered by an instance (success or error), milliseconds.
    pub latency_mean_ms: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub successes: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub rejected: u64,
    /// Users who made at least one request.
    pub active_users: u64,
    pub duration_s: f64,
    /// Time-average number of requests in the system (L in Little's law).
    pub mean_in_system: f64,
    /// Requests per second over the run (λ).
    pub throughput_rps: f64,
    /// Mirrored copies served by the new version, and those that failed there.
    pub shadow_requests: u64,
    pub shadow_failed: u64,
    /// Why the rollout was aborted, if it was.
    pub abort_reason: Option<String>,
    /// The A/B experiment's report, for `AbTest` runs.
    pub ab: Option<super::ab::AbReport>,
    /// Per service: a single-service scenario has one, named `service`; a multi-service
    /// one has each of its services, the front first as the topology lists them.
    pub services: Vec<ServiceSummary>,
}

/// One service's figures in a run.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema, Deserialize, PartialEq)]
pub struct ServiceSummary {
    pub name: String,
    /// The version it runs at the end.
    pub version: String,
    /// Requests (for a called service: call attempts, retries included) that reached it.
    pub requests: u64,
    /// Those it failed, whatever the cause.
    pub failed_requests: u64,
    /// The failures by cause (`error`, `timeout`, `rejected`; for a called service also
    /// `down`, `contract`, `schema`, `db`, `dependency`); causes with none are left out.
    pub failed_by_cause: std::collections::BTreeMap<String, u64>,
    /// What it cost over the run: its instances' time, or a function's requests and
    /// billed duration.
    pub cost: f64,
    /// Execution environments a function-backed service started; 0 for instances.
    pub cold_starts: u64,
    /// Mean time of a request (a call, for a called service) at it, milliseconds: for one
    /// service the run's mean latency; in a graph a visit's own work, query and calls.
    pub latency_mean_ms: Option<f64>,
    /// Time-average number of requests at it (L of Little's law for the service).
    pub mean_in_system: f64,
}

/// Seconds in which fewer than half of the requests that ended succeeded, or in which
/// requests arrived while no instance was ready.
pub fn downtime_seconds(series: &[SecondRecord]) -> u64 {
    series
        .iter()
        .filter(|s| {
            let ended = s.ended();
            let bad_ratio = ended > 0 && (s.succeeded() as f64) < 0.5 * ended as f64;
            let no_backend = s.arrivals > 0 && s.ready.iter().all(|&r| r == 0);
            bad_ratio || no_backend
        })
        .count() as u64
}

/// Seconds `s` whose window `(s − w, s]` had requests and a success ratio below `target`.
pub fn slo_violation_seconds(series: &[SecondRecord], window: usize, target: f64) -> u64 {
    let w = window.max(1);
    let (mut ended, mut ok) = (0u64, 0u64);
    let mut count = 0;
    for (i, s) in series.iter().enumerate() {
        ended += s.ended();
        ok += s.succeeded();
        if i >= w {
            ended -= series[i - w].ended();
            ok -= series[i - w].succeeded();
        }
        if ended > 0 && (ok as f64) < target * ended as f64 {
            count += 1;
        }
    }
    count
}

/// What a summary reads of the baseline run: its failed requests, the users who had
/// one, and its cost.
#[derive(Clone, Debug)]
pub struct BaselineTotals {
    pub failed: u64,
    pub failed_users: UserSet,
    pub cost: f64,
}

impl BaselineTotals {
    pub fn of(baseline: &RunRecord) -> BaselineTotals {
        let b = baseline.metrics;
        BaselineTotals { failed: b.failed(), failed_users: b.failed_users.clone(), cost: baseline.cost }
    }
}

impl Summary {
    /// Summarises `run` against `baseline` (the same scenario and seed with no rollout).
    pub fn compute(run: &RunRecord, baseline: &RunRecord) -> Summary {
        Summary::against(run, &BaselineTotals::of(baseline))
    }

    /// Summarises `run` against what its baseline totalled.
    pub fn against(run: &RunRecord, b: &BaselineTotals) -> Summary {
        let s = run.scenario;
        let m = run.metrics;
        let requests = m.arrivals;
        let failed = m.failed();
        let active = m.active_users.len();
        let blast = m.failed_users.count_minus(&b.failed_users);
        let excess = failed as i64 - b.failed as i64;
        let allowed = (1.0 - s.slo.target.0) * requests as f64;
        let r = &run.rollout;
        let secs = |t: Time| t.as_secs_f64();
        let detect = match (r.abort_at, run.first_new_harm) {
            (Some(a), Some(h)) => Some(secs(a.saturating_sub(h))),
            _ => None,
        };
        let recover = match (r.abort_at, r.recovered_at) {
            (Some(a), Some(rec)) => Some(secs(rec.saturating_sub(a))),
            _ => None,
        };
        let duration = run.end.as_secs_f64();
        let window = s.slo.window.time().whole_secs() as usize;
        let ms = |v: Option<f64>| v.map(|x| x / 1e3);
        Summary {
            scenario: s.name.clone(),
            seed: s.seed,
            strategy: s.strategy.name().into(),
            outcome: r.outcome.into(),
            requests,
            failed_requests: failed,
            downtime_s: downtime_seconds(&m.series),
            slo_violation_s: slo_violation_seconds(&m.series, window, s.slo.target.0),
            exposed_users: m.exposed_users.len(),
            blast_radius_users: blast,
            blast_radius_pct: if active > 0 { 100.0 * blast as f64 / active as f64 } else { 0.0 },
            excess_failed_requests: excess,
            error_budget_burn: (allowed > 0.0).then(|| excess as f64 / allowed),
            time_to_detect_s: detect,
            time_to_recover_s: recover,
            rollout_duration_s: match (r.started, r.finished) {
                (Some(a), Some(f)) => Some(secs(f - a)),
                _ => None,
            },
            cost: run.cost,
            extra_cost: run.cost - b.cost,
            peak_instances: run.peak_instances as u64,
            mixed_version_users: m.mixed_users.len(),
            latency_mean_ms: ms(m.latency.mean()),
            latency_p50_ms: ms(m.latency.quantile(0.5)),
            latency_p99_ms: ms(m.latency.quantile(0.99)),
            successes: m.outcome_total(Outcome::Success),
            errors: m.outcome_total(Outcome::Error),
            timeouts: m.outcome_total(Outcome::Timeout),
            rejected: m.outcome_total(Outcome::Rejected),
            active_users: active,
            duration_s: duration,
            mean_in_system: run.request_seconds / duration,
            throughput_rps: requests as f64 / duration,
            shadow_requests: m.shadow,
            shadow_failed: m.shadow_failed,
            abort_reason: r.abort_reason.map(str::to_string),
            ab: r.ab.cloned(),
            services: vec![ServiceSummary {
                name: "service".into(),
                version: match (&s.release, r.outcome) {
                    (Some(rel), "promoted") => rel.version.clone(),
                    _ => s.fleet.version.clone(),
                },
                requests,
                failed_requests: failed,
                failed_by_cause: [
                    ("error", m.outcome_total(Outcome::Error)),
                    ("timeout", m.outcome_total(Outcome::Timeout)),
                    ("rejected", m.outcome_total(Outcome::Rejected)),
                ]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| (k.to_string(), n))
                .collect(),
                cost: run.cost,
                cold_starts: 0,
                latency_mean_ms: ms(m.latency.mean()),
                mean_in_system: run.request_seconds / duration,
            }],
        }
    }
}
