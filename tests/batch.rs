//! Batch runs, sweeps, shards and reports: results independent of the thread count,
//! shards that merge into the unsharded result, confidence intervals with the coverage
//! they claim, clear errors for bad sweep paths, and reports whose files decode.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

use deploysim::batch::{self, Partial, Shard, aggregate};
use deploysim::sim::Simulation;

const CANARY: &str = r#"Scenario(name: "batch canary", seed: 100, duration: "15m",
    traffic: (users: 5000, rate: Constant(rps: 60)),
    fleet: (replicas: 6, instance: (boot: "10s")),
    router: (mode: Weighted),
    release: (at: "2m", defects: [ErrorRate(0.05)]),
    strategy: Canary(steps: [SetWeight(20), Pause("2m"), SetWeight(50), Pause("2m")],
                     analysis: (interval: "1m", checks: [SuccessRate(0.99)])),
)"#;

fn variants(s: &deploysim::scenario::Scenario) -> Vec<(String, deploysim::scenario::StrategySpec)> {
    deploysim::compare_variants(s, Some(&["canary".to_string(), "rolling".to_string()])).expect("variants")
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let s = scenario(CANARY);
    let v = variants(&s);
    let one =
        batch::run_items(std::slice::from_ref(&s), std::slice::from_ref(&v), 12, Shard::WHOLE, 1, false).expect("runs");
    let two =
        batch::run_items(std::slice::from_ref(&s), std::slice::from_ref(&v), 12, Shard::WHOLE, 2, false).expect("runs");
    assert_eq!(one, two);
    assert_eq!(one.len(), 24);
    let names: Vec<String> = v.iter().map(|x| x.0.clone()).collect();
    assert_eq!(aggregate(&one, &names, 0), aggregate(&two, &names, 0));
}

#[test]
fn shards_merged_equal_the_unsharded_run() {
    let s = scenario(CANARY);
    let v = variants(&s);
    let whole =
        batch::run_items(std::slice::from_ref(&s), std::slice::from_ref(&v), 10, Shard::WHOLE, 2, false).expect("runs");
    let part = |k| Partial {
        format: batch::PARTIAL_FORMAT.into(),
        command: "batch".into(),
        scenario_name: s.name.clone(),
        fingerprint: "f".into(),
        seeds: 10,
        strategies: v.iter().map(|x| x.0.clone()).collect(),
        points: vec![vec![]],
        shard: Shard { k, n: 3 },
        results: batch::run_items(std::slice::from_ref(&s), std::slice::from_ref(&v), 10, Shard { k, n: 3 }, 1, false)
            .expect("runs"),
    };
    let merged = batch::merge(vec![part(3), part(1), part(2)]).expect("merges");
    assert_eq!(merged.results, whole);
    assert!(
        batch::merge(vec![part(1), part(2)]).expect_err("a shard is missing").to_string().contains("3/3 is missing")
    );
    assert!(batch::merge(vec![part(1), part(1), part(2)]).expect_err("twice").to_string().contains("given twice"));
}

/// A constant-rate scenario has exactly λT requests on average (a Poisson count), so
/// the 95 % confidence interval of the mean of `requests` over 20 seeds must cover
/// λT in about 95 % of 200 independent batches: Binomial(200, 0.95) lies in
/// [178, 199] with probability above 99.9 %.
#[test]
fn confidence_intervals_cover_the_true_mean_95_percent_of_the_time() {
    let (rate, secs) = (50.0, 60.0);
    let truth = rate * secs;
    let mut covered = 0;
    let reps = 200u64;
    for rep in 0..reps {
        let s = scenario(&format!(
            r#"Scenario(name: "poisson", seed: {}, duration: "{secs}s", traffic: (users: 1000, rate: Constant(rps: {rate})))"#,
            10_000 + rep * 20
        ));
        let v = vec![("none".to_string(), deploysim::scenario::StrategySpec::None)];
        let r = batch::run_items(std::slice::from_ref(&s), std::slice::from_ref(&v), 20, Shard::WHOLE, 2, false)
            .expect("runs");
        let stats = aggregate(&r, &["none".to_string()], 0);
        let m = &stats[0].metrics.iter().find(|m| m.0 == "requests").expect("requests").1;
        if m.ci_low <= truth && truth <= m.ci_high {
            covered += 1;
        }
    }
    assert!((178..=199).contains(&covered), "{covered} of {reps} intervals covered the true mean");
}

fn deploysim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_deploysim")).args(args).output().unwrap_or_else(|e| panic!("cannot start: {e}"))
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("deploysim-batch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// `batch` and `sweep` (here over a canary step's weight) print the same at `--jobs 1`
/// and `--jobs 2`, and their shards merge into the same output.
#[test]
fn cli_batch_output_is_identical_for_any_jobs_and_for_merged_shards() {
    let dir = temp("cli");
    let file = dir.join("s.ron");
    std::fs::write(&file, CANARY).expect("write");
    let f = file.to_str().expect("utf-8 path");
    for command in [vec!["batch", f], vec!["sweep", f, "--set", "strategy.steps[0].SetWeight=10,40"]] {
        let run = |extra: &[&str]| {
            let mut args = command.clone();
            args.extend_from_slice(&["--seeds", "6", "--strategies", "canary,rolling", "--quiet"]);
            args.extend_from_slice(extra);
            let o = deploysim(&args);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let one = run(&["--jobs", "1", "--json"]);
        assert_eq!(one, run(&["--jobs", "2", "--json"]), "{}", command[0]);
        let mut parts = Vec::new();
        for k in 1..=2 {
            let out = dir.join(format!("{}-part{k}.json", command[0]));
            let shard = format!("{k}/2");
            run(&["--shard", &shard, "--out", out.to_str().expect("path")]);
            parts.push(out);
        }
        let o = deploysim(&["merge", parts[1].to_str().expect("p"), parts[0].to_str().expect("p"), "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), one, "{}", command[0]);
    }
    // A partial result has no table, CSV or report: asking for one is an error, not ignored.
    let part = dir.join("p.json");
    let o = deploysim(&["batch", f, "--seeds", "2", "--out", part.to_str().expect("path"), "--json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("merge"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweep_paths_that_do_not_exist_are_clear_errors() {
    for (set, expect) in [
        ("fleet.replicaz=1,2", "no `replicaz` in `fleet`"),
        ("release.defects[4].ErrorRate=0.1", "has 1 entries"),
        ("strategy.steps[0].SetWeight=150", "from 0 to 100"),
    ] {
        let dir = temp("paths");
        let file = dir.join("s.ron");
        std::fs::write(&file, CANARY).expect("write");
        let o = deploysim(&["sweep", file.to_str().expect("path"), "--set", set, "--seeds", "2"]);
        assert_eq!(o.status.code(), Some(2), "{set}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expect), "{set}: {err}");
        assert!(!err.contains("panicked"));
    }
}

/// Every sweep point runs what a batch of the scenario with that value written into the
/// file runs: a swept strategy parameter, a parameter of a `compare` entry and a release
/// parameter each change the results, and each point equals the batch of the edited
/// text.
#[test]
fn each_sweep_point_runs_its_own_values() {
    // The batch canary with a `compare` entry.
    let text = CANARY.replacen(
        "\n)",
        "\n    compare: [(name: \"slow\", strategy: Rolling(max_surge: 1, max_unavailable: 0))],\n)",
        1,
    );
    assert!(text.contains("compare"));
    let base = scenario(&text);
    let names = ["canary".to_string(), "slow".to_string(), "rolling".to_string()];
    let variants = deploysim::compare_variants(&base, Some(&names)).expect("variants");
    for (path, values, (was, template)) in [
        ("strategy.steps[0].SetWeight", ["5", "60"], ("SetWeight(20)", "SetWeight(#)")),
        ("compare[0].strategy.max_surge", ["1", "3"], ("max_surge: 1", "max_surge: #")),
        ("release.defects[0].ErrorRate", ["0.05", "0.2"], ("ErrorRate(0.05)", "ErrorRate(#)")),
    ] {
        let mut got = Vec::new();
        for value in values {
            let point = batch::sweep::apply(&base, &[(path.to_string(), value.to_string())]).expect("applies");
            let at = batch::variants_at(&base, &point, &variants);
            let swept =
                batch::run_items(std::slice::from_ref(&point), std::slice::from_ref(&at), 3, Shard::WHOLE, 2, false)
                    .expect("runs");
            let written = text.replacen(was, &template.replace('#', value), 1);
            let direct = scenario(&written);
            let direct_v = deploysim::compare_variants(&direct, Some(&names)).expect("variants");
            let plain = batch::run_items(
                std::slice::from_ref(&direct),
                std::slice::from_ref(&direct_v),
                3,
                Shard::WHOLE,
                1,
                false,
            )
            .expect("runs");
            assert_eq!(swept, plain, "{path}={value}");
            got.push(swept);
        }
        assert_ne!(got[0], got[1], "{path}: both values gave the same runs");
    }
}

/// Checks that tags open and close in order (the report is written as XHTML).
fn well_formed(xml: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').ok_or("unclosed <")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or_else(|| format!("</{name}> closes nothing"))?;
            if open != name.trim() {
                return Err(format!("<{open}> closed by </{name}>"));
            }
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or("").to_string();
            stack.push(name);
        }
    }
    if stack.is_empty() { Ok(()) } else { Err(format!("unclosed: {stack:?}")) }
}

#[test]
fn reports_are_well_formed_and_every_chart_decodes() {
    let dir = temp("report");
    let file = dir.join("s.ron");
    std::fs::write(&file, CANARY).expect("write");
    let out = dir.join("rep");
    let o = deploysim(&[
        "sweep",
        file.to_str().expect("path"),
        "--set",
        "release.defects[0].ErrorRate=0.01,0.1",
        "--seeds",
        "3",
        "--strategies",
        "canary,rolling",
        "--report",
        out.to_str().expect("path"),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    well_formed(&html).unwrap_or_else(|e| panic!("report.html: {e}"));
    let mut charts: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .collect();
    charts.sort();
    assert!(charts.len() >= 10, "{charts:?}");
    for svg in &charts {
        let stem = svg.file_stem().and_then(|s| s.to_str()).expect("name");
        assert!(html.contains(&format!("id=\"chart-{stem}\"")), "report.html does not show {stem}");
        assert!(html.contains(&format!("{stem}.png")), "report.html does not link {stem}.png");
        decode_svg(svg);
        decode_png(&svg.with_extension("png"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn decode_svg(path: &Path) {
    let text = std::fs::read_to_string(path).expect("svg");
    assert!(!text.is_empty());
    resvg::usvg::Tree::from_str(&text, &resvg::usvg::Options::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn decode_png(path: &Path) {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r =
        png::Decoder::new(std::io::BufReader::new(f)).read_info().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; r.output_buffer_size().unwrap_or(0)];
    let info = r.next_frame(&mut buf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(info.width > 100 && info.height > 100);
    let first = &buf[..4];
    assert!(buf.chunks(4).any(|px| px != first), "{} is blank", path.display());
}

/// Every single-service scenario in `scenarios/` on two seeds. Long scenarios are cut to
/// ten minutes (a tape covers what they draw).
fn short_single_service_runs() -> Vec<(PathBuf, deploysim::scenario::Scenario)> {
    single_service_runs(600)
}

/// A run that reads its arrivals, users and service times from a seed's shared tape is
/// the same run as one that draws them itself: for every single-service scenario in
/// `scenarios/` (constant, diurnal, spike and step rates, faults, mirroring, flags,
/// the autoscaler, commands), on two seeds, the summaries and every per-second record
/// are equal. Each tape is drawn into the memory of the one before (as batch workers
/// do). A tape made for another seed is not used.
#[test]
fn a_shared_tape_changes_no_result() {
    use deploysim::sim::fast::tape::{RequestTape, TapeStorage};
    use std::sync::Arc;
    let mut checked = 0;
    let mut storage = TapeStorage::default();
    for (path, s) in short_single_service_runs() {
        let tape = Arc::new(RequestTape::new_in(&s, std::mem::take(&mut storage)));
        let mut plain = Simulation::new(Arc::new(s.clone()));
        let mut taped = Simulation::with_tape(Arc::new(s.clone()), Some(tape.clone()));
        plain.run_to_end();
        taped.run_to_end();
        let name = path.display();
        assert_eq!(plain.metrics().arrivals as usize, tape.len(), "{name}");
        assert_eq!(plain.metrics().series, taped.metrics().series, "{name}");
        assert_eq!(plain.cost(), taped.cost(), "{name}");
        assert_eq!(plain.summary(&plain), taped.summary(&taped), "{name}");
        drop(taped);
        storage = Arc::try_unwrap(tape).expect("no other owner").into_storage();
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} runs compared");

    let s = scenario(CANARY);
    let mut other = s.clone();
    other.seed += 1;
    let tape = Arc::new(RequestTape::new(&other));
    assert!(!tape.fits(&s) && tape.fits(&other));
    let mut plain = Simulation::new(Arc::new(s.clone()));
    let mut taped = Simulation::with_tape(Arc::new(s), Some(tape));
    plain.run_to_end();
    taped.run_to_end();
    assert_eq!(plain.metrics().series, taped.metrics().series);
}

/// Completions that wait with their instance instead of in the event queue change no
/// result: for every single-service scenario in `scenarios/`, cut to ten minutes, on two
/// seeds, a run that keeps them equals one that schedules every completion as an event
/// (sampling requests for drawing does that). Both run to the end, so requests that
/// start from a queue after the end are covered too: an overloaded queue (ρ = 1.25)
/// and a zone outage (requests hang on silent instances until their deadline) end the
/// list.
#[test]
fn completions_kept_with_instances_change_no_result() {
    use std::sync::Arc;
    let overloaded = scenario(
        r#"Scenario(name: "overloaded", seed: 3, duration: "1m",
            traffic: (users: 5000, rate: Constant(rps: 500)),
            service: (concurrency: 8, queue: 1000000, latency: Exponential(mean: "20ms"), timeout: None),
            fleet: (replicas: 1, zones: 1))"#,
    );
    // A zone goes silent while its instances serve: their clients hang until their
    // deadline, kept or not.
    let outage = scenario(
        r#"Scenario(name: "outage", seed: 5, duration: "1m",
            traffic: (users: 5000, rate: Constant(rps: 400)),
            service: (concurrency: 8, queue: 50, latency: LogNormal(median: "40ms", p99: "300ms"), timeout: "2s"),
            fleet: (replicas: 6, zones: 3),
            faults: [(at: "20s", fault: ZoneOutage(zone: 1, duration: "20s")), (at: "45s", fault: CrashInstances(count: 2))])"#,
    );
    let mut runs = short_single_service_runs();
    runs.push((PathBuf::from("overloaded"), overloaded));
    runs.push((PathBuf::from("outage"), outage));
    let mut checked = 0;
    for (path, s) in runs {
        let s = Arc::new(s);
        let mut kept = Simulation::new(s.clone());
        let mut queued = Simulation::new(s.clone());
        queued.set_sample_rate(1.0);
        kept.run_to_end();
        queued.run_to_end();
        let name = path.display();
        assert_eq!(kept.in_system(), 0, "{name}: requests left in the system");
        assert_eq!(kept.metrics().series, queued.metrics().series, "{name}");
        assert_eq!(kept.metrics().arrival_digest, queued.metrics().arrival_digest, "{name}");
        assert_eq!(kept.cost(), queued.cost(), "{name}");
        assert_eq!(kept.request_seconds(), queued.request_seconds(), "{name}");
        assert_eq!(kept.log(), queued.log(), "{name}");
        assert_eq!(kept.summary(&kept), queued.summary(&queued), "{name}");
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} runs compared");
}

/// A batch whose strategies do not include `none` keeps only the totals of its
/// baseline; every summary is the same as against a baseline with full metrics. For
/// every single-service scenario in `scenarios/` with a rollout (faults included, so
/// baselines have failed requests and users), cut to ten minutes, on two seeds.
#[test]
fn a_totals_only_baseline_changes_no_summary() {
    use deploysim::scenario::StrategySpec;
    use std::sync::Arc;
    let mut checked = 0;
    let mut baseline_failures = 0;
    for (path, s) in short_single_service_runs() {
        if matches!(s.strategy, StrategySpec::None) {
            continue;
        }
        let variants = vec![("own".to_string(), s.strategy.clone())];
        let got = deploysim::batch::run_seed(&s, &variants, s.seed);

        let mut full = Simulation::new(Arc::new(deploysim::baseline_of(&s)));
        full.run_to_end();
        let mut run = Simulation::new(Arc::new(s.clone()));
        run.run_to_end();
        let mut want = run.summary(&full);
        want.strategy = "own".into();
        assert_eq!(got, vec![want], "{}", path.display());

        let mut lean = Simulation::new(Arc::new(deploysim::baseline_of(&s)));
        lean.keep_totals_only();
        lean.run_to_end();
        assert!(lean.metrics().series.is_empty(), "{}: the baseline kept its series", path.display());
        baseline_failures += full.metrics().failed();
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} runs compared");
    assert!(baseline_failures > 0, "no baseline had a failed request");
}

/// A baseline forked off a run before its release, and carried on a run that has become
/// it again, changes no summary: for every single-service scenario in `scenarios/` with
/// a release (commands, faults, the autoscaler and `minReadySeconds` among them), cut to
/// ten minutes, with the scenario's own strategy and the built-in ones that can roll back
/// on their own, each summary of a batch seed equals the summary of a run against a
/// baseline simulated from the start to its end without a tape. Bad releases that are rolled back meet their baseline, and
/// those seeds carry it. A stable version with its own errors (1 % of 96 000 requests of
/// 800 users) makes the baseline fail hundreds of requests after the meeting, of users
/// who had failed before it and of new ones.
#[test]
fn a_baseline_carried_on_a_run_changes_no_summary() {
    use std::sync::Arc;
    let erring = scenario(
        r#"Scenario(name: "erring stable", seed: 11, duration: "20m",
            traffic: (users: 800, rate: Constant(rps: 80)),
            service: (error_rate: 0.01, latency: LogNormal(median: "40ms", p99: "300ms"), timeout: "2s"),
            fleet: (replicas: 5, instance: (boot: "10s")),
            router: (mode: Weighted),
            release: (at: "2m", defects: [ErrorRate(0.2)]),
            strategy: Canary(steps: [SetWeight(20), Pause("5m")],
                             analysis: (interval: "30s", checks: [SuccessRate(0.95)])))"#,
    );
    // Near saturation (ρ ≈ 0.97 on 3 × 2 slots) the canary's share changes the stable
    // queues, and the canary is gone a moment after the abort: the run meets its
    // baseline only once the queues agree again.
    let busy = scenario(
        r#"Scenario(name: "busy", seed: 5, duration: "15m",
            traffic: (users: 3000, rate: Constant(rps: 116)),
            service: (concurrency: 2, queue: 200, latency: Exponential(mean: "50ms"), timeout: "400ms"),
            fleet: (replicas: 3, instance: (boot: "10s")),
            router: (mode: Weighted),
            release: (at: "2m", defects: [ErrorRate(0.3)]),
            strategy: Canary(steps: [SetWeight(25), Pause("5m")], abort_scale_down_delay: "0s",
                             analysis: (interval: "30s", checks: [SuccessRate(0.95)])))"#,
    );
    let mut runs: Vec<_> =
        short_single_service_runs().into_iter().step_by(2).filter(|(_, s)| s.release.is_some()).collect();
    runs.push((PathBuf::from("erring"), erring));
    runs.push((PathBuf::from("busy"), busy));
    let mut storage = deploysim::sim::fast::tape::TapeStorage::default();
    let (mut checked, mut forked, mut carried, mut erring_carried) = (0, 0, 0, false);
    for (path, s) in runs {
        let mut variants = vec![(s.strategy.name().to_string(), s.strategy.clone())];
        for name in ["canary", "blue-green", "rolling", "flagger", "feature-toggle", "shadow"] {
            if name != s.strategy.name() {
                variants.push((name.to_string(), deploysim::builtin_strategy(name).expect("built in")));
            }
        }
        let got = batch::run_seed_carrying(&s, &variants, s.seed, &mut storage);

        let mut full = Simulation::new(Arc::new(deploysim::baseline_of(&s)));
        full.run_to_end();
        for ((name, spec), summary) in variants.iter().zip(&got.summaries) {
            let mut v = s.clone();
            v.strategy = spec.clone();
            let mut run = Simulation::new(Arc::new(v));
            run.run_to_end();
            let mut want = run.summary(&full);
            want.strategy = name.clone();
            assert_eq!(summary, &want, "{} with {name}, carried {:?}", path.display(), got.carried);
            checked += 1;
        }
        if let Some(at) = got.forked {
            forked += 1;
            let release = s.release.as_ref().map(|r| r.at.time());
            assert!(release.is_some_and(|r| at <= r), "{}: forked at {at:?} after the release", path.display());
        }
        let Some((_, at)) = got.carried else { continue };
        carried += 1;
        assert!(at < s.duration.time(), "{}: carried from the end", path.display());
        if path == Path::new("erring") {
            erring_carried = true;
            let after: u64 =
                full.metrics().series[at.whole_secs() as usize..].iter().map(|r| r.ended() - r.succeeded()).sum();
            assert!(after > 100, "the baseline failed only {after} requests after the meeting");
        }
    }
    assert!(checked >= 100, "only {checked} summaries compared");
    assert!(forked >= 15, "only {forked} seeds forked their baseline off a run");
    assert!(carried >= 8, "only {carried} seeds carried their baseline");
    assert!(erring_carried, "the erring scenario did not carry its baseline");
}

/// Whether a run will do what another does is decided by their state, not by their
/// circumstances: two runs of the same scenario and seed, forked at one moment, agree,
/// and keep agreeing as they advance; the same scenario on another seed, or with
/// another service-time distribution on the same seed (the same arrivals, other
/// completion times), does not, though every other condition (no rollout, nothing
/// pending, the same instances) holds for all of them.
#[test]
fn the_same_future_is_a_matter_of_state() {
    use deploysim::des::time::Time;
    let text = |seed: u64, mean: &str| {
        format!(
            r#"Scenario(name: "state", seed: {seed}, duration: "5m",
                traffic: (users: 2000, rate: Constant(rps: 200)),
                service: (concurrency: 4, queue: 20, latency: Exponential(mean: "{mean}"), timeout: "1s"),
                fleet: (replicas: 4))"#
        )
    };
    let at = |text: String, secs: u64| {
        let mut sim = simulation(&scenario(&text));
        sim.step_until(Time::from_secs(secs));
        sim
    };
    let mut a = at(text(1, "20ms"), 60);
    let mut b = a.clone();
    assert!(a.in_system() > 0, "nothing in flight to compare");
    assert!(a.same_future_as(&b));
    a.step_until(Time::from_secs(61));
    assert!(!a.same_future_as(&b), "runs at different times agree");
    b.step_until(Time::from_secs(61));
    assert!(a.same_future_as(&b) && b.same_future_as(&a));
    assert!(!a.same_future_as(&at(text(2, "20ms"), 61)), "another seed agrees");
    assert!(!a.same_future_as(&at(text(1, "21ms"), 61)), "other service times agree");
}

/// A graph of services and a function run in `batch` and `sweep` like one service: each
/// seed is the scenario's own plan (or deployment) against its baseline, in the shared
/// vocabulary, the same at any `--jobs`, and shards merge into the same output. Both
/// releases are bad: every seed has a blast radius.
#[test]
fn graphs_and_functions_run_in_batches_sweeps_and_shards() {
    let dir = temp("graphs");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for (file, sweep) in [
        ("multi-service-bigbang.ron", "topology.calls[0].retries=0,2"),
        ("serverless-canary.ron", "serverless.memory_mb=512,1024"),
    ] {
        let f = root.join(file);
        let f = f.to_str().expect("utf-8 path");
        for command in [vec!["batch", f], vec!["sweep", f, "--set", sweep]] {
            let run = |extra: &[&str]| {
                let mut args = command.clone();
                args.extend_from_slice(&["--seeds", "20", "--quiet"]);
                args.extend_from_slice(extra);
                let o = deploysim(&args);
                assert!(o.status.success(), "{file}: {}", String::from_utf8_lossy(&o.stderr));
                String::from_utf8_lossy(&o.stdout).into_owned()
            };
            let one = run(&["--jobs", "1", "--json"]);
            assert_eq!(one, run(&["--jobs", "2", "--json"]), "{file} {}", command[0]);
            let mut parts = Vec::new();
            for k in 1..=2 {
                let out = dir.join(format!("{file}-{}-part{k}.json", command[0]));
                run(&["--shard", &format!("{k}/2"), "--out", out.to_str().expect("path")]);
                parts.push(out);
            }
            let o = deploysim(&["merge", parts[0].to_str().expect("p"), parts[1].to_str().expect("p"), "--json"]);
            assert!(o.status.success(), "{file}: {}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(String::from_utf8_lossy(&o.stdout), one, "{file} {}", command[0]);
            let v: serde_json::Value = serde_json::from_str(one.trim()).expect("JSON");
            let metrics = v["points"][0]["strategies"][0]["metrics"].as_array().expect("metrics");
            let blast = &metrics.iter().find(|m| m[0] == "blast_radius_users").expect("blast radius")[1];
            assert_eq!(blast["n"], 20, "{file}: {blast}");
            // Every seed of both releases fails some users the baseline does not.
            assert!(blast["p5"].as_f64().is_some_and(|x| x > 0.0), "{file}: {blast}");
        }
    }
    let o =
        deploysim(&["batch", root.join("multi-service-bigbang.ron").to_str().expect("p"), "--strategies", "canary"]);
    assert_eq!(o.status.code(), Some(2), "a graph's plan is its own");
    let _ = std::fs::remove_dir_all(&dir);
}
