//! Where a run and its baseline are the same run: before the release, and again once a
//! rollback has finished.
//!
//! Before its release a run does what its baseline does (the controller is not asked
//! anything until the release starts), so a batch simulates that stretch once and forks
//! the baseline off the run just before the release
//! ([`Simulation::baseline_at_release`]).
//!
//! A rollout that was rolled back leaves, after a while, the same instances, the same
//! requests in flight and the same pending events as the run without a rollout on the
//! same seed. From that moment the two runs do exactly the same things: every draw is
//! keyed by request, user or instance, never by how the state was reached. A batch uses
//! this to stop simulating the baseline once one run has met it and to carry the
//! baseline's totals on that run (see [`crate::batch`]).
//!
//! [`Simulation::same_future_as`] decides it by comparing what determines the future,
//! written without what differs only in name: request records by request id rather than
//! slab slot, pending events in their order rather than by sequence number, the live
//! instances rather than the arena that still holds terminated ones. It is conservative:
//! it answers "no" whenever anything could still make the runs part — a fault, command,
//! autoscaler sync or instance lifecycle event still to come (a crash would create an
//! instance under a different id), a rollout still running or waiting to recover, a
//! feature gate that could still matter, a DNS switch, fault effects in force, sampling.
//! A "no" only costs time; a wrong "yes" would change results, which the batch tests
//! compare against full runs.

use std::sync::Arc;

use crate::des::time::Time;
use crate::model::fleet::{BASELINE, NEW, POOLS, Phase};
use crate::scenario::{Scenario, StrategySpec};
use crate::sim::event::Event;
use crate::sim::{ReqState, Simulation};
use crate::strategy::{Controller, RolloutOutcome, RolloutState};

/// A request in flight, without its slab slot and generation.
#[derive(Debug, PartialEq)]
struct Request {
    id: u64,
    shadow: bool,
    arrival: Time,
    deadline: Time,
    done: Time,
    user: u32,
    state: ReqState,
    version: u8,
    fail: bool,
    timeout_armed: bool,
    new_code: bool,
    inst: u32,
}

/// A live instance: everything the engine reads of it, its requests by id.
#[derive(Debug, PartialEq)]
struct Instance {
    id: u32,
    version: u8,
    zone: u16,
    phase: Phase,
    created: Time,
    up_since: Option<Time>,
    ready_since: Option<Time>,
    flags: [bool; 4],
    restarts: u32,
    crashes: u32,
    epoch: u32,
    install: Time,
    bad_config: u64,
    drift: u64,
    in_service: Vec<(u64, bool)>,
    queue: Vec<(u64, bool)>,
}

/// Something that will happen, in the order it will happen.
#[derive(Debug, PartialEq)]
enum Pending {
    /// A completion in the event queue (its request is in the slab).
    Done {
        time: Time,
        inst: u32,
        id: u64,
        shadow: bool,
    },
    Timeout {
        time: Time,
        id: u64,
        shadow: bool,
    },
    /// A completion kept with its instance, with what counting it needs.
    Kept {
        time: Time,
        inst: u32,
        id: u64,
        shadow: bool,
        arrival: Time,
        user: u32,
        fail: bool,
        new_code: bool,
    },
}

/// How the router splits traffic from now on.
#[derive(Debug, PartialEq)]
enum Routing {
    /// Everything to the stable pool, whatever the weights say in detail.
    AllStable,
    Weights(Option<[u64; POOLS]>),
}

/// What determines a run's future, in a form two runs can be compared in.
#[derive(Debug, PartialEq)]
struct Future {
    now: Time,
    next_arrival: Option<Time>,
    next_request: u64,
    next_second: Time,
    in_system: u64,
    busy: u64,
    flags: [bool; 3],
    desired: [u32; POOLS],
    zone_down: Vec<u32>,
    routable: [Vec<u32>; POOLS],
    routing: Routing,
    mirror: u64,
    instances: Vec<Instance>,
    requests: Vec<Request>,
    pending: Vec<Pending>,
}

impl Simulation {
    /// Runs every event and arrival that comes before the release, and stops just before
    /// the release starts. False when the run has no release still to come before its end.
    pub fn step_to_release(&mut self) -> bool {
        let Some(at) = self.cfg.release_at else {
            return false;
        };
        loop {
            if let Some((_, Event::Release)) = self.queue.peek()
                && self.next_arrival.is_none_or(|a| a >= at)
            {
                return true;
            }
            if !self.step_one::<true>(at) {
                return false;
            }
        }
    }

    /// This run's baseline, forked off it just before its release (see
    /// [`step_to_release`](Self::step_to_release)): the same state with no rollout to come,
    /// recording only the totals a summary compares against (see
    /// [`Recorder::keep_totals_only`](crate::metrics::Recorder::keep_totals_only)).
    /// `baseline` is the run's scenario with no strategy.
    ///
    /// Before the release the engine asks the controller nothing (a command reaches it
    /// only once the release has started; an autoscaler only tells it the new size), so
    /// the two runs are the same up to here. What a strategy sets before — its
    /// `minReadySeconds` — must be the baseline's (none), else `None`; also `None` when the
    /// release is not what comes next.
    pub fn baseline_at_release(&self, baseline: Arc<Scenario>) -> Option<Simulation> {
        let release_next = matches!(self.queue.peek(), Some((_, Event::Release)));
        if !release_next || self.fleet.min_ready != Time::ZERO || !matches!(baseline.strategy, StrategySpec::None) {
            return None;
        }
        let mut b = self.clone();
        b.queue.pop();
        b.cfg.release_at = None;
        b.controller = Controller::new(&baseline.strategy, b.replicas);
        b.rollout = RolloutState::new(RolloutOutcome::NoRollout);
        b.scenario = baseline;
        b.metrics.keep_totals_only();
        Some(b)
    }

    /// Whether this run will from now on do exactly what `other` does: the same
    /// arrivals routed to the same instances, served, completed and timed out at the same
    /// times with the same outcomes, the same instance count, and nothing pending that
    /// could make them part. Both must be at the same time; see the module documentation
    /// for what is compared and when the answer is a conservative "no".
    pub fn same_future_as(&self, other: &Simulation) -> bool {
        if self.now != other.now
            || self.tape.is_some() != other.tape.is_some()
            || self.in_system != other.in_system
            || self.fleet.active.len() != other.fleet.active.len()
        {
            return false;
        }
        let Some(mine) = self.future() else {
            return false;
        };
        other.future().is_some_and(|theirs| mine == theirs)
    }

    /// The comparable future, or `None` when something could still make this run part
    /// from one that has the same state now.
    fn future(&self) -> Option<Future> {
        // Every controller's `reconcile` and wake-up returns at once when the rollout is
        // over (`Ctx::is_over`).
        let rollout_settled = matches!(
            self.rollout.outcome,
            RolloutOutcome::NoRollout | RolloutOutcome::Promoted | RolloutOutcome::RolledBack
        );
        let quiet = rollout_settled
            && !self.awaiting_recovery()
            && self.new_code_in_flight == 0
            && self.hpa.is_none()
            && self.sample_rate == 0.0
            && self.effects.is_empty()
            && self.mods.is_none()
            && self.leak.is_none()
            && self.config_pushes.is_empty()
            && !self.crash_on_start
            && !self.dirty
            && self.wakes.is_empty()
            && self.fleet.in_place.is_empty()
            && self.router.dns.is_none();
        if !quiet {
            return None;
        }
        // Whether a request runs the new code depends on the gate only on new-pool
        // instances; with none alive and none to be created, the gate plays no part.
        let mut instances = Vec::with_capacity(self.fleet.active.len());
        for &id in &self.fleet.active {
            let i = &self.fleet.instances[id as usize];
            if i.version == NEW || i.deleting {
                return None;
            }
            let ids = |slots: &mut dyn Iterator<Item = u32>| {
                slots
                    .map(|s| {
                        let r = &self.reqs[s as usize];
                        (r.id, r.shadow)
                    })
                    .collect::<Vec<_>>()
            };
            instances.push(Instance {
                id,
                version: i.version,
                zone: i.zone,
                phase: i.phase,
                created: i.created,
                up_since: i.up_since,
                ready_since: i.ready_since,
                flags: [i.ready, i.available, i.deleting, i.unresponsive],
                restarts: i.restarts,
                crashes: i.crashes,
                epoch: i.epoch,
                install: i.install,
                bad_config: i.bad_config.to_bits(),
                drift: i.drift.to_bits(),
                in_service: ids(&mut i.in_service.iter().copied()),
                queue: ids(&mut i.queue.iter().copied()),
            });
        }
        // `minReadySeconds` is read only when an instance becomes ready, a lifecycle
        // event; with none pending it plays no part either.
        // With no instance to create or delete (each pool at its desired count, nothing
        // pending that crashes, deletes or scales), instance ids never diverge.
        for p in 0..POOLS as u8 {
            let status = self.fleet.status(p);
            if status.current != self.fleet.desired[p as usize] || status.terminating > 0 {
                return None;
            }
        }

        let mut keyed: Vec<(u128, Pending)> = Vec::new();
        for &(key, event) in self.queue.entries() {
            let time = Time::from_micros((key >> 64) as u64);
            match event {
                Event::ServiceDone { inst, slot, generation } => {
                    let r = &self.reqs[slot as usize];
                    if r.generation == generation && matches!(r.state, ReqState::InService | ReqState::TimedOut) {
                        keyed.push((key, Pending::Done { time, inst, id: r.id, shadow: r.shadow }));
                    }
                }
                Event::Timeout { slot, generation } => {
                    let r = &self.reqs[slot as usize];
                    if r.generation == generation {
                        keyed.push((key, Pending::Timeout { time, id: r.id, shadow: r.shadow }));
                    }
                }
                Event::Life { inst, epoch, .. } => {
                    let i = &self.fleet.instances[inst as usize];
                    // A void lifecycle event does nothing when it comes.
                    if i.epoch == epoch && i.alive() {
                        return None;
                    }
                }
                // A wake-up makes a controller whose rollout is over look and return.
                Event::Wake => {}
                Event::Release
                | Event::Fault(_)
                | Event::ZoneUp(_)
                | Event::FaultChange
                | Event::Command(_)
                | Event::Autoscale => return None,
            }
        }
        for &inst in &self.kept_lists {
            for k in &self.fleet.instances[inst as usize].kept {
                keyed.push((
                    k.key,
                    Pending::Kept {
                        time: k.done(),
                        inst,
                        id: k.id,
                        shadow: k.shadow,
                        arrival: k.arrival,
                        user: k.user,
                        fail: k.fail,
                        new_code: k.new_code,
                    },
                ));
            }
        }
        keyed.sort_unstable_by_key(|(key, _)| *key);

        let mut requests: Vec<Request> = self
            .reqs
            .iter()
            .filter(|r| r.state != ReqState::Free)
            .map(|r| Request {
                id: r.id,
                shadow: r.shadow,
                arrival: r.arrival,
                deadline: r.deadline,
                done: r.done,
                user: r.user,
                state: r.state,
                version: r.version,
                fail: r.fail,
                timeout_armed: r.timeout_armed,
                new_code: r.new_code,
                inst: r.inst,
            })
            .collect();
        requests.sort_unstable_by_key(|r| (r.id, r.shadow));

        let only_stable_endpoints =
            self.fleet.routable[NEW as usize].is_empty() && self.fleet.routable[BASELINE as usize].is_empty();
        let routing = match self.router.weights {
            Some(w) if w[NEW as usize] <= 0.0 && w[BASELINE as usize] <= 0.0 => Routing::AllStable,
            None if only_stable_endpoints => Routing::AllStable,
            w => Routing::Weights(w.map(|w| w.map(f64::to_bits))),
        };

        Some(Future {
            now: self.now,
            next_arrival: self.next_arrival,
            next_request: self.next_request,
            next_second: self.next_second,
            in_system: self.in_system,
            busy: self.busy,
            flags: [self.keep_completions, self.load_sensitive, self.finished],
            desired: self.fleet.desired,
            zone_down: self.fleet.zone_down.clone(),
            routable: self.fleet.routable.clone(),
            routing,
            mirror: self.router.mirror.to_bits(),
            instances,
            requests,
            pending: keyed.into_iter().map(|(_, p)| p).collect(),
        })
    }
}
