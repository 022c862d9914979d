//! Scenario-driven tests of the cluster model, all through one `check` helper:
//! a scenario in YAML, replayed with every invariant checked after every event.

use cluster::{Options, PoolSample, RangeSample, Replay};
use scenario::{Overrides, parse_str};

/// Replay `yaml` (with invariants checked after every event).
fn check(yaml: &str) -> Replay {
    let loaded = parse_str(yaml, "test.yaml", &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    cluster::replay_with(&loaded.scenario, Options { check_invariants: true, ..Options::default() }, &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"))
}

fn util<'a>(r: &'a Replay, time_s: u64, range: &str) -> &'a RangeSample {
    let index = r.ranges.iter().position(|x| x.name == range).expect("range") as u32;
    r.utilization.iter().find(|s| s.time_s == time_s && s.range == index).expect("sample")
}

fn pool<'a>(r: &'a Replay, time_s: u64, name: &str) -> &'a PoolSample {
    let index = r.pools.iter().position(|p| p.pool == name).expect("pool") as u32;
    r.cluster.iter().find(|s| s.time_s == time_s && s.pool == index).expect("sample")
}

fn count(r: &Replay, kind: &str) -> usize {
    r.events.iter().filter(|e| e.kind.as_str() == kind).count()
}

const NET: &str = "network:\n  address_space: [10.1.0.0/16]\n  subnets: {nodes: 10.1.0.0/22, pods: 10.1.16.0/20}\n";

fn scenario(allocator: &str, body: &str) -> String {
    format!("name: t\nduration: 1d\nsample_every: 1h\nallocator: {allocator}\n{NET}{body}")
}

#[test]
fn spread_places_evenly_and_scale_down_keeps_it_even() {
    let r = check(&scenario(
        "node-subnet",
        "clusters:\n  - name: c\n    node_pools: [{name: p, count: 4, vnet_subnet: nodes, max_pods: 30}]\n\
         workloads: [{name: web, cluster: c, kind: deployment, replicas: 40}]\n\
         events: [{at: 2h, scale_workload: {name: web, replicas: 20}}]\n",
    ));
    assert_eq!(pool(&r, 0, "p").pods_running, 40);
    assert_eq!(pool(&r, 3 * 3600, "p").pods_running, 20);
    // Under node-subnet every pod IP comes from its node's reservation: in_use = 4 nodes + pods.
    assert_eq!(util(&r, 0, "nodes").in_use, 44);
    assert_eq!(util(&r, 0, "nodes").allocated, 4 * 31);
}

/// Replay `yaml` with a `pod-unschedulable` row per pod (`--per-pod-unschedulable`).
fn check_per_pod(yaml: &str) -> Replay {
    let loaded = parse_str(yaml, "test.yaml", &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let options = Options { check_invariants: true, per_pod_unschedulable: true, ..Options::default() };
    cluster::replay_with(&loaded.scenario, options, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn pods_beyond_max_pods_are_unschedulable_once_and_placed_when_nodes_arrive() {
    let yaml = scenario(
        "kubenet",
        "clusters:\n  - name: c\n    node_pools: [{name: p, count: 2, vnet_subnet: nodes, max_pods: 10}]\n\
         workloads: [{name: web, cluster: c, kind: deployment, replicas: 25}]\n\
         events: [{at: 1h, scale_pool: {cluster: c, pool: p, count: 3}}]\n",
    );
    let r = check(&yaml);
    assert_eq!(pool(&r, 0, "p").pods_unschedulable, 5);
    // One episode of the workload: from time 0 until the third node is ready
    // at 1h 3m, 5 pods at most.
    let rows: Vec<_> = r.events.iter().filter(|e| e.kind.as_str() == "pod-unschedulable").collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].time_s, rows[0].cluster.as_str(), rows[0].pool.as_str()), (0, "c", ""));
    assert_eq!(
        rows[0].detail,
        "workload web: at most 5 pods at once found no eligible node with room (max_pods), for 3780 s"
    );
    // Behind the flag: a row per pod, the rest unchanged.
    let per_pod = check_per_pod(&yaml);
    assert_eq!(count(&per_pod, "pod-unschedulable"), 5);
    assert_eq!((per_pod.utilization, per_pod.cluster), (r.utilization.clone(), r.cluster.clone()));
    // The third node is ready 3 minutes after 1h and takes the 5 waiting pods.
    assert_eq!(pool(&r, 2 * 3600, "p").pods_running, 25);
    assert_eq!(pool(&r, 2 * 3600, "p").pods_unschedulable, 0);
    assert_eq!(util(&r, 2 * 3600, "c/pod-cidr").allocated, 3 * 256);
}

#[test]
fn host_network_daemonsets_take_no_pod_ip() {
    let r = check(&scenario(
        "dynamic",
        "clusters:\n  - name: c\n    node_pools: [{name: p, count: 3, vnet_subnet: nodes, pod_subnet: pods}]\n\
         workloads:\n  - {name: proxy, cluster: c, kind: daemonset, host_network: true}\n  - {name: agent, cluster: c, kind: daemonset}\n",
    ));
    assert_eq!(pool(&r, 0, "p").pods_running, 6);
    // 3 primaries + 3 agent pods in use; each node holds 1 + 16.
    assert_eq!(util(&r, 0, "pods").in_use, 6);
    assert_eq!(util(&r, 0, "pods").allocated, 3 * 17);
}

#[test]
fn dynamic_waiting_pods_start_when_another_cluster_returns_addresses() {
    let yaml = "name: t\nduration: 1d\nsample_every: 1h\nallocator: dynamic\n\
        network:\n  address_space: [10.1.0.0/16]\n  subnets: {na: 10.1.0.0/24, nb: 10.1.1.0/24, pods: 10.1.2.0/26}\n\
        clusters:\n  - name: a\n    node_pools: [{name: pa, count: 2, vnet_subnet: na, pod_subnet: pods}]\n\
        \x20 - name: b\n    node_pools: [{name: pb, count: 1, vnet_subnet: nb, pod_subnet: pods}]\n\
        workloads: [{name: web, cluster: b, kind: deployment, replicas: 20}]\n\
        events: [{at: 2h, scale_pool: {cluster: a, pool: pa, count: 0}}]\n";
    let r = check(yaml);
    // /26: 59 usable. a's 2 nodes take 34, b's node 17 (8 free); b's 9th pod asks for
    // +16, which fails: its first batch still serves 16 pods, the other 4 wait.
    assert_eq!(pool(&r, 3600, "pb").pods_running, 16);
    assert_eq!(pool(&r, 3600, "pb").pods_waiting_ip, 4);
    assert_eq!(count(&r, "pod-ip-exhausted"), 1);
    // Once a's nodes are deleted (after their drain), b's short node retries and its pods start.
    assert_eq!(pool(&r, 3 * 3600, "pb").pods_running, 20);
    assert_eq!(util(&r, 3 * 3600, "pods").allocated, 33);
    assert_eq!(r.summary.max_pods_waiting_ip, 4);
    assert_eq!(r.summary.pod_ip_waits, 4);
}

#[test]
fn upgrade_peaks_at_count_plus_surge_and_ends_at_count() {
    let r = check(&scenario(
        "static-block",
        "clusters:\n  - name: c\n    node_pools: [{name: p, count: 4, vnet_subnet: nodes, pod_subnet: pods, max_pods: 31, max_surge: 2}]\n\
         workloads: [{name: web, cluster: c, kind: deployment, replicas: 60}]\n\
         events: [{at: 1h, upgrade_pool: {cluster: c, pool: p}}]\n",
    ));
    assert_eq!(r.summary.peak_allocated, 6 * 32, "4 + 2 surge nodes of 2 blocks");
    assert_eq!(pool(&r, 4 * 3600, "p").nodes, 4);
    assert_eq!(pool(&r, 4 * 3600, "p").pods_running, 60);
    assert_eq!(util(&r, 4 * 3600, "pods").allocated, 4 * 32);
    assert!(r.events.is_empty());
}

#[test]
fn autoscaler_adds_nodes_for_unschedulable_pods_and_removes_idle_ones() {
    let r = check(&scenario(
        "overlay",
        "clusters:\n  - name: c\n    node_pools: [{name: p, count: 2, vnet_subnet: nodes, max_pods: 20, autoscale: {min: 2, max: 10}}]\n\
         workloads: [{name: web, cluster: c, kind: deployment, replicas: 30}]\n\
         events:\n  - {at: 1h, scale_workload: {name: web, replicas: 100}}\n  - {at: 3h, scale_workload: {name: web, replicas: 10}}\n",
    ));
    assert_eq!(pool(&r, 0, "p").pods_unschedulable, 0, "2 x 20 = 40 slots hold the 30 pods");
    assert_eq!(pool(&r, 2 * 3600, "p").nodes, 5, "100 pods / 20 per node");
    assert_eq!(pool(&r, 2 * 3600, "p").pods_running, 100);
    assert_eq!(pool(&r, 5 * 3600, "p").nodes, 2, "idle nodes removed down to min");
}

#[test]
fn rollout_replaces_every_pod_with_bounded_surge() {
    let r = check(&scenario(
        "node-subnet",
        "clusters:\n  - name: c\n    node_pools: [{name: p, count: 5, vnet_subnet: nodes, max_pods: 30}]\n\
         workloads: [{name: web, cluster: c, kind: deployment, replicas: 100}]\n\
         events: [{at: 1h, rollout: {name: web}}]\n",
    ));
    assert_eq!(pool(&r, 2 * 3600, "p").pods_running, 100);
    assert_eq!(pool(&r, 2 * 3600, "p").pods_unschedulable, 0);
    // 5 x 30 = 150 slots: the 25 surge pods fit, so nothing was unschedulable.
    assert_eq!(count(&r, "pod-unschedulable"), 0);
}

#[test]
fn churn_is_deterministic_per_seed() {
    let body = "clusters:\n  - name: c\n    scheduler: random\n    node_pools: [{name: p, count: 5, vnet_subnet: nodes, pod_subnet: pods}]\n\
        workloads:\n  - {name: jobs, cluster: c, kind: churn, arrivals_per_hour: 500, lifetime: {exponential: 10m}}\n";
    let a = check(&format!("seed: 3\n{}", scenario("dynamic", body)));
    let b = check(&format!("seed: 3\n{}", scenario("dynamic", body)));
    let c = check(&format!("seed: 4\n{}", scenario("dynamic", body)));
    assert_eq!(a.utilization, b.utilization);
    assert_eq!(a.cluster, b.cluster);
    assert_ne!(a.cluster, c.cluster);
}

#[test]
fn remove_pool_returns_every_address() {
    let r = check(&scenario(
        "static-block",
        "clusters:\n  - name: c\n    node_pools: [{name: p, count: 3, vnet_subnet: nodes, pod_subnet: pods, max_pods: 47}]\n\
         workloads: [{name: web, cluster: c, kind: deployment, replicas: 50}]\n\
         events:\n  - {at: 1h, add_pool: {cluster: c, pool: {name: q, count: 2, vnet_subnet: nodes, pod_subnet: pods, max_pods: 31}}}\n  - {at: 2h, remove_pool: {cluster: c, pool: p}}\n  - {at: 3h, remove_pool: {cluster: c, pool: q}}\n",
    ));
    assert_eq!(util(&r, 3600, "pods").allocated, 3 * 48 + 2 * 32);
    assert_eq!(pool(&r, 2 * 3600, "q").pods_running, 50, "p's pods moved to q (2 x 31 = 62 slots)");
    assert_eq!(util(&r, 4 * 3600, "pods").allocated, 0);
    assert_eq!(util(&r, 4 * 3600, "nodes").allocated, 0);
    assert_eq!(util(&r, 4 * 3600, "nodes").in_use, 0);
}

#[test]
fn upgrade_whose_surge_does_not_divide_the_pool_ends_at_count() {
    for (count, surge, peak) in [(3, "2", 5), (5, "\"33%\"", 7), (4, "3", 7)] {
        let r = check(&scenario(
            "node-subnet",
            &format!(
                "clusters:\n  - name: c\n    node_pools: [{{name: p, count: {count}, vnet_subnet: nodes, max_pods: 30, max_surge: {surge}}}]\n\
                 workloads: [{{name: web, cluster: c, kind: deployment, replicas: 40}}]\n\
                 events: [{{at: 1h, upgrade_pool: {{cluster: c, pool: p}}}}]\n"
            ),
        ));
        assert_eq!(r.summary.peak_allocated, peak * 31, "count {count} surge {surge}: count + surge nodes at the peak");
        assert_eq!(pool(&r, 6 * 3600, "p").nodes, count, "count {count} surge {surge}: back to count");
        assert_eq!(util(&r, 6 * 3600, "nodes").allocated, u64::from(count) * 31);
        assert_eq!(pool(&r, 6 * 3600, "p").pods_running, 40);
    }
}

#[test]
fn upgrade_steps_take_provision_drain_and_reimage_time() {
    // Defaults: provision 3m, drain 1m, reimage 5m. count 2, surge 1: the surge
    // node at 1h, ready at +180 s; two steps of drain + reimage (360 s each);
    // then the buffer drains for 60 s and is deleted at 3600 + 180 + 720 + 60.
    let yaml = scenario(
        "node-subnet",
        "clusters:\n  - name: c\n    node_pools: [{name: p, count: 2, vnet_subnet: nodes, max_pods: 30}]\n\
         events: [{at: 1h, upgrade_pool: {cluster: c, pool: p}}]\n",
    )
    .replace("sample_every: 1h", "sample_every: 10s");
    let r = check(&yaml);
    assert_eq!(pool(&r, 3590, "p").nodes, 2);
    assert_eq!(pool(&r, 3600, "p").nodes, 3);
    assert_eq!(pool(&r, 4550, "p").nodes, 3);
    assert_eq!(pool(&r, 4560, "p").nodes, 2);
}

#[test]
fn timing_block_overrides_the_defaults() {
    let yaml = scenario(
        "node-subnet",
        "timing: {node_provision: 1m, node_drain: 30s, node_reimage: 2m}\n\
         clusters:\n  - name: c\n    node_pools: [{name: p, count: 2, vnet_subnet: nodes, max_pods: 30}]\n\
         events: [{at: 1h, upgrade_pool: {cluster: c, pool: p}}]\n",
    )
    .replace("sample_every: 1h", "sample_every: 10s");
    let r = check(&yaml);
    // 3600 + 60 + 2 x (30 + 120) + 30 = 3990.
    assert_eq!(pool(&r, 3980, "p").nodes, 3);
    assert_eq!(pool(&r, 3990, "p").nodes, 2);
}

#[test]
fn workload_pinned_to_a_pool_added_later_waits_for_it() {
    let r = check(&scenario(
        "node-subnet",
        "clusters:\n  - name: c\n    node_pools: [{name: p1, count: 2, vnet_subnet: nodes, max_pods: 30}]\n\
         workloads:\n  - {name: web, cluster: c, pool: p2, kind: deployment, replicas: 5}\n  - {name: ds, cluster: c, pool: p2, kind: daemonset}\n\
         events: [{at: 1h, add_pool: {cluster: c, pool: {name: p2, count: 1, vnet_subnet: nodes, max_pods: 30}}}]\n",
    ));
    assert_eq!(pool(&r, 0, "p1").pods_running, 0, "p1 may not run web or ds");
    assert_eq!(pool(&r, 0, "p2").nodes, 0);
    assert_eq!(pool(&r, 0, "p2").pods_unschedulable, 5, "web waits for p2");
    assert_eq!(pool(&r, 2 * 3600, "p2").pods_running, 6, "web's 5 and one ds pod");
    assert_eq!(pool(&r, 2 * 3600, "p1").pods_running, 0);
}

#[test]
fn pool_removed_and_added_again_keeps_one_row() {
    let r = check(&scenario(
        "node-subnet",
        "clusters:\n  - name: c\n    node_pools: [{name: p1, count: 2, vnet_subnet: nodes, max_pods: 30}, {name: p2, count: 1, vnet_subnet: nodes, max_pods: 30}]\n\
         events:\n  - {at: 10m, remove_pool: {cluster: c, pool: p2}}\n  - {at: 20m, add_pool: {cluster: c, pool: {name: p2, count: 3, vnet_subnet: nodes, max_pods: 30}}}\n",
    ));
    let rows = r.cluster.iter().filter(|s| s.time_s == 3600).count();
    assert_eq!(rows, 2, "one row per (cluster, pool) per sample");
    assert_eq!(pool(&r, 3600, "p2").nodes, 3);
}

#[test]
fn pending_pods_move_off_a_removed_pool() {
    let r = check(&scenario(
        "node-subnet",
        "clusters:\n  - name: c\n    node_pools: [{name: p1, count: 1, vnet_subnet: nodes, max_pods: 10}, {name: p2, count: 1, vnet_subnet: nodes, max_pods: 10}]\n\
         workloads: [{name: web, cluster: c, kind: deployment, replicas: 15}]\n\
         events: [{at: 10m, remove_pool: {cluster: c, pool: p1}}]\n",
    ));
    assert_eq!(pool(&r, 3600, "p1").pods_unschedulable, 0, "p1 no longer exists");
    assert_eq!(pool(&r, 3600, "p2").pods_running, 10);
    assert_eq!(pool(&r, 3600, "p2").pods_unschedulable, 5);
}

#[test]
fn churn_lifetime_runs_from_the_start_not_the_arrival() {
    // One pool with room for 1 pod, a deployment filling it until 1h, and churn
    // pods of a fixed 30m lifetime that arrive while it is full: they wait for
    // the slot, then each runs its full 30 minutes.
    let yaml = scenario(
        "overlay",
        "clusters:\n  - name: c\n    node_pools: [{name: p, count: 1, vnet_subnet: nodes, max_pods: 10}]\n\
         workloads:\n  - {name: web, cluster: c, kind: deployment, replicas: 10}\n  - {name: jobs, cluster: c, kind: churn, arrivals_per_hour: 12, lifetime: {fixed: 30m}, start: 0, end: 30m}\n\
         events: [{at: 1h, scale_workload: {name: web, replicas: 0}}]\n",
    )
    .replace("sample_every: 1h", "sample_every: 1m");
    let r = check(&yaml);
    let queued = pool(&r, 3540, "p").pods_unschedulable;
    assert!(
        (1..=10).contains(&queued),
        "{queued} jobs arrived in the first 30 minutes (seeded): 1 to 10 keep the test simple"
    );
    // All queued jobs start at 1h and run until exactly 1h30m.
    assert_eq!(pool(&r, 3600, "p").pods_running, queued);
    assert_eq!(pool(&r, 5340, "p").pods_running, queued);
    assert_eq!(pool(&r, 5400, "p").pods_running, 0);
}

#[test]
fn adding_a_workload_leaves_the_others_draws_alone() {
    // jobs on pool a, other on pool b: a's rows must be identical with or without other.
    let body = "clusters:\n  - name: c\n    node_pools: [{name: a, count: 3, vnet_subnet: nodes, max_pods: 250}, {name: b, count: 3, vnet_subnet: nodes, max_pods: 250}]\n\
        workloads:\n  - {name: jobs, cluster: c, pool: a, kind: churn, arrivals_per_hour: 500, lifetime: {exponential: 10m}}\n";
    let alone = check(&format!("seed: 3\n{}", scenario("overlay", body)));
    let with_other = check(&format!(
        "seed: 3\n{}  - {{name: other, cluster: c, pool: b, kind: churn, arrivals_per_hour: 300, lifetime: {{uniform: [1m, 20m]}}}}\n",
        scenario("overlay", body)
    ));
    let rows_of_a = |r: &Replay| -> Vec<PoolSample> {
        let a = r.pools.iter().position(|p| p.pool == "a").unwrap() as u32;
        r.cluster.iter().filter(|s| s.pool == a).cloned().collect()
    };
    assert!(rows_of_a(&alone).iter().any(|s| s.pods_running > 0));
    assert!(rows_of_a(&with_other).len() > 1);
    assert_eq!(rows_of_a(&alone), rows_of_a(&with_other));
    assert!(with_other.events_processed > alone.events_processed);
}

/// Found by the `replay` fuzz target: a deployment scaled down during its
/// rollout kept more pods of the new revision than its replicas (17 for 12).
#[test]
fn scaling_down_during_a_rollout_trims_the_new_revision() {
    let r = check(&scenario(
        "node-subnet",
        "clusters:\n  - name: c\n    node_pools:\n      - {name: q0, count: 2, vnet_subnet: nodes, max_pods: 10, max_surge: 1}\n      - {name: q1, count: 4, vnet_subnet: nodes, max_pods: 10, max_surge: 1}\n\
         workloads:\n  - {name: w0, cluster: c, kind: deployment, replicas: 102}\n  - {name: w1, cluster: c, kind: deployment, replicas: 102}\n\
         events:\n  - {at: 74m, scale_workload: {name: w0, replicas: 4}}\n  - {at: 76m, scale_workload: {name: w0, replicas: 68}}\n\
         \x20 - {at: 142m, rollout: {name: w0}}\n  - {at: 174m, scale_pool: {cluster: c, pool: q0, count: 4}}\n\
         \x20 - {at: 188m, scale_workload: {name: w0, replicas: 12}}\n",
    ));
    let total: u64 = r
        .cluster
        .iter()
        .filter(|s| s.time_s == 86_400)
        .map(|s| s.pods_running + s.pods_waiting_ip + s.pods_unschedulable)
        .sum();
    // `check` verified after every event that w0 never had more new-revision
    // pods than replicas. The rollout then stalls for lack of room (8 nodes × 10
    // slots for 114 pods): w0 keeps 4 old pods beside its 12 new ones.
    assert_eq!(total, 102 + 12 + 4);
}

#[test]
fn autoscaler_keeps_a_node_whose_pinned_pods_fit_only_in_other_pools() {
    // pack puts 10 of web's 14 pods on the first node of a and 4 on the second,
    // which is under 50 % for good. Those 4 may run only in pool a, whose other
    // node is full: b's free slots do not count, so the node stays.
    let r = check(&scenario(
        "overlay",
        "clusters:\n  - name: c\n    scheduler: pack\n    node_pools:\n\
         \x20     - {name: a, count: 2, vnet_subnet: nodes, max_pods: 10, autoscale: {min: 1, max: 2}}\n\
         \x20     - {name: b, count: 3, vnet_subnet: nodes, max_pods: 50}\n\
         workloads: [{name: web, cluster: c, pool: a, kind: deployment, replicas: 14}]\n",
    ));
    for t in [3600, 6 * 3600, 86_400] {
        assert_eq!(pool(&r, t, "a").nodes, 2, "at {t}");
        assert_eq!(pool(&r, t, "a").pods_running, 14, "at {t}");
    }
    assert_eq!(count(&r, "pod-unschedulable"), 0);
}

#[test]
fn pool_added_again_on_another_subnet_while_its_old_nodes_drain() {
    // The old nodes drain for 60 s in `nodes` while the new ones take `pods`
    // (used as a second node subnet here); `check` recounts every range's
    // in-use addresses node by node after every event.
    let r = check(&scenario(
        "node-subnet",
        "clusters:\n  - name: c\n    node_pools:\n      - {name: system, count: 1, vnet_subnet: nodes, max_pods: 30}\n\
         \x20     - {name: user, count: 2, vnet_subnet: nodes, max_pods: 30}\n\
         workloads: [{name: web, cluster: c, kind: deployment, replicas: 20}]\n\
         events:\n  - {at: 1h, remove_pool: {cluster: c, pool: user}}\n\
         \x20 - {at: 3630s, add_pool: {cluster: c, pool: {name: user, count: 2, vnet_subnet: pods, max_pods: 30}}}\n",
    ));
    assert_eq!(util(&r, 2 * 3600, "nodes").allocated, 31, "only system's node is left in `nodes`");
    assert_eq!(util(&r, 2 * 3600, "pods").allocated, 2 * 31);
    assert_eq!(pool(&r, 2 * 3600, "user").nodes, 2);
}

/// A scenario edited after validation past max_pods' range is refused, not run
/// (node pod lists index by a byte).
#[test]
fn replay_refuses_max_pods_beyond_validation() {
    let yaml =
        scenario("overlay", "clusters:\n  - name: c\n    node_pools: [{name: p, count: 1, vnet_subnet: nodes}]\n");
    let mut loaded = parse_str(&yaml, "test.yaml", &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    loaded.scenario.clusters[0].node_pools[0].max_pods = 300;
    let error = cluster::replay_with(&loaded.scenario, Options::default(), &mut |_| {}).expect_err("max_pods 300");
    assert!(matches!(error, cluster::ReplayError::MaxPods { max_pods: 300, limit: 250, .. }), "{error}");
}

#[test]
fn churn_draws_the_first_gap_then_each_arrivals_lifetime_and_next_gap() {
    // The replay draws one arrival ahead (for speed); the stream's use must stay
    // gap, then (lifetime, gap) per arrival, so seeded results never move.
    let body = "clusters:\n  - name: c\n    node_pools: [{name: p, count: 4, vnet_subnet: nodes, max_pods: 250}]\n\
        workloads:\n  - {name: jobs, cluster: c, kind: churn, arrivals_per_hour: 500, lifetime: {exponential: 10m}}\n";
    let r = check(&format!("seed: 5\n{}", scenario("overlay", body).replace("sample_every: 1h", "sample_every: 1m")));

    let mut rng = engine::Streams::new(5).stream("churn/jobs");
    // Exactly the replay's arithmetic: a standard exponential (ziggurat), then scaled.
    let mut exponential = || cluster::standard_exponential(&mut rng);
    let gap = |e: f64| (e / (500.0 / 3_600_000.0)).round() as u64;
    let lifetime = |e: f64| (e * 600_000.0).round() as u64;
    let mut runs = Vec::new();
    let mut arrival = gap(exponential());
    while arrival <= 86_400_000 {
        runs.push(arrival..arrival + lifetime(exponential()));
        arrival += gap(exponential());
    }
    assert!(runs.len() > 11_000, "about 12,000 arrivals in a day");
    for minute in 0..=1440u64 {
        let at = minute * 60_000;
        let expected = runs.iter().filter(|run| run.contains(&at)).count() as u64;
        assert_eq!(pool(&r, minute * 60, "p").pods_running, expected, "pods running at minute {minute}");
    }
}

/// AKS's pre-check in its own words, with the figures of the errors planners
/// see: static-block's "Pre-allocated IPs 160 exceeds IPs available 59 in Subnet
/// Cidr 10.6.0.0/26" (10 nodes × one /28 in a /26) and node-subnet's AKS#456,
/// "Pre-allocated IPs 310 exceeds IPs available 251" (10 nodes × 31 in a /24).
#[test]
fn failed_scale_operations_carry_akss_pre_check_figures() {
    let detail = |allocator: &str, network: &str, pool: &str| {
        let yaml = format!(
            "name: t\nduration: 1h\nallocator: {allocator}\nnetwork:\n  address_space: [10.6.0.0/16]\n  subnets: {network}\n\
             clusters:\n  - name: c\n    node_pools: [{pool}]\n"
        );
        let r = check(&yaml);
        assert_eq!(r.events.len(), 1, "{:?}", r.events);
        r.events[0].detail.clone()
    };
    let d = detail(
        "static-block",
        "{nodes: 10.6.1.0/24, pods: 10.6.0.0/26}",
        "{name: p, count: 10, vnet_subnet: nodes, pod_subnet: pods, max_pods: 15}",
    );
    assert!(
        d.ends_with(
            "; InsufficientSubnetSize: Pre-allocated IPs 160 exceeds IPs available 59 in Subnet Cidr 10.6.0.0/26"
        ),
        "{d}"
    );
    let d = detail("node-subnet", "{nodes: 10.6.0.0/24}", "{name: p, count: 10, vnet_subnet: nodes, max_pods: 30}");
    assert!(
        d.ends_with(
            "; InsufficientSubnetSize: Pre-allocated IPs 310 exceeds IPs available 251 in Subnet Cidr 10.6.0.0/24"
        ),
        "{d}"
    );
    // Three nodes of one block fit AKS's count (48 of 59) but not the /26's two
    // usable /28s: the detail says the pre-check passes, not AKS's error.
    let d = detail(
        "static-block",
        "{nodes: 10.6.1.0/24, pods: 10.6.0.0/26}",
        "{name: p, count: 3, vnet_subnet: nodes, pod_subnet: pods, max_pods: 15}",
    );
    assert!(d.ends_with("; AKS's pre-check passes (pre-allocated IPs 48 of 59 available in 10.6.0.0/26)"), "{d}");
    // Dynamic nodes take their pod addresses after creation: no pre-check words.
    let d = detail(
        "dynamic",
        "{nodes: 10.6.0.0/29, pods: 10.6.1.0/24}",
        "{name: p, count: 4, vnet_subnet: nodes, pod_subnet: pods}",
    );
    assert!(d.ends_with("no node created"), "{d}");
}

/// The bundled scarcity scenario: two identical clusters, one following subnet
/// scarcity. The batches' slack runs the plain one out of pod addresses first;
/// the scarce one runs pods on every address but its nodes' primaries.
#[test]
fn subnet_scarcity_runs_out_later() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/dynamic-scarcity.yaml");
    let r = check(&std::fs::read_to_string(path).unwrap());
    let first_wait = |cluster: &str| {
        let index = r.pools.iter().position(|p| p.cluster == cluster).unwrap() as u32;
        let s = r.cluster.iter().find(|s| s.pool == index && s.pods_waiting_ip > 0).unwrap();
        (s.time_s / 3600, s.pods_running)
    };
    // Day 6's scale-up to 340: 330 run; 507 − 20 primaries = 487 run at day 10.
    assert_eq!(first_wait("plain"), (6 * 24, 330));
    assert_eq!(first_wait("scarce"), (10 * 24, 487));
    // While marked, the scarce subnet holds demand + 1 per node, + primaries.
    let day9 = 9 * 86_400 + 7_200;
    assert_eq!((util(&r, day9, "pods-plain").allocated, util(&r, day9, "pods-scarce").allocated), (500, 500));
    assert_eq!(util(&r, day9, "pods-scarce").in_use, 480);
}

/// Episodes end when no pod of the workload waits, start again when one does,
/// and one still open at the end says so; each workload has its own.
#[test]
fn unschedulable_episodes_per_workload() {
    let r = check(&scenario(
        "kubenet",
        "clusters:\n  - name: c\n    node_pools:\n      - {name: p, count: 1, vnet_subnet: nodes, max_pods: 10}\n\
         \x20     - {name: q, count: 1, vnet_subnet: nodes, max_pods: 10}\n\
         workloads:\n  - {name: web, cluster: c, pool: p, kind: deployment, replicas: 12}\n\
         \x20 - {name: api, cluster: c, pool: q, kind: deployment, replicas: 4}\n\
         events:\n  - {at: 1h, scale_workload: {name: web, replicas: 10}}\n\
         \x20 - {at: 2h, scale_workload: {name: web, replicas: 13}}\n\
         \x20 - {at: 3h, scale_workload: {name: api, replicas: 11}}\n",
    ));
    let rows: Vec<(u64, &str, &str)> = r
        .events
        .iter()
        .filter(|e| e.kind.as_str() == "pod-unschedulable")
        .map(|e| (e.time_s, e.pool.as_str(), e.detail.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (0, "p", "workload web: at most 2 pods at once found no eligible node with room (max_pods), for 3600 s"),
            (
                7200,
                "p",
                "workload web: at most 3 pods at once found no eligible node with room (max_pods), until the end (3 still waiting)"
            ),
            (
                10800,
                "q",
                "workload api: at most 1 pod at once found no eligible node with room (max_pods), until the end (1 still waiting)"
            ),
        ]
    );
}

#[test]
fn aws_nodes_hold_enis_in_their_subnet_and_prefixes_where_reserved() {
    // Two t3.small nodes, 10 pods spread 5 and 5: under WARM_ENI_TARGET 1 each
    // node has 3 ENIs (3 primaries) and 9 secondary IPs: 2 × 12 allocated, the
    // 2 node IPs and 10 pod IPs in use.
    let body = "clusters:\n  - name: c\n    service_cidr: 172.20.0.0/16\n    node_pools: [{name: p, count: 2, \
                vnet_subnet: nodes, instance_type: t3.small}]\n\
                workloads: [{name: web, cluster: c, kind: deployment, replicas: 10}]\n";
    let r = check(&scenario("aws-vpc-cni", body));
    let nodes = util(&r, 3600, "nodes");
    assert_eq!((nodes.allocated, nodes.in_use), (24, 12));
    assert_eq!(pool(&r, 3600, "p").pods_running, 10);
    // With prefixes from a reservation (the pool's pod_subnet): one /28 each
    // holds the 5 pods and, under 16 free, a second is kept warm.
    let r = check(&scenario("aws-prefix", &body.replace("instance_type", "pod_subnet: pods, instance_type")));
    let (nodes, pods) = (util(&r, 3600, "nodes"), util(&r, 3600, "pods"));
    assert_eq!((nodes.allocated, nodes.in_use), (2, 2));
    assert_eq!((pods.allocated, pods.in_use), (2 * 32, 10));
    // The /20 reservation reserves nothing: all 256 /28s but the 4 taken,
    // and its usable is its whole size.
    assert_eq!((pods.free_blocks_28, pods.usable), (256 - 4, 4096));
}
