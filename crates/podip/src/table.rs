//! The side-by-side summary `compare` prints (and report.html repeats): one
//! column per allocator, one row per figure, so it stays narrow however many
//! address ranges the scenario has.

use cluster::Replay;
use report::{human_time, range_levels};

/// What a cell shows when the figure does not apply, e.g. a pod CIDR under an
/// allocator that has none.
const NOT_APPLICABLE: &str = "n/a";
/// What a cell shows when it never happened.
const NEVER: &str = "-";

/// Render replays as an aligned text table, one column per allocator.
pub fn render(replays: &[&Replay]) -> String {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: &str, cells: Vec<String>| rows.push((label.to_string(), cells));
    let each = |f: &dyn Fn(&Replay) -> String| replays.iter().map(|r| f(r)).collect::<Vec<_>>();
    let when = |t: Option<u64>| t.map_or_else(|| NEVER.to_string(), human_time);

    row("allocator", each(&|r| r.allocator.clone()));
    row("verdict", each(&|r| report::verdict(&r.summary).to_string()));
    row("peak allocated", each(&|r| r.summary.peak_allocated.to_string()));
    row(
        "  of busiest range",
        each(&|r| {
            let s = &r.summary;
            s.busiest_range
                .as_ref()
                .map_or_else(|| NEVER.to_string(), |b| format!("{:.1}% of {b}", s.peak_allocated_pct))
        }),
    );

    // Every range any replay has, in first-seen order.
    let levels: Vec<_> = replays.iter().map(|r| range_levels(r)).collect();
    let mut names: Vec<&str> = Vec::new();
    for level in levels.iter().flatten() {
        if !names.contains(&level.range.as_str()) {
            names.push(&level.range);
        }
    }
    for name in names {
        for (pct, pick) in [("80%", 0), ("100%", 1)] {
            let cells = levels
                .iter()
                .map(|ls| match ls.iter().find(|l| l.range == name) {
                    None => NOT_APPLICABLE.to_string(),
                    Some(l) => when(if pick == 0 { l.passed_80_s } else { l.passed_100_s }),
                })
                .collect();
            row(&format!("{name} {pct} at"), cells);
        }
    }

    row(
        "first exhaustion",
        each(&|r| report::first_exhaustion(r).map_or_else(|| NEVER.to_string(), |e| human_time(e.time_s))),
    );
    row(
        "  kind",
        each(&|r| report::first_exhaustion(r).map_or_else(|| NEVER.to_string(), |e| e.kind.as_str().to_string())),
    );
    row("exhaustion events", each(&|r| r.summary.exhaustion_events.to_string()));
    row("nodes not created", each(&|r| r.summary.nodes_failed.to_string()));
    row("max pods waiting for ip", each(&|r| r.summary.max_pods_waiting_ip.to_string()));
    row(
        "ip efficiency",
        each(&|r| r.summary.ip_efficiency_pct.map_or_else(|| NOT_APPLICABLE.to_string(), |p| format!("{p:.1}%"))),
    );

    let label_width = rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..replays.len()).map(|c| rows.iter().map(|(_, cells)| cells[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (label, cells) in &rows {
        let mut line = format!("{label:<label_width$}");
        for (cell, w) in cells.iter().zip(&widths) {
            line.push_str(&format!("  {cell:<w$}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("times: days and hh:mm[:ss] of simulated time (summary.csv has them in seconds)\n");
    out
}
