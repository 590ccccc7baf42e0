//! The table and JSON of a serverless run, for `deploysim run`.

use std::fmt::Write;

use super::engine::ServerlessSummary;

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.1}ms"))
}

fn opt_s(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x}s"))
}

/// A summary table followed by a per-minute view of the series.
pub fn table(s: &ServerlessSummary) -> String {
    let pct = |a: u64, b: u64| if b > 0 { 100.0 * a as f64 / b as f64 } else { 0.0 };
    let timeline =
        s.weight_timeline.iter().map(|w| format!("{}s→{}%", w.t_s, w.weight_pct)).collect::<Vec<_>>().join(", ");
    let rows: Vec<(&str, String)> = vec![
        ("scenario", s.scenario.clone()),
        ("seed", s.seed.to_string()),
        ("deployment", s.deployment.clone()),
        ("outcome", s.outcome.clone()),
        ("alias weight of v2", if timeline.is_empty() { "-".into() } else { timeline }),
        ("promoted at", opt_s(s.promoted_at_s)),
        ("rolled back at", opt_s(s.rolled_back_at_s)),
        ("requests", s.requests.to_string()),
        (
            "failed requests",
            format!(
                "{} (errors {}, throttled {} = {:.3} %)",
                s.errors + s.throttles,
                s.errors,
                s.throttles,
                pct(s.throttles, s.requests)
            ),
        ),
        (
            "new version",
            format!(
                "{} requests, {} errors, {} throttled",
                s.new_version_requests, s.new_version_errors, s.new_version_throttles
            ),
        ),
        ("active users", s.active_users.to_string()),
        ("exposed users", s.exposed_users.to_string()),
        ("blast radius", format!("{} users ({:.3} %)", s.blast_radius_users, s.blast_radius_pct)),
        ("cold starts", format!("{} ({:.2} % of invocations)", s.cold_starts, 100.0 * s.cold_start_share)),
        (
            "latency mean / p50 / p99",
            format!("{} / {} / {}", opt_ms(s.latency_mean_ms), opt_ms(s.latency_p50_ms), opt_ms(s.latency_p99_ms)),
        ),
        ("peak concurrency", format!("{} (limit {})", s.peak_concurrency, s.concurrency_limit)),
        ("environments", format!("{} created, at most {} alive", s.environments_created, s.peak_environments)),
        ("billed", format!("{} invocations, {:.3} GB-s ({} MB)", s.invocations, s.gb_seconds, s.memory_mb)),
        ("cost", format!("{:.6} (requests {:.6} + duration {:.6})", s.cost, s.cost_requests, s.cost_duration)),
        ("always-on fleet cost", format!("{:.6} ({} instances)", s.always_on_cost, s.always_on_instances)),
    ];
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let _ = writeln!(out, "{k:<width$}  {v}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:>6} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7} {:>6} {:>5} {:>7}",
        "minute", "req v1", "req v2", "err v1", "err v2", "thrott", "cold", "conc", "envs", "v2 %"
    );
    // Whole minutes per row, at most about 60 rows.
    let per = 60 * s.series.len().div_ceil(3600).max(1);
    for chunk in s.series.chunks(per) {
        let sum = |f: &dyn Fn(&super::SecondRow) -> u32| chunk.iter().map(|r| f(r) as u64).sum::<u64>();
        let last = chunk.last().map_or(0.0, |r| r.weight_pct);
        let _ = writeln!(
            out,
            "{:>6} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7} {:>6} {:>5} {:>7}",
            chunk[0].t / 60,
            sum(&|r| r.requests[0]),
            sum(&|r| r.requests[1]),
            sum(&|r| r.errors[0]),
            sum(&|r| r.errors[1]),
            sum(&|r| r.throttles[0] + r.throttles[1]),
            sum(&|r| r.cold_starts[0] + r.cold_starts[1]),
            chunk.iter().map(|r| r.concurrency).max().unwrap_or(0),
            chunk.iter().map(|r| r.environments).max().unwrap_or(0),
            last
        );
    }
    out
}

/// One JSON object with every summary field and the per-second series.
pub fn json(s: &ServerlessSummary) -> String {
    serde_json::to_string(s).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
