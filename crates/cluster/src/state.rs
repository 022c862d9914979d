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
/// cache line. `last_pod` remembers the last entry of `pods` after a push, so
/// that a pod end that follows (about half of them, under churn) knows which pod
/// moves into its slot without waiting for the list's buffer: one cache miss
/// less on the critical path.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct Node {
    /// Bound pods (any state but unschedulable), daemonset pods included, in
    /// the order `Vec::push` and `Vec::swap_remove` leave them. Changed only
    /// through [`Node::push_pod`] and [`Node::swap_remove_pod`].
    pods: Vec<PodId>,
    /// `pods.last()` if known: set by a push, forgotten by a removal (reading
    /// the new last entry then would wait for the list's buffer, which is cold).
    /// `UNKNOWN_POD` when not known (an `Option` would not fit the first line).
    last_pod: PodId,
    pool: u32,
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
    /// Its allocator said it accepts pods: it does until it is deleted
    /// ([`allocator::Allocator::accepts_pods`]), so `refresh` stops asking.
    pub accepts_pods: bool,
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

/// `Node::last_pod` when the last pod is not known (no pod slot is this high:
/// the pod table is indexed by `u32` and the estimate caps the pods well below).
const UNKNOWN_POD: PodId = PodId(u32::MAX);

impl Node {
    /// A node of `pool` with no pods; the other fields as given.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pool: usize,
        name: String,
        rank: u32,
        max_pods: u32,
        image: u32,
        node_subnet: RangeId,
        pod_subnet: Option<RangeId>,
    ) -> Self {
        Node {
            pods: Vec::new(),
            last_pod: UNKNOWN_POD,
            pool: u32::try_from(pool).expect("fewer than 2^32 pools"),
            sched_key: None,
            max_pods,
            rank,
            low_since: None,
            phase: Phase::Provisioning,
            deleting: false,
            ip_episode: false,
            accepts_pods: false,
            image,
            short: None,
            waiting: VecDeque::new(),
            sched_pos: 0,
            name,
            node_subnet,
            pod_subnet,
        }
    }

    /// `last_pod`, when known, is the list's last entry.
    pub fn last_pod_is_last(&self) -> bool {
        self.last_pod == UNKNOWN_POD || self.pods.last() == Some(&self.last_pod)
    }

    /// Bound pods, in the order described at [`Node`].
    pub fn pods(&self) -> &[PodId] {
        &self.pods
    }

    pub fn pool(&self) -> usize {
        self.pool as usize
    }

    /// Add `pod` at the end of the list: its slot.
    #[inline]
    pub fn push_pod(&mut self, pod: PodId) -> u32 {
        self.pods.push(pod);
        self.last_pod = pod;
        self.pods.len() as u32 - 1
    }

    /// Remove the pod in `slot`, moving the last one into it (as
    /// `Vec::swap_remove`): the pod that moved, if any.
    #[inline]
    pub fn swap_remove_pod(&mut self, slot: usize) -> Option<PodId> {
        let last = self.pods.len() - 1;
        let moved = (slot != last).then(|| if self.last_pod == UNKNOWN_POD { self.pods[last] } else { self.last_pod });
        if let Some(moved) = moved {
            self.pods[slot] = moved;
        }
        self.pods.truncate(last);
        self.last_pod = UNKNOWN_POD;
        moved
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodState {
    /// Slot free for reuse.
    Gone,
    Unschedulable,
    WaitingIp,
    Running,
}

/// A pod. The million-pod runs are cache-bound on these records (ending a pod
/// reads its record and updates the one that takes its slot on the node), so a
/// record is one 64-byte cache line: `u32` indices, the node as a `u32` with a
/// sentinel, and one field for a churn pod's lifetime that holds the time left
/// while the pod is not running and its end time while it runs.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
pub struct Pod {
    workload: u32,
    /// The pool whose `cluster.csv` counters include this pod (`u32::MAX`: none yet).
    counted_pool: u32,
    /// `NO_NODE` or the node it is bound to; see [`Pod::node`].
    node: u32,
    /// Index in the workload's pod list (deployments and daemonsets).
    pub workload_slot: u32,
    /// Bumped whenever the pod's pending end event becomes stale.
    pub generation: u32,
    /// The deployment revision it belongs to.
    pub revision: u32,
    pub state: PodState,
    pub host_network: bool,
    pub logged_unschedulable: bool,
    /// A churn pod: `lifetime` is meaningful.
    churn: bool,
    /// Churn pods: the lifetime still to run (ms) while not running, the end
    /// time (ms) while running.
    lifetime: u64,
    /// Creation order, for "newest first".
    pub created: u64,
    /// Its entry in an unschedulable queue, while it is unschedulable.
    pub queued: u64,
    /// Name suffix for logs.
    pub number: u64,
}

const NO_NODE: u32 = u32::MAX;

impl Pod {
    /// An unschedulable pod, on no node yet; `lifetime` for churn pods.
    pub fn new(
        workload: usize,
        host_network: bool,
        revision: u32,
        lifetime: Option<u64>,
        created: u64,
        number: u64,
    ) -> Self {
        Pod {
            workload: u32::try_from(workload).expect("fewer than 2^32 workloads"),
            counted_pool: u32::MAX,
            node: NO_NODE,
            workload_slot: 0,
            generation: 0,
            revision,
            state: PodState::Unschedulable,
            host_network,
            logged_unschedulable: false,
            churn: lifetime.is_some(),
            lifetime: lifetime.unwrap_or(0),
            created,
            queued: 0,
            number,
        }
    }

    pub fn workload(&self) -> usize {
        self.workload as usize
    }

    pub fn counted_pool(&self) -> usize {
        self.counted_pool as usize
    }

    pub fn set_counted_pool(&mut self, pool: usize) {
        self.counted_pool = u32::try_from(pool).expect("fewer than 2^32 pools");
    }

    pub fn node(&self) -> Option<NodeId> {
        (self.node != NO_NODE).then_some(NodeId(self.node))
    }

    pub fn set_node(&mut self, node: Option<NodeId>) {
        self.node = node.map_or(NO_NODE, |n| n.0);
    }

    /// A churn pod starts running at `now`: when it ends.
    pub fn start_lifetime(&mut self, now: SimTime) -> Option<SimTime> {
        if !self.churn {
            return None;
        }
        let ends_at = now.saturating_add(SimTime::from_millis(self.lifetime));
        self.lifetime = ends_at.as_millis();
        Some(ends_at)
    }

    /// A running churn pod stops at `now`: it keeps the lifetime it has left.
    pub fn stop_lifetime(&mut self, now: SimTime) {
        if self.churn {
            self.lifetime = SimTime::from_millis(self.lifetime).saturating_sub(now).as_millis();
        }
    }
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
    /// The next arrival's draws, made one arrival early and in the same order,
    /// so the stream is unchanged: their latency then overlaps the rest of the
    /// current arrival instead of holding up the next one.
    pub ahead: ChurnDraws,
}

/// What one churn arrival draws: its pod's lifetime, then the gap to the next arrival.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChurnDraws {
    pub lifetime_ms: u64,
    pub gap: SimTime,
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
    /// Its pods no node can take now.
    pub unschedulable: u64,
    /// The `pod-unschedulable` episode under way, while `unschedulable > 0`.
    pub episode: Option<Episode>,
}

/// A workload's pods waiting for room, from the first until none waits: one
/// `events.csv` row, written when it starts and completed when it ends.
#[derive(Debug, Clone, Copy)]
pub struct Episode {
    /// The row in the replay's events.
    pub event: usize,
    /// The most of the workload's pods that waited at once.
    pub most: u64,
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

    #[test]
    fn swap_remove_pod_matches_vec_swap_remove() {
        let mut node = Node::new(0, "n".into(), 0, 30, 0, RangeId(0), None);
        let mut model: Vec<PodId> = Vec::new();
        // Slots chosen by a fixed pseudo-random walk: the first, the last, the middle.
        for step in 0u32..200 {
            if step % 3 == 2 && !model.is_empty() {
                let slot = (step as usize * 7919) % model.len();
                let expected = (slot + 1 < model.len()).then(|| *model.last().unwrap());
                model.swap_remove(slot);
                assert_eq!(node.swap_remove_pod(slot), expected);
            } else {
                assert_eq!(node.push_pod(PodId(step)) as usize, model.len());
                model.push(PodId(step));
            }
            assert_eq!(node.pods, model);
            assert!(node.last_pod_is_last());
        }
        while !model.is_empty() {
            model.swap_remove(0);
            node.swap_remove_pod(0);
            assert_eq!(node.pods, model);
        }
    }

    /// A pod record is one cache line.
    #[test]
    fn pod_fills_one_cache_line() {
        assert_eq!((std::mem::size_of::<Pod>(), std::mem::align_of::<Pod>()), (64, 64));
    }

    #[test]
    fn a_churn_pod_keeps_the_lifetime_it_has_left() {
        let mut pod = Pod::new(0, false, 0, Some(5_000), 1, 1);
        assert_eq!(pod.start_lifetime(SimTime::from_millis(1_000)), Some(SimTime::from_millis(6_000)));
        pod.stop_lifetime(SimTime::from_millis(2_500));
        assert_eq!(pod.start_lifetime(SimTime::from_millis(10_000)), Some(SimTime::from_millis(13_500)));
        // Stopped after its end (a late pod end): nothing left, not an underflow.
        let mut late = Pod::new(0, false, 0, Some(1_000), 1, 1);
        late.start_lifetime(SimTime::ZERO);
        late.stop_lifetime(SimTime::from_millis(5_000));
        assert_eq!(late.start_lifetime(SimTime::from_millis(7_000)), Some(SimTime::from_millis(7_000)));
        // Started near the end of time: the end saturates, and what is left stays exact.
        let mut long = Pod::new(0, false, 0, Some(u64::MAX - 10), 1, 1);
        assert_eq!(long.start_lifetime(SimTime::from_millis(100)), Some(SimTime::MAX));
        long.stop_lifetime(SimTime::from_millis(200));
        assert_eq!(long.start_lifetime(SimTime::ZERO), Some(SimTime::from_millis(u64::MAX - 200)));
        let mut deployment_pod = Pod::new(0, false, 0, None, 1, 1);
        assert_eq!(deployment_pod.start_lifetime(SimTime::from_millis(1_000)), None);
        deployment_pod.stop_lifetime(SimTime::from_millis(2_000));
        assert_eq!(deployment_pod.start_lifetime(SimTime::from_millis(3_000)), None);
    }
}
