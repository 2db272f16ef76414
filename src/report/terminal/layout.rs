//! The summary's layout: [`Layout`] (fitted to a width, or wide) and how it is chosen
//! for stdout or stderr, the lines written at that width (prose wrapped, a long word
//! broken), and the table of left-aligned text columns then right-aligned figures.

use console::Style;

/// How the summary is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Fitted to this many columns (at least [`Layout::NARROWEST`]).
    Fit(usize),
    /// Every figure of a scenario on one line, nothing wrapped (`--wide`, and anywhere
    /// but a terminal).
    Wide,
}

impl Layout {
    /// The width on a terminal that reports none.
    pub const DEFAULT_WIDTH: usize = 100;
    /// Below this the table's rows cannot fit, so narrower widths are widened to it.
    pub const NARROWEST: usize = 60;
    /// The variable that sets the width, on a terminal or not (tests, a pipe that should
    /// get the fitted form, a terminal that reports no width).
    pub const WIDTH_VARIABLE: &'static str = "CONTEND_WIDTH";

    /// The layout for stdout ([`Layout::choose`] with stdout's terminal, if it is one).
    pub fn for_stdout(wide: bool) -> Layout {
        Layout::for_term(wide, console::Term::stdout())
    }

    /// The layout for stderr, where the summary goes when stdout carries the records
    /// (`--jsonl -`).
    pub fn for_stderr(wide: bool) -> Layout {
        Layout::for_term(wide, console::Term::stderr())
    }

    fn for_term(wide: bool, term: console::Term) -> Layout {
        let terminal = term
            .is_term()
            .then(|| term.size_checked().map(|(_, w)| usize::from(w)));
        Layout::choose(
            wide,
            std::env::var(Self::WIDTH_VARIABLE).ok().as_deref(),
            terminal,
        )
    }

    /// The rule: [`Layout::Wide`] for `--wide`; else fitted to the variable's value
    /// (when it is a number); else, on a terminal (`terminal` is `Some`, with its width
    /// if it reports one), fitted to its width or to [`Layout::DEFAULT_WIDTH`]; else (a
    /// pipe, a file, a CI log) [`Layout::Wide`].
    pub fn choose(wide: bool, variable: Option<&str>, terminal: Option<Option<usize>>) -> Layout {
        if wide {
            return Layout::Wide;
        }
        let set = variable
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|w| *w > 0);
        let width = match (set, terminal) {
            (Some(width), _) => width,
            (None, Some(width)) => width.filter(|w| *w > 0).unwrap_or(Self::DEFAULT_WIDTH),
            (None, None) => return Layout::Wide,
        };
        Layout::Fit(width.max(Self::NARROWEST))
    }

    /// The width lines must fit, if any.
    pub(super) fn width(self) -> Option<usize> {
        match self {
            Layout::Fit(width) => Some(width.max(Self::NARROWEST)),
            Layout::Wide => None,
        }
    }
}

impl Default for Layout {
    fn default() -> Self {
        Layout::Fit(Self::DEFAULT_WIDTH)
    }
}

/// The summary being written: lines, wrapped at the layout's width.
pub(super) struct Out {
    pub(super) text: String,
    pub(super) width: Option<usize>,
}

impl Out {
    pub(super) fn new(layout: Layout) -> Out {
        Out {
            text: String::new(),
            width: layout.width(),
        }
    }

    /// A line as it is (a table row, already fitted).
    pub(super) fn line(&mut self, line: &str) {
        self.text.push_str(line.trim_end());
        self.text.push('\n');
    }

    pub(super) fn blank(&mut self) {
        self.text.push('\n');
    }

    /// A line of prose indented by `indent`, its continuation lines by `hang`, wrapped
    /// at the width (a word longer than a line is broken).
    pub(super) fn para(&mut self, indent: usize, hang: usize, text: &str) {
        let (first, rest) = (" ".repeat(indent), " ".repeat(hang));
        match self.width {
            None => self.line(&format!("{first}{text}")),
            Some(width) => {
                let options = textwrap::Options::new(width)
                    .initial_indent(&first)
                    .subsequent_indent(&rest);
                for line in textwrap::wrap(text, options) {
                    self.line(&line);
                }
            }
        }
    }
}

/// One cell of a table: its text and, for a verdict, its colour.
pub(super) struct Cell {
    pub(super) text: String,
    pub(super) style: Option<Style>,
}

impl Cell {
    pub(super) fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            style: None,
        }
    }
}

/// A table of left-aligned text columns then right-aligned figures.
pub(super) struct Table {
    pub(super) headers: Vec<&'static str>,
    /// How many leading columns are text (left-aligned); the rest are figures.
    pub(super) text_columns: usize,
    pub(super) rows: Vec<Vec<Cell>>,
}

/// Between two columns.
pub(super) const GAP: &str = "  ";

impl Table {
    pub(super) fn widths(&self) -> Vec<usize> {
        self.headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| console::measure_text_width(&c.text))
                    .chain([h.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// How wide its rows are.
    pub(super) fn width(&self) -> usize {
        let widths = self.widths();
        widths.iter().sum::<usize>() + GAP.len() * widths.len().saturating_sub(1)
    }

    pub(super) fn header(&self) -> String {
        let cells: Vec<Cell> = self.headers.iter().map(|h| Cell::plain(*h)).collect();
        self.format(&cells, false)
    }

    pub(super) fn row(&self, i: usize, colour: bool) -> String {
        self.format(&self.rows[i], colour)
    }

    pub(super) fn format(&self, cells: &[Cell], colour: bool) -> String {
        let widths = self.widths();
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                let pad = " ".repeat(width.saturating_sub(console::measure_text_width(&cell.text)));
                let text = match (&cell.style, colour) {
                    (Some(style), true) => {
                        style.apply_to(&cell.text).force_styling(true).to_string()
                    }
                    _ => cell.text.clone(),
                };
                if i < self.text_columns {
                    format!("{text}{pad}")
                } else {
                    format!("{pad}{text}")
                }
            })
            .collect();
        parts.join(GAP).trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_wide_for_wide_then_the_variable_then_the_terminal_then_wide() {
        let term = Some(Some(120));
        assert_eq!(Layout::choose(true, Some("80"), term), Layout::Wide);
        assert_eq!(Layout::choose(false, Some("80"), term), Layout::Fit(80));
        assert_eq!(Layout::choose(false, None, term), Layout::Fit(120));
        assert_eq!(
            Layout::choose(false, None, Some(None)),
            Layout::Fit(Layout::DEFAULT_WIDTH),
            "a terminal that reports no width"
        );
        assert_eq!(
            Layout::choose(false, None, None),
            Layout::Wide,
            "a pipe, a file or a CI log gets the wide form"
        );
        assert_eq!(
            Layout::choose(false, Some("100"), None),
            Layout::Fit(100),
            "the variable fits a pipe too"
        );
        assert_eq!(
            Layout::choose(false, Some("wide"), term),
            Layout::Fit(120),
            "a value that is not a number is ignored"
        );
        assert_eq!(
            Layout::choose(false, Some("20"), None),
            Layout::Fit(Layout::NARROWEST)
        );
    }

    #[test]
    fn prose_wraps_at_the_width_and_a_long_word_is_broken() {
        let mut out = Out::new(Layout::Fit(60));
        out.para(2, 4, &format!("{} {}", "word ".repeat(30), "x".repeat(90)));
        assert!(out.text.lines().count() > 3, "{}", out.text);
        for line in out.text.lines() {
            assert!(console::measure_text_width(line) <= 60, "{line:?}");
        }
        let mut wide = Out::new(Layout::Wide);
        wide.para(2, 4, &"word ".repeat(30));
        assert_eq!(
            wide.text.lines().count(),
            1,
            "the wide layout wraps nothing"
        );
    }
}
