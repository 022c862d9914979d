//! Charts contain the data they claim, and `report.html` is well formed,
//! escaped and self-contained.

use allocator::FailureKind;
use cluster::{EventKind, EventRecord, PoolInfo, PoolSample, RangeInfo, RangeSample, RangeSummary, Replay, Summary};
use report::{CSV_FILES, Chart, EVENTS_SHOWN, charts, human_time, report_html};
use roxmltree::{Document, Node};

const HOUR: u64 = 3600;
const DAY: u64 = 86_400;
/// Sample times of the small replays: every hour from 0 to 4 h.
const TIMES: [u64; 5] = [0, HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR];
const TRICKY: &str = r#"needs <24> & "more" 'room'"#;

// ---------------------------------------------------------------- builders

fn range(name: &str, prefix: &str, is_vnet_subnet: bool) -> RangeInfo {
    RangeInfo { name: name.to_string(), prefix: prefix.parse().unwrap(), is_vnet_subnet, block: None }
}

fn pool(cluster: &str, pool: &str) -> PoolInfo {
    PoolInfo { cluster: cluster.to_string(), pool: pool.to_string() }
}

fn event(time_s: u64, kind: EventKind, pool: &str, range: &str, detail: &str) -> EventRecord {
    EventRecord {
        time_s,
        kind,
        cluster: "c1".to_string(),
        pool: pool.to_string(),
        node: format!("node-{time_s}"),
        range: range.to_string(),
        detail: detail.to_string(),
        cause: None,
    }
}

fn summary(first_exhaustion_s: Option<u64>, exhaustion_events: u64, ip_efficiency_pct: Option<f64>) -> Summary {
    Summary {
        peak_allocated: 200,
        peak_allocated_pct: 79.68,
        busiest_range: Some("pods".to_string()),
        peak_in_use: 150,
        first_exhaustion_s,
        first_80_pct_s: None,
        first_100_pct_s: first_exhaustion_s,
        exhaustion_events,
        nodes_failed: exhaustion_events,
        pod_ip_waits: 3,
        max_pods_waiting_ip: 7,
        ip_efficiency_pct,
        ranges: Vec::new(),
    }
}

/// The per-range summary a replay of these samples would have (here the
/// samples are the only changes of state, so they give the exact figures).
fn with_range_summaries(mut replay: Replay) -> Replay {
    let mut ranges = vec![RangeSummary::default(); replay.ranges.len()];
    for s in &replay.utilization {
        let r = &mut ranges[s.range as usize];
        r.peak_allocated = r.peak_allocated.max(s.allocated);
        r.peak_in_use = r.peak_in_use.max(s.in_use);
        if r.first_80_pct_s.is_none() && s.allocated * 100 >= s.usable * 80 {
            r.first_80_pct_s = Some(s.time_s);
        }
        if r.first_100_pct_s.is_none() && s.allocated >= s.usable {
            r.first_100_pct_s = Some(s.time_s);
        }
    }
    replay.summary.ranges = ranges;
    replay
}

/// `allocated` and `in_use` of range `r` in sample `i`, distinct per allocator.
fn addresses(seed: u64, r: u32, i: usize) -> (u64, u64) {
    let allocated = seed + 10 * u64::from(r) + 40 * i as u64;
    (allocated, allocated / 2 + i as u64)
}

fn samples(ranges: &[RangeInfo], pools: usize, seed: u64) -> (Vec<RangeSample>, Vec<PoolSample>) {
    let mut utilization = Vec::new();
    let mut cluster = Vec::new();
    for (i, &time_s) in TIMES.iter().enumerate() {
        for (r, info) in ranges.iter().enumerate() {
            let usable = if info.is_vnet_subnet { 251 } else { 65_536 };
            let (allocated, in_use) = addresses(seed, r as u32, i);
            utilization.push(RangeSample { time_s, range: r as u32, usable, allocated, in_use, free_blocks_28: 0 });
        }
        for p in 0..pools as u32 {
            let nodes = seed as u32 / 10 + p + i as u32;
            cluster.push(PoolSample {
                time_s,
                pool: p,
                nodes,
                pods_running: u64::from(nodes) * 30,
                pods_waiting_ip: 0,
                pods_unschedulable: 0,
            });
        }
    }
    (utilization, cluster)
}

/// `dynamic` fits. `kubenet` has its own pod CIDR, runs out of it at 2 h
/// (two nodes at once), and has an unschedulable pod at 3 h.
fn two_replays() -> (Replay, Replay) {
    let pools = vec![pool("c1", "p1"), pool("c1", "p2")];
    let ranges = vec![range("nodes", "10.0.0.0/24", true), range("pods", "10.0.1.0/24", true)];
    let (utilization, cluster) = samples(&ranges, pools.len(), 20);
    let dynamic = Replay {
        scenario_name: "test".to_string(),
        allocator: "dynamic".to_string(),
        ranges,
        pools: pools.clone(),
        utilization,
        cluster,
        events: Vec::new(),
        summary: summary(None, 0, Some(62.5)),
        events_processed: 100,
        duration_s: 4 * HOUR,
        breakdowns: Vec::new(),
    };

    let ranges = vec![range("nodes", "10.0.0.0/24", true), range("c1/pod-cidr", "10.244.0.0/16", false)];
    let (utilization, cluster) = samples(&ranges, pools.len(), 30);
    let cidr_full = EventKind::Allocation(FailureKind::sized("pod-cidr-exhausted"));
    let kubenet = Replay {
        scenario_name: "test".to_string(),
        allocator: "kubenet".to_string(),
        ranges,
        pools,
        utilization,
        cluster,
        events: vec![
            event(2 * HOUR - 600, cidr_full, "p1", "c1/pod-cidr", TRICKY),
            event(2 * HOUR - 600, cidr_full, "p1", "c1/pod-cidr", "second node"),
            event(3 * HOUR, EventKind::PodUnschedulable, "p2", "", "no room"),
        ],
        summary: summary(Some(2 * HOUR - 600), 2, None),
        events_processed: 100,
        duration_s: 4 * HOUR,
        breakdowns: Vec::new(),
    };
    (with_range_summaries(dynamic), with_range_summaries(kubenet))
}

fn find<'a>(charts: &'a [Chart], file_name: &str) -> &'a Chart {
    charts.iter().find(|c| c.file_name == file_name).unwrap_or_else(|| panic!("no chart {file_name}"))
}

// ---------------------------------------------------------------- SVG reading

#[derive(Debug)]
struct Axes {
    panel: String,
    x: (f64, f64),
    y: (f64, f64),
    /// left, right, top, bottom in pixels.
    rect: (f64, f64, f64, f64),
    series: Vec<Series>,
    ceilings: Vec<(String, u64, f64)>,
    markers: Vec<Marker>,
}

#[derive(Debug)]
struct Series {
    allocator: String,
    metric: String,
    samples: usize,
    values: Vec<(u64, u64)>,
    pixels: Vec<(f64, f64)>,
    dashed: bool,
}

#[derive(Debug, PartialEq)]
struct Marker {
    allocator: String,
    kind: String,
    time_s: u64,
    last_time_s: u64,
    value: f64,
    count: usize,
}

fn attr<T: std::str::FromStr>(node: Node, name: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    let text = node.attribute(name).unwrap_or_else(|| panic!("no {name} on {node:?}"));
    text.parse().unwrap_or_else(|e| panic!("{name}={text:?}: {e:?}"))
}

fn pairs<T: std::str::FromStr>(text: &str) -> Vec<(T, T)>
where
    T::Err: std::fmt::Debug,
{
    text.split_whitespace()
        .map(|pair| {
            let (a, b) = pair.split_once(',').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect()
}

fn has_class(node: Node, class: &str) -> bool {
    node.attribute("class") == Some(class)
}

fn parse_svg(svg: &str) -> Vec<Axes> {
    let doc = Document::parse(svg).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    doc.descendants()
        .filter(|n| has_class(*n, "axes"))
        .map(|g| Axes {
            panel: attr(g, "data-panel"),
            x: (attr(g, "data-x-min"), attr(g, "data-x-max")),
            y: (attr(g, "data-y-min"), attr(g, "data-y-max")),
            rect: (attr(g, "data-left"), attr(g, "data-right"), attr(g, "data-top"), attr(g, "data-bottom")),
            series: g
                .children()
                .filter(|n| has_class(*n, "series"))
                .map(|n| Series {
                    allocator: attr(n, "data-allocator"),
                    metric: attr(n, "data-metric"),
                    samples: attr(n, "data-samples"),
                    values: pairs(n.attribute("data-values").unwrap()),
                    pixels: pairs(n.attribute("points").unwrap()),
                    dashed: n.attribute("stroke-dasharray").is_some(),
                })
                .collect(),
            ceilings: g
                .children()
                .filter(|n| has_class(*n, "ceiling"))
                .map(|n| (attr(n, "data-allocator"), attr(n, "data-usable"), attr(n, "y1")))
                .collect(),
            markers: g
                .children()
                .filter(|n| has_class(*n, "marker"))
                .map(|n| Marker {
                    allocator: attr(n, "data-allocator"),
                    kind: attr(n, "data-kind"),
                    time_s: attr(n, "data-time-s"),
                    last_time_s: attr(n, "data-last-time-s"),
                    value: attr(n, "data-value"),
                    count: attr(n, "data-count"),
                })
                .collect(),
        })
        .collect()
}

impl Axes {
    fn series(&self, allocator: &str, metric: &str) -> &Series {
        let mut found = self.series.iter().filter(|s| s.allocator == allocator && s.metric == metric);
        let series = found.next().unwrap_or_else(|| panic!("no {allocator} {metric} in {}", self.panel));
        assert!(found.next().is_none(), "two {allocator} {metric} series");
        series
    }

    fn keys(&self) -> Vec<(String, String)> {
        let mut keys: Vec<_> = self.series.iter().map(|s| (s.allocator.clone(), s.metric.clone())).collect();
        keys.sort();
        keys
    }

    fn pixel(&self, (t, v): (u64, u64)) -> (f64, f64) {
        let (left, right, top, bottom) = self.rect;
        let x = left + (t as f64 - self.x.0) / (self.x.1 - self.x.0) * (right - left);
        let y = bottom - (v as f64 - self.y.0) / (self.y.1 - self.y.0) * (bottom - top);
        (x, y)
    }

    /// The axes cover every value, and every point is drawn where its value says.
    fn check_covers_data(&self) {
        let (left, right, top, bottom) = self.rect;
        assert!(left < right && top < bottom, "{:?}", self.rect);
        for series in &self.series {
            assert_eq!(series.values.len(), series.pixels.len());
            for (&value, &pixel) in series.values.iter().zip(&series.pixels) {
                assert!(self.x.0 <= value.0 as f64 && value.0 as f64 <= self.x.1, "{value:?} outside {:?}", self.x);
                assert!(self.y.0 <= value.1 as f64 && value.1 as f64 <= self.y.1, "{value:?} outside {:?}", self.y);
                let expected = self.pixel(value);
                assert!((pixel.0 - expected.0).abs() < 0.06 && (pixel.1 - expected.1).abs() < 0.06, "{pixel:?}");
            }
        }
        for (_, usable, _) in &self.ceilings {
            assert!(self.y.1 >= *usable as f64);
        }
    }
}

fn keys(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, m)| (a.to_string(), m.to_string())).collect()
}

// ---------------------------------------------------------------- charts

#[test]
fn one_chart_per_range_then_per_pool_with_safe_names() {
    let (a, b) = two_replays();
    let charts = charts(&[&a, &b]);
    let names: Vec<_> = charts.iter().map(|c| c.file_name.as_str()).collect();
    assert_eq!(
        names,
        ["range-nodes.svg", "range-pods.svg", "range-c1-pod-cidr.svg", "pool-c1-p1.svg", "pool-c1-p2.svg"]
    );
    assert_eq!(charts[2].title, "c1/pod-cidr — pod CIDR 10.244.0.0/16");
    for chart in &charts {
        let doc = Document::parse(&chart.svg).unwrap();
        let title = doc.root_element().children().find(|n| n.has_tag_name(("http://www.w3.org/2000/svg", "title")));
        assert_eq!(title.and_then(|t| t.text()), Some(chart.title.as_str()));
    }
}

#[test]
fn file_names_are_sanitized_and_unique() {
    let (mut a, _) = two_replays();
    let long_a = "n".repeat(300);
    let long_b = format!("{}b", "n".repeat(299));
    let names = ["Pods", "pods", "a b/c", "../x", "/", &long_a, &long_b];
    a.ranges = names.iter().map(|n| range(n, "10.0.0.0/24", true)).collect();
    a.utilization.clear();
    let charts = charts(&[&a]);
    let files: Vec<_> = charts.iter().take(names.len()).map(|c| c.file_name.as_str()).collect();
    // Long names are cut to 100 characters (a file name must fit in 255 bytes).
    let cut = format!("range-{}", "n".repeat(100));
    let expected = ["range-pods.svg", "range-pods-2.svg", "range-a-b-c.svg", "range-x.svg", "range-unnamed.svg"];
    assert_eq!(files[..5], expected);
    assert_eq!(files[5], format!("{cut}.svg"));
    assert_eq!(files[6], format!("{cut}-2.svg"));
    for chart in &charts {
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        assert!(chart.file_name.chars().all(ok), "{}", chart.file_name);
        parse_svg(&chart.svg);
    }
}

#[test]
fn range_chart_has_both_metrics_of_every_allocator() {
    let (a, b) = two_replays();
    let charts = charts(&[&a, &b]);
    let axes = parse_svg(&find(&charts, "range-nodes.svg").svg);
    assert_eq!(axes.len(), 1);
    let axes = &axes[0];
    assert_eq!(axes.panel, "addresses");
    let expected = [("dynamic", "allocated"), ("dynamic", "in_use"), ("kubenet", "allocated"), ("kubenet", "in_use")];
    assert_eq!(axes.keys(), keys(&expected));
    for (allocator, seed) in [("dynamic", 20), ("kubenet", 30)] {
        let allocated = axes.series(allocator, "allocated");
        let in_use = axes.series(allocator, "in_use");
        assert_eq!(allocated.samples, TIMES.len());
        let want: Vec<_> = TIMES.iter().enumerate().map(|(i, &t)| (t, addresses(seed, 0, i).0)).collect();
        assert_eq!(allocated.values, want);
        let want: Vec<_> = TIMES.iter().enumerate().map(|(i, &t)| (t, addresses(seed, 0, i).1)).collect();
        assert_eq!(in_use.values, want);
        assert!(!allocated.dashed && in_use.dashed);
    }
}

#[test]
fn axes_cover_the_data_and_the_ceiling() {
    let (a, b) = two_replays();
    for chart in charts(&[&a, &b]) {
        for axes in parse_svg(&chart.svg) {
            assert_eq!(axes.x, (0.0, (4 * HOUR) as f64), "{}", chart.file_name);
            assert_eq!(axes.y.0, 0.0);
            axes.check_covers_data();
        }
    }
}

#[test]
fn the_usable_ceiling_is_drawn_for_each_allocator() {
    let (a, b) = two_replays();
    let charts = charts(&[&a, &b]);
    let axes = &parse_svg(&find(&charts, "range-nodes.svg").svg)[0];
    let mut ceilings: Vec<_> = axes.ceilings.iter().map(|(a, usable, _)| (a.as_str(), *usable)).collect();
    ceilings.sort();
    assert_eq!(ceilings, [("dynamic", 251), ("kubenet", 251)]);
    assert!(axes.y.1 >= 251.0);
    for (_, usable, y) in &axes.ceilings {
        assert!((axes.pixel((0, *usable)).1 - y).abs() < 0.06);
    }
    let cidr = &parse_svg(&find(&charts, "range-c1-pod-cidr.svg").svg)[0];
    assert_eq!(cidr.ceilings.iter().map(|c| c.1).collect::<Vec<_>>(), [65_536]);
    assert!(cidr.y.1 >= 65_536.0);
}

#[test]
fn a_range_only_one_allocator_has_shows_only_that_allocator() {
    let (a, b) = two_replays();
    let charts = charts(&[&a, &b]);
    let chart = find(&charts, "range-c1-pod-cidr.svg");
    let axes = &parse_svg(&chart.svg)[0];
    assert_eq!(axes.keys(), keys(&[("kubenet", "allocated"), ("kubenet", "in_use")]));
    let doc = Document::parse(&chart.svg).unwrap();
    let legend: Vec<_> = doc
        .descendants()
        .filter(|n| has_class(*n, "legend-entry"))
        .filter_map(|n| n.attribute("data-allocator"))
        .collect();
    assert_eq!(legend, ["kubenet"]);
}

#[test]
fn exhaustion_events_are_marked_where_they_happened() {
    let (a, b) = two_replays();
    let charts = charts(&[&a, &b]);
    let cidr = &parse_svg(&find(&charts, "range-c1-pod-cidr.svg").svg)[0];
    // Both events at 1:50 make one marker, on the line between the 1 h and 2 h samples.
    let (at_1h, at_2h) = (addresses(30, 1, 1).0 as f64, addresses(30, 1, 2).0 as f64);
    let on_line = at_1h + (at_2h - at_1h) * 50.0 / 60.0;
    assert_eq!(cidr.markers.len(), 1);
    let marker = &cidr.markers[0];
    assert_eq!(
        (marker.allocator.as_str(), marker.kind.as_str(), marker.time_s, marker.count),
        ("kubenet", "pod-cidr-exhausted", 2 * HOUR - 600, 2)
    );
    assert!((marker.value - on_line).abs() < 0.01, "{} vs {on_line}", marker.value);
    for name in ["range-nodes.svg", "range-pods.svg"] {
        assert!(parse_svg(&find(&charts, name).svg)[0].markers.is_empty(), "{name}");
    }
    // The pool's node panel marks the failed nodes; pod-unschedulable is no exhaustion.
    let p1 = parse_svg(&find(&charts, "pool-c1-p1.svg").svg);
    assert_eq!(p1[0].markers.len(), 1);
    assert_eq!(p1[0].markers[0].kind, "pod-cidr-exhausted");
    let p2 = parse_svg(&find(&charts, "pool-c1-p2.svg").svg);
    assert!(p2.iter().all(|axes| axes.markers.is_empty()));
}

#[test]
fn events_closer_than_a_marker_merge_into_one_marker() {
    let (a, mut b) = two_replays();
    let cidr_full = EventKind::Allocation(FailureKind::sized("pod-cidr-exhausted"));
    // Four hours on ~640 px: a minute is under 3 px, an hour about 160 px.
    b.events = [HOUR, HOUR + 60, HOUR + 120, 3 * HOUR]
        .into_iter()
        .map(|t| event(t, cidr_full, "p1", "c1/pod-cidr", "full"))
        .collect();
    let charts = charts(&[&a, &b]);
    let cidr = &parse_svg(&find(&charts, "range-c1-pod-cidr.svg").svg)[0];
    let got: Vec<_> = cidr.markers.iter().map(|m| (m.time_s, m.last_time_s, m.count)).collect();
    assert_eq!(got, [(HOUR, HOUR + 120, 3), (3 * HOUR, 3 * HOUR, 1)]);
}

#[test]
fn coinciding_lines_are_drawn_in_turns() {
    let (a, b) = two_replays();
    let mut c = a.clone();
    c.allocator = "overlay".to_string();
    let charts = charts(&[&a, &b, &c]);
    let doc = Document::parse(&find(&charts, "range-nodes.svg").svg).unwrap();
    let line = |allocator: &str, metric: &str| {
        doc.descendants()
            .find(|n| {
                has_class(*n, "series")
                    && n.attribute("data-allocator") == Some(allocator)
                    && n.attribute("data-metric") == Some(metric)
            })
            .unwrap()
    };
    // dynamic and overlay have the same samples: each draws every other dash.
    let (first, second) = (line("dynamic", "allocated"), line("overlay", "allocated"));
    assert_eq!(first.attribute("data-stripe"), Some("1/2"));
    assert_eq!(second.attribute("data-stripe"), Some("2/2"));
    assert_eq!(first.attribute("stroke-dasharray"), second.attribute("stroke-dasharray"));
    assert_ne!(first.attribute("stroke-dashoffset"), second.attribute("stroke-dashoffset"));
    assert_eq!(first.attribute("points"), second.attribute("points"));
    // kubenet's line is its own: solid, unstriped.
    let own = line("kubenet", "allocated");
    assert_eq!((own.attribute("data-stripe"), own.attribute("stroke-dasharray")), (None, None));
    // in_use lines stay dashed when striped.
    let dashed = line("overlay", "in_use");
    assert_eq!(dashed.attribute("data-stripe"), Some("2/2"));
    assert_eq!(dashed.attribute("stroke-dasharray"), Some("7 15"));
}

#[test]
fn pool_chart_has_nodes_and_pods_per_allocator() {
    let (a, b) = two_replays();
    let charts = charts(&[&a, &b]);
    let chart = find(&charts, "pool-c1-p2.svg");
    assert_eq!(chart.title, "Pool c1/p2 — nodes and pods");
    let axes = parse_svg(&chart.svg);
    let panels: Vec<_> = axes.iter().map(|a| a.panel.as_str()).collect();
    assert_eq!(panels, ["nodes", "pods"]);
    assert_eq!(axes[0].keys(), keys(&[("dynamic", "nodes"), ("kubenet", "nodes")]));
    assert_eq!(axes[1].keys(), keys(&[("dynamic", "pods_running"), ("kubenet", "pods_running")]));
    for (replay, allocator) in [(&a, "dynamic"), (&b, "kubenet")] {
        let rows = replay.cluster.iter().filter(|s| s.pool == 1);
        let nodes: Vec<_> = rows.clone().map(|s| (s.time_s, u64::from(s.nodes))).collect();
        let pods: Vec<_> = rows.map(|s| (s.time_s, s.pods_running)).collect();
        assert_eq!(axes[0].series(allocator, "nodes").values, nodes);
        assert_eq!(axes[1].series(allocator, "pods_running").values, pods);
    }
    // The two panels stack: nodes above pods.
    assert!(axes[0].rect.3 < axes[1].rect.2);
}

#[test]
fn pods_waiting_for_an_ip_are_drawn_where_there_were_some() {
    let (mut a, b) = two_replays();
    for s in a.cluster.iter_mut().filter(|s| s.pool == 0) {
        s.pods_waiting_ip = s.time_s / HOUR * 3;
    }
    let charts = charts(&[&a, &b]);
    let p1 = parse_svg(&find(&charts, "pool-c1-p1.svg").svg);
    assert_eq!(
        p1[1].keys(),
        keys(&[("dynamic", "pods_running"), ("dynamic", "pods_waiting_ip"), ("kubenet", "pods_running")])
    );
    let waiting = p1[1].series("dynamic", "pods_waiting_ip");
    assert_eq!(waiting.values, TIMES.iter().map(|&t| (t, t / HOUR * 3)).collect::<Vec<_>>());
    assert!(waiting.dashed);
    p1[1].check_covers_data();
    // No pool-2 pod ever waited: no such line there.
    let p2 = parse_svg(&find(&charts, "pool-c1-p2.svg").svg);
    assert!(p2[1].series.iter().all(|s| s.metric == "pods_running"));
}

#[test]
fn a_long_series_is_thinned_to_the_same_line() {
    let (mut a, _) = two_replays();
    a.ranges.truncate(1);
    a.pools.clear();
    a.cluster.clear();
    // Every minute for two weeks, with a sawtooth so thinning has work to do.
    let samples = 14 * DAY / 60 + 1;
    a.utilization = (0..samples)
        .map(|i| RangeSample {
            time_s: i * 60,
            range: 0,
            usable: 251,
            allocated: 100 + i % 97,
            in_use: 50,
            free_blocks_28: 0,
        })
        .collect();
    a.utilization[5000].allocated = 240;
    let charts = charts(&[&a]);
    let axes = &parse_svg(&charts[0].svg)[0];
    assert_eq!(axes.x, (0.0, (14 * DAY) as f64));
    axes.check_covers_data();
    let allocated = axes.series("dynamic", "allocated");
    assert_eq!(allocated.samples, samples as usize);
    let width = axes.rect.1 - axes.rect.0;
    assert!(allocated.values.len() <= 4 * (width as usize + 1), "{} points", allocated.values.len());
    assert!(allocated.values.len() < samples as usize / 4);
    let all: Vec<_> = a.utilization.iter().map(|s| (s.time_s, s.allocated)).collect();
    assert!(allocated.values.iter().all(|p| all.contains(p)));
    assert_eq!(allocated.values.first(), all.first());
    assert_eq!(allocated.values.last(), all.last());
    assert!(allocated.values.contains(&(5000 * 60, 240)));
    assert!(allocated.values.windows(2).all(|w| w[0].0 < w[1].0));
    // The flat in_use line keeps two points per column at most.
    assert!(axes.series("dynamic", "in_use").values.len() <= 2 * (width as usize + 1));
}

#[test]
fn odd_allocator_names_are_escaped_in_charts() {
    let (mut a, b) = two_replays();
    a.allocator = r#"a<b>&"c""#.to_string();
    let charts = charts(&[&a, &b]);
    let axes = &parse_svg(&find(&charts, "range-nodes.svg").svg)[0];
    assert_eq!(axes.series(r#"a<b>&"c""#, "allocated").samples, TIMES.len());
}

#[test]
fn no_replays_no_charts() {
    assert!(charts(&[]).is_empty());
}

// ---------------------------------------------------------------- report.html

fn page(title: &str, replays: &[&Replay], table: &str) -> String {
    report_html(title, replays, &charts(replays), table)
}

/// Parse the page as XML once the HTML doctype is set aside.
fn parse_html(html: &str) -> Document<'_> {
    let body = html.strip_prefix("<!DOCTYPE html>").expect("starts with the HTML5 doctype");
    Document::parse(body).unwrap_or_else(|e| panic!("report.html is not well-formed: {e}"))
}

fn text(node: Node) -> String {
    node.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect()
}

fn rows(doc: &Document, class: &str) -> Vec<Vec<String>> {
    let table = doc.descendants().find(|n| n.has_tag_name("table") && has_class(*n, class));
    let table = table.unwrap_or_else(|| panic!("no table {class}"));
    let body = table.children().find(|n| n.has_tag_name("tbody")).unwrap();
    body.children()
        .filter(|n| n.has_tag_name("tr"))
        .map(|tr| tr.children().filter(|n| n.has_tag_name("td")).map(text).collect())
        .collect()
}

#[test]
fn report_is_well_formed_and_inlines_every_chart() {
    let (a, b) = two_replays();
    let replays = [&a, &b];
    let charts = charts(&replays);
    let html = report_html("growth-compare", &replays, &charts, "");
    let doc = parse_html(&html);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "html");
    let head_title = doc.descendants().find(|n| n.has_tag_name("title")).map(text);
    assert_eq!(head_title.as_deref(), Some("growth-compare"));
    let svgs = doc.descendants().filter(|n| n.has_tag_name(("http://www.w3.org/2000/svg", "svg"))).count();
    assert_eq!(svgs, charts.len());
    let figure_ids: Vec<_> =
        doc.descendants().filter(|n| n.has_tag_name("figure")).filter_map(|n| n.attribute("id")).collect();
    assert_eq!(figure_ids, ["range-nodes", "range-pods", "range-c1-pod-cidr", "pool-c1-p1", "pool-c1-p2"]);
    assert!(doc.descendants().any(|n| n.has_tag_name("meta") && n.attribute("charset") == Some("utf-8")));
}

#[test]
fn report_links_only_to_the_csv_files() {
    let (a, mut b) = two_replays();
    // Enough events for the "more in events.csv" link.
    let template = b.events[0].clone();
    b.events = (0..EVENTS_SHOWN as u64 + 5).map(|i| EventRecord { time_s: i, ..template.clone() }).collect();
    let html = page("links", &[&a, &b], "");
    let doc = parse_html(&html);
    let mut links = Vec::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        assert!(!["script", "link", "img", "iframe", "object", "embed", "image", "use"].contains(&name), "<{name}>");
        for attribute in node.attributes() {
            let value = attribute.value();
            if ["href", "src"].contains(&attribute.name()) {
                links.push(value.to_string());
            }
            assert!(!value.contains("://") || attribute.name() == "xmlns", "{}={value}", attribute.name());
            assert!(!value.contains("url("), "{}={value}", attribute.name());
        }
    }
    assert!(!html.contains("@import"));
    assert!(!links.is_empty());
    for link in &links {
        assert!(CSV_FILES.contains(&link.as_str()), "links to {link}");
    }
    assert!(links.iter().filter(|l| *l == "events.csv").count() >= 2);
}

#[test]
fn report_escapes_text() {
    let (a, b) = two_replays();
    let html = page(r#"Compare <A & B> "now""#, &[&a, &b], "allocator  verdict\n<dynamic>  fits & more\n");
    let doc = parse_html(&html);
    let h1 = doc.descendants().find(|n| n.has_tag_name("h1")).map(text);
    assert_eq!(h1.as_deref(), Some(r#"Compare <A & B> "now""#));
    let pre = doc.descendants().find(|n| n.has_tag_name("pre")).map(text);
    assert_eq!(pre.as_deref(), Some("allocator  verdict\n<dynamic>  fits & more"));
    let events = rows(&doc, "events");
    assert!(events.iter().any(|row| row.last().map(String::as_str) == Some(TRICKY)), "{events:?}");
    assert!(!html.contains(TRICKY));
}

#[test]
fn summary_table_has_one_row_per_allocator() {
    let (a, b) = two_replays();
    let html = page("summary", &[&a, &b], "");
    let doc = parse_html(&html);
    let rows = rows(&doc, "summary");
    assert_eq!(rows.len(), 2);
    let want_dynamic = ["dynamic", "fits", "200 (79.7 %)", "pods", "—", "—", "—", "—", "0", "0", "7", "62.5 %"];
    assert_eq!(rows[0], want_dynamic);
    let want_kubenet = [
        "kubenet",
        "exhausts",
        "200 (79.7 %)",
        "pods",
        "—",
        "0d 01:50",
        "0d 01:50",
        "pod-cidr-exhausted",
        "2",
        "2",
        "7",
        "—",
    ];
    assert_eq!(rows[1], want_kubenet);
    assert!(html.contains(r#"<td class="exhausts">exhausts</td>"#));
}

#[test]
fn levels_table_dates_the_crossings() {
    let (mut a, b) = two_replays();
    // nodes in `dynamic`: 20 + 40 i of 251 → 220 (87.6 %) at 2 h... make 4 h full.
    a.utilization.iter_mut().filter(|s| s.range == 0 && s.time_s == 4 * HOUR).for_each(|s| s.allocated = 251);
    // Free /28s: 9, 3, 3, 7 … in dynamic/nodes; the first of the fewest counts.
    for (s, blocks) in a.utilization.iter_mut().filter(|s| s.range == 0).zip([9, 3, 3, 7, 8]) {
        s.free_blocks_28 = blocks;
    }
    let a = with_range_summaries(a);
    let html = page("levels", &[&a, &b], "");
    let doc = parse_html(&html);
    let rows = rows(&doc, "levels");
    let names: Vec<_> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    assert_eq!(names, [("nodes", "dynamic"), ("nodes", "kubenet"), ("pods", "dynamic"), ("c1/pod-cidr", "kubenet")]);
    // dynamic/nodes: 20, 60, 100, 140, 251 of 251.
    assert_eq!(rows[0][2..6], ["251", "251 (100.0 %)", "0d 04:00", "0d 04:00"]);
    // At 1 h: 60 allocated, 191 free addresses but only 3 free /28s.
    assert_eq!(rows[0][6], "3 with 191 addresses free, at 0d 01:00");
    // kubenet/nodes: 30, 70, 110, 150, 190: never 80 %.
    assert_eq!(rows[1][2..6], ["251", "190 (75.7 %)", "—", "—"]);
}

#[test]
fn long_event_lists_are_cut_with_a_pointer_to_the_csv() {
    let (a, mut b) = two_replays();
    let template = b.events[0].clone();
    let total = 1234u64;
    b.events =
        (0..total).map(|i| EventRecord { time_s: i * 10, detail: format!("#{i}"), ..template.clone() }).collect();
    let mut a = a;
    a.events = vec![EventRecord { time_s: 15, detail: "from dynamic".to_string(), ..template }];
    let html = page("many", &[&a, &b], "");
    let doc = parse_html(&html);
    let rows = rows(&doc, "events");
    assert_eq!(rows.len(), EVENTS_SHOWN);
    // Merged in time order across allocators.
    let first: Vec<_> = rows.iter().take(4).map(|r| (r[0].as_str(), r[1].as_str(), r[7].as_str())).collect();
    assert_eq!(
        first,
        [
            ("0d 00:00", "kubenet", "#0"),
            ("0d 00:00:10", "kubenet", "#1"),
            ("0d 00:00:15", "dynamic", "from dynamic"),
            ("0d 00:00:20", "kubenet", "#2")
        ]
    );
    let more = total + 1 - EVENTS_SHOWN as u64;
    assert!(html.contains(&format!("The first {EVENTS_SHOWN} of {} events; {more} more are in", total + 1)));
}

#[test]
fn report_without_events_or_replays_is_still_well_formed() {
    let (a, _) = two_replays();
    let html = page("quiet", &[&a], "");
    assert!(html.contains("No exhaustion or failure events."));
    parse_html(&html);
    parse_html(&report_html("empty", &[], &[], ""));
}

#[test]
fn human_time_reads_like_a_planner() {
    assert_eq!(human_time(3 * DAY + 4 * HOUR), "3d 04:00");
    assert_eq!(human_time(4 * HOUR), "0d 04:00");
    assert_eq!(human_time(59), "0d 00:00:59");
    assert_eq!(human_time(DAY), "1d 00:00");
}

/// A Calico replay: report.html counts its blocks per node, and shows the
/// blocks an emptied deployment leaves claimed.
#[test]
fn calico_blocks_per_node_are_shown() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/pod-ranges-compare.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let loaded = scenario::parse_str(&text, "p.yaml", &scenario::Overrides::default()).unwrap();
    let replay = cluster::replay(&loaded.scenario).unwrap();
    let range = replay.ranges.iter().position(|r| r.name == "c/pod-cidr").unwrap();
    assert_eq!(replay.ranges[range].block, Some(64));
    let series = report::blocks_per_node(&replay, range);
    let at = |t: u64| *series.iter().find(|s| s.0 == t).unwrap();
    // 500 pods on 10 nodes: a block each; 1000: two; emptied: one each stays claimed.
    assert_eq!(at(3600), (3600, 10, 10));
    assert_eq!(at(86_400 + 3600), (86_400 + 3600, 20, 10));
    assert_eq!(at(2 * 86_400 + 3600), (2 * 86_400 + 3600, 10, 10));
    let html = report_html("p", &[&replay], &[], "");
    assert!(html.contains("<h3>Blocks claimed per node</h3>"), "no blocks table");
    assert!(html.contains("<td class=\"num\">64</td>"), "the block size");
    assert!(html.contains("2.00 (20 on 10 nodes)"), "the most per node");
    // Other modes claim no blocks of their own: no table.
    let overlay = scenario::parse_str(
        &text,
        "p.yaml",
        &scenario::Overrides { allocator: Some(modes::named("overlay")), seed: None },
    )
    .unwrap();
    let replay = cluster::replay(&overlay.scenario).unwrap();
    assert!(!report_html("p", &[&replay], &[], "").contains("Blocks claimed per node"));
}
