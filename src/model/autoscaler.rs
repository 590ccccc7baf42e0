//! The HorizontalPodAutoscaler's decision, as plain state and pure functions; the engine
//! measures the metric and applies the result.
//!
//! Kubernetes docs, "Horizontal Pod Autoscaling"
//! (<https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/>),
//! "Algorithm details" and "Configurable scaling behavior". Every sync period:
//!
//! 1. `desiredReplicas = ceil(currentReplicas × currentMetricValue / desiredMetricValue)`,
//!    where the metric is the average over the ready pods, so the product is
//!    `ceil(ratio × readyPods)`; `currentReplicas` is the target's `spec.replicas`.
//!    When the ratio is within `tolerance` of 1.0 nothing changes.
//! 2. Not-yet-ready pods: on a scale-up they are counted as using 0 % of the target, on a
//!    scale-down as using 100 % of it; the ratio is recomputed with them, and if that
//!    keeps it within tolerance or reverses the direction, nothing changes.
//!    Simplification: the docs set aside pods that are not ready, pods whose metrics are
//!    missing, and pods that became ready within the CPU initialization period; here
//!    every pod that exists and is not in the endpoints is one not-yet-ready pod, and
//!    a pod that is ready takes part with its measured load.
//! 3. Stabilization: the recommendation is kept between the *lowest* recommendation of
//!    the scale-up window and the *highest* of the scale-down window ("uses the highest
//!    value from the specified interval" for scale-down).
//! 4. Scaling policies (`selectPolicy: Max`): within each policy's period the change
//!    from the replica count at the period's start is at most `value` pods or `value` %;
//!    the policy allowing the largest change wins.
//! 5. The result is clamped to `[minReplicas, maxReplicas]`.

use std::collections::VecDeque;

use crate::des::time::Time;
use crate::scenario::{Autoscaler, ScalingPolicy};

/// What the HPA measured over one sync period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Busy concurrency slots over ready slots, time-averaged over the period (the
    /// "CPU utilization" of the ready pods, 0–1).
    pub utilization: f64,
    /// Pods in the endpoints now.
    pub ready: u32,
    /// Pods that exist (not being deleted) but are not ready.
    pub unready: u32,
}

/// One sync of the autoscaler, for the log and for tests.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub t: Time,
    /// `spec.replicas` before this sync.
    pub current: u32,
    /// What was measured; `None` when no pod was ready during the period (no metrics).
    pub sample: Option<Sample>,
    /// `utilization / target`.
    pub ratio: Option<f64>,
    /// The metric-based proposal (step 1–2).
    pub proposal: u32,
    /// After the stabilization windows (step 3).
    pub stabilized: u32,
    /// The new `spec.replicas` (steps 4–5).
    pub replicas: u32,
}

/// Replicas proposed by the metric (steps 1 and 2 above): `current` when the ratio is
/// within tolerance, the conservative recomputation with not-yet-ready pods says so, or
/// there are no metrics.
pub fn proposal(current: u32, target: f64, tolerance: f64, sample: Option<Sample>) -> u32 {
    let Some(s) = sample else {
        return current;
    };
    if s.ready == 0 || target <= 0.0 {
        return current;
    }
    let ratio = s.utilization / target;
    if (ratio - 1.0).abs() <= tolerance {
        return current;
    }
    if s.unready == 0 {
        return (ratio * s.ready as f64).ceil() as u32;
    }
    // Not-yet-ready pods: 0 % of the target on a scale-up, 100 % on a scale-down.
    let pods = (s.ready + s.unready) as f64;
    let assumed = if ratio > 1.0 { 0.0 } else { target * s.unready as f64 };
    let new_ratio = (s.utilization * s.ready as f64 + assumed) / (target * pods);
    let reversed = (ratio > 1.0) != (new_ratio > 1.0);
    if (new_ratio - 1.0).abs() <= tolerance || reversed {
        return current;
    }
    let n = (new_ratio * pods).ceil() as u32;
    if (new_ratio < 1.0 && n > current) || (new_ratio > 1.0 && n < current) {
        return current;
    }
    n
}

/// Limit of one scaling policy for a change away from `start` replicas.
fn policy_limit(p: &ScalingPolicy, start: u32, up: bool) -> u32 {
    match (p, up) {
        (ScalingPolicy::Pods(p), true) => start.saturating_add(p.value.0 as u32),
        (ScalingPolicy::Pods(p), false) => start.saturating_sub(p.value.0 as u32),
        (ScalingPolicy::Percent(p), true) => (start as f64 * (1.0 + p.value.0 as f64 / 100.0)).ceil() as u32,
        (ScalingPolicy::Percent(p), false) => (start as f64 * (1.0 - p.value.0 as f64 / 100.0)).max(0.0).floor() as u32,
    }
}

/// The autoscaler's memory: recent recommendations and scale events.
#[derive(Clone, Debug)]
pub struct Hpa {
    pub spec: Autoscaler,
    /// `(time, proposal)` of recent syncs, for the stabilization windows.
    recommendations: VecDeque<(Time, u32)>,
    /// `(time, change)` of recent changes of `spec.replicas`, for the policies.
    events: VecDeque<(Time, i64)>,
    pub decisions: Vec<Decision>,
}

impl Hpa {
    /// An autoscaler taken to have been running before the start with `replicas` as its
    /// recommendation (the fleet it sized), so the first scale-down comes no sooner than
    /// one stabilization window after time 0.
    pub fn new(spec: &Autoscaler, replicas: u32) -> Hpa {
        Hpa {
            spec: spec.clone(),
            recommendations: VecDeque::from([(Time::ZERO, replicas)]),
            events: VecDeque::new(),
            decisions: Vec::new(),
        }
    }

    pub fn sync_period(&self) -> Time {
        self.spec.sync_period.time()
    }

    /// One sync at `now` with `current = spec.replicas`; returns the new `spec.replicas`.
    pub fn sync(&mut self, now: Time, current: u32, sample: Option<Sample>) -> u32 {
        let a = &self.spec;
        let target = a.target_utilization.0;
        let raw = proposal(current, target, a.tolerance.0, sample);
        let ratio = sample.filter(|s| s.ready > 0).map(|s| s.utilization / target);

        // Stabilization: keep the recommendation between the lowest of the scale-up
        // window and the highest of the scale-down window (the new one included).
        let (up_w, down_w) = (a.scale_up_stabilization.time(), a.scale_down_stabilization.time());
        let keep = up_w.max(down_w);
        while self.recommendations.front().is_some_and(|&(t, _)| now.saturating_sub(t) > keep) {
            self.recommendations.pop_front();
        }
        // Inside a window of `w`: made after `now − w` (one made exactly `w` ago is out,
        // as Kubernetes compares timestamps with "after the cutoff"). The new
        // recommendation always counts.
        let within = |t: Time, w: Time| now.saturating_sub(t) < w;
        let up_floor = self.recommendations.iter().filter(|r| within(r.0, up_w)).map(|r| r.1).fold(raw, u32::min);
        let down_ceiling = self.recommendations.iter().filter(|r| within(r.0, down_w)).map(|r| r.1).fold(raw, u32::max);
        self.recommendations.push_back((now, raw));
        let stabilized = current.max(up_floor).min(down_ceiling);

        // Policies: the change within each period counts from the period's start.
        let longest = a
            .scale_up_policies
            .iter()
            .chain(&a.scale_down_policies)
            .map(|p| p.period().time())
            .max()
            .unwrap_or(Time::ZERO);
        while self.events.front().is_some_and(|&(t, _)| now.saturating_sub(t) > longest) {
            self.events.pop_front();
        }
        let changed_within = |period: Time, up: bool| -> i64 {
            self.events.iter().filter(|e| within(e.0, period) && (e.1 > 0) == up).map(|e| e.1.abs()).sum()
        };
        let mut next = stabilized;
        if stabilized > current && !a.scale_up_policies.is_empty() {
            let limit = a
                .scale_up_policies
                .iter()
                .map(|p| {
                    let start = (current as i64 - changed_within(p.period().time(), true)).max(0) as u32;
                    policy_limit(p, start, true)
                })
                .max()
                .unwrap_or(u32::MAX);
            next = next.min(limit.max(current));
        } else if stabilized < current && !a.scale_down_policies.is_empty() {
            let limit = a
                .scale_down_policies
                .iter()
                .map(|p| {
                    let start = (current as i64 + changed_within(p.period().time(), false)) as u32;
                    policy_limit(p, start, false)
                })
                .min()
                .unwrap_or(0);
            next = next.max(limit.min(current));
        }
        let next = next.clamp(a.min_replicas.0 as u32, a.max_replicas.0 as u32);
        if next != current {
            self.events.push_back((now, next as i64 - current as i64));
        }
        self.decisions.push(Decision { t: now, current, sample, ratio, proposal: raw, stabilized, replicas: next });
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(utilization: f64, ready: u32, unready: u32) -> Option<Sample> {
        Some(Sample { utilization, ready, unready })
    }

    /// The docs' example: 50 pods at 90 % of a 75 % target want ceil(50 × 90/75) = 60.
    #[test]
    fn docs_formula() {
        assert_eq!(proposal(50, 0.75, 0.1, s(0.9, 50, 0)), 60);
    }

    /// Within 10 % of the target nothing changes (ratio 1.08 and 0.92).
    #[test]
    fn tolerance_holds() {
        assert_eq!(proposal(10, 0.5, 0.1, s(0.54, 10, 0)), 10);
        assert_eq!(proposal(10, 0.5, 0.1, s(0.46, 10, 0)), 10);
        assert_eq!(proposal(10, 0.5, 0.1, s(0.60, 10, 0)), 12);
    }

    /// Not-yet-ready pods count as idle on a scale-up: 4 ready pods at 100 % of a 50 %
    /// target with 4 booting pods is ratio 2 → (4·1.0 + 0)/(0.5·8) = 1.0: hold.
    #[test]
    fn unready_pods_damp_scale_up() {
        assert_eq!(proposal(8, 0.5, 0.1, s(1.0, 4, 4)), 8);
        assert_eq!(proposal(8, 0.5, 0.1, s(1.0, 4, 0)), 8);
        assert_eq!(proposal(4, 0.5, 0.1, s(1.0, 4, 0)), 8);
    }

    /// No ready pod: no metrics, no change.
    #[test]
    fn no_metrics_no_change() {
        assert_eq!(proposal(3, 0.5, 0.1, s(0.0, 0, 3)), 3);
        assert_eq!(proposal(3, 0.5, 0.1, None), 3);
    }
}
