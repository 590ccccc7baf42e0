//! Reading a scenario file: RON parsing with the path of the failing field, semantic
//! checks, limits, and the trace CSV of a `Trace` rate profile.

use std::path::Path;

use ron::extensions::Extensions;
use serde::Deserialize;

use super::error::{ScenarioError, ScenarioErrorKind};
use super::source::{self, ReadError, Source};
use super::{LatencyDist, MAX_EXPECTED_REQUESTS, MAX_SIM_DURATION_S, RateProfile, Scenario, StrategySpec};

/// Largest scenario file accepted.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Largest trace CSV accepted.
pub const MAX_TRACE_BYTES: u64 = 16 << 20;

fn options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(Extensions::IMPLICIT_SOME | Extensions::UNWRAP_VARIANT_NEWTYPES)
        .with_recursion_limit(64)
}

/// Reads and checks a scenario file: a path, or the name of a shipped scenario
/// (see [`super::source::find`]).
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    load_source(&source::find(path, source::Kind::Scenario)?)
}

/// Reads and checks a scenario from disk or from the shipped library.
pub fn load_source(src: &Source) -> Result<Scenario, ScenarioError> {
    let file = src.to_string();
    let text = read_source(src, &file, "scenario", MAX_FILE_BYTES)?;
    let mut scenario = parse_str(&file, &text)?;
    load_trace(&mut scenario, src, &file, &text)?;
    Ok(scenario)
}

/// The text of a scenario, lesson or flags file (`what`), at most `limit` bytes.
pub(crate) fn read_source(src: &Source, file: &str, what: &'static str, limit: u64) -> Result<String, ScenarioError> {
    let whole = |kind| ScenarioError::whole(file, kind);
    if let Source::Disk(path) = src {
        let meta = std::fs::metadata(path).map_err(|e| whole(ScenarioErrorKind::Read { reason: e.to_string() }))?;
        if meta.len() > limit {
            return Err(whole(ScenarioErrorKind::TooLarge { what, len: Some(meta.len()), limit }));
        }
    }
    src.read(limit).map_err(|e| match e {
        ReadError::TooLong => whole(ScenarioErrorKind::TooLarge { what, len: None, limit }),
        ReadError::Io(e) => whole(ScenarioErrorKind::Read { reason: e.to_string() }),
        ReadError::NotUtf8(e) => whole(ScenarioErrorKind::NotUtf8(e.utf8_error())),
    })
}

/// Parses and checks scenario text; `file` is used in messages. A `Trace` profile's rows
/// are not read here (see [`load_file`]).
pub fn parse_str(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let scenario: Scenario = from_ron_str(file, text)?;
    check(&scenario).map_err(|(field, message)| ScenarioError::invalid(file, text, field, message))?;
    Ok(scenario)
}

/// serde_path_to_error writes `?` for positions it cannot name; drop them.
fn clean_path(p: &str) -> String {
    if p == "." || p == "?" {
        return String::new();
    }
    p.split('.').filter(|s| *s != "?").collect::<Vec<_>>().join(".")
}

type Check = Result<(), (String, String)>;

fn fail(field: &str, message: impl Into<String>) -> Check {
    Err((field.to_string(), message.into()))
}

/// Checks that involve more than one field, and the size limits; returns the failing
/// field's dotted path and the message.
pub fn check_scenario(s: &Scenario) -> Check {
    check(s)
}

/// Checks that involve more than one field, and the size limits.
fn check(s: &Scenario) -> Check {
    let dur = s.duration.time().as_secs_f64();
    if dur < 1.0 {
        return fail("duration", "must be at least 1s");
    }
    if dur > MAX_SIM_DURATION_S as f64 {
        return fail("duration", format!("must be at most {}d", MAX_SIM_DURATION_S / 86_400));
    }
    let mut share = 0.0;
    for (i, seg) in s.traffic.segments.iter().enumerate() {
        share += seg.share.0;
        if seg.name.is_empty() || seg.name == "default" {
            return fail(&format!("traffic.segments[{i}].name"), "must be a non-empty name other than `default`");
        }
        if s.traffic.segments[..i].iter().any(|o| o.name == seg.name) {
            return fail(&format!("traffic.segments[{i}].name"), format!("segment `{}` is named twice", seg.name));
        }
    }
    if s.traffic.segments.len() > 64 {
        return fail("traffic.segments", "at most 64 segments are allowed");
    }
    if share > 1.0 + 1e-9 {
        return fail("traffic.segments", format!("segment shares add up to {share}, more than 1"));
    }
    if s.traffic.session_gap.time().as_micros() == 0 {
        return fail("traffic.session_gap", "must be longer than 0s");
    }
    match &s.traffic.rate {
        RateProfile::Diurnal(d) => {
            if d.peak_to_trough.0 < 1.0 {
                return fail("traffic.rate.peak_to_trough", format!("must be at least 1, got {}", d.peak_to_trough.0));
            }
            if d.period.time().as_secs_f64() < 1.0 {
                return fail("traffic.rate.period", "must be at least 1s");
            }
        }
        RateProfile::Ramp(r) if r.end <= r.start => {
            return fail("traffic.rate.end", "must be later than `start`");
        }
        _ => {}
    }
    if let Some(a) = &s.autoscaler {
        check_autoscaler(a)?;
    }
    let expected = s.traffic.rate.mean_rps(dur) * dur;
    if expected > MAX_EXPECTED_REQUESTS {
        return fail(
            "traffic.rate",
            format!(
                "this rate over {} would make about {expected:.3e} requests; the limit is {MAX_EXPECTED_REQUESTS:.0e} per run",
                s.duration
            ),
        );
    }
    check_latency(&s.service.latency, "service.latency")?;
    if let Some(t) = s.service.timeout
        && t.time().as_micros() == 0
    {
        return fail("service.timeout", "must be longer than 0s (or `None` for no timeout)");
    }
    if s.fleet.readiness.period.time().as_micros() == 0 {
        return fail("fleet.readiness.period", "must be longer than 0s");
    }
    if let Some(m) = s.fleet.mtbf
        && m.time().as_secs_f64() < 1.0
    {
        return fail("fleet.mtbf", "must be at least 1s");
    }
    if s.slo.window.time().as_secs_f64() < 1.0 {
        return fail("slo.window", "must be at least 1s");
    }
    if s.commands.len() > 10_000 {
        return fail("commands", "at most 10000 commands are allowed");
    }
    if s.faults.len() > 10_000 {
        return fail("faults", "at most 10000 scheduled faults are allowed");
    }
    for (i, f) in s.faults.iter().enumerate() {
        check_fault(s, &format!("faults[{i}].fault"), &f.fault)?;
    }
    if let super::StrategySpec::InPlace(p) = &s.strategy {
        if s.autoscaler.is_some() {
            return fail(
                "autoscaler",
                "an in-place deployment updates the hosts it starts with; it cannot run with an autoscaler",
            );
        }
        let n = s.fleet.replicas.0 as u32;
        if let super::InPlaceConfig::HostCount(h) = p.config
            && h >= n
        {
            return fail(
                "strategy.config",
                format!("HostCount({h}) keeps every one of the {n} instances healthy, so none can be updated"),
            );
        }
        if let super::InPlaceConfig::FleetPercent(pct) = p.config
            && (n as f64 * pct.0 / 100.0).ceil() as u32 >= n
        {
            return fail(
                "strategy.config",
                format!("FleetPercent({}) keeps every one of the {n} instances healthy, so none can be updated", pct.0),
            );
        }
        if p.validate_timeout.time() == crate::des::time::Time::ZERO {
            return fail("strategy.validate_timeout", "must be longer than 0s");
        }
    }
    if s.random_faults.len() > 1000 {
        return fail("random_faults", "at most 1000 random faults are allowed");
    }
    for (i, r) in s.random_faults.iter().enumerate() {
        let path = format!("random_faults[{i}]");
        if r.mtbf.as_secs_f64() < 1.0 {
            return fail(&format!("{path}.mtbf"), "must be at least 1s");
        }
        let until = r.until.unwrap_or(s.duration).min(s.duration);
        if r.from >= until {
            return fail(&format!("{path}.from"), format!("must be earlier than `until` or the duration ({until})"));
        }
        let expected = (until.as_secs_f64() - r.from.as_secs_f64()) / r.mtbf.as_secs_f64();
        if expected > 1000.0 {
            return fail(
                &format!("{path}.mtbf"),
                format!("{expected:.0} expected occurrences; at most 1000 (raise mtbf or shorten the window)"),
            );
        }
        check_fault(s, &format!("{path}.fault"), &r.fault)?;
    }
    if let Some(r) = &s.release {
        if r.version == s.fleet.version {
            return fail("release.version", format!("must differ from the running version `{}`", s.fleet.version));
        }
        if r.defects.len() > 32 {
            return fail("release.defects", "at most 32 defects are allowed");
        }
        if r.at >= s.duration {
            return fail("release.at", format!("must be earlier than the scenario's duration ({})", s.duration));
        }
        for (i, d) in r.defects.iter().enumerate() {
            check_defect(s, d, &format!("release.defects[{i}]"))?;
        }
    } else if s.continuous.is_none() && !matches!(s.strategy, StrategySpec::None) {
        return fail("strategy", format!("strategy `{}` needs a `release` to roll out", s.strategy.name()));
    }
    let kinds = [
        ("serverless", s.serverless.is_some()),
        ("topology", s.topology.is_some()),
        ("continuous", s.continuous.is_some()),
    ];
    let present: Vec<&str> = kinds.iter().filter(|k| k.1).map(|k| k.0).collect();
    if present.len() > 1 {
        return fail(present[1], format!("`{}` and `{}` cannot be combined in one scenario", present[0], present[1]));
    }
    if let Some(t) = &s.topology {
        if s.release.is_some() {
            return fail("release", "a topology scenario is rolled out by `topology.plan`; remove `release`");
        }
        refuse_unmodelled(s, "topology", "; write them in `topology.faults`")?;
        super::topology::check::resolve(s, t)?;
    }
    if let Some(sl) = &s.serverless {
        check_serverless(s, sl)?;
    }
    if let Some(c) = &s.continuous {
        check_continuous(s, c)?;
    }
    Ok(())
}

/// Checks a defect of a release (`field` is its path).
fn check_defect(s: &Scenario, d: &super::Defect, field: &str) -> Check {
    if let super::Defect::SegmentErrors(se) = d
        && !s.traffic.segments.iter().any(|g| g.name == se.segment)
        && se.segment != "default"
    {
        return fail(
            &format!("{field}.segment"),
            format!("unknown segment `{}`; define it in traffic.segments", se.segment),
        );
    }
    if let super::Defect::CrashAfterUptime(u) = d
        && u.time().as_secs_f64() < 1.0
    {
        return fail(field, "mean uptime must be at least 1s");
    }
    Ok(())
}

/// Checks a `continuous` section and what it asks of the rest of the scenario.
fn check_continuous(s: &Scenario, c: &crate::scenario::continuous::ContinuousSpec) -> Check {
    if s.release.is_some() {
        return fail("release", "a continuous scenario draws its releases from `continuous`; remove `release`");
    }
    if !s.faults.is_empty() {
        return fail("faults", "scheduled faults are not supported in a continuous scenario");
    }
    if !s.commands.is_empty() {
        return fail("commands", "scheduled commands are not supported in a continuous scenario");
    }
    if !matches!(s.traffic.rate, RateProfile::Constant(_) | RateProfile::Diurnal(_)) {
        return fail(
            "traffic.rate",
            "a continuous scenario needs a `Constant` or `Diurnal` rate (it repeats over the period)",
        );
    }
    if matches!(s.strategy, StrategySpec::None) && s.compare.is_empty() {
        return fail("continuous", "needs a `strategy` (or a `compare` list) to roll its releases out");
    }
    for (i, v) in s.compare.iter().enumerate() {
        if matches!(v.strategy, StrategySpec::None) {
            return fail(&format!("compare[{i}].strategy"), "`None` never deploys a release; remove it");
        }
    }
    if c.period.time().as_secs_f64() < 3600.0 {
        return fail("continuous.period", "must be at least 1h");
    }
    if c.bad_probability.0 > 0.0 && c.defects.is_empty() {
        return fail(
            "continuous.defects",
            "bad_probability is above 0 but no defects are listed; add e.g. `[(weight: 1, defect: ErrorRate(0.05))]`",
        );
    }
    if c.defects.len() > 32 {
        return fail("continuous.defects", "at most 32 defects are allowed");
    }
    for (i, d) in c.defects.iter().enumerate() {
        check_defect(s, &d.defect, &format!("continuous.defects[{i}].defect"))?;
    }
    check_latency(&c.pipeline, "continuous.pipeline")?;
    if c.alert.window.time().as_secs_f64() < 1.0 {
        return fail("continuous.alert.window", "must be at least 1s");
    }
    // Work bound: every release's window at most `duration` long, for each strategy.
    let releases = c.releases_per_day.0 * c.period.as_secs_f64() / 86_400.0;
    let window = s.duration.as_secs_f64();
    let work = releases * window * s.traffic.rate.mean_rps(window);
    if work > MAX_EXPECTED_REQUESTS {
        return fail(
            "continuous.releases_per_day",
            format!(
                "about {releases:.0} releases with windows of up to {} at this rate could make {work:.3e} requests \
                 per strategy; the limit is {MAX_EXPECTED_REQUESTS:.0e} (shorten `duration` or lower the rate)",
                s.duration
            ),
        );
    }
    Ok(())
}

/// Checks of a `serverless` section and of what the serverless engine does not model.
fn check_serverless(s: &Scenario, sl: &crate::scenario::serverless::ServerlessSpec) -> Check {
    use crate::scenario::serverless::LambdaDeployment;
    if !matches!(s.strategy, StrategySpec::None) {
        return fail("strategy", "a serverless scenario rolls out with `serverless.deployment`; leave `strategy` out");
    }
    refuse_unmodelled(s, "serverless", "")?;
    if let Some(r) = &s.release {
        for (i, d) in r.defects.iter().enumerate() {
            if !matches!(
                d,
                super::Defect::ErrorRate(_) | super::Defect::LatencyFactor(_) | super::Defect::SegmentErrors(_)
            ) {
                return fail(
                    &format!("release.defects[{i}]"),
                    "a serverless release supports only ErrorRate, LatencyFactor and SegmentErrors",
                );
            }
        }
    }
    check_latency(&sl.init, "serverless.init")?;
    if sl.idle_timeout.time().as_micros() == 0 {
        return fail("serverless.idle_timeout", "must be longer than 0s");
    }
    for (field, v) in [
        ("serverless.price_per_million_requests", sl.price_per_million_requests),
        ("serverless.price_per_gb_second", sl.price_per_gb_second),
    ] {
        if !v.is_finite() || !(0.0..=1e6).contains(&v) {
            return fail(field, format!("must be a price from 0 to 1000000, got {v}"));
        }
    }
    if let LambdaDeployment::Canary(c) | LambdaDeployment::Linear(c) = &sl.deployment {
        if !(0.01..100.0).contains(&c.percent.0) {
            return fail(
                "serverless.deployment.percent",
                format!("must be from 0.01 to less than 100 (100 is `AllAtOnce`), got {}", c.percent.0),
            );
        }
        if c.interval.time().as_secs_f64() < 1.0 {
            return fail("serverless.deployment.interval", "must be at least 1s");
        }
    }
    if let Some(a) = &sl.alarm
        && a.period.time().as_secs_f64() < 1.0
    {
        return fail("serverless.alarm.period", "must be at least 1s");
    }
    Ok(())
}

/// The HorizontalPodAutoscaler's own rules (Kubernetes API validation: `minReplicas` ≤
/// `maxReplicas`, a positive target, stabilization windows of 0–3600 s, policy periods of
/// 1–1800 s).
fn check_autoscaler(a: &super::Autoscaler) -> Check {
    if a.min_replicas.0 > a.max_replicas.0 {
        return fail(
            "autoscaler.min_replicas",
            format!("{} is more than max_replicas ({})", a.min_replicas.0, a.max_replicas.0),
        );
    }
    if a.target_utilization.0 <= 0.0 {
        return fail("autoscaler.target_utilization", "must be more than 0 (and at most 1)");
    }
    if a.sync_period.time().as_secs_f64() < 1.0 {
        return fail("autoscaler.sync_period", "must be at least 1s");
    }
    for (name, w) in
        [("scale_down_stabilization", a.scale_down_stabilization), ("scale_up_stabilization", a.scale_up_stabilization)]
    {
        if w.time().as_secs_f64() > 3600.0 {
            return fail(&format!("autoscaler.{name}"), "must be at most 1h (3600 s, as in Kubernetes)");
        }
    }
    for (name, list) in [("scale_up_policies", &a.scale_up_policies), ("scale_down_policies", &a.scale_down_policies)] {
        if list.len() > 16 {
            return fail(&format!("autoscaler.{name}"), "at most 16 policies are allowed");
        }
        for (i, p) in list.iter().enumerate() {
            let secs = p.period().time().as_secs_f64();
            if !(1.0..=1800.0).contains(&secs) {
                return fail(
                    &format!("autoscaler.{name}[{i}].period"),
                    "must be between 1s and 30m (as in Kubernetes)",
                );
            }
        }
    }
    Ok(())
}

/// Reads the CSV of a `Trace` rate profile: lines `seconds,rps` with increasing seconds.
fn load_trace(s: &mut Scenario, src: &Source, file: &str, text: &str) -> Result<(), ScenarioError> {
    let RateProfile::Trace(t) = &mut s.traffic.rate else {
        return Ok(());
    };
    let at_field = |kind| ScenarioError::in_field(file, text, "traffic.rate.file", kind);
    let csv_src = src
        .join(&t.file)
        .map_err(|e| at_field(ScenarioErrorKind::TraceRead { trace: t.file.clone(), reason: e.to_string() }))?;
    let trace = csv_src.to_string();
    let too_large = || at_field(ScenarioErrorKind::TraceTooLarge { trace: trace.clone(), limit: MAX_TRACE_BYTES });
    if let Source::Disk(csv_path) = &csv_src {
        let meta = std::fs::metadata(csv_path)
            .map_err(|e| at_field(ScenarioErrorKind::TraceRead { trace: trace.clone(), reason: e.to_string() }))?;
        if meta.len() > MAX_TRACE_BYTES {
            return Err(too_large());
        }
    }
    let csv = csv_src.read(MAX_TRACE_BYTES).map_err(|e| match e {
        ReadError::TooLong => too_large(),
        ReadError::Io(e) => at_field(ScenarioErrorKind::TraceRead { trace: trace.clone(), reason: e.to_string() }),
        ReadError::NotUtf8(e) => {
            at_field(ScenarioErrorKind::TraceNotUtf8 { trace: trace.clone(), error: e.utf8_error() })
        }
    })?;
    let rows = parse_trace(&csv).map_err(|(line, message)| {
        // The whole row is the span.
        let width = csv.lines().nth(line - 1).map_or(0, |l| l.chars().count());
        ScenarioError {
            end_line: line,
            end_col: 1 + width,
            ..ScenarioError::at(trace.clone(), line, 1, "traffic.rate.file", ScenarioErrorKind::TraceRow(message))
        }
    })?;
    t.rows = rows;
    let dur = s.duration.time().as_secs_f64();
    let expected = s.traffic.rate.mean_rps(dur) * dur;
    if expected > MAX_EXPECTED_REQUESTS {
        return Err(at_field(ScenarioErrorKind::Invalid(format!(
            "the trace's peak rate over {} exceeds the limit of {MAX_EXPECTED_REQUESTS:.0e} requests",
            s.duration
        ))));
    }
    Ok(())
}

/// Parses trace rows; errors carry the 1-based line.
pub(crate) fn parse_trace(csv: &str) -> Result<Vec<(f64, f64)>, (usize, String)> {
    let mut rows: Vec<(f64, f64)> = Vec::new();
    for (i, raw) in csv.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split(',');
        let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err((i + 1, format!("expected `seconds,rps`, got `{line}`")));
        };
        let (Ok(t), Ok(r)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>()) else {
            if rows.is_empty() && i == 0 {
                continue; // a header line
            }
            return Err((i + 1, format!("expected two numbers `seconds,rps`, got `{line}`")));
        };
        if !t.is_finite() || t < 0.0 {
            return Err((i + 1, format!("seconds must be a finite number ≥ 0, got {a}")));
        }
        if !r.is_finite() || !(0.0..=1e6).contains(&r) {
            return Err((i + 1, format!("rps must be from 0 to 1000000, got {b}")));
        }
        if rows.last().is_some_and(|p| t <= p.0) {
            return Err((
                i + 1,
                format!("seconds must increase from row to row, got {t} after {}", rows.last().map_or(0.0, |p| p.0)),
            ));
        }
        if rows.len() >= 1_000_000 {
            return Err((i + 1, "a trace may have at most 1000000 rows".into()));
        }
        rows.push((t, r));
    }
    if rows.is_empty() {
        return Err((1, "the trace has no rows `seconds,rps`".into()));
    }
    Ok(rows)
}

/// Writes a scenario as RON in the same dialect the loader reads (newtype variants
/// unwrapped, `Some` implicit), so that a saved file loads again.
pub fn to_ron_string(s: &Scenario) -> Result<String, ron::Error> {
    let config = ron::ser::PrettyConfig::new()
        .extensions(Extensions::IMPLICIT_SOME | Extensions::UNWRAP_VARIANT_NEWTYPES)
        .struct_names(true);
    options().to_string_pretty(s, config)
}

/// Deserializes any value with this module's RON options (used for lesson and flag files).
pub fn from_ron_str<T: for<'de> Deserialize<'de>>(file: &str, text: &str) -> Result<T, ScenarioError> {
    let mut de =
        ron::Deserializer::from_str_with_options(text, &options()).map_err(|e| ScenarioError::from_ron(file, "", e))?;
    let v = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = clean_path(&e.path().to_string());
        ScenarioError::from_ron(file, path, de.span_error(e.into_inner())).covering_literal(text)
    })?;
    de.end().map_err(|e| ScenarioError::from_ron(file, "", de.span_error(e)))?;
    Ok(v)
}

/// Refuses the instance engine's sections that the `kind` engine does not model:
/// accepting them would do nothing. `faults_instead` ends the message about `faults`.
fn refuse_unmodelled(s: &Scenario, kind: &str, faults_instead: &str) -> Check {
    for (field, empty, instead) in [
        ("faults", s.faults.is_empty(), faults_instead),
        ("random_faults", s.random_faults.is_empty(), ""),
        ("commands", s.commands.is_empty(), ""),
        ("compare", s.compare.is_empty(), ""),
        ("autoscaler", s.autoscaler.is_none(), ""),
    ] {
        if !empty {
            return fail(field, format!("`{field}` is not supported in a {kind} scenario{instead}"));
        }
    }
    Ok(())
}

/// A latency distribution must have a positive scale (and a log-normal a p99 above its
/// median); `field` is its path.
fn check_latency(d: &LatencyDist, field: &str) -> Check {
    match d {
        LatencyDist::Exponential(e) if e.mean.time().as_micros() == 0 => {
            fail(&format!("{field}.mean"), "must be longer than 0s")
        }
        LatencyDist::LogNormal(l) if l.median.time().as_micros() == 0 => {
            fail(&format!("{field}.median"), "must be longer than 0s")
        }
        LatencyDist::LogNormal(l) if l.p99 <= l.median => fail(&format!("{field}.p99"), "must be longer than `median`"),
        _ => Ok(()),
    }
}

/// Checks one fault (scheduled or random) against the scenario it is in.
fn check_fault(s: &Scenario, path: &str, f: &super::Fault) -> Check {
    use super::Fault;
    let positive = |field: &str, d: super::Duration| -> Check {
        if d.time() == crate::des::time::Time::ZERO {
            return fail(&format!("{path}.{field}"), "must be longer than 0s");
        }
        Ok(())
    };
    match f {
        Fault::ZoneOutage(z) => {
            if z.zone.0 >= s.fleet.zones.0 {
                return fail(
                    &format!("{path}.zone"),
                    format!("zone {} does not exist; zones are 0 to {}", z.zone.0, s.fleet.zones.0 - 1),
                );
            }
            positive("duration", z.duration)?;
        }
        Fault::CrashInstances(c) => {
            if let Some(v) = &c.version {
                let known = *v == s.fleet.version || s.release.as_ref().is_some_and(|r| r.version == *v);
                if !known {
                    return fail(&format!("{path}.version"), format!("unknown version `{v}`"));
                }
            }
        }
        Fault::DependencySlow(d) => positive("duration", d.duration)?,
        Fault::DependencyErrors(d) => positive("duration", d.duration)?,
        Fault::DependencyDown(d) => positive("duration", d.duration)?,
        Fault::CrashLoop(c) => positive("duration", c.duration)?,
        Fault::LatencyInjection(l) => {
            positive("delay", l.delay)?;
            positive("duration", l.duration)?;
        }
        Fault::ErrorBursts(b) => {
            positive("burst", b.burst)?;
            positive("gap", b.gap)?;
            positive("duration", b.duration)?;
            let bursts = b.duration.as_secs_f64() / b.burst.as_secs_f64();
            if bursts > super::MAX_BURSTS as f64 {
                return fail(
                    &format!("{path}.burst"),
                    format!("{bursts:.0} bursts fit in the duration; at most {}", super::MAX_BURSTS),
                );
            }
        }
        Fault::BadConfigPush(b) => {
            if let Some(d) = b.duration {
                positive("duration", d)?;
            }
        }
        Fault::ConfigDrift(_) => {}
        Fault::MemoryLeak(m) => {
            if m.mean_uptime.as_secs_f64() < 1.0 {
                return fail(&format!("{path}.mean_uptime"), "must be at least 1s");
            }
            positive("duration", m.duration)?;
        }
        Fault::SegmentBug(b) => {
            let known = b.segment == "default" || s.traffic.segments.iter().any(|g| g.name == b.segment);
            if !known {
                let names: Vec<&str> = s.traffic.segments.iter().map(|g| g.name.as_str()).collect();
                return fail(
                    &format!("{path}.segment"),
                    format!("unknown segment `{}`; known: default, {}", b.segment, names.join(", ")),
                );
            }
            positive("duration", b.duration)?;
        }
        Fault::LoadBug(b) => positive("duration", b.duration)?,
        Fault::DbOverload(d) => positive("duration", d.duration)?,
    }
    Ok(())
}
