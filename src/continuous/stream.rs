//! The release stream: commit times, pipeline delays, which releases are bad and how.
//!
//! Every draw is keyed by the release's index in its own stream (`des::rng`), so the
//! stream is a pure function of the scenario's seed and the `continuous` section: every
//! strategy sees the same releases, the same bad ones with the same defects, and the same
//! seed for the engine run of each release (common random numbers).

use serde::Serialize;

use crate::model::service::ServiceTimes;
use crate::scenario::continuous::ContinuousSpec;
use rand::RngExt;
use rand::distr::weighted::WeightedIndex;
use rand_distr::{Distribution, Exp1};

use crate::des::rng::{Stream, streams};
use crate::des::time::Time;

/// Most releases one stream may hold (1000 a day over 30 days is 30 000 on average).
pub const MAX_RELEASES: usize = 100_000;

/// One release of the stream, before any strategy has touched it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedRelease {
    pub index: u32,
    /// When the change was committed (the release created), from the period's start.
    pub commit: Time,
    /// Build and test time: the release is ready to roll out at `commit + pipeline`.
    pub pipeline: Time,
    pub bad: bool,
    /// Index into `continuous.defects` of a bad release's defect.
    pub defect: Option<usize>,
    /// Seed of the engine run of this release's rollout window (the same for every strategy).
    pub seed: u64,
}

impl PlannedRelease {
    pub fn ready(&self) -> Time {
        self.commit + self.pipeline
    }
}

/// The releases committed in `[0, period)`: a Poisson process with `releases_per_day`
/// (exponential gaps), in commit order.
pub fn plan(seed: u64, spec: &ContinuousSpec) -> Vec<PlannedRelease> {
    let gap = Stream::new(seed, streams::RELEASE_GAP);
    let bad = Stream::new(seed, streams::RELEASE_BAD);
    let defect_draw = Stream::new(seed, streams::RELEASE_DEFECT);
    let window = Stream::new(seed, streams::RELEASE_WINDOW);
    let pipeline = ServiceTimes::new(&spec.pipeline, Stream::new(seed, streams::RELEASE_PIPELINE).bits(0));
    let rate_per_s = spec.releases_per_day.0 / 86_400.0;
    let period = spec.period.time();
    let weights: Vec<f64> = spec.defects.iter().map(|d| d.weight.0).collect();
    let total: f64 = weights.iter().sum();
    // The defect of a bad release, in proportion to the weights.
    let pick = WeightedIndex::new(&weights).ok();
    let mut out = Vec::new();
    let mut t_s = 0.0f64;
    for k in 0..MAX_RELEASES as u64 {
        let wait: f64 = Exp1.sample(&mut gap.rng(k));
        t_s += wait / rate_per_s;
        let commit = Time::from_secs_f64(t_s);
        if commit >= period {
            break;
        }
        let is_bad = bad.rng(k).random::<f64>() < spec.bad_probability.0 && total > 0.0;
        let defect = if is_bad { pick.as_ref().map(|w| w.sample(&mut defect_draw.rng(k))) } else { None };
        out.push(PlannedRelease {
            index: k as u32,
            commit,
            pipeline: Time::from_micros(pipeline.base_micros(k).round().max(0.0) as u64),
            bad: is_bad,
            defect,
            seed: window.bits(k),
        });
    }
    out
}
