//! The pending-event queue: a radix heap on a monotone clock.
//!
//! Keys are times in milliseconds and the queue keeps a *cursor*, never above any
//! pending key: the time of the last event popped (or zero). A key's bits are cut
//! into digits: 12 bits for level 0, the next 11 for level 1, then 8 bits a level
//! (8 levels for 64-bit keys). A key is filed by the highest digit in which it
//! differs from the cursor: a key differing first in digit `L` sits in slot `d` of
//! level `L`, where `d` is the key's own digit `L` (always above the cursor's,
//! since keys never go below it); a key equal to the cursor counts as differing in
//! digit 0 and sits in the level-0 slot of the cursor's own lowest digit. Every
//! key of a lower level, or of a lower slot in the same level, is smaller than
//! every key above it, so the minimum lies in the lowest non-empty slot: one
//! occupancy bit per slot (120 words in all) and a summary over those words (one
//! `u128`) find it with two `trailing_zeros`.
//!
//! Level 0 holds one key per slot, so its events never move: the slot's first
//! event sits in a direct array (`firsts`, no chunk to allocate for the common
//! slot of one event), the others after it in the slot's list. When the lowest
//! slot is at level 0 its first event pops and the rest of the slot becomes the
//! `due` list, popped before anything else. A higher slot records its minimum key
//! on push; when it is the lowest, the cursor moves to that minimum and its events
//! are refiled against the new cursor, into strictly lower levels (a slot of one
//! event pops at once instead; a level-1 slot's keys differ from the new cursor
//! in digit 0 only, so they go straight to level 0). Each event therefore moves
//! at most once per level, and push, peek and pop are O(1) amortised.
//!
//! Why these digits: a churn's events are of two kinds. Arrivals come tens to
//! hundreds of ms apart; level 0 spans 4.1 s, so nearly all land there and never
//! move (the rest, those that cross a 4.1 s boundary, move once). Pod ends come a
//! lifetime ahead, 30 minutes to an hour in the bundled and peer churns; level
//! 1's 2,048 slots of 4.1 s span 2.3 hours, so a pod end that shares bits 23 and
//! up with the cursor is filed there and moves once, into level 0. One that
//! crosses a 2^23 ms boundary is filed at level 2 and moves twice: 38 % of the
//! peer churn's pod ends, 21 % of the million-pod scenario's (a boundary lies
//! within a delay `d` with probability about `d / 2^23`). With 8-bit digits
//! everywhere (until docs/performance.md's eighth round) such pod ends moved
//! twice, or three times. Wider digits cost cache: level 0's direct array is
//! 4,096 entries and level 1's list heads 2,048; the sweep in
//! docs/performance.md picked these widths against the peer churn, the
//! million-pod scenario and the hold bench.
//!
//! Equal keys pop in push order because (a) the slot of a key depends only on the
//! key and the cursor, and moving the cursor never changes it for events outside
//! the refiled slot, so all events with one key always share a slot; (b) pushes
//! append; and (c) a refile walks its slot in order and appends into slots that
//! are empty (every slot below the refiled one is). Pushes at the cursor while
//! `due` is not empty land in the cursor's level-0 slot, after `due`.
//!
//! Lists are FIFOs of fixed-size chunks carved from one arena, with a free list of
//! chunks: memory stays proportional to the events pending (plus at most one
//! partly filled chunk per slot), a refile frees the chunks it has read for the
//! slots it fills, and a queue in steady state does not allocate. Chunks are 16
//! entries: level 1 holds many short lists, and larger chunks would leave most
//! of each one's last chunk empty.

use std::fmt;

use crate::SimTime;

/// Level 0's digit: one slot per millisecond over 4,096 ms.
const LEVEL_0_BITS: u32 = 12;
/// Level 1's digit: 2,048 slots of 4,096 ms, 2.3 hours in all.
const LEVEL_1_BITS: u32 = 11;
/// The digits above level 1: 256 slots a level.
const UPPER_BITS: u32 = 8;
/// Level 0's slots, one key each.
const SLOTS_0: usize = 1 << LEVEL_0_BITS;
/// Levels needed to cover a 64-bit key.
const LEVELS: usize = 2 + (u64::BITS - LEVEL_0_BITS - LEVEL_1_BITS).div_ceil(UPPER_BITS) as usize;
/// Each level's first slot.
const BASE: [usize; LEVELS] = {
    let mut base = [0; LEVELS];
    base[1] = SLOTS_0;
    base[2] = SLOTS_0 + (1 << LEVEL_1_BITS);
    let mut level = 3;
    while level < LEVELS {
        base[level] = base[level - 1] + (1 << UPPER_BITS);
        level += 1;
    }
    base
};
const TOTAL_SLOTS: usize = BASE[LEVELS - 1] + (1 << UPPER_BITS);
/// Occupancy words, one bit per slot.
const WORDS: usize = TOTAL_SLOTS / 64;
const _: () = assert!(WORDS <= u128::BITS as usize, "one summary bit per occupancy word");
const _: () = assert!(TOTAL_SLOTS.is_multiple_of(64) && SLOTS_0.is_multiple_of(64), "levels fill whole words");
const _: () = assert!(
    LEVEL_0_BITS + LEVEL_1_BITS + (LEVELS as u32 - 2) * UPPER_BITS >= u64::BITS,
    "the levels cover a 64-bit key"
);
/// Events per arena chunk.
const CHUNK: u32 = 16;
/// No chunk.
const NIL: u32 = u32::MAX;

/// Pending events ordered by `(time, insertion sequence)`.
///
/// Built for a monotone simulation clock: a push must not be earlier than the time
/// of the last event popped (see the module documentation for the design). Kept
/// behind its own type so the implementation can change without touching the model.
#[derive(Clone)]
pub struct EventQueue<E> {
    /// All pending keys are `>= cursor`; the time of the last pop (or zero).
    cursor: u64,
    /// Events at `cursor` that pop before everything in the slots: the rest of the
    /// level-0 slot popped last.
    due: List,
    /// Level 0 slot `d`'s first (oldest) entry; its other entries, all with the
    /// same key, are in `slots[d]`. `SLOTS_0` long once anything was pushed.
    firsts: Vec<Entry<E>>,
    /// `TOTAL_SLOTS` lists, slot `d` of level `L` at `BASE[L] + d`.
    slots: Box<[List; TOTAL_SLOTS]>,
    /// Bit `s % 64` of `occupied[s / 64]` is set when slot `s` is non-empty (for
    /// level 0: when `firsts[s]` holds an entry).
    occupied: [u64; WORDS],
    /// Bit `w` is set when `occupied[w] != 0`.
    words: u128,
    chunks: Chunks<E>,
    len: usize,
}

#[derive(Clone, Copy)]
struct Entry<E> {
    key: u64,
    event: E,
}

/// A FIFO of entries in a chain of chunks: `read` is the arena index of the oldest,
/// `write` one past the newest (both in the same chunk or linked through `next`).
/// `write` is zero when the list is empty, a multiple of `CHUNK` when its last
/// chunk is full, and otherwise the next free place in its last chunk.
#[derive(Debug, Clone, Copy)]
struct List {
    read: u32,
    write: u32,
    /// The smallest key in the list (`u64::MAX` when empty; unused at level 0).
    min: u64,
}

impl List {
    const EMPTY: List = List { read: 0, write: 0, min: u64::MAX };

    fn is_empty(&self) -> bool {
        self.write == 0
    }
}

/// Fixed-size chunks of entries carved from one arena, with a free list.
#[derive(Clone)]
struct Chunks<E> {
    /// Chunk `c` is `arena[c * CHUNK..(c + 1) * CHUNK]`.
    arena: Vec<Entry<E>>,
    /// The chunk after chunk `c` in its list (or in the free list).
    next: Vec<u32>,
    /// First free chunk.
    free: u32,
}

impl<E: Copy> Chunks<E> {
    /// Append `entry` to `list`.
    #[inline(always)]
    fn push_back(&mut self, list: &mut List, entry: Entry<E>) {
        let write = list.write;
        if write.is_multiple_of(CHUNK) {
            return self.push_back_in_new_chunk(list, entry);
        }
        self.arena[write as usize] = entry;
        list.write = write + 1;
    }

    /// `push_back` when `list` is empty or its last chunk is full.
    #[inline(never)]
    fn push_back_in_new_chunk(&mut self, list: &mut List, entry: Entry<E>) {
        if self.free == NIL {
            self.grow(entry);
        }
        let chunk = self.free;
        self.free = self.next[chunk as usize];
        if list.write == 0 {
            list.read = chunk * CHUNK;
        } else {
            self.next[((list.write - 1) / CHUNK) as usize] = chunk;
        }
        self.arena[(chunk * CHUNK) as usize] = entry;
        list.write = chunk * CHUNK + 1;
    }

    /// Remove the oldest entry of a non-empty `list`, freeing its chunk when read.
    #[inline(always)]
    fn pop_front(&mut self, list: &mut List) -> Entry<E> {
        let read = list.read;
        let entry = self.arena[read as usize];
        if read + 1 == list.write {
            self.release(read / CHUNK);
            *list = List::EMPTY;
        } else if (read + 1).is_multiple_of(CHUNK) {
            let chunk = read / CHUNK;
            list.read = self.next[chunk as usize] * CHUNK;
            self.release(chunk);
        } else {
            list.read = read + 1;
        }
        entry
    }

    fn release(&mut self, chunk: u32) {
        self.next[chunk as usize] = self.free;
        self.free = chunk;
    }

    /// Add a chunk to the free list (`fill` is any value: slots are written
    /// before they are read).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, fill: Entry<E>) {
        let chunk = u32::try_from(self.next.len()).ok().filter(|&c| c < NIL / CHUNK).expect("arena full");
        self.arena.extend(std::iter::repeat_n(fill, CHUNK as usize));
        self.next.push(self.free);
        self.free = chunk;
    }
}

/// A summary: the arena holds stale copies of popped events, not worth printing.
impl<E> fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventQueue")
            .field("len", &self.len)
            .field("last_pop", &self.now())
            .field("next", &self.peek_time())
            .field("arena_chunks", &self.chunks.next.len())
            .finish()
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self {
            cursor: 0,
            due: List::EMPTY,
            firsts: Vec::new(),
            slots: Box::new([List::EMPTY; TOTAL_SLOTS]),
            occupied: [0; WORDS],
            words: 0,
            chunks: Chunks { arena: Vec::new(), next: Vec::new(), free: NIL },
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The time of the next event to pop.
    pub fn peek_time(&self) -> Option<SimTime> {
        if !self.due.is_empty() {
            return Some(self.now());
        }
        let slot = self.lowest_slot()?;
        Some(SimTime::from_millis(self.min_key(slot)))
    }

    fn now(&self) -> SimTime {
        SimTime::from_millis(self.cursor)
    }

    /// The next event to pop, when it is known without moving anything (the head
    /// of `due`, or the first event of the lowest slot if that is at level 0);
    /// `None` otherwise. A hint for prefetching: a push can still come first.
    #[inline]
    pub fn peek_ready(&self) -> Option<&E> {
        if !self.due.is_empty() {
            return Some(&self.chunks.arena[self.due.read as usize].event);
        }
        let slot = self.lowest_slot()?;
        (slot < SLOTS_0).then(|| &self.firsts[slot].event)
    }

    /// The non-empty slot holding the smallest keys.
    #[inline(always)]
    fn lowest_slot(&self) -> Option<usize> {
        if self.words == 0 {
            return None;
        }
        let word = self.words.trailing_zeros() as usize;
        Some(word * 64 + self.occupied[word].trailing_zeros() as usize)
    }

    /// The smallest key in non-empty `slot`.
    #[inline(always)]
    fn min_key(&self, slot: usize) -> u64 {
        if slot < SLOTS_0 { self.firsts[slot].key } else { self.slots[slot].min }
    }

    /// Clear the occupancy bit of `slot`, the lowest non-empty slot: the lowest set
    /// bit of its word, which is the lowest non-zero word.
    #[inline(always)]
    fn vacate_lowest(&mut self, slot: usize) {
        debug_assert_eq!(self.lowest_slot(), Some(slot));
        let word = &mut self.occupied[slot / 64];
        *word &= *word - 1;
        if *word == 0 {
            self.words &= self.words - 1;
        }
    }
}

impl<E: Copy> EventQueue<E> {
    /// Schedule `event` at `at`.
    ///
    /// `at` must not be earlier than the time of the last event popped (the
    /// [`Simulation`](crate::Simulation) clamps to its clock). Debug builds assert
    /// it; release builds clamp such an event to that time, so it pops after the
    /// events already due then.
    #[inline]
    pub fn push(&mut self, at: SimTime, event: E) {
        let key = at.as_millis();
        debug_assert!(key >= self.cursor, "event pushed at {at:?}, before the last pop at {:?}", self.now());
        self.file(Entry { key: key.max(self.cursor), event });
        self.len += 1;
    }

    /// [`pop`](Self::pop) if the earliest event is due at or before `limit`.
    #[inline]
    pub fn pop_until(&mut self, limit: SimTime) -> Option<(SimTime, E)> {
        let limit = limit.as_millis();
        if !self.due.is_empty() {
            return self.pop_due(limit);
        }
        let slot = self.lowest_slot()?;
        if slot >= SLOTS_0 {
            return self.pop_above_level_0(slot, limit);
        }
        let first = self.firsts[slot];
        if first.key > limit {
            return None;
        }
        Some(self.pop_first(slot, first))
    }

    /// Pop `first`, the first entry of level-0 `slot` (the lowest); the slot's
    /// other entries become due.
    #[inline(always)]
    fn pop_first(&mut self, slot: usize, first: Entry<E>) -> (SimTime, E) {
        self.vacate_lowest(slot);
        self.cursor = first.key;
        if !self.slots[slot].is_empty() {
            self.due = std::mem::replace(&mut self.slots[slot], List::EMPTY);
        }
        self.len -= 1;
        (self.now(), first.event)
    }

    /// `pop_until` when `due` is not empty.
    #[inline(never)]
    fn pop_due(&mut self, limit: u64) -> Option<(SimTime, E)> {
        if self.cursor > limit {
            return None;
        }
        self.len -= 1;
        Some((self.now(), self.chunks.pop_front(&mut self.due).event))
    }

    /// `pop_until` when `due` is empty and `slot`, the lowest, is above level 0.
    #[inline(never)]
    fn pop_above_level_0(&mut self, slot: usize, limit: u64) -> Option<(SimTime, E)> {
        let mut list = self.slots[slot];
        if list.min > limit {
            return None;
        }
        self.slots[slot] = List::EMPTY;
        self.vacate_lowest(slot);
        self.cursor = list.min;
        if list.read + 1 == list.write {
            // One event: no need to refile it.
            self.len -= 1;
            return Some((self.now(), self.chunks.pop_front(&mut list).event));
        }
        // Refile against the new cursor: the events at the cursor land in the
        // level-0 slot of its lowest digit. A level-1 slot's keys differ from the
        // cursor in digit 0 only: they all go to level 0.
        if slot < BASE[2] {
            self.refile::<true>(list);
        } else {
            self.refile::<false>(list);
        }
        let slot = self.cursor as usize % SLOTS_0;
        Some(self.pop_first(slot, self.firsts[slot]))
    }

    /// Remove the earliest event; among equal times, the one pushed first.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.pop_until(SimTime::MAX)
    }

    /// File every entry of `list` (taken out of its slot) again, in order; all to
    /// level 0 when `TO_LEVEL_0`.
    #[inline(always)]
    fn refile<const TO_LEVEL_0: bool>(&mut self, list: List) {
        let mut read = list.read;
        loop {
            let chunk = read / CHUNK;
            let last = if (list.write - 1) / CHUNK == chunk { list.write - 1 } else { (chunk + 1) * CHUNK - 1 };
            for i in read..last {
                let entry = self.chunks.arena[i as usize];
                self.refile_entry::<TO_LEVEL_0>(entry);
            }
            // Free the chunk before filing its last entry: it is hot, and filing
            // may reuse it.
            let entry = self.chunks.arena[last as usize];
            let after = self.chunks.next[chunk as usize];
            self.chunks.release(chunk);
            self.refile_entry::<TO_LEVEL_0>(entry);
            if last + 1 == list.write {
                return;
            }
            read = after * CHUNK;
        }
    }

    #[inline(always)]
    fn refile_entry<const TO_LEVEL_0: bool>(&mut self, entry: Entry<E>) {
        if TO_LEVEL_0 {
            self.file_level_0(entry.key as usize % SLOTS_0, entry);
        } else {
            self.file(entry);
        }
    }

    /// The first push: `firsts` gets its `SLOTS_0` places, all `entry` (it is in
    /// the right one; the others are written before they are read).
    #[cold]
    #[inline(never)]
    fn init_firsts(&mut self, entry: Entry<E>) {
        self.firsts = vec![entry; SLOTS_0];
    }

    /// Add `entry` to the slot its key belongs in relative to the cursor.
    #[inline(always)]
    fn file(&mut self, entry: Entry<E>) {
        // The highest digit in which the key differs from the cursor picks the
        // level; a key equal to the cursor counts as differing in digit 0 (`| 1`),
        // so it goes to the level-0 slot of the cursor's own lowest digit.
        let top = ((entry.key ^ self.cursor) | 1).ilog2();
        if top < LEVEL_0_BITS {
            return self.file_level_0(entry.key as usize % SLOTS_0, entry);
        }
        // Level 1, or an upper level. (Computed, not looked up in tables of
        // each level's shift and base: the hold bench measured those loads.)
        let slot = if top < LEVEL_0_BITS + LEVEL_1_BITS {
            BASE[1] + (entry.key >> LEVEL_0_BITS) as usize % (1 << LEVEL_1_BITS)
        } else {
            let upper = (top - LEVEL_0_BITS - LEVEL_1_BITS) / UPPER_BITS;
            let shift = LEVEL_0_BITS + LEVEL_1_BITS + upper * UPPER_BITS;
            BASE[2] + (upper as usize) * (1 << UPPER_BITS) + (entry.key >> shift) as usize % (1 << UPPER_BITS)
        };
        self.occupied[slot / 64] |= 1 << (slot % 64);
        self.words |= 1 << (slot / 64);
        let list = &mut self.slots[slot];
        list.min = list.min.min(entry.key);
        self.chunks.push_back(list, entry);
    }

    /// `file` for an entry whose key differs from the cursor in digit 0 only:
    /// first in level-0 slot `digit`, or after the others there (same key).
    #[inline(always)]
    fn file_level_0(&mut self, digit: usize, entry: Entry<E>) {
        let (word, bit) = (digit / 64, 1 << (digit % 64));
        if self.occupied[word] & bit != 0 {
            return self.chunks.push_back(&mut self.slots[digit], entry);
        }
        self.occupied[word] |= bit;
        self.words |= 1 << word;
        match self.firsts.get_mut(digit) {
            Some(first) => *first = entry,
            None => self.init_firsts(entry),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use proptest::prelude::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn t(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    /// The specification: a binary heap on `(time, sequence)`.
    #[derive(Default)]
    struct Reference {
        heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
        seq: u64,
    }

    impl Reference {
        fn push(&mut self, at: u64, event: u32) {
            self.heap.push(Reverse((at, self.seq, event)));
            self.seq += 1;
        }
        fn pop(&mut self) -> Option<(SimTime, u32)> {
            self.heap.pop().map(|Reverse((at, _, event))| (t(at), event))
        }
        fn peek_time(&self) -> Option<SimTime> {
            self.heap.peek().map(|Reverse((at, _, _))| t(*at))
        }
    }

    fn drain<E: Copy>(queue: &mut EventQueue<E>) -> Vec<(SimTime, E)> {
        std::iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn empty_queue() {
        let mut queue = EventQueue::<u8>::new();
        assert!(queue.is_empty());
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.peek_time(), None);
        assert_eq!(queue.pop(), None);
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn pops_in_time_then_push_order() {
        let mut queue = EventQueue::new();
        for (at, event) in [(5, 'a'), (1, 'b'), (5, 'c'), (1, 'd'), (0, 'e'), (1 << 40, 'f'), (64, 'g'), (63, 'h')] {
            queue.push(t(at), event);
        }
        assert_eq!(queue.len(), 8);
        assert_eq!(queue.peek_time(), Some(t(0)));
        let order: Vec<char> = drain(&mut queue).into_iter().map(|(_, e)| e).collect();
        assert_eq!(order, ['e', 'b', 'd', 'a', 'c', 'h', 'g', 'f']);
        assert!(queue.is_empty());
    }

    #[test]
    fn pop_until_leaves_later_events_pending() {
        let mut queue = EventQueue::new();
        queue.push(t(5), 'a');
        queue.push(t(5), 'b');
        queue.push(t(1000), 'c');
        assert_eq!(queue.pop_until(t(4)), None);
        assert_eq!(queue.pop_until(t(5)), Some((t(5), 'a')));
        // 'b' is due at 5, after the limit of 3.
        assert_eq!(queue.pop_until(t(3)), None);
        assert_eq!(queue.pop_until(t(999)), Some((t(5), 'b')));
        assert_eq!(queue.pop_until(t(999)), None);
        assert_eq!((queue.len(), queue.peek_time()), (1, Some(t(1000))));
        assert_eq!(queue.pop_until(SimTime::MAX), Some((t(1000), 'c')));
        assert_eq!(queue.pop_until(SimTime::MAX), None);
    }

    #[test]
    fn pushes_at_the_current_time_run_after_those_already_due() {
        let mut queue = EventQueue::new();
        queue.push(t(1000), 1);
        queue.push(t(1000), 2);
        queue.push(t(3000), 9);
        assert_eq!(queue.pop(), Some((t(1000), 1)));
        queue.push(t(1000), 3);
        queue.push(t(2000), 4);
        assert_eq!(queue.peek_time(), Some(t(1000)));
        assert_eq!(drain(&mut queue), [(t(1000), 2), (t(1000), 3), (t(2000), 4), (t(3000), 9)]);
    }

    #[test]
    fn equal_times_deep_in_the_levels_stay_fifo() {
        // Events at one far time, pushed while the cursor moves towards it in
        // steps (each to a prefix of its bits), are filed at levels 5, 4, 3, 2,
        // 1, 1, 0 and 0 over time and refiled down: order must survive it.
        let far: u64 = (1 << 50) + (1 << 40) + (1 << 35) + (1 << 30) + (1 << 20) + (1 << 13) + 100;
        let mut queue = EventQueue::new();
        let mut next = 0;
        for bits in [50, 40, 35, 30, 20, 13, 6, 5] {
            queue.push(t(far), next);
            next += 1;
            let step = far & !((1 << bits) - 1);
            queue.push(t(step), u32::MAX);
            assert_eq!(queue.pop(), Some((t(step), u32::MAX)));
        }
        queue.push(t(far), next);
        let popped = drain(&mut queue);
        assert_eq!(popped, (0..=next).map(|e| (t(far), e)).collect::<Vec<_>>());
    }

    #[test]
    fn extreme_times() {
        let mut queue = EventQueue::new();
        queue.push(SimTime::MAX, 'z');
        queue.push(t(u64::MAX - 1), 'y');
        queue.push(SimTime::MAX, 'x');
        queue.push(t(0), 'a');
        queue.push(t(1 << 63), 'm');
        queue.push(t((1 << 63) - 1), 'l');
        assert_eq!(queue.peek_time(), Some(t(0)));
        assert_eq!(
            drain(&mut queue),
            [
                (t(0), 'a'),
                (t((1 << 63) - 1), 'l'),
                (t(1 << 63), 'm'),
                (t(u64::MAX - 1), 'y'),
                (SimTime::MAX, 'z'),
                (SimTime::MAX, 'x')
            ]
        );
        // The cursor now sits at the end of time; the queue still works there.
        queue.push(SimTime::MAX, 'q');
        queue.push(SimTime::MAX, 'r');
        assert_eq!(drain(&mut queue), [(SimTime::MAX, 'q'), (SimTime::MAX, 'r')]);
    }

    /// Events within level 0's span are known before they pop; one far ahead is
    /// not until the queue refiles it.
    #[test]
    fn peek_ready_names_the_next_event_in_level_0() {
        let mut queue = EventQueue::new();
        assert_eq!(queue.peek_ready(), None);
        for (at, event) in [(10, 'b'), (3, 'a'), (10, 'c'), (5_000_000, 'z')] {
            queue.push(t(at), event);
        }
        for expected in ['a', 'b', 'c'] {
            assert_eq!(queue.peek_ready(), Some(&expected));
            assert_eq!(queue.pop().map(|(_, e)| e), Some(expected));
        }
        assert_eq!(queue.peek_ready(), None, "5,000 s ahead sits above level 0");
        assert_eq!(queue.pop().map(|(_, e)| e), Some('z'));
        assert_eq!(queue.peek_ready(), None);
    }

    #[test]
    fn clones_are_independent() {
        let mut queue = EventQueue::new();
        queue.push(t(7), "late");
        queue.push(t(3), "early");
        assert_eq!(queue.pop(), Some((t(3), "early")));
        let mut copy = queue.clone();
        assert_eq!(queue.pop(), Some((t(7), "late")));
        assert_eq!(copy.len(), 1);
        copy.push(t(5), "copy");
        assert_eq!(drain(&mut copy), [(t(5), "copy"), (t(7), "late")]);
        assert!(queue.is_empty());
        assert_eq!(format!("{copy:?}"), "EventQueue { len: 0, last_pop: 0.007s, next: None, arena_chunks: 0 }");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "before the last pop")]
    fn pushing_into_the_past_is_caught_in_debug_builds() {
        let mut queue = EventQueue::new();
        queue.push(t(10), ());
        queue.pop();
        queue.push(t(9), ());
    }

    /// A long hold run (pop the earliest, push one later) against the reference.
    #[test]
    fn hold_model_matches_the_reference() {
        for (pending, mean) in [(1, 1u64), (100, 3), (1000, 1_000_000), (5000, 1 << 40)] {
            let mut rng = ChaCha8Rng::seed_from_u64(pending as u64 ^ mean);
            let mut queue = EventQueue::new();
            let mut reference = Reference::default();
            for event in 0..pending {
                let at = rng.random_range(0..2 * mean);
                queue.push(t(at), event);
                reference.push(at, event);
            }
            for event in pending..pending + 50_000 {
                let (now, popped) = queue.pop().unwrap();
                assert_eq!(Some((now, popped)), reference.pop());
                let at = now.as_millis() + rng.random_range(0..2 * mean);
                queue.push(t(at), event);
                reference.push(at, event);
                assert_eq!(queue.peek_time(), reference.peek_time());
            }
            assert_eq!(queue.len(), pending as usize);
            while let Some(expected) = reference.pop() {
                assert_eq!(queue.pop(), Some(expected));
            }
            assert!(queue.is_empty());
        }
    }

    #[test]
    fn memory_follows_the_pending_count_and_steady_state_does_not_allocate() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut queue = EventQueue::new();
        let pending = 20_000;
        for event in 0..pending {
            queue.push(t(rng.random_range(0..2_000_000)), event);
        }
        let hold = |q: &mut EventQueue<u32>, rng: &mut ChaCha8Rng, n: usize| {
            for _ in 0..n {
                let (now, event) = q.pop().unwrap();
                q.push(t(now.as_millis() + rng.random_range(0..2_000_000)), event);
            }
        };
        // At most one partly filled chunk per list beyond the events themselves.
        let bound = pending as usize + (TOTAL_SLOTS + 1) * CHUNK as usize;
        hold(&mut queue, &mut rng, 200_000);
        let warm = (queue.chunks.arena.capacity(), queue.chunks.next.capacity());
        assert!(queue.chunks.arena.len() <= bound, "{} entries for {pending} pending", queue.chunks.arena.len());
        hold(&mut queue, &mut rng, 1_000_000);
        assert_eq!(
            (queue.chunks.arena.capacity(), queue.chunks.next.capacity()),
            warm,
            "the arena grew in steady state"
        );
        assert!(queue.chunks.arena.len() <= bound, "{} entries for {pending} pending", queue.chunks.arena.len());
        let free_chunks = |q: &EventQueue<u32>| {
            let (mut free, mut chunk) = (0, q.chunks.free);
            while chunk != NIL {
                free += 1;
                chunk = q.chunks.next[chunk as usize];
            }
            free
        };
        // Now, not just at the high-water mark: the chunks in use hold the
        // pending events plus at most one partly filled chunk per list in use
        // (every non-empty slot, and `due`).
        let in_use = (queue.chunks.next.len() - free_chunks(&queue)) * CHUNK as usize;
        let lists = queue.occupied.iter().map(|w| w.count_ones() as usize).sum::<usize>() + 1;
        assert!(in_use <= pending as usize + lists * CHUNK as usize, "{in_use} entries in use, {lists} lists");
        // Emptied, every chunk is back on the free list.
        drain(&mut queue);
        assert_eq!(free_chunks(&queue), queue.chunks.next.len());
        assert!(queue.slots.iter().all(List::is_empty) && queue.due.is_empty());
        assert_eq!((queue.words, queue.occupied), (0, [0; WORDS]));
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// Push this many events at the last popped time plus a delay of this shape.
        Push(Delay, usize),
        /// Pop this many times (more than pending is fine).
        Pop(usize),
        /// `pop_until` this many times with a limit this far after the last pop.
        PopUntil(u64, usize),
        /// Pop everything, then carry on.
        Drain,
    }

    #[derive(Debug, Clone)]
    enum Delay {
        Zero,
        Small(u64),
        /// Within a few level-0 spans: level-1 slots of several keys.
        Near(u64),
        Medium(u64),
        /// Across level 1 and into level 2 (a churn's pod ends).
        Wide(u64),
        Any(u64),
        ToMax(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let delay = prop_oneof![
            3 => Just(Delay::Zero),
            4 => (0u64..4).prop_map(Delay::Small),
            3 => (0u64..4 * SLOTS_0 as u64).prop_map(Delay::Near),
            3 => (0u64..100_000).prop_map(Delay::Medium),
            3 => (0u64..1 << 26).prop_map(Delay::Wide),
            1 => any::<u64>().prop_map(Delay::Any),
            1 => (0u64..3).prop_map(Delay::ToMax),
        ];
        // Mostly one at a time; sometimes bursts that span several arena chunks.
        let count = prop_oneof![8 => Just(1usize), 1 => 2usize..200];
        prop_oneof![
            6 => (delay, count.clone()).prop_map(|(delay, count)| Op::Push(delay, count)),
            4 => count.clone().prop_map(Op::Pop),
            2 => (0u64..2 * SLOTS_0 as u64, count).prop_map(|(after, count)| Op::PopUntil(after, count)),
            1 => Just(Op::Drain),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Against a binary heap of `(time, sequence)`, over random interleavings of
        /// pushes (never before the last pop) and pops.
        #[test]
        fn matches_a_binary_heap(ops in prop::collection::vec(op(), 0..400)) {
            let mut queue = EventQueue::new();
            let mut reference = Reference::default();
            let mut last = 0u64;
            let mut event = 0u32;
            for op in ops {
                match op {
                    Op::Push(delay, count) => {
                        let at = match delay {
                            Delay::Zero => last,
                            Delay::Small(d) | Delay::Near(d) | Delay::Medium(d) | Delay::Wide(d) | Delay::Any(d) => {
                                last.saturating_add(d)
                            }
                            Delay::ToMax(d) => u64::MAX - d.min(u64::MAX - last),
                        };
                        for _ in 0..count {
                            queue.push(t(at), event);
                            reference.push(at, event);
                            event += 1;
                        }
                    }
                    Op::Pop(count) => {
                        for _ in 0..count {
                            // A ready event is the one that pops next.
                            let ready = queue.peek_ready().copied();
                            let popped = queue.pop();
                            if ready.is_some() {
                                prop_assert_eq!(ready, popped.map(|(_, e)| e));
                            }
                            prop_assert_eq!(popped, reference.pop());
                            if let Some((at, _)) = popped {
                                last = at.as_millis();
                            }
                        }
                    }
                    Op::PopUntil(after, count) => {
                        let limit = last.saturating_add(after);
                        for _ in 0..count {
                            let popped = queue.pop_until(t(limit));
                            let expected = match reference.peek_time() {
                                Some(at) if at <= t(limit) => reference.pop(),
                                _ => None,
                            };
                            prop_assert_eq!(popped, expected);
                            if let Some((at, _)) = popped {
                                last = at.as_millis();
                            }
                        }
                    }
                    Op::Drain => {
                        while let Some(expected) = reference.pop() {
                            prop_assert_eq!(queue.pop(), Some(expected));
                            last = expected.0.as_millis();
                        }
                        prop_assert_eq!(queue.pop(), None);
                    }
                }
                prop_assert_eq!(queue.len(), reference.heap.len());
                prop_assert_eq!(queue.is_empty(), reference.heap.is_empty());
                prop_assert_eq!(queue.peek_time(), reference.peek_time());
            }
            while let Some(expected) = reference.pop() {
                prop_assert_eq!(queue.pop(), Some(expected));
            }
            prop_assert_eq!(queue.pop(), None);
        }
    }
}
