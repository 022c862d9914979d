//! The allocator trait: how the cluster model asks a networking mode for
//! addresses, and what it answers.
//!
//! An allocator owns the per-node bookkeeping of one cluster (what each node
//! holds, how many of its pods have an IP); the address pools themselves live
//! in the shared [`AddressSpace`], because subnets are shared between pools and
//! clusters. Allocators know nothing of files or pods' identities: they see
//! nodes, counts and ranges. Time reaches only the modes that ask for it
//! ([`Allocator::timed`]): they learn the clock before each call and ask to be
//! woken later (an ENI's attach delay, a release interval, a back-off). The
//! model calls them in a fixed order, so a run stays deterministic.
//!
//! What a mode is — its name, defaults, rules and ranges — is its [`Mode`].

use std::fmt;

mod mode;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use mode::{
    Build, Finding, InUse, Machine, Machines, MaxPods, Mode, PoolFacts, PreCheck, Role, Setting, SettingSpec, Settings,
};
pub use net::{AddressRange, AddressSpace, Granularity, Ipv4Net, RangeId, SubnetRules};

/// A node, numbered in creation order across the whole simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What an allocator needs to know about a node being created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpec {
    /// The pool's node subnet (`vnet_subnet`): every node takes its own IP here.
    pub node_subnet: RangeId,
    /// The pool's pod subnet, for allocators that use one.
    pub pod_subnet: Option<RangeId>,
    /// The most pods the node may run (host-network ones included).
    pub max_pods: u32,
    /// The pool's machine, for modes with [`Mode::machines`] (always `Some` there).
    pub machine: Option<Machine>,
}

/// Why an allocator could not supply addresses: a kind of `events.csv` that
/// belongs to address allocation. Each mode crate declares its own kinds (and
/// lists them in its [`Mode::failures`]); node IPs are every mode's.
/// Kinds are compared and ordered by name.
#[derive(Debug, Clone, Copy)]
pub struct FailureKind {
    name: &'static str,
    fixed_by_size: bool,
}

impl FailureKind {
    /// No address left in the node subnet for the node's own IP.
    pub const NODE_IP_EXHAUSTED: FailureKind = FailureKind::sized("node-ip-exhausted");

    /// A kind a larger range fixes (an exhausted subnet, pod CIDR or block supply).
    pub const fn sized(name: &'static str) -> Self {
        Self { name, fixed_by_size: true }
    }

    /// A kind no range size fixes (a route-table or ENI limit): `podip plan`
    /// reports it and never sizes for it.
    pub const fn limit(name: &'static str) -> Self {
        Self { name, fixed_by_size: false }
    }

    /// The kind's name in `events.csv`.
    pub const fn as_str(self) -> &'static str {
        self.name
    }

    /// Whether a larger range would have avoided it.
    pub const fn fixed_by_size(self) -> bool {
        self.fixed_by_size
    }
}

impl PartialEq for FailureKind {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for FailureKind {}

impl PartialOrd for FailureKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FailureKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name.cmp(other.name)
    }
}

impl std::hash::Hash for FailureKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request: what ran out, where, and how much was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// The range that ran out; `None` for the route table.
    pub range: Option<RangeId>,
    /// Addresses (or routes) requested.
    pub wanted: u64,
    /// Addresses (or routes) that were left.
    pub available: u64,
}

/// What happened to a node's own request for addresses during a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Request {
    /// The node needed nothing more.
    #[default]
    None,
    /// The node asked for more addresses and got them.
    Granted,
    /// The node asked for more addresses and the range could not supply them.
    Failed(Failure),
}

/// The answer to a call that may change what a node's pods can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Update {
    /// How many of the node's pods waiting for an IP got one (oldest first).
    pub started: u32,
    /// The node's own request, if it made one.
    pub request: Request,
    /// The node still wants addresses it could not get (it should retry when its
    /// range gets addresses back).
    pub short: bool,
}

/// One networking mode, for the nodes of one cluster.
///
/// Call protocol, per node: `create_node` once (all or nothing); then any
/// sequence of `reconcile`, `pod_bound` and `pod_unbound`; then `delete_node`
/// once, which returns everything the node holds, pods' IPs included.
/// The model guarantees a node never has more than `max_pods` pods.
pub trait Allocator: fmt::Debug + Send {
    /// The mode's name as the CLI and outputs spell it (`dynamic`, `kubenet`, …).
    fn name(&self) -> &'static str;

    /// Take everything a node needs in order to exist: its node IP and the
    /// addresses this mode reserves at creation. On failure nothing is held.
    fn create_node(&mut self, node: NodeId, spec: &NodeSpec, space: &mut AddressSpace) -> Result<(), Failure>;

    /// Return what the node holds, including its running pods' IPs. A mode
    /// whose addresses outlive their node (Calico's affine blocks until they are
    /// released) may keep some, count them in [`Self::retained`] and return them
    /// from a later [`Self::wake`] for this node.
    fn delete_node(&mut self, node: NodeId, space: &mut AddressSpace);

    /// Whether the scheduler may bind pods to the node (a dynamic node whose
    /// first request failed takes no pods until a retry succeeds). Once true it
    /// stays true until the node is deleted: the cluster model stops asking
    /// then (and `--check-invariants` checks it).
    fn accepts_pods(&self, node: NodeId) -> bool;

    /// Whether [`Self::accepts_pods`] can ever say no. The cluster model
    /// re-evaluates a node after every bind and unbind; for a mode that takes
    /// pods on every node it skips asking (a dynamic call per event).
    fn may_refuse_pods(&self) -> bool {
        true
    }

    /// Addresses the node holds in `range`: its node IP and whatever this mode
    /// took there for it (reservation, batches, blocks, a /24), 0 if none. Over
    /// a range's nodes these add up to its `allocated`; `podip plan` reads them
    /// to explain a range's peak.
    fn held_in(&self, node: NodeId, range: RangeId) -> u64;

    /// Addresses in `range` still held for nodes already deleted (see
    /// [`Self::delete_node`]); with [`Self::held_in`] over live nodes they add
    /// up to the range's `allocated`.
    fn retained(&self, _range: RangeId) -> u64 {
        0
    }

    /// Addresses each claim of `range` takes when the mode claims it in
    /// blocks of its own size (Calico's IPAM blocks), so reports can count
    /// blocks per node; `None` otherwise.
    fn claim_unit(&self, _range: RangeId) -> Option<u64> {
        None
    }

    /// Whether the mode acts on its own clock. Only then does the model call
    /// [`Self::set_now`] before each call, [`Self::take_wakes`] after it, and
    /// [`Self::wake`] when a wake is due; other modes cost nothing for it.
    fn timed(&self) -> bool {
        false
    }

    /// The simulated time, in milliseconds, at the call that follows.
    fn set_now(&mut self, _now_ms: u64) {}

    /// Move the wakes asked for since the last call into `into`, in the order
    /// asked; the model runs each at its time, ties in insertion order.
    fn take_wakes(&mut self, _into: &mut Vec<Wake>) {}

    /// A wake asked for earlier is due (the node may have been deleted since).
    /// Like [`Self::reconcile`]: what it returned to its ranges lets short
    /// nodes retry; `started` pods of the node get their IPs.
    fn wake(&mut self, _node: NodeId, _space: &mut AddressSpace) -> Update {
        Update::default()
    }

    /// Bring the node's holding in line with its demand (grow or shrink), then
    /// hand free addresses to waiting pods. Called after creation and whenever
    /// the node's range has had addresses returned.
    fn reconcile(&mut self, node: NodeId, space: &mut AddressSpace) -> Update;

    /// A pod that needs an IP was bound to the node; it waits until `started`
    /// says it has one.
    fn pod_bound(&mut self, node: NodeId, space: &mut AddressSpace) -> Update;

    /// A pod that needed an IP left the node: `had_ip` says whether it had one
    /// or was still waiting.
    fn pod_unbound(&mut self, node: NodeId, had_ip: bool, space: &mut AddressSpace) -> Update;
}

/// A timed mode's request to be woken for `node` after `after_ms`
/// milliseconds of simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wake {
    pub node: NodeId,
    pub after_ms: u64,
}

/// Take the node's own IP from its node subnet.
pub fn take_node_ip(spec: &NodeSpec, space: &mut AddressSpace) -> Result<u32, Failure> {
    let subnet = &mut space[spec.node_subnet];
    match subnet.take() {
        Some(unit) => {
            subnet.bind(1);
            Ok(unit)
        }
        None => Err(Failure {
            kind: FailureKind::NODE_IP_EXHAUSTED,
            range: Some(spec.node_subnet),
            wanted: 1,
            available: 0,
        }),
    }
}

/// Return a node IP taken by [`take_node_ip`].
pub fn return_node_ip(node_subnet: RangeId, unit: u32, space: &mut AddressSpace) {
    let subnet = &mut space[node_subnet];
    subnet.unbind(1);
    subnet.give_back(unit);
}

/// Per-node state kept in a vector indexed by [`NodeId`] (node ids are dense).
#[derive(Debug, Clone)]
pub struct NodeTable<T> {
    slots: Vec<Option<T>>,
}

impl<T> Default for NodeTable<T> {
    fn default() -> Self {
        Self { slots: Vec::new() }
    }
}

impl<T> NodeTable<T> {
    pub fn insert(&mut self, node: NodeId, state: T) {
        if self.slots.len() <= node.index() {
            self.slots.resize_with(node.index() + 1, || None);
        }
        assert!(self.slots[node.index()].is_none(), "node {node:?} created twice");
        self.slots[node.index()] = Some(state);
    }

    pub fn remove(&mut self, node: NodeId) -> T {
        self.slots.get_mut(node.index()).and_then(Option::take).unwrap_or_else(|| panic!("unknown node {node:?}"))
    }

    pub fn get(&self, node: NodeId) -> &T {
        self.slots.get(node.index()).and_then(Option::as_ref).unwrap_or_else(|| panic!("unknown node {node:?}"))
    }

    pub fn get_mut(&mut self, node: NodeId) -> &mut T {
        self.slots.get_mut(node.index()).and_then(Option::as_mut).unwrap_or_else(|| panic!("unknown node {node:?}"))
    }

    pub fn contains(&self, node: NodeId) -> bool {
        self.slots.get(node.index()).is_some_and(Option::is_some)
    }

    /// Live nodes in id (creation) order.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|s| (NodeId(i as u32), s)))
    }
}
