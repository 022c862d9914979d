//! The cluster model's state: clusters, pools, nodes and pods, held in flat
//! vectors and addressed by index (no reference cycles, no hashing).

use std::collections::{BTreeSet, VecDeque};

use allocator::{Allocator, NodeId};
use engine::SimTime;
use net::RangeId;
use rand_chacha::ChaCha8Rng;
use scenario::{Autoscale, NodePool, Scheduler};

use crate::load::LoadIndex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodId(pub u32);

#[derive(Debug)]
pub struct ClusterState {
    pub name: String,
    pub allocator: Box<dyn Allocator>,
    /// `allocator.may_refuse_pods()`, asked once.
    pub may_refuse_pods: bool,
    pub scheduler: Scheduler,
    pub scheduler_rng: ChaCha8Rng,
    /// Live pools in creation order.
    pub pools: Vec<usize>,
    /// Pods of workloads not tied to a pool that no node could take, first in
    /// first out, as `(queue sequence, pod)`. Entries go stale when a pod is
    /// placed or deleted; `Pod::queued` tells.
    pub unschedulable: VecDeque<(u64, PodId)>,
    /// Unschedulable pods that may run in any of the cluster's pools.
    pub unschedulable_any: u64,
    /// Unschedulable pods of the cluster's workloads, restricted or not.
    pub unschedulable_total: u64,
    /// Where unschedulable pods of unrestricted workloads are counted.
    pub first_pool: usize,
    pub autoscaled: bool,
}

#[derive(Debug)]
pub struct Upgrade {
    pub surge: u32,
    /// The image nodes are being upgraded to.
    pub image: u32,
    /// Nodes drained or reimaged in the current step.
    pub batch: Vec<NodeId>,
    /// The `surge` nodes to delete when the upgrade ends: the surge nodes, then
    /// the most recently reimaged ones.
    pub buffers: Vec<NodeId>,
}

#[derive(Debug)]
pub struct PoolState {
    pub cluster: usize,
    pub spec: NodePool,
    pub node_subnet: RangeId,
    pub pod_subnet: Option<RangeId>,
    /// Live nodes (any phase) in creation order.
    pub nodes: Vec<NodeId>,
    /// Nodes the pool should have outside upgrades (scale operations set it).
    pub target: u32,
    /// In its cluster's `pools`: added and not removed since.
    pub live: bool,
    /// Operation-level failure kinds logged since the pool's last successful
    /// operation (one row per episode).
    pub logged: Vec<crate::EventKind>,
    /// Schedulable nodes by (pods, rank): spread takes the emptiest, pack the fullest.
    pub by_load: LoadIndex,
    /// The same nodes in a vector, for the `random` scheduler (kept only in
    /// clusters that use it).
    pub schedulable: Vec<NodeId>,
    pub free_slots: u64,
    pub running: u64,
    pub waiting: u64,
    pub unschedulable: u64,
    /// Image of nodes created now; upgrades raise it.
    pub image: u32,
    pub upgrade: Option<Upgrade>,
    pub autoscale: Option<Autoscale>,
    pub last_scale_up: Option<SimTime>,
    /// Ready nodes below half of max_pods, with the time they went below.
    pub low_nodes: BTreeSet<NodeId>,
    /// Unschedulable pods restricted to this pool.
    pub unschedulable_restricted: u64,
    /// Those pods, queued as the cluster's queue is.
    pub pending: VecDeque<(u64, PodId)>,
    pub nodes_named: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Provisioning,
    Ready,
    /// Cordoned: being drained before deletion or reimage.
    Draining,
    Reimaging,
    Deleted,
}

/// A node. Big clusters are cache-bound on these records (`spread` visits the
/// nodes in turn), so the layout is fixed: binding and unbinding a pod read the
/// first two 64-byte lines (`pods` to `low_since`, then `phase` to `waiting`),
/// names and the random scheduler's position come last; each record starts a
/// cache line.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct Node {
    /// Bound pods (any state but unschedulable), daemonset pods included.
    pub pods: Vec<PodId>,
    pub pool: usize,
    /// The pods count under which the node sits in its pool's `by_load`.
    pub sched_key: Option<u32>,
    pub max_pods: u32,
    /// Creation order in its pool: the number in its name.
    pub rank: u32,
    pub low_since: Option<SimTime>,
    pub phase: Phase,
    /// Deleted once drained (rather than reimaged).
    pub deleting: bool,
    /// Logged `pod-ip-exhausted` since its last successful request.
    pub ip_episode: bool,
    pub image: u32,
    /// Short of addresses: the range it waits on and how many it last asked for.
    pub short: Option<(RangeId, u64)>,
    /// Bound pods waiting for an IP, oldest first.
    pub waiting: VecDeque<PodId>,
    pub sched_pos: usize,
    pub name: String,
    /// Its pool's subnets when it was created: a pool removed and added again
    /// on other subnets leaves its draining nodes where they were.
    pub node_subnet: RangeId,
    pub pod_subnet: Option<RangeId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodState {
    /// Slot free for reuse.
    Gone,
    Unschedulable,
    WaitingIp,
    Running,
}

#[derive(Debug, Clone)]
pub struct Pod {
    pub workload: usize,
    pub state: PodState,
    pub node: Option<NodeId>,
    /// Index in `Node::pods`.
    pub node_slot: u32,
    /// Index in the workload's pod list (deployments and daemonsets).
    pub workload_slot: u32,
    /// Creation order, for "newest first".
    pub created: u64,
    /// Bumped whenever the pod's pending end event becomes stale.
    pub generation: u32,
    pub host_network: bool,
    pub logged_unschedulable: bool,
    /// Its entry in an unschedulable queue, while it is unschedulable.
    pub queued: u64,
    /// The deployment revision it belongs to.
    pub revision: u32,
    /// Churn pods: lifetime still to run.
    pub lifetime_left: Option<u64>,
    pub ends_at: SimTime,
    /// The pool whose `cluster.csv` counters include this pod.
    pub counted_pool: usize,
    /// Name suffix for logs.
    pub number: u64,
}

#[derive(Debug)]
pub enum WorkloadKind {
    Deployment { replicas: u32, revision: u32, rolling: bool },
    DaemonSet { host_network: bool },
    Churn(Box<Churn>),
}

#[derive(Debug)]
pub struct Churn {
    pub rate_per_ms: f64,
    pub lifetime: scenario::Lifetime,
    pub start: SimTime,
    pub end: SimTime,
    pub rng: ChaCha8Rng,
}

#[derive(Debug)]
pub struct WorkloadState {
    pub name: String,
    pub cluster: usize,
    pub pool: Option<usize>,
    pub kind: WorkloadKind,
    /// Live pods of deployments and daemonsets.
    pub pods: Vec<PodId>,
    pub pods_named: u64,
}

/// The nodes short of addresses in one range, retried when it gets some back.
#[derive(Debug, Default)]
pub struct ShortNodes {
    /// In creation order.
    pub nodes: BTreeSet<NodeId>,
    /// A lower bound of what any of them asks for: no retry while free is below it.
    pub min_wanted: u64,
    /// The range's `returns()` at the last retry pass.
    pub seen_returns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields binding and unbinding read stay within a node's first two cache lines.
    #[test]
    fn node_hot_fields_fill_two_cache_lines() {
        use std::mem::{align_of, offset_of, size_of};
        assert_eq!(align_of::<Node>(), 64);
        assert_eq!(offset_of!(Node, low_since) + size_of::<Option<SimTime>>(), 64);
        assert_eq!(offset_of!(Node, phase), 64);
        assert_eq!(offset_of!(Node, waiting) + size_of::<VecDeque<PodId>>(), 128);
    }
}
