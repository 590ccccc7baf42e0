//! The event queue: a heap ordered by `(time, sequence number)`, so events at
//! equal times run in the order they were scheduled and every run is deterministic.

use super::time::Time;

/// What happens to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Life {
    ContainerStart,
    AppUp,
    /// The application crashes while starting (crash loop).
    StartupCrash,
    Ready,
    Available,
    /// Crash after some uptime (leak, random failure).
    Crash,
    DrainDeadline,
    /// Readiness probes have failed `failureThreshold` times: out of the endpoints.
    ProbeFailed,
    /// An in-place update stops the process (requests still in it fail) and installs the
    /// new revision; the container starts again after the instance's `install` time.
    InPlaceStop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    ServiceDone {
        inst: u32,
        slot: u32,
        generation: u32,
    },
    Timeout {
        slot: u32,
        generation: u32,
    },
    Life {
        inst: u32,
        epoch: u32,
        what: Life,
    },
    /// A controller asked to be woken.
    Wake,
    /// The release starts.
    Release,
    /// Scheduled fault number `n` of the scenario.
    Fault(u32),
    /// A zone comes back.
    ZoneUp(u16),
    /// A timed fault effect starts or ends.
    FaultChange,
    /// Scheduled command number `n` of the scenario.
    Command(u32),
    /// The HorizontalPodAutoscaler's sync.
    Autoscale,
}

/// The event heap, generic over the event type: the instance engine uses [`Event`], the
/// serverless and multi-service engines bring their own and order them the same way.
///
/// A 4-ary min-heap on one 128-bit key, `time · 2^64 + sequence number`: unique keys, so
/// the order is total and equal times pop in the order they were pushed. Shallower than
/// a binary heap, and one integer comparison per step.
#[derive(Clone, Debug)]
pub struct EventQueue<E = Event> {
    heap: Vec<(u128, E)>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: Vec::new(), seq: 0 }
    }
}

const ARITY: usize = 4;

impl<E: Copy> EventQueue<E> {
    pub fn push(&mut self, time: Time, event: E) {
        self.seq += 1;
        let key = (u128::from(time.as_micros()) << 64) | u128::from(self.seq);
        // Sift up with a hole: parents with later keys move down, the entry is written once.
        let mut i = self.heap.len();
        self.heap.push((key, event));
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.heap[parent].0 <= key {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = (key, event);
    }

    pub fn peek_time(&self) -> Option<Time> {
        self.heap.first().map(|e| Time::from_micros((e.0 >> 64) as u64))
    }

    pub fn pop(&mut self) -> Option<(Time, E)> {
        let last = self.heap.pop()?;
        let n = self.heap.len();
        if n == 0 {
            return Some((Time::from_micros((last.0 >> 64) as u64), last.1));
        }
        let top = self.heap[0];
        // Sift the last entry down from the root with a hole: earlier children move up.
        let mut i = 0;
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut best = first;
            let mut best_key = self.heap[first].0;
            for c in first + 1..end {
                let k = self.heap[c].0;
                if k < best_key {
                    best = c;
                    best_key = k;
                }
            }
            if last.0 <= best_key {
                break;
            }
            self.heap[i] = self.heap[best];
            i = best;
        }
        self.heap[i] = last;
        Some((Time::from_micros((top.0 >> 64) as u64), top.1))
    }
}

impl<E> EventQueue<E> {
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interleaved pushes and pops, with many equal times, come out exactly as a stable
    /// sort by time of everything pushed would order them.
    #[test]
    fn pops_follow_time_then_push_order() {
        use crate::sim::rng::Stream;
        let draw = Stream::new(7, 99);
        let mut q = EventQueue::default();
        let mut pending: Vec<(u64, u64, u32)> = Vec::new(); // (time, push number, tag)
        let mut pushes = 0u64;
        let mut now = 0u64;
        for k in 0..200_000u64 {
            if draw.unit(k) < 0.55 || q.is_empty() {
                let t = now + draw.index(k ^ (1 << 40), 50) as u64;
                pushes += 1;
                q.push(Time::from_micros(t), Event::Fault(k as u32));
                pending.push((t, pushes, k as u32));
            } else {
                let (t, e) = q.pop().expect("not empty");
                let i = (0..pending.len()).min_by_key(|&i| (pending[i].0, pending[i].1)).expect("not empty");
                let want = pending.swap_remove(i);
                assert_eq!((t.as_micros(), e), (want.0, Event::Fault(want.2)));
                now = t.as_micros();
            }
            assert_eq!(q.len(), pending.len());
        }
    }

    /// Events stay small: the heap moves them on every push and pop.
    #[test]
    fn events_are_small() {
        assert!(std::mem::size_of::<Event>() <= 16);
    }

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut q = EventQueue::default();
        q.push(Time::from_secs(2), Event::Fault(0));
        q.push(Time::from_secs(1), Event::Fault(1));
        q.push(Time::from_secs(1), Event::Fault(2));
        q.push(Time::from_secs(1), Event::Fault(3));
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, vec![Event::Fault(1), Event::Fault(2), Event::Fault(3), Event::Fault(0)]);
    }
}
