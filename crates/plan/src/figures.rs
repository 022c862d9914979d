//! The figures over seeds: nearest-rank percentiles, headroom, the risk as
//! written (how many seeds exhaust and when) and the failures no size fixes.

use std::collections::BTreeMap;

use crate::{ReplaySummary, Risk, Unfixable};

/// The value at `percentile` (1–100) of `values` by nearest rank: the
/// ⌈P × n / 100⌉-th smallest. `None` for no values.
pub fn nearest_rank(values: &[u64], percentile: u32) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    nearest_rank_index(sorted.len(), percentile).map(|i| sorted[i])
}

/// The 0-based index into a sorted list of `n` of the nearest-rank percentile.
fn nearest_rank_index(n: usize, percentile: u32) -> Option<usize> {
    if n == 0 {
        return None;
    }
    let rank = (u64::from(percentile.clamp(1, 100)) * n as u64).div_ceil(100).max(1);
    Some(rank as usize - 1)
}

/// ⌈peak × (1 + h / 10,000)⌉ in integers, so 10 % of 527 is exactly 579.7 → 580.
pub fn with_headroom(peak: u64, headroom_hundredths: u32) -> u64 {
    let scaled = u128::from(peak) * (10_000 + u128::from(headroom_hundredths));
    u64::try_from(scaled.div_ceil(10_000)).unwrap_or(u64::MAX)
}

/// Seeds (as written) with a size-dependent exhaustion on `range`, and the
/// nearest-rank median of their first such times.
pub(crate) fn exhaustion_on(as_written: &[&ReplaySummary], range: &str) -> (u32, Option<u64>) {
    let firsts: Vec<u64> = as_written
        .iter()
        .filter_map(|r| r.events.iter().filter(|e| e.size_dependent && e.range == range).map(|e| e.time_s).min())
        .collect();
    (firsts.len() as u32, nearest_rank(&firsts, 50))
}

pub(crate) fn risk(as_written: &[&ReplaySummary]) -> Risk {
    let firsts: Vec<u64> = as_written.iter().filter_map(|r| r.first_exhaustion_s).collect();
    Risk {
        exhausted_seeds: firsts.len() as u32,
        first_exhaustion_p10_s: nearest_rank(&firsts, 10),
        first_exhaustion_p50_s: nearest_rank(&firsts, 50),
        first_exhaustion_p90_s: nearest_rank(&firsts, 90),
    }
}

/// Failures of the unconstrained replays, grouped by kind, cluster and pool.
pub(crate) fn unfixable(unconstrained: &[ReplaySummary], seeds: &[u64]) -> Vec<Unfixable> {
    let mut groups: BTreeMap<(String, String, String), Unfixable> = BTreeMap::new();
    for (replay, _seed) in unconstrained.iter().zip(seeds) {
        let mut seen: Vec<(String, String, String)> = Vec::new();
        for e in replay.events.iter().filter(|e| !e.size_dependent) {
            let key = (e.kind.clone(), e.cluster.clone(), e.pool.clone());
            let entry = groups.entry(key.clone()).or_insert_with(|| Unfixable {
                kind: key.0.clone(),
                cluster: key.1.clone(),
                pool: key.2.clone(),
                seeds: 0,
                first_s: e.time_s,
                detail: e.detail.clone(),
            });
            entry.first_s = entry.first_s.min(e.time_s);
            if !seen.contains(&key) {
                seen.push(key);
                entry.seeds += 1;
            }
        }
    }
    groups.into_values().collect()
}
