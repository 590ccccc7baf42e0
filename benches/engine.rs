//! Simulated requests per second of the engine with full metrics.
//!
//! `cargo bench --no-default-features --bench engine` prints the throughput in
//! elements (simulated requests; end-to-end user requests for the call chain) per second
//! of a single service (M/M/8, a rolling fleet), a 3-service call chain and a
//! function-backed service, and the time of one seed of the batch benchmark
//! (`scenarios/batch-canary.ron`: its shared tape, baseline and canary run).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use deploysim::scenario::{Scenario, parse_str};
use deploysim::sim::Simulation;

/// The shipped `scenarios/mmc.ron` work (M/M/8 at ρ = 0.8), 30 simulated minutes.
const MMC: &str = r#"Scenario(
    name: "bench mmc", seed: 7, duration: "30m",
    traffic: (users: 100000, rate: Constant(rps: 320)),
    service: (concurrency: 8, queue: 1000000, latency: Exponential(mean: "20ms"), timeout: None),
    fleet: (replicas: 1, zones: 1),
)"#;

/// A realistic fleet: 40 instances, log-normal latency, timeouts, a rolling update.
const FLEET: &str = r#"Scenario(
    name: "bench fleet", seed: 7, duration: "30m",
    traffic: (users: 200000, rate: Constant(rps: 2000)),
    service: (concurrency: 8, latency: LogNormal(median: "40ms", p99: "300ms"), timeout: "2s"),
    fleet: (replicas: 40, zones: 3),
    release: (at: "10m", defects: [ErrorRate(0.02)]),
    strategy: Rolling(),
)"#;

/// A 3-service call chain (front → orders → payments), each with slots to spare, at
/// 2000 user requests per second for 10 simulated minutes.
const CHAIN: &str = r#"Scenario(
    name: "bench chain", seed: 7, duration: "10m",
    traffic: (users: 200000, rate: Constant(rps: 2000)),
    topology: (
        front: "front",
        services: [
            (name: "front", replicas: 8, concurrency: 32),
            (name: "orders", replicas: 8, concurrency: 32),
            (name: "payments", replicas: 8, concurrency: 32),
        ],
        calls: [
            (from: "front", to: "orders", timeout: "2s", retries: 1),
            (from: "orders", to: "payments", timeout: "1s", retries: 1),
        ],
    ),
)"#;

/// A function-backed service: 500 requests per second for 10 simulated minutes, warm
/// environments reused, cold starts when concurrency grows.
const FUNCTION: &str = r#"Scenario(
    name: "bench function", seed: 7, duration: "10m",
    traffic: (users: 100000, rate: Constant(rps: 500)),
    service: (latency: LogNormal(median: "40ms", p99: "300ms")),
    serverless: (memory_mb: 512, init: LogNormal(median: "300ms", p99: "1s"), idle_timeout: "5m"),
)"#;

fn load(text: &str) -> Arc<Scenario> {
    match parse_str("bench.ron", text) {
        Ok(s) => Arc::new(s),
        Err(e) => panic!("bench scenario: {e}"),
    }
}

fn requests(s: &Arc<Scenario>) -> u64 {
    let mut sim = Simulation::new(s.clone());
    sim.run_to_end();
    sim.metrics().arrivals
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    for (name, text) in [("mmc", MMC), ("rolling_fleet", FLEET)] {
        let s = load(text);
        g.throughput(Throughput::Elements(requests(&s)));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut sim = Simulation::new(black_box(s.clone()));
                sim.run_to_end();
                black_box(sim.metrics().arrivals)
            })
        });
    }
    let chain = load(CHAIN);
    let chain_requests = match deploysim::topology::run(&chain) {
        Ok(r) => r.requests,
        Err(e) => panic!("chain: {e}"),
    };
    g.throughput(Throughput::Elements(chain_requests));
    g.bench_function("chain_3_services", |b| b.iter(|| black_box(deploysim::topology::run(black_box(&chain)).ok())));
    let function = load(FUNCTION);
    let function_requests = match deploysim::serverless::run(&function) {
        Ok(r) => r.requests,
        Err(e) => panic!("function: {e}"),
    };
    g.throughput(Throughput::Elements(function_requests));
    g.bench_function("function", |b| b.iter(|| black_box(deploysim::serverless::run(black_box(&function)).ok())));
    g.finish();

    let mut g = c.benchmark_group("batch");
    g.sample_size(10);
    let s = match deploysim::scenario::load_file(std::path::Path::new("scenarios/batch-canary.ron")) {
        Ok(s) => s,
        Err(e) => panic!("batch benchmark scenario: {e}"),
    };
    let variants = vec![("canary".to_string(), s.strategy.clone())];
    g.bench_function("canary_one_hour_seed", |b| {
        b.iter(|| black_box(deploysim::batch::run_seed(black_box(&s), &variants, s.seed)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
