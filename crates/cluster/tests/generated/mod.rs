//! Small valid scenarios from plain data: the whole-run invariant test draws
//! them with proptest (`tests/invariants.rs`), the structured fuzz target with
//! `arbitrary` (`fuzz/fuzz_targets/replay.rs`, which includes this file).
//! Every value is kept in range so validation accepts nearly every draw.

use std::fmt::Write as _;

/// Every allocator, as scenario files spell them.
pub const ALLOCATORS: [&str; 7] =
    ["node-subnet", "dynamic", "static-block", "kubenet", "overlay", "aws-vpc-cni", "aws-prefix"];

/// `(min, max)` of a pool's autoscaler.
pub type Autoscale = Option<(u32, u32)>;

#[derive(Debug, Clone)]
pub struct Pool {
    pub count: u32,
    pub max_pods: u32,
    /// Index into the node subnets (`n0`, `n1`).
    pub node_subnet: usize,
    /// Index into the pod subnets (`p0`, `p1`).
    pub pod_subnet: usize,
    pub autoscale: Autoscale,
    pub surge: u32,
}

/// A churn pod's lifetime, in minutes (log-normal: median and sigma in tenths).
#[derive(Debug, Clone, Copy)]
pub enum Lifetime {
    Fixed(u32),
    Exponential(u32),
    Uniform(u32, u32),
    LogNormal(u32, u32),
}

impl std::fmt::Display for Lifetime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Lifetime::Fixed(m) => write!(f, "{{fixed: {m}m}}"),
            Lifetime::Exponential(m) => write!(f, "{{exponential: {m}m}}"),
            Lifetime::Uniform(a, b) => write!(f, "{{uniform: [{a}m, {b}m]}}"),
            Lifetime::LogNormal(m, s) => write!(f, "{{lognormal: {{median: {m}m, sigma: {}}}}}", f64::from(s) / 10.0),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Kind {
    Deployment(u32),
    DaemonSet(bool),
    Churn { per_hour: u32, lifetime: Lifetime },
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub cluster: usize,
    /// Restricted to the cluster's pool of this index, if it exists at time zero.
    pub pool: Option<usize>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Action {
    ScalePool { pool: usize, count: u32 },
    Upgrade { pool: usize },
    Add(Pool),
    Remove { pool: usize },
    ScaleWorkload { workload: usize, replicas: u32 },
    Rollout { workload: usize },
}

#[derive(Debug, Clone)]
pub struct Case {
    pub seed: u64,
    pub allocator: usize,
    /// A second cluster's allocator, if there is one.
    pub second: Option<usize>,
    pub scheduler: usize,
    /// Prefix lengths of `n0`, `n1`, `p0`, `p1` and the pod CIDR.
    pub node_prefixes: [u8; 2],
    pub pod_prefixes: [u8; 2],
    pub pod_cidr: u8,
    pub pools: Vec<(usize, Pool)>,
    pub workloads: Vec<Workload>,
    /// (minutes, cluster, action)
    pub events: Vec<(u32, usize, Action)>,
}

/// Simulated hours; every pool is removed an hour before the end.
pub const HOURS: u32 = 8;
/// A pool of cluster `c`; `shared`: whether both clusters use one mode, so may
/// share subnets (a subnet serves one mode only).
fn pool_yaml(out: &mut String, name: &str, p: &Pool, c: usize, shared: bool, aws: bool) {
    let (n, q) = if shared { (p.node_subnet, p.pod_subnet) } else { (c, c) };
    write!(
        out,
        "{{name: {name}, count: {}, vnet_subnet: n{n}, pod_subnet: p{q}, max_pods: {}, max_surge: {}",
        p.count, p.max_pods, p.surge
    )
    .unwrap();
    if aws {
        // m5.4xlarge holds every generated max_pods (10–60) in both modes.
        out.push_str(", instance_type: m5.4xlarge");
    }
    if let Some((min, max)) = p.autoscale {
        write!(out, ", autoscale: {{min: {min}, max: {max}}}").unwrap();
    }
    out.push('}');
}

/// The scenario as YAML.
pub fn yaml(case: &Case) -> String {
    let clusters: Vec<usize> = std::iter::once(case.allocator).chain(case.second).collect();
    let mut out = format!(
        "name: generated\nseed: {}\nduration: {HOURS}h\nsample_every: 30m\n\
         network:\n  address_space: [10.0.0.0/12]\n  subnets:\n    n0: 10.0.0.0/{}\n    n1: 10.0.1.0/{}\n    p0: 10.1.0.0/{}\n    p1: 10.2.0.0/{}\nclusters:\n",
        case.seed, case.node_prefixes[0], case.node_prefixes[1], case.pod_prefixes[0], case.pod_prefixes[1]
    )
    .to_string();
    let shared = case.second.is_none_or(|second| second == case.allocator);
    // Per cluster: the pools that exist, with their autoscale range.
    let mut pool_names: Vec<Vec<(String, Autoscale)>> = vec![Vec::new(); clusters.len()];
    let mut ever: Vec<Vec<String>> = vec![Vec::new(); clusters.len()];
    for (c, &allocator) in clusters.iter().enumerate() {
        write!(
            out,
            "  - name: c{c}\n    allocator: {}\n    scheduler: {}\n    pod_cidr: 10.{}.0.0/{}\n    service_cidr: 192.168.0.0/16\n",
            ALLOCATORS[allocator],
            ["spread", "pack", "random"][case.scheduler],
            100 + c,
            case.pod_cidr
        )
        .unwrap();
        // Half the dynamic clusters follow subnet scarcity, with thresholds low
        // enough to flip in small subnets.
        if ALLOCATORS[allocator] == "dynamic" && case.seed.is_multiple_of(2) {
            out.push_str("    dynamic: {scarcity: {upper: \"60%\", lower: \"30%\", interval_s: 30}}\n");
        }
        // The AWS modes under each of ipamd's three ways to keep IPs warm.
        let aws = ALLOCATORS[allocator].starts_with("aws-");
        if aws {
            out.push_str(match case.seed % 3 {
                0 => "    aws_vpc_cni: {warm_eni_target: 1, warm_prefix_target: 1}\n",
                1 => "    aws_vpc_cni: {warm_ip_target: 3, minimum_ip_target: 5, ip_cooldown: 20}\n",
                _ => "    aws_vpc_cni: {warm_eni_target: 0, warm_prefix_target: 2, ip_cooldown: 0}\n",
            });
        }
        out.push_str("    node_pools:\n");
        let mine: Vec<&Pool> = case.pools.iter().filter(|(pc, _)| *pc == c).map(|(_, p)| p).collect();
        // A cluster needs a pool: give it a one-node pool if the draw gave it none.
        let fallback = Pool { count: 1, max_pods: 30, node_subnet: c, pod_subnet: c, autoscale: None, surge: 1 };
        let mine = if mine.is_empty() { vec![&fallback] } else { mine };
        for (i, p) in mine.iter().enumerate() {
            let name = format!("q{i}");
            out.push_str("      - ");
            pool_yaml(&mut out, &name, p, c, shared, aws);
            out.push('\n');
            pool_names[c].push((name.clone(), p.autoscale));
            ever[c].push(name);
        }
    }
    let initial = pool_names.clone();
    let mut workload_names = Vec::new();
    if !case.workloads.is_empty() {
        out.push_str("workloads:\n");
    }
    for (i, w) in case.workloads.iter().enumerate() {
        let name = format!("w{i}");
        write!(out, "  - {{name: {name}, cluster: c{}", w.cluster).unwrap();
        if let Some(p) = w.pool.filter(|&p| p < initial[w.cluster].len()) {
            write!(out, ", pool: {}", initial[w.cluster][p].0).unwrap();
        }
        match &w.kind {
            Kind::Deployment(replicas) => {
                write!(out, ", kind: deployment, replicas: {replicas}").unwrap();
                workload_names.push(name);
            }
            Kind::DaemonSet(host) => write!(out, ", kind: daemonset, host_network: {host}").unwrap(),
            Kind::Churn { per_hour, lifetime } => {
                write!(out, ", kind: churn, arrivals_per_hour: {per_hour}, lifetime: {lifetime}").unwrap()
            }
        }
        out.push_str("}\n");
    }
    out.push_str("events:\n");
    let mut events = case.events.clone();
    events.sort_by_key(|e| e.0);
    for (at, c, action) in &events {
        let cluster = format!("c{c}");
        let names = &mut pool_names[*c];
        match action {
            Action::Add(p) => {
                let name = format!("a{}", ever[*c].len());
                write!(out, "  - {{at: {at}m, add_pool: {{cluster: {cluster}, pool: ").unwrap();
                let aws = ALLOCATORS[clusters[*c]].starts_with("aws-");
                pool_yaml(&mut out, &name, p, *c, shared, aws);
                out.push_str("}}\n");
                names.push((name.clone(), p.autoscale));
                ever[*c].push(name);
            }
            // Pools must exist when an event names them.
            Action::ScalePool { .. } | Action::Upgrade { .. } | Action::Remove { .. } if names.is_empty() => {}
            Action::ScalePool { pool, count } => {
                let (name, autoscale) = &names[pool % names.len()];
                let count = autoscale.map_or(*count, |(min, max)| (*count).clamp(min, max));
                writeln!(out, "  - {{at: {at}m, scale_pool: {{cluster: {cluster}, pool: {name}, count: {count}}}}}")
                    .unwrap();
            }
            Action::Upgrade { pool } => {
                let name = &names[pool % names.len()].0;
                writeln!(out, "  - {{at: {at}m, upgrade_pool: {{cluster: {cluster}, pool: {name}}}}}").unwrap();
            }
            Action::Remove { pool } => {
                let (name, _) = names.remove(pool % names.len());
                writeln!(out, "  - {{at: {at}m, remove_pool: {{cluster: {cluster}, pool: {name}}}}}").unwrap();
            }
            Action::ScaleWorkload { workload, replicas } if !workload_names.is_empty() => writeln!(
                out,
                "  - {{at: {at}m, scale_workload: {{name: {}, replicas: {replicas}}}}}",
                workload_names[workload % workload_names.len()]
            )
            .unwrap(),
            Action::Rollout { workload } if !workload_names.is_empty() => writeln!(
                out,
                "  - {{at: {at}m, rollout: {{name: {}}}}}",
                workload_names[workload % workload_names.len()]
            )
            .unwrap(),
            Action::ScaleWorkload { .. } | Action::Rollout { .. } => {}
        }
    }
    // The end: every pool left goes.
    for (c, names) in pool_names.iter().enumerate() {
        for (name, _) in names {
            writeln!(out, "  - {{at: {}h, remove_pool: {{cluster: c{c}, pool: {name}}}}}", HOURS - 1).unwrap();
        }
    }
    out
}
