//! The event queue: what is due, earliest first, and among events due at the
//! same instant the one scheduled first.
//!
//! A binary min-heap, like `std`'s `BinaryHeap`, but of small `Copy` keys
//! (time, sequence number, slot), with the events themselves kept aside in
//! slots that are written once when scheduled and read once when due.
//! Sifting then moves 24-byte keys instead of whole events (64 bytes for a
//! delivery of a 16-byte message), and never reads back an event just
//! written field by field in wider loads, which the CPU cannot forward from
//! its store buffer and stalls on. Keys are unique (the sequence number), so
//! the order, and with it the run, is exactly that of any correct priority
//! queue on (time, sequence).

use crate::time::Time;

/// Where an event stands in the heap.
#[derive(Clone, Copy, Debug)]
struct Key {
    at: Time,
    seq: u64,
    /// Where the event is kept; never decides the order (`seq` is unique).
    slot: usize,
}

impl Key {
    /// Time, then sequence, as one number: compared without branches, so
    /// that choosing between two children costs no misprediction.
    #[inline(always)]
    fn order(self) -> u128 {
        ((self.at.0 as u128) << 64) | self.seq as u128
    }
}

/// Events of type `T`, each due at a point in true time.
pub(crate) struct Queue<T> {
    /// A min-heap: `heap[i] <= heap[2i + 1]` and `heap[i] <= heap[2i + 2]`.
    heap: Vec<Key>,
    /// The events, by slot; `None` in a free slot.
    slots: Vec<Option<T>>,
    /// Free slots, the most recently freed last (reused first: it is warm).
    free: Vec<usize>,
    next_seq: u64,
}

impl<T> Queue<T> {
    pub(crate) fn new() -> Self {
        Queue {
            heap: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
        }
    }

    /// Whether nothing is due.
    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// When the next event is due.
    #[inline]
    pub(crate) fn next_time(&self) -> Option<Time> {
        self.heap.first().map(|k| k.at)
    }

    /// Schedules `event` at `at`, after everything already due then.
    ///
    /// Inlined so that the event is built in its slot rather than on the
    /// caller's stack and copied (see the module's note on stalls).
    #[inline(always)]
    pub(crate) fn push(&mut self, at: Time, event: T) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                self.slots.len() - 1
            }
        };
        let key = Key {
            at,
            seq: self.next_seq,
            slot,
        };
        self.next_seq += 1;
        // Sift up: move parents down into the hole until the key fits.
        let mut hole = self.heap.len();
        self.heap.push(key);
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if self.heap[parent].order() <= key.order() {
                break;
            }
            self.heap[hole] = self.heap[parent];
            hole = parent;
        }
        self.heap[hole] = key;
    }

    /// Takes the next event due, with its time.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(Time, T)> {
        let last = self.heap.pop()?;
        let top = match self.heap.first().copied() {
            None => last,
            Some(top) => {
                self.sift_down(last);
                top
            }
        };
        let event = self.slots[top.slot].take().expect("a queued event's slot");
        self.free.push(top.slot);
        Some((top.at, event))
    }

    /// Puts `key` in the root's place: as `std`'s `BinaryHeap` does, moves
    /// the hole down to a leaf along the smaller children (one comparison a
    /// level), then up until `key` fits, which is rarely far, since `key`
    /// came from the bottom.
    fn sift_down(&mut self, key: Key) {
        let len = self.heap.len();
        let mut hole = 0;
        let mut child = 1;
        while child + 1 < len {
            child += usize::from(self.heap[child + 1].order() < self.heap[child].order());
            self.heap[hole] = self.heap[child];
            hole = child;
            child = 2 * hole + 1;
        }
        if child < len {
            self.heap[hole] = self.heap[child];
            hole = child;
        }
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if self.heap[parent].order() <= key.order() {
                break;
            }
            self.heap[hole] = self.heap[parent];
            hole = parent;
        }
        self.heap[hole] = key;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SimRng;
    use std::collections::BTreeMap;

    /// Pops in (time, order of scheduling) order, against a sorted map,
    /// through random interleavings of pushes and pops with many ties.
    #[test]
    fn pops_earliest_then_first_scheduled() {
        for seed in 0..50 {
            let mut rng = SimRng::new(seed);
            let mut queue = Queue::new();
            let mut expected = BTreeMap::new();
            let mut seq = 0u64;
            let mut now = 0;
            for _ in 0..2_000 {
                if rng.below(3) > 0 {
                    let at = now + rng.below(8);
                    queue.push(Time(at), seq);
                    expected.insert((at, seq), seq);
                    seq += 1;
                } else {
                    let want = expected.pop_first().map(|((at, _), v)| (Time(at), v));
                    let got = queue.pop();
                    assert_eq!(got, want, "seed {seed}");
                    if let Some((at, _)) = got {
                        now = at.0;
                    }
                }
                assert_eq!(queue.next_time(), expected.keys().next().map(|k| Time(k.0)));
                assert_eq!(queue.is_empty(), expected.is_empty());
            }
            while let Some(got) = queue.pop() {
                let want = expected.pop_first().map(|((at, _), v)| (Time(at), v));
                assert_eq!(Some(got), want);
            }
            assert!(expected.is_empty());
        }
    }
}
