//! The lesson player in the app: a narration panel with large text, next/back, the
//! question overlay with answers and class votes, presenter mode (zoom, high contrast,
//! full screen, keyboard only) and the keys a presentation remote sends.
//!
//! The lesson itself ([`crate::lesson::player::Player`]) knows nothing of Bevy; this module
//! maps keys and clicks to its inputs and shows the simulation as the step left it.

use bevy::prelude::*;

use egui::{Color32, RichText};

use super::session::Session;
use super::state::{LessonState, UiState};
use crate::lesson::QuestionKind;
use crate::lesson::player::Input;

/// What a key does in a lesson: space, →, ↓, PageDown, Enter and `.` (presentation
/// remotes send PageUp/PageDown and `.`) go on; ←, ↑, PageUp and Backspace go back; Home
/// restarts; 1–9 pick an answer; `?` (or `/`, H, F1) shows the keys.
pub fn key_input(k: KeyCode) -> Option<Input> {
    Some(match k {
        KeyCode::Space
        | KeyCode::ArrowRight
        | KeyCode::ArrowDown
        | KeyCode::PageDown
        | KeyCode::Enter
        | KeyCode::NumpadEnter
        | KeyCode::Period => Input::Next,
        KeyCode::ArrowLeft | KeyCode::ArrowUp | KeyCode::PageUp | KeyCode::Backspace => Input::Back,
        KeyCode::Home => Input::First,
        KeyCode::Slash | KeyCode::KeyH | KeyCode::F1 => Input::Help,
        KeyCode::Digit1 | KeyCode::Numpad1 => Input::Choose(0),
        KeyCode::Digit2 | KeyCode::Numpad2 => Input::Choose(1),
        KeyCode::Digit3 | KeyCode::Numpad3 => Input::Choose(2),
        KeyCode::Digit4 | KeyCode::Numpad4 => Input::Choose(3),
        KeyCode::Digit5 | KeyCode::Numpad5 => Input::Choose(4),
        KeyCode::Digit6 | KeyCode::Numpad6 => Input::Choose(5),
        KeyCode::Digit7 | KeyCode::Numpad7 => Input::Choose(6),
        KeyCode::Digit8 | KeyCode::Numpad8 => Input::Choose(7),
        KeyCode::Digit9 | KeyCode::Numpad9 => Input::Choose(8),
        _ => return None,
    })
}

/// Turns this frame's key presses into lesson inputs.
pub fn lesson_keys(keys: Res<ButtonInput<KeyCode>>, mut ui: ResMut<UiState>) {
    let Some(l) = ui.lesson.as_mut() else { return };
    for k in keys.get_just_pressed() {
        if let Some(i) = key_input(*k) {
            l.pending.push(i);
        }
    }
}

/// Applies pending inputs and shows the step's simulation in the session.
pub fn lesson_apply(mut ui: ResMut<UiState>, mut session: ResMut<Session>) {
    let Some(l) = ui.lesson.as_mut() else { return };
    let inputs = std::mem::take(&mut l.pending);
    let changed = !inputs.is_empty();
    for i in inputs {
        l.player.handle(i);
    }
    let step = l.player.index();
    if changed || l.synced != Some(step) {
        l.reveal = l.player.answer();
    }
    if l.synced != Some(step) {
        l.synced = Some(step);
        l.numbers = l.player.run.numbers();
        session.show_sim(l.player.run.sim.clone());
        if let Some(names) = l.player.run.compare.clone() {
            let _ = session.start_compare(&names);
            ui.compare = true;
        } else {
            ui.compare = false;
        }
    }
}

/// Saves the figures the Export button asked for into the working directory:
/// `lesson-step-NN.png` (the window) and `lesson-step-NN-CHART.png` (the step's chart).
pub fn lesson_export(mut commands: Commands, mut ui: ResMut<UiState>) {
    let Some(l) = ui.lesson.as_mut() else { return };
    if !l.export_requested {
        return;
    }
    l.export_requested = false;
    let n = l.player.index() + 1;
    let window = l.export_dir.join(format!("lesson-step-{n:02}.png"));
    commands
        .spawn(bevy::render::view::window::screenshot::Screenshot::primary_window())
        .observe(bevy::render::view::window::screenshot::save_to_disk(window.clone()));
    let title = format!("Step {n}: {}", l.player.step().title);
    let chart =
        crate::report::build::run_charts(&[(title, &l.player.run.sim)]).map_err(|e| e.to_string()).and_then(|charts| {
            let name = crate::lesson::text::chart_name(l.player.step().highlight);
            let c = charts.into_iter().find(|c| c.name == name).ok_or("no chart")?;
            let path = l.export_dir.join(format!("lesson-step-{n:02}-{}.png", c.name));
            let png =
                crate::report::charts::svg_to_png_width(&c.svg, Some(l.export_width)).map_err(|e| e.to_string())?;
            std::fs::write(&path, png).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(path)
        });
    l.export_message = Some(match chart {
        Ok(p) => format!("saved {} and {}", window.display(), p.display()),
        Err(e) => format!("saved {}; chart: {e}", window.display()),
    });
}

fn heading(text: &str, presenter: bool) -> RichText {
    let r = RichText::new(text).size(if presenter { 24.0 } else { 20.0 }).strong();
    if presenter { r.color(Color32::WHITE) } else { r }
}

fn body(text: &str, presenter: bool) -> RichText {
    let r = RichText::new(text.replace("**", "")).size(if presenter { 19.0 } else { 16.0 });
    if presenter { r.color(Color32::WHITE) } else { r }
}

/// The narration panel (on the right, or in the middle for a scenario without a fleet).
pub fn lesson_panel(ui: &mut egui::Ui, l: &mut LessonState) {
    let p = &l.player;
    let presenter = l.presenter;
    let step = p.step();
    ui.label(RichText::new(&p.run.lesson.lesson.title).size(14.0).color(Color32::from_gray(190)));
    ui.label(RichText::new(format!("Step {} of {}", p.index() + 1, p.len())).size(13.0).color(Color32::from_gray(170)));
    ui.add_space(4.0);
    ui.label(heading(&step.title, presenter));
    ui.add_space(6.0);
    for para in step.text.split('\n') {
        ui.label(body(para, presenter));
    }
    if let Some(h) = step.highlight {
        let what = match h {
            crate::lesson::Highlight::Chart(c) => {
                format!("the {} chart (framed below)", format!("{c:?}").to_lowercase())
            }
            crate::lesson::Highlight::Instance(i) => format!("instance {i}"),
            crate::lesson::Highlight::Steps => "the strategy's steps".into(),
            crate::lesson::Highlight::Summary => "the summary".into(),
        };
        ui.add_space(4.0);
        ui.label(
            RichText::new(format!("Look at {what}."))
                .italics()
                .size(if presenter { 17.0 } else { 14.0 })
                .color(Color32::from_rgb(255, 210, 80)),
        );
    }
    if !l.numbers.is_empty() && (step.question.is_none() || p.revealed) {
        ui.add_space(6.0);
        for (name, value) in &l.numbers {
            let n = format!("{name}: {value}");
            ui.label(RichText::new(n).monospace().size(if presenter { 16.0 } else { 13.0 }).color(Color32::LIGHT_BLUE));
        }
    }
    if let Some(q) = &step.question {
        ui.add_space(10.0);
        ui.separator();
        ui.label(heading(&q.prompt, presenter));
        match &q.kind {
            QuestionKind::Choice { options, answer } => {
                for (i, o) in options.iter().enumerate() {
                    ui.horizontal(|ui| {
                        let chosen = p.choice == Some(i);
                        let mut text =
                            RichText::new(format!("{}  {o}", i + 1)).size(if presenter { 19.0 } else { 15.0 });
                        if p.revealed && i == *answer {
                            text = text.color(Color32::from_rgb(90, 220, 120)).strong();
                        } else if chosen {
                            text = text.color(Color32::from_rgb(255, 210, 80)).strong();
                        }
                        if ui.selectable_label(chosen, text).clicked() {
                            l.pending.push(Input::Choose(i));
                        }
                        if !p.revealed && ui.small_button("+1 vote").clicked() {
                            l.pending.push(Input::Vote(i));
                        }
                        if p.votes.get(i).is_some_and(|&v| v > 0) {
                            ui.label(format!("{} votes", p.votes[i]));
                        }
                    });
                }
            }
            QuestionKind::Estimate { unit, .. } => {
                ui.label(body(&format!("Estimate, in {unit}."), presenter));
            }
        }
        if let Some(r) = &l.reveal {
            ui.add_space(8.0);
            let verdict = match r.correct {
                Some(true) => "  ✔ right",
                Some(false) => "  ✘ not quite",
                None => "",
            };
            ui.label(
                RichText::new(format!("Answer: {}{verdict}", r.answer))
                    .size(if presenter { 22.0 } else { 17.0 })
                    .strong()
                    .color(Color32::from_rgb(90, 220, 120)),
            );
            ui.label(body(&r.explain, presenter));
        } else {
            ui.label(RichText::new("Next reveals the answer.").italics().color(Color32::from_gray(170)));
        }
    }
    ui.add_space(12.0);
    ui.horizontal(|ui| {
        if ui.add_enabled(p.index() > 0, egui::Button::new("◀ Back")).clicked() {
            l.pending.push(Input::Back);
        }
        let next = if p.waiting() { "Reveal ▶" } else { "Next ▶" };
        if ui.add_enabled(p.waiting() || !p.is_last(), egui::Button::new(next)).clicked() {
            l.pending.push(Input::Next);
        }
        if ui.button("?").clicked() {
            l.pending.push(Input::Help);
        }
    });
    if !l.presenter {
        ui.horizontal(|ui| {
            if ui.button("Export figure").on_hover_text("the window, and the step's chart at this width").clicked() {
                l.export_requested = true;
            }
            ui.add(egui::DragValue::new(&mut l.export_width).range(320..=4096).suffix(" px"));
        });
        if let Some(m) = &l.export_message {
            ui.label(RichText::new(m).small());
        }
    }
    if p.help {
        ui.add_space(6.0);
        ui.label(
            RichText::new(
                "Space, →, ↓, PageDown, Enter, . — next (reveals a question first)\n\
                 ←, ↑, PageUp, Backspace — back (re-simulates)\nHome — first step\n\
                 1–9 — pick an answer\n? — this help",
            )
            .monospace(),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use crate::lesson::player::Player;

    use super::*;

    /// A lesson app without a window: the key system and the player, as the presenter
    /// drives them.
    fn app(file: &str) -> App {
        let l = Arc::new(crate::lesson::load_lesson(Path::new(file)).unwrap_or_else(|e| panic!("{e}")));
        let session = Session::new(l.scenario.clone(), "t".into(), None);
        let ui = UiState { lesson: Some(LessonState::new(Player::new(l), true)), ..UiState::default() };
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .init_resource::<ButtonInput<KeyCode>>()
            .insert_resource(session)
            .insert_resource(ui)
            .add_systems(Update, (lesson_keys, lesson_apply).chain());
        app
    }

    fn press(app: &mut App, k: KeyCode) {
        {
            let mut keys = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
            keys.press(k);
        }
        app.update();
        let mut keys = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
        keys.release(k);
        keys.clear();
    }

    fn step(app: &App) -> usize {
        app.world().resource::<UiState>().lesson.as_ref().map_or(usize::MAX, |l| l.player.index())
    }

    #[test]
    fn presenter_keys_drive_the_lesson_and_back_rewinds() {
        let mut app = app("scenarios/lessons/blue-green.ron");
        app.update();
        assert_eq!(step(&app), 0);
        let t0 = app.world().resource::<Session>().sim.now();
        press(&mut app, KeyCode::Space);
        assert_eq!(step(&app), 1);
        // The session shows the step's simulation: 5m15s, twenty instances.
        let s = app.world().resource::<Session>();
        assert_eq!(s.sim.now().as_secs_f64(), 315.0);
        assert_eq!(s.sim.fleet().alive_count(), 20);
        // The question waits: PageDown (a remote's "next") reveals it without moving on.
        press(&mut app, KeyCode::PageDown);
        assert_eq!(step(&app), 1);
        let revealed = app.world().resource::<UiState>().lesson.as_ref().and_then(|l| l.player.answer());
        assert!(revealed.is_some_and(|r| r.answer.starts_with('2')), "the answer shows the doubled cost");
        press(&mut app, KeyCode::Period);
        assert_eq!(step(&app), 2);
        // Back twice (← and PageUp): the first step's simulation, re-simulated exactly.
        press(&mut app, KeyCode::ArrowLeft);
        press(&mut app, KeyCode::PageUp);
        assert_eq!(step(&app), 0);
        assert_eq!(app.world().resource::<Session>().sim.now(), t0);
        // To the last step; answer 2 ("No") by key, reveal with Enter.
        for k in [KeyCode::ArrowRight, KeyCode::Space, KeyCode::Space, KeyCode::Space] {
            press(&mut app, k);
        }
        assert_eq!(step(&app), 3);
        press(&mut app, KeyCode::Digit2);
        press(&mut app, KeyCode::Enter);
        let r = app.world().resource::<UiState>().lesson.as_ref().and_then(|l| l.player.answer()).expect("revealed");
        assert_eq!(r.correct, Some(true));
        press(&mut app, KeyCode::Slash);
        assert!(app.world().resource::<UiState>().lesson.as_ref().is_some_and(|l| l.player.help));
    }

    /// A step with OpenCompare opens the compare view with its strategies, in lockstep.
    #[test]
    fn open_compare_opens_the_compare_view() {
        let mut app = app("scenarios/lessons/quiz.ron");
        app.update();
        let last = app.world().resource::<UiState>().lesson.as_ref().map_or(0, |l| l.player.len()) - 1;
        for _ in 0..3 * last {
            press(&mut app, KeyCode::Space);
        }
        assert_eq!(step(&app), last);
        let s = app.world().resource::<Session>();
        let names: Vec<&str> = s.lanes.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["canary", "rolling"]);
        assert!(s.lanes.iter().all(|l| l.sim.now() == s.sim.now()), "lanes in lockstep with the lesson");
        assert!(app.world().resource::<UiState>().compare);
    }

    /// The Export button writes the step's chart at the chosen width (the window capture
    /// needs a renderer and is checked by the Xvfb smoke test's screenshots).
    #[test]
    fn export_writes_the_steps_chart_at_the_chosen_width() {
        let mut app = app("scenarios/lessons/blue-green.ron");
        app.add_systems(Update, lesson_export.after(lesson_apply));
        let dir = std::env::temp_dir().join(format!("deploysim-app-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        {
            let mut ui = app.world_mut().resource_mut::<UiState>();
            let l = ui.lesson.as_mut().expect("lesson");
            l.export_dir = dir.clone();
            l.export_width = 800;
            l.export_requested = true;
        }
        app.update();
        let png = std::fs::read(dir.join("lesson-step-01-ready.png")).expect("the step's chart");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(u32::from_be_bytes([png[16], png[17], png[18], png[19]]), 800);
        let msg = app.world().resource::<UiState>().lesson.as_ref().and_then(|l| l.export_message.clone());
        assert!(msg.is_some_and(|m| m.contains("lesson-step-01-ready.png")));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn keys_a_remote_sends_are_mapped() {
        for k in [KeyCode::Space, KeyCode::PageDown, KeyCode::ArrowRight, KeyCode::Period] {
            assert_eq!(key_input(k), Some(Input::Next), "{k:?}");
        }
        for k in [KeyCode::PageUp, KeyCode::ArrowLeft] {
            assert_eq!(key_input(k), Some(Input::Back), "{k:?}");
        }
        assert_eq!(key_input(KeyCode::Digit3), Some(Input::Choose(2)));
        assert_eq!(key_input(KeyCode::KeyQ), None);
    }
}
