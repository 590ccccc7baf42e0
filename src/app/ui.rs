//! The egui panels: a top bar (scenario, clock, play, speed, step, restart, seed), a
//! left panel (scenario and strategy pickers, rollout controls, faults, the strategy's
//! steps, the event log), live charts along the bottom, the summary at the end, and the
//! compare view. [`draw_ui`] is a plain function of an `egui::Context`, so it can be
//! measured and tested without a window.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};
use egui::{Color32, RichText};
use egui_plot::{HLine, Legend, Line, Plot, VLine};

use super::fleet_view::{FleetHidden, InstanceView, SceneRect, layout_pools};
use super::scene::scene_layout;
use super::session::{Action, Actions, Session};
use super::state::UiState;
use crate::metrics::{SecondRecord, Summary};
use crate::model::fleet::{NEW, POOL_NAMES, POOLS, STABLE};
use crate::scenario::Command;
use crate::scenario::RolloutCommand;
use crate::scenario::{DependencySlow, Duration, Factor, Fault, Int, Probability, ZoneOutage};

const STABLE_C: Color32 = Color32::from_rgb(77, 140, 242);
const NEW_C: Color32 = Color32::from_rgb(64, 204, 115);
const BASE_C: Color32 = Color32::from_rgb(158, 158, 191);
const BAD_C: Color32 = Color32::from_rgb(242, 56, 56);

pub struct UiPlugin;

impl Plugin for UiPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UiState>()
            .add_systems(EguiPrimaryContextPass, ui_system)
            .add_systems(
                Update,
                (
                    super::lesson::lesson_keys.run_if(not(bevy_egui::input::egui_wants_any_keyboard_input)),
                    super::lesson::lesson_apply,
                    super::lesson::lesson_export,
                )
                    .chain(),
            )
            .add_systems(Update, click_to_crash.run_if(not(bevy_egui::input::egui_wants_any_pointer_input)));
    }
}

fn ui_system(
    mut contexts: EguiContexts,
    session: Res<Session>,
    mut state: ResMut<UiState>,
    mut actions: ResMut<Actions>,
    mut area: ResMut<SceneRect>,
    mut hidden: ResMut<FleetHidden>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let presenter = state.lesson.as_ref().is_some_and(|l| l.presenter);
    let zoom = if presenter { 1.35 } else { 1.0 };
    if (ctx.zoom_factor() - zoom).abs() > 1e-3 {
        ctx.set_zoom_factor(zoom);
    }
    if state.seed == 0 {
        state.seed = session.scenario.seed;
    }
    let rect = draw_ui(ctx, &session, &mut state, &mut actions.0);
    if *area != rect {
        *area = rect;
    }
    hidden.0 = (state.compare && !session.lanes.is_empty()) || state.lesson.as_ref().is_some_and(|l| l.headless);
    Ok(())
}

/// Clicking an instance crashes it.
fn click_to_crash(
    buttons: Res<ButtonInput<MouseButton>>,
    window: Single<&Window, With<PrimaryWindow>>,
    instances: Query<(&InstanceView, &Transform, &Sprite)>,
    mut actions: ResMut<Actions>,
) {
    if !buttons.just_pressed(MouseButton::Left) {
        return;
    }
    let Some(cursor) = window.cursor_position() else { return };
    let world = Vec2::new(cursor.x - window.width() / 2.0, window.height() / 2.0 - cursor.y);
    for (v, t, s) in &instances {
        let half = s.custom_size.unwrap_or(Vec2::splat(8.0)) / 2.0;
        let d = (world - t.translation.truncate()).abs();
        if d.x <= half.x && d.y <= half.y {
            actions.0.push(Action::Command(Command::CrashInstance(v.id)));
            return;
        }
    }
}

fn fmt_time(t: f64) -> String {
    let s = t.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Draws the whole interface; returns the free area left for the scene, in world
/// coordinates (origin at the window's centre, y up).
pub fn draw_ui(ctx: &egui::Context, session: &Session, state: &mut UiState, actions: &mut Vec<Action>) -> SceneRect {
    let viewport = ctx.viewport_rect();
    let mut root = egui::Ui::new(
        ctx.clone(),
        "root".into(),
        egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(viewport),
    );
    if state.lesson.as_ref().is_some_and(|l| l.headless) {
        egui::Panel::top("top").exact_size(40.0).show(&mut root, |ui| {
            ui.horizontal_centered(|ui| {
                ui.heading(&session.scenario.name);
                ui.label("— runs to the end at once; the numbers are its report");
            });
        });
    } else {
        egui::Panel::top("top").exact_size(40.0).show(&mut root, |ui| top_bar(ui, session, state, actions));
    }
    if let Some(l) = state.lesson.as_mut() {
        if l.headless {
            egui::CentralPanel::default().show(&mut root, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    ui.set_max_width(900.0);
                    super::lesson::lesson_panel(ui, l)
                });
            });
            return SceneRect::default();
        }
        let width = if l.presenter { 460.0 } else { 400.0 };
        egui::Panel::right("lesson").exact_size(width).resizable(false).show(&mut root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| super::lesson::lesson_panel(ui, l));
        });
    }
    let presenter = state.lesson.as_ref().is_some_and(|l| l.presenter);
    if !presenter {
        egui::Panel::left("controls").exact_size(330.0).resizable(false).show(&mut root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| left_panel(ui, session, state, actions));
        });
    }
    let compare = state.compare && !session.lanes.is_empty();
    if !compare {
        let highlight = state.lesson.as_ref().and_then(|l| match l.player.step().highlight {
            Some(crate::lesson::Highlight::Chart(c)) => Some(c),
            _ => None,
        });
        egui::Panel::bottom("charts")
            .exact_size(230.0)
            .show(&mut root, |ui| charts(ui, session, state.chart_secs, highlight));
    }
    let free = root.available_rect_before_wrap();
    if compare {
        egui::CentralPanel::default().show(&mut root, |ui| compare_view(ui, session));
    } else {
        scene_labels(ctx, session, free, viewport);
    }
    if let Some(summary) = &session.summary
        && !compare
    {
        egui::Window::new("Run summary").default_pos([free.max.x - 360.0, free.min.y + 10.0]).show(ctx, |ui| {
            summary_grid(ui, summary);
            if let Some(ab) = &summary.ab {
                ui.separator();
                ui.monospace(crate::report::ab_table(ab));
            }
        });
    }
    scene_rect(free, viewport, ctx.zoom_factor())
}

/// The scene's part of the window in world units (logical pixels from the window's
/// centre, y up), from egui's `free` rectangle and `viewport` (points; a point is `zoom`
/// logical pixels, e.g. in presenter mode).
fn scene_rect(free: egui::Rect, viewport: egui::Rect, zoom: f32) -> SceneRect {
    let (w, h) = (viewport.width() / 2.0, viewport.height() / 2.0);
    SceneRect {
        min: Vec2::new(free.min.x - w, h - free.max.y) * zoom,
        max: Vec2::new(free.max.x - w, h - free.min.y) * zoom,
    }
}

fn top_bar(ui: &mut egui::Ui, session: &Session, state: &mut UiState, actions: &mut Vec<Action>) {
    ui.horizontal_centered(|ui| {
        ui.label(RichText::new(&session.scenario.name).strong().size(16.0));
        ui.separator();
        let now = session.sim.now().as_secs_f64();
        ui.monospace(format!("t {} / {}", fmt_time(now), fmt_time(session.sim.end().as_secs_f64())));
        let play = if session.playing { "⏸ Pause" } else { "▶ Play" };
        if ui.button(play).clicked() {
            actions.push(Action::TogglePlay);
        }
        let mut speed = session.speed;
        ui.label("speed ×");
        if ui.add(egui::Slider::new(&mut speed, 1.0..=600.0).logarithmic(true).max_decimals(0)).changed() {
            actions.push(Action::SetSpeed(speed));
        }
        for s in [1.0, 10.0, 60.0, 600.0] {
            if ui.small_button(format!("×{s}")).clicked() {
                actions.push(Action::SetSpeed(s));
            }
        }
        if ui.button("+1 s").clicked() {
            actions.push(Action::Step(1.0));
        }
        if ui.button("+1 min").clicked() {
            actions.push(Action::Step(60.0));
        }
        if ui.button("⟲ Restart").clicked() {
            actions.push(Action::Restart);
        }
        ui.label("seed");
        ui.add(egui::DragValue::new(&mut state.seed));
        if state.seed != session.scenario.seed && ui.button("apply").clicked() {
            actions.push(Action::SetSeed(state.seed));
        }
        if session.behind {
            ui.colored_label(Color32::YELLOW, "(slower than the speed asked)");
        }
    });
}

fn left_panel(ui: &mut egui::Ui, session: &Session, state: &mut UiState, actions: &mut Vec<Action>) {
    ui.heading("Scenario");
    egui::ComboBox::from_id_salt("scenario").width(300.0).selected_text(&session.label).show_ui(ui, |ui| {
        for f in &state.files {
            let name = f.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            if ui.selectable_label(name == session.label, &name).clicked() {
                actions.push(Action::Load(f.clone()));
            }
        }
    });
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(&mut state.open_path).hint_text("path/to/scenario.ron").desired_width(230.0));
        if ui.button("Open").clicked() && !state.open_path.is_empty() {
            actions.push(Action::Load(PathBuf::from(state.open_path.trim())));
        }
    });
    ui.horizontal(|ui| {
        ui.label("Strategy");
        let current = session.scenario.strategy.name().to_string();
        egui::ComboBox::from_id_salt("strategy").selected_text(&current).show_ui(ui, |ui| {
            for n in session.strategy_names() {
                if ui.selectable_label(n == current, &n).clicked() {
                    actions.push(Action::SetStrategy(n));
                }
            }
        });
    });
    if let Some(m) = &session.message {
        ui.colored_label(BAD_C, m);
    }
    ui.separator();
    ui.heading("Rollout");
    let r = session.sim.rollout();
    ui.label(format!("outcome: {}", r.outcome.label()));
    if let Some(reason) = &r.abort_reason {
        ui.colored_label(BAD_C, format!("aborted: {reason}"));
    }
    let cmd = |a: RolloutCommand| Action::Command(Command::Rollout(a));
    ui.horizontal_wrapped(|ui| {
        if ui.button("Promote").on_hover_text("go past a pause or an inconclusive analysis").clicked() {
            actions.push(cmd(RolloutCommand::Promote));
        }
        if ui.button("Abort").on_hover_text("roll back now").clicked() {
            actions.push(cmd(RolloutCommand::Abort));
        }
        let (label, c) = if r.paused { ("Resume", RolloutCommand::Resume) } else { ("Pause", RolloutCommand::Pause) };
        if ui.button(label).clicked() {
            actions.push(cmd(c));
        }
        if ui.button("Kill switch").on_hover_text("turn the new code path off for everyone").clicked() {
            actions.push(Action::Command(Command::KillSwitch));
        }
    });
    ui.label("Inject a fault (or click an instance to crash it):");
    ui.horizontal_wrapped(|ui| {
        if ui.button("Crash an instance").clicked() {
            let f = Fault::CrashInstances(crate::scenario::CrashInstances { count: Int(1), version: None });
            actions.push(Action::Command(Command::InjectFault(f)));
        }
        if ui.button("Zone 0 outage (2 min)").clicked() {
            let f = Fault::ZoneOutage(ZoneOutage { zone: Int(0), duration: Duration::secs(120) });
            actions.push(Action::Command(Command::InjectFault(f)));
        }
        if ui.button("Make the release bad (+5 % errors)").clicked() {
            actions.push(Action::Command(Command::ReleaseErrorRate(Probability(0.05))));
        }
        if ui.button("Dependency slow (×3, 2 min)").clicked() {
            let f = Fault::DependencySlow(DependencySlow { factor: Factor(3.0), duration: Duration::secs(120) });
            actions.push(Action::Command(Command::InjectFault(f)));
        }
        ui.menu_button("More faults…", |ui| {
            for (label, f) in crate::sim::faults::live_menu() {
                if ui.button(label).clicked() {
                    actions.push(Action::Command(Command::InjectFault(f)));
                    ui.close();
                }
            }
        });
    });
    ui.separator();
    ui.heading("Steps");
    let (steps, current) = session.sim.plan();
    for (i, s) in steps.iter().enumerate() {
        let text = if Some(i) == current {
            RichText::new(format!("▶ {s}")).strong().color(Color32::from_rgb(255, 210, 80))
        } else if current.is_some_and(|c| i < c) {
            RichText::new(format!("✔ {s}")).color(Color32::GRAY)
        } else {
            RichText::new(format!("  {s}"))
        };
        ui.label(text);
    }
    ui.separator();
    ui.heading("Compare");
    ui.horizontal_wrapped(|ui| {
        for n in ["rolling", "blue-green", "canary", "flagger", "feature-toggle", "shadow"] {
            let mut on = state.compare_names.iter().any(|x| x == n);
            if ui.checkbox(&mut on, n).changed() {
                if on && state.compare_names.len() < 4 {
                    state.compare_names.push(n.to_string());
                } else {
                    state.compare_names.retain(|x| x != n);
                }
            }
        }
    });
    let label = if state.compare { "Back to one run" } else { "Compare side by side" };
    if ui.button(label).clicked() {
        state.compare = !state.compare;
        actions.push(Action::Compare(state.compare.then(|| state.compare_names.clone())));
    }
    ui.separator();
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(&mut state.save_path).desired_width(200.0));
        if ui.button("Save session").on_hover_text("a scenario file that replays every command").clicked() {
            actions.push(Action::Save(PathBuf::from(state.save_path.trim())));
        }
    });
    ui.separator();
    ui.heading("Event log");
    egui::ScrollArea::vertical().id_salt("log").max_height(260.0).stick_to_bottom(true).show(ui, |ui| {
        let log = session.sim.log();
        for e in &log[log.len().saturating_sub(300)..] {
            let c = if e.text.contains("abort") || e.text.contains("fail") || e.text.contains("kill") {
                BAD_C
            } else {
                Color32::LIGHT_GRAY
            };
            ui.label(RichText::new(format!("{} {}", fmt_time(e.t.as_secs_f64()), e.text)).color(c).size(12.0));
        }
    });
}

fn window_of(series: &[SecondRecord], secs: usize) -> &[SecondRecord] {
    &series[series.len().saturating_sub(secs)..]
}

fn line(name: &str, color: Color32, points: Vec<[f64; 2]>) -> Line<'static> {
    Line::new(name.to_string(), points).color(color)
}

/// One chart of the grid with its title; a lesson's highlighted chart gets a marker and a
/// frame.
fn chart_cell(ui: &mut egui::Ui, title: &str, highlighted: bool, add: impl FnOnce(&mut egui::Ui)) {
    let yellow = Color32::from_rgb(255, 210, 80);
    let r = ui
        .vertical(|ui| {
            if highlighted {
                ui.label(RichText::new(format!("▶ {title}")).strong().color(yellow));
            } else {
                ui.label(title);
            }
            add(ui);
        })
        .response;
    if highlighted {
        ui.painter().rect_stroke(r.rect.expand(2.0), 4.0, egui::Stroke::new(2.0, yellow), egui::StrokeKind::Outside);
    }
}

fn charts(ui: &mut egui::Ui, session: &Session, secs: usize, highlight: Option<crate::lesson::ChartKind>) {
    use crate::lesson::ChartKind;
    let hl = |k: ChartKind| highlight == Some(k);
    let series = window_of(&session.sim.metrics().series, secs);
    let t = |r: &SecondRecord| r.t as f64 / 60.0;
    let slo = (1.0 - session.scenario.slo.target.0) * 100.0;
    let events: Vec<f64> = {
        let from = series.first().map_or(0.0, |r| r.t as f64);
        let log = session.sim.log();
        log.iter().rev().take(30).map(|e| e.t.as_secs_f64()).filter(|&x| x >= from).map(|x| x / 60.0).collect()
    };
    let width = (ui.available_width() / 3.0 - 8.0).max(120.0);
    let plot = |id: &str| {
        Plot::new(id.to_string())
            .height(96.0)
            .width(width)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .show_x(false)
            .legend(Legend::default())
    };
    let marks = |p: &mut egui_plot::PlotUi| {
        for &x in &events {
            p.vline(VLine::new("", x).color(Color32::from_rgba_unmultiplied(255, 210, 80, 60)));
        }
    };
    let by_pool =
        |f: fn(&SecondRecord, usize) -> f64, pool: usize| series.iter().map(|r| [t(r), f(r, pool)]).collect::<Vec<_>>();
    let requests = |r: &SecondRecord, p: usize| (r.success[p] + r.error[p] + r.timeout[p] + r.rejected[p]) as f64;
    let ready = |r: &SecondRecord, p: usize| r.ready[p] as f64;
    egui::Grid::new("charts").num_columns(3).spacing([8.0, 2.0]).show(ui, |ui| {
        chart_cell(ui, "requests / s by version", hl(ChartKind::Traffic), |ui| {
            plot("req").show(ui, |p| {
                p.line(line("stable", STABLE_C, by_pool(requests, STABLE as usize)));
                p.line(line("new", NEW_C, by_pool(requests, NEW as usize)));
                marks(p);
            });
        });
        chart_cell(ui, &format!("failed %  (SLO line {slo:.2} %)"), hl(ChartKind::Errors), |ui| {
            plot("err").show(ui, |p| {
                let pts = series.iter().map(|r| [t(r), r.failed_pct()]).collect();
                p.line(line("failed", BAD_C, pts));
                p.hline(HLine::new("SLO", slo).color(Color32::YELLOW));
                marks(p);
            });
        });
        chart_cell(ui, "p99 latency (ms)", hl(ChartKind::Latency), |ui| {
            plot("p99").show(ui, |p| {
                let pts = series.iter().filter_map(|r| r.latency_p99_ms.map(|v| [t(r), v as f64])).collect();
                p.line(line("p99", Color32::LIGHT_BLUE, pts));
                marks(p);
            });
        });
        ui.end_row();
        chart_cell(ui, "ready instances", hl(ChartKind::Ready), |ui| {
            plot("ready").show(ui, |p| {
                p.line(line("stable", STABLE_C, by_pool(ready, STABLE as usize)));
                p.line(line("new", NEW_C, by_pool(ready, NEW as usize)));
                p.line(line("baseline", BASE_C, by_pool(ready, 2)));
                marks(p);
            });
        });
        chart_cell(ui, "cumulative cost", hl(ChartKind::Cost), |ui| {
            plot("cost").show(ui, |p| {
                p.line(line("cost", Color32::GOLD, series.iter().map(|r| [t(r), r.cost]).collect()));
                marks(p);
            });
        });
        chart_cell(ui, "users impacted (≥ 1 failed request)", hl(ChartKind::Impacted), |ui| {
            plot("users").show(ui, |p| {
                p.line(line("users", BAD_C, series.iter().map(|r| [t(r), r.impacted_users as f64]).collect()));
                marks(p);
            });
        });
        ui.end_row();
    });
}

/// Labels over the scene: pools with counts, the router's split.
fn scene_labels(ctx: &egui::Context, session: &Session, free: egui::Rect, viewport: egui::Rect) {
    let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Middle, egui::Id::new("scene_labels")));
    let (w, h) = (viewport.width() / 2.0, viewport.height() / 2.0);
    // The scene is laid out in world units; the labels are painted in points.
    let zoom = ctx.zoom_factor();
    let to_screen = |p: Vec2| egui::pos2(p.x / zoom + w, h - p.y / zoom);
    let area = scene_rect(free, viewport, zoom);
    let layout = scene_layout(&area);
    let font = egui::FontId::proportional(14.0);
    let fleet = session.sim.fleet();
    let mut counts = [0usize; POOLS];
    let mut ready = [0usize; POOLS];
    for &id in &fleet.active {
        let i = &fleet.instances[id as usize];
        counts[i.version as usize] += 1;
        ready[i.version as usize] += usize::from(i.ready);
    }
    let names = session.sim.version_names();
    for band in layout_pools(area.fleet(), counts) {
        let p = band.pool as usize;
        let text = format!("{} — {}: {} instances, {} ready", POOL_NAMES[p], names[p], counts[p], ready[p]);
        painter.text(
            to_screen(Vec2::new(band.rect.min.x + 4.0, band.rect.max.y - 2.0)),
            egui::Align2::LEFT_TOP,
            text,
            font.clone(),
            Color32::LIGHT_GRAY,
        );
    }
    let shares = session.sim.router().shares(fleet);
    let mut split = format!("stable {:.0} % · new {:.0} %", shares[0] * 100.0, shares[1] * 100.0);
    if shares[2] > 0.0 {
        split.push_str(&format!(" · baseline {:.0} %", shares[2] * 100.0));
    }
    if session.sim.router().mirror > 0.0 {
        split.push_str(&format!("\nmirroring {:.0} % to new", session.sim.router().mirror * 100.0));
    }
    if session.sim.router().dns.is_some() {
        split.push_str("\nDNS switch in progress");
    }
    painter.text(
        to_screen(layout.router + Vec2::new(0.0, -34.0)),
        egui::Align2::CENTER_TOP,
        format!("router\n{split}"),
        font.clone(),
        Color32::WHITE,
    );
    let m = session.sim.metrics();
    painter.text(
        to_screen(Vec2::new(layout.users.min.x, layout.users.max.y + 24.0)),
        egui::Align2::LEFT_TOP,
        format!("users: {} active, {} impacted", m.active_users.len(), m.failed_user_count),
        font.clone(),
        Color32::LIGHT_GRAY,
    );
    let mut at = to_screen(Vec2::new(layout.users.min.x, layout.users.min.y - 4.0)) + egui::vec2(4.0, 8.0);
    for (label, color) in [("served by stable", STABLE_C), ("served by new code", NEW_C), ("failed", BAD_C)] {
        painter.circle_filled(at, 4.0, color);
        let r = painter.text(
            at + egui::vec2(8.0, 0.0),
            egui::Align2::LEFT_CENTER,
            label,
            egui::FontId::proportional(12.0),
            Color32::GRAY,
        );
        at.x = r.max.x + 14.0;
    }
}

fn summary_rows(s: &Summary) -> Vec<(&'static str, String)> {
    let o = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.1}"));
    vec![
        ("outcome", s.outcome.clone()),
        ("downtime (s)", s.downtime_s.to_string()),
        ("blast radius (users)", s.blast_radius_users.to_string()),
        ("exposed users", s.exposed_users.to_string()),
        ("excess failed requests", s.excess_failed_requests.to_string()),
        ("time to detect (s)", o(s.time_to_detect_s)),
        ("time to recover (s)", o(s.time_to_recover_s)),
        ("rollout duration (s)", o(s.rollout_duration_s)),
        ("cost", format!("{:.4}", s.cost)),
        ("extra cost", format!("{:+.4}", s.extra_cost)),
        ("peak instances", s.peak_instances.to_string()),
        ("mixed-version users", s.mixed_version_users.to_string()),
    ]
}

fn summary_grid(ui: &mut egui::Ui, s: &Summary) {
    egui::Grid::new("summary").striped(true).show(ui, |ui| {
        for (k, v) in summary_rows(s) {
            ui.label(k);
            ui.monospace(v);
            ui.end_row();
        }
    });
}

/// Values in a compare column where lower is better.
fn lower_is_better(row: &str) -> bool {
    !matches!(row, "outcome")
}

fn compare_view(ui: &mut egui::Ui, session: &Session) {
    let lanes = &session.lanes;
    ui.columns(lanes.len(), |cols| {
        for (col, lane) in cols.iter_mut().zip(lanes) {
            let sim = &lane.sim;
            col.heading(&lane.name);
            col.label(format!("{} · {}", sim.rollout().outcome.label(), fmt_time(sim.now().as_secs_f64())));
            // Compact fleet: one square per instance, by pool.
            let (rect, _) = col.allocate_exact_size(egui::vec2(col.available_width(), 90.0), egui::Sense::hover());
            let painter = col.painter_at(rect);
            let fleet = sim.fleet();
            let n = fleet.active.len().max(1);
            let per_row = ((n as f32 * rect.width() / rect.height()).sqrt().ceil() as usize).max(1);
            let cell = (rect.width() / per_row as f32).min(rect.height() / n.div_ceil(per_row) as f32).min(22.0);
            for (k, &id) in fleet.active.iter().enumerate() {
                let i = &fleet.instances[id as usize];
                let base = match i.version {
                    1 => NEW_C,
                    2 => BASE_C,
                    _ => STABLE_C,
                };
                let c = match i.phase {
                    crate::model::fleet::Phase::Backoff => BAD_C,
                    _ if !i.ready => base.gamma_multiply(0.35),
                    _ => base,
                };
                let p = rect.min + egui::vec2((k % per_row) as f32 * cell, (k / per_row) as f32 * cell);
                painter.rect_filled(egui::Rect::from_min_size(p, egui::vec2(cell * 0.85, cell * 0.85)), 1.0, c);
            }
            let span = if lane.summary.is_some() { usize::MAX } else { 900 };
            let series = window_of(&sim.metrics().series, span);
            let t = |r: &SecondRecord| r.t as f64 / 60.0;
            Plot::new(format!("cmp-err-{}", lane.name))
                .height(110.0)
                .allow_drag(false)
                .allow_zoom(false)
                .allow_scroll(false)
                .show(col, |p| {
                    let pts = series.iter().map(|r| [t(r), r.failed_pct()]).collect();
                    p.line(line("failed %", BAD_C, pts));
                });
            Plot::new(format!("cmp-share-{}", lane.name))
                .height(90.0)
                .allow_drag(false)
                .allow_zoom(false)
                .allow_scroll(false)
                .show(col, |p| {
                    p.line(line("new share %", NEW_C, series.iter().map(|r| [t(r), r.share_new_pct as f64]).collect()));
                });
            let m = sim.metrics();
            col.label(format!(
                "exposed {} · impacted {} · peak {}",
                m.exposed_users.len(),
                m.failed_user_count,
                sim.peak_instances()
            ));
        }
    });
    ui.separator();
    let summaries: Vec<&Summary> = lanes.iter().filter_map(|l| l.summary.as_ref()).collect();
    if summaries.len() != lanes.len() {
        ui.label("The summary table appears when the run ends (press ×600, or +1 min).");
        return;
    }
    let rows: Vec<Vec<(&str, String)>> = summaries.iter().map(|s| summary_rows(s)).collect();
    egui::Grid::new("compare_summary").striped(true).show(ui, |ui| {
        ui.label("");
        for l in lanes {
            ui.strong(&l.name);
        }
        ui.end_row();
        for r in 0..rows[0].len() {
            let name = rows[0][r].0;
            ui.label(name);
            let values: Vec<Option<f64>> = rows.iter().map(|row| row[r].1.parse::<f64>().ok()).collect();
            let best = values.iter().flatten().cloned().fold(f64::INFINITY, f64::min);
            for (j, row) in rows.iter().enumerate() {
                let is_best = lower_is_better(name) && values[j] == Some(best) && values.iter().flatten().count() > 1;
                let text = RichText::new(&row[r].1).monospace();
                ui.label(if is_best { text.color(Color32::from_rgb(120, 230, 120)).strong() } else { text });
            }
            ui.end_row();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1280 × 800 window seen through egui at zoom 1.35 (presenter mode) is 948 × 593
    /// points; the whole of it must be the whole window in world units, which are logical
    /// pixels from its centre: ±640 × ±400 whatever the zoom.
    #[test]
    fn the_scene_is_in_pixels_whatever_the_zoom() {
        for zoom in [1.0f32, 1.35, 2.0] {
            let viewport = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0 / zoom, 800.0 / zoom));
            let r = scene_rect(viewport, viewport, zoom);
            for (got, want) in [(r.min.x, -640.0), (r.min.y, -400.0), (r.max.x, 640.0), (r.max.y, 400.0)] {
                assert!((got - want).abs() < 1e-3, "zoom {zoom}: {got} instead of {want}");
            }
        }
    }
}
