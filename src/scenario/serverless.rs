//! The `serverless` section of a scenario file: a function instead of a fleet.
//!
//! Plain data with documented defaults, checked while parsed (the scalar types of
//! `scenario::values`) and across fields in `scenario::load::check_scenario`.

use serde::{Deserialize, Serialize};

use crate::des::time::Time;
use crate::scenario::{Duration, Int, LatencyDist, Percent, Probability};

/// A function behind a weighted alias, deployed with AWS CodeDeploy.
///
/// Defaults are the documented AWS Lambda prices for x86 in us-east-1
/// (<https://aws.amazon.com/lambda/pricing/>: $0.20 per 1M requests, $0.0000166667 per
/// GB-second) and 512 MB of memory.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerlessSpec {
    /// Memory of the function in MB (Lambda allows 128 to 10240). Default 512.
    pub memory_mb: Int<128, 10_240>,
    /// Most requests in flight at once, over both versions: the function's reserved
    /// concurrency. Above it requests are throttled (429 `TooManyRequestsException`).
    /// Default 1000 (Lambda's default concurrency quota per account and Region).
    pub concurrency_limit: Int<1, 100_000>,
    /// Duration of the INIT phase of a new execution environment (the cold start).
    /// Default `LogNormal(median: "250ms", p99: "1s")`.
    pub init: LatencyDist,
    /// An idle execution environment is shut down after this long (scale to zero).
    /// Lambda does not document the time; the default `"10m"` is a common observation.
    pub idle_timeout: Duration,
    /// Bill the INIT phase of cold starts as duration (true since 1 August 2025 for
    /// every on-demand function). Default true.
    pub bill_init: bool,
    /// Price of one million requests. Default 0.20.
    pub price_per_million_requests: f64,
    /// Price of one GB-second of billed duration. Default 0.0000166667.
    pub price_per_gb_second: f64,
    /// How the alias moves from version 1 to version 2 once `release.at` comes.
    /// Default `AllAtOnce`.
    pub deployment: LambdaDeployment,
    /// A CloudWatch-style alarm on the new version's error rate watched while traffic
    /// shifts; when it fires the deployment rolls back. Default `None`.
    pub alarm: Option<ErrorRateAlarm>,
}

impl Default for ServerlessSpec {
    fn default() -> Self {
        let f = FunctionSpec::default();
        ServerlessSpec {
            memory_mb: f.memory_mb,
            concurrency_limit: f.concurrency_limit,
            init: f.init,
            idle_timeout: f.idle_timeout,
            bill_init: f.bill_init,
            price_per_million_requests: f.price_per_million_requests,
            price_per_gb_second: f.price_per_gb_second,
            deployment: LambdaDeployment::AllAtOnce,
            alarm: None,
        }
    }
}

impl ServerlessSpec {
    /// The function model of this section (without its deployment).
    pub fn function(&self) -> FunctionSpec {
        FunctionSpec {
            memory_mb: self.memory_mb,
            concurrency_limit: self.concurrency_limit,
            init: self.init.clone(),
            idle_timeout: self.idle_timeout,
            bill_init: self.bill_init,
            price_per_million_requests: self.price_per_million_requests,
            price_per_gb_second: self.price_per_gb_second,
        }
    }
}

/// A service of a graph backed by functions (`backend: Functions(memory_mb: 1024)`):
/// the execution-environment model of a `serverless` section — one request per
/// environment, a cold start (`init`) for each new one, `concurrency_limit` in flight
/// (above it calls are throttled), environments shut down after `idle_timeout`, and pay
/// per use — deployed by the graph's plan through a weighted alias. The fields and
/// defaults are those of [`ServerlessSpec`]. Billed duration runs from the start of the
/// environment's work to its answer, the calls the function makes included (Lambda bills
/// the wall-clock time of an invocation).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FunctionSpec {
    pub memory_mb: Int<128, 10_240>,
    pub concurrency_limit: Int<1, 100_000>,
    pub init: LatencyDist,
    pub idle_timeout: Duration,
    pub bill_init: bool,
    pub price_per_million_requests: f64,
    pub price_per_gb_second: f64,
}

impl Default for FunctionSpec {
    fn default() -> Self {
        FunctionSpec {
            memory_mb: Int(512),
            concurrency_limit: Int(1000),
            init: LatencyDist::LogNormal(crate::scenario::LogNormalLatency {
                median: Duration::millis(250),
                p99: Duration::millis(1000),
            }),
            idle_timeout: Duration::secs(600),
            bill_init: true,
            price_per_million_requests: 0.20,
            price_per_gb_second: 0.000_016_666_7,
        }
    }
}

/// AWS CodeDeploy deployment configurations for the Lambda compute platform
/// (CodeDeploy user guide, "Working with deployment configurations in CodeDeploy",
/// <https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html>,
/// section "Deployment configurations on an AWS Lambda compute platform"): the predefined
/// `CodeDeployDefault.Lambda*` configurations and the two custom kinds
/// (`TimeBasedCanary`, `TimeBasedLinear`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum LambdaDeployment {
    /// `CodeDeployDefault.LambdaAllAtOnce`: all traffic at once.
    AllAtOnce,
    /// `CodeDeployDefault.LambdaCanary10Percent5Minutes`.
    Canary10Percent5Minutes,
    /// `CodeDeployDefault.LambdaCanary10Percent10Minutes`.
    Canary10Percent10Minutes,
    /// `CodeDeployDefault.LambdaCanary10Percent15Minutes`.
    Canary10Percent15Minutes,
    /// `CodeDeployDefault.LambdaCanary10Percent30Minutes`.
    Canary10Percent30Minutes,
    /// `CodeDeployDefault.LambdaLinear10PercentEvery1Minute`.
    Linear10PercentEvery1Minute,
    /// `CodeDeployDefault.LambdaLinear10PercentEvery2Minutes`.
    Linear10PercentEvery2Minutes,
    /// `CodeDeployDefault.LambdaLinear10PercentEvery3Minutes`.
    Linear10PercentEvery3Minutes,
    /// `CodeDeployDefault.LambdaLinear10PercentEvery10Minutes`.
    Linear10PercentEvery10Minutes,
    /// A custom `TimeBasedCanary`: `Canary(percent: 20, interval: "15m")` shifts
    /// `percent` first and the rest after `interval`.
    Canary(CustomShift),
    /// A custom `TimeBasedLinear`: `Linear(percent: 25, interval: "2m")` shifts `percent`
    /// more every `interval`.
    Linear(CustomShift),
}

/// `CanaryPercentage`/`CanaryInterval` or `LinearPercentage`/`LinearInterval`.
/// CodeDeploy takes whole minutes; here any interval of at least 1 s is allowed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomShift {
    /// Percentage of traffic per increment, more than 0 and less than 100.
    pub percent: Percent,
    pub interval: Duration,
}

impl LambdaDeployment {
    /// The alias weight of the new version over time: `(offset from the deployment's
    /// start, weight in percent)`, increasing, ending at 100.
    ///
    /// Canary: "traffic is shifted in two increments" — the percentage at once, the rest
    /// after the interval. Linear: "traffic is shifted in equal increments with an equal
    /// number of minutes between each increment" — `p`, `2p`, … at `0`, `interval`, …,
    /// the last increment capped at 100 (10 % every minute reaches 100 % after 9 minutes).
    pub fn schedule(&self) -> Vec<(Time, f64)> {
        let min = |m: u64| Duration::secs(60 * m);
        let (linear, percent, interval) = match self {
            LambdaDeployment::AllAtOnce => return vec![(Time::ZERO, 100.0)],
            LambdaDeployment::Canary10Percent5Minutes => (false, 10.0, min(5)),
            LambdaDeployment::Canary10Percent10Minutes => (false, 10.0, min(10)),
            LambdaDeployment::Canary10Percent15Minutes => (false, 10.0, min(15)),
            LambdaDeployment::Canary10Percent30Minutes => (false, 10.0, min(30)),
            LambdaDeployment::Linear10PercentEvery1Minute => (true, 10.0, min(1)),
            LambdaDeployment::Linear10PercentEvery2Minutes => (true, 10.0, min(2)),
            LambdaDeployment::Linear10PercentEvery3Minutes => (true, 10.0, min(3)),
            LambdaDeployment::Linear10PercentEvery10Minutes => (true, 10.0, min(10)),
            LambdaDeployment::Canary(c) => (false, c.percent.0, c.interval),
            LambdaDeployment::Linear(c) => (true, c.percent.0, c.interval),
        };
        let step = interval.time().as_micros();
        if !linear {
            return vec![(Time::ZERO, percent), (Time::from_micros(step), 100.0)];
        }
        // `percent` is checked to be > 0, so this ends; at most 1e4 increments for 0.01 %.
        let mut out = Vec::new();
        let mut k = 1u64;
        loop {
            let w = (percent * k as f64).min(100.0);
            // Guard against 3 × 33.333… landing a hair under 100.
            let w = if w > 100.0 - 1e-9 { 100.0 } else { w };
            out.push((Time::from_micros(step.saturating_mul(k - 1)), w));
            if w >= 100.0 {
                return out;
            }
            k += 1;
        }
    }

    /// The name CodeDeploy uses (or `Custom…` for custom configurations).
    pub fn name(&self) -> String {
        match self {
            LambdaDeployment::Canary(c) => format!("CustomCanary{}Percent{}", c.percent.0, c.interval),
            LambdaDeployment::Linear(c) => format!("CustomLinear{}PercentEvery{}", c.percent.0, c.interval),
            other => format!("CodeDeployDefault.Lambda{other:?}"),
        }
    }
}

/// A CloudWatch metric alarm on the new version's `Errors / Invocations` with one
/// evaluation period (`Period` = `period`, `EvaluationPeriods` = 1), as a CodeDeploy
/// deployment group's rollback alarm: CodeDeploy stops the deployment and rolls back
/// "when a CloudWatch alarm is activated during the deployment" (CodeDeploy user guide,
/// "Redeploy and roll back a deployment with CodeDeploy").
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ErrorRateAlarm {
    /// The alarm fires when the error rate over a period is above this.
    pub max_error_rate: Probability,
    /// Length of one evaluation period, counted from the deployment's start. Default `"1m"`.
    #[serde(default = "default_period")]
    pub period: Duration,
    /// A period with fewer new-version requests than this is missing data, which does
    /// not fire the alarm (CloudWatch's default `TreatMissingData: missing`). Default 10.
    #[serde(default = "default_min_requests")]
    pub min_requests: Int<1, 1_000_000_000>,
}

fn default_period() -> Duration {
    Duration::secs(60)
}

fn default_min_requests() -> Int<1, 1_000_000_000> {
    Int(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mins(s: &[(Time, f64)]) -> Vec<(f64, f64)> {
        s.iter().map(|(t, w)| (t.as_secs_f64() / 60.0, *w)).collect()
    }

    /// The predefined configurations as the CodeDeploy user guide lists them.
    #[test]
    fn predefined_schedules_follow_codedeploy() {
        assert_eq!(mins(&LambdaDeployment::AllAtOnce.schedule()), vec![(0.0, 100.0)]);
        assert_eq!(mins(&LambdaDeployment::Canary10Percent5Minutes.schedule()), vec![(0.0, 10.0), (5.0, 100.0)]);
        assert_eq!(mins(&LambdaDeployment::Canary10Percent30Minutes.schedule()), vec![(0.0, 10.0), (30.0, 100.0)]);
        let lin = mins(&LambdaDeployment::Linear10PercentEvery1Minute.schedule());
        let expect: Vec<(f64, f64)> = (0..10).map(|k| (k as f64, 10.0 * (k + 1) as f64)).collect();
        assert_eq!(lin, expect);
        let lin10 = mins(&LambdaDeployment::Linear10PercentEvery10Minutes.schedule());
        assert_eq!(lin10.last(), Some(&(90.0, 100.0)));
        assert_eq!(lin10.len(), 10);
    }

    #[test]
    fn custom_linear_caps_the_last_increment() {
        let d = LambdaDeployment::Linear(CustomShift { percent: Percent(30.0), interval: Duration::secs(120) });
        assert_eq!(mins(&d.schedule()), vec![(0.0, 30.0), (2.0, 60.0), (4.0, 90.0), (6.0, 100.0)]);
        let third =
            LambdaDeployment::Linear(CustomShift { percent: Percent(100.0 / 3.0), interval: Duration::secs(60) });
        assert_eq!(third.schedule().len(), 3);
    }
}
