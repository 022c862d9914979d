//! No input makes loading panic, hang or blow up.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use scenario::*;

const BASE: &str = "\
name: base
duration: 1d
network:
  address_space: [10.1.0.0/16]
  subnets: {nodes: 10.1.0.0/24, pods: 10.1.16.0/20}
clusters:
  - name: c1
    max_pods: 30
    node_pools:
      - {name: p1, count: 3, vnet_subnet: nodes, pod_subnet: pods, autoscale: {min: 1, max: 5}}
workloads:
  - {name: web, cluster: c1, kind: deployment, replicas: 10}
  - {name: jobs, cluster: c1, kind: churn, arrivals_per_hour: 60, lifetime: {uniform: [1m, 10m]}}
events:
  - {at: 1h, scale_workload: {name: web, replicas: 800}}
  - {at: 2h, add_pool: {cluster: c1, pool: {name: p2, count: 1, vnet_subnet: nodes, pod_subnet: pods}}}
";

fn load_any(text: &str) -> Result<Loaded, LoadError> {
    let r = parse_str(text, "fuzz.yaml", &Overrides::default());
    if let Err(e) = &r {
        assert!(!e.errors.is_empty());
        let _ = e.to_string();
    }
    r
}

const TOKENS: &[&str] = &[
    "",
    " ",
    "\n",
    "\t",
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "'",
    "\"",
    "&a ",
    "*a",
    "!x ",
    "#",
    "---\n",
    "0",
    "-1",
    "1e999",
    ".nan",
    "~",
    "null",
    "99999999999999999999999",
    "1h",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "255.255.255.255/32",
    "static-block",
    "kubenet",
    "windows",
    "max_pods: 0",
    "count: 1001",
    "%",
    "ü",
    "\u{0}",
    "<<: *a",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(text in any::<String>()) {
        let _ = load_any(&text);
    }

    #[test]
    fn edited_scenarios(edits in prop::collection::vec((any::<prop::sample::Index>(), 0..TOKENS.len(), 0usize..4), 1..6)) {
        let mut text = BASE.to_owned();
        for (at, tok, cut) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            let mut j = (i + cut).min(text.len());
            while !text.is_char_boundary(j) {
                j += 1;
            }
            text.replace_range(i..j, TOKENS[tok]);
        }
        let _ = load_any(&text);
    }

    #[test]
    fn durations_never_panic(s in "[0-9smhdw]{0,30}") {
        let _ = parse_duration(&s);
    }
}

#[test]
fn base_is_valid() {
    load_any(BASE).unwrap();
}

#[test]
fn alias_bomb_fails_fast() {
    let mut text = String::from(
        "name: x\ndescription: y\nduration: 1h\nworkloads:\n  - &a0 {name: w, cluster: c, kind: daemonset}\n",
    );
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", [prev.as_str(); 10].join(", ")));
    }
    let start = Instant::now();
    // As an unknown key, and where a list is expected.
    let _ = load_any(&bomb);
    text.push_str("events: *a0\n");
    let _ = load_any(&format!("{bomb}{text}"));
    let _ = load_any(&bomb.replace("a9: &a9", "clusters: &a9"));
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
}

#[test]
fn deep_nesting_is_refused_fast() {
    let start = Instant::now();
    for depth in [65, 100_000, 800_000] {
        let text = format!("name: {}{}", "[".repeat(depth), "]".repeat(depth));
        let e = load_any(&text).unwrap_err();
        assert!(e.to_string().contains("nest more than 64 deep at line 1 column 71"), "{e}");
        let text = format!("name: x\nduration: {}1{}", "{a: ".repeat(depth), "}".repeat(depth));
        let e = load_any(&text).unwrap_err();
        assert!(e.to_string().contains("nest more than 64"), "{e}");
    }
    // 64 is fine as far as nesting goes.
    let text = format!("name: {}{}", "[".repeat(64), "]".repeat(64));
    assert!(load_any(&text).unwrap_err().to_string().contains("invalid type: sequence"));
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
}

#[test]
fn many_faults_in_a_large_file_are_reported_quickly() {
    // ~2 MiB of pools, every one faulty: all reported, positions within a budget.
    let mut text = String::from(
        "name: x\nduration: 1h\nnetwork: {address_space: [10.1.0.0/16], subnets: {nodes: 10.1.0.0/24}}\nclusters:\n  - name: c\n    node_pools:\n",
    );
    let n = 30_000;
    for i in 0..n {
        text.push_str(&format!("      - {{name: p{i}, count: 0, vnet_subnet: nodes, max_pods: 1}}\n"));
    }
    assert!(text.len() < MAX_FILE_BYTES);
    let start = Instant::now();
    let e = load_any(&text).unwrap_err();
    assert!(e.errors.len() >= 2 * n, "{}", e.errors.len());
    assert!(start.elapsed() < Duration::from_secs(30), "took {:?}", start.elapsed());
}

#[test]
fn text_over_the_limit_is_refused() {
    let text = format!("name: x\n{}", "#\n".repeat(MAX_FILE_BYTES / 2));
    let e = load_any(&text).unwrap_err();
    assert!(e.to_string().contains("larger than 4 MiB"), "{e}");
}
