//! The validated scenario: what the cluster model consumes. Every value here has
//! passed validation (see `validate/`) and every default is filled in.

use std::net::Ipv4Addr;

pub use allocator::{Machine, Mode, Setting, Settings, SubnetRules};
use ipnet::Ipv4Net;

/// Seconds of simulated time, as scenarios write them.
pub type Seconds = u64;

/// A cluster of a validated scenario: its index in [`Scenario::clusters`].
/// Validation resolves every name a scenario writes into these ids, so the
/// model never looks a name up; a scenario edited in code gets them afresh
/// from [`crate::validate()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterId(pub u32);

/// A subnet: its index in [`Network::subnets`], which is also its range's
/// index in the model's address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubnetId(pub u32);

/// A workload: its index in [`Scenario::workloads`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadId(pub u32);

impl ClusterId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl SubnetId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl WorkloadId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub duration: Seconds,
    pub sample_every: Seconds,
    pub network: Network,
    pub clusters: Vec<Cluster>,
    pub workloads: Vec<Workload>,
    /// Sorted by `at`; equal times keep file order. Events after `duration` are dropped (with a warning).
    pub events: Vec<TimedEvent>,
    pub timing: Timing,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub address_space: Vec<Ipv4Net>,
    /// In file order.
    pub subnets: Vec<Subnet>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subnet {
    pub name: String,
    pub prefix: Ipv4Net,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    Spread,
    Pack,
    Random,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub name: String,
    /// The networking mode (from the `modes` registry, or any descriptor an
    /// [`Overrides`](crate::Overrides) supplies).
    pub allocator: &'static Mode,
    /// The block of its mode's settings (`clusters[].<settings_key>`), checked against the mode's keys.
    pub settings: Settings,
    pub pod_cidr: Ipv4Net,
    pub service_cidr: Ipv4Net,
    pub dns_service_ip: Ipv4Addr,
    pub scheduler: Scheduler,
    /// The cluster-level max_pods default (already resolved against the allocator's
    /// default); used for pools added later by `add_pool` that set none.
    pub max_pods: u32,
    /// Whether the file wrote the cluster's max_pods: when it did not, a pool
    /// whose mode has [`Mode::machines`](allocator::Mode::machines) takes its
    /// machine's default instead (`add_pool` pools too).
    pub max_pods_written: bool,
    pub node_pools: Vec<NodePool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surge {
    Count(u32),
    Percent(u32),
}

impl Surge {
    /// Surge nodes for a pool of `nodes` nodes: a count, or a percent rounded up;
    /// at least 1.
    pub fn nodes_for(self, nodes: u32) -> u32 {
        let n = match self {
            Surge::Count(n) => n,
            Surge::Percent(p) => (u64::from(nodes) * u64::from(p)).div_ceil(100).min(u64::from(u32::MAX)) as u32,
        };
        n.max(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autoscale {
    pub min: u32,
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodePool {
    pub name: String,
    pub count: u32,
    pub vnet_subnet: String,
    /// Present only when the cluster's allocator uses a pod subnet.
    pub pod_subnet: Option<String>,
    /// `vnet_subnet` and `pod_subnet`, resolved.
    pub vnet_subnet_id: SubnetId,
    pub pod_subnet_id: Option<SubnetId>,
    /// Resolved: pool, else cluster, else the allocator's default.
    pub max_pods: u32,
    pub max_surge: Surge,
    pub autoscale: Option<Autoscale>,
    pub os: Os,
    /// The `instance_type` written, or the one assumed when a mode with
    /// machines was given neither it nor `eni`.
    pub instance_type: Option<String>,
    /// Resolved from `instance_type` or `eni`: `Some` exactly when the
    /// cluster's mode has [`Mode::machines`](allocator::Mode::machines).
    pub machine: Option<allocator::Machine>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub name: String,
    pub cluster: String,
    pub cluster_id: ClusterId,
    pub pool: Option<String>,
    pub kind: WorkloadKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WorkloadKind {
    Deployment { replicas: u32 },
    DaemonSet { host_network: bool },
    Churn { arrivals_per_hour: f64, lifetime: Lifetime, start: Seconds, end: Option<Seconds> },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lifetime {
    Fixed(Seconds),
    /// Mean.
    Exponential(Seconds),
    Uniform(Seconds, Seconds),
    LogNormal {
        median: Seconds,
        sigma: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent {
    pub at: Seconds,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    ScalePool { cluster: String, cluster_id: ClusterId, pool: String, count: u32 },
    UpgradePool { cluster: String, cluster_id: ClusterId, pool: String },
    AddPool { cluster: String, cluster_id: ClusterId, pool: NodePool },
    RemovePool { cluster: String, cluster_id: ClusterId, pool: String },
    ScaleWorkload { name: String, workload: WorkloadId, replicas: u32 },
    Rollout { name: String, workload: WorkloadId },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub node_provision: Seconds,
    pub node_drain: Seconds,
    pub node_reimage: Seconds,
}

impl Default for Timing {
    fn default() -> Self {
        Self { node_provision: 180, node_drain: 60, node_reimage: 300 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surge_percent_rounds_up_and_is_at_least_one() {
        // model.md: the default "10%" is 1 for pools of up to 10 nodes.
        assert_eq!(Surge::Percent(10).nodes_for(1), 1);
        assert_eq!(Surge::Percent(10).nodes_for(10), 1);
        assert_eq!(Surge::Percent(10).nodes_for(11), 2);
        assert_eq!(Surge::Percent(33).nodes_for(5), 2);
        assert_eq!(Surge::Percent(100).nodes_for(7), 7);
        assert_eq!(Surge::Percent(10).nodes_for(0), 1);
        assert_eq!(Surge::Count(3).nodes_for(100), 3);
    }

    #[test]
    fn max_pods_defaults_follow_model_md() {
        let default = |name| modes::find(name).unwrap().max_pods.default;
        assert_eq!(default("node-subnet"), 30);
        assert_eq!(default("dynamic"), 250);
        assert_eq!(default("static-block"), 250);
        assert_eq!(default("kubenet"), 110);
        assert_eq!(default("overlay"), 250);
    }

    #[test]
    fn every_mode_accepts_max_pods_within_the_scenario_limit() {
        for mode in modes::ALL {
            assert!(crate::MAX_PODS_RANGE.contains(&u64::from(mode.max_pods.min)), "{mode}");
            assert!(crate::MAX_PODS_RANGE.contains(&u64::from(mode.max_pods.max)), "{mode}");
        }
    }
}
