//! Commands from outside — a person, a lesson, a pipeline — applied at the current
//! simulated time and recorded in the scenario, so that a session replays exactly.

use serde::{Deserialize, Serialize};

use super::{Fault, Probability};

/// A command from outside, applied at the current simulated time and recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    Rollout(RolloutCommand),
    /// Turn the feature flag (or experiment) off for everyone, without a redeploy.
    KillSwitch,
    /// Crash one instance by id (as clicking it in the app does).
    CrashInstance(u32),
    /// Make the release worse: an extra error probability on every request its new code
    /// serves from now on.
    ReleaseErrorRate(Probability),
    InjectFault(Fault),
}

/// A command to the rollout from outside (a person, a lesson, a pipeline).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RolloutCommand {
    /// Go on past a manual gate (Argo's `promote`); no effect where there is no gate.
    Promote,
    /// Roll back now.
    Abort,
    /// `kubectl rollout pause`.
    Pause,
    /// `kubectl rollout resume`.
    Resume,
}
