//! The `continuous` section of a scenario file: plain serde data, checked while parsed
//! (the scalars) and by `scenario::check_scenario` (the cross-field rules).

use serde::{Deserialize, Serialize};

use crate::scenario::{Defect, Duration, Factor, Int, LatencyDist, Probability};

/// A stream of releases over a period, each rolled out with the scenario's strategy.
///
/// ```ron
/// continuous: (
///     period: "7d",
///     releases_per_day: 10,
///     pipeline: LogNormal(median: "12m", p99: "40m"),
///     bad_probability: 0.15,
///     defects: [(weight: 3, defect: ErrorRate(0.05)), (weight: 1, defect: ErrorRate(0.4))],
///     alert: (error_rate: 0.02, window: "5m"),
///     response: "30m",
/// )
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContinuousSpec {
    /// Span in which changes are committed, e.g. `"7d"` or `"30d"` (at most 30 days).
    /// Releases committed in it are all deployed, even if that ends after it.
    pub period: Duration,
    /// Mean commits (releases) per day: a Poisson process. More than 0, at most 1000.
    pub releases_per_day: Factor,
    /// Build and test time from commit until the release is ready to roll out.
    /// Default `Constant("10m")`.
    #[serde(default = "default_pipeline")]
    pub pipeline: LatencyDist,
    /// Probability that a release is bad. Default 0.
    #[serde(default)]
    pub bad_probability: Probability,
    /// What a bad release's defect is, drawn by weight. Needed when `bad_probability` > 0.
    #[serde(default)]
    pub defects: Vec<WeightedDefect>,
    /// The production alert that pages a person.
    #[serde(default)]
    pub alert: AlertSpec,
    /// Alert (or a stuck rollout) → service restored by a person: paging, diagnosis and
    /// the rollback itself. Default `"30m"`.
    #[serde(default = "default_response")]
    pub response: Duration,
}

fn default_pipeline() -> LatencyDist {
    LatencyDist::Constant(Duration::secs(600))
}

fn default_response() -> Duration {
    Duration::secs(1800)
}

/// One kind of defect and its relative weight.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedDefect {
    /// Relative weight. Default 1.
    #[serde(default = "unit")]
    pub weight: Factor,
    pub defect: Defect,
}

fn unit() -> Factor {
    Factor(1.0)
}

/// An error-ratio alert on all user requests, as a Prometheus rule
/// `sum(rate(failed[window])) / sum(rate(requests[window])) > error_rate` would be,
/// evaluated every simulated second.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSpec {
    /// Failed share of requests above which the alert fires. Default 0.02.
    pub error_rate: Probability,
    /// Trailing window of the ratio. Default `"5m"`.
    pub window: Duration,
    /// Fewer requests than this in the window never fire the alert. Default 20.
    pub min_requests: Int<0, 1_000_000_000>,
}

impl Default for AlertSpec {
    fn default() -> Self {
        AlertSpec { error_rate: Probability(0.02), window: Duration::secs(300), min_requests: Int(20) }
    }
}
