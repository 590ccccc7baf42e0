//! The interface's state between frames: what the panels show and the lesson being
//! presented. Plain data; the panels ([`super::ui`]) and the lesson player
//! ([`super::lesson`]) read and change it.

use std::path::PathBuf;

use bevy::prelude::*;

use crate::lesson::player::{Input, Player};

/// The interface's own state.
#[derive(Resource)]
pub struct UiState {
    pub compare: bool,
    pub compare_names: Vec<String>,
    pub open_path: String,
    pub save_path: String,
    pub seed: u64,
    /// The shipped scenarios, by name (built into the binary).
    pub files: Vec<PathBuf>,
    /// Chart window, simulated seconds.
    pub chart_secs: usize,
    /// The lesson being presented, if any.
    pub lesson: Option<LessonState>,
}

impl Default for UiState {
    fn default() -> Self {
        let files = crate::scenario::source::shipped(crate::scenario::source::Kind::Scenario)
            .map(|(name, _)| PathBuf::from(name))
            .collect();
        UiState {
            compare: false,
            compare_names: vec!["canary".into(), "blue-green".into()],
            open_path: String::new(),
            save_path: "session.ron".into(),
            seed: 0,
            files,
            chart_secs: 600,
            lesson: None,
        }
    }
}

/// A lesson being presented.
pub struct LessonState {
    pub player: Player,
    pub presenter: bool,
    /// Inputs from clicks, applied by [`super::lesson::lesson_apply`].
    pub pending: Vec<Input>,
    /// The step (and reveal) the session last showed.
    pub(super) synced: Option<usize>,
    /// The scenario runs to the end at once (serverless, topology, continuous): no fleet.
    pub headless: bool,
    /// Figures asked for by the Export button: the window as it is, and the step's chart at
    /// `export_width` pixels.
    pub export_requested: bool,
    pub export_width: u32,
    pub export_message: Option<String>,
    /// Where exported figures go (the working directory by default).
    pub export_dir: std::path::PathBuf,
    /// The step's numbers and the revealed answer, computed when they change rather than
    /// every frame (a `Metric` may summarise the whole run).
    pub(super) numbers: Vec<(String, String)>,
    pub(super) reveal: Option<crate::lesson::player::Reveal>,
}

impl LessonState {
    pub fn new(player: Player, presenter: bool) -> LessonState {
        let headless = crate::headless_kind(&player.run.lesson.scenario).is_some();
        LessonState {
            player,
            presenter,
            pending: Vec::new(),
            synced: None,
            headless,
            export_requested: false,
            export_width: 1600,
            export_message: None,
            export_dir: std::path::PathBuf::from("."),
            numbers: Vec::new(),
            reveal: None,
        }
    }
}
