//! The cluster model: builds the address space and allocators from a scenario,
//! then replays it event by event. Everything that changes state goes through
//! the handlers here; `settle` runs after each one so retries happen in the
//! order model.md gives.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use allocator::{NodeId, NodeSpec, Request, Role, Update, Wake};
use engine::{SimTime, Simulation, Streams};
use net::{AddressRange, AddressSpace, Granularity, RangeId};
use rand::RngExt;
use scenario::{Action, NodePool, Scenario, Scheduler};

use crate::ReplayError;
use crate::exp1::standard_exponential;
use crate::load::{Keep, LoadIndex};
use crate::record::{
    Breakdown, BreakdownAt, EventKind, EventRecord, Holders, PoolInfo, PoolSample, RangeInfo, RangeSample, Replay,
    Tracker,
};
use crate::state::*;

/// The autoscaler's scan interval and its 10-minute windows (model.md).
const AUTOSCALER_SCAN: SimTime = SimTime::from_secs(10);
const AUTOSCALER_WINDOW: SimTime = SimTime::from_secs(600);

/// Everything that can happen, as a small `Copy` value.
#[derive(Debug, Clone, Copy)]
enum Event {
    /// The scenario's `events[i]`.
    Timeline(u32),
    ChurnArrival(u32),
    /// A churn pod's lifetime is over, if its generation is still this one; it
    /// runs on the node given (a hint for prefetching, see `handle`).
    PodEnd(PodId, u32, NodeId),
    NodeReady(NodeId),
    /// A cordoned node's drain finished: delete it.
    NodeDrained(NodeId),
    /// An upgrade's batch finished draining: reimage it.
    UpgradeDrained(u32),
    /// An upgrade's surge nodes are up or its batch is reimaged: next step.
    UpgradeStep(u32),
    AutoscalerScan(u32),
    /// A timed mode asked to be woken for this node (`Allocator::take_wakes`).
    Wake(NodeId),
}

pub(crate) struct World<'s> {
    scenario: &'s Scenario,
    sim: Simulation<Event>,
    space: AddressSpace,
    clusters: Vec<ClusterState>,
    pools: Vec<PoolState>,
    nodes: Vec<Node>,
    pods: Vec<Pod>,
    /// Each bound pod's index in its node's `pods`, by pod id: kept apart from
    /// the records because a pod end rewrites the entry of the pod that moves
    /// into its slot, and the entries of churn pods (the ones that come and go)
    /// then stay together in cache. A byte: max_pods is at most 250.
    pod_slots: Vec<u8>,
    free_pods: Vec<u32>,
    workloads: Vec<WorkloadState>,
    /// Per range: nodes whose allocator wants addresses it could not get.
    short: Vec<ShortNodes>,
    /// Nodes in any of `short`'s sets.
    short_nodes: usize,
    rollouts_due: Vec<usize>,
    workloads_started: bool,
    pods_created: u64,
    events: Vec<EventRecord>,
    tracker: Tracker,
    provision: SimTime,
    drain: SimTime,
    reimage: SimTime,
    scratch_nodes: Vec<NodeId>,
    scratch_pods: Vec<PodId>,
    /// Sequence of unschedulable queue entries (shared by all queues, so FIFO
    /// holds across them).
    queued: u64,
    scratch_pools: Vec<usize>,
    /// Clusters whose mode acts on its own clock (`Allocator::timed`): usually none.
    timed: Vec<usize>,
    scratch_wakes: Vec<Wake>,
}

impl std::fmt::Debug for World<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").field("now", &self.sim.now()).finish_non_exhaustive()
    }
}

/// The allocator column: one name, or the clusters' names joined by `+`.
pub(crate) fn allocator_label(scenario: &Scenario) -> String {
    let mut names: Vec<&str> = Vec::new();
    for cluster in &scenario.clusters {
        if !names.contains(&cluster.allocator.name) {
            names.push(cluster.allocator.name);
        }
    }
    names.join("+")
}

/// `World::pod_slots` holds a node's pod indices in bytes.
const _: () = assert!(*scenario::MAX_PODS_RANGE.end() <= u8::MAX as u64 + 1);

impl<'s> World<'s> {
    pub fn new(scenario: &'s Scenario, unconstrained: bool) -> Result<Self, ReplayError> {
        let added = scenario.events.iter().filter_map(|e| match &e.action {
            Action::AddPool { pool, .. } => Some(pool),
            _ => None,
        });
        for pool in scenario.clusters.iter().flat_map(|c| c.node_pools.iter()).chain(added) {
            let limit = *scenario::MAX_PODS_RANGE.end();
            if u64::from(pool.max_pods) > limit {
                return Err(ReplayError::MaxPods { pool: pool.name.clone(), max_pods: pool.max_pods, limit });
            }
        }
        // A pod subnet hands out its mode's unit (addresses, /28 blocks); every
        // other subnet single addresses. A subnet reserves what the cloud of the
        // first mode using it reserves (validation keeps one mode per pod subnet).
        let mut units: BTreeMap<&str, Granularity> = BTreeMap::new();
        let mut rules: BTreeMap<&str, net::SubnetRules> = BTreeMap::new();
        let added = scenario.events.iter().filter_map(|e| match &e.action {
            Action::AddPool { cluster, pool } => Some((cluster.as_str(), pool)),
            _ => None,
        });
        let pools = scenario.clusters.iter().flat_map(|c| c.node_pools.iter().map(move |p| (c.name.as_str(), p)));
        for (cluster, pool) in pools.chain(added) {
            let Some(mode) = scenario.clusters.iter().find(|c| c.name == cluster).map(|c| c.allocator) else {
                continue;
            };
            rules.entry(pool.vnet_subnet.as_str()).or_insert(mode.subnet_rules);
            if let (Some(subnet), Some(unit)) = (pool.pod_subnet.as_deref(), mode.pod_subnet) {
                units.entry(subnet).or_insert(unit);
                rules.entry(subnet).or_insert(mode.subnet_rules);
            }
        }
        let mut space = AddressSpace::new();
        for subnet in &scenario.network.subnets {
            let granularity = units.get(subnet.name.as_str()).copied().unwrap_or(Granularity::ADDRESS);
            let cloud = rules.get(subnet.name.as_str()).copied().unwrap_or(net::SubnetRules::AZURE);
            let range = AddressRange::subnet(&subnet.name, subnet.prefix, granularity, cloud)
                .map_err(|source| ReplayError::Range { name: subnet.name.clone(), source })?;
            space.add(if unconstrained { range.unconstrained() } else { range });
        }
        let streams = Streams::new(scenario.seed);
        let mut clusters = Vec::new();
        let mut timed = Vec::new();
        for cluster in &scenario.clusters {
            let pod_cidr = if let Some(unit) = cluster.allocator.pod_cidr {
                let name = format!("{}/pod-cidr", cluster.name);
                let range = AddressRange::pod_cidr(&name, cluster.pod_cidr, unit)
                    .map_err(|source| ReplayError::Range { name: name.clone(), source })?;
                Some(space.add(if unconstrained { range.unconstrained() } else { range }))
            } else {
                None
            };
            let allocator = (cluster.allocator.build)(&allocator::Build { pod_cidr, settings: &cluster.settings });
            if allocator.timed() {
                timed.push(clusters.len());
            }
            clusters.push(ClusterState {
                name: cluster.name.clone(),
                may_refuse_pods: allocator.may_refuse_pods(),
                allocator,
                scheduler: cluster.scheduler,
                scheduler_rng: streams.stream(&format!("scheduler/{}", cluster.name)),
                pools: Vec::new(),
                unschedulable: VecDeque::new(),
                unschedulable_any: 0,
                unschedulable_total: 0,
                first_pool: usize::MAX,
                autoscaled: false,
            });
        }
        let tracker = Tracker::new(&space);
        let short = (0..space.len()).map(|_| ShortNodes::default()).collect();
        let timing = scenario.timing;
        let mut world = World {
            scenario,
            sim: Simulation::new(),
            space,
            clusters,
            pools: Vec::new(),
            nodes: Vec::new(),
            pods: Vec::new(),
            pod_slots: Vec::new(),
            free_pods: Vec::new(),
            workloads: Vec::new(),
            short,
            short_nodes: 0,
            rollouts_due: Vec::new(),
            workloads_started: false,
            pods_created: 0,
            events: Vec::new(),
            tracker,
            provision: SimTime::from_secs(timing.node_provision),
            drain: SimTime::from_secs(timing.node_drain),
            reimage: SimTime::from_secs(timing.node_reimage),
            scratch_nodes: Vec::new(),
            scratch_pods: Vec::new(),
            timed,
            scratch_wakes: Vec::new(),
            queued: 0,
            scratch_pools: Vec::new(),
        };
        for workload in &scenario.workloads {
            let cluster = world.cluster_index(&workload.cluster);
            let kind = match &workload.kind {
                scenario::WorkloadKind::Deployment { replicas } => {
                    WorkloadKind::Deployment { replicas: *replicas, revision: 0, rolling: false }
                }
                scenario::WorkloadKind::DaemonSet { host_network } => {
                    WorkloadKind::DaemonSet { host_network: *host_network }
                }
                scenario::WorkloadKind::Churn { arrivals_per_hour, lifetime, start, end } => {
                    WorkloadKind::Churn(Box::new(Churn {
                        rate_per_ms: arrivals_per_hour / 3_600_000.0,
                        lifetime: *lifetime,
                        start: SimTime::from_secs(*start),
                        end: SimTime::from_secs(end.unwrap_or(scenario.duration).min(scenario.duration)),
                        rng: streams.stream(&format!("churn/{}", workload.name)),
                        ahead: ChurnDraws::default(),
                    }))
                }
            };
            world.workloads.push(WorkloadState {
                name: workload.name.clone(),
                cluster,
                pool: None,
                kind,
                pods: Vec::new(),
                pods_named: 0,
            });
        }
        Ok(world)
    }

    fn cluster_index(&self, name: &str) -> usize {
        self.clusters.iter().position(|c| c.name == name).expect("validated cluster name")
    }

    fn pool_index(&self, cluster: &str, pool: &str) -> Option<usize> {
        let cluster = self.cluster_index(cluster);
        self.clusters[cluster].pools.iter().copied().find(|&p| self.pools[p].spec.name == pool)
    }

    fn now(&self) -> SimTime {
        self.sim.now()
    }

    // ----- the run -------------------------------------------------------------

    pub fn run(
        mut self,
        options: &crate::Options,
        progress: &mut dyn FnMut(crate::Progress),
    ) -> Result<Replay, ReplayError> {
        let check_invariants = options.check_invariants;
        let scenario = self.scenario;
        let end = SimTime::from_secs(scenario.duration);
        // Snapshots asked for, taken in event order (`BreakdownAt::event`).
        let mut wanted: Vec<(usize, BreakdownAt)> = options.breakdowns.iter().copied().enumerate().collect();
        wanted.sort_by_key(|&(i, at)| (at.event, i));
        let mut wanted = wanted.into_iter().peekable();
        let mut breakdowns: Vec<Option<Breakdown>> = vec![None; options.breakdowns.len()];
        self.time_zero();
        self.schedule_wakes();
        for (i, event) in scenario.events.iter().enumerate() {
            self.sim.schedule(SimTime::from_secs(event.at), Event::Timeline(i as u32));
        }
        self.tracker.observe(SimTime::ZERO, 0, &self.space);
        while let Some((i, at)) = wanted.next_if(|(_, at)| at.event == 0) {
            breakdowns[i] = Some(self.breakdown(at, None));
        }
        if check_invariants {
            self.check_invariants().map_err(|message| ReplayError::Invariant {
                time_s: 0,
                event: "time zero".into(),
                message,
            })?;
        }

        let mut utilization = Vec::new();
        let mut cluster_rows = Vec::new();
        let step = scenario.sample_every.max(1);
        let mut sample_at = 0u64;
        loop {
            let t = SimTime::from_secs(sample_at);
            while let Some((_, event)) = self.sim.pop_until(t) {
                self.prefetch_next();
                self.clock();
                self.handle(event);
                self.settle();
                self.schedule_wakes();
                let processed = self.sim.processed();
                self.tracker.observe(self.sim.now(), processed, &self.space);
                while let Some((i, at)) = wanted.next_if(|(_, at)| at.event == processed) {
                    breakdowns[i] = Some(self.breakdown(at, Some(event)));
                }
                if check_invariants {
                    self.check_invariants().map_err(|message| ReplayError::Invariant {
                        time_s: self.now().as_secs(),
                        event: format!("{event:?}"),
                        message,
                    })?;
                }
            }
            if !options.summary_only {
                self.sample(sample_at, &mut utilization, &mut cluster_rows);
            }
            progress(crate::Progress {
                simulated_s: sample_at,
                duration_s: scenario.duration,
                events: self.sim.processed(),
            });
            if sample_at >= scenario.duration {
                break;
            }
            sample_at = sample_at.saturating_add(step).min(scenario.duration);
        }
        self.sim.advance_to(end);
        let summary = self.tracker.finish(end, &self.space, &self.events);
        Ok(Replay {
            scenario_name: scenario.name.clone(),
            allocator: allocator_label(scenario),
            ranges: self
                .space
                .iter()
                .map(|(_, r)| RangeInfo {
                    name: r.name().to_string(),
                    prefix: r.prefix(),
                    is_vnet_subnet: r.kind() == net::RangeKind::VnetSubnet,
                })
                .collect(),
            pools: self
                .pools
                .iter()
                .map(|p| PoolInfo { cluster: self.clusters[p.cluster].name.clone(), pool: p.spec.name.clone() })
                .collect(),
            utilization,
            cluster: cluster_rows,
            events: self.events,
            summary,
            events_processed: self.sim.processed(),
            duration_s: scenario.duration,
            // A snapshot asked for after the last event has none taken.
            breakdowns: breakdowns.into_iter().flatten().collect(),
        })
    }

    /// Who holds range `at.range` now, and what the scenario is doing
    /// (`podip plan`'s explanation of a peak). O(nodes): taken once per range.
    fn breakdown(&self, at: BreakdownAt, event: Option<Event>) -> Breakdown {
        let range = RangeId(at.range);
        // (pool, each) → nodes; BTreeMap for a fixed order.
        let mut groups: BTreeMap<(usize, std::cmp::Reverse<u64>), u32> = BTreeMap::new();
        for (index, node) in self.nodes.iter().enumerate() {
            if node.phase == Phase::Deleted {
                continue;
            }
            let cluster = self.pools[node.pool()].cluster;
            let each = self.clusters[cluster].allocator.held_in(NodeId(index as u32), range);
            if each > 0 {
                *groups.entry((node.pool(), std::cmp::Reverse(each))).or_default() += 1;
            }
        }
        let holders = groups
            .into_iter()
            .map(|((pool, std::cmp::Reverse(each)), nodes)| Holders { pool: pool as u32, nodes, each })
            .collect();
        let mut doing = vec![self.describe(event)];
        for pool in &self.pools {
            if let Some(upgrade) = &pool.upgrade {
                doing.push(format!(
                    "upgrade of {}/{} under way (surge {})",
                    self.clusters[pool.cluster].name, pool.spec.name, upgrade.surge
                ));
            }
        }
        Breakdown { at, time_s: self.now().as_secs(), allocated: self.space[range].allocated(), holders, doing }
    }

    /// The event just handled, in a planner's words.
    fn describe(&self, event: Option<Event>) -> String {
        let pool_name = |p: usize| format!("{}/{}", self.clusters[self.pools[p].cluster].name, self.pools[p].spec.name);
        let Some(event) = event else {
            return "time zero: the pools' first nodes and the workloads' first pods".into();
        };
        match event {
            Event::Timeline(i) => match &self.scenario.events[i as usize].action {
                Action::ScalePool { cluster, pool, count } => format!("scale_pool {cluster}/{pool} to {count} nodes"),
                Action::UpgradePool { cluster, pool } => format!("upgrade_pool {cluster}/{pool}: surge nodes created"),
                Action::AddPool { cluster, pool } => format!("add_pool {cluster}/{} ({} nodes)", pool.name, pool.count),
                Action::RemovePool { cluster, pool } => format!("remove_pool {cluster}/{pool}"),
                Action::ScaleWorkload { name, replicas } => format!("scale_workload {name} to {replicas} replicas"),
                Action::Rollout { name } => format!("rollout of {name}"),
            },
            Event::ChurnArrival(w) => format!("a pod of churn workload {} arrives", self.workloads[w as usize].name),
            Event::PodEnd(pod, ..) => {
                let w = self.pods[pod.0 as usize].workload();
                format!("a pod of {} ends", self.workloads[w].name)
            }
            Event::NodeReady(node) => format!("node {} is ready", self.nodes[node.index()].name),
            Event::NodeDrained(node) => format!("node {} is deleted after its drain", self.nodes[node.index()].name),
            Event::UpgradeDrained(p) => format!("upgrade of {}: a batch is drained", pool_name(p as usize)),
            Event::UpgradeStep(p) => format!("upgrade of {}: next step", pool_name(p as usize)),
            Event::Wake(node) => format!("the allocator's timer for node {}", self.nodes[node.index()].name),
            Event::AutoscalerScan(c) => {
                let now = self.now();
                let scaled: Vec<String> = self.clusters[c as usize]
                    .pools
                    .iter()
                    .filter(|&&p| self.pools[p].last_scale_up == Some(now))
                    .map(|&p| pool_name(p))
                    .collect();
                if scaled.is_empty() {
                    format!("autoscaler scan of {}", self.clusters[c as usize].name)
                } else {
                    format!("autoscaler scale-up of {}", scaled.join(", "))
                }
            }
        }
    }

    /// Whole-state invariants (hardening): address counts, pod accounting and
    /// the scheduler's bookkeeping, recomputed from scratch. O(pods + nodes).
    fn check_invariants(&self) -> Result<(), String> {
        for (id, r) in self.space.iter() {
            let held: u64 = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].phase != Phase::Deleted)
                .map(|i| {
                    self.clusters[self.pools[self.nodes[i].pool()].cluster].allocator.held_in(NodeId(i as u32), id)
                })
                .sum::<u64>()
                + self.clusters.iter().map(|c| c.allocator.retained(id)).sum::<u64>();
            if held != r.allocated() {
                return Err(format!(
                    "{}: its nodes hold {held} addresses (with what deleted ones retain) but {} are allocated",
                    r.name(),
                    r.allocated()
                ));
            }
            if r.allocated() > r.usable() || r.in_use() > r.allocated() || r.free() != r.usable() - r.allocated() {
                return Err(format!(
                    "range {}: usable {} allocated {} in_use {} free {}",
                    r.name(),
                    r.usable(),
                    r.allocated(),
                    r.in_use(),
                    r.free()
                ));
            }
        }
        let mut counts = vec![(0u64, 0u64, 0u64); self.pools.len()];
        let mut live = 0u64;
        for (i, pod) in self.pods.iter().enumerate() {
            let c = match pod.state {
                PodState::Gone => continue,
                _ if pod.counted_pool() >= self.pools.len() => return Err(format!("pod {i} is counted in no pool")),
                _ => &mut counts[pod.counted_pool()],
            };
            live += 1;
            match pod.state {
                PodState::Running => c.0 += 1,
                PodState::WaitingIp => c.1 += 1,
                PodState::Unschedulable => c.2 += 1,
                PodState::Gone => {}
            }
            let bound = matches!(pod.state, PodState::Running | PodState::WaitingIp);
            match pod.node() {
                Some(node) if bound => {
                    let n = &self.nodes[node.index()];
                    if n.pods().get(usize::from(self.pod_slots[i])) != Some(&PodId(i as u32))
                        || n.phase == Phase::Deleted
                    {
                        return Err(format!("pod {i} is not on its node {}", n.name));
                    }
                    if !n.last_pod_is_last() {
                        return Err(format!("node {} remembers another last pod than {:?}", n.name, n.pods().last()));
                    }
                }
                None if !bound => {}
                _ => return Err(format!("pod {i} in state {:?} has node {:?}", pod.state, pod.node())),
            }
        }
        if live != (self.pods.len() - self.free_pods.len()) as u64 {
            return Err(format!("{live} live pods but {} slots in use", self.pods.len() - self.free_pods.len()));
        }
        let mut waiting_total = 0;
        for (i, pool) in self.pools.iter().enumerate() {
            if (pool.running, pool.waiting, pool.unschedulable) != counts[i] {
                return Err(format!(
                    "pool {}: counters (running, waiting, unschedulable) = {:?}, pods say {:?}",
                    pool.spec.name,
                    (pool.running, pool.waiting, pool.unschedulable),
                    counts[i]
                ));
            }
            waiting_total += pool.waiting;
            let mut free_slots = 0;
            for &node in &pool.nodes {
                let n = &self.nodes[node.index()];
                if n.pods().len() as u32 > n.max_pods {
                    return Err(format!("node {} runs {} pods, max_pods {}", n.name, n.pods().len(), n.max_pods));
                }
                let waiting = n.pods().iter().filter(|p| self.pods[p.0 as usize].state == PodState::WaitingIp).count();
                if waiting != n.waiting.len() {
                    return Err(format!(
                        "node {}: {waiting} pods wait for an IP, queue holds {}",
                        n.name,
                        n.waiting.len()
                    ));
                }
                if let Some(key) = n.sched_key {
                    if key != n.pods().len() as u32 || !pool.by_load.contains(key, n.rank) {
                        return Err(format!("node {}: stale scheduling key", n.name));
                    }
                    free_slots += u64::from(n.max_pods - key);
                }
            }
            // The scheduler's choice: the kept end is the best keyed node, recomputed.
            let key_of = |node: NodeId, pods: u32| match pool.by_load.keep() {
                Keep::Emptiest => Some((u64::from(pods) << 32) | u64::from(node.0)),
                Keep::Fullest => Some((u64::from(!pods) << 32) | u64::from(node.0)),
                Keep::Neither => None,
            };
            let expected = pool
                .nodes
                .iter()
                .filter_map(|&node| self.nodes[node.index()].sched_key.and_then(|pods| key_of(node, pods)))
                .min()
                .unwrap_or(u64::MAX);
            if pool.by_load.keep() != Keep::Neither && pool.by_load.best_key() != expected {
                return Err(format!(
                    "pool {}: the scheduler's pick is key {:#x}, the nodes say {expected:#x}",
                    pool.spec.name,
                    pool.by_load.best_key()
                ));
            }
            let listed = self.clusters[pool.cluster].scheduler == Scheduler::Random;
            if free_slots != pool.free_slots || (listed && pool.by_load.len() != pool.schedulable.len()) {
                return Err(format!(
                    "pool {}: free slots {} but nodes say {free_slots}",
                    pool.spec.name, pool.free_slots
                ));
            }
        }
        let short: usize = self.short.iter().map(|s| s.nodes.len()).sum();
        if short != self.short_nodes {
            return Err(format!("{short} nodes are short of addresses, counter says {}", self.short_nodes));
        }
        for (c, cluster) in self.clusters.iter().enumerate() {
            let counted: u64 = self.pools.iter().filter(|p| p.cluster == c).map(|p| p.unschedulable).sum();
            if counted != cluster.unschedulable_total {
                return Err(format!(
                    "cluster {}: {counted} unschedulable pods, counter says {}",
                    cluster.name, cluster.unschedulable_total
                ));
            }
        }
        if waiting_total != self.tracker.waiting_now {
            return Err(format!("{waiting_total} pods wait for an IP, tracker says {}", self.tracker.waiting_now));
        }
        for w in &self.workloads {
            for (slot, pod) in w.pods.iter().enumerate() {
                let p = &self.pods[pod.0 as usize];
                if p.state == PodState::Gone || p.workload_slot as usize != slot {
                    return Err(format!("workload {}: pod list out of date", w.name));
                }
            }
        }
        self.check_pods_accounted()?;
        self.check_bound_addresses()
    }

    /// Every pod a workload wants exists exactly once, in one state (running,
    /// waiting for an IP or unschedulable): a deployment outside a rollout has
    /// exactly `replicas` pods, a rollout never more new pods than `replicas`,
    /// a daemonset at most one bound pod per node.
    fn check_pods_accounted(&self) -> Result<(), String> {
        for w in &self.workloads {
            match w.kind {
                WorkloadKind::Deployment { replicas, revision, rolling } => {
                    let live = w.pods.len() as u64;
                    let new = w.pods.iter().filter(|p| self.pods[p.0 as usize].revision == revision).count() as u64;
                    if (!rolling && live != u64::from(replicas)) || new > u64::from(replicas) {
                        return Err(format!(
                            "deployment {}: {live} pods ({new} of revision {revision}) for {replicas} replicas \
                             (rolling: {rolling})",
                            w.name
                        ));
                    }
                }
                WorkloadKind::DaemonSet { .. } => {
                    let mut nodes: Vec<NodeId> = Vec::with_capacity(w.pods.len());
                    for pod in &w.pods {
                        match self.pods[pod.0 as usize].node() {
                            Some(node) if self.pods[pod.0 as usize].state != PodState::Unschedulable => {
                                nodes.push(node)
                            }
                            _ => return Err(format!("daemonset {}: a pod is not bound to a node", w.name)),
                        }
                    }
                    nodes.sort_unstable();
                    if nodes.windows(2).any(|pair| pair[0] == pair[1]) {
                        return Err(format!("daemonset {}: two pods on one node", w.name));
                    }
                }
                WorkloadKind::Churn(_) => {}
            }
        }
        Ok(())
    }

    /// Every address counted in use belongs to exactly one live node or running
    /// pod (so none is bound twice), and once no node is left every address is
    /// back in its range but what modes retain for deleted nodes. Per range, the
    /// in-use count the allocators keep is recomputed from the nodes and pods:
    /// each live node's own IP in its node subnet, and what the mode's
    /// `Mode::in_use` says a node with that many running pods has in use, in
    /// the range it names (a range, for dynamic: a node's primary is bound only
    /// once it holds addresses).
    fn check_bound_addresses(&self) -> Result<(), String> {
        let mut expected = vec![(0u64, 0u64); self.space.len()];
        let pod_cidrs: Vec<Option<RangeId>> =
            self.clusters.iter().map(|c| self.space.find(&format!("{}/pod-cidr", c.name))).collect();
        let mut any_node = false;
        for n in &self.nodes {
            if n.phase == Phase::Deleted {
                continue;
            }
            any_node = true;
            let pool = &self.pools[n.pool()];
            let running = n
                .pods()
                .iter()
                .filter(|p| self.pods[p.0 as usize].state == PodState::Running && !self.pods[p.0 as usize].host_network)
                .count() as u64;
            let add = |expected: &mut Vec<(u64, u64)>, range: RangeId, lo: u64, hi: u64| {
                let e = &mut expected[range.0 as usize];
                e.0 += lo;
                e.1 += hi;
            };
            add(&mut expected, n.node_subnet, 1, 1);
            let cluster = &self.scenario.clusters[pool.cluster];
            let in_use = (cluster.allocator.in_use)(running);
            let range = match in_use.range {
                Role::NodeSubnet => n.node_subnet,
                Role::PodSubnet => {
                    n.pod_subnet.ok_or_else(|| format!("a {} node without a pod subnet", cluster.name))?
                }
                Role::PodCidr => {
                    pod_cidrs[pool.cluster].ok_or_else(|| format!("cluster {} has no pod CIDR range", cluster.name))?
                }
            };
            add(&mut expected, range, in_use.min, in_use.max);
        }
        for (id, r) in self.space.iter() {
            let (lo, hi) = expected[id.0 as usize];
            if r.in_use() < lo || r.in_use() > hi {
                return Err(format!(
                    "range {}: {} addresses in use, but live nodes and running pods account for {}",
                    r.name(),
                    r.in_use(),
                    if lo == hi { lo.to_string() } else { format!("{lo} to {hi}") }
                ));
            }
            let retained: u64 = self.clusters.iter().map(|c| c.allocator.retained(id)).sum();
            if !any_node && r.allocated() != retained {
                return Err(format!(
                    "range {}: no node is left but {} addresses are allocated ({retained} retained for deleted nodes)",
                    r.name(),
                    r.allocated()
                ));
            }
        }
        Ok(())
    }

    fn sample(&self, time_s: u64, utilization: &mut Vec<RangeSample>, rows: &mut Vec<PoolSample>) {
        for (id, range) in self.space.iter() {
            utilization.push(RangeSample {
                time_s,
                range: id.0,
                usable: range.usable(),
                allocated: range.allocated(),
                in_use: range.in_use(),
            });
        }
        for (i, pool) in self.pools.iter().enumerate() {
            rows.push(PoolSample {
                time_s,
                pool: i as u32,
                nodes: pool.nodes.len() as u32,
                pods_running: pool.running,
                pods_waiting_ip: pool.waiting,
                pods_unschedulable: pool.unschedulable,
            });
        }
    }

    /// Pools' nodes exist already provisioned, pool by pool, each one atomic
    /// operation; then workloads place their pods (model.md, "Time zero").
    fn time_zero(&mut self) {
        let scenario = self.scenario;
        for (c, cluster) in scenario.clusters.iter().enumerate() {
            for spec in &cluster.node_pools {
                let pool = self.declare_pool(c, spec);
                self.open_pool(pool, spec.clone());
                if self.create_nodes(pool, spec.count, Creation::Provisioned, "time zero") {
                    self.pools[pool].target = spec.count;
                }
            }
        }
        // Pools that `add_pool` creates later get their slot now, so a workload
        // pinned to one is pinned from the start (its pods wait for the pool).
        for event in &scenario.events {
            if let Action::AddPool { cluster, pool } = &event.action {
                self.declare_pool(self.cluster_index(cluster), pool);
            }
        }
        for w in 0..self.workloads.len() {
            let pool = scenario.workloads[w].pool.as_deref().map(|name| {
                let cluster = self.workloads[w].cluster;
                self.pool_slot(cluster, name).expect("validated pool name")
            });
            self.workloads[w].pool = pool;
        }
        self.workloads_started = true;
        for w in 0..self.workloads.len() {
            self.start_workload(w);
        }
        self.settle();
        for c in 0..self.clusters.len() {
            if self.clusters[c].autoscaled {
                self.sim.schedule(AUTOSCALER_SCAN, Event::AutoscalerScan(c as u32));
            }
        }
    }

    /// The slot of the cluster's pool named `name`, live or not.
    fn pool_slot(&self, cluster: usize, name: &str) -> Option<usize> {
        self.pools.iter().position(|p| p.cluster == cluster && p.spec.name == name)
    }

    /// The pool's slot: one per (cluster, pool name) for the whole run, so a
    /// pool removed and added again keeps one row in `cluster.csv`. A declared
    /// pool is not live (not in its cluster's `pools`) until [`Self::open_pool`].
    fn declare_pool(&mut self, cluster: usize, spec: &NodePool) -> usize {
        if let Some(slot) = self.pool_slot(cluster, &spec.name) {
            return slot;
        }
        let node_subnet = self.space.find(&spec.vnet_subnet).expect("validated subnet");
        let pod_subnet = spec.pod_subnet.as_deref().map(|name| self.space.find(name).expect("validated subnet"));
        let keep = match self.clusters[cluster].scheduler {
            Scheduler::Spread => Keep::Emptiest,
            Scheduler::Pack => Keep::Fullest,
            Scheduler::Random => Keep::Neither,
        };
        self.pools.push(PoolState {
            cluster,
            node_subnet,
            pod_subnet,
            nodes: Vec::new(),
            target: 0,
            live: false,
            logged: Vec::new(),
            by_load: LoadIndex::new(keep),
            schedulable: Vec::new(),
            free_slots: 0,
            running: 0,
            waiting: 0,
            unschedulable: 0,
            image: 0,
            upgrade: None,
            autoscale: None,
            last_scale_up: None,
            low_nodes: BTreeSet::new(),
            unschedulable_restricted: 0,
            pending: VecDeque::new(),
            nodes_named: 0,
            spec: spec.clone(),
        });
        self.pools.len() - 1
    }

    /// Make a declared pool live with `spec` (time zero or `add_pool`). A pool
    /// added again after `remove_pool` starts a new life in its old slot: its
    /// pods still pending stay queued, its nodes still draining finish.
    fn open_pool(&mut self, index: usize, spec: NodePool) {
        let node_subnet = self.space.find(&spec.vnet_subnet).expect("validated subnet");
        let pod_subnet = spec.pod_subnet.as_deref().map(|name| self.space.find(name).expect("validated subnet"));
        let p = &mut self.pools[index];
        debug_assert!(!p.live, "pool {} opened twice", spec.name);
        p.node_subnet = node_subnet;
        p.pod_subnet = pod_subnet;
        p.target = 0;
        p.live = true;
        p.logged.clear();
        p.upgrade = None;
        p.autoscale = spec.autoscale;
        p.last_scale_up = None;
        p.spec = spec;
        let cluster = p.cluster;
        let autoscaled = p.autoscale.is_some();
        let c = &mut self.clusters[cluster];
        c.pools.push(index);
        if c.first_pool == usize::MAX {
            c.first_pool = index;
        } else if !self.pools[c.first_pool].live {
            self.recount_unrestricted_pending(cluster, index);
        }
        let c = &mut self.clusters[cluster];
        if autoscaled && !c.autoscaled {
            c.autoscaled = true;
            if self.workloads_started {
                self.sim.schedule_in(AUTOSCALER_SCAN, Event::AutoscalerScan(cluster as u32));
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Timeline(i) => self.timeline(i as usize),
            Event::ChurnArrival(w) => self.churn_arrival(w as usize),
            Event::PodEnd(pod, generation, node) => {
                // The pod started minutes ago: unless `prefetch_next` could ask for
                // its record and its node's during the previous event, both are out
                // of cache. Load both before using either, so the misses overlap.
                let n = &self.nodes[node.index()];
                std::hint::black_box((n.pods().len(), n.phase));
                let p = &self.pods[pod.0 as usize];
                if p.generation == generation && p.state == PodState::Running {
                    self.delete_pod(pod);
                }
            }
            Event::NodeReady(node) => {
                if self.nodes[node.index()].phase == Phase::Provisioning {
                    self.node_ready(node);
                }
            }
            Event::NodeDrained(node) => self.delete_node(node),
            Event::UpgradeDrained(pool) => self.upgrade_drained(pool as usize),
            Event::UpgradeStep(pool) => self.upgrade_step(pool as usize),
            Event::AutoscalerScan(cluster) => self.autoscaler_scan(cluster as usize),
            Event::Wake(node) => self.wake(node),
        }
    }

    /// Tells timed modes the time before an event's calls.
    fn clock(&mut self) {
        let now = self.sim.now().as_millis();
        for &cluster in &self.timed {
            self.clusters[cluster].allocator.set_now(now);
        }
    }

    /// Schedules the wakes timed modes asked for during the last event.
    fn schedule_wakes(&mut self) {
        let mut wakes = std::mem::take(&mut self.scratch_wakes);
        for &cluster in &self.timed {
            self.clusters[cluster].allocator.take_wakes(&mut wakes);
        }
        for wake in wakes.drain(..) {
            self.sim.schedule_in(SimTime::from_millis(wake.after_ms), Event::Wake(wake.node));
        }
        self.scratch_wakes = wakes;
    }

    /// A timed mode's wake: what it hands out starts waiting pods; what it
    /// returns lets short nodes retry (`settle`). A deleted node's wake only
    /// returns what the mode retained for it.
    fn wake(&mut self, node: NodeId) {
        let cluster = self.pools[self.nodes[node.index()].pool()].cluster;
        let update = self.clusters[cluster].allocator.wake(node, &mut self.space);
        if self.nodes[node.index()].phase != Phase::Deleted {
            self.apply_update(node, update);
        }
    }

    /// Ask for the records the next event will read, if the queue knows it: a
    /// pod end reads a pod and a node that nothing touched for minutes, and the
    /// cache misses then overlap the current event instead of stalling the next.
    #[inline]
    fn prefetch_next(&self) {
        if let Some(&Event::PodEnd(pod, _, node)) = self.sim.peek_ready() {
            engine::hint::prefetch(&self.pods[pod.0 as usize]);
            let n = &self.nodes[node.index()];
            engine::hint::prefetch(n);
            engine::hint::prefetch_at(n, 64);
        }
    }

    fn timeline(&mut self, i: usize) {
        match &self.scenario.events[i].action {
            Action::ScalePool { cluster, pool, count } => {
                if let Some(pool) = self.pool_index(cluster, pool) {
                    self.scale_pool(pool, *count, "scale_pool");
                }
            }
            Action::UpgradePool { cluster, pool } => {
                if let Some(pool) = self.pool_index(cluster, pool) {
                    self.start_upgrade(pool);
                }
            }
            Action::AddPool { cluster, pool } => {
                let c = self.cluster_index(cluster);
                if self.pool_index(cluster, &pool.name).is_none() {
                    let index = self.declare_pool(c, pool);
                    self.open_pool(index, pool.clone());
                    if self.create_nodes(index, pool.count, Creation::Provision, "add_pool") {
                        self.pools[index].target = pool.count;
                    }
                }
            }
            Action::RemovePool { cluster, pool } => {
                if let Some(pool) = self.pool_index(cluster, pool) {
                    self.remove_pool(pool);
                }
            }
            Action::ScaleWorkload { name, replicas } => {
                if let Some(w) = self.workloads.iter().position(|w| &w.name == name) {
                    self.scale_deployment(w, *replicas);
                }
            }
            Action::Rollout { name } => {
                if let Some(w) = self.workloads.iter().position(|w| &w.name == name)
                    && let WorkloadKind::Deployment { revision, rolling, .. } = &mut self.workloads[w].kind
                {
                    *revision += 1;
                    *rolling = true;
                    self.rollouts_due.push(w);
                }
            }
        }
    }

    /// After every handler: short nodes retry (creation order, first fit) if
    /// anything went back to a range, then unschedulable pods are placed (first
    /// in, first out), then rollouts that can move do.
    #[inline]
    fn settle(&mut self) {
        // Most events leave nothing to retry, place or roll.
        if self.short_nodes > 0
            || !self.rollouts_due.is_empty()
            || self.clusters.iter().any(|c| c.unschedulable_total > 0)
        {
            self.settle_all();
        }
    }

    fn settle_all(&mut self) {
        loop {
            if self.short_nodes > 0 {
                self.retry_short_nodes();
            }
            for c in 0..self.clusters.len() {
                self.place_unschedulable(c);
            }
            if self.rollouts_due.is_empty() {
                break;
            }
            let mut due = std::mem::take(&mut self.rollouts_due);
            due.sort_unstable();
            due.dedup();
            for w in due.drain(..) {
                self.rollout_progress(w);
            }
            if self.rollouts_due.is_empty() {
                self.rollouts_due = due;
                for c in 0..self.clusters.len() {
                    self.place_unschedulable(c);
                }
                break;
            }
        }
    }

    /// Short nodes retry, in creation order, first fit, in every range that
    /// got addresses back since its last pass and now has as many free as the
    /// smallest request among them.
    fn retry_short_nodes(&mut self) {
        for r in 0..self.short.len() {
            let range = &self.space[RangeId(r as u32)];
            let set = &self.short[r];
            if set.nodes.is_empty() || set.seen_returns == range.returns() || range.free() < set.min_wanted {
                continue;
            }
            self.short[r].seen_returns = range.returns();
            let mut nodes = std::mem::take(&mut self.scratch_nodes);
            nodes.clear();
            nodes.extend(self.short[r].nodes.iter().copied());
            for &node in &nodes {
                let free = self.space[RangeId(r as u32)].free();
                match self.nodes[node.index()].short {
                    Some((range, wanted)) if range.0 as usize == r && wanted <= free => {
                        let cluster = self.pools[self.nodes[node.index()].pool()].cluster;
                        let update = self.clusters[cluster].allocator.reconcile(node, &mut self.space);
                        self.apply_update(node, update);
                    }
                    _ => {}
                }
            }
            self.scratch_nodes = nodes;
            let nodes = &self.nodes;
            let set = &mut self.short[r];
            set.min_wanted = set.nodes.iter().filter_map(|n| nodes[n.index()].short.map(|(_, w)| w)).min().unwrap_or(0);
        }
    }

    // ----- logging -------------------------------------------------------------

    fn log(
        &mut self,
        kind: EventKind,
        pool: Option<usize>,
        node: Option<NodeId>,
        range: Option<RangeId>,
        detail: String,
        cause: Option<allocator::FailureKind>,
    ) {
        let (cluster, pool_name) = match pool {
            Some(p) => (self.clusters[self.pools[p].cluster].name.clone(), self.pools[p].spec.name.clone()),
            None => (String::new(), String::new()),
        };
        self.events.push(EventRecord {
            time_s: self.now().as_secs(),
            kind,
            cluster,
            pool: pool_name,
            node: node.map(|n| self.nodes[n.index()].name.clone()).unwrap_or_default(),
            range: range.map(|r| self.space[r].name().to_string()).unwrap_or_default(),
            detail,
            cause,
        });
    }

    /// Log an operation's failure once per episode of its pool.
    fn log_pool_failure(&mut self, pool: usize, kind: EventKind, failure: &allocator::Failure, detail: String) -> bool {
        if self.pools[pool].logged.contains(&kind) {
            return false;
        }
        self.pools[pool].logged.push(kind);
        self.log(kind, Some(pool), None, failure.range, detail, Some(failure.kind));
        true
    }

    // ----- nodes ---------------------------------------------------------------

    /// Create `count` nodes in `pool` as one atomic operation: all or none.
    fn create_nodes(&mut self, pool: usize, count: u32, how: Creation, operation: &str) -> bool {
        if count == 0 {
            return true;
        }
        let cluster = self.pools[pool].cluster;
        let spec = NodeSpec {
            node_subnet: self.pools[pool].node_subnet,
            pod_subnet: self.pools[pool].pod_subnet,
            max_pods: self.pools[pool].spec.max_pods,
        };
        let first = self.nodes.len();
        for i in 0..count {
            let id = NodeId(self.nodes.len() as u32);
            if let Err(failure) = self.clusters[cluster].allocator.create_node(id, &spec, &mut self.space) {
                for undo in (first..self.nodes.len()).rev() {
                    self.clusters[cluster].allocator.delete_node(NodeId(undo as u32), &mut self.space);
                }
                self.nodes.truncate(first);
                let kind = if how == Creation::Surge {
                    EventKind::UpgradeBlocked
                } else {
                    EventKind::Allocation(failure.kind)
                };
                let detail = format!(
                    "{operation}: {} of {count} new node(s) failed: {} (wanted {}, available {}); no node created",
                    i + 1,
                    failure.kind,
                    failure.wanted,
                    failure.available
                );
                if self.log_pool_failure(pool, kind, &failure, detail) {
                    self.tracker.nodes_failed += u64::from(count);
                }
                return false;
            }
            let p = &self.pools[pool];
            let name = format!("{}-{}", p.spec.name, p.nodes_named + i);
            self.nodes.push(Node::new(
                pool,
                name,
                p.nodes_named + i,
                spec.max_pods,
                p.image,
                spec.node_subnet,
                spec.pod_subnet,
            ));
        }
        let p = &mut self.pools[pool];
        p.logged.clear();
        p.nodes_named += count;
        p.nodes.extend((first..self.nodes.len()).map(|i| NodeId(i as u32)));
        for index in first..self.nodes.len() {
            let node = NodeId(index as u32);
            match how {
                Creation::Provisioned => self.node_ready(node),
                Creation::Provision | Creation::Surge => {
                    self.sim.schedule_in(self.provision, Event::NodeReady(node));
                }
            }
        }
        true
    }

    fn node_ready(&mut self, node: NodeId) {
        self.nodes[node.index()].phase = Phase::Ready;
        let pool = self.nodes[node.index()].pool();
        let cluster = self.pools[pool].cluster;
        let update = self.clusters[cluster].allocator.reconcile(node, &mut self.space);
        self.apply_update(node, update);
        if self.workloads_started {
            for w in 0..self.workloads.len() {
                if self.workloads[w].cluster == cluster
                    && self.workloads[w].pool.is_none_or(|p| p == pool)
                    && let WorkloadKind::DaemonSet { host_network } = self.workloads[w].kind
                {
                    self.daemon_pod(w, node, host_network);
                }
            }
        }
        self.refresh(node);
    }

    /// Cordon a node, evict its pods (daemonset pods stay until it goes) and
    /// delete it once drained.
    fn begin_delete(&mut self, node: NodeId) {
        let n = &mut self.nodes[node.index()];
        n.deleting = true;
        let was_provisioning = n.phase == Phase::Provisioning;
        n.phase = Phase::Draining;
        self.refresh(node);
        self.evict_pods(node);
        if was_provisioning {
            self.delete_node(node);
        } else {
            self.sim.schedule_in(self.drain, Event::NodeDrained(node));
        }
    }

    fn evict_pods(&mut self, node: NodeId) {
        let mut pods = std::mem::take(&mut self.scratch_pods);
        pods.clear();
        pods.extend(self.nodes[node.index()].pods().iter().copied());
        for &pod in &pods {
            if !self.is_daemon(pod) {
                self.evict(pod);
            }
        }
        self.scratch_pods = pods;
    }

    fn delete_node(&mut self, node: NodeId) {
        if self.nodes[node.index()].phase == Phase::Deleted {
            return;
        }
        while let Some(&pod) = self.nodes[node.index()].pods().last() {
            self.delete_pod(pod);
        }
        let pool = self.nodes[node.index()].pool();
        let cluster = self.pools[pool].cluster;
        self.clusters[cluster].allocator.delete_node(node, &mut self.space);
        let n = &mut self.nodes[node.index()];
        n.phase = Phase::Deleted;
        self.refresh(node);
        self.set_short(node, Update::default());
        self.pools[pool].nodes.retain(|&x| x != node);
    }

    /// Re-evaluate a node's place in its pool's scheduling sets and the
    /// autoscaler's list of underused nodes.
    ///
    /// Runs after every bind and unbind: it reads the node's and its pool's
    /// records once and leaves the random scheduler's list to [`Self::relist`].
    fn refresh(&mut self, node: NodeId) {
        let n = &mut self.nodes[node.index()];
        let p = &mut self.pools[n.pool()];
        let pods = n.pods().len() as u32;
        let ready = n.phase == Phase::Ready && !n.deleting;
        let cluster = &self.clusters[p.cluster];
        let schedulable =
            ready && pods < n.max_pods && (!cluster.may_refuse_pods || cluster.allocator.accepts_pods(node));
        let key = schedulable.then_some(pods);
        let old = n.sched_key;
        if old != key {
            n.sched_key = key;
            match (old, key) {
                (Some(old), Some(new)) => p.by_load.shift(old, new, n.rank),
                (Some(old), None) => p.by_load.remove(old, n.rank),
                (None, Some(new)) => p.by_load.insert(new, n.rank, node),
                (None, None) => {}
            }
            p.free_slots -= old.map_or(0, |old| u64::from(n.max_pods - old));
            p.free_slots += key.map_or(0, |new| u64::from(n.max_pods - new));
        }
        let low = p.autoscale.is_some() && ready && pods * 2 < n.max_pods;
        if low {
            if n.low_since.is_none() {
                n.low_since = Some(self.sim.now());
                p.low_nodes.insert(node);
            }
        } else if n.low_since.is_some() {
            n.low_since = None;
            p.low_nodes.remove(&node);
        }
        // Only the random scheduler reads the list (and its order).
        if old != key && p.by_load.keep() == Keep::Neither {
            self.relist(node, old.is_some(), key.is_some());
        }
    }

    /// A node's scheduling key changed: take it off its pool's list of
    /// schedulable nodes if it was `listed`, and put it at the end if it `stays`.
    fn relist(&mut self, node: NodeId, listed: bool, stays: bool) {
        let n = &self.nodes[node.index()];
        let p = &mut self.pools[n.pool()];
        if listed {
            let pos = n.sched_pos;
            p.schedulable.swap_remove(pos);
            if let Some(&moved) = p.schedulable.get(pos) {
                self.nodes[moved.index()].sched_pos = pos;
            }
        }
        if stays {
            self.nodes[node.index()].sched_pos = p.schedulable.len();
            p.schedulable.push(node);
        }
    }

    /// Act on what an allocator said about a node.
    fn apply_update(&mut self, node: NodeId, update: Update) {
        for _ in 0..update.started {
            let pod = self.nodes[node.index()].waiting.pop_front().expect("allocator started a waiting pod");
            self.start_pod(pod);
        }
        match update.request {
            Request::None => {}
            Request::Granted => self.nodes[node.index()].ip_episode = false,
            Request::Failed(failure) => {
                if !self.nodes[node.index()].ip_episode {
                    self.nodes[node.index()].ip_episode = true;
                    let pool = self.nodes[node.index()].pool();
                    let waiting = self.nodes[node.index()].waiting.len();
                    let detail = format!(
                        "node asked for {} more address(es), {} available; {waiting} pod(s) waiting",
                        failure.wanted, failure.available
                    );
                    let kind = EventKind::Allocation(failure.kind);
                    self.log(kind, Some(pool), Some(node), failure.range, detail, Some(failure.kind));
                }
            }
        }
        self.set_short(node, update);
        self.refresh(node);
    }

    /// Track whether a node is short of addresses, where and by how much.
    #[inline]
    fn set_short(&mut self, node: NodeId, update: Update) {
        // Not short before or after: the common case, nothing to do.
        if update.short || self.nodes[node.index()].short.is_some() {
            self.update_short(node, update);
        }
    }

    fn update_short(&mut self, node: NodeId, update: Update) {
        let before = self.nodes[node.index()].short;
        let after = if update.short {
            match update.request {
                Request::Failed(failure) => {
                    let n = &self.nodes[node.index()];
                    let range = failure.range.or(n.pod_subnet).unwrap_or(n.node_subnet);
                    Some((range, failure.wanted))
                }
                // Still short, with no new request: keep what it last asked for.
                _ => before.or_else(|| {
                    let n = &self.nodes[node.index()];
                    Some((n.pod_subnet.unwrap_or(n.node_subnet), 0))
                }),
            }
        } else {
            None
        };
        if before == after {
            return;
        }
        self.short_nodes = self.short_nodes + usize::from(after.is_some()) - usize::from(before.is_some());
        if let Some((range, _)) = before {
            self.short[range.0 as usize].nodes.remove(&node);
        }
        if let Some((range, wanted)) = after {
            let set = &mut self.short[range.0 as usize];
            if set.nodes.insert(node) || before.is_some() {
                set.min_wanted = if set.nodes.len() == 1 { wanted } else { set.min_wanted.min(wanted) };
            }
        }
        self.nodes[node.index()].short = after;
    }

    // ----- scale operations -----------------------------------------------------

    fn scale_pool(&mut self, pool: usize, count: u32, operation: &str) {
        let target = self.pools[pool].target;
        if count > target {
            if self.create_nodes(pool, count - target, Creation::Provision, operation) {
                self.pools[pool].target = count;
            }
        } else if count < target {
            self.pools[pool].target = count;
            let upgrading: Vec<NodeId> = self.pools[pool]
                .upgrade
                .as_ref()
                .map(|u| u.batch.iter().chain(&u.buffers).copied().collect())
                .unwrap_or_default();
            let mut remove = target - count;
            // Newest nodes go first, as a VMSS scales in.
            let candidates: Vec<NodeId> = self.pools[pool].nodes.iter().rev().copied().collect();
            for node in candidates {
                if remove == 0 {
                    break;
                }
                let n = &self.nodes[node.index()];
                if !n.deleting && matches!(n.phase, Phase::Ready | Phase::Provisioning) && !upgrading.contains(&node) {
                    self.begin_delete(node);
                    remove -= 1;
                }
            }
        }
    }

    fn remove_pool(&mut self, pool: usize) {
        self.pools[pool].upgrade = None;
        self.pools[pool].autoscale = None;
        self.pools[pool].target = 0;
        let nodes = self.pools[pool].nodes.clone();
        for node in nodes {
            if !self.nodes[node.index()].deleting {
                self.begin_delete(node);
            }
        }
        self.pools[pool].live = false;
        let cluster = self.pools[pool].cluster;
        self.clusters[cluster].pools.retain(|&p| p != pool);
        if self.clusters[cluster].first_pool == pool
            && let Some(&first) = self.clusters[cluster].pools.first()
        {
            self.recount_unrestricted_pending(cluster, first);
        }
    }

    /// Count the cluster's unschedulable pods of unrestricted workloads in pool
    /// `to` from now on (their pool was removed). O(pods queued); rare.
    fn recount_unrestricted_pending(&mut self, cluster: usize, to: usize) {
        let from = std::mem::replace(&mut self.clusters[cluster].first_pool, to);
        for &(seq, pod) in &self.clusters[cluster].unschedulable {
            let p = &mut self.pods[pod.0 as usize];
            if p.state == PodState::Unschedulable && p.queued == seq && p.counted_pool() == from {
                p.set_counted_pool(to);
                self.pools[from].unschedulable -= 1;
                self.pools[to].unschedulable += 1;
            }
        }
    }

    // ----- rolling upgrade (model.md, "Rolling upgrade") ------------------------

    fn start_upgrade(&mut self, pool: usize) {
        if self.pools[pool].upgrade.is_some() {
            return;
        }
        let p = &mut self.pools[pool];
        p.image += 1;
        let image = p.image;
        let old =
            p.nodes.iter().filter(|n| self.nodes[n.index()].image < image && !self.nodes[n.index()].deleting).count();
        let surge = p.spec.max_surge.nodes_for(p.target).min(old as u32);
        let first = self.nodes.len();
        if surge > 0 && !self.create_nodes(pool, surge, Creation::Surge, "upgrade_pool") {
            return;
        }
        let surge_nodes: Vec<NodeId> = (first..self.nodes.len()).map(|i| NodeId(i as u32)).collect();
        self.pools[pool].upgrade = Some(Upgrade { surge, image, batch: Vec::new(), buffers: surge_nodes });
        self.sim.schedule_in(self.provision, Event::UpgradeStep(pool as u32));
    }

    fn upgrade_step(&mut self, pool: usize) {
        let Some(upgrade) = self.pools[pool].upgrade.as_mut() else { return };
        let reimaged = std::mem::take(&mut upgrade.batch);
        let image = upgrade.image;
        let surge = upgrade.surge as usize;
        if !reimaged.is_empty() {
            // The reimaged batch is the next buffer. A last batch smaller than the
            // surge leaves earlier buffers (now running the evicted pods) as
            // buffers too: the pool ends with `surge` nodes to delete, back at its
            // count.
            let earlier = std::mem::take(&mut upgrade.buffers);
            upgrade.buffers = reimaged.clone();
            upgrade.buffers.extend(earlier.into_iter().filter(|n| !reimaged.contains(n)));
            upgrade.buffers.truncate(surge);
        }
        for &node in &reimaged {
            let n = &mut self.nodes[node.index()];
            n.image = image;
            n.phase = Phase::Ready;
            self.refresh(node);
        }
        let old: Vec<NodeId> = self.pools[pool]
            .nodes
            .iter()
            .copied()
            .filter(|n| {
                let n = &self.nodes[n.index()];
                n.image < image && !n.deleting && n.phase == Phase::Ready
            })
            .take(surge)
            .collect();
        if old.is_empty() {
            let upgrade = self.pools[pool].upgrade.take().expect("checked above");
            for node in upgrade.buffers {
                if !self.nodes[node.index()].deleting && self.nodes[node.index()].phase != Phase::Deleted {
                    self.begin_delete(node);
                }
            }
            return;
        }
        for &node in &old {
            self.nodes[node.index()].phase = Phase::Draining;
            self.refresh(node);
            self.evict_pods(node);
        }
        self.pools[pool].upgrade.as_mut().expect("checked above").batch = old;
        self.sim.schedule_in(self.drain, Event::UpgradeDrained(pool as u32));
    }

    fn upgrade_drained(&mut self, pool: usize) {
        let Some(upgrade) = self.pools[pool].upgrade.as_ref() else { return };
        for &node in &upgrade.batch {
            self.nodes[node.index()].phase = Phase::Reimaging;
        }
        self.sim.schedule_in(self.reimage, Event::UpgradeStep(pool as u32));
    }

    // ----- cluster autoscaler (model.md, "Cluster autoscaler") -------------------

    fn autoscaler_scan(&mut self, cluster: usize) {
        let now = self.now();
        let mut pending_any = self.clusters[cluster].unschedulable_any;
        // The cluster's live pools do not change during a scan (no pool is added
        // or removed here), so they are read by index rather than copied.
        for i in 0..self.clusters[cluster].pools.len() {
            let pool = self.clusters[cluster].pools[i];
            let Some(limits) = self.pools[pool].autoscale else { continue };
            let p = &self.pools[pool];
            let max_pods = u64::from(p.spec.max_pods.max(1));
            let pending = pending_any + p.unschedulable_restricted;
            let provisioning = p.nodes.iter().filter(|n| self.nodes[n.index()].phase == Phase::Provisioning).count();
            let wanted = pending.div_ceil(max_pods).saturating_sub(provisioning as u64);
            let room = u64::from(limits.max.saturating_sub(p.target));
            let add = wanted.min(room) as u32;
            if add > 0 && self.create_nodes(pool, add, Creation::Provision, "autoscaler") {
                let p = &mut self.pools[pool];
                p.target += add;
                p.last_scale_up = Some(now);
                pending_any = pending_any.saturating_sub(u64::from(add) * max_pods);
            }
        }
        for i in 0..self.clusters[cluster].pools.len() {
            let pool = self.clusters[cluster].pools[i];
            let Some(limits) = self.pools[pool].autoscale else { continue };
            if self.pools[pool].last_scale_up.is_some_and(|t| now.saturating_sub(t) < AUTOSCALER_WINDOW) {
                continue;
            }
            if self.pools[pool].target <= limits.min {
                // At its minimum: no node can go (skips copying the underused list).
                continue;
            }
            let mut low = std::mem::take(&mut self.scratch_nodes);
            low.clear();
            low.extend(self.pools[pool].low_nodes.iter().copied());
            for &node in &low {
                if self.pools[pool].target <= limits.min {
                    break;
                }
                let n = &self.nodes[node.index()];
                let Some(since) = n.low_since else { continue };
                if now.saturating_sub(since) < AUTOSCALER_WINDOW {
                    continue;
                }
                // Only if its pods fit on the cluster's other nodes: those of
                // workloads pinned to this pool on the pool's other nodes, all of
                // them on the cluster's (pinned pods take the pool's slots first).
                let (mut movable, mut pinned) = (0u64, 0u64);
                for &p in n.pods() {
                    let workload = &self.workloads[self.pods[p.0 as usize].workload()];
                    if !matches!(workload.kind, WorkloadKind::DaemonSet { .. }) {
                        movable += 1;
                        pinned += u64::from(workload.pool == Some(pool));
                    }
                }
                let own_slots = n.sched_key.map_or(0, |k| u64::from(n.max_pods - k));
                let in_pool = self.pools[pool].free_slots - own_slots;
                let in_cluster: u64 =
                    self.clusters[cluster].pools.iter().map(|&p| self.pools[p].free_slots).sum::<u64>() - own_slots;
                if pinned <= in_pool && movable <= in_cluster {
                    self.pools[pool].target -= 1;
                    self.begin_delete(node);
                }
            }
            self.scratch_nodes = low;
        }
        if let Some(next) = after(now, AUTOSCALER_SCAN) {
            self.sim.schedule(next, Event::AutoscalerScan(cluster as u32));
        }
    }

    // ----- pods ------------------------------------------------------------------

    fn is_daemon(&self, pod: PodId) -> bool {
        matches!(self.workloads[self.pods[pod.0 as usize].workload()].kind, WorkloadKind::DaemonSet { .. })
    }

    fn new_pod(&mut self, workload: usize, host_network: bool, revision: u32, lifetime: Option<u64>) -> PodId {
        self.pods_created += 1;
        let w = &mut self.workloads[workload];
        w.pods_named += 1;
        let pod = Pod::new(workload, host_network, revision, lifetime, self.pods_created, w.pods_named);
        let id = match self.free_pods.pop() {
            Some(slot) => {
                let generation = self.pods[slot as usize].generation;
                self.pods[slot as usize] = pod;
                self.pods[slot as usize].generation = generation;
                PodId(slot)
            }
            None => {
                self.pods.push(pod);
                self.pod_slots.push(0);
                PodId(self.pods.len() as u32 - 1)
            }
        };
        if !matches!(self.workloads[workload].kind, WorkloadKind::Churn(_)) {
            let w = &mut self.workloads[workload];
            self.pods[id.0 as usize].workload_slot = w.pods.len() as u32;
            w.pods.push(id);
        }
        id
    }

    fn start_workload(&mut self, w: usize) {
        match &self.workloads[w].kind {
            WorkloadKind::Deployment { replicas, .. } => {
                for _ in 0..*replicas {
                    let pod = self.new_pod(w, false, 0, None);
                    self.place(pod);
                }
            }
            WorkloadKind::DaemonSet { host_network } => {
                let host_network = *host_network;
                let cluster = self.workloads[w].cluster;
                let restrict = self.workloads[w].pool;
                let nodes: Vec<NodeId> = self.clusters[cluster]
                    .pools
                    .iter()
                    .filter(|&&p| restrict.is_none_or(|r| r == p))
                    .flat_map(|&p| self.pools[p].nodes.iter().copied())
                    .filter(|n| self.nodes[n.index()].phase == Phase::Ready)
                    .collect();
                for node in nodes {
                    self.daemon_pod(w, node, host_network);
                }
            }
            WorkloadKind::Churn(_) => self.start_churn(w),
        }
    }

    /// Draw the first gap, then the first arrival's draws, and schedule it.
    fn start_churn(&mut self, w: usize) {
        let WorkloadKind::Churn(churn) = &mut self.workloads[w].kind else { return };
        if churn.start <= churn.end {
            let first = after(churn.start, churn_gap(churn));
            churn.ahead = churn_draws(churn);
            if let Some(first) = first.filter(|&t| t <= churn.end) {
                self.sim.schedule(first, Event::ChurnArrival(w as u32));
            }
        }
    }

    fn daemon_pod(&mut self, w: usize, node: NodeId, host_network: bool) {
        let n = &self.nodes[node.index()];
        if n.pods().len() as u32 >= n.max_pods {
            return;
        }
        let pod = self.new_pod(w, host_network, 0, None);
        self.bind(pod, node);
    }

    fn churn_arrival(&mut self, w: usize) {
        let WorkloadKind::Churn(churn) = &mut self.workloads[w].kind else { return };
        let ChurnDraws { lifetime_ms, gap } = churn.ahead;
        churn.ahead = churn_draws(churn);
        let end = churn.end;
        let pod = self.new_pod(w, false, 0, Some(lifetime_ms));
        self.place(pod);
        if let Some(next) = after(self.now(), gap).filter(|&t| t <= end) {
            self.sim.schedule(next, Event::ChurnArrival(w as u32));
        }
    }

    /// Pick a node for a pod: `spread` fewest pods first, `pack` most pods first,
    /// `random` uniformly; ties by node creation order.
    fn pick_node(&mut self, pod: PodId) -> Option<NodeId> {
        let w = &self.workloads[self.pods[pod.0 as usize].workload()];
        let cluster = &mut self.clusters[w.cluster];
        let restrict = w.pool;
        let pools = &self.pools;
        let eligible = || cluster.pools.iter().copied().filter(move |&p| restrict.is_none_or(|r| r == p));
        match cluster.scheduler {
            // Each pool keeps the end its scheduler takes, as a key ordered like
            // `(pods, node)` for spread and `(Reverse(pods), node)` for pack.
            Scheduler::Spread | Scheduler::Pack => {
                let key = |p: usize| pools[p].by_load.best_key();
                let best = match restrict {
                    None => cluster.pools.iter().map(|&p| key(p)).min(),
                    Some(r) => cluster.pools.contains(&r).then(|| key(r)),
                };
                best.filter(|&key| key != u64::MAX).map(|key| NodeId(key as u32))
            }
            Scheduler::Random => {
                let total: usize = eligible().map(|p| pools[p].schedulable.len()).sum();
                if total == 0 {
                    return None;
                }
                let mut pick = cluster.scheduler_rng.random_range(0..total);
                for p in cluster.pools.iter().copied().filter(|&p| restrict.is_none_or(|r| r == p)) {
                    let list = &pools[p].schedulable;
                    if pick < list.len() {
                        return Some(list[pick]);
                    }
                    pick -= list.len();
                }
                None
            }
        }
    }

    /// Schedule a pod that is not bound: bind it, or queue it as unschedulable.
    fn place(&mut self, pod: PodId) {
        match self.pick_node(pod) {
            Some(node) => self.bind(pod, node),
            None => self.mark_unschedulable(pod),
        }
    }

    fn mark_unschedulable(&mut self, pod: PodId) {
        let workload = self.pods[pod.0 as usize].workload();
        let cluster = self.workloads[workload].cluster;
        let restrict = self.workloads[workload].pool;
        let pool = restrict.unwrap_or(self.clusters[cluster].first_pool);
        let p = &mut self.pods[pod.0 as usize];
        p.state = PodState::Unschedulable;
        p.set_counted_pool(pool);
        self.pools[pool].unschedulable += 1;
        self.queued += 1;
        p.queued = self.queued;
        self.clusters[cluster].unschedulable_total += 1;
        match restrict {
            Some(r) => {
                self.pools[r].unschedulable_restricted += 1;
                self.pools[r].pending.push_back((self.queued, pod));
            }
            None => {
                self.clusters[cluster].unschedulable_any += 1;
                self.clusters[cluster].unschedulable.push_back((self.queued, pod));
            }
        }
        if !p.logged_unschedulable {
            p.logged_unschedulable = true;
            let name = format!("{}-{}", self.workloads[workload].name, p.number);
            let detail = format!("pod {name}: no eligible node has room (max_pods)");
            self.log(EventKind::PodUnschedulable, restrict, None, None, detail, None);
            if let Some(last) = self.events.last_mut()
                && restrict.is_none()
            {
                last.cluster = self.clusters[cluster].name.clone();
            }
        }
    }

    fn clear_unschedulable(&mut self, pod: PodId) {
        let p = &self.pods[pod.0 as usize];
        let workload = p.workload();
        self.pools[p.counted_pool()].unschedulable -= 1;
        self.clusters[self.workloads[workload].cluster].unschedulable_total -= 1;
        match self.workloads[workload].pool {
            Some(r) => self.pools[r].unschedulable_restricted -= 1,
            None => self.clusters[self.workloads[workload].cluster].unschedulable_any -= 1,
        }
    }

    /// Place unschedulable pods, oldest first across the cluster's queues.
    ///
    /// Pods in one queue share their eligible pools, so a queue is worth
    /// looking at only while one of those pools has a free slot, and a pod that
    /// finds no node closes its queue for this pass: each call costs the pods
    /// placed plus the number of pools, never a scan of every waiting pod.
    #[inline]
    fn place_unschedulable(&mut self, cluster: usize) {
        // Nothing waits (queues may still hold stale entries; later passes drop them).
        if self.clusters[cluster].unschedulable_total > 0 {
            self.place_queued(cluster);
        }
    }

    fn place_queued(&mut self, cluster: usize) {
        let mut closed = std::mem::take(&mut self.scratch_pools);
        closed.clear();
        let mut any_open = true;
        loop {
            let pods = &self.pods;
            let live = |q: &mut VecDeque<(u64, PodId)>| {
                while let Some(&(seq, pod)) = q.front() {
                    let p = &pods[pod.0 as usize];
                    if p.state == PodState::Unschedulable && p.queued == seq {
                        return Some(seq);
                    }
                    q.pop_front();
                }
                None
            };
            let c = &mut self.clusters[cluster];
            any_open &= c.pools.iter().any(|&p| self.pools[p].free_slots > 0);
            // `None` stands for the cluster-wide queue, `Some(p)` for pool p's.
            let mut best: Option<(u64, Option<usize>)> = None;
            if any_open && let Some(seq) = live(&mut c.unschedulable) {
                best = Some((seq, None));
            }
            for &p in &c.pools {
                let pool = &mut self.pools[p];
                if pool.free_slots == 0 || closed.contains(&p) {
                    continue;
                }
                if let Some(seq) = live(&mut pool.pending)
                    && best.is_none_or(|(b, _)| seq < b)
                {
                    best = Some((seq, Some(p)));
                }
            }
            let Some((_, queue)) = best else { break };
            let (_, pod) = match queue {
                Some(p) => self.pools[p].pending.front(),
                None => self.clusters[cluster].unschedulable.front(),
            }
            .copied()
            .expect("a live head");
            match self.pick_node(pod) {
                // Its queue entry goes stale with the state change and is dropped later.
                Some(node) => {
                    self.clear_unschedulable(pod);
                    self.bind(pod, node);
                }
                None => match queue {
                    Some(p) => closed.push(p),
                    None => any_open = false,
                },
            }
        }
        self.scratch_pools = closed;
    }

    fn bind(&mut self, pod: PodId, node: NodeId) {
        let n = &mut self.nodes[node.index()];
        let pool = n.pool();
        let p = &mut self.pods[pod.0 as usize];
        p.set_node(Some(node));
        self.pod_slots[pod.0 as usize] = u8::try_from(n.push_pod(pod)).expect("max_pods is at most 250");
        p.set_counted_pool(pool);
        if p.host_network {
            self.refresh(node);
            self.start_pod(pod);
            return;
        }
        p.state = PodState::WaitingIp;
        // With no other pod waiting on the node, the allocator's first start is
        // this pod: start it without going through the queue (whose buffer is one
        // more cache miss per bind on big clusters).
        let alone = n.waiting.is_empty();
        if !alone {
            n.waiting.push_back(pod);
        }
        self.pools[pool].waiting += 1;
        self.tracker.waiting_now += 1;
        let cluster = self.pools[pool].cluster;
        let mut update = self.clusters[cluster].allocator.pod_bound(node, &mut self.space);
        if alone {
            if update.started > 0 {
                update.started -= 1;
                self.start_pod(pod);
            } else {
                self.nodes[node.index()].waiting.push_back(pod);
            }
        }
        self.apply_update(node, update);
        if self.pods[pod.0 as usize].state == PodState::WaitingIp {
            self.tracker.pod_ip_waits += 1;
        }
    }

    fn start_pod(&mut self, pod: PodId) {
        let p = &mut self.pods[pod.0 as usize];
        // A running churn pod's lifetime field holds its end time, not the time left.
        debug_assert_ne!(p.state, PodState::Running, "pod {pod:?} started twice");
        let pool = p.counted_pool();
        if p.state == PodState::WaitingIp {
            self.pools[pool].waiting -= 1;
            self.tracker.waiting_now -= 1;
        }
        p.state = PodState::Running;
        self.pools[pool].running += 1;
        if let Some(at) = p.start_lifetime(self.sim.now()) {
            let (generation, node) = (p.generation, p.node().expect("a started pod is bound"));
            self.sim.schedule(at, Event::PodEnd(pod, generation, node));
        }
        if let WorkloadKind::Deployment { rolling: true, .. } = self.workloads[p.workload()].kind {
            self.rollouts_due.push(p.workload());
        }
    }

    /// Take a bound pod off its node, returning its IP.
    fn unbind(&mut self, pod: PodId) {
        let p = &mut self.pods[pod.0 as usize];
        let node = p.node().expect("a bound pod has a node");
        p.set_node(None);
        let (state, pool) = (p.state, p.counted_pool());
        let slot = self.pod_slots[pod.0 as usize];
        let n = &mut self.nodes[node.index()];
        if let Some(moved) = n.swap_remove_pod(usize::from(slot)) {
            self.pod_slots[moved.0 as usize] = slot;
        }
        match state {
            PodState::Running => {
                self.pools[pool].running -= 1;
                let p = &mut self.pods[pod.0 as usize];
                p.generation = p.generation.wrapping_add(1);
                p.stop_lifetime(self.sim.now());
            }
            PodState::WaitingIp => {
                self.pools[pool].waiting -= 1;
                self.tracker.waiting_now -= 1;
                let n = &mut self.nodes[node.index()];
                if let Some(i) = n.waiting.iter().position(|&w| w == pod) {
                    n.waiting.remove(i);
                }
            }
            PodState::Unschedulable | PodState::Gone => unreachable!("pod {pod:?} was bound"),
        }
        if self.pods[pod.0 as usize].host_network {
            self.refresh(node);
        } else {
            let cluster = self.pools[self.nodes[node.index()].pool()].cluster;
            let had_ip = state == PodState::Running;
            let update = self.clusters[cluster].allocator.pod_unbound(node, had_ip, &mut self.space);
            // Refreshes the node too.
            self.apply_update(node, update);
        }
    }

    /// An evicted pod is rescheduled: deployments and jobs recreate their pods
    /// (a churn pod keeps the lifetime it has left); daemonset pods just go.
    fn evict(&mut self, pod: PodId) {
        if self.is_daemon(pod) {
            self.delete_pod(pod);
            return;
        }
        self.unbind(pod);
        self.pods_created += 1;
        let p = &mut self.pods[pod.0 as usize];
        p.created = self.pods_created;
        p.state = PodState::Unschedulable;
        self.place(pod);
    }

    fn delete_pod(&mut self, pod: PodId) {
        match self.pods[pod.0 as usize].state {
            PodState::Running | PodState::WaitingIp => self.unbind(pod),
            PodState::Unschedulable => self.clear_unschedulable(pod),
            PodState::Gone => return,
        }
        let p = &mut self.pods[pod.0 as usize];
        p.state = PodState::Gone;
        p.generation = p.generation.wrapping_add(1);
        let (workload, slot) = (p.workload(), p.workload_slot as usize);
        if !matches!(self.workloads[workload].kind, WorkloadKind::Churn(_)) {
            let list = &mut self.workloads[workload].pods;
            list.swap_remove(slot);
            if let Some(&moved) = list.get(slot) {
                self.pods[moved.0 as usize].workload_slot = slot as u32;
            }
        }
        self.free_pods.push(pod.0);
    }

    // ----- deployments -------------------------------------------------------------

    fn scale_deployment(&mut self, w: usize, replicas: u32) {
        let WorkloadKind::Deployment { replicas: current, revision, rolling } = &mut self.workloads[w].kind else {
            return;
        };
        *current = replicas;
        let (revision, rolling) = (*revision, *rolling);
        if rolling {
            // Scaled down mid-rollout: the new revision keeps at most `replicas`
            // pods (its surplus goes, not-running first); the rollout then
            // retires the old pods as availability allows.
            let new = self.workloads[w].pods.iter().filter(|p| self.pods[p.0 as usize].revision == revision).count();
            if let Some(surplus) = (new as u32).checked_sub(replicas).filter(|&n| n > 0) {
                self.remove_replicas(w, surplus, move |p| p.revision == revision);
            }
            self.rollouts_due.push(w);
            return;
        }
        let have = self.workloads[w].pods.len() as u32;
        if replicas > have {
            for _ in have..replicas {
                let pod = self.new_pod(w, false, revision, None);
                self.place(pod);
            }
        } else if replicas < have {
            self.remove_replicas(w, have - replicas, |_| true);
        }
    }

    /// Delete `count` of a deployment's pods as the ReplicaSet controller ranks
    /// them: not yet running first (newest first), then pods on the nodes that
    /// hold the most of its replicas, newest first, one at a time.
    fn remove_replicas(&mut self, w: usize, mut count: u32, which: impl Fn(&Pod) -> bool) {
        let mut not_running: Vec<PodId> = Vec::new();
        let mut by_node: BTreeMap<NodeId, Vec<PodId>> = BTreeMap::new();
        for &pod in &self.workloads[w].pods {
            let p = &self.pods[pod.0 as usize];
            if !which(p) {
                continue;
            }
            match (p.state, p.node()) {
                (PodState::Running, Some(node)) => by_node.entry(node).or_default().push(pod),
                _ => not_running.push(pod),
            }
        }
        not_running.sort_by_key(|p| std::cmp::Reverse(self.pods[p.0 as usize].created));
        for pod in not_running {
            if count == 0 {
                return;
            }
            self.delete_pod(pod);
            count -= 1;
        }
        let created = |pods: &Vec<Pod>, id: PodId| pods[id.0 as usize].created;
        let mut ranked: BTreeSet<(usize, u64, NodeId)> = BTreeSet::new();
        for (&node, list) in by_node.iter_mut() {
            list.sort_by_key(|&p| created(&self.pods, p));
            ranked.insert((list.len(), created(&self.pods, *list.last().expect("non-empty")), node));
        }
        while count > 0 {
            let Some((_, _, node)) = ranked.pop_last() else { return };
            let list = by_node.get_mut(&node).expect("ranked nodes have pods");
            let pod = list.pop().expect("non-empty");
            if let Some(&newest) = list.last() {
                ranked.insert((list.len(), created(&self.pods, newest), node));
            }
            self.delete_pod(pod);
            count -= 1;
        }
    }

    /// One pass of a deployment's rolling update (maxSurge 25 % rounded up,
    /// maxUnavailable 25 % rounded down): add new pods up to the surge, remove
    /// old pods not running, then old running pods while enough stay available.
    /// It runs again whenever one of the deployment's pods starts.
    fn rollout_progress(&mut self, w: usize) {
        let WorkloadKind::Deployment { replicas, revision, rolling: true } = self.workloads[w].kind else { return };
        let surge = (u64::from(replicas) * 25).div_ceil(100) as u32;
        let unavailable = (u64::from(replicas) * 25 / 100) as u32;
        let surge = if surge == 0 && unavailable == 0 { 1 } else { surge };
        let min_available = replicas - unavailable;
        let count = |world: &Self| {
            let (mut old, mut old_running, mut new, mut new_running) = (0u32, 0u32, 0u32, 0u32);
            for &pod in &world.workloads[w].pods {
                let p = &world.pods[pod.0 as usize];
                let running = p.state == PodState::Running;
                if p.revision == revision {
                    new += 1;
                    new_running += u32::from(running);
                } else {
                    old += 1;
                    old_running += u32::from(running);
                }
            }
            (old, old_running, new, new_running)
        };
        let (old, _, new, _) = count(self);
        for _ in 0..replicas.saturating_sub(new).min((replicas + surge).saturating_sub(old + new)) {
            let pod = self.new_pod(w, false, revision, None);
            self.place(pod);
        }
        let (_, old_running, _, _) = count(self);
        let not_running_old = old - old_running.min(old);
        if not_running_old > 0 {
            self.remove_replicas(w, not_running_old, move |p| p.revision != revision && p.state != PodState::Running);
        }
        let (old, old_running, new, new_running) = count(self);
        let available = old_running + new_running;
        let removable = available.saturating_sub(min_available).min(old_running);
        if removable > 0 {
            self.remove_replicas(w, removable, move |p| p.revision != revision);
            self.rollouts_due.push(w);
        }
        let (old, new) = if removable > 0 { (old - removable, new) } else { (old, new) };
        if old == 0 && new >= replicas {
            if let WorkloadKind::Deployment { rolling, .. } = &mut self.workloads[w].kind {
                *rolling = false;
            }
            if new > replicas {
                self.remove_replicas(w, new - replicas, |_| true);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Creation {
    /// Time zero: nodes exist already provisioned.
    Provisioned,
    /// Ready after `timing.node_provision`.
    Provision,
    /// An upgrade's surge nodes: failure logs `upgrade-blocked`.
    Surge,
}

/// `now + delay`, or `None` past the last millisecond `SimTime` holds: such a
/// time never comes. (Saturating instead would make a recurring event — churn
/// arrivals, autoscaler scans — recur at that last millisecond forever.)
fn after(now: SimTime, delay: SimTime) -> Option<SimTime> {
    now.as_millis().checked_add(delay.as_millis()).map(SimTime::from_millis)
}

/// Milliseconds from a non-negative float, rounded half away from zero like
/// `f64::round`, saturating.
#[inline]
fn millis(ms: f64) -> u64 {
    // Below 2^52 the integer part converts exactly and `ms - whole` is exact, so
    // this is `ms.round()` without the libm call (x86-64's baseline has no
    // rounding instruction), on every churn draw.
    if ms > 0.0 && ms < 4_503_599_627_370_496.0 {
        let whole = ms as u64;
        whole + u64::from(ms - whole as f64 >= 0.5)
    } else if ms.is_finite() && ms > 0.0 {
        ms.round().min(u64::MAX as f64) as u64
    } else if ms > 0.0 {
        u64::MAX
    } else {
        0
    }
}

/// A Poisson process's gap to the next arrival.
fn churn_gap(churn: &mut Churn) -> SimTime {
    let gap = standard_exponential(&mut churn.rng) / churn.rate_per_ms;
    SimTime::from_millis(millis(gap))
}

/// One arrival's draws, in the stream's order: the lifetime, then the gap.
fn churn_draws(churn: &mut Churn) -> ChurnDraws {
    let lifetime_ms = sample_lifetime(&churn.lifetime, &mut churn.rng);
    ChurnDraws { lifetime_ms, gap: churn_gap(churn) }
}

/// Draw a churn pod's lifetime in milliseconds.
fn sample_lifetime(lifetime: &scenario::Lifetime, rng: &mut rand_chacha::ChaCha8Rng) -> u64 {
    use scenario::Lifetime;
    let secs = |s: u64| s as f64 * 1000.0;
    match *lifetime {
        Lifetime::Fixed(d) => millis(secs(d)),
        Lifetime::Exponential(mean) => millis(standard_exponential(rng) * secs(mean)),
        Lifetime::Uniform(lo, hi) => {
            let u: f64 = rng.random();
            millis(secs(lo) + u * (secs(hi) - secs(lo)))
        }
        Lifetime::LogNormal { median, sigma } => {
            // Box–Muller: one standard normal from two uniforms.
            let u1: f64 = rng.random();
            let u2: f64 = rng.random();
            let z = (-2.0 * libm::log(1.0 - u1)).sqrt() * libm::cos(std::f64::consts::TAU * u2);
            millis(secs(median) * libm::exp(sigma * z))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{millis, sample_lifetime};

    /// The exponential draws (lifetimes here; the gaps are the same draw scaled
    /// by the rate) have the right mean and tail: P(X > k·mean) = e^-k.
    #[test]
    fn exponential_lifetimes_have_their_mean_and_tail() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mean_ms = 600_000.0;
        let n = 400_000;
        let draws: Vec<u64> =
            (0..n).map(|_| sample_lifetime(&scenario::Lifetime::Exponential(600), &mut rng)).collect();
        let mean = draws.iter().sum::<u64>() as f64 / n as f64;
        assert!((mean / mean_ms - 1.0).abs() < 0.01, "mean {mean} ms");
        for k in [0.1f64, 1.0, 3.0, 7.0] {
            let above = draws.iter().filter(|&&d| d as f64 > k * mean_ms).count() as f64 / n as f64;
            let expected = libm::exp(-k);
            // Four binomial standard deviations.
            let sd = (expected * (1.0 - expected) / n as f64).sqrt();
            assert!((above - expected).abs() < 4.0 * sd, "P(X > {k} mean) = {above}, expected {expected}");
        }
    }

    /// What `millis` must stay equal to: the rounding the outputs were made with.
    fn reference(ms: f64) -> u64 {
        if ms.is_finite() && ms > 0.0 {
            ms.round().min(u64::MAX as f64) as u64
        } else if ms > 0.0 {
            u64::MAX
        } else {
            0
        }
    }

    #[test]
    fn millis_rounds_half_away_from_zero_and_saturates() {
        let halfway_below = 0.49999999999999994;
        for ms in [
            0.0,
            -0.0,
            -1.5,
            0.5,
            halfway_below,
            1.5,
            2.5,
            2.4999999999999996,
            1e15 + 0.5,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.3e18,
            1.9e19,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            5e-324,
        ] {
            assert_eq!(millis(ms), reference(ms), "{ms}");
        }
        assert_eq!((millis(0.5), millis(halfway_below), millis(2.5)), (1, 0, 3));
    }

    proptest! {
        #[test]
        fn millis_matches_f64_round(bits in any::<u64>(), small in 0.0f64..1e7) {
            let any = f64::from_bits(bits);
            prop_assert_eq!(millis(any), reference(any));
            prop_assert_eq!(millis(small), reference(small));
        }
    }
}
