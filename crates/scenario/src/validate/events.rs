//! The timeline: events and their references, and the node limits over time.

use super::*;

impl Validator {
    pub(super) fn events(
        &mut self,
        raw: &[RawEvent],
        duration: Seconds,
        clusters: &[Cluster],
        workloads: &[Workload],
        known: &Known<'_>,
        pool_uses: &mut Vec<PoolUse>,
    ) -> Vec<TimedEvent> {
        let root = FieldPath::root().key("events");
        // (at, file index, action)
        let mut parsed: Vec<(Seconds, usize, Action)> = Vec::new();
        for (i, e) in raw.iter().enumerate() {
            let p = root.index(i);
            let at = self.duration(&p.key("at"), &e.at);
            let names = present([
                ("scale_pool", e.scale_pool.is_some()),
                ("upgrade_pool", e.upgrade_pool.is_some()),
                ("add_pool", e.add_pool.is_some()),
                ("remove_pool", e.remove_pool.is_some()),
                ("scale_workload", e.scale_workload.is_some()),
                ("rollout", e.rollout.is_some()),
            ]);
            match names.len() {
                1 => {}
                0 => {
                    self.err(
                        &p,
                        "an event needs one action: scale_pool, upgrade_pool, add_pool, remove_pool, \
                         scale_workload or rollout",
                    );
                    continue;
                }
                _ => {
                    self.err(
                        &p,
                        format!(
                            "an event holds exactly one action, this one has {}; split it into separate events",
                            names.join(" and ")
                        ),
                    );
                    continue;
                }
            }
            let cluster = |v: &mut Self, pc: FieldPath, name: &str| -> Option<usize> {
                let found = known.clusters.get(name).copied();
                if found.is_none() {
                    v.err(&pc, format!("unknown cluster `{name}`; known clusters: {}", known.cluster_list));
                }
                found
            };
            // Unknown names were reported as errors; their placeholders are never read.
            let cluster_id = |found: Option<usize>| ClusterId(found.map_or(u32::MAX, |i| i as u32));
            let workload_id = |name: &str| WorkloadId(known.workloads.get(name).map_or(u32::MAX, |&i| i as u32));
            let deployment = |v: &mut Self, pn: FieldPath, name: &str, action: &str| match known
                .workloads
                .get(name)
                .map(|&i| &workloads[i].kind)
            {
                None => v.err(&pn, format!("unknown workload `{name}`; known workloads: {}", known.workload_list)),
                Some(WorkloadKind::Deployment { .. }) => {}
                Some(kind) => {
                    let kind = if matches!(kind, WorkloadKind::DaemonSet { .. }) { "daemonset" } else { "churn" };
                    v.err(&pn, format!("`{name}` is a {kind} workload; {action} applies to deployments only"))
                }
            };
            let action = if let Some(a) = &e.scale_pool {
                let pa = p.key("scale_pool");
                let cluster_id = cluster_id(cluster(self, pa.key("cluster"), &a.cluster));
                if a.count > MAX_NODES_PER_POOL {
                    self.err(
                        &pa.key("count"),
                        format!("count {} exceeds the limit of {MAX_NODES_PER_POOL} nodes per pool", a.count),
                    );
                }
                Action::ScalePool {
                    cluster: a.cluster.clone(),
                    cluster_id,
                    pool: a.pool.clone(),
                    count: a.count.min(MAX_NODES_PER_POOL) as u32,
                }
            } else if let Some(a) = &e.upgrade_pool {
                let cluster_id = cluster_id(cluster(self, p.key("upgrade_pool").key("cluster"), &a.cluster));
                Action::UpgradePool { cluster: a.cluster.clone(), cluster_id, pool: a.pool.clone() }
            } else if let Some(a) = &e.remove_pool {
                let cluster_id = cluster_id(cluster(self, p.key("remove_pool").key("cluster"), &a.cluster));
                Action::RemovePool { cluster: a.cluster.clone(), cluster_id, pool: a.pool.clone() }
            } else if let Some(a) = &e.add_pool {
                let pa = p.key("add_pool");
                let Some(ci) = cluster(self, pa.key("cluster"), &a.cluster) else { continue };
                let c = &clusters[ci];
                let ctx = ClusterCtx {
                    name: c.name.clone(),
                    allocator: c.allocator,
                    max_pods: c.max_pods,
                    max_pods_written: c.max_pods_written,
                };
                if a.pool.name.trim().is_empty() {
                    self.err(&pa.key("pool").key("name"), "a pool name must not be empty");
                }
                let pool = self.pool(&a.pool, &pa.key("pool"), &ctx, known.subnets, pool_uses);
                Action::AddPool { cluster: a.cluster.clone(), cluster_id: ClusterId(ci as u32), pool }
            } else if let Some(a) = &e.scale_workload {
                let pa = p.key("scale_workload");
                deployment(self, pa.key("name"), &a.name, "scale_workload");
                let replicas = self.replicas(&pa.key("replicas"), a.replicas);
                Action::ScaleWorkload { name: a.name.clone(), workload: workload_id(&a.name), replicas }
            } else if let Some(a) = &e.rollout {
                deployment(self, p.key("rollout").key("name"), &a.name, "rollout");
                Action::Rollout { name: a.name.clone(), workload: workload_id(&a.name) }
            } else {
                unreachable!("exactly one action was found above")
            };
            if let Some(at) = at {
                parsed.push((at, i, action));
            }
        }
        // Replay order: by time, ties in file order.
        parsed.sort_by_key(|&(at, i, _)| (at, i));
        self.pool_timeline(&parsed, clusters, known);

        let mut out = Vec::new();
        for (at, i, action) in parsed {
            if at > duration {
                self.warn(
                    &root.index(i).key("at"),
                    format!(
                        "the event at {} comes after the scenario's duration ({}) and is dropped",
                        format_duration(at),
                        format_duration(duration)
                    ),
                );
            } else {
                out.push(TimedEvent { at, action });
            }
        }
        out
    }

    /// Pool references in events must name a pool that exists at that moment:
    /// initial pools, plus `add_pool`, minus `remove_pool`, in replay order.
    pub(super) fn pool_timeline(
        &mut self,
        sorted: &[(Seconds, usize, Action)],
        clusters: &[Cluster],
        known: &Known<'_>,
    ) {
        let root = FieldPath::root().key("events");
        let mut live: Vec<BTreeSet<&str>> =
            clusters.iter().map(|c| c.node_pools.iter().map(|p| p.name.as_str()).collect()).collect();
        // Nodes each live pool can reach (its count, or its autoscale max), for
        // the per-cluster limit at every moment of the timeline.
        let reach_of = |p: &NodePool| u64::from(p.autoscale.map_or(p.count, |a| a.max.max(p.count)));
        let mut reach: Vec<BTreeMap<&str, u64>> =
            clusters.iter().map(|c| c.node_pools.iter().map(|p| (p.name.as_str(), reach_of(p))).collect()).collect();
        let mut over_limit = vec![false; clusters.len()];
        let mut removed: HashMap<(usize, &str), (Seconds, usize)> = HashMap::new();
        let mut first_add: HashMap<(usize, &str), (Seconds, usize)> = HashMap::new();
        let refs = sorted.iter().filter_map(|(at, i, action)| {
            let (key, cluster, pool) = match action {
                Action::ScalePool { cluster, pool, .. } => ("scale_pool", cluster, pool),
                Action::UpgradePool { cluster, pool, .. } => ("upgrade_pool", cluster, pool),
                Action::RemovePool { cluster, pool, .. } => ("remove_pool", cluster, pool),
                Action::AddPool { cluster, pool, .. } => ("add_pool", cluster, &pool.name),
                Action::ScaleWorkload { .. } | Action::Rollout { .. } => return None,
            };
            // An unknown cluster is reported already.
            let ci = *known.clusters.get(cluster.as_str())?;
            Some((*at, *i, key, ci, cluster.as_str(), pool.as_str(), action))
        });
        let refs: Vec<_> = refs.collect();
        for &(at, i, key, ci, _, pool, _) in &refs {
            if key == "add_pool" {
                first_add.entry((ci, pool)).or_insert((at, i));
            }
        }
        for (at, i, key, ci, cluster, pool, action) in refs {
            let pools = &mut live[ci];
            let exists = pools.contains(pool);
            let p = root.index(i).key(key);
            if let Action::AddPool { pool: spec, .. } = action {
                if exists {
                    self.err(
                        &p.key("pool").key("name"),
                        format!("pool `{pool}` already exists in cluster `{cluster}` at {}", format_duration(at)),
                    );
                } else {
                    pools.insert(pool);
                    reach[ci].insert(pool, reach_of(spec));
                    self.cluster_limit(&p, cluster, at, &reach[ci], &mut over_limit[ci]);
                }
                continue;
            }
            if !exists {
                let mut msg = format!(
                    "pool `{pool}` does not exist in cluster `{cluster}` at {}; pools then: {}",
                    format_duration(at),
                    list(pools.iter().copied())
                );
                if let Some((t, j)) = removed.get(&(ci, pool)) {
                    msg.push_str(&format!(" (it is removed at {} by events[{j}])", format_duration(*t)));
                } else if let Some((t, j)) = first_add.get(&(ci, pool)) {
                    msg.push_str(&format!(" (it is added only at {} by events[{j}])", format_duration(*t)));
                }
                self.err(&p.key("pool"), msg);
                continue;
            }
            match action {
                Action::RemovePool { .. } => {
                    pools.remove(pool);
                    reach[ci].remove(pool);
                    removed.insert((ci, pool), (at, i));
                }
                Action::ScalePool { count, .. } => {
                    let nodes = reach[ci].entry(pool).or_default();
                    *nodes = (*nodes).max(u64::from(*count));
                    self.cluster_limit(&p, cluster, at, &reach[ci], &mut over_limit[ci]);
                }
                _ => {}
            }
        }
    }

    /// model.md's 5,000 nodes per cluster, at one moment of the timeline
    /// (reported once per cluster).
    pub(super) fn cluster_limit(
        &mut self,
        p: &FieldPath,
        cluster: &str,
        at: Seconds,
        reach: &BTreeMap<&str, u64>,
        over: &mut bool,
    ) {
        let nodes: u64 = reach.values().sum();
        if nodes > MAX_NODES_PER_CLUSTER && !*over {
            *over = true;
            self.err(
                p,
                format!(
                    "cluster `{cluster}` can reach {nodes} nodes at {} (pool counts, or autoscale maxes); \
                     the limit is {MAX_NODES_PER_CLUSTER} per cluster",
                    format_duration(at)
                ),
            );
        }
    }
}
