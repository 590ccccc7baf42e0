//! Fault effects in force over time, and when random faults strike.
//!
//! A fault either acts at once (crashes, drift, a configuration push) or puts timed
//! [`Effect`]s in force; the engine keeps the effects and recomputes what they add up to
//! whenever one starts or ends, so the request path reads a few numbers only.

use crate::scenario::{Fault, Scenario};
use crate::sim::rng::{Stream, streams};
use crate::sim::time::Time;

/// At most this many bursts per `ErrorBursts` fault.
pub const MAX_BURSTS: u64 = 1_000_000;
/// At most this many occurrences per random fault.
pub const MAX_OCCURRENCES: u64 = 10_000;

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
            let hit = share >= 1.0 || self.draw.is_some_and(|d| d.unit2(id, k as u64) < share);
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
            let u = stream.open_unit2((1 << 40) + j as u64, k);
            t += Time::from_secs_f64(-mean * u.ln());
            if t >= until {
                break;
            }
            out.push((t, r.fault.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
