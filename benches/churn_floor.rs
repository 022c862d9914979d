//! `benches::floor` on the peer churn: prints the pod subnet's samples as
//! `time_s,allocated,in_use` (the pod rows of podip's `utilization.csv`), then
//! the event count, the peaks and the efficiency (docs/performance.md, "Seventh
//! round"; `benches/race.sh` times it and checks the samples).
//!
//! With `--pod-records`, the floor keeps the model's per-pod state too
//! (`benches::floor::replay_with_pod_records`).
//!
//!   cargo build --release -p benches --example churn_floor
//!   target/release/examples/churn_floor [--pod-records]

use std::io::Write;

use benches::floor::{Churn, replay, replay_with_pod_records};

fn main() -> std::io::Result<()> {
    let outcome = match std::env::args().nth(1).as_deref() {
        None => replay(&Churn::PEER),
        Some("--pod-records") => replay_with_pod_records(&Churn::PEER),
        Some(other) => {
            eprintln!("churn_floor: unknown argument {other:?}; the only one is --pod-records");
            std::process::exit(2);
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (time_s, allocated, in_use) in &outcome.samples {
        writeln!(out, "{time_s},{allocated},{in_use}")?;
    }
    writeln!(out, "events {}", outcome.events)?;
    writeln!(out, "peak_allocated {} peak_in_use {}", outcome.peak_allocated, outcome.peak_in_use)?;
    writeln!(out, "in_use/allocated {:.2} %", outcome.ip_efficiency_pct)?;
    out.flush()
}
