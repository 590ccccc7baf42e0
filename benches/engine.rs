//! Simulated requests per second of the engine with full metrics.
//!
//! `cargo bench --no-default-features --bench engine` prints the throughput in
//! elements (simulated requests) per second, and the time of one seed of the batch
//! benchmark (`scenarios/batch-canary.ron`: its shared tape, baseline and canary run).

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
