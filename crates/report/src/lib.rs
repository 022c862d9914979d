//! Charts and the HTML report for one or more replays of the same scenario.
//!
//! Everything here is a pure function from [`cluster::Replay`] values to
//! strings: the library does no file I/O, the binary writes what it returns.
//!
//! - [`charts`] draws one SVG per address range (allocated and in-use addresses
//!   over time, one line per allocator, the usable ceiling, exhaustion events
//!   marked) and one per node pool (nodes, running pods and pods waiting for
//!   an IP over time). The
//!   frame (title, axes, ticks, grid, axis labels) is drawn by `plotters`'
//!   SVG backend, whose text is plain SVG `<text>` that needs no font library;
//!   the data (series, ceilings, markers, legend) is written as SVG elements
//!   with `data-*` attributes, so a test or a script can read back exactly what
//!   a chart shows. See [`chart`] for the markup.
//! - [`report_html`] puts the summary table, the charts and the events table on
//!   one self-contained page (no scripts, no external assets) that is also
//!   well-formed XML.
//! - [`plan_html`] is the `report.html` of `podip plan`: the plan's table, each
//!   allocator's risk, verification and failures no size fixes, and a chart of
//!   required vs current capacity per range (hand-written inline SVG), on the
//!   same kind of page.
//! - [`human_time`], [`verdict`], [`first_exhaustion`] and [`range_levels`] are
//!   the figures both the page and a text table show, so they agree.

pub mod chart;
mod html;
mod plan;

use cluster::{EventRecord, Replay, Summary};

pub use self::plan::{PLAN_CSV_FILES, plan_html};
pub use chart::{Chart, charts};
pub use html::{EVENTS_SHOWN, blocks_per_node, report_html};

/// The CSV files a report may link to; they sit next to `report.html`.
pub const CSV_FILES: [&str; 4] = ["summary.csv", "utilization.csv", "cluster.csv", "events.csv"];

/// Simulated seconds as a planner reads them: days, then the clock to the
/// minute, `3d 04:00`; the seconds only when there are any, `0d 00:12:20`.
pub fn human_time(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hours, minutes, seconds) = (rest / 3600, rest % 3600 / 60, rest % 60);
    if seconds == 0 {
        format!("{days}d {hours:02}:{minutes:02}")
    } else {
        format!("{days}d {hours:02}:{minutes:02}:{seconds:02}")
    }
}

/// The one-word verdict: `exhausts` if any exhaustion event happened, else `fits`.
pub fn verdict(summary: &Summary) -> &'static str {
    if summary.exhaustion_events > 0 || summary.first_exhaustion_s.is_some() { "exhausts" } else { "fits" }
}

/// The first event of an exhaustion kind (the earliest; ties go to the first logged).
pub fn first_exhaustion(replay: &Replay) -> Option<&EventRecord> {
    replay.events.iter().filter(|e| e.kind.is_exhaustion()).min_by_key(|e| e.time_s)
}

/// How full one address range got in one replay.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeLevels {
    pub range: String,
    pub is_vnet_subnet: bool,
    /// The largest `usable` sampled.
    pub usable: u64,
    /// The peak `allocated` (exact), and as a percentage of `usable`.
    pub peak_allocated: u64,
    pub peak_allocated_pct: Option<f64>,
    /// When `allocated` first reached 80 % / 100 % of `usable` (exact).
    pub passed_80_s: Option<u64>,
    pub passed_100_s: Option<u64>,
    /// The sample with the fewest free aligned /28s (the first, on a tie):
    /// how fragmented the range got, beside its free addresses then.
    pub fewest_free_28s: Option<FreeBlocks>,
}

/// A range's free aligned /28s and free addresses at one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeBlocks {
    pub time_s: u64,
    pub blocks: u64,
    pub addresses: u64,
}

/// [`RangeLevels`] for every range of a replay, in the replay's range order,
/// from the exact per-range figures of its summary.
pub fn range_levels(replay: &Replay) -> Vec<RangeLevels> {
    let mut usable = vec![0u64; replay.ranges.len()];
    let mut fewest: Vec<Option<FreeBlocks>> = vec![None; replay.ranges.len()];
    for sample in &replay.utilization {
        if let Some(u) = usable.get_mut(sample.range as usize) {
            *u = (*u).max(sample.usable);
        }
        if let Some(f) = fewest.get_mut(sample.range as usize)
            && f.is_none_or(|f| sample.free_blocks_28 < f.blocks)
        {
            let addresses = sample.usable - sample.allocated;
            *f = Some(FreeBlocks { time_s: sample.time_s, blocks: sample.free_blocks_28, addresses });
        }
    }
    replay
        .ranges
        .iter()
        .zip(usable)
        .enumerate()
        .map(|(i, (info, usable))| {
            let exact = replay.summary.ranges.get(i).copied().unwrap_or_default();
            RangeLevels {
                range: info.name.clone(),
                is_vnet_subnet: info.is_vnet_subnet,
                usable,
                peak_allocated: exact.peak_allocated,
                peak_allocated_pct: (usable > 0).then(|| 100.0 * exact.peak_allocated as f64 / usable as f64),
                passed_80_s: exact.first_80_pct_s,
                passed_100_s: exact.first_100_pct_s,
                fewest_free_28s: fewest[i],
            }
        })
        .collect()
}

/// Escape text for XML and HTML, in element content and in quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_time_formats_days_and_clock() {
        assert_eq!(human_time(0), "0d 00:00");
        assert_eq!(human_time(4 * 3600), "0d 04:00");
        assert_eq!(human_time(3 * 86_400 + 4 * 3600), "3d 04:00");
        assert_eq!(human_time(740), "0d 00:12:20");
        assert_eq!(human_time(86_400 + 61), "1d 00:01:01");
    }

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(escape(r#"<a & 'b' "c">"#), "&lt;a &amp; &#39;b&#39; &quot;c&quot;&gt;");
    }
}
