//! Service completions kept with their instance instead of in the event queue.
//!
//! Most completions only count an outcome and free a slot: nothing else in the run reads
//! what they change before the instance's next request, the next event of the queue or
//! the next closing second. Such a completion takes its key from the queue (so it is
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

use super::Simulation;
use super::queue::Event;
use super::time::Time;

/// A completion waiting with its instance.
#[derive(Clone, Copy, Debug)]
pub(super) struct Due {
    /// `done · 2^64 + sequence number`, as in the event queue.
    pub key: u128,
    pub slot: u32,
    pub generation: u32,
}

/// One instance's waiting completions, unordered, and the earliest key among them.
#[derive(Clone, Debug)]
pub(super) struct DueList {
    pub min: u128,
    pub entries: Vec<Due>,
    /// In [`Simulation`]'s list of instances that may have entries.
    pub listed: bool,
}

impl Default for DueList {
    fn default() -> Self {
        DueList { min: u128::MAX, entries: Vec::new(), listed: false }
    }
}

/// Instances serving more than this keep their completions in the queue: a list is
/// scanned whole when something in it is due.
pub(super) const MAX_KEPT: usize = 64;

/// The key below which everything at or before `t` lies.
#[inline]
pub(super) fn through(t: Time) -> u128 {
    u128::from(t.as_micros() + 1) << 64
}

/// The key below which everything before `t` lies.
#[inline]
pub(super) fn before(t: Time) -> u128 {
    u128::from(t.as_micros()) << 64
}

impl Simulation {
    /// Whether a request's error rate depends on how busy its instance is.
    #[inline]
    pub(super) fn load_sensitive(&self) -> bool {
        self.versions.iter().any(|v| !v.load_errors.is_empty())
            || self.mods.as_ref().is_some_and(|m| !m.load.is_empty())
    }

    /// Whether the completion of a request that starts now on `inst` may wait with it.
    #[inline]
    pub(super) fn may_keep(&self, inst: u32) -> bool {
        let i = &self.fleet.instances[inst as usize];
        self.keep_completions
            && self.sample_rate == 0.0
            && !i.deleting
            && i.queue.is_empty()
            && i.in_service.len() <= MAX_KEPT
            && !(self.rollout.abort_at.is_some() && self.rollout.recovered_at.is_none())
    }

    #[inline]
    pub(super) fn keep(&mut self, inst: u32, due: Due) {
        let at = inst as usize;
        if self.due.len() <= at {
            self.due.resize_with(at + 1, DueList::default);
        }
        let l = &mut self.due[at];
        l.entries.push(due);
        l.min = l.min.min(due.key);
        if !l.listed {
            l.listed = true;
            self.due_lists.push(inst);
        }
        self.due_min = self.due_min.min(due.key);
    }

    /// Completes what waits on `inst` with a key below `limit`.
    #[inline]
    pub(super) fn catch_up(&mut self, inst: u32, limit: u128) {
        if self.due.get(inst as usize).is_some_and(|l| l.min < limit) {
            self.complete_due(inst, limit);
        }
    }

    fn complete_due(&mut self, inst: u32, limit: u128) {
        let mut now_due = std::mem::take(&mut self.due_scratch);
        let l = &mut self.due[inst as usize];
        let mut min = u128::MAX;
        let mut k = 0;
        while k < l.entries.len() {
            let d = l.entries[k];
            if d.key < limit {
                now_due.push(d);
                l.entries.swap_remove(k);
            } else {
                min = min.min(d.key);
                k += 1;
            }
        }
        l.min = min;
        // Their order does not matter: each only counts an outcome and frees a slot.
        let now = self.now;
        for d in now_due.drain(..) {
            self.now = Time::from_micros((d.key >> 64) as u64);
            self.service_done(inst, d.slot, d.generation);
        }
        self.now = now;
        self.due_scratch = now_due;
    }

    /// Completes what waits on any instance with a key below `limit`.
    #[inline]
    pub(super) fn catch_up_all(&mut self, limit: u128) {
        if self.due_min < limit {
            self.complete_all_due(limit);
        }
    }

    fn complete_all_due(&mut self, limit: u128) {
        let mut lists = std::mem::take(&mut self.due_lists);
        let mut min = u128::MAX;
        lists.retain(|&inst| {
            self.catch_up(inst, limit);
            let l = &mut self.due[inst as usize];
            if l.entries.is_empty() {
                l.listed = false;
                false
            } else {
                min = min.min(l.min);
                true
            }
        });
        self.due_lists = lists;
        self.due_min = min;
    }

    /// Moves what waits on `inst` into the event queue, under the same keys.
    pub(super) fn make_eager(&mut self, inst: u32) {
        let Some(l) = self.due.get_mut(inst as usize) else {
            return;
        };
        l.min = u128::MAX;
        for d in l.entries.drain(..) {
            self.queue.push_key(d.key, Event::ServiceDone { inst, slot: d.slot, generation: d.generation });
        }
    }

    /// Moves every waiting completion into the event queue.
    pub(super) fn make_all_eager(&mut self) {
        for inst in std::mem::take(&mut self.due_lists) {
            self.make_eager(inst);
            self.due[inst as usize].listed = false;
        }
        self.due_min = u128::MAX;
    }

    /// Forgets what waits on `inst`: its requests are being failed or orphaned now.
    pub(super) fn drop_due(&mut self, inst: u32) {
        if let Some(l) = self.due.get_mut(inst as usize) {
            l.entries.clear();
            l.min = u128::MAX;
        }
    }

    /// Completions waiting with instances.
    pub(super) fn kept_completions(&self) -> usize {
        self.due.iter().map(|l| l.entries.len()).sum()
    }
}
