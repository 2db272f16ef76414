//! Every figure a run measures, by one name: the namespace that thresholds
//! (`--threshold 'latency.winner.p99 < 50ms'`), `summary.json` and `compare` share, and
//! the threshold expressions written over it.
//!
//! [`catalogue`] lists every metric with its unit, the workloads that measure it (its
//! [`Scope`], which the workload registry interprets) and a line of documentation;
//! [`Threshold::parse`] reads `METRIC OP VALUE` against it. This module is part of the
//! pipeline's foundation: the scenario parser reads thresholds into [`Threshold`]s, so
//! it imports nothing but the names of [`crate::outcome`]. The figures themselves are
//! measured from a verdict in [`crate::gate`], the stage that evaluates thresholds.
//!
//! A threshold is `METRIC OP VALUE`. `OP` is one of `<`, `<=`, `>`, `>=`, `==`, `!=`.
//! `VALUE` is a number; a duration metric needs a unit (`ns`, `us` or `µs`, `ms`, `s`,
//! `m`, `h`), a rate may be written as a percentage (`1%`). Durations are held in
//! nanoseconds.

use std::fmt;

use crate::outcome::{Outcome, ViolationKind};

/// What a metric's number means, and how it is written in a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things (requests, rounds, violations).
    Count,
    /// A share of writes between 0 and 1; thresholds may write `1%`.
    Rate,
    /// A quotient such as attempts per success.
    Ratio,
    /// A time; thresholds must give a unit (`50ms`). Held in nanoseconds.
    Duration,
    /// Events per second of wall time.
    PerSecond,
}

/// Which workloads measure a metric. The workload registry says which scopes each
/// workload measures (`WorkloadId::measures`), so this catalogue needs no list of
/// workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every workload.
    All,
    /// Only workloads counted in increments (`counter`): figures per increment.
    Counter,
}

/// One metric of the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    /// The name thresholds and `summary.json` use, e.g. `latency.winner.p99`.
    pub name: String,
    /// What its number means.
    pub unit: Unit,
    /// Which workloads measure it.
    pub scope: Scope,
    /// One line for README and `--help` style listings.
    pub doc: String,
}

/// The latency statistics each outcome offers, with their quantile (None: not one).
pub const LATENCY_STATS: [(&str, Option<f64>); 10] = [
    ("min", None),
    ("mean", None),
    ("p50", Some(0.50)),
    ("p75", Some(0.75)),
    ("p90", Some(0.90)),
    ("p95", Some(0.95)),
    ("p99", Some(0.99)),
    ("p999", Some(0.999)),
    ("p9999", Some(0.9999)),
    ("max", None),
];

/// The latency groups: every outcome with a histogram, and `all` contended writes.
pub fn latency_groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Outcome::TIMED.iter().map(|o| o.name()).collect();
    groups.push("all");
    groups
}

const COUNTS: [(&str, &str); 9] = [
    ("rounds", "rounds run (counter: distinct versions written)"),
    ("requests", "every request, reads included"),
    ("writes", "contended writes and probes"),
    ("winners", "writes answered with a winner status"),
    (
        "conflicts",
        "writes answered with the promised conflict status",
    ),
    (
        "unexpected",
        "writes answered with any other status (5xx, an unpromised 409/412, ...)",
    ),
    (
        "indeterminate",
        "writes that timed out or were reset after sending",
    ),
    ("not_sent", "writes that could not connect"),
    ("lost_updates", "acknowledged updates that did not survive"),
];

const RATES: [(&str, &str); 4] = [
    ("conflict_rate", "conflicts / writes"),
    ("unexpected_rate", "unexpected / writes"),
    ("indeterminate_rate", "indeterminate / writes"),
    ("not_sent_rate", "not_sent / writes"),
];

const COUNTER_FIGURES: [(&str, Unit, &str); 5] = [
    ("increments", Unit::Count, "increments tried"),
    ("acknowledged", Unit::Count, "increments acknowledged"),
    (
        "gave_up",
        Unit::Count,
        "increments abandoned after the retry budget",
    ),
    (
        "attempts_per_success",
        Unit::Ratio,
        "write attempts per acknowledged increment",
    ),
    (
        "conflicts_per_success",
        Unit::Ratio,
        "conflicts per acknowledged increment",
    ),
];

const SPREAD_STATS: [&str; 3] = ["p50", "p99", "max"];

/// Every metric, in documentation order.
pub fn catalogue() -> Vec<Metric> {
    let mut all = Vec::new();
    let mut add = |name: String, unit: Unit, scope: Scope, doc: String| {
        all.push(Metric {
            name,
            unit,
            scope,
            doc,
        })
    };
    for (name, doc) in COUNTS {
        add(name.into(), Unit::Count, Scope::All, doc.into());
    }
    add(
        "violations".into(),
        Unit::Count,
        Scope::All,
        "violations of every kind (each round or version that showed one, once per kind)".into(),
    );
    for kind in ViolationKind::ALL {
        add(
            format!("violations.{}", kind.name()),
            Unit::Count,
            Scope::All,
            format!("`{}` violations", kind.name()),
        );
    }
    for (name, doc) in RATES {
        add(name.into(), Unit::Rate, Scope::All, doc.into());
    }
    for (name, unit, doc) in COUNTER_FIGURES {
        add(name.into(), unit, Scope::Counter, doc.into());
    }
    for group in latency_groups() {
        for (stat, _) in LATENCY_STATS {
            let whose = if group == "all" {
                "every contended write".to_string()
            } else {
                format!("writes that ended `{group}`")
            };
            add(
                format!("latency.{group}.{stat}"),
                Unit::Duration,
                Scope::All,
                format!("{stat} latency of {whose}"),
            );
        }
    }
    for stat in SPREAD_STATS {
        add(
            format!("send_spread.{stat}"),
            Unit::Duration,
            Scope::All,
            format!("{stat} over rounds of the first-to-last write's send time"),
        );
    }
    for stat in SPREAD_STATS {
        add(
            format!("response_spread.{stat}"),
            Unit::Duration,
            Scope::All,
            format!("{stat} over rounds of the first-to-last write's answer time"),
        );
    }
    for stat in SPREAD_STATS {
        add(
            format!("arrival_spread.{stat}"),
            Unit::Duration,
            Scope::All,
            format!(
                "{stat} over rounds of the first-to-last write's arrival at the server \
                 (built-in server, or `--arrivals`)"
            ),
        );
    }
    add(
        "requests_per_second".into(),
        Unit::PerSecond,
        Scope::All,
        "requests / wall time".into(),
    );
    add(
        "writes_per_second".into(),
        Unit::PerSecond,
        Scope::All,
        "contended writes / wall time".into(),
    );
    add(
        "duration".into(),
        Unit::Duration,
        Scope::All,
        "wall time of the scenario".into(),
    );
    all
}

/// Looks a metric up by name.
pub fn find(name: &str) -> Option<Metric> {
    catalogue().into_iter().find(|m| m.name == name)
}

/// The closest metric name to a misspelt one, if any is close.
pub fn suggest(wrong: &str) -> Option<String> {
    let wrong = wrong.to_ascii_lowercase();
    catalogue()
        .into_iter()
        .map(|m| {
            let score = strsim::jaro_winkler(&wrong, &m.name);
            (m.name, score)
        })
        .filter(|(_, score)| *score >= 0.85)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(name, _)| name)
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    /// Operators as written, longest first so `<=` is not read as `<`.
    const WRITTEN: [(&'static str, Op); 6] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    /// The operator as written in thresholds.
    pub fn symbol(self) -> &'static str {
        Op::WRITTEN
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(s, _)| s)
    }

    /// Whether `measured OP limit` is true.
    pub fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Op::Lt => measured < limit,
            Op::Le => measured <= limit,
            Op::Gt => measured > limit,
            Op::Ge => measured >= limit,
            Op::Eq => measured == limit,
            Op::Ne => measured != limit,
        }
    }
}

/// Where a threshold was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// In the scenario file's `thresholds`.
    Scenario,
    /// A `--threshold` on the command line, applied to every scenario.
    CommandLine,
}

/// One parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The metric it reads.
    pub metric: Metric,
    pub op: Op,
    /// The limit, in the metric's base unit (nanoseconds for durations, 0–1 for rates).
    pub limit: f64,
    /// The limit as written (`50ms`), for reports.
    pub limit_text: String,
    pub origin: Origin,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.metric.name,
            self.op.symbol(),
            self.limit_text
        )
    }
}

/// Why a threshold expression is not valid, and where in it (character offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdError {
    pub message: String,
    pub hint: String,
    /// The character offset in the expression where the problem starts.
    pub at: usize,
}

impl fmt::Display for ThresholdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.hint)
    }
}

impl std::error::Error for ThresholdError {}

const SYNTAX_HINT: &str =
    "write METRIC OP VALUE, e.g. `latency.winner.p99 < 50ms` or `lost_updates == 0`; \
     OP is <, <=, >, >=, == or !=";

impl Threshold {
    /// Parses `METRIC OP VALUE`, e.g. `latency.conflict.p999 < 200ms`.
    pub fn parse(expression: &str, origin: Origin) -> Result<Threshold, ThresholdError> {
        let chars: Vec<char> = expression.chars().collect();
        let mut i = chars.iter().take_while(|c| c.is_whitespace()).count();
        let metric_start = i;
        while i < chars.len() && (chars[i].is_alphanumeric() || "._".contains(chars[i])) {
            i += 1;
        }
        let name: String = chars[metric_start..i].iter().collect();
        if name.is_empty() {
            return Err(ThresholdError {
                message: format!("`{}` does not start with a metric name", expression.trim()),
                hint: SYNTAX_HINT.into(),
                at: metric_start,
            });
        }
        let metric = known_metric(&name).map_err(|(message, hint)| ThresholdError {
            message,
            hint,
            at: metric_start,
        })?;
        i += chars[i..].iter().take_while(|c| c.is_whitespace()).count();
        let rest: String = chars[i..].iter().collect();
        let Some((symbol, op)) = Op::WRITTEN.iter().find(|(s, _)| rest.starts_with(s)) else {
            return Err(ThresholdError {
                message: format!("expected a comparison after `{name}`"),
                hint: SYNTAX_HINT.into(),
                at: i,
            });
        };
        i += symbol.chars().count();
        i += chars[i..].iter().take_while(|c| c.is_whitespace()).count();
        let value_text: String = chars[i..].iter().collect::<String>().trim_end().to_string();
        let limit =
            parse_limit(&metric, &value_text).map_err(|(message, hint)| ThresholdError {
                message,
                hint,
                at: i,
            })?;
        Ok(Threshold {
            metric,
            op: *op,
            limit,
            limit_text: value_text,
            origin,
        })
    }
}

/// The metric called `name`, or what is wrong and a hint.
pub fn known_metric(name: &str) -> Result<Metric, (String, String)> {
    if let Some(m) = find(name) {
        return Ok(m);
    }
    let advice = match suggest(name) {
        Some(guess) => format!("did you mean `{guess}`? "),
        None => String::new(),
    };
    Err((
        format!("unknown metric `{name}`"),
        format!(
            "{advice}metrics are counts like `lost_updates`, rates like `indeterminate_rate`, \
             and latencies like `latency.winner.p99` (README lists them all)"
        ),
    ))
}

/// Reads a limit for `metric`: a number with the unit its kind needs.
fn parse_limit(metric: &Metric, text: &str) -> Result<f64, (String, String)> {
    let number_len = text
        .char_indices()
        .take_while(|(_, c)| c.is_ascii_digit() || *c == '.')
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    let (number, unit) = text.split_at(number_len);
    let unit = unit.trim();
    let example = match metric.unit {
        Unit::Duration => format!("{} < 50ms", metric.name),
        Unit::Rate => format!("{} < 0.01 (or < 1%)", metric.name),
        Unit::Ratio => format!("{} < 3", metric.name),
        Unit::PerSecond => format!("{} > 100", metric.name),
        Unit::Count => format!("{} == 0", metric.name),
    };
    let Ok(value) = number.parse::<f64>() else {
        return Err((
            format!("`{text}` is not a number for `{}`", metric.name),
            format!("for example: {example}"),
        ));
    };
    let scaled = match (metric.unit, unit) {
        (Unit::Duration, "ns") => value,
        (Unit::Duration, "us" | "µs") => value * 1e3,
        (Unit::Duration, "ms") => value * 1e6,
        (Unit::Duration, "s") => value * 1e9,
        (Unit::Duration, "m" | "min") => value * 60e9,
        (Unit::Duration, "h") => value * 3600e9,
        (Unit::Duration, "") => {
            return Err((
                format!("`{}` is a duration: `{text}` needs a unit", metric.name),
                format!("write ns, us, ms, s, m or h, e.g. {example}"),
            ))
        }
        (Unit::Duration, other) => {
            return Err((
                format!("unknown duration unit `{other}` in `{text}`"),
                format!("write ns, us, ms, s, m or h, e.g. {example}"),
            ))
        }
        (Unit::Rate, "%") => value / 100.0,
        (_, "") => value,
        (_, other) => {
            return Err((
                format!(
                    "`{}` is not a duration or a percentage: `{other}` does not apply",
                    metric.name
                ),
                format!("write a plain number, e.g. {example}"),
            ))
        }
    };
    Ok(scaled)
}

/// Reads a rate written as a fraction (`0.1`) or a percentage (`10%`), from 0 to 1: the
/// same form a threshold on a rate takes. The error says what is wrong.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let metric = find("not_sent_rate").ok_or_else(|| "no rate metric".to_string())?;
    let value = parse_limit(&metric, text.trim())
        .map_err(|(message, _)| message.replace("`not_sent_rate`", "a rate"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!(
            "`{}` is not a rate from 0 to 1 (0% to 100%)",
            text.trim()
        ));
    }
    Ok(value)
}

/// Writes a figure for people: `12.3 ms`, `1.2%`, `3.21`, `5234/s`, `16`.
pub fn format(unit: Unit, value: f64) -> String {
    match unit {
        Unit::Count => format!("{value:.0}"),
        Unit::Rate => {
            let percent = value * 100.0;
            if percent == 0.0 || percent >= 1.0 {
                format!("{percent:.1}%")
            } else {
                format!("{percent:.3}%")
            }
        }
        Unit::Ratio => format!("{value:.2}"),
        Unit::PerSecond => format!("{value:.0}/s"),
        Unit::Duration => format_duration_ns(value),
    }
}

/// A duration in ns written with a unit that keeps three significant digits.
pub fn format_duration_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_dotted_lower_case() {
        let all = catalogue();
        let mut names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "duplicate metric names");
        assert!(all.iter().all(|m| m
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')));
    }

    #[test]
    fn the_issue_examples_are_metrics() {
        for name in [
            "latency.winner.p99",
            "latency.conflict.p999",
            "unexpected",
            "lost_updates",
            "indeterminate_rate",
            "conflicts_per_success",
        ] {
            assert!(find(name).is_some(), "{name}");
        }
        assert_eq!(find("conflicts_per_success").unwrap().scope, Scope::Counter);
    }

    #[test]
    fn misspelt_names_get_the_closest_metric() {
        assert_eq!(
            suggest("latency.winer.p99").as_deref(),
            Some("latency.winner.p99")
        );
        assert_eq!(suggest("lost_update").as_deref(), Some("lost_updates"));
        assert_eq!(suggest("zzz"), None);
    }

    #[test]
    fn readme_documents_every_metric() {
        let readme = include_str!("../README.md");
        let table = readme
            .split("### Metrics")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("README has a Metrics section");
        for m in catalogue() {
            let documented = match m.name.strip_prefix("latency.") {
                Some(rest) => {
                    let (group, stat) = rest.split_once('.').unwrap_or((rest, ""));
                    table.contains(&format!("`{group}`")) && table.contains(&format!("`{stat}`"))
                }
                None => table.contains(&format!("`{}`", m.name)),
            };
            assert!(documented, "README's metric table lacks {}", m.name);
        }
    }

    #[test]
    fn figures_are_written_with_their_unit() {
        assert_eq!(format(Unit::Duration, 62_100_000.0), "62.10 ms");
        assert_eq!(format(Unit::Duration, 850_000.0), "850.0 µs");
        assert_eq!(format(Unit::Rate, 0.012), "1.2%");
        assert_eq!(format(Unit::Rate, 0.0001), "0.010%");
        assert_eq!(format(Unit::Count, 3.0), "3");
        assert_eq!(format(Unit::PerSecond, 5234.4), "5234/s");
    }

    fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        Threshold::parse(text, Origin::CommandLine)
    }

    #[test]
    fn durations_are_read_in_nanoseconds_with_their_unit() {
        let t = parse("latency.winner.p99 < 50ms").unwrap();
        assert_eq!(t.metric.name, "latency.winner.p99");
        assert_eq!(t.op, Op::Lt);
        assert_eq!(t.limit, 50e6);
        assert_eq!(t.to_string(), "latency.winner.p99 < 50ms");
        assert_eq!(parse("latency.all.max<=1.5s").unwrap().limit, 1.5e9);
        assert_eq!(parse("duration < 250 µs").unwrap().limit, 250e3);
    }

    #[test]
    fn a_rate_alone_is_a_fraction_or_a_percentage_from_0_to_1() {
        assert_eq!(parse_rate("10%"), Ok(0.1));
        assert_eq!(parse_rate(" 0.25 "), Ok(0.25));
        assert!(parse_rate("150%").is_err());
        assert!(parse_rate("ten").unwrap_err().contains("not a number"));
    }

    #[test]
    fn rates_take_fractions_or_percentages() {
        assert_eq!(parse("indeterminate_rate < 0.01").unwrap().limit, 0.01);
        assert_eq!(parse("indeterminate_rate < 1%").unwrap().limit, 0.01);
    }

    #[test]
    fn every_operator_is_read() {
        for (text, op) in [
            ("unexpected == 0", Op::Eq),
            ("unexpected != 0", Op::Ne),
            ("winners >= 1", Op::Ge),
            ("winners > 1", Op::Gt),
            ("winners <= 1", Op::Le),
            ("winners < 1", Op::Lt),
        ] {
            assert_eq!(parse(text).unwrap().op, op, "{text}");
        }
    }

    #[test]
    fn an_unknown_metric_is_an_error_at_its_name_with_a_suggestion() {
        let e = parse("  latency.winer.p99 < 50ms").unwrap_err();
        assert_eq!(e.message, "unknown metric `latency.winer.p99`");
        assert!(e.hint.contains("did you mean `latency.winner.p99`?"), "{e}");
        assert_eq!(e.at, 2);
    }

    #[test]
    fn a_duration_without_unit_or_with_a_wrong_unit_is_an_error() {
        let e = parse("latency.winner.p99 < 50").unwrap_err();
        assert!(e.message.contains("needs a unit"), "{e}");
        assert_eq!(e.at, 21);
        assert!(parse("latency.winner.p99 < 50days").is_err());
        assert_eq!(parse("duration < 2m").unwrap().limit, 120e9);
        assert!(parse("lost_updates == 0ms").is_err());
    }

    #[test]
    fn malformed_expressions_say_what_to_write() {
        for text in [
            "",
            "< 3",
            "lost_updates",
            "lost_updates = 0",
            "lost_updates == x",
        ] {
            let e = parse(text).unwrap_err();
            assert!(!e.hint.is_empty(), "{text}: {e}");
        }
    }
}
