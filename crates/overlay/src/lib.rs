//! `overlay`: Azure CNI Overlay (model.md, "`overlay`").
//!
//! Like kubenet: the node's own IP comes from its node subnet and the node takes one /24 from the
//! cluster's pod CIDR, whose addresses its pods use (in use on the pod CIDR, not the VNet). Unlike
//! kubenet there is no route table, so no route limit: only the node subnet and the pod CIDR can
//! run out. The logic is kubenet's [`PerNodeSlash24`] without a route limit.

use allocator::{
    AddressSpace, Allocator, Build, Failure, Granularity, MaxPods, Mode, NodeId, NodeSpec, RangeId, Update,
};
use kubenet::{POD_CIDR_EXHAUSTED, PerNodeSlash24, pod_cidr_of, slash24_in_use};

/// The mode, for the registry.
pub static MODE: Mode = Mode {
    cloud_name: "Azure CNI Overlay",
    summary: "node IPs from the VNet, a /24 per node from the pod CIDR, no route limit",
    max_pods: MaxPods { default: 250, min: 10, max: 250 },
    pod_cidr: Some(Granularity::SLASH24),
    failures: &[POD_CIDR_EXHAUSTED],
    in_use: slash24_in_use,
    ..Mode::base("overlay", |build: &Build<'_>| Box::new(Overlay::new(pod_cidr_of(build))))
};

/// The `overlay` allocator for the nodes of one cluster.
#[derive(Debug)]
pub struct Overlay(PerNodeSlash24);

impl Overlay {
    /// `pod_cidr` is the cluster's pod CIDR, a `net::AddressRange::pod_cidr` carved into /24s.
    pub fn new(pod_cidr: RangeId) -> Self {
        Self(PerNodeSlash24::new(pod_cidr, None))
    }
}

impl Allocator for Overlay {
    fn name(&self) -> &'static str {
        MODE.name
    }

    /// Fails with `node-ip-exhausted` or `pod-cidr-exhausted`, as kubenet does.
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
    use allocator::FailureKind;
    use allocator::testkit::{check_run, ops};
    use net::{AddressRange, Granularity};
    use proptest::prelude::*;

    fn setup(node_prefix: &str, pod_cidr: &str, max_pods: u32) -> (AddressSpace, NodeSpec, RangeId) {
        let mut space = AddressSpace::new();
        let nodes = AddressRange::vnet_subnet("nodes", node_prefix.parse().unwrap(), Granularity::ADDRESS).unwrap();
        let node_subnet = space.add(nodes);
        let pod_cidr =
            space.add(AddressRange::pod_cidr("c1/pod-cidr", pod_cidr.parse().unwrap(), Granularity::SLASH24).unwrap());
        (space, NodeSpec { node_subnet, pod_subnet: None, max_pods, machine: None }, pod_cidr)
    }

    fn fill(alloc: &mut Overlay, space: &mut AddressSpace, spec: &NodeSpec) -> (u32, Failure) {
        for n in 0.. {
            if let Err(failure) = alloc.create_node(NodeId(n), spec, space) {
                return (n, failure);
            }
        }
        unreachable!()
    }

    #[test]
    fn name() {
        let (_, _, pod_cidr) = setup("10.0.0.0/24", "10.244.0.0/16", 250);
        assert_eq!(Overlay::new(pod_cidr).name(), "overlay");
    }

    #[test]
    fn no_route_limit_beyond_400_nodes() {
        // A /15 pod CIDR offers 512 /24s: kubenet would stop at 400.
        let (mut space, spec, pod_cidr) = setup("10.0.0.0/22", "10.244.0.0/15", 250);
        let mut alloc = Overlay::new(pod_cidr);
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        assert_eq!(nodes, 512);
        assert_eq!(failure.kind, POD_CIDR_EXHAUSTED);
    }

    #[test]
    fn five_thousand_nodes_fit_a_big_pod_cidr() {
        // A /19 node subnet (8,187 usable) and a /10 pod CIDR (16,384 /24s).
        let (mut space, spec, pod_cidr) = setup("10.0.0.0/19", "100.64.0.0/10", 250);
        let mut alloc = Overlay::new(pod_cidr);
        for n in 0..5_000 {
            alloc.create_node(NodeId(n), &spec, &mut space).unwrap();
        }
        assert_eq!(space[spec.node_subnet].in_use(), 5_000);
        assert_eq!(space[pod_cidr].units_allocated(), 5_000);
    }

    #[test]
    fn a_slash16_pod_cidr_still_stops_at_256_nodes() {
        let (mut space, spec, pod_cidr) = setup("10.0.0.0/22", "10.244.0.0/16", 250);
        let mut alloc = Overlay::new(pod_cidr);
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        assert_eq!(nodes, 256);
        assert_eq!(failure, Failure { kind: POD_CIDR_EXHAUSTED, range: Some(pod_cidr), wanted: 256, available: 0 });
        assert_eq!(space[spec.node_subnet].allocated(), 256);
    }

    #[test]
    fn a_slash24_node_subnet_holds_251_nodes() {
        let (mut space, spec, pod_cidr) = setup("10.0.0.0/24", "10.244.0.0/16", 250);
        let mut alloc = Overlay::new(pod_cidr);
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        assert_eq!((nodes, failure.kind), (251, FailureKind::NODE_IP_EXHAUSTED));
    }

    #[test]
    fn pods_and_deletion() {
        let (mut space, spec, pod_cidr) = setup("10.0.0.0/24", "10.244.0.0/16", 250);
        let mut alloc = Overlay::new(pod_cidr);
        alloc.create_node(NodeId(0), &spec, &mut space).unwrap();
        assert_eq!(alloc.reconcile(NodeId(0), &mut space), Update::default());
        assert!(alloc.accepts_pods(NodeId(0)) && !alloc.may_refuse_pods());
        for _ in 0..250 {
            assert_eq!(alloc.pod_bound(NodeId(0), &mut space).started, 1);
        }
        alloc.pod_unbound(NodeId(0), true, &mut space);
        assert_eq!(space[pod_cidr].in_use(), 249);
        assert_eq!(space[spec.node_subnet].in_use(), 1);
        alloc.delete_node(NodeId(0), &mut space);
        assert_eq!((space[pod_cidr].allocated(), space[pod_cidr].in_use()), (0, 0));
        assert_eq!((space[spec.node_subnet].allocated(), space[spec.node_subnet].in_use()), (0, 0));
    }

    proptest! {
        #[test]
        fn invariants(max_pods in 10u32..=250, ops in ops(200)) {
            // A /28 node subnet (11 nodes) and a /22 pod CIDR (4 /24s).
            let (mut space, spec, pod_cidr) = setup("10.0.0.0/28", "10.244.0.0/22", max_pods);
            let mut alloc = Overlay::new(pod_cidr);
            let result = check_run(&mut alloc, &mut space, spec, &ops);
            prop_assert!(result.is_ok(), "{}", result.unwrap_err());
        }
    }
}
