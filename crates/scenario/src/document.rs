//! A validated [`Scenario`] back to the document it stands for (the raw types
//! of `raw.rs`), so that a scenario edited in code — `podip plan`'s resized
//! ranges, a test's variations — is checked by exactly the rules a file is
//! ([`crate::validate`]). Every default is written out but the service CIDR
//! (see [`cluster`]), so the document means the same scenario.

use crate::model::*;
use crate::raw::*;

pub(crate) fn document(s: &Scenario) -> RawScenario {
    RawScenario {
        name: s.name.clone(),
        description: s.description.clone(),
        seed: Some(s.seed),
        duration: seconds(s.duration),
        sample_every: Some(seconds(s.sample_every)),
        allocator: None,
        network: RawNetwork {
            address_space: s.network.address_space.iter().map(ToString::to_string).collect(),
            subnets: OrderedMap(s.network.subnets.iter().map(|n| (n.name.clone(), n.prefix.to_string())).collect()),
        },
        clusters: s.clusters.iter().map(cluster).collect(),
        workloads: Some(s.workloads.iter().map(workload).collect()),
        events: Some(s.events.iter().map(event).collect()),
        timing: Some(RawTiming {
            node_provision: Some(seconds(s.timing.node_provision)),
            node_drain: Some(seconds(s.timing.node_drain)),
            node_reimage: Some(seconds(s.timing.node_reimage)),
        }),
    }
}

fn seconds(s: Seconds) -> Scalar {
    Scalar::Int(i128::from(s))
}

fn cluster(c: &Cluster) -> RawCluster {
    RawCluster {
        name: c.name.clone(),
        allocator: Some(RawAllocator(c.allocator)),
        // Written only where the file wrote it: an unwritten one lets a
        // machine's default stand for pools added later (the rest are written).
        max_pods: c.max_pods_written.then_some(u64::from(c.max_pods)),
        pod_cidr: Some(c.pod_cidr.to_string()),
        // The default service CIDR is left to default: inside the VNet it is
        // only a warning, written out it would be an error.
        service_cidr: (c.service_cidr.to_string() != crate::DEFAULT_SERVICE_CIDR).then(|| c.service_cidr.to_string()),
        dns_service_ip: Some(c.dns_service_ip.to_string()),
        scheduler: Some(match c.scheduler {
            Scheduler::Spread => RawScheduler::Spread,
            Scheduler::Pack => RawScheduler::Pack,
            Scheduler::Random => RawScheduler::Random,
        }),
        mode_settings: match c.allocator.settings_key {
            Some(key) if !c.settings.0.is_empty() => {
                vec![(key, c.settings.0.iter().map(|(name, value)| (name.clone(), RawSetting::of(value))).collect())]
            }
            _ => Vec::new(),
        },
        node_pools: c.node_pools.iter().map(pool).collect(),
    }
}

fn pool(p: &NodePool) -> RawPool {
    RawPool {
        name: p.name.clone(),
        count: u64::from(p.count),
        vnet_subnet: p.vnet_subnet.clone(),
        pod_subnet: p.pod_subnet.clone(),
        max_pods: Some(u64::from(p.max_pods)),
        max_surge: Some(match p.max_surge {
            Surge::Count(n) => Scalar::Int(i128::from(n)),
            Surge::Percent(n) => Scalar::Str(format!("{n}%")),
        }),
        autoscale: p.autoscale.map(|a| RawAutoscale { min: u64::from(a.min), max: u64::from(a.max) }),
        os: Some(match p.os {
            Os::Linux => RawOs::Linux,
            Os::Windows => RawOs::Windows,
        }),
        instance_type: p.instance_type.clone(),
        eni: match (&p.instance_type, p.machine) {
            (None, Some(m)) => Some(RawEni {
                count: u64::from(m.interfaces),
                ips: u64::from(m.addresses_per_interface),
                vcpus: m.vcpus.map(u64::from),
            }),
            _ => None,
        },
    }
}

fn workload(w: &Workload) -> RawWorkload {
    let mut raw = RawWorkload {
        name: w.name.clone(),
        cluster: w.cluster.clone(),
        pool: w.pool.clone(),
        kind: RawKind::Deployment,
        replicas: None,
        host_network: None,
        arrivals_per_hour: None,
        lifetime: None,
        start: None,
        end: None,
    };
    match w.kind {
        WorkloadKind::Deployment { replicas } => raw.replicas = Some(u64::from(replicas)),
        WorkloadKind::DaemonSet { host_network } => {
            raw.kind = RawKind::DaemonSet;
            raw.host_network = Some(host_network);
        }
        WorkloadKind::Churn { arrivals_per_hour, lifetime, start, end } => {
            raw.kind = RawKind::Churn;
            raw.arrivals_per_hour = Some(arrivals_per_hour);
            let none = RawLifetime { fixed: None, exponential: None, uniform: None, lognormal: None };
            raw.lifetime = Some(match lifetime {
                Lifetime::Fixed(d) => RawLifetime { fixed: Some(seconds(d)), ..none },
                Lifetime::Exponential(d) => RawLifetime { exponential: Some(seconds(d)), ..none },
                Lifetime::Uniform(a, b) => RawLifetime { uniform: Some(vec![seconds(a), seconds(b)]), ..none },
                Lifetime::LogNormal { median, sigma } => {
                    RawLifetime { lognormal: Some(RawLogNormal { median: seconds(median), sigma }), ..none }
                }
            });
            raw.start = Some(seconds(start));
            raw.end = end.map(seconds);
        }
    }
    raw
}

fn event(e: &TimedEvent) -> RawEvent {
    let mut raw = RawEvent {
        at: seconds(e.at),
        scale_pool: None,
        upgrade_pool: None,
        add_pool: None,
        remove_pool: None,
        scale_workload: None,
        rollout: None,
    };
    let pool_ref = |cluster: &String, pool: &String| RawPoolRef { cluster: cluster.clone(), pool: pool.clone() };
    match &e.action {
        Action::ScalePool { cluster, pool, count, .. } => {
            raw.scale_pool =
                Some(RawScalePool { cluster: cluster.clone(), pool: pool.clone(), count: u64::from(*count) });
        }
        Action::UpgradePool { cluster, pool, .. } => raw.upgrade_pool = Some(pool_ref(cluster, pool)),
        Action::AddPool { cluster, pool: p, .. } => {
            raw.add_pool = Some(RawAddPool { cluster: cluster.clone(), pool: pool(p) });
        }
        Action::RemovePool { cluster, pool, .. } => raw.remove_pool = Some(pool_ref(cluster, pool)),
        Action::ScaleWorkload { name, replicas, .. } => {
            raw.scale_workload = Some(RawScaleWorkload { name: name.clone(), replicas: u64::from(*replicas) });
        }
        Action::Rollout { name, .. } => raw.rollout = Some(RawRollout { name: name.clone() }),
    }
    raw
}
