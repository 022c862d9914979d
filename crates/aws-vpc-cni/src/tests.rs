//! The CNI docs' worked tables (other-clouds.md §1–2) on ipamd's own clock,
//! and the shared property test.

use std::collections::BTreeMap;

use allocator::testkit::{check_run, ops};
use allocator::{AddressSpace, Allocator, NodeId, NodeSpec, Request, Setting, Update};
use net::AddressRange;
use proptest::prelude::*;

use super::*;

/// One cluster's ipamd on a clock: wakes run at their times, ties in the
/// order asked (as the engine runs them).
struct Sim {
    ipamd: Ipamd,
    space: AddressSpace,
    spec: NodeSpec,
    now: u64,
    wakes: BTreeMap<(u64, u64), NodeId>,
    seq: u64,
    next_node: u32,
    /// Every failure reported, with its time, and every grant's time.
    failures: Vec<(u64, FailureKind)>,
    granted: Vec<u64>,
    /// Pods started per node.
    started: BTreeMap<NodeId, u32>,
}

fn config(prefix: bool, settings: &[(&str, i64)]) -> Config {
    let mut s = Settings::default();
    for &(k, v) in settings {
        s.0.insert(k.to_owned(), Setting::Int(v));
    }
    Config::from_settings(&s, prefix).unwrap()
}

fn sim(instance: &str, prefix: bool, settings: &[(&str, i64)], subnet: &str) -> Sim {
    let mut space = AddressSpace::new();
    let nodes = space
        .add(AddressRange::subnet("nodes", subnet.parse().unwrap(), Granularity::ADDRESS, SubnetRules::AWS).unwrap());
    let machine = machines::SECONDARY.find(instance).unwrap();
    let table = if prefix { &machines::PREFIX } else { &machines::SECONDARY };
    let spec = NodeSpec {
        node_subnet: nodes,
        pod_subnet: None,
        max_pods: (table.max_pods)(machine).default,
        machine: Some(machine),
    };
    Sim {
        ipamd: Ipamd::new(config(prefix, settings)),
        space,
        spec,
        now: 0,
        wakes: BTreeMap::new(),
        seq: 0,
        next_node: 0,
        failures: Vec::new(),
        granted: Vec::new(),
        started: BTreeMap::new(),
    }
}

impl Sim {
    fn apply(&mut self, node: NodeId, update: Update) {
        *self.started.entry(node).or_default() += update.started;
        match update.request {
            Request::Failed(f) => self.failures.push((self.now, f.kind)),
            Request::Granted => self.granted.push(self.now),
            Request::None => {}
        }
        let mut wakes = Vec::new();
        self.ipamd.take_wakes(&mut wakes);
        for w in wakes {
            self.wakes.insert((self.now + w.after_ms, self.seq), w.node);
            self.seq += 1;
        }
    }

    fn node(&mut self) -> NodeId {
        let id = NodeId(self.next_node);
        self.next_node += 1;
        self.ipamd.set_now(self.now);
        self.ipamd.create_node(id, &self.spec, &mut self.space).unwrap();
        let update = self.ipamd.reconcile(id, &mut self.space);
        self.apply(id, update);
        id
    }

    fn bind(&mut self, node: NodeId, n: u32) {
        for _ in 0..n {
            self.ipamd.set_now(self.now);
            let update = self.ipamd.pod_bound(node, &mut self.space);
            self.apply(node, update);
        }
    }

    /// `n` started pods leave.
    fn unbind(&mut self, node: NodeId, n: u32) {
        for _ in 0..n {
            self.ipamd.set_now(self.now);
            let update = self.ipamd.pod_unbound(node, true, &mut self.space);
            *self.started.get_mut(&node).unwrap() -= 1;
            self.apply(node, update);
        }
    }

    /// Run the wakes due within `ms`, then stand at now + ms.
    fn run(&mut self, ms: u64) {
        let end = self.now + ms;
        while let Some((&(at, seq), &node)) = self.wakes.first_key_value() {
            if at > end {
                break;
            }
            self.wakes.remove(&(at, seq));
            self.now = at;
            self.ipamd.set_now(at);
            let update = self.ipamd.wake(node, &mut self.space);
            self.apply(node, update);
        }
        self.now = end;
    }

    fn holding(&self, node: NodeId) -> (usize, u64) {
        self.ipamd.holding(node)
    }

    fn started(&self, node: NodeId) -> u32 {
        self.started.get(&node).copied().unwrap_or(0)
    }

    fn subnet(&self) -> &AddressRange {
        &self.space[self.spec.node_subnet]
    }
}

const MINUTE: u64 = 60_000;

#[test]
fn warm_eni_target_fills_whole_enis() {
    // t3.small: 3 ENIs × 3 usable IPs. The doc's table: 0 pods → 1 ENI, 3 IPs;
    // 5 → 3 ENIs, 9 IPs, 4 unused; 9 → 3, 9, 0.
    let mut s = sim("t3.small", false, &[], "10.0.0.0/24");
    let n = s.node();
    assert_eq!(s.holding(n), (1, 3));
    s.bind(n, 5);
    s.run(MINUTE);
    assert_eq!((s.holding(n), s.started(n)), ((3, 9), 5));
    s.bind(n, 4);
    s.run(MINUTE);
    assert_eq!((s.holding(n), s.started(n)), ((3, 9), 9));
    // Node IP + 2 more primaries + 9 secondary IPs from the subnet.
    assert_eq!(s.subnet().allocated(), 12);
    assert!(s.failures.is_empty(), "{:?}", s.failures);
}

#[test]
fn a_big_instance_keeps_a_whole_eni_warm() {
    // p3dn.24xlarge, 49 IPs an ENI: 3 pods → 2 ENIs, 98 IPs; 95 pods → 3 ENIs, 147, 52 unused.
    let mut s = sim("p3dn.24xlarge", false, &[], "10.0.0.0/22");
    let n = s.node();
    s.bind(n, 3);
    s.run(MINUTE);
    assert_eq!(s.holding(n), (2, 98));
    s.bind(n, 92);
    s.run(MINUTE);
    assert_eq!((s.holding(n), s.started(n)), ((3, 147), 95));
}

#[test]
fn warm_ip_and_minimum_ip_targets() {
    // WARM_IP_TARGET 1, MINIMUM_IP_TARGET 1: 0 pods → 1 IP; 5 → 2 ENIs, 6 IPs, 1 unused.
    let mut s = sim("t3.small", false, &[("warm_ip_target", 1), ("minimum_ip_target", 1)], "10.0.0.0/24");
    let n = s.node();
    assert_eq!(s.holding(n), (1, 1));
    s.bind(n, 5);
    // One IP a tick: the pods start one by one, 5 s apart.
    s.run(MONITOR_MS);
    assert_eq!(s.started(n), 2);
    s.run(MINUTE);
    assert_eq!((s.holding(n), s.started(n)), ((2, 6), 5));
    // WARM_IP_TARGET 2, MINIMUM_IP_TARGET 5: 0 pods → 5 IPs on 2 ENIs.
    let mut s = sim("t3.small", false, &[("warm_ip_target", 2), ("minimum_ip_target", 5)], "10.0.0.0/24");
    let n = s.node();
    s.run(MINUTE);
    assert_eq!(s.holding(n), (2, 5));
}

#[test]
fn warm_ip_target_alone_from_the_readme() {
    // m5.4xlarge (29 an ENI): 30 pods with WARM_IP_TARGET 30 → 60 IPs;
    // with MINIMUM_IP_TARGET 30 and WARM_IP_TARGET 2 → 32.
    for (settings, ips) in
        [(&[("warm_ip_target", 30)][..], 60), (&[("warm_ip_target", 2), ("minimum_ip_target", 30)], 32)]
    {
        let mut s = sim("m5.4xlarge", false, settings, "10.0.0.0/24");
        let n = s.node();
        s.bind(n, 30);
        s.run(5 * MINUTE);
        assert_eq!((s.holding(n).1, s.started(n)), (ips, 30), "{settings:?}");
    }
}

#[test]
fn warm_prefix_target_one_prefix_at_a_time() {
    // t3.small with prefixes (3 prefixes an ENI), WARM_PREFIX_TARGET 1: 0 pods →
    // 1 prefix, 16 unused; 5 → 2, 27; 16 → 2, 16; 17 → 3, 31;
    // 58 → 2 ENIs, 5 prefixes (16, 16, 16, 10, 0 assigned), 22 unused.
    let mut s = sim("t3.small", true, &[], "10.0.0.0/24");
    let n = s.node();
    assert_eq!(s.holding(n), (1, 16));
    let mut pods = 0;
    for (to, enis, ips) in [(5, 1, 32), (16, 1, 32), (17, 1, 48), (58, 2, 80)] {
        s.bind(n, to - pods);
        pods = to;
        s.run(MINUTE);
        assert_eq!((s.holding(n), s.started(n)), ((enis, ips), to), "{to} pods");
    }
    assert_eq!(s.ipamd.slots(n), vec![vec![0, 0, 0], vec![6, 16]]);
    // Every prefix an aligned /28 of the subnet.
    assert_eq!(s.subnet().allocated(), 2 + 80);
}

#[test]
fn warm_ip_targets_round_up_to_prefixes() {
    // WARM_IP_TARGET 1, MINIMUM_IP_TARGET 1 with prefixes: 5 pods → 1 prefix, 11 unused; 17 → 2, 15.
    let mut s = sim("t3.small", true, &[("warm_ip_target", 1), ("minimum_ip_target", 1)], "10.0.0.0/24");
    let n = s.node();
    s.bind(n, 5);
    s.run(MINUTE);
    assert_eq!(s.holding(n), (1, 16));
    s.bind(n, 12);
    s.run(MINUTE);
    assert_eq!((s.holding(n), s.started(n)), ((1, 32), 17));
}

#[test]
fn pods_wait_for_the_next_tick() {
    let mut s = sim("t3.small", false, &[], "10.0.0.0/24");
    let n = s.node();
    s.run(2_000);
    // At 2 s: 3 IPs ready, the 4th pod waits for the tick at 5 s.
    s.bind(n, 4);
    assert_eq!(s.started(n), 3);
    s.run(2_999);
    assert_eq!(s.started(n), 3);
    s.run(1);
    assert_eq!((s.now, s.started(n), s.holding(n)), (5_000, 4, (2, 6)));
}

#[test]
fn a_released_ip_cools_down_but_counts_as_available() {
    let mut s = sim("t3.small", false, &[], "10.0.0.0/24");
    let n = s.node();
    s.bind(n, 9);
    s.run(MINUTE);
    assert_eq!((s.holding(n), s.started(n)), ((3, 9), 9));
    // One pod leaves, another comes: the freed IP cools for 30 s, and the
    // monitor sees 1 available, a full node, no ENI to attach.
    s.unbind(n, 1);
    s.bind(n, 1);
    assert_eq!(s.started(n), 8);
    s.run(29_999);
    assert_eq!(s.started(n), 8);
    s.run(1);
    assert_eq!(s.started(n), 9);
    assert_eq!(s.holding(n), (3, 9));
    // The wait was an ENI limit (all 3 ENIs full, the cooling IP counted as
    // available), ended by the pod's start: the next wait is an event again.
    let first = s.failures.iter().filter(|f| f.1 == ENI_LIMIT).count();
    assert_eq!(first, 1);
    assert_eq!(s.granted.last(), Some(&s.now));
    s.unbind(n, 1);
    s.bind(n, 1);
    s.run(MINUTE);
    assert_eq!((s.started(n), s.failures.iter().filter(|f| f.1 == ENI_LIMIT).count()), (9, 2));
}

#[test]
fn a_tenth_pod_on_a_full_t3_small_is_an_eni_limit() {
    let mut s = sim("t3.small", false, &[], "10.0.0.0/24");
    let n = s.node();
    s.bind(n, 10);
    s.run(MINUTE);
    assert_eq!(s.started(n), 9);
    assert_eq!(s.failures.iter().map(|f| f.1).collect::<Vec<_>>(), vec![ENI_LIMIT]);
    assert!(!ENI_LIMIT.fixed_by_size());
    // Nothing changes: the monitor stops looking until something does.
    s.run(60 * MINUTE);
    assert!(s.wakes.is_empty(), "{:?}", s.wakes);
}

#[test]
fn unused_enis_are_detached_after_a_minute_and_ips_never_released_singly() {
    let mut s = sim("t3.small", false, &[], "10.0.0.0/24");
    let n = s.node();
    s.bind(n, 9);
    s.run(10_000);
    assert_eq!(s.holding(n), (3, 9));
    s.unbind(n, 9);
    // Cooldown (30 s), then each ENI's own minute (attached at 5 s and 10 s):
    // 9 available ≥ 2 ENIs' worth, and at 65 s the one attached at 5 s is the
    // only one of age, so it goes; 6 ≥ 6, and the other goes at 70 s; 3 < 6
    // keeps the primary ENI's 3.
    s.run(54_999);
    assert_eq!(s.holding(n), (3, 9));
    s.run(1);
    assert_eq!((s.now, s.holding(n)), (65_000, (2, 6)));
    s.run(5_000);
    assert_eq!((s.now, s.holding(n)), (75_000 - 5_000, (1, 3)));
    assert_eq!(s.subnet().allocated(), 1 + 3);
    // Warm-ENI mode releases no single IP from the primary ENI.
    s.run(10 * MINUTE);
    assert_eq!(s.holding(n), (1, 3));
}

#[test]
fn warm_ip_mode_releases_its_surplus_at_most_every_30_s() {
    let mut s = sim("t3.small", false, &[("warm_ip_target", 1), ("minimum_ip_target", 1)], "10.0.0.0/24");
    let n = s.node();
    s.bind(n, 5);
    s.run(MINUTE);
    assert_eq!(s.holding(n), (2, 6));
    s.unbind(n, 5);
    // Over by 5 (cooling IPs count as available): the one IP not cooling goes
    // at the next tick; the other 4 once they cooled and 30 s since; then the
    // emptied ENI is detached.
    s.run(29_000);
    assert_eq!(s.holding(n), (2, 5));
    s.run(MINUTE);
    assert_eq!(s.holding(n), (1, 1));
    assert_eq!(s.subnet().allocated(), 2);
}

#[test]
fn a_full_subnet_backs_off_for_two_minutes() {
    // A /28: 11 usable. Node IP + 3, then a second ENI: 1 + 3 → 8; a third
    // asks for 1 + 3 → 12 > 11, and EC2 creates no ENI.
    let mut s = sim("t3.small", false, &[], "10.0.0.0/28");
    let n = s.node();
    s.bind(n, 6);
    s.run(MINUTE);
    assert_eq!(s.holding(n), (2, 6));
    assert_eq!(s.failures, vec![(10_000, POD_IP_EXHAUSTED)]);
    assert_eq!(s.subnet().allocated(), 8);
    // Retried after 120 s, not at every tick.
    s.run(69_000);
    assert_eq!(s.failures.len(), 1);
    s.run(2 * MINUTE);
    assert_eq!(s.failures.iter().map(|f| f.0).collect::<Vec<_>>(), vec![10_000, 130_000]);
}

#[test]
fn prefixes_fail_on_a_fragmented_subnet_with_free_addresses() {
    // A /24 with one address taken in every /28: 235 free, no /28.
    let mut s = sim("t3.small", true, &[], "10.0.0.0/24");
    let subnet = s.spec.node_subnet;
    let all: Vec<u32> = std::iter::from_fn(|| s.space[subnet].take()).collect();
    for &u in &all {
        if s.space[subnet].unit_net(u).addr().octets()[3] % 16 != 7 {
            s.space[subnet].give_back(u);
        }
    }
    let n = s.node();
    assert_eq!(s.holding(n), (1, 0));
    let f = s.failures[0];
    assert_eq!(f, (0, INSUFFICIENT_CIDR_BLOCKS));
    assert_eq!(s.subnet().free_blocks(28), 0);
    assert!(s.subnet().free() > 200);
    let failure = Failure { kind: INSUFFICIENT_CIDR_BLOCKS, range: Some(subnet), wanted: 16, available: 234 };
    let words = (PREFIX_MODE.failure_words)(&failure, &s.space).unwrap();
    assert!(words.starts_with("0 free /28s; EC2: InsufficientCidrBlocks: "), "{words}");
    s.bind(n, 1);
    s.run(MINUTE);
    assert_eq!(s.started(n), 0);
}

#[test]
fn a_prefix_reservation_hands_out_whole_28s() {
    let mut s = sim("t3.small", true, &[], "10.0.0.0/24");
    let reservation = s.space.add(
        AddressRange::subnet("prefixes", "10.0.1.0/24".parse().unwrap(), Granularity::BLOCK28, SubnetRules::AWS)
            .unwrap(),
    );
    s.spec.pod_subnet = Some(reservation);
    let n = s.node();
    s.bind(n, 17);
    s.run(MINUTE);
    assert_eq!(s.holding(n), (1, 48));
    assert_eq!((s.space[reservation].allocated(), s.space[reservation].in_use()), (48, 17));
    assert_eq!(s.ipamd.held_in(n, reservation), 48);
    assert_eq!(s.ipamd.held_in(n, s.spec.node_subnet), 1);
}

#[test]
fn settings_default_to_the_cnis() {
    assert_eq!(Config::from_settings(&Settings::default(), true).unwrap(), Config::default_for(true));
    let d = Config::default_for(false);
    assert_eq!((d.warm_eni_target, d.warm_prefix_target, d.ip_cooldown_ms), (1, 1, 30_000));
    let mut s = Settings::default();
    s.0.insert("minimum_ip_target".into(), Setting::Int(5));
    let findings = check_settings(&s);
    assert!(findings.len() == 1 && !findings[0].error, "{findings:?}");
    s.0.insert("warm_eni_target".into(), Setting::Int(-1));
    assert!(check_settings(&s)[0].error);
}

/// One step of a timed random run.
#[derive(Debug, Clone)]
enum Step {
    Create,
    Delete(usize),
    Bind(usize),
    Unbind(usize),
    Advance(u64),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        1 => Just(Step::Create),
        1 => any::<usize>().prop_map(Step::Delete),
        6 => any::<usize>().prop_map(Step::Bind),
        5 => any::<usize>().prop_map(Step::Unbind),
        3 => (0u64..200_000).prop_map(Step::Advance),
    ];
    prop::collection::vec(step, 0..150)
}

proptest! {
    /// On the clock: cooldowns end, releases and detaches happen, back-offs
    /// pass. After every step each range's allocated is what the live nodes
    /// hold, its in-use their node IPs and started pods; at the end, with every
    /// node deleted, everything is back.
    #[test]
    fn timed_runs_keep_the_books(
        steps in steps(),
        prefix in any::<bool>(),
        reserved in any::<bool>(),
        warm in (0i64..3, 0i64..6, 0i64..3),
        subnet in prop::sample::select(vec!["10.0.0.0/24", "10.0.0.0/26", "10.0.0.0/27"]),
    ) {
        let (warm_ip, minimum, warm_prefix) = warm;
        let settings = [("warm_ip_target", warm_ip), ("minimum_ip_target", minimum), ("warm_prefix_target", warm_prefix)];
        let mut s = sim("t3.medium", prefix, &settings, subnet);
        if prefix && reserved {
            let r = AddressRange::subnet("r", "10.0.1.0/26".parse().unwrap(), Granularity::BLOCK28, SubnetRules::AWS).unwrap();
            s.spec.pod_subnet = Some(s.space.add(r));
        }
        let mut live: Vec<NodeId> = Vec::new();
        let mut bound: BTreeMap<NodeId, u32> = BTreeMap::new();
        for step in steps {
            match step {
                Step::Create => {
                    let id = NodeId(s.next_node);
                    s.ipamd.set_now(s.now);
                    if s.ipamd.create_node(id, &s.spec, &mut s.space).is_ok() {
                        s.next_node += 1;
                        let update = s.ipamd.reconcile(id, &mut s.space);
                        s.apply(id, update);
                        live.push(id);
                    }
                }
                Step::Delete(i) if !live.is_empty() => {
                    let id = live.swap_remove(i % live.len());
                    s.ipamd.set_now(s.now);
                    s.ipamd.delete_node(id, &mut s.space);
                    bound.remove(&id);
                    s.started.remove(&id);
                }
                Step::Bind(i) if !live.is_empty() => {
                    let id = live[i % live.len()];
                    if bound.get(&id).copied().unwrap_or(0) < s.spec.max_pods {
                        *bound.entry(id).or_default() += 1;
                        s.bind(id, 1);
                    }
                }
                Step::Unbind(i) if !live.is_empty() => {
                    let id = live[i % live.len()];
                    if bound.get(&id).copied().unwrap_or(0) > 0 {
                        *bound.get_mut(&id).unwrap() -= 1;
                        // A started pod leaves if there is one, else a waiting one.
                        let had_ip = s.started(id) > 0;
                        s.ipamd.set_now(s.now);
                        let update = s.ipamd.pod_unbound(id, had_ip, &mut s.space);
                        if had_ip {
                            *s.started.get_mut(&id).unwrap() -= 1;
                        }
                        s.apply(id, update);
                    }
                }
                Step::Advance(ms) => s.run(ms),
                _ => {}
            }
            for (rid, range) in s.space.iter() {
                let held: u64 = live.iter().map(|&n| s.ipamd.held_in(n, rid)).sum();
                prop_assert_eq!(range.allocated(), held, "range {} allocated", range.name());
                prop_assert!(range.allocated() <= range.usable());
            }
            let node_ips = live.len() as u64;
            let pods: u64 = live.iter().map(|&n| u64::from(s.started(n))).sum();
            let in_use: u64 = s.space.iter().map(|(_, r)| r.in_use()).sum();
            prop_assert_eq!(in_use, node_ips + pods);
            for &n in &live {
                prop_assert!(s.started(n) <= bound.get(&n).copied().unwrap_or(0));
            }
        }
        s.ipamd.set_now(s.now);
        for id in live {
            s.ipamd.delete_node(id, &mut s.space);
        }
        for (_, range) in s.space.iter() {
            prop_assert_eq!((range.allocated(), range.in_use()), (0, 0), "{}", range.name());
        }
    }

    #[test]
    fn invariants_hold(ops in ops(200), prefix in any::<bool>(), warm_ip in 0u32..4) {
        let mut s = sim("t3.medium", prefix, &[("warm_ip_target", i64::from(warm_ip))], "10.0.0.0/26");
        let spec = s.spec;
        check_run(&mut s.ipamd, &mut s.space, spec, &ops).map_err(TestCaseError::fail)?;
    }
}
