//! `contend compare`: the same scenarios, seed and settings against several targets in
//! turn, reported side by side.
//!
//! Each target is a full [`crate::run::run`] whose reports go to a folder of its own
//! under the comparison's folder; then `compare.csv` (one row per scenario and target)
//! and `compare.html` (latency curves overlaid) are written beside them. A target is
//! `NAME=URL`, a bare URL, `builtin`, or `builtin:BUG` (the built-in server with a bug
//! injected, its window from `--window`), so the correct server can be compared with a
//! bugged one without any other server.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::report::{self, csv_files, html, write_atomically, RunInfo};
use crate::run::{self, RunError, RunOptions, RunReport};
use crate::server::{Bug, ServerConfig};

/// One target of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareTarget {
    /// How the reports name it.
    pub name: String,
    /// `builtin` or a base URL, as `--target` of `contend run` takes it.
    pub target: String,
    /// For the built-in server: the bug to inject.
    pub bug: Option<Bug>,
}

impl CompareTarget {
    /// Parses `NAME=URL`, `URL`, `builtin`, `builtin:BUG` or `NAME=builtin:BUG`.
    pub fn parse(spec: &str) -> Result<CompareTarget, RunError> {
        let spec = spec.trim();
        let bare = spec.starts_with("builtin") || spec.contains("://") && !has_name(spec);
        let (name, rest) = if bare {
            (None, spec)
        } else {
            match spec.split_once('=') {
                Some((name, rest)) => (Some(name.trim()), rest.trim()),
                None => (None, spec),
            }
        };
        if let Some(name) = name {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c))
            {
                return Err(RunError::Usage(format!(
                    "--target {spec:?}: the name {name:?} should be letters, digits, `.`, `_`, `:` or `-`"
                )));
            }
        }
        let (target, bug) = match rest.split_once(':') {
            Some(("builtin", bug)) => {
                let bug = bug
                    .parse::<Bug>()
                    .map_err(|e| RunError::Usage(format!("--target {spec:?}: {e}")))?;
                ("builtin".to_string(), Some(bug))
            }
            _ => {
                run::target_or_why(rest).map_err(|why| {
                    RunError::Usage(format!(
                        "--target {spec:?} is not NAME=URL, an http(s) URL, `builtin` or \
                         `builtin:BUG`: {rest:?} {why}"
                    ))
                })?;
                (rest.to_string(), None)
            }
        };
        let name = match name {
            Some(n) => n.to_string(),
            None => match url::Url::parse(rest) {
                Ok(u) if u.host_str().is_some() => match u.port() {
                    Some(port) => format!("{}:{port}", u.host_str().unwrap_or_default()),
                    None => u.host_str().unwrap_or_default().to_string(),
                },
                _ => rest.to_string(),
            },
        };
        Ok(CompareTarget { name, target, bug })
    }

    /// The folder its reports go to: the name with anything unusual replaced by `-`.
    pub fn folder(&self) -> String {
        self.name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    }
}

/// `name=...` before any `://`.
fn has_name(spec: &str) -> bool {
    match (spec.find('='), spec.find("://")) {
        (Some(eq), Some(scheme)) => eq < scheme,
        (Some(_), None) => true,
        _ => false,
    }
}

/// A comparison: the run settings every target shares, and the targets.
pub struct CompareOptions {
    /// Paths, overrides, seed, thresholds, progress and stop flag shared by every target;
    /// `out` is the comparison's folder (default `reports/<run-id>/`).
    pub run: RunOptions,
    pub targets: Vec<CompareTarget>,
    /// The race window of bugs injected into built-in targets.
    pub window: Duration,
}

/// A finished comparison.
pub struct CompareReport {
    /// Each target and its run, in `--target` order (targets not run are left out).
    pub runs: Vec<(CompareTarget, RunReport)>,
    /// Targets never run because the comparison was interrupted.
    pub not_run: Vec<String>,
    pub dir: PathBuf,
    pub info: RunInfo,
}

impl CompareReport {
    /// Every target's results as one list for a JUnit file: each scenario named
    /// `TARGET / SCENARIO`, so a CI's test view shows which target broke what.
    pub fn junit_results(&self) -> Vec<crate::report::ScenarioResult> {
        self.runs
            .iter()
            .flat_map(|(t, r)| {
                r.results.iter().map(move |result| {
                    let mut named = result.clone();
                    named.verdict.scenario = format!("{} / {}", t.name, result.verdict.scenario);
                    named
                })
            })
            .collect()
    }

    /// As for `contend run`, over every target's results.
    pub fn exit_code(&self) -> u8 {
        let results = self.runs.iter().flat_map(|(_, r)| &r.results);
        let stopped =
            !self.not_run.is_empty() || self.runs.iter().any(|(_, r)| !r.skipped.is_empty());
        report::exit_code(results, stopped)
    }
}

/// Runs every target in turn and writes `compare.csv` and `compare.html`.
pub async fn compare(opts: CompareOptions) -> Result<CompareReport, RunError> {
    if opts.targets.len() < 2 {
        return Err(RunError::Usage(
            "compare needs at least two --target (e.g. --target builtin --target builtin:toctou)"
                .into(),
        ));
    }
    for (i, t) in opts.targets.iter().enumerate() {
        if opts.targets[..i].iter().any(|u| u.folder() == t.folder()) {
            return Err(RunError::Usage(format!(
                "two targets are named {:?}; name them: --target NAME=URL",
                t.name
            )));
        }
    }
    // Check the scenario files once, before any traffic.
    run::load(&opts.run)?;
    let started_at = std::time::SystemTime::now();
    let dir = opts.run.out.clone().unwrap_or_else(run::fresh_run_dir);
    let mut runs = Vec::new();
    let mut not_run = Vec::new();
    for t in &opts.targets {
        if opts.run.stop.load(Ordering::Relaxed) {
            not_run.push(t.name.clone());
            continue;
        }
        let mut one = opts.run.clone();
        one.target = Some(t.target.clone());
        one.server = ServerConfig {
            bug: t.bug,
            window: opts.window,
            ..ServerConfig::default()
        };
        one.out = Some(dir.join(t.folder()));
        let report = run::run(one).await?;
        runs.push((t.clone(), report));
    }
    let info = RunInfo {
        started_at,
        seed: Some(opts.run.seed),
        not_run: not_run.clone(),
    };
    let write =
        |e: std::io::Error| RunError::Io(format!("cannot write reports to {}: {e}", dir.display()));
    let rows: Vec<(&str, &crate::report::ScenarioResult)> = runs
        .iter()
        .flat_map(|(t, r)| r.results.iter().map(move |x| (t.name.as_str(), x)))
        .collect();
    write_atomically(&dir.join("compare.csv"), |p| {
        csv_files::write_compare(p, &rows)
    })
    .map_err(write)?;
    let run_infos: Vec<RunInfo> = runs
        .iter()
        .map(|(_, r)| RunInfo {
            started_at,
            seed: Some(r.seed),
            not_run: r.skipped.clone(),
        })
        .collect();
    let pages: Vec<html::TargetRun<'_>> = runs
        .iter()
        .zip(&run_infos)
        .map(|((t, r), info)| html::TargetRun {
            name: &t.name,
            info,
            results: &r.results,
        })
        .collect();
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_atomically(&dir.join("compare.html"), |p| {
        std::fs::write(p, html::compare_page(&run_id, &pages, &not_run))
    })
    .map_err(write)?;
    Ok(CompareReport {
        runs,
        not_run,
        dir,
        info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> CompareTarget {
        CompareTarget::parse(spec).unwrap()
    }

    #[test]
    fn builtin_targets_name_themselves_and_carry_their_bug() {
        assert_eq!(
            parse("builtin"),
            CompareTarget {
                name: "builtin".into(),
                target: "builtin".into(),
                bug: None
            }
        );
        let t = parse("builtin:toctou");
        assert_eq!(
            (t.name.as_str(), t.bug),
            ("builtin:toctou", Some(Bug::Toctou))
        );
        assert_eq!(t.folder(), "builtin-toctou");
        assert_eq!(parse("bugged=builtin:stale-token").name, "bugged");
    }

    #[test]
    fn urls_take_a_name_or_their_host() {
        let t = parse("staging=https://staging.example.com/api?x=1");
        assert_eq!(t.name, "staging");
        assert_eq!(t.target, "https://staging.example.com/api?x=1");
        assert_eq!(parse("http://127.0.0.1:8080").name, "127.0.0.1:8080");
        assert_eq!(parse("http://127.0.0.1:8080/?a=b").name, "127.0.0.1:8080");
    }

    #[test]
    fn bad_targets_are_usage_errors() {
        for spec in [
            "builtin:nope",
            "x=ftp://a",
            "x=",
            "not a url",
            "a b=http://x",
        ] {
            assert!(CompareTarget::parse(spec).is_err(), "{spec}");
        }
    }
}
