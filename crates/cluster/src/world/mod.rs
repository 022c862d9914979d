//! The cluster model: builds the address space and allocators from a scenario,
//! then replays it event by event. This module holds the state (`World`), the
//! closed set of events (`Event`), the run loop and the dispatch; each concern's
//! handlers live in a submodule (`pools`, `nodes`, `pods`, `workloads`,
//! `report`, `invariants`). Everything that changes state goes through them;
//! `settle` runs after each event so retries happen in the order model.md gives.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use allocator::{NodeId, NodeSpec, Request, Role, Update, Wake};
use engine::{SimTime, Simulation, Streams};
use net::{AddressRange, AddressSpace, Granularity, RangeId};
use rand::RngExt;
use scenario::{Action, ClusterId, NodePool, Scenario, Scheduler};

use crate::ReplayError;
use crate::load::{Keep, LoadIndex};
use crate::record::{
    Breakdown, BreakdownAt, EventKind, EventRecord, Holders, PoolInfo, PoolSample, RangeInfo, RangeSample, Replay,
    Tracker,
};
use crate::state::*;

mod draws;
mod invariants;
mod nodes;
mod pods;
mod pools;
mod report;
mod workloads;

use draws::{churn_draws, churn_gap};
use nodes::Creation;
use workloads::after;

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
    /// `Options::per_pod_unschedulable`: a row per pod instead of per episode.
    per_pod_unschedulable: bool,
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
        let subnets = scenario.network.subnets.len();
        let mut units: Vec<Option<Granularity>> = vec![None; subnets];
        let mut rules: Vec<Option<net::SubnetRules>> = vec![None; subnets];
        let added = scenario.events.iter().filter_map(|e| match &e.action {
            Action::AddPool { cluster_id, pool, .. } => Some((cluster_id.index(), pool)),
            _ => None,
        });
        let pools = scenario.clusters.iter().enumerate().flat_map(|(i, c)| c.node_pools.iter().map(move |p| (i, p)));
        for (cluster, pool) in pools.chain(added) {
            let mode = scenario.clusters[cluster].allocator;
            rules[pool.vnet_subnet_id.index()].get_or_insert(mode.subnet_rules);
            if let (Some(subnet), Some(unit)) = (pool.pod_subnet_id, mode.pod_subnet) {
                units[subnet.index()].get_or_insert(unit);
                rules[subnet.index()].get_or_insert(mode.pod_subnet_rules);
            }
        }
        let mut space = AddressSpace::new();
        for (i, subnet) in scenario.network.subnets.iter().enumerate() {
            let granularity = units[i].unwrap_or(Granularity::ADDRESS);
            let cloud = rules[i].unwrap_or(net::SubnetRules::AZURE);
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
            per_pod_unschedulable: false,
            queued: 0,
            scratch_pools: Vec::new(),
        };
        for workload in &scenario.workloads {
            let cluster = workload.cluster_id.index();
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
                unschedulable: 0,
                episode: None,
            });
        }
        Ok(world)
    }

    /// The live pool of that name, if any: pools come and go over a run, so
    /// events name them and the model looks for them among the live ones.
    fn pool_index(&self, cluster: ClusterId, pool: &str) -> Option<usize> {
        self.clusters[cluster.index()].pools.iter().copied().find(|&p| self.pools[p].spec.name == pool)
    }

    fn now(&self) -> SimTime {
        self.sim.now()
    }

    pub fn run(
        mut self,
        options: &crate::Options,
        progress: &mut dyn FnMut(crate::Progress),
    ) -> Result<Replay, ReplayError> {
        let check_invariants = options.check_invariants;
        self.per_pod_unschedulable = options.per_pod_unschedulable;
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
        let mut next_breakdown = wanted.peek().map_or(u64::MAX, |(_, at)| at.event);
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
                // A snapshot is rare (`podip plan --explain`); the check is on every event.
                if processed == next_breakdown {
                    while let Some((i, at)) = wanted.next_if(|(_, at)| at.event == processed) {
                        breakdowns[i] = Some(self.breakdown(at, Some(event)));
                    }
                    next_breakdown = wanted.peek().map_or(u64::MAX, |(_, at)| at.event);
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
        self.close_unschedulable_episodes();
        let summary = self.tracker.finish(end, &self.space, &self.events);
        Ok(Replay {
            scenario_name: scenario.name.clone(),
            allocator: allocator_label(scenario),
            ranges: self
                .space
                .iter()
                .map(|(id, r)| RangeInfo {
                    name: r.name().to_string(),
                    prefix: r.prefix(),
                    is_vnet_subnet: r.kind() == net::RangeKind::VnetSubnet,
                    block: self.clusters.iter().find_map(|c| c.allocator.claim_unit(id)),
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

    #[inline(always)]
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
                    self.delete_pod_inline(pod);
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
    #[inline(always)]
    fn clock(&mut self) {
        // Runs on every event; most scenarios have no timed mode.
        if !self.timed.is_empty() {
            self.tell_timed_modes();
        }
    }

    #[inline(never)]
    fn tell_timed_modes(&mut self) {
        let now = self.sim.now().as_millis();
        for &cluster in &self.timed {
            self.clusters[cluster].allocator.set_now(now);
        }
    }

    /// Schedules the wakes timed modes asked for during the last event.
    #[inline(always)]
    fn schedule_wakes(&mut self) {
        if !self.timed.is_empty() {
            self.schedule_timed_wakes();
        }
    }

    #[inline(never)]
    fn schedule_timed_wakes(&mut self) {
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
            Action::ScalePool { cluster_id, pool, count, .. } => {
                if let Some(pool) = self.pool_index(*cluster_id, pool) {
                    self.scale_pool(pool, *count, "scale_pool");
                }
            }
            Action::UpgradePool { cluster_id, pool, .. } => {
                if let Some(pool) = self.pool_index(*cluster_id, pool) {
                    self.start_upgrade(pool);
                }
            }
            Action::AddPool { cluster_id, pool, .. } => {
                if self.pool_index(*cluster_id, &pool.name).is_none() {
                    let index = self.declare_pool(cluster_id.index(), pool);
                    self.open_pool(index, pool.clone());
                    if self.create_nodes(index, pool.count, Creation::Provision, "add_pool") {
                        self.pools[index].target = pool.count;
                    }
                }
            }
            Action::RemovePool { cluster_id, pool, .. } => {
                if let Some(pool) = self.pool_index(*cluster_id, pool) {
                    self.remove_pool(pool);
                }
            }
            Action::ScaleWorkload { workload, replicas, .. } => self.scale_deployment(workload.index(), *replicas),
            Action::Rollout { workload, .. } => {
                let w = workload.index();
                if let WorkloadKind::Deployment { revision, rolling, .. } = &mut self.workloads[w].kind {
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
    #[inline(always)]
    fn settle(&mut self) {
        // Most events leave nothing to retry, place or roll.
        if self.short_nodes > 0
            || !self.rollouts_due.is_empty()
            || self.clusters.iter().any(|c| c.unschedulable_total > 0)
        {
            self.settle_all();
        }
    }

    #[inline(never)]
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
}
