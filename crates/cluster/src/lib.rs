//! The cluster model: node pools, nodes and pods over the engine and the
//! allocator trait. [`replay`] runs one scenario in memory and returns every
//! sample, event and summary figure; it does no I/O, so thousands of replays
//! can run in one process and in parallel.

mod exp1;
mod load;
mod record;
mod state;
mod world;

/// The exponential draw of churn workloads' gaps and exponential lifetimes (mean
/// 1; a ziggurat with pure-Rust math, the same on every machine), for code that
/// reproduces a replay's draws from its streams.
pub use exp1::standard_exponential;
pub use record::{
    Breakdown, BreakdownAt, EventKind, EventRecord, Holders, PoolInfo, PoolSample, RangeInfo, RangeSample,
    RangeSummary, Replay, Summary,
};
pub use scenario::Scenario;

/// A scenario that passed validation but cannot be built (a validation gap).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("range {name}: {source}")]
    Range { name: String, source: net::RangeError },
    /// A pool's max_pods is above what validation allows (a `Scenario` built or
    /// edited without `scenario::validate`): node pod lists index by a byte.
    #[error("pool {pool}: max_pods {max_pods} is above {limit}, the most a scenario may set")]
    MaxPods { pool: String, max_pods: u32, limit: u64 },
    /// A whole-run invariant failed (only with [`Options::check_invariants`]): a bug in podip.
    #[error("invariant violated at {time_s} s after {event}: {message}")]
    Invariant { time_s: u64, event: String, message: String },
}

/// How to replay.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Recheck every address count and pod's bookkeeping after every event
    /// (O(pods) each time: for tests and `--check-invariants`).
    pub check_invariants: bool,
    /// Keep the events and the exact summary but take no samples: the
    /// `utilization` and `cluster` series stay empty (`podip plan`'s many
    /// replays need only the peaks).
    pub summary_only: bool,
    /// Every range supplies whatever is asked, growing on demand
    /// (`net::AddressRange::unconstrained`): the replay then shows what each
    /// range would need, its exact peak, and only the failures no size fixes.
    pub unconstrained: bool,
    /// Record who holds these ranges after these events ([`Replay::breakdowns`]),
    /// in any order.
    pub breakdowns: Vec<BreakdownAt>,
    /// Log `pod-unschedulable` once per pod (in its life) instead of once per
    /// episode of its workload (`--per-pod-unschedulable`).
    pub per_pod_unschedulable: bool,
}

/// How far a replay has got, reported at every sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Simulated seconds done.
    pub simulated_s: u64,
    /// The scenario's duration.
    pub duration_s: u64,
    /// Events processed so far.
    pub events: u64,
}

/// Replay a validated scenario with its own seed and allocators.
pub fn replay(scenario: &Scenario) -> Result<Replay, ReplayError> {
    replay_with(scenario, Options::default(), &mut |_| {})
}

/// [`replay`] with options, calling `progress` at every sample.
pub fn replay_with(
    scenario: &Scenario,
    options: Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Replay, ReplayError> {
    world::World::new(scenario, options.unconstrained)?.run(&options, progress)
}
