//! Workloads: deployments (scaling, rollouts), daemonsets and churn arrivals
//! (their draws are in `draws.rs`).

use super::*;

impl World<'_> {
    pub(super) fn start_workload(&mut self, w: usize) {
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
    pub(super) fn start_churn(&mut self, w: usize) {
        let WorkloadKind::Churn(churn) = &mut self.workloads[w].kind else { return };
        if churn.start <= churn.end {
            let first = after(churn.start, churn_gap(churn));
            churn.ahead = churn_draws(churn);
            if let Some(first) = first.filter(|&t| t <= churn.end) {
                self.sim.schedule(first, Event::ChurnArrival(w as u32));
            }
        }
    }

    pub(super) fn daemon_pod(&mut self, w: usize, node: NodeId, host_network: bool) {
        let n = &self.nodes[node.index()];
        if n.pods().len() as u32 >= n.max_pods {
            return;
        }
        let pod = self.new_pod(w, host_network, 0, None);
        self.bind(pod, node);
    }

    pub(super) fn churn_arrival(&mut self, w: usize) {
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

    pub(super) fn scale_deployment(&mut self, w: usize, replicas: u32) {
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
    pub(super) fn remove_replicas(&mut self, w: usize, mut count: u32, which: impl Fn(&Pod) -> bool) {
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
    pub(super) fn rollout_progress(&mut self, w: usize) {
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

/// `now + delay`, or `None` past the last millisecond `SimTime` holds: such a
/// time never comes. (Saturating instead would make a recurring event — churn
/// arrivals, autoscaler scans — recur at that last millisecond forever.)
pub(super) fn after(now: SimTime, delay: SimTime) -> Option<SimTime> {
    now.as_millis().checked_add(delay.as_millis()).map(SimTime::from_millis)
}
