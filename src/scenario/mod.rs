//! Stage 1 of the pipeline: scenario files, parsed and validated into [`Scenario`]s.
//!
//! The model every later stage reads is in [`model`] (and the workload registry, each
//! workload's rules as data, in [`workload`]); the rest is the parser, one file per
//! table of a scenario file:
//!
//! | file                | reads                                                          |
//! |---------------------|----------------------------------------------------------------|
//! | `load.rs`           | files and directories, TOML syntax; redacts diagnostics        |
//! | `keys.rs`           | nothing: the key catalogue every table is read against         |
//! | `root.rs`           | the top level (`name`, `target`, `sync`, `query`...), the rest |
//! | `setup.rs`          | `[[setup]]`: the set-up steps and their captures               |
//! | `auth.rs`           | `[auth]`: basic, bearer, refresh, cookies                      |
//! | `workload_table.rs` | `[workload]`                                                   |
//! | `resource.rs`       | `[resource]`                                                   |
//! | `write.rs`          | `[write]`, or `[[write]]` for writers of different requests    |
//! | `expect.rs`         | `[expect]`                                                     |
//! | `thresholds.rs`     | `thresholds`                                                   |
//! | `request.rs`        | any request table (setup, create, read, write), templates,     |
//! |                     | locators                                                       |
//!
//! `secrets.rs` holds [`Secrets`], the values redacted from everything contend writes.
//!
//! `reader.rs` turns every problem into a [`Diagnostic`] and carries on, so one pass
//! reports them all; `env.rs` interpolates `${NAME}` references. Per-workload rules are
//! never written in the table readers: they ask the registry ([`WorkloadRules`]), and
//! where a workload needs its own code (building its [`WorkloadKind`]) the `match` on
//! [`WorkloadId`] is exhaustive.

mod auth;
pub mod diagnostic;
mod env;
mod expect;
mod keys;
mod load;
pub mod model;
mod reader;
mod request;
mod resource;
mod root;
pub mod secrets;
mod setup;
mod sync;
pub mod template;
#[cfg(test)]
mod test_support;
mod thresholds;
pub mod workload;
mod workload_table;
mod write;

pub use auth::authorization;
pub use diagnostic::Diagnostic;
pub use load::{load_file, load_paths, parse_str};
pub use model::*;
pub use secrets::Secrets;
pub use template::Vars;
pub use workload::{WorkloadId, WorkloadRules, WORKLOADS};
