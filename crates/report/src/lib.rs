//! Charts and the HTML report for one or more replays of the same scenario.
//!
//! Everything here is a pure function from [`cluster::Replay`] values to
//! strings: the library does no file I/O, the binary writes what it returns.
//!
//! - [`charts`] draws one SVG per address range (allocated and in-use addresses
//!   over time, one line per allocator, the usable ceiling, exhaustion events
//!   marked) and one per node pool (nodes and running pods over time). The
//!   frame (title, axes, ticks, grid, axis labels) is drawn by `plotters`'
//!   SVG backend, whose text is plain SVG `<text>` that needs no font library;
//!   the data (series, ceilings, markers, legend) is written as SVG elements
//!   with `data-*` attributes, so a test or a script can read back exactly what
//!   a chart shows. See [`chart`] for the markup.
//! - [`report_html`] puts the summary table, the charts and the events table on
//!   one self-contained page (no scripts, no external assets) that is also
//!   well-formed XML.
//! - [`human_time`], [`verdict`], [`first_exhaustion`] and [`range_levels`] are
//!   the figures both the page and a text table show, so they agree.

pub mod chart;
mod html;

use cluster::{EventRecord, Replay, Summary};

pub use chart::{Chart, charts};
pub use html::{EVENTS_SHOWN, report_html};

/// The CSV files a report may link to; they sit next to `report.html`.
pub const CSV_FILES: [&str; 4] = ["summary.csv", "utilization.csv", "cluster.csv", "events.csv"];

/// Simulated seconds as a planner reads them: `3d 04:00:00`, or `04:00:00`
/// under a day.
pub fn human_time(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hours, minutes, seconds) = (rest / 3600, rest % 3600 / 60, rest % 60);
    if days > 0 {
        format!("{days}d {hours:02}:{minutes:02}:{seconds:02}")
    } else {
        format!("{hours:02}:{minutes:02}:{seconds:02}")
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

/// How full one address range got in one replay, read off the samples.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeLevels {
    pub range: String,
    pub is_vnet_subnet: bool,
    /// The largest `usable` sampled.
    pub usable: u64,
    /// The largest `allocated` sampled, and as a percentage of `usable`.
    pub peak_allocated: u64,
    pub peak_allocated_pct: Option<f64>,
    /// The first sample time at which `allocated` was at least 80 % / 100 % of `usable`.
    pub passed_80_s: Option<u64>,
    pub passed_100_s: Option<u64>,
}

/// [`RangeLevels`] for every range of a replay, in the replay's range order.
///
/// Unlike `summary.csv` these come from the samples, so a crossing is dated
/// by the first sample that shows it.
pub fn range_levels(replay: &Replay) -> Vec<RangeLevels> {
    let mut levels: Vec<RangeLevels> = replay
        .ranges
        .iter()
        .map(|r| RangeLevels {
            range: r.name.clone(),
            is_vnet_subnet: r.is_vnet_subnet,
            usable: 0,
            peak_allocated: 0,
            peak_allocated_pct: None,
            passed_80_s: None,
            passed_100_s: None,
        })
        .collect();
    for sample in &replay.utilization {
        let Some(level) = levels.get_mut(sample.range as usize) else { continue };
        level.usable = level.usable.max(sample.usable);
        level.peak_allocated = level.peak_allocated.max(sample.allocated);
        let reached = |pct: u64| {
            sample.usable > 0 && u128::from(sample.allocated) * 100 >= u128::from(sample.usable) * u128::from(pct)
        };
        if level.passed_80_s.is_none() && reached(80) {
            level.passed_80_s = Some(sample.time_s);
        }
        if level.passed_100_s.is_none() && reached(100) {
            level.passed_100_s = Some(sample.time_s);
        }
    }
    for level in &mut levels {
        level.peak_allocated_pct =
            (level.usable > 0).then(|| 100.0 * level.peak_allocated as f64 / level.usable as f64);
    }
    levels
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
        assert_eq!(human_time(0), "00:00:00");
        assert_eq!(human_time(4 * 3600), "04:00:00");
        assert_eq!(human_time(3 * 86_400 + 4 * 3600), "3d 04:00:00");
        assert_eq!(human_time(86_400 + 61), "1d 00:01:01");
    }

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(escape(r#"<a & 'b' "c">"#), "&lt;a &amp; &#39;b&#39; &quot;c&quot;&gt;");
    }
}
