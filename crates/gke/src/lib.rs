//! `gke`: GKE VPC-native clusters (`../shared/research/other-clouds.md` §3).
//!
//! A node takes its own IP from its node subnet (a GCP subnet: 4 reserved
//! addresses) and an aligned range of the cluster's `pod_cidr` (the pod
//! secondary range) holding at least twice its max_pods: prefix
//! 32 − ceil(log2(2 × max_pods)), so 110 (GKE's default) → /24, 30 → /26,
//! 8 → /28. Its pods use that range, so they start at once. No aligned range
//! free ⇒ `pod-cidr-exhausted` (GKE's `IP_SPACE_EXHAUSTED`), the node is not
//! created. The pod CIDR is carved in /28 units, GKE's smallest node range; a
//! node's range is an aligned run of them.

use allocator::{
    AddressSpace, Allocator, Build, Failure, FailureKind, Granularity, InUse, MaxPods, Mode, NodeId, NodeSpec,
    NodeTable, RangeId, Role, SubnetRules, Update, return_node_ip, take_node_ip,
};

/// No aligned range of the node's size is free in the pod range.
pub const POD_CIDR_EXHAUSTED: FailureKind = FailureKind::sized("pod-cidr-exhausted");

/// The unit the pod range is carved in: GKE's smallest node range.
pub const UNIT: Granularity = Granularity::BLOCK28;

/// The mode, for the registry.
pub static MODE: Mode = Mode {
    cloud_name: "GKE VPC-native (alias IP ranges)",
    summary: "node IPs from the node subnet, an aligned range of 2 × max_pods addresses per node from the pod range",
    // GKE allows 8–256; podip's node model holds 10–250.
    max_pods: MaxPods { default: 110, min: 10, max: 250 },
    subnet_rules: SubnetRules::GCP,
    pod_cidr: Some(UNIT),
    failures: &[POD_CIDR_EXHAUSTED],
    in_use: |running| InUse { range: Role::PodCidr, min: running, max: running },
    holding: |each| (each > 1).then(|| format!("a /{} node range", 32 - each.ilog2())),
    ..Mode::base("gke", |build: &Build<'_>| {
        Box::new(Gke::new(build.pod_cidr.expect("the model builds a pod CIDR range for a pod_cidr mode")))
    })
};

/// The prefix length of a node's pod range: 32 − ceil(log2(2 × max_pods)).
pub fn node_prefix(max_pods: u32) -> u8 {
    let addresses = (2 * max_pods.max(1)).next_power_of_two();
    32 - addresses.ilog2() as u8
}

/// Addresses in a node's pod range.
pub fn node_range_size(max_pods: u32) -> u64 {
    1 << (32 - node_prefix(max_pods))
}

/// Nodes at `max_pods` that a pod range of prefix `range` holds: 2^(node prefix − range).
pub fn nodes_in(range: u8, max_pods: u32) -> u64 {
    node_prefix(max_pods).checked_sub(range).map_or(0, |d| 1 << d)
}

#[derive(Debug)]
struct Node {
    node_subnet: RangeId,
    node_ip: u32,
    /// The first /28 unit of its range, and how many units.
    first: u32,
    units: u32,
    running: u32,
}

/// The `gke` allocator for the nodes of one cluster.
#[derive(Debug)]
pub struct Gke {
    pod_cidr: RangeId,
    nodes: NodeTable<Node>,
}

impl Gke {
    /// `pod_cidr` is the cluster's pod range, carved in [`UNIT`]s.
    pub fn new(pod_cidr: RangeId) -> Self {
        Self { pod_cidr, nodes: NodeTable::default() }
    }
}

impl Allocator for Gke {
    fn name(&self) -> &'static str {
        MODE.name
    }

    /// Fails with `node-ip-exhausted`, or `pod-cidr-exhausted` (wanted the node range's
    /// addresses, available the pod range's free ones) when no aligned range is free.
    fn create_node(&mut self, node: NodeId, spec: &NodeSpec, space: &mut AddressSpace) -> Result<(), Failure> {
        let node_ip = take_node_ip(spec, space)?;
        let size = node_range_size(spec.max_pods);
        let units = (size / UNIT.unit_size()) as u32;
        let range = &mut space[self.pod_cidr];
        let Some(first) = range.take_aligned(units) else {
            let available = range.free();
            return_node_ip(spec.node_subnet, node_ip, space);
            return Err(Failure { kind: POD_CIDR_EXHAUSTED, range: Some(self.pod_cidr), wanted: size, available });
        };
        self.nodes.insert(node, Node { node_subnet: spec.node_subnet, node_ip, first, units, running: 0 });
        Ok(())
    }

    fn delete_node(&mut self, node: NodeId, space: &mut AddressSpace) {
        let Node { node_subnet, node_ip, first, units, running } = self.nodes.remove(node);
        let range = &mut space[self.pod_cidr];
        range.unbind(u64::from(running));
        range.give_back_aligned(first, units);
        return_node_ip(node_subnet, node_ip, space);
    }

    fn held_in(&self, node: NodeId, range: RangeId) -> u64 {
        let state = self.nodes.get(node);
        let pods = if range == self.pod_cidr { u64::from(state.units) * UNIT.unit_size() } else { 0 };
        u64::from(state.node_subnet == range) + pods
    }

    fn accepts_pods(&self, _node: NodeId) -> bool {
        true
    }

    fn may_refuse_pods(&self) -> bool {
        false
    }

    /// The node's range never changes.
    fn reconcile(&mut self, _node: NodeId, _space: &mut AddressSpace) -> Update {
        Update::default()
    }

    fn pod_bound(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        self.nodes.get_mut(node).running += 1;
        space[self.pod_cidr].bind(1);
        Update { started: 1, ..Update::default() }
    }

    fn pod_unbound(&mut self, node: NodeId, had_ip: bool, space: &mut AddressSpace) -> Update {
        if had_ip {
            self.nodes.get_mut(node).running -= 1;
            space[self.pod_cidr].unbind(1);
        }
        Update::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator::testkit::{check_run, ops};
    use net::AddressRange;
    use proptest::prelude::*;

    /// GKE's table (flexible-pod-cidr): 8 → /28, 9–16 → /27, 17–32 → /26, 33–64 → /25, 65–110 → /24.
    #[test]
    fn node_ranges_hold_twice_max_pods() {
        for (max_pods, prefix) in [
            (8, 28),
            (9, 27),
            (16, 27),
            (17, 26),
            (30, 26),
            (32, 26),
            (33, 25),
            (64, 25),
            (65, 24),
            (110, 24),
            (128, 24),
            (129, 23),
            (256, 23),
        ] {
            assert_eq!(node_prefix(max_pods), prefix, "max_pods {max_pods}");
            assert!(node_range_size(max_pods) >= 2 * u64::from(max_pods));
        }
        assert_eq!(node_range_size(30), 64, "max pods 30: each node is assigned 64 IP addresses");
        // "Default /14 supports up to 1008 nodes" — 1024 /24s, less what GKE keeps.
        assert_eq!(nodes_in(14, 110), 1024);
        assert_eq!((nodes_in(21, 110), nodes_in(24, 30), nodes_in(24, 110)), (8, 4, 1));
        assert_eq!(nodes_in(25, 110), 0);
    }

    fn space(nodes: &str, pods: &str) -> (AddressSpace, NodeSpec, RangeId) {
        let mut space = AddressSpace::new();
        let n = space.add(
            AddressRange::subnet("nodes", nodes.parse().unwrap(), Granularity::ADDRESS, SubnetRules::GCP).unwrap(),
        );
        let p = space.add(AddressRange::pod_cidr("pods", pods.parse().unwrap(), UNIT).unwrap());
        (space, NodeSpec { node_subnet: n, pod_subnet: None, max_pods: 110, machine: None }, p)
    }

    /// A /21 pod range holds 8 nodes at 110 and a /24 holds 4 at 30; the next fails whole.
    #[test]
    fn pod_ranges_hold_their_nodes_then_fail() {
        for (pods, max_pods, fit) in [("10.4.0.0/21", 110, 8), ("10.4.0.0/24", 30, 4)] {
            let (mut space, mut spec, p) = space("10.0.0.0/24", pods);
            spec.max_pods = max_pods;
            let mut gke = Gke::new(p);
            for i in 0..fit {
                gke.create_node(NodeId(i), &spec, &mut space).unwrap();
            }
            assert_eq!(space[p].allocated(), space[p].usable(), "{pods}");
            let e = gke.create_node(NodeId(fit), &spec, &mut space).unwrap_err();
            assert_eq!(
                (e.kind, e.range, e.wanted, e.available),
                (POD_CIDR_EXHAUSTED, Some(p), node_range_size(max_pods), 0)
            );
            // Nothing of the failed node is held: its node IP went back.
            assert_eq!(space[spec.node_subnet].allocated(), u64::from(fit));
            gke.delete_node(NodeId(0), &mut space);
            gke.create_node(NodeId(fit), &spec, &mut space).unwrap();
        }
    }

    /// A GCP subnet reserves 4: a /29 holds 4 node IPs.
    #[test]
    fn a_gcp_node_subnet_keeps_four_addresses() {
        let (mut space, spec, p) = space("10.0.0.0/29", "10.4.0.0/16");
        let mut gke = Gke::new(p);
        for i in 0..4 {
            gke.create_node(NodeId(i), &spec, &mut space).unwrap();
        }
        let e = gke.create_node(NodeId(4), &spec, &mut space).unwrap_err();
        assert_eq!(e.kind, FailureKind::NODE_IP_EXHAUSTED);
    }

    /// Ranges of different sizes share the pod range, each aligned to its size.
    #[test]
    fn mixed_node_sizes_stay_aligned() {
        let (mut space, mut spec, p) = space("10.0.0.0/24", "10.4.0.0/23");
        let mut gke = Gke::new(p);
        spec.max_pods = 30; // a /26: units 0..4
        gke.create_node(NodeId(0), &spec, &mut space).unwrap();
        spec.max_pods = 110; // a /24: not 10.4.0.0/24 (taken in part), so 10.4.1.0/24
        gke.create_node(NodeId(1), &spec, &mut space).unwrap();
        assert_eq!(space[p].unit_net(gke.nodes.get(NodeId(1)).first).to_string(), "10.4.1.0/28");
        assert_eq!(gke.held_in(NodeId(1), p), 256);
        spec.max_pods = 110;
        assert!(gke.create_node(NodeId(2), &spec, &mut space).is_err(), "192 addresses free, but no aligned /24");
        spec.max_pods = 60; // a /25 fits in 10.4.0.128/25
        gke.create_node(NodeId(2), &spec, &mut space).unwrap();
    }

    proptest! {
        #[test]
        fn invariants(max_pods in 10u32..=250, ops in ops(200)) {
            // A /27 node subnet (28 nodes) and a /22 pod range (4 to 32 node ranges).
            let (mut space, mut spec, p) = space("10.0.0.0/27", "10.4.0.0/22");
            spec.max_pods = max_pods;
            let result = check_run(&mut Gke::new(p), &mut space, spec, &ops);
            prop_assert!(result.is_ok(), "{}", result.unwrap_err());
        }
    }
}
