//! The lesson library: every lesson loads, plays to the end, and every number its
//! narration and answers state holds in the simulation it runs; the player's next, back
//! and answer; the figures for slides; the text mode.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use deploysim::lesson::player::{Input, Player};
use deploysim::lesson::run::{LessonRun, Note};
use deploysim::lesson::{Action, QuestionKind, load_lesson, parse_lesson};

fn lessons() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("scenarios/lessons")
        .expect("scenarios/lessons")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    v.sort();
    v
}

/// The library the issue asks for: eight topics and a quiz.
#[test]
fn the_library_has_a_lesson_per_topic_and_a_quiz() {
    let names: Vec<String> =
        lessons().iter().filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).collect();
    for want in
        ["blue-green", "canary", "rolling", "feature-toggle", "ab-test", "big-bang", "serverless", "continuous", "quiz"]
    {
        assert!(names.iter().any(|n| n == want), "missing lesson {want}; have {names:?}");
    }
}

/// Every lesson plays from the first step to the last; at every step each claim holds,
/// every awaited event happened, and every estimate question has an answer.
#[test]
fn every_lesson_plays_and_every_claim_holds() {
    for path in lessons() {
        let l = Arc::new(load_lesson(&path).unwrap_or_else(|e| panic!("{e}")));
        let mut run = LessonRun::new(l.clone());
        for (k, step) in l.lesson.steps.iter().enumerate() {
            run.goto(k);
            for n in &run.notes {
                if let Note::Waited { event, reached: None } = n {
                    panic!("{}: step {}: {event:?} never happened", path.display(), k + 1);
                }
            }
            for c in &step.claims {
                if let Err(e) = run.check(c) {
                    panic!("{}: step {} ({}): {e}", path.display(), k + 1, step.title);
                }
            }
            if let Some(q) = &step.question
                && let QuestionKind::Estimate { quantity, .. } = &q.kind
            {
                assert!(run.value(quantity).is_some(), "{}: step {}: no value for {quantity:?}", path.display(), k + 1);
            }
        }
    }
}

/// The canary lesson says a bad release (2 % errors) slips through at 2 requests/s about
/// one time in five. Theory: a one-minute window with N ~ Poisson(λ) canary requests and
/// failures ~ Binomial(N, 0.02) passes if the success rate is ≥ 95 %, i.e. failures ≤
/// ⌊0.05 N⌋. Windows at 10 % have λ = 12 (the first only λ = 12 × s/60, s = 30 to 45 s
/// of it after the canary instance is ready); at 50 %, λ = 60; five of each must pass.
/// The share promoted over 400 fixed seeds must lie within 3.29 binomial sd of that band.
#[test]
fn canary_lesson_low_traffic_pass_rate_matches_theory() {
    fn poisson(lambda: f64, n: u32) -> f64 {
        let mut p = (-lambda).exp();
        for k in 1..=n {
            p *= lambda / k as f64;
        }
        p
    }
    fn binom_cdf(n: u32, p: f64, k: u32) -> f64 {
        let mut term = (1.0 - p).powi(n as i32);
        let mut sum = term;
        for i in 1..=k.min(n) {
            term *= (n - i + 1) as f64 / i as f64 * p / (1.0 - p);
            sum += term;
        }
        sum
    }
    let pass = |lambda: f64| -> f64 {
        (0..400u32).map(|n| poisson(lambda, n) * binom_cdf(n, 0.02, (0.05 * n as f64 + 1e-9).floor() as u32)).sum()
    };
    let p_of = |first_s: f64| pass(12.0 * first_s / 60.0) * pass(12.0).powi(4) * pass(60.0).powi(5);
    let (lo, hi) = (p_of(45.0), p_of(30.0));
    let l = load_lesson(Path::new("scenarios/lessons/canary.ron")).unwrap_or_else(|e| panic!("{e}"));
    let seeds = 400u64;
    let mut promoted = 0u64;
    for seed in 0..seeds {
        let mut s = l.scenario.clone();
        s.seed = 1000 + seed;
        let r = deploysim::run(&s);
        promoted += u64::from(r.summary.outcome == "promoted");
    }
    let share = promoted as f64 / seeds as f64;
    let sd = (hi * (1.0 - hi) / seeds as f64).sqrt();
    assert!(
        share >= lo - 3.29 * sd && share <= hi + 3.29 * sd,
        "promoted {share:.3}, theory {lo:.3}–{hi:.3} (±{:.3})",
        3.29 * sd
    );
    assert!((0.15..0.30).contains(&lo) && (0.15..0.30).contains(&hi), "'one time in five': {lo:.3}–{hi:.3}");
}

/// The player driven as a presenter would: next reveals a waiting question before it
/// moves on, back rewinds to the exact state of the earlier step, an answer is judged.
#[test]
fn player_next_back_and_answer() {
    let l = Arc::new(load_lesson(Path::new("scenarios/lessons/blue-green.ron")).unwrap_or_else(|e| panic!("{e}")));
    let mut p = Player::new(l);
    assert_eq!(p.index(), 0);
    let t0 = p.run.sim.now();
    let arrivals0 = p.run.sim.metrics().arrivals;
    p.handle(Input::Next);
    assert_eq!(p.index(), 1);
    assert!(p.waiting(), "step 2 has a question");
    p.handle(Input::Estimate(2.0));
    p.handle(Input::Next);
    assert_eq!(p.index(), 1, "the first Next reveals, it does not move on");
    let r = p.answer().expect("revealed");
    assert_eq!(r.correct, Some(true));
    assert!(r.answer.starts_with('2'), "{}", r.answer);
    p.handle(Input::Next);
    assert_eq!(p.index(), 2);
    p.handle(Input::Back);
    p.handle(Input::Back);
    assert_eq!(p.index(), 0);
    assert_eq!(p.run.sim.now(), t0, "back rewinds the simulation");
    assert_eq!(p.run.sim.metrics().arrivals, arrivals0, "to exactly the same state");
    // Forward again to the last step and answer its choice wrongly, with votes.
    // Step 1 → 2, reveal, → 3, → 4 (its question still waits).
    for _ in 0..4 {
        p.handle(Input::Next);
    }
    assert!(p.is_last());
    p.handle(Input::Vote(0));
    p.handle(Input::Vote(0));
    p.handle(Input::Vote(1));
    p.handle(Input::Choose(0));
    p.handle(Input::Next);
    assert_eq!(p.votes, vec![2, 1, 0]);
    let r = p.answer().expect("revealed");
    assert_eq!(r.correct, Some(false));
    assert_eq!(r.answer, "No");
}

/// `--export`: one figure per step, PNGs that decode to the asked width.
#[test]
fn export_writes_a_figure_per_step() {
    let l = Arc::new(load_lesson(Path::new("scenarios/lessons/blue-green.ron")).unwrap_or_else(|e| panic!("{e}")));
    let dir = std::env::temp_dir().join(format!("deploysim-lesson-export-{}", std::process::id()));
    let files = deploysim::lesson::text::export(l.clone(), &dir, 960).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(files.len(), l.lesson.steps.len());
    for f in &files {
        let bytes = std::fs::read(f).expect("png");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", f.display());
        // IHDR width, big-endian at offset 16.
        let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        assert_eq!(width, 960, "{}", f.display());
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Text mode without terminal input plays straight through and reveals every answer.
#[test]
fn text_mode_plays_through_without_input() {
    for path in lessons() {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_deploysim"))
            .args(["lesson", &path.to_string_lossy(), "--text"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run deploysim");
        assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("End of the lesson."), "{}", path.display());
        let l = load_lesson(&path).unwrap_or_else(|e| panic!("{e}"));
        let questions = l.lesson.steps.iter().filter(|s| s.question.is_some()).count();
        assert_eq!(text.matches("\nAnswer: ").count(), questions, "{}: every answer revealed", path.display());
    }
}

#[test]
fn bad_lessons_name_file_line_and_field() {
    let base = Path::new("scenarios/lessons");
    let cases = [
        (
            "Lesson(title: \"t\", scenario: Path(\"../canary.ron\"),\n steps: [(title: \"a\",\n question: (prompt: \"q\", kind: Choice(options: [\"x\", \"y\"], answer: 5)))])",
            "answer",
            3,
        ),
        ("Lesson(title: \"t\", scenario: Path(\"../nope.ron\"), steps: [(title: \"a\")])", "nope.ron", 1),
        ("Lesson(title: \"t\", scenario: Path(\"../canary.ron\"),\n steps: [])", "at least one step", 2),
        (
            "Lesson(title: \"t\", scenario: Path(\"../canary.ron\"),\n steps: [(title: \"a\", actions: [RunUntil(\"2h\")])])",
            "after the scenario's end",
            2,
        ),
        (
            "Lesson(title: \"t\", scenario: Path(\"../serverless-linear.ron\"),\n steps: [(title: \"a\", actions: [RunUntil(\"1m\")])])",
            "no actions",
            2,
        ),
        ("Lesson(title: \"t\", scenario: Path(\"../canary.ron\"), steps: [(titel: \"a\")])", "titel", 1),
    ];
    for (text, needle, line) in cases {
        let e = parse_lesson("bad.ron", text, base).expect_err(text);
        assert!(e.to_string().contains(needle) && e.to_string().starts_with("bad.ron:"), "{needle}: {e}");
        assert_eq!(e.line, line, "{e}");
    }
    // The CLI exits 2 with the message.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deploysim"))
        .args(["lesson", "scenarios/lessons/does-not-exist.ron", "--text"])
        .output()
        .expect("run deploysim");
    assert_eq!(out.status.code(), Some(2));
    let _ = Action::RunUntil;
}

/// `deploysim validate` checks lesson files too, with the same errors.
#[test]
fn validate_checks_lessons() {
    let mut args: Vec<String> = vec!["validate".into()];
    args.extend(lessons().iter().map(|p| p.to_string_lossy().into_owned()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deploysim")).args(&args).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).matches("(lesson: ").count(), lessons().len());
    let bad = std::env::temp_dir().join(format!("deploysim-bad-lesson-{}.ron", std::process::id()));
    std::fs::write(&bad, "// a lesson\nLesson(title: \"t\", scenario: Path(\"x.ron\"), steps: [(title: 1)])")
        .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deploysim"))
        .args(["validate", &bad.to_string_lossy()])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":2:"), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_file(bad);
}

/// The actions that change what is shown: a strategy switch replays the run so far under
/// another strategy on the same seed (the same users and requests up to that moment), and
/// OpenCompare asks for the compare view.
#[test]
fn switch_strategy_replays_and_open_compare_is_noted() {
    let text = r#"Lesson(title: "t", scenario: Path("../canary-bad-release.ron"), steps: [
        (title: "a", actions: [RunUntil("4m")]),
        (title: "b", actions: [SwitchStrategy(Recreate()), RunUntil("8m")]),
        (title: "c", actions: [OpenCompare(["canary", "rolling"])]),
    ])"#;
    let l = Arc::new(parse_lesson("t.ron", text, Path::new("scenarios/lessons")).unwrap_or_else(|e| panic!("{e}")));
    let mut run = LessonRun::new(l.clone());
    run.goto(0);
    let before = run.sim.metrics().arrivals;
    run.goto(1);
    assert_eq!(run.sim.scenario().strategy.name(), "recreate");
    assert!(run.notes.contains(&Note::Switched("recreate".into())));
    // Recreate stops every old instance at the release (5 m): a gap with no backend.
    let dark = run.sim.metrics().series.iter().filter(|r| r.t >= 300 && r.no_backend > 0).count();
    assert!(dark > 0, "recreate has downtime");
    // The replay saw the same arrivals up to the switch.
    let mut again = LessonRun::new(l.clone());
    again.goto(0);
    assert_eq!(again.sim.metrics().arrivals, before);
    run.goto(2);
    assert_eq!(run.compare.as_deref(), Some(&["canary".to_string(), "rolling".to_string()][..]));
}
