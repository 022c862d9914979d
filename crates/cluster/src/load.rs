//! The scheduler's index of a pool's schedulable nodes, ordered by
//! `(pods, creation order)`: the emptiest or the fullest node at hand, and an
//! update costs O(log64 nodes) word operations without allocating.
//!
//! A pool's nodes are numbered by a *rank* in creation order (the number in the
//! node's name), so within a pool rank order is node-id order and the first node
//! of a set is the oldest.
//!
//! The bitmaps are flat (every level of a set in one slice, every pod count's set
//! in one vector) because the index is updated on every bind and unbind: a
//! vector of vectors per set cost a chain of dependent loads per update.

use allocator::NodeId;

/// At most this many levels: 64^6 bits cover every `u32` rank.
const MAX_LEVELS: usize = 6;

/// The layout of a 64-ary summary bitmap stored in a run of words: level 0
/// (one bit per member) first, then each summary level (bit `i` of level k+1 is
/// set when word `i` of level k is non-zero), the last level being one word.
/// The operations take the vector holding the set and where the set starts in
/// it, so that a [`LoadIndex`]'s sets share one vector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Shape {
    /// Where each level starts; `levels` of them are used.
    starts: [u32; MAX_LEVELS],
    levels: u32,
    /// Words in all levels together.
    words: u32,
    /// Members are below this.
    capacity: u32,
}

impl Shape {
    /// Room for `bits` members at least; level 0 is a power of two words, so
    /// growing by this doubles and is amortised O(1).
    fn for_bits(bits: usize) -> Shape {
        let mut shape = Shape::default();
        let mut level_words = bits.div_ceil(64).max(1).next_power_of_two() as u32;
        shape.capacity = level_words * 64;
        loop {
            shape.starts[shape.levels as usize] = shape.words;
            shape.levels += 1;
            shape.words += level_words;
            if level_words == 1 {
                return shape;
            }
            level_words = level_words.div_ceil(64);
        }
    }

    /// The summary levels' starts.
    #[inline]
    fn summaries(&self) -> &[u32] {
        &self.starts[1..self.levels as usize]
    }

    /// The word summing up the set at `base`: zero when it is empty.
    #[inline]
    fn top(&self, words: &[u64], base: usize) -> u64 {
        words[base + self.starts[self.levels as usize - 1] as usize]
    }

    fn contains(&self, words: &[u64], base: usize, member: u32) -> bool {
        member < self.capacity && words[base + member as usize / 64] & (1 << (member % 64)) != 0
    }

    /// Add `member` (below `capacity`) to the set at `base`: `None` if it was
    /// there already, else whether the set was empty before.
    #[inline]
    fn insert(&self, words: &mut [u64], base: usize, member: u32) -> Option<bool> {
        let mut index = member as usize;
        let (word, bit) = (&mut words[base + index / 64], 1u64 << (index % 64));
        let before = *word;
        if before & bit != 0 {
            return None;
        }
        *word = before | bit;
        // Only a word going from empty to non-empty changes the summaries.
        if before != 0 {
            return Some(false);
        }
        for &start in self.summaries() {
            index /= 64;
            let (word, bit) = (&mut words[base + start as usize + index / 64], 1u64 << (index % 64));
            let before = *word;
            *word = before | bit;
            if before != 0 {
                return Some(false);
            }
        }
        Some(true)
    }

    /// Remove `member` from the set at `base`: `None` if it was not there, else
    /// whether the set is now empty.
    #[inline]
    fn remove(&self, words: &mut [u64], base: usize, member: u32) -> Option<bool> {
        if member >= self.capacity {
            return None;
        }
        let mut index = member as usize;
        let (word, bit) = (&mut words[base + index / 64], 1u64 << (index % 64));
        if *word & bit == 0 {
            return None;
        }
        *word &= !bit;
        // Only a word going from non-empty to empty changes the summaries.
        if *word != 0 {
            return Some(false);
        }
        for &start in self.summaries() {
            index /= 64;
            let word = &mut words[base + start as usize + index / 64];
            *word &= !(1u64 << (index % 64));
            if *word != 0 {
                return Some(false);
            }
        }
        Some(true)
    }

    /// The smallest member of the set at `base`.
    #[inline]
    fn first(&self, words: &[u64], base: usize) -> Option<u32> {
        self.descend(words, base, u64::trailing_zeros)
    }

    /// The largest member of the set at `base`.
    #[inline]
    fn last(&self, words: &[u64], base: usize) -> Option<u32> {
        self.descend(words, base, |word| 63 - word.leading_zeros())
    }

    /// The smallest member of the set at `base`, given that none is below
    /// `floor`: `floor`'s word holds it when it is not empty, and then the walk
    /// down from the top is not needed.
    #[inline(always)]
    fn first_from(&self, words: &[u64], base: usize, floor: u32) -> Option<u32> {
        match words[base + floor as usize / 64] {
            0 => self.first(words, base),
            word => Some(floor & !63 | word.trailing_zeros()),
        }
    }

    /// The largest member of the set at `base`, given that none is above `ceiling`.
    #[inline(always)]
    fn last_from(&self, words: &[u64], base: usize, ceiling: u32) -> Option<u32> {
        match words[base + ceiling as usize / 64] {
            0 => self.last(words, base),
            word => Some(ceiling & !63 | (63 - word.leading_zeros())),
        }
    }

    /// Walk from the top word down, picking a set bit of each word with `pick`.
    #[inline]
    fn descend(&self, words: &[u64], base: usize, pick: impl Fn(u64) -> u32) -> Option<u32> {
        if self.levels == 0 || self.top(words, base) == 0 {
            return None;
        }
        let mut index = 0usize;
        for &start in self.starts[..self.levels as usize].iter().rev() {
            index = index * 64 + pick(words[base + start as usize + index]) as usize;
        }
        Some(index as u32)
    }

    /// Copy `old`'s members (laid out as `from`) into `set`, which is laid out
    /// as `self` (at least as large) and all zero, and build its summaries.
    fn copy_from(&self, set: &mut [u64], from: &Shape, old: &[u64]) {
        let bottom = from.capacity as usize / 64;
        set[..bottom].copy_from_slice(&old[..bottom]);
        for level in 1..self.levels as usize {
            let (below, above) = set.split_at_mut(self.starts[level] as usize);
            for (i, &word) in below[self.starts[level - 1] as usize..].iter().enumerate() {
                above[i / 64] |= u64::from(word != 0) << (i % 64);
            }
        }
    }
}

/// A set of small integers as a 64-ary summary bitmap. Grows on insert.
#[derive(Debug, Clone, Default)]
pub struct RankSet {
    shape: Shape,
    words: Vec<u64>,
}

impl RankSet {
    #[cfg(test)]
    fn contains(&self, rank: u32) -> bool {
        self.shape.contains(&self.words, 0, rank)
    }

    /// Add `rank`; false if it was there already.
    #[inline]
    pub fn insert(&mut self, rank: u32) -> bool {
        if rank >= self.shape.capacity {
            self.grow(rank as usize + 1);
        }
        self.shape.insert(&mut self.words, 0, rank).is_some()
    }

    /// Remove `rank`; false if it was not there.
    #[inline]
    pub fn remove(&mut self, rank: u32) -> bool {
        self.shape.remove(&mut self.words, 0, rank).is_some()
    }

    /// The smallest member.
    #[cfg(test)]
    fn first(&self) -> Option<u32> {
        self.shape.first(&self.words, 0)
    }

    /// The largest member.
    #[cfg(test)]
    fn last(&self) -> Option<u32> {
        self.shape.last(&self.words, 0)
    }

    /// The smallest member, given that none is below `floor` (below capacity).
    #[inline(always)]
    fn first_from(&self, floor: u32) -> Option<u32> {
        self.shape.first_from(&self.words, 0, floor)
    }

    /// The largest member, given that none is above `ceiling` (below capacity).
    #[inline(always)]
    fn last_from(&self, ceiling: u32) -> Option<u32> {
        self.shape.last_from(&self.words, 0, ceiling)
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, bits: usize) {
        let shape = Shape::for_bits(bits);
        let mut words = vec![0; shape.words as usize];
        if self.shape.levels > 0 {
            shape.copy_from(&mut words, &self.shape, &self.words);
        }
        (self.shape, self.words) = (shape, words);
    }
}

/// Which end of the order a [`LoadIndex`] keeps at hand. A cluster's scheduler
/// reads one end (`spread` the emptiest node, `pack` the fullest, `random`
/// neither): keeping both cost a re-descent on most binds for nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Emptiest,
    Fullest,
    Neither,
}

/// A pool's schedulable nodes keyed by pod count: one rank set per count (all
/// in one vector, count `c`'s set at `c * shape.words`), and the set of counts
/// that have any node.
///
/// The kept end is cached with its node id: a pod placed on one pool's node
/// changes only that pool's answer, and the scheduler asks every pool.
#[derive(Debug, Clone)]
pub struct LoadIndex {
    /// The kept end as a sort key, see [`Self::best_key`]; `u64::MAX` for none.
    best_key: u64,
    /// The kept end's `(pods, rank)`, meaningful when `best_key` is not `u64::MAX`.
    best: (u32, u32),
    keep: Keep,
    /// The layout of each count's set of ranks.
    shape: Shape,
    sets: Vec<u64>,
    /// The node of each rank ever inserted.
    nodes: Vec<NodeId>,
    len: usize,
    counts: RankSet,
}

impl LoadIndex {
    pub fn new(keep: Keep) -> LoadIndex {
        LoadIndex {
            best_key: u64::MAX,
            best: (0, 0),
            keep,
            shape: Shape::default(),
            sets: Vec::new(),
            nodes: Vec::new(),
            len: 0,
            counts: RankSet::default(),
        }
    }

    pub fn keep(&self) -> Keep {
        self.keep
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Where count `pods`'s set starts in `sets`, if it has one.
    #[inline]
    fn base(&self, pods: u32) -> Option<usize> {
        let base = pods as usize * self.shape.words as usize;
        (base < self.sets.len()).then_some(base)
    }

    pub fn contains(&self, pods: u32, rank: u32) -> bool {
        self.base(pods).is_some_and(|base| self.shape.contains(&self.sets, base, rank))
    }

    /// Add `node`, of rank `rank`, with `pods` pods.
    #[inline]
    pub fn insert(&mut self, pods: u32, rank: u32, node: NodeId) {
        let base = match self.base(pods) {
            Some(base) if rank < self.shape.capacity => base,
            _ => self.grow(pods, rank),
        };
        self.nodes[rank as usize] = node;
        self.add(pods, rank, base);
    }

    /// Move the node of rank `rank` from count `from` to count `to`: what a pod
    /// bound to or unbound from a schedulable node does, on every event. The
    /// same as `remove` then `insert` with the node the rank has.
    #[inline(always)]
    pub fn shift(&mut self, from: u32, to: u32, rank: u32) {
        self.remove(from, rank);
        let base = match self.base(to) {
            Some(base) if rank < self.shape.capacity => base,
            _ => self.grow(to, rank),
        };
        self.add(to, rank, base);
    }

    /// Add rank `rank`, whose node is known, to count `pods`'s set, at `base`.
    #[inline(always)]
    fn add(&mut self, pods: u32, rank: u32, base: usize) {
        let Some(was_empty) = self.shape.insert(&mut self.sets, base, rank) else { return };
        self.len += 1;
        if was_empty {
            self.counts.insert(pods);
        }
        let better = match self.keep {
            Keep::Emptiest => (pods, rank) < self.best,
            Keep::Fullest => pods > self.best.0 || (pods == self.best.0 && rank < self.best.1),
            Keep::Neither => return,
        };
        if better || self.best_key == u64::MAX {
            self.set_best(pods, rank);
        }
    }

    #[inline(always)]
    pub fn remove(&mut self, pods: u32, rank: u32) {
        let Some(base) = self.base(pods) else { return };
        let Some(emptied) = self.shape.remove(&mut self.sets, base, rank) else { return };
        self.len -= 1;
        if emptied {
            self.counts.remove(pods);
        }
        if self.best == (pods, rank) && self.best_key != u64::MAX {
            // The kept end was the oldest node with the fewest (most) pods: no
            // node with that count has a lower rank, and no count is lower
            // (higher), which lets the searches start from the word in hand.
            let next = match (emptied, self.keep) {
                (false, _) => {
                    let rank = self.shape.first_from(&self.sets, base, rank).expect("the set is not empty");
                    self.set_best(pods, rank);
                    return;
                }
                (true, Keep::Emptiest) => self.counts.first_from(pods),
                (true, _) => self.counts.last_from(pods),
            };
            match next {
                Some(pods) => {
                    let base = pods as usize * self.shape.words as usize;
                    let rank = self.shape.first(&self.sets, base).expect("counts lists non-empty sets");
                    self.set_best(pods, rank);
                }
                None => self.best_key = u64::MAX,
            }
        }
    }

    #[inline]
    fn set_best(&mut self, pods: u32, rank: u32) {
        let node = u64::from(self.nodes[rank as usize].0);
        let order = if self.keep == Keep::Fullest { !pods } else { pods };
        (self.best, self.best_key) = ((pods, rank), u64::from(order) << 32 | node);
    }

    /// Room for count `pods` and rank `rank`: more counts append empty sets,
    /// more ranks re-lay every set out (doubling, so amortised O(1)). Returns
    /// where count `pods`'s set starts.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, pods: u32, rank: u32) -> usize {
        let old = self.shape;
        let counts = (pods as usize + 1).max(self.sets.len().checked_div(old.words as usize).unwrap_or(0));
        if rank >= old.capacity {
            let shape = Shape::for_bits(rank as usize + 1);
            let mut sets = vec![0; counts * shape.words as usize];
            if old.words > 0 {
                for (new, old_set) in sets.chunks_mut(shape.words as usize).zip(self.sets.chunks(old.words as usize)) {
                    shape.copy_from(new, &old, old_set);
                }
            }
            (self.shape, self.sets) = (shape, sets);
            self.nodes.resize(shape.capacity as usize, NodeId(u32::MAX));
        }
        self.sets.resize(counts * self.shape.words as usize, 0);
        pods as usize * self.shape.words as usize
    }

    /// `(pods, node)` of the kept end: the oldest node among those with the
    /// fewest pods ([`Keep::Emptiest`]) or with the most ([`Keep::Fullest`]).
    #[cfg(test)]
    fn best(&self) -> Option<(u32, NodeId)> {
        (self.best_key != u64::MAX).then_some((self.best.0, NodeId(self.best_key as u32)))
    }

    /// The kept end's `(pods, node)` as one integer, smaller first, comparable
    /// across the pools of a cluster: `pods << 32 | node` for the emptiest,
    /// `!pods << 32 | node` for the fullest (ties go to the older node, as node
    /// ids are in creation order); `u64::MAX` when there is none.
    #[inline]
    pub fn best_key(&self) -> u64 {
        self.best_key
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn grows_and_keeps_order() {
        let mut set = RankSet::default();
        assert_eq!((set.first(), set.last()), (None, None));
        assert!(!set.remove(3) && !set.contains(3));
        for rank in [70_000, 5, 4_097, 64, 63] {
            assert!(set.insert(rank));
        }
        assert!(!set.insert(64));
        assert_eq!((set.first(), set.last()), (Some(5), Some(70_000)));
        assert!(set.remove(5) && set.remove(70_000) && !set.remove(70_000) && !set.remove(1 << 30));
        assert_eq!((set.first(), set.last()), (Some(63), Some(4_097)));
        assert!(set.contains(64) && !set.contains(65) && !set.contains(1 << 30));
    }

    #[test]
    fn shapes_cover_their_capacity() {
        let shape = Shape::for_bits(1000);
        assert_eq!((shape.capacity, shape.levels, shape.words, &shape.starts[..2]), (1024, 2, 17, &[0, 16][..]));
        let shape = Shape::for_bits(1 << 18);
        assert_eq!((shape.levels, shape.words), (3, 4096 + 64 + 1));
        let shape = Shape::for_bits((1 << 18) + 1);
        assert_eq!((shape.levels, shape.words), (4, 8192 + 128 + 2 + 1));
        assert_eq!((Shape::for_bits(1).levels, Shape::for_bits(1).words), (1, 1));
    }

    #[test]
    fn the_kept_end_is_the_oldest_node() {
        let mut emptiest = LoadIndex::new(Keep::Emptiest);
        let mut fullest = LoadIndex::new(Keep::Fullest);
        let mut neither = LoadIndex::new(Keep::Neither);
        assert_eq!((emptiest.best(), fullest.best(), emptiest.best_key()), (None, None, u64::MAX));
        for index in [&mut emptiest, &mut fullest, &mut neither] {
            for (pods, rank) in [(3, 9), (1, 7), (1, 2), (5, 4), (5, 1)] {
                index.insert(pods, rank, NodeId(100 + rank));
            }
        }
        assert_eq!(
            (emptiest.best(), fullest.best(), neither.best(), neither.len()),
            (Some((1, NodeId(102))), Some((5, NodeId(101))), None, 5)
        );
        assert_eq!((emptiest.best_key(), fullest.best_key()), (1 << 32 | 102, u64::from(!5u32) << 32 | 101));
        for index in [&mut emptiest, &mut fullest, &mut neither] {
            index.remove(1, 2);
            index.remove(5, 1);
            index.remove(5, 4);
            index.remove(5, 4);
        }
        assert_eq!(
            (emptiest.best(), fullest.best(), emptiest.len()),
            (Some((1, NodeId(107))), Some((3, NodeId(109))), 2)
        );
        assert!(emptiest.contains(3, 9) && !emptiest.contains(5, 4) && !emptiest.contains(40, 0));
    }

    proptest! {
        /// Against a `BTreeSet<(pods, rank)>`, the structure it replaces, for
        /// each end kept; ranks up to 9,000 take the sets through three levels,
        /// ranks below 200 share words, counts up to 300 span several words.
        #[test]
        fn matches_an_ordered_set(
            ops in prop::collection::vec((any::<bool>(), prop_oneof![0u32..12, 0u32..300], prop_oneof![0u32..200, 0u32..9000]), 0..300)
        ) {
            let mut indexes = [Keep::Emptiest, Keep::Fullest, Keep::Neither].map(LoadIndex::new);
            let mut model = BTreeSet::new();
            for (insert, pods, rank) in ops {
                // Sometimes act on a member, so removals hit.
                let (pods, rank) = match model.iter().nth(rank as usize % model.len().max(1)) {
                    Some(&member) if !insert && rank % 2 == 0 => member,
                    _ => (pods, rank),
                };
                // A removal of a member to a count just above or below is a shift.
                let shift = (!insert && model.contains(&(pods, rank)) && pods > 0)
                    .then(|| if rank % 3 == 0 { pods - 1 } else { pods + 1 });
                for index in &mut indexes {
                    match shift {
                        Some(to) => index.shift(pods, to, rank),
                        None if insert => index.insert(pods, rank, NodeId(rank)),
                        None => index.remove(pods, rank),
                    }
                }
                if let Some(to) = shift {
                    model.remove(&(pods, rank));
                    model.insert((to, rank));
                } else if insert {
                    model.insert((pods, rank));
                } else {
                    model.remove(&(pods, rank));
                }
                let node = |(pods, rank): (u32, u32)| (pods, NodeId(rank));
                let fullest = model.last().and_then(|&(most, _)| model.range((most, 0)..).next().copied());
                let expected = [model.first().copied().map(node), fullest.map(node), None];
                for (index, expected) in indexes.iter().zip(expected) {
                    prop_assert_eq!(index.len(), model.len());
                    prop_assert_eq!(index.best(), expected);
                    prop_assert!(model.iter().all(|&(p, r)| index.contains(p, r)));
                    prop_assert!(!index.contains(pods, rank) || model.contains(&(pods, rank)));
                }
            }
        }

        /// `RankSet` against a `BTreeSet<u32>`, growing through several levels.
        #[test]
        fn rank_set_matches_an_ordered_set(ops in prop::collection::vec((any::<bool>(), 0u32..300_000), 0..200)) {
            let mut set = RankSet::default();
            let mut model = BTreeSet::new();
            for (insert, rank) in ops {
                let rank = match model.iter().nth(rank as usize % model.len().max(1)) {
                    Some(&member) if !insert && rank % 2 == 0 => member,
                    _ => rank,
                };
                if insert {
                    prop_assert_eq!(set.insert(rank), model.insert(rank));
                } else {
                    prop_assert_eq!(set.remove(rank), model.remove(&rank));
                }
                prop_assert_eq!((set.first(), set.last()), (model.first().copied(), model.last().copied()));
                prop_assert_eq!(set.contains(rank), model.contains(&rank));
            }
        }
    }
}
