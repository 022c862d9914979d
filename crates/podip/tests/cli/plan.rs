//! `podip plan` end to end (plan.md): the files it writes, its exit statuses,
//! byte-identical results for any `--jobs`, planned scenarios that `podip run`
//! replays clean (and one bit less that exhaust), the table against plan.csv,
//! report.html in a browser, and the README's example.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::compare::{browser_or_skip, render};
use super::output::{names, podip, scratch, snapshot, stderr, stdout, write};

/// A day of a small autoscaled cluster with churn, a scale-up and an upgrade,
/// in a /27 node subnet and a /25 pod subnet: too small for some allocators.
const DAY: &str = "\
# a day to plan
name: cli plan
seed: 3
duration: 1d
sample_every: 1h
allocator: dynamic
network: {address_space: [10.30.0.0/16], subnets: {nodes: 10.30.0.0/27, pods: 10.30.1.0/25}}
clusters:
  - name: c
    max_pods: 30
    service_cidr: 192.168.0.0/16
    node_pools:
      - {name: p, count: 3, vnet_subnet: nodes, pod_subnet: pods, max_surge: 1, autoscale: {min: 3, max: 12}}
workloads:
  - {name: web, cluster: c, kind: deployment, replicas: 60}
  - {name: jobs, cluster: c, kind: churn, arrivals_per_hour: 300, lifetime: {exponential: 15m}}
events:
  - {at: 6h, scale_workload: {name: web, replicas: 200}}
  - {at: 12h, upgrade_pool: {cluster: c, pool: p}}
";

const ALLOCATORS: &str = "node-subnet,dynamic,static-block,kubenet,overlay";

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// plan.csv's rows as column → value maps.
fn plan_csv(out: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(out.join("plan.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(String::from)).collect()).collect()
}

/// The kinds of `events.csv` a larger range would have avoided (plan.md).
fn size_dependent_kinds(out: &Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(out.join("events.csv")).unwrap();
    reader
        .records()
        .map(|r| r.unwrap()[2].to_string())
        .filter(|k| !["pod-unschedulable", "route-table-full"].contains(&k.as_str()))
        .collect()
}

#[test]
fn plan_writes_its_files_and_the_planned_scenario_replays_clean() {
    let dir = scratch("plan-upgrade");
    let scenario = root().join("scenarios/upgrade-blocked.yaml");
    let out = dir.join("out");
    let o = podip(&[&"plan", &scenario, &"--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        names(&out),
        [".podip-out", "plan-breakdown.csv", "plan.csv", "planned-node-subnet.yaml", "report.html"]
    );
    // AKS's rule: (8 nodes + 1 surge) × (1 + max_pods 30) = 279 → /23.
    let rows = plan_csv(&out);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    for (column, value) in [
        ("allocator", "node-subnet"),
        ("range", "nodes"),
        ("kind", "vnet-subnet"),
        ("current_prefix", "10.10.0.0/24"),
        ("current_capacity", "251"),
        ("seeds", "1"),
        ("peak_max", "279"),
        ("required", "279"),
        ("smallest_prefix", "/23"),
        ("proposed_prefix", "10.10.0.0/23"),
        ("verdict", "too-small"),
        ("peak_time_s", "172800"),
        ("exhausted_seeds", "1"),
        ("first_exhaustion_p50_s", "172800"),
    ] {
        assert_eq!(row[column], value, "{column}");
    }
    // The breakdown adds up to what the prefix must hold: 9 × 31 + 5.
    let mut reader = csv::Reader::from_path(out.join("plan-breakdown.csv")).unwrap();
    let addresses: u64 = reader.records().map(|r| r.unwrap()[7].parse::<u64>().unwrap()).sum();
    assert_eq!(addresses, 284);

    // The planned file is the original with only the subnet's prefix changed.
    let original = fs::read_to_string(&scenario).unwrap();
    let planned = fs::read_to_string(out.join("planned-node-subnet.yaml")).unwrap();
    let changed: Vec<(&str, &str)> = original.lines().zip(planned.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(changed, [("  subnets: {nodes: 10.10.0.0/24}", "  subnets: {nodes: 10.10.0.0/23}")]);
    assert_eq!(original.lines().count(), planned.lines().count());

    // It replays with no exhaustion at all; one bit smaller, the upgrade is blocked again.
    let replay = dir.join("replay");
    let o = podip(&[&"run", &out.join("planned-node-subnet.yaml"), &"--out", &replay, &"--fail-on-exhaustion"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let smaller = write(&dir, "smaller.yaml", &planned.replace("10.10.0.0/23", "10.10.0.0/24"));
    let o = podip(&[&"run", &smaller, &"--out", &dir.join("smaller"), &"--fail-on-exhaustion"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(size_dependent_kinds(&dir.join("smaller")).contains(&"upgrade-blocked".to_string()));
}

#[test]
fn every_allocator_s_planned_scenario_replays_with_no_size_dependent_exhaustion() {
    let dir = scratch("plan-every");
    let scenario = write(&dir, "day.yaml", DAY);
    let out = dir.join("out");
    let o = podip(&[&"plan", &scenario, &"--allocators", &ALLOCATORS, &"--seeds", &"3", &"--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = plan_csv(&out);
    for allocator in ALLOCATORS.split(',') {
        let planned = out.join(format!("planned-{allocator}.yaml"));
        for seed in ["3", "4", "5"] {
            let replay = dir.join(format!("{allocator}-{seed}"));
            // No --allocator: the planned file names its own.
            let o = podip(&[&"run", &planned, &"--seed", &seed, &"--out", &replay, &"--no-charts"]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            let summary = fs::read_to_string(replay.join("summary.csv")).unwrap();
            assert!(summary.lines().nth(1).unwrap().starts_with(&format!("{allocator},")), "{summary}");
            assert_eq!(size_dependent_kinds(&replay), Vec::<String>::new(), "{allocator} seed {seed}");
        }
        // Each range's proposed prefix is what the planned file says.
        let text = fs::read_to_string(&planned).unwrap();
        for row in rows.iter().filter(|r| r["allocator"] == allocator) {
            assert!(text.contains(&row["proposed_prefix"]) || row["range"].ends_with("/pod-cidr"), "{row:?}");
        }
    }
    // The node subnet as written is too small for node-subnet's reservations.
    let node_subnet = rows.iter().find(|r| r["allocator"] == "node-subnet" && r["range"] == "nodes").unwrap();
    assert_eq!(node_subnet["verdict"], "too-small");
    assert_eq!(node_subnet["exhausted_seeds"], "3");
}

#[test]
fn results_are_byte_identical_for_any_number_of_jobs_and_on_reruns() {
    let dir = scratch("plan-jobs");
    let scenario = write(&dir, "day.yaml", DAY);
    let mut outputs = Vec::new();
    for (name, jobs) in [("one", "1"), ("two", "2"), ("five", "5"), ("again", "2")] {
        let out = dir.join(name);
        let o = podip(&[
            &"plan",
            &scenario,
            &"--allocators",
            &ALLOCATORS,
            &"--seeds",
            &"3",
            &"--jobs",
            &jobs,
            &"--out",
            &out,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        outputs.push((stdout(&o), snapshot(&out)));
    }
    for (stdout, files) in &outputs[1..] {
        assert!(*stdout == outputs[0].0, "the table differs");
        assert!(*files == outputs[0].1, "the files differ");
    }
}

#[test]
fn exit_statuses_follow_the_contract() {
    let dir = scratch("plan-exit");
    let scenario = write(&dir, "day.yaml", DAY);
    let status = |args: &[&dyn AsRef<std::ffi::OsStr>]| {
        let o = podip(args);
        (o.status.code(), stderr(&o))
    };
    // Too small as written: 0, or 1 with --fail-on-too-small (files written either way).
    let (code, err) = status(&[&"plan", &scenario, &"--allocators", &"node-subnet", &"--out", &dir.join("a")]);
    assert_eq!(code, Some(0), "{err}");
    let out = dir.join("b");
    let (code, err) =
        status(&[&"plan", &scenario, &"--allocators", &"node-subnet", &"--fail-on-too-small", &"--out", &out]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.join("plan.csv").exists());
    // Large enough as written: 0 even with the flag.
    let roomy =
        write(&dir, "roomy.yaml", &DAY.replace("10.30.0.0/27", "10.30.0.0/24").replace("10.30.1.0/25", "10.30.4.0/22"));
    let (code, err) = status(&[&"plan", &roomy, &"--fail-on-too-small", &"--out", &dir.join("c")]);
    assert_eq!(code, Some(0), "{err}");

    // Bad input and bad options: 2, and nothing written.
    let bad = write(&dir, "bad.yaml", &DAY.replace("sample_every: 1h", "sample_every: 1h\nsamples: 3"));
    for (args, says) in [
        (vec![bad.to_str().unwrap()], "unknown key `samples`"),
        (vec![scenario.to_str().unwrap(), "--percentile", "0"], "--percentile"),
        (vec![scenario.to_str().unwrap(), "--percentile", "101"], "--percentile"),
        (vec![scenario.to_str().unwrap(), "--headroom", "ten"], "--headroom"),
        (vec![scenario.to_str().unwrap(), "--headroom", "1.234"], "--headroom"),
        (vec![scenario.to_str().unwrap(), "--seeds", "0"], "--seeds"),
        (vec![scenario.to_str().unwrap(), "--jobs", "0"], "--jobs"),
        (vec![scenario.to_str().unwrap(), "--allocators", "flannel"], "unknown allocator"),
        (vec![scenario.to_str().unwrap(), "--max-events", "1000"], "too large to run"),
    ] {
        let out = dir.join("bad-out");
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"plan"];
        all.extend(args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        all.extend([&"--out" as &dyn AsRef<std::ffi::OsStr>, &out]);
        let (code, err) = status(&all);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?} should say {says:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    // An earlier plan is not replaced without --force.
    let (code, err) = status(&[&"plan", &scenario, &"--out", &dir.join("c")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--force"), "{err}");
}

/// The printed table's cells agree with plan.csv: the arrow from the current
/// prefix to the smallest one, the requirement, the proposal and verdict.
#[test]
fn the_table_agrees_with_plan_csv() {
    let dir = scratch("plan-table");
    let scenario = write(&dir, "day.yaml", DAY);
    let out = dir.join("out");
    let o = podip(&[&"plan", &scenario, &"--allocators", &ALLOCATORS, &"--seeds", &"2", &"--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    let lines: Vec<&str> = table.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().skip(1).collect();
    assert_eq!(header, ALLOCATORS.split(',').collect::<Vec<_>>());
    // Columns start where the header's names start.
    let starts: Vec<usize> = header.iter().map(|a| lines[0].find(a).unwrap()).collect();
    let cell = |line: &str, column: usize| -> String {
        let end = starts.get(column + 1).copied().unwrap_or(line.len()).min(line.len());
        line.get(starts[column]..end).unwrap_or("").trim().to_string()
    };
    let thousands = |n: &str| plan::thousands(n.parse().unwrap());
    for row in plan_csv(&out) {
        let column = header.iter().position(|a| *a == row["allocator"]).unwrap();
        let at = lines.iter().position(|l| l.split_whitespace().next() == Some(row["range"].as_str())).unwrap();
        assert_eq!(cell(lines[at], column), format!("{} → {}", row["current_prefix"], row["smallest_prefix"]));
        assert_eq!(cell(lines[at + 1], column), thousands(&row["required"]), "{row:?}");
        assert_eq!(cell(lines[at + 3], column), format!("{} ({})", row["proposed_prefix"], row["verdict"]), "{row:?}");
        assert_eq!(cell(lines[at + 4], column), thousands(&row["current_capacity"]), "{row:?}");
        // The why line carries plan.csv's breakdown.
        let why = format!("  {} {}: {}", row["allocator"], row["range"], row["breakdown"]);
        assert!(table.contains(&why), "no {why:?} in\n{table}");
    }
}

#[test]
fn report_html_is_well_formed_and_renders_in_a_browser() {
    let dir = scratch("plan-report");
    let scenario = write(&dir, "day.yaml", DAY);
    let out = dir.join("out");
    let o = podip(&[&"plan", &scenario, &"--allocators", &ALLOCATORS, &"--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    let body = html.strip_prefix("<!DOCTYPE html>").expect("starts with the HTML5 doctype");
    let doc = roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("report.html is not well-formed: {e}"));
    let hrefs: Vec<&str> = doc.descendants().filter_map(|n| n.attribute("href")).collect();
    for href in &hrefs {
        assert!(out.join(href).is_file(), "report.html links to {href}, which is not in the folder");
    }
    assert!(hrefs.contains(&"plan.csv"));
    assert!(!html.contains("<script") && !html.contains("://"), "not self-contained");

    let Some(browser) = browser_or_skip() else { return };
    let page = render(&browser, &out.join("report.html"), "plan-report");
    assert!(page.console.is_empty(), "report.html logged to the console:\n{}", page.console.join("\n"));
    assert!(page.colours().len() > 20, "the screenshot is blank or nearly");
    // A too-small verdict (red) and a fits one (green) are on screen.
    assert!(page.pixels_near([0xc6, 0x28, 0x28]) > 20, "no red");
    assert!(page.pixels_near([0x1a, 0x7f, 0x37]) > 20, "no green");
}

/// The README's "Plan" section shows a command and what it prints: it is what
/// that command prints today.
#[test]
fn the_readme_plan_example_is_what_podip_prints() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme.split("\n## Plan\n").nth(1).expect("the README has a Plan section");
    let command = "podip plan scenarios/growth-compare.yaml --allocators node-subnet,dynamic --seeds 4";
    assert!(section.contains(command), "the Plan section no longer shows `{command}`");
    let shown = section.split("```text\n").nth(1).and_then(|s| s.split("```").next()).expect("a ```text block");
    let dir = scratch("plan-readme");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_podip"));
    let args = command.split_whitespace().skip(1);
    cmd.current_dir(root()).args(args).arg("--out").arg(dir.join("out"));
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o) == shown, "the README's example is stale; it prints:\n{}", stdout(&o));
}
