//! What a plan keeps of one replay: the figures every later phase reads
//! (peaks and when they happened, each kind's first event, the snapshots of
//! who held a range at its peak, counts), and nothing else. Every replay a
//! plan runs is cut down to this at once, so a plan made in one process and
//! one assembled from shards' files (`crate::shard`) read the very same
//! values: integers and strings only (times are whole simulated seconds), so
//! the serialised form round-trips exactly.

use std::collections::BTreeSet;

use cluster::Replay;
use serde::{Deserialize, Serialize};

/// One replay as a plan reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaySummary {
    /// Simulation events processed (the plan's `events` count).
    pub events_processed: u64,
    /// `summary.csv`'s `first_exhaustion_s`.
    pub first_exhaustion_s: Option<u64>,
    /// Every range, in the replay's range order.
    pub ranges: Vec<RangePeak>,
    /// `(cluster, pool)` in the replay's pool order; only kept when the replay
    /// took snapshots, whose holders point into it.
    pub pools: Vec<(String, String)>,
    /// The first event of each kind per cluster, pool and range, in the order
    /// they happened.
    pub events: Vec<FirstEvent>,
    /// The snapshots asked for (`cluster::Options::breakdowns`), in that order.
    pub snapshots: Vec<Snapshot>,
}

/// A range's name and peak figures (`cluster::RangeSummary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangePeak {
    pub name: String,
    pub peak_allocated: u64,
    pub peak_transient: u64,
    pub peak_at_s: Option<u64>,
    pub peak_event: u64,
}

/// An `events.csv` row, as much of it as a plan reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstEvent {
    pub time_s: u64,
    /// The `events.csv` kind.
    pub kind: String,
    /// Whether a larger range would have avoided it
    /// (`cluster::EventRecord::is_size_dependent`).
    pub size_dependent: bool,
    pub cluster: String,
    pub pool: String,
    pub range: String,
    pub detail: String,
}

/// Who held a range at one moment (`cluster::Breakdown`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Simulation event number and range index it was taken at.
    pub event: u64,
    pub range: u32,
    pub time_s: u64,
    pub allocated: u64,
    /// `(pool index, nodes, addresses each)`, in the replay's order.
    pub holders: Vec<(u32, u32, u64)>,
    pub doing: Vec<String>,
}

impl ReplaySummary {
    /// Cut a replay down to what a plan reads. Only each kind's first event per
    /// cluster, pool and range is kept: all a plan reads of them (first times,
    /// which ranges ran out, the failures no size fixes), while a replay that
    /// logs an unschedulable episode per churn pod would otherwise keep
    /// hundreds of thousands of rows per seed.
    pub fn of(replay: &Replay) -> Self {
        let mut seen = BTreeSet::new();
        let events = replay
            .events
            .iter()
            .filter(|e| seen.insert((e.kind, e.cluster.as_str(), e.pool.as_str(), e.range.as_str())))
            .map(|e| FirstEvent {
                time_s: e.time_s,
                kind: e.kind.as_str().to_string(),
                size_dependent: e.is_size_dependent(),
                cluster: e.cluster.clone(),
                pool: e.pool.clone(),
                range: e.range.clone(),
                detail: e.detail.clone(),
            })
            .collect();
        let ranges = replay
            .ranges
            .iter()
            .zip(&replay.summary.ranges)
            .map(|(info, r)| RangePeak {
                name: info.name.clone(),
                peak_allocated: r.peak_allocated,
                peak_transient: r.peak_transient,
                peak_at_s: r.peak_at_s,
                peak_event: r.peak_event,
            })
            .collect();
        let snapshots: Vec<Snapshot> = replay
            .breakdowns
            .iter()
            .map(|b| Snapshot {
                event: b.at.event,
                range: b.at.range,
                time_s: b.time_s,
                allocated: b.allocated,
                holders: b.holders.iter().map(|h| (h.pool, h.nodes, h.each)).collect(),
                doing: b.doing.clone(),
            })
            .collect();
        let pools = if snapshots.is_empty() {
            Vec::new()
        } else {
            replay.pools.iter().map(|p| (p.cluster.clone(), p.pool.clone())).collect()
        };
        ReplaySummary {
            events_processed: replay.events_processed,
            first_exhaustion_s: replay.summary.first_exhaustion_s,
            ranges,
            pools,
            events,
            snapshots,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replay with events of several kinds and a snapshot survives JSON
    /// exactly: every count, time, name and detail.
    #[test]
    fn a_summary_round_trips_through_json_exactly() {
        let yaml = "
name: tight
duration: 1d
network: {address_space: [10.0.0.0/16], subnets: {nodes: 10.0.0.0/27, pods: 10.0.1.0/26}}
allocator: dynamic
clusters:
  - name: d
    max_pods: 30
    service_cidr: 192.168.0.0/16
    node_pools: [{name: p, count: 3, vnet_subnet: nodes, pod_subnet: pods, autoscale: {min: 3, max: 9}}]
workloads:
  - {name: web, cluster: d, kind: deployment, replicas: 150}
  - {name: jobs, cluster: d, kind: churn, arrivals_per_hour: 300, lifetime: {exponential: 15m}}
";
        let scenario = scenario::parse_str(yaml, "t.yaml", &scenario::Overrides::default()).unwrap().scenario;
        let probe = cluster::replay(&scenario).unwrap();
        let at = |r: &str| probe.ranges.iter().position(|x| x.name == r).unwrap() as u32;
        let breakdowns: Vec<cluster::BreakdownAt> = ["nodes", "pods"]
            .iter()
            .map(|r| cluster::BreakdownAt { event: probe.summary.ranges[at(r) as usize].peak_event, range: at(r) })
            .collect();
        let options = cluster::Options { summary_only: true, breakdowns, ..cluster::Options::default() };
        let replay = cluster::replay_with(&scenario, options, &mut |_| {}).unwrap();
        let summary = ReplaySummary::of(&replay);
        assert!(summary.events.iter().any(|e| e.size_dependent), "{:?}", summary.events);
        assert_eq!(summary.snapshots.len(), 2);
        assert!(summary.snapshots.iter().all(|s| !s.holders.is_empty() && !s.doing.is_empty()));
        assert!(!summary.pools.is_empty());
        let text = serde_json::to_string(&summary).unwrap();
        let back: ReplaySummary = serde_json::from_str(&text).unwrap();
        assert_eq!(back, summary);
        assert_eq!(serde_json::to_string(&back).unwrap(), text, "the same bytes again");
        // u64 beyond f64's 53 bits survive too.
        let mut big = summary.clone();
        big.events_processed = u64::MAX;
        big.ranges[0].peak_at_s = Some(u64::MAX - 1);
        let back: ReplaySummary = serde_json::from_str(&serde_json::to_string(&big).unwrap()).unwrap();
        assert_eq!(back, big);
    }
}
