//! Bad scenario files given to the command line.
//!
//! Every case runs the compiled binary as `deploysim validate FILE` and as
//! `deploysim run FILE` and requires a clean rejection: a non-zero exit code that is not
//! a panic (101) or a signal, no "panicked" on stderr, and an error on stderr of the form
//! `FILE:LINE:COL: ...` that names the field where there is one.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEPLOYSIM: &str = env!("CARGO_BIN_EXE_deploysim");

/// Largest scenario file accepted (`MAX_FILE_BYTES` in `src/scenario/load.rs`).
const MAX_FILE_BYTES: usize = 1 << 20;

/// Longest a single command may take before it counts as a hang.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// A directory of its own for one test, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("deploysim-bad-input-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cannot create the test's temp dir");
        TempDir(dir)
    }

    /// Writes `contents` to `name` in this directory and returns its path.
    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("cannot write a test file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A scenario whose extra `fields` start on line 4, after `name` and `duration`.
fn scenario_with(fields: &str) -> String {
    format!("Scenario(\n    name: \"bad\",\n    duration: \"10m\",\n    {fields}\n)\n")
}

/// Runs `cmd` with stdout discarded; returns its exit code (`None`: killed by a signal)
/// and stderr. Fails the test if it runs longer than [`TIME_LIMIT`].
fn exit_code_and_stderr(mut cmd: Command) -> (Option<i32>, String) {
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("cannot start deploysim");
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    // A hung process is caught by wall time.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for deploysim") {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (status.code(), reader.join().expect("stderr reader"))
}

/// The `LINE:COL` that follows `prefix` in `text`, if `prefix` is followed by
/// `<digits>:<digits>:`.
fn position_after(text: &str, prefix: &str) -> Option<(u32, u32)> {
    text.match_indices(prefix).find_map(|(at, _)| {
        let rest = &text[at + prefix.len()..];
        let (line, rest) = rest.split_once(':')?;
        let (col, _) = rest.split_once(':')?;
        Some((line.parse().ok()?, col.parse().ok()?))
    })
}

/// Checks one command's clean rejection and returns the reported `(line, col)` in
/// `located_in`.
fn check_rejected(
    what: &str,
    (code, stderr): (Option<i32>, String),
    located_in: &Path,
    needles: &[&str],
) -> (u32, u32) {
    assert!(!stderr.contains("panicked"), "`{what}` panicked:\n{stderr}");
    match code {
        None => panic!("`{what}` was killed by a signal; stderr:\n{stderr}"),
        Some(0) => panic!("`{what}` accepted the file; stderr:\n{stderr}"),
        Some(101) => panic!("`{what}` exited with 101 (a panic); stderr:\n{stderr}"),
        Some(_) => {}
    }
    let prefix = format!("{}:", located_in.display());
    let Some(position) = position_after(&stderr, &prefix) else {
        panic!("`{what}`: stderr does not contain `{prefix}LINE:COL:`:\n{stderr}");
    };
    for needle in needles {
        assert!(stderr.contains(needle), "`{what}`: stderr does not mention `{needle}`:\n{stderr}");
    }
    position
}

/// Runs `deploysim validate FILE` and `deploysim run FILE`; both must reject the file
/// cleanly with an error at a position in `located_in` that mentions every needle.
/// Returns the `(line, col)` reported by `validate`.
fn assert_rejected_at(file: &Path, located_in: &Path, needles: &[&str]) -> (u32, u32) {
    let mut position = None;
    for subcommand in ["validate", "run"] {
        let mut cmd = Command::new(DEPLOYSIM);
        cmd.arg(subcommand).arg(file);
        let what = format!("deploysim {subcommand} {}", file.display());
        let at = check_rejected(&what, exit_code_and_stderr(cmd), located_in, needles);
        position.get_or_insert(at);
    }
    position.expect("two commands ran")
}

/// [`assert_rejected_at`] for errors located in the scenario file itself.
fn assert_rejected(file: &Path, needles: &[&str]) -> (u32, u32) {
    assert_rejected_at(file, file, needles)
}

// ---- Syntax ------------------------------------------------------------------------

#[test]
fn a_missing_comma_is_reported_where_the_comma_is_expected() {
    let dir = TempDir::new("missing_comma");
    let file = dir.write("bad.ron", "Scenario(\n    name: \"bad\"\n    duration: \"10m\",\n)\n");
    let (line, _) = assert_rejected(&file, &["comma"]);
    assert_eq!(line, 3, "the comma is missing before line 3");
}

#[test]
fn a_stray_bracket_is_reported_on_its_line_with_the_enclosing_field() {
    let dir = TempDir::new("stray_bracket");
    let file = dir.write("bad.ron", scenario_with("fleet: (replicas: 3]),"));
    let (line, _) = assert_rejected(&file, &["fleet"]);
    assert_eq!(line, 4);
}

#[test]
fn a_file_cut_off_in_the_middle_is_rejected_with_a_position() {
    let dir = TempDir::new("truncated");
    let text = std::fs::read_to_string(scenarios_dir().join("rolling.ron")).expect("scenarios/rolling.ron is readable");
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let file = dir.write("truncated.ron", &text[..cut]);
    assert_rejected(&file, &[]);
}

#[test]
fn a_file_missing_its_closing_parenthesis_is_rejected_with_a_position() {
    let dir = TempDir::new("unclosed");
    let file = dir.write("unclosed.ron", "Scenario(\n    name: \"bad\",\n    duration: \"10m\",\n");
    assert_rejected(&file, &[]);
}

#[test]
fn an_empty_file_is_rejected_at_its_start() {
    let dir = TempDir::new("empty");
    let file = dir.write("empty.ron", "");
    assert_eq!(assert_rejected(&file, &[]), (1, 1));
}

// ---- Schema ------------------------------------------------------------------------

#[test]
fn an_unknown_field_is_named_and_located() {
    let dir = TempDir::new("unknown_field");
    let file = dir.write("bad.ron", scenario_with("fleet: (replicaz: 3),"));
    let (line, _) = assert_rejected(&file, &["fleet.replicaz", "`replicas`"]);
    assert_eq!(line, 4);
}

#[test]
fn an_unknown_top_level_field_is_named() {
    let dir = TempDir::new("unknown_top_field");
    let file = dir.write("bad.ron", scenario_with("fleat: (replicas: 3),"));
    let (line, _) = assert_rejected(&file, &["fleat", "`fleet`"]);
    assert_eq!(line, 4);
}

#[test]
fn a_missing_required_field_is_named() {
    let dir = TempDir::new("missing_field");
    let file = dir.write("bad.ron", "Scenario(name: \"bad\")\n");
    assert_rejected(&file, &["duration"]);
}

#[test]
fn a_string_where_a_number_belongs_is_rejected_at_the_field() {
    let dir = TempDir::new("string_for_number");
    let file = dir.write("bad.ron", scenario_with("fleet: (replicas: \"3\"),"));
    let (line, _) = assert_rejected(&file, &["fleet.replicas"]);
    assert_eq!(line, 4);
}

// ---- Drawn as rustc draws errors ---------------------------------------------------

/// The text of `deploysim run FILE`'s error (stderr is a pipe, so it has no colour) and
/// its exit code.
fn run_error(file: &Path) -> (Option<i32>, String) {
    let mut cmd = Command::new(DEPLOYSIM);
    cmd.arg("run").arg(file).env_remove("NO_COLOR");
    exit_code_and_stderr(cmd)
}

/// In `stderr`, the line that shows `source` after a `N |` gutter, and the line under
/// it: returns the 1-based column (in `source`) where the carets start and how many
/// there are.
fn carets_under(stderr: &str, line: usize, source: &str) -> (usize, usize) {
    let lines: Vec<&str> = stderr.lines().collect();
    let shown = format!("{line} | {source}");
    let Some(at) = lines.iter().position(|l| l.trim_start() == shown) else {
        panic!("stderr does not show line {line} `{source}`:\n{stderr}");
    };
    let gutter = lines[at].len() - source.len();
    let under = lines.get(at + 1).copied().unwrap_or_default();
    assert!(under.len() > gutter && under[..gutter].trim() == "|", "no caret line under `{source}`:\n{stderr}");
    let marks = &under[gutter..];
    let start = marks.find('^').unwrap_or_else(|| panic!("no `^` under `{source}`:\n{stderr}"));
    let count = marks[start..].chars().take_while(|&c| c == '^').count();
    (start + 1, count)
}

#[test]
fn a_type_error_shows_its_line_with_a_caret_under_the_value() {
    let dir = TempDir::new("caret_type_error");
    let text = scenario_with("fleet: (replicas: \"3\"),");
    let file = dir.write("bad.ron", &text);
    let source = text.lines().nth(3).expect("line 4");
    // The value `"3"` (with its quotes) is the span; columns count from 1.
    let col = source.find("\"3\"").expect("the fixture has the value") + 1;
    let (code, stderr) = run_error(&file);
    assert_eq!(code, Some(2), "bad input exits 2:\n{stderr}");
    let name = file.display();
    assert!(stderr.contains(&format!("error: {name}:4:{col}: fleet.replicas: ")), "{stderr}");
    assert!(stderr.contains("whole number from 1 to 10000") && stderr.contains("\"3\""), "{stderr}");
    assert!(stderr.lines().any(|l| l.trim_start() == format!("--> {name}:4:{col}")), "{stderr}");
    assert_eq!(carets_under(&stderr, 4, source), (col, "\"3\"".len()), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour when stderr is not a terminal:\n{stderr}");
}

#[test]
fn an_unknown_field_is_marked_and_the_allowed_fields_are_listed() {
    let dir = TempDir::new("caret_unknown_field");
    let text = scenario_with("fleet: (replicaz: 3),");
    let file = dir.write("bad.ron", &text);
    let source = text.lines().nth(3).expect("line 4");
    let col = source.find("replicaz").expect("the fixture has the field") + 1;
    let (code, stderr) = run_error(&file);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:4:{col}: fleet.replicaz: unknown field `replicaz`", file.display())),
        "{stderr}"
    );
    assert_eq!(carets_under(&stderr, 4, source), (col, "replicaz".len()), "{stderr}");
    // The fields of `fleet` as the README documents them, in their order.
    let allowed =
        "= help: allowed fields: `replicas`, `zones`, `version`, `instance`, `readiness`, `drain_timeout`, `mtbf`";
    assert!(stderr.lines().any(|l| l.trim_start() == allowed), "{stderr}");
}

#[test]
fn an_unknown_strategy_is_marked_and_the_strategies_are_listed() {
    let dir = TempDir::new("caret_unknown_variant");
    let text = scenario_with("strategy: Rollin(),");
    let file = dir.write("bad.ron", &text);
    let source = text.lines().nth(3).expect("line 4");
    let col = source.find("Rollin").expect("the fixture has the variant") + 1;
    let (code, stderr) = run_error(&file);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("unknown variant `Rollin`"), "{stderr}");
    assert_eq!(carets_under(&stderr, 4, source), (col, "Rollin".len()), "{stderr}");
    let help = stderr.lines().find(|l| l.trim_start().starts_with("= help: allowed variants: ")).unwrap_or_default();
    for name in ["None", "Recreate", "Rolling", "BlueGreen", "Canary", "Flagger", "CodeDeploy", "Shadow", "InPlace"] {
        assert!(help.contains(&format!("`{name}`")), "`{name}` is not listed:\n{stderr}");
    }
}

#[test]
fn a_broken_rule_marks_its_field_and_a_trace_row_its_csv_line() {
    let dir = TempDir::new("caret_rule");
    let text = scenario_with("service: (latency: LogNormal(median: \"40ms\", p99: \"10ms\")),");
    let file = dir.write("bad.ron", &text);
    let source = text.lines().nth(3).expect("line 4");
    let col = source.find("p99").expect("the fixture has p99") + 1;
    let (code, stderr) = run_error(&file);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("service.latency.p99: must be longer than `median`"), "{stderr}");
    assert_eq!(carets_under(&stderr, 4, source), (col, "p99".len()), "{stderr}");

    dir.write("x.csv", "seconds,rps\n0,100\n10,abc\n");
    let file = dir.write("trace.ron", scenario_with("traffic: (rate: Trace(file: \"x.csv\")),"));
    let (code, stderr) = run_error(&file);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(carets_under(&stderr, 3, "10,abc"), (1, "10,abc".len()), "{stderr}");
}

// ---- Numbers -----------------------------------------------------------------------

#[test]
fn a_negative_replica_count_is_rejected_at_the_field() {
    let dir = TempDir::new("negative_replicas");
    let file = dir.write("bad.ron", scenario_with("fleet: (replicas: -3),"));
    let (line, _) = assert_rejected(&file, &["fleet.replicas", "-3"]);
    assert_eq!(line, 4);
}

#[test]
fn a_negative_rate_is_rejected_at_the_field() {
    let dir = TempDir::new("negative_rps");
    let file = dir.write("bad.ron", scenario_with("traffic: (rate: Constant(rps: -5)),"));
    let (line, _) = assert_rejected(&file, &["rps", "-5"]);
    assert_eq!(line, 4);
}

#[test]
fn a_nan_rate_is_rejected_at_the_field() {
    let dir = TempDir::new("nan_rps");
    let file = dir.write("bad.ron", scenario_with("traffic: (rate: Constant(rps: NaN)),"));
    let (line, _) = assert_rejected(&file, &["rps", "NaN"]);
    assert_eq!(line, 4);
}

#[test]
fn an_infinite_rate_is_rejected_at_the_field() {
    let dir = TempDir::new("inf_rps");
    let file = dir.write("bad.ron", scenario_with("traffic: (rate: Constant(rps: inf)),"));
    let (line, _) = assert_rejected(&file, &["rps", "inf"]);
    assert_eq!(line, 4);
}

#[test]
fn a_float_that_overflows_to_infinity_is_rejected_at_the_field() {
    let dir = TempDir::new("overflowing_rps");
    let file = dir.write("bad.ron", scenario_with("traffic: (rate: Constant(rps: 1e999)),"));
    let (line, _) = assert_rejected(&file, &["rps"]);
    assert_eq!(line, 4);
}

#[test]
fn an_absurd_user_count_is_rejected_with_the_limit() {
    let dir = TempDir::new("absurd_users");
    let file = dir.write("bad.ron", scenario_with("traffic: (users: 99999999999),"));
    let (line, _) = assert_rejected(&file, &["traffic.users", "10000000"]);
    assert_eq!(line, 4);
}

#[test]
fn a_user_count_beyond_64_bits_is_rejected_at_the_field() {
    let dir = TempDir::new("huge_users");
    let file = dir.write("bad.ron", scenario_with("traffic: (users: 99999999999999999999999999),"));
    let (line, _) = assert_rejected(&file, &["traffic.users"]);
    assert_eq!(line, 4);
}

#[test]
fn an_absurd_replica_count_is_rejected_with_the_limit() {
    let dir = TempDir::new("absurd_replicas");
    let file = dir.write("bad.ron", scenario_with("fleet: (replicas: 1000000),"));
    let (line, _) = assert_rejected(&file, &["fleet.replicas", "10000"]);
    assert_eq!(line, 4);
}

#[test]
fn a_rate_times_duration_over_the_request_limit_is_rejected() {
    let dir = TempDir::new("too_many_requests");
    let file = dir.write(
        "bad.ron",
        "Scenario(\n    name: \"bad\",\n    duration: \"7d\",\n    traffic: (rate: Constant(rps: 1000000)),\n)\n",
    );
    let (line, _) = assert_rejected(&file, &["traffic.rate", "limit"]);
    assert_eq!(line, 4);
}

// ---- Durations and latencies -------------------------------------------------------

#[test]
fn a_duration_with_an_unknown_unit_lists_the_allowed_units() {
    let dir = TempDir::new("fortnights");
    let file = dir.write("bad.ron", "Scenario(\n    name: \"bad\",\n    duration: \"5 fortnights\",\n)\n");
    let (line, _) = assert_rejected(&file, &["duration", "fortnights", "ms"]);
    assert_eq!(line, 3);
}

#[test]
fn a_duration_without_a_unit_is_rejected() {
    let dir = TempDir::new("no_unit");
    let file = dir.write("bad.ron", "Scenario(\n    name: \"bad\",\n    duration: \"30\",\n)\n");
    let (line, _) = assert_rejected(&file, &["duration", "unit"]);
    assert_eq!(line, 3);
}

#[test]
fn a_scenario_longer_than_seven_days_is_rejected() {
    let dir = TempDir::new("eight_days");
    let file = dir.write("bad.ron", "Scenario(\n    name: \"bad\",\n    duration: \"8d\",\n)\n");
    let (line, _) = assert_rejected(&file, &["duration", "7d"]);
    assert_eq!(line, 3);
}

#[test]
fn a_p99_below_the_median_is_rejected_at_the_p99() {
    let dir = TempDir::new("p99_below_median");
    let file = dir.write("bad.ron", scenario_with("service: (latency: LogNormal(median: \"300ms\", p99: \"40ms\")),"));
    let (line, _) = assert_rejected(&file, &["service.latency.p99", "median"]);
    assert_eq!(line, 4);
}

// ---- Strategy ----------------------------------------------------------------------

#[test]
fn a_rolling_strategy_without_a_release_is_rejected_at_the_strategy() {
    let dir = TempDir::new("rolling_without_release");
    let file = dir.write("bad.ron", scenario_with("strategy: Rolling(),"));
    let (line, _) = assert_rejected(&file, &["strategy", "release"]);
    assert_eq!(line, 4);
}

// ---- The file itself ---------------------------------------------------------------

#[test]
fn a_file_that_does_not_exist_is_named() {
    let dir = TempDir::new("does_not_exist");
    let file = dir.0.join("no-such-scenario.ron");
    assert_eq!(assert_rejected(&file, &["cannot read"]), (1, 1));
}

#[test]
fn a_directory_given_as_the_file_is_rejected() {
    let dir = TempDir::new("directory");
    assert_rejected(&dir.0, &["cannot read"]);
}

#[test]
fn a_file_that_is_not_utf8_is_rejected() {
    let dir = TempDir::new("not_utf8");
    let file = dir.write("latin1.ron", b"Scenario(name: \"caf\xe9\", duration: \"1m\")\n");
    assert_eq!(assert_rejected(&file, &["UTF-8"]), (1, 1));
}

/// `Scenario(name: "x", duration: "1m")` padded with a comment to exactly `len` bytes.
fn valid_scenario_of_len(len: usize) -> String {
    let mut text = String::from("Scenario(name: \"x\", duration: \"1m\")\n// ");
    text.push_str(&"x".repeat(len - text.len()));
    text
}

#[test]
fn a_file_over_one_mebibyte_is_rejected_with_the_limit() {
    let dir = TempDir::new("over_1mib");
    let file = dir.write("big.ron", valid_scenario_of_len(MAX_FILE_BYTES + 1));
    assert_eq!(assert_rejected(&file, &["1048576"]), (1, 1));
}

#[test]
fn a_file_of_exactly_one_mebibyte_is_accepted() {
    let dir = TempDir::new("exactly_1mib");
    let file = dir.write("big.ron", valid_scenario_of_len(MAX_FILE_BYTES));
    let mut cmd = Command::new(DEPLOYSIM);
    cmd.arg("validate").arg(&file);
    let (code, stderr) = exit_code_and_stderr(cmd);
    assert_eq!(code, Some(0), "a 1 MiB file is within the limit:\n{stderr}");
}

/// A device reports a length of 0, so only a bounded read keeps it from filling memory.
/// The command runs with its address space limited to ~1 GB so that a regression
/// fails the test instead of exhausting the machine's memory.
#[cfg(target_os = "linux")]
#[test]
fn an_endless_device_is_cut_off_at_the_size_limit() {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "ulimit -v 1000000 && exec \"$@\"", "sh", DEPLOYSIM]).args(["validate", "/dev/zero"]);
    let position =
        check_rejected("deploysim validate /dev/zero", exit_code_and_stderr(cmd), Path::new("/dev/zero"), &["1048576"]);
    assert_eq!(position, (1, 1));
}

// ---- Trace CSV ---------------------------------------------------------------------

#[test]
fn a_bad_row_in_a_trace_csv_is_reported_at_its_csv_line() {
    let dir = TempDir::new("trace_bad_row");
    let csv = dir.write("x.csv", "seconds,rps\n0,100\n10,abc\n20,100\n");
    let file = dir.write("bad.ron", scenario_with("traffic: (rate: Trace(file: \"x.csv\")),"));
    let (line, _) = assert_rejected_at(&file, &csv, &["10,abc"]);
    assert_eq!(line, 3, "`10,abc` is on line 3 of the CSV");
}

#[test]
fn a_missing_trace_csv_is_named_at_the_file_field() {
    let dir = TempDir::new("trace_missing");
    let file = dir.write("bad.ron", scenario_with("traffic: (rate: Trace(file: \"nowhere.csv\")),"));
    let (line, _) = assert_rejected(&file, &["traffic.rate.file", "nowhere.csv"]);
    assert_eq!(line, 4);
}

// ---- The shipped scenarios ---------------------------------------------------------

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

#[test]
fn every_shipped_scenario_validates() {
    let files = common::shipped_scenarios();
    assert!(!files.is_empty(), "scenarios/*.ron is empty");
    for file in files {
        let mut cmd = Command::new(DEPLOYSIM);
        cmd.arg("validate").arg(&file);
        let (code, stderr) = exit_code_and_stderr(cmd);
        assert_eq!(code, Some(0), "`deploysim validate {}` failed:\n{stderr}", file.display());
    }
}

/// Thousands of small corruptions of every shipped scenario: parsing either succeeds or
/// returns an error with a position — it never panics. (Mutations are drawn from a
/// fixed-seed generator so the test is repeatable.)
#[test]
fn corrupted_scenarios_never_panic_the_parser() {
    let files = common::shipped_scenarios();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    const JUNK: &[&str] = &[
        "",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "-",
        "1e999",
        "NaN",
        "-1",
        "99999999999999999999",
        "Some(",
        "x",
        "\u{feff}",
        "%",
        "ms",
    ];
    let mut parsed = 0;
    let mut runs = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        for _ in 0..150 {
            let mut t = text.clone();
            for _ in 0..(1 + next() % 3) {
                let mut at = (next() % (t.len() as u64 + 1)) as usize;
                while !t.is_char_boundary(at) {
                    at -= 1;
                }
                let junk = JUNK[(next() % JUNK.len() as u64) as usize];
                let cut = ((next() % 4) as usize).min(t.len() - at);
                let mut end = at + cut;
                while !t.is_char_boundary(end) {
                    end += 1;
                }
                t.replace_range(at..end, junk);
            }
            match deploysim::scenario::parse_str("fuzz.ron", &t) {
                Ok(s) => {
                    parsed += 1;
                    // A valid but odd scenario must run without a panic, too (small ones).
                    let secs = s.duration.as_secs_f64();
                    if s.traffic.rate.mean_rps(secs) * secs < 400_000.0
                        && runs < 60
                        && !matches!(s.traffic.rate, deploysim::scenario::RateProfile::Trace(_))
                    {
                        runs += 1;
                        if s.serverless.is_some() {
                            let r = deploysim::serverless::run(&s).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                            assert_eq!(r.requests, r.successes + r.errors + r.throttles, "{}", f.display());
                            continue;
                        }
                        if s.topology.is_some() {
                            deploysim::topology::run(&s).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                        }
                        let mut sim = deploysim::sim::Simulation::new(std::sync::Arc::new(s));
                        sim.run_to_end();
                        sim.audit().unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                    }
                }
                Err(e) => assert!(e.line >= 1 && e.col >= 1 && !e.message().is_empty(), "{e:?}"),
            }
        }
    }
    // Some mutations land in comments or keep the file valid; most do not.
    assert!(parsed > 0 && parsed < files.len() * 150);
}

/// Settings the serverless and topology engines do not model are refused, not ignored:
/// each names its field.
#[test]
fn settings_a_headless_engine_would_ignore_are_refused() {
    let dir = TempDir::new("headless_ignored");
    for (shipped, extra, needles) in [
        (
            "serverless-linear.ron",
            r#"random_faults: [(mtbf: "15m", fault: CrashInstances(count: 1))],"#,
            &["random_faults", "not supported in a serverless scenario"][..],
        ),
        (
            "retry-storm.ron",
            r#"faults: [(at: "2m", fault: CrashInstances(count: 2))],"#,
            &["faults", "not supported in a topology scenario", "topology.faults"],
        ),
        (
            "retry-storm.ron",
            r#"random_faults: [(mtbf: "15m", fault: CrashInstances(count: 1))],"#,
            &["random_faults", "not supported in a topology scenario"],
        ),
    ] {
        let text = std::fs::read_to_string(Path::new("scenarios").join(shipped)).expect("shipped scenario");
        let end = text.rfind(')').expect("closing parenthesis");
        let edited = format!("{}    {extra}\n{}", &text[..end], &text[end..]);
        let file = dir.write(shipped, edited);
        assert_rejected(&file, needles);
    }
}
