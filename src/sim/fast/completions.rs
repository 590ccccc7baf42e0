//! Service completions kept with their instance instead of in the event queue.
//!
//! Most completions only count an outcome and free a slot of their instance: nothing else in the run reads
//! what they change until their instance might be full, the next event of the queue runs
//! or the second closes. Such a completion takes its key from the queue (so it is
//! ordered against every event exactly as if it had been pushed) and waits in its
//! instance's list. The engine completes everything that is due
//!
//! - on one instance before it hands that instance a request, when the instance may be
//!   full or its error rate depends on its load ([`Simulation::catch_up`]); otherwise a
//!   completed request still holding a slot changes nothing the request reads,
//! - on every instance before an event of the queue runs and before a second closes
//!   ([`Simulation::catch_up_all`]).
//!
//! A completion is kept here only while its effects commute with everything that may
//! run before it is processed: its instance has no queue (so it starts nothing), is not
//! being deleted (so its last completion does not terminate it), and no rollback waits
//! for the new code to leave (which watches requests in flight). Nobody samples requests
//! for drawing and no autoscaler integrates busy slots. When one of those conditions
//! starts to hold for an instance its list moves into the queue under the same keys
//! ([`Simulation::make_eager`]), so a run is the same run, event for event, whichever
//! way its completions were kept.
//!
//! Only a request that starts on arrival and whose client's deadline is not before its
//! completion is kept, and it is kept whole: the entry holds what counting it needs, so
//! it takes no record in the request slab. Nothing but its completion or a failure of its
//! instance ([`Simulation::fail_all`]) can end it; the failure ends it from the entry, or
//! gives it a slab record when its client is left to hang until the deadline.

use crate::des::time::Time;
use crate::metrics::Outcome;
use crate::model::fleet::Kept;
use crate::sim::event::Event;
use crate::sim::{Req, ReqState, Simulation};

/// Instances serving more than this keep their completions in the queue: a list is
/// scanned whole when something in it is due.
pub(super) const MAX_KEPT: usize = 64;

/// The key below which everything at or before `t` lies.
#[inline]
pub(in crate::sim) fn through(t: Time) -> u128 {
    u128::from(t.as_micros() + 1) << 64
}

/// The key below which everything before `t` lies.
#[inline]
pub(in crate::sim) fn before(t: Time) -> u128 {
    u128::from(t.as_micros()) << 64
}

impl Simulation {
    /// Notes whether a request's error rate depends on how busy its instance is; after
    /// the versions or the fault effects change.
    pub(in crate::sim) fn update_load_sensitive(&mut self) {
        self.load_sensitive = self.versions.iter().any(|v| !v.load_errors.is_empty())
            || self.mods.as_ref().is_some_and(|m| !m.load.is_empty());
    }

    /// Whether the completion of a request that starts now on `inst` may wait with it.
    #[inline]
    pub(in crate::sim) fn may_keep(&self, inst: u32) -> bool {
        let i = &self.fleet.instances[inst as usize];
        self.keep_completions
            && self.sample_rate == 0.0
            && !i.deleting
            && i.queue.is_empty()
            && i.kept.len() < MAX_KEPT
            && !self.awaiting_recovery()
    }

    #[inline]
    pub(in crate::sim) fn keep(&mut self, inst: u32, kept: Kept) {
        let i = &mut self.fleet.instances[inst as usize];
        i.kept.push(kept);
        i.kept_min = i.kept_min.min(kept.key);
        if !i.kept_listed {
            i.kept_listed = true;
            self.kept_lists.push(inst);
        }
        self.kept_min = self.kept_min.min(kept.key);
    }

    /// Completes what waits on `inst` with a key below `limit`.
    #[inline]
    pub(in crate::sim) fn catch_up(&mut self, inst: u32, limit: u128) {
        if self.fleet.instances[inst as usize].kept_min < limit {
            self.complete_kept(inst, limit);
        }
    }

    fn complete_kept(&mut self, inst: u32, limit: u128) {
        // Out of the instance while its due entries end: ending one touches no instance.
        let mut kept = std::mem::take(&mut self.fleet.instances[inst as usize].kept);
        let now = self.now;
        let mut min = u128::MAX;
        let mut left = 0;
        for k in 0..kept.len() {
            let d = kept[k];
            if d.key < limit {
                // Their order does not matter: each only counts an outcome.
                self.now = d.done();
                self.end_kept(&d, if d.fail { Outcome::Error } else { Outcome::Success });
            } else {
                min = min.min(d.key);
                kept[left] = d;
                left += 1;
            }
        }
        self.busy -= (kept.len() - left) as u64;
        kept.truncate(left);
        self.now = now;
        let i = &mut self.fleet.instances[inst as usize];
        debug_assert!(i.queue.is_empty() && !i.deleting && i.kept.is_empty());
        i.kept = kept;
        i.kept_min = min;
    }

    /// Ends a kept request now with `outcome`, as [`end_slot`](Simulation::end_slot) and
    /// `release_slot` end one in the slab.
    #[inline(always)]
    pub(in crate::sim) fn end_kept(&mut self, d: &Kept, outcome: Outcome) {
        debug_assert!(self.sample_rate == 0.0, "requests are not kept while sampling");
        let latency = self.now - d.arrival;
        if d.shadow {
            self.metrics.finish_shadow(d.version, outcome.failed(), latency, self.now);
        } else {
            self.metrics.finish(d.user, Some(d.version), d.new_code, outcome, latency, self.now);
            self.leave(d.arrival);
        }
        if d.new_code {
            self.new_code_in_flight -= 1;
        }
    }

    /// The slab record of a kept request on `inst`, in service.
    pub(in crate::sim) fn kept_record(&self, inst: u32, d: &Kept) -> Req {
        let deadline = match self.cfg.timeout {
            Some(t) if !d.shadow => d.arrival + t,
            _ => Time::MAX,
        };
        Req {
            id: d.id,
            arrival: d.arrival,
            deadline,
            done: d.done(),
            user: d.user,
            generation: 0,
            state: ReqState::InService,
            version: d.version,
            fail: d.fail,
            timeout_armed: false,
            shadow: d.shadow,
            new_code: d.new_code,
            inst,
        }
    }

    /// Completes what waits on any instance with a key below `limit`.
    #[inline]
    pub(in crate::sim) fn catch_up_all(&mut self, limit: u128) {
        if self.kept_min < limit {
            self.complete_all_kept(limit);
        }
    }

    fn complete_all_kept(&mut self, limit: u128) {
        let mut lists = std::mem::take(&mut self.kept_lists);
        let mut min = u128::MAX;
        lists.retain(|&inst| {
            self.catch_up(inst, limit);
            let i = &mut self.fleet.instances[inst as usize];
            if i.kept.is_empty() {
                i.kept_listed = false;
                false
            } else {
                min = min.min(i.kept_min);
                true
            }
        });
        self.kept_lists = lists;
        self.kept_min = min;
    }

    /// Moves what waits on `inst` into the event queue, under the same keys; each request
    /// gets its slab record back.
    pub(in crate::sim) fn make_eager(&mut self, inst: u32) {
        let i = &mut self.fleet.instances[inst as usize];
        if i.kept.is_empty() {
            return;
        }
        i.kept_min = u128::MAX;
        let kept = std::mem::take(&mut i.kept);
        for k in &kept {
            let slot = self.alloc(self.kept_record(inst, k));
            self.fleet.instances[inst as usize].in_service.push(slot);
            let generation = self.reqs[slot as usize].generation;
            self.queue.push_key(k.key, Event::ServiceDone { inst, slot, generation });
        }
        let mut kept = kept;
        kept.clear();
        self.fleet.instances[inst as usize].kept = kept;
    }

    /// Moves every waiting completion into the event queue.
    pub(in crate::sim) fn make_all_eager(&mut self) {
        for inst in std::mem::take(&mut self.kept_lists) {
            self.make_eager(inst);
            self.fleet.instances[inst as usize].kept_listed = false;
        }
        self.kept_min = u128::MAX;
    }

    /// Completions waiting with instances.
    pub(in crate::sim) fn kept_completions(&self) -> usize {
        self.kept_lists.iter().map(|&i| self.fleet.instances[i as usize].kept.len()).sum()
    }
}
