//! Service times and error probabilities of the versions.

use rand_distr::{Distribution, Exp, LogNormal};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::des::rng::{Stream, streams};
use crate::des::time::Time;
use crate::scenario::{Defect, LatencyDist, Release, Service};

/// The service-time distribution of the stable version, sampled by request id.
#[derive(Clone, Debug)]
pub struct ServiceTimes {
    kind: Kind,
    stream: Stream,
}

#[derive(Clone, Debug)]
enum Kind {
    Exponential {
        mean_us: f64,
        dist: Exp<f64>,
    },
    /// `median · exp(sigma · Z)`, with `sigma = ln(p99 / median) / z_0.99`.
    LogNormal {
        median_us: f64,
        sigma: f64,
        dist: LogNormal<f64>,
    },
    Constant {
        us: f64,
    },
}

/// `z_0.99`, the standard normal's 99th percentile.
fn z99() -> f64 {
    Normal::standard().inverse_cdf(0.99)
}

impl ServiceTimes {
    pub fn new(dist: &LatencyDist, seed: u64) -> ServiceTimes {
        ServiceTimes::with_stream(dist, seed, streams::SERVICE)
    }

    /// The same distribution drawn from another keyed stream (e.g. init durations).
    pub fn with_stream(dist: &LatencyDist, seed: u64, stream: u64) -> ServiceTimes {
        let kind = match dist {
            LatencyDist::Exponential(e) => {
                let mean = e.mean.time().as_micros() as f64;
                // A zero mean is a rate of infinity: every draw is 0.
                Exp::new(1.0 / mean)
                    .map_or(Kind::Constant { us: mean }, |dist| Kind::Exponential { mean_us: mean, dist })
            }
            LatencyDist::LogNormal(l) => {
                let m = l.median.time().as_micros() as f64;
                let p = l.p99.time().as_micros() as f64;
                let sigma = (p / m).ln() / z99();
                // The scenario's checks keep 0 < median ≤ p99; anything else is the median.
                LogNormal::new(m.ln(), sigma).map_or(Kind::Constant { us: m }, |dist| Kind::LogNormal {
                    median_us: m,
                    sigma,
                    dist,
                })
            }
            LatencyDist::Constant(d) => Kind::Constant { us: d.time().as_micros() as f64 },
        };
        ServiceTimes { kind, stream: Stream::new(seed, stream) }
    }

    /// Service time of request `id` in microseconds (before version and fault factors).
    #[inline(always)]
    pub fn base_micros(&self, id: u64) -> f64 {
        match &self.kind {
            Kind::Exponential { dist, .. } => dist.sample(&mut self.stream.rng(id)),
            Kind::LogNormal { dist, .. } => dist.sample(&mut self.stream.rng(id)),
            Kind::Constant { us } => *us,
        }
    }

    /// The mean service time in seconds (for theory checks and capacity hints).
    pub fn mean_secs(&self) -> f64 {
        match &self.kind {
            Kind::Exponential { mean_us, .. } => mean_us / 1e6,
            Kind::LogNormal { median_us, sigma, .. } => median_us * (sigma * sigma / 2.0).exp() / 1e6,
            Kind::Constant { us } => us / 1e6,
        }
    }
}

/// What a version does differently: its error probabilities, latency factor and crashes.
#[derive(Clone, Debug, Default)]
pub struct VersionProfile {
    pub name: String,
    /// Probability that any request fails on this version.
    pub error_rate: f64,
    pub latency_factor: f64,
    pub crash_loop: bool,
    /// Mean uptime before a crash, seconds (a leak).
    pub crash_after_mean_s: Option<f64>,
    /// `(segment index, error probability)`.
    pub segment_errors: Vec<(u8, f64)>,
    /// `(busy slots at which errors start, error probability)`.
    pub load_errors: Vec<(f64, f64)>,
}

impl VersionProfile {
    pub fn stable(name: &str, service: &Service) -> VersionProfile {
        VersionProfile {
            name: name.into(),
            error_rate: service.error_rate.0,
            latency_factor: 1.0,
            ..Default::default()
        }
    }

    pub fn release(release: &Release, service: &Service, segment_index: impl Fn(&str) -> Option<u8>) -> VersionProfile {
        let mut v = VersionProfile::stable(&release.version, service);
        for d in &release.defects {
            match d {
                Defect::ErrorRate(p) => v.error_rate = 1.0 - (1.0 - v.error_rate) * (1.0 - p.0),
                Defect::LatencyFactor(f) => v.latency_factor *= f.0,
                Defect::CrashLoop => v.crash_loop = true,
                Defect::CrashAfterUptime(m) => {
                    let s = m.as_secs_f64();
                    // Two leaks: the minimum of two exponentials has the summed rate.
                    v.crash_after_mean_s = Some(match v.crash_after_mean_s {
                        Some(o) => 1.0 / (1.0 / o + 1.0 / s),
                        None => s,
                    });
                }
                Defect::SegmentErrors(se) => {
                    if let Some(i) = segment_index(&se.segment) {
                        v.segment_errors.push((i, se.rate.0));
                    }
                }
                Defect::ErrorsAboveLoad(l) => v.load_errors.push((l.utilization.0, l.rate.0)),
            }
        }
        v
    }

    /// The probability that a request fails on this version, given the user's segment,
    /// the share of busy slots when it starts and the dependency's error rate.
    /// Independent causes combine as `1 − Π(1 − pᵢ)`, so raising any one never lowers it.
    #[inline]
    pub fn failure_probability(&self, segment: u8, utilization: f64, dependency: f64) -> f64 {
        let mut ok = (1.0 - self.error_rate) * (1.0 - dependency);
        for &(s, p) in &self.segment_errors {
            if s == segment {
                ok *= 1.0 - p;
            }
        }
        for &(u, p) in &self.load_errors {
            if utilization >= u {
                ok *= 1.0 - p;
            }
        }
        1.0 - ok
    }
}

/// Kubernetes restart back-off: 10s, 20s, 40s, … capped at five minutes (Pod lifecycle,
/// "Container restarts").
pub fn crash_backoff(restarts: u32) -> Time {
    let exp = restarts.saturating_sub(1).min(10);
    Time::from_secs((10u64 << exp).min(300))
}

/// Kubernetes resets the back-off after a container ran 10 minutes without problems.
pub const BACKOFF_RESET: Time = Time::from_secs(600);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Duration, LogNormalLatency};

    /// The configured median and p99 of a log-normal are its quantiles: over 10^6
    /// draws the empirical quantiles are within 1 %.
    #[test]
    fn lognormal_hits_median_and_p99() {
        let d = LatencyDist::LogNormal(LogNormalLatency { median: Duration::millis(40), p99: Duration::millis(300) });
        let s = ServiceTimes::new(&d, 5);
        let mut v: Vec<f64> = (0..1_000_000).map(|i| s.base_micros(i)).collect();
        v.sort_by(f64::total_cmp);
        let med = v[500_000];
        let p99 = v[990_000];
        assert!((med / 40_000.0 - 1.0).abs() < 0.01, "{med}");
        assert!((p99 / 300_000.0 - 1.0).abs() < 0.01, "{p99}");
    }

    /// `z_0.99` from the distribution crate against the tables (Abramowitz & Stegun
    /// 26.2, p = 0.01: 2.326347874).
    #[test]
    fn z99_matches_tables() {
        assert!((z99() - 2.326_347_874_040_841).abs() < 1e-12, "{}", z99());
    }

    #[test]
    fn backoff_doubles_and_caps_at_five_minutes() {
        let secs: Vec<u64> = (1..=7).map(|r| crash_backoff(r).whole_secs()).collect();
        assert_eq!(secs, vec![10, 20, 40, 80, 160, 300, 300]);
    }
}
