//! `benches::floor` on the peer churn: prints the pod subnet's samples as
//! `time_s,allocated,in_use` (the pod rows of podip's `utilization.csv`), then
//! the event count, the peaks and the efficiency (docs/performance.md, "Seventh
//! round"; `benches/race.sh` times it and checks the samples).
//!
//!   cargo build --release -p benches --example churn_floor
//!   target/release/examples/churn_floor

use std::io::Write;

fn main() -> std::io::Result<()> {
    let outcome = benches::floor::replay(&benches::floor::Churn::PEER);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (time_s, allocated, in_use) in &outcome.samples {
        writeln!(out, "{time_s},{allocated},{in_use}")?;
    }
    writeln!(out, "events {}", outcome.events)?;
    writeln!(out, "peak_allocated {} peak_in_use {}", outcome.peak_allocated, outcome.peak_in_use)?;
    writeln!(out, "in_use/allocated {:.2} %", outcome.ip_efficiency_pct)?;
    out.flush()
}
