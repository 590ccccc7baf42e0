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
    /// Check scenario files and report every error with file, line and column.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => {
            eprintln!(
                "deploysim: no command given. Try `deploysim run scenarios/rolling.ron` or `deploysim --help`."
            );
            ExitCode::from(2)
        }
        Some(Cmd::Run {
            scenario,
            seed,
            json,
            csv,
        }) => run(&scenario, seed, json, csv.as_deref()),
        Some(Cmd::Validate { files }) => validate(&files),
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
    }
    ExitCode::SUCCESS
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let mut bad = 0;
    for f in files {
        match load_file(f) {
            Ok(s) => println!(
                "ok  {}  ({}, strategy {})",
                f.display(),
                s.name,
                s.strategy.name()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                bad += 1;
            }
        }
    }
    if bad > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
