//! contend: proves or disproves an API's conflict detection under truly simultaneous writes.
//!
//! The tool is a pipeline of stages over one record type, [`history::RequestRecord`]:
//! [`scenario`] (files → validated plans) → engine (races → records) → [`history`]
//! (the records, savable and reloadable) → check (records → verdicts with evidence) →
//! report (verdicts and latency → terminal and CSV). The embedded reference server lives
//! in `server`.

pub mod check;
pub mod cli;
pub mod compare;
pub mod convergence;
pub mod engine;
pub mod gate;
pub mod history;
pub mod latency;
pub mod metrics;
pub mod relay;
pub mod report;
pub mod run;
pub mod scenario;
pub mod server;
