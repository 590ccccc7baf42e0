//! The `topology` section of a scenario file: services, their call graph, API and schema
//! contracts of their versions, the database, the deployment plan and faults.
//!
//! Plain data with documented defaults (`deny_unknown_fields` everywhere); the cross-field
//! checks are in [`super::check`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod check;

use crate::scenario::{Duration, ExponentialLatency, Factor, Int, LatencyDist, LogNormalLatency, Probability, Rps};

/// A multi-service system. When a scenario has one, `deploysim run` runs it with the
/// topology engine; the single-service sections (`service`, `fleet`, ...) are ignored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// The service user requests enter. Required.
    #[serde(default)]
    pub front: String,
    pub services: Vec<ServiceSpec>,
    /// Caller → callee edges. A service calls its dependencies one after another, in the
    /// order they are listed here, after its own work.
    #[serde(default)]
    pub calls: Vec<CallSpec>,
    /// The database the services with `database: true` query.
    #[serde(default)]
    pub database: Option<DatabaseSpec>,
    /// The deployment plan. Default: none (nothing changes).
    #[serde(default)]
    pub plan: Option<PlanSpec>,
    /// Scheduled faults.
    #[serde(default)]
    pub faults: Vec<TopologyFault>,
}

/// One service: identical replicas, each with `concurrency` slots and a FIFO queue.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    /// Instances. Default 3.
    #[serde(default = "default_replicas")]
    pub replicas: Int<1, 1000>,
    /// Requests one instance works on at once (a slot is held for the whole visit,
    /// including the calls it makes, as a thread-per-request server does). Default 8.
    #[serde(default = "default_concurrency")]
    pub concurrency: Int<1, 10_000>,
    /// Requests an instance holds waiting; a full queue rejects at once. Default 100.
    #[serde(default = "default_queue")]
    pub queue: Int<0, 1_000_000>,
    /// The service's own work per request. Default `LogNormal(median: "20ms", p99: "100ms")`.
    #[serde(default = "default_latency")]
    pub latency: LatencyDist,
    /// Error probability of its own work. Default 0.
    #[serde(default)]
    pub error_rate: Probability,
    /// Time from the start of a deployment (or rollback) of this service until its new
    /// version serves (a batch of a rolling switch takes this long, too). Default `"20s"`.
    #[serde(default = "default_boot")]
    pub boot: Duration,
    /// Each request makes one query to `topology.database` after its own work. Default false.
    #[serde(default)]
    pub database: bool,
    /// Its versions; the first one runs at the start. Default: one version `v1` with no
    /// contracts.
    #[serde(default = "default_versions")]
    pub versions: Vec<VersionSpec>,
    /// What runs it: `Instances` (the default: `replicas` instances with `concurrency`
    /// slots and a `queue` each) or `Functions(...)` (execution environments with cold
    /// starts and pay per use; `replicas`, `concurrency` and `queue` do not apply, and
    /// `boot` is the time a deployment takes to move the alias).
    #[serde(default)]
    pub backend: Backend,
}

/// What runs a service of a graph.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub enum Backend {
    #[default]
    Instances,
    Functions(crate::scenario::serverless::FunctionSpec),
}

fn default_replicas() -> Int<1, 1000> {
    Int(3)
}
fn default_concurrency() -> Int<1, 10_000> {
    Int(8)
}
fn default_queue() -> Int<0, 1_000_000> {
    Int(100)
}
fn default_latency() -> LatencyDist {
    LatencyDist::LogNormal(LogNormalLatency { median: Duration::millis(20), p99: Duration::millis(100) })
}
fn default_boot() -> Duration {
    Duration::secs(20)
}
fn default_versions() -> Vec<VersionSpec> {
    vec![VersionSpec {
        name: "v1".into(),
        provides: Vec::new(),
        requires: BTreeMap::new(),
        min_schema: None,
        max_schema: None,
        error_rate: Probability(0.0),
        latency_factor: Factor(1.0),
    }]
}

/// A version of a service and its contracts.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionSpec {
    pub name: String,
    /// API versions it serves, e.g. `["1", "2"]`. A version that provides none serves
    /// every caller (no contract).
    #[serde(default)]
    pub provides: Vec<String>,
    /// The API version it needs from each dependency, e.g. `{"payments": "2"}`. A call
    /// to an instance whose version does not provide it fails at once (a contract
    /// error, like a 400/404 from a changed API) and is not retried.
    #[serde(default)]
    pub requires: BTreeMap<String, String>,
    /// The schema its code is written against (it needs at least this level, and fails
    /// once a contract or breaking migration has removed what it uses). Needs
    /// `database: true`. Default: no schema needs.
    #[serde(default)]
    pub min_schema: Option<Int<0, 1_000_000>>,
    /// The highest schema level it works with. Default: no upper limit.
    #[serde(default)]
    pub max_schema: Option<Int<0, 1_000_000>>,
    /// Extra error probability of its own work. Default 0.
    #[serde(default)]
    pub error_rate: Probability,
    /// Its own work takes this factor longer. Default 1.
    #[serde(default = "one")]
    pub latency_factor: Factor,
}

fn one() -> Factor {
    Factor(1.0)
}

/// A caller → callee edge.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    pub from: String,
    pub to: String,
    /// Per attempt, from sending it until the answer. Default `None` (wait).
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Retries after a failed attempt (error, rejection, timeout; not a contract error).
    /// Default 0, at most 10.
    #[serde(default = "no_retries")]
    pub retries: Int<0, 10>,
    /// Wait before retry k: `backoff × 2^(k−1)` (no jitter). Default `"0s"`.
    #[serde(default)]
    pub backoff: Duration,
    /// A retry budget for this edge. Default: none (every failed attempt is retried).
    #[serde(default)]
    pub budget: Option<RetryBudget>,
    /// The caller's request fails when this call fails (after its retries). Default true;
    /// false: the call is optional and its failure is ignored.
    #[serde(default = "yes")]
    pub required: bool,
}

fn no_retries() -> Int<0, 10> {
    Int(0)
}

fn yes() -> bool {
    true
}

/// A retry budget after Finagle's `RetryBudget(ttl, minRetriesPerSec, percentCanRetry)`
/// (defaults 10 s, 10, 0.2) and Envoy's `retry_budget.budget_percent` (default 20 %).
///
/// Simplification: the budget counts in tumbling windows of `window` (Finagle expires each
/// deposit after `ttl`, a sliding window): in every window, retries ≤
/// `ratio × first attempts + min_per_sec × window`. Over a run with `K` windows this gives
/// the exact bound `retries ≤ ratio × calls + min_per_sec × window × K`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryBudget {
    /// Share of first attempts that may be retried. Default 0.2.
    #[serde(default = "default_ratio")]
    pub ratio: Probability,
    /// Retries per second always allowed. Default 10.
    #[serde(default = "default_min_rps")]
    pub min_per_sec: Rps,
    /// Default `"10s"`.
    #[serde(default = "default_window")]
    pub window: Duration,
}

fn default_ratio() -> Probability {
    Probability(0.2)
}
fn default_min_rps() -> Rps {
    Rps(10.0)
}
fn default_window() -> Duration {
    Duration::secs(10)
}

/// The database: `capacity` concurrent queries and a FIFO queue; a full queue fails the
/// query (and so the request).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// Schema level at the start. Default 1.
    #[serde(default = "default_schema")]
    pub schema: Int<0, 1_000_000>,
    /// Concurrent queries. Default 50.
    #[serde(default = "default_db_capacity")]
    pub capacity: Int<1, 100_000>,
    /// Queries waiting. Default 100.
    #[serde(default = "default_queue")]
    pub queue: Int<0, 1_000_000>,
    /// Time of one query. Default `Exponential(mean: "5ms")`.
    #[serde(default = "default_db_latency")]
    pub latency: LatencyDist,
}

fn default_schema() -> Int<0, 1_000_000> {
    Int(1)
}
fn default_db_capacity() -> Int<1, 100_000> {
    Int(50)
}
fn default_db_latency() -> LatencyDist {
    LatencyDist::Exponential(ExponentialLatency { mean: Duration::millis(5) })
}

/// The deployment plan: steps run one after another from `at`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSpec {
    pub at: Duration,
    pub steps: Vec<PlanStep>,
    /// Roll back automatically while the plan runs. Default: never.
    #[serde(default)]
    pub auto_rollback: Option<AutoRollback>,
    /// What a canary's failed analysis rolls back besides the canary itself, e.g. the
    /// services the plan deployed before it. Default: nothing; the plan stops.
    #[serde(default)]
    pub on_abort: Option<RollbackSpec>,
}

/// A step of the plan.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum PlanStep {
    /// `Deploy(order: OneAtATime, switch: Instant, bake: "1m", to: {"payments": "v2"})`.
    Deploy(DeploySpec),
    /// `Wait("2m")`.
    Wait(Duration),
    /// An additive migration: `Expand(to: 2)`. Code written for older levels keeps working.
    Expand(Migration),
    /// The second half of expand/contract: `Contract(to: 3)` removes what the levels before
    /// the current one used, so code written for an older level than the current one fails.
    Contract(Migration),
    /// A migration that changes structures in place: `Breaking(to: 2)`. Code written for
    /// any level below `to` fails.
    Breaking(Migration),
    /// Revert code (never the schema): `Rollback(order: Reverse, services: ["orders"])`.
    Rollback(RollbackSpec),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploySpec {
    /// Default `OneAtATime`.
    #[serde(default)]
    pub order: Order,
    /// Default `Instant`.
    #[serde(default)]
    pub switch: SwitchSpec,
    /// Wait between services (one at a time). Default `"0s"`.
    #[serde(default)]
    pub bake: Duration,
    /// Service → target version.
    pub to: BTreeMap<String, String>,
}

/// In what order the services of a deployment switch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Order {
    /// Every service starts at the same moment (each is live after its own `boot`).
    BigBang,
    /// One service after another in dependency order: callees before callers.
    #[default]
    OneAtATime,
}

/// How one service's replicas move to the new version.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum SwitchSpec {
    /// All replicas switch `boot` after the service's deployment starts.
    #[default]
    Instant,
    /// `batch` replicas at a time, each batch `boot` after the previous one.
    Rolling(RollingSwitch),
    /// An Argo Rollouts canary of this service, with the same steps and analysis as a
    /// single service's `Canary` strategy: `Canary(steps: [SetWeight(20), Pause("1m")],
    /// analysis: Some((interval: "30s", checks: [SuccessRate(0.99)])))`.
    ///
    /// In a graph the services talk through a mesh, so the canary has a traffic router
    /// (Argo's `trafficRouting`): each call to the service goes to the canary with the
    /// step's weight, and the canary runs `ceil(weight × replicas)` extra instances (or
    /// what `SetCanaryScale` says), each ready `boot` after it starts; a new weight takes
    /// effect once its instances are ready. The analysis measures the calls the canary's
    /// instances answered (any failure they return counts, a dependency's included). On
    /// promotion the stable replicas switch to the new version `boot` later and the
    /// canary's instances go away; on Failed or Error the weight returns to 0 at once, the
    /// canary's instances go `abort_scale_down_delay` later and the plan stops (or runs
    /// the plan's `on_abort`). An Inconclusive analysis or `PauseUntilPromoted` pauses the
    /// canary for the rest of the run (a graph's plan takes no commands). `max_surge` and
    /// Kayenta checks do not apply (no replica-count weights, no baseline pool).
    Canary(crate::scenario::CanarySpec),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollingSwitch {
    pub batch: Int<1, 10_000>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Migration {
    pub to: Int<0, 1_000_000>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RollbackSpec {
    /// Default `AllAtOnce`.
    pub order: RollbackOrder,
    /// Default `Instant`.
    pub switch: SwitchSpec,
    /// Wait between services (reverse order). Default `"0s"`.
    pub bake: Duration,
    /// Services to revert; default: every service the plan deployed.
    pub services: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RollbackOrder {
    /// Every service reverts at the same moment.
    #[default]
    AllAtOnce,
    /// One at a time, the reverse of the order they were deployed in.
    Reverse,
}

/// Roll back when the users' failure ratio over the last `window` reaches `error_rate`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoRollback {
    pub error_rate: Probability,
    /// Default `"30s"`.
    #[serde(default = "default_rb_window")]
    pub window: Duration,
    /// Fewer user requests than this in the window never trigger. Default 10.
    #[serde(default = "default_min_requests")]
    pub min_requests: Int<0, 1_000_000_000>,
    #[serde(default)]
    pub rollback: RollbackSpec,
}

fn default_rb_window() -> Duration {
    Duration::secs(30)
}
fn default_min_requests() -> Int<0, 1_000_000_000> {
    Int(10)
}

/// A fault from `at` for `duration`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyFault {
    pub at: Duration,
    pub duration: Duration,
    pub fault: FaultKind,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FaultKind {
    /// The service answers every call with an error at once: `Down("payments")`.
    Down(String),
    /// The service's own work takes `factor` times longer: `Slow(service: "payments", factor: 5)`.
    Slow(SlowFault),
    /// Every database query takes `factor` times longer: `DbOverload(4)`.
    DbOverload(Factor),
    /// `count` of the service's replicas (picked at random among those running) crash at
    /// `at`: the calls they hold fail at once, and each restarts and serves again
    /// `duration` later (the restart and its boot): `Crash(service: "payments", count: 2)`.
    Crash(CrashFault),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashFault {
    pub service: String,
    /// Default 1.
    #[serde(default = "one_instance")]
    pub count: Int<1, 10_000>,
}

fn one_instance() -> Int<1, 10_000> {
    Int(1)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowFault {
    pub service: String,
    pub factor: Factor,
}
