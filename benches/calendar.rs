//! A calendar queue keyed by the churn's clock, to race the engine's radix
//! heap under the floor's pushes and pops (docs/performance.md, "Eighth
//! round"): the design issue 20 names. A measurement, not a replacement: it
//! has the engine queue's contract (a monotone clock, `(time, push order)`
//! order, clamping pushes into the past) and is tested against a binary heap,
//! but the model does not use it.
//!
//! Buckets of `2^WIDTH_BITS` ms cover a window of `2^BUCKET_BITS` buckets
//! after the current one; keys beyond the window wait in a binary heap and
//! move into their bucket when the window reaches it (a bucket entering the
//! window is empty, so they come first there, in heap order). The current
//! bucket is a list sorted from the latest key down, popped from its end;
//! every other bucket is appended to and sorted once, when it becomes current.
//! A bitmap over the buckets finds the next one that holds events.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// 2,048 ms a bucket: some 22 of the peer churn's events (one each 91 ms),
/// sorted once. Narrower buckets pay a bitmap step per few events, wider ones
/// a longer sort.
const WIDTH_BITS: u32 = 11;
/// 2^13 buckets: a window of 4.7 h, past 99 % of the peer churn's hour-long
/// lifetimes; the rest wait in the heap.
const BUCKET_BITS: u32 = 13;
const BUCKETS: u64 = 1 << BUCKET_BITS;

#[derive(Clone, Copy)]
struct Entry<E> {
    key: u64,
    event: E,
}

/// An event beyond the window, ordered by `(key, push order)`.
struct Far<E> {
    key: u64,
    sequence: u64,
    event: E,
}

impl<E> PartialEq for Far<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.key, self.sequence) == (other.key, other.sequence)
    }
}
impl<E> Eq for Far<E> {}
impl<E> PartialOrd for Far<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Far<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.key, self.sequence).cmp(&(other.key, other.sequence))
    }
}

/// Pending events ordered by `(time in ms, push order)`.
pub struct CalendarQueue<E> {
    /// The last key popped (or zero): no key pending is below it.
    cursor: u64,
    /// The current bucket's number (key >> WIDTH_BITS).
    current: u64,
    /// Every pending key below `(current + 1) << WIDTH_BITS`, latest first, the
    /// oldest of equal keys last.
    now: Vec<Entry<E>>,
    /// Bucket `b` (current < b < current + BUCKETS) at `b % BUCKETS`, in push order.
    buckets: Vec<Vec<Entry<E>>>,
    /// One bit per bucket that holds events.
    occupied: Vec<u64>,
    far: BinaryHeap<Reverse<Far<E>>>,
    pushed: u64,
    len: usize,
}

/// A summary: the buckets are too many to print.
impl<E> std::fmt::Debug for CalendarQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalendarQueue").field("len", &self.len).field("last_pop", &self.cursor).finish()
    }
}

impl<E: Copy> Default for CalendarQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> CalendarQueue<E> {
    pub fn new() -> Self {
        CalendarQueue {
            cursor: 0,
            current: 0,
            now: Vec::new(),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: vec![0; (BUCKETS / 64) as usize],
            far: BinaryHeap::new(),
            pushed: 0,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedule `event` at `at_ms`, clamped to the last pop's time.
    #[inline]
    pub fn push(&mut self, at_ms: u64, event: E) {
        let key = at_ms.max(self.cursor);
        self.len += 1;
        self.pushed += 1;
        let bucket = key >> WIDTH_BITS;
        if bucket <= self.current {
            // After the entries with greater keys, before the equal ones. (A
            // key below the current bucket: `advance` moved past the cursor
            // without popping, for a `pop_until` whose limit came first.)
            let at = self.now.partition_point(|e| e.key > key);
            self.now.insert(at, Entry { key, event });
        } else if bucket < self.current + BUCKETS {
            self.file(bucket, Entry { key, event });
        } else {
            self.far.push(Reverse(Far { key, sequence: self.pushed, event }));
        }
    }

    #[inline(always)]
    fn file(&mut self, bucket: u64, entry: Entry<E>) {
        let slot = (bucket % BUCKETS) as usize;
        self.occupied[slot / 64] |= 1 << (slot % 64);
        self.buckets[slot].push(entry);
    }

    /// The earliest event, if it is due at or before `limit_ms`.
    #[inline]
    pub fn pop_until(&mut self, limit_ms: u64) -> Option<(u64, E)> {
        if self.now.is_empty() && !self.advance() {
            return None;
        }
        let last = self.now[self.now.len() - 1];
        if last.key > limit_ms {
            return None;
        }
        self.now.pop();
        self.cursor = last.key;
        self.len -= 1;
        Some((last.key, last.event))
    }

    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.pop_until(u64::MAX)
    }

    /// Make the next bucket with events current; false if nothing is pending.
    #[inline(never)]
    fn advance(&mut self) -> bool {
        let next = match self.next_occupied() {
            Some(bucket) => bucket,
            None => match self.far.peek() {
                Some(Reverse(far)) => far.key >> WIDTH_BITS,
                None => return false,
            },
        };
        let slot = (next % BUCKETS) as usize;
        self.occupied[slot / 64] &= !(1 << (slot % 64));
        std::mem::swap(&mut self.now, &mut self.buckets[slot]);
        self.current = next;
        // The window now reaches bucket `next + BUCKETS`: what waited for it
        // moves in. (Compared as bucket numbers: as keys, the window's end
        // would overflow near the end of time.)
        let end = next + BUCKETS;
        while self.far.peek().is_some_and(|Reverse(far)| far.key >> WIDTH_BITS < end) {
            let Reverse(far) = self.far.pop().expect("peeked");
            let entry = Entry { key: far.key, event: far.event };
            match far.key >> WIDTH_BITS {
                bucket if bucket == next => self.now.push(entry),
                bucket => self.file(bucket, entry),
            }
        }
        // Latest first, and the oldest of equal keys last: reverse push order,
        // then a stable sort from the greatest key down.
        self.now.reverse();
        self.now.sort_by_key(|e| Reverse(e.key));
        true
    }

    /// The first bucket after the current one that holds events.
    fn next_occupied(&self) -> Option<u64> {
        let words = self.occupied.len();
        let start = ((self.current + 1) % BUCKETS) as usize;
        let (first_word, first_bit) = (start / 64, start % 64);
        // The first word from `first_bit` on, then the others in turn, then the
        // first word's bits below `first_bit` (the window wraps around).
        let head = self.occupied[first_word] & (u64::MAX << first_bit);
        if head != 0 {
            return Some(self.bucket_of(first_word * 64 + head.trailing_zeros() as usize));
        }
        for step in 1..=words {
            let word = (first_word + step) % words;
            let mut bits = self.occupied[word];
            if step == words {
                bits &= !(u64::MAX << first_bit);
            }
            if bits != 0 {
                return Some(self.bucket_of(word * 64 + bits.trailing_zeros() as usize));
            }
        }
        None
    }

    /// The bucket number in the window held at `slot`.
    fn bucket_of(&self, slot: usize) -> u64 {
        let base = self.current + 1;
        let offset = (slot as u64 + BUCKETS - base % BUCKETS) % BUCKETS;
        base + offset
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// A hold model with delays from 0 to well past the window, bursts of equal
    /// keys and pops bounded by a limit, against a binary heap on
    /// `(key, push order)`.
    #[test]
    fn matches_a_binary_heap() {
        for seed in 0..8 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut queue = CalendarQueue::new();
            let mut reference = BinaryHeap::new();
            let (mut now, mut pushed) = (0u64, 0u64);
            for _ in 0..20_000 {
                if rng.random_bool(0.55) {
                    let delay = match rng.random_range(0..4) {
                        0 => 0,
                        1 => rng.random_range(0..300),
                        2 => rng.random_range(0..20_000_000),
                        _ => rng.random_range(0..3) * (BUCKETS << WIDTH_BITS),
                    };
                    pushed += 1;
                    queue.push(now + delay, pushed);
                    reference.push(Reverse((now + delay, pushed)));
                } else {
                    let limit = now + rng.random_range(0..5_000_000);
                    let expected = reference.peek().filter(|Reverse((key, _))| *key <= limit).map(|&Reverse(e)| e);
                    if expected.is_some() {
                        reference.pop();
                    }
                    let popped = queue.pop_until(limit);
                    assert_eq!(popped, expected);
                    if let Some((key, _)) = popped {
                        now = key;
                    }
                }
                assert_eq!(queue.len(), reference.len());
            }
            while let Some(Reverse(expected)) = reference.pop() {
                assert_eq!(queue.pop(), Some(expected));
            }
            assert_eq!(queue.pop(), None);
        }
    }

    /// Keys at the end of time, where the window's end in ms would overflow.
    #[test]
    fn keys_near_the_end_of_time() {
        let mut queue = CalendarQueue::new();
        let window = BUCKETS << WIDTH_BITS;
        let keys = [u64::MAX, u64::MAX - window + 1, 5, u64::MAX, u64::MAX - window - 1, u64::MAX - 1];
        for (i, key) in keys.into_iter().enumerate() {
            queue.push(key, i);
        }
        let mut expected: Vec<(u64, usize)> = keys.into_iter().enumerate().map(|(i, k)| (k, i)).collect();
        expected.sort();
        let popped: Vec<(u64, usize)> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(popped, expected);
        queue.push(0, 9);
        assert_eq!(queue.pop(), Some((u64::MAX, 9)), "clamped to the last pop");
    }
}
