//! `report.html`: one self-contained page that is also well-formed XML.

use std::fmt::Write as _;

use cluster::{EventRecord, Replay};

use crate::chart::Chart;
use crate::{CSV_FILES, escape, first_exhaustion, human_time, range_levels, verdict};

/// The events table shows at most this many rows; `events.csv` has them all.
pub const EVENTS_SHOWN: usize = 1000;

const STYLE: &str = "
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1240px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td:first-child { white-space: nowrap; }
.fits { color: #1a7f37; font-weight: bold; } .exhausts { color: #c62828; font-weight: bold; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
.note { color: #555; }
";

/// The whole page: `title`, the summary table built from the replays' summaries,
/// `table` (a preformatted text table, e.g. the one printed on stdout; left out
/// when empty), how full each range got, the `charts` inline, and the events
/// (the first [`EVENTS_SHOWN`] in time order). Links only to the CSV files in
/// the same folder ([`crate::CSV_FILES`]); no scripts, no external assets.
pub fn report_html(title: &str, replays: &[&Replay], charts: &[Chart], table: &str) -> String {
    let mut page = String::new();
    head(&mut page, title, "");
    let links: Vec<String> = CSV_FILES.iter().map(|f| format!("<a href=\"{f}\">{f}</a>")).collect();
    let _ = writeln!(page, "<p class=\"note\">Data: {}.</p>", links.join(", "));

    page.push_str("<h2>Summary</h2>\n");
    summary_table(&mut page, replays);
    printed(&mut page, table);

    page.push_str("<h2>Address ranges</h2>\n");
    levels_table(&mut page, replays);
    blocks_table(&mut page, replays);

    if !charts.is_empty() {
        page.push_str("<h2>Charts</h2>\n");
        for chart in charts {
            let id = chart.file_name.trim_end_matches(".svg");
            let _ = writeln!(page, "<figure id=\"{}\">\n{}</figure>", escape(id), chart.svg.trim_end());
        }
    }

    page.push_str("<h2>Events</h2>\n");
    events_table(&mut page, replays);
    page.push_str("</body>\n</html>\n");
    page
}

/// The page up to and including `<h1>title</h1>`: the doctype, the head with
/// [`STYLE`] followed by `extra_style`, and the opening `<body>`.
pub(crate) fn head(page: &mut String, title: &str, extra_style: &str) {
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>{}</title>\n<style>{STYLE}{extra_style}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
}

/// `table` (what podip printed) in a collapsed `<details>`; nothing when it is blank.
pub(crate) fn printed(page: &mut String, table: &str) {
    if !table.trim().is_empty() {
        let _ = writeln!(
            page,
            "<details>\n<summary>As printed by podip</summary>\n<pre>{}</pre>\n</details>",
            escape(table.trim_end())
        );
    }
}

fn summary_table(page: &mut String, replays: &[&Replay]) {
    page.push_str(
        "<p class=\"note\">Peak allocated: of the busiest VNet subnet. 80 % and 100 %: when any VNet subnet \
         first had that share of its usable addresses allocated (each range in the next table). \
         Times are days and hours of simulated time.</p>\n\
         <table class=\"summary\">\n<thead><tr><th>allocator</th><th>verdict</th><th>peak allocated</th>\
         <th>busiest range</th><th>80 % at</th><th>100 % at</th><th>first exhaustion</th><th>kind</th>\
         <th>exhaustion events</th><th>nodes not created</th><th>max pods waiting for IP</th><th>IP efficiency</th>\
         </tr></thead>\n<tbody>\n",
    );
    for replay in replays {
        let s = &replay.summary;
        let verdict = verdict(s);
        let first = first_exhaustion(replay);
        let first_time = s.first_exhaustion_s.or(first.map(|e| e.time_s));
        let when = |t: Option<u64>| t.map_or("—".to_string(), human_time);
        let cells = [
            cell("", &replay.allocator),
            cell(verdict, verdict),
            cell("num", &format!("{} ({:.1} %)", s.peak_allocated, s.peak_allocated_pct)),
            cell("", s.busiest_range.as_deref().unwrap_or("—")),
            cell("num", &when(s.first_80_pct_s)),
            cell("num", &when(s.first_100_pct_s)),
            cell("num", &when(first_time)),
            cell("", first.map_or("—", |e| e.kind.as_str())),
            cell("num", &s.exhaustion_events.to_string()),
            cell("num", &s.nodes_failed.to_string()),
            cell("num", &s.max_pods_waiting_ip.to_string()),
            cell("num", &s.ip_efficiency_pct.map_or("—".to_string(), |p| format!("{p:.1} %"))),
        ];
        let _ = writeln!(page, "<tr>{}</tr>", cells.concat());
    }
    page.push_str("</tbody>\n</table>\n");
}

fn levels_table(page: &mut String, replays: &[&Replay]) {
    page.push_str(
        "<p class=\"note\">Every range of every allocator, VNet subnets and pod CIDRs; \
         peaks and times are exact (tracked at every change, not read off the samples). \
         Fewest free /28s: the sample with the fewest wholly free aligned /28 blocks, and the free addresses \
         then: what AWS prefix delegation could still take (a prefix needs a free /28, not 16 free addresses).</p>\n\
         <table class=\"levels\">\n<thead><tr><th>range</th><th>allocator</th><th>usable</th>\
         <th>peak allocated</th><th>passed 80 %</th><th>passed 100 %</th><th>fewest free /28s (sampled)</th>\
         </tr></thead>\n<tbody>\n",
    );
    // Grouped by range (first-seen order), allocators in replay order.
    let per_replay: Vec<_> = replays.iter().map(|r| range_levels(r)).collect();
    let mut names: Vec<&str> = Vec::new();
    for level in per_replay.iter().flatten() {
        if !names.contains(&level.range.as_str()) {
            names.push(&level.range);
        }
    }
    let when = |t: Option<u64>| t.map_or("—".to_string(), human_time);
    for name in names {
        for (replay, levels) in replays.iter().zip(&per_replay) {
            let Some(level) = levels.iter().find(|l| l.range == name) else { continue };
            let pct = level.peak_allocated_pct.map_or(String::new(), |p| format!(" ({p:.1} %)"));
            let cells = [
                cell("", &level.range),
                cell("", &replay.allocator),
                cell("num", &level.usable.to_string()),
                cell("num", &format!("{}{pct}", level.peak_allocated)),
                cell("num", &when(level.passed_80_s)),
                cell("num", &when(level.passed_100_s)),
                cell(
                    "num",
                    &level.fewest_free_28s.map_or("—".to_string(), |f| {
                        format!("{} with {} addresses free, at {}", f.blocks, f.addresses, human_time(f.time_s))
                    }),
                ),
            ];
            let _ = writeln!(page, "<tr>{}</tr>", cells.concat());
        }
    }
    page.push_str("</tbody>\n</table>\n");
}

/// Blocks claimed per node over a sample: (time, blocks claimed, nodes).
pub fn blocks_per_node(replay: &Replay, range: usize) -> Vec<(u64, u64, u64)> {
    let info = &replay.ranges[range];
    let Some(block) = info.block.filter(|&b| b > 0) else { return Vec::new() };
    // A pod CIDR is named `<cluster>/pod-cidr`: its nodes are that cluster's.
    let cluster = info.name.strip_suffix("/pod-cidr").unwrap_or(&info.name);
    let pools: Vec<u32> =
        replay.pools.iter().enumerate().filter(|(_, p)| p.cluster == cluster).map(|(i, _)| i as u32).collect();
    replay
        .utilization
        .iter()
        .filter(|s| s.range as usize == range)
        .map(|s| {
            let nodes: u64 = replay
                .cluster
                .iter()
                .filter(|c| c.time_s == s.time_s && pools.contains(&c.pool))
                .map(|c| u64::from(c.nodes))
                .sum();
            (s.time_s, s.allocated / block, nodes)
        })
        .collect()
}

/// Where a mode claims a range in blocks (Calico), how many each node holds:
/// blocks stay claimed after they empty, so this is where a leak shows.
fn blocks_table(page: &mut String, replays: &[&Replay]) {
    let mut rows = Vec::new();
    for replay in replays {
        for (i, info) in replay.ranges.iter().enumerate() {
            let series = blocks_per_node(replay, i);
            let Some(&(_, end_blocks, end_nodes)) = series.last() else { continue };
            let per = |blocks: u64, nodes: u64| {
                if nodes == 0 { "—".to_string() } else { format!("{:.2}", blocks as f64 / nodes as f64) }
            };
            let peak =
                series.iter().filter(|s| s.2 > 0).max_by(|a, b| (a.1 * b.2).cmp(&(b.1 * a.2)).then(b.0.cmp(&a.0)));
            let (peak_text, peak_at) = peak.map_or(("—".to_string(), "—".to_string()), |&(t, b, n)| {
                (format!("{} ({b} on {n} nodes)", per(b, n)), human_time(t))
            });
            let cells = [
                cell("", &info.name),
                cell("", &replay.allocator),
                cell("num", &info.block.unwrap_or(0).to_string()),
                cell("num", &peak_text),
                cell("num", &peak_at),
                cell("num", &format!("{} ({end_blocks} on {end_nodes} nodes)", per(end_blocks, end_nodes))),
            ];
            rows.push(format!("<tr>{}</tr>", cells.concat()));
        }
    }
    if rows.is_empty() {
        return;
    }
    page.push_str(
        "<h3>Blocks claimed per node</h3>\n<p class=\"note\">Ranges a mode claims in blocks of its own \
         (Calico's IPAM blocks), sampled: claimed blocks ÷ the cluster's nodes. Empty blocks stay claimed \
         until released, so a high count with few pods is a leak.</p>\n\
         <table class=\"blocks\">\n<thead><tr><th>range</th><th>allocator</th><th>block (addresses)</th>\
         <th>most per node</th><th>at</th><th>at the end</th></tr></thead>\n<tbody>\n",
    );
    for row in rows {
        page.push_str(&row);
        page.push('\n');
    }
    page.push_str("</tbody>\n</table>\n");
}

fn events_table(page: &mut String, replays: &[&Replay]) {
    // Every replay's events are in time order; a stable sort by time merges
    // them, ties in allocator order.
    let mut events: Vec<(&str, &EventRecord)> =
        replays.iter().flat_map(|r| r.events.iter().map(|e| (r.allocator.as_str(), e))).collect();
    events.sort_by_key(|(_, e)| e.time_s);
    let total = events.len();
    if total == 0 {
        page.push_str("<p>No exhaustion or failure events.</p>\n");
        return;
    }
    if total > EVENTS_SHOWN {
        let _ = writeln!(
            page,
            "<p>The first {EVENTS_SHOWN} of {total} events; {} more are in <a href=\"events.csv\">events.csv</a>.</p>",
            total - EVENTS_SHOWN
        );
    } else {
        let _ = writeln!(page, "<p>{total} event{}.</p>", if total == 1 { "" } else { "s" });
    }
    page.push_str(
        "<table class=\"events\">\n<thead><tr><th>time</th><th>allocator</th><th>kind</th><th>cluster</th>\
         <th>pool</th><th>node</th><th>range</th><th>detail</th></tr></thead>\n<tbody>\n",
    );
    for (allocator, e) in events.into_iter().take(EVENTS_SHOWN) {
        let cells = [
            cell("num", &human_time(e.time_s)),
            cell("", allocator),
            cell("", e.kind.as_str()),
            cell("", &e.cluster),
            cell("", &e.pool),
            cell("", &e.node),
            cell("", &e.range),
            cell("", &e.detail),
        ];
        let _ = writeln!(page, "<tr>{}</tr>", cells.concat());
    }
    page.push_str("</tbody>\n</table>\n");
}

/// A `<td>` with `text` escaped, of `class` unless it is empty.
pub(crate) fn cell(class: &str, text: &str) -> String {
    if class.is_empty() {
        format!("<td>{}</td>", escape(text))
    } else {
        format!("<td class=\"{class}\">{}</td>", escape(text))
    }
}
