//! Loading: files and directories to scenarios, or every diagnostic of every file.
//!
//! This is the parser's entry point. It finds the `*.toml` files under the paths it is
//! given, reads each one, reports TOML syntax errors, and hands the parsed document to
//! the table readers (starting with `root.rs`) through a [`Reader`] that collects
//! diagnostics instead of stopping at the first. Before diagnostics leave, values that
//! came from the environment are redacted from them. Nothing here panics on input.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use toml_edit::ImDocument;

use super::diagnostic::{Diagnostic, Site, Source};
use super::model::Scenario;
use super::reader::Reader;

/// Parses and validates one scenario file's text.
///
/// `file` names the file in diagnostics and gives the default name (its stem); `env`
/// looks up `${NAME}` references. Every problem in the file is returned, in file order.
pub fn parse_str(
    file: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Scenario, Vec<Diagnostic>> {
    parse_located(file, text, env).map(|(scenario, _)| scenario)
}

/// Reads and parses one scenario file, with the process environment.
pub fn load_file(path: &Path) -> Result<Scenario, Vec<Diagnostic>> {
    load_located(path).map(|(scenario, _)| scenario)
}

/// Expands directories recursively to their *.toml files (sorted), loads every file, and
/// returns ALL diagnostics of ALL files at once (never stops at the first). Duplicate
/// scenario names across files are an error. A path that does not exist, or a directory
/// with no .toml files, is an error.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Scenario>, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                diagnostics.push(Diagnostic::whole_file(
                    path,
                    "no such file or directory",
                    Some("give scenario files (*.toml) or directories that hold them".into()),
                ));
            }
            Err(e) => diagnostics.push(Diagnostic::whole_file(
                path,
                format!("cannot read: {e}"),
                None,
            )),
            Ok(meta) if meta.is_dir() => {
                let before = diagnostics.len();
                let mut found = Vec::new();
                let mut visited = HashSet::new();
                collect_toml_files(path, &mut found, &mut visited, &mut diagnostics);
                found.sort();
                if found.is_empty() && diagnostics.len() == before {
                    diagnostics.push(Diagnostic::whole_file(
                        path,
                        "no .toml files in this directory (or below it)",
                        Some("scenario files end in .toml".into()),
                    ));
                }
                files.extend(found);
            }
            Ok(_) => files.push(path.clone()),
        }
    }

    let mut loaded_files = HashSet::new();
    let mut names: HashMap<String, PathBuf> = HashMap::new();
    let mut scenarios = Vec::new();
    for file in files {
        let identity = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if !loaded_files.insert(identity) {
            continue;
        }
        match load_located(&file) {
            Ok((scenario, name_site)) => {
                if let Some(first) = names.get(&scenario.name) {
                    diagnostics.push(
                        name_site.diagnostic(
                            &file,
                            format!(
                                "duplicate scenario name `{}`: {} has the same name",
                                scenario.name,
                                first.display()
                            ),
                            Some(
                                "scenario names must be unique; set a different name = \"...\" \
                             in one of the files"
                                    .into(),
                            ),
                        ),
                    );
                } else {
                    names.insert(scenario.name.clone(), file.clone());
                }
                scenarios.push(scenario);
            }
            Err(mut found) => diagnostics.append(&mut found),
        }
    }
    if diagnostics.is_empty() {
        Ok(scenarios)
    } else {
        Err(diagnostics)
    }
}

/// Adds every *.toml file under `dir` to `found`, following symbolic links once and
/// leaving out hidden files and folders (their names start with a dot).
fn collect_toml_files(
    dir: &Path,
    found: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let identity = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !visited.insert(identity) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            diagnostics.push(Diagnostic::whole_file(
                dir,
                format!("cannot list directory: {e}"),
                None,
            ));
            return;
        }
    };
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(e) => {
                diagnostics.push(Diagnostic::whole_file(
                    dir,
                    format!("cannot list directory: {e}"),
                    None,
                ));
                continue;
            }
        };
        // Hidden entries are skipped: `.git`, an editor's files, and the `..data` folders
        // of a Kubernetes ConfigMap volume, which hold every file a second time.
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        if path.is_dir() {
            collect_toml_files(&path, found, visited, diagnostics);
        } else if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
    }
}

/// The largest scenario file read. Scenario files are a few kilobytes; the cap is far
/// above any real one, and keeps `contend validate /dev/zero` (or a mistyped path to a
/// log) from reading without end.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Reads a file's text, at most [`MAX_FILE_BYTES`]; the error says what is wrong with it.
fn read_capped(path: &Path) -> Result<String, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => format!("cannot read file: {e}"),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read file: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "the file is larger than {} MiB, so it is not a scenario file (they are a few kilobytes); \
             stopped reading it there",
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    String::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8 text".to_string())
}

/// Reads and parses a file; also returns where its name is written, for duplicates.
fn load_located(path: &Path) -> Result<(Scenario, Site), Vec<Diagnostic>> {
    let text =
        read_capped(path).map_err(|message| vec![Diagnostic::whole_file(path, message, None)])?;
    parse_located(path, &text, &|name| std::env::var(name).ok())
}

fn parse_located(
    file: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Scenario, Site), Vec<Diagnostic>> {
    let source = Source::new(file, text);
    let document = match ImDocument::parse(text) {
        Ok(document) => document,
        Err(e) => return Err(vec![syntax_error(&source, &e)]),
    };
    let mut reader = Reader::new(source, env);
    reader.homes = super::keys::homes();
    let scenario = super::root::read_scenario(&mut reader, document.as_table());
    let mut diagnostics = std::mem::take(&mut reader.diagnostics);
    match scenario {
        Some(found) if diagnostics.is_empty() => Ok(found),
        _ => {
            if diagnostics.is_empty() {
                diagnostics.push(Diagnostic::whole_file(
                    file,
                    "internal error: the scenario is incomplete, but no problem was recorded",
                    Some("please report this with the file".into()),
                ));
            }
            let secrets =
                super::Secrets::of(reader.secrets.iter().filter(|s| s.chars().count() >= 4));
            for d in &mut diagnostics {
                redact(d, &secrets);
            }
            diagnostics.sort_by_key(|d| (d.line, d.column));
            Err(diagnostics)
        }
    }
}

/// Replaces values from the environment, in every form, in a diagnostic's text, so
/// errors can be shown. (Values under 4 characters are left: they would mangle the
/// key names and hints around them.)
fn redact(diagnostic: &mut Diagnostic, secrets: &super::Secrets) {
    secrets.hide(&mut diagnostic.message);
    if let Some(hint) = &mut diagnostic.hint {
        secrets.hide(hint);
    }
    if let Some(snippet) = &mut diagnostic.snippet {
        secrets.hide(snippet);
    }
}

/// A TOML syntax error as one diagnostic: its first line is the message, the rest
/// (what the parser expected) the hint.
fn syntax_error(source: &Source<'_>, error: &toml_edit::TomlError) -> Diagnostic {
    let mut lines = error
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let message = format!(
        "TOML syntax error: {}",
        lines.next().unwrap_or("invalid TOML")
    );
    let rest: Vec<&str> = lines.collect();
    let hint = (!rest.is_empty()).then(|| rest.join("; "));
    match error.span() {
        Some(span) => source.at(span.start, message, hint),
        None => Diagnostic::whole_file(source.file, message, hint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::test_support::*;

    #[test]
    fn a_toml_syntax_error_is_one_located_diagnostic() {
        let text = STALE_WRITE.replace("rounds = 200", "rounds = [200");
        let d = only_error(&text);
        assert_eq!(d.message, "TOML syntax error: invalid array");
        assert_eq!(d.hint.as_deref(), Some("expected `]`"));
        assert_eq!(at(&d), (12, 1), "the parser notices at the next token");

        let d = only_error("a = 1\nb = \"open\n");
        assert_eq!(d.message, "TOML syntax error: invalid basic string");
        assert_eq!(at(&d), (2, 10), "just past the open string");
    }

    #[test]
    fn values_from_the_environment_are_redacted_from_messages() {
        let text = STALE_WRITE.replace("timeout = \"2s\"", "timeout = \"${T}\"");
        assert_ne!(text, STALE_WRITE);
        let env = |name: &str| (name == "T").then(|| "s3cret-token".to_string());
        let errors = parse_str(Path::new("a.toml"), &text, &env).expect_err("not a duration");
        assert!(errors[0].message.contains("***"), "{}", errors[0].message);
        assert!(
            !errors[0].to_string().contains("s3cret-token"),
            "{}",
            errors[0]
        );

        // A target is an address, not a secret: its errors show it.
        let text = STALE_WRITE.replace("https://api.example.com/v1/", "${TARGET}");
        let env = |name: &str| (name == "TARGET").then(|| "ftp://internal-host".to_string());
        let errors = parse_str(Path::new("a.toml"), &text, &env).expect_err("ftp");
        assert_eq!(
            errors[0].message,
            "target `ftp://internal-host` uses the `ftp` scheme; contend speaks http and https"
        );
    }

    #[test]
    fn load_paths_reports_the_bad_files_diagnostics_among_good_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("a.toml"),
            STALE_WRITE.replace("name = \"notes-etag-stale-write\"\n", ""),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("more")).unwrap();
        let bad = dir.path().join("more").join("b.toml");
        std::fs::write(&bad, COUNTER.replace("increments = 20", "rounds = 20")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a scenario").unwrap();

        let errors = load_paths(&[dir.path().to_path_buf()]).expect_err("b.toml is bad");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].file, bad);
        assert!(errors[0].message.starts_with("`rounds` is for stale-write"));

        std::fs::write(&bad, COUNTER).unwrap();
        let scenarios = load_paths(&[dir.path().to_path_buf()]).expect("both valid");
        let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b"], "files are loaded in sorted path order");
    }

    #[test]
    fn load_paths_rejects_duplicate_names_missing_paths_and_empty_directories() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a.toml"), STALE_WRITE).unwrap();
        std::fs::write(dir.path().join("b.toml"), STALE_WRITE).unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let missing = dir.path().join("missing.toml");

        let errors = load_paths(&[dir.path().to_path_buf(), missing.clone(), empty.clone()])
            .expect_err("three problems");
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert_eq!(errors[0].file, missing);
        assert_eq!(errors[0].message, "no such file or directory");
        assert_eq!(errors[1].file, empty);
        assert!(errors[1].message.starts_with("no .toml files"));
        assert_eq!(errors[2].file, dir.path().join("b.toml"));
        assert!(
            errors[2]
                .message
                .starts_with("duplicate scenario name `notes-etag-stale-write`"),
            "{}",
            errors[2].message
        );
        assert_eq!(
            at(&errors[2]),
            (1, 8),
            "points at the name in the second file"
        );
    }

    #[test]
    #[cfg(unix)]
    fn an_endless_file_is_refused_after_the_cap_without_reading_on() {
        let errors = load_file(Path::new("/dev/zero")).expect_err("not a scenario");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .message
                .starts_with("the file is larger than 32 MiB"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn load_file_reports_an_unreadable_file_as_a_whole_file_problem() {
        let errors = load_file(Path::new("/nonexistent/x.toml")).expect_err("missing");
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, errors[0].column), (0, 0));
    }
}
