//! Scenario files: the RON schema, its documented defaults, and loading with errors
//! that name the file, `line:column`, the field and what is allowed.
//!
//! Every field has a default except `name` and `duration`, so a small file is enough.
//! Unknown fields are errors. Sizes are bounded so that no file can make a run hang or
//! exhaust memory.

pub mod command;
pub mod continuous;
pub mod diagnostic;
mod error;
pub mod flags;
pub(crate) mod load;
mod locate;
pub mod serverless;
pub mod source;
pub mod topology;
pub mod values;

/// At most this many bursts per `ErrorBursts` fault.
pub const MAX_BURSTS: u64 = 1_000_000;
/// At most this many occurrences per random fault.
pub const MAX_OCCURRENCES: u64 = 10_000;

pub use command::{Command, RolloutCommand};
pub use error::{ScenarioError, ScenarioErrorKind};
pub use load::{MAX_FILE_BYTES, check_scenario, load_file, load_source, parse_str, to_ron_string};
use serde::{Deserialize, Serialize};
pub use values::{Duration, Factor, Int, IntOrPercent, Percent, Price, Probability, Rps};

/// Largest number of requests a scenario may expect to generate (mean rate × duration).
pub const MAX_EXPECTED_REQUESTS: f64 = 2e9;
/// Canary pods for a weight (percent) with a traffic router: `⌈weight × replicas / 100⌉`
/// (Argo Rollouts' `trafficWeightToReplicas`, `utils/replicaset/canary.go`). It lives with
/// the scenario data because the checks bound a scenario's instances with it.
pub fn canary_replicas(replicas: u32, weight: f64) -> u32 {
    (weight * replicas as f64 / 100.0 - 1e-9).ceil().max(0.0) as u32
}

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
    /// Faults that strike at random times (a Poisson process per entry).
    #[serde(default)]
    pub random_faults: Vec<RandomFault>,
    #[serde(default)]
    pub slo: Slo,
    /// Strategy variants that `deploysim compare` runs side by side on this scenario.
    #[serde(default)]
    pub compare: Vec<NamedStrategy>,
    /// Commands applied at given times, as a person at the controls would (a saved
    /// interactive session replays through these).
    #[serde(default)]
    pub commands: Vec<ScheduledCommand>,
    #[serde(default)]
    pub cost: CostSpec,
    /// A function instead of a fleet: when present, `deploysim run` uses the serverless
    /// engine (`crate::serverless`). Default `None`.
    #[serde(default)]
    pub serverless: Option<serverless::ServerlessSpec>,
    /// A multi-service system with its own deployment plan; when present, `deploysim run`
    /// runs it with the topology engine ([`crate::topology`]). Default: none.
    #[serde(default)]
    pub topology: Option<topology::Topology>,
    /// A HorizontalPodAutoscaler on the service's `replicas`. Default `None`: the replica
    /// count stays `fleet.replicas`.
    #[serde(default)]
    pub autoscaler: Option<Autoscaler>,
    /// A stream of releases over a period instead of one `release` (continuous
    /// deployment, see `crate::continuous`); `duration` is then the longest window
    /// simulated per release. Default `None`.
    #[serde(default)]
    pub continuous: Option<continuous::ContinuousSpec>,
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
    /// `Step(from_rps: 100, to_rps: 400, at: "5m")`: one jump of the rate, up or down.
    Step(StepRate),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRate {
    pub from_rps: Rps,
    pub to_rps: Rps,
    pub at: Duration,
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
        InstanceSpec { provision: Duration::secs(0), boot: Duration::secs(20), hourly_cost: Price(0.10) }
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
        Readiness { initial_delay: Duration::secs(0), period: Duration::secs(10), failure_threshold: Int(3) }
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum StrategySpec {
    /// No rollout: the release (if any) is never deployed. This is the baseline.
    #[default]
    None,
    /// Kubernetes `Recreate`: all old instances are stopped, then the new ones start.
    Recreate(RecreateSpec),
    /// Kubernetes `RollingUpdate`.
    Rolling(RollingSpec),
    /// Argo Rollouts blue-green.
    BlueGreen(BlueGreenSpec),
    /// Argo Rollouts canary steps.
    Canary(CanarySpec),
    /// The Flagger canary loop.
    Flagger(FlaggerSpec),
    /// An AWS CodeDeploy traffic-shifting configuration.
    CodeDeploy(CodeDeploySpec),
    /// Ship the new code dark, then ramp a feature flag.
    FeatureToggle(FeatureToggleSpec),
    /// An A/B experiment between variants of the new code.
    AbTest(AbTestSpec),
    /// Mirror traffic to the new version, then switch if it behaved.
    Shadow(ShadowSpec),
    /// An AWS CodeDeploy in-place deployment (EC2/on-premises): the new revision is
    /// installed on the running instances, a batch at a time, instead of replacing them.
    InPlace(InPlaceSpec),
}

/// A strategy with a name, for `compare`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedStrategy {
    pub name: String,
    pub strategy: StrategySpec,
}

impl StrategySpec {
    pub fn name(&self) -> &'static str {
        match self {
            StrategySpec::None => "none",
            StrategySpec::Recreate(_) => "recreate",
            StrategySpec::Rolling(_) => "rolling",
            StrategySpec::BlueGreen(_) => "blue-green",
            StrategySpec::Canary(_) => "canary",
            StrategySpec::Flagger(_) => "flagger",
            StrategySpec::CodeDeploy(_) => "codedeploy",
            StrategySpec::FeatureToggle(_) => "feature-toggle",
            StrategySpec::AbTest(_) => "ab-test",
            StrategySpec::Shadow(_) => "shadow",
            StrategySpec::InPlace(_) => "in-place",
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// A command at a given time.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduledCommand {
    pub at: Duration,
    pub command: Command,
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
    /// A downstream dependency is down: every request fails for `duration`.
    DependencyDown(FaultWindow),
    /// A crash loop (a bad secret or setting read at start-up): `count` running instances
    /// crash at once, and every container that starts during `duration` crashes while
    /// booting, so the kubelet backs off (CrashLoopBackOff) until the fault ends.
    CrashLoop(CrashLoopFault),
    /// Latency injected inside the application (like Chaos Monkey for Spring Boot's latency
    /// assault): a `share` of the requests that start during `duration` take `delay` longer,
    /// holding their concurrency slot.
    LatencyInjection(LatencyInjection),
    /// Packet-loss-like error bursts for `duration`: bursts of length `burst`, separated by
    /// exponentially distributed gaps with mean `gap`; during a burst a request fails with
    /// probability `rate`. The first burst starts at once.
    ErrorBursts(ErrorBursts),
    /// A bad configuration pushed to every running instance: their requests fail with
    /// probability `rate` until it is reverted after `duration` (never, without one).
    /// Instances created later start from the image with the good configuration.
    BadConfigPush(BadConfigPush),
    /// Configuration drift: hand-made changes on `count` running instances that fail `rate`
    /// of their requests. It lasts as long as the instance: an in-place update keeps it,
    /// replacing the instance (an immutable update) removes it.
    ConfigDrift(ConfigDrift),
    /// A memory leak in whatever code runs during `duration`: every running instance
    /// crashes after an exponentially distributed uptime with mean `mean_uptime`.
    MemoryLeak(MemoryLeak),
    /// A bug that only one user segment sees: its requests fail with probability `rate`.
    SegmentBug(SegmentBug),
    /// A bug that shows under load: a request fails with probability `rate` when at least
    /// `utilization × concurrency` requests are in service on its instance as it starts.
    LoadBug(LoadBug),
    /// The service's database is overloaded: service times × `factor`, and queries fail
    /// with probability `rate` (pool or statement timeouts), for `duration`.
    DbOverload(DbOverload),
}

/// A fault that lasts `duration`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultWindow {
    pub duration: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashLoopFault {
    #[serde(default = "one_of_many")]
    pub count: Int<0, 10_000>,
    pub duration: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyInjection {
    pub delay: Duration,
    #[serde(default = "all")]
    pub share: Probability,
    pub duration: Duration,
}

fn one_of_many() -> Int<0, 10_000> {
    Int(1)
}

fn all() -> Probability {
    Probability(1.0)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBursts {
    pub rate: Probability,
    pub burst: Duration,
    pub gap: Duration,
    pub duration: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BadConfigPush {
    pub rate: Probability,
    #[serde(default)]
    pub duration: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigDrift {
    #[serde(default = "one_of_many")]
    pub count: Int<0, 10_000>,
    pub rate: Probability,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryLeak {
    pub mean_uptime: Duration,
    pub duration: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentBug {
    pub segment: String,
    pub rate: Probability,
    pub duration: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBug {
    pub utilization: Probability,
    pub rate: Probability,
    pub duration: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbOverload {
    pub factor: Factor,
    pub rate: Probability,
    pub duration: Duration,
}

/// A fault that strikes at random: occurrences form a Poisson process with mean time
/// between them `mtbf`, from `from` until `until` (default: the end).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFault {
    pub mtbf: Duration,
    #[serde(default)]
    pub from: Duration,
    #[serde(default)]
    pub until: Option<Duration>,
    pub fault: Fault,
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
        Slo { target: Probability(0.999), window: Duration::secs(300) }
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
            RateProfile::Step(s) => s.from_rps.0.max(s.to_rps.0),
            RateProfile::Trace(t) => {
                let _ = horizon_s;
                t.rows.iter().map(|r| r.1).fold(0.0, f64::max)
            }
        }
    }
}

// ----- autoscaler ----------------------------------------------------------------

/// A Kubernetes HorizontalPodAutoscaler (`autoscaling/v2`) on the service's Deployment
/// (or Argo Rollout): it sets the total `replicas` that the strategy's controller splits
/// into pools. The metric is the busy share of the concurrency slots of the ready
/// instances, time-averaged over each sync period (the simulator's CPU utilization).
/// Kubernetes docs, "Horizontal Pod Autoscaling":
/// <https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/>.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Autoscaler {
    /// `minReplicas`. Default 1 (Kubernetes' default).
    #[serde(default = "one_replica")]
    pub min_replicas: Int<1, 10_000>,
    /// `maxReplicas` (required, as in Kubernetes).
    pub max_replicas: Int<1, 10_000>,
    /// Target average utilization, in (0, 1]: busy slots over ready slots. Default 0.8
    /// (the HPA's default metric is 80 % average CPU utilization).
    #[serde(default = "default_target_utilization")]
    pub target_utilization: Probability,
    /// `--horizontal-pod-autoscaler-sync-period` of kube-controller-manager. Default `"15s"`.
    #[serde(default = "default_sync_period")]
    pub sync_period: Duration,
    /// `--horizontal-pod-autoscaler-tolerance`: no scaling while the metric's ratio to its
    /// target is within this of 1. Default 0.1.
    #[serde(default = "default_tolerance")]
    pub tolerance: Probability,
    /// `behavior.scaleDown.stabilizationWindowSeconds`. Default `"5m"` (300 s).
    #[serde(default = "default_down_window")]
    pub scale_down_stabilization: Duration,
    /// `behavior.scaleUp.stabilizationWindowSeconds`. Default `"0s"`.
    #[serde(default)]
    pub scale_up_stabilization: Duration,
    /// `behavior.scaleUp.policies` (with `selectPolicy: Max`). Default: 100 % or 4 pods
    /// per 15 s, whichever allows more (Kubernetes' default). Empty: no limit.
    #[serde(default = "default_up_policies")]
    pub scale_up_policies: Vec<ScalingPolicy>,
    /// `behavior.scaleDown.policies` (with `selectPolicy: Max`). Default: 100 % per 15 s
    /// (Kubernetes' default). Empty: no limit.
    #[serde(default = "default_down_policies")]
    pub scale_down_policies: Vec<ScalingPolicy>,
}

/// One `behavior` scaling policy: at most this much change within `period`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum ScalingPolicy {
    /// `type: Pods`: `Pods(value: 4, period: "15s")`.
    Pods(PolicyPods),
    /// `type: Percent`: `Percent(value: 100, period: "15s")`.
    Percent(PolicyPercent),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyPods {
    pub value: Int<1, 10_000>,
    pub period: Duration,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyPercent {
    pub value: Int<1, 100_000>,
    pub period: Duration,
}

impl ScalingPolicy {
    pub fn period(&self) -> Duration {
        match self {
            ScalingPolicy::Pods(p) => p.period,
            ScalingPolicy::Percent(p) => p.period,
        }
    }
}

fn one_replica() -> Int<1, 10_000> {
    Int(1)
}
fn default_target_utilization() -> Probability {
    Probability(0.8)
}
fn default_sync_period() -> Duration {
    Duration::secs(15)
}
fn default_tolerance() -> Probability {
    Probability(0.1)
}
fn default_down_window() -> Duration {
    Duration::secs(300)
}
fn default_up_policies() -> Vec<ScalingPolicy> {
    vec![
        ScalingPolicy::Percent(PolicyPercent { value: Int(100), period: Duration::secs(15) }),
        ScalingPolicy::Pods(PolicyPods { value: Int(4), period: Duration::secs(15) }),
    ]
}
fn default_down_policies() -> Vec<ScalingPolicy> {
    vec![ScalingPolicy::Percent(PolicyPercent { value: Int(100), period: Duration::secs(15) })]
}

// ----- analysis ------------------------------------------------------------------

/// An analysis run, with Argo Rollouts' AnalysisRun semantics: a measurement every
/// `interval`, `count` times (or until stopped), after `initial_delay`; a check fails
/// the run once more than `failure_limit` measurements failed, makes it inconclusive
/// once more than `inconclusive_limit` were inconclusive, and errors once more than
/// `consecutive_error_limit` errors happened in a row.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisSpec {
    /// Time between measurements; each measurement covers the interval before it. Default `"1m"`.
    pub interval: Duration,
    /// Measurements to take; `None` runs until the rollout stops it (background analysis).
    pub count: Option<Int<1, 100_000>>,
    /// Wait before the first interval starts. Default `"0s"`.
    pub initial_delay: Duration,
    /// Default 0 (Argo's default).
    pub failure_limit: Int<0, 100_000>,
    /// Default 0 (Argo's default).
    pub inconclusive_limit: Int<0, 100_000>,
    /// Default 4 (Argo's default).
    pub consecutive_error_limit: Int<0, 100_000>,
    /// Fewer requests than this in a measurement's window is "no data". Default 20.
    pub min_requests: Int<0, 1_000_000_000>,
    /// What no data counts as. Default `Inconclusive` — never a silent pass.
    pub no_data: NoData,
    pub checks: Vec<Check>,
}

impl Default for AnalysisSpec {
    fn default() -> Self {
        AnalysisSpec {
            interval: Duration::secs(60),
            count: None,
            initial_delay: Duration::secs(0),
            failure_limit: Int(0),
            inconclusive_limit: Int(0),
            consecutive_error_limit: Int(4),
            min_requests: Int(20),
            no_data: NoData::Inconclusive,
            checks: vec![Check::SuccessRate(Probability(0.99))],
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoData {
    #[default]
    Inconclusive,
    /// As Argo's Prometheus provider does when a query returns nothing.
    Error,
}

/// One metric check of an analysis.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Check {
    /// Success ratio of the measured pool's requests at least this: `SuccessRate(0.99)`.
    SuccessRate(Probability),
    /// p99 latency of answered requests at most this: `LatencyP99("500ms")`.
    LatencyP99(Duration),
    /// Failed requests in the window at most this: `ErrorCount(10)`.
    ErrorCount(Int<0, 1_000_000_000>),
    /// Kayenta-style judge of the new pool against a baseline pool of equal size.
    Kayenta(KayentaSpec),
}

/// A Kayenta canary judgement: each metric's per-`step` values of canary and baseline
/// are compared with a Mann–Whitney test; the score is the share of metrics that pass.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KayentaSpec {
    pub metrics: Vec<KayentaMetric>,
    /// Default 0.98.
    pub confidence: Probability,
    /// Default 0.25.
    pub tolerance: Probability,
    /// Score at or above which the canary passes. Default 95.
    pub pass_score: Percent,
    /// Score at or above which it is marginal (inconclusive). Default 75.
    pub marginal_score: Percent,
    /// Length of one sample. Default `"10s"`.
    pub step: Duration,
}

impl Default for KayentaSpec {
    fn default() -> Self {
        KayentaSpec {
            metrics: vec![KayentaMetric::ErrorRate, KayentaMetric::Latency],
            confidence: Probability(0.98),
            tolerance: Probability(0.25),
            pass_score: Percent(95.0),
            marginal_score: Percent(75.0),
            step: Duration::secs(10),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KayentaMetric {
    /// Failed share of requests per step; a rise is bad.
    ErrorRate,
    /// Mean latency of answered requests per step; a rise is bad.
    Latency,
}

// ----- blue-green ------------------------------------------------------------------

/// Argo Rollouts blue-green.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BlueGreenSpec {
    /// `previewReplicaCount`; default: the full replica count.
    pub preview_replicas: Option<Int<1, 10_000>>,
    pub promotion: Promotion,
    pub switch: Switch,
    /// Share of live traffic mirrored to the preview while pre-promotion analysis runs
    /// (stands for smoke tests against the preview service). Default 5 %.
    pub preview_test_share: Probability,
    pub pre_promotion_analysis: Option<AnalysisSpec>,
    pub post_promotion_analysis: Option<AnalysisSpec>,
    /// `scaleDownDelaySeconds`: the old environment stays up this long after the switch
    /// (and after post-promotion analysis). Default `"30s"`.
    pub scale_down_delay: Duration,
    /// `abortScaleDownDelaySeconds`. Default `"30s"`.
    pub abort_scale_down_delay: Duration,
}

impl Default for BlueGreenSpec {
    fn default() -> Self {
        BlueGreenSpec {
            preview_replicas: None,
            promotion: Promotion::Auto,
            switch: Switch::LoadBalancer,
            preview_test_share: Probability(0.05),
            pre_promotion_analysis: None,
            post_promotion_analysis: None,
            scale_down_delay: Duration::secs(30),
            abort_scale_down_delay: Duration::secs(30),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Promotion {
    /// `autoPromotionEnabled: true`: as soon as the preview is ready (and analysed).
    #[default]
    Auto,
    /// `autoPromotionSeconds`: that long after the preview is ready.
    AutoAfter(Duration),
    /// `autoPromotionEnabled: false`: wait for a promote command.
    Manual,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Switch {
    /// The active service's selector moves: every new request goes to the new side at once.
    #[default]
    LoadBalancer,
    /// A DNS record moves: clients follow as their cached answers expire.
    Dns(DnsSwitch),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSwitch {
    pub ttl: Duration,
    /// Share of clients that ignore the TTL. Default 0.
    #[serde(default)]
    pub stale_share: Probability,
    /// How long those clients may keep the old answer. Default `"1h"`.
    #[serde(default = "default_stale_for")]
    pub stale_for: Duration,
}

fn default_stale_for() -> Duration {
    Duration::secs(3600)
}

// ----- canary --------------------------------------------------------------------

/// Argo Rollouts canary.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CanarySpec {
    pub steps: Vec<CanaryStep>,
    /// Background analysis, from step `analysis_start_step` until the rollout ends;
    /// failure aborts, inconclusive pauses.
    pub analysis: Option<AnalysisSpec>,
    /// Default 0: from the first step.
    pub analysis_start_step: Int<0, 1000>,
    /// Without a weighted router, replicas carry the split; surge limits apply. Default `"25%"`.
    pub max_surge: IntOrPercent,
    /// `abortScaleDownDelaySeconds`. Default `"30s"`.
    pub abort_scale_down_delay: Duration,
}

impl Default for CanarySpec {
    fn default() -> Self {
        CanarySpec {
            steps: vec![
                CanaryStep::SetWeight(Percent(10.0)),
                CanaryStep::Pause(Duration::secs(300)),
                CanaryStep::SetWeight(Percent(50.0)),
                CanaryStep::Pause(Duration::secs(300)),
            ],
            analysis: None,
            analysis_start_step: Int(0),
            max_surge: IntOrPercent::Percent(25),
            abort_scale_down_delay: Duration::secs(30),
        }
    }
}

/// An Argo canary step.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum CanaryStep {
    /// Send this percentage of traffic to the canary.
    SetWeight(Percent),
    /// Wait this long.
    Pause(Duration),
    /// Wait for a promote command.
    PauseUntilPromoted,
    /// Scale the canary independently of its weight.
    SetCanaryScale(CanaryScale),
    /// Run an analysis and wait for its result.
    Analysis(AnalysisSpec),
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CanaryScale {
    pub replicas: Option<Int<0, 10_000>>,
    pub weight: Option<Percent>,
    pub match_traffic_weight: bool,
}

/// The Flagger canary loop.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FlaggerSpec {
    /// `analysis.interval`. Default `"1m"`.
    pub interval: Duration,
    /// `stepWeight`. Default 10.
    pub step_weight: Percent,
    /// `stepWeights`: explicit weights; overrides `step_weight` and `max_weight`.
    pub step_weights: Vec<Percent>,
    /// `maxWeight`. Default 50.
    pub max_weight: Percent,
    /// `threshold`: failed checks (cumulative) before rollback. Default 5.
    pub threshold: Int<1, 1000>,
    /// Checks run every interval on the canary's requests of that interval.
    pub checks: Vec<Check>,
    /// Fewer canary requests than this in an interval fails the check (no data). Default 20.
    pub min_requests: Int<0, 1_000_000_000>,
}

impl Default for FlaggerSpec {
    fn default() -> Self {
        FlaggerSpec {
            interval: Duration::secs(60),
            step_weight: Percent(10.0),
            step_weights: Vec::new(),
            max_weight: Percent(50.0),
            threshold: Int(5),
            checks: vec![Check::SuccessRate(Probability(0.99)), Check::LatencyP99(Duration::millis(500))],
            min_requests: Int(20),
        }
    }
}

/// AWS CodeDeploy traffic shifting (ECS / Lambda deployment configurations), with
/// automatic rollback when an alarm (the analysis) fires.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CodeDeploySpec {
    pub config: CodeDeployConfig,
    /// CloudWatch alarms: checked every interval while traffic shifts; failure rolls back.
    #[serde(default)]
    pub alarms: Option<AnalysisSpec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeDeployConfig {
    /// `CodeDeployDefault.*Canary10Percent5Minutes`: 10 %, then the rest after 5 minutes.
    Canary10Percent5Minutes,
    /// `CodeDeployDefault.*Canary10Percent15Minutes`.
    Canary10Percent15Minutes,
    /// `CodeDeployDefault.*Linear10PercentEvery1Minute`: +10 % every minute.
    Linear10PercentEvery1Minute,
    /// `CodeDeployDefault.*Linear10PercentEvery3Minutes`.
    Linear10PercentEvery3Minutes,
    /// `CodeDeployDefault.*AllAtOnce`.
    AllAtOnce,
}

/// An in-place deployment, with CodeDeploy's lifecycle per instance: BlockTraffic
/// (deregistered; requests still in service get `block_traffic` to finish), ApplicationStop,
/// install and ApplicationStart (`install`), then the application boots and must pass its
/// readiness probe within `validate_timeout` (ValidateService) to be registered again
/// (AllowTraffic). The instance keeps its host: its configuration drift stays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InPlaceSpec {
    /// How many instances at a time, and when the deployment counts as succeeded.
    pub config: InPlaceConfig,
    /// Deregistration delay before the process is stopped. Default `"10s"`.
    pub block_traffic: Duration,
    /// ApplicationStop + DownloadBundle + Install + ApplicationStart. Default `"30s"`.
    pub install: Duration,
    /// Time from the stop until the instance must be ready again, else its deployment
    /// failed. Default `"5m"`.
    pub validate_timeout: Duration,
    /// CloudWatch alarms, as an analysis of the updated instances; a failure stops the
    /// deployment. Default `None`.
    pub alarms: Option<AnalysisSpec>,
    /// Redeploy the last good revision when the deployment fails (CodeDeploy's automatic
    /// rollback, itself an in-place deployment). Default `true`.
    pub auto_rollback: bool,
}

impl Default for InPlaceSpec {
    fn default() -> Self {
        InPlaceSpec {
            config: InPlaceConfig::OneAtATime,
            block_traffic: Duration::secs(10),
            install: Duration::secs(30),
            validate_timeout: Duration::secs(300),
            alarms: None,
            auto_rollback: true,
        }
    }
}

/// CodeDeploy's deployment configurations for in-place deployments ("Working with
/// deployment configurations in CodeDeploy"; the `MinimumHealthyHosts` API reference).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum InPlaceConfig {
    /// `CodeDeployDefault.OneAtATime`: one instance at a time; fails as soon as any but the
    /// last instance fails.
    #[default]
    OneAtATime,
    /// `CodeDeployDefault.HalfAtATime` (`FLEET_PERCENT` 50): up to half (rounded down) at a
    /// time; succeeds if at least half (rounded up) succeed.
    HalfAtATime,
    /// `CodeDeployDefault.AllAtOnce` (`HOST_COUNT` 0): all at once; succeeds if at least one
    /// instance succeeds.
    AllAtOnce,
    /// `HOST_COUNT`: keep this many healthy; deploy to the rest at a time.
    HostCount(u32),
    /// `FLEET_PERCENT`: keep `ceil(n × p / 100)` healthy.
    FleetPercent(Percent),
}

// ----- feature toggle, A/B, shadow --------------------------------------------------

/// Ship the new code dark with a deployment strategy, then ramp a flag.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureToggleSpec {
    /// How the (dark) build is deployed. Default `Rolling()`.
    pub deploy: Box<StrategySpec>,
    /// The flag guarding the new code path; its rules at the start (default: none, off).
    pub flag: flags::Flag,
    /// The ramp, applied in order once the build is out.
    pub ramp: Vec<RampStep>,
    /// Background analysis of the new code path while the flag is on; failure flips the
    /// kill switch.
    pub analysis: Option<AnalysisSpec>,
}

impl Default for FeatureToggleSpec {
    fn default() -> Self {
        FeatureToggleSpec {
            deploy: Box::new(StrategySpec::Rolling(RollingSpec::default())),
            flag: flags::Flag { name: "new-code".into(), enabled: true, rules: Vec::new() },
            ramp: vec![
                RampStep::Percent(Percent(1.0)),
                RampStep::Pause(Duration::secs(300)),
                RampStep::Percent(Percent(10.0)),
                RampStep::Pause(Duration::secs(300)),
                RampStep::Percent(Percent(50.0)),
                RampStep::Pause(Duration::secs(300)),
                RampStep::Percent(Percent(100.0)),
            ],
            analysis: None,
        }
    }
}

/// One step of a flag ramp.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum RampStep {
    /// Add a rule to the flag (e.g. `Enable(Segments(["internal"]))`).
    Enable(flags::FlagRule),
    /// Set the flag's percentage rollout (adds one if it has none).
    Percent(Percent),
    Pause(Duration),
    PauseUntilPromoted,
    Analysis(AnalysisSpec),
}

/// An A/B experiment: users are assigned sticky variants; the first is the control,
/// the others run the new code.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AbTestSpec {
    /// How the build with the variants is deployed (dark). Default `Rolling()`.
    pub deploy: Box<StrategySpec>,
    pub variants: Vec<AbVariant>,
    /// Conversion probability per session of the control. Default 0.05.
    pub base_conversion: Probability,
    /// How long the experiment runs once the build is out. Default `"30m"`.
    pub duration: Duration,
    /// Significance level. Default 0.05.
    pub alpha: Probability,
    /// Power for the sample-size estimate. Default 0.8.
    pub power: Probability,
    /// Smallest relative lift worth detecting, for the sample-size estimate. Default 0.1.
    pub min_detectable_effect: Factor,
}

impl Default for AbTestSpec {
    fn default() -> Self {
        AbTestSpec {
            deploy: Box::new(StrategySpec::Rolling(RollingSpec::default())),
            variants: vec![
                AbVariant { name: "control".into(), weight: Factor(1.0), lift: 0.0, tracking_loss: Probability(0.0) },
                AbVariant { name: "treatment".into(), weight: Factor(1.0), lift: 0.0, tracking_loss: Probability(0.0) },
            ],
            base_conversion: Probability(0.05),
            duration: Duration::secs(1800),
            alpha: Probability(0.05),
            power: Probability(0.8),
            min_detectable_effect: Factor(0.1),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AbVariant {
    pub name: String,
    /// Relative share of users. Default 1.
    #[serde(default = "unit_factor")]
    pub weight: Factor,
    /// True relative lift of the conversion probability over the control, e.g. 0.05.
    #[serde(default)]
    pub lift: f64,
    /// Share of this variant's users whose events are lost (a broken split: causes a
    /// sample-ratio mismatch). Default 0.
    #[serde(default)]
    pub tracking_loss: Probability,
}

fn unit_factor() -> Factor {
    Factor(1.0)
}

/// Mirror traffic to the new version, responses discarded; then switch.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ShadowSpec {
    /// Instances of the new version receiving the mirror; default: the full replica count.
    pub replicas: Option<Int<1, 10_000>>,
    /// Share of requests mirrored. Default 100.
    pub mirror: Percent,
    /// How long to shadow. Default `"10m"`.
    pub duration: Duration,
    /// Analysis of the shadow's responses; failure ends the shadow without exposure.
    /// After a clean shadow, all traffic moves to the new version at once.
    pub analysis: Option<AnalysisSpec>,
}

impl Default for ShadowSpec {
    fn default() -> Self {
        ShadowSpec { replicas: None, mirror: Percent(100.0), duration: Duration::secs(600), analysis: None }
    }
}

impl std::fmt::Display for CanaryStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CanaryStep::SetWeight(p) => write!(f, "set weight {} %", p.0),
            CanaryStep::Pause(d) => write!(f, "pause {d}"),
            CanaryStep::PauseUntilPromoted => write!(f, "pause until promoted"),
            CanaryStep::SetCanaryScale(s) => match (s.replicas, s.weight, s.match_traffic_weight) {
                (_, _, true) => write!(f, "canary scale: match traffic weight"),
                (Some(r), _, _) => write!(f, "canary scale: {} replicas", r.0),
                (None, Some(w), _) => write!(f, "canary scale: {} % of replicas", w.0),
                (None, None, false) => write!(f, "canary scale: unchanged"),
            },
            CanaryStep::Analysis(a) => {
                write!(f, "analysis: {} × {}", a.count.map_or("∞".to_string(), |c| c.0.to_string()), a.interval)
            }
        }
    }
}

impl std::fmt::Display for RampStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use flags::FlagRule;
        match self {
            RampStep::Enable(FlagRule::Users(u)) => write!(f, "turn on for {} listed users", u.len()),
            RampStep::Enable(FlagRule::Segments(s)) => write!(f, "turn on for segment {}", s.join(", ")),
            RampStep::Enable(FlagRule::Percentage(p)) => write!(f, "turn on for {} % of users", p.percent.0),
            RampStep::Enable(FlagRule::Everyone) => write!(f, "turn on for everyone"),
            RampStep::Percent(p) => write!(f, "percentage rollout {} %", p.0),
            RampStep::Pause(d) => write!(f, "pause {d}"),
            RampStep::PauseUntilPromoted => write!(f, "pause until promoted"),
            RampStep::Analysis(a) => {
                write!(f, "analysis: {} × {}", a.count.map_or("∞".to_string(), |c| c.0.to_string()), a.interval)
            }
        }
    }
}
