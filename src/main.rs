//! The `deploysim` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use deploysim::report;
use deploysim::scenario::load_file;

/// Deployment-strategy simulator: run scenario files headless.
#[derive(Parser)]
#[command(name = "deploysim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a scenario (and its no-rollout baseline on the same seed) and print the summary.
    Run {
        /// Scenario file (RON).
        scenario: PathBuf,
        /// Seed for every random stream; overrides the file's `seed`.
        #[arg(long)]
        seed: Option<u64>,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
        /// Write `series.csv` (per-second series) and `events.csv` into this directory.
        #[arg(long, value_name = "DIR")]
        csv: Option<PathBuf>,
    },
    /// Run the scenario's rollout under several strategies on the same seed — the same
    /// users, requests, faults and defects — and print them side by side.
    Compare {
        scenario: PathBuf,
        /// Comma-separated names: from the scenario's `compare` list or built in
        /// (none, recreate, rolling, blue-green, canary, flagger, codedeploy,
        /// feature-toggle, ab-test, shadow). Default: the scenario's list, else all.
        #[arg(long, value_delimiter = ',')]
        strategies: Option<Vec<String>>,
        #[arg(long)]
        seed: Option<u64>,
        /// Print a JSON array of the `run --json` objects.
        #[arg(long)]
        json: bool,
    },
    /// Show, per user, whether each flag of a flags file is on and which rule decided it.
    Flags {
        /// A flags file: `Flags(flags: [Flag(name: "...", rules: [...])])`.
        file: PathBuf,
        /// User ids; `ID@SEGMENT` puts a user in a segment (default segment: `default`).
        #[arg(long, num_args = 1.., required = true)]
        users: Vec<String>,
    },
    /// Open the desktop app (the same as no command).
    Gui {
        /// Scenario to open (default: a canary with a bad release).
        scenario: Option<PathBuf>,
        /// Save a PNG of the window and exit.
        #[arg(long, value_name = "FILE")]
        screenshot: Option<PathBuf>,
        /// Simulated time to jump to first, e.g. `6m`.
        #[arg(long, value_name = "SIM_TIME")]
        at: Option<String>,
        /// Open the compare view with these strategies (2–4, comma-separated).
        #[arg(long, value_delimiter = ',')]
        compare: Option<Vec<String>>,
    },
    /// Check scenario files and report every error with file, line and column.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => gui(None, None, None, None),
        Some(Cmd::Gui { scenario, screenshot, at, compare }) => gui(scenario, screenshot, at, compare),
        Some(Cmd::Run { scenario, seed, json, csv }) => run(&scenario, seed, json, csv.as_deref()),
        Some(Cmd::Validate { files }) => validate(&files),
        Some(Cmd::Compare { scenario, strategies, seed, json }) => {
            compare(&scenario, strategies.as_deref(), seed, json)
        }
        Some(Cmd::Flags { file, users }) => flags(&file, &users),
    }
}

fn run(path: &Path, seed: Option<u64>, json: bool, csv: Option<&Path>) -> ExitCode {
    let mut scenario = match load_file(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(s) = seed {
        scenario.seed = s;
    }
    let result = deploysim::run(&scenario);
    if let Some(dir) = csv
        && let Err(e) = report::write_csv_dir(dir, &result.run.metrics().series, result.run.log())
    {
        eprintln!("error: cannot write CSV to {}: {e}", dir.display());
        return ExitCode::from(1);
    }
    if json {
        println!("{}", report::summary_json(&result.summary));
    } else {
        print!("{}", report::summary_table(&result.summary));
        if let Some(ab) = &result.summary.ab {
            println!();
            print!("{}", report::ab_table(ab));
        }
    }
    ExitCode::SUCCESS
}

fn compare(path: &Path, names: Option<&[String]>, seed: Option<u64>, json: bool) -> ExitCode {
    let mut scenario = match load_file(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(s) = seed {
        scenario.seed = s;
    }
    if scenario.release.is_none() {
        eprintln!(
            "error: {}: the scenario has no `release` to roll out, so there is nothing to compare",
            path.display()
        );
        return ExitCode::from(2);
    }
    let variants = match deploysim::compare_variants(&scenario, names) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: --strategies: {e}");
            return ExitCode::from(2);
        }
    };
    let rows: Vec<(String, deploysim::metrics::Summary)> =
        deploysim::compare(&scenario, &variants).into_iter().map(|(n, r)| (n, r.summary)).collect();
    if json {
        println!("{}", report::compare_json(&rows));
    } else {
        println!(
            "{} (seed {}): every strategy sees the same users, requests, faults and defects",
            scenario.name, scenario.seed
        );
        print!("{}", report::compare_table(&rows));
    }
    ExitCode::SUCCESS
}

fn flags(path: &Path, users: &[String]) -> ExitCode {
    let file = match deploysim::model::flags::load_flags(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for u in users {
        let (id, segment) = u.split_once('@').unwrap_or((u.as_str(), "default"));
        for flag in &file.flags {
            let e = deploysim::model::flags::evaluate(flag, id, segment);
            println!("user {id} ({segment}): {} {}: {}", flag.name, if e.on { "ON " } else { "off" }, e.reason);
        }
    }
    ExitCode::SUCCESS
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let mut bad = 0;
    for f in files {
        match load_file(f) {
            Ok(s) => println!("ok  {}  ({}, strategy {})", f.display(), s.name, s.strategy.name()),
            Err(e) => {
                eprintln!("error: {e}");
                bad += 1;
            }
        }
    }
    if bad > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS }
}

#[cfg(feature = "gui")]
fn gui(
    scenario: Option<PathBuf>,
    screenshot: Option<PathBuf>,
    at: Option<String>,
    compare: Option<Vec<String>>,
) -> ExitCode {
    let at = match at.as_deref().map(deploysim::scenario::values::parse_duration) {
        None => None,
        Some(Ok(d)) => Some(d.as_secs_f64()),
        Some(Err(e)) => {
            eprintln!("error: --at: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = deploysim::app::AppOptions { scenario, screenshot, at, compare };
    match deploysim::app::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("deploysim: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(not(feature = "gui"))]
fn gui(_: Option<PathBuf>, _: Option<PathBuf>, _: Option<String>, _: Option<Vec<String>>) -> ExitCode {
    eprintln!(
        "deploysim: this build has no desktop app (built without the `gui` feature).\n\
         Run a scenario headless:  deploysim run scenarios/rolling.ron\n\
         All commands:             deploysim --help"
    );
    ExitCode::from(2)
}
