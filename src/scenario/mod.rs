//! Stage 1 of the pipeline: scenario files, parsed and validated into [`Scenario`]s.

pub mod diagnostic;
mod env;
pub mod model;
pub mod parse;
mod reader;
mod request;
pub mod template;
mod thresholds;
pub mod workload;

pub use diagnostic::Diagnostic;
pub use model::*;
pub use parse::{load_file, load_paths, parse_str};
pub use template::Vars;
pub use workload::{WorkloadId, WorkloadRules, WORKLOADS};
