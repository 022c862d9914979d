//! The arithmetic behind a range's peak, for a planner to check by hand:
//! nodes per pool × what each holds, plus what the range never hands out.

use scenario::{Mode, Scenario};

use crate::layout::RangeKind;
use crate::{ReplaySummary, Snapshot};

/// `nodes` nodes of `pool` each holding `each` addresses, for the reason `what`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// `cluster/pool`.
    pub pool: String,
    pub nodes: u32,
    pub each: u64,
    /// Why a node holds that many: `1 + max_pods 30`, `node IP`, `2 /28 blocks`, …
    pub what: String,
}

/// Who held a range at its peak, and what the scenario was doing then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub time_s: u64,
    pub terms: Vec<Term>,
    /// Addresses taken for a moment within the peak's event by an operation
    /// that then failed for a reason no size fixes (a full route table) and
    /// gave them back: the range must hold them too.
    pub transient: u64,
    /// What the range can never hand out: Azure's 5 reserved addresses, or for
    /// a static-block subnet its first and last /28 (32 addresses, which hold
    /// them); 0 for a pod CIDR.
    pub reserved: u64,
    /// The event that set the peak, then what was under way.
    pub doing: Vec<String>,
}

impl Explanation {
    /// `17 nodes × 31 (1 + max_pods 30) + 5 reserved = 532`: the terms, the
    /// reserved addresses and their sum, which the prefix must hold.
    pub fn sum(&self) -> String {
        let mut parts: Vec<String> = self
            .terms
            .iter()
            .map(|t| format!("{} × {} ({}, {})", nodes(t.nodes), thousands(t.each), t.what, t.pool))
            .collect();
        if self.transient > 0 {
            parts.push(format!("{} taken for a moment by an operation that then failed", thousands(self.transient)));
        }
        let held: u64 = self.terms.iter().map(|t| u64::from(t.nodes) * t.each).sum::<u64>() + self.transient;
        match self.reserved {
            0 => format!("{} = {}", parts.join(" + "), thousands(held)),
            r @ (4 | 5) => format!("{} + {r} reserved = {}", parts.join(" + "), thousands(held + r)),
            r => format!("{} + {r} (first and last /28) = {}", parts.join(" + "), thousands(held + r)),
        }
    }
}

fn nodes(n: u32) -> String {
    if n == 1 { "1 node".into() } else { format!("{} nodes", thousands(u64::from(n))) }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What a range of `unit` can never hand out, in addresses.
pub fn reserved(unit: RangeKind) -> u64 {
    match unit {
        RangeKind::SubnetAddresses | RangeKind::AwsSubnetAddresses => 5,
        RangeKind::GcpSubnetAddresses => 4,
        // 2^(32−p) − capacity(p) = 32 for every allowed p.
        RangeKind::SubnetBlocks => 32,
        RangeKind::PodCidr | RangeKind::ReservationBlocks => 0,
    }
}

pub(crate) fn explain(
    scenario: &Scenario,
    replay: &ReplaySummary,
    breakdown: &Snapshot,
    unit: RangeKind,
    peak: u64,
) -> Explanation {
    let terms = breakdown
        .holders
        .iter()
        .map(|&(pool, nodes, each)| {
            let (cluster, pool) = &replay.pools[pool as usize];
            let allocator = scenario.clusters.iter().find(|c| &c.name == cluster).map(|c| c.allocator);
            Term { pool: format!("{cluster}/{pool}"), nodes, each, what: what(allocator, unit, each) }
        })
        .collect();
    Explanation {
        time_s: breakdown.time_s,
        terms,
        transient: peak.saturating_sub(breakdown.allocated),
        reserved: reserved(unit),
        doing: breakdown.doing.clone(),
    }
}

/// Why one node of `allocator` holds `each` addresses of a range of `unit`.
fn what(allocator: Option<&Mode>, unit: RangeKind, each: u64) -> String {
    if let Some(words) = allocator.and_then(|mode| (mode.holding)(each)) {
        return words;
    }
    match (unit, allocator) {
        (RangeKind::PodCidr, _) => "a /24".into(),
        (_, _) if each == 1 => "node IP".into(),
        (RangeKind::SubnetBlocks | RangeKind::ReservationBlocks, _) => {
            let blocks = each / 16;
            format!("{blocks} /28 block{}", if blocks == 1 { "" } else { "s" })
        }
        _ => format!("{each} addresses"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout;

    #[test]
    fn the_sum_reads_as_plan_md_writes_it() {
        let e = Explanation {
            time_s: 0,
            terms: vec![Term { pool: "prod/user".into(), nodes: 17, each: 31, what: "1 + max_pods 30".into() }],
            transient: 0,
            reserved: 5,
            doing: vec![],
        };
        assert_eq!(e.sum(), "17 nodes × 31 (1 + max_pods 30, prod/user) + 5 reserved = 532");
        assert_eq!(thousands(1_019), "1,019");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(0), "0");
    }

    #[test]
    fn each_mode_says_what_a_node_holds() {
        let [node_subnet, dynamic, static_block, kubenet, overlay, gke, calico, _, aws_prefix] = modes::ALL;
        assert_eq!(what(Some(node_subnet), RangeKind::SubnetAddresses, 31), "1 + max_pods 30");
        assert_eq!(what(Some(dynamic), RangeKind::SubnetAddresses, 1), "node IP");
        assert_eq!(what(Some(dynamic), RangeKind::SubnetAddresses, 17), "1 primary + 1 batch of 16");
        assert_eq!(what(Some(dynamic), RangeKind::SubnetAddresses, 33), "1 primary + 2 batches of 16");
        assert_eq!(what(Some(dynamic), RangeKind::SubnetAddresses, 31), "1 primary + 30, capped at max_pods");
        assert_eq!(what(Some(static_block), RangeKind::SubnetBlocks, 32), "2 /28 blocks");
        assert_eq!(what(Some(kubenet), RangeKind::PodCidr, 256), "a /24");
        assert_eq!(what(Some(overlay), RangeKind::SubnetAddresses, 1), "node IP");
        assert_eq!(what(Some(gke), RangeKind::PodCidr, 64), "a /26 node range");
        assert_eq!(what(Some(calico), RangeKind::PodCidr, 128), "128 addresses of claimed blocks");
        assert_eq!(what(Some(aws_prefix), RangeKind::SubnetBlocks, 48), "3 /28 prefixes");
        assert_eq!(what(Some(aws_prefix), RangeKind::SubnetAddresses, 2 + 5 * 16), "2 ENI primaries + 5 /28 prefixes");
    }

    #[test]
    fn reserved_is_what_capacity_leaves_out() {
        for p in 12..=26 {
            let size = 1u64 << (32 - p);
            assert_eq!(size - layout::capacity(RangeKind::SubnetBlocks, p).unwrap(), reserved(RangeKind::SubnetBlocks));
        }
        for p in 0..=29 {
            let size = 1u64 << (32 - p);
            assert_eq!(size - layout::capacity(RangeKind::SubnetAddresses, p).unwrap(), 5);
        }
    }
}
