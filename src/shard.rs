//! Sharded runs: one run's work split over N processes (the pods of a Kubernetes Indexed
//! Job, the jobs of a CI matrix), each writing a folder that `contend merge` turns back
//! into one verdict and one report. There is no coordinator: every shard computes the
//! same split from the same scenarios ([`plan`], a pure function), finds the shared
//! resources at the same ids (made from the run key, [`nonce`]), and starts its sustained
//! phase at the same moment (`--start-at`).
//!
//! The split, scenario by scenario:
//! - a `sustained` scenario runs on every shard ([`Placement::Connections`]): shard `s`
//!   (from 0) of `N` runs the connections and the attempts of the one timetable whose
//!   numbers `i` have `i mod N = s`, against the same hot resources, so the contention is
//!   global and the open-model rate is split exactly;
//! - a round-based scenario whose rounds each have a resource of their own (`create`
//!   before every round, or no resource) has its rounds spread ([`Placement::Rounds`]):
//!   round `r` runs whole on shard `r mod N + 1`;
//! - any other scenario (rounds that share one resource, a `counter`) runs whole on one
//!   shard ([`Placement::Whole`]), the `j`-th of them (from 0) on shard `j mod N + 1`.
//!
//! Which shard a process is: `--shard I/N` (or `CONTEND_SHARD`), else a Kubernetes
//! Indexed Job's `JOB_COMPLETION_INDEX` with the count given once (`--shards N` or
//! `CONTEND_SHARDS`), else GitLab's `CI_NODE_INDEX` and `CI_NODE_TOTAL`
//! ([`from_environment`]). Shards are numbered from 1 wherever contend shows them.
//!
//! A shard's folder holds its reports as any run's, plus what a merge needs: the
//! [`Manifest`] (`shard.json`: which shard of how many, the run key, the scenarios and
//! where each ran, when it started and ended, whether it finished), its write latency
//! as HdrHistogram V2 (`histograms.json`), and a copy of every scenario file.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::engine::Slice;
use crate::history::Outcome;
use crate::latency::Latency;
use crate::report::{write_atomically, ScenarioResult};
use crate::scenario::{Scenario, Setup, Target, WorkloadKind};

/// The manifest's file name in a shard's folder.
pub const MANIFEST: &str = "shard.json";
/// The histograms' file name in a shard's folder.
pub const HISTOGRAMS: &str = "histograms.json";
/// The folder of the scenario files' copies in a shard's folder.
pub const SCENARIOS: &str = "scenarios";
/// The manifest format this contend writes and reads.
pub const FORMAT: u32 = 1;
/// The most shards a run can have (a guard against a damaged manifest as much as a limit).
pub const MAX_SHARDS: u32 = 10_000;

/// Which shard of how many a process is: `index` from 0, shown from 1 (`2/3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: u32,
    pub count: u32,
}

impl ShardSpec {
    /// Parses `I/N`, shard `I` (from 1) of `N`.
    pub fn parse(text: &str) -> Result<ShardSpec, String> {
        let bad = || {
            format!("`{text}` is not a shard: write I/N, shard I (from 1) of N, e.g. --shard 2/3")
        };
        let (i, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let (i, n): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        ShardSpec::numbered(i, n).map_err(|why| format!("`{text}`: {why}"))
    }

    /// Shard `i` (from 1) of `n`.
    fn numbered(i: u32, n: u32) -> Result<ShardSpec, String> {
        if n == 0 {
            return Err("a run has at least one shard".into());
        }
        if n > MAX_SHARDS {
            return Err(format!("a run has at most {MAX_SHARDS} shards"));
        }
        if i == 0 || i > n {
            return Err(format!("shards are numbered from 1 to {n}"));
        }
        Ok(ShardSpec {
            index: i - 1,
            count: n,
        })
    }

    /// The engine's view of this shard.
    pub fn slice(self) -> Slice {
        Slice {
            index: self.index,
            count: self.count,
        }
    }
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// Which shard this process is, from the command line or the environment, and where that
/// was read, or `None` for an unsharded run. `flag` is `--shard` (or `CONTEND_SHARD`),
/// `count` is `--shards` (or `CONTEND_SHARDS`), `env` reads the environment.
///
/// Precedence: `--shard` wins; then a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX`
/// (from 0), with its count from `--shards`; then GitLab's `CI_NODE_INDEX` (from 1) and
/// `CI_NODE_TOTAL`. `--shard 1/1` runs everything in a job that sets either.
pub fn from_environment(
    flag: Option<ShardSpec>,
    count: Option<u32>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(ShardSpec, &'static str)>, String> {
    if let Some(spec) = flag {
        if let Some(n) = count.filter(|n| *n != spec.count) {
            return Err(format!(
                "--shard {spec} says {} shards but --shards says {n}",
                spec.count
            ));
        }
        return Ok(Some((spec, "--shard")));
    }
    let number = |name: &str| -> Result<Option<u32>, String> {
        match env(name) {
            None => Ok(None),
            Some(text) if text.trim().is_empty() => Ok(None),
            Some(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("{name}={text:?} is not a whole number")),
        }
    };
    if let Some(index) = number("JOB_COMPLETION_INDEX")? {
        let Some(n) = count else {
            return Err(format!(
                "JOB_COMPLETION_INDEX={index} is set (a Kubernetes Indexed Job), but not how \
                 many shards there are: give --shards N or CONTEND_SHARDS=N (the Job's \
                 completions), or --shard 1/1 to run every scenario here"
            ));
        };
        let spec = ShardSpec::numbered(index.saturating_add(1), n)
            .map_err(|why| format!("JOB_COMPLETION_INDEX={index} with --shards {n}: {why}"))?;
        return Ok(Some((spec, "JOB_COMPLETION_INDEX")));
    }
    if let Some(n) = count {
        return Err(format!(
            "--shards {n} needs this process's index: JOB_COMPLETION_INDEX (a Kubernetes \
             Indexed Job sets it), or give --shard I/{n}"
        ));
    }
    match (number("CI_NODE_INDEX")?, number("CI_NODE_TOTAL")?) {
        (Some(i), Some(n)) => {
            let spec = ShardSpec::numbered(i, n)
                .map_err(|why| format!("CI_NODE_INDEX={i} with CI_NODE_TOTAL={n}: {why}"))?;
            Ok(Some((spec, "CI_NODE_INDEX")))
        }
        (Some(i), None) => Err(format!(
            "CI_NODE_INDEX={i} is set without CI_NODE_TOTAL; give --shard I/N"
        )),
        _ => Ok(None),
    }
}

/// The key every shard of one run shares: `--run-key` when given, else one made from
/// `--start-at` (the same on every shard by construction); `None` without either.
pub fn run_key(explicit: Option<&str>, start_at: Option<SystemTime>) -> Option<String> {
    match (explicit.map(str::trim).filter(|k| !k.is_empty()), start_at) {
        (Some(key), _) => Some(key.to_string()),
        (None, Some(at)) => Some(format!("start-{}", humantime::format_rfc3339_nanos(at))),
        (None, None) => None,
    }
}

/// The run's nonce (what makes `{unique}` differ between runs) made from the run key, so
/// every shard makes the same ids.
pub fn nonce(run_key: &str) -> u64 {
    fnv1a(run_key.as_bytes())
}

/// The seed of markers and jitter made from the run key, for shards not given `--seed`.
pub fn seed(run_key: &str) -> u64 {
    fnv1a(format!("seed:{run_key}").as_bytes())
}

/// FNV-1a, 64 bits: a hash that is the same in every build and on every machine.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Parses `--start-at`: an RFC 3339 time, `Z` or a numeric offset
/// (`2025-06-01T12:00:00Z`, `2025-06-01T14:00:00.5+02:00`).
pub fn parse_start_at(text: &str) -> Result<SystemTime, String> {
    let text = text.trim();
    let bad =
        |e: String| format!("`{text}` is not an RFC 3339 time such as 2025-06-01T12:00:00Z: {e}");
    let offset_at = text.len().saturating_sub(6);
    let offset = text.get(offset_at..).filter(|o| {
        let b = o.as_bytes();
        b.len() == 6 && matches!(b[0], b'+' | b'-') && b[3] == b':'
    });
    let Some(offset) = offset else {
        return humantime::parse_rfc3339(text).map_err(|e| bad(e.to_string()));
    };
    let utc = format!("{}Z", &text[..offset_at]);
    let at = humantime::parse_rfc3339(&utc).map_err(|e| bad(e.to_string()))?;
    let (hours, minutes): (u64, u64) = (
        offset[1..3].parse().map_err(|_| bad("bad offset".into()))?,
        offset[4..6].parse().map_err(|_| bad("bad offset".into()))?,
    );
    let shift = Duration::from_secs(hours * 3600 + minutes * 60);
    // 14:00+02:00 is 12:00 UTC.
    match &offset[..1] {
        "+" => at.checked_sub(shift),
        _ => at.checked_add(shift),
    }
    .ok_or_else(|| bad("out of range".into()))
}

/// Where a scenario runs in a sharded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "placement", rename_all = "snake_case")]
pub enum Placement {
    /// Whole, on one shard (numbered from 1, as everywhere a user sees).
    Whole { shard: u32 },
    /// On every shard: a sustained scenario's connections and timetable, split, against
    /// the same hot resources.
    Connections,
    /// On every shard: round `r` on shard `r mod N + 1`, each round on its own resource.
    Rounds,
}

impl Placement {
    /// Whether shard `index` (from 0) runs some of the scenario.
    pub fn on(self, index: u32) -> bool {
        match self {
            Placement::Whole { shard } => shard == index + 1,
            Placement::Connections | Placement::Rounds => true,
        }
    }

    /// How the reports say where it ran, shards from 1.
    pub fn describe(self, count: u32) -> String {
        match self {
            Placement::Whole { shard } => format!("whole on shard {shard} of {count}"),
            Placement::Connections => format!("connections split over {count} shards"),
            Placement::Rounds => format!("rounds spread over {count} shards"),
        }
    }
}

/// Where every scenario runs when the run is split over `count` shards, in the order
/// given: the same on every shard, since it depends on nothing but the scenarios.
pub fn plan(scenarios: &[Scenario], count: u32) -> Vec<Placement> {
    let count = count.max(1);
    let mut whole = 0;
    scenarios
        .iter()
        .map(|s| match &s.workload.kind {
            WorkloadKind::Sustained { .. } => Placement::Connections,
            _ if rounds_apart(s) => Placement::Rounds,
            _ => {
                let shard = whole % count + 1;
                whole += 1;
                Placement::Whole { shard }
            }
        })
        .collect()
}

/// A round-based scenario whose rounds share no resource: each makes its own (`create`
/// before every round) or has none.
fn rounds_apart(s: &Scenario) -> bool {
    let round_based = match &s.workload.kind {
        WorkloadKind::StaleWrite
        | WorkloadKind::UniqueCreate
        | WorkloadKind::Transition { .. }
        | WorkloadKind::Stock { .. }
        | WorkloadKind::Idempotency
        | WorkloadKind::PreconditionRequired => true,
        WorkloadKind::Counter { .. } | WorkloadKind::Sustained { .. } => false,
    };
    round_based && (s.resource.create_each_round || matches!(s.resource.setup, Setup::Nothing))
}

/// What one shard runs of one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Nothing: another shard runs it.
    Absent,
    /// All of it.
    Whole,
    /// Its share of the connections, attempts or rounds.
    Slice(Slice),
}

/// What shard `spec` runs of a scenario placed at `placement`.
pub fn part(placement: Placement, spec: ShardSpec) -> Part {
    match placement {
        Placement::Whole { shard } if shard == spec.index + 1 => Part::Whole,
        Placement::Whole { .. } => Part::Absent,
        _ if spec.count == 1 => Part::Whole,
        Placement::Connections | Placement::Rounds => Part::Slice(spec.slice()),
    }
}

/// Refuses a split that cannot give one verdict, with the fix: a sharded run needs a run
/// key its shards share, and a sustained scenario split over several shards needs one
/// target every shard reaches, at least one connection per shard, and hot resources at
/// ids every shard knows without asking the others.
pub fn check_plan(
    scenarios: &[Scenario],
    placements: &[Placement],
    spec: ShardSpec,
    run_key: Option<&str>,
) -> Result<(), String> {
    if spec.count > 1 && run_key.is_none() {
        return Err(format!(
            "--shard {spec}: the shards of a run need a key they share, to tell their \
             folders apart from another run's and to make the same {{unique}} ids: give \
             every shard the same --run-key KEY (CONTEND_RUN_KEY; e.g. the CI run's id) or \
             the same --start-at TIME"
        ));
    }
    for (s, placement) in scenarios.iter().zip(placements) {
        let WorkloadKind::Sustained { resources, .. } = s.workload.kind else {
            continue;
        };
        if *placement != Placement::Connections || spec.count == 1 {
            continue;
        }
        let n = spec.count;
        if s.target == Target::Builtin {
            return Err(format!(
                "{}: a sustained scenario is split over the {n} shards against the same hot \
                 resources, so every shard needs the same target: give --target URL (a \
                 `contend serve` or your API); the built-in server is one per process",
                s.name
            ));
        }
        if let Setup::Create { .. } = s.resource.setup {
            return Err(format!(
                "{}: its hot resources are created with server-made ids (`create` with an \
                 `id` locator), which the other {} shards cannot know; give them known ids \
                 instead, the same on every shard: [resource] id = \"/texts/hot-{{unique}}\" \
                 with create = {{ method = \"PUT\", path = \"{{id}}\", ... }} (shard 1 creates \
                 them; {{unique}} comes from the run key), or id = \"/notes/42\" for one that \
                 exists",
                s.name,
                n - 1
            ));
        }
        if s.workload.writers < n {
            return Err(format!(
                "{}: {} connection(s) cannot be split over {n} shards; give it at least {n} \
                 (--writers {n}) or run fewer shards",
                s.name, s.workload.writers
            ));
        }
        if resources > 1 && !crate::engine::distinct_ids(&s.resource.setup) {
            return Err(format!(
                "{}: resources = {resources} needs an id made with {{unique}}, one per hot \
                 resource",
                s.name
            ));
        }
    }
    Ok(())
}

/// A shard's manifest, `shard.json`: what `contend merge` needs besides the histories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The contend version that wrote it.
    pub contend: String,
    /// This shard, from 1.
    pub shard: u32,
    /// How many shards the run has.
    pub shards: u32,
    /// The key every shard of the run shares.
    pub run_key: String,
    pub seed: u64,
    /// `--start-at`, RFC 3339, if given.
    pub start_at: Option<String>,
    /// When the records' time zero was, in nanoseconds since the Unix epoch: a record at
    /// `start_ns` happened at `origin_unix_ns + start_ns` (as this shard's clock says).
    pub origin_unix_ns: u64,
    /// When the shard started and finished, RFC 3339.
    pub started_at: String,
    pub finished_at: String,
    /// False when the shard was interrupted or a scenario of its part could not run to
    /// the end.
    pub complete: bool,
    /// Every scenario of the run, in order, and what this shard ran of it.
    pub scenarios: Vec<ScenarioEntry>,
}

/// One scenario of a sharded run, as a shard's manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioEntry {
    pub name: String,
    /// The workload's name.
    pub workload: String,
    /// The copy of its scenario file, relative to the shard's folder.
    pub file: String,
    /// A hash of that file's text: the shards ran the same scenario.
    pub file_hash: String,
    #[serde(flatten)]
    pub placement: Placement,
    /// Connections (writers) of the whole scenario, after command-line overrides.
    pub connections: u32,
    /// Rounds (or increments), after overrides.
    pub rounds: u32,
    /// What this shard ran of it: `None` when it ran none.
    pub here: Option<PartRun>,
}

/// What a shard ran of one scenario, and how that went.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartRun {
    /// The connections (writer numbers) it ran, for a split sustained scenario.
    pub writers: Vec<u32>,
    /// False when interrupted or stopped by an error.
    pub complete: bool,
    /// Why it could not run to the end.
    pub error: Option<String>,
    /// Never started: the shard was interrupted before it.
    pub not_run: bool,
    /// How the reports name the target.
    pub target: String,
    pub sync: Option<String>,
    /// The modes `auto` passed over, as `MODE: why` ([`crate::scenario::PassedOver`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_passed_over: Vec<String>,
    pub writer_connections: Option<String>,
    pub duration_ns: u64,
    /// The `inconclusive_above` in force (`--inconclusive-above`, or the file's).
    pub inconclusive_above: Option<f64>,
}

/// `histograms.json`: a shard's write latency per scenario and outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct HistogramFile {
    format: String,
    histograms: Vec<HistogramEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct HistogramEntry {
    scenario: String,
    outcome: Outcome,
    count: u64,
    /// HdrHistogram V2, base64 (standard alphabet, padded).
    v2: String,
}

const HISTOGRAM_FORMAT: &str =
    "HdrHistogram V2 serialisation, base64; write latency in nanoseconds";

/// The hash [`ScenarioEntry::file_hash`] holds.
pub fn file_hash(text: &str) -> String {
    format!("fnv1a64:{:016x}", fnv1a(text.as_bytes()))
}

/// The manifest entries of a run's scenarios (their files not yet copied): where each
/// runs, and its size after overrides.
pub fn entries(scenarios: &[Scenario], placements: &[Placement]) -> Vec<ScenarioEntry> {
    scenarios
        .iter()
        .zip(placements)
        .enumerate()
        .map(|(i, (s, placement))| {
            let file_name = s
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario.toml".into());
            ScenarioEntry {
                name: s.name.clone(),
                workload: s.workload.kind.name().to_string(),
                file: format!("{SCENARIOS}/{:02}-{file_name}", i + 1),
                file_hash: String::new(),
                placement: *placement,
                connections: s.workload.writers,
                rounds: s.workload.rounds,
                here: None,
            }
        })
        .collect()
}

/// Writes what a merge needs into a shard's report folder: a copy of every scenario file
/// (each entry's `file`, its hash set), `histograms.json` from `results`, and the
/// manifest, last, so a folder with a manifest is whole.
pub fn write_folder(
    dir: &Path,
    mut manifest: Manifest,
    scenarios: &[Scenario],
    results: &[ScenarioResult],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join(SCENARIOS))?;
    for (entry, s) in manifest.scenarios.iter_mut().zip(scenarios) {
        let text = std::fs::read_to_string(&s.path)?;
        entry.file_hash = file_hash(&text);
        write_atomically(&dir.join(&entry.file), |p| std::fs::write(p, &text))?;
    }
    write_histograms(dir, results)?;
    write_manifest(dir, &manifest)
}

/// Writes `shard.json`.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(manifest).map_err(std::io::Error::other)?;
    write_atomically(&dir.join(MANIFEST), |p| std::fs::write(p, text + "\n"))
}

/// Writes `histograms.json`: each result's write latency, per outcome, as V2.
pub fn write_histograms(dir: &Path, results: &[ScenarioResult]) -> std::io::Result<()> {
    let encoder = &base64::engine::general_purpose::STANDARD;
    let histograms = results
        .iter()
        .flat_map(|r| {
            r.latency
                .to_v2()
                .into_iter()
                .map(move |(outcome, bytes)| HistogramEntry {
                    scenario: r.verdict.scenario.clone(),
                    outcome,
                    count: r.latency.percentiles(outcome).count,
                    v2: encoder.encode(bytes),
                })
        })
        .collect();
    let file = HistogramFile {
        format: HISTOGRAM_FORMAT.into(),
        histograms,
    };
    let text = serde_json::to_string_pretty(&file).map_err(std::io::Error::other)?;
    write_atomically(&dir.join(HISTOGRAMS), |p| std::fs::write(p, text + "\n"))
}

/// A shard's folder, read back.
#[derive(Debug, Clone)]
pub struct ShardFolder {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Each scenario's write latency, as the shard recorded it.
    pub latency: Vec<(String, Latency)>,
}

impl ShardFolder {
    /// Reads a shard's folder: its manifest and histograms; an error that names the
    /// folder and what is wrong.
    pub fn read(dir: &Path) -> Result<ShardFolder, String> {
        let at = |name: &str| dir.join(name);
        let text = std::fs::read_to_string(at(MANIFEST)).map_err(|e| {
            format!(
                "{}: {e}; a shard's folder is the --out of `contend run --shard I/N`, with \
                 its {MANIFEST}",
                at(MANIFEST).display()
            )
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a shard manifest: {e}", at(MANIFEST).display()))?;
        if manifest.format != FORMAT {
            return Err(format!(
                "{}: manifest format {}, but this contend reads format {FORMAT}",
                at(MANIFEST).display(),
                manifest.format
            ));
        }
        if let Err(why) = ShardSpec::numbered(manifest.shard, manifest.shards) {
            return Err(format!(
                "{}: not a shard manifest: shard {} of {}: {why}",
                at(MANIFEST).display(),
                manifest.shard,
                manifest.shards
            ));
        }
        let text = std::fs::read_to_string(at(HISTOGRAMS))
            .map_err(|e| format!("{}: {e}", at(HISTOGRAMS).display()))?;
        let file: HistogramFile = serde_json::from_str(&text)
            .map_err(|e| format!("{}: {e}", at(HISTOGRAMS).display()))?;
        let decoder = base64::engine::general_purpose::STANDARD;
        let mut latency: Vec<(String, Latency)> = Vec::new();
        for h in file.histograms {
            let bytes = decoder
                .decode(h.v2.as_bytes())
                .map_err(|e| format!("{}: {}: {e}", at(HISTOGRAMS).display(), h.scenario))?;
            let i = match latency.iter().position(|(name, _)| *name == h.scenario) {
                Some(i) => i,
                None => {
                    latency.push((h.scenario.clone(), Latency::empty()));
                    latency.len() - 1
                }
            };
            latency[i]
                .1
                .add_v2(h.outcome, &bytes)
                .map_err(|e| format!("{}: {}: {e}", at(HISTOGRAMS).display(), h.scenario))?;
        }
        Ok(ShardFolder {
            dir: dir.to_path_buf(),
            manifest,
            latency,
        })
    }

    /// This shard's record of one scenario's write latency (empty when it has none).
    pub fn latency_of(&self, scenario: &str) -> Option<&Latency> {
        self.latency
            .iter()
            .find(|(name, _)| name == scenario)
            .map(|(_, l)| l)
    }

    /// Where this shard's history is.
    pub fn history(&self) -> PathBuf {
        self.dir.join("requests.csv")
    }

    /// Shows this shard as reports do: `shard 2 of 3 (reports/s2)`.
    pub fn describe(&self) -> String {
        format!(
            "shard {} of {} ({})",
            self.manifest.shard,
            self.manifest.shards,
            self.dir.display()
        )
    }
}

/// Nanoseconds since the Unix epoch of a time (0 before it).
pub fn unix_ns(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, Vec<crate::scenario::Diagnostic>> {
        crate::scenario::parse_str(Path::new("s.toml"), text, &|_| None)
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn spec(i: u32, n: u32) -> ShardSpec {
        ShardSpec {
            index: i - 1,
            count: n,
        }
    }

    #[test]
    fn a_part_keeps_the_modes_auto_passed_over_and_an_older_part_reads_without_them() {
        let passed = crate::scenario::PassedOver {
            mode: crate::scenario::SyncMode::SinglePacket,
            why: "needs HTTP/2: no".into(),
        };
        let part = PartRun {
            sync: Some("auto → last-byte".into()),
            sync_passed_over: vec![passed.to_string()],
            ..PartRun::default()
        };
        let text = serde_json::to_string(&part).unwrap();
        let back: PartRun = serde_json::from_str(&text).unwrap();
        assert_eq!(back, part);
        assert_eq!(back.sync_passed_over[0].parse(), Ok(passed));
        let older = text.replace(
            r#","sync_passed_over":["single-packet: needs HTTP/2: no"]"#,
            "",
        );
        assert!(!older.contains("sync_passed_over"), "{older}");
        let back: PartRun = serde_json::from_str(&older).unwrap();
        assert_eq!(back.sync_passed_over, Vec::<String>::new());
        let none = serde_json::to_string(&PartRun::default()).unwrap();
        assert!(
            !none.contains("sync_passed_over"),
            "left out when empty: {none}"
        );
    }

    #[test]
    fn a_shard_is_written_from_one_and_checked() {
        assert_eq!(ShardSpec::parse("2/3"), Ok(spec(2, 3)));
        assert_eq!(spec(2, 3).to_string(), "2/3");
        for bad in ["0/3", "4/3", "1/0", "2", "a/b", "-1/3", "1/10001"] {
            assert!(ShardSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_flag_wins_then_the_kubernetes_index_then_gitlab() {
        let all = env(&[
            ("JOB_COMPLETION_INDEX", "0"),
            ("CI_NODE_INDEX", "3"),
            ("CI_NODE_TOTAL", "4"),
        ]);
        assert_eq!(
            from_environment(Some(spec(2, 4)), Some(4), &all),
            Ok(Some((spec(2, 4), "--shard")))
        );
        assert_eq!(
            from_environment(None, Some(4), &all),
            Ok(Some((spec(1, 4), "JOB_COMPLETION_INDEX")))
        );
        assert_eq!(
            from_environment(
                None,
                None,
                env(&[("CI_NODE_INDEX", "3"), ("CI_NODE_TOTAL", "4")])
            ),
            Ok(Some((spec(3, 4), "CI_NODE_INDEX")))
        );
        assert_eq!(from_environment(None, None, env(&[])), Ok(None));
    }

    #[test]
    fn an_index_without_its_count_or_out_of_range_is_an_error_naming_the_fix() {
        let k8s = env(&[("JOB_COMPLETION_INDEX", "2")]);
        let e = from_environment(None, None, &k8s).unwrap_err();
        assert!(e.contains("--shards N"), "{e}");
        assert!(
            from_environment(None, Some(2), &k8s).is_err(),
            "index 2 of 2"
        );
        let e = from_environment(None, Some(3), env(&[])).unwrap_err();
        assert!(e.contains("JOB_COMPLETION_INDEX"), "{e}");
        assert!(from_environment(Some(spec(1, 2)), Some(3), env(&[])).is_err());
        assert!(from_environment(None, None, env(&[("CI_NODE_INDEX", "1")])).is_err());
        assert!(from_environment(
            None,
            None,
            env(&[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "2")])
        )
        .is_err());
    }

    #[test]
    fn the_run_key_is_the_flag_or_made_from_the_start_time() {
        let at = parse_start_at("2030-01-02T03:04:05Z").unwrap();
        assert_eq!(run_key(Some("ci-42"), Some(at)).as_deref(), Some("ci-42"));
        assert_eq!(
            run_key(None, Some(at)).as_deref(),
            Some("start-2030-01-02T03:04:05.000000000Z")
        );
        assert_eq!(run_key(Some("  "), None), None);
        assert_eq!(nonce("ci-42"), nonce("ci-42"));
        assert_ne!(nonce("ci-42"), nonce("ci-43"));
    }

    #[test]
    fn a_start_time_takes_z_or_an_offset() {
        let utc = parse_start_at("2030-01-02T12:00:00Z").unwrap();
        assert_eq!(parse_start_at("2030-01-02T14:00:00+02:00"), Ok(utc));
        assert_eq!(parse_start_at("2030-01-02T07:30:00-04:30"), Ok(utc));
        assert!(parse_start_at("tomorrow").is_err());
        // Shorter than an offset: an error, not a panic.
        for short in ["", "+", "+1", "-01:"] {
            assert!(parse_start_at(short).is_err(), "{short:?}");
        }
    }

    const SUSTAINED: &str = r#"
name = "hot"
target = "http://127.0.0.1:1"
[workload]
kind = "sustained"
connections = 6
requests = 100
[resource]
id = "/texts/hot-{unique}"
create = { method = "PUT", path = "{id}", body = "COUNT:0" }
read = { path = "{id}" }
version = "header:ETag"
value = "regex:COUNT:(\\d+)"
[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
body = "COUNT:{next}"
[expect]
winner = [200]
conflict = [412]
"#;

    const STALE: &str = r#"
name = "stale"
[workload]
kind = "stale-write"
writers = 4
rounds = 10
[resource]
create = { path = "/notes", json = { v = 0 }, id = "header:Location" }
read = { path = "{id}" }
version = "header:ETag"
[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { by = "{marker}" }
[expect]
winner = [200]
conflict = [412]
"#;

    fn scenario(text: &str, name: &str) -> Scenario {
        let mut s = parse(text).expect("a valid scenario");
        s.name = name.into();
        s
    }

    fn each_round(name: &str) -> Scenario {
        let text = STALE.replace(
            "id = \"header:Location\" }",
            "id = \"header:Location\", each = \"round\" }",
        );
        scenario(&text, name)
    }

    #[test]
    fn the_split_is_the_same_for_the_same_scenarios_and_spreads_whole_ones() {
        let scenarios = vec![
            scenario(STALE, "a"),
            scenario(SUSTAINED, "hot"),
            scenario(STALE, "b"),
            each_round("fresh"),
            scenario(STALE, "c"),
        ];
        let placements = plan(&scenarios, 2);
        assert_eq!(placements, plan(&scenarios, 2), "a pure function");
        assert_eq!(
            placements,
            vec![
                Placement::Whole { shard: 1 },
                Placement::Connections,
                Placement::Whole { shard: 2 },
                Placement::Rounds,
                Placement::Whole { shard: 1 },
            ]
        );
        // Every scenario has some shard; a whole one exactly one.
        for n in 1..=4 {
            for p in plan(&scenarios, n) {
                let on = (0..n).filter(|i| p.on(*i)).count() as u32;
                match p {
                    Placement::Whole { .. } => assert_eq!(on, 1),
                    _ => assert_eq!(on, n),
                }
            }
        }
    }

    #[test]
    fn the_shards_slices_cover_every_connection_attempt_and_round_once() {
        for n in 1..=4u32 {
            let slices: Vec<Slice> = (1..=n).map(|i| spec(i, n).slice()).collect();
            let mut connections: Vec<u32> = slices.iter().flat_map(|s| s.connections(7)).collect();
            connections.sort_unstable();
            assert_eq!(connections, (0..7).collect::<Vec<_>>());
            for total in [0u64, 1, 5, 12] {
                let mut attempts: Vec<u64> = slices
                    .iter()
                    .flat_map(|s| (0..s.share(total)).map(|k| s.global(k)))
                    .collect();
                attempts.sort_unstable();
                assert_eq!(
                    attempts,
                    (0..total).collect::<Vec<_>>(),
                    "{n} shards, {total}"
                );
            }
        }
    }

    #[test]
    fn parts_follow_the_placement() {
        assert_eq!(part(Placement::Whole { shard: 2 }, spec(2, 3)), Part::Whole);
        assert_eq!(
            part(Placement::Whole { shard: 2 }, spec(1, 3)),
            Part::Absent
        );
        assert_eq!(
            part(Placement::Connections, spec(3, 3)),
            Part::Slice(Slice { index: 2, count: 3 })
        );
        assert_eq!(part(Placement::Rounds, spec(1, 1)), Part::Whole);
    }

    #[test]
    fn a_split_that_cannot_share_its_resources_is_refused_with_the_fix() {
        let hot = vec![scenario(SUSTAINED, "hot")];
        let placements = plan(&hot, 2);
        assert_eq!(check_plan(&hot, &placements, spec(1, 2), Some("k")), Ok(()));
        let e = check_plan(&hot, &placements, spec(1, 2), None).unwrap_err();
        assert!(e.contains("--run-key"), "{e}");
        let mut builtin = hot.clone();
        builtin[0].target = Target::Builtin;
        let e = check_plan(&builtin, &placements, spec(1, 2), Some("k")).unwrap_err();
        assert!(e.contains("--target URL"), "{e}");
        let server_ids = SUSTAINED
            .replace("id = \"/texts/hot-{unique}\"\n", "")
            .replace(
                "create = { method = \"PUT\", path = \"{id}\", body = \"COUNT:0\" }",
                "create = { path = \"/texts\", body = \"COUNT:0\", id = \"header:Location\" }",
            );
        let server_ids = vec![scenario(&server_ids, "hot")];
        let e = check_plan(&server_ids, &placements, spec(1, 2), Some("k")).unwrap_err();
        assert!(
            e.contains("server-made ids") && e.contains("{unique}"),
            "{e}"
        );
        let e = check_plan(&hot, &plan(&hot, 7), spec(1, 7), Some("k")).unwrap_err();
        assert!(e.contains("6 connection(s) cannot be split over 7"), "{e}");
        // One shard is a plain run.
        assert_eq!(check_plan(&builtin, &placements, spec(1, 1), None), Ok(()));
    }
}
