//! `contend merge DIR...`: the folders of a sharded run's shards back into one verdict
//! and one report, as if one process had run everything.
//!
//! Each scenario's result goes through the pipeline's second half once more
//! ([`run::scenario_result`]), over every shard's records of it together: the shards'
//! histories are read with the history's own readers, their times moved onto one clock
//! (each manifest says when its records' time zero was), and, for a sustained scenario
//! split over the shards, interleaved in time, so that writes of different shards on
//! the same version meet in the checker's window. The write latency is the sum of the
//! shards' HdrHistograms (V2), so its percentiles are exactly those of one histogram
//! over every write.
//!
//! A split sustained scenario's lost updates are the acknowledged writes of all shards
//! against each hot resource's growth: from the lowest value any shard read at its
//! set-up (the first read of all, before any shard wrote) to the value read once after
//! every shard has finished. `--target URL` makes the merge read it, once; without it
//! (and with more than one shard) that is not judged, and the scenario says so. A shard
//! missing from the folders given, or one that did not finish, makes every scenario it
//! had a part of INCONCLUSIVE ([`crate::check::Verdict::cannot_judge`]), never PASS.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::engine::{self, RunContext};
use crate::gate;
use crate::history::{self, Phase, RequestRecord, Spool};
use crate::latency::Latency;
use crate::metrics::Threshold;
use crate::report::{self, RunInfo, ScenarioResult};
use crate::run::{self, RunError, RunFacts, RunOptions};
use crate::scenario::{self, Scenario, Target, WorkloadKind};
use crate::shard::{self, PartRun, Placement, ScenarioEntry, ShardFolder};

/// What `contend merge` is asked to do.
pub struct MergeOptions {
    /// The shards' folders (`contend run --shard I/N --out DIR`).
    pub dirs: Vec<PathBuf>,
    /// Where to read the split scenarios' hot resources once more (`--target`): the
    /// target the shards ran against.
    pub target: Option<String>,
    /// The merged report's folder; default `reports/<time>-merged/`.
    pub out: Option<PathBuf>,
    /// `--threshold`s, on every scenario on top of its file's.
    pub thresholds: Vec<Threshold>,
    /// `--inconclusive-above`, over the shards' own.
    pub inconclusive_above: Option<f64>,
    /// The TLS settings of the final reads (`--ca-cert`, `--client-cert`, `--insecure`),
    /// as `contend run` takes them; the rest of it is unused.
    pub tls: RunOptions,
}

/// A merged run.
pub struct MergeReport {
    pub results: Vec<ScenarioResult>,
    pub report_dir: PathBuf,
    pub info: RunInfo,
    /// How many shards the run had.
    pub shards: u32,
    /// The shards merged, as `shard 2 of 3 (DIR)`.
    pub merged: Vec<String>,
    /// The shards missing from the folders given, from 1.
    pub missing: Vec<u32>,
    /// Why each folder given that could not be read was left out.
    pub unreadable: Vec<String>,
}

impl MergeReport {
    /// The exit code of the merged verdict, by the one rule ([`report::exit_code`]).
    pub fn exit_code(&self) -> u8 {
        report::exit_code(&self.results, false)
    }
}

/// A shard's folder with its records' offset onto the merged clock, in nanoseconds.
struct Shard {
    folder: ShardFolder,
    offset: u64,
}

/// Merges the shards' folders into one report (written to its folder) and returns it.
pub async fn merge(opts: MergeOptions) -> Result<MergeReport, RunError> {
    if opts.dirs.is_empty() {
        return Err(RunError::Usage("give the shards' folders to merge".into()));
    }
    // A folder that cannot be read is left out, said, and its shard counted missing (a
    // shard's job that died before writing it leaves nothing to read).
    let mut folders = Vec::new();
    let mut unreadable = Vec::new();
    for dir in &opts.dirs {
        match ShardFolder::read(dir) {
            Ok(folder) => folders.push(folder),
            Err(e) => unreadable.push(e),
        }
    }
    if folders.is_empty() {
        return Err(RunError::Usage(unreadable.join("\n")));
    }
    let first = &folders[0].manifest;
    let count = first.shards;
    for f in &folders[1..] {
        same_run(&folders[0], f).map_err(RunError::Usage)?;
    }
    let mut by_index: Vec<Option<usize>> = vec![None; count as usize];
    for (i, f) in folders.iter().enumerate() {
        let slot = f
            .manifest
            .shard
            .checked_sub(1)
            .and_then(|k| by_index.get_mut(k as usize))
            .ok_or_else(|| RunError::Usage(format!("{}: no shard of {count}", f.describe())))?;
        if let Some(other) = slot.replace(i) {
            return Err(RunError::Usage(format!(
                "{} and {} are the same shard: give each shard's folder once",
                folders[other].dir.display(),
                f.dir.display()
            )));
        }
    }
    let missing: Vec<u32> = (1..=count)
        .filter(|k| by_index[*k as usize - 1].is_none())
        .collect();
    let origin = folders
        .iter()
        .map(|f| f.manifest.origin_unix_ns)
        .min()
        .unwrap_or(0);
    let (run_key, seed) = (first.run_key.clone(), first.seed);
    let entries = first.scenarios.clone();
    let scenarios = load_copies(&folders[0], &entries)?;
    let shards: Vec<Option<Shard>> = by_index
        .iter()
        .map(|i| {
            i.map(|i| Shard {
                offset: folders[i].manifest.origin_unix_ns.saturating_sub(origin),
                folder: folders[i].clone(),
            })
        })
        .collect();
    let merged: Vec<String> = shards
        .iter()
        .flatten()
        .map(|s| s.folder.describe())
        .collect();

    let target = match opts.target.as_deref().map(run::parse_target).transpose()? {
        Some(Target::Builtin) => {
            return Err(RunError::Usage(
                "--target builtin: the built-in server of each shard ended with it; give the \
                 URL the shards ran against"
                    .into(),
            ))
        }
        Some(Target::Url(url)) => Some(run::with_trailing_slash(url)),
        None => None,
    };
    let ctx = RunContext {
        nonce: shard::nonce(&run_key),
        ..run::with_tls(&opts.tls, RunContext::new(seed))?
    };
    let final_offset = shard::unix_ns(SystemTime::now())
        .saturating_sub(u64::try_from(ctx.origin.elapsed().as_nanos()).unwrap_or(0))
        .saturating_sub(origin);

    let mut results = Vec::new();
    let mut records: Vec<RequestRecord> = Vec::new();
    let mut spools: Vec<Spool> = Vec::new();
    let mut not_run = Vec::new();
    for (entry, s) in entries.iter().zip(&scenarios) {
        let parts: Vec<(&Shard, &PartRun)> = shards
            .iter()
            .flatten()
            .filter_map(|sh| {
                let mine = sh
                    .folder
                    .manifest
                    .scenarios
                    .iter()
                    .find(|e| e.name == entry.name);
                mine.and_then(|e| e.here.as_ref()).map(|p| (sh, p))
            })
            .collect();
        let absent: Vec<u32> = missing
            .iter()
            .copied()
            .filter(|k| entry.placement.on(k - 1))
            .collect();
        let mut cannot = Vec::new();
        if !absent.is_empty() {
            cannot.push(format!(
                "{} of the {count} shards, which had a part of it, {} missing from the \
                 folders merged (shard {})",
                absent.len(),
                if absent.len() == 1 { "is" } else { "are" },
                list(&absent)
            ));
        }
        for (sh, part) in &parts {
            let k = sh.folder.manifest.shard;
            if part.not_run {
                cannot.push(format!("shard {k} was stopped before it started its part"));
            } else if !part.complete && part.error.is_none() {
                cannot.push(format!("shard {k} was stopped before the end of its part"));
            }
        }
        if parts.iter().all(|(_, p)| p.not_run) && !parts.is_empty() {
            not_run.push(entry.name.clone());
        }
        let thresholds: Vec<Threshold> = s
            .thresholds
            .iter()
            .chain(&opts.thresholds)
            .cloned()
            .collect();
        let workload = s.workload.kind.id();
        // A missing shard's part was not interrupted here: it is INCONCLUSIVE, above.
        let mut facts = facts_of(&parts, &opts);

        let mut result = match entry.placement {
            Placement::Connections => {
                let every_shard = absent.is_empty();
                let (memory, spool, span) = sustained_records(&parts, &entry.name)?;
                let (setups, shard_finals) = memory;
                let finals = match (&target, every_shard) {
                    (Some(base), true) => match engine::final_reads(s, base.clone(), &ctx).await {
                        Ok(mut reads) => {
                            for r in &mut reads {
                                rebase(r, final_offset);
                            }
                            reads
                        }
                        Err(e) => {
                            cannot.push(format!(
                                "the final read of its hot resources at {} failed: {e}",
                                s.secrets.redact(base.as_str())
                            ));
                            Vec::new()
                        }
                    },
                    (None, true) if count == 1 => shard_finals,
                    (None, true) => {
                        cannot.push(format!(
                            "whether an acknowledged write was lost needs its hot resources' \
                             values read once after all {count} shards finished: give \
                             `contend merge --target URL` (the target the shards ran against)"
                        ));
                        Vec::new()
                    }
                    (_, false) => Vec::new(),
                };
                facts.duration = span;
                let memory: Vec<RequestRecord> = setups.into_iter().chain(finals).collect();
                let refs: Vec<&RequestRecord> = memory.iter().collect();
                let mut result = run::scenario_result(
                    &entry.name,
                    workload,
                    &refs,
                    run::Spooled::File(&spool),
                    &thresholds,
                    facts,
                )?;
                show_settings(&mut result, s, entry);
                records.extend(memory);
                spools.push(spool);
                result
            }
            Placement::Rounds | Placement::Whole { .. } => {
                let (mine, span) = round_records(&parts, &entry.name)?;
                facts.duration = span;
                let refs: Vec<&RequestRecord> = mine.iter().collect();
                let result = run::scenario_result(
                    &entry.name,
                    workload,
                    &refs,
                    run::Spooled::No,
                    &thresholds,
                    facts,
                )?;
                records.extend(mine);
                result
            }
        };
        // The write latency: the shards' histograms, added up.
        let mut latency = Latency::empty();
        for (sh, _) in &parts {
            if let Some(l) = sh.folder.latency_of(&entry.name) {
                latency.add(l);
            }
        }
        result.latency = latency;
        result.thresholds = gate::evaluate(&thresholds, &result.figures(), workload);
        result.verdict.cannot_judge.extend(cannot);
        results.push(result);
    }

    let report_dir = match &opts.out {
        Some(dir) => dir.clone(),
        None => run::fresh_dir("-merged"),
    };
    let info = RunInfo {
        started_at: SystemTime::UNIX_EPOCH + Duration::from_nanos(origin),
        seed: Some(seed),
        not_run,
    };
    report::write_run(&report_dir, &info, &results, &records)
        .and_then(|_| {
            let requests = report_dir.join("requests.csv");
            spools
                .iter()
                .try_for_each(|spool| spool.append_to(&requests))
        })
        // The witnesses and timelines the summary and report.html point to, told from
        // the merged records: the shards' kept exchanges are on their own clocks.
        .and_then(|_| report::witness::write_all(&report_dir, &results, &[], None).map(|_| ()))
        .map_err(|e| {
            RunError::Io(format!(
                "cannot write reports to {}: {e}",
                report_dir.display()
            ))
        })?;
    Ok(MergeReport {
        results,
        report_dir,
        info,
        shards: count,
        merged,
        missing,
        unreadable,
    })
}

/// Refuses two folders that are not shards of one run, saying how they differ.
fn same_run(a: &ShardFolder, b: &ShardFolder) -> Result<(), String> {
    let (x, y) = (&a.manifest, &b.manifest);
    let differ = |what: &str, l: String, r: String| {
        Err(format!(
            "{} and {} are not shards of one run: their {what} differ ({l} and {r})",
            a.dir.display(),
            b.dir.display()
        ))
    };
    if x.shards != y.shards {
        return differ("shard counts", x.shards.to_string(), y.shards.to_string());
    }
    if x.run_key != y.run_key {
        return differ("run keys", x.run_key.clone(), y.run_key.clone());
    }
    if x.seed != y.seed {
        return differ("seeds", x.seed.to_string(), y.seed.to_string());
    }
    let plan = |m: &shard::Manifest| -> Vec<(String, String, Placement, u32, u32)> {
        m.scenarios
            .iter()
            .map(|e| {
                (
                    e.name.clone(),
                    e.file_hash.clone(),
                    e.placement,
                    e.connections,
                    e.rounds,
                )
            })
            .collect()
    };
    if plan(x) != plan(y) {
        let names = |m: &shard::Manifest| {
            m.scenarios
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return differ("scenarios (files, sizes or placements)", names(x), names(y));
    }
    Ok(())
}

/// Loads the scenario files a shard copied into its folder, in the manifest's order.
fn load_copies(folder: &ShardFolder, entries: &[ScenarioEntry]) -> Result<Vec<Scenario>, RunError> {
    let mut scenarios = Vec::new();
    for e in entries {
        let path = folder.dir.join(&e.file);
        let s = scenario::load_file(&path).map_err(RunError::Scenario)?;
        if s.name != e.name {
            return Err(RunError::Usage(format!(
                "{}: the scenario in it is {}, but the manifest says {}",
                path.display(),
                s.name,
                e.name
            )));
        }
        scenarios.push(s);
    }
    Ok(scenarios)
}

/// The merged facts of a scenario's parts: the first target and modes, every error, and
/// whether all of them ran to the end.
fn facts_of(parts: &[(&Shard, &PartRun)], opts: &MergeOptions) -> RunFacts {
    let mut targets: Vec<&str> = Vec::new();
    for (_, p) in parts {
        if !p.target.is_empty() && !targets.contains(&p.target.as_str()) {
            targets.push(&p.target);
        }
    }
    let errors: Vec<String> = parts
        .iter()
        .filter_map(|(sh, p)| {
            p.error
                .as_ref()
                .map(|e| format!("shard {}: {e}", sh.folder.manifest.shard))
        })
        .collect();
    let first = parts.first().map(|(_, p)| *p);
    RunFacts {
        target: targets.join(", "),
        sync: first.and_then(|p| p.sync.as_deref()?.parse().ok()),
        sync_passed_over: first
            .into_iter()
            .flat_map(|p| &p.sync_passed_over)
            .filter_map(|s| s.parse().ok())
            .collect(),
        writer_connections: first.and_then(|p| p.writer_connections.as_deref()?.parse().ok()),
        error: (!errors.is_empty()).then(|| errors.join("; ")),
        complete: parts.iter().all(|(_, p)| p.complete),
        duration: Duration::from_nanos(parts.iter().map(|(_, p)| p.duration_ns).max().unwrap_or(0)),
        inconclusive_above: opts
            .inconclusive_above
            .or_else(|| first.and_then(|p| p.inconclusive_above)),
    }
}

/// A record moved onto the merged clock.
fn rebase(r: &mut RequestRecord, offset: u64) {
    r.start_ns = r.start_ns.saturating_add(offset);
    r.end_ns = r.end_ns.saturating_add(offset);
    r.scheduled_ns = r.scheduled_ns.map(|t| t.saturating_add(offset));
}

type Records = Box<dyn Iterator<Item = Result<RequestRecord, RunError>>>;

/// One shard's records of one scenario, in its history's order, on the merged clock.
fn shard_records(shard: &Shard, scenario: &str) -> Result<Records, RunError> {
    let path = shard.folder.history();
    let unreadable = move |e: history::ReadError| {
        RunError::Io(format!("cannot read the history {}: {e}", path.display()))
    };
    let all = history::read_saved_iter(&shard.folder.history()).map_err(&unreadable)?;
    let (name, offset) = (scenario.to_string(), shard.offset);
    Ok(Box::new(all.filter_map(move |r| match r {
        Ok(mut r) if r.scenario == name => {
            rebase(&mut r, offset);
            Some(Ok(r))
        }
        Ok(_) => None,
        Err(e) => Some(Err(unreadable(e))),
    })))
}

/// Several shards' records interleaved by start time (each shard's own order kept), read
/// one at a time.
struct ByStart {
    heads: Vec<std::iter::Peekable<Records>>,
}

impl Iterator for ByStart {
    type Item = Result<RequestRecord, RunError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut best: Option<(usize, u64)> = None;
        for (i, head) in self.heads.iter_mut().enumerate() {
            let key = match head.peek() {
                None => continue,
                Some(Err(_)) => 0,
                Some(Ok(r)) => r.start_ns,
            };
            if best.is_none_or(|(_, k)| key < k) {
                best = Some((i, key));
            }
        }
        best.and_then(|(i, _)| self.heads[i].next())
    }
}

/// The span of a scenario's records: first start to last end.
#[derive(Default)]
struct Span {
    first: Option<u64>,
    last: u64,
}

impl Span {
    fn add(&mut self, r: &RequestRecord) {
        self.first = Some(self.first.map_or(r.start_ns, |f| f.min(r.start_ns)));
        self.last = self.last.max(r.end_ns);
    }

    fn duration(&self) -> Duration {
        Duration::from_nanos(self.last.saturating_sub(self.first.unwrap_or(self.last)))
    }
}

/// A split sustained scenario's records from every shard that ran part of it: the
/// set-up reads that carry a value (lowest value last, so it is the one the checker
/// takes as the start: the first read of all), the shards' own final reads (used only
/// with one shard), and everything else streamed to a spool in time order.
#[allow(clippy::type_complexity)]
fn sustained_records(
    parts: &[(&Shard, &PartRun)],
    scenario: &str,
) -> Result<((Vec<RequestRecord>, Vec<RequestRecord>), Spool, Duration), RunError> {
    let heads = parts
        .iter()
        .map(|(sh, _)| shard_records(sh, scenario).map(Iterator::peekable))
        .collect::<Result<Vec<_>, _>>()?;
    let (spool, mut writer) = Spool::create(scenario, shard::unix_ns(SystemTime::now()))
        .map_err(|e| RunError::Io(e.to_string()))?;
    let (mut setups, mut finals, mut batch) = (Vec::new(), Vec::new(), Vec::new());
    let mut span = Span::default();
    for r in (ByStart { heads }) {
        let r = r?;
        match r.phase {
            Phase::Setup if r.value.is_some() => setups.push(r),
            Phase::Final => finals.push(r),
            _ => {
                if matches!(r.phase, Phase::Read | Phase::Write) {
                    span.add(&r);
                }
                batch.push(r);
                if batch.len() >= 1024 {
                    writer
                        .append(&batch)
                        .map_err(|e| RunError::Io(e.to_string()))?;
                    batch.clear();
                }
            }
        }
    }
    writer
        .append(&batch)
        .and_then(|()| writer.finish())
        .map_err(|e| RunError::Io(e.to_string()))?;
    setups.sort_by_key(|r| std::cmp::Reverse(r.value));
    Ok(((setups, finals), spool, span.duration()))
}

/// A round-based scenario's records from the shards that ran it, in time order.
fn round_records(
    parts: &[(&Shard, &PartRun)],
    scenario: &str,
) -> Result<(Vec<RequestRecord>, Duration), RunError> {
    let mut all = Vec::new();
    for (sh, _) in parts {
        for r in shard_records(sh, scenario)? {
            all.push(r?);
        }
    }
    all.sort_by_key(|r| r.start_ns);
    let mut span = Span::default();
    all.iter().for_each(|r| span.add(r));
    Ok((all, span.duration()))
}

/// A merged sustained result names the whole scenario's settings: every shard's
/// connections, its hot resources, its model.
fn show_settings(result: &mut ScenarioResult, s: &Scenario, entry: &ScenarioEntry) {
    let WorkloadKind::Sustained {
        resources, rate, ..
    } = s.workload.kind
    else {
        return;
    };
    if let Some(report) = result.verdict.sustained.as_mut() {
        report.connections = entry.connections;
        report.resources = resources;
        report.open_model = rate.is_some();
        report.scheduled_rate = report.scheduled_rate.or(rate.map(f64::from));
    }
}

/// `1, 3 and 4`.
fn list(shards: &[u32]) -> String {
    let names: Vec<String> = shards.iter().map(u32::to_string).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}
