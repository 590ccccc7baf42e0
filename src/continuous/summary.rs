//! The summary of a whole release stream in the vocabulary of every run.
//!
//! A stream is many rollouts, each in its own simulated window against its own
//! no-rollout baseline (see [`super::window`]). Its summary adds up what adds up over
//! the windows — requests and their outcomes, downtime and SLO seconds, excess failures,
//! shadow traffic — takes unions of the user sets (active, exposed, failed beyond the
//! baseline, mixed-version), merges the latency histograms, and averages the per-rollout
//! times (detection, recovery, rollout duration) over the windows that have one. `cost`
//! and `extra_cost` are the stream's (simulated windows plus the steady fleet between
//! them); `duration_s` is the simulated time, so `throughput_rps` and `mean_in_system`
//! describe the windows. `outcome` is `stream`; each release's outcome is in the DORA
//! report.

use crate::metrics::{Histogram, ServiceSummary, Summary, UserSet};

use super::window::WindowResult;

/// Sums, unions and means over the windows of one strategy's stream.
pub struct StreamSummary {
    windows: Vec<Summary>,
    latency: Histogram,
    active: UserSet,
    exposed: UserSet,
    mixed: UserSet,
}

impl StreamSummary {
    pub fn new(users: u32) -> StreamSummary {
        StreamSummary {
            windows: Vec::new(),
            latency: Histogram::new(),
            active: UserSet::new(users),
            exposed: UserSet::new(users),
            mixed: UserSet::new(users),
        }
    }

    pub fn add(&mut self, w: &WindowResult) {
        self.windows.push(w.summary.clone());
        self.latency.merge(&w.latency);
        self.active.insert_all(&w.active);
        self.exposed.insert_all(&w.exposed);
        self.mixed.insert_all(&w.mixed);
    }

    /// The stream's summary; `blast_radius_users` (the union of the windows' users hurt
    /// beyond their baselines), `cost` and `extra_cost` come from the stream's totals.
    pub fn finish(self, scenario: &crate::scenario::Scenario, strategy: &str, totals: &super::dora::Totals) -> Summary {
        let w = &self.windows;
        let sum = |f: fn(&Summary) -> u64| w.iter().map(f).sum::<u64>();
        let mean = |f: fn(&Summary) -> Option<f64>| {
            let v: Vec<f64> = w.iter().filter_map(f).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let requests = sum(|s| s.requests);
        let failed = sum(|s| s.failed_requests);
        let excess: i64 = w.iter().map(|s| s.excess_failed_requests).sum();
        let duration: f64 = w.iter().map(|s| s.duration_s).sum();
        let in_system: f64 = w.iter().map(|s| s.mean_in_system * s.duration_s).sum();
        let active = self.active.len();
        let blast = totals.blast_radius_users;
        let allowed = (1.0 - scenario.slo.target.0) * requests as f64;
        let ms = |v: Option<f64>| v.map(|x| x / 1e3);
        let mut by_cause = std::collections::BTreeMap::new();
        for (k, n) in
            [("error", sum(|s| s.errors)), ("timeout", sum(|s| s.timeouts)), ("rejected", sum(|s| s.rejected))]
        {
            if n > 0 {
                by_cause.insert(k.to_string(), n);
            }
        }
        Summary {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            strategy: strategy.to_string(),
            outcome: "stream".into(),
            requests,
            failed_requests: failed,
            downtime_s: sum(|s| s.downtime_s),
            slo_violation_s: sum(|s| s.slo_violation_s),
            exposed_users: self.exposed.len(),
            blast_radius_users: blast,
            blast_radius_pct: if active > 0 { 100.0 * blast as f64 / active as f64 } else { 0.0 },
            excess_failed_requests: excess,
            error_budget_burn: (allowed > 0.0).then(|| excess as f64 / allowed),
            time_to_detect_s: mean(|s| s.time_to_detect_s),
            time_to_recover_s: mean(|s| s.time_to_recover_s),
            rollout_duration_s: mean(|s| s.rollout_duration_s),
            cost: totals.cost,
            extra_cost: totals.extra_cost,
            peak_instances: w.iter().map(|s| s.peak_instances).max().unwrap_or(0),
            mixed_version_users: self.mixed.len(),
            latency_mean_ms: ms(self.latency.mean()),
            latency_p50_ms: ms(self.latency.quantile(0.5)),
            latency_p99_ms: ms(self.latency.quantile(0.99)),
            successes: sum(|s| s.successes),
            errors: sum(|s| s.errors),
            timeouts: sum(|s| s.timeouts),
            rejected: sum(|s| s.rejected),
            active_users: active,
            duration_s: duration,
            mean_in_system: if duration > 0.0 { in_system / duration } else { 0.0 },
            throughput_rps: if duration > 0.0 { requests as f64 / duration } else { 0.0 },
            shadow_requests: sum(|s| s.shadow_requests),
            shadow_failed: sum(|s| s.shadow_failed),
            abort_reason: None,
            ab: None,
            services: vec![ServiceSummary {
                name: "service".into(),
                version: w.last().and_then(|s| s.services.first()).map(|s| s.version.clone()).unwrap_or_default(),
                requests,
                failed_requests: failed,
                failed_by_cause: by_cause,
                cost: totals.cost,
                cold_starts: 0,
                latency_mean_ms: ms(self.latency.mean()),
                mean_in_system: if duration > 0.0 { in_system / duration } else { 0.0 },
            }],
        }
    }
}
