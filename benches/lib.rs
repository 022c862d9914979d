//! Criterion benches for podip, and the floor they are measured against: see
//! docs/performance.md.

pub mod calendar;
pub mod floor;
