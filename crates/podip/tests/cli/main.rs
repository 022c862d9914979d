//! The `podip` binary end to end, in one test binary (one link, one place for
//! what the modules share): `output` covers exit statuses, the output folder's
//! guarantees, limits and golden outputs; `compare` covers the side-by-side
//! table, the charts, report.html (in a headless browser where one is
//! installed) and the README's picture; `plan` covers `podip plan`'s files,
//! exit statuses, determinism, planned scenarios and the README's example;
//! `plan_shards` its shards, rounds and merge (and their Kubernetes Jobs).
//! `import` covers `podip import aks` as a user runs it. `architecture` checks
//! the codemap's dependency rules against `cargo metadata`.

mod architecture;
mod compare;
mod import;
mod output;
mod plan;
mod plan_shards;
mod sweep;
