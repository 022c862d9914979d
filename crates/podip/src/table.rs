//! The side-by-side summary `compare` prints.

use cluster::Replay;

/// Render replays as an aligned text table, one row per allocator.
pub fn render(replays: &[&Replay]) -> String {
    let header = [
        "allocator",
        "verdict",
        "peak allocated",
        "busiest range",
        "first exhaustion",
        "nodes failed",
        "max waiting ip",
        "ip efficiency",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in replays {
        let s = &r.summary;
        let first = match (s.first_exhaustion_s, r.events.iter().find(|e| e.kind.is_exhaustion())) {
            (Some(t), Some(e)) => format!("{} {}", human_time(t), e.kind.as_str()),
            _ => "-".to_string(),
        };
        rows.push(vec![
            r.allocator.clone(),
            if s.exhaustion_events > 0 { "exhausts" } else { "fits" }.to_string(),
            format!("{} ({:.1}%)", s.peak_allocated, s.peak_allocated_pct),
            s.busiest_range.clone().unwrap_or_else(|| "-".into()),
            first,
            s.nodes_failed.to_string(),
            s.max_pods_waiting_ip.to_string(),
            s.ip_efficiency_pct.map(|p| format!("{p:.1}%")).unwrap_or_else(|| "-".into()),
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

/// Simulated seconds as a planner reads them: `3d 04:00:00`, `04:00:00`.
pub fn human_time(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let clock = format!("{:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    if days > 0 { format!("{days}d {clock}") } else { clock }
}
