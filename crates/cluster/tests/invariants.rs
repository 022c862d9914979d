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

mod generated;

use cluster::{Options, Replay};
use generated::*;
use proptest::prelude::*;
use scenario::{Overrides, parse_str};

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
        (1u32..120).prop_map(Lifetime::Fixed),
        (1u32..120).prop_map(Lifetime::Exponential),
        (1u32..60, 0u32..60).prop_map(|(a, b)| Lifetime::Uniform(a, a + b)),
        (1u32..60, 1u32..15).prop_map(|(m, s)| Lifetime::LogNormal(m, s)),
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
        (any::<u64>(), 0..ALLOCATORS.len(), prop::option::of(0..ALLOCATORS.len()), 0usize..3),
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

/// Replay with invariants on; `None` if validation refused the scenario (some
/// draws share a subnet between modes that cannot share one).
fn replay(case: &Case) -> Option<Replay> {
    let text = yaml(case);
    let loaded = parse_str(&text, "generated.yaml", &Overrides::default()).ok()?;
    let replay =
        cluster::replay_with(&loaded.scenario, Options { check_invariants: true, ..Options::default() }, &mut |_| {})
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
    let mut valid = [0u32; ALLOCATORS.len()];
    let mut total = 0;
    for _ in 0..300 {
        let case = case().new_tree(&mut runner).unwrap().current();
        total += 1;
        if let Ok(loaded) = parse_str(&yaml(&case), "generated.yaml", &Overrides::default()) {
            let kind = loaded.scenario.clusters[0].allocator;
            valid[ALLOCATORS.iter().position(|&k| k == kind.name).unwrap()] += 1;
        }
    }
    let sum: u32 = valid.iter().sum();
    assert!(sum * 10 > total * 9, "only {sum} of {total} generated scenarios are valid: {valid:?}");
    assert!(valid.iter().all(|&v| v > 10), "{valid:?}");
}

/// Times and counts at the edges of their types: no overflow panic (tests
/// build with overflow checks), no wrap-around, and no event that recurs
/// forever at the last representable millisecond (a bug found here: churn
/// arrivals and autoscaler scans saturated to it and repeated there).
#[test]
fn extreme_times_and_counts_do_not_overflow() {
    let max = scenario::MAX_DURATION;
    let yaml = format!(
        "name: edges\nseed: {}\nduration: {max}\nsample_every: {}\n\
         network:\n  address_space: [10.0.0.0/12]\n  subnets: {{nodes: 10.0.0.0/24, pods: 10.1.0.0/16}}\n\
         clusters:\n  - name: c\n    service_cidr: 192.168.0.0/16\n    node_pools: [{{name: p, count: 2, vnet_subnet: nodes, pod_subnet: pods, max_pods: 250, max_surge: \"100%\", autoscale: {{min: 2, max: 3}}}}]\n\
         workloads:\n  - {{name: web, cluster: c, kind: deployment, replicas: 600}}\n\
         \x20 - {{name: jobs, cluster: c, kind: churn, arrivals_per_hour: 1e7, lifetime: {{fixed: {max}}}, start: {}, end: {max}}}\n\
         \x20 - {{name: long, cluster: c, kind: churn, arrivals_per_hour: 1e-12, lifetime: {{lognormal: {{median: {max}, sigma: 100}}}}}}\n\
         events:\n  - {{at: {}, scale_pool: {{cluster: c, pool: p, count: 3}}}}\n  - {{at: {max}, upgrade_pool: {{cluster: c, pool: p}}}}\n\
         \x20 - {{at: {max}, scale_workload: {{name: web, replicas: 0}}}}\n",
        u64::MAX,
        max / 2,
        max - 1,
        max / 3,
    );
    let loaded = parse_str(&yaml, "edges.yaml", &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    // Autoscaler scans every 10 s for 584 million years would never end in a
    // test: validated with one, replayed without.
    let mut scenario = loaded.scenario;
    scenario.clusters[0].node_pools[0].autoscale = None;
    let r = cluster::replay_with(&scenario, Options { check_invariants: true, ..Options::default() }, &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    let times: Vec<u64> = r.cluster.iter().map(|s| s.time_s).collect();
    assert_eq!(times, [0, max / 2, max - 1, max]);
    let last = r.cluster.last().unwrap();
    assert_eq!(last.nodes, 6, "the upgrade's 100 % surge doubles the pool at the very end");
    // Ten million arrivals an hour in the last second: about 2,800 pods, none
    // ever ending, all placed or queued (the deployment went to 0).
    let churned = last.pods_running + last.pods_waiting_ip + last.pods_unschedulable;
    assert!((2_000..4_000).contains(&churned), "{churned}");
    // One millisecond past the longest duration: refused.
    let e = parse_str(
        &yaml.replacen(&format!("duration: {max}"), &format!("duration: {}", max + 1), 1),
        "edges.yaml",
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("is longer than simulated time can count in milliseconds"), "{e}");
}
