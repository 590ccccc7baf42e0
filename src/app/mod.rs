//! The interactive desktop app (Bevy + bevy_egui), behind the default feature `gui`.
//!
//! The simulation knows nothing of this module: the app owns a [`Session`] (a
//! [`Simulation`] and its baseline), advances it by `speed × frame time` under a
//! per-frame wall-clock budget, mirrors its fleet into Bevy entities, draws the rest with
//! gizmos, and turns every button into an [`Action`] — the interventions become commands
//! of the core, recorded so a session can be saved as a scenario that replays it.
//!
//! Plugins, one concern each: [`SimPlugin`] (stepping and actions), [`FleetViewPlugin`]
//! (instance entities), [`ScenePlugin`] (users, router, particles), [`UiPlugin`] (egui
//! panels, charts, compare view) and [`ScreenshotPlugin`] (`--screenshot`). The first two
//! need no window and are tested headless.

mod assets;
mod fleet_view;
pub mod lesson;
mod scene;
mod screenshot;
mod session;
mod state;
pub use session::SessionError;
mod ui;

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::window::WindowResolution;
use bevy_egui::EguiPlugin;

pub use assets::{AppAssets, AssetsPlugin};
pub use fleet_view::{FleetViewPlugin, InstanceView, SceneRect, layout_pools};
pub use scene::ScenePlugin;
pub use screenshot::{ScreenshotPlan, ScreenshotPlugin};
pub use session::{Action, Actions, Session, SimPlugin, load_scenario_text};
pub use state::UiState;
pub use ui::{UiPlugin, draw_ui};

/// The scenario the app opens when none is given.
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/canary-bad-release.ron");

/// How the app is started.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    pub scenario: Option<PathBuf>,
    /// Save a PNG of the window at `at` simulated seconds, then exit.
    pub screenshot: Option<PathBuf>,
    pub at: Option<f64>,
    /// Open the compare view with these strategies.
    pub compare: Option<Vec<String>>,
}

/// Whether a display is available to open a window on.
pub fn display_available() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Why the app could not open or ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(
        "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset).\n\
         Headless commands work anywhere:\n  deploysim run canary-bad-release\n  \
         deploysim compare compare-bad-release\n  deploysim scenarios\n\
         Under Xvfb: xvfb-run -a deploysim gui --screenshot out.png --at 6m"
    )]
    NoDisplay,
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    #[error("--compare: {0}")]
    Compare(session::SessionError),
    #[error("the app exited with code {0}")]
    Exit(std::num::NonZero<u8>),
}

/// Opens the window and runs until it is closed (or the screenshot is taken).
pub fn run(opts: AppOptions) -> Result<(), AppError> {
    if !display_available() {
        return Err(AppError::NoDisplay);
    }
    let mut session = match &opts.scenario {
        Some(p) => Session::from_path(p)?,
        None => Session::from_text("canary-bad-release", DEFAULT_SCENARIO, None)?,
    };
    let mut ui = UiState::default();
    if let Some(names) = &opts.compare {
        ui.compare_names = names.clone();
        ui.compare = true;
        session.start_compare(names).map_err(AppError::Compare)?;
    }
    if let Some(at) = opts.at {
        session.jump_to(at);
    }
    let screenshot = opts.screenshot.clone().map(ScreenshotPlan::new);
    if screenshot.is_some() {
        session.playing = false;
    }
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window {
            title: "deploysim".into(),
            resolution: WindowResolution::new(1280, 800),
            ..default()
        }),
        ..default()
    }))
    .add_plugins((EguiPlugin::default(), AssetsPlugin))
    .insert_resource(ClearColor(Color::srgb(0.07, 0.08, 0.10)))
    .insert_resource(session)
    .insert_resource(ui)
    .add_plugins((SimPlugin, FleetViewPlugin, ScenePlugin, UiPlugin, ScreenshotPlugin))
    .add_systems(Startup, |mut commands: Commands| {
        commands.spawn(Camera2d);
    });
    if let Some(plan) = screenshot {
        app.insert_resource(plan);
    }
    if std::env::var_os("DEPLOYSIM_FRAME_STATS").is_some() {
        app.add_systems(Last, frame_stats);
    }
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => Err(AppError::Exit(code)),
    }
}

/// With `DEPLOYSIM_FRAME_STATS` set, prints the mean frame time (whole frame, rendering
/// included) every 120 frames.
/// Opens the app on a lesson at step `step` (0-based); `presenter` for a projector.
pub fn run_lesson(
    lesson: std::sync::Arc<crate::lesson::LoadedLesson>,
    presenter: bool,
    step: usize,
    screenshot: Option<PathBuf>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    if !display_available() {
        eprintln!(
            "error: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset).\n\
             Play the lesson in the terminal instead: deploysim lesson {} --text",
            lesson.file
        );
        return ExitCode::from(1);
    }
    let mut player = crate::lesson::player::Player::new(lesson.clone());
    player.run.goto(step);
    let mut session = Session::new(lesson.scenario.clone(), lesson.lesson.title.clone(), None);
    session.playing = false;
    let ui = UiState { lesson: Some(state::LessonState::new(player, presenter)), ..UiState::default() };
    let plan = screenshot.map(ScreenshotPlan::new);
    let mode = if presenter && plan.is_none() {
        bevy::window::WindowMode::BorderlessFullscreen(bevy::window::MonitorSelection::Current)
    } else {
        bevy::window::WindowMode::Windowed
    };
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window {
            title: format!("deploysim — {}", lesson.lesson.title),
            resolution: WindowResolution::new(1280, 800),
            mode,
            ..default()
        }),
        ..default()
    }))
    .add_plugins((EguiPlugin::default(), AssetsPlugin))
    .insert_resource(ClearColor(if presenter { Color::BLACK } else { Color::srgb(0.07, 0.08, 0.10) }))
    .insert_resource(session)
    .insert_resource(ui)
    .add_plugins((SimPlugin, FleetViewPlugin, ScenePlugin, UiPlugin, ScreenshotPlugin))
    .add_systems(Startup, |mut commands: Commands| {
        commands.spawn(Camera2d);
    });
    if let Some(plan) = plan {
        app.insert_resource(plan);
    }
    match app.run() {
        AppExit::Success => ExitCode::SUCCESS,
        AppExit::Error(code) => {
            eprintln!("error: the app exited with code {code}");
            ExitCode::from(1)
        }
    }
}

fn frame_stats(time: Res<Time<Real>>, session: Res<Session>, mut acc: Local<(u32, f64, f64)>) {
    acc.0 += 1;
    acc.1 += time.delta_secs_f64();
    acc.2 += session.step_ms;
    if acc.0 == 120 {
        let n = f64::from(acc.0);
        println!(
            "frame {:.2} ms ({:.0} FPS), of which stepping {:.2} ms; {} instances, sim t = {:.0} s",
            acc.1 / n * 1e3,
            n / acc.1,
            acc.2 / n,
            session.sim.fleet().alive_count(),
            session.sim.now().as_secs_f64()
        );
        *acc = (0, 0.0, 0.0);
    }
}
