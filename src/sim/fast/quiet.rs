//! Arrivals in a quiet stretch, handled in one loop.
//!
//! Most of a long run is quiet: nothing is scheduled for a while, no fault effect, DNS
//! switch, mirror, sample or autoscaler is in force, and requests reach instances with
//! free slots. An arrival there does the same few things every time —
//! count it, pick an instance, start its service and keep its completion with the
//! instance ([`completions`](super::completions)) — and changes nothing that decides how
//! the next one is handled. [`Simulation::quiet_arrivals`] handles such arrivals one
//! after another with what they share worked out once, instead of going through
//! [`arrive`](Simulation::arrive), [`dispatch`](Simulation::dispatch) and
//! [`start_service`](Simulation::start_service) and the step loop for each.
//!
//! It is the same run: every state change is the one the general path makes, in an order
//! that commutes with it (tested by running every shipped scenario both ways and
//! comparing every recorded number). An arrival that needs anything else — a full
//! instance, a queue, a deadline before its completion, no ready instance — ends the
//! loop and takes the general path.

use rand::RngExt;

use super::completions::{self, MAX_KEPT};
use crate::des::time::Time;
use crate::model::fleet::{Kept, NEW, STABLE};
use crate::sim::{Simulation, completion_at, with_config_error};

impl Simulation {
    /// Whether arrivals may be handled by [`quiet_arrivals`](Self::quiet_arrivals) now:
    /// nothing that changes how an arrival is handled may act per request.
    #[inline]
    fn quiet(&self) -> bool {
        self.fast_arrivals
            && self.keep_completions
            && self.sample_rate == 0.0
            && !self.load_sensitive
            && self.mods.is_none()
            && self.hpa.is_none()
            && self.router.dns.is_none()
            && self.router.mirror <= 0.0
            && self.metrics.ab.is_none()
            && !self.dirty
            && !self.awaiting_recovery()
    }

    /// Handles the arrivals before `event` (the time of the next scheduled event), at or
    /// before `target` and before the end, while they are quiet, starting with the next
    /// one. Returns
    /// false without doing anything when the run is not quiet; then, or once it returns,
    /// the caller goes on with the general step. An arrival that is not quiet is handled
    /// by the general path, and the loop stops after it.
    pub(in crate::sim) fn quiet_arrivals(&mut self, target: Time, event: Time) -> bool {
        if !self.quiet() {
            return false;
        }
        // With no new instance to route to, no request can run the new code: a loop
        // compiled for the stable code alone does less per arrival.
        if self.fleet.routable[NEW as usize].is_empty() {
            self.quiet_loop::<false>(target, event);
        } else {
            self.quiet_loop::<true>(target, event);
        }
        true
    }

    /// The loop of [`quiet_arrivals`](Self::quiet_arrivals); `NEW_CODE` false when no
    /// request of the stretch can run the new code.
    #[inline(never)]
    fn quiet_loop<const NEW_CODE: bool>(&mut self, target: Time, event: Time) {
        // Fixed while the stretch lasts: nothing below schedules an event, changes the
        // fleet, the router or the versions.
        let w = self.router.weights_after_dns(&self.fleet);
        // Per code path (stable, new): the error probability when it depends on nothing
        // per request, and the latency factor.
        let path = |v: u8| {
            let profile = &self.versions[v as usize];
            let fixed_p = (profile.segment_errors.is_empty() && profile.load_errors.is_empty())
                .then(|| profile.failure_probability(0, 0.0, self.dep_error));
            (fixed_p, profile.latency_factor)
        };
        let (stable_path, new_path) = (path(STABLE), path(NEW));
        let concurrency = self.cfg.concurrency;
        let timeout = self.cfg.timeout;
        let end = self.cfg.end;
        while let Some(t) = self.next_arrival {
            if t >= end || t > target || t >= event {
                break;
            }
            self.advance_to(t);
            let id = self.next_request;
            let user = self.user_of(id);
            let Some(inst) = self.router.pick_with(&w, &self.fleet, id, user) else {
                self.general_arrival();
                break;
            };
            let i = &self.fleet.instances[inst as usize];
            if i.unresponsive || i.deleting || !i.queue.is_empty() || i.kept.len() >= MAX_KEPT {
                self.general_arrival();
                break;
            }
            let version = i.version;
            let new_code = NEW_CODE && version == NEW && self.new_code_for(user);
            let (fixed_p, factor) = if new_code { new_path } else { stable_path };
            if i.serving() >= concurrency {
                // As `dispatch` does before it hands a full instance a request.
                self.catch_up(inst, completions::through(t));
                if self.fleet.instances[inst as usize].serving() >= concurrency {
                    self.general_arrival();
                    break;
                }
            }
            let done = completion_at(t, self.base_micros_of(id) * factor * self.dep_factor);
            let deadline = timeout.map_or(Time::MAX, |d| t + d);
            if deadline < done {
                self.general_arrival();
                break;
            }
            // The request starts at once and its completion waits with its instance: what
            // `arrive`, `dispatch` and `start_service` do for it.
            self.next_request += 1;
            self.metrics.arrival(user, t);
            self.in_system += 1;
            self.in_flight_arrivals += u128::from(t.as_micros());
            self.metrics.served(user, new_code);
            if new_code {
                self.new_code_in_flight += 1;
                self.last_new_code_start = Some(t);
            }
            let (bad_config, drift) = {
                let i = &self.fleet.instances[inst as usize];
                (i.bad_config, i.drift)
            };
            let p = match fixed_p {
                Some(p) => p,
                None => {
                    let busy = self.fleet.instances[inst as usize].serving();
                    self.versions[if new_code { NEW } else { STABLE } as usize].failure_probability(
                        self.users.segment(user),
                        busy as f64 / concurrency as f64,
                        self.dep_error,
                    )
                }
            };
            let p = with_config_error(p, bad_config, drift);
            let fail = p > 0.0 && self.error_draw.rng(id).random::<f64>() < p;
            self.busy += 1;
            let key = self.queue.next_key(done);
            self.keep(inst, Kept { key, id, arrival: t, user, version, fail, new_code, shadow: false });
            self.draw_next_arrival();
            self.quiet_count += 1;
        }
    }

    /// The general path for the next arrival, as the step loop takes it.
    fn general_arrival(&mut self) {
        self.arrive();
        self.draw_next_arrival();
    }
}
