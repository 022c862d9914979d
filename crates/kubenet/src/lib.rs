//! `kubenet`: a /24 per node from the cluster's pod CIDR (model.md, "`kubenet`").
//!
//! The node's own IP comes from its node subnet; at creation the node also takes one /24 from the
//! cluster's pod CIDR (not a VNet range: nothing reserved) and one route in the cluster's route
//! table, which holds at most 400. Pods start at once and count as in use on the pod CIDR.
//! [`PerNodeSlash24`] holds the logic; the `overlay` crate reuses it without a route limit.

use allocator::{
    AddressSpace, Allocator, Build, Failure, FailureKind, Granularity, InUse, MaxPods, Mode, NodeId, NodeSpec,
    NodeTable, RangeId, Role, Update, return_node_ip, take_node_ip,
};

/// No free /24 in the pod CIDR (kubenet, overlay).
pub const POD_CIDR_EXHAUSTED: FailureKind = FailureKind::sized("pod-cidr-exhausted");

/// The cluster's route table already has 400 routes: no range size fixes it.
pub const ROUTE_TABLE_FULL: FailureKind = FailureKind::limit("route-table-full");

/// The mode, for the registry.
pub static MODE: Mode = Mode {
    cloud_name: "kubenet",
    summary: "node IPs from the VNet, a /24 per node from the pod CIDR, one route per node (400 at most)",
    max_pods: MaxPods { default: 110, min: 10, max: 250 },
    pod_cidr: Some(Granularity::SLASH24),
    windows: false,
    failures: &[POD_CIDR_EXHAUSTED, ROUTE_TABLE_FULL],
    in_use: slash24_in_use,
    ..Mode::base("kubenet", |build: &Build<'_>| Box::new(Kubenet::new(pod_cidr_of(build))))
};

/// Running pods' IPs, on the pod CIDR (kubenet and overlay).
pub fn slash24_in_use(running: u64) -> InUse {
    InUse { range: Role::PodCidr, min: running, max: running }
}

/// The pod CIDR range the model builds for a mode with [`Mode::pod_cidr`].
///
/// # Panics
/// If the model built none: it builds one for every such mode.
pub fn pod_cidr_of(build: &Build<'_>) -> RangeId {
    build.pod_cidr.expect("the model builds a pod CIDR range for a mode with `pod_cidr`")
}

/// Routes in an Azure route table, one per kubenet node: the 401st node fails.
pub const ROUTE_TABLE_LIMIT: u32 = 400;

/// Addresses in one node's /24.
pub const SLASH24_SIZE: u64 = Granularity::SLASH24.unit_size();

/// What a node holds.
#[derive(Debug)]
struct Node {
    node_subnet: RangeId,
    node_ip: u32,
    slash24: u32,
    /// Started pods, each holding one address of the /24.
    running: u32,
}

/// One /24 per node from a pod CIDR, with an optional cap on the nodes (routes) of the cluster.
#[derive(Debug)]
pub struct PerNodeSlash24 {
    /// The cluster's pod CIDR, an [`net::AddressRange::pod_cidr`] carved into /24s.
    pod_cidr: RangeId,
    route_limit: Option<u32>,
    nodes: NodeTable<Node>,
    /// Live nodes, one route each.
    routes: u32,
}

impl PerNodeSlash24 {
    pub fn new(pod_cidr: RangeId, route_limit: Option<u32>) -> Self {
        Self { pod_cidr, route_limit, nodes: NodeTable::default(), routes: 0 }
    }

    pub fn pod_cidr(&self) -> RangeId {
        self.pod_cidr
    }

    /// Routes in the cluster's route table (its live nodes).
    pub fn routes(&self) -> u32 {
        self.routes
    }

    /// Checks in order: a node IP (`node-ip-exhausted`), a route (`route-table-full`, range
    /// `None`, wanted 1 route, available 0) and a /24 (`pod-cidr-exhausted`, wanted 256
    /// addresses, available 0). On failure nothing is held.
    pub fn create_node(&mut self, node: NodeId, spec: &NodeSpec, space: &mut AddressSpace) -> Result<(), Failure> {
        let node_ip = take_node_ip(spec, space)?;
        if self.route_limit.is_some_and(|limit| self.routes >= limit) {
            return_node_ip(spec.node_subnet, node_ip, space);
            return Err(Failure { kind: ROUTE_TABLE_FULL, range: None, wanted: 1, available: 0 });
        }
        let Some(slash24) = space[self.pod_cidr].take() else {
            return_node_ip(spec.node_subnet, node_ip, space);
            return Err(Failure {
                kind: POD_CIDR_EXHAUSTED,
                range: Some(self.pod_cidr),
                wanted: SLASH24_SIZE,
                available: 0,
            });
        };
        self.routes += 1;
        self.nodes.insert(node, Node { node_subnet: spec.node_subnet, node_ip, slash24, running: 0 });
        Ok(())
    }

    pub fn delete_node(&mut self, node: NodeId, space: &mut AddressSpace) {
        let Node { node_subnet, node_ip, slash24, running } = self.nodes.remove(node);
        let range = &mut space[self.pod_cidr];
        range.unbind(u64::from(running));
        range.give_back(slash24);
        self.routes -= 1;
        return_node_ip(node_subnet, node_ip, space);
    }

    /// The node's IP in its node subnet and its /24 in the pod CIDR.
    pub fn held_in(&self, node: NodeId, range: RangeId) -> u64 {
        let state = self.nodes.get(node);
        u64::from(state.node_subnet == range) + if self.pod_cidr == range { SLASH24_SIZE } else { 0 }
    }

    pub fn pod_bound(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        let state = self.nodes.get_mut(node);
        assert!(u64::from(state.running) < SLASH24_SIZE, "{node:?} has more pods than its /24 holds");
        state.running += 1;
        space[self.pod_cidr].bind(1);
        Update { started: 1, ..Update::default() }
    }

    pub fn pod_unbound(&mut self, node: NodeId, had_ip: bool, space: &mut AddressSpace) -> Update {
        // Every bound pod starts at once, so a pod without an IP holds nothing.
        if had_ip {
            self.nodes.get_mut(node).running -= 1;
            space[self.pod_cidr].unbind(1);
        }
        Update::default()
    }
}

/// The `kubenet` allocator for the nodes of one cluster.
#[derive(Debug)]
pub struct Kubenet(PerNodeSlash24);

impl Kubenet {
    /// Kubenet with Azure's route table limit of [`ROUTE_TABLE_LIMIT`] routes.
    pub fn new(pod_cidr: RangeId) -> Self {
        Self::with_route_limit(pod_cidr, Some(ROUTE_TABLE_LIMIT))
    }

    pub fn with_route_limit(pod_cidr: RangeId, route_limit: Option<u32>) -> Self {
        Self(PerNodeSlash24::new(pod_cidr, route_limit))
    }

    /// Routes in the cluster's route table.
    pub fn routes(&self) -> u32 {
        self.0.routes()
    }
}

impl Allocator for Kubenet {
    fn name(&self) -> &'static str {
        MODE.name
    }

    fn create_node(&mut self, node: NodeId, spec: &NodeSpec, space: &mut AddressSpace) -> Result<(), Failure> {
        self.0.create_node(node, spec, space)
    }

    fn delete_node(&mut self, node: NodeId, space: &mut AddressSpace) {
        self.0.delete_node(node, space);
    }

    fn held_in(&self, node: NodeId, range: RangeId) -> u64 {
        self.0.held_in(node, range)
    }

    fn accepts_pods(&self, _node: NodeId) -> bool {
        true
    }

    fn may_refuse_pods(&self) -> bool {
        false
    }

    /// The /24 never changes: nothing to do.
    fn reconcile(&mut self, _node: NodeId, _space: &mut AddressSpace) -> Update {
        Update::default()
    }

    fn pod_bound(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        self.0.pod_bound(node, space)
    }

    fn pod_unbound(&mut self, node: NodeId, had_ip: bool, space: &mut AddressSpace) -> Update {
        self.0.pod_unbound(node, had_ip, space)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator::testkit::{check_run, ops};
    use net::AddressRange;
    use proptest::prelude::*;

    fn setup(node_prefix: &str, pod_cidr: &str, max_pods: u32) -> (AddressSpace, NodeSpec, RangeId) {
        let mut space = AddressSpace::new();
        let nodes = AddressRange::vnet_subnet("nodes", node_prefix.parse().unwrap(), Granularity::ADDRESS).unwrap();
        let node_subnet = space.add(nodes);
        let pod_cidr =
            space.add(AddressRange::pod_cidr("c1/pod-cidr", pod_cidr.parse().unwrap(), Granularity::SLASH24).unwrap());
        (space, NodeSpec { node_subnet, pod_subnet: None, max_pods, machine: None }, pod_cidr)
    }

    fn fill(alloc: &mut Kubenet, space: &mut AddressSpace, spec: &NodeSpec) -> (u32, Failure) {
        for n in 0.. {
            if let Err(failure) = alloc.create_node(NodeId(n), spec, space) {
                return (n, failure);
            }
        }
        unreachable!()
    }

    #[test]
    fn name_and_limits() {
        let (_, _, pod_cidr) = setup("10.0.0.0/24", "10.244.0.0/16", 110);
        assert_eq!(Kubenet::new(pod_cidr).name(), "kubenet");
        assert_eq!(ROUTE_TABLE_LIMIT, 400);
        assert_eq!(SLASH24_SIZE, 256);
    }

    #[test]
    fn a_slash24_node_subnet_holds_251_nodes_and_27610_pods_at_110() {
        let (mut space, spec, pod_cidr) = setup("10.0.0.0/24", "10.244.0.0/16", 110);
        let mut alloc = Kubenet::new(pod_cidr);
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        assert_eq!(nodes, 251);
        assert_eq!(
            failure,
            Failure { kind: FailureKind::NODE_IP_EXHAUSTED, range: Some(spec.node_subnet), wanted: 1, available: 0 }
        );
        assert_eq!(space[pod_cidr].units_allocated(), 251);
        for n in 0..nodes {
            for _ in 0..110 {
                assert_eq!(alloc.pod_bound(NodeId(n), &mut space).started, 1);
            }
        }
        assert_eq!(space[pod_cidr].in_use(), 27_610);
        assert_eq!(space[spec.node_subnet].in_use(), 251);
        assert_eq!(space[spec.node_subnet].allocated(), 251);
    }

    #[test]
    fn a_slash16_pod_cidr_holds_256_nodes() {
        let (mut space, spec, pod_cidr) = setup("10.0.0.0/22", "10.244.0.0/16", 110);
        let mut alloc = Kubenet::new(pod_cidr);
        assert_eq!(space[pod_cidr].usable(), 65_536);
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        assert_eq!(nodes, 256);
        assert_eq!(failure, Failure { kind: POD_CIDR_EXHAUSTED, range: Some(pod_cidr), wanted: 256, available: 0 });
        assert_eq!(failure.kind.as_str(), "pod-cidr-exhausted");
        // The failed node's IP went back.
        assert_eq!(space[spec.node_subnet].allocated(), 256);
        assert_eq!(space[spec.node_subnet].in_use(), 256);
        assert_eq!(alloc.routes(), 256);
    }

    #[test]
    fn the_401st_node_fails_with_route_table_full() {
        let (mut space, spec, pod_cidr) = setup("10.0.0.0/22", "10.244.0.0/15", 110);
        let mut alloc = Kubenet::new(pod_cidr);
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        assert_eq!(nodes, 400);
        assert_eq!(failure, Failure { kind: ROUTE_TABLE_FULL, range: None, wanted: 1, available: 0 });
        assert_eq!(failure.kind.as_str(), "route-table-full");
        assert_eq!(alloc.routes(), 400);
        assert_eq!(space[spec.node_subnet].allocated(), 400);
        assert_eq!(space[pod_cidr].units_allocated(), 400);
    }

    #[test]
    fn route_table_is_checked_before_the_pod_cidr() {
        // Both are full at 256 nodes with a limit of 256: the route table is reported.
        let (mut space, spec, pod_cidr) = setup("10.0.0.0/22", "10.244.0.0/16", 110);
        let mut alloc = Kubenet::with_route_limit(pod_cidr, Some(256));
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        assert_eq!((nodes, failure.kind), (256, ROUTE_TABLE_FULL));
    }

    #[test]
    fn deleting_a_node_frees_its_route_and_slash24() {
        let (mut space, spec, pod_cidr) = setup("10.0.0.0/22", "10.244.0.0/15", 110);
        let mut alloc = Kubenet::new(pod_cidr);
        let (nodes, _) = fill(&mut alloc, &mut space, &spec);
        alloc.pod_bound(NodeId(7), &mut space);
        alloc.pod_bound(NodeId(7), &mut space);
        alloc.pod_bound(NodeId(8), &mut space);
        alloc.pod_unbound(NodeId(8), true, &mut space);
        assert_eq!(space[pod_cidr].in_use(), 2);
        alloc.delete_node(NodeId(7), &mut space);
        assert_eq!(alloc.routes(), 399);
        assert_eq!(space[pod_cidr].units_allocated(), 399);
        assert_eq!(space[pod_cidr].in_use(), 0);
        assert_eq!(space[spec.node_subnet].in_use(), 399);
        // The freed route and /24 (the lowest free one) go to the next node.
        alloc.create_node(NodeId(nodes + 1), &spec, &mut space).unwrap();
        assert_eq!(alloc.routes(), 400);
        assert!(space[pod_cidr].is_taken(7));
    }

    #[test]
    fn pods_count_in_use_on_the_pod_cidr_only() {
        let (mut space, spec, pod_cidr) = setup("10.0.0.0/24", "10.244.0.0/16", 110);
        let mut alloc = Kubenet::new(pod_cidr);
        alloc.create_node(NodeId(0), &spec, &mut space).unwrap();
        assert_eq!(alloc.reconcile(NodeId(0), &mut space), Update::default());
        assert!(alloc.accepts_pods(NodeId(0)) && !alloc.may_refuse_pods());
        alloc.pod_bound(NodeId(0), &mut space);
        assert_eq!(space[pod_cidr].in_use(), 1);
        assert_eq!(space[pod_cidr].allocated(), 256);
        assert_eq!(space[spec.node_subnet].in_use(), 1);
        assert_eq!(space[spec.node_subnet].allocated(), 1);
    }

    proptest! {
        #[test]
        fn invariants(max_pods in 10u32..=250, limit in 1u32..=8, ops in ops(200)) {
            // A /28 node subnet (11 nodes), a /21 pod CIDR (8 /24s) and a small route table.
            let (mut space, spec, pod_cidr) = setup("10.0.0.0/28", "10.244.0.0/21", max_pods);
            let mut alloc = Kubenet::with_route_limit(pod_cidr, Some(limit));
            let result = check_run(&mut alloc, &mut space, spec, &ops);
            prop_assert!(result.is_ok(), "{}", result.unwrap_err());
        }
    }
}
