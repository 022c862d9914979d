//! Every rule of scenario.md / model.md, shown by the message it produces.

use scenario::*;

/// A valid scenario the cases below edit.
const BASE: &str = "\
name: base
duration: 1d
network:
  address_space: [10.1.0.0/16]
  subnets: {nodes: 10.1.0.0/24, pods: 10.1.16.0/20}
clusters:
  - name: c1
    node_pools:
      - {name: p1, count: 3, vnet_subnet: nodes, pod_subnet: pods}
workloads:
  - {name: web, cluster: c1, kind: deployment, replicas: 10}
  - {name: ds, cluster: c1, kind: daemonset}
  - {name: jobs, cluster: c1, kind: churn, arrivals_per_hour: 60, lifetime: {fixed: 10m}}
";

/// BASE with each `(from, to)` replaced (each `from` must occur exactly once) and
/// `append` added at the end.
fn edit(edits: &[(&str, &str)], append: &str) -> String {
    let mut s = BASE.to_owned();
    for (from, to) in edits {
        assert_eq!(s.matches(from).count(), 1, "`{from}` must occur once in BASE");
        s = s.replace(from, to);
    }
    s.push_str(append);
    s
}

fn load_str(yaml: &str) -> Result<Loaded, LoadError> {
    parse_str(yaml, "test.yaml", &Overrides::default())
}

fn ok(yaml: &str) -> Loaded {
    match load_str(yaml) {
        Ok(l) => l,
        Err(e) => panic!("expected a valid scenario, got:\n{e}\n--- scenario:\n{yaml}"),
    }
}

/// `yaml` fails, and one error line holds every substring of `expect`.
fn check(yaml: &str, expect: &[&str]) -> Result<(), String> {
    match load_str(yaml) {
        Ok(_) => Err(format!("expected an error with {expect:?}, but the scenario validated:\n{yaml}")),
        Err(e) => {
            let text = e.to_string();
            if text.lines().any(|line| expect.iter().all(|x| line.contains(x))) {
                Ok(())
            } else {
                Err(format!("no error line holds all of {expect:?}; errors:\n{text}"))
            }
        }
    }
}

/// `yaml` is valid and one warning holds every substring of `expect`.
fn check_warning(yaml: &str, expect: &[&str]) -> Loaded {
    let l = ok(yaml);
    assert!(
        l.warnings.iter().map(ToString::to_string).any(|w| expect.iter().all(|x| w.contains(x))),
        "no warning holds all of {expect:?}; warnings: {:#?}",
        l.warnings.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
    l
}

type Case = (&'static str, &'static [(&'static str, &'static str)], &'static str, &'static [&'static str]);

/// (what, edits to BASE, appended text, substrings of one error line)
#[rustfmt::skip]
const ERRORS: &[Case] = &[
    // Prefixes.
    ("host bits in a VNet prefix", &[("[10.1.0.0/16]", "[10.1.0.1/16]")], "", &["address_space[0]", "did you mean 10.1.0.0/16"]),
    ("host bits in a subnet", &[("pods: 10.1.16.0/20", "pods: 10.1.17.0/20")], "", &["subnets.pods", "did you mean 10.1.16.0/20", "line 5"]),
    ("not a prefix", &[("nodes: 10.1.0.0/24", "nodes: 10.1.0/24")], "", &["subnets.nodes", "not an IPv4 prefix"]),
    ("prefix without a length", &[("nodes: 10.1.0.0/24", "nodes: 10.1.0.0")], "", &["not an IPv4 prefix"]),
    ("no VNet prefix", &[("[10.1.0.0/16]", "[]")], "", &["address_space", "at least one prefix"]),
    ("subnet outside the VNet", &[("pods: 10.1.16.0/20", "pods: 10.2.16.0/20")], "", &["subnets.pods", "outside the VNet's address_space (10.1.0.0/16)"]),
    ("overlapping subnets", &[("pods: 10.1.16.0/20", "pods: 10.1.0.0/20")], "", &["subnets.pods", "overlaps subnet `nodes`"]),
    ("overlapping VNet prefixes", &[("[10.1.0.0/16]", "[10.1.0.0/16, 10.1.128.0/17]")], "", &["address_space[1]", "overlaps address_space[0]"]),
    ("subnet smaller than /29", &[("nodes: 10.1.0.0/24", "nodes: 10.1.0.0/30")], "", &["subnets.nodes", "smaller than /29"]),
    ("duplicate subnet", &[("pods: 10.1.16.0/20", "pods: 10.1.16.0/20, nodes: 10.1.1.0/24")], "", &["duplicate"]),
    // Reserved ranges.
    ("VNet in 169.254.0.0/16", &[("[10.1.0.0/16]", "[10.1.0.0/16, 169.254.0.0/16]")], "", &["address_space[1]", "169.254.0.0/16", "AKS reserves"]),
    ("VNet covering 172.30.0.0/16", &[("[10.1.0.0/16]", "[10.1.0.0/16, 172.16.0.0/12]")], "", &["address_space[1]", "172.30.0.0/16"]),
    ("VNet covering 172.31.0.0/16", &[("[10.1.0.0/16]", "[10.1.0.0/16, 172.16.0.0/12]")], "", &["address_space[1]", "172.31.0.0/16"]),
    ("subnet in 192.0.2.0/24", &[("[10.1.0.0/16]", "[10.1.0.0/16, 192.0.0.0/16]"), ("nodes: 10.1.0.0/24", "nodes: 192.0.2.0/25")], "", &["subnets.nodes", "192.0.2.0/24"]),
    ("kubenet pod_cidr in 172.31.0.0/16", &[("  - name: c1\n", "  - name: c1\n    allocator: kubenet\n    pod_cidr: 172.31.0.0/16\n")], "", &["clusters[0].pod_cidr", "172.31.0.0/16"]),
    ("overlay pod_cidr in 169.254.0.0/16", &[("  - name: c1\n", "  - name: c1\n    allocator: overlay\n    pod_cidr: 169.254.0.0/16\n")], "", &["pod_cidr", "169.254.0.0/16"]),
    ("service_cidr in 192.0.2.0/24", &[("  - name: c1\n", "  - name: c1\n    service_cidr: 192.0.2.0/24\n    dns_service_ip: 192.0.2.10\n")], "", &["service_cidr", "192.0.2.0/24"]),
    // Service CIDR and DNS.
    ("service_cidr overlapping a subnet", &[("  - name: c1\n", "  - name: c1\n    service_cidr: 10.1.0.0/20\n    dns_service_ip: 10.1.0.10\n")], "", &["clusters[0].service_cidr", "service_cidr 10.1.0.0/20 overlaps subnet `nodes` (10.1.0.0/24)", "ServiceCidrOverlapExistingSubnetsCidr", "like 192.168.0.0/16"]),
    ("default service_cidr overlapping a subnet", &[("[10.1.0.0/16]", "[10.0.0.0/8]"), ("pods: 10.1.16.0/20", "pods: 10.0.16.0/20")], "", &["clusters[0].service_cidr", "the default service_cidr 10.0.0.0/16 overlaps subnet `pods` (10.0.16.0/20)", "ServiceCidrOverlapExistingSubnetsCidr"]),
    ("kubenet pod_cidr inside the VNet", &[("[10.1.0.0/16]", "[10.1.0.0/16, 10.244.0.0/16]"), ("  - name: c1\n", "  - name: c1\n    allocator: kubenet\n")], "", &["clusters[0].pod_cidr", "pod_cidr 10.244.0.0/16 overlaps the VNet's address space (10.244.0.0/16)", "NetworkProfileCIDROverlapVNET"]),
    ("overlay pod_cidr inside the VNet", &[("  - name: c1\n", "  - name: c1\n    allocator: overlay\n    pod_cidr: 10.1.128.0/17\n")], "", &["clusters[0].pod_cidr", "pod_cidr 10.1.128.0/17 overlaps the VNet's address space (10.1.0.0/16)", "NetworkProfileCIDROverlapVNET", "like the default 10.244.0.0/16"]),
    ("service_cidr overlapping the kubenet pod_cidr", &[("  - name: c1\n", "  - name: c1\n    allocator: kubenet\n    service_cidr: 10.244.0.0/20\n")], "", &["service_cidr", "overlaps the pod_cidr 10.244.0.0/16"]),
    ("dns outside the service_cidr", &[("  - name: c1\n", "  - name: c1\n    dns_service_ip: 10.1.0.10\n")], "", &["dns_service_ip", "outside the service_cidr 10.0.0.0/16"]),
    ("dns at the network address", &[("  - name: c1\n", "  - name: c1\n    dns_service_ip: 10.0.0.0\n")], "", &["dns_service_ip", "network or first address"]),
    ("dns at the first address", &[("  - name: c1\n", "  - name: c1\n    dns_service_ip: 10.0.0.1\n")], "", &["dns_service_ip", "network or first address"]),
    ("default dns outside a small service_cidr", &[("  - name: c1\n", "  - name: c1\n    service_cidr: 10.0.0.0/29\n")], "", &["dns_service_ip", "outside", "set dns_service_ip"]),
    ("dns not an address", &[("  - name: c1\n", "  - name: c1\n    dns_service_ip: 10.0.0\n")], "", &["dns_service_ip", "not an IPv4 address"]),
    // Names and references.
    ("unknown node subnet", &[("vnet_subnet: nodes", "vnet_subnet: nodez")], "", &["vnet_subnet", "unknown subnet `nodez`", "known subnets: nodes, pods"]),
    ("unknown pod subnet", &[("pod_subnet: pods", "pod_subnet: podz")], "", &["pod_subnet", "unknown subnet `podz`", "known subnets: nodes, pods"]),
    ("unknown cluster in a workload", &[("{name: web, cluster: c1", "{name: web, cluster: c9")], "", &["workloads[0].cluster", "unknown cluster `c9`", "known clusters: c1"]),
    ("unknown pool in a workload", &[("{name: web, cluster: c1,", "{name: web, cluster: c1, pool: p9,")], "", &["workloads[0].pool", "unknown pool `p9`", "known pools: p1"]),
    ("unknown workload in an event", &[], "events:\n  - {at: 1h, scale_workload: {name: nope, replicas: 3}}\n", &["events[0].scale_workload.name", "unknown workload `nope`", "known workloads: web, ds, jobs"]),
    ("unknown cluster in an event", &[], "events:\n  - {at: 1h, scale_pool: {cluster: c9, pool: p1, count: 3}}\n", &["events[0].scale_pool.cluster", "unknown cluster `c9`", "known clusters: c1"]),
    ("unknown pool in an event", &[], "events:\n  - {at: 1h, upgrade_pool: {cluster: c1, pool: p9}}\n", &["events[0].upgrade_pool.pool", "pool `p9` does not exist", "p1"]),
    ("duplicate cluster", &[( "    node_pools:\n", "    node_pools: [{name: p1, count: 1, vnet_subnet: nodes, pod_subnet: pods}]\n  - name: c1\n    node_pools:\n", )], "", &["clusters[1].name", "duplicate cluster name `c1`"]),
    ("duplicate pool", &[( "pod_subnet: pods}\n", "pod_subnet: pods}\n      - {name: p1, count: 1, vnet_subnet: nodes, pod_subnet: pods}\n", )], "", &["clusters[0].node_pools[1].name", "duplicate pool name `p1`"]),
    ("duplicate workload", &[("{name: ds,", "{name: web,")], "", &["workloads[1].name", "duplicate workload name `web`"]),
    ("empty name", &[("name: base", "name: ''")], "", &["name", "must not be empty"]),
    // Pod subnets.
    ("dynamic pool without pod_subnet", &[(", pod_subnet: pods}", "}")], "", &["clusters[0].node_pools[0]", "needs a pod_subnet", "dynamic"]),
    ("static-block pool without pod_subnet", &[ (", pod_subnet: pods}", ", max_pods: 31}"), ("  - name: c1\n", "  - name: c1\n    allocator: static-block\n"), ], "", &["needs a pod_subnet", "static-block"]),
    ("pod subnet that is a node subnet", &[("pod_subnet: pods", "pod_subnet: nodes")], "", &["pod_subnet", "node subnet", "c1/p1"]),
    ("pod subnet in two modes", &[( "pod_subnet: pods}\n", "pod_subnet: pods}\n  - name: c2\n    allocator: static-block\n    node_pools: [{name: p1, count: 1, vnet_subnet: nodes, pod_subnet: pods, max_pods: 31}]\n", )], "", &["clusters[1].node_pools[0].pod_subnet", "pods", "static-block", "dynamic", "one mode"]),
    ("static-block pod subnet larger than /12", &[ ("[10.1.0.0/16]", "[10.0.0.0/8]"), ("nodes: 10.1.0.0/24, pods: 10.1.16.0/20", "nodes: 10.255.0.0/24, pods: 10.0.0.0/11"), ( "  - name: c1\n", "  - name: c1\n    allocator: static-block\n    max_pods: 31\n    service_cidr: 192.168.0.0/16\n", ), ], "", &["pod_subnet", "larger than /12"]),
    ("kubenet pod_cidr smaller than /24", &[("  - name: c1\n", "  - name: c1\n    allocator: kubenet\n    pod_cidr: 10.244.0.0/25\n")], "", &["pod_cidr", "smaller than /24"]),
    // Pools.
    ("Windows under static-block", &[ ("pod_subnet: pods}", "pod_subnet: pods, max_pods: 31, os: windows}"), ("  - name: c1\n", "  - name: c1\n    allocator: static-block\n"), ], "", &["node_pools[0].os", "static-block", "Windows"]),
    ("Windows under kubenet", &[("pod_subnet: pods}", "os: windows}"), ("  - name: c1\n", "  - name: c1\n    allocator: kubenet\n")], "", &["node_pools[0].os", "kubenet", "Windows"]),
    ("max_pods above 250", &[("pod_subnet: pods}", "pod_subnet: pods, max_pods: 251}")], "", &["node_pools[0].max_pods", "max_pods", "250"]),
    ("max_pods below 10", &[("pod_subnet: pods}", "pod_subnet: pods, max_pods: 9}")], "", &["max_pods 9", "between 10 and 250"]),
    ("cluster max_pods out of range", &[("  - name: c1\n", "  - name: c1\n    max_pods: 5000000000\n")], "", &["clusters[0].max_pods", "between 10 and 250"]),
    ("more than 1000 nodes in a pool", &[("count: 3,", "count: 1001,")], "", &["node_pools[0].count", "1000 nodes per pool"]),
    ("autoscale max above 1000", &[("pod_subnet: pods}", "pod_subnet: pods, autoscale: {min: 1, max: 1001}}")], "", &["autoscale.max", "1000 nodes per pool"]),
    ("autoscale min above max", &[("pod_subnet: pods}", "pod_subnet: pods, autoscale: {min: 5, max: 4}}")], "", &["autoscale", "min 5 is greater than max 4"]),
    ("count outside autoscale", &[("pod_subnet: pods}", "pod_subnet: pods, autoscale: {min: 5, max: 9}}")], "", &["node_pools[0].count", "count 3 is outside the autoscale range [5, 9]"]),
    ("no pool", &[ ("      - {name: p1, count: 3, vnet_subnet: nodes, pod_subnet: pods}\n", ""), ("    node_pools:\n", "    node_pools: []\n"), ], "", &["node_pools", "at least one node pool"]),
    ("max_surge 0", &[("pod_subnet: pods}", "pod_subnet: pods, max_surge: 0}")], "", &["max_surge", "not a valid max_surge"]),
    ("max_surge 0%", &[("pod_subnet: pods}", "pod_subnet: pods, max_surge: \"0%\"}")], "", &["max_surge", "1% to 100%"]),
    ("max_surge 150%", &[("pod_subnet: pods}", "pod_subnet: pods, max_surge: \"150%\"}")], "", &["max_surge", "`150%`"]),
    ("max_surge text", &[("pod_subnet: pods}", "pod_subnet: pods, max_surge: lots}")], "", &["max_surge", "`lots`"]),
    // Time.
    ("malformed duration", &[("duration: 1d", "duration: 1x")], "", &["duration", "`1x` is not a duration", "units s, m, h, d, w"]),
    ("fractional duration", &[("duration: 1d", "duration: 1.5")], "", &["duration", "`1.5` is not a duration"]),
    ("negative duration", &[("duration: 1d", "duration: -5")], "", &["duration", "must not be negative"]),
    ("overflowing duration", &[("duration: 1d", "duration: 99999999999999999999w")], "", &["duration", "too large"]),
    ("zero duration", &[("duration: 1d", "duration: 0")], "", &["duration", "greater than 0"]),
    ("zero sample_every", &[("duration: 1d", "duration: 1d\nsample_every: 0s")], "", &["sample_every", "greater than 0"]),
    ("too many samples", &[("duration: 1d", "duration: 1000w\nsample_every: 1s")], "", &["sample_every", "samples"]),
    ("malformed timing", &[("duration: 1d", "duration: 1d\ntiming: {node_drain: 1q}")], "", &["timing.node_drain", "`1q`"]),
    ("malformed at", &[], "events:\n  - {at: soon, rollout: {name: web}}\n", &["events[0].at", "`soon` is not a duration"]),
    // Workloads.
    ("zero rate", &[("arrivals_per_hour: 60", "arrivals_per_hour: 0")], "", &["arrivals_per_hour", "greater than 0"]),
    ("negative rate", &[("arrivals_per_hour: 60", "arrivals_per_hour: -3")], "", &["arrivals_per_hour", "greater than 0"]),
    ("infinite rate", &[("arrivals_per_hour: 60", "arrivals_per_hour: .inf")], "", &["arrivals_per_hour", "finite"]),
    ("NaN rate", &[("arrivals_per_hour: 60", "arrivals_per_hour: .nan")], "", &["arrivals_per_hour", "finite"]),
    ("missing rate", &[("arrivals_per_hour: 60, ", "")], "", &["workloads[2]", "needs `arrivals_per_hour`"]),
    ("uniform low above high", &[("{fixed: 10m}", "{uniform: [10m, 5m]}")], "", &["lifetime.uniform", "low 10m is greater than high 5m"]),
    ("uniform of three", &[("{fixed: 10m}", "{uniform: [1m, 2m, 3m]}")], "", &["lifetime.uniform", "two durations"]),
    ("lognormal negative sigma", &[("{fixed: 10m}", "{lognormal: {median: 10m, sigma: -1}}")], "", &["lifetime.lognormal.sigma", "at least 0"]),
    ("lognormal NaN sigma", &[("{fixed: 10m}", "{lognormal: {median: 10m, sigma: .nan}}")], "", &["sigma", "finite"]),
    ("exponential mean 0", &[("{fixed: 10m}", "{exponential: 0}")], "", &["lifetime.exponential", "greater than 0"]),
    ("two lifetimes", &[("{fixed: 10m}", "{fixed: 10m, exponential: 5m}")], "", &["lifetime", "found fixed and exponential"]),
    ("no lifetime", &[(", lifetime: {fixed: 10m}", "")], "", &["workloads[2]", "needs `lifetime`"]),
    ("end before start", &[("lifetime: {fixed: 10m}", "lifetime: {fixed: 10m}, start: 2h, end: 1h")], "", &["workloads[2].end", "end 1h must be after start 2h"]),
    ("replicas on churn", &[("arrivals_per_hour: 60", "replicas: 3, arrivals_per_hour: 60")], "", &["workloads[2].replicas", "does not apply to a churn workload"]),
    ("host_network on a deployment", &[("replicas: 10}", "replicas: 10, host_network: true}")], "", &["workloads[0].host_network", "deployment"]),
    ("deployment without replicas", &[("kind: deployment, replicas: 10}", "kind: deployment}")], "", &["workloads[0]", "needs `replicas`"]),
    ("absurd replicas", &[("replicas: 10}", "replicas: 4000000000}")], "", &["replicas", "more than any cluster can run"]),
    ("unknown kind", &[("kind: daemonset", "kind: statefulset")], "", &["workloads[1].kind", "`statefulset`", "daemonset"]),
    // Events.
    ("event without action", &[], "events:\n  - {at: 1h}\n", &["events[0]", "needs one action"]),
    ("event with two actions", &[], "events:\n  - {at: 1h, rollout: {name: web}, scale_workload: {name: web, replicas: 3}}\n", &["events[0]", "exactly one action", "scale_workload and rollout"]),
    ("scale_workload on churn", &[], "events:\n  - {at: 1h, scale_workload: {name: jobs, replicas: 3}}\n", &["events[0].scale_workload.name", "churn", "deployments only"]),
    ("rollout of a daemonset", &[], "events:\n  - {at: 1h, rollout: {name: ds}}\n", &["events[0].rollout.name", "daemonset", "deployments only"]),
    ("scale_pool above 1000", &[], "events:\n  - {at: 1h, scale_pool: {cluster: c1, pool: p1, count: 1001}}\n", &["events[0].scale_pool.count", "1000 nodes per pool"]),
    ("add_pool of an existing pool", &[], "events:\n  - {at: 1h, add_pool: {cluster: c1, pool: {name: p1, count: 1, vnet_subnet: nodes, pod_subnet: pods}}}\n", &["events[0].add_pool.pool.name", "already exists"]),
    ("add_pool twice", &[], "events:\n  - {at: 1h, add_pool: {cluster: c1, pool: {name: p2, count: 1, vnet_subnet: nodes, pod_subnet: pods}}}\n  - {at: 2h, add_pool: {cluster: c1, pool: {name: p2, count: 1, vnet_subnet: nodes, pod_subnet: pods}}}\n", &["events[1].add_pool.pool.name", "already exists", "at 2h"]),
    ("add_pool checks its pool", &[], "events:\n  - {at: 1h, add_pool: {cluster: c1, pool: {name: p2, count: 1, vnet_subnet: nodes, pod_subnet: pods, max_pods: 300}}}\n", &["events[0].add_pool.pool.max_pods", "250"]),
    ("scale_pool before add_pool", &[], "events:\n  - {at: 2h, add_pool: {cluster: c1, pool: {name: p2, count: 1, vnet_subnet: nodes, pod_subnet: pods}}}\n  - {at: 1h, scale_pool: {cluster: c1, pool: p2, count: 3}}\n", &["events[1].scale_pool.pool", "does not exist", "added only at 2h by events[0]"]),
    ("upgrade after remove_pool", &[], "events:\n  - {at: 1h, remove_pool: {cluster: c1, pool: p1}}\n  - {at: 2h, upgrade_pool: {cluster: c1, pool: p1}}\n", &["events[1].upgrade_pool.pool", "removed at 1h by events[0]"]),
    ("unknown action", &[], "events:\n  - {at: 1h, drain_pool: {cluster: c1, pool: p1}}\n", &["events[0]", "unknown key `drain_pool`", "scale_pool"]),
    // Shape.
    ("unknown top-level key", &[("duration: 1d", "duration: 1d\nseeds: 3")], "", &["unknown key `seeds`", "valid keys here", "`seed`", "line 3"]),
    ("unknown pool key", &[("pod_subnet: pods}", "pod_subnet: pods, maxpods: 3}")], "", &["clusters[0].node_pools[0]", "unknown key `maxpods`", "`max_pods`", "line 9"]),
    ("unknown allocator", &[("duration: 1d", "duration: 1d\nallocator: azure")], "", &["allocator", "unknown value `azure`", "`static-block`"]),
    ("missing duration", &[("duration: 1d\n", "")], "", &["missing required key `duration`"]),
    ("wrong type", &[("count: 3,", "count: three,")], "", &["clusters[0].node_pools[0].count", "invalid type"]),
    ("negative count", &[("count: 3,", "count: -3,")], "", &["clusters[0].node_pools[0].count", "-3"]),
    ("not YAML", &[("name: base", "name: 'base")], "", &["line 1"]),
    ("a tab", &[("duration: 1d", "duration: 1d\n\tseed: 3")], "", &["line 3"]),
];

#[test]
fn every_rule_has_a_message() {
    let mut failures = Vec::new();
    for (what, edits, append, expect) in ERRORS {
        if expect.is_empty() {
            continue;
        }
        let yaml = edit(edits, append);
        if let Err(e) = check(&yaml, expect) {
            failures.push(format!("--- {what}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), ERRORS.len(), failures.join("\n"));
}

#[test]
fn needs_a_cluster() {
    let yaml =
        "name: x\nduration: 1h\nnetwork: {address_space: [10.1.0.0/16], subnets: {n: 10.1.0.0/24}}\nclusters: []\n";
    check(yaml, &["clusters", "at least one cluster"]).unwrap();
}

#[test]
fn cluster_node_limit() {
    let mut pools = String::new();
    for i in 0..6 {
        pools.push_str(&format!("      - {{name: p{i}, count: 1000, vnet_subnet: nodes, pod_subnet: pods}}\n"));
    }
    let yaml = edit(&[("      - {name: p1, count: 3, vnet_subnet: nodes, pod_subnet: pods}\n", &pools)], "");
    check(&yaml, &["clusters[0].node_pools", "6000 nodes", "5000 per cluster"]).unwrap();
    // Autoscale maxes count, not counts.
    let yaml = edit(&[("pod_subnet: pods}", "pod_subnet: pods, autoscale: {min: 0, max: 1000}}")], "")
        .replace("count: 3,", "count: 0,");
    ok(&yaml);

    // Events count too: scale_pool and add_pool can take a cluster past the limit later.
    let mut pools = String::new();
    let mut scale = String::from("events:\n");
    for i in 0..6 {
        pools.push_str(&format!("      - {{name: p{i}, count: 800, vnet_subnet: nodes, pod_subnet: pods}}\n"));
        scale.push_str(&format!("  - {{at: {}m, scale_pool: {{cluster: c1, pool: p{i}, count: 1000}}}}\n", 10 + i));
    }
    let base = edit(&[("      - {name: p1, count: 3, vnet_subnet: nodes, pod_subnet: pods}\n", &pools)], "");
    ok(&base); // 4,800 nodes
    check(&format!("{base}{scale}"), &["events[1].scale_pool", "5000 per cluster", "5200 nodes at 11m"]).unwrap();
    let add = "events:\n  - {at: 1h, add_pool: {cluster: c1, pool: {name: big, count: 300, vnet_subnet: nodes, pod_subnet: pods}}}\n";
    check(&format!("{base}{add}"), &["events[0].add_pool", "5100 nodes at 1h"]).unwrap();
    // A pool removed first makes room.
    let swap = "events:\n  - {at: 1h, remove_pool: {cluster: c1, pool: p0}}\n  - {at: 2h, add_pool: {cluster: c1, pool: {name: big, count: 1000, vnet_subnet: nodes, pod_subnet: pods}}}\n";
    ok(&format!("{base}{swap}"));
}

#[test]
fn static_block_subnet_must_offer_a_block() {
    let sb = |pods: &str| {
        edit(
            &[
                ("pods: 10.1.16.0/20", &format!("pods: {pods}")),
                ("  - name: c1\n", "  - name: c1\n    allocator: static-block\n    max_pods: 15\n"),
            ],
            "",
        )
    };
    // model.md's assumption: the first and last /28 are never handed out.
    check(&sb("10.1.16.0/29"), &["node_pools[0].pod_subnet", "offers no /28 block", "/26 or larger"]).unwrap();
    check_warning(&sb("10.1.16.0/27"), &["node_pools[0].pod_subnet", "offers no /28 block"]);
    check_warning(&sb("10.1.16.0/28"), &["offers no /28 block"]);
    assert!(ok(&sb("10.1.16.0/26")).warnings.is_empty());
}

#[test]
fn every_fault_is_reported() {
    let yaml = edit(
        &[
            ("[10.1.0.0/16]", "[10.1.0.1/16]"),
            ("pod_subnet: pods}", "pod_subnet: podz, max_pods: 300}"),
            ("arrivals_per_hour: 60", "arrivals_per_hour: 0"),
        ],
        "events:\n  - {at: 1x, rollout: {name: web}}\n",
    );
    let e = load_str(&yaml).unwrap_err();
    let text = e.to_string();
    assert_eq!(e.errors.len(), 5, "{text}");
    for x in ["did you mean", "unknown subnet `podz`", "max_pods 300", "arrivals_per_hour", "`1x`"] {
        assert!(text.contains(x), "{x} missing from:\n{text}");
    }
    // One line each, in file order, each `error: FILE: PATH: message at line L column C`.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    let mut last = 0;
    for l in &lines {
        assert!(l.starts_with("error: test.yaml: "), "{l}");
        let at = l.rfind(" at line ").expect("a position");
        let line: usize = l[at + 9..].split(' ').next().unwrap().parse().unwrap();
        assert!(line >= last, "not in file order:\n{text}");
        last = line;
    }
    assert!(lines[0].starts_with("error: test.yaml: network.address_space[0]: `10.1.0.1/16` has host bits set"));
    assert!(lines[0].ends_with("at line 4 column 19"), "{}", lines[0]);
}

#[test]
fn warnings() {
    // static-block max_pods ≠ 16N−1: the waste per node.
    let sb = |mp: &str| {
        edit(&[("pod_subnet: pods}", mp), ("  - name: c1\n", "  - name: c1\n    allocator: static-block\n")], "")
    };
    check_warning(
        &sb("pod_subnet: pods, max_pods: 30}"),
        &["node_pools[0].max_pods", "2 /28 blocks", "wasting 1 address per node", "31"],
    );
    check_warning(&sb("pod_subnet: pods, max_pods: 32}"), &["3 /28 blocks", "wasting 15 addresses per node", "47"]);
    // The allocator's default 250 → 16 blocks, 255: 5 wasted.
    check_warning(&sb("pod_subnet: pods}"), &["clusters[0].node_pools[0]", "max_pods 250", "wasting 5 addresses"]);
    assert!(ok(&sb("pod_subnet: pods, max_pods: 31}")).warnings.is_empty());
    assert!(ok(&sb("pod_subnet: pods, max_pods: 15}")).warnings.is_empty());

    // Events after the duration are dropped.
    let l = check_warning(
        &edit(&[], "events:\n  - {at: 2d, rollout: {name: web}}\n  - {at: 1d, rollout: {name: web}}\n"),
        &["events[0].at", "after the scenario's duration (1d)", "dropped"],
    );
    assert_eq!(
        l.scenario.events,
        vec![TimedEvent { at: 86_400, action: Action::Rollout { name: "web".into(), workload: WorkloadId(0) } }]
    );

    // A pod_subnet the allocator ignores.
    for alloc in ["node-subnet", "kubenet", "overlay"] {
        let yaml = edit(&[("  - name: c1\n", &format!("  - name: c1\n    allocator: {alloc}\n"))], "");
        let l = check_warning(&yaml, &["node_pools[0].pod_subnet", "ignored", alloc]);
        assert_eq!(l.scenario.clusters[0].node_pools[0].pod_subnet, None);
    }

    // A service CIDR in the VNet's address space but in no subnet: AKS accepts it
    // (real clusters run so): a warning, for the default as for an explicit one.
    check_warning(
        &edit(&[("[10.1.0.0/16]", "[10.0.0.0/8]")], ""),
        &[
            "clusters[0].service_cidr",
            "the default service_cidr 10.0.0.0/16 lies in the VNet's address space (10.0.0.0/8) outside every subnet",
            "AKS accepts",
        ],
    );
    check_warning(
        &edit(
            &[("  - name: c1\n", "  - name: c1\n    service_cidr: 10.1.128.0/17\n    dns_service_ip: 10.1.128.10\n")],
            "",
        ),
        &["clusters[0].service_cidr", "service_cidr 10.1.128.0/17 lies in the VNet's address space (10.1.0.0/16)"],
    );
    // Under modes that use no pod CIDR, an unused pod_cidr inside the VNet is not checked.
    assert!(ok(&edit(&[("  - name: c1\n", "  - name: c1\n    pod_cidr: 10.1.128.0/17\n")], "")).warnings.is_empty());
    // The base scenario has none.
    assert!(ok(BASE).warnings.is_empty());
}

#[test]
fn warning_format() {
    let l = ok(&edit(&[], "events:\n  - {at: 2d, rollout: {name: web}}\n"));
    assert_eq!(
        l.warnings[0].to_string(),
        "warning: test.yaml: events[0].at: the event at 2d comes after the scenario's duration (1d) and is dropped \
         at line 15 column 10"
    );
    assert_eq!(l.warnings[0].severity, Severity::Warning);
    assert_eq!(l.warnings[0].location, Some(Location { line: 15, column: 10 }));
}

#[test]
fn resolves_defaults() {
    let s = ok(BASE).scenario;
    assert_eq!(s.seed, 0);
    assert_eq!(s.duration, 86_400);
    assert_eq!(s.sample_every, 3_600);
    assert_eq!(s.timing, Timing { node_provision: 180, node_drain: 60, node_reimage: 300 });
    let c = &s.clusters[0];
    assert_eq!(c.allocator, modes::named("dynamic"));
    assert_eq!(c.pod_cidr.to_string(), "10.244.0.0/16");
    assert_eq!(c.service_cidr.to_string(), "10.0.0.0/16");
    assert_eq!(c.dns_service_ip.to_string(), "10.0.0.10");
    assert_eq!(c.scheduler, Scheduler::Spread);
    assert_eq!(c.max_pods, 250);
    let p = &c.node_pools[0];
    assert_eq!(
        *p,
        NodePool {
            name: "p1".into(),
            count: 3,
            vnet_subnet: "nodes".into(),
            pod_subnet: Some("pods".into()),
            vnet_subnet_id: SubnetId(0),
            pod_subnet_id: Some(SubnetId(1)),
            max_pods: 250,
            max_surge: Surge::Percent(10),
            autoscale: None,
            os: Os::Linux,
            instance_type: None,
            machine: None,
        }
    );
    assert_eq!(s.workloads[1].kind, WorkloadKind::DaemonSet { host_network: false });
    assert_eq!(
        s.workloads[2].kind,
        WorkloadKind::Churn { arrivals_per_hour: 60.0, lifetime: Lifetime::Fixed(600), start: 0, end: None }
    );
    assert_eq!(s.network.subnets.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["nodes", "pods"]);
}

#[test]
fn max_pods_resolution() {
    // pool, else cluster, else the allocator's default
    let yaml = edit(
        &[
            ("  - name: c1\n", "  - name: c1\n    allocator: node-subnet\n    max_pods: 40\n"),
            ("pod_subnet: pods}", "max_pods: 20}\n      - {name: p2, count: 1, vnet_subnet: nodes}"),
        ],
        "  - name: c2\n    allocator: node-subnet\n    node_pools: [{name: p1, count: 1, vnet_subnet: pods}]\n",
    )
    .replace("workloads:\n", "")
    .replace("  - {name: web", "#")
    .replace("  - {name: ds", "#")
    .replace("  - {name: jobs", "#");
    let s = ok(&yaml).scenario;
    assert_eq!(s.clusters[0].max_pods, 40);
    assert_eq!(s.clusters[0].node_pools[0].max_pods, 20);
    assert_eq!(s.clusters[0].node_pools[1].max_pods, 40);
    assert_eq!(s.clusters[1].max_pods, 30);
    assert_eq!(s.clusters[1].node_pools[0].max_pods, 30);
}

#[test]
fn aws_pools_follow_their_machine() {
    let aws = |mode: &str, pool: &str| {
        edit(
            &[("  - name: c1\n", &format!("  - name: c1\n    allocator: {mode}\n")[..]), ("pod_subnet: pods}", pool)],
            "",
        )
    };
    // max_pods defaults to the ENI formula: m5.large 29, t3.small 11; with
    // prefixes the calculator's 110 (2 vCPUs) or 250 (over 30).
    let max_pods = |mode: &str, pool: &str| ok(&aws(mode, pool)).scenario.clusters[0].node_pools[0].max_pods;
    assert_eq!(max_pods("aws-vpc-cni", "instance_type: m5.large}"), 29);
    assert_eq!(max_pods("aws-vpc-cni", "instance_type: t3.small}"), 11);
    assert_eq!(max_pods("aws-vpc-cni", "eni: {count: 4, ips: 15}}"), 58);
    assert_eq!(max_pods("aws-prefix", "instance_type: m5.large}"), 110);
    assert_eq!(max_pods("aws-prefix", "instance_type: p3dn.24xlarge}"), 250);
    assert_eq!(max_pods("aws-prefix", "eni: {count: 4, ips: 15, vcpus: 48}}"), 250);
    // p3dn.24xlarge's 737 is above what podip's node model holds.
    assert_eq!(max_pods("aws-vpc-cni", "instance_type: p3dn.24xlarge}"), 250);
    let pool = ok(&aws("aws-vpc-cni", "instance_type: m5.large}")).scenario.clusters[0].node_pools[0].clone();
    let m = pool.machine.unwrap();
    assert_eq!((m.interfaces, m.addresses_per_interface, pool.instance_type.as_deref()), (3, 10, Some("m5.large")));

    // More than the machine holds names the limit and its formula.
    check(
        &aws("aws-vpc-cni", "instance_type: m5.large, max_pods: 30}"),
        &["node_pools[0].max_pods", "max_pods 30 exceeds what m5.large allows", "29 (3 ENIs × (10 IPv4 − 1) + 2 = 29)"],
    )
    .unwrap();
    check(&aws("aws-prefix", "eni: {count: 1, ips: 2}, max_pods: 20}"), &["max_pods 20 exceeds", "its eni limits"])
        .unwrap();
    check(
        &aws("aws-vpc-cni", "instance_type: m9.huge}"),
        &["instance_type", "unknown instance_type `m9.huge`", "t3.small"],
    )
    .unwrap();
    check(
        &aws("aws-vpc-cni", "instance_type: m5.large, eni: {count: 3, ips: 10}}"),
        &["node_pools[0].eni", "not both"],
    )
    .unwrap();
    check(&aws("aws-vpc-cni", "eni: {count: 0, ips: 10}}"), &["eni.count", "from 1 to 15"]).unwrap();
    check(&aws("aws-vpc-cni", "eni: {count: 2, ips: 1}}"), &["eni.ips", "from 2 to 64"]).unwrap();
    check(
        &aws("aws-vpc-cni", "eni: {count: 2, ips: 4, gpus: 1}}"),
        &["node_pools[0].eni: unknown key `gpus`; valid keys here: `count`, `ips`, `vcpus`"],
    )
    .unwrap();
    // None named: m5.large, with a warning saying so.
    check_warning(&aws("aws-vpc-cni", "max_pods: 20}"), &["names no instance_type: m5.large assumed"]);
    // Other modes ignore the fields, with a warning, so one file serves `compare`.
    check_warning(
        &edit(&[("pod_subnet: pods}", "pod_subnet: pods, instance_type: m5.large}")], ""),
        &["instance_type is ignored by the dynamic allocator"],
    );
    // Settings: the block is checked; prefixes may name a reservation or not.
    check(
        &aws("aws-vpc-cni", "instance_type: m5.large}").replace(
            "    allocator: aws-vpc-cni\n",
            "    allocator: aws-vpc-cni\n    aws_vpc_cni: {warm_ip_target: -2}\n",
        ),
        &["warm_ip_target must be a whole number from 0 to 10000"],
    )
    .unwrap();
    let reserved = ok(&aws("aws-prefix", "pod_subnet: pods, instance_type: m5.large}")).scenario;
    assert_eq!(reserved.clusters[0].node_pools[0].pod_subnet.as_deref(), Some("pods"));
    let plain = ok(&aws("aws-prefix", "instance_type: m5.large}")).scenario;
    assert_eq!(plain.clusters[0].node_pools[0].pod_subnet, None);
    // AWS has no Windows support in these modes.
    check(&aws("aws-vpc-cni", "instance_type: m5.large, os: windows}"), &["does not support Windows"]).unwrap();
}

#[test]
fn overrides() {
    let yaml = edit(&[("name: base", "name: base\nseed: 5")], "");
    let l = parse_str(&yaml, "x", &Overrides { allocator: Some(modes::named("kubenet")), seed: Some(9) }).unwrap();
    assert_eq!(l.scenario.seed, 9);
    assert_eq!(l.scenario.clusters[0].allocator, modes::named("kubenet"));
    assert_eq!(l.scenario.clusters[0].max_pods, 110);
    assert_eq!(l.scenario.clusters[0].node_pools[0].pod_subnet, None);
    assert_eq!(ok(&yaml).scenario.seed, 5);
    // The override is applied before validation: static-block rules now apply.
    let e = parse_str(
        &edit(&[("pod_subnet: pods}", "pod_subnet: pods, os: windows}")], ""),
        "x",
        &Overrides { allocator: Some(modes::named("static-block")), seed: None },
    )
    .unwrap_err();
    assert!(e.to_string().contains("does not support Windows"), "{e}");
    // And it settles a conflict of modes.
    let mixed = edit(
        &[(
            "pod_subnet: pods}\n",
            "pod_subnet: pods}\n  - name: c2\n    allocator: static-block\n    node_pools: [{name: p1, count: 1, vnet_subnet: nodes, pod_subnet: pods, max_pods: 31}]\n",
        )],
        "",
    );
    assert!(load_str(&mixed).is_err());
    parse_str(&mixed, "x", &Overrides { allocator: Some(modes::named("dynamic")), seed: None }).unwrap();
}

#[test]
fn events_are_sorted_ties_in_file_order() {
    let yaml = edit(
        &[],
        "events:\n\
         \x20 - {at: 7d, rollout: {name: web}}\n\
         \x20 - {at: 2h, scale_workload: {name: web, replicas: 1}}\n\
         \x20 - {at: 1h, scale_pool: {cluster: c1, pool: p1, count: 4}}\n\
         \x20 - {at: 2h, scale_workload: {name: web, replicas: 2}}\n\
         \x20 - {at: 0, upgrade_pool: {cluster: c1, pool: p1}}\n\
         \x20 - {at: 3h, add_pool: {cluster: c1, pool: {name: p2, count: 1, vnet_subnet: nodes, pod_subnet: pods}}}\n\
         \x20 - {at: 4h, remove_pool: {cluster: c1, pool: p2}}\n\
         \x20 - {at: 5h, add_pool: {cluster: c1, pool: {name: p2, count: 1, vnet_subnet: nodes, pod_subnet: pods, max_surge: 2}}}\n",
    )
    .replace("duration: 1d", "duration: 8d");
    let s = ok(&yaml).scenario;
    let got: Vec<(u64, String)> = s.events.iter().map(|e| (e.at, format!("{:?}", e.action))).collect();
    let at: Vec<u64> = got.iter().map(|g| g.0).collect();
    assert_eq!(at, [0, 3600, 7200, 7200, 10800, 14400, 18000, 604800]);
    assert_eq!(s.events[2].action, Action::ScaleWorkload { name: "web".into(), workload: WorkloadId(0), replicas: 1 });
    assert_eq!(s.events[3].action, Action::ScaleWorkload { name: "web".into(), workload: WorkloadId(0), replicas: 2 });
    match &s.events[6].action {
        Action::AddPool { cluster, cluster_id, pool } => {
            assert_eq!((cluster.as_str(), *cluster_id), ("c1", ClusterId(0)));
            assert_eq!((pool.vnet_subnet_id, pool.pod_subnet_id), (SubnetId(0), Some(SubnetId(1))));
            assert_eq!(pool.max_surge, Surge::Count(2));
            assert_eq!(pool.max_pods, 250);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn workload_pool_added_later_is_known() {
    let yaml = edit(
        &[("{name: web, cluster: c1,", "{name: web, cluster: c1, pool: p2,")],
        "events:\n  - {at: 3h, add_pool: {cluster: c1, pool: {name: p2, count: 1, vnet_subnet: nodes, pod_subnet: pods}}}\n",
    );
    ok(&yaml);
}

#[test]
fn scalars() {
    let s = ok(&edit(
        &[
            ("duration: 1d", "duration: 1h30m\nsample_every: 90\ntiming: {node_provision: 0, node_drain: 2w, node_reimage: \"30s\"}"),
            ("pod_subnet: pods}", "pod_subnet: pods, max_surge: \"33%\", autoscale: {min: 1, max: 5}}\n      - {name: p2, count: 1, vnet_subnet: nodes, pod_subnet: pods, max_surge: 3, os: windows}"),
            ("{fixed: 10m}", "{lognormal: {median: 30d, sigma: 1.5}}, start: 10m, end: 1h"),
        ],
        "",
    ))
    .scenario;
    assert_eq!(s.duration, 5400);
    assert_eq!(s.sample_every, 90);
    assert_eq!(s.timing, Timing { node_provision: 0, node_drain: 1_209_600, node_reimage: 30 });
    let pools = &s.clusters[0].node_pools;
    assert_eq!(pools[0].max_surge, Surge::Percent(33));
    assert_eq!(pools[0].autoscale, Some(Autoscale { min: 1, max: 5 }));
    assert_eq!(pools[1].max_surge, Surge::Count(3));
    assert_eq!(pools[1].os, Os::Windows);
    assert_eq!(
        s.workloads[2].kind,
        WorkloadKind::Churn {
            arrivals_per_hour: 60.0,
            lifetime: Lifetime::LogNormal { median: 2_592_000, sigma: 1.5 },
            start: 600,
            end: Some(3600)
        }
    );
    let s = ok(&edit(&[("{fixed: 10m}", "{uniform: [0, 2m]}")], "")).scenario;
    assert!(matches!(s.workloads[2].kind, WorkloadKind::Churn { lifetime: Lifetime::Uniform(0, 120), .. }));
    let s = ok(&edit(&[("{fixed: 10m}", "{exponential: 20m}")], "")).scenario;
    assert!(matches!(s.workloads[2].kind, WorkloadKind::Churn { lifetime: Lifetime::Exponential(1200), .. }));
}

#[test]
fn allocator_names() {
    for k in modes::ALL {
        assert_eq!(find_allocator(k.name), Ok(k));
    }
    let e = find_allocator("azure").unwrap_err();
    assert!(e.to_string().contains("unknown allocator `azure`") && e.to_string().contains("static-block"));
}

#[test]
fn spec_example_validates() {
    let yaml = r#"
name: growth with one upgrade
seed: 7
duration: 30d
sample_every: 1h
allocator: dynamic
network:
  address_space: [10.0.0.0/8]
  subnets:
    nodes: 10.240.0.0/24
    pods: 10.241.0.0/20
clusters:
  - name: prod
    node_pools:
      - {name: system, count: 3, vnet_subnet: nodes, pod_subnet: pods, max_pods: 30}
      - {name: user, count: 5, vnet_subnet: nodes, pod_subnet: pods, max_pods: 110, max_surge: "33%",
         autoscale: {min: 5, max: 40}}
workloads:
  - {name: web, cluster: prod, pool: user, kind: deployment, replicas: 200}
  - {name: jobs, cluster: prod, pool: user, kind: churn, arrivals_per_hour: 600,
     lifetime: {exponential: 10m}}
events:
  - {at: 7d, scale_workload: {name: web, replicas: 800}}
  - {at: 14d, upgrade_pool: {cluster: prod, pool: user}}
"#;
    let l = ok(yaml);
    let s = &l.scenario;
    assert_eq!((s.seed, s.duration, s.sample_every), (7, 30 * 86_400, 3_600));
    assert_eq!(s.clusters[0].node_pools[1].autoscale, Some(Autoscale { min: 5, max: 40 }));
    assert_eq!(s.events.len(), 2);
    // Only the defaulted service CIDR inside 10.0.0.0/8 (in no subnet) is worth a warning.
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    // Under every allocator that carves no pod CIDR too. Kubenet and overlay
    // carve the default 10.244.0.0/16, which lies in the example's 10.0.0.0/8:
    // AKS refuses that, and so does podip, naming AKS's error.
    for k in modes::ALL {
        let loaded = parse_str(yaml, "example", &Overrides { allocator: Some(k), seed: None });
        match k.pod_cidr {
            // AWS: pools that name no instance_type are m5.large, which holds
            // 29 pods with secondary IPs (250 with prefixes).
            None if k.machines.is_some_and(|m| (m.max_pods)(m.find("m5.large").unwrap()).max < 110) => {
                let e = loaded.unwrap_err().to_string();
                assert!(e.contains("max_pods 30 exceeds what m5.large allows under the"), "{k}: {e}");
                assert!(e.contains("3 ENIs × (10 IPv4 − 1)"), "{k}: {e}");
                let fixed = yaml.replace("vnet_subnet: nodes,", "vnet_subnet: nodes, instance_type: m5.4xlarge,");
                parse_str(&fixed, "example", &Overrides { allocator: Some(k), seed: None })
                    .unwrap_or_else(|e| panic!("{k}: {e}"));
            }
            None => drop(loaded.unwrap_or_else(|e| panic!("{k}: {e}"))),
            Some(_) => {
                let e = loaded.unwrap_err().to_string();
                assert!(e.contains("clusters[0].pod_cidr") && e.contains("NetworkProfileCIDROverlapVNET"), "{k}: {e}");
                let fixed = yaml.replace("  - name: prod\n", "  - name: prod\n    pod_cidr: 100.64.0.0/16\n");
                parse_str(&fixed, "example", &Overrides { allocator: Some(k), seed: None })
                    .unwrap_or_else(|e| panic!("{k}: {e}"));
            }
        }
    }
}

/// A scenario edited in code is checked by the rules a file is, and a valid
/// one comes back unchanged: every bundled scenario under every allocator.
#[test]
fn validate_checks_a_scenario_edited_in_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut checked = 0;
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "yaml")) {
        for mode in modes::ALL {
            let Ok(loaded) = load(file, &Overrides { allocator: Some(mode), seed: None }) else { continue };
            let again =
                validate(&loaded.scenario, "edited").unwrap_or_else(|e| panic!("{} under {mode}: {e}", file.display()));
            assert_eq!(again.scenario, loaded.scenario, "{} under {mode}", file.display());
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} scenario × allocator pairs load");

    let mut s = load(&dir.join("growth-compare.yaml"), &Overrides::default()).unwrap().scenario;
    s.clusters[0].node_pools[0].vnet_subnet = "nope".into();
    s.network.subnets[0].prefix = "10.240.0.0/31".parse().unwrap();
    let e = validate(&s, "edited").unwrap_err().to_string();
    assert!(e.contains("edited: clusters[0].node_pools[0].vnet_subnet: unknown subnet `nope`"), "{e}");
    assert!(e.contains("network.subnets."), "{e}");
}
