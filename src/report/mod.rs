//! Output for people and machines: the summary table, JSON and the per-second CSV.

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
            format!(
                "{} (errors {}, timeouts {}, rejected {})",
                s.failed_requests, s.errors, s.timeouts, s.rejected
            ),
        ),
        (
            "excess failed requests",
            s.excess_failed_requests.to_string(),
        ),
        ("error budget burn", opt(s.error_budget_burn, "")),
        ("downtime", format!("{}s", s.downtime_s)),
        ("SLO violation", format!("{}s", s.slo_violation_s)),
        ("active users", s.active_users.to_string()),
        ("exposed users", s.exposed_users.to_string()),
        (
            "blast radius",
            format!(
                "{} users ({:.3} %)",
                s.blast_radius_users, s.blast_radius_pct
            ),
        ),
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

/// The summary as one JSON object.
pub fn summary_json(s: &Summary) -> String {
    serde_json::to_string(s).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
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
        writeln!(
            w,
            "{:.6},\"{}\"",
            e.t.as_secs_f64(),
            e.text.replace('"', "\"\"")
        )?;
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
