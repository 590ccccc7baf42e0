//! Simulated requests per second of the engine with full metrics.
//!
//! `cargo bench --no-default-features --bench engine` prints the throughput in
//! elements (simulated requests) per second.

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
}

criterion_group!(benches, bench);
criterion_main!(benches);
