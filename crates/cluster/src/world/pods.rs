//! Pods: creation, scheduling (`pick_node`, the unschedulable queues), binding
//! and unbinding, eviction and deletion.

use super::*;

impl World<'_> {
    pub(super) fn is_daemon(&self, pod: PodId) -> bool {
        matches!(self.workloads[self.pods[pod.0 as usize].workload()].kind, WorkloadKind::DaemonSet { .. })
    }

    pub(super) fn new_pod(
        &mut self,
        workload: usize,
        host_network: bool,
        revision: u32,
        lifetime: Option<u64>,
    ) -> PodId {
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

    /// Pick a node for a pod: `spread` fewest pods first, `pack` most pods first,
    /// `random` uniformly; ties by node creation order.
    pub(super) fn pick_node(&mut self, pod: PodId) -> Option<NodeId> {
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
    pub(super) fn place(&mut self, pod: PodId) {
        match self.pick_node(pod) {
            Some(node) => self.bind(pod, node),
            None => self.mark_unschedulable(pod),
        }
    }

    pub(super) fn mark_unschedulable(&mut self, pod: PodId) {
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
        let w = &mut self.workloads[workload];
        w.unschedulable += 1;
        if self.per_pod_unschedulable {
            if !p.logged_unschedulable {
                p.logged_unschedulable = true;
                let detail = format!("pod {}-{}: no eligible node has room (max_pods)", w.name, p.number);
                self.log_unschedulable(workload, detail);
            }
            return;
        }
        match &mut w.episode {
            Some(episode) => episode.most = episode.most.max(w.unschedulable),
            None => {
                let event = self.events.len();
                w.episode = Some(Episode { event, most: 1 });
                // Completed when the episode ends (`end_episode`).
                let detail = String::new();
                self.log_unschedulable(workload, detail);
            }
        }
    }

    /// A `pod-unschedulable` row for `workload`: its pool if it is pinned to
    /// one, else its cluster.
    fn log_unschedulable(&mut self, workload: usize, detail: String) {
        let restrict = self.workloads[workload].pool;
        self.log(EventKind::PodUnschedulable, restrict, None, None, detail, None);
        if restrict.is_none()
            && let Some(last) = self.events.last_mut()
        {
            last.cluster = self.clusters[self.workloads[workload].cluster].name.clone();
        }
    }

    /// The workload's episode ends: its row says when and how many waited.
    fn end_episode(&mut self, workload: usize, still_waiting: bool) {
        let now = self.now().as_secs();
        let w = &mut self.workloads[workload];
        let Some(episode) = w.episode.take() else { return };
        let row = &mut self.events[episode.event];
        let how_long = if still_waiting {
            format!("until the end ({} still waiting)", w.unschedulable)
        } else {
            format!("for {} s", now - row.time_s)
        };
        let most = episode.most;
        let pods = if most == 1 { "pod" } else { "pods" };
        row.detail = format!(
            "workload {}: at most {most} {pods} at once found no eligible node with room (max_pods), {how_long}",
            w.name
        );
    }

    /// At the end of the replay, episodes still under way are closed as such.
    pub(super) fn close_unschedulable_episodes(&mut self) {
        for workload in 0..self.workloads.len() {
            if self.workloads[workload].episode.is_some() {
                self.end_episode(workload, true);
            }
        }
    }

    pub(super) fn clear_unschedulable(&mut self, pod: PodId) {
        let p = &self.pods[pod.0 as usize];
        let workload = p.workload();
        let w = &mut self.workloads[workload];
        w.unschedulable -= 1;
        if w.unschedulable == 0 && w.episode.is_some() {
            self.end_episode(workload, false);
        }
        let p = &self.pods[pod.0 as usize];
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
    pub(super) fn place_unschedulable(&mut self, cluster: usize) {
        // Nothing waits (queues may still hold stale entries; later passes drop them).
        if self.clusters[cluster].unschedulable_total > 0 {
            self.place_queued(cluster);
        }
    }

    pub(super) fn place_queued(&mut self, cluster: usize) {
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

    pub(super) fn bind(&mut self, pod: PodId, node: NodeId) {
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

    pub(super) fn start_pod(&mut self, pod: PodId) {
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
    pub(super) fn unbind(&mut self, pod: PodId) {
        self.unbind_inline(pod);
    }

    /// [`Self::unbind`] inlined, for [`Self::delete_pod_inline`] only.
    #[inline(always)]
    fn unbind_inline(&mut self, pod: PodId) {
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
    pub(super) fn evict(&mut self, pod: PodId) {
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

    pub(super) fn delete_pod(&mut self, pod: PodId) {
        self.delete_pod_inline(pod);
    }

    /// [`Self::delete_pod`] inlined into its caller: for the pod-end path, which
    /// is every other event of a churn (38 M of the peer churn's 2,108 M
    /// instructions). Only there: inlined at every caller, the two grew the
    /// binary's code by 136 KB and its resident memory with it.
    #[inline(always)]
    pub(super) fn delete_pod_inline(&mut self, pod: PodId) {
        match self.pods[pod.0 as usize].state {
            PodState::Running | PodState::WaitingIp => self.unbind_inline(pod),
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
}
