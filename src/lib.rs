//! contend: proves or disproves an API's conflict detection under truly simultaneous writes.
//!
//! The tool is a pipeline of stages over one record type, [`history::RequestRecord`]:
//! scenario files become validated plans, the engine races their writes and records every
//! exchange, the checker reads the records back and gives a verdict with its evidence,
//! the gate measures the figures and evaluates thresholds over them, and the reports
//! write it all down. Because the stages talk only through the records, a saved
//! `requests.csv` can be checked and reported again without sending traffic.
//!
//! # Layers
//!
//! Imports flow one way, from a layer to the ones below it, never up and never in a
//! circle (`tests/architecture.rs` reads every file under `src/` and fails on a cycle
//! between top-level modules or an import of a higher layer):
//!
//! 1. **Foundation**, the words every stage shares: [`outcome`], [`protocol`],
//!    [`metrics`], the
//!    scenario model and workload registry in [`scenario`], and the record in
//!    [`history`] (each importing only the ones before it).
//! 2. **Stages**, in pipeline order: [`scenario`] (parsing) → [`engine`] → [`check`]
//!    (with [`latency`], [`series`] and [`convergence`]) → [`gate`] → [`report`].
//! 3. **Drivers** on top: [`run`], [`compare`], [`replay`], [`shard`], [`merge`] and
//!    [`cli`], which wire the stages together, and [`server`], the reference server they
//!    start, which shares nothing
//!    with the stages but the names on the wire, and [`relay`], a tool of its own.
//!
//! # Layout
//!
//! * [`outcome`]: how a request ended ([`outcome::Outcome`]), why its answer was not
//!   whole ([`outcome::Cause`]), and how a contract broke ([`outcome::ViolationKind`],
//!   [`outcome::WarningKind`]), by name.
//! * [`protocol`]: the names on the wire that the engine and the reference server agree
//!   on (the request-id header, the arrivals path).
//! * [`metrics`]: the catalogue of every figure's name, unit and scope, and the threshold
//!   expressions (`latency.winner.p99 < 50ms`) that scenario files and `--threshold`
//!   parse into.
//! * [`scenario`]: stage 1 and the model: TOML files to validated [`scenario::Scenario`]s,
//!   with the workload registry ([`scenario::WORKLOADS`]) every later stage reads.
//! * [`history`]: the record of one HTTP exchange, saved and reloaded as `requests.csv`.
//! * [`engine`]: stage 2: runs a scenario's races against a target, releasing writes
//!   together (barrier, last-byte, single-packet), and returns its records.
//! * [`check`]: stage 3: records to a [`check::Verdict`] with evidence, one checker per
//!   workload.
//! * [`latency`]: each outcome's write latency as an HdrHistogram, from the records.
//! * [`series`]: throughput and write latency over time, from the records in one pass.
//! * [`convergence`]: per counter client strategy, the attempts, conflicts and time each
//!   acknowledged increment took.
//! * [`gate`]: stage 4: a scenario's figures by metric name, and thresholds evaluated
//!   over them.
//! * [`report`]: stage 5: the terminal summary, CSV, `summary.json`, `report.html` and
//!   JUnit, the overall status and the exit code.
//! * [`run`]: one `contend run`, every stage wired end to end.
//! * [`compare`]: the same run against several targets, reported side by side.
//! * [`replay`]: a run's failure fired again (`contend replay`): a witness's writes (or a
//!   round's), in the run's sync mode and release order, checked again.
//! * [`shard`]: sharded runs: which shard a process is (`--shard I/N`, a Kubernetes
//!   Indexed Job's index, GitLab's `CI_NODE_INDEX`), the split of the work over the
//!   shards, and the folder each shard writes for a merge.
//! * [`merge`]: `contend merge`: the shards' folders back into one verdict and report.
//! * [`cli`]: the command line (clap), mapping each command onto the library.
//! * [`server`]: the embedded reference server, correct or with an injected bug, in one
//!   process or several (`contend serve --processes`), its answers to writes broken on
//!   purpose with `--fault`.
//! * [`relay`]: a TCP relay that delays each chunk by a fixed time plus jitter (`contend
//!   relay`), a WAN in a box for measuring sync modes.

pub mod check;
pub mod cli;
pub mod compare;
pub mod convergence;
pub mod engine;
pub mod gate;
pub mod history;
pub mod latency;
pub mod merge;
pub mod metrics;
pub mod outcome;
pub mod protocol;
pub mod relay;
pub mod replay;
pub mod report;
pub mod run;
pub mod scenario;
pub mod series;
pub mod server;
pub mod shard;
