//! The release gate, the stage between the checker and the reports: thresholds in the
//! manner of k6 (`latency.winner.p99 < 50ms`, `lost_updates == 0`) evaluated over the
//! figures of a scenario ([`crate::metrics`]).
//!
//! A threshold is `METRIC OP VALUE`. `OP` is one of `<`, `<=`, `>`, `>=`, `==`, `!=`.
//! `VALUE` is a number; a duration metric needs a unit (`ns`, `us` or `µs`, `ms`, `s`,
//! `m`, `h`),
//! a rate may be written as a percentage (`1%`). A failed threshold fails its scenario
//! just as a violation does. A threshold whose metric has no figure in a scenario (the
//! p99 of an outcome no write ended with, a counter figure of a stale-write run) is
//! reported as `no data` and does not fail it, as in k6.

use std::fmt;

use crate::metrics::{self, Figures, Metric, Unit};

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

    fn holds(self, measured: f64, limit: f64) -> bool {
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

    /// Whether scenarios of `workload` measure this threshold's metric.
    pub fn applies_to(&self, workload: crate::scenario::WorkloadId) -> bool {
        self.metric.scope.covers(workload)
    }
}

/// The metric called `name`, or what is wrong and a hint.
pub fn known_metric(name: &str) -> Result<Metric, (String, String)> {
    if let Some(m) = metrics::find(name) {
        return Ok(m);
    }
    let advice = match metrics::suggest(name) {
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

/// How a threshold came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The condition holds.
    Pass,
    /// The condition does not hold: the scenario fails.
    Fail,
    /// The metric has no figure for this scenario; the threshold does not fail it.
    NoData,
}

impl Status {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NoData => "no_data",
        }
    }
}

/// One threshold evaluated for one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdResult {
    /// The threshold, as parsed.
    pub threshold: Threshold,
    /// The figure, in the metric's base unit.
    pub measured: Option<f64>,
    pub status: Status,
    /// The figure for people (`62.10 ms`), or why there is none.
    pub shown: String,
}

impl ThresholdResult {
    /// `latency.winner.p99 < 50ms: measured 62.10 ms`.
    pub fn describe(&self) -> String {
        match self.measured {
            Some(_) => format!("{}: measured {}", self.threshold, self.shown),
            None => format!("{}: no data ({})", self.threshold, self.shown),
        }
    }
}

/// Evaluates thresholds over one scenario's figures.
pub fn evaluate(
    thresholds: &[Threshold],
    figures: &Figures,
    workload: crate::scenario::WorkloadId,
) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .map(|t| {
            let measured = figures.get(&t.metric.name);
            let (status, shown) = match measured {
                Some(v) if t.op.holds(v, t.limit) => {
                    (Status::Pass, metrics::format(t.metric.unit, v))
                }
                Some(v) => (Status::Fail, metrics::format(t.metric.unit, v)),
                None => (Status::NoData, metrics::why_missing(&t.metric, workload)),
            };
            ThresholdResult {
                threshold: t.clone(),
                measured,
                status,
                shown,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        Threshold::parse(text, Origin::CommandLine)
    }

    fn figures(values: &[(&str, f64)]) -> Figures {
        Figures {
            values: values
                .iter()
                .map(|(n, v)| (n.to_string(), Some(*v)))
                .collect(),
        }
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

    #[test]
    fn a_threshold_fails_with_the_measured_value() {
        let t = parse("latency.winner.p99 < 50ms").unwrap();
        let results = evaluate(
            &[t],
            &figures(&[("latency.winner.p99", 62_100_000.0)]),
            crate::scenario::WorkloadId::StaleWrite,
        );
        assert_eq!(results[0].status, Status::Fail);
        assert_eq!(
            results[0].describe(),
            "latency.winner.p99 < 50ms: measured 62.10 ms"
        );
    }

    #[test]
    fn a_threshold_that_holds_passes() {
        let t = parse("lost_updates == 0").unwrap();
        let results = evaluate(
            &[t],
            &figures(&[("lost_updates", 0.0)]),
            crate::scenario::WorkloadId::Counter,
        );
        assert_eq!(results[0].status, Status::Pass);
    }

    #[test]
    fn a_metric_without_a_figure_is_no_data_and_says_why() {
        let t = parse("conflicts_per_success < 3").unwrap();
        let results = evaluate(
            &[t],
            &Figures {
                values: vec![("conflicts_per_success".into(), None)],
            },
            crate::scenario::WorkloadId::StaleWrite,
        );
        assert_eq!(results[0].status, Status::NoData);
        assert_eq!(
            results[0].describe(),
            "conflicts_per_success < 3: no data (not measured by stale-write workloads)"
        );
    }
}
