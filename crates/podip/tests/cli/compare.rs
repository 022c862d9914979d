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
                assert_eq!(names, ["nodes", "pods"]);
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

// ---------------------------------------------------------------- in a browser

/// What a headless Chromium saw of a page.
#[derive(Debug)]
pub(super) struct Rendered {
    /// Console messages and uncaught errors, from Chromium's log.
    pub(super) console: Vec<String>,
    width: u32,
    height: u32,
    /// RGB pixels of the screenshot, row by row.
    rgb: Vec<[u8; 3]>,
}

impl Rendered {
    pub(super) fn colours(&self) -> BTreeSet<[u8; 3]> {
        self.rgb.iter().copied().collect()
    }

    /// Pixels within a small distance of `colour` (anti-aliasing blurs edges).
    pub(super) fn pixels_near(&self, colour: [u8; 3]) -> usize {
        let near = |p: &[u8; 3]| p.iter().zip(colour).all(|(&a, b)| a.abs_diff(b) <= 24);
        self.rgb.iter().filter(|p| near(p)).count()
    }
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("chromium")).find(|p| p.is_file())
}

/// Load `page` from a file:// URL in a fresh headless Chromium, log its
/// console to stderr and take a screenshot of the window.
pub(super) fn render(browser: &Path, page: &Path, name: &str) -> Rendered {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser").join(name);
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).unwrap();
    let shot = scratch.join("screenshot.png");
    let (width, height) = (1280u32, 3600u32);
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", scratch.join("profile").display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(&url)
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(scratch.join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish loading {url} in 90 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let log = fs::read_to_string(scratch.join("stderr.log")).unwrap();
    assert!(status.success(), "chromium failed on {url}: {status}\n{log}");
    // Console lines look like `[…:INFO:CONSOLE:12] "message", source: file:///… (12)`,
    // whatever the message's level; uncaught exceptions come as `"Uncaught …"`.
    let console = log.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).map(String::from).collect();

    let decoder = png::Decoder::new(std::io::BufReader::new(fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{url}");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("screenshot of {url} is {other:?}"),
    };
    let rgb = buffer[..info.buffer_size()].chunks_exact(channels).map(|p| [p[0], p[1], p[2]]).collect();
    Rendered { console, width: info.width, height: info.height, rgb }
}

/// Chromium, or `None` (with a note) when it is missing and not required.
pub(super) fn browser_or_skip() -> Option<PathBuf> {
    let browser = chromium();
    if browser.is_none() {
        assert!(
            std::env::var("PODIP_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "PODIP_REQUIRE_BROWSER=1 but no `chromium` on PATH (apt-get install chromium)"
        );
        eprintln!("skipped: no `chromium` on PATH, so report.html was not opened in a browser");
    }
    browser
}

#[test]
fn report_html_renders_in_a_browser_without_console_errors() {
    let Some(browser) = browser_or_skip() else { return };
    let compared = compared();
    let page = render(&browser, &compared.out.join("report.html"), "report");
    assert!(page.console.is_empty(), "report.html logged to the console:\n{}", page.console.join("\n"));
    assert_eq!((page.width, page.height), (1280, 3600));
    let colours = page.colours();
    assert!(colours.len() > 50, "the screenshot is blank or nearly ({} colours)", colours.len());
    let white = page.pixels_near([255, 255, 255]);
    assert!(white < page.rgb.len() * 99 / 100, "the screenshot is almost all white");
    // The verdicts (green `fits`, red `exhausts`) and the charts' first two
    // allocators' lines (tab10 blue and orange) are on screen.
    for (what, colour) in [
        ("fits", [0x1a, 0x7f, 0x37]),
        ("exhausts", [0xc6, 0x28, 0x28]),
        ("dynamic's lines", [0x1f, 0x77, 0xb4]),
        ("kubenet's lines", [0xff, 0x7f, 0x0e]),
    ] {
        assert!(page.pixels_near(colour) > 20, "no {what} colour in the screenshot");
    }
}

/// The browser check can fail: a page that logs and throws is caught, and a
/// blank page is seen as blank.
#[test]
fn the_browser_check_sees_console_errors_and_blank_pages() {
    let Some(browser) = browser_or_skip() else { return };
    let dir = workdir("browser-controls");
    let noisy = dir.join("noisy.html");
    fs::write(
        &noisy,
        "<!DOCTYPE html><html><body><p>text</p><script>console.error('deliberate');\
         throw new Error('deliberate uncaught');</script></body></html>",
    )
    .unwrap();
    let page = render(&browser, &noisy, "noisy");
    assert!(page.console.iter().any(|l| l.contains("deliberate")), "{:?}", page.console);
    assert!(page.console.iter().any(|l| l.contains("Uncaught")), "{:?}", page.console);

    let blank = dir.join("blank.html");
    fs::write(&blank, "<!DOCTYPE html><html><body style=\"background:#fff\"></body></html>").unwrap();
    let page = render(&browser, &blank, "blank");
    assert!(page.console.is_empty(), "{:?}", page.console);
    assert_eq!(page.colours().len(), 1, "a blank page should be one colour");
}

// ---------------------------------------------------------------- the README's picture

/// The README shows a chart of a bundled comparison and the command that
/// draws it: the committed picture is what that command draws today.
#[test]
fn the_readme_picture_is_what_its_command_draws() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let picture = "docs/img/growth-compare-nodes.svg";
    assert!(readme.contains(&format!("]({picture})")), "the README no longer shows {picture}");
    assert!(readme.contains("--allocators node-subnet,dynamic,static-block,kubenet,overlay --out out/growth-compare"));
    assert!(readme.contains(&format!("cp out/growth-compare/range-nodes.svg {picture}")));

    let dir = workdir("readme");
    let scenario = root.join("scenarios/growth-compare.yaml");
    let out = dir.join("out");
    let allocators = "node-subnet,dynamic,static-block,kubenet,overlay";
    podip(&["compare", scenario.to_str().unwrap(), "--allocators", allocators, "--out", out.to_str().unwrap()]);
    let drawn = fs::read(out.join("range-nodes.svg")).unwrap();
    let committed = fs::read(root.join(picture)).unwrap();
    assert!(drawn == committed, "{picture} is stale: regenerate it with the command in the README");
}
