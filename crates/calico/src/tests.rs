//! Calico's worked numbers (other-clouds.md §4) and the shared property test.

use allocator::testkit::{check_run, ops};
use allocator::{AddressSpace, Allocator, NodeId, NodeSpec, Request, Update};
use net::AddressRange;
use proptest::prelude::*;

use super::*;

struct Setup {
    calico: Calico,
    space: AddressSpace,
    spec: NodeSpec,
    pool: RangeId,
}

fn setup(pool: &str, config: Config) -> Setup {
    let mut space = AddressSpace::new();
    let nodes =
        space.add(AddressRange::vnet_subnet("nodes", "10.0.0.0/24".parse().unwrap(), Granularity::ADDRESS).unwrap());
    let pool_id = space.add(AddressRange::pod_cidr("pool", pool.parse().unwrap(), Granularity::ADDRESS).unwrap());
    let spec = NodeSpec { node_subnet: nodes, pod_subnet: None, max_pods: 250, machine: None };
    Setup { calico: Calico::new(pool_id, config), space, spec, pool: pool_id }
}

impl Setup {
    fn node(&mut self, id: u32) {
        self.calico.create_node(NodeId(id), &self.spec, &mut self.space).unwrap();
    }

    /// Bind `n` pods; the last update.
    fn bind(&mut self, id: u32, n: u32) -> Update {
        let mut last = Update::default();
        for _ in 0..n {
            last = self.calico.pod_bound(NodeId(id), &mut self.space);
        }
        last
    }

    fn unbind(&mut self, id: u32, n: u32) {
        for _ in 0..n {
            self.calico.pod_unbound(NodeId(id), true, &mut self.space);
        }
    }

    fn allocated(&self) -> u64 {
        self.space[self.pool].allocated()
    }
}

fn failed(update: Update) -> Option<FailureKind> {
    match update.request {
        Request::Failed(f) => Some(f.kind),
        _ => None,
    }
}

#[test]
fn settings_default_to_calicos() {
    assert_eq!(Config::from_settings(&Settings::default()), Ok(Config::default()));
    assert_eq!(Config::default().block_addresses(), 64);
    let mut s = Settings::default();
    s.0.insert("max_blocks_per_host".into(), Setting::Int(0));
    s.0.insert("block_size".into(), Setting::Int(29));
    let c = Config::from_settings(&s).unwrap();
    assert_eq!((c.max_blocks_per_host, c.block_addresses()), (20, 8), "0 means 20");
    s.0.insert("block_size".into(), Setting::Int(19));
    assert!(Config::from_settings(&s).unwrap_err().message.contains("from 20 to 32"));
    let mut s = Settings::default();
    s.0.insert("strict_affinity".into(), Setting::Text("yes".into()));
    assert!(Config::from_settings(&s).unwrap_err().message.contains("true or false"));
}

use allocator::Setting;

/// A /24 pool at /26 blocks: 4 nodes get a block each; a 5th node's pod
/// borrows from another node's block, or under strict affinity fails.
#[test]
fn a_fifth_node_borrows_or_fails_under_strict_affinity() {
    for strict in [false, true] {
        let mut s = setup("10.244.0.0/24", Config { strict_affinity: strict, ..Config::default() });
        for id in 0..4 {
            s.node(id);
            assert_eq!(s.bind(id, 10).started, 1);
            assert_eq!(s.calico.blocks_of(NodeId(id)), 1);
        }
        assert_eq!(s.allocated(), 256, "the pool is wholly claimed");
        s.node(4);
        let update = s.bind(4, 1);
        if strict {
            assert_eq!((update.started, update.short, failed(update)), (0, true, Some(NO_FREE_AFFINE_BLOCKS)));
        } else {
            assert_eq!((update.started, update.short), (1, false));
            assert_eq!(s.calico.blocks_of(NodeId(4)), 0, "a borrower claims no block");
            assert_eq!(s.space[s.pool].in_use(), 41);
        }
    }
}

/// With /29 blocks (8 addresses) a node's 161st pod hits the 20-block cap,
/// with no borrowing even though other blocks have room.
#[test]
fn the_161st_pod_hits_the_block_cap() {
    let mut s = setup("10.244.0.0/16", Config { block_size: 29, ..Config::default() });
    s.node(0);
    s.node(1);
    s.bind(1, 1); // node 1's block has 7 free addresses
    let update = s.bind(0, 160);
    assert_eq!((update.started, update.short), (1, false));
    assert_eq!(s.calico.blocks_of(NodeId(0)), 20);
    let update = s.bind(0, 1);
    assert_eq!((update.started, failed(update)), (0, Some(BLOCK_LIMIT_REACHED)));
    assert!(!BLOCK_LIMIT_REACHED.fixed_by_size());
}

/// Everything gone: nothing left even to borrow.
#[test]
fn an_exhausted_pool_fails_after_borrowing() {
    let mut s = setup("10.244.0.0/26", Config { block_size: 27, ..Config::default() });
    s.node(0);
    s.node(1);
    assert_eq!(s.bind(0, 32).started, 1);
    assert_eq!(s.bind(1, 32).started, 1);
    s.node(2);
    let update = s.bind(2, 1);
    assert_eq!((update.started, failed(update)), (0, Some(IP_POOL_EXHAUSTED)));
    // A freed address wakes the waiting node, which then borrows it.
    s.unbind(0, 1);
    let mut wakes = Vec::new();
    s.calico.take_wakes(&mut wakes);
    assert_eq!(wakes, [Wake { node: NodeId(2), after_ms: 0 }]);
    assert_eq!(s.calico.wake(NodeId(2), &mut s.space).started, 1);
}

/// Blocks stay claimed after they empty: a node's only block stays; extra
/// empty blocks go after the grace period. A deleted node's block lives on
/// while a borrower holds an address in it.
#[test]
fn empty_blocks_leak_until_the_controller_releases_them() {
    let mut s = setup("10.244.0.0/22", Config::default());
    s.node(0);
    s.bind(0, 200); // 4 blocks of 64
    assert_eq!((s.calico.blocks_of(NodeId(0)), s.allocated()), (4, 256));
    s.calico.set_now(1_000);
    s.unbind(0, 200);
    // Scaled to zero pods, the node still holds every block.
    assert_eq!((s.space[s.pool].in_use(), s.allocated()), (0, 256));
    let mut wakes = Vec::new();
    s.calico.take_wakes(&mut wakes);
    assert!(wakes.iter().all(|w| w.node == NodeId(0) && w.after_ms == 900_000), "{wakes:?}");
    // Before the grace period nothing goes; after it, all but one.
    s.calico.set_now(800_000);
    s.calico.wake(NodeId(0), &mut s.space);
    assert_eq!(s.allocated(), 256);
    s.calico.set_now(901_000);
    s.calico.wake(NodeId(0), &mut s.space);
    assert_eq!((s.calico.blocks_of(NodeId(0)), s.allocated()), (1, 64));

    // Node 1 borrows from node 0's full block, then node 0 is deleted.
    let mut s = setup("10.244.0.0/25", Config::default());
    s.node(0);
    s.node(1);
    s.bind(0, 64);
    s.bind(1, 64);
    s.node(2);
    s.bind(2, 1);
    s.unbind(0, 1);
    s.calico.pod_bound(NodeId(2), &mut s.space); // borrows node 0's freed address
    assert_eq!(s.calico.retained(s.pool), 0);
    s.calico.delete_node(NodeId(0), &mut s.space);
    assert_eq!((s.allocated(), s.calico.retained(s.pool)), (128, 64), "kept for node 2's pod");
    s.calico.delete_node(NodeId(2), &mut s.space);
    assert_eq!((s.allocated(), s.calico.retained(s.pool)), (64, 0), "released once empty");
}

/// Each node walks the pool from its own seeded start: deterministic, and
/// not all from the bottom.
#[test]
fn nodes_claim_from_their_seeded_starts() {
    let mut s = setup("10.244.0.0/20", Config::default());
    let starts: Vec<u32> = (0..6)
        .map(|id| {
            s.node(id);
            s.bind(id, 1);
            s.calico.block(s.calico.nodes.get(NodeId(id)).affine[0]).start
        })
        .collect();
    assert!(starts.iter().any(|&u| u != 0) && starts.iter().all(|u| u % 64 == 0), "{starts:?}");
    let mut again = setup("10.244.0.0/20", Config::default());
    let again_starts: Vec<u32> = (0..6)
        .map(|id| {
            again.node(id);
            again.bind(id, 1);
            again.calico.block(again.calico.nodes.get(NodeId(id)).affine[0]).start
        })
        .collect();
    assert_eq!(starts, again_starts);
}

proptest! {
    #[test]
    fn invariants(block_size in 26u8..=30, strict in any::<bool>(), ops in ops(200)) {
        let config = Config { block_size, strict_affinity: strict, max_blocks_per_host: 3, ..Config::default() };
        let mut s = setup("10.244.0.0/25", config);
        let result = check_run(&mut s.calico, &mut s.space, s.spec, &ops);
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}
