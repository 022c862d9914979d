//! Nodes: creation (all or nothing per operation), readiness, drain and
//! deletion, their place in the scheduling sets, and what the allocator's
//! answers mean for them (started pods, failures, short of addresses).

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Creation {
    /// Time zero: nodes exist already provisioned.
    Provisioned,
    /// Ready after `timing.node_provision`.
    Provision,
    /// An upgrade's surge nodes: failure logs `upgrade-blocked`.
    Surge,
}

impl World<'_> {
    /// The cloud's pre-check of an operation of `count` new nodes that failed
    /// on the range it checks, in the cloud's words, against that range's free
    /// addresses before the operation (its nodes are undone by now).
    fn precheck_words(
        &self,
        cluster: usize,
        spec: &NodeSpec,
        count: u32,
        failure: &allocator::Failure,
    ) -> Option<String> {
        let check = (self.scenario.clusters[cluster].allocator.prechecked)(spec.max_pods)?;
        let range = match check.range {
            Role::NodeSubnet => spec.node_subnet,
            Role::PodSubnet => spec.pod_subnet?,
            Role::PodCidr => return None,
        };
        if failure.range != Some(range) || self.space[range].is_unconstrained() {
            return None;
        }
        let r = &self.space[range];
        Some(check.words(count, r.free(), r.prefix()))
    }

    /// Create `count` nodes in `pool` as one atomic operation: all or none.
    pub(super) fn create_nodes(&mut self, pool: usize, count: u32, how: Creation, operation: &str) -> bool {
        if count == 0 {
            return true;
        }
        let cluster = self.pools[pool].cluster;
        let spec = NodeSpec {
            node_subnet: self.pools[pool].node_subnet,
            pod_subnet: self.pools[pool].pod_subnet,
            max_pods: self.pools[pool].spec.max_pods,
            machine: self.pools[pool].spec.machine,
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
                let mut detail = format!(
                    "{operation}: {} of {count} new node(s) failed: {} (wanted {}, available {}); no node created",
                    i + 1,
                    failure.kind,
                    failure.wanted,
                    failure.available
                );
                if let Some(words) = self.precheck_words(cluster, &spec, count, &failure) {
                    detail.push_str("; ");
                    detail.push_str(&words);
                }
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

    pub(super) fn node_ready(&mut self, node: NodeId) {
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
    pub(super) fn begin_delete(&mut self, node: NodeId) {
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

    pub(super) fn evict_pods(&mut self, node: NodeId) {
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

    pub(super) fn delete_node(&mut self, node: NodeId) {
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
    #[inline(always)]
    pub(super) fn refresh(&mut self, node: NodeId) {
        let n = &mut self.nodes[node.index()];
        let p = &mut self.pools[n.pool()];
        let pods = n.pods().len() as u32;
        let ready = n.phase == Phase::Ready && !n.deleting;
        if ready && !n.accepts_pods {
            let cluster = &self.clusters[p.cluster];
            n.accepts_pods = !cluster.may_refuse_pods || cluster.allocator.accepts_pods(node);
        }
        let schedulable = ready && pods < n.max_pods && n.accepts_pods;
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
    pub(super) fn relist(&mut self, node: NodeId, listed: bool, stays: bool) {
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

    /// Act on what an allocator said about a node: after every bind and unbind.
    #[inline(always)]
    pub(super) fn apply_update(&mut self, node: NodeId, update: Update) {
        for _ in 0..update.started {
            let pod = self.nodes[node.index()].waiting.pop_front().expect("allocator started a waiting pod");
            self.start_pod(pod);
        }
        match update.request {
            Request::None => {}
            Request::Granted => self.nodes[node.index()].ip_episode = false,
            Request::Failed(failure) => {
                if !self.nodes[node.index()].ip_episode {
                    self.log_ip_failure(node, failure);
                }
            }
        }
        self.set_short(node, update);
        self.refresh(node);
    }

    /// The first failed request of a node's episode of failures: an event row.
    #[cold]
    #[inline(never)]
    fn log_ip_failure(&mut self, node: NodeId, failure: allocator::Failure) {
        self.nodes[node.index()].ip_episode = true;
        let pool = self.nodes[node.index()].pool();
        let waiting = self.nodes[node.index()].waiting.len();
        let mut detail = format!(
            "node asked for {} more address(es), {} available; {waiting} pod(s) waiting",
            failure.wanted, failure.available
        );
        let cluster = &self.scenario.clusters[self.pools[pool].cluster];
        if let Some(words) = (cluster.allocator.failure_words)(&failure, &self.space) {
            detail.push_str("; ");
            detail.push_str(&words);
        }
        let kind = EventKind::Allocation(failure.kind);
        self.log(kind, Some(pool), Some(node), failure.range, detail, Some(failure.kind));
    }

    /// Track whether a node is short of addresses, where and by how much.
    #[inline(always)]
    pub(super) fn set_short(&mut self, node: NodeId, update: Update) {
        // Not short before or after: the common case, nothing to do.
        if update.short || self.nodes[node.index()].short.is_some() {
            self.update_short(node, update);
        }
    }

    #[inline(never)]
    pub(super) fn update_short(&mut self, node: NodeId, update: Update) {
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
}
