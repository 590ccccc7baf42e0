//! CPU cost of one app frame: stepping the simulation at ×60, mirroring the fleet into
//! entities, and building the egui interface (layout and tessellation), with 200
//! instances and 5 000 requests per second. Rendering is not included.
//!
//! `cargo bench --bench app_frame`

use std::hint::black_box;

use bevy::prelude::*;

use criterion::{Criterion, criterion_group, criterion_main};
use deploysim::app::{Actions, FleetViewPlugin, Session, SimPlugin, UiState, draw_ui};

const SCENARIO: &str = r#"Scenario(
    name: "200 instances, 5000 rps", seed: 7, duration: "2h",
    traffic: (users: 200000, rate: Constant(rps: 5000)),
    service: (concurrency: 8, latency: LogNormal(median: "40ms", p99: "300ms"), timeout: "2s"),
    fleet: (replicas: 200, zones: 3, instance: (boot: "20s")),
    router: (mode: Weighted),
    release: (at: "1m", defects: [ErrorRate(0.01)]),
    strategy: Canary(steps: [SetWeight(10), Pause("10m"), SetWeight(50), Pause("10m")]),
)"#;

fn bench(c: &mut Criterion) {
    let mut session = Session::from_text("bench.ron", SCENARIO, None).expect("bench scenario");
    session.speed = 60.0;
    session.jump_to(90.0);
    session.playing = false;
    let mut app = App::new();
    app.add_plugins(MinimalPlugins).insert_resource(session).add_plugins((SimPlugin, FleetViewPlugin));
    app.update();
    let ctx = egui::Context::default();
    let mut state = UiState::default();
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0))),
        ..Default::default()
    };
    let mut g = c.benchmark_group("app");
    g.sample_size(30);
    g.bench_function("frame_200_instances_5000rps_x60", |b| {
        b.iter(|| {
            {
                let mut s = app.world_mut().resource_mut::<Session>();
                s.playing = true;
                s.advance(1.0 / 60.0);
                s.playing = false;
            }
            app.update();
            let session = app.world().resource::<Session>();
            let mut actions = Vec::new();
            let out = ctx.run_ui(input(), |ui| {
                black_box(draw_ui(ui.ctx(), session, &mut state, &mut actions));
            });
            black_box(ctx.tessellate(out.shapes, out.pixels_per_point));
            black_box(app.world().resource::<Actions>().0.len());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
