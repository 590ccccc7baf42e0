//! Fault effects in force over time, and when random faults strike.
//!
//! A fault either acts at once (crashes, drift, a configuration push) or puts timed
//! [`Effect`]s in force; the engine keeps the effects and recomputes what they add up to
//! whenever one starts or ends, so the request path reads a few numbers only.

use crate::scenario::{Fault, Scenario};
use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use crate::des::rng::{Stream, streams};
use crate::des::time::Time;

use crate::scenario::MAX_OCCURRENCES;

/// One timed effect of a fault.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Service times × factor.
    Slow(f64),
    /// Every request fails with this probability.
    Errors(f64),
    /// A share of requests take this much longer.
    Delay { us: u64, share: f64 },
    /// Requests of one segment fail with this probability.
    Segment { seg: u8, rate: f64 },
    /// Requests that start on a busy instance fail with this probability.
    Load { utilization: f64, rate: f64 },
    /// Containers that start crash while booting.
    CrashOnStart,
    /// Running instances crash at this rate per second.
    Leak(f64),
}

/// An effect in force from `start` until `end`.
#[derive(Clone, Debug)]
pub struct Timed {
    pub start: Time,
    pub end: Time,
    pub effect: Effect,
}

/// A configuration pushed to `ids`, reverted at `end` (never without one).
#[derive(Clone, Debug)]
pub struct ConfigPush {
    pub end: Option<Time>,
    pub rate: f64,
    pub ids: Vec<u32>,
}

/// The rarer effects, consulted per request only while one is in force.
#[derive(Clone, Debug, Default)]
pub struct Mods {
    pub segment: Vec<(u8, f64)>,
    pub load: Vec<(f64, f64)>,
    pub delay: Vec<(u64, f64)>,
    draw: Option<Stream>,
}

impl Mods {
    /// `p` combined with the segment and load bugs in force (independent causes).
    #[inline]
    pub fn failure_probability(&self, p: f64, segment: u8, utilization: f64) -> f64 {
        let mut ok = 1.0 - p;
        for &(s, r) in &self.segment {
            if s == segment {
                ok *= 1.0 - r;
            }
        }
        for &(u, r) in &self.load {
            if utilization >= u {
                ok *= 1.0 - r;
            }
        }
        1.0 - ok
    }

    /// Injected latency of request `id`, µs: each injection hits its share independently.
    #[inline]
    pub fn delay_micros(&self, id: u64) -> f64 {
        let mut total = 0.0;
        for (k, &(us, share)) in self.delay.iter().enumerate() {
            let hit = share >= 1.0 || self.draw.is_some_and(|d| d.rng2(id, k as u64).random::<f64>() < share);
            if hit {
                total += us as f64;
            }
        }
        total
    }
}

/// What the effects in force add up to.
pub struct Combined {
    pub factor: f64,
    pub error: f64,
    pub crash_on_start: bool,
    pub leak_rate: f64,
    pub mods: Option<Box<Mods>>,
}

/// Combines effects: slowdowns multiply, independent error causes combine as
/// `1 − Π(1 − p)`, leak rates add (competing exponentials).
pub fn combine<'a>(effects: impl Iterator<Item = &'a Effect>, seed: u64) -> Combined {
    let mut c = Combined { factor: 1.0, error: 0.0, crash_on_start: false, leak_rate: 0.0, mods: None };
    let mut ok = 1.0;
    let mut mods = Mods::default();
    for e in effects {
        match *e {
            Effect::Slow(f) => c.factor *= f,
            Effect::Errors(p) => ok *= 1.0 - p,
            Effect::Delay { us, share } => mods.delay.push((us, share)),
            Effect::Segment { seg, rate } => mods.segment.push((seg, rate)),
            Effect::Load { utilization, rate } => mods.load.push((utilization, rate)),
            Effect::CrashOnStart => c.crash_on_start = true,
            Effect::Leak(r) => c.leak_rate += r,
        }
    }
    c.error = 1.0 - ok;
    if !(mods.delay.is_empty() && mods.segment.is_empty() && mods.load.is_empty()) {
        mods.draw = Some(Stream::new(seed, streams::FAULT_DELAY));
        c.mods = Some(Box::new(mods));
    }
    c
}

/// Every fault of the scenario with its time: the scheduled ones in file order, then each
/// random fault's occurrences (a Poisson process with mean gap `mtbf` over `[from, until)`).
pub fn occurrences(s: &Scenario, seed: u64) -> Vec<(Time, Fault)> {
    let mut out: Vec<(Time, Fault)> = s.faults.iter().map(|f| (f.at.time(), f.fault.clone())).collect();
    let end = s.duration.time();
    let stream = Stream::new(seed, streams::FAULT_TIMES);
    for (j, r) in s.random_faults.iter().enumerate() {
        let until = r.until.map_or(end, |u| u.time().min(end));
        let mean = r.mtbf.as_secs_f64();
        let mut t = r.from.time();
        for k in 0..MAX_OCCURRENCES {
            // Keys above 2^40 keep these draws apart from the bursts' (fault number, k).
            let gap: f64 = Exp1.sample(&mut stream.rng2((1 << 40) + j as u64, k));
            t += Time::from_secs_f64(mean * gap);
            if t >= until {
                break;
            }
            out.push((t, r.fault.clone()));
        }
    }
    out
}

/// Ready-made faults for live injection from a front end, with a label each: one of every
/// kind in the catalogue, at a size that shows on the charts.
pub fn live_menu() -> Vec<(&'static str, Fault)> {
    use crate::scenario::*;
    let d = |s: u64| Duration::secs(s);
    vec![
        ("Crash loop (2 instances, 3 min)", Fault::CrashLoop(CrashLoopFault { count: Int(2), duration: d(180) })),
        ("Dependency down (1 min)", Fault::DependencyDown(FaultWindow { duration: d(60) })),
        (
            "Dependency errors (20 %, 2 min)",
            Fault::DependencyErrors(DependencyErrors { rate: Probability(0.2), duration: d(120) }),
        ),
        (
            "Latency injection (+500 ms on 20 %, 2 min)",
            Fault::LatencyInjection(LatencyInjection {
                delay: Duration(Time::from_micros(500_000)),
                share: Probability(0.2),
                duration: d(120),
            }),
        ),
        (
            "Error bursts (5 s every ~30 s, 3 min)",
            Fault::ErrorBursts(ErrorBursts { rate: Probability(0.9), burst: d(5), gap: d(30), duration: d(180) }),
        ),
        (
            "Bad config push (30 %, 3 min)",
            Fault::BadConfigPush(BadConfigPush { rate: Probability(0.3), duration: Some(d(180)) }),
        ),
        ("Config drift (2 instances, 50 %)", Fault::ConfigDrift(ConfigDrift { count: Int(2), rate: Probability(0.5) })),
        (
            "Memory leak (mean uptime 3 min, 6 min)",
            Fault::MemoryLeak(MemoryLeak { mean_uptime: d(180), duration: d(360) }),
        ),
        (
            "Load-dependent bug (busy ≥ 50 %, 3 min)",
            Fault::LoadBug(LoadBug { utilization: Probability(0.5), rate: Probability(0.5), duration: d(180) }),
        ),
        (
            "Database overload (×2.5, 5 % errors, 3 min)",
            Fault::DbOverload(DbOverload { factor: Factor(2.5), rate: Probability(0.05), duration: d(180) }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fault of the live menu takes effect in a running simulation.
    #[test]
    fn every_live_fault_applies() {
        use std::sync::Arc;
        for (label, f) in live_menu() {
            let s = crate::scenario::parse_str("t.ron", "Scenario(name: \"t\", duration: \"10m\")").expect("scenario");
            let mut sim = crate::sim::Simulation::new(Arc::new(s));
            sim.step_until(Time::from_secs(60));
            sim.apply(crate::scenario::Command::InjectFault(f));
            assert!(sim.log().iter().any(|e| e.text.starts_with("fault injected")), "{label}");
            sim.run_to_end();
            sim.audit().unwrap_or_else(|e| panic!("{label}: {e}"));
        }
    }

    #[test]
    fn independent_error_causes_combine() {
        let e = [Effect::Errors(0.5), Effect::Errors(0.5), Effect::Slow(2.0), Effect::Slow(1.5)];
        let c = combine(e.iter(), 1);
        assert!((c.error - 0.75).abs() < 1e-12);
        assert!((c.factor - 3.0).abs() < 1e-12);
        assert!(c.mods.is_none());
    }

    #[test]
    fn segment_and_load_bugs_apply_only_where_they_match() {
        let e = [Effect::Segment { seg: 2, rate: 1.0 }, Effect::Load { utilization: 0.5, rate: 0.5 }];
        let c = combine(e.iter(), 1);
        let m = c.mods.expect("mods");
        assert_eq!(m.failure_probability(0.0, 1, 0.0), 0.0);
        assert_eq!(m.failure_probability(0.0, 2, 0.0), 1.0);
        assert_eq!(m.failure_probability(0.0, 1, 0.5), 0.5);
        assert_eq!(m.failure_probability(0.0, 1, 0.49), 0.0);
    }
}
