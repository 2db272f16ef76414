//! Helpers shared by every test binary, each written once: running the `contend`
//! binary, the repository's files and shipped scenarios, hand-built history records,
//! reading the report files, and starting servers (the reference server on https, the
//! multi-process one).
//!
//! A stage's `main.rs` includes this folder with `#[path = "../common/mod.rs"] mod
//! common;`, a single-file test binary with `mod common;`.
#![allow(dead_code)] // each test binary uses its own subset

pub mod binary;
pub mod files;
pub mod multiprocess;
pub mod records;
pub mod reports;
pub mod servers;
