//! Whole-run invariants over generated scenarios, for every allocator.
//!
//! Each case is a small valid scenario — one or two clusters, random pools,
//! counts, max_pods and subnets sized so they sometimes run out, deployments,
//! daemonsets and churn, and a timeline of scale, upgrade, add, remove, rollout
//! and scale_workload events — replayed with `check_invariants` on, so every
//! rule of `World::check_invariants` is checked after every event: allocated ≤
//! usable, in_use ≤ allocated, free = usable − allocated, every address in use
//! accounted for by one live node or running pod, every pod in exactly one
//! state, and pool counters equal to the pods. The timeline ends by removing
//! every pool, after which every address must be back.

use std::fmt::Write as _;

use cluster::{Options, Replay};
use proptest::prelude::*;
use scenario::{AllocatorKind, Overrides, parse_str};

/// Every allocator, as scenario files spell them.
const ALLOCATORS: [&str; 5] = ["node-subnet", "dynamic", "static-block", "kubenet", "overlay"];

/// `(min, max)` of a pool's autoscaler.
type Autoscale = Option<(u32, u32)>;

#[derive(Debug, Clone)]
struct Pool {
    count: u32,
    max_pods: u32,
    /// Index into the node subnets (`n0`, `n1`).
    node_subnet: usize,
    /// Index into the pod subnets (`p0`, `p1`).
    pod_subnet: usize,
    autoscale: Autoscale,
    surge: u32,
}

#[derive(Debug, Clone)]
enum Kind {
    Deployment(u32),
    DaemonSet(bool),
    Churn { per_hour: u32, lifetime: String },
}

#[derive(Debug, Clone)]
struct Workload {
    cluster: usize,
    /// Restricted to the cluster's pool of this index, if it exists at time zero.
    pool: Option<usize>,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Action {
    ScalePool { pool: usize, count: u32 },
    Upgrade { pool: usize },
    Add(Pool),
    Remove { pool: usize },
    ScaleWorkload { workload: usize, replicas: u32 },
    Rollout { workload: usize },
}

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    allocator: usize,
    /// A second cluster's allocator, if there is one.
    second: Option<usize>,
    scheduler: usize,
    /// Prefix lengths of `n0`, `n1`, `p0`, `p1` and the pod CIDR.
    node_prefixes: [u8; 2],
    pod_prefixes: [u8; 2],
    pod_cidr: u8,
    pools: Vec<(usize, Pool)>,
    workloads: Vec<Workload>,
    /// (minutes, cluster, action)
    events: Vec<(u32, usize, Action)>,
}

/// Simulated hours; every pool is removed an hour before the end.
const HOURS: u32 = 8;

fn pool() -> impl Strategy<Value = Pool> {
    (0u32..5, 10u32..=60, 0usize..2, 0usize..2, prop::option::of((0u32..3, 0u32..4)), 1u32..3).prop_map(
        |(count, max_pods, node_subnet, pod_subnet, autoscale, surge)| Pool {
            count,
            max_pods,
            node_subnet,
            pod_subnet,
            // Validation wants min ≤ count ≤ max.
            autoscale: autoscale.map(|(below, above)| (count.saturating_sub(below), (count + above).max(1))),
            surge,
        },
    )
}

fn kind() -> impl Strategy<Value = Kind> {
    let lifetime = prop_oneof![
        (1u32..120).prop_map(|m| format!("{{fixed: {m}m}}")),
        (1u32..120).prop_map(|m| format!("{{exponential: {m}m}}")),
        (1u32..60, 0u32..60).prop_map(|(a, b)| format!("{{uniform: [{a}m, {}m]}}", a + b)),
        (1u32..60, 1u32..15)
            .prop_map(|(m, s)| format!("{{lognormal: {{median: {m}m, sigma: {}}}}}", f64::from(s) / 10.0)),
    ];
    prop_oneof![
        (0u32..120).prop_map(Kind::Deployment),
        any::<bool>().prop_map(Kind::DaemonSet),
        (1u32..400, lifetime).prop_map(|(per_hour, lifetime)| Kind::Churn { per_hour, lifetime }),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0usize..3, 0u32..7).prop_map(|(pool, count)| Action::ScalePool { pool, count }),
        (0usize..3).prop_map(|pool| Action::Upgrade { pool }),
        pool().prop_map(Action::Add),
        (0usize..3).prop_map(|pool| Action::Remove { pool }),
        (0usize..4, 0u32..150).prop_map(|(workload, replicas)| Action::ScaleWorkload { workload, replicas }),
        (0usize..4).prop_map(|workload| Action::Rollout { workload }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        (any::<u64>(), 0usize..5, prop::option::of(0usize..5), 0usize..3),
        ([24u8..=28, 24u8..=28], [21u8..=27, 21u8..=27], 19u8..=23),
        prop::collection::vec((0usize..2, pool()), 1..4),
        prop::collection::vec((0usize..2, prop::option::of(0usize..2), kind()), 0..5),
        prop::collection::vec((0u32..(HOURS - 1) * 60, 0usize..2, action()), 0..8),
    )
        .prop_map(
            |((seed, allocator, second, scheduler), (node_prefixes, pod_prefixes, pod_cidr), pools, w, events)| {
                let clusters = 1 + usize::from(second.is_some());
                Case {
                    seed,
                    allocator,
                    second,
                    scheduler,
                    node_prefixes,
                    pod_prefixes,
                    pod_cidr,
                    pools: pools.into_iter().map(|(c, p)| (c % clusters, p)).collect(),
                    workloads: w
                        .into_iter()
                        .map(|(c, pool, kind)| Workload { cluster: c % clusters, pool, kind })
                        .collect(),
                    events: events.into_iter().map(|(at, c, a)| (at, c % clusters, a)).collect(),
                }
            },
        )
}

/// A pool of cluster `c`; `shared`: whether both clusters use one mode, so may
/// share subnets (a subnet serves one mode only).
fn pool_yaml(out: &mut String, name: &str, p: &Pool, c: usize, shared: bool) {
    let (n, q) = if shared { (p.node_subnet, p.pod_subnet) } else { (c, c) };
    write!(
        out,
        "{{name: {name}, count: {}, vnet_subnet: n{n}, pod_subnet: p{q}, max_pods: {}, max_surge: {}",
        p.count, p.max_pods, p.surge
    )
    .unwrap();
    if let Some((min, max)) = p.autoscale {
        write!(out, ", autoscale: {{min: {min}, max: {max}}}").unwrap();
    }
    out.push('}');
}

/// The scenario as YAML.
fn yaml(case: &Case) -> String {
    let clusters: Vec<usize> = std::iter::once(case.allocator).chain(case.second).collect();
    let mut out = format!(
        "name: generated\nseed: {}\nduration: {HOURS}h\nsample_every: 30m\n\
         network:\n  address_space: [10.0.0.0/8]\n  subnets:\n    n0: 10.0.0.0/{}\n    n1: 10.0.1.0/{}\n    p0: 10.1.0.0/{}\n    p1: 10.2.0.0/{}\nclusters:\n",
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
            "  - name: c{c}\n    allocator: {}\n    scheduler: {}\n    pod_cidr: 10.{}.0.0/{}\n    node_pools:\n",
            ALLOCATORS[allocator],
            ["spread", "pack", "random"][case.scheduler],
            100 + c,
            case.pod_cidr
        )
        .unwrap();
        let mine: Vec<&Pool> = case.pools.iter().filter(|(pc, _)| *pc == c).map(|(_, p)| p).collect();
        // A cluster needs a pool: give it a one-node pool if the draw gave it none.
        let fallback = Pool { count: 1, max_pods: 30, node_subnet: c, pod_subnet: c, autoscale: None, surge: 1 };
        let mine = if mine.is_empty() { vec![&fallback] } else { mine };
        for (i, p) in mine.iter().enumerate() {
            let name = format!("q{i}");
            out.push_str("      - ");
            pool_yaml(&mut out, &name, p, c, shared);
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
                pool_yaml(&mut out, &name, p, *c, shared);
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

/// Replay with invariants on; `None` if validation refused the scenario (some
/// draws share a subnet between modes that cannot share one).
fn replay(case: &Case) -> Option<Replay> {
    let text = yaml(case);
    let loaded = parse_str(&text, "generated.yaml", &Overrides::default()).ok()?;
    let replay = cluster::replay_with(&loaded.scenario, Options { check_invariants: true }, &mut |_, _| {})
        .unwrap_or_else(|e| panic!("{e}\n--- scenario ---\n{text}"));
    Some(replay)
}

proptest! {
    // Debug build: ~60 cases run in a few seconds; CI runs them on every push.
    #![proptest_config(ProptestConfig { cases: 64, max_global_rejects: 4096, ..ProptestConfig::default() })]

    #[test]
    fn whole_run_invariants_hold(case in case()) {
        let Some(r) = replay(&case) else { return Err(TestCaseError::reject("invalid scenario")) };
        // Every pool was removed an hour before the end: every address is back.
        let end = u64::from(HOURS) * 3600;
        for s in r.utilization.iter().filter(|s| s.time_s == end) {
            prop_assert_eq!((s.allocated, s.in_use), (0, 0), "range {} at the end\n{}", r.ranges[s.range as usize].name, yaml(&case));
        }
        for s in r.cluster.iter().filter(|s| s.time_s == end) {
            prop_assert_eq!((s.nodes, s.pods_running, s.pods_waiting_ip), (0, 0, 0));
        }
    }
}

/// The generator reaches every allocator and mostly valid scenarios (so the
/// property above is not vacuous).
#[test]
fn generated_scenarios_are_mostly_valid_for_every_allocator() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    let mut runner =
        TestRunner::new(Config { rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..Config::default() });
    let mut valid = [0u32; 5];
    let mut total = 0;
    for _ in 0..300 {
        let case = case().new_tree(&mut runner).unwrap().current();
        total += 1;
        if let Ok(loaded) = parse_str(&yaml(&case), "generated.yaml", &Overrides::default()) {
            let kind = loaded.scenario.clusters[0].allocator;
            valid[AllocatorKind::ALL.iter().position(|&k| k == kind).unwrap()] += 1;
        }
    }
    let sum: u32 = valid.iter().sum();
    assert!(sum * 10 > total * 9, "only {sum} of {total} generated scenarios are valid: {valid:?}");
    assert!(valid.iter().all(|&v| v > 10), "{valid:?}");
}
