//! How big a replay of a validated scenario will be, estimated before it runs,
//! so one too large to run is refused with a clear message instead of being
//! killed for lack of memory or running silently for hours.
//!
//! The figures are upper-bound estimates, computed in floating point (they can
//! be astronomically large: `arrivals_per_hour: 1e12` over a year) and compared
//! with [`Limits`], which the binary exposes as flags.

use crate::model::{Action, Lifetime, Scenario, WorkloadKind};

/// A replay's size, estimated from the scenario alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Pods alive at once, at most: deployments at their largest replicas plus a
    /// rollout's 25 % surge, a daemonset pod per node, and per churn stream its
    /// mean population (arrival rate × mean lifetime, Little's law) times 4 for
    /// the peaks — or all its arrivals, if fewer.
    pub live_pods: f64,
    /// Events waiting in the queue at once: one per live churn pod (its end),
    /// per node (ready or drained), per timeline event, per workload (a churn
    /// stream's next arrival), and one autoscaler scan.
    pub pending_events: f64,
    /// Simulation events processed over the whole run: two per churn arrival
    /// (arrival and end), the autoscaler's scans, timeline and node events.
    pub events: f64,
    /// Rows of `utilization.csv` and `cluster.csv`: one per sample and range, one
    /// per sample and pool.
    pub output_rows: f64,
}

/// The most a run may take; each is a flag of `podip run` and `compare`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_live_pods: f64,
    pub max_pending_events: f64,
    pub max_events: f64,
    pub max_output_rows: f64,
}

impl Limits {
    /// A million-pod cluster (about 1 GB) with room to spare; about 10 minutes
    /// of simulation at a few million events a second; output files of a few
    /// GB at most.
    pub const DEFAULT: Limits = Limits {
        max_live_pods: 10_000_000.0,
        max_pending_events: 20_000_000.0,
        max_events: 2_000_000_000.0,
        max_output_rows: 20_000_000.0,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which limit an estimate exceeds, with the flag that raises it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "too large to run: about {} {what}, over the limit of {} (raise it with {flag} if the machine can take it, \
     or shrink the scenario)",
    approx(*estimate),
    approx(*limit)
)]
pub struct LimitExceeded {
    pub what: &'static str,
    pub estimate: f64,
    pub limit: f64,
    pub flag: &'static str,
}

/// A count for a message: exact below a million, else in scientific notation.
fn approx(x: f64) -> String {
    if x < 1e6 { format!("{}", x.ceil() as u64) } else { format!("{x:.2e}") }
}

impl Estimate {
    /// Several replays (`compare`: one per allocator, each with its own ranges)
    /// of which at most `at_once` run together: the largest one's live pods and
    /// pending events `at_once` times, every replay's events and output rows
    /// (all outputs stay in memory until they are written).
    pub fn of_replays(replays: &[Estimate], at_once: usize) -> Estimate {
        let at_once = at_once.clamp(1, replays.len().max(1)) as f64;
        let largest = |f: fn(&Estimate) -> f64| replays.iter().map(f).fold(0.0, f64::max);
        Estimate {
            live_pods: largest(|e| e.live_pods) * at_once,
            pending_events: largest(|e| e.pending_events) * at_once,
            events: replays.iter().map(|e| e.events).sum(),
            output_rows: replays.iter().map(|e| e.output_rows).sum(),
        }
    }

    /// Every limit this estimate exceeds, `runs` times over (`compare` replays
    /// the scenario once per allocator, all in memory).
    pub fn exceeded(&self, limits: &Limits, runs: usize) -> Vec<LimitExceeded> {
        let runs = runs.max(1) as f64;
        let checks = [
            ("live pods", self.live_pods * runs, limits.max_live_pods, "--max-live-pods"),
            ("pending events", self.pending_events * runs, limits.max_pending_events, "--max-pending-events"),
            ("simulation events", self.events * runs, limits.max_events, "--max-events"),
            ("output rows", self.output_rows * runs, limits.max_output_rows, "--max-output-rows"),
        ];
        checks
            .into_iter()
            // A NaN estimate (incomparable) is refused too.
            .filter(|&(_, estimate, limit, _)| estimate.partial_cmp(&limit).is_none_or(|o| o.is_gt()))
            .map(|(what, estimate, limit, flag)| LimitExceeded { what, estimate, limit, flag })
            .collect()
    }
}

/// A lifetime's mean, in seconds.
fn mean_lifetime(lifetime: &Lifetime) -> f64 {
    match *lifetime {
        Lifetime::Fixed(d) | Lifetime::Exponential(d) => d as f64,
        Lifetime::Uniform(lo, hi) => (lo as f64 + hi as f64) / 2.0,
        Lifetime::LogNormal { median, sigma } => median as f64 * libm::exp(sigma * sigma / 2.0),
    }
}

/// Estimate the size of a replay of `scenario`.
pub fn estimate(scenario: &Scenario) -> Estimate {
    let duration = scenario.duration as f64;
    // Nodes: every pool at its largest (count, autoscale max, any scale_pool
    // count) plus its surge, pools added later included.
    let mut nodes = 0.0;
    let mut pools = 0.0;
    let mut node_pools = |pool: &crate::model::NodePool, cluster: &str, events: &[crate::model::TimedEvent]| {
        let scaled = events.iter().filter_map(|e| match &e.action {
            Action::ScalePool { cluster: c, pool: p, count, .. } if c == cluster && p == &pool.name => Some(*count),
            _ => None,
        });
        let largest = scaled.chain([pool.count, pool.autoscale.map_or(0, |a| a.max)]).max().unwrap_or(0);
        nodes += f64::from(largest) + f64::from(pool.max_surge.nodes_for(largest));
        pools += 1.0;
    };
    for cluster in &scenario.clusters {
        for pool in &cluster.node_pools {
            node_pools(pool, &cluster.name, &scenario.events);
        }
    }
    for event in &scenario.events {
        if let Action::AddPool { cluster, pool, .. } = &event.action {
            node_pools(pool, cluster, &scenario.events);
        }
    }
    let ranges = (scenario.network.subnets.len()
        + scenario.clusters.iter().filter(|c| c.allocator.pod_cidr.is_some()).count()) as f64;

    let (mut live_pods, mut churn_pods, mut arrivals) = (0.0, 0.0, 0.0);
    for workload in &scenario.workloads {
        match &workload.kind {
            WorkloadKind::Deployment { replicas } => {
                let scaled = scenario.events.iter().filter_map(|e| match &e.action {
                    Action::ScaleWorkload { name, replicas, .. } if name == &workload.name => Some(*replicas),
                    _ => None,
                });
                live_pods += f64::from(scaled.chain([*replicas]).max().unwrap_or(0)) * 1.25;
            }
            WorkloadKind::DaemonSet { .. } => live_pods += nodes,
            WorkloadKind::Churn { arrivals_per_hour, lifetime, start, end } => {
                let end = end.unwrap_or(scenario.duration).min(scenario.duration);
                let span = end.saturating_sub(*start) as f64;
                let total = arrivals_per_hour / 3600.0 * span;
                let population = arrivals_per_hour / 3600.0 * mean_lifetime(lifetime) * 4.0 + 10.0;
                churn_pods += population.min(total + 1.0);
                arrivals += total;
            }
        }
    }
    live_pods += churn_pods;
    // A cluster scans every 10 s once any of its pools autoscales, from the
    // start or from an `add_pool`.
    let autoscaled = scenario
        .clusters
        .iter()
        .filter(|c| {
            c.node_pools.iter().any(|p| p.autoscale.is_some())
                || scenario.events.iter().any(|e| {
                    matches!(&e.action, Action::AddPool { cluster, pool, .. } if cluster == &c.name && pool.autoscale.is_some())
                })
        })
        .count();
    let samples = (duration / scenario.sample_every.max(1) as f64).floor() + 2.0;
    let timeline = scenario.events.len() as f64;
    Estimate {
        live_pods,
        pending_events: churn_pods + nodes + timeline + scenario.workloads.len() as f64 + 1.0,
        events: 2.0 * arrivals + autoscaled as f64 * duration / 10.0 + timeline + 4.0 * nodes * (timeline + 1.0),
        output_rows: samples * (ranges + pools),
    }
}
