//! The scheduler's index of a pool's schedulable nodes, ordered by
//! `(pods, creation order)`: the emptiest and the fullest node in a few word
//! operations, and an update costs O(log64 nodes) without allocating.
//!
//! A pool's nodes are numbered by a *rank* in creation order (the number in the
//! node's name), so within a pool rank order is node-id order and the first node
//! of a set is the oldest.

use allocator::NodeId;

/// A set of small integers as a 64-ary summary bitmap: level 0 has one bit per
/// member, a bit of level k+1 is set when word `bit` of level k is non-zero, and
/// the top level is one word. Grows on insert.
#[derive(Debug, Clone, Default)]
pub struct RankSet {
    levels: Vec<Vec<u64>>,
    len: usize,
}

impl RankSet {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn contains(&self, rank: u32) -> bool {
        let (word, bit) = (rank as usize / 64, rank % 64);
        self.levels.first().and_then(|level| level.get(word)).is_some_and(|w| w & (1 << bit) != 0)
    }

    /// Add `rank`; false if it was there already.
    #[inline]
    pub fn insert(&mut self, rank: u32) -> bool {
        let (index, bit) = (rank as usize / 64, 1u64 << (rank % 64));
        if index >= self.levels.first().map_or(0, Vec::len) {
            self.grow(rank as usize + 1);
        }
        let word = &mut self.levels[0][index];
        if *word & bit != 0 {
            return false;
        }
        let was_empty = *word == 0;
        *word |= bit;
        self.len += 1;
        if was_empty {
            // Only a word going from empty to non-empty changes the summaries.
            self.mark_summaries(index, true);
        }
        true
    }

    /// Remove `rank`; false if it was not there.
    #[inline]
    pub fn remove(&mut self, rank: u32) -> bool {
        let (index, bit) = (rank as usize / 64, 1u64 << (rank % 64));
        let Some(word) = self.levels.first_mut().and_then(|level| level.get_mut(index)) else { return false };
        if *word & bit == 0 {
            return false;
        }
        *word &= !bit;
        self.len -= 1;
        if *word == 0 {
            self.mark_summaries(index, false);
        }
        true
    }

    /// Word `index` of level 0 became non-empty (`set`) or empty: carry it up.
    #[cold]
    #[inline(never)]
    fn mark_summaries(&mut self, mut index: usize, set: bool) {
        for level in &mut self.levels[1..] {
            let word = &mut level[index / 64];
            let bit = 1u64 << (index % 64);
            let was_empty = *word == 0;
            if set {
                *word |= bit;
            } else {
                *word &= !bit;
            }
            // Stop once this word's emptiness did not change.
            if (set && !was_empty) || (!set && *word != 0) {
                break;
            }
            index /= 64;
        }
    }

    /// The smallest member.
    pub fn first(&self) -> Option<u32> {
        self.descend(|word| word.trailing_zeros())
    }

    /// The largest member.
    pub fn last(&self) -> Option<u32> {
        self.descend(|word| 63 - word.leading_zeros())
    }

    /// Walk from the top word down, picking a set bit of each word with `pick`.
    #[inline]
    fn descend(&self, pick: impl Fn(u64) -> u32) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let mut index = 0usize;
        for level in self.levels.iter().rev() {
            index = index * 64 + pick(level[index]) as usize;
        }
        Some(index as u32)
    }

    /// Room for `bits` members at least (doubling, so growth is amortised O(1)),
    /// rebuilding the summary levels.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, bits: usize) {
        let words = bits.div_ceil(64).next_power_of_two();
        let mut bottom = std::mem::take(&mut self.levels).into_iter().next().unwrap_or_default();
        bottom.resize(words, 0);
        self.levels.push(bottom);
        while let Some(below) = self.levels.last().filter(|level| level.len() > 1) {
            let above = below
                .chunks(64)
                .map(|chunk| chunk.iter().enumerate().fold(0u64, |acc, (i, &w)| acc | (u64::from(w != 0) << i)))
                .collect();
            self.levels.push(above);
        }
    }
}

/// A pool's schedulable nodes keyed by pod count: one [`RankSet`] of ranks per
/// count, and the set of counts that have any node.
///
/// The emptiest and fullest entries are cached with their node ids: a pod placed
/// on one pool's node changes only that pool's answers, and the scheduler asks
/// every pool.
#[derive(Debug, Clone, Default)]
pub struct LoadIndex {
    by_pods: Vec<RankSet>,
    counts: RankSet,
    len: usize,
    /// The node of each rank ever inserted.
    nodes: Vec<NodeId>,
    /// `(pods, rank, node)` of the emptiest and of the fullest entry.
    emptiest: Option<(u32, u32, NodeId)>,
    fullest: Option<(u32, u32, NodeId)>,
}

impl LoadIndex {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn contains(&self, pods: u32, rank: u32) -> bool {
        self.by_pods.get(pods as usize).is_some_and(|set| set.contains(rank))
    }

    /// Add `node`, of rank `rank`, with `pods` pods.
    #[inline]
    pub fn insert(&mut self, pods: u32, rank: u32, node: NodeId) {
        if self.by_pods.len() <= pods as usize {
            self.by_pods.resize_with(pods as usize + 1, RankSet::default);
        }
        if self.nodes.len() <= rank as usize {
            self.nodes.resize(rank as usize + 1, node);
        }
        self.nodes[rank as usize] = node;
        let set = &mut self.by_pods[pods as usize];
        if set.insert(rank) {
            if set.len() == 1 {
                self.counts.insert(pods);
            }
            self.len += 1;
            if self.emptiest.is_none_or(|(fewest, oldest, _)| (pods, rank) < (fewest, oldest)) {
                self.emptiest = Some((pods, rank, node));
            }
            if self.fullest.is_none_or(|(most, oldest, _)| pods > most || (pods == most && rank < oldest)) {
                self.fullest = Some((pods, rank, node));
            }
        }
    }

    #[inline]
    pub fn remove(&mut self, pods: u32, rank: u32) {
        let Some(set) = self.by_pods.get_mut(pods as usize) else { return };
        if !set.remove(rank) {
            return;
        }
        self.len -= 1;
        let emptied = set.len() == 0;
        if emptied {
            self.counts.remove(pods);
        }
        let is = |extreme: Option<(u32, u32, NodeId)>| extreme.is_some_and(|(p, r, _)| (p, r) == (pods, rank));
        let (was_emptiest, was_fullest) = (is(self.emptiest), is(self.fullest));
        if was_emptiest || was_fullest {
            // The next oldest with as many pods, if any, takes the removed extreme's place.
            let next = (!emptied).then(|| self.oldest(pods));
            if was_emptiest {
                self.emptiest = next.or_else(|| self.counts.first().map(|pods| self.oldest(pods)));
            }
            if was_fullest {
                self.fullest = next.or_else(|| self.counts.last().map(|pods| self.oldest(pods)));
            }
        }
    }

    /// `(pods, rank, node)` of the oldest node with `pods` pods (there is one).
    fn oldest(&self, pods: u32) -> (u32, u32, NodeId) {
        let rank = self.by_pods[pods as usize].first().expect("counts lists non-empty sets");
        (pods, rank, self.nodes[rank as usize])
    }

    /// `(pods, node)` of the oldest node among those with the fewest pods.
    pub fn emptiest(&self) -> Option<(u32, NodeId)> {
        self.emptiest.map(|(pods, _, node)| (pods, node))
    }

    /// `(pods, node)` of the oldest node among those with the most pods.
    pub fn fullest(&self) -> Option<(u32, NodeId)> {
        self.fullest.map(|(pods, _, node)| (pods, node))
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
        assert_eq!((set.first(), set.last(), set.len()), (None, None, 0));
        for rank in [70_000, 5, 4_097, 64, 63] {
            assert!(set.insert(rank));
        }
        assert!(!set.insert(64));
        assert_eq!((set.first(), set.last(), set.len()), (Some(5), Some(70_000), 5));
        assert!(set.remove(5) && set.remove(70_000) && !set.remove(70_000) && !set.remove(1 << 30));
        assert_eq!((set.first(), set.last()), (Some(63), Some(4_097)));
        assert!(set.contains(64) && !set.contains(65) && !set.contains(1 << 30));
    }

    #[test]
    fn emptiest_and_fullest_take_the_oldest_node() {
        let mut index = LoadIndex::default();
        assert_eq!((index.emptiest(), index.fullest()), (None, None));
        for (pods, rank) in [(3, 9), (1, 7), (1, 2), (5, 4), (5, 1)] {
            index.insert(pods, rank, NodeId(100 + rank));
        }
        assert_eq!(
            (index.emptiest(), index.fullest(), index.len()),
            (Some((1, NodeId(102))), Some((5, NodeId(101))), 5)
        );
        index.remove(1, 2);
        index.remove(5, 1);
        index.remove(5, 4);
        index.remove(5, 4);
        assert_eq!(
            (index.emptiest(), index.fullest(), index.len()),
            (Some((1, NodeId(107))), Some((3, NodeId(109))), 2)
        );
        assert!(index.contains(3, 9) && !index.contains(5, 4) && !index.contains(40, 0));
    }

    proptest! {
        /// Against a `BTreeSet<(pods, rank)>`, the structure it replaces.
        #[test]
        fn matches_an_ordered_set(ops in prop::collection::vec((any::<bool>(), 0u32..12, 0u32..9000), 0..300)) {
            let mut index = LoadIndex::default();
            let mut model = BTreeSet::new();
            for (insert, pods, rank) in ops {
                // Sometimes act on a member, so removals hit.
                let (pods, rank) = match model.iter().nth(rank as usize % model.len().max(1)) {
                    Some(&member) if !insert && rank % 2 == 0 => member,
                    _ => (pods, rank),
                };
                if insert {
                    index.insert(pods, rank, NodeId(rank));
                    model.insert((pods, rank));
                } else {
                    index.remove(pods, rank);
                    model.remove(&(pods, rank));
                }
                prop_assert_eq!(index.len(), model.len());
                let node = |(pods, rank): (u32, u32)| (pods, NodeId(rank));
                prop_assert_eq!(index.emptiest(), model.first().copied().map(node));
                let fullest = model.last().and_then(|&(most, _)| model.range((most, 0)..).next().copied());
                prop_assert_eq!(index.fullest(), fullest.map(node));
                prop_assert!(model.iter().all(|&(p, r)| index.contains(p, r)));
            }
        }
    }
}
