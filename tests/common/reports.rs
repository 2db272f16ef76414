//! Reading the report files a run writes: CSV tables and JSON.

use std::collections::HashMap;
use std::path::Path;

/// A CSV report's header and rows.
pub fn read_table(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{} readable: {e}", path.display()));
    let header = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|row| row.expect("row").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// A CSV report's rows, without the header.
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    read_table(path).1
}

/// The index of the column `name` in a CSV report.
pub fn column(path: &Path, name: &str) -> usize {
    let (headers, _) = read_table(path);
    headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("{} has no column {name}: {headers:?}", path.display()))
}

/// `summary.csv` as one map of column → value per scenario, by scenario name; empty if
/// the file is missing (a run that wrote nothing).
pub fn summary_by_scenario(path: &Path) -> HashMap<String, HashMap<String, String>> {
    if !path.is_file() {
        return HashMap::new();
    }
    let (header, rows) = read_table(path);
    rows.into_iter()
        .map(|row| {
            let map: HashMap<String, String> = header.iter().cloned().zip(row).collect();
            (map["scenario"].clone(), map)
        })
        .collect()
}

/// A JSON report.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("file exists");
    serde_json::from_str(&text).expect("valid JSON")
}
