//! The `thresholds` of a scenario file, in either of two forms:
//!
//! ```toml
//! thresholds = ["latency.winner.p99 < 50ms", "lost_updates == 0"]
//! ```
//!
//! or a table whose keys are metrics and whose values are conditions (one or a list):
//!
//! ```toml
//! [thresholds]
//! latency.winner.p99 = "< 50ms"
//! indeterminate_rate = ["< 1%"]
//! ```
//!
//! Expressions are parsed by [`crate::metrics::Threshold::parse`]; an unknown metric, a bad
//! unit or a metric the scenario's workload does not measure is a diagnostic at the
//! metric's (or the value's) position in the file.

use toml_edit::Item;

use super::env::Context;
use super::reader::{Field, Reader};
use crate::metrics::{Origin, Threshold, ThresholdError};

/// Reads the `thresholds` field of a scenario whose workload is `workload` (its name;
/// `None` when the workload itself is invalid).
pub(super) fn read(
    r: &mut Reader<'_>,
    field: &Field<'_>,
    workload: Option<super::WorkloadId>,
) -> Option<Vec<Threshold>> {
    let before = r.diagnostics.len();
    let mut found = Vec::new();
    if field.item.is_array() {
        let array = field.item.as_array()?;
        for value in array.iter() {
            let at = value.span().map_or(field.at, |s| s.start);
            let Some(text) = value.as_str() else {
                r.error(
                    at,
                    "wrong type in `thresholds`: expected a string like \"lost_updates == 0\""
                        .to_string(),
                    "write each threshold as METRIC OP VALUE in quotes, e.g. \
                     thresholds = [\"latency.winner.p99 < 50ms\"]"
                        .to_string(),
                );
                continue;
            };
            let Some(text) = r.interpolate(text, at, Context::Plain) else {
                continue;
            };
            match Threshold::parse(&text, Origin::Scenario) {
                Ok(t) => found.push((t, at)),
                Err(e) => report(r, &e, at, &text),
            }
        }
    } else if field.item.is_table_like() {
        let table = r.map(field)?;
        for f in table.fields("") {
            conditions(r, &f, f.key.to_string(), f.key_at, &mut found);
        }
    } else {
        r.wrong_type(field, "a list of thresholds or a [thresholds] table");
        return None;
    }
    if let Some(workload) = workload {
        for (t, at) in &found {
            if !workload.measures(t.metric.scope) {
                r.error(
                    *at,
                    format!(
                        "`{}` is not measured by {workload} workloads",
                        t.metric.name
                    ),
                    "it is a counter figure; remove this threshold or use it in a \
                     kind = \"counter\" scenario"
                        .to_string(),
                );
            }
        }
    }
    (r.diagnostics.len() == before).then(|| found.into_iter().map(|(t, _)| t).collect())
}

/// Reads the conditions of one metric key of the table form; nested tables (dotted
/// keys such as `latency.winner.p99`) extend the metric name.
fn conditions(
    r: &mut Reader<'_>,
    field: &Field<'_>,
    metric: String,
    metric_at: usize,
    found: &mut Vec<(Threshold, usize)>,
) {
    if field.item.is_table_like() {
        let Some(table) = r.map(field) else {
            return;
        };
        for f in table.fields("") {
            conditions(r, &f, format!("{metric}.{}", f.key), metric_at, found);
        }
        return;
    }
    if let Err((message, hint)) = crate::metrics::known_metric(&metric) {
        r.error(metric_at, message, hint);
        return;
    }
    let values: Vec<(&toml_edit::Value, usize)> = match field.item {
        Item::Value(toml_edit::Value::Array(array)) => array
            .iter()
            .map(|v| (v, v.span().map_or(field.at, |s| s.start)))
            .collect(),
        Item::Value(v) => vec![(v, field.at)],
        _ => Vec::new(),
    };
    for (value, at) in values {
        let Some(condition) = value.as_str() else {
            r.error(
                at,
                format!("wrong type for the threshold on `{metric}`: expected a string"),
                format!("write a condition in quotes, e.g. {metric} = \"< 50ms\""),
            );
            continue;
        };
        let Some(condition) = r.interpolate(condition, at, Context::Plain) else {
            continue;
        };
        let expression = format!("{metric} {condition}");
        match Threshold::parse(&expression, Origin::Scenario) {
            Ok(t) => found.push((t, metric_at)),
            Err(e) => {
                let hint = format!(
                    "{}; in a [thresholds] table write the condition only, e.g. {metric} = \"< 50ms\"",
                    e.message
                );
                r.error(
                    at,
                    format!("invalid threshold on `{metric}`: `{condition}`"),
                    hint,
                );
            }
        }
    }
}

/// Reports an expression's error at the character it names, when the string in the file
/// is written plainly (no escapes, no interpolation); else at the string.
fn report(r: &mut Reader<'_>, e: &ThresholdError, string_at: usize, text: &str) {
    let raw = r.source.text().get(string_at..).unwrap_or("");
    let plain = ["\"", "'"].iter().any(|q| {
        raw.strip_prefix(q)
            .is_some_and(|rest| rest.starts_with(text) && rest[text.len()..].starts_with(q))
    });
    let at = if plain {
        let byte: usize = text.chars().take(e.at).map(char::len_utf8).sum();
        string_at + 1 + byte
    } else {
        string_at
    };
    r.error(at, e.message.clone(), e.hint.clone());
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::metrics::{Op, Origin};
    use crate::scenario::{parse_str, Diagnostic, Scenario};

    const BASE: &str = r#"name = "t"
[workload]
kind = "stale-write"
[resource]
id = "/notes/1"
read = { path = "{id}" }
version = "header:ETag"
[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { text = "{marker}" }
[expect]
winner = [200]
conflict = [412]
"#;

    fn parse(text: &str) -> Result<Scenario, Vec<Diagnostic>> {
        let env = |name: &str| (name == "P99").then(|| "50ms".to_string());
        parse_str(Path::new("t.toml"), text, &env)
    }

    /// The file with `thresholds` written before the first section.
    fn with(thresholds: &str) -> String {
        format!("{thresholds}\n{BASE}")
    }

    fn only_error(text: &str) -> Diagnostic {
        let errors = parse(text).expect_err("invalid");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        errors.into_iter().next().unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn a_list_of_expressions_parses_into_scenario_thresholds() {
        let s = parse(&with(
            r#"thresholds = ["latency.winner.p99 < ${P99}", "lost_updates == 0"]"#,
        ))
        .expect("valid");
        let shown: Vec<String> = s.thresholds.iter().map(|t| t.to_string()).collect();
        assert_eq!(shown, ["latency.winner.p99 < 50ms", "lost_updates == 0"]);
        assert!(s.thresholds.iter().all(|t| t.origin == Origin::Scenario));
    }

    #[test]
    fn a_table_maps_metrics_to_one_or_more_conditions() {
        let text = format!(
            "{BASE}[thresholds]\nlatency.winner.p99 = \"< 50ms\"\n\"latency.conflict.p999\" = [\"< 200ms\", \"> 1us\"]\nunexpected = \"== 0\"\n"
        );
        let s = parse(&text).expect("valid");
        let shown: Vec<String> = s.thresholds.iter().map(|t| t.to_string()).collect();
        assert_eq!(
            shown,
            [
                "latency.winner.p99 < 50ms",
                "latency.conflict.p999 < 200ms",
                "latency.conflict.p999 > 1us",
                "unexpected == 0"
            ]
        );
        assert_eq!(s.thresholds[2].op, Op::Gt);
    }

    #[test]
    fn an_unknown_metric_in_a_list_points_at_the_metric_with_a_suggestion() {
        let text = with(r#"thresholds = ["lost_updates == 0", "latency.winer.p99 < 50ms"]"#);
        let d = only_error(&text);
        assert_eq!((d.line, d.column), (1, 37));
        assert_eq!(d.message, "unknown metric `latency.winer.p99`");
        assert!(
            d.hint
                .as_deref()
                .unwrap_or("")
                .contains("did you mean `latency.winner.p99`?"),
            "{d}"
        );
    }

    #[test]
    fn an_unknown_metric_in_a_table_points_at_its_key() {
        let text = format!("{BASE}[thresholds]\nlost_update = \"== 0\"\n");
        let d = only_error(&text);
        assert_eq!((d.line, d.column), (17, 1));
        assert!(
            d.hint
                .as_deref()
                .unwrap_or("")
                .contains("did you mean `lost_updates`?"),
            "{d}"
        );
    }

    #[test]
    fn a_bad_condition_points_at_its_value() {
        let text = format!("{BASE}[thresholds]\nlatency.winner.p99 = \"< 50\"\n");
        let d = only_error(&text);
        assert_eq!((d.line, d.column), (17, 22));
        assert!(
            d.hint.as_deref().unwrap_or("").contains("needs a unit"),
            "{d}"
        );
    }

    #[test]
    fn a_counter_metric_on_a_stale_write_scenario_is_an_error() {
        let d = only_error(&with(r#"thresholds = ["conflicts_per_success < 3"]"#));
        assert_eq!(
            d.message,
            "`conflicts_per_success` is not measured by stale-write workloads"
        );
    }

    #[test]
    fn thresholds_of_the_wrong_type_are_an_error() {
        let d = only_error(&with("thresholds = 3"));
        assert!(d.message.contains("wrong type for `thresholds`"), "{d}");
        let d = only_error(&with("thresholds = [3]"));
        assert!(d.message.contains("expected a string"), "{d}");
    }
}
