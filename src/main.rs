//! The `deploysim` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use deploysim::report;

mod cli_batch;
use deploysim::scenario::load_file;
use deploysim::scenario::source::{self, Kind};

/// The exit codes, shown under `--help`.
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the input was good and the simulation ran, but a later step failed (writing a CSV,
     chart, report or figure, or the terminal going away)
  2  bad input: a scenario, lesson or flags file that does not parse or breaks a rule
     (also when `validate` finds one), a bad option, or a command that does not apply
     to the scenario

Errors in files are printed as rustc prints them: file:line:col, the line with a caret
under the span, and what is allowed. NO_COLOR or a non-terminal stderr turns colour off.";

/// Deployment-strategy simulator: run scenario files headless.
#[derive(Parser)]
#[command(name = "deploysim", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a scenario (and its no-rollout baseline on the same seed) and print the summary.
    Run {
        /// Scenario file (RON), or the name of a shipped scenario (`deploysim scenarios`).
        scenario: PathBuf,
        /// Seed for every random stream; overrides the file's `seed`.
        #[arg(long)]
        seed: Option<u64>,
        /// Print one JSON object instead of the table (docs/schema/run.json).
        #[arg(long)]
        json: bool,
        /// Write `series.csv` (per-second series) and `events.csv` into this directory.
        #[arg(long, value_name = "DIR")]
        csv: Option<PathBuf>,
        /// Write charts (SVG, PNG) and report.html into this directory.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    /// Run many seeds per strategy in parallel and report distributions.
    Batch {
        /// Scenario file (RON), or the name of a shipped scenario (`deploysim scenarios`).
        scenario: PathBuf,
        #[command(flatten)]
        opts: BatchOpts,
    },
    /// Run a grid over scenario parameters (`--set PATH=V1,V2`), many seeds per point.
    Sweep {
        /// Scenario file (RON), or the name of a shipped scenario (`deploysim scenarios`).
        scenario: PathBuf,
        /// A parameter and its values, e.g. `release.defects[0].ErrorRate=0.01,0.05`.
        #[arg(long = "set", value_name = "PATH=V1,V2,...", required = true)]
        sets: Vec<String>,
        #[command(flatten)]
        opts: BatchOpts,
    },
    /// Combine the partial results of `--shard` runs into the whole.
    Merge {
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        #[command(flatten)]
        out: OutputOpts,
    },
    /// Run the scenario's rollout under several strategies on the same seed — the same
    /// users, requests, faults and defects — and print them side by side.
    Compare {
        /// Scenario file (RON), or the name of a shipped scenario (`deploysim scenarios`).
        scenario: PathBuf,
        /// Comma-separated names: from the scenario's `compare` list or built in
        /// (none, recreate, rolling, blue-green, canary, flagger, codedeploy,
        /// feature-toggle, ab-test, shadow). Default: the scenario's list, else all.
        #[arg(long, value_delimiter = ',')]
        strategies: Option<Vec<String>>,
        #[arg(long)]
        seed: Option<u64>,
        /// Print one JSON object: `schema_version` and `runs`, the `run --json` summaries.
        #[arg(long)]
        json: bool,
        /// Write charts (SVG, PNG) and report.html into this directory.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    /// Show, per user, whether each flag of a flags file is on and which rule decided it.
    Flags {
        /// A flags file: `Flags(flags: [Flag(name: "...", rules: [...])])`, or the name of a
        /// shipped one (`checkout`).
        file: PathBuf,
        /// User ids; `ID@SEGMENT` puts a user in a segment (default segment: `default`).
        #[arg(long, num_args = 1.., required = true)]
        users: Vec<String>,
    },
    /// Open the desktop app (the same as no command).
    Gui {
        /// Scenario file or shipped name to open (default: a canary with a bad release).
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
    /// Play a lesson: in the app (presenter mode with `--presenter`), in the terminal
    /// (`--text`), or write every step's figure for slides (`--export DIR`).
    Lesson {
        /// Lesson file (RON), or the name of a shipped lesson (`deploysim lessons`), e.g. `canary`.
        lesson: PathBuf,
        /// Play in the terminal: narration, questions, revealed answers and numbers. Without
        /// terminal input it plays straight through and reveals every answer.
        #[arg(long)]
        text: bool,
        /// Write each step's figure (SVG and PNG) into this directory and exit.
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
        /// Width of the exported PNGs, pixels.
        #[arg(long, default_value_t = 1280)]
        width: u32,
        /// Large fonts, high contrast, full screen, keyboard only.
        #[arg(long)]
        presenter: bool,
        /// Go to this step (1-based) first.
        #[arg(long, default_value_t = 1)]
        step: usize,
        /// Save a PNG of the window at that step and exit.
        #[arg(long, value_name = "FILE")]
        screenshot: Option<PathBuf>,
    },
    /// List the scenarios built into deploysim: `deploysim run NAME` runs one.
    Scenarios,
    /// List the lessons built into deploysim: `deploysim lesson NAME` plays one.
    Lessons,
    /// Check scenario files and report every error with file, line and column.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a shell completion script generated from these definitions (see the README).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), or write one page per command into a directory.
    Man {
        /// Write deploysim.1 and deploysim-COMMAND.1 for every command into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Print the JSON Schema of a command's `--json` output (shipped in docs/schema/).
    Schema {
        /// The command whose output it describes.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(report::schema::SCHEMAS), required_unless_present = "out")]
        output: Option<String>,
        /// Write every schema (run.json, compare.json, batch.json, sweep.json) into this directory.
        #[arg(long, value_name = "DIR", conflicts_with = "output")]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct BatchOpts {
    /// Seeds per strategy (and per sweep point): the scenario's seed, +1, +2, ...
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    seeds: u64,
    /// Comma-separated strategy names (default: the scenario's own strategy).
    #[arg(long, value_delimiter = ',')]
    strategies: Option<Vec<String>>,
    /// Threads (default: every core). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// Run only shard K of N (`--shard 3/8`) and write a partial result to merge.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Where to write the partial result of a shard (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    output: OutputOpts,
}

#[derive(clap::Args)]
struct OutputOpts {
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Write one row per (point, strategy, seed) to FILE, and FILE.summary.csv.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write charts (SVG, PNG) and report.html into this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => gui(None, None, None, None),
        Some(Cmd::Gui { scenario, screenshot, at, compare }) => gui(scenario, screenshot, at, compare),
        Some(Cmd::Run { scenario, seed, json, csv, report }) => {
            run(&scenario, seed, json, csv.as_deref(), report.as_deref())
        }
        Some(Cmd::Batch { scenario, opts }) => cli_batch::batch(&scenario, &[], &opts.into()),
        Some(Cmd::Sweep { scenario, sets, opts }) => cli_batch::batch(&scenario, &sets, &opts.into()),
        Some(Cmd::Merge { parts, out }) => {
            cli_batch::merge(&parts, out.json, out.csv.as_deref(), out.report.as_deref())
        }
        Some(Cmd::Validate { files }) => validate(&files),
        Some(Cmd::Scenarios) => list_shipped(Kind::Scenario),
        Some(Cmd::Lessons) => list_shipped(Kind::Lesson),
        Some(Cmd::Compare { scenario, strategies, seed, json, report }) => {
            compare(&scenario, strategies.as_deref(), seed, json, report.as_deref())
        }
        Some(Cmd::Flags { file, users }) => flags(&file, &users),
        Some(Cmd::Lesson { lesson: path, text, export, width, presenter, step, screenshot }) => {
            lesson(&path, text, export.as_deref(), width, presenter, step, screenshot)
        }
        Some(Cmd::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "deploysim", &mut out);
            print_bytes(&out)
        }
        Some(Cmd::Man { out }) => man(out.as_deref()),
        Some(Cmd::Schema { output, out }) => schema(output.as_deref(), out.as_deref()),
    }
}

/// Writes to standard output; a reader that stops early (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().lock().write_all(bytes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The man pages, generated from the command definitions: `deploysim.1` on standard
/// output, or it and one page per visible command written into `dir`.
fn man(dir: Option<&Path>) -> ExitCode {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let page = |c: clap::Command| {
        let title = c.get_display_name().unwrap_or_else(|| c.get_name()).to_uppercase();
        clap_mangen::Man::new(c).title(title).source(concat!("deploysim ", env!("CARGO_PKG_VERSION")))
    };
    let Some(dir) = dir else {
        let mut out = Vec::new();
        if let Err(e) = page(cmd).render(&mut out) {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
        return print_bytes(&out);
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::from(1);
    }
    let subs: Vec<clap::Command> = cmd.get_subcommands().filter(|c| !c.is_hide_set()).cloned().collect();
    for c in std::iter::once(cmd).chain(subs) {
        match page(c).generate_to(dir) {
            Ok(path) => println!("{}", path.display()),
            Err(e) => {
                eprintln!("error: cannot write a man page into {}: {e}", dir.display());
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}

/// `deploysim schema NAME` prints one schema; `--out DIR` writes them all.
fn schema(name: Option<&str>, dir: Option<&Path>) -> ExitCode {
    let text = |n: &str| report::schema::schema_text(n).ok_or_else(|| format!("no schema named `{n}`"));
    let Some(dir) = dir else {
        return match text(name.unwrap_or("run")) {
            Ok(t) => print_bytes(t.as_bytes()),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    };
    for n in report::schema::SCHEMAS {
        let path = dir.join(format!("{n}.json"));
        let written = text(n).and_then(|t| {
            std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, t)).map_err(|e| e.to_string())
        });
        match written {
            Ok(()) => println!("{}", path.display()),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}

fn lesson(
    path: &Path,
    text: bool,
    export: Option<&Path>,
    width: u32,
    presenter: bool,
    step: usize,
    screenshot: Option<PathBuf>,
) -> ExitCode {
    use std::io::IsTerminal;
    let loaded = match deploysim::lesson::load_lesson(path) {
        Ok(l) => std::sync::Arc::new(l),
        Err(e) => return file_error(&e),
    };
    if !(64..=8192).contains(&width) {
        eprintln!("error: --width must be from 64 to 8192 pixels");
        return ExitCode::from(2);
    }
    if step == 0 || step > loaded.lesson.steps.len() {
        eprintln!("error: --step must be from 1 to {}", loaded.lesson.steps.len());
        return ExitCode::from(2);
    }
    if let Some(dir) = export {
        return match deploysim::lesson::text::export(loaded, dir, width) {
            Ok(files) => {
                for f in files {
                    println!("{}", f.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        };
    }
    if text || !cfg!(feature = "gui") {
        let stdin = std::io::stdin();
        let interactive = stdin.is_terminal();
        let mut lock = stdin.lock();
        let input: Option<&mut dyn std::io::BufRead> = if interactive { Some(&mut lock) } else { None };
        let mut out = std::io::stdout().lock();
        return match deploysim::lesson::text::play(loaded, &mut out, input) {
            Ok(()) => ExitCode::SUCCESS,
            // A reader that stops early (`| head`) is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        };
    }
    lesson_app(loaded, presenter, step, screenshot)
}

#[cfg(feature = "gui")]
fn lesson_app(
    lesson: std::sync::Arc<deploysim::lesson::LoadedLesson>,
    presenter: bool,
    step: usize,
    screenshot: Option<PathBuf>,
) -> ExitCode {
    deploysim::app::run_lesson(lesson, presenter, step - 1, screenshot)
}

#[cfg(not(feature = "gui"))]
fn lesson_app(
    _lesson: std::sync::Arc<deploysim::lesson::LoadedLesson>,
    _presenter: bool,
    _step: usize,
    _screenshot: Option<PathBuf>,
) -> ExitCode {
    ExitCode::SUCCESS
}

/// Prints an error in an input file the way rustc prints one — `file:line:col`, the
/// line with a caret under the span, what is allowed — and gives exit code 2.
fn file_error(e: &deploysim::scenario::ScenarioError) -> ExitCode {
    use deploysim::scenario::diagnostic;
    eprintln!("{}", diagnostic::render_file(e, diagnostic::stderr_color()));
    ExitCode::from(2)
}

/// Loads a scenario and applies `--seed`; on error prints it and gives the exit code.
fn load_with_seed(path: &Path, seed: Option<u64>) -> Result<deploysim::scenario::Scenario, ExitCode> {
    let mut scenario = load_file(path).map_err(|e| file_error(&e))?;
    if let Some(s) = seed {
        scenario.seed = s;
    }
    Ok(scenario)
}

fn command_line() -> String {
    std::env::args().map(|a| if a.contains(' ') { format!("'{a}'") } else { a }).collect::<Vec<_>>().join(" ")
}

fn write_report(
    dir: &Path,
    title: &str,
    path: &Path,
    tables: Vec<(String, String)>,
    charts: Result<Vec<report::charts::Chart>, report::ReportError>,
) -> Result<(), report::ReportError> {
    let r = report::html::Report {
        title: title.to_string(),
        command: command_line(),
        scenario_text: source::find(path, Kind::Scenario)
            .ok()
            .and_then(|src| src.read(deploysim::scenario::MAX_FILE_BYTES).ok())
            .unwrap_or_default(),
        tables,
        charts: charts?,
    };
    report::html::write_report(dir, &r)
}

impl From<BatchOpts> for cli_batch::Settings {
    fn from(o: BatchOpts) -> Self {
        cli_batch::Settings {
            seeds: o.seeds,
            strategies: o.strategies,
            jobs: o.jobs.map(|j| j as usize),
            shard: o.shard,
            out: o.out,
            quiet: o.quiet,
            json: o.output.json,
            csv: o.output.csv,
            report: o.output.report,
        }
    }
}

fn run(path: &Path, seed: Option<u64>, json: bool, csv: Option<&Path>, report_dir: Option<&Path>) -> ExitCode {
    let scenario = match load_with_seed(path, seed) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if deploysim::engine_of(&scenario) == deploysim::EngineKind::Releases && (csv.is_some() || report_dir.is_some()) {
        eprintln!(
            "error: {}: --csv and --report are not available for a continuous scenario (its series are those of many windows); use --json",
            path.display()
        );
        return ExitCode::from(2);
    }
    let r = match deploysim::summarise_recorded(&scenario) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = csv
        && let Err(e) = report::write_csv_dir(dir, &r.series, &r.log)
    {
        eprintln!("error: cannot write CSV to {}: {e}", dir.display());
        return ExitCode::from(1);
    }
    let detail_table = match &r.detail {
        None => None,
        Some(deploysim::RunDetail::Topology(t)) => Some(t.table()),
        Some(deploysim::RunDetail::Serverless(s)) => Some(deploysim::serverless::report::table(s)),
        Some(deploysim::RunDetail::Continuous(c)) => Some(deploysim::continuous::table(c)),
    };
    if let Some(dir) = report_dir {
        let charts = report::build::series_charts(scenario.slo.target.0, &[(r.summary.strategy.clone(), &r.series)]);
        let mut tables = vec![("Summary".to_string(), report::summary_table(&r.summary))];
        if let Some(t) = &detail_table {
            tables.push(("The engine's own report".to_string(), t.clone()));
        }
        if let Err(e) = write_report(dir, &scenario.name, path, tables, charts) {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    let text = if json {
        format!("{}\n", report::run_json(r.summary, r.detail))
    } else {
        let mut t = report::summary_table(&r.summary);
        if let Some(ab) = &r.summary.ab {
            t.push('\n');
            t.push_str(&report::ab_table(ab));
        }
        if let Some(d) = detail_table {
            t.push('\n');
            t.push_str(&d);
        }
        t
    };
    // A function's JSON holds its per-second series and can be large: a reader that
    // stops early (`| head`) is not an error worth a panic.
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

fn compare(
    path: &Path,
    names: Option<&[String]>,
    seed: Option<u64>,
    json: bool,
    report_dir: Option<&Path>,
) -> ExitCode {
    let scenario = match load_with_seed(path, seed) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if deploysim::engine_of(&scenario) == deploysim::EngineKind::Releases {
        return compare_streams(path, &scenario, names, json, report_dir);
    }
    if !has_rollout(&scenario) {
        // Nothing rolls out: every variant would be the baseline itself. The one row says
        // so, with the figures of the run (what a fault or the load alone does).
        eprintln!(
            "note: {}: the scenario has no plan or release to roll out; every variant is this baseline",
            path.display()
        );
        let own = vec![("none".to_string(), scenario.clone())];
        return compare_scenarios(path, &scenario, &own, json, report_dir);
    }
    match deploysim::scenario_variants(&scenario, names) {
        Ok(None) => {}
        Ok(Some(variants)) => return compare_scenarios(path, &scenario, &variants, json, report_dir),
        Err(e) => {
            eprintln!("error: --strategies: {e}");
            return ExitCode::from(2);
        }
    }
    let variants = match deploysim::compare_variants(&scenario, names) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: --strategies: {e}");
            return ExitCode::from(2);
        }
    };
    let runs = deploysim::compare(&scenario, &variants);
    if let Some(dir) = report_dir {
        let sims: Vec<(String, &deploysim::sim::Simulation)> = runs.iter().map(|(n, r)| (n.clone(), &r.run)).collect();
        let rows: Vec<(String, deploysim::metrics::Summary)> =
            runs.iter().map(|(n, r)| (n.clone(), r.summary.clone())).collect();
        let tables = vec![("Strategies side by side".to_string(), report::compare_table(&rows))];
        if let Err(e) = write_report(dir, &scenario.name, path, tables, report::build::run_charts(&sims)) {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    let rows: Vec<(String, deploysim::metrics::Summary)> = runs.into_iter().map(|(n, r)| (n, r.summary)).collect();
    print_compare(&scenario, &rows, json, "strategy")
}

/// `compare`'s output: the runs side by side, as a table or as JSON.
fn print_compare(
    scenario: &deploysim::scenario::Scenario,
    rows: &[(String, deploysim::metrics::Summary)],
    json: bool,
    what: &str,
) -> ExitCode {
    if json {
        println!("{}", report::compare_json(rows));
    } else {
        println!(
            "{} (seed {}): every {what} sees the same users, requests, faults and defects",
            scenario.name, scenario.seed
        );
        print!("{}", report::compare_table(rows));
    }
    ExitCode::SUCCESS
}

/// Whether a graph has a plan, or a function a release.
fn has_rollout(s: &deploysim::scenario::Scenario) -> bool {
    match deploysim::engine_of(s) {
        deploysim::EngineKind::Graph => s.topology.as_ref().is_some_and(|t| t.plan.is_some()),
        _ => s.release.is_some(),
    }
}

/// `compare` of a release stream: its strategies (its own, then its `compare` list, or
/// those `--strategies` names among them), each over the same stream of releases.
fn compare_streams(
    path: &Path,
    scenario: &deploysim::scenario::Scenario,
    names: Option<&[String]>,
    json: bool,
    report_dir: Option<&Path>,
) -> ExitCode {
    let (report, summaries) = match deploysim::continuous::run_summarised(scenario) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let mut rows: Vec<(String, deploysim::metrics::Summary)> =
        report.strategies.iter().map(|d| d.strategy.clone()).zip(summaries).collect();
    if let Some(names) = names {
        if let Some(unknown) = names.iter().find(|n| !rows.iter().any(|(m, _)| m == *n)) {
            let known: Vec<&str> = rows.iter().map(|(m, _)| m.as_str()).collect();
            eprintln!("error: --strategies: `{unknown}` is not one of this stream's strategies: {}", known.join(", "));
            return ExitCode::from(2);
        }
        rows.retain(|(m, _)| names.contains(m));
    }
    if let Some(dir) = report_dir {
        let tables = vec![
            ("Side by side".to_string(), report::compare_table(&rows)),
            ("DORA metrics".to_string(), deploysim::continuous::table(&report)),
        ];
        if let Err(e) = write_report(dir, &scenario.name, path, tables, Ok(Vec::new())) {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    print_compare(scenario, &rows, json, "strategy")
}

/// `compare` of a graph's plans or a function's deployments: each variant against its
/// baseline on the same seed (the same users, requests, faults and defects).
fn compare_scenarios(
    path: &Path,
    scenario: &deploysim::scenario::Scenario,
    variants: &[(String, deploysim::scenario::Scenario)],
    json: bool,
    report_dir: Option<&Path>,
) -> ExitCode {
    let mut rows: Vec<(String, deploysim::metrics::Summary)> = Vec::new();
    for (name, s) in variants {
        match deploysim::summarise(s) {
            Ok((mut summary, _)) => {
                summary.strategy = name.clone();
                rows.push((name.clone(), summary));
            }
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    if let Some(dir) = report_dir {
        let tables = vec![("Side by side".to_string(), report::compare_table(&rows))];
        if let Err(e) = write_report(dir, &scenario.name, path, tables, Ok(Vec::new())) {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    print_compare(scenario, &rows, json, "variant")
}

fn flags(path: &Path, users: &[String]) -> ExitCode {
    let file = match deploysim::scenario::flags::load_flags(path) {
        Ok(f) => f,
        Err(e) => return file_error(&e),
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

/// `scenarios` and `lessons`: each shipped file's name and its own name or title.
fn list_shipped(kind: Kind) -> ExitCode {
    let rows: Vec<(&str, String)> = source::shipped(kind)
        .map(|(name, f)| {
            let title = match kind {
                Kind::Lesson => deploysim::lesson::title_of(f.text),
                _ => deploysim::scenario::parse_str(name, f.text).ok().map(|s| s.name),
            };
            (name, title.unwrap_or_default())
        })
        .collect();
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, title) in rows {
        out.push_str(format!("{name:width$}  {title}").trim_end());
        out.push('\n');
    }
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    ExitCode::SUCCESS
}

/// A lesson file starts (after comments) with `Lesson(`.
fn is_lesson(path: &Path) -> bool {
    use std::io::Read;
    let mut head = String::new();
    let ok = std::fs::File::open(path).and_then(|f| f.take(4096).read_to_string(&mut head)).is_ok();
    ok && head
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("//"))
        .is_some_and(|l| l.trim_start_matches('\u{feff}').starts_with("Lesson"))
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let mut bad = 0;
    for f in files {
        if is_lesson(f) {
            match deploysim::lesson::load_lesson(f) {
                Ok(l) => println!("ok  {}  (lesson: {}, {} steps)", f.display(), l.lesson.title, l.lesson.steps.len()),
                Err(e) => {
                    file_error(&e);
                    bad += 1;
                }
            }
            continue;
        }
        match load_file(f) {
            Ok(s) if s.topology.is_some() => println!("ok  {}  ({}, topology)", f.display(), s.name),
            Ok(s) => match &s.serverless {
                Some(sl) => println!("ok  {}  ({}, serverless, {})", f.display(), s.name, sl.deployment.name()),
                None => println!("ok  {}  ({}, strategy {})", f.display(), s.name, s.strategy.name()),
            },
            Err(e) => {
                file_error(&e);
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
         Run a scenario headless:  deploysim run rolling\n\
         Shipped scenarios:        deploysim scenarios\n\
         All commands:             deploysim --help"
    );
    ExitCode::from(2)
}
