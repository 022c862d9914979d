/// A set of `capacity` numbered units (addresses, /28 blocks or /24s) that hands
/// out the lowest free one.
///
/// A 64-ary summary bitmap: level 0 has one bit per unit (1 = free); a bit of
/// level k+1 is set when word `bit` of level k has any free unit. Taking or
/// returning a unit touches one word per level, O(log64 n); counts are O(1).
#[derive(Debug, Clone)]
pub struct IndexPool {
    levels: Vec<Vec<u64>>,
    capacity: u32,
    allocated: u32,
}

impl IndexPool {
    /// A pool of `capacity` units, all free.
    pub fn new(capacity: u32) -> Self {
        let mut levels = Vec::new();
        let mut bits = capacity as usize;
        loop {
            let words = bits.div_ceil(64).max(1);
            let mut level = vec![u64::MAX; words];
            let tail = bits % 64;
            if tail != 0 {
                level[words - 1] = (1u64 << tail) - 1;
            }
            if bits == 0 {
                level[0] = 0;
            }
            levels.push(level);
            if words == 1 {
                break;
            }
            bits = words;
        }
        Self { levels, capacity, allocated: 0 }
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    #[inline]
    pub fn allocated(&self) -> u32 {
        self.allocated
    }

    #[inline]
    pub fn free(&self) -> u32 {
        self.capacity - self.allocated
    }

    pub fn is_allocated(&self, unit: u32) -> bool {
        assert!(unit < self.capacity, "unit {unit} outside a pool of {}", self.capacity);
        self.levels[0][unit as usize / 64] & (1 << (unit % 64)) == 0
    }

    /// Take the lowest free unit, or `None` when the pool is full.
    pub fn take_lowest(&mut self) -> Option<u32> {
        let top = self.levels.len() - 1;
        if self.levels[top][0] == 0 {
            return None;
        }
        let mut index = 0usize;
        for level in (0..=top).rev() {
            let word = self.levels[level][index];
            index = index * 64 + word.trailing_zeros() as usize;
        }
        let unit = index as u32;
        self.mark_taken(unit);
        Some(unit)
    }

    /// Take the `n` lowest free units, appending them to `into` in ascending
    /// order: what `n` calls of [`Self::take_lowest`] take, a word at a time.
    ///
    /// # Panics
    /// If fewer than `n` units are free: callers check [`Self::free`] first.
    pub fn take_lowest_many(&mut self, n: u32, into: &mut Vec<u32>) {
        assert!(n <= self.free(), "{n} units asked of a pool with {} free", self.free());
        let start = into.len();
        into.resize(start + n as usize, 0);
        let mut out = &mut into[start..];
        let top = self.levels.len() - 1;
        while !out.is_empty() {
            // The lowest level-0 word with a free unit.
            let mut index = 0usize;
            for level in (1..=top).rev() {
                index = index * 64 + self.levels[level][index].trailing_zeros() as usize;
            }
            let mut word = self.levels[0][index];
            let taken = (word.count_ones() as usize).min(out.len());
            let (these, rest) = std::mem::take(&mut out).split_at_mut(taken);
            for unit in these {
                *unit = (index * 64) as u32 + word.trailing_zeros();
                word &= word - 1;
            }
            out = rest;
            self.allocated += taken as u32;
            self.levels[0][index] = word;
            // An emptied word clears its bit in the levels above, as mark_taken does.
            let mut up = index;
            let mut level = 0;
            while self.levels[level][up] == 0 && level < top {
                level += 1;
                let bit = up % 64;
                up /= 64;
                self.levels[level][up] &= !(1u64 << bit);
            }
        }
    }

    /// Return a unit taken earlier.
    ///
    /// # Panics
    /// If the unit is free already: that is a double free, a bug in the caller.
    pub fn give_back(&mut self, unit: u32) {
        assert!(self.is_allocated(unit), "unit {unit} returned twice");
        let mut index = unit as usize;
        for level in 0..self.levels.len() {
            let word = &mut self.levels[level][index / 64];
            let was_empty = *word == 0;
            *word |= 1 << (index % 64);
            if !was_empty {
                break;
            }
            index /= 64;
        }
        self.allocated -= 1;
    }

    /// Return units taken earlier, a word of the bitmap at a time: the same
    /// state as giving each back in turn. A batch's units are usually few words
    /// (a dynamic node's surplus is the last batch it took).
    ///
    /// # Panics
    /// If a unit is free already or named twice: a double free.
    pub fn give_back_many(&mut self, units: &[u32]) {
        let mut rest = units;
        while let Some(&first) = rest.first() {
            let index = first as usize / 64;
            let mut mask = 0u64;
            let mut same_word = 0;
            for &unit in rest.iter().take_while(|&&unit| unit as usize / 64 == index) {
                mask |= 1u64 << (unit % 64);
                same_word += 1;
            }
            // Checked once per word, not per unit: a unit given twice in `units`
            // sets one bit for two, and the word's highest unit bounds them all.
            let highest = index as u64 * 64 + u64::from(63 - mask.leading_zeros());
            assert!(
                mask.count_ones() == same_word && highest < u64::from(self.capacity),
                "a unit of word {index} returned twice or outside the pool"
            );
            rest = &rest[same_word as usize..];
            let word = &mut self.levels[0][index];
            assert!(*word & mask == 0, "a unit of word {index} returned twice");
            let was_empty = *word == 0;
            *word |= mask;
            self.allocated -= mask.count_ones();
            if was_empty {
                // A word going from empty to non-empty sets its bit in the levels
                // above, as give_back does.
                let mut up = index;
                for level in 1..self.levels.len() {
                    let word = &mut self.levels[level][up / 64];
                    let was_empty = *word == 0;
                    *word |= 1 << (up % 64);
                    if !was_empty {
                        break;
                    }
                    up /= 64;
                }
            }
        }
    }

    /// Enlarge the pool to `capacity` units; the new ones are free, the old keep
    /// their state. For unconstrained ranges (`podip plan`), which grow on demand
    /// by doubling, so the bitmap stays proportional to what was ever taken.
    ///
    /// # Panics
    /// If `capacity` is smaller than the pool's: a bug in the caller.
    pub fn grow(&mut self, capacity: u32) {
        assert!(capacity >= self.capacity, "a pool of {} cannot shrink to {capacity}", self.capacity);
        let mut grown = IndexPool::new(capacity);
        for (unit, word) in self.levels[0].iter().enumerate() {
            // Taken units of the old pool (bit clear within its capacity).
            let start = unit as u32 * 64;
            let valid = self.capacity.saturating_sub(start).min(64);
            let valid_mask = if valid == 64 { u64::MAX } else { (1u64 << valid) - 1 };
            let mut taken = !word & valid_mask;
            while taken != 0 {
                let bit = taken.trailing_zeros();
                taken &= taken - 1;
                grown.mark_taken(start + bit);
            }
        }
        debug_assert_eq!(grown.allocated, self.allocated);
        *self = grown;
    }

    /// Take the lowest run of `len` free units (a power of two)
    /// whose first unit `u` has `(u + offset) % len == 0`, all or none: an
    /// aligned prefix inside a range that also hands out single addresses (AWS
    /// /28 prefixes next to secondary IPs). A scan of level 0, O(capacity / 64):
    /// no mode calls it per pod.
    ///
    /// # Panics
    /// If `len` is not a power of two.
    pub fn take_aligned_run(&mut self, len: u32, offset: u32) -> Option<u32> {
        assert!(len.is_power_of_two(), "aligned runs are a power of two units, not {len}");
        let mut start = (len - offset % len) % len;
        while start + len <= self.capacity {
            if self.run_is_free(start, len) {
                for unit in start..start + len {
                    self.mark_taken(unit);
                }
                return Some(start);
            }
            start += len;
        }
        None
    }

    /// Like [`Self::take_aligned_run`], but the first free run at or after the
    /// aligned start nearest `from` (rounded down), wrapping round to the
    /// pool's start: a caller's own, deterministic order of runs (Calico's
    /// blocks from a per-host seed).
    pub fn take_aligned_run_from(&mut self, len: u32, offset: u32, from: u32) -> Option<u32> {
        assert!(len.is_power_of_two(), "aligned runs are a power of two units, not {len}");
        let first = (len - offset % len) % len;
        if first + len > self.capacity {
            return None;
        }
        let runs = (self.capacity - first) / len;
        let begin = from.saturating_sub(first) / len % runs;
        for k in 0..runs {
            let start = first + (begin + k) % runs * len;
            if self.run_is_free(start, len) {
                for unit in start..start + len {
                    self.mark_taken(unit);
                }
                return Some(start);
            }
        }
        None
    }

    /// How many aligned runs of `len` units (aligned as in
    /// [`Self::take_aligned_run`]) are wholly free: the pool's fragmentation,
    /// as a prefix-taking mode sees it. A scan of level 0 that skips full words.
    ///
    /// # Panics
    /// If `len` is not a power of two.
    pub fn free_aligned_runs(&self, len: u32, offset: u32) -> u32 {
        assert!(len.is_power_of_two(), "aligned runs are a power of two units, not {len}");
        let mut start = (len - offset % len) % len;
        let mut runs = 0;
        while start + len <= self.capacity {
            if self.levels[0][start as usize / 64] == 0 {
                // A full word: no run starting in it is free.
                start = (start / 64 + 1) * 64;
                start += (len - (start + offset) % len) % len;
                continue;
            }
            if self.run_is_free(start, len) {
                runs += 1;
            }
            start += len;
        }
        runs
    }

    /// Return a run taken by [`Self::take_aligned_run`].
    pub fn give_back_run(&mut self, start: u32, len: u32) {
        for unit in start..start + len {
            self.give_back(unit);
        }
    }

    fn run_is_free(&self, start: u32, len: u32) -> bool {
        let level = &self.levels[0];
        let end = start + len;
        let mut unit = start;
        // Word by word: the run's bits in each must all be set (free).
        while unit < end {
            let (word, bit) = (unit as usize / 64, unit % 64);
            let n = (64 - bit).min(end - unit);
            let mask = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
            if (level[word] >> bit) & mask != mask {
                return false;
            }
            unit += n;
        }
        true
    }

    fn mark_taken(&mut self, unit: u32) {
        let mut index = unit as usize;
        for level in 0..self.levels.len() {
            let word = &mut self.levels[level][index / 64];
            *word &= !(1 << (index % 64));
            if *word != 0 {
                break;
            }
            index /= 64;
        }
        self.allocated += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hands_out_lowest_first_and_reuses_returned_units() {
        let mut pool = IndexPool::new(130);
        let taken: Vec<u32> = (0..70).map(|_| pool.take_lowest().unwrap()).collect();
        assert_eq!(taken, (0..70).collect::<Vec<_>>());
        pool.give_back(3);
        pool.give_back(65);
        assert_eq!(pool.take_lowest(), Some(3));
        assert_eq!(pool.take_lowest(), Some(65));
        assert_eq!(pool.take_lowest(), Some(70));
        assert_eq!(pool.allocated(), 71);
        assert_eq!(pool.free(), 59);
    }

    #[test]
    fn full_and_empty_pools() {
        let mut empty = IndexPool::new(0);
        assert_eq!(empty.take_lowest(), None);
        let mut one = IndexPool::new(1);
        assert_eq!(one.take_lowest(), Some(0));
        assert_eq!(one.take_lowest(), None);
        one.give_back(0);
        assert_eq!(one.free(), 1);
    }

    #[test]
    fn a_slash_twelve_of_addresses_fills_exactly() {
        let capacity = 1 << 20;
        let mut pool = IndexPool::new(capacity);
        for expected in 0..capacity {
            assert_eq!(pool.take_lowest(), Some(expected));
        }
        assert_eq!(pool.take_lowest(), None);
        pool.give_back(777_777);
        assert_eq!(pool.take_lowest(), Some(777_777));
    }

    #[test]
    #[should_panic(expected = "returned twice")]
    fn double_free_is_caught() {
        let mut pool = IndexPool::new(10);
        let unit = pool.take_lowest().unwrap();
        pool.give_back(unit);
        pool.give_back(unit);
    }

    #[test]
    fn growing_keeps_what_is_taken_and_frees_the_new_units() {
        let mut pool = IndexPool::new(70);
        for _ in 0..70 {
            pool.take_lowest().unwrap();
        }
        pool.give_back(5);
        pool.give_back(69);
        pool.grow(200);
        assert_eq!(pool.capacity(), 200);
        assert_eq!(pool.allocated(), 68);
        assert_eq!(pool.take_lowest(), Some(5));
        assert_eq!(pool.take_lowest(), Some(69));
        assert_eq!(pool.take_lowest(), Some(70));
        let mut empty = IndexPool::new(0);
        empty.grow(1);
        assert_eq!(empty.take_lowest(), Some(0));
    }

    #[test]
    fn aligned_runs_respect_the_offset_and_skip_partly_taken_lanes() {
        // Offset 4: unit u is address u + 4 of its prefix (a subnet's first four
        // are reserved), so a /28's 16 units start where (u + 4) % 16 == 0.
        let mut pool = IndexPool::new(100);
        assert_eq!(pool.take_lowest(), Some(0));
        assert_eq!(pool.take_aligned_run(16, 4), Some(12));
        assert_eq!(pool.allocated(), 17);
        pool.mark_taken(30);
        // 28..44 holds unit 30: the next free aligned lane is 44..60.
        assert_eq!(pool.take_aligned_run(16, 4), Some(44));
        // A lane across a word boundary (60..76).
        assert_eq!(pool.take_aligned_run(16, 4), Some(60));
        assert_eq!(pool.take_aligned_run(16, 4), Some(76));
        assert_eq!(pool.take_aligned_run(16, 4), None, "92..108 would pass the pool's end");
        pool.give_back_run(44, 16);
        assert_eq!(pool.take_aligned_run(16, 4), Some(44));
        assert_eq!(pool.take_lowest(), Some(1), "single units still come lowest first");
    }

    proptest! {
        /// Growing at any point changes nothing but the free count: the same
        /// lowest-first answers as a pool that was large from the start.
        #[test]
        fn a_grown_pool_behaves_like_a_large_one(start in 0u32..300, ops in prop::collection::vec(any::<(bool, u16)>(), 0..300)) {
            let mut grown = IndexPool::new(start);
            let mut large = IndexPool::new(4096);
            let mut held = Vec::new();
            for (take, pick) in ops {
                if take || held.is_empty() {
                    if grown.free() == 0 {
                        grown.grow((grown.capacity() * 2).max(1));
                    }
                    let unit = grown.take_lowest();
                    prop_assert_eq!(unit, large.take_lowest());
                    held.push(unit.unwrap());
                } else {
                    let unit = held.swap_remove(pick as usize % held.len());
                    grown.give_back(unit);
                    large.give_back(unit);
                }
                prop_assert_eq!(grown.allocated(), large.allocated());
            }
        }

        /// Against a plain model: the lowest free unit every time, never one twice,
        /// counts consistent, and everything returns.
        #[test]
        fn matches_a_sorted_set(capacity in 0u32..5000, ops in prop::collection::vec(any::<(bool, u16)>(), 0..400)) {
            let mut pool = IndexPool::new(capacity);
            let mut held = std::collections::BTreeSet::new();
            for (take, pick) in ops {
                if take || held.is_empty() {
                    let expected = (0..capacity).find(|u| !held.contains(u));
                    prop_assert_eq!(pool.take_lowest(), expected);
                    if let Some(u) = expected { held.insert(u); }
                } else {
                    let unit = *held.iter().nth(pick as usize % held.len()).unwrap();
                    held.remove(&unit);
                    pool.give_back(unit);
                }
                prop_assert_eq!(pool.allocated() as usize, held.len());
                prop_assert_eq!(pool.free(), capacity - held.len() as u32);
            }
            for unit in std::mem::take(&mut held) { pool.give_back(unit); }
            prop_assert_eq!(pool.free(), capacity);
        }

        /// Taking n at once takes what n single takes would, in the same order,
        /// with the summary levels left alike (every later answer agrees).
        #[test]
        fn many_at_once_is_many_single_takes(capacity in 1u32..20_000, ops in prop::collection::vec(any::<(u8, u16)>(), 0..200)) {
            let (mut batched, mut single) = (IndexPool::new(capacity), IndexPool::new(capacity));
            let mut held: Vec<u32> = Vec::new();
            for (n, pick) in ops {
                if n % 3 != 0 || held.is_empty() {
                    let n = u32::from(n % 80).min(batched.free());
                    let mut got = Vec::new();
                    batched.take_lowest_many(n, &mut got);
                    let expected: Vec<u32> = (0..n).map(|_| single.take_lowest().unwrap()).collect();
                    prop_assert_eq!(&got, &expected);
                    held.extend(got);
                } else {
                    let unit = held.swap_remove(pick as usize % held.len());
                    batched.give_back(unit);
                    single.give_back(unit);
                }
                prop_assert_eq!(&batched.levels, &single.levels);
                prop_assert_eq!(batched.allocated(), single.allocated());
            }
        }

        /// Giving back a batch at once leaves what giving each back in turn
        /// leaves, whatever the batch's order and however many words it spans.
        #[test]
        fn many_back_at_once_is_many_single_returns(capacity in 1u32..20_000, ops in prop::collection::vec(any::<(u8, u16, bool)>(), 0..200)) {
            let (mut batched, mut single) = (IndexPool::new(capacity), IndexPool::new(capacity));
            let mut held: Vec<u32> = Vec::new();
            for (n, pick, reverse) in ops {
                if n % 2 == 0 || held.is_empty() {
                    let n = u32::from(n % 80).min(batched.free());
                    let mut got = Vec::new();
                    batched.take_lowest_many(n, &mut got);
                    single.take_lowest_many(n, &mut Vec::new());
                    held.extend(got);
                } else {
                    let start = pick as usize % held.len();
                    let mut back: Vec<u32> = held.drain(start..(start + usize::from(n % 40)).min(held.len())).collect();
                    if reverse { back.reverse(); }
                    batched.give_back_many(&back);
                    for &unit in &back { single.give_back(unit); }
                }
                prop_assert_eq!(&batched.levels, &single.levels);
                prop_assert_eq!(batched.allocated(), single.allocated());
            }
        }
    }

    #[test]
    #[should_panic(expected = "returned twice")]
    fn a_batch_naming_a_unit_twice_is_a_double_free() {
        let mut pool = IndexPool::new(100);
        let mut held = Vec::new();
        pool.take_lowest_many(4, &mut held);
        pool.give_back_many(&[held[0], held[1], held[0]]);
    }

    #[test]
    #[should_panic(expected = "outside the pool")]
    fn a_batch_naming_a_unit_past_the_capacity_is_caught() {
        // Unit 70 shares a bitmap word with the pool's last units 64..=69.
        let mut pool = IndexPool::new(70);
        let mut held = Vec::new();
        pool.take_lowest_many(70, &mut held);
        pool.give_back_many(&[68, 69, 70]);
    }
}

#[cfg(test)]
mod long_runs {
    use super::*;

    /// Runs longer than a word (a /24 of /28 units is 16, a /20 of addresses 4096).
    #[test]
    fn aligned_runs_span_words() {
        let mut pool = IndexPool::new(1024);
        assert_eq!(pool.take_lowest(), Some(0));
        // 0 is taken: the first free aligned run of 256 starts at 256.
        assert_eq!(pool.take_aligned_run(256, 0), Some(256));
        assert_eq!(pool.take_aligned_run(512, 0), Some(512));
        assert_eq!(pool.take_aligned_run(256, 0), None);
        assert_eq!(pool.allocated(), 1 + 256 + 512);
        pool.give_back_run(512, 512);
        assert_eq!(pool.take_aligned_run(128, 0), Some(128));
        // An offset shifts alignment: unit u is address offset + u.
        let mut pool = IndexPool::new(300);
        assert_eq!(pool.take_aligned_run(128, 4), Some(124));
    }

    #[test]
    fn runs_from_a_start_wrap_round() {
        let mut pool = IndexPool::new(256);
        assert_eq!(pool.take_aligned_run_from(64, 0, 130), Some(128));
        assert_eq!(pool.take_aligned_run_from(64, 0, 130), Some(192));
        assert_eq!(pool.take_aligned_run_from(64, 0, 250), Some(0), "wraps to the start");
        assert_eq!(pool.take_aligned_run_from(64, 0, 0), Some(64));
        assert_eq!(pool.take_aligned_run_from(64, 0, 0), None);
        assert_eq!(pool.allocated(), 256);
    }
}
