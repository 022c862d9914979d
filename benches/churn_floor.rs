//! The floor under the peer churn (`benches/peer-churn.yaml`): the same replay
//! written for that one scenario and nothing else, to measure what its work
//! costs with none of the model's generality. It is a measurement, not a second
//! model: it knows that no node comes or goes, that every pod starts the moment
//! it binds and ends only by its lifetime, so a pod end carries its node and no
//! pod record exists. It uses the engine's queue and stream, the ziggurat
//! exponential, `net`'s bitmap pool, `dynamic`'s target rule and a spread index
//! of one bitmap per load, and tracks what the model's tracker tracks per event.
//! It prints the pod subnet's hourly (allocated, in use) and the peaks, which
//! must equal `utilization.csv` and `summary.csv` of `podip run` on the scenario
//! (docs/performance.md, "Seventh round", gives the commands).
//!
//!   cargo build --release -p benches --example churn_floor
//!   target/release/examples/churn_floor > /tmp/floor.txt

use std::io::Write;

use engine::{SimTime, Simulation, Streams};
use net::IndexPool;

const NODES: usize = 100;
const MAX_PODS: u32 = 250;
/// A /16 pod subnet less Azure's 5 reserved addresses.
const POD_SUBNET_USABLE: u32 = 65_531;
const ARRIVALS_PER_HOUR: f64 = 20_000.0;
const MEAN_LIFETIME_MS: f64 = 3_600_000.0;
const DURATION_MS: u64 = 2 * 86_400_000;
const SAMPLE_EVERY_MS: u64 = 3_600_000;

#[derive(Clone, Copy)]
enum Event {
    Arrival,
    /// A pod on this node ends.
    End(u8),
}

/// One dynamic node: what it holds of the pod subnet, its pods (all started).
struct Node {
    held: Vec<u32>,
    pods: u32,
}

/// Spread's pick: the fewest pods, ties by creation order. Nodes by load, one
/// bitmap per load, and the lowest load with a node.
struct Spread {
    by_load: Vec<[u64; NODES.div_ceil(64)]>,
    lowest: usize,
}

impl Spread {
    fn pick(&mut self) -> usize {
        loop {
            let words = &self.by_load[self.lowest];
            if let Some(w) = words.iter().position(|&w| w != 0) {
                return w * 64 + words[w].trailing_zeros() as usize;
            }
            self.lowest += 1;
        }
    }

    fn moved(&mut self, node: usize, from: u32, to: u32) {
        self.by_load[from as usize][node / 64] &= !(1 << (node % 64));
        self.by_load[to as usize][node / 64] |= 1 << (node % 64);
        self.lowest = self.lowest.min(to as usize);
    }
}

/// dynamic's rule: the primary plus 16 × ceil(0.5 + demand / 16), capped.
fn wanted(demand: u32) -> u32 {
    1 + dynamic::target_for(demand, MAX_PODS)
}

/// `x.round()` for the draws' range (0 < x < 2^52), without the libm call, as
/// the model's `millis` does it.
fn millis(x: f64) -> u64 {
    let whole = x as i64;
    (whole + i64::from(x - whole as f64 >= 0.5)) as u64
}

fn main() {
    let mut rng = Streams::new(1).stream("churn/churn");
    let rate_per_ms = ARRIVALS_PER_HOUR / 3_600_000.0;
    let mut sim: Simulation<Event> = Simulation::new();
    let mut subnet = IndexPool::new(POD_SUBNET_USABLE);
    let mut nodes: Vec<Node> = (0..NODES).map(|_| Node { held: Vec::with_capacity(251), pods: 0 }).collect();
    for node in &mut nodes {
        subnet.take_lowest_many(wanted(0), &mut node.held);
    }
    let mut in_use = NODES as u64; // the primaries
    let mut spread = Spread { by_load: vec![[0; NODES.div_ceil(64)]; MAX_PODS as usize + 1], lowest: 0 };
    for node in 0..NODES {
        spread.by_load[0][node / 64] |= 1 << (node % 64);
    }
    // The tracker's per-event work: peaks and the time-weighted in-use ratio.
    let (mut peak_allocated, mut peak_in_use) = (u64::from(subnet.allocated()), in_use);
    let (mut weighted, mut weighted_time, mut last_change) = (0.0f64, 0.0f64, 0u64);
    let mut ratio = (in_use + NODES as u64) as f64 / (u64::from(subnet.allocated()) + NODES as u64) as f64;

    let first = millis(cluster::standard_exponential(&mut rng) / rate_per_ms);
    sim.schedule(SimTime::from_millis(first), Event::Arrival);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut sample_at = 0u64;
    loop {
        while let Some((now, event)) = sim.pop_until(SimTime::from_millis(sample_at)) {
            let now = now.as_millis();
            let (node, from, to) = match event {
                Event::Arrival => {
                    let lifetime = millis(cluster::standard_exponential(&mut rng) * MEAN_LIFETIME_MS);
                    let gap = millis(cluster::standard_exponential(&mut rng) / rate_per_ms);
                    let node = spread.pick();
                    sim.schedule(SimTime::from_millis(now + lifetime), Event::End(node as u8));
                    if now + gap <= DURATION_MS {
                        sim.schedule(SimTime::from_millis(now + gap), Event::Arrival);
                    }
                    in_use += 1;
                    let pods = nodes[node].pods;
                    (node, pods, pods + 1)
                }
                Event::End(node) => {
                    in_use -= 1;
                    let pods = nodes[node as usize].pods;
                    (node as usize, pods, pods - 1)
                }
            };
            let n = &mut nodes[node];
            n.pods = to;
            spread.moved(node, from, to);
            let want = wanted(to) as usize;
            if n.held.len() < want {
                subnet.take_lowest_many((want - n.held.len()) as u32, &mut n.held);
            } else if n.held.len() > want {
                subnet.give_back_many(&n.held[want..]);
                n.held.truncate(want);
            }
            let allocated = u64::from(subnet.allocated());
            weighted += ratio * (now - last_change) as f64;
            weighted_time += (now - last_change) as f64;
            last_change = now;
            // Both VNet subnets count: the node subnet holds the 100 node IPs, all in use.
            ratio = (in_use + NODES as u64) as f64 / (allocated + NODES as u64) as f64;
            peak_allocated = peak_allocated.max(allocated);
            peak_in_use = peak_in_use.max(in_use);
        }
        writeln!(out, "{},{},{}", sample_at / 1000, subnet.allocated(), in_use).expect("stdout");
        if sample_at >= DURATION_MS {
            break;
        }
        sample_at = (sample_at + SAMPLE_EVERY_MS).min(DURATION_MS);
    }
    weighted += ratio * (DURATION_MS - last_change) as f64;
    weighted_time += (DURATION_MS - last_change) as f64;
    writeln!(out, "events {}", sim.processed()).expect("stdout");
    writeln!(out, "peak_allocated {peak_allocated} peak_in_use {peak_in_use}").expect("stdout");
    writeln!(out, "in_use/allocated {:.2} %", 100.0 * weighted / weighted_time).expect("stdout");
}
