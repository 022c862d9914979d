//! A mode that exists only here, replayed through the whole model, to prove the
//! trait and the pools carry what the five Azure modes do not use: settings of
//! its own (a `clusters[].prefixes` block), time (an attach delay before a node's pods
//! get IPs; a release delay for addresses a deleted node keeps), aligned
//! prefixes of any length next to single addresses in one subnet (AWS prefix
//! delegation, Calico's /26 blocks), another cloud's reserved addresses (GCP's
//! 4), and addresses retained after deletion.
//!
//! The mode: each node takes its node IP and one aligned /`block` prefix of its
//! node subnet; its pods take IPs from the prefix once it is attached, which
//! happens `attach_delay_s` after creation; a deleted node's prefix returns to
//! the subnet `release_delay_s` later.

use std::collections::BTreeMap;

use allocator::{
    Allocator, Build, Failure, FailureKind, Finding, MaxPods, Mode, NodeId, NodeSpec, NodeTable, SettingSpec, Settings,
    Update, Wake, return_node_ip, take_node_ip,
};
use net::{AddressSpace, RangeId, SubnetRules};
use scenario::{Overrides, parse_str};

const PREFIX_EXHAUSTED: FailureKind = FailureKind::sized("prefix-exhausted");

static PREFIXES: Mode = Mode {
    cloud_name: "a test mode: per-node prefixes with attach and release delays",
    summary: "each node takes its node IP and an aligned prefix of its node subnet",
    max_pods: MaxPods { default: 30, min: 10, max: 60 },
    subnet_rules: SubnetRules::GCP,
    failures: &[PREFIX_EXHAUSTED],
    settings_key: Some("prefixes"),
    settings: &[
        SettingSpec { key: "block", default: "28", help: "prefix length of each node's block" },
        SettingSpec { key: "attach_delay_s", default: "0", help: "seconds before a node's block takes pods" },
        SettingSpec { key: "release_delay_s", default: "0", help: "seconds a deleted node's block is kept" },
    ],
    check_settings,
    ..Mode::base("test-prefixes", |build| Box::new(Prefixes::new(build)))
};

fn check_settings(settings: &Settings) -> Vec<Finding> {
    [settings.int("block", 28, 24..=30), settings.int("attach_delay_s", 0, 0..=3600)]
        .into_iter()
        .chain([settings.int("release_delay_s", 0, 0..=3600)])
        .filter_map(Result::err)
        .collect()
}

#[derive(Debug)]
struct Node {
    subnet: RangeId,
    node_ip: u32,
    block_start: u32,
    attached: bool,
    running: u32,
    waiting: u32,
}

#[derive(Debug)]
struct Prefixes {
    block_size: u32,
    attach_ms: u64,
    release_ms: u64,
    nodes: NodeTable<Node>,
    /// Blocks of deleted nodes not yet released: node → (subnet, first unit).
    retained: BTreeMap<NodeId, (RangeId, u32)>,
    wakes: Vec<Wake>,
}

impl Prefixes {
    fn new(build: &Build<'_>) -> Self {
        let int = |key, default| build.settings.int(key, default, 0..=3600).expect("checked by check_settings");
        Self {
            block_size: 1 << (32 - int("block", 28)),
            attach_ms: int("attach_delay_s", 0) as u64 * 1000,
            release_ms: int("release_delay_s", 0) as u64 * 1000,
            nodes: NodeTable::default(),
            retained: BTreeMap::new(),
            wakes: Vec::new(),
        }
    }

    /// Start waiting pods while the attached block has room.
    fn start_waiting(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        let state = self.nodes.get_mut(node);
        if !state.attached {
            return Update::default();
        }
        let started = state.waiting.min(self.block_size - state.running);
        state.waiting -= started;
        state.running += started;
        space[state.subnet].bind(u64::from(started));
        Update { started, ..Update::default() }
    }
}

impl Allocator for Prefixes {
    fn name(&self) -> &'static str {
        PREFIXES.name
    }

    fn create_node(&mut self, node: NodeId, spec: &NodeSpec, space: &mut AddressSpace) -> Result<(), Failure> {
        let node_ip = take_node_ip(spec, space)?;
        let Some(block_start) = space[spec.node_subnet].take_aligned(self.block_size) else {
            return_node_ip(spec.node_subnet, node_ip, space);
            let available = space[spec.node_subnet].free();
            let wanted = u64::from(self.block_size);
            return Err(Failure { kind: PREFIX_EXHAUSTED, range: Some(spec.node_subnet), wanted, available });
        };
        let attached = self.attach_ms == 0;
        if !attached {
            self.wakes.push(Wake { node, after_ms: self.attach_ms });
        }
        let state = Node { subnet: spec.node_subnet, node_ip, block_start, attached, running: 0, waiting: 0 };
        self.nodes.insert(node, state);
        Ok(())
    }

    fn delete_node(&mut self, node: NodeId, space: &mut AddressSpace) {
        let Node { subnet, node_ip, block_start, running, .. } = self.nodes.remove(node);
        space[subnet].unbind(u64::from(running));
        return_node_ip(subnet, node_ip, space);
        if self.release_ms == 0 {
            space[subnet].give_back_aligned(block_start, self.block_size);
        } else {
            self.retained.insert(node, (subnet, block_start));
            self.wakes.push(Wake { node, after_ms: self.release_ms });
        }
    }

    fn accepts_pods(&self, _node: NodeId) -> bool {
        true
    }

    fn may_refuse_pods(&self) -> bool {
        false
    }

    fn held_in(&self, node: NodeId, range: RangeId) -> u64 {
        let state = self.nodes.get(node);
        if state.subnet == range { 1 + u64::from(self.block_size) } else { 0 }
    }

    fn retained(&self, range: RangeId) -> u64 {
        self.retained.values().filter(|(subnet, _)| *subnet == range).count() as u64 * u64::from(self.block_size)
    }

    fn timed(&self) -> bool {
        self.attach_ms > 0 || self.release_ms > 0
    }

    fn take_wakes(&mut self, into: &mut Vec<Wake>) {
        into.append(&mut self.wakes);
    }

    fn wake(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        if let Some((subnet, start)) = self.retained.remove(&node) {
            space[subnet].give_back_aligned(start, self.block_size);
            return Update::default();
        }
        self.nodes.get_mut(node).attached = true;
        self.start_waiting(node, space)
    }

    fn reconcile(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        self.start_waiting(node, space)
    }

    fn pod_bound(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        self.nodes.get_mut(node).waiting += 1;
        self.start_waiting(node, space)
    }

    fn pod_unbound(&mut self, node: NodeId, had_ip: bool, space: &mut AddressSpace) -> Update {
        let state = self.nodes.get_mut(node);
        if had_ip {
            state.running -= 1;
            space[state.subnet].unbind(1);
        } else {
            state.waiting -= 1;
        }
        Update::default()
    }
}

/// A /24 of nodes: 3 nodes, 20 pods, scaled to 0 at 10 minutes.
fn yaml(settings: &str) -> String {
    format!(
        "name: prefixes
duration: 1h
sample_every: 1m
timing: {{node_drain: 1m}}
network:
  address_space: [10.1.0.0/16]
  subnets:
    nodes: 10.1.0.0/24
clusters:
  - name: c
    prefixes: {settings}
    node_pools:
      - {{name: p, count: 3, vnet_subnet: nodes, max_pods: 30}}
workloads:
  - {{name: web, cluster: c, kind: deployment, replicas: 20}}
events:
  - {{at: 10m, scale_pool: {{cluster: c, pool: p, count: 0}}}}
"
    )
}

fn replay(settings: &str) -> cluster::Replay {
    replay_text(&yaml(settings))
}

fn replay_text(text: &str) -> cluster::Replay {
    let overrides = Overrides { allocator: Some(&PREFIXES), seed: None };
    let scenario = parse_str(text, "prefixes.yaml", &overrides).unwrap().scenario;
    let options = cluster::Options { check_invariants: true, ..cluster::Options::default() };
    cluster::replay_with(&scenario, options, &mut |_| {}).unwrap()
}

/// `(usable, allocated, in_use)` of the node subnet at `time_s`.
fn subnet_at(replay: &cluster::Replay, time_s: u64) -> (u64, u64, u64) {
    let s = replay.utilization.iter().find(|s| s.time_s == time_s && s.range == 0).unwrap();
    (s.usable, s.allocated, s.in_use)
}

fn waiting_at(replay: &cluster::Replay, time_s: u64) -> u64 {
    replay.cluster.iter().filter(|s| s.time_s == time_s).map(|s| s.pods_waiting_ip).sum()
}

#[test]
fn a_26_block_beside_single_addresses_under_gcp_reservations() {
    let two = replay_text(&yaml("{block: 26}").replace("count: 3", "count: 2"));
    // GCP keeps 4 addresses of a subnet (network, gateway, two at the end).
    assert_eq!(subnet_at(&two, 0).0, 256 - 4);
    // Node IPs .2 and .3 break the first /26 and the reserved .254–.255 the
    // last: the two nodes get .64/26 and .128/26.
    assert_eq!(subnet_at(&two, 0).1, 2 * (1 + 64), "two nodes, each its IP and a /26");
    assert_eq!(subnet_at(&two, 0).2, 2 + 20, "no attach delay: every pod runs at once");
    assert!(two.events.iter().all(|e| e.time_s >= 600), "only the scale to 0 leaves pods unplaced: {:?}", two.events);
    // A third finds no whole /26 although 122 addresses are free, and the
    // scale-up fails as a whole.
    let three = replay("{block: 26}");
    let first = &three.events[0];
    assert_eq!(first.kind, cluster::EventKind::Allocation(PREFIX_EXHAUSTED));
    assert!(first.detail.contains("wanted 64, available 122"), "{}", first.detail);
    assert_eq!(subnet_at(&three, 0).1, 0);
}

#[test]
fn an_attach_delay_holds_pods_until_the_timer_fires() {
    let r = replay("{block: 28, attach_delay_s: 90}");
    // Three /28s fit; the pods are bound at time zero but wait for the blocks.
    assert_eq!(subnet_at(&r, 0), (252, 3 * 17, 3));
    assert_eq!(waiting_at(&r, 0), 20);
    assert_eq!(waiting_at(&r, 60), 20, "60 s: still attaching");
    assert_eq!(waiting_at(&r, 120), 0, "attached at 90 s");
    assert_eq!(subnet_at(&r, 120), (252, 3 * 17, 3 + 20));
}

#[test]
fn a_deleted_node_keeps_its_block_until_released() {
    let r = replay("{block: 28, release_delay_s: 300}");
    // Scaled to 0 at 10 min, drained for 1 min: node IPs return at 11 min, the
    // blocks are retained for 5 more minutes (the invariant check counts them).
    assert_eq!(subnet_at(&r, 12 * 60), (252, 3 * 16, 0));
    assert_eq!(subnet_at(&r, 15 * 60).1, 3 * 16);
    assert_eq!(subnet_at(&r, 17 * 60).1, 0, "released at 16 min");
    // Without the delay they return with the node.
    let prompt = replay("{block: 28}");
    assert_eq!(subnet_at(&prompt, 12 * 60).1, 0);
}

#[test]
fn settings_are_checked_against_the_modes_keys() {
    let overrides = Overrides { allocator: Some(&PREFIXES), seed: None };
    let e = parse_str(&yaml("{blok: 26}"), "prefixes.yaml", &overrides).unwrap_err().to_string();
    assert!(e.contains("clusters[0].prefixes.blok"), "{e}");
    assert!(e.contains("unknown setting `blok` for the test-prefixes allocator"), "{e}");
    assert!(e.contains("block, attach_delay_s, release_delay_s"), "{e}");
    let e = parse_str(&yaml("{block: 31}"), "prefixes.yaml", &overrides).unwrap_err().to_string();
    assert!(e.contains("clusters[0].prefixes.block") && e.contains("from 24 to 30"), "{e}");
    // The mode's block is no key at all when the mode is neither registered
    // nor the one being parsed for: an unknown key, with its position and the
    // keys a cluster may hold.
    let dynamic = Overrides { allocator: Some(modes::named("dynamic")), seed: None };
    let text = yaml("{block: 26}")
        .replace("max_pods: 30}", "max_pods: 30, pod_subnet: pods}")
        .replace("    nodes: 10.1.0.0/24\n", "    nodes: 10.1.0.0/24\n    pods: 10.1.1.0/24\n");
    let e = parse_str(&text, "prefixes.yaml", &dynamic).unwrap_err().to_string();
    assert!(e.contains("clusters[0]: unknown key `prefixes`; valid keys here: `name`"), "{e}");
    assert!(e.contains("`dynamic`") && e.contains("at line 12 column 5"), "{e}");
    // Another mode's block is ignored with a warning (one file, many modes).
    let text = text.replace("    prefixes: {block: 26}\n", "    prefixes: {block: 26}\n    dynamic: {}\n");
    let loaded = parse_str(&text, "prefixes.yaml", &overrides).unwrap();
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].to_string().contains("`dynamic` settings are ignored by the test-prefixes allocator"));
}
