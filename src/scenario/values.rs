//! Checked scalar values used by scenario files.
//!
//! Each type validates while it is parsed, so a bad value is reported at its own
//! `line:column` by the RON parser, with a message that says what is allowed.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

use crate::des::time::Time;

/// Longest duration accepted anywhere in a scenario (30 days).
pub const MAX_DURATION_S: u64 = 30 * 86_400;

/// A duration written as a string: `"250ms"`, `"30s"`, `"1.5m"`, `"2h"`, `"1d"`, `"10us"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub Time);

impl Duration {
    pub const fn secs(s: u64) -> Self {
        Duration(Time::from_secs(s))
    }
    pub const fn millis(ms: u64) -> Self {
        Duration(Time::from_micros(ms * 1000))
    }
    pub fn time(self) -> Time {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }
}

/// A duration that does not parse; each names the text and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("an empty duration; write e.g. \"250ms\", \"30s\", \"5m\", \"2h\", \"1d\"")]
    Empty,
    #[error("`{text}` has no unit; write e.g. \"250ms\", \"30s\", \"5m\", \"2h\", \"1d\"")]
    NoUnit { text: String },
    #[error("`{text}` does not start with a number; write e.g. \"30s\"")]
    NoNumber { text: String },
    #[error("unknown unit `{unit}` in `{text}`; allowed units: {}", DURATION_UNITS.join(", "))]
    UnknownUnit { unit: String, text: String },
    #[error("`{text}` is longer than the limit of {}d", MAX_DURATION_S / 86_400)]
    TooLong { text: String },
}

/// The units a duration may be written in (`µs` and `min` are accepted too).
pub const DURATION_UNITS: [&str; 6] = ["us", "ms", "s", "m", "h", "d"];

/// Parses `"<number><unit>"` with unit `us`, `ms`, `s`, `m`, `h` or `d`, or a sum of
/// such parts without spaces, largest first: `"1h30m"`, `"5m50s"`.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut rest = t;
    let mut micros = 0.0f64;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| DurationError::NoUnit { text: s.into() })?;
        let (num, tail) = rest.split_at(split);
        let value: f64 = num.parse().map_err(|_| DurationError::NoNumber { text: s.into() })?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let per = match unit {
            "us" | "µs" => 1.0,
            "ms" => 1e3,
            "s" => 1e6,
            "m" | "min" => 60e6,
            "h" => 3600e6,
            "d" => 86_400e6,
            other => return Err(DurationError::UnknownUnit { unit: other.into(), text: s.into() }),
        };
        micros += value * per;
        rest = next;
    }
    if !micros.is_finite() || micros > MAX_DURATION_S as f64 * 1e6 {
        return Err(DurationError::TooLong { text: s.into() });
    }
    Ok(Duration(Time::from_micros(micros.round() as u64)))
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        let units = [(86_400_000_000, "d"), (3_600_000_000, "h"), (60_000_000, "m"), (1_000_000, "s"), (1000, "ms")];
        for (n, u) in units {
            if us >= n && us.is_multiple_of(n) {
                return write!(f, "{}{u}", us / n);
            }
        }
        if us >= 1_000_000 {
            return write!(f, "{}s", us as f64 / 1e6);
        }
        write!(f, "{us}us")
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"250ms\", \"30s\", \"5m\", \"2h\" or \"1d\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// An integer within `[MIN, MAX]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Int<const MIN: u64, const MAX: u64>(pub u64);

impl<const MIN: u64, const MAX: u64> Int<MIN, MAX> {
    pub fn get(self) -> u64 {
        self.0
    }
}

impl<const MIN: u64, const MAX: u64> Serialize for Int<MIN, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Int<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MIN: u64, const MAX: u64>;
        impl<const MIN: u64, const MAX: u64> Visitor<'_> for V<MIN, MAX> {
            type Value = Int<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a whole number from {MIN} to {MAX}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                if v < 0 {
                    return Err(E::custom(format!("must be a whole number from {MIN} to {MAX}, got {v}")));
                }
                self.visit_u64(v as u64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                if v < MIN || v > MAX {
                    return Err(E::custom(format!("must be a whole number from {MIN} to {MAX}, got {v}")));
                }
                Ok(Int(v))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
                Err(E::custom(format!("must be a whole number from {MIN} to {MAX}, got {v}")))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
                Err(E::custom(format!("must be a whole number from {MIN} to {MAX}, got {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Err(E::custom(format!("must be a whole number from {MIN} to {MAX}, got {v}")))
            }
        }
        d.deserialize_any(V::<MIN, MAX>)
    }
}

/// A number outside its type's range: what is allowed and what was written.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("must be {allowed}, got {got}")]
pub struct OutOfRange {
    pub allowed: &'static str,
    pub got: f64,
}

macro_rules! real {
    ($(#[$doc:meta])* $name:ident, $min:expr, $min_incl:expr, $max:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
        pub struct $name(pub f64);

        impl $name {
            pub fn get(self) -> f64 {
                self.0
            }
            /// Checks a value against this type's range.
            pub fn check(v: f64) -> Result<f64, OutOfRange> {
                let ok_min = if $min_incl { v >= $min } else { v > $min };
                if !v.is_finite() || !ok_min || v > $max {
                    return Err(OutOfRange { allowed: $what, got: v });
                }
                Ok(v)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_f64(self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        $name::check(v).map($name).map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        self.visit_f64(v as f64)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        self.visit_f64(v as f64)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

real!(
    /// A probability in `[0, 1]`.
    Probability, 0.0, true, 1.0, "a number from 0 to 1"
);
real!(
    /// A request rate in requests per second, `[0, 1e6]`.
    Rps, 0.0, true, 1e6, "a rate from 0 to 1000000 requests per second"
);
real!(
    /// A positive multiplier, `(0, 1000]`.
    Factor, 0.0, false, 1000.0, "a factor greater than 0 and at most 1000"
);
real!(
    /// A price per hour in any currency, `[0, 1e6]`.
    Price, 0.0, true, 1e6, "a price from 0 to 1000000 per hour"
);
real!(
    /// A percentage in `[0, 100]`.
    Percent, 0.0, true, 100.0, "a percentage from 0 to 100"
);

impl Default for Probability {
    fn default() -> Self {
        Probability(0.0)
    }
}

impl Default for Percent {
    fn default() -> Self {
        Percent(0.0)
    }
}

/// Kubernetes' `IntOrString` for `maxSurge` / `maxUnavailable`: a count (`2`) or a
/// percentage of the desired replicas (`"25%"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    Count(u32),
    Percent(u32),
}

impl IntOrPercent {
    /// Resolves against `replicas`, rounding a percentage up or down.
    ///
    /// Kubernetes: "maxSurge ... The absolute number is calculated from percentage by
    /// rounding up"; "maxUnavailable ... by rounding down" (Deployment docs, Rolling Update).
    pub fn resolve(self, replicas: u32, round_up: bool) -> u32 {
        match self {
            IntOrPercent::Count(n) => n,
            IntOrPercent::Percent(p) => {
                let num = p as u64 * replicas as u64;
                let v = if round_up { num.div_ceil(100) } else { num / 100 };
                v as u32
            }
        }
    }
}

impl fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrPercent::Count(n) => write!(f, "{n}"),
            IntOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for IntOrPercent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrPercent::Count(n) => s.serialize_u32(*n),
            IntOrPercent::Percent(_) => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrPercent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IntOrPercent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a count such as 1 or a percentage string such as \"25%\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrPercent, E> {
                if v < 0 {
                    return Err(E::custom(format!(
                        "must be a count from 0 to 10000 or a percentage such as \"25%\", got {v}"
                    )));
                }
                self.visit_u64(v as u64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrPercent, E> {
                if v > 10_000 {
                    return Err(E::custom(format!(
                        "must be a count from 0 to 10000 or a percentage such as \"25%\", got {v}"
                    )));
                }
                Ok(IntOrPercent::Count(v as u32))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrPercent, E> {
                let bad = || {
                    E::custom(format!(
                        "`{v}` is not a percentage from \"0%\" to \"100%\" (or write a plain count such as 1)"
                    ))
                };
                let num = v.trim().strip_suffix('%').ok_or_else(bad)?;
                let p: u32 = num.trim().parse().map_err(|_| bad())?;
                if p > 100 {
                    return Err(bad());
                }
                Ok(IntOrPercent::Percent(p))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms").unwrap().0.as_micros(), 250_000);
        assert_eq!(parse_duration("30s").unwrap().0.as_micros(), 30_000_000);
        assert_eq!(parse_duration("1.5m").unwrap().0.as_micros(), 90_000_000);
        assert_eq!(parse_duration("2h").unwrap().0.as_micros(), 7_200_000_000);
        assert_eq!(parse_duration("1d").unwrap().0.as_micros(), 86_400_000_000);
        assert_eq!(parse_duration("5m50s").unwrap().0.as_micros(), 350_000_000);
        assert_eq!(parse_duration("1h30m").unwrap().0.as_micros(), 5_400_000_000);
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("-3s").is_err());
        assert!(parse_duration("5 fortnights").is_err());
        assert!(parse_duration("99999d").is_err());
    }

    #[test]
    fn duration_display_round_trips() {
        for s in ["250ms", "30s", "5m", "2h", "1d", "10us"] {
            assert_eq!(parse_duration(s).unwrap().to_string(), s);
        }
    }

    /// Kubernetes Deployment docs: maxSurge rounds up, maxUnavailable rounds down.
    #[test]
    fn percent_rounding_follows_kubernetes() {
        assert_eq!(IntOrPercent::Percent(25).resolve(10, true), 3);
        assert_eq!(IntOrPercent::Percent(25).resolve(10, false), 2);
        assert_eq!(IntOrPercent::Percent(1).resolve(3, true), 1);
        assert_eq!(IntOrPercent::Percent(1).resolve(3, false), 0);
        assert_eq!(IntOrPercent::Count(2).resolve(10, true), 2);
    }
}
