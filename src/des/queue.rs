//! The event queue: a heap ordered by `(time, sequence number)`, so events at
//! equal times run in the order they were scheduled and every run is deterministic.

use super::time::Time;

/// The event heap, generic over the event type: each engine brings its own events and
/// they are ordered the same way.
///
/// A 4-ary min-heap on one 128-bit key, `time · 2^64 + sequence number`: unique keys, so
/// the order is total and equal times pop in the order they were pushed. Shallower than
/// a binary heap, and one integer comparison per step.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
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
        let key = self.next_key(time);
        self.push_key(key, event);
    }

    /// The key an event scheduled now for `time` gets, taking its sequence number: a
    /// caller that keeps the event elsewhere (an instance's own completions) orders it
    /// against the queue exactly as if it had been pushed.
    #[inline]
    pub fn next_key(&mut self, time: Time) -> u128 {
        self.seq += 1;
        (u128::from(time.as_micros()) << 64) | u128::from(self.seq)
    }

    /// Pushes an event under a key from [`next_key`](Self::next_key).
    pub fn push_key(&mut self, key: u128, event: E) {
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

    /// Every pending event with its key, in no particular order.
    pub fn entries(&self) -> &[(u128, E)] {
        &self.heap
    }

    /// The earliest event with its key.
    pub fn peek(&self) -> Option<&(u128, E)> {
        self.heap.first()
    }

    /// The earliest key, `u128::MAX` when empty.
    #[inline]
    pub fn peek_key(&self) -> u128 {
        self.heap.first().map_or(u128::MAX, |e| e.0)
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
        // A node with all four children picks the earliest in a two-round tournament
        // (three comparisons, no data-dependent branch); the last, partial node loops.
        let heap = &mut self.heap[..];
        let mut i = 0;
        loop {
            let first = i * ARITY + 1;
            let (best, best_key) = if let Some(c) = heap.get(first..first + ARITY) {
                let (a, ka) = if c[1].0 < c[0].0 { (1, c[1].0) } else { (0, c[0].0) };
                let (b, kb) = if c[3].0 < c[2].0 { (3, c[3].0) } else { (2, c[2].0) };
                if kb < ka { (first + b, kb) } else { (first + a, ka) }
            } else if first < n {
                let mut best = first;
                for c in first + 1..n {
                    if heap[c].0 < heap[best].0 {
                        best = c;
                    }
                }
                (best, heap[best].0)
            } else {
                break;
            };
            if last.0 <= best_key {
                break;
            }
            heap[i] = heap[best];
            i = best;
        }
        heap[i] = last;
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

    /// Pushes at `now + span(k)` interleaved with pops, checked against a stable sort by
    /// time of everything pushed.
    fn check_against_sort(seed: u64, span: impl Fn(u64) -> u64) {
        use crate::des::rng::Stream;
        use rand::RngExt;
        let draw = Stream::new(seed, 99);
        let mut q: EventQueue<u32> = EventQueue::default();
        let mut pending: Vec<(u64, u64, u32)> = Vec::new(); // (time, push number, tag)
        let mut pushes = 0u64;
        let mut now = 0u64;
        for k in 0..200_000u64 {
            if draw.rng(k).random::<f64>() < 0.55 || q.is_empty() {
                let t = now + span(k);
                pushes += 1;
                q.push(Time::from_micros(t), k as u32);
                pending.push((t, pushes, k as u32));
            } else {
                let peeked = q.peek_time();
                let (t, e) = q.pop().expect("not empty");
                let i = (0..pending.len()).min_by_key(|&i| (pending[i].0, pending[i].1)).expect("not empty");
                let want = pending.swap_remove(i);
                assert_eq!((t.as_micros(), e), (want.0, want.2));
                assert_eq!(peeked, Some(t));
                now = t.as_micros();
            }
            assert_eq!(q.len(), pending.len());
        }
    }

    use rand::RngExt;

    /// Many equal times.
    #[test]
    fn pops_follow_time_then_push_order() {
        let draw = crate::des::rng::Stream::new(7, 98);
        check_against_sort(7, |k| draw.rng(k).random_range(0..50u64));
    }

    /// Times from microseconds to hours, popped in one order.
    #[test]
    fn wide_time_spans_pop_in_one_order() {
        let draw = crate::des::rng::Stream::new(8, 98);
        check_against_sort(8, |k| {
            let scale =
                [50u64, 5_000, 1_000_000, 4_000_000, 4_300_000, 3_600_000_000][draw.rng(k).random_range(0..6usize)];
            draw.rng(k ^ (1 << 50)).random_range(0..scale)
        });
    }

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut q = EventQueue::default();
        q.push(Time::from_secs(2), 0u32);
        q.push(Time::from_secs(1), 1);
        q.push(Time::from_secs(1), 2);
        q.push(Time::from_secs(1), 3);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, vec![1, 2, 3, 0]);
    }
}
