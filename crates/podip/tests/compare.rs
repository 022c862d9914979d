//! `podip compare` end to end: parallel replays give what sequential runs give,
//! the printed table agrees with the CSV files, the SVG charts on disk hold
//! the CSV data, and report.html is self-contained with links that resolve.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use roxmltree::{Document, Node};

const ALLOCATORS: [&str; 5] = ["node-subnet", "dynamic", "static-block", "kubenet", "overlay"];

/// Three days of growth, small enough for a debug build: node-subnet runs out
/// of its node subnet at once, static-block out of /28 blocks and dynamic out
/// of pod IPs when the deployment grows at day 1; kubenet and overlay fill
/// their /20 pod CIDR exactly at the upgrade's surge. Every allocator logs
/// events, so every column of the table and every kind of chart is exercised.
const SCENARIO: &str = "\
name: small growth for compare tests
seed: 7
duration: 3d
sample_every: 1h
allocator: dynamic
network:
  address_space: [10.70.0.0/16]
  subnets: {nodes: 10.70.0.0/25, pods: 10.70.2.0/24}
clusters:
  - name: prod
    max_pods: 30
    pod_cidr: 10.244.0.0/20
    node_pools:
      - {name: system, count: 1, vnet_subnet: nodes, pod_subnet: pods}
      - {name: user, count: 3, vnet_subnet: nodes, pod_subnet: pods, max_surge: 1,
         autoscale: {min: 3, max: 14}}
workloads:
  - {name: dns, cluster: prod, kind: daemonset}
  - {name: web, cluster: prod, pool: user, kind: deployment, replicas: 60}
  - {name: jobs, cluster: prod, pool: user, kind: churn, arrivals_per_hour: 200,
     lifetime: {exponential: 10m}}
events:
  - {at: 1d, scale_workload: {name: web, replicas: 330}}
  - {at: 2d, upgrade_pool: {cluster: prod, pool: user}}
";

/// A fresh folder for one test, holding the scenario as `scenario.yaml`.
fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compare-tests").join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("scenario.yaml"), SCENARIO).unwrap();
    dir
}

fn podip(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_podip")).args(args).output().unwrap();
    assert!(output.status.success(), "podip {args:?}: {}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    output
}

fn compare(dir: &Path, out: &str, extra: &[&str]) -> String {
    let scenario = dir.join("scenario.yaml");
    let out = dir.join(out);
    let mut args = vec!["compare", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let allocators = ALLOCATORS.join(",");
    args.extend(["--allocators", &allocators]);
    args.extend(extra);
    String::from_utf8(podip(&args).stdout).unwrap()
}

/// One compare with charts, shared by the tests that only read its outputs.
struct Compared {
    out: PathBuf,
    stdout: String,
}

fn compared() -> &'static Compared {
    static COMPARED: OnceLock<Compared> = OnceLock::new();
    COMPARED.get_or_init(|| {
        let dir = workdir("shared");
        let stdout = compare(&dir, "out", &[]);
        Compared { out: dir.join("out"), stdout }
    })
}

#[derive(Debug, Clone, PartialEq)]
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> Self {
        let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let header = reader.headers().unwrap().iter().map(str::to_string).collect();
        let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
        Self { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
    }

    fn rows_where(&self, column: &str, value: &str) -> Vec<&Vec<String>> {
        let c = self.col(column);
        self.rows.iter().filter(|r| r[c] == value).collect()
    }
}

// ---------------------------------------------------------------- parallel = sequential

#[test]
fn compare_gives_each_allocator_exactly_what_a_run_of_it_gives() {
    let dir = workdir("sequential");
    compare(&dir, "compare", &["--no-charts"]);
    for allocator in ALLOCATORS {
        let scenario = dir.join("scenario.yaml");
        let out = dir.join(allocator);
        let args = ["run", scenario.to_str().unwrap(), "--allocator", allocator, "--out", out.to_str().unwrap()];
        podip(&[&args[..], &["--no-charts"]].concat());
        for file in ["utilization.csv", "cluster.csv", "events.csv", "summary.csv"] {
            let together = Csv::read(&dir.join("compare").join(file));
            let alone = Csv::read(&out.join(file));
            assert_eq!(together.header, alone.header, "{file}");
            assert!(!alone.rows.is_empty() || file == "events.csv", "{allocator} {file} is empty");
            let mine: Vec<_> = together.rows_where("allocator", allocator).into_iter().cloned().collect();
            assert_eq!(mine, alone.rows, "{allocator}: {file} of compare differs from a run alone");
        }
    }
    // Every allocator has rows in every file, so none was quietly dropped.
    let summary = Csv::read(&dir.join("compare/summary.csv"));
    let mut names: Vec<_> = summary.rows.iter().map(|r| r[0].as_str()).collect();
    names.sort_unstable();
    let mut want = ALLOCATORS;
    want.sort_unstable();
    assert_eq!(names, want);
}

#[test]
fn compare_twice_writes_byte_identical_files() {
    let dir = workdir("twice");
    let first_table = compare(&dir, "a", &[]);
    let second_table = compare(&dir, "b", &[]);
    assert_eq!(first_table, second_table);
    let files = |out: &str| {
        let mut names: Vec<_> = fs::read_dir(dir.join(out)).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        names
    };
    assert_eq!(files("a"), files("b"));
    assert!(files("a").iter().any(|f| f.to_string_lossy().ends_with(".svg")));
    for name in files("a") {
        let (a, b) = (fs::read(dir.join("a").join(&name)).unwrap(), fs::read(dir.join("b").join(&name)).unwrap());
        assert!(a == b, "{} differs between two identical compares", name.to_string_lossy());
    }
}

// ---------------------------------------------------------------- the table

/// The printed table as (label, cells) rows: columns are separated by two
/// or more spaces, cells hold at most single spaces.
fn table_rows(stdout: &str) -> Vec<(String, Vec<String>)> {
    stdout
        .lines()
        .take_while(|l| !l.starts_with("times:"))
        .map(|line| {
            let mut parts = line.split("  ").map(str::trim).filter(|p| !p.is_empty()).map(str::to_string);
            let label = parts.next().unwrap();
            (label, parts.collect())
        })
        .collect()
}

fn row<'a>(rows: &'a [(String, Vec<String>)], label: &str) -> &'a [String] {
    &rows.iter().find(|(l, _)| l == label).unwrap_or_else(|| panic!("no row {label:?} in the table")).1
}

/// `3d 04:00` or `0d 00:12:20` back to seconds.
fn seconds(text: &str) -> u64 {
    let (days, clock) = text.split_once("d ").unwrap_or_else(|| panic!("not a time: {text:?}"));
    let parts: Vec<u64> = clock.split(':').map(|p| p.parse().unwrap()).collect();
    assert!(parts.len() == 2 || parts.len() == 3, "{text:?}");
    days.parse::<u64>().unwrap() * 86_400 + parts[0] * 3600 + parts[1] * 60 + parts.get(2).copied().unwrap_or(0)
}

fn optional_seconds(text: &str) -> Option<u64> {
    (text != "-").then(|| seconds(text))
}

#[test]
fn the_table_agrees_with_summary_and_events_csv() {
    let compared = compared();
    let rows = table_rows(&compared.stdout);
    let summary = Csv::read(&compared.out.join("summary.csv"));
    let events = Csv::read(&compared.out.join("events.csv"));
    let allocators = row(&rows, "allocator");
    let want: Vec<_> = summary.rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(allocators, want, "one column per allocator, in summary.csv order");

    let mut verdicts = BTreeSet::new();
    for (c, allocator) in allocators.iter().enumerate() {
        let s = &summary.rows_where("allocator", allocator)[0];
        let field = |name: &str| s[summary.col(name)].as_str();
        let exhaustion_events: u64 = field("exhaustion_events").parse().unwrap();
        let verdict = row(&rows, "verdict")[c].as_str();
        assert_eq!(verdict, if exhaustion_events > 0 { "exhausts" } else { "fits" }, "{allocator}");
        verdicts.insert(verdict);
        assert_eq!(row(&rows, "peak allocated")[c], field("peak_allocated"));
        let pct: f64 = field("peak_allocated_pct").parse().unwrap();
        assert_eq!(row(&rows, "of busiest range")[c], format!("{pct:.1}% of {}", field("busiest_range")));
        assert_eq!(row(&rows, "exhaustion events")[c], field("exhaustion_events"));
        assert_eq!(row(&rows, "nodes not created")[c], field("nodes_failed"));
        assert_eq!(row(&rows, "max pods waiting for ip")[c], field("max_pods_waiting_ip"));
        let efficiency: f64 = field("ip_efficiency_pct").parse().unwrap();
        assert_eq!(row(&rows, "ip efficiency")[c], format!("{efficiency:.1}%"));

        // The first exhaustion: summary.csv's time, and the kind of the first such row of events.csv.
        let first = optional_seconds(&row(&rows, "first exhaustion")[c]);
        assert_eq!(first, field("first_exhaustion_s").parse().ok(), "{allocator}");
        let kind = events
            .rows_where("allocator", allocator)
            .into_iter()
            .find(|e| e[events.col("kind")] != "pod-unschedulable")
            .map(|e| e[events.col("kind")].clone());
        assert_eq!(Some(row(&rows, "kind")[c].clone()).filter(|k| k != "-"), kind, "{allocator}");
    }
    assert_eq!(verdicts.len(), 2, "the scenario should make some allocators fit and some exhaust");
}

/// Each range's 80 % / 100 % times are exact: no sample before them shows the
/// level, and the first sample that does is not before them. The earliest over
/// VNet subnets is summary.csv's `first_80_pct_s` / `first_100_pct_s`.
#[test]
fn the_tables_range_crossings_agree_with_the_samples() {
    let compared = compared();
    let rows = table_rows(&compared.stdout);
    let utilization = Csv::read(&compared.out.join("utilization.csv"));
    let summary = Csv::read(&compared.out.join("summary.csv"));
    let ranges: BTreeSet<String> = utilization.rows.iter().map(|r| r[utilization.col("range")].clone()).collect();
    let mut crossings_seen = 0;
    for (c, allocator) in row(&rows, "allocator").iter().enumerate() {
        let mut earliest_vnet = [None::<u64>; 2];
        for range in &ranges {
            let samples: Vec<(u64, u64, u64)> = utilization
                .rows_where("allocator", allocator)
                .into_iter()
                .filter(|r| &r[utilization.col("range")] == range)
                .map(|r| {
                    let n = |name: &str| r[utilization.col(name)].parse::<u64>().unwrap();
                    (n("time_s"), n("allocated"), n("usable"))
                })
                .collect();
            for (level, pct) in [(0, 80u64), (1, 100)] {
                let cell = &row(&rows, &format!("{range} {pct}% at"))[c];
                if samples.is_empty() {
                    assert_eq!(cell, "n/a", "{allocator} has no range {range}");
                    continue;
                }
                let shows = |&&(_, allocated, usable): &&(u64, u64, u64)| allocated * 100 >= usable * pct;
                let first_sample = samples.iter().find(shows).map(|s| s.0);
                match optional_seconds(cell) {
                    None => assert_eq!(first_sample, None, "{allocator} {range} {pct}%: a sample shows it"),
                    Some(t) => {
                        crossings_seen += 1;
                        assert!(samples.iter().filter(|s| s.0 < t).all(|s| !shows(&s)), "{allocator} {range} {pct}%");
                        assert!(
                            first_sample.is_none_or(|s| t <= s),
                            "{allocator} {range} {pct}%: {t} > {first_sample:?}"
                        );
                        if !range.ends_with("/pod-cidr") {
                            earliest_vnet[level] = Some(earliest_vnet[level].map_or(t, |e: u64| e.min(t)));
                        }
                    }
                }
            }
        }
        let s = &summary.rows_where("allocator", allocator)[0];
        for (level, column) in [(0, "first_80_pct_s"), (1, "first_100_pct_s")] {
            assert_eq!(earliest_vnet[level], s[summary.col(column)].parse().ok(), "{allocator} {column}");
        }
    }
    assert!(crossings_seen >= 4, "the scenario should cross 80 % and 100 % somewhere");
}

// ---------------------------------------------------------------- charts on disk

fn svg_files(out: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .collect();
    files.sort();
    files
}

fn has_class(node: Node, class: &str) -> bool {
    node.attribute("class") == Some(class)
}

fn pairs(text: &str) -> Vec<(u64, u64)> {
    text.split_whitespace()
        .map(|p| {
            let (t, v) = p.split_once(',').unwrap();
            (t.parse().unwrap(), v.parse().unwrap())
        })
        .collect()
}

fn number(node: Node, name: &str) -> f64 {
    node.attribute(name).unwrap_or_else(|| panic!("no {name}")).parse().unwrap()
}

/// `(allocator, metric)` → that column of the CSV as `(time_s, value)` points.
type CsvSeries<'a> = dyn Fn(&str, &str) -> Vec<(u64, u64)> + 'a;

/// Every series of the chart is the CSV's column for that allocator, whole;
/// the axes cover it (and the ceiling); each allocator that has the range or
/// pool has its lines.
fn check_panel(axes: Node, csv_series: &CsvSeries, allocators: &[&str], what: &str) {
    let (x_max, y_max) = (number(axes, "data-x-max"), number(axes, "data-y-max"));
    assert_eq!((number(axes, "data-x-min"), number(axes, "data-y-min")), (0.0, 0.0), "{what}");
    let mut drawn = BTreeSet::new();
    for line in axes.children().filter(|n| has_class(*n, "series")) {
        let allocator = line.attribute("data-allocator").unwrap();
        let metric = line.attribute("data-metric").unwrap();
        let want = csv_series(allocator, metric);
        let values = pairs(line.attribute("data-values").unwrap());
        assert_eq!(values, want, "{what}: {allocator} {metric}");
        assert_eq!(number(line, "data-samples") as usize, want.len());
        assert_eq!(line.attribute("points").unwrap().split_whitespace().count(), want.len());
        for (t, v) in values {
            assert!(t as f64 <= x_max && v as f64 <= y_max, "{what}: ({t}, {v}) outside the axes");
        }
        drawn.insert(allocator.to_string());
    }
    for ceiling in axes.children().filter(|n| has_class(*n, "ceiling")) {
        assert!(number(ceiling, "data-usable") <= y_max, "{what}: ceiling above the axis");
    }
    let want: BTreeSet<String> = allocators.iter().map(|a| a.to_string()).collect();
    assert_eq!(drawn, want, "{what}: allocators drawn");
}

#[test]
fn every_range_and_pool_has_a_chart_holding_the_csv_data() {
    let compared = compared();
    let utilization = Csv::read(&compared.out.join("utilization.csv"));
    let cluster = Csv::read(&compared.out.join("cluster.csv"));
    let events = Csv::read(&compared.out.join("events.csv"));
    let (mut ranges_charted, mut pools_charted) = (BTreeSet::new(), BTreeSet::new());
    let mut markers_seen = 0;
    for path in svg_files(&compared.out) {
        let text = fs::read_to_string(&path).unwrap();
        let doc = Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let root = doc.root_element();
        let name = root.attribute("data-name").unwrap().to_string();
        let panels: Vec<_> = doc.descendants().filter(|n| has_class(*n, "axes")).collect();
        match root.attribute("data-chart") {
            Some("range") => {
                let col = |n: &str| utilization.col(n);
                let rows: Vec<_> = utilization.rows.iter().filter(|r| r[col("range")] == name).collect();
                let allocators: BTreeSet<&str> = rows.iter().map(|r| r[col("allocator")].as_str()).collect();
                let series = |allocator: &str, metric: &str| {
                    let rows = rows.iter().filter(|r| r[col("allocator")] == allocator);
                    rows.map(|r| (r[col("time_s")].parse().unwrap(), r[col(metric)].parse().unwrap())).collect()
                };
                assert_eq!(panels.len(), 1);
                check_panel(panels[0], &series, &allocators.iter().copied().collect::<Vec<_>>(), &name);
                for ceiling in panels[0].children().filter(|n| has_class(*n, "ceiling")) {
                    let allocator = ceiling.attribute("data-allocator").unwrap();
                    let usable = rows.iter().find(|r| r[col("allocator")] == allocator).unwrap()[col("usable")].clone();
                    assert_eq!(ceiling.attribute("data-usable"), Some(usable.as_str()), "{name} {allocator}");
                }
                // Markers stand for exactly the exhaustion events logged against this range.
                let logged = |allocator: &str| {
                    let rows = events.rows_where("allocator", allocator).into_iter();
                    rows.filter(|e| e[events.col("range")] == name && e[events.col("kind")] != "pod-unschedulable")
                        .count()
                };
                for allocator in &allocators {
                    let marked: f64 = panels[0]
                        .children()
                        .filter(|n| has_class(*n, "marker") && n.attribute("data-allocator") == Some(allocator))
                        .map(|n| number(n, "data-count"))
                        .sum();
                    assert_eq!(marked as usize, logged(allocator), "{name}: {allocator}'s markers");
                    markers_seen += marked as usize;
                }
                ranges_charted.insert(name);
            }
            Some("pool") => {
                let (cluster_name, pool) = name.split_once('/').unwrap();
                let col = |n: &str| cluster.col(n);
                let rows: Vec<_> = cluster
                    .rows
                    .iter()
                    .filter(|r| r[col("cluster")] == cluster_name && r[col("pool")] == pool)
                    .collect();
                let allocators: Vec<&str> =
                    rows.iter().map(|r| r[col("allocator")].as_str()).collect::<BTreeSet<_>>().into_iter().collect();
                let series = |allocator: &str, metric: &str| {
                    let rows = rows.iter().filter(|r| r[col("allocator")] == allocator);
                    rows.map(|r| (r[col("time_s")].parse().unwrap(), r[col(metric)].parse().unwrap())).collect()
                };
                let names: Vec<_> = panels.iter().map(|p| p.attribute("data-panel").unwrap()).collect();
                assert_eq!(names, ["nodes", "pods_running"]);
                for panel in panels {
                    check_panel(panel, &series, &allocators, &name);
                }
                pools_charted.insert(name);
            }
            other => panic!("{}: data-chart={other:?}", path.display()),
        }
    }
    let ranges: BTreeSet<String> = utilization.rows.iter().map(|r| r[utilization.col("range")].clone()).collect();
    assert_eq!(ranges_charted, ranges);
    let pools: BTreeSet<String> =
        cluster.rows.iter().map(|r| format!("{}/{}", r[cluster.col("cluster")], r[cluster.col("pool")])).collect();
    assert_eq!(pools_charted, pools);
    assert!(markers_seen > 0, "the scenario should mark exhaustion events");
}

#[test]
fn run_writes_charts_too_and_no_charts_writes_none() {
    let dir = workdir("run-charts");
    let scenario = dir.join("scenario.yaml");
    let (with, without) = (dir.join("with"), dir.join("without"));
    podip(&["run", scenario.to_str().unwrap(), "--allocator", "kubenet", "--out", with.to_str().unwrap()]);
    let args = ["run", scenario.to_str().unwrap(), "--out", without.to_str().unwrap(), "--no-charts"];
    podip(&args);
    let charts: Vec<_> =
        svg_files(&with).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(
        charts,
        ["pool-prod-system.svg", "pool-prod-user.svg", "range-nodes.svg", "range-pods.svg", "range-prod-pod-cidr.svg"]
    );
    assert!(with.join("report.html").is_file());
    assert!(svg_files(&without).is_empty());
    assert!(!without.join("report.html").exists());
    assert!(without.join("summary.csv").is_file());
}

// ---------------------------------------------------------------- report.html

#[test]
fn report_html_is_well_formed_self_contained_and_its_links_exist() {
    let compared = compared();
    let html = fs::read_to_string(compared.out.join("report.html")).unwrap();
    let body = html.strip_prefix("<!DOCTYPE html>").expect("starts with the HTML5 doctype");
    let doc = Document::parse(body).unwrap_or_else(|e| panic!("report.html is not well-formed: {e}"));
    assert_eq!(doc.root_element().tag_name().name(), "html");
    let mut links = 0;
    for node in doc.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name().name();
        assert!(!["script", "link", "img", "iframe", "object", "embed", "image", "use"].contains(&tag), "<{tag}>");
        for attribute in node.attributes() {
            let value = attribute.value();
            assert!(!value.contains("url("), "{}={value}", attribute.name());
            if attribute.name() == "xmlns" {
                continue;
            }
            assert!(!value.contains("://"), "{}={value}", attribute.name());
            if ["href", "src", "xlink:href"].contains(&attribute.name()) {
                links += 1;
                if let Some(anchor) = value.strip_prefix('#') {
                    assert!(doc.descendants().any(|n| n.attribute("id") == Some(anchor)), "no #{anchor}");
                    continue;
                }
                assert!(!value.starts_with('/') && !value.contains(".."), "{value}");
                assert!(compared.out.join(value).is_file(), "report.html links to {value}, which is not there");
            }
        }
    }
    assert!(links >= 4, "report.html should link the CSV files");
    assert!(!html.contains("@import"));

    // Every chart on disk is inlined, and every allocator has a summary row.
    let figures: BTreeSet<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("figure"))
        .filter_map(|n| n.attribute("id"))
        .map(String::from)
        .collect();
    let files: BTreeSet<String> =
        svg_files(&compared.out).iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(figures, files);
    let summary_rows = doc
        .descendants()
        .find(|n| n.has_tag_name("table") && has_class(*n, "summary"))
        .unwrap()
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .count();
    assert_eq!(summary_rows, 1 + ALLOCATORS.len(), "a header row and one row per allocator");
}
