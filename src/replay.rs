//! `contend replay`: a failure of a run, fired again. It reads what the run left in its
//! report folder (`replay.json`, the witness files, `requests.csv`) and, for each
//! scenario, fires the writes of its first witness (or, with `--round N`, every write
//! of that round) once more, against the same target or another one, in the run's sync
//! mode and in the order the writes were released, then checks them as the run did.
//!
//! Each attempt is a run of one round of the scenario as its file says (a fresh
//! resource set up, its version read, the writes raced, the state read back) whose
//! writers are the witness's: lane `i` sends the write of the `i`-th writer released,
//! with that writer's `[[write]]` and labels ([`crate::engine::RunContext::writer_order`]),
//! so the records name the writers the witness names. A witness with fewer writes than
//! a race needs (one unexpected answer, say) is made up to two (a stock's units and one
//! more) with the round's next writes in their release order. A workload whose writers
//! run free (`counter`, `sustained`) has no round released together: its whole scenario
//! runs again, with the run's writers and rounds. Attempts go on, up to `--attempts`,
//! until one shows the witness's violation; each attempt's reports are written to a
//! folder of its own.
//!
//! The result is one of: **reproduced** (an attempt showed the violation; exit 1, as a
//! FAIL), **another violation** (an attempt broke the contract another way; exit 1),
//! **not reproduced** (every attempt was judged and the contract held in each; exit 0,
//! and it says plainly that a race not seen in K attempts may still happen),
//! **inconclusive** (no attempt could be judged; exit 3) or an **error** (exit 2). A
//! replay that did not reproduce the failure never says it did.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::check::{self, ViolationKind};
use crate::compare::CompareTarget;
use crate::engine::Abort;
use crate::history::{self, Phase, RequestRecord};
use crate::report::witness::{ReplayManifest, ReplayScenario, REPLAY_FILE, WITNESS_DIR};
use crate::report::ScenarioResult;
use crate::run::{self, RunError, RunOptions};
use crate::scenario::{self, ConnectionPolicy, Scenario, SyncChoice, Target};
use crate::server::{Bug, ServerConfig};

/// The fewest writes a replayed race has.
const FEWEST_WRITES: usize = 2;

/// The fewest writes a race of `scenario` needs: two, its workload's fewest, and one
/// more than a stock's units.
fn fewest_writes(scenario: &Scenario) -> usize {
    let rules = scenario.workload.kind.rules();
    let stock = match scenario.workload.kind {
        scenario::WorkloadKind::Stock { units } => units as usize + 1,
        _ => 0,
    };
    FEWEST_WRITES.max(rules.min_writers as usize).max(stock)
}

/// What `contend replay` is asked to do.
pub struct ReplayOptions {
    /// A report folder, or one of its witness files.
    pub from: PathBuf,
    /// Only this scenario of the report.
    pub scenario: Option<String>,
    /// Every write of this round, rather than a witness's.
    pub round: Option<u32>,
    /// Where to fire them (`builtin`, `builtin:BUG`, a URL, `NAME=URL`); `None`: the
    /// run's own target (for the built-in server, with the run's bug and window).
    pub target: Option<CompareTarget>,
    /// The window of a `builtin:BUG` target; `None`: the run's (or 20 ms).
    pub window: Option<Duration>,
    /// The most attempts per scenario.
    pub attempts: u32,
    /// The scenario file, when it is no longer where the run found it.
    pub scenario_file: Option<PathBuf>,
    /// Where the attempts' reports go; `None`: a fresh `reports/<run-id>/`.
    pub out: Option<PathBuf>,
    /// The seed of the first attempt's markers; attempt `k` uses `seed + k - 1`.
    pub seed: u64,
    /// TLS and arrival settings, as `run` takes them (`paths` and the rest unused).
    pub run: RunOptions,
}

impl ReplayOptions {
    /// Options that replay `from` with every default: the run's target, 10 attempts.
    pub fn new(from: PathBuf) -> ReplayOptions {
        ReplayOptions {
            from,
            scenario: None,
            round: None,
            target: None,
            window: None,
            attempts: DEFAULT_ATTEMPTS,
            scenario_file: None,
            out: None,
            seed: 1,
            run: RunOptions::new(Vec::new()),
        }
    }
}

/// Attempts per scenario unless `--attempts` says otherwise.
pub const DEFAULT_ATTEMPTS: u32 = 10;

/// How one scenario's replay ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Attempt `attempt` showed the violation replayed.
    Reproduced { attempt: u32 },
    /// Attempt `attempt` broke the contract, but not as the witness did.
    Other {
        attempt: u32,
        kinds: Vec<ViolationKind>,
    },
    /// Every one of `attempts` attempts was judged, and the contract held in each.
    NotReproduced { attempts: u32 },
    /// No violation, and `judged` of `attempts` attempts could be judged (fewer than
    /// all): nothing can be concluded.
    Inconclusive { attempts: u32, judged: u32 },
    /// An attempt could not run (the reason), or the replay was stopped.
    Error(String),
}

impl Outcome {
    /// Its exit code: 1 for a violation seen, 0 for not reproduced, 3 inconclusive, 2
    /// an error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Reproduced { .. } | Outcome::Other { .. } => 1,
            Outcome::NotReproduced { .. } => 0,
            Outcome::Inconclusive { .. } => 3,
            Outcome::Error(_) => 2,
        }
    }
}

/// One attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub n: u32,
    /// Where its reports are.
    pub dir: PathBuf,
    pub result: ScenarioResult,
}

/// One scenario's replay.
#[derive(Debug, Clone)]
pub struct ScenarioReplay {
    pub scenario: String,
    /// What was fired again: `the witness of multiple_winners in round 0`, `round 3`.
    pub what: String,
    /// The writers fired, in their release order.
    pub writers: Vec<u32>,
    /// The violations it tries to reproduce (empty: a round that broke nothing).
    pub kinds: Vec<ViolationKind>,
    /// How the target is named.
    pub target: String,
    pub sync: SyncChoice,
    /// The most attempts it would have made (`--attempts`).
    pub most: u32,
    pub attempts: Vec<Attempt>,
    pub outcome: Outcome,
}

/// A finished replay.
pub struct ReplayReport {
    pub replays: Vec<ScenarioReplay>,
    /// Where the attempts' reports are.
    pub dir: PathBuf,
    /// The seed of the first attempt.
    pub seed: u64,
}

impl ReplayReport {
    /// 1 when any scenario showed a violation, else 2 when one could not be replayed,
    /// else 3 when one was inconclusive, else 130 when the replay was stopped, else 0.
    pub fn exit_code(&self, stopped: bool) -> u8 {
        let codes: Vec<u8> = self.replays.iter().map(|r| r.outcome.exit_code()).collect();
        for code in [1, 2, 3] {
            if codes.contains(&code) {
                return code;
            }
        }
        if stopped {
            130
        } else {
            0
        }
    }
}

/// What one scenario's replay fires: its writers and the violations it looks for.
struct Plan {
    what: String,
    writers: Vec<u32>,
    kinds: Vec<ViolationKind>,
}

/// Replays the report's witnesses (or a round), telling `say` each attempt as it ends.
pub async fn replay(
    opts: ReplayOptions,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<ReplayReport, RunError> {
    let (dir, witness_file) = locate(&opts.from)?;
    let manifest = read_manifest(&dir)?;
    let chosen: Vec<&ReplayScenario> = manifest
        .scenarios
        .iter()
        .filter(|s| opts.scenario.as_ref().is_none_or(|name| &s.name == name))
        .filter(|s| {
            witness_file
                .as_ref()
                .is_none_or(|f| s.witnesses.iter().any(|w| same_file(&w.file, f)))
        })
        .filter(|s| opts.round.is_some() || opts.scenario.is_some() || !s.witnesses.is_empty())
        .collect();
    if chosen.is_empty() {
        return Err(RunError::Usage(match (&opts.scenario, &witness_file) {
            (Some(name), _) => format!(
                "{} has no scenario named {name:?} (it has {})",
                dir.display(),
                names(&manifest)
            ),
            (None, Some(file)) => format!("{} is not a witness of {}", file, dir.display()),
            (None, None) => format!(
                "nothing to replay in {}: no scenario broke its contract there (so there is no \
                 witness); to fire a round's writes again anyway, pass --round N",
                dir.display()
            ),
        }));
    }
    let out = opts.out.clone().unwrap_or_else(run::fresh_run_dir);
    let mut replays = Vec::new();
    for s in chosen {
        let scenario = load_scenario(s, opts.scenario_file.as_deref())?;
        let plan = plan(&dir, s, &scenario, opts.round, witness_file.as_deref())?;
        let replayed = replay_scenario(&opts, &manifest, s, scenario, plan, &out, say).await?;
        replays.push(replayed);
        if opts.run.stop.load(Ordering::Relaxed) {
            break;
        }
    }
    Ok(ReplayReport {
        replays,
        dir: out,
        seed: opts.seed,
    })
}

/// The report folder and, when `from` is a witness file, that file (relative to it).
fn locate(from: &Path) -> Result<(PathBuf, Option<String>), RunError> {
    if from.is_dir() {
        return Ok((from.to_path_buf(), None));
    }
    let in_witnesses = from
        .parent()
        .filter(|p| p.file_name().is_some_and(|n| n == WITNESS_DIR));
    match (in_witnesses, from.file_name(), from.is_file()) {
        (Some(folder), Some(name), true) => {
            let dir = folder
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            Ok((
                dir,
                Some(format!("{WITNESS_DIR}/{}", name.to_string_lossy())),
            ))
        }
        _ => Err(RunError::Usage(format!(
            "{} is neither a report folder nor a witness file in one (REPORT_DIR/{WITNESS_DIR}/*.json)",
            from.display()
        ))),
    }
}

fn same_file(a: &str, b: &str) -> bool {
    a.trim_end_matches(".sh").trim_end_matches(".json")
        == b.trim_end_matches(".sh").trim_end_matches(".json")
}

fn names(manifest: &ReplayManifest) -> String {
    manifest
        .scenarios
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads `replay.json`.
fn read_manifest(dir: &Path) -> Result<ReplayManifest, RunError> {
    let path = dir.join(REPLAY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        RunError::Usage(format!(
            "cannot read {} ({e}): replay takes a report folder written by `contend run`",
            path.display()
        ))
    })?;
    serde_json::from_str(&text)
        .map_err(|e| RunError::Usage(format!("{} is not a replay file: {e}", path.display())))
}

/// Which writers to fire and what to look for: the witness's (the one named, or the
/// scenario's first), or every write of `round`. A workload whose writers run free
/// (counter, sustained) has no race to release again: its whole scenario runs again,
/// as the run had it (no writers named).
fn plan(
    dir: &Path,
    s: &ReplayScenario,
    scenario: &Scenario,
    round: Option<u32>,
    witness_file: Option<&str>,
) -> Result<Plan, RunError> {
    if !scenario.workload.kind.rules().released_together {
        let kinds = match (round, witness_file) {
            (Some(_), _) => {
                return Err(RunError::Usage(format!(
                    "{}: a {} run has no rounds released together, so --round does not apply; \
                     replay runs its whole scenario again",
                    s.name,
                    scenario.workload.kind.name()
                )))
            }
            (None, Some(file)) => s
                .witnesses
                .iter()
                .filter(|w| same_file(&w.file, file))
                .collect::<Vec<_>>(),
            (None, None) => s.witnesses.iter().take(1).collect(),
        };
        let kinds = kinds
            .iter()
            .map(|w| violation_kind(s, &w.violation))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Plan {
            what: format!(
                "the whole scenario ({} writers, {} {}: its writers run free, so there is no race to release again)",
                s.writers,
                s.rounds,
                match scenario.workload.kind.rules().steps {
                    scenario::workload::Steps::Increments => "increments each",
                    _ => "rounds",
                }
            ),
            writers: Vec::new(),
            kinds,
        });
    }
    if let Some(n) = round {
        let records = round_records(dir, &s.name, n)?;
        let mut writes: Vec<&RequestRecord> =
            records.iter().filter(|r| r.phase == Phase::Write).collect();
        if writes.is_empty() {
            return Err(RunError::Usage(format!(
                "round {n} of {} has no writes in {}",
                s.name,
                dir.join("requests.csv").display()
            )));
        }
        writes.sort_by_key(|w| (w.start_ns, w.writer));
        let refs: Vec<&RequestRecord> = records.iter().collect();
        let mut kinds: Vec<ViolationKind> = Vec::new();
        for v in check::check(&s.name, records[0].workload, &refs).violations {
            if !kinds.contains(&v.kind) {
                kinds.push(v.kind);
            }
        }
        return Ok(Plan {
            what: format!("every write of round {n}"),
            writers: writes.iter().filter_map(|w| w.writer).collect(),
            kinds,
        });
    }
    let witness = match witness_file {
        Some(file) => s.witnesses.iter().find(|w| same_file(&w.file, file)),
        None => s.witnesses.first(),
    };
    let Some(witness) = witness else {
        return Err(RunError::Usage(format!(
            "{} broke no contract in that run, so it has no witness to replay; pass --round N \
             to fire a round's writes again",
            s.name
        )));
    };
    let kind = violation_kind(s, &witness.violation)?;
    let mut writers = witness.writers.clone();
    let fewest = fewest_writes(scenario);
    if writers.len() < fewest {
        // A race needs its writers (two; a stock's units and one more): the round's next
        // writes, in their release order.
        if let Some(n) = witness.round {
            let records = round_records(dir, &s.name, n)?;
            let mut writes: Vec<&RequestRecord> =
                records.iter().filter(|r| r.phase == Phase::Write).collect();
            writes.sort_by_key(|w| (w.start_ns, w.writer));
            for w in writes.iter().filter_map(|w| w.writer) {
                if writers.len() >= fewest {
                    break;
                }
                if !writers.contains(&w) {
                    writers.push(w);
                }
            }
        }
    }
    let at = witness
        .round
        .map_or(String::new(), |n| format!(" in round {n}"));
    Ok(Plan {
        what: format!("the witness of {kind}{at}"),
        writers,
        kinds: vec![kind],
    })
}

/// A violation kind by its name in `replay.json`.
fn violation_kind(s: &ReplayScenario, name: &str) -> Result<ViolationKind, RunError> {
    ViolationKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            RunError::Usage(format!(
                "{}: unknown violation {name:?} in {REPLAY_FILE}",
                s.name
            ))
        })
}

/// The records of one round of a scenario, from the report's `requests.csv`.
fn round_records(dir: &Path, scenario: &str, round: u32) -> Result<Vec<RequestRecord>, RunError> {
    let path = dir.join("requests.csv");
    let unreadable =
        |e: &dyn std::fmt::Display| RunError::Io(format!("cannot read {}: {e}", path.display()));
    let mut found = Vec::new();
    for r in history::read_saved_iter(&path).map_err(|e| unreadable(&e))? {
        let r = r.map_err(|e| unreadable(&e))?;
        if r.scenario == scenario && r.round == round {
            found.push(r);
        }
    }
    Ok(found)
}

/// The scenario file the run used (or `file`), loaded, and the scenario of that name.
fn load_scenario(s: &ReplayScenario, file: Option<&Path>) -> Result<Scenario, RunError> {
    let path = file.unwrap_or(&s.file);
    if !path.is_file() {
        return Err(RunError::Usage(format!(
            "the scenario file {} (where the run found {}) is not there; pass \
             --scenario-file FILE",
            path.display(),
            s.name
        )));
    }
    let scenarios = scenario::load_paths(&[path.to_path_buf()]).map_err(RunError::Scenario)?;
    scenarios
        .into_iter()
        .find(|x| x.name == s.name)
        .ok_or_else(|| {
            RunError::Usage(format!(
                "{} has no scenario named {:?}",
                path.display(),
                s.name
            ))
        })
}

/// The replay of one scenario: up to `opts.attempts` attempts.
async fn replay_scenario(
    opts: &ReplayOptions,
    manifest: &ReplayManifest,
    s: &ReplayScenario,
    mut scenario: Scenario,
    plan: Plan,
    out: &Path,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<ScenarioReplay, RunError> {
    if let Some(mode) = &s.sync {
        scenario.sync = mode
            .parse()
            .map_err(|e| RunError::Usage(format!("{REPLAY_FILE}: sync {mode:?}: {e}")))?;
    }
    if let Some(policy) = &s.writer_connections {
        scenario.writer_connections = policy.parse::<ConnectionPolicy>().map_err(|e| {
            RunError::Usage(format!("{REPLAY_FILE}: writer_connections {policy:?}: {e}"))
        })?;
    }
    if s.timeout_ms > 0 {
        scenario.timeout = Duration::from_millis(s.timeout_ms);
    }
    if plan.writers.is_empty() {
        // Writers that run free: the scenario again, as the run had it.
        scenario.workload.writers = s.writers;
        scenario.workload.rounds = s.rounds;
    } else {
        scenario.workload.rounds = 1;
        scenario.workload.writers = u32::try_from(plan.writers.len()).unwrap_or(u32::MAX);
    }
    let (target, server, shown) = target(opts, manifest, s)?;
    if let Target::Url(url) = &target {
        scenario.secrets.add_credentials(url);
    }
    scenario.target = target;
    let sync = scenario.sync;
    let how = if plan.writers.is_empty() {
        String::new()
    } else {
        let writers = plan
            .writers
            .iter()
            .map(|w| format!("w{w}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(" ({writers}, in their release order; sync {sync})")
    };
    say(format!(
        "{}: replaying {}{how} against {shown}, up to {} attempt(s)\n",
        s.name, plan.what, opts.attempts
    ));
    let order = (!plan.writers.is_empty()).then(|| Arc::new(plan.writers.clone()));
    let mut attempts = Vec::new();
    let mut judged = 0;
    let mut outcome = None;
    let most = opts.attempts.max(1);
    for n in 1..=most {
        if opts.run.stop.load(Ordering::Relaxed) {
            outcome = Some(Outcome::Error(format!(
                "stopped after {} attempt(s)",
                attempts.len()
            )));
            break;
        }
        let dir = out
            .join(crate::report::witness::slug(&s.name))
            .join(format!("attempt-{n}"));
        let mut run_opts = opts.run.clone();
        run_opts.paths = Vec::new();
        run_opts.out = Some(dir.clone());
        run_opts.seed = opts.seed.wrapping_add(u64::from(n - 1));
        run_opts.server = server.clone();
        run_opts.writer_order = order.clone();
        run_opts.progress = Arc::new(crate::engine::NoProgress);
        let report = run::run_loaded(run_opts, vec![scenario.clone()]).await?;
        let Some(result) = report.results.into_iter().next() else {
            outcome = Some(Outcome::Error("the attempt ran no scenario".into()));
            break;
        };
        let seen: Vec<ViolationKind> = crate::report::by_kind(&result.verdict.violations)
            .iter()
            .map(|g| g.kind)
            .collect();
        let line = attempt_line(n, most, &result, &plan.kinds);
        say(format!("  {line}\n"));
        let error = result.error.clone();
        let judged_now = result.verdict.judged.judged > 0;
        attempts.push(Attempt { n, dir, result });
        if let Some(e) = error {
            outcome = Some(Outcome::Error(e));
            break;
        }
        if seen.iter().any(|k| plan.kinds.contains(k)) {
            outcome = Some(Outcome::Reproduced { attempt: n });
            break;
        }
        if !seen.is_empty() {
            outcome = Some(Outcome::Other {
                attempt: n,
                kinds: seen,
            });
            break;
        }
        if judged_now {
            judged += 1;
        }
    }
    let made = attempts.len() as u32;
    // Not reproduced only when every attempt was judged and held.
    let outcome = outcome.unwrap_or(if judged == made && made > 0 {
        Outcome::NotReproduced { attempts: made }
    } else {
        Outcome::Inconclusive {
            attempts: made,
            judged,
        }
    });
    Ok(ScenarioReplay {
        scenario: s.name.clone(),
        what: plan.what,
        writers: plan.writers,
        kinds: plan.kinds,
        target: shown,
        sync,
        most,
        attempts,
        outcome,
    })
}

/// Where the attempts go, the built-in server's behaviour, and how to name it.
fn target(
    opts: &ReplayOptions,
    manifest: &ReplayManifest,
    s: &ReplayScenario,
) -> Result<(Target, ServerConfig, String), RunError> {
    let run_window = manifest
        .builtin
        .as_ref()
        .map(|b| Duration::from_millis(b.window_ms));
    let window = opts
        .window
        .or(run_window)
        .unwrap_or(ServerConfig::default().window);
    let builtin = |bug: Option<Bug>| {
        let shown = match bug {
            Some(bug) => format!("builtin:{} ({:?} window)", bug.name(), window),
            None => "builtin (correct)".to_string(),
        };
        (
            Target::Builtin,
            ServerConfig {
                bug,
                window,
                ..ServerConfig::default()
            },
            shown,
        )
    };
    if let Some(t) = &opts.target {
        if t.target == "builtin" {
            return Ok(builtin(t.bug));
        }
        let url = run::parse_target(&t.target)?;
        return Ok((url, ServerConfig::default(), t.name.clone()));
    }
    if s.target == "builtin" {
        let bug = match manifest.builtin.as_ref().and_then(|b| b.bug.as_deref()) {
            Some(name) => Some(name.parse::<Bug>().map_err(|e| {
                RunError::Usage(format!("{REPLAY_FILE}: the built-in server's bug: {e}"))
            })?),
            None => None,
        };
        return Ok(builtin(bug));
    }
    if s.target.contains(crate::scenario::secrets::MASK) {
        return Err(RunError::Usage(format!(
            "the run's target {} had a password, which the report does not keep; pass --target URL",
            s.target
        )));
    }
    let url = run::parse_target(&s.target)?;
    Ok((url, ServerConfig::default(), s.target.clone()))
}

/// `attempt 2 of 10: multiple_winners (w0 200, w1 200)`, or `the contract held (...)`.
fn attempt_line(n: u32, of: u32, r: &ScenarioResult, wanted: &[ViolationKind]) -> String {
    let v = &r.verdict;
    let answers = v
        .rounds
        .first()
        .map(|round| {
            let mut parts = Vec::new();
            for (count, what) in [
                (round.winners, "won"),
                (round.conflicts, "conflict"),
                (round.unexpected, "unexpected"),
                (round.indeterminate, "indeterminate"),
                (round.not_sent, "not sent"),
            ] {
                if count > 0 {
                    parts.push(format!("{count} {what}"));
                }
            }
            parts.join(", ")
        })
        .unwrap_or_default();
    if let Some(e) = &r.error {
        return format!("attempt {n} of {of}: could not run: {e}");
    }
    if let Some(first) = v.violations.first() {
        let which = if wanted.contains(&first.kind) {
            "reproduced"
        } else {
            "another violation"
        };
        let shown = v
            .violations
            .iter()
            .find(|x| wanted.contains(&x.kind))
            .unwrap_or(first);
        return format!(
            "attempt {n} of {of}: {which}: {}: {}",
            shown.kind, shown.evidence
        );
    }
    if let Some(why) = r.inconclusive() {
        return format!("attempt {n} of {of}: could not be judged: {why}");
    }
    format!("attempt {n} of {of}: the contract held ({answers})")
}

/// The closing line of one scenario's replay, as the terminal prints it.
pub fn verdict_line(r: &ScenarioReplay) -> String {
    let kinds = r
        .kinds
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ");
    match &r.outcome {
        Outcome::Reproduced { attempt } => format!(
            "{}: REPRODUCED {kinds} on attempt {attempt} of {} against {}",
            r.scenario, r.most, r.target
        ),
        Outcome::Other {
            attempt,
            kinds: seen,
        } => format!(
            "{}: FAILED differently on attempt {attempt}: {} (the run showed {})",
            r.scenario,
            seen.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "),
            if kinds.is_empty() { "none" } else { &kinds }
        ),
        Outcome::NotReproduced { attempts } => format!(
            "{}: NOT REPRODUCED in {attempts} attempt(s) against {}: the contract held every time. \
             That is no proof of a fix: a race missed {attempts} time(s) may still happen; try \
             more with --attempts",
            r.scenario, r.target
        ),
        Outcome::Inconclusive { attempts, judged } => format!(
            "{}: INCONCLUSIVE: {judged} of {attempts} attempt(s) could be judged (their writes \
             had no definite outcome), so nothing was reproduced and nothing was shown to hold",
            r.scenario
        ),
        Outcome::Error(e) => format!("{}: could not replay: {e}", r.scenario),
    }
}

/// The stop flags of a replay (Ctrl-C, SIGTERM), shared with its runs.
pub fn stop_flags(opts: &ReplayOptions) -> (Arc<AtomicBool>, Abort) {
    (opts.run.stop.clone(), opts.run.abort.clone())
}
