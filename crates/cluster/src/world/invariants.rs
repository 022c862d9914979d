//! Whole-state invariants (`Options::check_invariants`): address counts, pod
//! accounting and the scheduler's bookkeeping, recomputed from scratch.

use super::*;

impl World<'_> {
    /// Whole-state invariants (hardening): address counts, pod accounting and
    /// the scheduler's bookkeeping, recomputed from scratch. O(pods + nodes).
    pub(super) fn check_invariants(&self) -> Result<(), String> {
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
                let allocator = &self.clusters[pool.cluster].allocator;
                if n.phase != Phase::Deleted && n.accepts_pods && !allocator.accepts_pods(node) {
                    return Err(format!("node {}: its allocator refuses pods again after accepting them", n.name));
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
    pub(super) fn check_pods_accounted(&self) -> Result<(), String> {
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
    pub(super) fn check_bound_addresses(&self) -> Result<(), String> {
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
                Role::PodSubnet => match n.pod_subnet {
                    Some(subnet) => subnet,
                    None if cluster.allocator.pod_subnet_optional => n.node_subnet,
                    None => return Err(format!("a {} node without a pod subnet", cluster.name)),
                },
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
}
