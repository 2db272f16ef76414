//! The repository's files: the shipped `scenarios/` folder, one shipped scenario, the
//! four core scenarios, and scenario files written for a test (a short sustained one).

use std::path::{Path, PathBuf};

/// The repository's root folder.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped `scenarios/` folder.
pub fn shipped() -> PathBuf {
    repo().join("scenarios")
}

/// One shipped scenario file, by file name.
pub fn scenario(name: &str) -> PathBuf {
    shipped().join(name)
}

/// One shipped scenario file as a command-line argument.
pub fn scenario_arg(name: &str) -> String {
    scenario(name).to_string_lossy().into_owned()
}

/// Writes `text` as the scenario file `name` in `dir` and returns its path.
pub fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("scenario written");
    path
}

/// A folder in `dir` holding the four core scenarios (three stale-write dialects and the
/// counter), so the figures a test expects do not change as scenarios are added.
pub fn core_scenarios(dir: &Path) -> String {
    let core = dir.join("core-scenarios");
    std::fs::create_dir_all(&core).unwrap();
    for name in [
        "notes-etag-stale-write.toml",
        "docs-version-stale-write.toml",
        "db-rev-stale-write.toml",
        "notes-etag-counter.toml",
    ] {
        std::fs::copy(scenario(name), core.join(name)).unwrap();
    }
    core.to_string_lossy().into_owned()
}

/// A sustained scenario file in `dir` against the built-in server's notes: 4 connections
/// over 2 hot notes, created at `create_path`, limited by `limit` (`[workload]` lines).
pub fn sustained_scenario(dir: &Path, create_path: &str, limit: &str) -> PathBuf {
    write_scenario(
        dir,
        "sustained.toml",
        &format!(
            r#"name = "short-sustained"
target = "builtin"

[workload]
kind = "sustained"
connections = 4
resources = 2
{limit}

[resource]
create = {{ method = "POST", path = "{create_path}", json = {{ count = 0 }}, expect = [201], id = "header:Location" }}
read = {{ method = "GET", path = "{{id}}" }}
version = "header:ETag"
value = "json:/count"

[write]
method = "PUT"
path = "{{id}}"
headers = {{ "If-Match" = "{{version}}" }}
json = {{ count = "{{next}}", by = "{{marker}}" }}

[expect]
winner = [200, 204]
conflict = [412]
"#
        ),
    )
}

/// Every file under `dir`, in its subfolders too (a report folder's `witnesses/` and
/// `timelines/`), sorted.
pub fn every_file(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries =
            std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
