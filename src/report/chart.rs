//! Inline SVG charts for the HTML reports, drawn here so the pages need no script, no
//! library and no network: latency percentile curves on a log-scale percentile axis (as
//! HdrHistogram plots them), stacked bars per round, plain bars, and lines over time
//! (throughput and latency per time slot, as k6's dashboard and Gatling draw them).
//!
//! Every function returns one `<svg>` element sized by its `viewBox`, so the page's CSS
//! scales it to the width of its card. Hovering a bar or a curve shows its figures
//! (an SVG `<title>`).

use std::fmt::Write as _;

use quick_xml::escape::escape;

use crate::history::Outcome;

/// The drawing area inside the SVG, in viewBox units.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 310.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 18.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 40.0;

/// The colour of an outcome, the same in every chart and table.
pub fn outcome_colour(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Winner => "#1f9d55",
        Outcome::Conflict => "#2f6fd6",
        Outcome::Unexpected => "#d64545",
        Outcome::Indeterminate => "#e39b1b",
        Outcome::NotSent => "#8d96a0",
        Outcome::Ok => "#6b7280",
    }
}

/// Colours for targets overlaid in one chart, in `--target` order.
pub const TARGET_COLOURS: [&str; 6] = [
    "#2f6fd6", "#e4572e", "#8e44ad", "#17a398", "#c9a227", "#6b7280",
];

/// One curve of a percentile chart.
#[derive(Debug, Clone)]
pub struct Curve {
    pub label: String,
    pub colour: String,
    pub dashed: bool,
    /// (value in ns, percentile 0–100, requests at or below), as
    /// [`crate::latency::Latency::distribution`] gives them.
    pub points: Vec<(u64, f64, u64)>,
}

/// Latency against percentile, the percentile axis in "nines" (0%, 90%, 99%, 99.9%...).
pub fn percentile_curves(title: &str, curves: &[Curve]) -> String {
    let curves: Vec<&Curve> = curves.iter().filter(|c| !c.points.is_empty()).collect();
    let mut svg = open(title);
    if curves.is_empty() {
        empty(&mut svg, "no writes were measured");
        svg.push_str("</svg>");
        return svg;
    }
    let most = curves
        .iter()
        .filter_map(|c| c.points.last().map(|p| p.2))
        .max()
        .unwrap_or(1)
        .max(1);
    let nines = ((most as f64).log10().ceil() as usize).clamp(2, 6);
    let x_max = nines as f64;
    let top_ns = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let bottom_ns = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0))
        .filter(|v| *v > 0)
        .min()
        .unwrap_or(1) as f64;
    let (unit, per_unit) = if top_ns >= 1e6 {
        ("ms", 1e6)
    } else {
        ("µs", 1e3)
    };
    // Curves that span more than a decade and a bit share a log-scale latency axis, so a
    // fast target's curve is not flattened against the axis by a slow one's.
    let log_y = top_ns / bottom_ns >= 20.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let (lo_exp, hi_exp) = (bottom_ns.log10().floor(), top_ns.log10().ceil());
    let (y_top, y_step) = nice_axis(top_ns / per_unit);
    let y_of_ns = |ns: f64| {
        if log_y {
            let span = (hi_exp - lo_exp).max(1.0);
            HEIGHT - BOTTOM - (ns.max(1.0).log10() - lo_exp) / span * plot_h
        } else {
            HEIGHT - BOTTOM - ns / per_unit / y_top * plot_h
        }
    };
    if log_y {
        log_grid(&mut svg, lo_exp as i32, hi_exp as i32, &y_of_ns);
    } else {
        y_grid(&mut svg, y_top, y_step, unit, |v| y_of_ns(v * per_unit));
    }
    let x_of = |p: f64| {
        let nine = if p >= 100.0 {
            x_max
        } else {
            (1.0 / (1.0 - p / 100.0)).log10().min(x_max)
        };
        LEFT + nine / x_max * (WIDTH - LEFT - RIGHT)
    };
    for i in 0..=nines {
        let x = LEFT + i as f64 / x_max * (WIDTH - LEFT - RIGHT);
        let label = nines_label(i);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" class="grid"/><text x="{x:.1}" y="{:.1}" class="tick" text-anchor="middle">{label}</text>"##,
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 16.0
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">percentile (log scale: each step is one more nine)</text>"##,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 6.0
    );
    for c in &curves {
        let points: Vec<String> = c
            .points
            .iter()
            .map(|(v, p, _)| format!("{:.1},{:.1}", x_of(*p), y_of_ns(*v as f64)))
            .collect();
        let count = c.points.last().map_or(0, |p| p.2);
        let at = |q: f64| {
            c.points
                .iter()
                .find(|p| p.1 >= q)
                .or(c.points.last())
                .map_or(0.0, |p| p.0 as f64 / per_unit)
        };
        let dash = if c.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.2" stroke-linejoin="round"{dash}><title>{}: {count} writes; p50 {:.3} {unit}, p99 {:.3} {unit}, max {:.3} {unit}</title></polyline>"##,
            points.join(" "),
            c.colour,
            escape(&c.label),
            at(50.0),
            at(99.0),
            at(100.0),
        );
        if let Some(last) = points.last() {
            let (x, y) = last.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                svg,
                r##"<circle cx="{x}" cy="{y}" r="3" fill="{}"/>"##,
                c.colour
            );
        }
    }
    legend(
        &mut svg,
        curves
            .iter()
            .map(|c| (c.label.clone(), c.colour.clone(), c.dashed)),
    );
    svg.push_str("</svg>");
    svg
}

/// One layer of a stacked bar chart.
#[derive(Debug, Clone)]
pub struct Layer {
    pub label: String,
    pub colour: String,
}

/// One bar of a stacked bar chart.
#[derive(Debug, Clone)]
pub struct StackedBar {
    /// What the bar stands for, shown on hover (`round 3`).
    pub label: String,
    /// One value per layer.
    pub values: Vec<f64>,
    /// Marked with a red tick above the bar (a round with a violation).
    pub flagged: bool,
}

/// Stacked bars (writes per round by outcome). More bars than fit are averaged in bins.
pub fn stacked_bars(
    title: &str,
    x_label: &str,
    y_label: &str,
    layers: &[Layer],
    bars: &[StackedBar],
) -> String {
    let mut svg = open(title);
    if bars.is_empty() {
        empty(&mut svg, "no rounds were run");
        svg.push_str("</svg>");
        return svg;
    }
    const MOST_BARS: usize = 150;
    let per_bin = bars.len().div_ceil(MOST_BARS);
    let bins: Vec<StackedBar> = bars
        .chunks(per_bin)
        .map(|chunk| {
            let n = chunk.len() as f64;
            let values = (0..layers.len())
                .map(|i| {
                    chunk
                        .iter()
                        .map(|b| b.values.get(i).copied().unwrap_or(0.0))
                        .sum::<f64>()
                        / n
                })
                .collect();
            let label = match (chunk.first(), chunk.last()) {
                (Some(a), Some(b)) if chunk.len() > 1 => {
                    format!("{} – {} (average)", a.label, b.label)
                }
                (Some(a), _) => a.label.clone(),
                _ => String::new(),
            };
            StackedBar {
                label,
                values,
                flagged: chunk.iter().any(|b| b.flagged),
            }
        })
        .collect();
    let top = bins
        .iter()
        .map(|b| b.values.iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(1.0);
    let (y_top, y_step) = nice_axis(top);
    let y_of = |v: f64| HEIGHT - BOTTOM - v / y_top * (HEIGHT - TOP - BOTTOM);
    y_grid(&mut svg, y_top, y_step, "", y_of);
    let slot = (WIDTH - LEFT - RIGHT) / bins.len() as f64;
    let gap = if slot > 4.0 { slot * 0.18 } else { 0.0 };
    for (i, bar) in bins.iter().enumerate() {
        let x = LEFT + i as f64 * slot + gap / 2.0;
        let w = (slot - gap).max(0.8);
        let mut base = 0.0;
        let mut tip = String::new();
        let _ = write!(tip, "{}", bar.label);
        svg.push_str("<g>");
        for (layer, value) in layers.iter().zip(&bar.values) {
            if *value > 0.0 {
                let y0 = y_of(base);
                let y1 = y_of(base + value);
                let _ = write!(
                    svg,
                    r##"<rect x="{x:.2}" y="{y1:.2}" width="{w:.2}" height="{:.2}" fill="{}"/>"##,
                    (y0 - y1).max(0.0),
                    layer.colour
                );
                base += value;
            }
            let _ = write!(tip, "\n{}: {}", layer.label, trim_number(*value));
        }
        if bar.flagged {
            let _ = write!(
                svg,
                r##"<rect x="{x:.2}" y="{:.2}" width="{w:.2}" height="4" fill="#d64545"/>"##,
                TOP - 6.0
            );
            tip.push_str("\nviolation");
        }
        let _ = write!(
            svg,
            r##"<rect x="{:.2}" y="{TOP}" width="{slot:.2}" height="{:.2}" fill="transparent"><title>{}</title></rect></g>"##,
            LEFT + i as f64 * slot,
            HEIGHT - TOP - BOTTOM,
            escape(&tip)
        );
    }
    x_labels(&mut svg, bars.len(), per_bin, slot, x_label);
    y_title(&mut svg, y_label);
    let mut keys: Vec<(String, String, bool)> = layers
        .iter()
        .map(|l| (l.label.clone(), l.colour.clone(), false))
        .collect();
    if bins.iter().any(|b| b.flagged) {
        keys.push(("violation".into(), "#d64545".into(), false));
    }
    legend(&mut svg, keys.into_iter());
    svg.push_str("</svg>");
    svg
}

/// Plain bars with a label under each (attempts per increment), or every n-th label
/// when they do not fit.
pub fn bars(
    title: &str,
    x_label: &str,
    y_label: &str,
    colour: &str,
    bars: &[(String, f64)],
) -> String {
    let mut svg = open(title);
    if bars.is_empty() {
        empty(&mut svg, "nothing to show");
        svg.push_str("</svg>");
        return svg;
    }
    let top = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0);
    let (y_top, y_step) = nice_axis(top);
    let y_of = |v: f64| HEIGHT - BOTTOM - v / y_top * (HEIGHT - TOP - BOTTOM);
    y_grid(&mut svg, y_top, y_step, "", y_of);
    let slot = (WIDTH - LEFT - RIGHT) / bars.len() as f64;
    let gap = if slot > 4.0 { slot * 0.2 } else { 0.0 };
    let every = (bars.len() / 16).max(1);
    for (i, (label, value)) in bars.iter().enumerate() {
        let x = LEFT + i as f64 * slot + gap / 2.0;
        let y = y_of(*value);
        let _ = write!(
            svg,
            r##"<rect x="{x:.2}" y="{y:.2}" width="{:.2}" height="{:.2}" fill="{colour}" rx="1.5"><title>{}: {}</title></rect>"##,
            (slot - gap).max(0.8),
            (HEIGHT - BOTTOM - y).max(0.0),
            escape(label),
            trim_number(*value)
        );
        if i % every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"##,
                LEFT + (i as f64 + 0.5) * slot,
                HEIGHT - BOTTOM + 16.0,
                escape(label)
            );
        }
    }
    let _ = write!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">{}</text>"##,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 6.0,
        escape(x_label)
    );
    y_title(&mut svg, y_label);
    svg.push_str("</svg>");
    svg
}

/// One line of a chart over time.
#[derive(Debug, Clone)]
pub struct TimeLine {
    pub label: String,
    pub colour: String,
    pub dashed: bool,
    /// (seconds from the start, value); `None` where there was nothing to measure, drawn
    /// as a gap.
    pub points: Vec<(f64, Option<f64>)>,
}

/// Lines over time (throughput, latency per time slot), the time axis in seconds and the
/// value axis from zero in `unit`.
pub fn time_lines(title: &str, y_label: &str, unit: &str, lines: &[TimeLine]) -> String {
    let mut svg = open(title);
    let values = || {
        lines
            .iter()
            .flat_map(|l| l.points.iter().filter_map(|p| p.1))
    };
    if values().next().is_none() {
        empty(&mut svg, "nothing was measured over time");
        svg.push_str("</svg>");
        return svg;
    }
    let top = values().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let (y_top, y_step) = nice_axis(top);
    let y_of = |v: f64| HEIGHT - BOTTOM - v / y_top * (HEIGHT - TOP - BOTTOM);
    y_grid(&mut svg, y_top, y_step, unit, y_of);
    let end = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let (x_top, x_step) = nice_axis(end);
    let x_of = |t: f64| LEFT + t / x_top * (WIDTH - LEFT - RIGHT);
    let mut t = 0.0;
    while t <= x_top + x_step * 0.001 {
        let x = x_of(t);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" class="grid"/><text x="{x:.1}" y="{:.1}" class="tick" text-anchor="middle">{} s</text>"##,
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 16.0,
            trim_number(t)
        );
        t += x_step;
    }
    let _ = write!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">time since the first request</text>"##,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 6.0
    );
    y_title(&mut svg, y_label);
    for line in lines {
        let dash = if line.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        // A gap (no value) ends one polyline and the next value starts another.
        let mut runs: Vec<Vec<String>> = vec![Vec::new()];
        for (t, v) in &line.points {
            match (v, runs.last_mut()) {
                (Some(v), Some(run)) => run.push(format!("{:.1},{:.1}", x_of(*t), y_of(*v))),
                _ => runs.push(Vec::new()),
            }
        }
        let shown: Vec<f64> = line.points.iter().filter_map(|p| p.1).collect();
        let mean = shown.iter().sum::<f64>() / shown.len().max(1) as f64;
        let most = shown.iter().copied().fold(0.0, f64::max);
        for run in runs.iter().filter(|r| !r.is_empty()) {
            if run.len() == 1 {
                let (x, y) = run[0].split_once(',').unwrap_or(("0", "0"));
                let _ = write!(
                    svg,
                    r##"<circle cx="{x}" cy="{y}" r="2.5" fill="{}"/>"##,
                    line.colour
                );
                continue;
            }
            let _ = write!(
                svg,
                r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="2" stroke-linejoin="round"{dash}><title>{}: mean {} {unit}, highest {} {unit}</title></polyline>"##,
                run.join(" "),
                line.colour,
                escape(&line.label),
                trim_number(mean),
                trim_number(most),
            );
        }
    }
    legend(
        &mut svg,
        lines
            .iter()
            .map(|l| (l.label.clone(), l.colour.clone(), l.dashed)),
    );
    svg.push_str("</svg>");
    svg
}

fn open(title: &str) -> String {
    format!(
        r##"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{t}"><text x="{LEFT}" y="18" class="title">{t}</text>"##,
        t = escape(title)
    )
}

fn empty(svg: &mut String, why: &str) {
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{:.1}" height="{:.1}" class="emptybox"/><text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">{}</text>"##,
        WIDTH - LEFT - RIGHT,
        HEIGHT - TOP - BOTTOM,
        WIDTH / 2.0,
        HEIGHT / 2.0,
        escape(why)
    );
}

fn y_grid(svg: &mut String, top: f64, step: f64, unit: &str, y_of: impl Fn(f64) -> f64) {
    let mut v = 0.0;
    while v <= top + step * 0.001 {
        let y = y_of(v);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="{}"/><text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{}{}</text>"##,
            WIDTH - RIGHT,
            if v == 0.0 { "axisline" } else { "grid" },
            LEFT - 6.0,
            y + 4.0,
            trim_number(v),
            if v == 0.0 || unit.is_empty() {
                String::new()
            } else {
                format!(" {unit}")
            }
        );
        v += step;
    }
}

/// Decade lines (labelled) and 2× and 5× lines (faint) of a log-scale latency axis.
fn log_grid(svg: &mut String, lo: i32, hi: i32, y_of_ns: &dyn Fn(f64) -> f64) {
    for e in lo..=hi {
        let decade = 10f64.powi(e);
        let y = y_of_ns(decade);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="{}"/><text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            if e == lo { "axisline" } else { "grid" },
            LEFT - 6.0,
            y + 4.0,
            crate::metrics::format_duration_ns(decade)
                .replace(".00 ", " ")
                .replace(".0 ", " ")
        );
        if e < hi {
            for m in [2.0, 5.0] {
                let y = y_of_ns(decade * m);
                let _ = write!(
                    svg,
                    r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="grid minor"/>"##,
                    WIDTH - RIGHT
                );
            }
        }
    }
    let _ = write!(
        svg,
        r##"<text x="14" y="{:.1}" class="axis" text-anchor="middle" transform="rotate(-90 14 {:.1})">latency (log scale)</text>"##,
        (TOP + HEIGHT - BOTTOM) / 2.0,
        (TOP + HEIGHT - BOTTOM) / 2.0
    );
}

fn y_title(svg: &mut String, label: &str) {
    let _ = write!(
        svg,
        r##"<text x="14" y="{:.1}" class="axis" text-anchor="middle" transform="rotate(-90 14 {:.1})">{}</text>"##,
        (TOP + HEIGHT - BOTTOM) / 2.0,
        (TOP + HEIGHT - BOTTOM) / 2.0,
        escape(label)
    );
}

fn x_labels(svg: &mut String, bars: usize, per_bin: usize, slot: f64, label: &str) {
    let bins = bars.div_ceil(per_bin);
    let every = (bins / 10).max(1);
    for i in (0..bins).step_by(every) {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"##,
            LEFT + (i as f64 + 0.5) * slot,
            HEIGHT - BOTTOM + 16.0,
            i * per_bin
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">{}</text>"##,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 6.0,
        escape(label)
    );
}

fn legend(svg: &mut String, keys: impl Iterator<Item = (String, String, bool)>) {
    let keys: Vec<(String, String, bool)> = keys.collect();
    let widths: Vec<f64> = keys
        .iter()
        .map(|(label, _, _)| 26.0 + label.chars().count() as f64 * 6.4)
        .collect();
    let mut x = LEFT;
    for ((label, colour, dashed), w) in keys.iter().zip(&widths) {
        let dash = if *dashed {
            r#" stroke-dasharray="4 3""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="33" x2="{:.1}" y2="33" stroke="{colour}" stroke-width="6"{dash}/><text x="{:.1}" y="37" class="legend">{}</text>"##,
            x + 14.0,
            x + 18.0,
            escape(label)
        );
        x += w;
    }
}

/// A round top for an axis and a step that divides it into about five parts.
fn nice_axis(max: f64) -> (f64, f64) {
    let raw = (max / 5.0).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil().max(1.0) * step, step)
}

fn nines_label(nines: usize) -> String {
    match nines {
        0 => "0%".into(),
        1 => "90%".into(),
        n => format!("99.{}%", "9".repeat(n - 2)).replace("99.%", "99%"),
    }
}

fn trim_number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percentile_axis_counts_nines() {
        assert_eq!(nines_label(0), "0%");
        assert_eq!(nines_label(1), "90%");
        assert_eq!(nines_label(2), "99%");
        assert_eq!(nines_label(3), "99.9%");
        assert_eq!(nines_label(5), "99.999%");
    }

    #[test]
    fn axes_end_on_round_numbers() {
        let (top, step) = nice_axis(17.0);
        assert!(top >= 17.0 && (top / step).round() <= 6.0, "{top} {step}");
        let (top, step) = nice_axis(0.23);
        assert!((0.23..=0.3).contains(&top) && step > 0.0, "{top} {step}");
    }

    #[test]
    fn a_curve_per_outcome_is_drawn_with_its_colour() {
        let curves = vec![
            Curve {
                label: "winner".into(),
                colour: outcome_colour(Outcome::Winner).into(),
                dashed: false,
                points: vec![
                    (100_000, 0.0, 1),
                    (120_000, 50.0, 50),
                    (300_000, 100.0, 100),
                ],
            },
            Curve {
                label: "conflict".into(),
                colour: outcome_colour(Outcome::Conflict).into(),
                dashed: false,
                points: vec![],
            },
        ];
        let svg = percentile_curves("latency", &curves);
        assert_eq!(
            svg.matches("<polyline").count(),
            1,
            "empty curves are left out"
        );
        assert!(svg.contains(outcome_colour(Outcome::Winner)));
        assert!(svg.contains("99%"));
        assert!(svg.contains("µs"), "sub-millisecond values are shown in µs");
    }

    #[test]
    fn many_rounds_are_binned_and_violations_flagged() {
        let layers = vec![Layer {
            label: "winners".into(),
            colour: "#000".into(),
        }];
        let bars: Vec<StackedBar> = (0..1000)
            .map(|i| StackedBar {
                label: format!("round {i}"),
                values: vec![1.0],
                flagged: i == 500,
            })
            .collect();
        let svg = stacked_bars("rounds", "round", "writes", &layers, &bars);
        assert!(svg.matches("<title>").count() <= 150, "binned");
        assert!(svg.contains("(average)"));
        assert!(svg.contains("violation"));
    }
}
