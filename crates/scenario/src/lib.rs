//! Scenario files: loading YAML (`yaml.rs`, the only module that knows the YAML
//! backend), checking it against `../shared/spec/scenario.md` and model.md
//! (`validate.rs`), and the validated [`Scenario`] the cluster model consumes.

mod model;

pub use model::*;
