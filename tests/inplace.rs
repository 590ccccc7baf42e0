//! In-place versus immutable updates: CodeDeploy's in-place deployment rules
//! (`MinimumHealthyHosts`, the OneAtATime last-instance exception), the capacity an
//! in-place update takes away, and configuration drift that only in-place fleets keep.

mod common;
use common::*;

use deploysim::strategy::RolloutOutcome;

fn run(text: &str) -> deploysim::sim::Simulation {
    let s = scenario(text);
    let mut sim = simulation(&s);
    sim.run_to_end();
    sim
}

/// Per instance: BlockTraffic 10 s + install 30 s + boot 5 s, readiness probed every second
/// from the container start: 45 s (+ up to 1 s of probe alignment).
const FLEET: &str = r#"duration: "30m", traffic: (rate: Constant(rps: 20)), service: (latency: Constant("10ms")),
    fleet: (replicas: N, instance: (boot: "5s"), readiness: (initial_delay: "0s", period: "1s")),"#;

fn scen(n: u32, release: &str, strategy: &str, extra: &str) -> String {
    format!(
        r#"Scenario(name: "in-place", {} release: (at: "1m"{release}), strategy: InPlace({strategy}), {extra})"#,
        FLEET.replace("N", &n.to_string())
    )
}

#[test]
fn one_at_a_time_keeps_all_but_one_in_service_and_creates_nothing() {
    let sim = run(&scen(4, "", "config: OneAtATime", ""));
    assert_eq!(sim.rollout().outcome, RolloutOutcome::Promoted);
    // Four instances one after another, 45–46 s each.
    let took = (sim.rollout().finished.expect("finished") - sim.rollout().started.expect("started")).as_secs_f64();
    assert!((180.0..=184.0).contains(&took), "took {took}s");
    for r in &sim.metrics().series {
        let ready: u16 = r.ready.iter().sum();
        assert!(ready >= 3, "at {}s only {ready} ready", r.t);
    }
    assert_eq!(sim.peak_instances(), 4, "an in-place update creates no instance");
    assert_eq!(sim.metrics().series.last().expect("series").ready[1], 4);
}

#[test]
fn half_at_a_time_updates_half_rounded_down_per_batch() {
    // 9 instances: ⌈9/2⌉ = 5 must stay healthy, so 4 at a time: batches of 4, 4, 1.
    let sim = run(&scen(9, "", "config: HalfAtATime", ""));
    assert_eq!(sim.rollout().outcome, RolloutOutcome::Promoted);
    let min_ready = sim.metrics().series.iter().map(|r| r.ready.iter().sum::<u16>()).min().expect("series");
    assert_eq!(min_ready, 5);
    let took = (sim.rollout().finished.expect("finished") - sim.rollout().started.expect("started")).as_secs_f64();
    assert!((135.0..=138.0).contains(&took), "three batches of 45 s, took {took}s");
}

#[test]
fn one_at_a_time_fails_on_a_crash_looping_revision_and_rolls_back() {
    let sim = run(&scen(4, ", defects: [CrashLoop]", "config: OneAtATime, validate_timeout: \"2m\"", ""));
    assert_eq!(sim.rollout().outcome, RolloutOutcome::RolledBack);
    assert!(sim.rollout().abort_reason.as_deref().unwrap_or("").contains("1 of 4"));
    let last = sim.metrics().series.last().expect("series");
    assert_eq!(last.ready, [4, 0, 0]);
}

/// The documented exception: with OneAtATime, if only the last instance fails the
/// deployment still succeeds. A crash loop that only hits containers starting after
/// 3m50s reaches the fourth instance alone: the third is up by 1m + 3·45 s (+ 3 s of probe
/// alignment at most), and the fourth's container starts 40 s after that, at ≈ 3m55s.
#[test]
fn one_at_a_time_succeeds_when_only_the_last_instance_fails() {
    let sim = run(&scen(
        4,
        "",
        "config: OneAtATime, validate_timeout: \"1m\"",
        r#"faults: [(at: "3m50s", fault: CrashLoop(count: 0, duration: "20m"))]"#,
    ));
    assert_eq!(sim.rollout().outcome, RolloutOutcome::Promoted, "log: {:?}", sim.log());
    assert!(sim.log().iter().any(|e| e.text.contains("instance 3: deployment failed")));
}

/// AllAtOnce takes every instance out at once: a full outage for the update's length.
#[test]
fn all_at_once_is_an_outage() {
    let sim = run(&scen(4, "", "config: AllAtOnce", ""));
    assert_eq!(sim.rollout().outcome, RolloutOutcome::Promoted);
    let dark = sim.metrics().series.iter().filter(|r| r.ready.iter().sum::<u16>() == 0).count();
    assert!((44..=47).contains(&dark), "{dark} seconds with no instance in service");
}

/// Drift stays with the host: after an in-place update to a healthy release the drifted
/// instances still fail, while an immutable rolling update replaces them with clean ones.
/// Three of ten instances drifted with `rate: 1.0`: with round-robin-like random routing
/// over ten ready instances, 30 % of requests fail (binomial over ≈ 20 000 requests:
/// sd 0.003; ±0.03 is 10 sd).
#[test]
fn drift_survives_in_place_updates_but_not_replacement() {
    let drift = r#"faults: [(at: "30s", fault: ConfigDrift(count: 3, rate: 1.0))]"#;
    let fleet = FLEET.replace("N", "10");
    let in_place = run(&scen(10, "", "config: HalfAtATime", drift));
    assert_eq!(in_place.rollout().outcome, RolloutOutcome::Promoted);
    let after = in_place.rollout().finished.expect("finished").whole_secs() as u32 + 5;
    let (ok, failed) = tally(&in_place, after);
    let share = failed as f64 / (ok + failed) as f64;
    assert!((share - 0.3).abs() < 0.03, "failed share after the in-place update: {share}");
    let rolling = run(&format!(
        r#"Scenario(name: "immutable", {fleet} release: (at: "1m"), strategy: Rolling(max_surge: 1, max_unavailable: 0), {drift})"#
    ));
    assert_eq!(rolling.rollout().outcome, RolloutOutcome::Promoted);
    let after = rolling.rollout().finished.expect("finished").whole_secs() as u32 + 5;
    assert_eq!(tally(&rolling, after).1, 0, "replaced instances carry no drift");
}

fn tally(sim: &deploysim::sim::Simulation, from: u32) -> (u64, u64) {
    let mut ok = 0;
    let mut failed = 0;
    for r in sim.metrics().series.iter().filter(|r| r.t >= from) {
        ok += r.success.iter().map(|&x| x as u64).sum::<u64>();
        failed += r.error.iter().map(|&x| x as u64).sum::<u64>();
    }
    (ok, failed)
}

#[test]
fn a_configuration_that_keeps_everyone_healthy_is_refused() {
    let text = scen(4, "", "config: HostCount(4)", "");
    let e = deploysim::scenario::parse_str("x.ron", &text).expect_err("must be refused");
    assert!(e.to_string().contains("strategy.config"), "{e}");
}
