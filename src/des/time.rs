//! Simulated time: integer microseconds. Events are never ordered by floats.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in simulated time or a span of it, in microseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Time(u64);

impl Time {
    pub const ZERO: Time = Time(0);
    pub const MAX: Time = Time(u64::MAX);
    pub const SECOND: Time = Time(1_000_000);

    pub const fn from_micros(us: u64) -> Time {
        Time(us)
    }
    pub const fn from_secs(s: u64) -> Time {
        Time(s * 1_000_000)
    }
    /// Rounds to the nearest microsecond; negative and NaN give zero.
    pub fn from_secs_f64(s: f64) -> Time {
        // Half up, then truncate: the same as `round()` for the non-negative values below
        // 2^52 that occur here, without a library call.
        let us = s * 1e6 + 0.5;
        if us.is_nan() || us < 1.0 {
            Time(0)
        } else if us < 9e18 {
            // Below 2^63 the signed conversion is one instruction and the same value.
            Time(us as i64 as u64)
        } else if us >= u64::MAX as f64 {
            Time::MAX
        } else {
            Time(us as u64)
        }
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e3
    }
    /// Whole seconds, rounded down.
    pub const fn whole_secs(self) -> u64 {
        self.0 / 1_000_000
    }
    pub fn saturating_sub(self, o: Time) -> Time {
        Time(self.0.saturating_sub(o.0))
    }
    pub fn saturating_add(self, o: Time) -> Time {
        Time(self.0.saturating_add(o.0))
    }
}

impl Add for Time {
    type Output = Time;
    fn add(self, o: Time) -> Time {
        Time(self.0.saturating_add(o.0))
    }
}

impl AddAssign for Time {
    fn add_assign(&mut self, o: Time) {
        self.0 = self.0.saturating_add(o.0);
    }
}

impl Sub for Time {
    type Output = Time;
    fn sub(self, o: Time) -> Time {
        Time(self.0.saturating_sub(o.0))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0 / 1_000_000;
        let ms = (self.0 % 1_000_000) / 1000;
        write!(f, "{:02}:{:02}:{:02}.{:03}", s / 3600, (s / 60) % 60, s % 60, ms)
    }
}
