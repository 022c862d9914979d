//! The cluster model: node pools, nodes and pods over the engine and the
//! allocator trait. [`replay`] runs one scenario in memory and returns every
//! sample, event and summary figure; it does no I/O, so thousands of replays
//! can run in one process and in parallel.

mod record;
mod state;
mod world;

pub use record::{EventKind, EventRecord, PoolInfo, PoolSample, RangeInfo, RangeSample, Replay, Summary};
pub use scenario::Scenario;

/// A scenario that passed validation but cannot be built (a validation gap).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("range {name}: {source}")]
    Range { name: String, source: net::RangeError },
}

/// Replay a validated scenario with its own seed and allocators.
pub fn replay(scenario: &Scenario) -> Result<Replay, ReplayError> {
    replay_with_progress(scenario, &mut |_, _| {})
}

/// [`replay`], calling `progress(simulated seconds done, total)` at every sample.
pub fn replay_with_progress(scenario: &Scenario, progress: &mut dyn FnMut(u64, u64)) -> Result<Replay, ReplayError> {
    Ok(world::World::new(scenario)?.run(progress))
}
