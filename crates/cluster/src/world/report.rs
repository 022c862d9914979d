//! What the replay reports while it runs: samples, the events log, and the
//! breakdown of who holds a range after an event (`podip plan`'s explanations).

use super::*;

impl World<'_> {
    /// Who holds range `at.range` now, and what the scenario is doing
    /// (`podip plan`'s explanation of a peak). O(nodes): taken once per range.
    pub(super) fn breakdown(&self, at: BreakdownAt, event: Option<Event>) -> Breakdown {
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
    pub(super) fn describe(&self, event: Option<Event>) -> String {
        let pool_name = |p: usize| format!("{}/{}", self.clusters[self.pools[p].cluster].name, self.pools[p].spec.name);
        let Some(event) = event else {
            return "time zero: the pools' first nodes and the workloads' first pods".into();
        };
        match event {
            Event::Timeline(i) => match &self.scenario.events[i as usize].action {
                Action::ScalePool { cluster, pool, count, .. } => {
                    format!("scale_pool {cluster}/{pool} to {count} nodes")
                }
                Action::UpgradePool { cluster, pool, .. } => {
                    format!("upgrade_pool {cluster}/{pool}: surge nodes created")
                }
                Action::AddPool { cluster, pool, .. } => {
                    format!("add_pool {cluster}/{} ({} nodes)", pool.name, pool.count)
                }
                Action::RemovePool { cluster, pool, .. } => format!("remove_pool {cluster}/{pool}"),
                Action::ScaleWorkload { name, replicas, .. } => format!("scale_workload {name} to {replicas} replicas"),
                Action::Rollout { name, .. } => format!("rollout of {name}"),
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

    pub(super) fn sample(&self, time_s: u64, utilization: &mut Vec<RangeSample>, rows: &mut Vec<PoolSample>) {
        for (id, range) in self.space.iter() {
            utilization.push(RangeSample {
                time_s,
                range: id.0,
                usable: range.usable(),
                allocated: range.allocated(),
                in_use: range.in_use(),
                free_blocks_28: range.free_blocks(28),
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

    pub(super) fn log(
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
    pub(super) fn log_pool_failure(
        &mut self,
        pool: usize,
        kind: EventKind,
        failure: &allocator::Failure,
        detail: String,
    ) -> bool {
        if self.pools[pool].logged.contains(&kind) {
            return false;
        }
        self.pools[pool].logged.push(kind);
        self.log(kind, Some(pool), None, failure.range, detail, Some(failure.kind));
        true
    }
}
