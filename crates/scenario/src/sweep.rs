//! `podip sweep`'s spec: a base scenario and axes to vary. The points are the
//! product of the axes in file order, the first axis varying slowest (row
//! major), numbered from 0; docs/distributed.md shows the format.

use std::fmt::Write as _;

use ipnet::Ipv4Net;
use serde::Deserialize;

use crate::diag::Location;
use crate::model::{Scenario, WorkloadKind};
use crate::raw::RawAllocator;
use crate::{Mode, yaml};

/// One axis: a name for the column and its values.
#[derive(Debug, Clone, PartialEq)]
pub enum Axis {
    Allocators(Vec<&'static Mode>),
    Seeds(Vec<u64>),
    PoolCount { cluster: String, pool: String, values: Vec<u32> },
    MaxPods { cluster: String, pool: String, values: Vec<u32> },
    SubnetPrefix { subnet: String, values: Vec<u8> },
    ChurnRate { workload: String, values: Vec<f64> },
}

impl Axis {
    /// The sweep.csv column.
    pub fn column(&self) -> String {
        match self {
            Axis::Allocators(_) => "allocator".into(),
            Axis::Seeds(_) => "seed".into(),
            Axis::PoolCount { cluster, pool, .. } => format!("{cluster}/{pool}.count"),
            Axis::MaxPods { cluster, pool, .. } => format!("{cluster}/{pool}.max_pods"),
            Axis::SubnetPrefix { subnet, .. } => format!("{subnet}.prefix"),
            Axis::ChurnRate { workload, .. } => format!("{workload}.arrivals_per_hour"),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Axis::Allocators(v) => v.len(),
            Axis::Seeds(v) => v.len(),
            Axis::PoolCount { values, .. } | Axis::MaxPods { values, .. } => values.len(),
            Axis::SubnetPrefix { values, .. } => values.len(),
            Axis::ChurnRate { values, .. } => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as sweep.csv writes it.
    pub fn value(&self, i: usize) -> String {
        match self {
            Axis::Allocators(v) => v[i].name.to_string(),
            Axis::Seeds(v) => v[i].to_string(),
            Axis::PoolCount { values, .. } | Axis::MaxPods { values, .. } => values[i].to_string(),
            Axis::SubnetPrefix { values, .. } => format!("/{}", values[i]),
            Axis::ChurnRate { values, .. } => values[i].to_string(),
        }
    }

    /// Apply value `i` to a scenario loaded for the point (allocators are
    /// applied by loading; the caller validates the result).
    pub fn apply(&self, s: &mut Scenario, i: usize) -> Result<(), String> {
        let pool_of = |s: &mut Scenario, cluster: &str, pool: &str| -> Result<usize, String> {
            let c = s.clusters.iter().position(|c| c.name == cluster).ok_or(format!("no cluster `{cluster}`"))?;
            s.clusters[c]
                .node_pools
                .iter()
                .position(|p| p.name == pool)
                .map(|_| c)
                .ok_or(format!("cluster `{cluster}` has no pool `{pool}` at time zero"))
        };
        match self {
            Axis::Allocators(_) => {}
            Axis::Seeds(v) => s.seed = v[i],
            Axis::PoolCount { cluster, pool, values } => {
                let c = pool_of(s, cluster, pool)?;
                let p = s.clusters[c].node_pools.iter_mut().find(|p| &p.name == pool).expect("found above");
                p.count = values[i];
            }
            Axis::MaxPods { cluster, pool, values } => {
                let c = pool_of(s, cluster, pool)?;
                let p = s.clusters[c].node_pools.iter_mut().find(|p| &p.name == pool).expect("found above");
                p.max_pods = values[i];
            }
            Axis::SubnetPrefix { subnet, values } => {
                let sub =
                    s.network.subnets.iter_mut().find(|x| &x.name == subnet).ok_or(format!("no subnet `{subnet}`"))?;
                let net = Ipv4Net::new(sub.prefix.network(), values[i])
                    .map_err(|_| format!("/{} is not a prefix length", values[i]))?;
                sub.prefix = net.trunc();
            }
            Axis::ChurnRate { workload, values } => {
                let w =
                    s.workloads.iter_mut().find(|w| &w.name == workload).ok_or(format!("no workload `{workload}`"))?;
                match &mut w.kind {
                    WorkloadKind::Churn { arrivals_per_hour, .. } => *arrivals_per_hour = values[i],
                    _ => return Err(format!("workload `{workload}` is not a churn workload")),
                }
            }
        }
        Ok(())
    }
}

/// A sweep: the base scenario's path (as written, relative to the spec) and the axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub scenario: String,
    pub axes: Vec<Axis>,
}

impl Sweep {
    /// Points in all.
    pub fn points(&self) -> usize {
        self.axes.iter().map(Axis::len).product()
    }

    /// Point `index`'s value index on each axis: row major, the last axis fastest.
    pub fn coords(&self, mut index: usize) -> Vec<usize> {
        let mut coords = vec![0; self.axes.len()];
        for (a, axis) in self.axes.iter().enumerate().rev() {
            coords[a] = index % axis.len();
            index /= axis.len();
        }
        coords
    }

    /// The allocator of point `coords`, if an axis sets it.
    pub fn allocator(&self, coords: &[usize]) -> Option<&'static Mode> {
        self.axes.iter().zip(coords).find_map(|(a, &i)| match a {
            Axis::Allocators(v) => Some(v[i]),
            _ => None,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    scenario: String,
    axes: Vec<RawAxis>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSeeds {
    List(Vec<u64>),
    Range { from: u64, count: u64 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoolValues {
    cluster: String,
    pool: String,
    values: Vec<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubnetValues {
    subnet: String,
    values: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChurnValues {
    workload: String,
    values: Vec<f64>,
}

/// `{allocators: [...]}`, `{seeds: ...}`, …: exactly one key, checked after parsing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAxis {
    allocators: Option<Vec<RawAllocator>>,
    seeds: Option<RawSeeds>,
    pool_count: Option<RawPoolValues>,
    max_pods: Option<RawPoolValues>,
    subnet_prefix: Option<RawSubnetValues>,
    churn_rate: Option<RawChurnValues>,
}

/// Most points a sweep may have.
pub const MAX_POINTS: usize = 1_000_000;

/// Why a sweep spec was refused: a message with the file, path and position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SweepError(pub String);

/// Read a sweep spec (`label` names it in messages).
pub fn parse_sweep(text: &str, label: &str) -> Result<Sweep, SweepError> {
    let raw: RawSweep = yaml::parse_as(text).map_err(|f| {
        let mut m = format!("{label}: ");
        if !f.path.is_empty() {
            let _ = write!(m, "{}: ", f.path);
        }
        m.push_str(&f.message);
        if let Some(Location { line, column }) = f.location {
            let _ = write!(m, " at line {line} column {column}");
        }
        SweepError(m)
    })?;
    let mut axes = Vec::new();
    for (i, a) in raw.axes.into_iter().enumerate() {
        let err = |what: &str| SweepError(format!("{label}: axes[{i}]: {what}"));
        let mut found = Vec::new();
        if let Some(v) = a.allocators {
            found.push(Axis::Allocators(v.into_iter().map(|r| r.0).collect()));
        }
        if let Some(s) = a.seeds {
            found.push(Axis::Seeds(match s {
                RawSeeds::List(v) => v,
                RawSeeds::Range { from, count } => {
                    (0..count.min(MAX_POINTS as u64 + 1)).map(|k| from.wrapping_add(k)).collect()
                }
            }));
        }
        if let Some(p) = a.pool_count {
            found.push(Axis::PoolCount { cluster: p.cluster, pool: p.pool, values: p.values });
        }
        if let Some(p) = a.max_pods {
            found.push(Axis::MaxPods { cluster: p.cluster, pool: p.pool, values: p.values });
        }
        if let Some(p) = a.subnet_prefix {
            found.push(Axis::SubnetPrefix { subnet: p.subnet, values: p.values });
        }
        if let Some(c) = a.churn_rate {
            found.push(Axis::ChurnRate { workload: c.workload, values: c.values });
        }
        let axis = match found.len() {
            1 => found.remove(0),
            0 => {
                return Err(err(
                    "an axis needs one of allocators, seeds, pool_count, max_pods, subnet_prefix, churn_rate",
                ));
            }
            _ => return Err(err("an axis sets one thing; split it into one axis per key")),
        };
        if axis.is_empty() {
            return Err(err(&format!("`{}` has no values", axis.column())));
        }
        if axes.iter().any(|a: &Axis| a.column() == axis.column()) {
            return Err(err(&format!("`{}` is varied twice", axis.column())));
        }
        axes.push(axis);
    }
    let sweep = Sweep { scenario: raw.scenario, axes };
    if sweep.axes.is_empty() {
        return Err(SweepError(format!("{label}: axes: a sweep needs at least one axis")));
    }
    let points = sweep.axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.len()).filter(|&n| n <= MAX_POINTS));
    if points.is_none() {
        return Err(SweepError(format!("{label}: axes: more than {MAX_POINTS} points")));
    }
    Ok(sweep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_row_major_first_axis_slowest() {
        let s = parse_sweep(
            "scenario: s.yaml\naxes:\n  - allocators: [node-subnet, dynamic]\n  - seeds: {from: 5, count: 3}\n",
            "w.yaml",
        )
        .unwrap();
        assert_eq!(s.points(), 6);
        assert_eq!((0..6).map(|i| s.coords(i)).collect::<Vec<_>>(), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
        assert_eq!((s.axes[1].value(2), s.allocator(&[1, 0]).unwrap().name), ("7".into(), "dynamic"));
    }

    #[test]
    fn bad_specs_name_the_axis() {
        let e = |t: &str| parse_sweep(t, "w.yaml").unwrap_err().0;
        assert!(e("scenario: s\naxes: []\n").contains("at least one axis"));
        assert!(e("scenario: s\naxes: [{}]\n").contains("axes[0]: an axis needs one of"));
        assert!(e("scenario: s\naxes: [{seeds: [1], allocators: [dynamic]}]\n").contains("one axis per key"));
        assert!(e("scenario: s\naxes: [{seeds: []}]\n").contains("`seed` has no values"));
        assert!(e("scenario: s\naxes: [{seeds: [1]}, {seeds: [2]}]\n").contains("varied twice"));
        assert!(e("scenario: s\naxes: [{allocators: [nope]}]\n").contains("unknown value `nope`"));
        assert!(e("scenario: s\naxes: [{sedes: [1]}]\n").contains("unknown key `sedes`"));
        assert!(e("scenario: s\naxes: [{seeds: {from: 0, count: 2000000}}]\n").contains("more than 1000000 points"));
    }
}
