//! SVG charts of replays, with the data readable back from the markup.
//!
//! `plotters` (SVG backend, no font features) draws the frame: title, panel
//! captions, grid, ticks and axis descriptions, all as SVG `<text>` that any
//! viewer renders with its own sans-serif font. The data is then written into
//! the same SVG, in the coordinates of `plotters`' plotting area, as:
//!
//! ```text
//! <svg class="podip-chart" data-chart="range|pool" data-name="…" …>
//!   <title>…</title>
//!   … plotters' frame …
//!   <g class="axes" data-panel="addresses|nodes|pods" data-x-unit="s"
//!      data-x-min="0" data-x-max="…" data-y-min="0" data-y-max="…"
//!      data-left="…" data-right="…" data-top="…" data-bottom="…">
//!     <line class="ceiling" data-allocator="…" data-usable="…" …/>
//!     <polyline class="series" data-allocator="…" data-metric="allocated|in_use|nodes|pods_running|pods_waiting_ip"
//!        data-samples="…" data-values="t,v t,v …" points="x,y x,y …" …/>
//!     <path class="marker" data-allocator="…" data-kind="…" data-time-s="…" data-last-time-s="…" data-value="…"
//!        data-count="…" …><title>…</title></path>
//!   </g>
//!   <g class="legend">…</g>
//! </svg>
//! ```
//!
//! `data-values` holds the plotted samples in seconds and counts; `points` the
//! same samples in pixels (`x = left + (t − x-min) / (x-max − x-min) × (right − left)`,
//! `y` likewise from `bottom` up to `top`). A series with more samples than
//! four per pixel column is thinned to the first, lowest, highest and last
//! sample of each column (which draws the same line); `data-samples` is always
//! the number of samples it stands for. A marker stands for the exhaustion
//! events of one allocator and kind at one time (`data-count` of them) and sits
//! on that allocator's line where it is drawn at that time (`data-value`); a
//! white `marker-halo` path under it keeps it visible on its own line. Markers
//! of one allocator and kind closer than two crosses' width merge into the first,
//! `data-last-time-s` the time of the last event they stand for.

use std::collections::HashSet;
use std::fmt::Write as _;

use cluster::{EventRecord, RangeInfo, Replay};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{escape, human_time};

/// One chart, ready to be written as `file_name` or inlined in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// A safe file name (`[a-z0-9._-]`, unique among the charts of one call), e.g. `range-c1-pod-cidr.svg`.
    pub file_name: String,
    pub title: String,
    /// A complete SVG document (no XML declaration, so it can also be inlined in HTML).
    pub svg: String,
}

/// Charts for replays of one scenario, one replay per allocator: one per
/// address range (the union over the replays, in first-seen order), then one
/// per node pool (likewise). Colours follow the allocators' order in `replays`.
pub fn charts(replays: &[&Replay]) -> Vec<Chart> {
    let allocators: Vec<&str> = replays.iter().map(|r| r.allocator.as_str()).collect();
    let mut names = FileNames::default();
    let mut out = Vec::new();

    let mut seen = HashSet::new();
    let ranges = replays.iter().flat_map(|r| &r.ranges).filter(|r| seen.insert(r.name.as_str()));
    for range in ranges {
        let spec = range_chart(replays, range);
        let file_name = names.claim("range", &range.name);
        out.push(Chart { file_name, svg: render(&spec, &allocators), title: spec.title });
    }

    let mut seen = HashSet::new();
    let pools = replays.iter().flat_map(|r| &r.pools).filter(|p| seen.insert((p.cluster.as_str(), p.pool.as_str())));
    for pool in pools {
        let spec = pool_chart(replays, &pool.cluster, &pool.pool);
        let file_name = names.claim("pool", &format!("{}-{}", pool.cluster, pool.pool));
        out.push(Chart { file_name, svg: render(&spec, &allocators), title: spec.title });
    }
    out
}

/// Line colours, by allocator order (matplotlib's "tab10").
const PALETTE: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const CEILING_COLOUR: &str = "#444444";
const WIDTH: u32 = 960;
const TITLE_HEIGHT: u32 = 44;
const PANEL_HEIGHT: u32 = 380;
const LEGEND_WIDTH: u32 = 210;
const FONT: &str = "sans-serif";

fn colour(allocator: usize) -> &'static str {
    PALETTE[allocator % PALETTE.len()]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    Allocated,
    InUse,
    Nodes,
    PodsRunning,
    PodsWaitingIp,
}

impl Metric {
    fn as_str(self) -> &'static str {
        match self {
            Metric::Allocated => "allocated",
            Metric::InUse => "in_use",
            Metric::Nodes => "nodes",
            Metric::PodsRunning => "pods_running",
            Metric::PodsWaitingIp => "pods_waiting_ip",
        }
    }

    fn dash(self) -> Option<&'static str> {
        matches!(self, Metric::InUse | Metric::PodsWaitingIp).then_some("7 4")
    }
}

/// One line: `(time_s, value)` in time order.
#[derive(Debug)]
struct Series {
    allocator: usize,
    metric: Metric,
    points: Vec<(u64, u64)>,
}

/// Events of one allocator and kind at one time (or, once drawn, within one
/// cross's width from `time_s` to `last_time_s`), drawn as one cross.
#[derive(Debug, Clone)]
struct Marker {
    allocator: usize,
    time_s: u64,
    last_time_s: u64,
    /// Where the marked line is at `time_s`.
    value: f64,
    kind: &'static str,
    count: usize,
}

/// Everything drawn in one pair of axes.
#[derive(Debug)]
struct Panel {
    name: &'static str,
    caption: String,
    y_desc: &'static str,
    series: Vec<Series>,
    /// `(allocator, usable)`.
    ceilings: Vec<(usize, u64)>,
    markers: Vec<Marker>,
}

impl Panel {
    fn new(name: &'static str, caption: impl Into<String>, y_desc: &'static str) -> Self {
        Self { name, caption: caption.into(), y_desc, series: Vec::new(), ceilings: Vec::new(), markers: Vec::new() }
    }

    fn y_data_max(&self) -> u64 {
        let values = self.series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
        values.chain(self.ceilings.iter().map(|c| c.1)).max().unwrap_or(0)
    }

    fn x_data_max(&self) -> u64 {
        let times = self.series.iter().flat_map(|s| s.points.last().map(|p| p.0));
        times.chain(self.markers.iter().map(|m| m.time_s)).max().unwrap_or(0)
    }
}

#[derive(Debug)]
struct Spec {
    kind: &'static str,
    name: String,
    title: String,
    panels: Vec<Panel>,
    /// What the line styles and symbols mean, listed under the allocators.
    styles: Vec<(Key, &'static str)>,
}

/// A legend symbol.
#[derive(Debug, Clone, Copy)]
enum Key {
    Line(Metric),
    Ceiling,
    Marker,
}

fn range_chart(replays: &[&Replay], info: &RangeInfo) -> Spec {
    let what = if info.is_vnet_subnet { "VNet subnet" } else { "pod CIDR" };
    let mut panel = Panel::new("addresses", "allocated (solid) and in use (dashed)", "addresses");
    for (allocator, replay) in replays.iter().enumerate() {
        let Some(index) = replay.ranges.iter().position(|r| r.name == info.name) else { continue };
        let samples: Vec<_> = replay.utilization.iter().filter(|s| s.range as usize == index).collect();
        let allocated: Vec<_> = samples.iter().map(|s| (s.time_s, s.allocated)).collect();
        let in_use = samples.iter().map(|s| (s.time_s, s.in_use)).collect();
        if let Some(usable) = samples.iter().map(|s| s.usable).max() {
            panel.ceilings.push((allocator, usable));
        }
        let events = replay.events.iter().filter(|e| e.kind.is_exhaustion() && e.range == info.name);
        panel.markers.extend(markers(allocator, events, &allocated));
        panel.series.push(Series { allocator, metric: Metric::Allocated, points: allocated });
        panel.series.push(Series { allocator, metric: Metric::InUse, points: in_use });
    }
    let mut styles = vec![(Key::Line(Metric::Allocated), "allocated"), (Key::Line(Metric::InUse), "in use")];
    if !panel.ceilings.is_empty() {
        styles.push((Key::Ceiling, "usable ceiling"));
    }
    if !panel.markers.is_empty() {
        styles.push((Key::Marker, "exhaustion event"));
    }
    Spec {
        kind: "range",
        name: info.name.clone(),
        title: format!("{} — {} {}", info.name, what, info.prefix),
        panels: vec![panel],
        styles,
    }
}

fn pool_chart(replays: &[&Replay], cluster: &str, pool: &str) -> Spec {
    let mut nodes = Panel::new("nodes", "nodes", "nodes");
    let mut pods = Panel::new("pods", "running pods", "pods");
    for (allocator, replay) in replays.iter().enumerate() {
        let Some(index) = replay.pools.iter().position(|p| p.cluster == cluster && p.pool == pool) else { continue };
        let samples: Vec<_> = replay.cluster.iter().filter(|s| s.pool as usize == index).collect();
        let node_points: Vec<_> = samples.iter().map(|s| (s.time_s, u64::from(s.nodes))).collect();
        let events = replay.events.iter().filter(|e| e.kind.is_exhaustion() && e.cluster == cluster && e.pool == pool);
        nodes.markers.extend(markers(allocator, events, &node_points));
        nodes.series.push(Series { allocator, metric: Metric::Nodes, points: node_points });
        let pod_points = samples.iter().map(|s| (s.time_s, s.pods_running)).collect();
        pods.series.push(Series { allocator, metric: Metric::PodsRunning, points: pod_points });
        // Pods waiting for an IP only where some did, so a run without any
        // does not draw a line of zeros over the time axis.
        if samples.iter().any(|s| s.pods_waiting_ip > 0) {
            let waiting = samples.iter().map(|s| (s.time_s, s.pods_waiting_ip)).collect();
            pods.series.push(Series { allocator, metric: Metric::PodsWaitingIp, points: waiting });
        }
    }
    let mut styles = Vec::new();
    if pods.series.iter().any(|s| s.metric == Metric::PodsWaitingIp) {
        pods.caption = "running pods (solid) and pods waiting for an IP (dashed)".to_string();
        styles.push((Key::Line(Metric::PodsRunning), "running"));
        styles.push((Key::Line(Metric::PodsWaitingIp), "waiting for an IP"));
    }
    if !nodes.markers.is_empty() {
        styles.push((Key::Marker, "exhaustion event"));
    }
    let name = format!("{cluster}/{pool}");
    Spec { kind: "pool", title: format!("Pool {name} — nodes and pods"), name, panels: vec![nodes, pods], styles }
}

/// One marker per (time, kind), placed on `line` where it is drawn at the
/// event's time (between samples, on the straight segment joining them).
fn markers<'a>(allocator: usize, events: impl Iterator<Item = &'a EventRecord>, line: &[(u64, u64)]) -> Vec<Marker> {
    let mut out: Vec<Marker> = Vec::new();
    for event in events {
        let kind = event.kind.as_str();
        if let Some(m) = out.iter_mut().find(|m| m.time_s == event.time_s && m.kind == kind) {
            m.count += 1;
            continue;
        }
        let (time_s, value) = (event.time_s, value_at(line, event.time_s));
        out.push(Marker { allocator, time_s, last_time_s: time_s, value, kind, count: 1 });
    }
    out
}

/// The polyline through `line`'s points at `time_s` (its end values outside them).
fn value_at(line: &[(u64, u64)], time_s: u64) -> f64 {
    match line.iter().position(|p| p.0 >= time_s) {
        None => line.last().map_or(0.0, |p| p.1 as f64),
        Some(0) => line[0].1 as f64,
        Some(i) => {
            let ((t0, v0), (t1, v1)) = (line[i - 1], line[i]);
            let share = (time_s - t0) as f64 / (t1 - t0) as f64;
            v0 as f64 + (v1 as f64 - v0 as f64) * share
        }
    }
}

/// Hands out unique, filesystem-safe file names.
#[derive(Debug, Default)]
struct FileNames(HashSet<String>);

impl FileNames {
    fn claim(&mut self, prefix: &str, name: &str) -> String {
        let stem = format!("{prefix}-{}", sanitize(name));
        let mut candidate = stem.clone();
        let mut n = 1;
        while !self.0.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{stem}-{n}");
        }
        format!("{candidate}.svg")
    }
}

/// Lower case ASCII letters, digits, `.`, `_` and `-`; every other run of
/// characters becomes one `-` (lower case, so names that differ only in case
/// still get distinct files on case-insensitive filesystems).
fn sanitize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_alphanumeric() || c == '_' || (c == '.' && !out.is_empty()) {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    // File names stay well under the usual 255-byte limit, temporary suffix
    // included; names cut to the same stem are told apart by `claim`.
    out.truncate(MAX_STEM);
    let out = out.trim_end_matches(['-', '.']);
    if out.is_empty() { "unnamed".to_string() } else { out.to_string() }
}

/// The most characters of a name kept in a chart's file name (ASCII after `sanitize`).
const MAX_STEM: usize = 100;

/// The x axis: seconds, shown in hours up to two days and in days beyond.
#[derive(Debug, Clone, Copy)]
struct TimeAxis {
    max_s: u64,
    unit_s: u64,
    unit: &'static str,
}

impl TimeAxis {
    fn new(data_max_s: u64) -> Self {
        let max_s = if data_max_s == 0 { 3600 } else { data_max_s };
        if max_s <= 2 * 86_400 {
            Self { max_s, unit_s: 3600, unit: "h" }
        } else {
            Self { max_s, unit_s: 86_400, unit: "d" }
        }
    }

    fn max_units(self) -> f64 {
        self.max_s as f64 / self.unit_s as f64
    }

    fn desc(self) -> &'static str {
        if self.unit == "h" { "simulated time (hours)" } else { "simulated time (days)" }
    }
}

/// The smallest "round" number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ) that is at least `v`.
fn nice_ceil(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let step = libm::pow(10.0, libm::log10(v).floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0].iter().map(|m| m * step).find(|&c| c >= v).unwrap_or(v)
}

/// A tick or data number without trailing zeros: `3`, `2.5`, `0.25`.
fn number(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}

fn render(spec: &Spec, allocators: &[&str]) -> String {
    let height = TITLE_HEIGHT + PANEL_HEIGHT * spec.panels.len() as u32;
    let axis = TimeAxis::new(spec.panels.iter().map(Panel::x_data_max).max().unwrap_or(0));
    let mut svg = String::new();
    let mut overlay = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        // The SVG backend writes to a String and the naive font only estimates
        // sizes, so drawing can only fail on a layout bug.
        draw(&root, spec, axis, allocators, &mut overlay).expect("drawing a chart into a String");
        root.present().expect("finishing a chart into a String");
    }
    legend(&mut overlay, spec, allocators);

    let close = svg.rfind("</svg>").expect("plotters closes the svg element");
    svg.insert_str(close, &overlay);
    let open_end = svg.find('>').expect("plotters opens an svg element") + 1;
    svg.insert_str(open_end, &format!("\n<title>{}</title>\n", escape(&spec.title)));
    let attributes =
        format!(r#"<svg class="podip-chart" data-chart="{}" data-name="{}" "#, spec.kind, escape(&spec.name));
    svg.replacen("<svg ", &attributes, 1)
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    spec: &Spec,
    axis: TimeAxis,
    allocators: &[&str],
    overlay: &mut String,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    root.fill(&WHITE)?;
    let body = root.titled(&spec.title, (FONT, 20))?;
    let (plots, _legend) = body.split_horizontally(WIDTH - LEGEND_WIDTH);
    let x_label = |v: &f64| format!("{}{}", number(*v), axis.unit);
    let y_label = |v: &f64| number(*v);
    for (area, panel) in plots.split_evenly((spec.panels.len(), 1)).iter().zip(&spec.panels) {
        let y_max = nice_ceil(panel.y_data_max() as f64 * 1.05);
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .margin_right(24)
            .caption(&panel.caption, (FONT, 15))
            .x_label_area_size(44)
            .y_label_area_size(72)
            .build_cartesian_2d(0f64..axis.max_units(), 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_desc(axis.desc())
            .y_desc(panel.y_desc)
            .x_labels(12)
            .y_labels(8)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .max_light_lines(2)
            .light_line_style(RGBColor(244, 244, 244))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()?;
        let (left, bottom) = chart.backend_coord(&(0.0, 0.0));
        let (right, top) = chart.backend_coord(&(axis.max_units(), y_max));
        let frame = Frame {
            axis,
            y_max,
            left: f64::from(left),
            right: f64::from(right),
            top: f64::from(top),
            bottom: f64::from(bottom),
        };
        panel_markup(overlay, panel, &frame, allocators);
    }
    Ok(())
}

/// A panel's data ranges and where `plotters` put them, in pixels.
#[derive(Debug, Clone, Copy)]
struct Frame {
    axis: TimeAxis,
    y_max: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Frame {
    fn x(&self, time_s: u64) -> f64 {
        self.left + time_s as f64 / self.axis.max_s as f64 * (self.right - self.left)
    }

    fn y(&self, value: f64) -> f64 {
        self.bottom - value / self.y_max * (self.bottom - self.top)
    }

    fn columns(&self) -> usize {
        (self.right - self.left).max(1.0) as usize
    }
}

fn panel_markup(out: &mut String, panel: &Panel, f: &Frame, allocators: &[&str]) {
    let _ = writeln!(
        out,
        r#"<g class="axes" data-panel="{}" data-x-unit="s" data-x-min="0" data-x-max="{}" data-y-min="0" data-y-max="{}" data-left="{}" data-right="{}" data-top="{}" data-bottom="{}">"#,
        panel.name,
        f.axis.max_s,
        number(f.y_max),
        f.left,
        f.right,
        f.top,
        f.bottom
    );
    let mut labelled = Vec::new();
    for &(allocator, usable) in &panel.ceilings {
        let y = f.y(usable as f64);
        let _ = writeln!(
            out,
            r#"<line class="ceiling" data-allocator="{}" data-usable="{usable}" x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{CEILING_COLOUR}" stroke-width="1.5" stroke-dasharray="2 3"/>"#,
            escape(allocators[allocator]),
            f.left,
            f.right,
        );
        if !labelled.contains(&usable) {
            labelled.push(usable);
            let _ = writeln!(
                out,
                r#"<text class="ceiling-label" x="{:.1}" y="{:.1}" text-anchor="start" font-family="{FONT}" font-size="12" fill="{CEILING_COLOUR}" stroke="white" stroke-width="3" paint-order="stroke">usable {usable}</text>"#,
                f.left + 6.0,
                y - 4.0,
            );
        }
    }
    for (series, stripe) in panel.series.iter().zip(stripes(&panel.series)) {
        let points = thin(&series.points, f);
        let values = join(points.iter().map(|(t, v)| format!("{t},{v}")));
        let pixels = join(points.iter().map(|&(t, v)| format!("{:.1},{:.1}", f.x(t), f.y(v as f64))));
        let dash = dash_attributes(series.metric, stripe);
        let _ = writeln!(
            out,
            r#"<polyline class="series" data-allocator="{}" data-metric="{}" data-samples="{}" data-values="{values}" points="{pixels}" fill="none" stroke="{}" stroke-width="2"{dash} stroke-linejoin="round"/>"#,
            escape(allocators[series.allocator]),
            series.metric.as_str(),
            series.points.len(),
            colour(series.allocator),
        );
    }
    for m in &merge_close(&panel.markers, f) {
        let (x, y) = (f.x(m.time_s), f.y(m.value));
        let allocator = allocators[m.allocator];
        let plural = if m.count == 1 { "" } else { "s" };
        let when = if m.last_time_s == m.time_s {
            format!("at {}", human_time(m.time_s))
        } else {
            format!("from {} to {}", human_time(m.time_s), human_time(m.last_time_s))
        };
        let tooltip = format!("{allocator}: {} {when} ({} event{plural})", m.kind, m.count);
        let _ = writeln!(
            out,
            r#"<path class="marker-halo" d="{}" stroke="white" stroke-width="6" fill="none"/>"#,
            cross(x, y)
        );
        let _ = writeln!(
            out,
            r#"<path class="marker" data-allocator="{}" data-kind="{}" data-time-s="{}" data-last-time-s="{}" data-value="{}" data-count="{}" d="{}" stroke="{}" stroke-width="2.5" fill="none"><title>{}</title></path>"#,
            escape(allocator),
            m.kind,
            m.time_s,
            m.last_time_s,
            number(m.value),
            m.count,
            cross(x, y),
            colour(m.allocator),
            escape(&tooltip),
        );
    }
    out.push_str("</g>\n");
}

/// Per series, `(its place, how many)` among the series of the same metric
/// with exactly the same points: lines that coincide would hide each other, so
/// they are drawn in turns, each colour one dash of a shared pattern.
fn stripes(series: &[Series]) -> Vec<(usize, usize)> {
    let same = |a: &Series, b: &Series| a.metric == b.metric && a.points == b.points;
    series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let place = series[..i].iter().filter(|o| same(o, s)).count();
            (place, series.iter().filter(|o| same(o, s)).count())
        })
        .collect()
}

/// The dash pattern of a line: the metric's own, cut into turns when
/// `share` lines coincide (see [`stripes`]).
fn dash_attributes(metric: Metric, (place, share): (usize, usize)) -> String {
    const STRIPE: usize = 9;
    let (dash, gap) = match metric.dash() {
        Some(_) => (7, 4),
        None => (STRIPE, 0),
    };
    if share <= 1 {
        return metric.dash().map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default();
    }
    let period = (dash + gap) * share;
    format!(
        r#" stroke-dasharray="{dash} {}" stroke-dashoffset="-{}" data-stripe="{}/{share}""#,
        period - dash,
        (dash + gap) * place,
        place + 1
    )
}

/// Markers of one allocator and kind less than two crosses' width apart would
/// draw a smear of crosses: each run of them becomes the first one, counting
/// them all. (A whole episode of a short subnet can log hundreds of events.)
fn merge_close(markers: &[Marker], f: &Frame) -> Vec<Marker> {
    let mut sorted: Vec<&Marker> = markers.iter().collect();
    sorted.sort_by_key(|m| (m.allocator, m.kind, m.time_s));
    let mut out: Vec<Marker> = Vec::new();
    for m in sorted {
        match out.last_mut() {
            Some(last)
                if last.allocator == m.allocator
                    && last.kind == m.kind
                    && f.x(m.time_s) - f.x(last.time_s) < 4.0 * CROSS_RADIUS =>
            {
                last.count += m.count;
                last.last_time_s = m.last_time_s;
            }
            _ => out.push(m.clone()),
        }
    }
    out.sort_by_key(|m| (m.time_s, m.allocator, m.kind));
    out
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(" ")
}

/// Half the width of an exhaustion marker, in pixels.
const CROSS_RADIUS: f64 = 6.0;

fn cross(x: f64, y: f64) -> String {
    const R: f64 = CROSS_RADIUS;
    format!(
        "M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}",
        x - R,
        y - R,
        x + R,
        y + R,
        x - R,
        y + R,
        x + R,
        y - R
    )
}

/// Keeps every sample of a short series; of a long one (more than four
/// samples per pixel column), the first, lowest, highest and last sample of
/// each column, which draws the same line.
fn thin(points: &[(u64, u64)], f: &Frame) -> Vec<(u64, u64)> {
    let columns = f.columns();
    if points.len() <= 4 * columns {
        return points.to_vec();
    }
    let column = |t: u64| (t as f64 / f.axis.max_s as f64 * columns as f64) as usize;
    let mut out = Vec::new();
    for bucket in points.chunk_by(|a, b| column(a.0) == column(b.0)) {
        let low = (0..bucket.len()).min_by_key(|&i| bucket[i].1).unwrap_or(0);
        let high = (0..bucket.len()).max_by_key(|&i| bucket[i].1).unwrap_or(0);
        let mut keep = [0, low, high, bucket.len() - 1];
        keep.sort_unstable();
        let mut last = None;
        for i in keep {
            if last != Some(i) {
                out.push(bucket[i]);
                last = Some(i);
            }
        }
    }
    out
}

fn legend(out: &mut String, spec: &Spec, allocators: &[&str]) {
    let x = f64::from(WIDTH - LEGEND_WIDTH) + 12.0;
    let mut y = f64::from(TITLE_HEIGHT) + 40.0;
    out.push_str("<g class=\"legend\">\n");
    let present = |a: usize| spec.panels.iter().any(|p| p.series.iter().any(|s| s.allocator == a));
    for (allocator, name) in allocators.iter().enumerate().filter(|(a, _)| present(*a)) {
        let _ = writeln!(
            out,
            r##"<g class="legend-entry" data-allocator="{name}"><line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="3"/><text x="{:.1}" y="{y:.1}" dy="0.35em" font-family="{FONT}" font-size="13" fill="#222222">{name}</text></g>"##,
            x + 28.0,
            colour(allocator),
            x + 36.0,
            name = escape(name),
        );
        y += 22.0;
    }
    y += 12.0;
    for &(key, label) in &spec.styles {
        let glyph = match key {
            Key::Marker => {
                format!(r##"<path d="{}" stroke="#222222" stroke-width="2.5" fill="none"/>"##, cross(x + 14.0, y))
            }
            Key::Ceiling => format!(
                r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{CEILING_COLOUR}" stroke-width="1.5" stroke-dasharray="2 3"/>"#,
                x + 28.0
            ),
            Key::Line(metric) => format!(
                r##"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#222222" stroke-width="2"{}/>"##,
                x + 28.0,
                metric.dash().map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default()
            ),
        };
        let _ = writeln!(
            out,
            r##"<g class="legend-style">{glyph}<text x="{:.1}" y="{y:.1}" dy="0.35em" font-family="{FONT}" font-size="13" fill="#222222">{label}</text></g>"##,
            x + 36.0,
        );
        y += 22.0;
    }
    out.push_str("</g>\n");
}
