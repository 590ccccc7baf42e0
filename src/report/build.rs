//! Builds the charts of a report from runs and batch results.

use super::ReportError;
use super::charts::{self, Chart};
use crate::batch::{SeedResult, StrategyStats};
use crate::metrics::SecondRecord;
use crate::sim::Simulation;

fn minutes(r: &SecondRecord) -> f64 {
    r.t as f64 / 60.0
}

fn chart(name: &str, title: &str, svg: Result<String, ReportError>) -> Result<Chart, ReportError> {
    Ok(Chart { name: name.into(), title: title.into(), svg: svg? })
}

/// Per-second charts of one or more runs (one line per run and measure).
pub fn run_charts(runs: &[(String, &Simulation)]) -> Result<Vec<Chart>, ReportError> {
    let Some((_, first)) = runs.first() else { return Ok(Vec::new()) };
    let series: Vec<(String, &[SecondRecord])> =
        runs.iter().map(|(name, sim)| (name.clone(), sim.metrics().series.as_slice())).collect();
    series_charts(first.scenario().slo.target.0, &series)
}

/// Per-second charts of the series of one or more runs of any engine, against the SLO
/// target `slo_target`.
pub fn series_charts(slo_target: f64, runs: &[(String, &[SecondRecord])]) -> Result<Vec<Chart>, ReportError> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let slo = (1.0 - slo_target) * 100.0;
    let each = |f: &dyn Fn(&SecondRecord) -> Option<f64>| -> Vec<(String, Vec<(f64, f64)>)> {
        runs.iter()
            .map(|(name, series)| (name.clone(), series.iter().filter_map(|r| f(r).map(|y| (minutes(r), y))).collect()))
            .collect()
    };
    let mut traffic = Vec::new();
    for (name, series) in runs {
        let per = |p: usize| {
            series
                .iter()
                .map(|r| (minutes(r), (r.success[p] + r.error[p] + r.timeout[p] + r.rejected[p]) as f64))
                .collect()
        };
        let prefix = if runs.len() > 1 { format!("{name}: ") } else { String::new() };
        traffic.push((format!("{prefix}stable"), per(0)));
        traffic.push((format!("{prefix}new"), per(1)));
    }
    Ok(vec![
        chart(
            "traffic",
            "Requests per second by version",
            charts::lines("Requests per second by version", "minutes", "requests / s", &traffic, None),
        )?,
        chart(
            "errors",
            "Failed requests against the SLO",
            charts::lines(
                "Failed requests (%)",
                "minutes",
                "failed %",
                &each(&|r| Some(r.failed_pct())),
                Some(("SLO allowance", slo)),
            ),
        )?,
        chart(
            "p99",
            "p99 latency",
            charts::lines("p99 latency", "minutes", "ms", &each(&|r| r.latency_p99_ms.map(f64::from)), None),
        )?,
        chart(
            "ready",
            "Ready instances",
            charts::lines(
                "Ready instances (all pools)",
                "minutes",
                "instances",
                &each(&|r| Some(r.ready.iter().map(|&x| x as f64).sum())),
                None,
            ),
        )?,
        chart(
            "cost",
            "Cumulative cost",
            charts::lines("Cumulative cost", "minutes", "cost", &each(&|r| Some(r.cost)), None),
        )?,
    ])
}

/// Distributions across seeds of blast radius, downtime and cost, per strategy.
pub fn batch_charts(results: &[SeedResult], strategies: &[String], point: usize) -> Result<Vec<Chart>, ReportError> {
    let groups = |f: fn(&crate::metrics::Summary) -> f64| -> Vec<(String, Vec<f64>)> {
        strategies
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.clone(),
                    results.iter().filter(|r| r.point == point && r.strategy == i).map(|r| f(&r.summary)).collect(),
                )
            })
            .collect()
    };
    Ok(vec![
        chart(
            "dist_blast_radius",
            "Blast radius across seeds",
            charts::histograms("Blast radius across seeds", "users", &groups(|s| s.blast_radius_users as f64)),
        )?,
        chart(
            "dist_downtime",
            "Downtime across seeds",
            charts::histograms("Downtime across seeds", "seconds", &groups(|s| s.downtime_s as f64)),
        )?,
        chart("dist_cost", "Cost across seeds", charts::histograms("Cost across seeds", "cost", &groups(|s| s.cost)))?,
    ])
}

/// Sweep curves: the mean of a few metrics over the first swept parameter, with 95 %
/// confidence bands, per strategy. `xs` are the parameter's values (numeric) per point;
/// `stats[point]` the statistics at that point.
pub fn sweep_charts(axis: &str, xs: &[f64], stats: &[Vec<StrategyStats>]) -> Result<Vec<Chart>, ReportError> {
    let mut out = Vec::new();
    let Some(first) = stats.first() else { return Ok(out) };
    for metric in ["blast_radius_users", "downtime_s", "time_to_detect_s", "cost"] {
        let series: Vec<(String, Vec<charts::BandPoint>)> = first
            .iter()
            .enumerate()
            .map(|(si, s)| {
                let pts = xs
                    .iter()
                    .zip(stats)
                    .filter_map(|(&x, point)| {
                        point[si].metrics.iter().find(|m| m.0 == metric).map(|(_, m)| (x, m.mean, m.ci_low, m.ci_high))
                    })
                    .collect();
                (s.strategy.clone(), pts)
            })
            .collect();
        if series.iter().all(|s| s.1.is_empty()) {
            continue;
        }
        let title = format!("{metric} over {axis}");
        out.push(chart(&format!("sweep_{metric}"), &title, charts::bands(&title, axis, metric, &series))?);
    }
    Ok(out)
}
