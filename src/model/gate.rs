//! Gates on the new code path: a request on a new-version instance runs the new code
//! only for users the gate lets through. Feature toggles (dark launches) and A/B
//! experiments are both gates; the deployment itself is unchanged by them.

use crate::model::flags::FlagState;
use crate::scenario::flags::Flag;
use rand::RngExt;

use crate::des::rng::{Stream, streams};

/// Sticky assignment of users to experiment variants by a hash of the user id.
#[derive(Clone, Debug)]
pub struct Variants {
    /// Cumulative shares; variant `i` takes users with draw in `[cum[i-1], cum[i])`.
    cumulative: Vec<f64>,
    draw: Stream,
}

impl Variants {
    /// `weights` need not sum to 1; they are normalised.
    pub fn new(weights: &[f64], seed: u64) -> Variants {
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        Variants { cumulative, draw: Stream::new(seed, streams::VARIANT) }
    }

    /// The variant of `user`; 0 is the control.
    #[inline]
    pub fn of(&self, user: u32) -> usize {
        let u = self.draw.rng(user as u64).random::<f64>();
        self.cumulative.iter().position(|&c| u < c).unwrap_or(self.cumulative.len() - 1)
    }

    pub fn len(&self) -> usize {
        self.cumulative.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }
}

/// What decides, per user, whether the new code runs.
#[derive(Clone, Debug)]
pub enum Gate {
    /// Everyone off: the new code ships dark.
    Dark,
    /// An experiment: the new code runs for users in a treatment (non-control) variant.
    Variants(Variants),
    /// A feature flag, evaluated per request with Unleash's rules and bucketing.
    Flag(FlagGate),
}

/// A feature flag with the segment names needed to evaluate it.
#[derive(Clone, Debug)]
pub struct FlagGate {
    pub flag: Flag,
    state: FlagState,
    segment_names: Vec<String>,
}

impl FlagGate {
    pub fn new(flag: Flag, segment_names: Vec<String>) -> FlagGate {
        let state = FlagState::new(&flag);
        FlagGate { flag, state, segment_names }
    }

    /// Changes the flag (a ramp step, the kill switch); takes effect on the next request.
    pub fn update(&mut self, f: impl FnOnce(&mut Flag)) {
        f(&mut self.flag);
        self.state = FlagState::new(&self.flag);
    }

    #[inline]
    pub fn is_on(&self, user: u32, segment: u8) -> bool {
        let name = self.segment_names.get(segment as usize).map_or("default", String::as_str);
        self.state.is_on(user, name)
    }
}

impl Gate {
    /// Whether the new code runs for `user` of segment `segment`.
    #[inline]
    pub fn is_on(&self, user: u32, segment: u8) -> bool {
        match self {
            Gate::Dark => false,
            Gate::Variants(v) => v.of(user) != 0,
            Gate::Flag(f) => f.is_on(user, segment),
        }
    }

    /// Whether the gate is closed for everyone (dark, or a flag's kill switch).
    pub fn is_dark(&self) -> bool {
        match self {
            Gate::Dark => true,
            Gate::Variants(_) => false,
            Gate::Flag(f) => !f.flag.enabled || f.flag.rules.is_empty(),
        }
    }
}
