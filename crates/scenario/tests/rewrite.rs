//! `rewrite`: edited prefixes and allocators read back as asked, and nothing else
//! in the file changes.

use std::path::PathBuf;

use ipnet::Ipv4Net;
use proptest::prelude::*;
use scenario::*;

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn load(text: &str, overrides: &Overrides) -> Result<Loaded, LoadError> {
    parse_str(text, "test.yaml", overrides)
}

/// The scenario `text` loads as, with `edits` applied to the struct: the
/// allocator through `--allocator` (which resolves defaults such as max_pods just
/// as a rewritten file does), the prefixes set afterwards.
fn expected(text: &str, edits: &Edits) -> Result<Scenario, LoadError> {
    let mut s = load(text, &Overrides { allocator: edits.allocator, seed: None })?.scenario;
    for (name, prefix) in &edits.subnets {
        let subnet = s.network.subnets.iter_mut().find(|x| &x.name == name).expect("edited subnet exists");
        subnet.prefix = *prefix;
    }
    for (i, prefix) in &edits.pod_cidrs {
        s.clusters[*i].pod_cidr = *prefix;
    }
    Ok(s)
}

/// A line with the values rewrite may change blanked out, so that two lines that
/// differ only in those compare equal: whatever follows `pod_cidr:` or
/// `allocator:` up to the end of the entry, every prefix, every allocator name;
/// then an entry `pod_cidr:` or `allocator:` of a flow mapping is dropped (as
/// rewrite inserts one).
fn normalize(line: &str) -> String {
    let mut s = line.to_owned();
    for key in ["pod_cidr:", "allocator:"] {
        let mut from = 0;
        while let Some(i) = s[from..].find(key) {
            let value = from + i + key.len();
            let end = s[value..].find([',', '}', '#', '\r', '\n']).map_or(s.len(), |j| value + j);
            s.replace_range(value..end, "");
            from = value;
        }
    }
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.contains('/') && run.contains('.') {
            out.push_str("<P>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() || c == '.' || c == '/' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    for a in modes::ALL {
        out = out.replace(a.name, "<A>");
    }
    out.replace("pod_cidr:, ", "").replace("allocator:, ", "")
}

/// Whether `line` is a whole `pod_cidr:` or `allocator:` line that rewrite inserts.
fn inserted_line(line: &str) -> bool {
    let n = normalize(line);
    let body = n.trim_start_matches(' ').trim_end_matches(['\r', '\n']);
    body == "pod_cidr:" || body == "allocator:"
}

/// Every line of `out` is a line of `text` (in order, line endings included), one
/// of `text`'s lines with only prefixes or allocator names changed, or an
/// inserted `pod_cidr:`/`allocator:` line; at most `edits` lines are not kept.
fn assert_only_edited_lines(text: &str, out: &str, max_edited: usize) {
    let a: Vec<&str> = text.split_inclusive('\n').collect();
    let b: Vec<&str> = out.split_inclusive('\n').collect();
    let (mut i, mut j, mut edited) = (0, 0, 0);
    while j < b.len() {
        if i < a.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && normalize(a[i]) == normalize(b[j]) {
            edited += 1;
            i += 1;
            j += 1;
        } else if inserted_line(b[j]) {
            edited += 1;
            j += 1;
        } else {
            panic!(
                "line {} of the output is not an edit of line {} of the input:\n{:?}\n{:?}\n--- output:\n{out}",
                j + 1,
                i + 1,
                b[j],
                a.get(i)
            );
        }
    }
    assert_eq!(i, a.len(), "input lines from {} on are missing from the output:\n{out}", i + 1);
    assert!(edited <= max_edited, "{edited} lines changed for {max_edited} edits:\n{out}");
}

fn max_edited(text: &str, edits: &Edits) -> usize {
    let allocators = edits.allocator.map_or(0, |_| 1 + text.matches("allocator:").count());
    edits.subnets.len() + edits.pod_cidrs.len() + allocators
}

/// The main check: the rewritten text loads as the original with the edits
/// applied, and differs from it only on the edited lines. Returns the output.
fn check(text: &str, edits: &Edits) -> String {
    let out = rewrite(text, edits).unwrap_or_else(|e| panic!("rewrite failed: {e}\n--- input:\n{text}"));
    let want = expected(text, edits).unwrap_or_else(|e| panic!("the expected scenario is invalid:\n{e}\n{text}"));
    let got = load(&out, &Overrides::default())
        .unwrap_or_else(|e| panic!("the rewritten text is invalid:\n{e}\n--- output:\n{out}"))
        .scenario;
    assert_eq!(got, want, "--- input:\n{text}\n--- output:\n{out}");
    assert_only_edited_lines(text, &out, max_edited(text, edits));
    out
}

/// The same check for an allocator that may make the scenario invalid: then the
/// rewritten file must fail with the same errors (positions aside).
fn check_allocator(text: &str, edits: &Edits) -> String {
    let out = rewrite(text, edits).unwrap_or_else(|e| panic!("rewrite failed: {e}\n--- input:\n{text}"));
    let got = load(&out, &Overrides::default());
    match (expected(text, edits), got) {
        (Ok(want), Ok(got)) => assert_eq!(got.scenario, want, "--- output:\n{out}"),
        (Err(want), Err(got)) => {
            let key = |e: &LoadError| e.errors.iter().map(|d| (d.path.clone(), d.message.clone())).collect::<Vec<_>>();
            let (mut w, mut g) = (key(&want), key(&got));
            w.sort();
            g.sort();
            assert_eq!(g, w, "--- output:\n{out}");
        }
        (want, got) => panic!("expected {want:?}\ngot {got:?}\n--- output:\n{out}"),
    }
    assert_only_edited_lines(text, &out, max_edited(text, edits));
    out
}

fn bundled() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the bundled scenarios are missing: {}", dir.display());
    files
}

/// The same prefix one bit longer (half of it, at the same address).
fn halved(p: Ipv4Net) -> Ipv4Net {
    Ipv4Net::new(p.network(), p.prefix_len() + 1).unwrap()
}

/// Every subnet and every kubenet/overlay pod_cidr of `s`, kept where it is; the
/// first subnet, and the pod CIDRs, halved when `change` (which still validates:
/// a half stays inside the VNet and overlaps nothing new).
fn edits_for(s: &Scenario, change: bool) -> Edits {
    let subnets = s
        .network
        .subnets
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let p = if change && i == 0 && x.prefix.prefix_len() < 29 { halved(x.prefix) } else { x.prefix };
            (x.name.clone(), p)
        })
        .collect();
    let pod_cidrs = s
        .clusters
        .iter()
        .enumerate()
        .filter(|(_, c)| c.allocator.pod_cidr.is_some())
        .map(|(i, c)| (i, if change && c.pod_cidr.prefix_len() < 24 { halved(c.pod_cidr) } else { c.pod_cidr }))
        .collect();
    Edits { subnets, pod_cidrs, allocator: None }
}

#[test]
#[should_panic(expected = "is not an edit of line")]
fn the_line_check_sees_other_changes() {
    let out = BLOCK.replace("# the title", "# a title");
    assert_only_edited_lines(BLOCK, &out, 5);
}

#[test]
#[should_panic(expected = "is not an edit of line")]
fn the_line_check_sees_changed_line_endings() {
    let out = BLOCK.replacen('\n', "\r\n", 1);
    assert_only_edited_lines(BLOCK, &out, 5);
}

#[test]
fn bundled_scenarios_every_subnet_and_pod_cidr() {
    for (name, text) in bundled() {
        let s = load(&text, &Overrides::default()).unwrap_or_else(|e| panic!("{name}: {e}")).scenario;
        // Rewritten as they are: the text stays byte for byte (inserted pod_cidr
        // lines aside).
        let same = edits_for(&s, false);
        let out = check(&text, &same);
        if same.pod_cidrs.is_empty() || text.contains("pod_cidr") {
            assert_eq!(out, text, "{name}");
        }
        // And a real change.
        let changed = edits_for(&s, true);
        assert_ne!(changed, same, "{name}: no real change");
        let out = check(&text, &changed);
        assert_ne!(out, text, "{name}");
        // The same with Windows line endings.
        let crlf = text.replace('\n', "\r\n");
        let out = check(&crlf, &changed);
        assert!(!out.replace("\r\n", "").contains('\n'), "{name}: a bare line feed in\n{out}");
    }
}

#[test]
fn bundled_scenarios_every_allocator() {
    for (name, text) in bundled() {
        let s = load(&text, &Overrides::default()).unwrap_or_else(|e| panic!("{name}: {e}")).scenario;
        for a in modes::ALL {
            // Every subnet as it is and every cluster's pod_cidr set to what it
            // resolves to: only the allocator changes what loads.
            let mut edits = edits_for(&s, false);
            edits.pod_cidrs = s.clusters.iter().enumerate().map(|(i, c)| (i, c.pod_cidr)).collect();
            edits.allocator = Some(a);
            let out = check_allocator(&text, &edits);
            assert!(out.contains(&format!("allocator: {a}")), "{name}, {a}:\n{out}");
        }
    }
}

const BLOCK: &str = "\
# A scenario in block style.
name: block style   # the title
duration: 1d

network:
  address_space:
    - 10.0.0.0/12
  subnets:
    nodes: 10.1.0.0/24  # the node subnet
    pods: \"10.2.0.0/16\"
    spare: '10.3.0.0/16' # unused
clusters:
  - name: prod
    max_pods: 30
    node_pools:
      - name: system
        count: 3
        vnet_subnet: nodes
        pod_subnet: pods
  - name: \"kube\"  # a kubenet cluster
    allocator: kubenet
    pod_cidr: '100.64.0.0/16'
    node_pools:
      - {name: p, count: 2, vnet_subnet: nodes}
";

#[test]
fn block_mappings_comments_and_quotes() {
    let edits = Edits {
        subnets: vec![
            ("nodes".into(), net("10.1.0.0/25")),
            ("pods".into(), net("10.2.0.0/17")),
            ("spare".into(), net("10.3.0.0/24")),
        ],
        pod_cidrs: vec![(1, net("100.64.0.0/17")), (0, net("100.65.0.0/16"))],
        allocator: None,
    };
    let out = check(BLOCK, &edits);
    assert!(out.contains("    nodes: 10.1.0.0/25  # the node subnet\n"), "{out}");
    assert!(out.contains("    pods: \"10.2.0.0/17\"\n"), "{out}");
    assert!(out.contains("    spare: '10.3.0.0/24' # unused\n"), "{out}");
    assert!(out.contains("    pod_cidr: '100.64.0.0/17'\n"), "{out}");
    // Inserted right after the cluster's name, indented as its keys.
    assert!(out.contains("  - name: prod\n    pod_cidr: 100.65.0.0/16\n    max_pods: 30\n"), "{out}");
}

#[test]
fn allocator_replaced_and_inserted() {
    // Absent at the top: inserted before `network`; the cluster's own replaced.
    let out = check(BLOCK, &Edits { allocator: Some(modes::named("overlay")), ..Edits::default() });
    assert!(out.contains("duration: 1d\n\nallocator: overlay\nnetwork:\n"), "{out}");
    assert!(out.contains("    allocator: overlay\n    pod_cidr"), "{out}");
    // Present: replaced where it is, quotes kept.
    let text = BLOCK.replace("duration: 1d\n", "duration: 1d\nallocator: \"dynamic\"  # default\n");
    let out = check(&text, &Edits { allocator: Some(modes::named("node-subnet")), ..Edits::default() });
    assert!(out.contains("allocator: \"node-subnet\"  # default\n"), "{out}");
    assert!(!out.contains("allocator: kubenet"), "{out}");
    // With CRLF line endings, the inserted line has one too.
    let crlf = BLOCK.replace('\n', "\r\n");
    let out = check(&crlf, &Edits { allocator: Some(modes::named("kubenet")), ..Edits::default() });
    assert!(out.contains("\r\nallocator: kubenet\r\nnetwork:"), "{out}");
}

const FLOW: &str = "\
name: flow style
duration: 1d
network: {address_space: [10.0.0.0/12], subnets: {nodes: 10.1.0.0/24, pods: '10.2.0.0/16'}}
clusters:
  - {name: a, allocator: kubenet, node_pools: [{name: p, count: 2, vnet_subnet: nodes}]}
  - {name: b, allocator: overlay, pod_cidr: \"100.70.0.0/16\",
     node_pools: [{name: p, count: 2, vnet_subnet: nodes}]}
  - {node_pools: [{name: p, count: 1, vnet_subnet: nodes, pod_subnet: pods}], name: c}
";

#[test]
fn flow_mappings() {
    let edits = Edits {
        subnets: vec![("nodes".into(), net("10.1.0.0/23")), ("pods".into(), net("10.2.0.0/24"))],
        pod_cidrs: vec![(0, net("100.64.0.0/16")), (1, net("100.71.0.0/16")), (2, net("100.72.0.0/16"))],
        allocator: None,
    };
    let out = check(FLOW, &edits);
    assert!(out.contains("subnets: {nodes: 10.1.0.0/23, pods: '10.2.0.0/24'}}"), "{out}");
    assert!(out.contains("  - {name: a, pod_cidr: 100.64.0.0/16, allocator: kubenet, node_pools"), "{out}");
    assert!(out.contains("pod_cidr: \"100.71.0.0/16\",\n"), "{out}");
    // `name` last: the entry goes before it.
    assert!(out.contains("pod_subnet: pods}], pod_cidr: 100.72.0.0/16, name: c}"), "{out}");
    let out = check(FLOW, &Edits { allocator: Some(modes::named("kubenet")), ..Edits::default() });
    assert!(out.contains("duration: 1d\nallocator: kubenet\nnetwork: {"), "{out}");
    assert_eq!(out.matches("allocator: kubenet").count(), 3, "{out}");
}

#[test]
fn whole_document_in_flow_style() {
    let text = "{name: x, duration: 1d, network: {address_space: [10.0.0.0/12], subnets: {n: 10.1.0.0/24, p: 10.2.0.0/16}},\n clusters: [{name: c, node_pools: [{name: p, count: 1, vnet_subnet: n, pod_subnet: p}]}]}\n";
    let edits = Edits {
        subnets: vec![("p".into(), net("10.2.0.0/20"))],
        pod_cidrs: vec![(0, net("100.64.0.0/16"))],
        allocator: Some(modes::named("static-block")),
    };
    let out = check(text, &edits);
    assert!(out.starts_with("{name: x, duration: 1d, allocator: static-block, network: {"), "{out}");
    assert!(out.contains("[{name: c, pod_cidr: 100.64.0.0/16, node_pools:"), "{out}");
}

#[test]
fn empty_and_null_values_are_filled_in() {
    for (pod, top) in [
        ("pod_cidr:", "allocator:"),
        ("pod_cidr: ~", "allocator: null  # none"),
        ("pod_cidr:   # later", "allocator: ~"),
    ] {
        let text = BLOCK
            .replace("    max_pods: 30\n", &format!("    {pod}\n    max_pods: 30\n"))
            .replace("duration: 1d\n", &format!("duration: 1d\n{top}\n"));
        let edits = Edits {
            pod_cidrs: vec![(0, net("100.90.0.0/16"))],
            allocator: Some(modes::named("kubenet")),
            ..Edits::default()
        };
        let out = check(&text, &edits);
        assert!(out.contains("    pod_cidr: 100.90.0.0/16"), "{out}");
        assert!(out.contains("allocator: kubenet"), "{out}");
    }
    let text = FLOW.replace("{name: a, ", "{name: a, pod_cidr: , ");
    let out = check(&text, &Edits { pod_cidrs: vec![(0, net("100.64.0.0/16"))], ..Edits::default() });
    assert!(out.contains("{name: a, pod_cidr: 100.64.0.0/16, allocator"), "{out}");
    let text = FLOW.replace("{name: a, ", "{name: a, pod_cidr: null, ");
    let out = check(&text, &Edits { pod_cidrs: vec![(0, net("100.64.0.0/16"))], ..Edits::default() });
    assert!(out.contains("{name: a, pod_cidr: 100.64.0.0/16, allocator"), "{out}");
}

#[test]
fn name_last_in_a_block_cluster() {
    let text = "\
name: x
duration: 1d
network:
  address_space: [10.0.0.0/12]
  subnets: {n: 10.1.0.0/24}
clusters:
  - node_pools:
      - {name: p, count: 1, vnet_subnet: n}
    allocator: kubenet
    name: c
";
    let out = check(text, &Edits { pod_cidrs: vec![(0, net("100.64.0.0/16"))], ..Edits::default() });
    assert!(out.contains("    allocator: kubenet\n    pod_cidr: 100.64.0.0/16\n    name: c\n"), "{out}");
}

#[test]
fn repeated_edits_are_merged() {
    let edits = Edits {
        subnets: vec![("nodes".into(), net("10.1.0.0/25")), ("nodes".into(), net("10.1.0.0/25"))],
        pod_cidrs: vec![(0, net("100.64.0.0/16")), (0, net("100.64.0.0/16"))],
        allocator: None,
    };
    let out = check(BLOCK, &edits);
    assert_eq!(out.matches("pod_cidr: 100.64.0.0/16").count(), 1, "{out}");
}

fn fails(text: &str, edits: &Edits) -> RewriteError {
    match rewrite(text, edits) {
        Ok(out) => panic!("expected an error, got:\n{out}"),
        Err(e) => e,
    }
}

fn one_subnet(name: &str, prefix: &str) -> Edits {
    Edits { subnets: vec![(name.into(), net(prefix))], ..Edits::default() }
}

#[test]
fn errors_name_the_field() {
    let e = fails(BLOCK, &one_subnet("nope", "10.9.0.0/24"));
    assert_eq!(e, RewriteError::UnknownSubnet { name: "nope".into(), known: "nodes, pods, spare".into() });
    assert_eq!(
        e.to_string(),
        "network.subnets.nope: the file has no subnet of that name; its subnets: nodes, pods, spare"
    );

    let e = fails(BLOCK, &Edits { pod_cidrs: vec![(2, net("100.64.0.0/16"))], ..Edits::default() });
    assert_eq!(e, RewriteError::UnknownCluster { index: 2, count: 2 });
    assert!(e.to_string().starts_with("clusters[2]: "), "{e}");

    let edits = Edits {
        subnets: vec![("nodes".into(), net("10.1.0.0/25")), ("nodes".into(), net("10.1.0.0/26"))],
        ..Edits::default()
    };
    let e = fails(BLOCK, &edits);
    assert_eq!(e.to_string(), "network.subnets.nodes: edited twice, to 10.1.0.0/25 and to 10.1.0.0/26");
    let edits = Edits { pod_cidrs: vec![(1, net("100.64.0.0/16")), (1, net("100.65.0.0/16"))], ..Edits::default() };
    assert!(fails(BLOCK, &edits).to_string().starts_with("clusters[1].pod_cidr: edited twice"));

    let e = fails("name: [x\n", &Edits::default());
    assert!(matches!(e, RewriteError::Unreadable(_)), "{e:?}");
    let e = fails(&BLOCK.replace("max_pods", "max_podz"), &Edits::default());
    assert!(e.to_string().contains("clusters[0]: unknown key `max_podz`"), "{e}");
    assert!(e.to_string().contains("at line 14 column 5"), "{e}");
    assert!(matches!(fails("", &Edits::default()), RewriteError::Unreadable(_)));
    assert_eq!(fails(&"#".repeat(MAX_FILE_BYTES + 1), &Edits::default()), RewriteError::TooLarge);
}

#[test]
fn anchors_aliases_tags_and_block_scalars_are_refused() {
    let unsupported = |text: &str, edits: &Edits, path: &str| match fails(text, edits) {
        RewriteError::Unsupported { path: p, .. } => assert_eq!(p, path, "{text}"),
        e => panic!("expected Unsupported at {path}, got {e:?}"),
    };
    let text = BLOCK.replace("nodes: 10.1.0.0/24", "nodes: &n 10.1.0.0/24");
    unsupported(&text, &one_subnet("nodes", "10.1.0.0/25"), "network.subnets.nodes");
    let text =
        BLOCK.replace("spare: '10.3.0.0/16'", "spare: *n").replace("nodes: 10.1.0.0/24", "nodes: &n 10.1.0.0/24");
    unsupported(&text, &one_subnet("spare", "10.3.0.0/24"), "network.subnets.spare");
    let text = BLOCK.replace("pods: \"10.2.0.0/16\"", "pods: !!str 10.2.0.0/16");
    unsupported(&text, &one_subnet("pods", "10.2.0.0/24"), "network.subnets.pods");
    let text = BLOCK.replace("pods: \"10.2.0.0/16\"", "pods: >-\n      10.2.0.0/16");
    unsupported(&text, &one_subnet("pods", "10.2.0.0/24"), "network.subnets.pods");
    let text = BLOCK.replace("  subnets:\n", "  subnets: &s\n");
    unsupported(&text, &one_subnet("pods", "10.2.0.0/24"), "network.subnets");
    // A cluster that repeats another through an alias: editing either would edit both.
    let text = FLOW.replace("  - {name: a,", "  - &a {name: a,").replace("  - {node_pools", "  - *a\n  - {node_pools");
    let edits = Edits { pod_cidrs: vec![(2, net("100.64.0.0/16"))], ..Edits::default() };
    unsupported(&text, &edits, "clusters[2]");
    let edits = Edits { pod_cidrs: vec![(0, net("100.64.0.0/16"))], ..Edits::default() };
    unsupported(&text, &edits, "clusters[0]");
    unsupported(&text, &Edits { allocator: Some(modes::named("dynamic")), ..Edits::default() }, "clusters[0]");
}

#[test]
fn what_the_scanner_misses_is_caught_by_the_read_back() {
    // A plain scalar continued on the next line ("10.1.0.0/24 x", which validation
    // rejects, but which reads): replacing its first line alone would keep the
    // rest; the rewrite refuses instead of returning a wrong file.
    let text = BLOCK.replace("nodes: 10.1.0.0/24  # the node subnet\n", "nodes: 10.1.0.0/24\n      x\n");
    let e = fails(&text, &one_subnet("nodes", "10.1.0.0/25"));
    assert_eq!(e, RewriteError::Mismatch("network differs".into()));
}

#[test]
fn large_files_stay_within_the_lookup_budget() {
    // A 1 MiB description: two edits fit; a thousand are refused up front, not
    // ground through.
    let text = BLOCK.replace("duration: 1d\n", &format!("duration: 1d\ndescription: {}\n", "x".repeat(1 << 20)));
    let edits = Edits {
        subnets: vec![("nodes".into(), net("10.1.0.0/25"))],
        pod_cidrs: (0..1000).map(|_| (0, net("100.64.0.0/16"))).collect(),
        allocator: None,
    };
    let out = rewrite(&text, &edits).unwrap();
    assert!(out.contains("pod_cidr: 100.64.0.0/16"));
    let many: Vec<(String, Ipv4Net)> = (0..1000).map(|i| (format!("s{i}"), net("10.200.0.0/24"))).collect();
    let subnets: String = many.iter().map(|(n, _)| format!("    {n}: 10.200.0.0/24\n")).collect();
    let text = text.replace("  subnets:\n", &format!("  subnets:\n{subnets}"));
    let e = fails(&text, &Edits { subnets: many, ..Edits::default() });
    assert!(matches!(e, RewriteError::TooManyEdits { .. }), "{e:?}");
}

// --- Generated scenarios in random styles.

/// How one generated scalar is written.
#[derive(Debug, Clone, Copy)]
enum Quote {
    Plain,
    Double,
    Single,
}

fn quoted(q: Quote, s: &str) -> String {
    match q {
        Quote::Plain => s.to_owned(),
        Quote::Double => format!("\"{s}\""),
        Quote::Single => format!("'{s}'"),
    }
}

#[derive(Debug, Clone)]
struct GenCluster {
    flow: bool,
    allocator: Option<(&'static Mode, Quote)>,
    /// None: absent; Some(None): written empty.
    pod_cidr: Option<Option<(u8, Quote)>>,
    comment: bool,
}

#[derive(Debug, Clone)]
struct Gen {
    crlf: bool,
    flow_subnets: bool,
    allocator: Option<(&'static Mode, Quote)>,
    subnets: Vec<(Quote, bool)>,
    clusters: Vec<GenCluster>,
}

fn quote() -> impl Strategy<Value = Quote> {
    prop_oneof![Just(Quote::Plain), Just(Quote::Double), Just(Quote::Single)]
}

fn allocator() -> impl Strategy<Value = &'static Mode> {
    proptest::sample::select(modes::ALL.to_vec())
}

fn cluster() -> impl Strategy<Value = GenCluster> {
    (
        any::<bool>(),
        proptest::option::of((allocator(), quote())),
        proptest::option::of(proptest::option::of((0u8..50, quote()))),
        any::<bool>(),
    )
        .prop_map(|(flow, allocator, pod_cidr, comment)| GenCluster { flow, allocator, pod_cidr, comment })
}

fn scenario_gen() -> impl Strategy<Value = Gen> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::option::of((allocator(), quote())),
        proptest::collection::vec(cluster(), 1..4),
    )
        .prop_flat_map(|(crlf, flow_subnets, allocator, clusters)| {
            // The node subnet, and one pod subnet per cluster.
            let n = clusters.len() + 1;
            proptest::collection::vec((quote(), any::<bool>()), n).prop_map(move |subnets| Gen {
                crlf,
                flow_subnets,
                allocator,
                subnets,
                clusters: clusters.clone(),
            })
        })
}

impl Gen {
    fn text(&self) -> String {
        let mut t = String::from("# generated\nname: generated\nduration: 1d\n");
        if let Some((a, q)) = self.allocator {
            t.push_str(&format!("allocator: {}  # default\n", quoted(q, a.name)));
        }
        t.push_str("network:\n  address_space: [10.0.0.0/12]\n");
        let subnet = |i: usize| format!("10.{}.0.0/16", i + 1);
        if self.flow_subnets {
            let items: Vec<String> = self
                .subnets
                .iter()
                .enumerate()
                .map(|(i, (q, _))| format!("s{i}: {}", quoted(*q, &subnet(i))))
                .collect();
            t.push_str(&format!("  subnets: {{{}}}\n", items.join(", ")));
        } else {
            t.push_str("  subnets:\n");
            for (i, (q, comment)) in self.subnets.iter().enumerate() {
                let c = if *comment { "  # a comment" } else { "" };
                t.push_str(&format!("    s{i}: {}{c}\n", quoted(*q, &subnet(i))));
            }
        }
        t.push_str("clusters:\n");
        for (i, c) in self.clusters.iter().enumerate() {
            let mut entries = vec![format!("name: c{i}")];
            if let Some((a, q)) = c.allocator {
                entries.push(format!("allocator: {}", quoted(q, a.name)));
            }
            match c.pod_cidr {
                None => {}
                Some(None) => entries.push("pod_cidr:".to_owned()),
                Some(Some((k, q))) => {
                    entries.push(format!("pod_cidr: {}", quoted(q, &format!("100.{}.0.0/16", 64 + k))))
                }
            }
            let pool = format!("{{name: p, count: 1, vnet_subnet: s0, pod_subnet: s{}}}", i + 1);
            let comment = if c.comment { "  # cluster" } else { "" };
            if c.flow {
                // An empty value needs a following space before the comma in flow style.
                let entries: Vec<String> =
                    entries.iter().map(|e| if e.ends_with(':') { format!("{e} ") } else { e.clone() }).collect();
                t.push_str(&format!("  - {{{}, node_pools: [{pool}]}}{comment}\n", entries.join(", ")));
            } else {
                t.push_str(&format!("  - {}{comment}\n", entries[0]));
                for e in &entries[1..] {
                    t.push_str(&format!("    {e}\n"));
                }
                t.push_str(&format!("    node_pools:\n      - {pool}\n"));
            }
        }
        if self.crlf { t.replace('\n', "\r\n") } else { t }
    }
}

fn edits_gen(subnets: usize, clusters: usize) -> impl Strategy<Value = Edits> {
    (
        proptest::collection::vec(proptest::option::of(16u8..=24), subnets),
        proptest::collection::vec(proptest::option::of(0u8..50), clusters),
        proptest::option::of(allocator()),
    )
        .prop_map(|(s, c, allocator)| Edits {
            subnets: s
                .iter()
                .enumerate()
                .filter_map(|(i, len)| {
                    len.map(|l| (format!("s{i}"), Ipv4Net::new([10, i as u8 + 1, 0, 0].into(), l).unwrap()))
                })
                .collect(),
            pod_cidrs: c
                .iter()
                .enumerate()
                .filter_map(|(i, k)| k.map(|k| (i, Ipv4Net::new([100, 64 + k, 0, 0].into(), 16).unwrap())))
                .collect(),
            allocator,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn generated_scenarios_in_random_styles(
        (g, edits) in scenario_gen().prop_flat_map(|g| {
            let e = edits_gen(g.subnets.len(), g.clusters.len());
            (Just(g), e)
        })
    ) {
        let text = g.text();
        check_allocator(&text, &edits);
    }

    /// Whatever the text, rewriting returns an error or a text that reads as asked
    /// (which `rewrite` checks itself), and never panics.
    #[test]
    fn no_input_panics(
        cuts in proptest::collection::vec((0usize..2000, proptest::sample::select(TOKENS.to_vec())), 0..4),
        edits in edits_gen(3, 3),
    ) {
        let mut text = FLOW.replace("nodes", "s0").replace("pods", "s1").replace("'10.2.0.0/16'", "'10.2.0.0/16', s2: 10.3.0.0/16");
        for (at, token) in cuts {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, token);
        }
        if let Ok(out) = rewrite(&text, &edits) {
            prop_assert!(rewrite(&out, &Edits::default()).is_ok(), "the output does not read:\n{}", out);
        }
    }
}

const TOKENS: &[&str] = &[
    "",
    " ",
    "\n",
    "\r\n",
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
    "~",
    "null",
    "pod_cidr: ",
    "allocator: kubenet",
    "10.0.0.0/8",
    "|\n",
    ">-\n ",
    "? ",
    "\u{85}",
    "\u{2028}",
    "ü",
];
