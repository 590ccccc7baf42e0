//! The event queue: a binary heap ordered by `(time, sequence number)`, so events at
//! equal times run in the order they were scheduled and every run is deterministic.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

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
    /// new revision; the container starts again after `install`.
    InPlaceStop {
        install_us: u64,
    },
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

#[derive(Clone, Debug)]
struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.time == o.time && self.seq == o.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, we want the earliest first.
        (o.time, o.seq).cmp(&(self.time, self.seq))
    }
}

/// The event heap, generic over the event type: the instance engine uses [`Event`], the
/// serverless and multi-service engines bring their own and order them the same way.
#[derive(Clone, Debug)]
pub struct EventQueue<E = Event> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: BinaryHeap::new(), seq: 0 }
    }
}

impl<E> EventQueue<E> {
    pub fn push(&mut self, time: Time, event: E) {
        self.seq += 1;
        self.heap.push(Entry { time, seq: self.seq, event });
    }
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|e| e.time)
    }
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.heap.pop().map(|e| (e.time, e.event))
    }
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
