//! Statistics over seeds: mean, median, p5, p95 and a 95 % confidence interval of the
//! mean per metric, and outcome probabilities, per strategy.

use serde::{Deserialize, Serialize};

use super::SeedResult;
use crate::metrics::Summary;
use crate::metrics::stats::percentile;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Statistics of one metric over the seeds where it applies.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema, Deserialize, PartialEq)]
pub struct MetricStats {
    /// Seeds where the metric applies (e.g. time to detect only where there was an abort).
    pub n: usize,
    pub mean: f64,
    pub median: f64,
    pub p5: f64,
    pub p95: f64,
    /// 95 % confidence interval of the mean (Student's t; equal to the mean when n < 2).
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Statistics of one strategy (at one sweep point).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema, Deserialize, PartialEq)]
pub struct StrategyStats {
    pub strategy: String,
    pub runs: usize,
    /// Share of runs per outcome (`promoted`, `rolled_back`, `stuck`, `running`, ...).
    pub outcomes: Vec<(String, f64)>,
    pub metrics: Vec<(String, MetricStats)>,
}

/// Reads one metric from a summary (`None` where it does not apply).
pub type MetricGetter = fn(&Summary) -> Option<f64>;

/// The metrics a batch reports, by name.
pub fn metric_getters() -> Vec<(&'static str, MetricGetter)> {
    vec![
        ("requests", |s| Some(s.requests as f64)),
        ("failed_requests", |s| Some(s.failed_requests as f64)),
        ("downtime_s", |s| Some(s.downtime_s as f64)),
        ("slo_violation_s", |s| Some(s.slo_violation_s as f64)),
        ("exposed_users", |s| Some(s.exposed_users as f64)),
        ("blast_radius_users", |s| Some(s.blast_radius_users as f64)),
        ("blast_radius_pct", |s| Some(s.blast_radius_pct)),
        ("excess_failed_requests", |s| Some(s.excess_failed_requests as f64)),
        ("error_budget_burn", |s| s.error_budget_burn),
        ("time_to_detect_s", |s| s.time_to_detect_s),
        ("time_to_recover_s", |s| s.time_to_recover_s),
        ("rollout_duration_s", |s| s.rollout_duration_s),
        ("cost", |s| Some(s.cost)),
        ("extra_cost", |s| Some(s.extra_cost)),
        ("peak_instances", |s| Some(s.peak_instances as f64)),
        ("mixed_version_users", |s| Some(s.mixed_version_users as f64)),
        ("latency_p99_ms", |s| s.latency_p99_ms),
    ]
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (infinite for df = 0).
pub fn t_975(df: usize) -> f64 {
    match StudentsT::new(0.0, 1.0, df as f64) {
        Ok(t) => t.inverse_cdf(0.975),
        Err(_) => f64::INFINITY,
    }
}

pub fn metric_stats(values: &[f64]) -> Option<MetricStats> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let half = if n >= 2 {
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        t_975(n - 1) * (var / n as f64).sqrt()
    } else {
        0.0
    };
    Some(MetricStats {
        n,
        mean,
        median: percentile(&v, 0.5),
        p5: percentile(&v, 0.05),
        p95: percentile(&v, 0.95),
        ci_low: mean - half,
        ci_high: mean + half,
    })
}

/// Aggregates sorted results of one point: one entry per strategy, in order.
pub fn aggregate(results: &[SeedResult], strategies: &[String], point: usize) -> Vec<StrategyStats> {
    strategies
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let runs: Vec<&Summary> =
                results.iter().filter(|r| r.point == point && r.strategy == i).map(|r| &r.summary).collect();
            let mut outcomes: Vec<(String, f64)> = Vec::new();
            for label in ["promoted", "rolled_back", "stuck", "running", "no_rollout", "pending"] {
                let k = runs.iter().filter(|s| s.outcome == label).count();
                if k > 0 {
                    outcomes.push((label.to_string(), k as f64 / runs.len() as f64));
                }
            }
            let metrics = metric_getters()
                .into_iter()
                .filter_map(|(m, get)| {
                    let values: Vec<f64> = runs.iter().filter_map(|s| get(s)).collect();
                    metric_stats(&values).map(|st| (m.to_string(), st))
                })
                .collect();
            StrategyStats { strategy: name.clone(), runs: runs.len(), outcomes, metrics }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Student's t table (any statistics text, six decimals): t_0.975 for df 1 to 20,
    /// 21, 30, 60 and 120; df = 0 has no finite quantile.
    #[test]
    fn t_quantiles_match_tables() {
        let table = [
            12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
            2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
        ];
        let more = [(21, 2.079_614), (30, 2.042_272), (60, 2.000_298), (120, 1.979_930)];
        for (df, t) in table.iter().enumerate().map(|(i, &t)| (i + 1, t)).chain(more) {
            assert!((t_975(df) - t).abs() < 1e-6, "df {df}: {} vs {t}", t_975(df));
        }
        assert_eq!(t_975(0), f64::INFINITY);
    }

    /// NumPy's default percentile of 1..=10: p5 = 1.45, median 5.5, p95 = 9.55.
    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((percentile(&v, 0.05) - 1.45).abs() < 1e-12);
        assert!((percentile(&v, 0.5) - 5.5).abs() < 1e-12);
        assert!((percentile(&v, 0.95) - 9.55).abs() < 1e-12);
    }
}
