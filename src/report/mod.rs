//! Output for people and machines: the summary table, JSON and the per-second CSV,
//! batch tables, charts (SVG, PNG), the HTML report, and the versioned `--json` documents
//! with their JSON Schemas (`schema.rs`).

pub mod build;
pub mod charts;
mod error;
pub mod html;
pub mod schema;

pub use error::ReportError;

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use crate::metrics::{SecondRecord, Summary};
use crate::strategy::LogEntry;

fn opt(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(x) => format!("{x:.3}{unit}"),
        None => "-".into(),
    }
}

/// A readable summary table.
pub fn summary_table(s: &Summary) -> String {
    let rows: Vec<(&str, String)> = vec![
        ("scenario", s.scenario.clone()),
        ("seed", s.seed.to_string()),
        ("strategy", s.strategy.clone()),
        ("outcome", s.outcome.clone()),
        ("requests", s.requests.to_string()),
        (
            "failed requests",
            format!("{} (errors {}, timeouts {}, rejected {})", s.failed_requests, s.errors, s.timeouts, s.rejected),
        ),
        ("excess failed requests", s.excess_failed_requests.to_string()),
        ("error budget burn", opt(s.error_budget_burn, "")),
        ("downtime", format!("{}s", s.downtime_s)),
        ("SLO violation", format!("{}s", s.slo_violation_s)),
        ("active users", s.active_users.to_string()),
        ("exposed users", s.exposed_users.to_string()),
        ("blast radius", format!("{} users ({:.3} %)", s.blast_radius_users, s.blast_radius_pct)),
        ("mixed-version users", s.mixed_version_users.to_string()),
        ("time to detect", opt(s.time_to_detect_s, "s")),
        ("time to recover", opt(s.time_to_recover_s, "s")),
        ("rollout duration", opt(s.rollout_duration_s, "s")),
        ("cost", format!("{:.4}", s.cost)),
        ("extra cost", format!("{:+.4}", s.extra_cost)),
        ("peak instances", s.peak_instances.to_string()),
        (
            "latency mean / p50 / p99",
            format!(
                "{} / {} / {}",
                opt(s.latency_mean_ms, "ms"),
                opt(s.latency_p50_ms, "ms"),
                opt(s.latency_p99_ms, "ms")
            ),
        ),
    ];
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let _ = writeln!(out, "{k:<width$}  {v}");
    }
    out
}

/// The summary as one JSON object: `run --json` (with `schema_version`, see [`schema`]).
pub fn summary_json(s: &Summary) -> String {
    run_json(s.clone(), None)
}

/// What `run --json` prints: the summary, and the engine's own report under `detail`.
pub fn run_json(summary: Summary, detail: Option<crate::RunDetail>) -> String {
    schema::Versioned::new(schema::RunOutput { summary, detail }).to_json()
}

const SERIES_HEADER: &str = "t,arrivals,success_stable,success_new,success_baseline,error_stable,error_new,error_baseline,timeout_stable,timeout_new,timeout_baseline,rejected_stable,rejected_new,rejected_baseline,no_backend,latency_mean_ms,latency_p50_ms,latency_p99_ms,ready_stable,ready_new,ready_baseline,alive,share_new_pct,shadow,shadow_failed,cost";

fn cell(v: Option<f32>) -> String {
    v.map_or(String::new(), |x| format!("{x:.3}"))
}

fn triple<T: std::fmt::Display>(a: &[T; 3]) -> String {
    format!("{},{},{}", a[0], a[1], a[2])
}

/// Writes the per-second series as CSV.
pub fn write_series_csv(w: &mut impl Write, series: &[SecondRecord]) -> io::Result<()> {
    writeln!(w, "{SERIES_HEADER}")?;
    for s in series {
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{},{},{:.6}",
            s.t,
            s.arrivals,
            triple(&s.success),
            triple(&s.error),
            triple(&s.timeout),
            triple(&s.rejected),
            s.no_backend,
            cell(s.latency_mean_ms),
            cell(s.latency_p50_ms),
            cell(s.latency_p99_ms),
            triple(&s.ready),
            s.alive,
            s.share_new_pct,
            s.shadow,
            s.shadow_failed,
            s.cost
        )?;
    }
    Ok(())
}

/// Writes the rollout's event log as CSV (`t_s,event`).
pub fn write_events_csv(w: &mut impl Write, log: &[LogEntry]) -> io::Result<()> {
    writeln!(w, "t_s,event")?;
    for e in log {
        writeln!(w, "{:.6},\"{}\"", e.t.as_secs_f64(), e.text.replace('"', "\"\""))?;
    }
    Ok(())
}

/// Writes `series.csv` and `events.csv` into `dir`, creating it.
pub fn write_csv_dir(dir: &Path, series: &[SecondRecord], log: &[LogEntry]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut f = io::BufWriter::new(std::fs::File::create(dir.join("series.csv"))?);
    write_series_csv(&mut f, series)?;
    f.flush()?;
    let mut f = io::BufWriter::new(std::fs::File::create(dir.join("events.csv"))?);
    write_events_csv(&mut f, log)?;
    f.flush()
}

/// Strategies side by side: one column per strategy, one row per metric.
pub fn compare_table(rows: &[(String, Summary)]) -> String {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
    type Cell = Box<dyn Fn(&Summary) -> String>;
    let metrics: Vec<(&str, Cell)> = vec![
        ("outcome", Box::new(|s: &Summary| s.outcome.clone())),
        ("downtime (s)", Box::new(|s: &Summary| s.downtime_s.to_string())),
        ("blast radius (users)", Box::new(|s: &Summary| s.blast_radius_users.to_string())),
        ("blast radius (%)", Box::new(|s: &Summary| format!("{:.2}", s.blast_radius_pct))),
        ("exposed users", Box::new(|s: &Summary| s.exposed_users.to_string())),
        ("excess failed requests", Box::new(|s: &Summary| s.excess_failed_requests.to_string())),
        ("time to detect (s)", Box::new(move |s: &Summary| f(s.time_to_detect_s))),
        ("time to recover (s)", Box::new(move |s: &Summary| f(s.time_to_recover_s))),
        ("rollout duration (s)", Box::new(move |s: &Summary| f(s.rollout_duration_s))),
        ("cost", Box::new(|s: &Summary| format!("{:.4}", s.cost))),
        ("extra cost", Box::new(|s: &Summary| format!("{:+.4}", s.extra_cost))),
        ("peak instances", Box::new(|s: &Summary| s.peak_instances.to_string())),
        ("mixed-version users", Box::new(|s: &Summary| s.mixed_version_users.to_string())),
    ];
    let label_w = metrics.iter().map(|m| m.0.len()).max().unwrap_or(0);
    let cells: Vec<Vec<String>> = metrics.iter().map(|(_, get)| rows.iter().map(|(_, s)| get(s)).collect()).collect();
    let widths: Vec<usize> = rows
        .iter()
        .enumerate()
        .map(|(j, (name, _))| cells.iter().map(|r| r[j].chars().count()).max().unwrap_or(0).max(name.chars().count()))
        .collect();
    let mut out = String::new();
    let _ = write!(out, "{:<label_w$}", "");
    for (j, (name, _)) in rows.iter().enumerate() {
        let _ = write!(out, "  {:>w$}", name, w = widths[j]);
    }
    out.push('\n');
    for (i, (label, _)) in metrics.iter().enumerate() {
        let _ = write!(out, "{label:<label_w$}");
        for (j, c) in cells[i].iter().enumerate() {
            let _ = write!(out, "  {:>w$}", c, w = widths[j]);
        }
        out.push('\n');
    }
    out
}

/// The summaries as one JSON object: `compare --json`, `{"schema_version", "runs": [...]}`.
pub fn compare_json(rows: &[(String, Summary)]) -> String {
    let runs = rows.iter().map(|r| r.1.clone()).collect();
    schema::Versioned::new(schema::CompareRuns { runs }).to_json()
}

/// The A/B report as lines of text.
pub fn ab_table(r: &crate::metrics::ab::AbReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:>8} {:>9} {:>11} {:>9} {:>9} {:>9}  95 % CI of difference",
        "variant", "users", "sessions", "conversions", "rate", "lift", "p"
    );
    for v in &r.variants {
        let ci = match (v.ci_low, v.ci_high) {
            (Some(a), Some(b)) => format!("[{:+.3} %, {:+.3} %]", a * 100.0, b * 100.0),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:<14} {:>8} {:>9} {:>11} {:>8.3}% {:>9} {:>9}  {ci}",
            v.name,
            v.users,
            v.sessions,
            v.conversions,
            v.conversion_rate * 100.0,
            v.lift.map_or("-".into(), |l| format!("{:+.1}%", l * 100.0)),
            v.p_value.map_or("-".into(), |p| format!("{p:.4}")),
        );
    }
    let _ = writeln!(
        out,
        "sample ratio check: chi2 {} p {}{}",
        r.srm_chi2.map_or("-".into(), |c| format!("{c:.2}")),
        r.srm_p_value.map_or("-".into(), |p| format!("{p:.3e}")),
        if r.srm_alert { "  ALERT: sample ratio mismatch" } else { "" }
    );
    if let Some(n) = r.needed_per_variant {
        let _ = writeln!(out, "sessions needed per variant for the minimum detectable effect: {n}");
    }
    let _ = writeln!(out, "decision: {}", r.decision);
    out
}

/// A batch's statistics as a table: one block per strategy (and sweep point).
pub fn batch_table(stats: &[crate::batch::StrategyStats]) -> String {
    let mut out = String::new();
    for s in stats {
        let outcomes: Vec<String> = s.outcomes.iter().map(|(o, p)| format!("{o} {:.1} %", p * 100.0)).collect();
        let _ = writeln!(out, "{} — {} runs: {}", s.strategy, s.runs, outcomes.join(", "));
        let _ = writeln!(
            out,
            "  {:<24} {:>12} {:>25} {:>12} {:>12} {:>12} {:>6}",
            "metric", "mean", "95 % CI of the mean", "median", "p5", "p95", "n"
        );
        for (name, m) in &s.metrics {
            let _ = writeln!(
                out,
                "  {:<24} {:>12.4} {:>25} {:>12.4} {:>12.4} {:>12.4} {:>6}",
                name,
                m.mean,
                format!("[{:.4}, {:.4}]", m.ci_low, m.ci_high),
                m.median,
                m.p5,
                m.p95,
                m.n
            );
        }
        out.push('\n');
    }
    out
}

/// Tidy CSV: one row per (point, strategy, seed), with the point's parameters.
pub fn write_results_csv(
    w: &mut impl Write,
    results: &[crate::batch::SeedResult],
    strategies: &[String],
    points: &[Vec<String>],
) -> io::Result<()> {
    let getters = crate::batch::stats::metric_getters();
    let params: Vec<String> = points
        .first()
        .map(|p| p.iter().map(|kv| kv.split('=').next().unwrap_or("").to_string()).collect())
        .unwrap_or_default();
    let mut header = vec!["point".to_string()];
    header.extend(params.iter().cloned());
    header.extend(["strategy", "seed_index", "outcome"].map(String::from));
    header.extend(getters.iter().map(|g| g.0.to_string()));
    writeln!(w, "{}", header.join(","))?;
    for r in results {
        let mut row = vec![r.point.to_string()];
        if let Some(p) = points.get(r.point) {
            row.extend(p.iter().map(|kv| kv.split_once('=').map_or(String::new(), |(_, v)| v.to_string())));
        }
        row.push(strategies.get(r.strategy).cloned().unwrap_or_default());
        row.push(r.index.to_string());
        row.push(r.summary.outcome.clone());
        row.extend(getters.iter().map(|(_, g)| g(&r.summary).map_or(String::new(), |v| format!("{v}"))));
        writeln!(w, "{}", row.join(","))?;
    }
    Ok(())
}
