//! One release's rollout window, run by the engine.
//!
//! The window starts when the rollout starts (engine time 0 is that moment) with a fresh
//! fleet of the running version, the scenario's traffic, service and router as template,
//! and `release.at = 0`. The engine is stepped one simulated second at a time while this
//! module watches what an operations team would see:
//!
//! - **the alert**: the failed share of all user requests over the trailing
//!   `alert.window` (at least `alert.min_requests` of them) above `alert.error_rate`;
//! - **a stuck rollout**: the strategy reports it (`ProgressDeadlineExceeded`).
//!
//! A page (the alert while a bad release's code is live, or a stuck rollout) is answered
//! `response` later by a person. If the rollout is still in progress then, the person
//! aborts it and the strategy rolls back in the engine (restored when the engine reports
//! recovery). If the bad release is already fully live, the engine cannot undo a
//! finished rollout, so the person's restore is taken to be complete at that moment:
//! `response` covers the page, the diagnosis *and* the rollback. Strategies with
//! automated analysis abort on their own; their restore is the engine's recovery time.
//!
//! The window ends when nothing is left to watch: a good release fully live with the old
//! instances gone, a rollback finished with capacity back, or a bad release restored by a
//! person. It ends at the latest after the scenario's `duration`; whatever is unresolved
//! then is ended by a person at that moment (a bad release that trips no alert is
//! noticed that late, e.g. from user reports).
//!
//! A run of the same window with no rollout (the baseline, same seed) is stepped to the
//! same moment, so that failures and users hurt are counted as the excess over it.

use std::sync::Arc;

use serde::Serialize;

use super::stream::PlannedRelease;
use crate::des::time::Time;
use crate::metrics::UserSet;
use crate::scenario::Command;
use crate::scenario::RolloutCommand;
use crate::scenario::continuous::ContinuousSpec;
use crate::scenario::{Duration, RateProfile, Release, Scenario, StrategySpec};
use crate::sim::Simulation;
use crate::strategy::RolloutOutcome;

/// How a release's rollout ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseOutcome {
    /// Fully live, nothing needed fixing.
    Deployed,
    /// Needed a person to restore service: a bad release that went fully live, or a
    /// rollout a person had to abort (alert during the rollout, stuck, or unfinished at
    /// the window's end with a bad release exposed).
    Failed,
    /// The strategy rolled back on its own (analysis, progress deadline with rollback).
    RolledBackByStrategy,
    /// Not fully live at the window's end and no user hurt (a good release stalled, or a
    /// bad one whose code never served users, e.g. a crash-looping canary): abandoned.
    TimedOut,
}

/// Who ended the harm of a bad release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoredBy {
    Strategy,
    Person,
}

/// What one window measured; times are from the rollout's start.
#[derive(Clone, Debug)]
pub struct WindowResult {
    pub outcome: ReleaseOutcome,
    /// Engine time simulated: the window's length.
    pub length: Time,
    /// The release became fully live (the strategy promoted it).
    pub live_at: Option<Time>,
    /// The alert first fired (for any release).
    pub alert_at: Option<Time>,
    /// A bad release's code served users (an incident).
    pub incident: bool,
    /// First harm done by the bad release (failed request or crash), else the rollout start.
    pub failure_start: Option<Time>,
    pub restored_at: Option<Time>,
    pub restored_by: Option<RestoredBy>,
    /// Users with a failed request who had none in the baseline.
    pub hurt: UserSet,
    pub hurt_count: u64,
    /// Failed requests minus the baseline's.
    pub excess_failed: i64,
    pub requests: u64,
    pub cost: f64,
    pub baseline_cost: f64,
    /// The window's run against its baseline, in the vocabulary of every run.
    pub summary: crate::metrics::Summary,
    /// What the stream's summary merges over windows: answered latencies, and the users
    /// who made a request, were served by the new version, and met both versions.
    pub latency: crate::metrics::Histogram,
    pub active: UserSet,
    pub exposed: UserSet,
    pub mixed: UserSet,
}

/// The engine scenario of one window.
pub fn window_scenario(
    template: &Scenario,
    spec: &ContinuousSpec,
    strategy: &StrategySpec,
    release: &PlannedRelease,
    start: Time,
) -> Scenario {
    let mut s = template.clone();
    s.continuous = None;
    s.compare.clear();
    s.seed = release.seed;
    s.strategy = strategy.clone();
    let mut version = format!("r{}", release.index + 1);
    if version == s.fleet.version {
        version.push('\'');
    }
    s.release = Some(Release {
        at: Duration(Time::ZERO),
        version,
        defects: release.defect.map(|d| vec![spec.defects[d].defect.clone()]).unwrap_or_default(),
    });
    // A cosine day continues across windows: shift its peak by the window's start.
    if let RateProfile::Diurnal(d) = &mut s.traffic.rate {
        let period = d.period.time().as_micros().max(1);
        let offset = start.as_micros() % period;
        let peak = d.peak_at.time().as_micros() % period;
        d.peak_at = Duration(Time::from_micros((peak + period - offset) % period));
    }
    s
}

/// The trailing error ratio of all user requests, one closed second at a time.
struct Alert {
    window: usize,
    threshold: f64,
    min_requests: u64,
    seen: usize,
    ended: u64,
    failed: u64,
}

impl Alert {
    fn new(spec: &ContinuousSpec) -> Alert {
        Alert {
            window: (spec.alert.window.time().whole_secs() as usize).max(1),
            threshold: spec.alert.error_rate.0,
            min_requests: spec.alert.min_requests.0,
            seen: 0,
            ended: 0,
            failed: 0,
        }
    }

    /// Takes in the newly closed seconds; true if the alert condition holds after them.
    fn update(&mut self, series: &[crate::metrics::SecondRecord]) -> bool {
        let mut firing = false;
        while self.seen < series.len() {
            let s = &series[self.seen];
            self.ended += s.ended();
            self.failed += s.ended() - s.succeeded();
            if self.seen >= self.window {
                let old = &series[self.seen - self.window];
                self.ended -= old.ended();
                self.failed -= old.ended() - old.succeeded();
            }
            self.seen += 1;
            firing = self.ended > 0
                && self.ended >= self.min_requests
                && self.failed as f64 > self.threshold * self.ended as f64;
        }
        firing
    }
}

/// Runs one release's window with `strategy`.
pub fn run_window(
    template: &Scenario,
    spec: &ContinuousSpec,
    strategy: &StrategySpec,
    release: &PlannedRelease,
    start: Time,
) -> WindowResult {
    let scenario = window_scenario(template, spec, strategy, release, start);
    let end = scenario.duration.time();
    let replicas = scenario.fleet.replicas.0 as usize;
    let response = spec.response.time();
    let mut baseline_scenario = scenario.clone();
    baseline_scenario.strategy = StrategySpec::None;
    let mut sim = Simulation::new(Arc::new(scenario));
    let mut alert = Alert::new(spec);
    let mut alert_at: Option<Time> = None;
    let mut page_at: Option<Time> = None;
    let mut person_at: Option<Time> = None;
    let mut person_aborted = false;
    let mut restored_at: Option<Time> = None;
    let mut restored_by: Option<RestoredBy> = None;
    let mut now = Time::ZERO;
    loop {
        let mut next = now + Time::SECOND;
        if let Some(p) = person_at
            && p > now
            && p < next
        {
            next = p;
        }
        let next = next.min(end);
        sim.step_until(next);
        now = next;
        let firing = alert.update(&sim.metrics().series);
        if firing && alert_at.is_none() {
            alert_at = Some(now);
        }
        let r = sim.rollout();
        let outcome = r.outcome;
        // The alert pages while a bad release's code can still be live; a stuck rollout
        // pages whatever the release.
        let bad_live = release.bad && outcome != RolloutOutcome::RolledBack;
        if page_at.is_none() && ((firing && bad_live) || outcome == RolloutOutcome::Stuck) {
            page_at = Some(now);
            person_at = Some(now + response);
        }
        if let Some(p) = person_at
            && now >= p
            && restored_at.is_none()
            && !person_aborted
        {
            match outcome {
                RolloutOutcome::Promoted => {
                    if release.bad {
                        // The fix is complete now: nothing after it belongs to the incident.
                        restored_at = Some(now);
                        restored_by = Some(RestoredBy::Person);
                        break;
                    }
                }
                RolloutOutcome::RolledBack | RolloutOutcome::NoRollout => {}
                RolloutOutcome::Pending | RolloutOutcome::Running | RolloutOutcome::Stuck => {
                    sim.apply(Command::Rollout(RolloutCommand::Abort));
                    person_aborted = true;
                }
            }
        }
        let r = sim.rollout();
        let settled = sim.fleet().alive_count() <= replicas;
        if r.outcome == RolloutOutcome::RolledBack
            && let Some(rec) = r.recovered_at
            && restored_at.is_none()
        {
            restored_at = Some(rec);
            restored_by = Some(if person_aborted { RestoredBy::Person } else { RestoredBy::Strategy });
        }
        let done = match r.outcome {
            RolloutOutcome::Promoted => !release.bad || restored_at.is_some(),
            RolloutOutcome::RolledBack => r.recovered_at.is_some(),
            _ => false,
        };
        if (done && settled) || now >= end {
            break;
        }
    }
    let r = sim.rollout().clone();
    let m = sim.metrics();
    let incident = release.bad && !m.exposed_users.is_empty();
    if incident && restored_at.is_none() {
        // Unresolved at the window's end: a person ends it then.
        restored_at = Some(now);
        restored_by = Some(RestoredBy::Person);
    }
    let live_at = if r.outcome == RolloutOutcome::Promoted { r.finished } else { None };
    let outcome = match r.outcome {
        RolloutOutcome::Promoted if release.bad => ReleaseOutcome::Failed,
        RolloutOutcome::Promoted => ReleaseOutcome::Deployed,
        RolloutOutcome::RolledBack if person_aborted => ReleaseOutcome::Failed,
        RolloutOutcome::RolledBack => ReleaseOutcome::RolledBackByStrategy,
        _ if person_aborted || incident => ReleaseOutcome::Failed,
        _ => ReleaseOutcome::TimedOut,
    };
    let failure_start = incident.then(|| sim.first_new_harm().unwrap_or(Time::ZERO));
    let mut baseline = Simulation::new(Arc::new(baseline_scenario));
    baseline.step_until(now);
    let b = baseline.metrics();
    let mut hurt = UserSet::new(m.user_count());
    hurt.insert_difference(&m.failed_users, &b.failed_users);
    let hurt_count = hurt.len();
    WindowResult {
        outcome,
        length: now,
        live_at,
        alert_at,
        incident,
        failure_start,
        restored_at: if incident { restored_at } else { None },
        restored_by: if incident { restored_by } else { None },
        hurt,
        hurt_count,
        excess_failed: m.failed() as i64 - b.failed() as i64,
        requests: m.arrivals,
        cost: sim.cost(),
        baseline_cost: baseline.cost(),
        summary: sim.summary(&baseline),
        latency: m.latency.clone(),
        active: m.active_users.clone(),
        exposed: m.exposed_users.clone(),
        mixed: m.mixed_users.clone(),
    }
}
