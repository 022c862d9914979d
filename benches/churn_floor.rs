//! `benches::floor` on the peer churn: prints the pod subnet's samples as
//! `time_s,allocated,in_use` (the pod rows of podip's `utilization.csv`), then
//! the event count, the peaks and the efficiency (docs/performance.md, "Seventh
//! round"; `benches/race.sh` times it and checks the samples).
//!
//! With `--pod-records`, the floor keeps the model's per-pod state too
//! (`benches::floor::replay_with_pod_records`); with `--calendar`, it runs on
//! `benches::calendar` instead of the engine's queue. With `--draws`,
//! `--draws-and-queue` or `--draws-and-calendar` (the queue replaced by
//! `benches::calendar`), only those parts of it run (`benches::floor::replay_bare`,
//! the "Eighth round") and it prints what they did.
//!
//! Add `--scale-1m` after a bare part to run it on the churn of
//! `scenarios/scale-1m-pods.yaml` instead (`Churn::SCALE_1M_JOBS`).
//!
//!   cargo build --release -p benches --example churn_floor
//!   target/release/examples/churn_floor [--pod-records | --calendar | --draws | --draws-and-queue | --draws-and-calendar]
//!   target/release/examples/churn_floor (--draws | --draws-and-queue | --draws-and-calendar) --scale-1m

use std::io::Write;

use benches::floor::{Bare, Churn, replay, replay_bare, replay_on_calendar, replay_with_pod_records};

fn main() -> std::io::Result<()> {
    let outcome = match std::env::args().nth(1).as_deref() {
        None => replay(&Churn::PEER),
        Some("--pod-records") => replay_with_pod_records(&Churn::PEER),
        Some("--calendar") => replay_on_calendar(&Churn::PEER),
        Some(bare @ ("--draws" | "--draws-and-queue" | "--draws-and-calendar")) => {
            let part = match bare {
                "--draws" => Bare::Draws,
                "--draws-and-queue" => Bare::DrawsAndQueue,
                _ => Bare::DrawsAndCalendar,
            };
            let churn = match std::env::args().nth(2).as_deref() {
                None => Churn::PEER,
                Some("--scale-1m") => Churn::SCALE_1M_JOBS,
                Some(other) => {
                    eprintln!("churn_floor: unknown argument {other:?} after {bare}; valid: --scale-1m, or none");
                    std::process::exit(2);
                }
            };
            let done = replay_bare(&churn, part);
            println!("arrivals {} events {} drawn_ms {}", done.arrivals, done.events, done.drawn_ms);
            return Ok(());
        }
        Some(other) => {
            eprintln!(
                "churn_floor: unknown argument {other:?}; valid: --pod-records, --calendar, --draws, --draws-and-queue, \
                 --draws-and-calendar, or none"
            );
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
