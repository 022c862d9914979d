//! The side-by-side summary `compare` prints (and report.html repeats).

use cluster::Replay;
use report::human_time;

/// Render replays as an aligned text table, one row per allocator.
pub fn render(replays: &[&Replay]) -> String {
    let header = [
        "allocator",
        "verdict",
        "peak allocated",
        "busiest range",
        "80% at",
        "100% at",
        "first exhaustion",
        "nodes failed",
        "max waiting ip",
        "ip efficiency",
    ];
    let when = |t: Option<u64>| t.map_or_else(|| "-".to_string(), human_time);
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in replays {
        let s = &r.summary;
        let first = report::first_exhaustion(r)
            .map_or_else(|| "-".to_string(), |e| format!("{} {}", human_time(e.time_s), e.kind.as_str()));
        rows.push(vec![
            r.allocator.clone(),
            report::verdict(s).to_string(),
            format!("{} ({:.1}%)", s.peak_allocated, s.peak_allocated_pct),
            s.busiest_range.clone().unwrap_or_else(|| "-".into()),
            when(s.first_80_pct_s),
            when(s.first_100_pct_s),
            first,
            s.nodes_failed.to_string(),
            s.max_pods_waiting_ip.to_string(),
            s.ip_efficiency_pct.map_or_else(|| "-".into(), |p| format!("{p:.1}%")),
        ]);
    }
    let widths: Vec<usize> =
        (0..header.len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
