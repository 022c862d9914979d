//! Criterion benches for podip: see docs/performance.md.
