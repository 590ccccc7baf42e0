//! The conventions of the command line: shell completions and man pages generated from
//! the command definitions, and `--json` documents that carry `schema_version` and
//! validate against the JSON Schemas shipped in `docs/schema/` — for every shipped
//! scenario's `run --json`, and for a compare, a batch and a sweep.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use deploysim::report::schema::{SCHEMA_VERSION, SCHEMAS, schema_text};

/// The commands the README documents.
const COMMANDS: [&str; 12] =
    ["run", "compare", "batch", "sweep", "merge", "flags", "validate", "lesson", "gui", "completions", "man", "schema"];

fn deploysim(args: &[&str]) -> std::process::Output {
    match Command::new(env!("CARGO_BIN_EXE_deploysim")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot start deploysim: {e}"),
    }
}

fn stdout(args: &[&str]) -> String {
    let o = deploysim(args);
    assert!(o.status.success(), "{args:?}: exit {:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("deploysim-conventions-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Whether a program can be started (`PROGRAM --version` runs).
fn have(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Runs `program args... file` on a script and asserts that it accepts it.
fn syntax_check(program: &str, args: &[&str], script: &str, name: &str) {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(name);
    std::fs::write(&file, script).expect("script written");
    let o = Command::new(program).args(args).arg(&file).output().expect("shell starts");
    assert!(
        o.status.success(),
        "{program} rejects the {name} completion script: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completion_scripts_name_every_command_and_parse() {
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&["completions", shell]);
        assert!(script.lines().count() > 20, "{shell}: a whole script, not {script:?}");
        for c in COMMANDS {
            // How each generator offers a subcommand of `deploysim`.
            let offered = match shell {
                "bash" => script.contains(&format!("deploysim,{c})")),
                "zsh" => script.contains(&format!("'{c}:")),
                _ => script.contains(&format!("-f -a \"{c}\"")),
            };
            assert!(offered, "{shell} completion does not offer `{c}`");
        }
        // Options of a subcommand are completed too.
        let option = match shell {
            "bash" => "opts=\"-h --seeds --strategies",
            "zsh" => "'--seeds=[",
            _ => "__fish_deploysim_using_subcommand batch\" -l seeds",
        };
        assert!(script.contains(option), "{shell}: `batch --seeds` is not completed");
    }
    let bash = stdout(&["completions", "bash"]);
    assert!(bash.contains("complete -F _deploysim"), "registers a bash completion function");
    if have("bash") {
        syntax_check("bash", &["-n"], &bash, "deploysim.bash");
    }
    if have("zsh") {
        syntax_check("zsh", &["-n"], &stdout(&["completions", "zsh"]), "_deploysim");
    }
    if have("fish") {
        syntax_check("fish", &["--no-execute"], &stdout(&["completions", "fish"]), "deploysim.fish");
    }
    let bad = deploysim(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2), "an unknown shell is bad input");
}

/// The `.TH` line of a roff page (after the string definitions that precede it).
fn title(page: &str) -> &str {
    page.lines().find(|l| l.starts_with(".TH ")).unwrap_or_default()
}

#[test]
fn man_page_has_a_title_and_every_command() {
    let page = stdout(&["man"]);
    assert!(title(&page).starts_with(".TH DEPLOYSIM 1 "), "roff title line: {:?}", title(&page));
    // The footer names the program and its version.
    let source = format!("\"deploysim {}\"", env!("CARGO_PKG_VERSION"));
    assert!(title(&page).contains(&source), "{:?}", title(&page));
    assert!(page.contains(".SH NAME") && page.contains(".SH SYNOPSIS") && page.contains(".SH SUBCOMMANDS"));
    for c in COMMANDS {
        // roff escapes the hyphen of `deploysim-run(1)`.
        assert!(page.contains(&format!("deploysim\\-{c}(1)")), "the man page does not list `{c}`");
    }

    let dir = temp_dir("man");
    let listed = stdout(&["man", "--out", dir.to_str().expect("utf-8 path")]);
    assert_eq!(std::fs::read_to_string(dir.join("deploysim.1")).expect("deploysim.1 written"), page);
    for c in COMMANDS {
        let file = dir.join(format!("deploysim-{c}.1"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let expected = format!(".TH DEPLOYSIM-{} 1 ", c.to_uppercase());
        assert!(title(&text).starts_with(&expected), "{}: {:?}", file.display(), title(&text));
        assert!(title(&text).contains(&source), "{}: {:?}", file.display(), title(&text));
        assert!(listed.contains(&file.display().to_string()), "`man --out` lists {}", file.display());
    }
    // The `run` page documents its options.
    let run = std::fs::read_to_string(dir.join("deploysim-run.1")).expect("written");
    assert!(run.contains("\\-\\-json") && run.contains("\\-\\-seed"), "{run}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn schema_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema").join(format!("{name}.json"))
}

#[test]
fn shipped_schemas_are_what_the_types_generate() {
    for name in SCHEMAS {
        let generated = schema_text(name).expect("a schema");
        let shipped = std::fs::read_to_string(schema_path(name)).unwrap_or_default();
        assert!(
            shipped == generated,
            "docs/schema/{name}.json differs from what the types generate; regenerate with \
             `cargo run --release --no-default-features -- schema --out docs/schema`"
        );
        // The command prints the same text.
        assert_eq!(stdout(&["schema", name]), generated);
    }
    let dir = temp_dir("schema");
    stdout(&["schema", "--out", dir.to_str().expect("utf-8 path")]);
    for name in SCHEMAS {
        assert_eq!(std::fs::read_to_string(dir.join(format!("{name}.json"))).ok(), schema_text(name));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The shipped schema file, compiled.
fn validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(schema_path(name)).expect("schema shipped");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}.json is not a valid schema: {e}"))
}

/// Parses one line of `--json` output, checks `schema_version` leads it, and validates it.
fn check(v: &jsonschema::Validator, what: &str, out: &str) -> serde_json::Value {
    assert_eq!(out.trim().lines().count(), 1, "{what}: one line of JSON");
    assert!(
        out.starts_with("{\"schema_version\":"),
        "{what}: schema_version comes first: {}",
        &out[..out.len().min(80)]
    );
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
    assert_eq!(doc["schema_version"], SCHEMA_VERSION, "{what}");
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path())).take(5).collect();
    assert!(errors.is_empty(), "{what} does not match its schema:\n{}", errors.join("\n"));
    doc
}

#[test]
fn every_shipped_scenario_run_json_matches_the_run_schema() {
    assert_eq!(SCHEMA_VERSION, 2, "the README documents schema_version 2");
    let files = common::shipped_scenarios();
    assert!(files.len() >= 30, "{} scenarios", files.len());
    let run = validator("run");
    // Two workers share the files; each run is its own process.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let outputs: Vec<(PathBuf, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(f) = files.get(i) else { break done };
                        let name = f.to_str().expect("utf-8 path");
                        done.push((f.clone(), stdout(&["run", name, "--json"])));
                    }
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("worker")).collect()
    });
    assert_eq!(outputs.len(), files.len());
    let mut kinds = std::collections::BTreeSet::new();
    let mut summary_keys: Option<Vec<String>> = None;
    for (f, out) in &outputs {
        let doc = check(&run, &f.display().to_string(), out);
        let scenario = deploysim::scenario::load_file(f).expect("loads");
        // A rollout of one service, of a graph, of a function and a release stream print
        // the same keys, with the engine's own report under `detail`.
        let mark = if scenario.serverless.is_some() {
            "/detail/serverless"
        } else if scenario.topology.is_some() {
            "/detail/topology"
        } else if scenario.continuous.is_some() {
            "/detail/continuous/strategies"
        } else {
            "/strategy"
        };
        let kind = deploysim::headless_kind(&scenario).unwrap_or("single-service");
        assert!(doc.pointer(mark).is_some(), "{}: a {kind} run has `{mark}`", f.display());
        let mut keys: Vec<String> = doc.as_object().expect("an object").keys().cloned().collect();
        keys.sort();
        match &summary_keys {
            None => summary_keys = Some(keys),
            Some(k) => assert_eq!(&keys, k, "{}: a {kind} run has other keys", f.display()),
        }
        kinds.insert(mark);
    }
    assert_eq!(kinds.len(), 4, "the shipped scenarios cover all four shapes: {kinds:?}");

    // The schema is not vacuous: a document with a field missing, of the wrong type, or
    // of another version does not match.
    let (_, out) = outputs.iter().find(|(f, _)| f.ends_with("rolling-bad-release.ron")).expect("shipped");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    let mut missing = doc.clone();
    missing.as_object_mut().expect("object").remove("blast_radius_users");
    assert!(!run.is_valid(&missing), "a summary without blast_radius_users matches");
    let mut wrong = doc.clone();
    wrong["requests"] = serde_json::json!("many");
    assert!(!run.is_valid(&wrong), "a string where a count belongs matches");
    let mut other = doc;
    other["schema_version"] = serde_json::json!(SCHEMA_VERSION + 1);
    assert!(!run.is_valid(&other), "another schema_version matches");
}

#[test]
fn compare_batch_and_sweep_json_match_their_schemas() {
    let compare = stdout(&["compare", "scenarios/compare-bad-release.ron", "--strategies", "rolling,canary", "--json"]);
    let doc = check(&validator("compare"), "compare", &compare);
    let runs = doc["runs"].as_array().expect("runs is an array");
    let names: Vec<&str> = runs.iter().filter_map(|r| r["strategy"].as_str()).collect();
    assert_eq!(names, ["rolling", "canary"]);
    // Each entry is a `run --json` summary and matches the run schema once versioned.
    let mut one = runs[0].clone();
    one["schema_version"] = serde_json::json!(SCHEMA_VERSION);
    assert!(validator("run").is_valid(&one));
    // The array `compare --json` printed before schema_version does not match.
    assert!(!validator("compare").is_valid(&doc["runs"]));

    let args = ["--seeds", "3", "--strategies", "rolling,canary", "--quiet", "--json"];
    let batch = stdout(&[&["batch", "scenarios/canary-bad-release.ron"][..], &args].concat());
    let doc = check(&validator("batch"), "batch", &batch);
    assert_eq!(doc["command"], "batch");
    assert_eq!(doc["points"][0]["strategies"][1]["runs"], 3);
    assert!(!validator("sweep").is_valid(&doc), "a batch is not a sweep");

    let sweep = stdout(
        &[&["sweep", "scenarios/canary-bad-release.ron", "--set", "release.defects[0].ErrorRate=0.01,0.05"][..], &args]
            .concat(),
    );
    let doc = check(&validator("sweep"), "sweep", &sweep);
    assert_eq!(doc["points"].as_array().map(Vec::len), Some(2));
    assert_eq!(doc["points"][1]["params"][0], "release.defects[0].ErrorRate=0.05");
    assert!(!validator("batch").is_valid(&doc), "a sweep is not a batch");
}
