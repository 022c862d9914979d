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

const USAGE: &str = "usage: churn_floor [--pod-records | --calendar | --draws | --draws-and-queue | \
                     --draws-and-calendar] [--scale-1m, after a bare part only]";

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let bare = |part: &str| match part {
        "--draws" => Some(Bare::Draws),
        "--draws-and-queue" => Some(Bare::DrawsAndQueue),
        "--draws-and-calendar" => Some(Bare::DrawsAndCalendar),
        _ => None,
    };
    let outcome = match args[..] {
        [] => replay(&Churn::PEER),
        ["--pod-records"] => replay_with_pod_records(&Churn::PEER),
        ["--calendar"] => replay_on_calendar(&Churn::PEER),
        [part] | [part, "--scale-1m"] if bare(part).is_some() => {
            let churn = if args.len() == 2 { Churn::SCALE_1M_JOBS } else { Churn::PEER };
            let done = replay_bare(&churn, bare(part).expect("a bare part"));
            println!("arrivals {} events {} drawn_ms {}", done.arrivals, done.events, done.drawn_ms);
            return Ok(());
        }
        _ => {
            eprintln!("churn_floor: cannot run {args:?}\n{USAGE}");
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
