//! The session: the simulation being watched, its baseline, the compare lanes, and the
//! actions the interface sends it. Nothing here draws.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bevy::prelude::*;

use crate::des::time::Time as SimTime;
use crate::metrics::Summary;
use crate::scenario::Command;
use crate::scenario::{Scenario, ScenarioError, StrategySpec, load_file, parse_str, to_ron_string};
use crate::sim::Simulation;

/// Parses scenario text (for the embedded default and tests).
pub fn load_scenario_text(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
    parse_str(name, text)
}

/// Why the session could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    UnknownStrategy(#[from] crate::UnknownStrategy),
    #[error("this scenario has no release to {0}")]
    NoRelease(&'static str),
    #[error("cannot write the session as RON: {0}")]
    Serialize(#[from] ron::Error),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// One strategy in the compare view.
pub struct Lane {
    pub name: String,
    pub sim: Simulation,
    pub summary: Option<Summary>,
}

/// What the app is showing.
#[derive(Resource)]
pub struct Session {
    pub scenario: Scenario,
    pub label: String,
    pub path: Option<PathBuf>,
    pub sim: Simulation,
    pub summary: Option<Summary>,
    baseline: Option<Simulation>,
    /// Simulated seconds per real second.
    pub speed: f64,
    pub playing: bool,
    /// Wall-clock budget per frame for stepping, milliseconds.
    pub budget_ms: f64,
    pub lanes: Vec<Lane>,
    /// The last problem to show (a bad file, a failed save).
    pub message: Option<String>,
    /// Wall time the last frame spent stepping, milliseconds.
    pub step_ms: f64,
    /// The simulation fell behind its speed in the last frame (budget exhausted).
    pub behind: bool,
}

/// The app shows one service's fleet; the other kinds of scenario run headless.
fn headless_error(path: &Path, kind: &str) -> ScenarioError {
    ScenarioError::whole(
        path.display().to_string(),
        crate::scenario::ScenarioErrorKind::Invalid(format!(
            "a {kind} scenario runs headless, not in the fleet view: `deploysim run {}`",
            path.display()
        )),
    )
}

impl Session {
    pub fn from_path(path: &Path) -> Result<Session, ScenarioError> {
        let s = load_file(path)?;
        if let Some(kind) = crate::headless_kind(&s) {
            return Err(headless_error(path, kind));
        }
        let label = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        Ok(Session::new(s, label, Some(path.to_path_buf())))
    }

    pub fn from_text(name: &str, text: &str, path: Option<PathBuf>) -> Result<Session, ScenarioError> {
        Ok(Session::new(load_scenario_text(name, text)?, name.to_string(), path))
    }

    pub fn new(scenario: Scenario, label: String, path: Option<PathBuf>) -> Session {
        let sim = Self::make_sim(&scenario);
        Session {
            scenario,
            label,
            path,
            sim,
            summary: None,
            baseline: None,
            speed: 10.0,
            playing: true,
            budget_ms: 6.0,
            lanes: Vec::new(),
            message: None,
            step_ms: 0.0,
            behind: false,
        }
    }

    fn make_sim(s: &Scenario) -> Simulation {
        let mut sim = Simulation::new(Arc::new(s.clone()));
        // Keep about 300 requests per simulated second for drawing.
        let rps = s.traffic.rate.mean_rps(s.duration.as_secs_f64()).max(1.0);
        sim.set_sample_rate((300.0 / rps).min(1.0));
        sim
    }

    /// Shows `sim` (a lesson's step), paused; the summary is computed again at its end.
    pub fn show_sim(&mut self, mut sim: Simulation) {
        let rps = self.scenario.traffic.rate.mean_rps(self.scenario.duration.as_secs_f64()).max(1.0);
        sim.set_sample_rate((300.0 / rps).min(1.0));
        self.sim = sim;
        self.playing = false;
        self.summary = None;
        self.baseline = None;
        self.lanes.clear();
    }

    /// Starts over with the same scenario (and the same seed, so the same run).
    pub fn restart(&mut self) {
        self.sim = Self::make_sim(&self.scenario);
        self.summary = None;
        self.baseline = None;
        let names: Vec<String> = self.lanes.iter().map(|l| l.name.clone()).collect();
        if !names.is_empty() {
            let _ = self.start_compare(&names);
        }
    }

    pub fn set_scenario(&mut self, s: Scenario, label: String, path: Option<PathBuf>) {
        let speed = self.speed;
        *self = Session::new(s, label, path);
        self.speed = speed;
    }

    /// Runs this scenario under another strategy (by name, from its `compare` list or
    /// built in).
    pub fn set_strategy(&mut self, name: &str) -> Result<(), SessionError> {
        let variants = crate::compare_variants(&self.scenario, Some(&[name.to_string()]))?;
        let Some((_, spec)) = variants.into_iter().next() else {
            return Ok(());
        };
        if self.scenario.release.is_none() && !matches!(spec, StrategySpec::None) {
            return Err(SessionError::NoRelease("roll out"));
        }
        self.scenario.strategy = spec;
        self.restart();
        Ok(())
    }

    /// The strategies this scenario can run: its `compare` list, then the built-in ones.
    pub fn strategy_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.scenario.compare.iter().map(|c| c.name.clone()).collect();
        for b in crate::BUILTIN_STRATEGIES {
            if !v.iter().any(|n| n == b) {
                v.push(b.to_string());
            }
        }
        v
    }

    /// Opens the compare view: one lane per strategy, same scenario and seed.
    pub fn start_compare(&mut self, names: &[String]) -> Result<(), SessionError> {
        if self.scenario.release.is_none() {
            return Err(SessionError::NoRelease("compare strategies on"));
        }
        let variants = crate::compare_variants(&self.scenario, Some(names))?;
        self.lanes = variants
            .into_iter()
            .take(4)
            .map(|(name, spec)| {
                let mut s = self.scenario.clone();
                s.strategy = spec;
                let mut sim = Self::make_sim(&s);
                sim.step_until(self.sim.now());
                Lane { name, sim, summary: None }
            })
            .collect();
        Ok(())
    }

    pub fn stop_compare(&mut self) {
        self.lanes.clear();
    }

    /// Jumps to `t` simulated seconds at once (for screenshots and teaching).
    pub fn jump_to(&mut self, t: f64) {
        let t = SimTime::from_secs_f64(t);
        self.sim.step_until(t);
        for lane in &mut self.lanes {
            lane.sim.step_until(t);
        }
        self.finish_if_done();
    }

    /// Advances by `speed × real_dt` simulated seconds within the frame budget. Never
    /// catches up later: time the budget could not cover is dropped, not owed.
    pub fn advance(&mut self, real_dt: f64) {
        if !self.playing {
            self.step_ms = 0.0;
            return;
        }
        // The frame budget is wall time by definition; it changes how far a frame gets,
        // never what the simulation does.
        #[allow(clippy::disallowed_methods)]
        let start = std::time::Instant::now();
        let target = self.sim.now() + SimTime::from_secs_f64(self.speed * real_dt.min(0.1));
        let sims = 1 + self.lanes.len();
        let budget = std::time::Duration::from_secs_f64(self.budget_ms / 1e3 / sims as f64);
        let mut behind = !self.sim.step_for(target, budget);
        for lane in &mut self.lanes {
            behind |= !lane.sim.step_for(target, budget);
        }
        self.behind = behind;
        self.step_ms = start.elapsed().as_secs_f64() * 1e3;
        self.finish_if_done();
    }

    /// Steps `dt` simulated seconds at once.
    pub fn step(&mut self, dt: f64) {
        let t = self.sim.now().as_secs_f64() + dt;
        self.jump_to(t);
    }

    fn finish_if_done(&mut self) {
        if self.sim.now() >= self.sim.end() && self.summary.is_none() {
            self.sim.run_to_end();
            let mut b = Simulation::new(Arc::new(crate::baseline_of(&self.scenario)));
            b.run_to_end();
            self.summary = Some(self.sim.summary(&b));
            for lane in &mut self.lanes {
                lane.sim.run_to_end();
                let mut s = lane.sim.summary(&b);
                s.strategy = lane.name.clone();
                lane.summary = Some(s);
            }
            self.baseline = Some(b);
            self.playing = false;
        }
    }

    /// Applies a command to the run (and to every compare lane, so they stay comparable).
    pub fn apply(&mut self, cmd: Command) {
        self.sim.apply(cmd.clone());
        for lane in &mut self.lanes {
            lane.sim.apply(cmd.clone());
        }
    }

    /// Writes the scenario with this session's commands, so that it replays exactly.
    pub fn save(&self, path: &Path) -> Result<(), SessionError> {
        let s = self.sim.session_scenario();
        let text = to_ron_string(&s)?;
        std::fs::write(path, format!("// Saved deploysim session: replays every command made.\n{text}\n"))
            .map_err(|source| SessionError::Write { path: path.to_path_buf(), source })
    }
}

/// Something the person did.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Command(Command),
    TogglePlay,
    SetSpeed(f64),
    Step(f64),
    Restart,
    SetSeed(u64),
    Load(PathBuf),
    SetStrategy(String),
    Save(PathBuf),
    Compare(Option<Vec<String>>),
}

/// Actions waiting to be applied this frame.
#[derive(Resource, Default)]
pub struct Actions(pub Vec<Action>);

/// Applies actions and steps the simulation every frame.
pub struct SimPlugin;

impl Plugin for SimPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Actions>().add_systems(Update, (apply_actions, advance_session).chain());
    }
}

fn apply_actions(mut actions: ResMut<Actions>, mut session: ResMut<Session>) {
    for action in std::mem::take(&mut actions.0) {
        let s = &mut *session;
        s.message = None;
        match action {
            Action::Command(c) => s.apply(c),
            Action::TogglePlay => s.playing = !s.playing,
            Action::SetSpeed(x) => s.speed = x.clamp(0.1, 600.0),
            Action::Step(dt) => s.step(dt),
            Action::Restart => s.restart(),
            Action::SetSeed(seed) => {
                s.scenario.seed = seed;
                s.restart();
            }
            Action::Load(path) => match load_file(&path) {
                Ok(sc) if crate::headless_kind(&sc).is_some() => {
                    let kind = crate::headless_kind(&sc).unwrap_or_default();
                    s.message = Some(headless_error(&path, kind).to_string());
                }
                Ok(sc) => {
                    let label = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                    s.set_scenario(sc, label, Some(path));
                }
                Err(e) => s.message = Some(e.to_string()),
            },
            Action::SetStrategy(name) => {
                if let Err(e) = s.set_strategy(&name) {
                    s.message = Some(e.to_string());
                }
            }
            Action::Save(path) => match s.save(&path) {
                Ok(()) => s.message = Some(format!("saved {}", path.display())),
                Err(e) => s.message = Some(e.to_string()),
            },
            Action::Compare(Some(names)) => {
                if let Err(e) = s.start_compare(&names) {
                    s.message = Some(e.to_string());
                }
            }
            Action::Compare(None) => s.stop_compare(),
        }
    }
}

fn advance_session(time: Res<Time<Real>>, mut session: ResMut<Session>) {
    let dt = time.delta_secs_f64();
    session.advance(dt);
}
