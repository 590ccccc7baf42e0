//! The `batch`, `sweep` and `merge` commands.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use deploysim::batch::{self, PARTIAL_FORMAT, Partial, Shard, StrategyStats, aggregate, sweep};
use deploysim::report;
use deploysim::scenario::{Scenario, load_file, to_ron_string};
use deploysim::sim::Simulation;

pub struct Settings {
    pub seeds: u64,
    pub strategies: Option<Vec<String>>,
    pub jobs: Option<usize>,
    pub shard: Option<String>,
    pub out: Option<PathBuf>,
    pub quiet: bool,
    pub json: bool,
    pub csv: Option<PathBuf>,
    pub report: Option<PathBuf>,
}

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(code)
}

/// `batch` (no sets) and `sweep` (sets).
pub fn batch(path: &Path, sets: &[String], st: &Settings) -> ExitCode {
    let scenario = match load_file(path) {
        Ok(s) => s,
        Err(e) => return crate::file_error(&e),
    };
    let engine = deploysim::engine_of(&scenario);
    let variants = match &st.strategies {
        Some(_) if engine != deploysim::EngineKind::Instances => {
            return fail(
                2,
                format!(
                    "{}: --strategies picks single-service strategies; a multi-service plan, a function's \
                     deployment or a release stream's strategy is the scenario's own (sweep over its fields instead)",
                    path.display()
                ),
            );
        }
        Some(names) => match deploysim::compare_variants(&scenario, Some(names)) {
            Ok(v) => v,
            Err(e) => return fail(2, format!("--strategies: {e}")),
        },
        None if engine != deploysim::EngineKind::Instances => vec![deploysim::own_variant(&scenario)],
        None => vec![(scenario.strategy.name().to_string(), scenario.strategy.clone())],
    };
    if engine == deploysim::EngineKind::Instances
        && variants.iter().any(|(_, s)| !matches!(s, deploysim::scenario::StrategySpec::None))
        && scenario.release.is_none()
    {
        return fail(2, format!("{}: the scenario has no `release` to roll out", path.display()));
    }
    let axes = match sets.iter().map(|s| sweep::parse_set(s)).collect::<Result<Vec<_>, _>>() {
        Ok(a) => a,
        Err(e) => return fail(2, e),
    };
    let grid = sweep::grid(&axes);
    if grid.len() as u64 * st.seeds > 100_000_000 {
        return fail(2, format!("{} points × {} seeds is more than the limit of 10^8 runs", grid.len(), st.seeds));
    }
    let mut points = Vec::with_capacity(grid.len());
    for p in &grid {
        match sweep::apply(&scenario, p) {
            Ok(s) => points.push(s),
            Err(e) => return fail(2, e),
        }
    }
    let shard = match st.shard.as_deref().map(Shard::parse) {
        None => Shard::WHOLE,
        Some(Ok(s)) => s,
        Some(Err(e)) => return fail(2, format!("--shard: {e}")),
    };
    if (shard != Shard::WHOLE || st.out.is_some()) && (st.json || st.csv.is_some() || st.report.is_some()) {
        return fail(
            2,
            "--shard and --out write a partial result; give --json, --csv and --report to `deploysim merge`",
        );
    }
    let jobs = st.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let progress = !st.quiet && std::io::stderr().is_terminal();
    let per_point: Vec<_> = points.iter().map(|p| batch::variants_at(&scenario, p, &variants)).collect();
    let results = match batch::run_items(&points, &per_point, st.seeds, shard, jobs, progress) {
        Ok(r) => r,
        Err(e) => return fail(1, e),
    };
    let labels: Vec<Vec<String>> = grid.iter().map(|p| p.iter().map(|(k, v)| format!("{k}={v}")).collect()).collect();
    let partial = Partial {
        format: PARTIAL_FORMAT.into(),
        command: if sets.is_empty() { "batch" } else { "sweep" }.into(),
        scenario_name: scenario.name.clone(),
        fingerprint: batch::fingerprint(&scenario, &variants, st.seeds, &labels),
        seeds: st.seeds,
        strategies: variants.iter().map(|v| v.0.clone()).collect(),
        points: labels,
        shard,
        results,
    };
    if shard != Shard::WHOLE || st.out.is_some() {
        let text = match serde_json::to_string(&PartialFile {
            partial: &partial,
            scenario: to_ron_string(&scenario).unwrap_or_default(),
        }) {
            Ok(t) => t,
            Err(e) => return fail(1, e),
        };
        return match &st.out {
            Some(f) => match std::fs::write(f, text) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(1, format!("cannot write {}: {e}", f.display())),
            },
            None => {
                println!("{text}");
                ExitCode::SUCCESS
            }
        };
    }
    emit(&partial, &scenario, &points, st.json, st.csv.as_deref(), st.report.as_deref())
}

#[derive(serde::Serialize)]
struct PartialFile<'a> {
    #[serde(flatten)]
    partial: &'a Partial,
    scenario: String,
}

#[derive(serde::Deserialize)]
struct PartialFileOwned {
    #[serde(flatten)]
    partial: Partial,
    scenario: String,
}

/// `merge`: combines shards and prints exactly what the unsharded run would have.
pub fn merge(parts: &[PathBuf], json: bool, csv: Option<&Path>, report_dir: Option<&Path>) -> ExitCode {
    let mut loaded = Vec::new();
    let mut scenario_text = String::new();
    for p in parts {
        let text = match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) => return fail(2, format!("cannot read {}: {e}", p.display())),
        };
        match serde_json::from_str::<PartialFileOwned>(&text) {
            Ok(f) => {
                scenario_text = f.scenario;
                loaded.push(f.partial);
            }
            Err(e) => {
                return fail(2, format!("{}: not a partial result of `deploysim batch --shard`: {e}", p.display()));
            }
        }
    }
    let merged = match batch::merge(loaded) {
        Ok(m) => m,
        Err(e) => return fail(2, e),
    };
    let scenario = match deploysim::scenario::parse_str("merged scenario", &scenario_text) {
        Ok(s) => s,
        Err(e) => return fail(2, e),
    };
    let grid: Vec<Vec<(String, String)>> = merged
        .points
        .iter()
        .map(|p| p.iter().filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect())
        .collect();
    let mut points = Vec::new();
    for g in &grid {
        match sweep::apply(&scenario, g) {
            Ok(s) => points.push(s),
            Err(e) => return fail(2, e),
        }
    }
    emit(&merged, &scenario, &points, json, csv, report_dir)
}

fn emit(
    p: &Partial,
    scenario: &Scenario,
    points: &[Scenario],
    json: bool,
    csv: Option<&Path>,
    report_dir: Option<&Path>,
) -> ExitCode {
    let stats: Vec<Vec<StrategyStats>> = (0..p.points.len()).map(|i| aggregate(&p.results, &p.strategies, i)).collect();
    if let Some(file) = csv {
        let write = || -> std::io::Result<()> {
            let mut f = std::io::BufWriter::new(std::fs::File::create(file)?);
            report::write_results_csv(&mut f, &p.results, &p.strategies, &p.points)?;
            let summary = file.with_extension("summary.csv");
            let mut f = std::io::BufWriter::new(std::fs::File::create(summary)?);
            use std::io::Write;
            writeln!(f, "point,params,strategy,metric,n,mean,ci_low,ci_high,median,p5,p95")?;
            for (i, point) in stats.iter().enumerate() {
                for s in point {
                    for (m, v) in &s.metrics {
                        writeln!(
                            f,
                            "{i},\"{}\",{},{m},{},{},{},{},{},{},{}",
                            p.points[i].join(" "),
                            s.strategy,
                            v.n,
                            v.mean,
                            v.ci_low,
                            v.ci_high,
                            v.median,
                            v.p5,
                            v.p95
                        )?;
                    }
                }
            }
            Ok(())
        };
        if let Err(e) = write() {
            return fail(1, format!("cannot write {}: {e}", file.display()));
        }
    }
    let mut text = String::new();
    for (i, point) in stats.iter().enumerate() {
        if !p.points[i].is_empty() {
            text.push_str(&format!("== point {i}: {}\n", p.points[i].join(" ")));
        }
        text.push_str(&report::batch_table(point));
    }
    if let Some(dir) = report_dir {
        let charts = (|| -> Result<Vec<report::charts::Chart>, String> {
            // Representative runs: seed index 0 of each strategy at the first point.
            let first = points.first().ok_or("no points")?;
            // The strategies the statistics ran (see `batch::variants_at`).
            let instances = deploysim::engine_of(scenario) == deploysim::EngineKind::Instances;
            let variants = if instances {
                batch::variants_at(
                    scenario,
                    first,
                    &deploysim::compare_variants(scenario, Some(&p.strategies)).map_err(|e| e.to_string())?,
                )
            } else {
                // A graph's or a function's representative run is not a fleet's: its charts
                // are the distributions over seeds and the sweep curves below.
                Vec::new()
            };
            let sims: Vec<(String, Simulation)> = variants
                .iter()
                .map(|(n, spec)| {
                    let mut s = first.clone();
                    s.strategy = spec.clone();
                    let mut sim = Simulation::new(Arc::new(s));
                    sim.run_to_end();
                    (n.clone(), sim)
                })
                .collect();
            let refs: Vec<(String, &Simulation)> = sims.iter().map(|(n, s)| (n.clone(), s)).collect();
            let text = |e: report::ReportError| e.to_string();
            let mut charts = report::build::run_charts(&refs).map_err(text)?;
            if !instances {
                // A graph's or a function's representative run: its own per-second series
                // (a release stream has many windows and no one series).
                let r = deploysim::summarise_recorded(first).map_err(|e| e.to_string())?;
                if !r.series.is_empty() {
                    let name = p.strategies.first().cloned().unwrap_or_default();
                    charts = report::build::series_charts(first.slo.target.0, &[(name, &r.series)]).map_err(text)?;
                }
            }
            charts.extend(report::build::batch_charts(&p.results, &p.strategies, 0).map_err(text)?);
            let xs: Option<Vec<f64>> = p
                .points
                .iter()
                .map(|pt| {
                    pt.first().and_then(|kv| kv.split_once('=')).and_then(|(_, v)| v.trim_end_matches('%').parse().ok())
                })
                .collect();
            if let (Some(xs), true) = (xs, p.points.len() > 1) {
                let axis = p.points[0].first().and_then(|kv| kv.split_once('=')).map_or("", |(k, _)| k);
                charts.extend(report::build::sweep_charts(axis, &xs, &stats).map_err(text)?);
            }
            Ok(charts)
        })();
        let r = report::html::Report {
            title: format!("{} — {} seeds", scenario.name, p.seeds),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            scenario_text: to_ron_string(scenario).unwrap_or_default(),
            tables: vec![("Statistics over seeds".to_string(), text.clone())],
            charts: match charts {
                Ok(c) => c,
                Err(e) => return fail(1, e),
            },
        };
        if let Err(e) = report::html::write_report(dir, &r) {
            return fail(1, e);
        }
    }
    if json {
        let out = report::schema::BatchReport {
            command: p.command.clone(),
            scenario: p.scenario_name.clone(),
            seeds: p.seeds,
            points: stats
                .into_iter()
                .zip(&p.points)
                .map(|(s, params)| report::schema::BatchPoint { params: params.clone(), strategies: s })
                .collect(),
        };
        match serde_json::to_string(&report::schema::Versioned::new(out)) {
            Ok(t) => println!("{t}"),
            Err(e) => return fail(1, e),
        }
    } else {
        print!("{text}");
    }
    ExitCode::SUCCESS
}
