//! Checking a topology and resolving its names to indices.
//!
//! [`resolve`] is the only way from the file's names to the engine's indices, so every
//! name the engine uses was checked. Errors are `(dotted field path, message)`, which the
//! scenario loader turns into `file:line:col: field: message`.

use crate::des::time::Time;
use crate::scenario::{
    AnalysisSpec, CanarySpec, CanaryStep, IntOrPercent, LatencyDist, MAX_EXPECTED_REQUESTS, Scenario,
};

use super::{FaultKind, Order, PlanStep, RollbackOrder, RollbackSpec, SwitchSpec, Topology};

/// Most services in a topology.
pub const MAX_SERVICES: usize = 64;
/// Most versions of one service.
pub const MAX_VERSIONS: usize = 16;
/// Most instances over all services.
pub const MAX_INSTANCES: u64 = 10_000;

/// A checked call edge.
#[derive(Clone, Debug)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub timeout: Option<Time>,
    pub retries: u32,
    pub backoff: Time,
    /// `(ratio, min retries per second, window)`.
    pub budget: Option<(f64, f64, Time)>,
    pub required: bool,
}

/// A checked rollback: services (empty: every deployed one), order, switch, bake.
#[derive(Clone, Debug)]
pub struct Rollback {
    pub services: Vec<usize>,
    pub order: RollbackOrder,
    pub switch: Switch,
    pub bake: Time,
}

/// A checked switch: how one service's replicas move to a version.
#[derive(Clone, Debug)]
pub enum Switch {
    Instant,
    /// Replicas per batch.
    Rolling(u32),
    Canary(CanaryPlan),
}

/// A checked canary of one service (see [`SwitchSpec::Canary`]).
#[derive(Clone, Debug)]
pub struct CanaryPlan {
    pub steps: Vec<CanaryStep>,
    pub analysis: Option<AnalysisSpec>,
    pub analysis_start_step: usize,
    pub abort_scale_down_delay: Time,
}

/// A checked plan step.
#[derive(Clone, Debug)]
pub enum Step {
    Deploy { order: Order, switch: Switch, bake: Time, to: Vec<(usize, u8)> },
    Wait(Time),
    Migrate { kind: MigrationKind, to: u32 },
    Rollback(Rollback),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationKind {
    Expand,
    Contract,
    Breaking,
}

/// A checked fault.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    Down(usize),
    Slow(usize, f64),
    DbOverload(f64),
    /// `(service, count)`.
    Crash(usize, u32),
}

/// The topology with names resolved to indices.
#[derive(Clone, Debug)]
pub struct Model {
    pub names: Vec<String>,
    pub front: usize,
    pub edges: Vec<Edge>,
    /// Edge indices by caller, in file order (the order of its calls).
    pub out: Vec<Vec<usize>>,
    /// Every service, callees before callers (a topological order of the reversed graph;
    /// ties by file order).
    pub order: Vec<usize>,
    /// `compat[edge][caller version][callee version]`: the caller's contract is met.
    pub compat: Vec<Vec<Vec<bool>>>,
    /// `(min_schema, max_schema)` by service and version.
    pub schema: Vec<Vec<(Option<u32>, Option<u32>)>>,
    pub versions: Vec<Vec<String>>,
    pub plan_at: Option<Time>,
    pub steps: Vec<Step>,
    /// `(error rate, window, min requests, rollback)`.
    pub auto_rollback: Option<(f64, Time, u64, Rollback)>,
    /// What an aborted canary rolls back besides itself.
    pub on_abort: Option<Rollback>,
    /// Most canary instances each service can have at once (0: it has no canary).
    pub canary_cap: Vec<u32>,
    /// `(start, end, fault)`.
    pub faults: Vec<(Time, Time, Fault)>,
}

type Check<T> = Result<T, (String, String)>;

fn err<T>(field: impl Into<String>, message: impl Into<String>) -> Check<T> {
    Err((field.into(), message.into()))
}

fn check_latency(field: &str, l: &LatencyDist) -> Check<()> {
    match l {
        LatencyDist::Exponential(e) if e.mean.time() == Time::ZERO => {
            err(format!("{field}.mean"), "must be longer than 0s")
        }
        LatencyDist::LogNormal(l) if l.median.time() == Time::ZERO => {
            err(format!("{field}.median"), "must be longer than 0s")
        }
        LatencyDist::LogNormal(l) if l.p99 <= l.median => err(format!("{field}.p99"), "must be longer than `median`"),
        _ => Ok(()),
    }
}

fn service_index(m: &[String], name: &str, field: &str) -> Check<usize> {
    m.iter()
        .position(|n| n == name)
        .ok_or_else(|| (field.to_string(), format!("unknown service `{name}`; services: {}", m.join(", "))))
}

fn check_rollback(names: &[String], r: &RollbackSpec, field: &str) -> Check<Rollback> {
    let mut services = Vec::new();
    for (i, n) in r.services.iter().enumerate() {
        services.push(service_index(names, n, &format!("{field}.services[{i}]"))?);
    }
    let switch = match &r.switch {
        SwitchSpec::Instant => Switch::Instant,
        SwitchSpec::Rolling(b) => Switch::Rolling(b.batch.0 as u32),
        SwitchSpec::Canary(_) => {
            return err(
                format!("{field}.switch"),
                "a rollback returns to the version that ran before; it is `Instant` or `Rolling`, not a canary",
            );
        }
    };
    Ok(Rollback { services, order: r.order, switch, bake: r.bake.time() })
}

fn check_analysis(a: &AnalysisSpec, field: &str) -> Check<()> {
    if a.interval.time() < Time::SECOND {
        return err(format!("{field}.interval"), "must be at least 1s");
    }
    if a.checks.is_empty() {
        return err(format!("{field}.checks"), "an analysis needs at least one check");
    }
    for (i, c) in a.checks.iter().enumerate() {
        if matches!(c, crate::scenario::Check::Kayenta(_)) {
            return err(
                format!("{field}.checks[{i}]"),
                "a Kayenta judge needs a baseline pool of the canary's size, which a service of a graph does not \
                 have; use `SuccessRate`, `ErrorCount` or `LatencyP99`",
            );
        }
    }
    Ok(())
}

/// Checks a canary of a service with `replicas` stable replicas; returns it and the most
/// canary instances it runs at once.
fn check_canary(c: &CanarySpec, replicas: u32, field: &str) -> Check<(CanaryPlan, u32)> {
    if c.max_surge != IntOrPercent::Percent(25) {
        return err(
            format!("{field}.max_surge"),
            "a graph's canary has a traffic router, so its weight is exact and `max_surge` does not apply; remove it",
        );
    }
    if c.steps.len() > 1000 {
        return err(format!("{field}.steps"), "at most 1000 steps are allowed");
    }
    if let Some(a) = &c.analysis {
        check_analysis(a, &format!("{field}.analysis"))?;
    }
    let weight_to = |w: f64| crate::scenario::canary_replicas(replicas, w);
    let mut cap = 0;
    for (i, st) in c.steps.iter().enumerate() {
        let f = format!("{field}.steps[{i}]");
        match st {
            CanaryStep::SetWeight(w) => cap = cap.max(weight_to(w.0)),
            CanaryStep::SetCanaryScale(sc) => {
                if let Some(n) = sc.replicas {
                    cap = cap.max(n.0 as u32);
                }
                if let Some(w) = sc.weight {
                    cap = cap.max(weight_to(w.0));
                }
            }
            CanaryStep::Analysis(a) => check_analysis(a, &format!("{f}.Analysis"))?,
            CanaryStep::Pause(_) | CanaryStep::PauseUntilPromoted => {}
        }
    }
    let plan = CanaryPlan {
        steps: c.steps.clone(),
        analysis: c.analysis.clone(),
        analysis_start_step: c.analysis_start_step.0 as usize,
        abort_scale_down_delay: c.abort_scale_down_delay.time(),
    };
    Ok((plan, cap))
}

/// Checks a topology of scenario `s` and resolves it.
pub fn resolve(s: &Scenario, t: &Topology) -> Check<Model> {
    const T: &str = "topology";
    if t.services.is_empty() {
        return err(format!("{T}.services"), "a topology needs at least one service");
    }
    if t.services.len() > MAX_SERVICES {
        return err(format!("{T}.services"), format!("at most {MAX_SERVICES} services are allowed"));
    }
    let names: Vec<String> = t.services.iter().map(|s| s.name.clone()).collect();
    let mut instances = 0u64;
    for (i, svc) in t.services.iter().enumerate() {
        let f = format!("{T}.services[{i}]");
        if svc.name.is_empty() {
            return err(format!("{f}.name"), "must not be empty");
        }
        if names[..i].contains(&svc.name) {
            return err(format!("{f}.name"), format!("service `{}` is named twice", svc.name));
        }
        match &svc.backend {
            super::Backend::Instances => instances += svc.replicas.0,
            super::Backend::Functions(func) => {
                let set = [
                    ("replicas", svc.replicas.0 != 3),
                    ("concurrency", svc.concurrency.0 != 8),
                    ("queue", svc.queue.0 != 100),
                ];
                if let Some((name, _)) = set.iter().find(|x| x.1) {
                    return err(
                        format!("{f}.{name}"),
                        format!(
                            "`{}` runs on functions, which have no `{name}`; its limit is `backend: Functions(concurrency_limit: …)`",
                            svc.name
                        ),
                    );
                }
                check_latency(&format!("{f}.backend.Functions.init"), &func.init)?;
                if func.idle_timeout.time() == Time::ZERO {
                    return err(format!("{f}.backend.Functions.idle_timeout"), "must be longer than 0s");
                }
                for (name, v) in [
                    ("price_per_million_requests", func.price_per_million_requests),
                    ("price_per_gb_second", func.price_per_gb_second),
                ] {
                    if !(v.is_finite() && v >= 0.0) {
                        return err(format!("{f}.backend.Functions.{name}"), "must be a price of 0 or more");
                    }
                }
            }
        }
        check_latency(&format!("{f}.latency"), &svc.latency)?;
        if svc.versions.is_empty() {
            return err(format!("{f}.versions"), format!("service `{}` needs at least one version", svc.name));
        }
        if svc.versions.len() > MAX_VERSIONS {
            return err(format!("{f}.versions"), format!("at most {MAX_VERSIONS} versions per service"));
        }
        if svc.database && t.database.is_none() {
            return err(
                format!("{f}.database"),
                format!("service `{}` queries a database, but `topology.database` is not set", svc.name),
            );
        }
        for (j, v) in svc.versions.iter().enumerate() {
            let vf = format!("{f}.versions[{j}]");
            if v.name.is_empty() {
                return err(format!("{vf}.name"), "must not be empty");
            }
            if svc.versions[..j].iter().any(|o| o.name == v.name) {
                return err(format!("{vf}.name"), format!("version `{}` of `{}` is named twice", v.name, svc.name));
            }
            if (v.min_schema.is_some() || v.max_schema.is_some()) && !svc.database {
                return err(
                    format!("{vf}.min_schema"),
                    format!("`{}` declares a schema range but does not set `database: true`", svc.name),
                );
            }
            if let (Some(a), Some(b)) = (v.min_schema, v.max_schema)
                && b.0 < a.0
            {
                return err(format!("{vf}.max_schema"), format!("must be at least `min_schema` ({})", a.0));
            }
        }
    }
    if instances > MAX_INSTANCES {
        return err(format!("{T}.services"), format!("{instances} instances in all; the limit is {MAX_INSTANCES}"));
    }
    if t.front.is_empty() {
        return err(format!("{T}.front"), "no front service: set `front` to the service user requests enter");
    }
    let front = service_index(&names, &t.front, &format!("{T}.front"))?;

    // Calls.
    if t.calls.len() > 1024 {
        return err(format!("{T}.calls"), "at most 1024 calls are allowed");
    }
    let mut edges = Vec::new();
    let mut out = vec![Vec::new(); names.len()];
    for (i, c) in t.calls.iter().enumerate() {
        let f = format!("{T}.calls[{i}]");
        let from = service_index(&names, &c.from, &format!("{f}.from"))?;
        let to = service_index(&names, &c.to, &format!("{f}.to"))?;
        if from == to {
            return err(format!("{f}.to"), format!("`{}` calls itself; calls must form an acyclic graph", c.from));
        }
        if edges.iter().any(|e: &Edge| e.from == from && e.to == to) {
            return err(format!("{f}.to"), format!("the call `{}` → `{}` is listed twice", c.from, c.to));
        }
        if c.timeout.is_some_and(|d| d.time() == Time::ZERO) {
            return err(format!("{f}.timeout"), "must be longer than 0s (or `None` for no timeout)");
        }
        let budget = match &c.budget {
            Some(b) if b.window.time().as_secs_f64() < 1.0 => {
                return err(format!("{f}.budget.window"), "must be at least 1s");
            }
            Some(b) => Some((b.ratio.0, b.min_per_sec.0, b.window.time())),
            None => None,
        };
        out[from].push(edges.len());
        edges.push(Edge {
            from,
            to,
            timeout: c.timeout.map(|d| d.time()),
            retries: c.retries.0 as u32,
            backoff: c.backoff.time(),
            budget,
            required: c.required,
        });
    }
    let order = callees_first(&names, &edges)?;

    // Contracts.
    let mut compat = Vec::new();
    for (i, svc) in t.services.iter().enumerate() {
        for (j, v) in svc.versions.iter().enumerate() {
            for (dep, api) in &v.requires {
                let f = format!("{T}.services[{i}].versions[{j}].requires");
                let d = service_index(&names, dep, &f)?;
                if !edges.iter().any(|e| e.from == i && e.to == d) {
                    return err(
                        f,
                        format!(
                            "`{}` {} requires an API of `{dep}`, but `{}` does not call `{dep}`",
                            svc.name, v.name, svc.name
                        ),
                    );
                }
                let callee = &t.services[d];
                if !callee.versions.iter().any(|cv| cv.provides.contains(api)) {
                    let mut known: Vec<&str> =
                        callee.versions.iter().flat_map(|cv| cv.provides.iter().map(String::as_str)).collect();
                    known.sort_unstable();
                    known.dedup();
                    return err(
                        f,
                        format!(
                            "`{}` {} requires API `{api}` of `{dep}`, which no version of `{dep}` provides (provided: {})",
                            svc.name,
                            v.name,
                            if known.is_empty() { "none".to_string() } else { known.join(", ") }
                        ),
                    );
                }
            }
        }
    }
    for e in &edges {
        let caller = &t.services[e.from];
        let callee = &t.services[e.to];
        compat.push(
            caller
                .versions
                .iter()
                .map(|cv| {
                    callee
                        .versions
                        .iter()
                        .map(|v| match cv.requires.get(&callee.name) {
                            None => true,
                            Some(api) => v.provides.is_empty() || v.provides.contains(api),
                        })
                        .collect()
                })
                .collect(),
        );
    }
    let schema = t
        .services
        .iter()
        .map(|s| {
            s.versions.iter().map(|v| (v.min_schema.map(|x| x.0 as u32), v.max_schema.map(|x| x.0 as u32))).collect()
        })
        .collect();
    let versions: Vec<Vec<String>> =
        t.services.iter().map(|s| s.versions.iter().map(|v| v.name.clone()).collect()).collect();

    // Load: every attempt is an event; bound the worst case of retries multiplying.
    let dur = s.duration.time().as_secs_f64();
    let mut amp = vec![0.0f64; names.len()];
    amp[front] = 1.0;
    for &svc in order.iter().rev() {
        for &e in &out[svc] {
            let a = amp[svc] * (1.0 + edges[e].retries as f64);
            amp[edges[e].to] = amp[edges[e].to].max(a);
        }
    }
    let attempts = s.traffic.rate.mean_rps(dur) * dur * amp.iter().sum::<f64>();
    if attempts > MAX_EXPECTED_REQUESTS {
        return err(
            format!("{T}.calls"),
            format!(
                "with these retries the run could make about {attempts:.3e} calls; the limit is {MAX_EXPECTED_REQUESTS:.0e}"
            ),
        );
    }
    if let Some(db) = &t.database {
        check_latency(&format!("{T}.database.latency"), &db.latency)?;
    }

    // Plan.
    let mut steps = Vec::new();
    let mut plan_at = None;
    let mut auto_rollback = None;
    let mut on_abort = None;
    let mut canary_cap = vec![0u32; names.len()];
    if let Some(p) = &t.plan {
        if p.at >= s.duration {
            return err(
                format!("{T}.plan.at"),
                format!("must be earlier than the scenario's duration ({})", s.duration),
            );
        }
        if p.steps.len() > 1000 {
            return err(format!("{T}.plan.steps"), "at most 1000 steps are allowed");
        }
        plan_at = Some(p.at.time());
        let mut level = t.database.as_ref().map(|d| d.schema.0 as u32);
        for (i, st) in p.steps.iter().enumerate() {
            let f = format!("{T}.plan.steps[{i}]");
            steps.push(match st {
                PlanStep::Deploy(d) => {
                    if d.to.is_empty() {
                        return err(format!("{f}.to"), "names no service to deploy");
                    }
                    let mut to = Vec::new();
                    for (svc, ver) in &d.to {
                        let si = service_index(&names, svc, &format!("{f}.to"))?;
                        let vi = versions[si].iter().position(|v| v == ver).ok_or_else(|| {
                            (
                                format!("{f}.to"),
                                format!("`{svc}` has no version `{ver}`; versions: {}", versions[si].join(", ")),
                            )
                        })?;
                        to.push((si, vi as u8));
                    }
                    let switch = match &d.switch {
                        SwitchSpec::Instant => Switch::Instant,
                        SwitchSpec::Rolling(b) => Switch::Rolling(b.batch.0 as u32),
                        SwitchSpec::Canary(c) => {
                            let mut plan = None;
                            for &(si, _) in &to {
                                // A function's canary is its alias weight: no instances.
                                let replicas = match t.services[si].backend {
                                    super::Backend::Instances => t.services[si].replicas.0 as u32,
                                    super::Backend::Functions(_) => 0,
                                };
                                let (p, cap) = check_canary(c, replicas, &format!("{f}.switch.Canary"))?;
                                canary_cap[si] = canary_cap[si].max(cap);
                                plan = Some(p);
                            }
                            match plan {
                                Some(p) => Switch::Canary(p),
                                None => Switch::Instant,
                            }
                        }
                    };
                    Step::Deploy { order: d.order, switch, bake: d.bake.time(), to }
                }
                PlanStep::Wait(d) => Step::Wait(d.time()),
                PlanStep::Expand(m) | PlanStep::Contract(m) | PlanStep::Breaking(m) => {
                    let kind = match st {
                        PlanStep::Expand(_) => MigrationKind::Expand,
                        PlanStep::Contract(_) => MigrationKind::Contract,
                        _ => MigrationKind::Breaking,
                    };
                    let Some(cur) = level else {
                        return err(f, "a schema migration needs `topology.database`");
                    };
                    if m.to.0 as u32 <= cur {
                        return err(
                            format!("{f}.to"),
                            format!(
                                "migrations move the schema forward: {} is not above the level {cur} before this step",
                                m.to.0
                            ),
                        );
                    }
                    level = Some(m.to.0 as u32);
                    Step::Migrate { kind, to: m.to.0 as u32 }
                }
                PlanStep::Rollback(r) => Step::Rollback(check_rollback(&names, r, &f)?),
            });
        }
        if let Some(a) = &p.auto_rollback {
            let f = format!("{T}.plan.auto_rollback");
            if a.window.time().as_secs_f64() < 1.0 {
                return err(format!("{f}.window"), "must be at least 1s");
            }
            let r = check_rollback(&names, &a.rollback, &format!("{f}.rollback"))?;
            auto_rollback = Some((a.error_rate.0, a.window.time(), a.min_requests.0, r));
        }
        if let Some(r) = &p.on_abort {
            on_abort = Some(check_rollback(&names, r, &format!("{T}.plan.on_abort"))?);
        }
    }
    let canary_instances: u64 = canary_cap.iter().map(|&c| u64::from(c)).sum();
    if instances + canary_instances > MAX_INSTANCES {
        return err(
            format!("{T}.plan"),
            format!(
                "{instances} instances and {canary_instances} canary instances in all; the limit is {MAX_INSTANCES}"
            ),
        );
    }

    // Faults.
    if t.faults.len() > 10_000 {
        return err(format!("{T}.faults"), "at most 10000 faults are allowed");
    }
    let mut faults = Vec::new();
    for (i, fl) in t.faults.iter().enumerate() {
        let f = format!("{T}.faults[{i}]");
        if fl.duration.time() == Time::ZERO {
            return err(format!("{f}.duration"), "must be longer than 0s");
        }
        let kind = match &fl.fault {
            FaultKind::Down(n) => Fault::Down(service_index(&names, n, &format!("{f}.fault"))?),
            FaultKind::Slow(sl) => {
                Fault::Slow(service_index(&names, &sl.service, &format!("{f}.fault.service"))?, sl.factor.0)
            }
            FaultKind::DbOverload(x) => {
                if t.database.is_none() {
                    return err(format!("{f}.fault"), "`DbOverload` needs `topology.database`");
                }
                Fault::DbOverload(x.0)
            }
            FaultKind::Crash(c) => {
                let si = service_index(&names, &c.service, &format!("{f}.fault.service"))?;
                let sp = &t.services[si];
                if !matches!(sp.backend, super::Backend::Instances) {
                    return err(
                        format!("{f}.fault.service"),
                        format!("`{}` runs on functions, which have no instances to crash", c.service),
                    );
                }
                if c.count.0 > sp.replicas.0 {
                    return err(
                        format!("{f}.fault.count"),
                        format!("`{}` has {} replicas; at most that many can crash", c.service, sp.replicas.0),
                    );
                }
                Fault::Crash(si, c.count.0 as u32)
            }
        };
        faults.push((fl.at.time(), fl.at.time() + fl.duration.time(), kind));
    }

    Ok(Model {
        names,
        front,
        edges,
        out,
        order,
        compat,
        schema,
        versions,
        plan_at,
        steps,
        auto_rollback,
        on_abort,
        canary_cap,
        faults,
    })
}

/// Services with every callee before its callers (Kahn's algorithm, ties by file order);
/// a cycle is an error that names it.
fn callees_first(names: &[String], edges: &[Edge]) -> Check<Vec<usize>> {
    let n = names.len();
    // A service is ready when all its callees are placed.
    let mut pending: Vec<usize> = vec![0; n];
    for e in edges {
        pending[e.from] += 1;
    }
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let Some(next) = (0..n).find(|&i| !placed[i] && pending[i] == 0) else {
            return Err(("topology.calls".into(), format!("the calls form a cycle: {}", cycle(names, edges, &placed))));
        };
        placed[next] = true;
        order.push(next);
        for e in edges.iter().filter(|e| e.to == next) {
            pending[e.from] -= 1;
        }
    }
    Ok(order)
}

/// A cycle among the unplaced services, written `a → b → a`.
fn cycle(names: &[String], edges: &[Edge], placed: &[bool]) -> String {
    // Every unplaced service has an unplaced callee: walk until a service repeats.
    let Some(start) = (0..names.len()).find(|&i| !placed[i]) else {
        return String::new();
    };
    let mut path = vec![start];
    let mut cur = start;
    loop {
        let Some(next) = edges.iter().find(|e| e.from == cur && !placed[e.to]).map(|e| e.to) else {
            return path.iter().map(|&i| names[i].as_str()).collect::<Vec<_>>().join(" → ");
        };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut c: Vec<&str> = path[pos..].iter().map(|&i| names[i].as_str()).collect();
            c.push(&names[next]);
            return c.join(" → ");
        }
        path.push(next);
        cur = next;
    }
}
