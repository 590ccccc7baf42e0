//! `--screenshot FILE --at TIME`: render a few frames, save the window as PNG, exit.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::render::view::window::screenshot::{Screenshot, save_to_disk};

/// Frames rendered before the screenshot, once the interface fonts are in, so the
/// interface has laid itself out in them.
const SETTLE_FRAMES: u32 = 12;
/// Frames to wait for the file before giving up.
const GIVE_UP_FRAMES: u32 = 1200;

#[derive(Resource, Clone, Debug)]
pub struct ScreenshotPlan {
    pub path: PathBuf,
    frames: u32,
    /// Frames since the fonts were installed.
    settled: u32,
    requested: bool,
}

impl ScreenshotPlan {
    pub fn new(path: PathBuf) -> ScreenshotPlan {
        let _ = std::fs::remove_file(&path);
        ScreenshotPlan { path, frames: 0, settled: 0, requested: false }
    }
}

pub struct ScreenshotPlugin;

impl Plugin for ScreenshotPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Last, take_screenshot);
    }
}

fn take_screenshot(
    mut commands: Commands,
    plan: Option<ResMut<ScreenshotPlan>>,
    assets: Option<Res<super::AppAssets>>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(mut plan) = plan else { return };
    plan.frames += 1;
    if assets.is_none_or(|a| a.fonts_installed) {
        plan.settled += 1;
    }
    if !plan.requested && plan.settled >= SETTLE_FRAMES {
        commands.spawn(Screenshot::primary_window()).observe(save_to_disk(plan.path.clone()));
        plan.requested = true;
        return;
    }
    if plan.requested && std::fs::metadata(&plan.path).is_ok_and(|m| m.len() > 0) {
        info!("screenshot saved to {}", plan.path.display());
        exit.write(AppExit::Success);
    } else if plan.frames > GIVE_UP_FRAMES {
        error!("no screenshot after {GIVE_UP_FRAMES} frames");
        exit.write(AppExit::error());
    }
}
