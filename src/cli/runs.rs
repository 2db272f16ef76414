//! The commands that fire writes or gather what they fired, from their options to the
//! exit code: `run`, `compare`, `replay` and `merge`, with the terminal summary fitted
//! to the width (`--wide`), the JUnit file (a test case per check, [`junit`]) and the
//! `--jsonl` stream.

use super::*;

/// Writes the JUnit file; a failure to write it is an error (exit 2) unless the run
/// already failed.
pub(super) fn write_junit(
    path: &std::path::Path,
    info: &RunInfo,
    results: &[ScenarioResult],
    dir: Option<&std::path::Path>,
) -> Result<(), String> {
    let dir = dir.map(|d| d.display().to_string());
    let xml = junit::render(info, results, dir.as_deref())
        .map_err(|e| format!("cannot render the JUnit file {}: {e}", path.display()))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {} for the JUnit file: {e}", parent.display()))?;
    }
    write_atomically(path, |p| std::fs::write(p, xml))
        .map_err(|e| format!("cannot write the JUnit file {}: {e}", path.display()))
}

/// `contend merge`: the merged report, printed and written, and its verdict's exit code.
pub(super) async fn merge_command(
    opts: crate::merge::MergeOptions,
    junit_path: Option<PathBuf>,
    layout: terminal::Layout,
) -> u8 {
    match crate::merge::merge(opts).await {
        Ok(report) => {
            for why in &report.unreadable {
                eprintln!("warning: left out: {why}");
            }
            let missing = match report.missing.as_slice() {
                [] => String::new(),
                shards => format!(
                    "; missing: shard {}",
                    shards
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            println!(
                "contend merge: {} of {} shards{missing}",
                report.merged.len(),
                report.shards
            );
            for shard in &report.merged {
                println!("  {shard}");
            }
            println!();
            print!(
                "{}",
                terminal::render_in(&report.results, Some(&report.report_dir), colour(), layout)
            );
            let code = report.exit_code();
            if let Some(path) = junit_path {
                if let Err(e) = write_junit(
                    &path,
                    &report.info,
                    &report.results,
                    Some(&report.report_dir),
                ) {
                    eprintln!("error: {e}");
                    return if code == 1 { 1 } else { 2 };
                }
                println!("JUnit: {}", path.display());
            }
            code
        }
        Err(e) => print_error(&e),
    }
}

pub(super) async fn compare_command(
    opts: CompareOptions,
    junit_path: Option<PathBuf>,
    layout: terminal::Layout,
) -> u8 {
    handle_interrupts(opts.run.stop.clone(), opts.run.abort.clone());
    note_ignored_proxies();
    let seed = opts.run.seed;
    match compare::compare(opts).await {
        Ok(report) => {
            let code = report.exit_code();
            if let Some(path) = &junit_path {
                let results = report.junit_results();
                if let Err(e) = write_junit(path, &report.info, &results, Some(&report.dir)) {
                    eprintln!("error: {e}");
                    return if code == 1 { 1 } else { 2 };
                }
            }
            println!("contend compare, seed {seed}\n");
            let tables: Vec<(&str, &[ScenarioResult])> = report
                .runs
                .iter()
                .map(|(t, r)| (t.name.as_str(), r.results.as_slice()))
                .collect();
            print!(
                "{}",
                terminal::render_compare_in(&tables, Some(&report.dir), colour(), layout)
            );
            if !report.not_run.is_empty() {
                println!("Not run (interrupted): {}", report.not_run.join(", "));
            }
            if let Some(path) = &junit_path {
                println!("JUnit: {}", path.display());
            }
            code
        }
        Err(e) => print_error(&e),
    }
}

pub(super) async fn replay_command(opts: crate::replay::ReplayOptions) -> u8 {
    let (stop, abort) = crate::replay::stop_flags(&opts);
    handle_interrupts(stop.clone(), abort);
    note_ignored_proxies();
    println!("contend replay, seed {}\n", opts.seed);
    let mut say = |text: String| print!("{text}");
    match crate::replay::replay(opts, &mut say).await {
        Ok(report) => {
            println!();
            for r in &report.replays {
                println!("{}", crate::replay::verdict_line(r));
            }
            println!("\nReports of every attempt: {}/", report.dir.display());
            report.exit_code(stop.load(Ordering::Relaxed))
        }
        Err(e) => print_error(&e),
    }
}

pub(super) async fn run_command(
    mut opts: RunOptions,
    junit_path: Option<PathBuf>,
    jsonl_path: Option<PathBuf>,
    wide: bool,
) -> u8 {
    let scenarios = match run::load(&opts) {
        Ok(scenarios) => scenarios,
        Err(e) => return print_error(&e),
    };
    // With the records on stdout (`--jsonl -`), what people read goes to stderr.
    let records_on_stdout = jsonl_path.as_deref() == Some(std::path::Path::new("-"));
    let layout = match records_on_stdout {
        false => terminal::Layout::for_stdout(wide),
        true => terminal::Layout::for_stderr(wide),
    };
    let say = |text: String| match records_on_stdout {
        false => print!("{text}"),
        true => eprint!("{text}"),
    };
    if let Some(path) = &jsonl_path {
        match open_jsonl(path) {
            Ok(stream) => opts.jsonl = Some(Arc::new(stream)),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let jsonl = opts.jsonl.clone();
    handle_interrupts(opts.stop.clone(), opts.abort.clone());
    note_ignored_proxies();
    let seed = opts.seed;
    let ran = run::run_loaded(opts, scenarios).await;
    // Everything the run streamed is written before the summary says it is there.
    let streamed = jsonl.map(|stream| stream.finish());
    match ran {
        Ok(report) => {
            say(format!("contend run, seed {seed}\n\n"));
            say(terminal::render_in(
                &report.results,
                Some(&report.report_dir),
                colour(),
                layout,
            ));
            if !report.skipped.is_empty() {
                say(format!(
                    "Not run (interrupted): {}\n",
                    report.skipped.join(", ")
                ));
            }
            let mut code = report.exit_code();
            if let Some(spec) = report.shard {
                // A shard's verdict is its part's: the run's is `contend merge`'s. It
                // fails only when it could not run its part (2) or was stopped (130), so
                // that a Job or CI matrix never runs a shard twice for a verdict.
                code = if report.results.iter().any(|r| r.error.is_some()) {
                    2
                } else if !report.info.complete(&report.results) {
                    130
                } else {
                    0
                };
                say(format!(
                    "Shard {spec}: its part is in {}; `contend merge` over every shard's \
                     folder gives the run's verdict\n",
                    report.report_dir.display()
                ));
            }
            match (streamed, &jsonl_path) {
                (Some(Err(e)), Some(path)) => {
                    let at = match records_on_stdout {
                        false => path.display().to_string(),
                        true => "on stdout".to_string(),
                    };
                    eprintln!("error: the JSON Lines history {at} is incomplete: {e}");
                    // A violation (1) still wins over an error (2).
                    code = if code == 1 { 1 } else { 2 };
                }
                (Some(Ok(n)), Some(path)) if !records_on_stdout => {
                    say(format!("JSON Lines: {} ({n} records)\n", path.display()))
                }
                _ => {}
            }
            if let Some(path) = junit_path {
                if let Err(e) = write_junit(
                    &path,
                    &report.info,
                    &report.results,
                    Some(&report.report_dir),
                ) {
                    eprintln!("error: {e}");
                    // A violation (1) still wins over an error (2).
                    return if code == 1 { 1 } else { 2 };
                }
                say(format!("JUnit: {}\n", path.display()));
            }
            code
        }
        Err(e) => print_error(&e),
    }
}

/// The `--jsonl` stream: stdout for `-`, else the file, its folder made if missing.
fn open_jsonl(path: &std::path::Path) -> Result<history::JsonlStream, String> {
    if path == std::path::Path::new("-") {
        return Ok(history::JsonlStream::stdout());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            format!(
                "cannot create {} for the JSON Lines history: {e}",
                parent.display()
            )
        })?;
    }
    history::JsonlStream::create(path).map_err(|e| {
        format!(
            "cannot write the JSON Lines history {}: {e}",
            path.display()
        )
    })
}
