//! One mid-size scenario replayed end to end, in process: 200 nodes in four
//! pools, 4,000 deployment pods and 20,000 short jobs an hour for six hours, once
//! under static-block and once under dynamic. And the peer churn raced against
//! SimPy (`peer-churn.yaml`, issue 20; docs/performance.md, sixth round).
//! Throughput is simulation events.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scenario::{Mode, Overrides, Scenario};

const SCENARIO: &str = "\
name: end-to-end bench
seed: 7
duration: 6h
sample_every: 10m
allocator: static-block
network:
  address_space: [10.0.0.0/8]
  subnets: {nodes: 10.1.0.0/20, pods: 10.16.0.0/16}
clusters:
  - name: mid
    max_pods: 31
    node_pools:
      - {name: a, count: 50, vnet_subnet: nodes, pod_subnet: pods, max_surge: 2}
      - {name: b, count: 50, vnet_subnet: nodes, pod_subnet: pods}
      - {name: c, count: 50, vnet_subnet: nodes, pod_subnet: pods}
      - {name: d, count: 50, vnet_subnet: nodes, pod_subnet: pods}
workloads:
  - {name: web, cluster: mid, pool: a, kind: deployment, replicas: 1000}
  - {name: api, cluster: mid, pool: b, kind: deployment, replicas: 1000}
  - {name: db, cluster: mid, pool: c, kind: deployment, replicas: 1000}
  - {name: etl, cluster: mid, pool: d, kind: deployment, replicas: 1000}
  - {name: jobs, cluster: mid, kind: churn, arrivals_per_hour: 20000, lifetime: {exponential: 5m}}
events:
  - {at: 3h, upgrade_pool: {cluster: mid, pool: a}}
";

fn scenario(allocator: &'static Mode) -> Scenario {
    let overrides = Overrides { allocator: Some(allocator), ..Overrides::default() };
    scenario::parse_str(SCENARIO, "end_to_end.rs", &overrides).expect("a valid scenario").scenario
}

fn end_to_end(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay");
    for (name, allocator) in [("static-block", &static_block::MODE), ("dynamic", &dynamic::MODE)] {
        let scenario = scenario(allocator);
        let events = cluster::replay(&scenario).expect("replays").events_processed;
        group.throughput(Throughput::Elements(events));
        group.bench_function(name, |b| b.iter(|| black_box(cluster::replay(&scenario).expect("replays"))));
    }
    group.finish();
}

/// The peer churn, the work `../shared/peers/simpy_churn.py` does: 100 dynamic
/// nodes, 20,000 arrivals an hour, two days (1.9 M events).
fn peer_churn(c: &mut Criterion) {
    let text = include_str!("peer-churn.yaml");
    let scenario =
        scenario::parse_str(text, "peer-churn.yaml", &Overrides::default()).expect("a valid scenario").scenario;
    let events = cluster::replay(&scenario).expect("replays").events_processed;
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(events));
    group.bench_function("peer-churn", |b| b.iter(|| black_box(cluster::replay(&scenario).expect("replays"))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    targets = end_to_end, peer_churn
}
criterion_main!(benches);
