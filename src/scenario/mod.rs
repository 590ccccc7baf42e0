//! Scenario files: the RON schema, its documented defaults, and loading with errors
//! that name the file, `line:column`, the field and what is allowed.
//!
//! Every field has a default except `name` and `duration`, so a small file is enough.
//! Unknown fields are errors. Sizes are bounded so that no file can make a run hang or
//! exhaust memory.

mod load;
pub mod values;

pub use load::{ScenarioError, load_file, parse_str};
use serde::{Deserialize, Serialize};
pub use values::{Duration, Factor, Int, IntOrPercent, Percent, Price, Probability, Rps};

/// Largest number of requests a scenario may expect to generate (mean rate × duration).
pub const MAX_EXPECTED_REQUESTS: f64 = 2e9;
/// Longest simulated duration (7 days): the per-second series stays below ~100 MB.
pub const MAX_SIM_DURATION_S: u64 = 7 * 86_400;

/// A complete simulation setup.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Shown in tables and reports.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Seed of every random stream; `run --seed` overrides it. Default 1.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time span, e.g. `"30m"`. At most 7 days.
    pub duration: Duration,
    #[serde(default)]
    pub traffic: Traffic,
    #[serde(default)]
    pub service: Service,
    #[serde(default)]
    pub fleet: Fleet,
    #[serde(default)]
    pub router: RouterSpec,
    /// The new version and when its rollout starts. `None`: nothing is released.
    #[serde(default)]
    pub release: Option<Release>,
    /// How the release is rolled out. Default `None` (no rollout: the baseline).
    #[serde(default)]
    pub strategy: StrategySpec,
    /// Scheduled faults.
    #[serde(default)]
    pub faults: Vec<ScheduledFault>,
    #[serde(default)]
    pub slo: Slo,
    #[serde(default)]
    pub cost: CostSpec,
}

fn default_seed() -> u64 {
    1
}

/// Users and the arrival process of their requests.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Traffic {
    /// Size of the user population, ids `0..users`. Default 10000, at most 10 million.
    pub users: Int<1, 10_000_000>,
    /// Request rate over time (a Poisson process with this rate). Default `Constant(rps: 100)`.
    pub rate: RateProfile,
    /// Named segments with their share of users (e.g. `internal`, `beta`); the rest is `default`.
    pub segments: Vec<Segment>,
    /// A user's requests closer together than this belong to one session. Default `"30m"`.
    pub session_gap: Duration,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            users: Int(10_000),
            rate: RateProfile::Constant(ConstantRate { rps: Rps(100.0) }),
            segments: Vec::new(),
            session_gap: Duration::secs(1800),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub name: String,
    pub share: Probability,
}

/// Arrival rate over time.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum RateProfile {
    /// `Constant(rps: 300)`
    Constant(ConstantRate),
    /// `Diurnal(mean_rps: 300, peak_to_trough: 3.0, period: "24h", peak_at: "14h")`: a cosine day.
    Diurnal(DiurnalRate),
    /// `Ramp(from_rps: 100, to_rps: 500, start: "0s", end: "1h")`: linear between start and end.
    Ramp(RampRate),
    /// `Spike(base_rps: 100, peak_rps: 1000, at: "20m", duration: "2m")`: a flash crowd.
    Spike(SpikeRate),
    /// `Trace(file: "traffic.csv")`: rows `seconds,rps`, piecewise constant, path relative
    /// to the scenario file.
    Trace(TraceRate),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstantRate {
    pub rps: Rps,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiurnalRate {
    pub mean_rps: Rps,
    /// Peak rate over trough rate, ≥ 1. Default 3.
    #[serde(default = "default_ptt")]
    pub peak_to_trough: Factor,
    #[serde(default = "default_day")]
    pub period: Duration,
    /// Offset of the peak within the period. Default `"14h"`.
    #[serde(default = "default_peak_at")]
    pub peak_at: Duration,
}

fn default_ptt() -> Factor {
    Factor(3.0)
}
fn default_day() -> Duration {
    Duration::secs(86_400)
}
fn default_peak_at() -> Duration {
    Duration::secs(14 * 3600)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RampRate {
    pub from_rps: Rps,
    pub to_rps: Rps,
    #[serde(default)]
    pub start: Duration,
    pub end: Duration,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeRate {
    pub base_rps: Rps,
    pub peak_rps: Rps,
    pub at: Duration,
    pub duration: Duration,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceRate {
    pub file: String,
    /// Filled in by the loader from `file`: `(start second, rps)` rows.
    #[serde(skip)]
    pub rows: Vec<(f64, f64)>,
}

/// How instances serve requests.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Service {
    /// Requests one instance serves at once. Default 8.
    pub concurrency: Int<1, 10_000>,
    /// Requests an instance holds waiting (FIFO); a full queue rejects with 503. Default 100.
    pub queue: Int<0, 1_000_000>,
    /// Service time of the stable version. Default `LogNormal(median: "40ms", p99: "300ms")`.
    pub latency: LatencyDist,
    /// Client timeout, counted from arrival. Default `None` (clients wait).
    pub timeout: Option<Duration>,
    /// Error probability of every request on the stable version. Default 0.
    pub error_rate: Probability,
}

impl Default for Service {
    fn default() -> Self {
        Service {
            concurrency: Int(8),
            queue: Int(100),
            latency: LatencyDist::LogNormal(LogNormalLatency {
                median: Duration::millis(40),
                p99: Duration::millis(300),
            }),
            timeout: None,
            error_rate: Probability(0.0),
        }
    }
}

/// Service-time distribution.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum LatencyDist {
    /// `Exponential(mean: "50ms")`
    Exponential(ExponentialLatency),
    /// `LogNormal(median: "40ms", p99: "300ms")`
    LogNormal(LogNormalLatency),
    /// `Constant("50ms")`
    Constant(Duration),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExponentialLatency {
    pub mean: Duration,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogNormalLatency {
    pub median: Duration,
    pub p99: Duration,
}

/// The instance fleet.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fleet {
    /// Desired instances (a Deployment's `replicas`). Default 10.
    pub replicas: Int<1, 10_000>,
    /// Availability zones; instances are spread evenly. Default 3.
    pub zones: Int<1, 64>,
    /// Name of the version running at the start. Default `"v1"`.
    pub version: String,
    pub instance: InstanceSpec,
    pub readiness: Readiness,
    /// Time a deleted instance gets to finish its work (`terminationGracePeriodSeconds`,
    /// default 30s); what is left then fails.
    pub drain_timeout: Duration,
    /// Mean time between random crashes of one instance. Default `None`.
    pub mtbf: Option<Duration>,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet {
            replicas: Int(10),
            zones: Int(3),
            version: "v1".into(),
            instance: InstanceSpec::default(),
            readiness: Readiness::default(),
            drain_timeout: Duration::secs(30),
            mtbf: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstanceSpec {
    /// Scheduling and image pull before the container starts. Default `"0s"`.
    pub provision: Duration,
    /// From container start until the application serves. Default `"20s"`.
    pub boot: Duration,
    /// Price of one instance per hour. Default 0.10.
    pub hourly_cost: Price,
}

impl Default for InstanceSpec {
    fn default() -> Self {
        InstanceSpec {
            provision: Duration::secs(0),
            boot: Duration::secs(20),
            hourly_cost: Price(0.10),
        }
    }
}

/// Kubernetes readiness probe (`initialDelaySeconds`, `periodSeconds`, `failureThreshold`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Readiness {
    /// Default `"0s"` (Kubernetes' default).
    pub initial_delay: Duration,
    /// Default `"10s"` (Kubernetes' default).
    pub period: Duration,
    /// Consecutive failed probes before an instance leaves the endpoints. Default 3
    /// (Kubernetes' default).
    pub failure_threshold: Int<1, 1000>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            initial_delay: Duration::secs(0),
            period: Duration::secs(10),
            failure_threshold: Int(3),
        }
    }
}

/// The load balancer in front of the fleet.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterSpec {
    pub mode: RouterMode,
    pub affinity: Affinity,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouterMode {
    /// Like a Kubernetes Service: traffic follows ready instance counts.
    #[default]
    ReplicaProportional,
    /// An L7 split (service mesh / ingress) with exact percentages set by the strategy;
    /// until a strategy sets a weight it behaves replica-proportionally.
    Weighted,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Affinity {
    /// Every request draws its version and instance afresh.
    #[default]
    PerRequest,
    /// Version and instance follow a hash of the user id (session affinity).
    StickyUser,
}

/// The new version.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// When the rollout starts.
    pub at: Duration,
    /// Name of the new version. Default `"v2"`.
    #[serde(default = "default_new_version")]
    pub version: String,
    /// What is wrong with it. Default: nothing.
    #[serde(default)]
    pub defects: Vec<Defect>,
}

fn default_new_version() -> String {
    "v2".into()
}

/// A defect of the new version.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Defect {
    /// Extra error probability on every request it serves: `ErrorRate(0.05)`.
    ErrorRate(Probability),
    /// Service time multiplied: `LatencyFactor(1.5)`.
    LatencyFactor(Factor),
    /// Crashes during start-up, every time (CrashLoopBackOff).
    CrashLoop,
    /// Crashes after an exponentially distributed uptime with this mean (a memory leak):
    /// `CrashAfterUptime("30m")`.
    CrashAfterUptime(Duration),
    /// Errors only for one segment: `SegmentErrors(segment: "beta", rate: 1.0)`.
    SegmentErrors(SegmentErrors),
    /// Errors when an instance is busy: `ErrorsAboveLoad(utilization: 0.8, rate: 0.5)` fails
    /// a request with probability `rate` if, when it starts, at least `utilization × concurrency`
    /// requests are in service on its instance.
    ErrorsAboveLoad(LoadErrors),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentErrors {
    pub segment: String,
    pub rate: Probability,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadErrors {
    pub utilization: Probability,
    pub rate: Probability,
}

/// The rollout strategy.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub enum StrategySpec {
    /// No rollout: the release (if any) is never deployed. This is the baseline.
    #[default]
    None,
    /// Kubernetes `Recreate`: all old instances are stopped, then the new ones start.
    Recreate(RecreateSpec),
    /// Kubernetes `RollingUpdate`.
    Rolling(RollingSpec),
}

impl StrategySpec {
    pub fn name(&self) -> &'static str {
        match self {
            StrategySpec::None => "none",
            StrategySpec::Recreate(_) => "recreate",
            StrategySpec::Rolling(_) => "rolling",
        }
    }
}

/// What a Deployment does when `progressDeadlineSeconds` passes without progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeadlineAction {
    /// Kubernetes' own behaviour: report `ProgressDeadlineExceeded` and keep going.
    #[default]
    Report,
    /// What a pipeline does on that condition (`kubectl rollout undo`): roll back.
    Rollback,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecreateSpec {
    /// `minReadySeconds`. Default `"0s"`.
    pub min_ready: Duration,
    /// `progressDeadlineSeconds`. Default `"600s"` (Kubernetes' default).
    pub progress_deadline: Duration,
    pub on_progress_deadline: DeadlineAction,
}

impl Default for RecreateSpec {
    fn default() -> Self {
        RecreateSpec {
            min_ready: Duration::secs(0),
            progress_deadline: Duration::secs(600),
            on_progress_deadline: DeadlineAction::Report,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RollingSpec {
    /// `maxSurge`: a count or `"25%"` (rounded up). Default `"25%"`.
    pub max_surge: IntOrPercent,
    /// `maxUnavailable`: a count or `"25%"` (rounded down). Default `"25%"`.
    pub max_unavailable: IntOrPercent,
    /// `minReadySeconds`. Default `"0s"`.
    pub min_ready: Duration,
    /// `progressDeadlineSeconds`. Default `"600s"`.
    pub progress_deadline: Duration,
    pub on_progress_deadline: DeadlineAction,
}

impl Default for RollingSpec {
    fn default() -> Self {
        RollingSpec {
            max_surge: IntOrPercent::Percent(25),
            max_unavailable: IntOrPercent::Percent(25),
            min_ready: Duration::secs(0),
            progress_deadline: Duration::secs(600),
            on_progress_deadline: DeadlineAction::Report,
        }
    }
}

/// A fault at a given time.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    pub at: Duration,
    pub fault: Fault,
}

/// A fault, scheduled in the file or injected by a command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    /// Crash `count` ready instances, chosen at random (optionally of one version).
    CrashInstances(CrashInstances),
    /// Every instance in `zone` stops answering for `duration`.
    ZoneOutage(ZoneOutage),
    /// A downstream dependency becomes slower: service times × `factor` for `duration`.
    DependencySlow(DependencySlow),
    /// A downstream dependency fails a share of requests for `duration`.
    DependencyErrors(DependencyErrors),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashInstances {
    #[serde(default = "one")]
    pub count: Int<1, 10_000>,
    /// Only instances of this version name. Default: any.
    #[serde(default)]
    pub version: Option<String>,
}

fn one() -> Int<1, 10_000> {
    Int(1)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneOutage {
    pub zone: Int<0, 63>,
    pub duration: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependencySlow {
    pub factor: Factor,
    pub duration: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependencyErrors {
    pub rate: Probability,
    pub duration: Duration,
}

/// The service-level objective used by `slo_violation_s` and `error_budget_burn`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Slo {
    /// Target success ratio. Default 0.999.
    pub target: Probability,
    /// Sliding window of the success ratio. Default `"5m"`.
    pub window: Duration,
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            target: Probability(0.999),
            window: Duration::secs(300),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostSpec {
    /// Fixed cost per hour (load balancer and the like). Default 0.
    pub fixed_hourly: Price,
}

impl Default for Price {
    fn default() -> Self {
        Price(0.0)
    }
}

impl RateProfile {
    /// Mean arrival rate over `[0, horizon]` in requests per second (for size limits).
    pub fn mean_rps(&self, horizon_s: f64) -> f64 {
        match self {
            RateProfile::Constant(c) => c.rps.0,
            RateProfile::Diurnal(d) => d.mean_rps.0,
            RateProfile::Ramp(r) => r.from_rps.0.max(r.to_rps.0),
            RateProfile::Spike(s) => s.base_rps.0.max(s.peak_rps.0),
            RateProfile::Trace(t) => {
                let _ = horizon_s;
                t.rows.iter().map(|r| r.1).fold(0.0, f64::max)
            }
        }
    }
}
