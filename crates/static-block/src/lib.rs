//! `static-block`: Azure CNI pod subnet with static /28 block allocation (model.md, "`static-block`").
//!
//! The node's own IP comes from its node subnet. At creation the node also takes
//! `blocks_for(max_pods)` aligned /28 blocks from its pod subnet, all or none, for its whole life.
//! One address of them is reserved for the node (in use from creation), the rest serve its pods,
//! which start at once. The subnet's first and last /28 are never handed out (`net` handles it).

use allocator::{
    AddressSpace, Allocator, Build, Failure, FailureKind, Finding, Granularity, InUse, Ipv4Net, MaxPods, Mode, NodeId,
    NodeSpec, NodeTable, PoolFacts, PreCheck, RangeId, Role, Update, return_node_ip, take_node_ip,
};

/// Not enough free aligned /28 blocks.
pub const BLOCK_EXHAUSTED: FailureKind = FailureKind::sized("block-exhausted");

/// The mode, for the registry.
pub static MODE: Mode = Mode {
    cloud_name: "Azure CNI Pod Subnet - Static Block Allocation",
    summary: "each node takes ceil((max_pods + 1) / 16) aligned /28 blocks of its pod subnet at creation",
    max_pods: MaxPods { default: 250, min: 10, max: 250 },
    pod_subnet: Some(Granularity::BLOCK28),
    windows: false,
    failures: &[BLOCK_EXHAUSTED],
    // Running pods' IPs and the node's reserved address, in use from creation.
    in_use: |running| InUse { range: Role::PodSubnet, min: 1 + running, max: 1 + running },
    check_pool,
    check_pod_subnet,
    // "Pre-allocated IPs 160 exceeds IPs available 59 in Subnet Cidr 10.6.0.0/26": 10 nodes
    // of one block each in a /26 (64 − 5): the blocks' addresses, counted against all free ones.
    prechecked: |max_pods| {
        Some(PreCheck { range: Role::PodSubnet, per_node: u64::from(blocks_for(max_pods)) * BLOCK_SIZE })
    },
    ..Mode::base("static-block", |_: &Build<'_>| Box::new(StaticBlock::new()))
};

/// A max_pods that is not 16N − 1 leaves addresses of the node's blocks unused.
fn check_pool(pool: &PoolFacts) -> Vec<Finding> {
    let max_pods = pool.max_pods;
    let (blocks, waste, capacity) = (blocks_for(max_pods), wasted_addresses(max_pods), pod_capacity(max_pods));
    if waste == 0 {
        return Vec::new();
    }
    let field = if pool.max_pods_written { "max_pods" } else { "" };
    vec![Finding::warning(
        field,
        format!(
            "under static-block, max_pods {max_pods} takes {blocks} /28 blocks ({capacity} pod addresses), \
             wasting {waste} address{} per node; max_pods {capacity} would use them all (use 16N-1)",
            if waste == 1 { "" } else { "es" },
        ),
    )]
}

/// At most a /12 (model.md); at least a /26, since the first and last /28 hold
/// Azure's reserved addresses and are never handed out (model.md's assumption).
fn check_pod_subnet(name: &str, net: Ipv4Net) -> Vec<Finding> {
    let mut findings = Vec::new();
    if net.prefix_len() < MAX_POD_SUBNET_PREFIX {
        findings.push(Finding::error(
            "pod_subnet",
            format!("static-block pod subnet `{name}` ({net}) is larger than /12, the largest allowed"),
        ));
    }
    if net.prefix_len() > 26 {
        let message = format!(
            "static-block pod subnet `{name}` ({net}) offers no /28 block: its first and last /28 hold \
             Azure's reserved addresses; use a /26 or larger"
        );
        findings.push(if net.prefix_len() > 28 {
            Finding::error("pod_subnet", message)
        } else {
            Finding::warning("pod_subnet", message)
        });
    }
    findings
}

/// Addresses in one /28 block.
pub const BLOCK_SIZE: u64 = Granularity::BLOCK28.unit_size();

/// The shortest prefix a static-block pod subnet may have: at most a /12 (model.md). The check is
/// the scenario validation's job; this crate works with any block subnet.
pub const MAX_POD_SUBNET_PREFIX: u8 = 12;

/// Blocks a node takes: ceil((max_pods + 1) / 16), the + 1 being the node's reserved address.
pub fn blocks_for(max_pods: u32) -> u32 {
    (max_pods + 1).div_ceil(BLOCK_SIZE as u32)
}

/// Pods the node's blocks can serve: 16 × blocks − 1 (≥ max_pods).
pub fn pod_capacity(max_pods: u32) -> u32 {
    blocks_for(max_pods) * BLOCK_SIZE as u32 - 1
}

/// Addresses of the node's blocks no pod can use: 16 × blocks − 1 − max_pods. Non-zero unless
/// max_pods = 16N − 1; the scenario warns about it.
pub fn wasted_addresses(max_pods: u32) -> u32 {
    pod_capacity(max_pods) - max_pods
}

/// What a node holds.
#[derive(Debug)]
struct Node {
    node_subnet: RangeId,
    node_ip: u32,
    pod_subnet: RangeId,
    blocks: Vec<u32>,
    /// Started pods, each holding one address of the blocks.
    running: u32,
}

/// The `static-block` allocator for the nodes of one cluster.
#[derive(Debug, Default)]
pub struct StaticBlock {
    nodes: NodeTable<Node>,
}

impl StaticBlock {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Allocator for StaticBlock {
    fn name(&self) -> &'static str {
        MODE.name
    }

    /// Fails with `node-ip-exhausted`, or with `block-exhausted` when the pod subnet has fewer free
    /// blocks than the node needs; that failure's `wanted` and `available` are in addresses
    /// (blocks × 16), `available` counting only the free blocks. On failure nothing is held.
    ///
    /// # Panics
    /// If `spec` has no pod subnet: the scenario validation guarantees one.
    fn create_node(&mut self, node: NodeId, spec: &NodeSpec, space: &mut AddressSpace) -> Result<(), Failure> {
        let pod_subnet = spec.pod_subnet.expect("a static-block pool has a pod subnet");
        let node_ip = take_node_ip(spec, space)?;
        let wanted = blocks_for(spec.max_pods);
        let range = &mut space[pod_subnet];
        let mut blocks = Vec::with_capacity(wanted as usize);
        if !range.take_many(wanted, &mut blocks) {
            let available = u64::from(range.units_free()) * BLOCK_SIZE;
            return_node_ip(spec.node_subnet, node_ip, space);
            return Err(Failure {
                kind: BLOCK_EXHAUSTED,
                range: Some(pod_subnet),
                wanted: u64::from(wanted) * BLOCK_SIZE,
                available,
            });
        }
        range.bind(1); // the node's reserved address
        self.nodes.insert(node, Node { node_subnet: spec.node_subnet, node_ip, pod_subnet, blocks, running: 0 });
        Ok(())
    }

    fn delete_node(&mut self, node: NodeId, space: &mut AddressSpace) {
        let Node { node_subnet, node_ip, pod_subnet, blocks, running } = self.nodes.remove(node);
        let range = &mut space[pod_subnet];
        range.unbind(1 + u64::from(running));
        for block in blocks {
            range.give_back(block);
        }
        return_node_ip(node_subnet, node_ip, space);
    }

    fn held_in(&self, node: NodeId, range: RangeId) -> u64 {
        let state = self.nodes.get(node);
        let blocks = if state.pod_subnet == range { state.blocks.len() as u64 * BLOCK_SIZE } else { 0 };
        u64::from(state.node_subnet == range) + blocks
    }

    fn accepts_pods(&self, _node: NodeId) -> bool {
        true
    }

    fn may_refuse_pods(&self) -> bool {
        false
    }

    /// The blocks never change: nothing to do.
    fn reconcile(&mut self, _node: NodeId, _space: &mut AddressSpace) -> Update {
        Update::default()
    }

    fn pod_bound(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        let state = self.nodes.get_mut(node);
        let capacity = state.blocks.len() as u64 * BLOCK_SIZE - 1;
        assert!(u64::from(state.running) < capacity, "{node:?} has more pods than its blocks hold");
        state.running += 1;
        space[state.pod_subnet].bind(1);
        Update { started: 1, ..Update::default() }
    }

    fn pod_unbound(&mut self, node: NodeId, had_ip: bool, space: &mut AddressSpace) -> Update {
        // Every bound pod starts at once, so a pod without an IP holds nothing.
        if had_ip {
            let state = self.nodes.get_mut(node);
            state.running -= 1;
            space[state.pod_subnet].unbind(1);
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

    /// AKS's figure: 10 nodes of one block (max_pods 15) in a /26 = 160 against 64 − 5.
    #[test]
    fn pre_check_counts_the_blocks_addresses() {
        assert_eq!((MODE.prechecked)(15), Some(PreCheck { range: Role::PodSubnet, per_node: 16 }));
        assert_eq!((MODE.prechecked)(30).unwrap().per_node, 32);
        assert_eq!((MODE.prechecked)(250).unwrap().per_node, 256);
        let words = (MODE.prechecked)(15).unwrap().words(10, 59, "10.6.0.0/26".parse().unwrap());
        assert_eq!(
            words,
            "InsufficientSubnetSize: Pre-allocated IPs 160 exceeds IPs available 59 in Subnet Cidr 10.6.0.0/26"
        );
    }

    fn setup(node_prefix: &str, pod_prefix: &str, max_pods: u32) -> (StaticBlock, AddressSpace, NodeSpec) {
        let mut space = AddressSpace::new();
        let nodes = AddressRange::vnet_subnet("nodes", node_prefix.parse().unwrap(), Granularity::ADDRESS).unwrap();
        let pods = AddressRange::vnet_subnet("pods", pod_prefix.parse().unwrap(), Granularity::BLOCK28).unwrap();
        let node_subnet = space.add(nodes);
        let pod_subnet = Some(space.add(pods));
        (StaticBlock::new(), space, NodeSpec { node_subnet, pod_subnet, max_pods, machine: None })
    }

    fn fill(alloc: &mut StaticBlock, space: &mut AddressSpace, spec: &NodeSpec) -> (u32, Failure) {
        for n in 0.. {
            if let Err(failure) = alloc.create_node(NodeId(n), spec, space) {
                return (n, failure);
            }
        }
        unreachable!()
    }

    #[test]
    fn name() {
        assert_eq!(StaticBlock::new().name(), "static-block");
    }

    #[test]
    fn blocks_capacity_and_waste() {
        assert_eq!(BLOCK_SIZE, 16);
        assert_eq!((blocks_for(30), pod_capacity(30), wasted_addresses(30)), (2, 31, 1));
        assert_eq!((blocks_for(31), pod_capacity(31), wasted_addresses(31)), (2, 31, 0));
        assert_eq!((blocks_for(32), pod_capacity(32), wasted_addresses(32)), (3, 47, 15));
        assert_eq!((blocks_for(250), pod_capacity(250), wasted_addresses(250)), (16, 255, 5));
        assert_eq!((blocks_for(10), pod_capacity(10), wasted_addresses(10)), (1, 15, 5));
        for max_pods in 10..=250 {
            assert!(pod_capacity(max_pods) >= max_pods);
            assert_eq!(wasted_addresses(max_pods) == 0, (max_pods + 1) % 16 == 0, "max_pods {max_pods}");
        }
    }

    #[test]
    fn a_slash24_pod_subnet_holds_7_nodes_at_max_pods_31() {
        let (mut alloc, mut space, spec) = setup("10.0.0.0/24", "10.1.0.0/24", 31);
        let pods = spec.pod_subnet.unwrap();
        assert_eq!(space[pods].units_capacity(), 14);
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        assert_eq!(nodes, 7);
        assert_eq!(space[pods].allocated(), 224);
        assert_eq!(space[pods].in_use(), 7);
        assert_eq!(failure, Failure { kind: BLOCK_EXHAUSTED, range: Some(pods), wanted: 32, available: 0 });
        assert_eq!(failure.kind.as_str(), "block-exhausted");
        // The failed node's IP went back.
        assert_eq!(space[spec.node_subnet].allocated(), 7);
        assert_eq!(space[spec.node_subnet].in_use(), 7);
    }

    #[test]
    fn block_exhaustion_reports_the_free_blocks_in_addresses() {
        // 14 blocks; max_pods 250 takes 16.
        let (mut alloc, mut space, spec) = setup("10.0.0.0/24", "10.1.0.0/24", 250);
        let failure = alloc.create_node(NodeId(0), &spec, &mut space).unwrap_err();
        assert_eq!((failure.wanted, failure.available), (256, 224));
        assert_eq!(space[spec.node_subnet].allocated(), 0);
        assert_eq!(space[spec.pod_subnet.unwrap()].allocated(), 0);
    }

    #[test]
    fn a_slash12_pod_subnet_hands_out_2_to_the_16_minus_2_blocks() {
        assert_eq!(MAX_POD_SUBNET_PREFIX, 12);
        let (mut alloc, mut space, spec) = setup("10.64.0.0/16", "10.0.0.0/12", 250);
        let pods = spec.pod_subnet.unwrap();
        assert_eq!(space[pods].units_capacity(), (1 << 16) - 2);
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        // 16 blocks per node: 4095 nodes use 65,520 blocks; the 14 left are not enough.
        assert_eq!(nodes, 4095);
        assert_eq!(space[pods].units_allocated(), 65_520);
        assert_eq!((failure.kind, failure.wanted, failure.available), (BLOCK_EXHAUSTED, 256, 14 * 16));
    }

    #[test]
    fn no_node_ip_fails_before_any_block_is_taken() {
        // A /29 node subnet has 3 usable addresses.
        let (mut alloc, mut space, spec) = setup("10.0.0.0/29", "10.1.0.0/24", 15);
        let (nodes, failure) = fill(&mut alloc, &mut space, &spec);
        assert_eq!(nodes, 3);
        assert_eq!(failure.kind, FailureKind::NODE_IP_EXHAUSTED);
        assert_eq!(space[spec.pod_subnet.unwrap()].units_allocated(), 3);
    }

    #[test]
    fn pods_count_in_use_on_the_pod_subnet() {
        let (mut alloc, mut space, spec) = setup("10.0.0.0/24", "10.1.0.0/24", 30);
        let pods = spec.pod_subnet.unwrap();
        alloc.create_node(NodeId(0), &spec, &mut space).unwrap();
        assert_eq!(alloc.reconcile(NodeId(0), &mut space), Update::default());
        assert!(alloc.accepts_pods(NodeId(0)) && !alloc.may_refuse_pods());
        for _ in 0..30 {
            assert_eq!(alloc.pod_bound(NodeId(0), &mut space).started, 1);
        }
        assert_eq!(space[pods].in_use(), 31);
        assert_eq!(space[pods].allocated(), 32);
        alloc.pod_unbound(NodeId(0), true, &mut space);
        assert_eq!(space[pods].in_use(), 30);
        assert_eq!(space[spec.node_subnet].in_use(), 1);
    }

    #[test]
    fn deleting_a_node_returns_everything() {
        let (mut alloc, mut space, spec) = setup("10.0.0.0/24", "10.1.0.0/24", 31);
        let pods = spec.pod_subnet.unwrap();
        let (nodes, _) = fill(&mut alloc, &mut space, &spec);
        alloc.pod_bound(NodeId(2), &mut space);
        alloc.delete_node(NodeId(2), &mut space);
        assert_eq!(space[pods].allocated(), 6 * 32);
        assert_eq!(space[pods].in_use(), 6);
        assert_eq!(space[spec.node_subnet].in_use(), 6);
        alloc.create_node(NodeId(nodes + 1), &spec, &mut space).unwrap();
        assert_eq!(space[pods].allocated(), 224);
    }

    proptest! {
        #[test]
        fn invariants(max_pods in 10u32..=40, ops in ops(200)) {
            // A /27 node subnet (27 usable) and a /25 pod subnet (6 blocks: 2 to 6 nodes).
            let (mut alloc, mut space, spec) = setup("10.0.0.0/27", "10.1.0.0/25", max_pods);
            let result = check_run(&mut alloc, &mut space, spec, &ops);
            prop_assert!(result.is_ok(), "{}", result.unwrap_err());
        }
    }
}
