//! `node-subnet`: traditional Azure CNI, a static per-node reservation (model.md, "`node-subnet`").
//!
//! At creation a node takes 1 + max_pods single addresses from its node subnet: its own IP
//! (bound at once) and max_pods secondary IPs, held for the node's whole life. Pods take IPs
//! only from that reservation, so a bound pod always starts at once; a started pod counts as
//! in use on the node subnet. Deleting the node returns the whole reservation.

use allocator::{
    AddressSpace, Allocator, Build, Failure, FailureKind, InUse, MaxPods, Mode, NodeId, NodeSpec, NodeTable, PreCheck,
    RangeId, Role, Update, return_node_ip, take_node_ip,
};

/// The node subnet cannot hold 1 + max_pods more addresses.
pub const NODE_RESERVATION_EXHAUSTED: FailureKind = FailureKind::sized("node-reservation-exhausted");

/// The mode, for the registry.
pub static MODE: Mode = Mode {
    cloud_name: "Azure CNI (node subnet)",
    summary: "each node reserves 1 + max_pods IPs of its node subnet at creation",
    max_pods: MaxPods { default: 30, min: 10, max: 250 },
    failures: &[NODE_RESERVATION_EXHAUSTED],
    in_use: |running| InUse { range: Role::NodeSubnet, min: running, max: running },
    holding: |each| Some(format!("1 + max_pods {}", each - 1)),
    // AKS#456: "Pre-allocated IPs 310 exceeds IPs available 251" = 10 × (1 + 30) in a /24.
    prechecked: |max_pods| Some(PreCheck { range: Role::NodeSubnet, per_node: 1 + u64::from(max_pods) }),
    ..Mode::base("node-subnet", |_: &Build<'_>| Box::new(NodeSubnet::new()))
};

/// What a node holds.
#[derive(Debug)]
struct Node {
    subnet: RangeId,
    node_ip: u32,
    /// The max_pods secondary IPs, allocated but in use only while a pod runs.
    secondary: Vec<u32>,
    /// Pods holding one of the secondary IPs.
    running: u32,
}

/// The `node-subnet` allocator for the nodes of one cluster.
#[derive(Debug, Default)]
pub struct NodeSubnet {
    nodes: NodeTable<Node>,
}

impl NodeSubnet {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Allocator for NodeSubnet {
    fn name(&self) -> &'static str {
        MODE.name
    }

    /// Fails with `node-ip-exhausted` when the subnet has no free address at all, and with
    /// `node-reservation-exhausted` (wanted 1 + max_pods, available = free addresses) when it
    /// has some but fewer than 1 + max_pods.
    fn create_node(&mut self, node: NodeId, spec: &NodeSpec, space: &mut AddressSpace) -> Result<(), Failure> {
        let node_ip = take_node_ip(spec, space)?;
        let mut secondary = Vec::with_capacity(spec.max_pods as usize);
        if !space[spec.node_subnet].take_many(spec.max_pods, &mut secondary) {
            return_node_ip(spec.node_subnet, node_ip, space);
            return Err(Failure {
                kind: NODE_RESERVATION_EXHAUSTED,
                range: Some(spec.node_subnet),
                wanted: 1 + u64::from(spec.max_pods),
                available: space[spec.node_subnet].free(),
            });
        }
        self.nodes.insert(node, Node { subnet: spec.node_subnet, node_ip, secondary, running: 0 });
        Ok(())
    }

    fn delete_node(&mut self, node: NodeId, space: &mut AddressSpace) {
        let Node { subnet, node_ip, secondary, running } = self.nodes.remove(node);
        let range = &mut space[subnet];
        range.unbind(u64::from(running));
        for unit in secondary {
            range.give_back(unit);
        }
        return_node_ip(subnet, node_ip, space);
    }

    fn held_in(&self, node: NodeId, range: RangeId) -> u64 {
        let state = self.nodes.get(node);
        if state.subnet == range { 1 + state.secondary.len() as u64 } else { 0 }
    }

    fn accepts_pods(&self, _node: NodeId) -> bool {
        true
    }

    fn may_refuse_pods(&self) -> bool {
        false
    }

    /// The reservation never changes: nothing to do.
    fn reconcile(&mut self, _node: NodeId, _space: &mut AddressSpace) -> Update {
        Update::default()
    }

    fn pod_bound(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        let state = self.nodes.get_mut(node);
        assert!((state.running as usize) < state.secondary.len(), "{node:?} has more pods than max_pods");
        state.running += 1;
        space[state.subnet].bind(1);
        Update { started: 1, ..Update::default() }
    }

    fn pod_unbound(&mut self, node: NodeId, had_ip: bool, space: &mut AddressSpace) -> Update {
        // Every bound pod starts at once, so a pod without an IP holds nothing.
        if had_ip {
            let state = self.nodes.get_mut(node);
            state.running -= 1;
            space[state.subnet].unbind(1);
        }
        Update::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator::testkit::{check_run, ops};
    use net::{AddressRange, Granularity};
    use proptest::prelude::*;

    /// AKS#456: 10 nodes at max_pods 30 in a fresh /24.
    #[test]
    fn pre_check_counts_one_plus_max_pods_per_node() {
        let check = (MODE.prechecked)(30).unwrap();
        assert_eq!(check, PreCheck { range: Role::NodeSubnet, per_node: 31 });
        assert_eq!(
            check.words(10, 251, "10.240.0.0/24".parse().unwrap()),
            "InsufficientSubnetSize: Pre-allocated IPs 310 exceeds IPs available 251 in Subnet Cidr 10.240.0.0/24"
        );
        // 8 nodes fit (248 ≤ 251): the pre-check passes.
        assert!(check.words(8, 251, "10.240.0.0/24".parse().unwrap()).starts_with("AKS's pre-check passes"));
    }

    fn setup(prefix: &str, max_pods: u32) -> (NodeSubnet, AddressSpace, NodeSpec) {
        let mut space = AddressSpace::new();
        let range = AddressRange::vnet_subnet("nodes", prefix.parse().unwrap(), Granularity::ADDRESS).unwrap();
        let node_subnet = space.add(range);
        (NodeSubnet::new(), space, NodeSpec { node_subnet, pod_subnet: None, max_pods, machine: None })
    }

    /// Create nodes until one fails; return how many fit and the failure.
    fn fill(alloc: &mut NodeSubnet, space: &mut AddressSpace, spec: &NodeSpec) -> (u32, Failure) {
        for n in 0.. {
            if let Err(failure) = alloc.create_node(NodeId(n), spec, space) {
                return (n, failure);
            }
        }
        unreachable!()
    }

    #[test]
    fn name() {
        assert_eq!(NodeSubnet::new().name(), "node-subnet");
    }

    #[test]
    fn a_slash24_holds_8_nodes_at_max_pods_30_and_240_pods() {
        let (mut alloc, mut space, spec) = setup("10.0.0.0/24", 30);
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        assert_eq!(nodes, 8);
        let subnet = &space[spec.node_subnet];
        assert_eq!(subnet.usable(), 251);
        assert_eq!(subnet.allocated(), 248);
        assert_eq!(subnet.in_use(), 8);
        assert_eq!(
            failure,
            Failure { kind: NODE_RESERVATION_EXHAUSTED, range: Some(spec.node_subnet), wanted: 31, available: 3 }
        );
        assert_eq!(failure.kind.as_str(), "node-reservation-exhausted");
        for n in 0..8 {
            for _ in 0..30 {
                assert_eq!(alloc.pod_bound(NodeId(n), &mut space).started, 1);
            }
        }
        assert_eq!(space[spec.node_subnet].in_use(), 8 + 240);
        assert_eq!(space[spec.node_subnet].allocated(), 248);
    }

    #[test]
    fn max_pods_10_reserves_11_addresses() {
        let (mut alloc, mut space, spec) = setup("10.0.0.0/24", 10);
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        // 22 × 11 = 242 ≤ 251; the 9 left are fewer than 11.
        assert_eq!(nodes, 22);
        assert_eq!(space[spec.node_subnet].allocated(), 242);
        assert_eq!(space[spec.node_subnet].in_use(), 22);
        assert_eq!((failure.kind, failure.wanted, failure.available), (NODE_RESERVATION_EXHAUSTED, 11, 9));
    }

    #[test]
    fn max_pods_250_reserves_251_addresses() {
        let (mut alloc, mut space, spec) = setup("10.0.0.0/24", 250);
        alloc.create_node(NodeId(0), &spec, &mut space).unwrap();
        assert_eq!(space[spec.node_subnet].allocated(), 251);
        assert_eq!(space[spec.node_subnet].free(), 0);
    }

    #[test]
    fn an_empty_subnet_fails_with_node_ip_exhausted() {
        // A /28 has 11 usable addresses: exactly one node at max_pods 10.
        let (mut alloc, mut space, spec) = setup("10.0.0.0/28", 10);
        alloc.create_node(NodeId(0), &spec, &mut space).unwrap();
        assert_eq!(space[spec.node_subnet].free(), 0);
        let failure = alloc.create_node(NodeId(1), &spec, &mut space).unwrap_err();
        assert_eq!(failure.kind, FailureKind::NODE_IP_EXHAUSTED);
        assert_eq!(failure.range, Some(spec.node_subnet));
    }

    #[test]
    fn a_failed_reservation_gives_back_the_node_ip() {
        let (mut alloc, mut space, spec) = setup("10.0.0.0/24", 30);
        fill(&mut alloc, &mut space, &spec);
        assert_eq!(space[spec.node_subnet].allocated(), 248);
        assert_eq!(space[spec.node_subnet].in_use(), 8);
    }

    #[test]
    fn pods_bind_and_unbind_one_address_each() {
        let (mut alloc, mut space, spec) = setup("10.0.0.0/24", 30);
        alloc.create_node(NodeId(0), &spec, &mut space).unwrap();
        assert_eq!(alloc.reconcile(NodeId(0), &mut space), Update::default());
        assert!(alloc.accepts_pods(NodeId(0)) && !alloc.may_refuse_pods());
        alloc.pod_bound(NodeId(0), &mut space);
        alloc.pod_bound(NodeId(0), &mut space);
        assert_eq!(space[spec.node_subnet].in_use(), 3);
        assert_eq!(alloc.pod_unbound(NodeId(0), true, &mut space), Update::default());
        assert_eq!(space[spec.node_subnet].in_use(), 2);
        assert_eq!(space[spec.node_subnet].allocated(), 31);
    }

    #[test]
    fn deleting_a_node_returns_everything() {
        let (mut alloc, mut space, spec) = setup("10.0.0.0/24", 30);
        let (nodes, _) = fill(&mut alloc, &mut space, &spec);
        alloc.pod_bound(NodeId(3), &mut space);
        alloc.pod_bound(NodeId(3), &mut space);
        alloc.delete_node(NodeId(3), &mut space);
        assert_eq!(space[spec.node_subnet].allocated(), 7 * 31);
        assert_eq!(space[spec.node_subnet].in_use(), 7);
        // The freed reservation fits a new node again.
        alloc.create_node(NodeId(nodes + 1), &spec, &mut space).unwrap();
        assert_eq!(space[spec.node_subnet].allocated(), 248);
    }

    proptest! {
        #[test]
        fn invariants(max_pods in 10u32..=20, ops in ops(200)) {
            // A /26 (59 usable) holds 2 to 5 nodes.
            let (mut alloc, mut space, spec) = setup("10.0.0.0/26", max_pods);
            let result = check_run(&mut alloc, &mut space, spec, &ops);
            prop_assert!(result.is_ok(), "{}", result.unwrap_err());
        }
    }
}
