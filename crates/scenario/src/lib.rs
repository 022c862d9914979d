//! Scenario files: from YAML text to the validated [`Scenario`] the cluster model
//! consumes (contract: `../shared/spec/scenario.md`, rules: `model.md`).
//!
//! Loading runs in three steps:
//! 1. **Read** ([`load`]): at most 4 MiB of UTF-8 text.
//! 2. **Parse** (`yaml.rs`, the only module that knows the YAML backend, into the
//!    raw serde types of `raw.rs`): the *shape* — known keys only, value types,
//!    enumerated values. The first such fault stops loading; its message names the
//!    field path, the line and column, and for an unknown key the valid keys.
//! 3. **Validate** (`validate/`): command-line [`Overrides`] are applied first
//!    (`--allocator` replaces every cluster's allocator, since defaults and rules
//!    depend on it), then every rule is checked — prefixes, ranges, references,
//!    durations, limits — and *every* fault is reported, each with its field path,
//!    position and what would be valid. Non-fatal findings are warnings.
//!    (Positions come from re-reading the text along the field path, within a
//!    budget: in a multi-megabyte file only the first faults get one.)
//!
//! [`rewrite()`] writes edits (prefixes, the allocator) into a scenario's own text,
//! keeping its comments and layout, for `podip plan`'s proposed files.
//!
//! Before a run, [`estimate`] bounds its size (live pods, pending events,
//! events processed, output rows) for the binary to compare with [`Limits`].
//!
//! Diagnostics display as `error: FILE: PATH: MESSAGE at line L column C`
//! (see [`Diagnostic`]); a [`LoadError`] displays its errors one per line.

mod diag;
mod document;
mod duration;
mod estimate;
mod model;
mod raw;
mod rewrite;
mod schema;
mod sweep;
mod validate;
mod yaml;

pub use diag::{Diagnostic, LoadError, Location, Severity};
pub use duration::{DurationError, format_duration, parse_duration};
pub use estimate::{Estimate, LimitExceeded, Limits, estimate};
pub use model::*;
pub use rewrite::{Edits, RewriteError, rewrite};
pub use schema::{schema, schema_text};
pub use sweep::{Axis, MAX_POINTS, Sweep, SweepError, parse_sweep};
pub use validate::{
    DEFAULT_MAX_SURGE, DEFAULT_POD_CIDR, DEFAULT_SAMPLE_EVERY, DEFAULT_SERVICE_CIDR, FORBIDDEN_RANGES, Loaded,
    MAX_DURATION, MAX_NODES_PER_CLUSTER, MAX_NODES_PER_POOL, MAX_PODS_RANGE, MAX_REPLICAS, MAX_SAMPLES, Overrides,
    UnknownAllocator, find_allocator, load, parse_str, validate,
};

/// Largest scenario file accepted, in bytes (4 MiB).
pub const MAX_FILE_BYTES: usize = yaml::MAX_BYTES;
