//! `dynamic`: Azure CNI with a pod subnet and dynamic IP allocation
//! (`/work/shared/spec/model.md`, section `dynamic`).
//!
//! A node takes its own IP from the node subnet at creation, and nothing else.
//! Its pod-subnet addresses come in requests sized by the CNS pool monitor (v2,
//! batch [`BATCH_SIZE`] = 16): the node holds 1 primary address (its network
//! container, counted as in use) plus [`target_for`]`(demand, max_pods)` pod
//! addresses, where demand is the pods bound to it that need an IP. Growth is
//! all or nothing: if the pod subnet cannot supply the whole increase (the first
//! request is primary + 16 = 17), nothing is taken, the node is *short* and
//! pods beyond its pool wait for an IP. A node that never got its first request
//! takes no pods. When the target falls, the surplus goes back to the subnet at
//! once; a pod's IP otherwise returns to its node's pool, not to the subnet.
//!
//! The model makes the first request by calling `reconcile` right after
//! `create_node`, and retries short nodes (`reconcile`, creation order) whenever
//! their subnet gets addresses back; a short node also retries whenever its own
//! demand changes (`pod_bound`, `pod_unbound`).
//!
//! With `clusters[].dynamic.scarcity` set, the allocator also follows each of
//! its pod subnets' exhaustion mark ([`scarcity`]): while a subnet is marked,
//! its nodes' targets are demand + 1 (CNS v2's batch 1, buffer 1). The mark is
//! re-evaluated whenever one of the cluster's nodes changes what it holds; when
//! it flips, every node of the cluster on that subnet is woken at once to
//! settle to its new target (the model's `Wake`).

pub mod scarcity;

use scarcity::Scarcity;

use allocator::{
    AddressSpace, Allocator, Build, Failure, FailureKind, Finding, Granularity, InUse, MaxPods, Mode, NodeId, NodeSpec,
    NodeTable, RangeId, Request, Role, SettingSpec, Settings, Update, Wake, return_node_ip, take_node_ip,
};

/// Addresses per pool-monitor batch.
pub const BATCH_SIZE: u32 = 16;

/// The pod subnet cannot supply a node's whole increase.
pub const POD_IP_EXHAUSTED: FailureKind = FailureKind::sized("pod-ip-exhausted");

/// The mode, for the registry.
pub static MODE: Mode = Mode {
    cloud_name: "Azure CNI Pod Subnet - Dynamic IP Allocation",
    summary: "pod IPs from a pod subnet in batches of 16, refilled when fewer than 8 are free",
    max_pods: MaxPods { default: 250, min: 10, max: 250 },
    pod_subnet: Some(Granularity::ADDRESS),
    failures: &[POD_IP_EXHAUSTED],
    // Running pods' IPs and the node's primary, in use once its first request
    // is granted: always when it runs pods.
    in_use: |running| InUse { range: Role::PodSubnet, min: running + u64::from(running > 0), max: running + 1 },
    holding,
    settings_key: Some("dynamic"),
    settings: &[SettingSpec {
        key: scarcity::KEY,
        default: "off",
        help: "subnet scarcity: {upper: \"95%\", lower: \"90%\"}; above upper every node's target is demand + 1 until below lower",
    }],
    check_settings,
    ..Mode::base("dynamic", build)
};

fn check_settings(settings: &Settings) -> Vec<Finding> {
    Scarcity::from_settings(settings).err().into_iter().collect()
}

fn build(build: &Build<'_>) -> Box<dyn Allocator> {
    let scarcity = Scarcity::from_settings(build.settings).expect("checked by check_settings");
    Box::new(Dynamic { scarcity, ..Dynamic::default() })
}

/// A node's holding in its pod subnet: its primary and its batches of 16, or
/// fewer when max_pods caps the last batch. A single address is its node IP.
fn holding(each: u64) -> Option<String> {
    let pods = each.checked_sub(1).filter(|&pods| pods > 0)?;
    let batch = u64::from(BATCH_SIZE);
    Some(if pods.is_multiple_of(batch) {
        let batches = pods / batch;
        format!("1 primary + {batches} batch{} of {BATCH_SIZE}", if batches == 1 { "" } else { "es" })
    } else {
        format!("1 primary + {pods}, capped at max_pods")
    })
}

/// The most pods a node may have under any mode, and so the largest target.
pub const MAX_TARGET: u32 = 250;

/// The pod addresses (primary excluded) a node with `demand` IP-needing pods
/// requests: `min(16 × ceil(0.5 + demand / 16), min(max_pods, 250))`.
///
/// So a pool grows by a batch when fewer than 8 addresses would be free and
/// shrinks by one when 24 or more are free; the cap is not rounded to a batch.
pub fn target_for(demand: u32, max_pods: u32) -> u32 {
    // ceil(0.5 + d/16) = ceil((d + 8) / 16) = floor((d + 23) / 16)
    let batches = demand.saturating_add(BATCH_SIZE / 2 + BATCH_SIZE - 1) / BATCH_SIZE;
    (BATCH_SIZE * batches).min(max_pods.min(MAX_TARGET))
}

/// The target while the node's pod subnet is marked exhausted: CNS v2 with
/// batch 1 and buffer 1, `1 × ceil(1 + demand / 1)` = demand + 1, capped alike.
pub fn scarce_target_for(demand: u32, max_pods: u32) -> u32 {
    demand.saturating_add(1).min(max_pods.min(MAX_TARGET))
}

/// The dynamic allocator for the nodes of one cluster.
#[derive(Debug, Default)]
pub struct Dynamic {
    nodes: NodeTable<NodeState>,
    /// Subnet scarcity, when the scenario turns it on.
    scarcity: Option<Scarcity>,
    /// Each pod subnet the cluster's nodes use and its mark (scarcity only; a
    /// handful of entries).
    marks: Vec<Mark>,
    /// The simulated time (scarcity only: the mode is timed then).
    now_ms: u64,
    /// Nodes to settle after a mark flipped, for `take_wakes`.
    wakes: Vec<Wake>,
}

/// One pod subnet's exhaustion mark, as this cluster follows it.
#[derive(Debug, Clone, Copy)]
struct Mark {
    subnet: RangeId,
    exhausted: bool,
    /// When it last changed.
    changed_ms: Option<u64>,
    /// A wake is due to look again (the mark wanted to change too soon).
    recheck: bool,
}

#[derive(Debug)]
struct NodeState {
    node_subnet: RangeId,
    node_ip: u32,
    pod_subnet: RangeId,
    max_pods: u32,
    /// Pod-subnet units held: the primary first, then the pod addresses. Empty
    /// until the first request succeeds. Capacity 1 + 250, allocated once.
    held: Vec<u32>,
    /// Pods bound to the node that need an IP, started or waiting.
    demand: u32,
    /// Pods holding one of `held`'s pod addresses.
    started: u32,
    /// Whether its pod subnet was marked exhausted when it last settled.
    scarce: bool,
}

impl NodeState {
    /// Units the node wants in all: its primary plus its target.
    fn wanted(&self) -> u32 {
        1 + if self.scarce {
            scarce_target_for(self.demand, self.max_pods)
        } else {
            target_for(self.demand, self.max_pods)
        }
    }

    fn held(&self) -> u32 {
        self.held.len() as u32
    }

    /// Pod addresses held (the primary excluded).
    fn pod_addresses(&self) -> u32 {
        self.held().saturating_sub(1)
    }

    /// Ask the pod subnet for the whole shortfall to `wanted`, all or nothing.
    fn grow(&mut self, wanted: u32, space: &mut AddressSpace) -> Request {
        let want = wanted - self.held();
        let first = self.held.is_empty();
        let subnet = &mut space[self.pod_subnet];
        let available = subnet.free();
        if !subnet.take_many(want, &mut self.held) {
            let range = Some(self.pod_subnet);
            return Request::Failed(Failure { kind: POD_IP_EXHAUSTED, range, wanted: want.into(), available });
        }
        if first {
            subnet.bind(1); // its primary is now in use
        }
        Request::Granted
    }

    /// Return the surplus over `wanted` to the pod subnet. The surplus is free
    /// in the node's pool, since target ≥ demand ≥ started.
    fn shrink(&mut self, wanted: u32, space: &mut AddressSpace) {
        let subnet = &mut space[self.pod_subnet];
        let keep = wanted as usize;
        subnet.give_back_many(&self.held[keep..]);
        self.held.truncate(keep);
    }

    /// Grow or shrink to the target, then start waiting pods on free addresses.
    #[inline(always)]
    fn settle(&mut self, space: &mut AddressSpace) -> Update {
        let held = self.held();
        let wanted = self.wanted();
        let request = if held < wanted {
            self.grow(wanted, space)
        } else {
            if held > wanted {
                self.shrink(wanted, space);
            }
            Request::None
        };
        let waiting = self.demand - self.started;
        let started = waiting.min(self.pod_addresses() - self.started);
        self.started += started;
        space[self.pod_subnet].bind(started.into());
        Update { started, request, short: self.held() < wanted }
    }
}

impl Dynamic {
    pub fn new() -> Self {
        Self::default()
    }

    /// With scarcity: whether `subnet` is marked exhausted.
    fn marked(&self, subnet: RangeId) -> bool {
        self.marks.iter().any(|m| m.subnet == subnet && m.exhausted)
    }

    /// Settle a node under its subnet's current mark, then look at the subnet.
    #[inline(always)]
    fn settle(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        // Every pod bound or unbound settles its node: without scarcity, in line.
        if self.scarcity.is_none() {
            return self.nodes.get_mut(node).settle(space);
        }
        self.settle_scarce(node, space)
    }

    #[inline(never)]
    fn settle_scarce(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        let subnet = self.nodes.get(node).pod_subnet;
        let scarce = self.marked(subnet);
        let state = self.nodes.get_mut(node);
        state.scarce = scarce;
        let update = state.settle(space);
        self.observe(subnet, space);
        update
    }

    /// Re-evaluate `subnet`'s mark (scarcity only). When it flips, every node of
    /// the cluster on the subnet is woken at once, in creation order, to settle
    /// to its new target; a flip due sooner than `interval` after the last one
    /// waits for a wake at that time, which looks again.
    fn observe(&mut self, subnet: RangeId, space: &AddressSpace) {
        let Some(scarcity) = self.scarcity else { return };
        let i = match self.marks.iter().position(|m| m.subnet == subnet) {
            Some(i) => i,
            None => {
                self.marks.push(Mark { subnet, exhausted: false, changed_ms: None, recheck: false });
                self.marks.len() - 1
            }
        };
        let range = &space[subnet];
        let mark = self.marks[i];
        if scarcity.exhausted(mark.exhausted, range.allocated(), range.usable()) == mark.exhausted {
            return;
        }
        let nodes = &self.nodes;
        let on_subnet = || nodes.iter().filter(|(_, s)| s.pod_subnet == subnet).map(|(node, _)| node);
        let allowed_ms = mark.changed_ms.map_or(0, |t| t + scarcity.interval_ms);
        if self.now_ms < allowed_ms {
            if !mark.recheck
                && let Some(node) = on_subnet().next()
            {
                self.marks[i].recheck = true;
                self.wakes.push(Wake { node, after_ms: allowed_ms - self.now_ms });
            }
            return;
        }
        self.wakes.extend(on_subnet().map(|node| Wake { node, after_ms: 0 }));
        self.marks[i] =
            Mark { subnet, exhausted: !mark.exhausted, changed_ms: Some(self.now_ms), recheck: mark.recheck };
    }
}

impl Allocator for Dynamic {
    fn name(&self) -> &'static str {
        MODE.name
    }

    fn create_node(&mut self, node: NodeId, spec: &NodeSpec, space: &mut AddressSpace) -> Result<(), Failure> {
        let pod_subnet = spec.pod_subnet.expect("a dynamic pool has a pod subnet");
        let node_ip = take_node_ip(spec, space)?;
        let state = NodeState {
            node_subnet: spec.node_subnet,
            node_ip,
            pod_subnet,
            max_pods: spec.max_pods,
            held: Vec::with_capacity(1 + MAX_TARGET as usize),
            demand: 0,
            started: 0,
            scarce: false,
        };
        self.nodes.insert(node, state);
        Ok(())
    }

    fn delete_node(&mut self, node: NodeId, space: &mut AddressSpace) {
        let state = self.nodes.remove(node);
        let subnet = &mut space[state.pod_subnet];
        if !state.held.is_empty() {
            subnet.unbind(u64::from(state.started) + 1); // its pods and its primary
        }
        subnet.give_back_many(&state.held);
        return_node_ip(state.node_subnet, state.node_ip, space);
        self.observe(state.pod_subnet, space);
    }

    fn held_in(&self, node: NodeId, range: RangeId) -> u64 {
        let state = self.nodes.get(node);
        u64::from(state.node_subnet == range) + if state.pod_subnet == range { u64::from(state.held()) } else { 0 }
    }

    fn accepts_pods(&self, node: NodeId) -> bool {
        !self.nodes.get(node).held.is_empty()
    }

    fn timed(&self) -> bool {
        self.scarcity.is_some()
    }

    fn set_now(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    fn take_wakes(&mut self, into: &mut Vec<Wake>) {
        into.append(&mut self.wakes);
    }

    /// A mark flipped (the node settles to its new target), or a mark wanted to
    /// flip too soon (every subnet is looked at again).
    fn wake(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        for i in 0..self.marks.len() {
            if std::mem::take(&mut self.marks[i].recheck) {
                self.observe(self.marks[i].subnet, space);
            }
        }
        if !self.nodes.contains(node) {
            return Update::default();
        }
        self.settle(node, space)
    }

    fn reconcile(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        self.settle(node, space)
    }

    fn pod_bound(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        self.nodes.get_mut(node).demand += 1;
        self.settle(node, space)
    }

    fn pod_unbound(&mut self, node: NodeId, had_ip: bool, space: &mut AddressSpace) -> Update {
        let state = self.nodes.get_mut(node);
        state.demand -= 1;
        if had_ip {
            state.started -= 1;
            space[state.pod_subnet].unbind(1);
        }
        self.settle(node, space)
    }
}

#[cfg(test)]
mod tests;
