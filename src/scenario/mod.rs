//! Stage 1 of the pipeline: scenario files, parsed and validated into [`Scenario`]s.

pub mod model;
pub mod template;

pub use model::*;
pub use template::Vars;
