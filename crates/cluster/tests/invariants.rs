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
use scenario::{AllocatorKind, Overrides, parse_str};

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
