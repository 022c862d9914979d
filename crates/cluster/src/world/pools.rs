//! Node pools: time zero, declaring and opening pools, scale and remove
//! operations, rolling upgrades (model.md, "Rolling upgrade") and the cluster
//! autoscaler (model.md, "Cluster autoscaler").

use super::*;

impl World<'_> {
    /// Pools' nodes exist already provisioned, pool by pool, each one atomic
    /// operation; then workloads place their pods (model.md, "Time zero").
    pub(super) fn time_zero(&mut self) {
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
            if let Action::AddPool { cluster_id, pool, .. } = &event.action {
                self.declare_pool(cluster_id.index(), pool);
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
    pub(super) fn pool_slot(&self, cluster: usize, name: &str) -> Option<usize> {
        self.pools.iter().position(|p| p.cluster == cluster && p.spec.name == name)
    }

    /// The pool's slot: one per (cluster, pool name) for the whole run, so a
    /// pool removed and added again keeps one row in `cluster.csv`. A declared
    /// pool is not live (not in its cluster's `pools`) until [`Self::open_pool`].
    pub(super) fn declare_pool(&mut self, cluster: usize, spec: &NodePool) -> usize {
        if let Some(slot) = self.pool_slot(cluster, &spec.name) {
            return slot;
        }
        let (node_subnet, pod_subnet) = ranges_of(spec);
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
    pub(super) fn open_pool(&mut self, index: usize, spec: NodePool) {
        let (node_subnet, pod_subnet) = ranges_of(&spec);
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

    pub(super) fn scale_pool(&mut self, pool: usize, count: u32, operation: &str) {
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

    pub(super) fn remove_pool(&mut self, pool: usize) {
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
    pub(super) fn recount_unrestricted_pending(&mut self, cluster: usize, to: usize) {
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

    pub(super) fn start_upgrade(&mut self, pool: usize) {
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

    pub(super) fn upgrade_step(&mut self, pool: usize) {
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

    pub(super) fn upgrade_drained(&mut self, pool: usize) {
        let Some(upgrade) = self.pools[pool].upgrade.as_ref() else { return };
        for &node in &upgrade.batch {
            self.nodes[node.index()].phase = Phase::Reimaging;
        }
        self.sim.schedule_in(self.reimage, Event::UpgradeStep(pool as u32));
    }

    pub(super) fn autoscaler_scan(&mut self, cluster: usize) {
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
}

/// A pool's subnets as ranges: subnets are the address space's first ranges,
/// in `network.subnets` order, so a subnet's id is its range's.
fn ranges_of(spec: &NodePool) -> (RangeId, Option<RangeId>) {
    (RangeId(spec.vnet_subnet_id.0), spec.pod_subnet_id.map(|id| RangeId(id.0)))
}
