//! Every `dynamic` number of model.md, plus the shared property test.

use allocator::testkit::{check_run, ops};
use allocator::{AddressSpace, Allocator, Failure, FailureKind, NodeId, NodeSpec, Request, Update};
use net::{AddressRange, Granularity};
use proptest::prelude::*;

use super::*;

struct Setup {
    dynamic: Dynamic,
    space: AddressSpace,
    spec: NodeSpec,
}

fn setup(nodes: &str, pods: &str, max_pods: u32) -> Setup {
    let mut space = AddressSpace::new();
    let nodes = space.add(AddressRange::vnet_subnet("nodes", nodes.parse().unwrap(), Granularity::ADDRESS).unwrap());
    let pods = space.add(AddressRange::vnet_subnet("pods", pods.parse().unwrap(), Granularity::ADDRESS).unwrap());
    let spec = NodeSpec { node_subnet: nodes, pod_subnet: Some(pods), max_pods, machine: None };
    Setup { dynamic: Dynamic::new(), space, spec }
}

impl Setup {
    /// Create node `id` and make its first request, as the model does.
    fn node(&mut self, id: u32) -> Update {
        self.dynamic.create_node(NodeId(id), &self.spec, &mut self.space).unwrap();
        self.dynamic.reconcile(NodeId(id), &mut self.space)
    }

    /// Bind `n` pods to node `id`; returns the last update and how many started.
    fn bind(&mut self, id: u32, n: u32) -> (Update, u32) {
        let mut last = Update::default();
        let mut started = 0;
        for _ in 0..n {
            last = self.dynamic.pod_bound(NodeId(id), &mut self.space);
            started += last.started;
        }
        (last, started)
    }

    /// Unbind `n` started pods from node `id`; returns the last update.
    fn unbind(&mut self, id: u32, n: u32) -> Update {
        let mut last = Update::default();
        for _ in 0..n {
            last = self.dynamic.pod_unbound(NodeId(id), true, &mut self.space);
        }
        last
    }

    /// (allocated, in_use) of the pod subnet.
    fn pods(&self) -> (u64, u64) {
        let r = &self.space[self.spec.pod_subnet.unwrap()];
        (r.allocated(), r.in_use())
    }

    fn node_subnet(&self) -> (u64, u64) {
        let r = &self.space[self.spec.node_subnet];
        (r.allocated(), r.in_use())
    }

    fn exhausted(&self, wanted: u64, available: u64) -> Request {
        let range = self.spec.pod_subnet;
        Request::Failed(Failure { kind: POD_IP_EXHAUSTED, range, wanted, available })
    }
}

#[test]
fn targets_follow_the_pool_monitor() {
    assert_eq!(BATCH_SIZE, 16);
    let t = |demand| target_for(demand, 250);
    assert_eq!([t(0), t(8), t(9), t(24), t(25), t(40), t(41)], [16, 16, 32, 32, 48, 48, 64]);
    assert_eq!(target_for(250, 250), 250);
    assert_eq!(target_for(25, 30), 30, "the cap is not rounded to a batch");
    assert_eq!(target_for(0, 10), 10);
}

#[test]
fn a_new_node_holds_its_node_ip_then_primary_plus_one_batch() {
    let mut s = setup("10.0.0.0/24", "10.0.1.0/24", 250);
    assert_eq!(s.dynamic.name(), "dynamic");
    s.dynamic.create_node(NodeId(0), &s.spec, &mut s.space).unwrap();
    assert_eq!(s.node_subnet(), (1, 1));
    assert_eq!(s.pods(), (0, 0), "creation takes only the node IP");
    assert!(!s.dynamic.accepts_pods(NodeId(0)) && s.dynamic.may_refuse_pods());
    let update = s.dynamic.reconcile(NodeId(0), &mut s.space);
    assert_eq!(update, Update { started: 0, request: Request::Granted, short: false });
    assert_eq!(s.pods(), (17, 1), "16 pod addresses + the primary, which is in use");
    assert!(s.dynamic.accepts_pods(NodeId(0)));
    assert_eq!(s.dynamic.reconcile(NodeId(0), &mut s.space), Update::default());
}

/// The acceptance case dynamic-batches: 9 → 33, 8 → 17, 24 → 33, 25 → 49.
#[test]
fn batches_grow_and_shrink() {
    let mut s = setup("10.0.0.0/24", "10.0.1.0/24", 250);
    s.node(0);
    let (_, started) = s.bind(0, 8);
    assert_eq!((started, s.pods()), (8, (17, 9)));
    let (update, _) = s.bind(0, 1);
    assert_eq!(update, Update { started: 1, request: Request::Granted, short: false });
    assert_eq!(s.pods(), (33, 10));
    let update = s.unbind(0, 1);
    assert_eq!(update, Update::default());
    assert_eq!(s.pods(), (17, 9));
    s.bind(0, 16);
    assert_eq!(s.pods(), (33, 25));
    s.bind(0, 1);
    assert_eq!(s.pods(), (49, 26));
    assert_eq!(s.node_subnet(), (1, 1));
}

#[test]
fn a_batch_is_released_only_once_24_are_free() {
    let mut s = setup("10.0.0.0/24", "10.0.1.0/24", 250);
    s.node(0);
    s.bind(0, 41);
    assert_eq!(s.pods(), (65, 42), "41 pods: target 64");
    s.unbind(0, 1);
    assert_eq!(s.pods(), (49, 41), "40 pods: 24 of 64 free, back to 48");
    s.unbind(0, 15);
    assert_eq!(s.pods(), (49, 26), "25 pods: 23 of 48 free, kept");
    s.unbind(0, 1);
    assert_eq!(s.pods(), (33, 25), "24 pods: 24 of 48 free, back to 32");
    s.unbind(0, 15);
    assert_eq!(s.pods(), (33, 10), "9 pods: 23 of 32 free, kept");
    s.unbind(0, 1);
    assert_eq!(s.pods(), (17, 9), "8 pods: 24 of 32 free, back to 16");
}

#[test]
fn the_cap_is_max_pods_not_a_batch_multiple() {
    let mut s = setup("10.0.0.0/24", "10.0.1.0/24", 30);
    s.node(0);
    s.bind(0, 25);
    assert_eq!(s.pods(), (31, 26));
    let (update, started) = s.bind(0, 5);
    assert_eq!((update.short, started, s.pods()), (false, 5, (31, 31)));
}

#[test]
fn a_full_node_takes_a_whole_slash24() {
    let mut s = setup("10.0.0.0/24", "10.0.1.0/24", 250);
    s.node(0);
    let (update, started) = s.bind(0, 250);
    assert_eq!((update.short, started), (false, 250));
    assert_eq!(s.pods(), (251, 251));
    assert_eq!(s.space[s.spec.pod_subnet.unwrap()].free(), 0);
    assert_eq!(s.dynamic.nodes.get(NodeId(0)).held.capacity(), 251, "allocated once");
}

#[test]
fn growth_is_all_or_nothing() {
    // A /27 has 27 usable: a first request of 17 leaves 10, short of a +16 step.
    let mut s = setup("10.0.0.0/24", "10.0.1.0/27", 250);
    s.node(0);
    s.bind(0, 8);
    let (update, _) = s.bind(0, 1);
    assert_eq!(update, Update { started: 1, request: s.exhausted(16, 10), short: true });
    assert_eq!(s.pods(), (17, 10), "nothing taken");
    // The pool it has still serves pods 10 to 16; the 17th waits.
    let (_, started) = s.bind(0, 7);
    assert_eq!(started, 7);
    let (update, _) = s.bind(0, 1);
    assert_eq!(update, Update { started: 0, request: s.exhausted(16, 10), short: true });
    assert_eq!(s.pods(), (17, 17));
    // A second node cannot get its first 17 from the 10 left.
    let update = s.node(1);
    assert_eq!(update, Update { started: 0, request: s.exhausted(17, 10), short: true });
    assert_eq!(s.pods(), (17, 17));
    assert!(!s.dynamic.accepts_pods(NodeId(1)));
}

#[test]
fn a_plus_32_step_does_not_fit_in_25_but_plus_16_does() {
    // A /26 has 59 usable: three nodes take 51, leaving 8.
    let mut s = setup("10.0.0.0/24", "10.0.1.0/26", 250);
    (0..3).for_each(|id| assert_eq!(s.node(id).request, Request::Granted));
    let (update, started) = s.bind(0, 25);
    assert_eq!((started, update.request), (16, s.exhausted(32, 8)));
    s.dynamic.delete_node(NodeId(2), &mut s.space);
    assert_eq!(s.pods(), (34, 18));
    let update = s.dynamic.reconcile(NodeId(0), &mut s.space);
    assert_eq!(update, Update { started: 0, request: s.exhausted(32, 25), short: true });
    assert_eq!(s.pods(), (34, 18));
    // A waiting pod leaves: demand 24 wants +16, and a short node retries when its demand changes.
    let update = s.dynamic.pod_unbound(NodeId(0), false, &mut s.space);
    assert_eq!(update, Update { started: 8, request: Request::Granted, short: false });
    assert_eq!(s.pods(), (50, 26));
}

/// The acceptance case dynamic-24-pod-subnet.
#[test]
fn a_slash24_pod_subnet_starts_14_nodes() {
    let mut s = setup("10.0.0.0/24", "10.0.1.0/24", 250);
    for id in 0..14 {
        assert_eq!(s.node(id), Update { started: 0, request: Request::Granted, short: false });
    }
    assert_eq!(s.pods(), (238, 14));
    let update = s.node(14);
    assert_eq!(update, Update { started: 0, request: s.exhausted(17, 13), short: true });
    assert_eq!(s.pods(), (238, 14), "the 15th node holds no pod-subnet address");
    assert_eq!(s.node_subnet(), (15, 15), "but it exists and holds its node IP");
    assert!(!s.dynamic.accepts_pods(NodeId(14)));
    assert_eq!(s.dynamic.reconcile(NodeId(14), &mut s.space).request, s.exhausted(17, 13));

    s.dynamic.delete_node(NodeId(0), &mut s.space);
    assert_eq!(s.pods(), (221, 13));
    let update = s.dynamic.reconcile(NodeId(14), &mut s.space);
    assert_eq!(update, Update { started: 0, request: Request::Granted, short: false });
    assert!(s.dynamic.accepts_pods(NodeId(14)));
    assert_eq!(s.pods(), (238, 14));
}

#[test]
fn waiting_pods_start_when_addresses_come_back() {
    let mut s = setup("10.0.0.0/24", "10.0.1.0/26", 250);
    (0..3).for_each(|id| _ = s.node(id));
    let (update, started) = s.bind(0, 20);
    assert_eq!((started, update.short), (16, true));
    // A started pod leaves: a waiting one takes its IP at once.
    let update = s.dynamic.pod_unbound(NodeId(0), true, &mut s.space);
    assert_eq!((update.started, update.short), (1, true));
    assert_eq!(s.pods(), (51, 19), "16 pods + 3 primaries");
    // Another node goes: the short node's retry gets its batch and starts the rest.
    s.dynamic.delete_node(NodeId(2), &mut s.space);
    let update = s.dynamic.reconcile(NodeId(0), &mut s.space);
    assert_eq!(update, Update { started: 3, request: Request::Granted, short: false });
    assert_eq!(s.pods(), (50, 21));
}

#[test]
fn deleting_nodes_returns_everything() {
    let mut s = setup("10.0.0.0/24", "10.0.1.0/27", 250);
    s.node(0);
    s.bind(0, 20);
    s.node(1); // short: holds no pod-subnet address
    s.dynamic.delete_node(NodeId(1), &mut s.space);
    s.dynamic.delete_node(NodeId(0), &mut s.space);
    assert_eq!((s.pods(), s.node_subnet()), ((0, 0), (0, 0)));
}

#[test]
fn no_node_ip_no_node() {
    let mut s = setup("10.0.0.0/29", "10.0.1.0/24", 250);
    (0..3).for_each(|id| _ = s.node(id));
    let err = s.dynamic.create_node(NodeId(3), &s.spec, &mut s.space).unwrap_err();
    assert_eq!(err.kind, FailureKind::NODE_IP_EXHAUSTED);
    assert_eq!(s.pods(), (51, 3));
}

/// Delegates to [`Dynamic`], checking its bookkeeping after every call.
#[derive(Debug)]
struct Checked(Dynamic);

impl Checked {
    fn check(&self, space: &AddressSpace, touched: Option<(NodeId, Update)>) {
        let (mut allocated, mut in_use, mut pod_subnet) = (0, 0, None);
        for (id, n) in self.0.nodes.iter() {
            assert!(n.held() <= n.wanted(), "{id:?} holds {} > {}", n.held(), n.wanted());
            assert_eq!(n.started, n.demand.min(n.pod_addresses()), "{id:?}: free IPs while pods wait");
            allocated += u64::from(n.held());
            in_use += u64::from(n.started) + u64::from(n.held() > 0);
            pod_subnet = Some(n.pod_subnet);
        }
        if let Some(r) = pod_subnet {
            assert_eq!((space[r].allocated(), space[r].in_use()), (allocated, in_use));
        }
        if let Some((id, update)) = touched {
            let n = self.0.nodes.get(id);
            assert_eq!(update.short, n.held() < n.wanted());
            match update.request {
                Request::Granted => assert!(!update.short),
                Request::Failed(f) => assert!(update.short && f.wanted > f.available),
                Request::None => {}
            }
        }
    }

    fn after(&self, node: NodeId, update: Update, space: &AddressSpace) -> Update {
        self.check(space, Some((node, update)));
        update
    }
}

impl Allocator for Checked {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn create_node(&mut self, node: NodeId, spec: &NodeSpec, space: &mut AddressSpace) -> Result<(), Failure> {
        let result = self.0.create_node(node, spec, space);
        self.check(space, None);
        result
    }

    fn delete_node(&mut self, node: NodeId, space: &mut AddressSpace) {
        self.0.delete_node(node, space);
        self.check(space, None);
    }

    fn held_in(&self, node: NodeId, range: allocator::RangeId) -> u64 {
        self.0.held_in(node, range)
    }

    fn accepts_pods(&self, node: NodeId) -> bool {
        self.0.accepts_pods(node)
    }

    fn reconcile(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        let update = self.0.reconcile(node, space);
        self.after(node, update, space)
    }

    fn pod_bound(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        let update = self.0.pod_bound(node, space);
        self.after(node, update, space)
    }

    fn pod_unbound(&mut self, node: NodeId, had_ip: bool, space: &mut AddressSpace) -> Update {
        let update = self.0.pod_unbound(node, had_ip, space);
        self.after(node, update, space)
    }
}

proptest! {
    /// Small subnets, so node IPs and pod IPs both run out.
    #[test]
    fn random_runs_keep_the_invariants(
        ops in ops(400),
        max_pods in 10u32..=250,
        pods in prop::sample::select(vec!["10.0.1.0/26", "10.0.1.0/25", "10.0.1.0/24"]),
    ) {
        let Setup { dynamic, mut space, spec } = setup("10.0.0.0/28", pods, max_pods);
        let mut checked = Checked(dynamic);
        if let Err(e) = check_run(&mut checked, &mut space, spec, &ops) {
            return Err(TestCaseError::fail(e));
        }
    }
}

/// CNS v2's target in both states of the subnet: batches of 16 with a buffer
/// of half a batch normally; batch 1, buffer 1 (demand + 1) while exhausted.
#[test]
fn targets_normal_and_under_scarcity() {
    for (demand, normal, scarce) in [(0, 16, 1), (8, 16, 9), (9, 32, 10), (24, 32, 25), (25, 48, 26), (249, 250, 250)] {
        assert_eq!((target_for(demand, 250), scarce_target_for(demand, 250)), (normal, scarce), "demand {demand}");
    }
    // Capped at max_pods, not rounded to a batch, in both states.
    assert_eq!((target_for(30, 30), scarce_target_for(30, 30)), (30, 30));
    assert_eq!(scarce_target_for(u32::MAX, 250), 250);
}

/// With scarcity on, a subnet crossing the upper threshold wakes every node
/// on it, and each settles to demand + 1, returning its surplus at once.
#[test]
fn a_marked_subnet_wakes_its_nodes_and_they_release_the_surplus() {
    let mut s = setup("10.0.0.0/24", "10.0.1.0/25", 250); // 123 usable
    s.dynamic.scarcity = Some(Scarcity { upper: 8000, lower: 2500, interval_ms: 60_000 });
    assert!(s.dynamic.timed());
    for id in 0..3 {
        s.node(id);
        s.bind(id, 10);
    }
    let pods = s.spec.pod_subnet.unwrap();
    // Node 2's 9th pod takes it to 3 × (1 + 32) = 99 of 123 = 80.5 % > 80 %:
    // marked. Its 10th pod already settles under the mark (1 + 11); nodes 0 and
    // 1 keep 33 until woken.
    assert_eq!(s.space[pods].allocated(), 33 + 33 + 12);
    let mut wakes = Vec::new();
    s.dynamic.take_wakes(&mut wakes);
    assert_eq!(wakes, (0..3).map(|n| Wake { node: NodeId(n), after_ms: 0 }).collect::<Vec<_>>());
    for w in &wakes {
        let update = s.dynamic.wake(w.node, &mut s.space);
        assert_eq!((update.started, update.short), (0, false));
    }
    // Each node now holds 1 + (10 + 1): 36 = 29 %, above 25 %: still marked.
    assert_eq!(s.space[pods].allocated(), 36);
    s.dynamic.take_wakes(&mut wakes);
    assert_eq!(wakes.len(), 3, "no new wakes");
    // Down to 5 pods a node at t = 30 s: 3 × 7 = 21 = 17 % < 25 %, but the mark
    // changed less than a minute ago: a wake looks again at 60 s.
    s.dynamic.set_now(30_000);
    for id in 0..3 {
        for _ in 0..5 {
            s.dynamic.pod_unbound(NodeId(id), true, &mut s.space);
        }
    }
    assert_eq!(s.space[pods].allocated(), 21);
    let mut later = Vec::new();
    s.dynamic.take_wakes(&mut later);
    assert_eq!(later, [Wake { node: NodeId(0), after_ms: 30_000 }]);
    // At 60 s the mark clears and all three are woken to regrow to 16.
    s.dynamic.set_now(60_000);
    s.dynamic.wake(NodeId(0), &mut s.space);
    later.clear();
    s.dynamic.take_wakes(&mut later);
    assert_eq!(later.len(), 3);
    for w in &later {
        s.dynamic.wake(w.node, &mut s.space);
    }
    assert_eq!(s.space[pods].allocated(), 3 * 17);
}

/// Without the option nothing of it runs: the mode is not timed.
#[test]
fn scarcity_is_off_by_default() {
    let mut s = setup("10.0.0.0/24", "10.0.1.0/26", 250);
    assert!(!s.dynamic.timed());
    s.node(0);
    s.node(1);
    s.node(2); // 3 × 17 = 51 of 59: 86 %, no mark
    let mut wakes = Vec::new();
    s.dynamic.take_wakes(&mut wakes);
    assert!(wakes.is_empty());
    assert_eq!(s.space[s.spec.pod_subnet.unwrap()].allocated(), 51);
}
