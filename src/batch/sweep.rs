//! Sweeps: a grid over scenario parameters addressed by path, e.g.
//! `release.defects[0].ErrorRate=0.01,0.05` or `strategy.steps[0].SetWeight=5,10,25`.
//!
//! A path walks the scenario as its serialised form: fields by name, list entries by
//! `[i]`, and an enum variant's name where the scenario has one (`strategy.Canary.steps`
//! — the variant may also be skipped: `strategy.steps`). Values are numbers, `true` /
//! `false`, or text (`"30s"`, `25%`). Every point is checked like a scenario file.

use serde_json::Value;

use crate::scenario::Scenario;

/// One swept parameter and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub path: String,
    pub values: Vec<String>,
}

/// A `--set` or sweep point that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SweepError {
    /// A `--set` argument that is not `PATH=V1,V2,...` (or has too many values).
    #[error("--set `{arg}`: {problem}")]
    Set { arg: String, problem: &'static str },
    /// A path that does not lead to a value of the scenario.
    #[error("sweep path `{path}`: {error}")]
    Path { path: String, error: PathError },
    /// A point whose scenario does not read back or breaks a rule.
    #[error("sweep point {point}: {reason}")]
    Point { point: String, reason: String },
}

/// Why a sweep path does not lead to a value, with what is there instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("no `{name}` in {}; what is there: {there}", if .within.is_empty() { "the scenario".to_string() } else { format!("`{}`", .within) })]
    NoField { name: String, within: String, there: String },
    #[error("`{walked}` is not a record")]
    NotRecord { walked: String },
    #[error("`[{index}]` in `{path}` is not an index")]
    NotIndex { index: String, path: String },
    #[error("`{walked}` is not a list, so `[{index}]` does not apply; it holds {holds}")]
    NotList { walked: String, index: usize, holds: String },
    #[error("`{walked}` has {len} entries, so `[{index}]` does not exist")]
    OutOfBounds { walked: String, len: usize, index: usize },
}

/// Parses `PATH=V1,V2,...`.
pub fn parse_set(arg: &str) -> Result<Axis, SweepError> {
    let bad = |problem| SweepError::Set { arg: arg.to_string(), problem };
    let (path, values) = arg.split_once('=').ok_or_else(|| bad("write PATH=V1,V2,..."))?;
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
    if path.trim().is_empty() || values.is_empty() {
        return Err(bad("write PATH=V1,V2,..."));
    }
    if values.len() > 1000 {
        return Err(bad("at most 1000 values per parameter"));
    }
    Ok(Axis { path: path.trim().to_string(), values })
}

/// Every combination of the axes' values, the first axis varying slowest.
pub fn grid(axes: &[Axis]) -> Vec<Vec<(String, String)>> {
    let mut points: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for a in axes {
        points = points
            .into_iter()
            .flat_map(|p| {
                a.values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((a.path.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    points
}

fn parse_value(v: &str) -> Value {
    serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()))
}

fn fields(v: &Value) -> String {
    match v {
        Value::Object(m) => m.keys().cloned().collect::<Vec<_>>().join(", "),
        Value::Array(a) => format!("a list of {} entries", a.len()),
        Value::Null => "nothing (the value is not set in this scenario)".into(),
        other => format!("a value ({other})"),
    }
}

/// Sets `path` in a serialised scenario.
fn set_path(root: &mut Value, path: &str, value: Value) -> Result<(), PathError> {
    let mut cur = root;
    let mut walked = String::new();
    for seg in path.split('.') {
        let (name, rest) = seg.split_once('[').map_or((seg, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            let has = matches!(cur, Value::Object(m) if m.contains_key(name));
            if !has {
                // Step through an enum variant's wrapper: {"Canary": {...}}.
                let inner_has = matches!(cur, Value::Object(m) if m.len() == 1
                    && m.values().next().is_some_and(|i| matches!(i, Value::Object(o) if o.contains_key(name))));
                if inner_has && let Value::Object(m) = cur {
                    let key = m.keys().next().cloned().unwrap_or_default();
                    walked = if walked.is_empty() { key.clone() } else { format!("{walked}.{key}") };
                    cur = m.get_mut(&key).ok_or_else(|| PathError::NoField {
                        name: key.clone(),
                        within: walked.clone(),
                        there: String::new(),
                    })?;
                } else {
                    return Err(PathError::NoField { name: name.into(), within: walked, there: fields(cur) });
                }
            }
            walked = if walked.is_empty() { name.to_string() } else { format!("{walked}.{name}") };
            let Value::Object(m) = cur else { return Err(PathError::NotRecord { walked }) };
            cur = m.get_mut(name).ok_or_else(|| PathError::NoField {
                name: name.into(),
                within: walked.clone(),
                there: String::new(),
            })?;
        }
        for idx in rest.split('[').map(|s| s.trim_end_matches(']')).filter(|s| !s.is_empty()) {
            let i: usize =
                idx.parse().map_err(|_| PathError::NotIndex { index: idx.to_string(), path: path.to_string() })?;
            let Value::Array(a) = cur else {
                return Err(PathError::NotList { walked, index: i, holds: fields(cur) });
            };
            let len = a.len();
            cur = a.get_mut(i).ok_or_else(|| PathError::OutOfBounds { walked: walked.clone(), len, index: i })?;
            walked = format!("{walked}[{i}]");
        }
    }
    // A newtype enum variant given a bare value: `steps[0]=25` sets `SetWeight(25)`.
    if let Value::Object(m) = cur
        && m.len() == 1
        && !value.is_object()
        && let Some(inner) = m.values_mut().next()
        && !inner.is_object()
        && !inner.is_array()
    {
        *inner = value;
        return Ok(());
    }
    *cur = value;
    Ok(())
}

/// The scenario with every `(path, value)` set and checked.
pub fn apply(base: &Scenario, sets: &[(String, String)]) -> Result<Scenario, SweepError> {
    let point = || sets.iter().map(|(p, v)| format!("{p}={v}")).collect::<Vec<_>>().join(" ");
    let mut v = serde_json::to_value(base).map_err(|e| SweepError::Point { point: point(), reason: e.to_string() })?;
    for (path, value) in sets {
        set_path(&mut v, path, parse_value(value)).map_err(|error| SweepError::Path { path: path.clone(), error })?;
    }
    let mut s: Scenario =
        serde_json::from_value(v).map_err(|e| SweepError::Point { point: point(), reason: e.to_string() })?;
    if let (crate::scenario::RateProfile::Trace(t), crate::scenario::RateProfile::Trace(b)) =
        (&mut s.traffic.rate, &base.traffic.rate)
    {
        // The rows were read from the base's file; a point naming another file would
        // replay them under the new name.
        if t.file != b.file {
            return Err(SweepError::Point {
                point: point(),
                reason: "a trace file cannot be swept; run each trace as its own batch".into(),
            });
        }
        t.rows = b.rows.clone();
    }
    crate::scenario::check_scenario(&s)
        .map_err(|(field, message)| SweepError::Point { point: point(), reason: format!("{field}: {message}") })?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Scenario {
        crate::scenario::parse_str(
            "t.ron",
            r#"Scenario(name: "t", duration: "10m", release: (at: "1m", defects: [ErrorRate(0.01)]),
               strategy: Canary(steps: [SetWeight(10), Pause("1m")]))"#,
        )
        .expect("test scenario")
    }

    #[test]
    fn paths_reach_fields_list_entries_and_variants() {
        let s = apply(
            &base(),
            &[
                ("fleet.replicas".into(), "7".into()),
                ("release.defects[0].ErrorRate".into(), "0.2".into()),
                ("strategy.steps[0]".into(), "25".into()),
                ("strategy.Canary.steps[1].Pause".into(), "2m".into()),
            ],
        )
        .expect("applies");
        assert_eq!(s.fleet.replicas.0, 7);
        assert!(
            matches!(&s.release.as_ref().map(|r| r.defects[0].clone()), Some(crate::scenario::Defect::ErrorRate(p)) if p.0 == 0.2)
        );
        let crate::scenario::StrategySpec::Canary(c) = &s.strategy else { panic!("canary") };
        assert_eq!(c.steps[0], crate::scenario::CanaryStep::SetWeight(crate::scenario::Percent(25.0)));
        assert_eq!(c.steps[1], crate::scenario::CanaryStep::Pause(crate::scenario::Duration::secs(120)));
    }

    #[test]
    fn missing_paths_say_what_exists_there() {
        let e = apply(&base(), &[("fleet.replicaz".into(), "3".into())]).expect_err("no such field").to_string();
        assert!(e.contains("fleet.replicaz") && e.contains("replicas"), "{e}");
        let e = apply(&base(), &[("release.defects[3].ErrorRate".into(), "0.1".into())])
            .expect_err("out of range")
            .to_string();
        assert!(e.contains("has 1 entries"), "{e}");
        let e = apply(&base(), &[("fleet.replicas".into(), "-4".into())]).expect_err("bad value").to_string();
        assert!(e.contains("fleet.replicas=-4"), "{e}");
    }

    #[test]
    fn grid_is_the_cartesian_product() {
        let axes = vec![
            Axis { path: "a".into(), values: vec!["1".into(), "2".into()] },
            Axis { path: "b".into(), values: vec!["x".into(), "y".into(), "z".into()] },
        ];
        let g = grid(&axes);
        assert_eq!(g.len(), 6);
        assert_eq!(g[1], vec![("a".to_string(), "1".to_string()), ("b".to_string(), "y".to_string())]);
    }
}
