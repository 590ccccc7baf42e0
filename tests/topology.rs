//! The multi-service topology engine, each test a specification: API contracts under big-bang
//! and ordered deployments, schema migrations and code rollbacks, retry amplification and
//! retry budgets, determinism, bad input, and a queueing sanity check.

mod common;

use std::path::Path;

use deploysim::scenario::{Scenario, load_file, parse_str};
use deploysim::topology::{self, Report};

fn load(name: &str) -> Scenario {
    load_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn run(s: &Scenario) -> Report {
    topology::run(s).expect("a loaded topology runs")
}

/// `(requests, failed)` over whole seconds `from..to`.
fn window(r: &Report, from: usize, to: usize) -> (u64, u64) {
    r.series[from..to].iter().fold((0, 0), |(n, f), s| (n + s.requests, f + s.failed))
}

/// The big-bang scenario's text with its plan's steps replaced.
fn bigbang_with_steps(steps: &str) -> Scenario {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/multi-service-bigbang.ron"))
            .expect("readable");
    let old = r#"steps: [Deploy(order: BigBang, to: {"orders": "v2", "payments": "v2"})]"#;
    assert!(text.contains(old), "the scenario's plan changed; update this test");
    parse_str("bigbang-variant.ron", &text.replace(old, &format!("steps: [{steps}]"))).expect("variant parses")
}

// ----- API contracts ---------------------------------------------------------------

/// Big bang: at 2m both services start; orders (boot 10s) runs v2 from 130 s, payments
/// (boot 2m) runs v2 from 240 s. In between every user request goes front → orders v2 →
/// payments v1, and orders v2 requires payments API "2", which v1 does not provide: the
/// contract fails every attempt, deterministically, so the failure ratio in those seconds
/// is exactly 1 (a margin of 2 s at each edge for requests in flight across a switch, whose
/// latency is ~0.1 s). Before and after, nothing else can fail (no faults, no error rates).
#[test]
fn big_bang_with_an_incompatible_pair_fails_every_request_until_both_are_out() {
    let r = run(&load("multi-service-bigbang.ron"));
    let (n, f) = window(&r, 132, 239);
    assert!(n > 1000, "traffic in the window: {n}");
    assert_eq!(f, n, "every request in the incompatible window fails");
    assert_eq!(window(&r, 0, 130).1, 0, "no failure before orders v2 is live");
    assert_eq!(window(&r, 241, r.series.len()).1, 0, "no failure once payments v2 is live");
    assert!(r.contract_errors() > 0);
    // Downtime is the incompatible window: 130 s to 240 s.
    assert!((108..=111).contains(&r.downtime_s), "downtime {}", r.downtime_s);
    assert_eq!(r.plan_finished_s, Some(240.0));
}

/// One at a time in dependency order: payments v2 (which still provides API "1") goes
/// first, then orders v2. At every moment the caller's required API is provided by the
/// callee's running version, so there is no contract error and no failure at all.
#[test]
fn one_at_a_time_in_dependency_order_has_no_contract_errors() {
    let r = run(&load("multi-service-ordered.ron"));
    assert_eq!(r.contract_errors(), 0);
    assert_eq!(r.failed, 0);
    // payments first (boot 2m from 120 s), 30 s bake, then orders (boot 10 s).
    assert_eq!(r.plan_finished_s, Some(120.0 + 120.0 + 30.0 + 10.0));
    let order: Vec<&str> = r.log.iter().filter(|(_, t)| t.starts_with("deploying")).map(|(_, t)| t.as_str()).collect();
    assert_eq!(order, ["deploying payments to v2", "deploying orders to v2"]);
}

/// After the big bang completes (240 s), rolling back only payments (at 270 s; it takes its
/// 2 minute boot, so v1 is back at 390 s) recreates the incompatible pair in the other
/// direction: orders v2 meets payments v1 again, and every request fails from then on.
/// Rolling back both at once is safe in this pair: orders v1 (back at 280 s) needs API "1",
/// which payments v2 still provides, so no request fails after 241 s.
#[test]
fn rolling_back_only_the_callee_breaks_the_pair_again() {
    let one = run(&bigbang_with_steps(
        r#"Deploy(order: BigBang, to: {"orders": "v2", "payments": "v2"}), Wait("30s"), Rollback(services: ["payments"])"#,
    ));
    let (n, f) = window(&one, 392, 480);
    assert!(n > 1000);
    assert_eq!(f, n, "orders v2 against payments v1 fails every request");
    assert_eq!(window(&one, 241, 390).1, 0);

    let both = run(&bigbang_with_steps(
        r#"Deploy(order: BigBang, to: {"orders": "v2", "payments": "v2"}), Wait("30s"), Rollback()"#,
    ));
    assert_eq!(window(&both, 241, both.series.len()).1, 0);
    assert_eq!(both.service("orders").map(|s| s.version.as_str()), Some("v1"));
}

// ----- schema ------------------------------------------------------------------------

/// Breaking(to: 2) at 120 s sets the oldest working level to 2; orders v1 (written for
/// schema 1) fails every query from then on. v2 is live at 140 s and works; the rollback at
/// 260 s brings v1 back at 280 s and, with the schema still at 2, every request fails again
/// until the end: a code rollback does not undo a breaking migration.
#[test]
fn a_breaking_migration_then_a_code_rollback_keeps_failing() {
    let r = run(&load("schema-breaking-rollback.ron"));
    assert_eq!(window(&r, 0, 120).1, 0);
    let (n, f) = window(&r, 121, 139);
    assert_eq!(f, n, "v1 fails on the broken schema before v2 is live");
    assert_eq!(window(&r, 141, 280).1, 0, "v2 works on schema 2");
    let (n, f) = window(&r, 281, 480);
    assert!(n > 5000);
    assert_eq!(f, n, "after the code rollback every request touching the database fails");
    assert_eq!(r.service("orders").map(|s| s.schema), Some(r.failed));
}

/// Expand keeps the oldest working level at 1, so v1 and v2 both work on schema 2 while
/// the rolling update mixes them; Contract(to: 3) raises it to 2, which is what v2 needs.
/// No schema error, no failure.
#[test]
fn expand_deploy_contract_has_no_errors() {
    let r = run(&load("schema-expand-contract.ron"));
    assert_eq!(r.schema_errors(), 0);
    assert_eq!(r.failed, 0);
    assert_eq!(r.schema, Some(3));
}

/// A version that needs a newer schema fails against the old one: deploying orders v2
/// (min_schema 2) with no migration fails every request once v2 is live (140 s).
#[test]
fn code_that_needs_a_newer_schema_fails_on_the_old_one() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/schema-expand-contract.ron"))
            .expect("readable");
    let start = text.find("steps: [").expect("steps");
    let end = start + text[start..].find("]),").expect("end of steps");
    let text = format!("{}steps: [Deploy(to: {{\"orders\": \"v2\"}})]{}", &text[..start], &text[end + 1..]);
    let r = run(&parse_str("needs-newer.ron", &text).expect("parses"));
    let (n, f) = window(&r, 142, 480);
    assert!(n > 5000);
    assert_eq!(f, n);
    assert_eq!(window(&r, 0, 120).1, 0);
}

/// The database as a loss system with a waiting room: `capacity` servers, `queue` places.
/// It completes at most capacity / E[S] queries per second, so with offered traffic λ above
/// that, at least (λ − capacity/E[S]) per second are rejected in steady state. Here λ = 50/s,
/// capacity 5 and E[S] = 5 ms × 100 (DbOverload) = 0.5 s: at most 10/s complete, so over the
/// 60 s fault about 2400 queries must be rejected; we require 1500 (the Poisson count of
/// 3000 arrivals has a standard deviation of 55, the queue holds 10). Without the fault
/// the load is 0.25 Erlang on 5 servers and nothing is rejected.
#[test]
fn an_overloaded_database_rejects_what_it_cannot_serve() {
    let text = |fault: &str| {
        format!(
            r#"Scenario(name: "db", seed: 3, duration: "3m", traffic: (rate: Constant(rps: 50)),
            topology: (front: "orders",
                services: [(name: "orders", replicas: 1, concurrency: 10000, queue: 0, database: true,
                            versions: [(name: "v1", min_schema: 1)])],
                database: (schema: 1, capacity: 5, queue: 10, latency: Exponential(mean: "5ms")),
                faults: [{fault}]))"#
        )
    };
    let calm = run(&parse_str("db.ron", &text("")).expect("parses"));
    assert_eq!(calm.db_rejected, 0);
    let hot =
        run(&parse_str("db.ron", &text(r#"(at: "1m", duration: "1m", fault: DbOverload(100))"#)).expect("parses"));
    assert!(hot.db_rejected >= 1500, "{}", hot.db_rejected);
    assert_eq!(hot.service("orders").map(|s| s.db), Some(hot.db_rejected));
}

// ----- retries -----------------------------------------------------------------------

fn storm(budget: &str) -> Scenario {
    // payments is down for the whole run (and the tail in which in-flight work finishes);
    // timeouts are far above a visit's duration, so every attempt ends by an error, never by
    // a timeout; queues are large, so no attempt is rejected.
    let text = format!(
        r#"Scenario(name: "storm", seed: 4, duration: "5m", traffic: (rate: Constant(rps: 40)),
        topology: (front: "front",
            services: [(name: "front", concurrency: 64), (name: "orders", concurrency: 64), (name: "payments")],
            calls: [(from: "front", to: "orders", timeout: "10s", retries: 3, backoff: "5ms"{budget}),
                    (from: "orders", to: "payments", timeout: "10s", retries: 2, backoff: "5ms"{budget})],
            faults: [(at: "0s", duration: "1h", fault: Down("payments"))]))"#
    );
    parse_str("storm.ron", &text).expect("parses")
}

/// Without a budget every failed attempt is retried: a call makes exactly 1 + N attempts.
/// Orders' own work never fails, so every attempt at orders makes one call to payments.
/// Hence attempts(orders) = 4 × requests and attempts(payments) = 3 × attempts(orders) =
/// 12 × requests, exactly.
#[test]
fn without_a_budget_retries_multiply_load_per_level_exactly() {
    let r = run(&storm(""));
    let requests = r.requests;
    let fo = r.call("front", "orders").expect("edge");
    let op = r.call("orders", "payments").expect("edge");
    assert_eq!(fo.calls, requests);
    assert_eq!(fo.attempts, 4 * fo.calls);
    let orders = r.service("orders").expect("orders").attempts;
    assert_eq!(orders, fo.attempts);
    assert_eq!(op.calls, orders);
    assert_eq!(op.attempts, 3 * op.calls);
    assert_eq!(r.service("payments").expect("payments").attempts, 12 * requests);
    assert_eq!(r.failed, requests);
}

/// With a budget (ratio r, min m per second, tumbling window W) each window allows at most
/// r × (first attempts in it) + m × W retries, so over K windows
/// retries ≤ r × calls + m × W × K and attempts ≤ calls × (1 + r) + m × W × K, per edge.
/// K counts the windows up to the last event. The budget must also bind: far fewer
/// attempts than the 12× of no budget.
#[test]
fn a_retry_budget_bounds_attempts() {
    let (r, m, w) = (0.2, 1.0, 10.0);
    let rep = run(&storm(", budget: (ratio: 0.2, min_per_sec: 1, window: \"10s\")"));
    let k = (rep.finished_s / w).floor() + 1.0;
    for e in &rep.calls {
        let bound = e.calls as f64 * (1.0 + r) + m * w * k;
        assert!(e.attempts as f64 <= bound, "{} → {}: {} attempts > {bound}", e.from, e.to, e.attempts);
        assert!(e.retries > 0 && e.retries_denied > 0);
    }
    let payments = rep.service("payments").expect("payments").attempts as f64;
    let requests = rep.requests as f64;
    // Two levels: calls(orders → payments) = attempts(orders) ≤ requests (1 + r) + m W K.
    let orders_bound = requests * (1.0 + r) + m * w * k;
    assert!(payments <= orders_bound * (1.0 + r) + m * w * k);
    assert!(payments < 2.0 * requests, "{payments} vs {requests}");
}

/// The shipped pair: the storm multiplies the load on payments far beyond the budgeted run,
/// and the budgeted run obeys the budget's bound on each edge.
#[test]
fn the_shipped_retry_budget_tames_the_shipped_storm() {
    let storm = run(&load("retry-storm.ron"));
    let tamed = run(&load("retry-budget.ron"));
    let p = |r: &Report| r.service("payments").expect("payments").attempts;
    assert!(p(&storm) > 4 * p(&tamed), "{} vs {}", p(&storm), p(&tamed));
    let k = (tamed.finished_s / 10.0).floor() + 1.0;
    for e in &tamed.calls {
        assert!(e.attempts as f64 <= e.calls as f64 * 1.2 + 10.0 * k);
    }
}

// ----- determinism and bad input ----------------------------------------------------

#[test]
fn same_seed_same_result_other_seed_other_result() {
    let mut s = load("retry-storm.ron");
    let a = run(&s).to_json();
    let b = run(&s).to_json();
    assert_eq!(a, b);
    s.seed += 1;
    assert_ne!(a, run(&s).to_json());
}

fn rejected(topology: &str) -> deploysim::scenario::ScenarioError {
    let text = format!("Scenario(name: \"bad\", duration: \"1m\",\n topology: ({topology}))");
    match parse_str("bad.ron", &text) {
        Ok(_) => panic!("accepted: {topology}"),
        Err(e) => {
            assert!(e.line >= 1 && e.col >= 1, "{e}");
            e
        }
    }
}

#[test]
fn bad_topologies_are_errors_that_name_the_field() {
    let two = r#"services: [(name: "a"), (name: "b")]"#;
    let e = rejected(&format!(r#"front: "a", {two}, calls: [(from: "a", to: "c")]"#));
    assert_eq!(e.field, "topology.calls[0].to");
    assert!(e.message().contains("unknown service `c`"), "{e}");

    let e = rejected(&format!(r#"front: "a", {two}, calls: [(from: "a", to: "b"), (from: "b", to: "a")]"#));
    assert!(e.message().contains("cycle") && e.message().contains("a → b → a"), "{e}");

    let e = rejected(two);
    assert!(e.message().contains("no front service"), "{e}");

    let e = rejected(&format!(r#"front: "x", {two}"#));
    assert_eq!(e.field, "topology.front");

    let api = r#"front: "a", services: [
        (name: "a", versions: [(name: "v1", requires: {"b": "3"})]),
        (name: "b", versions: [(name: "v1", provides: ["1", "2"])])],
        calls: [(from: "a", to: "b")]"#;
    let e = rejected(api);
    assert!(e.message().contains("API `3`") && e.message().contains("provided: 1, 2"), "{e}");

    let e = rejected(&format!(r#"front: "a", {two}, plan: (at: "10s", steps: [Deploy(to: {{"b": "v9"}})])"#));
    assert!(e.message().contains("no version `v9`"), "{e}");

    let e =
        rejected(&format!(r#"front: "a", {two}, database: (schema: 2), plan: (at: "10s", steps: [Expand(to: 1)])"#));
    assert!(e.message().contains("forward"), "{e}");

    let e = rejected(r#"front: "a", services: [(name: "a", versions: [(name: "v1", min_schema: 1)])]"#);
    assert!(e.message().contains("database: true"), "{e}");
}

#[test]
fn the_cli_rejects_a_bad_topology_with_its_file_and_line() {
    let dir = std::env::temp_dir().join(format!("dsim-topology-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("typo.ron");
    std::fs::write(
        &file,
        "Scenario(name: \"t\", duration: \"1m\",\n  topology: (front: \"a\",\n    services: [(name: \"a\")],\n    calls: [(from: \"a\", to: \"paymnets\")]))\n",
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deploysim")).arg("run").arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("typo.ron:4:") && err.contains("paymnets"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ----- sanity -----------------------------------------------------------------------

/// One service, no calls, far more slots than load (100/s × 58 ms ≈ 5.8 busy of 1000): no
/// request ever waits, so the mean latency is the sample mean of the service times. For
/// LogNormal(median m, p99 q), σ = ln(q/m)/z₀.₉₉ and the mean is m·exp(σ²/2) (the log-normal
/// mean), the standard deviation mean·√(exp(σ²) − 1). With ~60 000 requests the sample mean
/// lies within 5 standard errors of the true mean.
#[test]
fn one_service_mean_latency_is_the_lognormal_mean() {
    let text = r#"Scenario(name: "one", seed: 9, duration: "10m", traffic: (rate: Constant(rps: 100)),
        topology: (front: "a", services: [(name: "a", replicas: 1, concurrency: 1000,
            latency: LogNormal(median: "40ms", p99: "300ms"))]))"#;
    let r = run(&parse_str("one.ron", text).expect("parses"));
    let sigma = (300.0f64 / 40.0).ln() / 2.326_347_874_040_841;
    let mean = 40.0 * (sigma * sigma / 2.0).exp();
    let sd = mean * ((sigma * sigma).exp() - 1.0).sqrt();
    let se = sd / (r.requests as f64).sqrt();
    assert!(r.requests > 55_000);
    assert!((r.mean_latency_ms - mean).abs() < 5.0 * se, "{} vs {mean} ± {}", r.mean_latency_ms, 5.0 * se);
    assert_eq!(r.failed, 0);
}

// ----- the summary every run shares ---------------------------------------------------

fn summarised(s: &Scenario) -> (deploysim::metrics::Summary, Report) {
    topology::run_summarised(s).expect("a loaded topology runs")
}

/// The big bang's failures are all the release's: its baseline (the same scenario and
/// seed without the plan) fails nothing, so the excess is every failure and the blast
/// radius is every user who had one. The ordered plan respects the contracts: nothing.
#[test]
fn a_bad_big_bang_has_a_blast_radius_against_its_baseline() {
    let (s, r) = summarised(&load("multi-service-bigbang.ron"));
    assert!(s.failed_requests > 1000, "{s:?}");
    assert_eq!(s.excess_failed_requests, s.failed_requests as i64, "the baseline fails nothing");
    assert_eq!(s.blast_radius_users, r.users_affected);
    assert!(s.blast_radius_users > 0);
    assert_eq!(s.outcome, "promoted");
    assert_eq!(s.strategy, "big-bang");
    let names: Vec<&str> = s.services.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["front", "orders", "payments"]);
    let payments = &s.services[2];
    assert_eq!(payments.failed_by_cause.get("contract").copied(), Some(r.contract_errors()));

    let (o, _) = summarised(&load("multi-service-ordered.ron"));
    assert_eq!((o.failed_requests, o.blast_radius_users, o.excess_failed_requests), (0, 0, 0));
    assert!(o.exposed_users > 0, "users met the new versions");
}

/// Without a plan the run is its own baseline: failures from a fault are not the
/// release's, so the excess and the blast radius are exactly 0.
#[test]
fn a_graph_without_a_rollout_has_exactly_zero_excess_failures() {
    let (s, _) = summarised(&load("retry-storm.ron"));
    assert!(s.failed_requests > 1000, "the outage fails requests: {}", s.failed_requests);
    assert_eq!((s.excess_failed_requests, s.blast_radius_users, s.extra_cost), (0, 0, 0.0));
    assert_eq!(s.outcome, "no_rollout");
    assert_eq!(s.exposed_users, 0);
}

/// Little's law end to end, L = λ·W: the mean number of user requests in the system
/// equals the arrival rate times their mean time in it. Every request here is answered
/// (successes and errors, no timeouts or rejections), so W is the recorded mean latency;
/// only requests still in flight at the end part the two sides, well under 1 %.
#[test]
fn the_summary_obeys_littles_law_end_to_end() {
    let (s, _) = summarised(&load("multi-service-bigbang.ron"));
    assert_eq!(s.requests, s.successes + s.errors + s.timeouts + s.rejected);
    assert_eq!((s.timeouts, s.rejected), (0, 0));
    let w = s.latency_mean_ms.expect("answered requests") / 1e3;
    let l = s.throughput_rps * w;
    assert!((s.mean_in_system - l).abs() <= 0.01 * l, "L = {} but λW = {l}", s.mean_in_system);
}

/// `deploysim COMMAND FILE --json` from the checkout, as JSON.
fn cli_json(command: &str, file: &str) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deploysim"))
        .args([command, file, "--json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    assert!(out.status.success(), "{command} {file}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// `run --json` has the same keys for a single service and for a graph of services.
#[test]
fn run_json_has_the_same_keys_for_one_service_and_a_graph() {
    let keys = |file: &str| -> Vec<String> {
        let v = cli_json("run", file);
        let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
        k.sort();
        k
    };
    let one = keys("scenarios/rolling-bad-release.ron");
    assert!(one.contains(&"blast_radius_users".to_string()) && one.contains(&"services".to_string()));
    assert_eq!(one, keys("scenarios/multi-service-bigbang.ron"));
}

/// `compare` runs a graph's plan in each deployment order on the same seed, and a
/// function's release under each CodeDeploy configuration family. Big bang breaks the
/// API pair for a window; one at a time, callee first, never does. All at once exposes
/// every user to the bad function; the canary's alarm stops it at 10 %.
#[test]
fn compare_runs_a_graphs_plans_and_a_functions_deployments() {
    let compare =
        |file: &str| -> Vec<serde_json::Value> { cli_json("compare", file)["runs"].as_array().expect("runs").clone() };
    let g = compare("scenarios/multi-service-bigbang.ron");
    let by = |runs: &[serde_json::Value], name: &str| {
        runs.iter().find(|r| r["strategy"] == name).unwrap_or_else(|| panic!("no {name}")).clone()
    };
    assert!(by(&g, "big-bang")["blast_radius_users"].as_u64().is_some_and(|b| b > 1000));
    assert_eq!(by(&g, "one-at-a-time")["blast_radius_users"], 0);
    assert_eq!(by(&g, "big-bang")["requests"], by(&g, "one-at-a-time")["requests"], "the same users and requests");

    let f = compare("scenarios/serverless-canary.ron");
    let all = by(&f, "CodeDeployDefault.LambdaAllAtOnce")["blast_radius_users"].as_u64().expect("a count");
    let canary =
        by(&f, "CodeDeployDefault.LambdaCanary10Percent5Minutes")["blast_radius_users"].as_u64().expect("a count");
    assert!(canary > 0 && 10 * canary < all, "canary {canary}, all at once {all}");

    // Without a plan every variant is the baseline: one row, not three equal runs, and a
    // note that says why.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_deploysim"))
        .args(["compare", "scenarios/retry-storm.ron", "--json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no plan or release to roll out"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0]["strategy"].as_str(), runs[0]["excess_failed_requests"].as_i64()), (Some("none"), Some(0)));
}

/// A call chain against queueing theory: a front with slots to spare (an M/M/∞ stage,
/// whose departures are Poisson, so its callee sees Poisson arrivals) calls a leaf that
/// is one M/M/8 queue at ρ = 0.8. The end-to-end mean latency is the front's mean own work
/// plus the leaf's Erlang C sojourn, W = C(c, a)/(cμ − λ) + 1/μ (Kleinrock, Queueing
/// Systems vol. 1, §3.5). Three fixed seeds, each 30 simulated minutes (about 576 000
/// requests), each within 1 %.
#[test]
fn a_call_chain_has_the_front_work_plus_the_leaf_erlang_c_sojourn() {
    let text = |seed: u64| {
        format!(
            r#"Scenario(name: "chain vs Erlang C", seed: {seed}, duration: "30m",
    traffic: (users: 100000, rate: Constant(rps: 320)),
    topology: (
        front: "front",
        services: [
            (name: "front", replicas: 4, concurrency: 1000, queue: 0, latency: Exponential(mean: "10ms")),
            (name: "leaf", replicas: 1, concurrency: 8, queue: 1000000, latency: Exponential(mean: "20ms")),
        ],
        calls: [(from: "front", to: "leaf", timeout: "10m", retries: 0)],
    ),
)"#
        )
    };
    let (lambda, mu, c) = (320.0, 50.0, 8);
    let want = 0.010 + common::mmc_sojourn(c, lambda, mu);
    for seed in [1, 2, 3] {
        let s = parse_str("chain.ron", &text(seed)).unwrap_or_else(|e| panic!("{e}"));
        let (summary, r) = summarised(&s);
        assert_eq!(summary.failed_requests, 0);
        let got = r.mean_latency_ms / 1e3;
        assert!((got - want).abs() <= 0.01 * want, "seed {seed}: mean {got:.5} s, theory {want:.5} s");
        // Little's law end to end, L = λW.
        let l = summary.throughput_rps * got;
        assert!((summary.mean_in_system - l).abs() <= 0.01 * l, "seed {seed}: L {} λW {l}", summary.mean_in_system);
        // Per service: the leaf's mean visit is its own Erlang C sojourn, the front's is
        // its own work plus that; and each service obeys Little's law, L = λW, with λ its
        // visits over the duration and W their mean time (within 1 %: the two sides are
        // measured apart, the time-average of visits present up to the end and the mean of
        // their times; only the few visits in flight at the end part them).
        let (front, leaf) = (&summary.services[0], &summary.services[1]);
        let leaf_w = leaf.latency_mean_ms.expect("visits") / 1e3;
        let leaf_theory = common::mmc_sojourn(c, lambda, mu);
        assert!(
            (leaf_w - leaf_theory).abs() <= 0.01 * leaf_theory,
            "seed {seed}: leaf {leaf_w:.5} vs {leaf_theory:.5}"
        );
        let front_w = front.latency_mean_ms.expect("visits") / 1e3;
        assert!((front_w - want).abs() <= 0.01 * want, "seed {seed}: front {front_w:.5} vs {want:.5}");
        for (i, svc) in summary.services.iter().enumerate() {
            let visits = r.services[i].visits as f64;
            let w = svc.latency_mean_ms.expect("visits") / 1e3;
            let l = visits / summary.duration_s * w;
            assert!(
                (svc.mean_in_system - l).abs() <= 0.01 * l,
                "seed {seed}: {} L {} λW {l}",
                svc.name,
                svc.mean_in_system
            );
        }
        // Theory once more: the leaf holds λ·W = 320 × its sojourn on average.
        let l_theory = lambda * leaf_theory;
        assert!(
            (leaf.mean_in_system - l_theory).abs() <= 0.02 * l_theory,
            "seed {seed}: leaf L {} vs {l_theory}",
            leaf.mean_in_system
        );
    }
}

// ----- a canary of one service of the graph ------------------------------------------

/// The canary scenario with `payments` v2's error rate and the plan's switch replaced.
fn canary_variant(error_rate: &str, switch: Option<&str>, seed: u64) -> Scenario {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/multi-service-canary.ron"))
            .expect("readable");
    let mut text =
        text.replace(r#"(name: "v2", error_rate: 0.3)"#, &format!(r#"(name: "v2", error_rate: {error_rate})"#));
    if let Some(sw) = switch {
        let start = text.find("switch: Canary(").expect("the file has a canary");
        let end = start + text[start..].find("\n            ),\n").expect("the canary ends") + "\n            ),".len();
        text.replace_range(start..end, sw);
    }
    text = text.replace("seed: 11,", &format!("seed: {seed},"));
    parse_str("canary-variant.ron", &text).unwrap_or_else(|e| panic!("{e}"))
}

/// `payments` v2 fails each call with p = 0.3; `orders` retries once, so a user request
/// fails only when both attempts fail.
///
/// Big bang: payments v2 serves every call from 80 s (the plan at 60 s + boot 20 s) to the
/// end at 360 s: 280 s × 50 rps = 14 000 requests, each failing with 0.3² = 0.09, so the
/// excess failures are Poisson-thinned with mean 1 260 and σ ≈ 35.5 (bounds at ±6σ).
///
/// Canary: from 80 s 10 % of calls go to the canary, so an attempt fails with
/// 0.1 × 0.3 = 0.03 and a request with 0.03² = 0.0009. The analysis measures the canary's
/// own calls (≈ 5 per second, each failing with 0.3) at 90 s: 10 s of data, success ≈ 70 %
/// < 99 % with P(≥ 99 % of ~50 calls) < 1e-20, so it fails at its first measurement and
/// the weight is 0 from 90 s: ~500 requests at 0.0009 — mean 0.45 failures, and P(> 10)
/// < 1e-10. So the canary's blast radius is at most 10 users; the big bang's is at least
/// 500 (the ~1 260 failures fall on 5 000 users: about 1 100 distinct ones).
#[test]
fn a_canary_of_the_called_service_catches_its_bad_release_far_below_big_bang() {
    for seed in [11, 12, 13] {
        let (c, r) = summarised(&canary_variant("0.3", None, seed));
        assert_eq!(c.outcome, "rolled_back", "seed {seed}: {:?}", r.log);
        assert_eq!(c.strategy, "canary");
        assert_eq!(r.rollback_s, Some(90.0), "seed {seed}: the first measurement fails");
        assert!(c.excess_failed_requests <= 10 && c.blast_radius_users <= 10, "seed {seed}: {c:?}");
        assert!(c.abort_reason.as_deref().is_some_and(|m| m.contains("success")), "{c:?}");
        assert!(c.time_to_recover_s.is_some_and(|t| t < 1.0), "weight 0 at once: {c:?}");
        assert_eq!(c.services[2].version, "v1", "payments stays on v1");
        assert_eq!(c.services[1].version, "v1", "orders never changed");

        let (b, _) = summarised(&canary_variant("0.3", Some(r#"order: BigBang"#), seed));
        assert_eq!(b.strategy, "big-bang");
        let (mean, sd) = (1260.0, 1260f64.sqrt());
        let excess = b.excess_failed_requests as f64;
        assert!((excess - mean).abs() <= 6.0 * sd, "seed {seed}: excess {excess}, expected {mean} ± 6·{sd:.1}");
        assert!(b.blast_radius_users >= 500, "seed {seed}: {b:?}");
        assert!(b.blast_radius_users >= 50 * c.blast_radius_users.max(1), "far below");
    }
}

/// A good release passes every step: 10 % on one canary instance from 80 s (plan 60 s +
/// boot 20 s), 2 min pause, 50 % needs a second instance, ready at 220 s, 2 min pause, then
/// promotion: the stable replicas run v2 `boot` later, at 360 s, and the canary goes.
/// Canary instances run 60–360 s and 200–360 s: 460 instance-seconds of extra cost.
#[test]
fn a_good_canary_of_a_called_service_is_promoted_on_its_schedule() {
    let s = canary_variant("0", None, 11);
    let (c, r) = summarised(&s);
    assert_eq!(c.outcome, "promoted", "{:?}", r.log);
    assert_eq!(c.failed_requests, 0);
    assert_eq!(r.plan_finished_s, Some(360.0));
    assert_eq!(c.rollout_duration_s, Some(300.0));
    assert_eq!(c.peak_instances, 9 + 2);
    let price = s.fleet.instance.hourly_cost.0 / 3600.0;
    assert!((c.extra_cost - 460.0 * price).abs() < 1e-9, "extra cost {} vs {}", c.extra_cost, 460.0 * price);
    assert_eq!(c.services[2].version, "v2");
    let logged = |t: f64, text: &str| r.log.iter().any(|(at, l)| *at == t && l.contains(text));
    assert!(logged(80.0, "10% of calls to the canary (1 instances)"), "{:?}", r.log);
    assert!(logged(220.0, "50% of calls to the canary (2 instances)"), "{:?}", r.log);
    assert!(logged(360.0, "payments promoted"), "{:?}", r.log);
}

#[test]
fn bad_canaries_in_a_graph_are_errors_that_name_the_field() {
    let base = r#"front: "a", services: [(name: "a"), (name: "b", versions: [(name: "v1"), (name: "v2")])],
        calls: [(from: "a", to: "b")], plan: (at: "10s", "#;
    let e = rejected(&format!(
        r#"{base}steps: [Deploy(to: {{"b": "v2"}}, switch: Canary(steps: [SetWeight(10)], analysis: (checks: [Kayenta()])))])"#
    ));
    assert_eq!(e.field, "topology.plan.steps[0].switch.Canary.analysis.checks[0]", "{e}");
    assert!(e.message().contains("baseline"), "{e}");
    let e = rejected(&format!(
        r#"{base}steps: [Deploy(to: {{"b": "v2"}}, switch: Canary(steps: [SetWeight(10)], max_surge: 1))])"#
    ));
    assert!(e.field.ends_with("max_surge"), "{e}");
    let e = rejected(&format!(
        r#"{base}steps: [Deploy(to: {{"b": "v2"}}, switch: Canary(steps: [SetWeight(10)], analysis: (interval: "0s", checks: [SuccessRate(0.9)])))])"#
    ));
    assert!(e.field.ends_with("analysis.interval"), "{e}");
    let e = rejected(&format!(r#"{base}steps: [Deploy(to: {{"b": "v2"}})], on_abort: (switch: Canary(steps: [])))"#));
    assert_eq!(e.field, "topology.plan.on_abort.switch", "{e}");
}

// ----- a function-backed service in a graph -------------------------------------------

/// Lambda's documented prices (x86, us-east-1, <https://aws.amazon.com/lambda/pricing/>).
const PRICE_PER_REQUEST: f64 = 0.20 / 1e6;
const PRICE_PER_GB_S: f64 = 0.000_016_666_7;

/// The mixed scenario without its plan (and, optionally, with text replaced).
fn mixed(replace: &[(&str, &str)]) -> Scenario {
    let mut text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mixed-function-dependency.ron"))
            .expect("readable");
    for (a, b) in replace {
        assert!(text.contains(a), "the scenario changed: {a}");
        text = text.replace(a, b);
    }
    parse_str("mixed-variant.ron", &text).unwrap_or_else(|e| panic!("{e}"))
}

/// Cold starts and pay-per-use cost are the function's; the front's cost is its two
/// instances' time. Without the plan and with `bill_init: false`, each call to the
/// function is billed its execution time rounded up to the next millisecond; execution
/// is LogNormal(median 80 ms, p99 400 ms): σ = ln 5 / z₀.₉₉ = 0.6918, mean
/// 80·e^(σ²/2) = 101.6 ms, so E[billed ms] = 101.6 + 0.5. With N ≈ 18 000 calls the mean's
/// relative standard error is √(e^(σ²) − 1)/√N = 0.58 %: ±3 % is over 5σ.
#[test]
fn a_function_behind_an_instance_front_pays_per_use_and_has_the_cold_starts() {
    let mut s = mixed(&[("idle_timeout: \"5m\")", "idle_timeout: \"5m\", bill_init: false)")]);
    if let Some(t) = s.topology.as_mut() {
        t.plan = None;
    }
    let (sum, _) = summarised(&s);
    let (web, fun) = (&sum.services[0], &sum.services[1]);
    assert_eq!((web.name.as_str(), fun.name.as_str()), ("web", "thumbnails"));
    assert_eq!(web.cold_starts, 0, "instances have no cold starts");
    assert!(fun.cold_starts > 0, "the function starts environments");
    // At most the peak concurrency: 10 rps × ~0.1 s in flight; Poisson(1) ≥ 15 never
    // happens in 18 000 looks (P < 1e-12 each).
    assert!(fun.cold_starts <= 15, "{}", fun.cold_starts);
    let web_cost = 2.0 * 0.0416 * 0.5;
    assert!((web.cost - web_cost).abs() < 1e-12, "web {} vs {web_cost}", web.cost);
    let sigma = 5f64.ln() / 2.326_347_874;
    let mean_ms = 80.0 * (sigma * sigma / 2.0).exp() + 0.5;
    let n = fun.requests as f64;
    let expected = n * (PRICE_PER_REQUEST + mean_ms / 1000.0 * 1.0 * PRICE_PER_GB_S);
    assert!((fun.cost - expected).abs() <= 0.03 * expected, "function {} vs {expected}", fun.cost);
    assert!((sum.cost - web.cost - fun.cost).abs() < 1e-12, "the run's cost is its services'");
}

/// A function's reserved concurrency in a graph is the same loss system as alone:
/// concurrency 5 under a = λ·E[S] = 100 × 0.1 = 10 throttles Erlang's B(5, 10) = 0.564 of
/// its calls (M/G/c/c, insensitive to the service distribution; Kleinrock vol. 1 §3.6).
/// The front adds a constant 1 ms, which keeps the calls Poisson. Throttles are correlated
/// over about a service time, so 360 000 calls hold roughly 36 000 independent looks:
/// ±0.015 is over 5 standard deviations.
#[test]
fn a_function_in_a_graph_throttles_as_erlangs_loss_formula() {
    let s = parse_str(
        "loss.ron",
        r#"Scenario(name: "loss", seed: 4, duration: "1h", traffic: (rate: Constant(rps: 100)),
            topology: (front: "web",
                services: [
                    (name: "web", replicas: 4, concurrency: 64, latency: Constant("1ms")),
                    (name: "fn", latency: Constant("100ms"),
                        backend: Functions(concurrency_limit: 5, init: Constant("1ms"), idle_timeout: "1h")),
                ],
                calls: [(from: "web", to: "fn")]))"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (sum, _) = summarised(&s);
    let f = &sum.services[1];
    let throttled = f.failed_by_cause.get("rejected").copied().unwrap_or(0);
    assert_eq!(throttled, f.failed_requests, "throttling is the only failure");
    assert!(f.cold_starts <= 5, "never more environments than the limit: {}", f.cold_starts);
    let b = (1..=5).fold(1.0, |b, n| 10.0 * b / (n as f64 + 10.0 * b));
    let share = throttled as f64 / f.requests as f64;
    assert!((share - b).abs() < 0.015, "throttled {share} vs B(5, 10) = {b}");
}

/// A function in a graph takes a canary through its alias: the weight moves with no
/// instance, the bad version is caught, and its first calls pay cold starts of its own.
#[test]
fn a_functions_canary_in_a_graph_is_caught_by_its_analysis() {
    let (sum, r) = summarised(&mixed(&[]));
    assert_eq!(sum.outcome, "rolled_back", "{:?}", r.log);
    assert_eq!(sum.peak_instances, 2, "a function's canary has no instances");
    assert!(
        r.log.iter().any(|(t, l)| *t == 600.0 && l.contains("10% of calls to the canary through its weighted alias"))
    );
    let base = topology::run_summarised(&topology::baseline_of(&mixed(&[]))).expect("runs").0;
    assert!(sum.services[1].cold_starts > base.services[1].cold_starts, "v2's environments start cold");
}

#[test]
fn a_function_has_no_replicas() {
    let e = rejected(r#"front: "a", services: [(name: "a", replicas: 4, backend: Functions())]"#);
    assert_eq!(e.field, "topology.services[0].replicas", "{e}");
    assert!(e.message().contains("functions"), "{e}");
}

// ----- instances of a graph crash and restart ----------------------------------------

/// The canary scenario without its plan, with faults.
fn with_faults(faults: &str) -> Scenario {
    let text = std::fs::read_to_string(root().join("scenarios/multi-service-canary.ron")).expect("readable");
    let start = text.find("        plan: (").expect("the file has a plan");
    let end = text.rfind("    ),\n)").expect("the topology ends");
    let text = format!("{}        faults: [{faults}],\n{}", &text[..start], &text[end..]);
    parse_str("faults.ron", &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// All three replicas of the called service crash at 120 s and serve again at 150 s. In
/// between no replica is up: every call to payments is refused at once (a 503 with no
/// ready endpoint), its one retry too, so every user request fails — from 120 s to 150 s,
/// deterministically (a margin of 1 s at each edge for requests in flight across them,
/// whose latency is ~0.1 s). Before and after nothing else can fail.
#[test]
fn a_called_service_whose_replicas_all_crash_fails_every_request_until_they_restart() {
    let (s, r) =
        summarised(&with_faults(r#"(at: "120s", duration: "30s", fault: Crash(service: "payments", count: 3))"#));
    let (n, f) = window(&r, 121, 149);
    assert!(n > 1000, "{n}");
    assert_eq!(f, n, "every request fails while no replica is up");
    assert_eq!(window(&r, 0, 120).1, 0);
    assert_eq!(window(&r, 151, r.series.len()).1, 0, "the replicas serve again");
    assert!((29..=31).contains(&s.downtime_s), "downtime {}", s.downtime_s);
    let restarted = r.log.iter().filter(|(t, l)| *t == 150.0 && l.contains("restarted")).count();
    assert_eq!(restarted, 3, "{:?}", r.log);
    assert!(s.services[2].failed_by_cause.get("rejected").copied().unwrap_or(0) > 1000);
    // No plan: the crash is not the release's.
    assert_eq!((s.excess_failed_requests, s.blast_radius_users), (0, 0));
}

/// One replica of three crashes: what it held fails (at 50 calls/s and ~26 ms per call,
/// about 0.4 calls on one replica; P(more than 10) < 1e-12), round-robin skips it for the
/// 30 s it is down, so no call is refused, and orders' one retry lands on a replica that
/// is up: no user request fails.
#[test]
fn one_crashed_replica_loses_only_what_it_held() {
    let (s, r) = summarised(&with_faults(r#"(at: "120s", duration: "30s", fault: Crash(service: "payments"))"#));
    let payments = &s.services[2];
    let crashed = payments.failed_by_cause.get("error").copied().unwrap_or(0);
    assert!(crashed <= 10, "{crashed}");
    assert_eq!(payments.failed_by_cause.get("rejected"), None, "the other replicas take the calls");
    assert_eq!(s.failed_requests, 0, "the retry succeeds elsewhere: {:?}", r.log);
    assert!(r.log.iter().any(|(t, l)| *t == 150.0 && l.contains("restarted")));
}

#[test]
fn a_crash_names_a_service_with_that_many_replicas() {
    let e = rejected(
        r#"front: "a", services: [(name: "a", replicas: 2)], faults: [(at: "1s", duration: "1s", fault: Crash(service: "a", count: 3))]"#,
    );
    assert_eq!(e.field, "topology.faults[0].fault.count", "{e}");
    let e = rejected(
        r#"front: "a", services: [(name: "a", backend: Functions())], faults: [(at: "1s", duration: "1s", fault: Crash(service: "a"))]"#,
    );
    assert!(e.message().contains("functions"), "{e}");
}
