//! Each allocator at steady state, on a cluster of `NODES` nodes at `MAX_PODS`:
//! - `nodes/<allocator>`: delete the oldest node and create a new one (a VMSS
//!   rolling through its instances), one pair per element;
//! - `pods/<allocator>`: bind a pod to a random node and unbind one from another
//!   random node, about half the slots filled, one pair per element.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Duration;

use allocator::{AddressSpace, Allocator, NodeId, NodeSpec};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use net::{AddressRange, Granularity};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Operation pairs per timed iteration.
const BATCH: u64 = 1000;
const NODES: u32 = 200;
const MAX_PODS: u32 = 30;

const ALLOCATORS: [&str; 5] = ["node-subnet", "dynamic", "static-block", "kubenet", "overlay"];

/// A /16 node subnet, a /12 pod subnet (in /28 blocks for static-block) and a
/// /8 pod CIDR for kubenet and overlay: nothing runs out.
fn setup(name: &str) -> (Box<dyn Allocator>, AddressSpace, NodeSpec) {
    let mut space = AddressSpace::new();
    let prefix = |p: &str| p.parse().expect("valid prefix");
    let nodes = AddressRange::vnet_subnet("nodes", prefix("10.1.0.0/16"), Granularity::ADDRESS).expect("valid subnet");
    let node_subnet = space.add(nodes);
    let granularity = if name == "static-block" { Granularity::BLOCK28 } else { Granularity::ADDRESS };
    let pods = AddressRange::vnet_subnet("pods", prefix("10.16.0.0/12"), granularity).expect("valid subnet");
    let pod_subnet = space.add(pods);
    let cidr = space
        .add(AddressRange::pod_cidr("pod-cidr", prefix("100.0.0.0/8"), Granularity::SLASH24).expect("valid pod CIDR"));
    let (allocator, uses_pod_subnet): (Box<dyn Allocator>, bool) = match name {
        "node-subnet" => (Box::new(node_subnet::NodeSubnet::new()), false),
        "dynamic" => (Box::new(dynamic::Dynamic::new()), true),
        "static-block" => (Box::new(static_block::StaticBlock::new()), true),
        "kubenet" => (Box::new(kubenet::Kubenet::new(cidr)), false),
        "overlay" => (Box::new(overlay::Overlay::new(cidr)), false),
        _ => unreachable!("unknown allocator {name}"),
    };
    let spec =
        NodeSpec { node_subnet, pod_subnet: uses_pod_subnet.then_some(pod_subnet), max_pods: MAX_PODS, machine: None };
    (allocator, space, spec)
}

fn node_churn(c: &mut Criterion) {
    let mut group = c.benchmark_group("nodes");
    group.throughput(Throughput::Elements(BATCH));
    for name in ALLOCATORS {
        let (mut allocator, mut space, spec) = setup(name);
        let mut live: VecDeque<NodeId> = VecDeque::new();
        let mut next = 0u32;
        let mut create = |allocator: &mut Box<dyn Allocator>, space: &mut AddressSpace, live: &mut VecDeque<NodeId>| {
            let node = NodeId(next);
            next += 1;
            allocator.create_node(node, &spec, space).expect("room for the node");
            black_box(allocator.reconcile(node, space));
            live.push_back(node);
        };
        for _ in 0..NODES {
            create(&mut allocator, &mut space, &mut live);
        }
        group.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    let oldest = live.pop_front().expect("nodes live");
                    allocator.delete_node(oldest, &mut space);
                    create(&mut allocator, &mut space, &mut live);
                }
            });
        });
    }
    group.finish();
}

/// A node's pods as the cluster model sees them.
#[derive(Debug, Clone, Copy, Default)]
struct Pods {
    bound: u32,
    started: u32,
}

fn pod_churn(c: &mut Criterion) {
    let mut group = c.benchmark_group("pods");
    group.throughput(Throughput::Elements(BATCH));
    for name in ALLOCATORS {
        let (mut allocator, mut space, spec) = setup(name);
        let mut pods = vec![Pods::default(); NODES as usize];
        for n in 0..NODES {
            let node = NodeId(n);
            allocator.create_node(node, &spec, &mut space).expect("room for the node");
            let update = allocator.reconcile(node, &mut space);
            pods[n as usize].started += update.started;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let bind = |allocator: &mut Box<dyn Allocator>, space: &mut AddressSpace, pods: &mut [Pods], n: u32| {
            let update = allocator.pod_bound(NodeId(n), space);
            let p = &mut pods[n as usize];
            p.bound += 1;
            p.started += update.started;
        };
        // Half full, spread at random.
        for _ in 0..NODES * MAX_PODS / 2 {
            let n = loop {
                let n = rng.random_range(0..NODES);
                if pods[n as usize].bound < MAX_PODS {
                    break n;
                }
            };
            bind(&mut allocator, &mut space, &mut pods, n);
        }
        group.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    let to = rng.random_range(0..NODES);
                    if pods[to as usize].bound < MAX_PODS {
                        bind(&mut allocator, &mut space, &mut pods, to);
                    }
                    let from = rng.random_range(0..NODES);
                    let p = &mut pods[from as usize];
                    if p.bound > 0 {
                        // Pods waiting for an IP go first: they hold nothing.
                        let had_ip = p.bound == p.started;
                        p.bound -= 1;
                        p.started -= u32::from(had_ip);
                        let update = allocator.pod_unbound(NodeId(from), had_ip, &mut space);
                        p.started += update.started;
                    }
                }
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(1)).warm_up_time(Duration::from_millis(300));
    targets = node_churn, pod_churn
}
criterion_main!(benches);
