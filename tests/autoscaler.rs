//! The HorizontalPodAutoscaler against the Kubernetes documentation
//! (<https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/>) and
//! queueing theory.
//!
//! Offered load in busy slots is Little's law: `L = λ·E[S]` requests in service on
//! average. The metric is the busy share of the ready slots, `L / (c·R)` with `c` slots per
//! pod and `R` ready pods, so the docs' `ceil(R × metric / target)` settles at
//! `R* = ceil(L / (c·target))`. With tolerance `τ` every `R` whose ratio
//! `L / (c·R·target)` lies within `[1 − τ, 1 + τ]` is also left alone: the counts that
//! can stick are `L/(c·target·(1+τ)) ≤ R ≤ L/(c·target·(1−τ))`.
//!
//! The scenarios use exponential service with mean 10 ms and high rates, so the metric's
//! noise over one 15 s sync is small: the time average of the busy count has variance
//! about `2·L·E[S]/T` (an M/M/∞-like correlation time of `E[S]`), e.g. for `L = 20`,
//! `T = 15 s`: σ ≈ 0.16 slots, under 1 % of `L`. The band edges used below are at least
//! 4 % away from the mean ratio, i.e. more than 4σ.

mod common;
use common::*;

use deploysim::des::time::Time;
use deploysim::sim::Simulation;

/// λ·E[S] / (c·target) for the scenarios below: c = 4, E[S] = 10 ms, target 0.6.
fn needed(rps: f64) -> f64 {
    rps * 0.010 / (4.0 * 0.6)
}

fn text(rate: &str, replicas: u32, extra: &str) -> String {
    format!(
        r#"Scenario(
            name: "hpa", seed: 3, duration: "20m",
            traffic: (users: 5000, rate: {rate}),
            service: (concurrency: 4, queue: 100, latency: Exponential(mean: "10ms"), timeout: "2s"),
            fleet: (replicas: {replicas}, zones: 3, instance: (boot: "20s")),
            autoscaler: (min_replicas: 2, max_replicas: 20, target_utilization: 0.6{extra}),
        )"#
    )
}

/// Runs second by second and returns `spec.replicas` at the end of every second.
fn replicas_per_second(sim: &mut Simulation) -> Vec<u32> {
    let mut out = Vec::new();
    let end = sim.end().whole_secs();
    for s in 1..=end {
        sim.step_until(Time::from_secs(s));
        out.push(sim.replicas());
    }
    sim.run_to_end();
    out
}

/// A step from 500 to 2000 rps at 5m. Before: L = 5 slots, R* = ceil(2.08) = 3. After:
/// L = 20 slots, R* = ceil(8.33) = 9, and the tolerance band is 20/(2.4·1.1) = 7.6 to
/// 20/(2.4·0.9) = 9.3, i.e. 8 or 9. Convergence: a saturated pod shows at most 100 %
/// busy, so each round grows the fleet by at most 1/target = 1.67× (3 → 5 → 9: two rounds);
/// a round is at most two syncs (one to see the load, one skipped while new pods are not
/// ready, during which they count as idle) plus boot (20 s) and readiness alignment (≤ 10 s):
/// 2 × (2·15 + 20 + 10) = 120 s, plus one sync for the step to enter a window: 135 s.
#[test]
fn replicas_follow_a_step_up_to_ceil_of_load_over_target() {
    let s = scenario(&text("Step(from_rps: 500, to_rps: 2000, at: \"5m\")", 3, ""));
    let mut sim = simulation(&s);
    let r = replicas_per_second(&mut sim);
    let expected = needed(2000.0).ceil() as u32;
    assert_eq!(expected, 9);
    // Before the step: 3 (or 2, both within tolerance of L = 5: 5/(2.4·1.1) = 1.9 to 2.3,
    // and ceil(2.08) = 3).
    for (t, &n) in r.iter().enumerate().take(300) {
        assert!((2..=3).contains(&n), "at {}s before the step: {n} replicas", t + 1);
    }
    let settle = 300 + 135;
    for (t, &n) in r.iter().enumerate().skip(settle) {
        assert!(n.abs_diff(expected) <= 1, "at {}s: {n} replicas, expected {expected} ± 1", t + 1);
    }
    // And the pods are really there and ready.
    let ready = sim.metrics().series[settle + 30].ready[0] as u32;
    assert!(ready.abs_diff(expected) <= 1, "{ready} ready pods");
    // The decisions are in the event log.
    assert!(sim.log().iter().any(|l| l.text.starts_with("autoscaler: 3 → ")), "{:?}", sim.log());
}

/// A load that needs ceil(4000·0.01/2.4) = 17 pods with `max_replicas: 6`: the count
/// reaches 6 and never exceeds it, checked every second, for the HPA's `spec.replicas` and
/// for the instances alive (no strategy runs, so nothing surges).
#[test]
fn never_more_than_max_replicas_even_when_the_load_needs_more() {
    let s = scenario(
        &text("Step(from_rps: 500, to_rps: 4000, at: \"2m\")", 3, "").replace("max_replicas: 20", "max_replicas: 6"),
    );
    let mut sim = simulation(&s);
    let r = replicas_per_second(&mut sim);
    assert!(needed(4000.0) > 6.0);
    assert!(r.iter().all(|&n| n <= 6), "max exceeded: {:?}", r.iter().max());
    assert!(sim.metrics().series.iter().all(|x| x.alive <= 6), "alive instances above max");
    assert_eq!(*r.last().unwrap(), 6, "the load pins the count at max");
}

/// `min_replicas` holds under no load: 20 rps needs 0.08 pods, the count goes to 3.
#[test]
fn never_fewer_than_min_replicas() {
    let s = scenario(&text("Constant(rps: 20)", 8, "").replace("min_replicas: 2", "min_replicas: 3"));
    let mut sim = simulation(&s);
    let r = replicas_per_second(&mut sim);
    assert!(r.iter().all(|&n| n >= 3));
    assert_eq!(*r.last().unwrap(), 3);
}

/// Spike 2000 rps from 0 to 10m, then 500 rps. `behavior.scaleDown.stabilizationWindowSeconds`
/// (300 s): a scale-down uses the highest recommendation of the last 5 minutes, and the
/// last high one is the sync at 10m (its window, 9m45s–10m, saw the high rate). So the count
/// may not drop before 10m + 300 s − 15 s (tolerating one sync's alignment) and must have
/// dropped to ceil(500·0.01/2.4) = 3 (± 1) by 10m + 300 s + 2 syncs.
#[test]
fn scale_down_waits_for_the_stabilization_window() {
    let s = scenario(&text("Step(from_rps: 2000, to_rps: 500, at: \"10m\")", 9, ""));
    let mut sim = simulation(&s);
    let r = replicas_per_second(&mut sim);
    let at = |t: usize| r[t - 1];
    let high = at(600);
    assert!(high >= 8, "converged high before the step: {high}");
    for t in 601..(600 + 300 - 15) {
        assert!(at(t) >= high, "dropped to {} at {t}s, inside the window", at(t));
    }
    let low = at(600 + 300 + 30);
    assert!(low.abs_diff(3) <= 1, "after the window: {low}");
    // With a 1-minute window it drops four minutes earlier.
    let s = scenario(&text("Step(from_rps: 2000, to_rps: 500, at: \"10m\")", 9, ", scale_down_stabilization: \"1m\""));
    let mut sim = simulation(&s);
    let r = replicas_per_second(&mut sim);
    assert!(r[600 + 60 + 30 - 1].abs_diff(3) <= 1, "1m window: {}", r[600 + 60 + 30 - 1]);
}

/// Tolerance (default 0.1): at 2000 rps and 8 pods the ratio is 20/(4·8·0.6) = 1.042, inside
/// 10 %: nothing changes for the whole run. With `tolerance: 0` the same load scales to
/// ceil(1.042 × 8) = 9.
#[test]
fn no_scaling_within_tolerance() {
    let s = scenario(&text("Constant(rps: 2000)", 8, ""));
    let mut sim = simulation(&s);
    let r = replicas_per_second(&mut sim);
    assert!(r.iter().all(|&n| n == 8), "changed within tolerance: {:?}", r.iter().max());
    let decisions = &sim.autoscaler().expect("has an autoscaler").decisions;
    // Syncs at 15 s, 30 s, …, 1185 s (nothing runs at the end itself).
    assert_eq!(decisions.len(), 20 * 60 / 15 - 1);
    for d in decisions {
        let ratio = d.ratio.expect("metrics");
        assert!((ratio - 20.0 / (4.0 * 8.0 * 0.6)).abs() < 0.04, "ratio {ratio}");
    }
    let s = scenario(&text("Constant(rps: 2000)", 8, ", tolerance: 0.0"));
    let mut sim = simulation(&s);
    let r = replicas_per_second(&mut sim);
    assert_eq!(*r.last().unwrap(), 9);
}

/// Same scenario and seed ⇒ same decisions, log and per-second series.
#[test]
fn autoscaling_is_deterministic() {
    let s =
        deploysim::scenario::load_file(std::path::Path::new("scenarios/autoscaler-canary-herd.ron")).expect("loads");
    let a = deploysim::run(&s);
    let b = deploysim::run(&s);
    assert_eq!(a.run.autoscaler().unwrap().decisions, b.run.autoscaler().unwrap().decisions);
    assert_eq!(a.run.log(), b.run.log());
    assert_eq!(
        serde_json::to_string(&a.run.metrics().series).unwrap(),
        serde_json::to_string(&b.run.metrics().series).unwrap()
    );
    a.run.audit().expect("bookkeeping");
}

/// The thundering herd. Stable at 40 % of a fleet the HPA sized to the load (about 4 of 9
/// pods, 16 slots) takes all L = 20 busy slots on rollback: ρ = 1.25 > 1, the queues fill
/// and requests are refused until the stable side is back to size (boot + readiness). The
/// same scenario without the autoscaler keeps 20 pods, 8 of them stable (ρ = 0.63): no
/// refusals.
#[test]
fn rollback_onto_a_shrunken_stable_pool_overloads_it() {
    let s =
        deploysim::scenario::load_file(std::path::Path::new("scenarios/autoscaler-canary-herd.ron")).expect("loads");
    let refused_on_stable = |s: &deploysim::scenario::Scenario| {
        let r = deploysim::run(s);
        let abort = r.run.rollout().abort_at.expect("the bad release is caught").whole_secs() as u32;
        let refused: u32 = r
            .run
            .metrics()
            .series
            .iter()
            .filter(|x| x.t >= abort && x.t < abort + 120)
            .map(|x| x.rejected[0] + x.timeout[0])
            .sum();
        (refused, r.run.log().to_vec())
    };
    let (with_hpa, log) = refused_on_stable(&s);
    assert!(log.iter().any(|l| l.text.starts_with("autoscaler: 20 → ")), "the HPA shrank the fleet: {log:?}");
    let mut fixed = s.clone();
    fixed.autoscaler = None;
    let (without, _) = refused_on_stable(&fixed);
    // Excess arrivals over capacity: 2000 − 16/0.01 = 400 per second for about 20 s.
    assert!(with_hpa > 2000, "herd: only {with_hpa} refused");
    assert_eq!(without, 0, "a fleet with headroom absorbs the rollback");
}

/// Bad input names the field and gives an error, never a panic.
#[test]
fn bad_autoscaler_input_is_an_error() {
    let cases = [
        ("min_replicas: 5, max_replicas: 3", "autoscaler.min_replicas"),
        ("max_replicas: 3, target_utilization: 0", "autoscaler.target_utilization"),
        ("max_replicas: 3, target_utilization: 1.5", "autoscaler.target_utilization"),
        ("max_replicas: 3, sync_period: \"0s\"", "autoscaler.sync_period"),
        ("max_replicas: 0", "autoscaler.max_replicas"),
        ("min_replicas: 2", "autoscaler"),
        ("max_replicas: 3, scale_down_stabilization: \"2h\"", "autoscaler.scale_down_stabilization"),
        ("max_replicas: 3, scale_up_policies: [Pods(value: 4, period: \"0s\")]", "autoscaler.scale_up_policies"),
        ("max_replicas: 3, bogus: 1", "autoscaler"),
    ];
    for (fields, field) in cases {
        let text = format!("Scenario(name: \"x\", duration: \"1m\",\n  autoscaler: ({fields}),\n)");
        match deploysim::scenario::parse_str("bad.ron", &text) {
            Ok(_) => panic!("accepted: {fields}"),
            Err(e) => {
                assert!(e.field.starts_with(field), "{fields}: field `{}` ({e})", e.field);
                assert_eq!(e.line, 2, "{fields}: {e}");
            }
        }
    }
}
