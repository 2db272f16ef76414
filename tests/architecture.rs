//! The import graph of `src/`, checked against the layers `lib.rs` describes: every
//! top-level module has a layer, no module imports one of a higher layer, and no two
//! top-level modules import each other, directly or around a circle.
//!
//! The graph is read from the source text, not from the compiler: every `crate::X`
//! path in code (comments and string literals are skipped; `crate::{X, Y}` counts each)
//! is an edge from the file's top-level module to `X`, as is a `super::` path at the
//! top of a file that climbs to the crate root. `CONTEND_SRC=/path/to/src` checks
//! another tree, read-only (e.g. `CONTEND_SRC=/work/main/src cargo test --test
//! architecture`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may import its own layer's modules (as long as
/// that makes no cycle) and those of lower layers, never a higher layer's.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundation: names shared by every stage",
        &["outcome", "protocol"],
    ),
    (
        "foundation: the metric catalogue and thresholds",
        &["metrics"],
    ),
    (
        "foundation and stage 1: the scenario model, registry and parser",
        &["scenario"],
    ),
    ("foundation: the history record", &["history"]),
    ("stage 2: engine", &["engine"]),
    (
        "stage 3: check, and the figures read from records",
        &["check", "latency", "series", "convergence"],
    ),
    ("stage 4: gate", &["gate"]),
    ("stage 5: report", &["report"]),
    ("the reference server", &["server"]),
    ("tools beside the pipeline", &["relay"]),
    (
        "drivers",
        &["shard", "run", "merge", "compare", "replay", "cli"],
    ),
];

/// Modules held to a narrower rule than their layer's: the only modules they may import.
/// The reference server is a program of its own; it shares the wire names and nothing
/// else with the tool. The relay borrows only the server's precise timer.
const NARROW: &[(&str, &[&str])] = &[("server", &["protocol"]), ("relay", &["server"])];

/// One `crate::` reference: where it is.
#[derive(Debug, Clone)]
struct Site {
    file: PathBuf,
    line: usize,
}

/// Every edge between two different top-level modules, with the places that make it.
type Graph = BTreeMap<String, BTreeMap<String, Vec<Site>>>;

fn source_dir() -> PathBuf {
    match std::env::var_os("CONTEND_SRC") {
        Some(dir) => PathBuf::from(dir),
        None => common::files::repo().join("src"),
    }
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|x| x == "rs") {
            found.push(path);
        }
    }
}

/// The module path of a file under `src/`: `gate.rs` is `[gate]`, `report/mod.rs`
/// `[report]`, `report/json.rs` `[report, json]`. `lib.rs` and `main.rs` are roots.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    match last.strip_suffix(".rs") {
        Some("mod") | None => {}
        Some(name) => parts.push(name.to_string()),
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// The text with comments and string and character literals blanked out (newlines
/// kept, so line numbers still hold).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            while i < chars.len() {
                if chars[i] == '"' && chars[i + 1..].iter().take(hashes).all(|c| *c == '#') {
                    i += 1 + hashes;
                    break;
                }
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(&c) = chars.get(i) {
                    blank(&mut out, c);
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\''); a lifetime ('a) is left as code.
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn identifier_at(chars: &[char], start: usize) -> String {
    chars[start..]
        .iter()
        .take_while(|c| c.is_alphanumeric() || **c == '_')
        .collect()
}

/// The top-level modules a file refers to, with the line of each reference.
fn references(code: &str, module: &[String]) -> Vec<(String, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut line = 1;
    let mut line_start = 0;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\n' {
            line += 1;
            line_start = i + 1;
            i += 1;
            continue;
        }
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        if boundary && rest == "crate::" {
            let after = i + 7;
            if chars.get(after) == Some(&'{') {
                // crate::{a, b::c, d}: the first name of each item at depth one.
                let mut depth = 0;
                let mut j = after;
                let mut item_start = true;
                while j < chars.len() {
                    match chars[j] {
                        '{' => {
                            depth += 1;
                            item_start = depth == 1;
                        }
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => item_start = true,
                        c if c.is_alphabetic() || c == '_' => {
                            if item_start && depth == 1 {
                                found.push((identifier_at(&chars, j), line));
                            }
                            item_start = false;
                        }
                        _ => {}
                    }
                    j += 1;
                }
            } else {
                found.push((identifier_at(&chars, after), line));
            }
            i = after;
            continue;
        }
        // `super::` on an unindented line (so not inside an inline module) climbs the
        // file's module path; once past its top it names a top-level module.
        if boundary && rest == "super::" {
            let mut j = i;
            let mut climbs = 0;
            while chars[j..chars.len().min(j + 7)].iter().collect::<String>() == "super::" {
                climbs += 1;
                j += 7;
            }
            let unindented = chars.get(line_start).is_some_and(|c| !c.is_whitespace());
            if unindented && climbs >= module.len() {
                found.push((identifier_at(&chars, j), line));
            }
            i = j;
            continue;
        }
        i += 1;
    }
    found
}

fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    assert!(!files.is_empty(), "no .rs file under {}", src.display());
    files.sort();
    let mut graph = Graph::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("a file under src");
        let module = module_path(relative);
        let Some(top) = module.first() else {
            continue; // lib.rs and main.rs only declare and start the crate
        };
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        graph.entry(top.clone()).or_default();
        for (target, line) in references(&code_only(&text), &module) {
            if target.is_empty() || target == *top {
                continue;
            }
            graph
                .entry(top.clone())
                .or_default()
                .entry(target)
                .or_default()
                .push(Site {
                    file: relative.to_path_buf(),
                    line,
                });
        }
    }
    graph
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn sites(sites: &[Site]) -> String {
    let shown: Vec<String> = sites
        .iter()
        .take(3)
        .map(|s| format!("{}:{}", s.file.display(), s.line))
        .collect();
    shown.join(", ")
}

#[test]
fn every_top_level_module_has_a_layer() {
    let graph = graph(&source_dir());
    let modules: BTreeSet<&String> = graph
        .keys()
        .chain(graph.values().flat_map(|targets| targets.keys()))
        .collect();
    let unplaced: Vec<&&String> = modules.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "modules with no layer: {unplaced:?}; add each to LAYERS in tests/architecture.rs \
         (and to the layers in lib.rs's module doc)"
    );
}

#[test]
fn no_module_imports_a_higher_layer() {
    let graph = graph(&source_dir());
    let mut wrong = Vec::new();
    for (from, targets) in &graph {
        let narrow = NARROW.iter().find(|(m, _)| m == from).map(|(_, a)| *a);
        for (to, at) in targets {
            let (Some(mine), Some(theirs)) = (layer_of(from), layer_of(to)) else {
                continue; // every_top_level_module_has_a_layer names it
            };
            if theirs > mine {
                wrong.push(format!(
                    "{from} ({}) imports {to} ({}) at {}",
                    LAYERS[mine].0,
                    LAYERS[theirs].0,
                    sites(at)
                ));
            } else if narrow.is_some_and(|allowed| !allowed.contains(&to.as_str())) {
                wrong.push(format!(
                    "{from} may import only {narrow:?}, but imports {to} at {}",
                    sites(at)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let graph = graph(&source_dir());
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit<'a>(
        graph: &'a Graph,
        module: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(start) = path.iter().position(|m| *m == module) {
            let mut cycle: Vec<String> = path[start..].iter().map(|m| m.to_string()).collect();
            cycle.push(module.to_string());
            let edges: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("{} → {} ({})", w[0], w[1], sites(&graph[&w[0]][&w[1]])))
                .collect();
            cycles.push(edges.join("; "));
            return;
        }
        if !done.insert(module) {
            return;
        }
        path.push(module);
        if let Some(targets) = graph.get(module) {
            for to in targets.keys() {
                visit(graph, to, path, done, cycles);
            }
        }
        path.pop();
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(&graph, module, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(
        cycles.is_empty(),
        "top-level modules import each other in a circle:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_reader_sees_paths_in_code_and_skips_comments_and_strings() {
    let code = code_only(
        "use crate::gate::{self, Threshold};\n\
         // crate::report is only mentioned\n\
         let url = \"crate::run\"; let raw = r#\"crate::cli\"#; let c = '\"';\n\
         use crate::{history::Outcome, check::Verdict};\n\
         fn f<'a>(x: &'a str) -> crate::metrics::Unit { todo!() }\n",
    );
    let found: Vec<(String, usize)> = references(&code, &["engine".to_string()]);
    let names: Vec<&str> = found.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(names, ["gate", "history", "check", "metrics"]);
    assert_eq!(found[3].1, 5, "line numbers survive the blanking");
    let top = references("use super::scenario::Scenario;\n", &["run".to_string()]);
    assert_eq!(top, [("scenario".to_string(), 1)]);
    let inner = references("use super::json;\n", &["report".to_string(), "html".into()]);
    assert!(inner.is_empty(), "{inner:?}");
}
