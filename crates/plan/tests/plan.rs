//! `plan` against known answers (plan.md and AKS's own sizing rules): each
//! case is a scenario, the prefix plan.md's arithmetic gives, and the proof —
//! the planned scenario replays clean and one bit less exhausts.

use ipnet::Ipv4Net;
use plan::{AllocatorPlan, PlanOptions, Verdict, layout};
use scenario::{Overrides, Scenario};

fn load(yaml: &str) -> Scenario {
    match scenario::parse_str(yaml, "test.yaml", &Overrides::default()) {
        Ok(loaded) => loaded.scenario,
        Err(e) => panic!("{e}"),
    }
}

fn plan_one(yaml: &str, options: PlanOptions) -> AllocatorPlan {
    let scenario = load(yaml);
    let mut plan = plan::plan(&scenario, &options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.allocators.len(), 1);
    plan.allocators.remove(0)
}

/// Plan `yaml`, check that `range` needs `required` addresses and `/prefix`,
/// then prove it: the planned scenario replays with no size-dependent
/// exhaustion, and with that range one bit smaller it exhausts on it.
fn check(yaml: &str, range: &str, required: u64, prefix: u8) -> AllocatorPlan {
    let plan = plan_one(yaml, PlanOptions::default());
    let r = plan.ranges.iter().find(|r| r.name == range).unwrap_or_else(|| panic!("no range {range}"));
    assert_eq!(r.required, required, "{range}: required");
    assert_eq!(r.smallest_prefix, Some(prefix), "{range}: smallest prefix");
    let planned = plan.planned.clone().expect("the plan fits");
    let replay = cluster::replay(&planned).unwrap();
    let failures: Vec<_> = replay.events.iter().filter(|e| e.is_size_dependent()).collect();
    assert!(failures.is_empty(), "the planned scenario exhausts: {failures:?}");
    let verification = plan.verification.expect("verified");
    assert_eq!((verification.seeds_held, verification.seeds_clean), (1, 1));

    let mut smaller = planned.clone();
    let shrink = |net: &mut Ipv4Net| *net = Ipv4Net::new(net.network(), prefix + 1).unwrap();
    if let Some(s) = smaller.network.subnets.iter_mut().find(|s| s.name == range) {
        shrink(&mut s.prefix);
    } else {
        let cluster = range.strip_suffix("/pod-cidr").expect("a subnet or a pod CIDR");
        shrink(&mut smaller.clusters.iter_mut().find(|c| c.name == cluster).unwrap().pod_cidr);
    }
    let replay = cluster::replay(&smaller).unwrap();
    assert!(
        replay.events.iter().any(|e| e.is_size_dependent() && e.range == range),
        "{range} one bit smaller (/{}) does not exhaust: {:?}",
        prefix + 1,
        replay.events
    );
    plan
}

const NODE_SUBNET_50: &str = "
name: traditional Azure CNI, 50 nodes
duration: 4h
allocator: node-subnet
network: {address_space: [10.0.0.0/16], subnets: {nodes: 10.0.0.0/24}}
clusters:
  - name: prod
    service_cidr: 192.168.0.0/16
    node_pools: [{name: user, count: 50, vnet_subnet: nodes, max_pods: 30, max_surge: 1}]
events:
  - {at: 1h, upgrade_pool: {cluster: prod, pool: user}}
";

#[test]
fn node_subnet_needs_nodes_plus_surge_times_one_plus_max_pods() {
    // AKS: (nodes + surge) × (1 + max_pods) = 51 × 31 = 1,581 → /21.
    let plan = check(NODE_SUBNET_50, "nodes", 1_581, 21);
    let r = &plan.ranges[0];
    assert_eq!(r.verdict, Verdict::TooSmall);
    assert_eq!(r.proposed.unwrap().to_string(), "10.0.0.0/21");
    assert_eq!(r.current_capacity, 251);
    assert_eq!(r.exhausted_seeds, 1, "as written, the /24 runs out at time zero");
    let e = r.explanation.as_ref().unwrap();
    assert_eq!(e.sum(), "51 nodes × 31 (1 + max_pods 30, prod/user) + 5 reserved = 1,586");
    assert!(e.doing.iter().any(|d| d.contains("upgrade")), "{:?}", e.doing);
    assert_eq!(r.peak_time_s, Some(3_600), "the surge node comes at the upgrade");
}

#[test]
fn node_subnet_without_the_upgrade_needs_nodes_times_one_plus_max_pods() {
    let yaml = NODE_SUBNET_50.split("events:").next().unwrap();
    let plan = check(yaml, "nodes", 1_550, 21);
    let e = plan.ranges[0].explanation.as_ref().unwrap();
    assert_eq!(e.time_s, 0);
    assert!(e.doing[0].starts_with("time zero"), "{:?}", e.doing);
}

#[test]
fn kubenet_252_nodes_need_a_slash_23_node_subnet() {
    let yaml = "
name: kubenet, 252 nodes
duration: 1h
allocator: kubenet
network: {address_space: [10.0.0.0/16], subnets: {nodes: 10.0.0.0/24}}
clusters:
  - name: k
    service_cidr: 192.168.0.0/16
    node_pools: [{name: p, count: 252, vnet_subnet: nodes}]
";
    let plan = check(yaml, "nodes", 252, 23);
    // The default /16 pod CIDR holds 256 /24s: it fits and keeps its prefix.
    let cidr = plan.ranges.iter().find(|r| r.name == "k/pod-cidr").unwrap();
    assert_eq!((cidr.required, cidr.verdict), (252 * 256, Verdict::Fits));
    assert_eq!(cidr.proposed.unwrap().to_string(), "10.244.0.0/16");
    assert_eq!(cidr.smallest_prefix, Some(16));
}

#[test]
fn overlay_300_nodes_need_a_slash_15_pod_cidr() {
    let yaml = "
name: overlay, 300 nodes
duration: 1h
allocator: overlay
network: {address_space: [10.0.0.0/16], subnets: {nodes: 10.0.0.0/22}}
clusters:
  - name: o
    service_cidr: 192.168.0.0/16
    node_pools: [{name: p, count: 300, vnet_subnet: nodes}]
";
    let plan = check(yaml, "o/pod-cidr", 300 * 256, 15);
    let cidr = plan.ranges.iter().find(|r| r.name == "o/pod-cidr").unwrap();
    assert_eq!(cidr.verdict, Verdict::TooSmall);
    // 10.244.0.0/15 would hold it in place.
    assert_eq!(cidr.proposed.unwrap().to_string(), "10.244.0.0/15");
    assert_eq!(cidr.explanation.as_ref().unwrap().sum(), "300 nodes × 256 (a /24, o/p) = 76,800");
}

#[test]
fn static_block_10_nodes_at_max_pods_30_need_20_blocks_in_a_slash_23() {
    let yaml = "
name: static blocks
duration: 1h
allocator: static-block
network: {address_space: [10.0.0.0/16], subnets: {nodes: 10.0.0.0/24, pods: 10.0.1.0/24}}
clusters:
  - name: s
    service_cidr: 192.168.0.0/16
    node_pools: [{name: p, count: 10, vnet_subnet: nodes, pod_subnet: pods, max_pods: 30}]
";
    let plan = check(yaml, "pods", 320, 23);
    let pods = plan.ranges.iter().find(|r| r.name == "pods").unwrap();
    assert_eq!(pods.unit, layout::RangeKind::SubnetBlocks);
    assert_eq!(
        pods.explanation.as_ref().unwrap().sum(),
        "10 nodes × 32 (2 /28 blocks, s/p) + 32 (first and last /28) = 352"
    );
    // The /24 must grow to a /23 and 10.0.0.0/23 holds the node subnet: it moves.
    assert_eq!(pods.proposed.unwrap().to_string(), "10.0.2.0/23");
}

#[test]
fn dynamic_15_idle_nodes_need_15_times_17() {
    let yaml = "
name: dynamic idle
duration: 1h
allocator: dynamic
network: {address_space: [10.0.0.0/16], subnets: {nodes: 10.0.0.0/24, pods: 10.0.1.0/24}}
clusters:
  - name: d
    service_cidr: 192.168.0.0/16
    node_pools: [{name: p, count: 15, vnet_subnet: nodes, pod_subnet: pods}]
";
    let plan = check(yaml, "pods", 255, 23);
    let pods = plan.ranges.iter().find(|r| r.name == "pods").unwrap();
    assert_eq!(
        pods.explanation.as_ref().unwrap().sum(),
        "15 nodes × 17 (1 primary + 1 batch of 16, d/p) + 5 reserved = 260"
    );
    let nodes = plan.ranges.iter().find(|r| r.name == "nodes").unwrap();
    assert_eq!((nodes.required, nodes.verdict, nodes.smallest_prefix), (15, Verdict::Fits, Some(27)));
}

#[test]
fn a_full_route_table_is_reported_and_never_fixed_by_a_bigger_range() {
    let yaml = "
name: kubenet over 400 routes
duration: 1h
allocator: kubenet
network: {address_space: [10.0.0.0/16], subnets: {nodes: 10.0.0.0/23}}
clusters:
  - name: k
    service_cidr: 192.168.0.0/16
    pod_cidr: 10.244.0.0/15
    node_pools: [{name: a, count: 400, vnet_subnet: nodes}]
events:
  - {at: 10m, scale_pool: {cluster: k, pool: a, count: 405}}
";
    let plan = check(yaml, "nodes", 400 + 1, 23);
    let full = plan.unfixable.iter().find(|u| u.kind == "route-table-full").expect("reported");
    assert_eq!((full.seeds, full.first_s), (1, 600));
    let nodes = &plan.ranges[0];
    // 400 nodes, and the node IP the scale-up's first new node takes before the
    // route table refuses it: the subnet must hold it too, or the planned
    // replay would log node-ip-exhausted where AKS says the route table is full.
    assert_eq!(nodes.explanation.as_ref().unwrap().transient, 1);
    assert_eq!(nodes.peak, 401);
}

/// A busy day: churn, an autoscaled pool, an upgrade, a deployment scaled up.
const BUSY: &str = "
name: busy day
seed: 11
duration: 1d
network: {address_space: [10.20.0.0/16], subnets: {nodes: 10.20.0.0/26, pods: 10.20.4.0/24}}
clusters:
  - name: prod
    service_cidr: 192.168.0.0/16
    max_pods: 30
    node_pools:
      - {name: system, count: 2, vnet_subnet: nodes, pod_subnet: pods}
      - {name: user, count: 4, vnet_subnet: nodes, pod_subnet: pods, max_surge: 2, autoscale: {min: 4, max: 20}}
workloads:
  - {name: web, cluster: prod, pool: user, kind: deployment, replicas: 60}
  - {name: jobs, cluster: prod, pool: user, kind: churn, arrivals_per_hour: 400, lifetime: {exponential: 20m}}
events:
  - {at: 6h, scale_workload: {name: web, replicas: 200}}
  - {at: 12h, upgrade_pool: {cluster: prod, pool: user}}
";

/// `BUSY` under `allocator`; the AWS modes' pools are m5.large (their default
/// machine), which holds 29 pods, not 30.
fn busy(allocator: &'static scenario::Mode) -> Scenario {
    let overrides = Overrides { allocator: Some(allocator), seed: None };
    let text = if allocator.machines.is_some() { BUSY.replace("max_pods: 30", "max_pods: 29") } else { BUSY.into() };
    scenario::parse_str(&text, "busy.yaml", &overrides).unwrap_or_else(|e| panic!("{e}")).scenario
}

#[test]
fn results_do_not_depend_on_the_number_of_jobs() {
    let scenarios: Vec<Scenario> = modes::ALL.iter().map(|&a| busy(a)).collect();
    let one = plan::plan_many(&scenarios, &PlanOptions { seeds: 3, jobs: 1, ..PlanOptions::default() }).unwrap();
    let four = plan::plan_many(&scenarios, &PlanOptions { seeds: 3, jobs: 4, ..PlanOptions::default() }).unwrap();
    assert_eq!(one, four);
    // Unconstrained and verified for every allocator and seed; as written only
    // where a seed's peaks overflow the ranges as written.
    let overflowing: u64 = one
        .allocators
        .iter()
        .map(|a| (0..3).filter(|&k| a.ranges.iter().any(|r| r.peaks[k] > r.current_capacity)).count() as u64)
        .sum();
    assert_eq!(one.replays, modes::ALL.len() as u64 * 3 * 2 + overflowing);
    for a in &one.allocators {
        let v = a.verification.expect("verified");
        assert_eq!((v.seeds_held, v.seeds_clean, v.rounds), (3, 3, 1), "{}", a.allocator);
        // Every range with a peak is explained, and the explanation adds up.
        for r in a.ranges.iter().filter(|r| r.peak > 0) {
            let e = r.explanation.as_ref().unwrap();
            let held: u64 = e.terms.iter().map(|t| u64::from(t.nodes) * t.each).sum::<u64>() + e.transient;
            assert_eq!(held, r.peak, "{} {}", a.allocator, r.name);
        }
    }
}

#[test]
fn every_allocator_s_plan_replays_clean_and_one_bit_less_exhausts() {
    for allocator in modes::ALL {
        let scenario = busy(allocator);
        let plan = plan::plan(&scenario, &PlanOptions { seeds: 2, jobs: 2, ..PlanOptions::default() }).unwrap();
        let a = &plan.allocators[0];
        let planned = a.planned.as_ref().expect("fits");
        for &seed in &a.seeds {
            let replay = cluster::replay(&Scenario { seed, ..planned.clone() }).unwrap();
            assert!(
                !replay.events.iter().any(|e| e.is_size_dependent()),
                "{allocator} seed {seed}: {:?}",
                replay.events
            );
        }
        // The binding range: the one whose requirement its smallest prefix
        // holds with the least to spare. One bit less and its peak seed exhausts.
        let r = a
            .ranges
            .iter()
            .filter(|r| r.peak > 0)
            .min_by_key(|r| layout::capacity(r.unit, r.smallest_prefix.unwrap()).unwrap() - r.required)
            .unwrap();
        let mut smaller = Scenario { seed: r.peak_seed, ..planned.clone() };
        let p = r.smallest_prefix.unwrap() + 1;
        match smaller.network.subnets.iter_mut().find(|s| s.name == r.name) {
            Some(s) => s.prefix = Ipv4Net::new(s.prefix.network(), p).unwrap(),
            None => {
                let c = smaller.clusters.iter_mut().find(|c| format!("{}/pod-cidr", c.name) == r.name).unwrap();
                c.pod_cidr = Ipv4Net::new(c.pod_cidr.network(), p).unwrap();
            }
        }
        let replay = cluster::replay(&smaller).unwrap();
        assert!(
            replay.events.iter().any(|e| e.is_size_dependent() && e.range == r.name),
            "{allocator}: {} at /{p} does not exhaust",
            r.name
        );
    }
}

#[test]
fn the_percentile_picks_the_nearest_rank_seed_and_seeds_above_it_may_exhaust() {
    let scenario = busy(modes::named("dynamic"));
    let all = plan::plan(&scenario, &PlanOptions { seeds: 5, jobs: 2, ..PlanOptions::default() }).unwrap();
    let median =
        plan::plan(&scenario, &PlanOptions { seeds: 5, percentile: 50, jobs: 2, ..PlanOptions::default() }).unwrap();
    let (all, median) = (&all.allocators[0], &median.allocators[0]);
    for (r, m) in all.ranges.iter().zip(&median.ranges) {
        assert_eq!(r.peaks, m.peaks, "the same replays");
        assert_eq!(r.required, r.peak_max);
        assert_eq!(m.required, plan::nearest_rank(&m.peaks, 50).unwrap());
        assert_eq!(m.peaks[(m.peak_seed - scenario.seed) as usize], m.peak);
    }
    let v = median.verification.unwrap();
    assert!(v.seeds_held >= 3, "at least the seeds up to the median: {v:?}");
    assert_eq!(v.seeds_held + v.seeds_above, 5);
    assert_eq!(v.seeds_clean, v.seeds_held);
}

#[test]
fn headroom_raises_the_requirement_not_the_peak() {
    let scenario = load(NODE_SUBNET_50);
    let plan = plan::plan(&scenario, &PlanOptions { headroom_hundredths: 3_000, ..PlanOptions::default() }).unwrap();
    let r = &plan.allocators[0].ranges[0];
    // 1,581 × 1.3 = 2,055.3 → 2,056 > 2,043 (a /21): a /20.
    assert_eq!((r.peak, r.required, r.smallest_prefix), (1_581, 2_056, Some(20)));
}

#[test]
fn a_plan_that_cannot_fit_the_vnet_says_how_much_space_it_needs() {
    let yaml = NODE_SUBNET_50
        .replace("address_space: [10.0.0.0/16]", "address_space: [10.0.0.0/22]")
        .replace("10.0.0.0/24", "10.0.0.0/24, spare: 10.0.2.0/24");
    let plan = plan_one(&yaml, PlanOptions::default());
    let r = plan.ranges.iter().find(|r| r.name == "nodes").unwrap();
    assert_eq!(r.verdict, Verdict::DoesNotFit);
    assert!(plan.planned.is_none() && r.proposed.is_none());
    // A /21 for the nodes and the spare /24: 2,048 + 256 → a /20.
    assert_eq!(plan.needs_address_space, Some(20));
    // Still explained, from the peak seed's unconstrained replay.
    let e = r.explanation.as_ref().expect("explained");
    assert_eq!(e.sum(), "51 nodes × 31 (1 + max_pods 30, prod/user) + 5 reserved = 1,586");
}

/// The argument the plan rests on (plan.md, "How"): where every range holds
/// its unconstrained peak, the replay as written is the unconstrained replay —
/// the same events at the same times and the same peaks. (So `plan` skips the
/// as-written replay of such a seed.) Where some range does not, it differs.
#[test]
fn a_replay_whose_ranges_hold_their_peaks_is_the_unconstrained_replay() {
    let mut compared = 0;
    for allocator in modes::ALL {
        for seed in 0..3 {
            for grow in [false, true] {
                let mut s = Scenario { seed, ..busy(allocator) };
                if grow {
                    // Room for everything: the pods subnet a /22, the nodes a /24.
                    s.network.subnets[0].prefix = "10.20.0.0/24".parse().unwrap();
                    s.network.subnets[1].prefix = "10.20.4.0/22".parse().unwrap();
                }
                let free = cluster::Options { unconstrained: true, ..cluster::Options::default() };
                let unconstrained = cluster::replay_with(&s, free, &mut |_| {}).unwrap();
                let written = cluster::replay(&s).unwrap();
                let holds = written.ranges.iter().enumerate().all(|(i, r)| {
                    let blocks = allocator.name == "static-block";
                    let unit = match (r.is_vnet_subnet, blocks, r.name.as_str()) {
                        (false, ..) => layout::RangeKind::PodCidr,
                        (true, true, "pods") => layout::RangeKind::SubnetBlocks,
                        _ => layout::RangeKind::SubnetAddresses,
                    };
                    let capacity = layout::capacity(unit, r.prefix.prefix_len()).unwrap();
                    unconstrained.summary.ranges[i].peak_transient <= capacity
                });
                let peaks = |r: &cluster::Replay| r.summary.ranges.iter().map(|x| x.peak_allocated).collect::<Vec<_>>();
                if holds {
                    compared += 1;
                    assert_eq!(unconstrained.events, written.events, "{allocator} seed {seed}");
                    assert_eq!(peaks(&unconstrained), peaks(&written), "{allocator} seed {seed}");
                    assert_eq!(unconstrained.events_processed, written.events_processed);
                } else {
                    assert_ne!(unconstrained.events, written.events, "{allocator} seed {seed}: it ran out");
                }
            }
        }
    }
    assert!(compared >= 15, "every allocator fits once grown: {compared}");
}

#[test]
fn a_static_block_subnet_beyond_a_slash_12_has_no_prefix_and_does_not_fit() {
    // 5,000 nodes × 16 blocks (max_pods 250) = 1,280,000 addresses in blocks: a
    // /12 offers 16 × (65,536 − 2) = 1,048,544, the most a static-block subnet may.
    let pools: Vec<String> = (0..5)
        .map(|i| format!("      - {{name: p{i}, count: 1000, vnet_subnet: nodes, pod_subnet: pods}}\n"))
        .collect();
    let yaml = format!(
        "name: huge\nduration: 1m\nallocator: static-block\n\
         network: {{address_space: [10.0.0.0/8], subnets: {{nodes: 10.0.0.0/20, pods: 10.16.0.0/12}}}}\n\
         clusters:\n  - name: s\n    service_cidr: 192.168.0.0/16\n    max_pods: 250\n    node_pools:\n{}",
        pools.concat()
    );
    let plan = plan_one(&yaml, PlanOptions::default());
    let pods = plan.ranges.iter().find(|r| r.name == "pods").unwrap();
    assert_eq!((pods.required, pods.smallest_prefix, pods.verdict), (1_280_000, None, Verdict::DoesNotFit));
    assert!(plan.planned.is_none() && plan.verification.is_none());
    let sum = pods.explanation.as_ref().unwrap().sum();
    assert!(
        sum.starts_with("1,000 nodes × 256 (16 /28 blocks, s/p0) + 1,000 nodes × 256 (16 /28 blocks, s/p1)"),
        "{sum}"
    );
    assert!(sum.ends_with(" + 32 (first and last /28) = 1,280,032"), "{sum}");
    let nodes = plan.ranges.iter().find(|r| r.name == "nodes").unwrap();
    assert_eq!((nodes.required, nodes.smallest_prefix, nodes.verdict), (5_000, Some(19), Verdict::DoesNotFit));
    // The node subnet must grow too, and alone would fit the VNet: no address space is named.
    assert_eq!(plan.needs_address_space, None);
}

/// GKE: 8 nodes at max_pods 110 take a /24 each: a /21 pod range, and a /22
/// holds only 4 (other-clouds.md §3).
#[test]
fn gke_8_nodes_at_110_need_a_slash_21_pod_range() {
    let yaml = "
name: gke
duration: 2h
allocator: gke
network: {address_space: [10.0.0.0/16], subnets: {nodes: 10.0.0.0/24}}
clusters:
  - name: g
    service_cidr: 192.168.0.0/16
    pod_cidr: 100.64.0.0/16
    node_pools: [{name: p, count: 8, vnet_subnet: nodes}]
";
    check(yaml, "g/pod-cidr", 8 * 256, 21);
}

/// Calico: 4 nodes of 40 pods claim a /26 block each: a /24 pool.
#[test]
fn calico_4_nodes_of_a_block_each_need_a_slash_24_pool() {
    let yaml = "
name: calico
duration: 2h
allocator: calico
network: {address_space: [10.0.0.0/16], subnets: {nodes: 10.0.0.0/24}}
clusters:
  - name: c
    service_cidr: 192.168.0.0/16
    pod_cidr: 100.64.0.0/16
    node_pools: [{name: p, count: 4, vnet_subnet: nodes}]
workloads:
  - {name: web, cluster: c, kind: deployment, replicas: 160}
";
    let plan = check(yaml, "c/pod-cidr", 4 * 64, 24);
    let r = plan.ranges.iter().find(|r| r.name == "c/pod-cidr").unwrap();
    let e = r.explanation.as_ref().unwrap();
    assert_eq!(e.terms[0].what, "64 addresses of claimed blocks");
}

/// A Google Cloud node subnet reserves 4: 28 GKE nodes fit a /27 (32 − 4),
/// where Azure's 5 would need a /26.
#[test]
fn gke_node_subnets_are_sized_with_google_clouds_four_reserved() {
    let yaml = "
name: gke nodes
duration: 2h
allocator: gke
network: {address_space: [10.0.0.0/16], subnets: {nodes: 10.0.0.0/24}}
clusters:
  - name: g
    service_cidr: 192.168.0.0/16
    pod_cidr: 100.64.0.0/16
    max_pods: 30
    node_pools: [{name: p, count: 28, vnet_subnet: nodes}]
";
    let plan = check(yaml, "nodes", 28, 27);
    let r = plan.ranges.iter().find(|r| r.name == "nodes").unwrap();
    assert!(r.explanation.as_ref().unwrap().sum().ends_with("+ 4 reserved = 32"), "{:?}", r.explanation);
}

/// AWS subnets: 5 reserved as in Azure, but a /28 the smallest, so a node of a
/// 1-ENI machine with 2 IPv4 (its IP and 1 secondary IP: 2 addresses) gets a
/// /28, not the /29 that would hold 3. A prefix reservation is every /28 of it.
#[test]
fn aws_subnets_are_sized_by_awss_rules() {
    let yaml = "name: t\nduration: 1h\nallocator: aws-vpc-cni\n\
                network: {address_space: [10.0.0.0/16], subnets: {nodes: 10.0.0.0/24, prefixes: 10.0.4.0/24}}\n\
                clusters:\n  - name: c\n    service_cidr: 172.20.0.0/16\n    node_pools:\n      \
                - {name: p, count: 1, vnet_subnet: nodes, eni: {count: 1, ips: 2}}\n";
    let plan = plan_one(yaml, PlanOptions::default());
    let nodes = plan.ranges.iter().find(|r| r.name == "nodes").unwrap();
    assert_eq!(
        (nodes.unit, nodes.required, nodes.smallest_prefix),
        (layout::RangeKind::AwsSubnetAddresses, 2, Some(28))
    );
    // Prefixes from a reservation: 2 pods and the warm prefix, 2 /28s → a /27.
    let yaml = yaml.replace("allocator: aws-vpc-cni", "allocator: aws-prefix").replace(
        "eni: {count: 1, ips: 2}}",
        "pod_subnet: prefixes, instance_type: t3.small}\nworkloads: [{name: w, cluster: c, kind: deployment, replicas: 2}]",
    );
    let r = check(&yaml, "prefixes", 32, 27);
    let reservation = r.ranges.iter().find(|r| r.name == "prefixes").unwrap();
    assert_eq!((reservation.unit, reservation.current_capacity), (layout::RangeKind::ReservationBlocks, 256));
}
