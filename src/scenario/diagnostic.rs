//! Diagnostics: one problem in a scenario file, located and explained.
//!
//! Loading collects every problem in every file before giving up, so a user fixes a
//! whole file in one pass. A [`Diagnostic`] says where (file, line, column, the source
//! line), what is wrong, and how to fix it; its `Display` is rustc-like:
//!
//! ```text
//! error: scenarios/bad.toml:7:1: unknown key `writerz` in [workload]
//!   |
//! 7 | writerz = 4
//!   | ^^^^^^^
//!   = hint: did you mean `writers`? valid keys: kind, writers, rounds, increments, retry
//! ```

use std::fmt::{self, Display};
use std::path::{Path, PathBuf};

/// One problem in a scenario file. `line`/`column` are 1-based; 0 when the problem
/// concerns the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// The offending source line, without its line ending.
    pub snippet: Option<String>,
}

impl Diagnostic {
    /// A problem with the whole file (it cannot be read, say): line and column 0.
    pub fn whole_file(file: &Path, message: impl Into<String>, hint: Option<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
            hint,
            snippet: None,
        }
    }
}

impl std::error::Error for Diagnostic {}

/// The most characters of a message or hint shown; a longer one (a value of 16 MB in an
/// error about it) is shown cut, saying how much was left out.
const MAX_SHOWN: usize = 1000;
/// The most characters of the source line shown, around the column.
const MAX_SNIPPET: usize = 160;

/// `text`, cut to [`MAX_SHOWN`] characters with a note of what was left out.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_SHOWN) {
        None => text.into(),
        Some((at, _)) => format!(
            "{}… ({} more bytes not shown)",
            &text[..at],
            text.len() - at
        )
        .into(),
    }
}

impl Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let message = shown(&self.message);
        if self.line == 0 {
            write!(f, "error: {file}: {message}")?;
        } else {
            write!(f, "error: {file}:{}:{}: {message}", self.line, self.column)?;
        }
        // The gutter is as wide as the line number, plus one space.
        let gutter = " ".repeat(if self.line == 0 {
            2
        } else {
            self.line.to_string().len() + 1
        });
        if let (Some(snippet), true) = (&self.snippet, self.line > 0) {
            // A long line is shown as a window around the column, marked `…` where cut.
            let column = self.column.saturating_sub(1);
            let chars = snippet.chars().count();
            let first = if chars > MAX_SNIPPET {
                column.saturating_sub(MAX_SNIPPET / 4)
            } else {
                0
            };
            let window: String = snippet.chars().skip(first).take(MAX_SNIPPET).collect();
            let lead = if first > 0 { "…" } else { "" };
            let tail = if first + MAX_SNIPPET < chars {
                "…"
            } else {
                ""
            };
            let before: String = lead
                .chars()
                .chain(window.chars())
                .take(column - first + lead.chars().count())
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let room = window.chars().count().saturating_sub(column - first).max(1);
            let carets = "^".repeat(token_width(&window, column - first + 1).min(room));
            write!(f, "\n{gutter}|")?;
            write!(f, "\n{} | {lead}{window}{tail}", self.line)?;
            write!(f, "\n{gutter}| {before}{carets}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n{gutter}= hint: {}", shown(hint))?;
        }
        Ok(())
    }
}

/// How many characters to underline: the TOML token that starts at `column` (1-based)
/// in `line`, at least one.
///
/// A quoted string runs to its closing quote, a `[...]` or `{...}` to its matching
/// bracket on the same line, a number or date to its end, anything else is a bare key.
fn token_width(line: &str, column: usize) -> usize {
    let rest: Vec<char> = line.chars().skip(column.saturating_sub(1)).collect();
    let Some(&first) = rest.first() else {
        return 1;
    };
    let width = match first {
        '"' | '\'' => {
            let mut escaped = false;
            rest.iter()
                .enumerate()
                .skip(1)
                .find(|&(_, &c)| {
                    let closes = c == first && !escaped;
                    escaped = first == '"' && c == '\\' && !escaped;
                    closes
                })
                .map(|(i, _)| i + 1)
        }
        '[' | '{' => {
            let close = if first == '[' { ']' } else { '}' };
            let mut depth = 0usize;
            let mut quote: Option<char> = None;
            rest.iter()
                .enumerate()
                .find(|&(_, &c)| {
                    match quote {
                        Some(q) if c == q => quote = None,
                        Some(_) => {}
                        None if c == '"' || c == '\'' => quote = Some(c),
                        None if c == first => depth += 1,
                        None if c == close => depth = depth.saturating_sub(1),
                        None => {}
                    }
                    quote.is_none() && c == close && depth == 0
                })
                .map(|(i, _)| i + 1)
        }
        c if c.is_ascii_digit() || c == '+' || c == '-' => Some(
            rest.iter()
                .take_while(|c| c.is_ascii_alphanumeric() || "_.+-:".contains(**c))
                .count(),
        ),
        _ => Some(
            rest.iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_' || **c == '-')
                .count(),
        ),
    };
    width.unwrap_or(1).max(1)
}

/// Where in a file something is: what a [`Diagnostic`] needs besides its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    pub line: usize,
    pub column: usize,
    pub snippet: Option<String>,
}

impl Site {
    /// The whole file (line 0).
    pub fn whole_file() -> Site {
        Site {
            line: 0,
            column: 0,
            snippet: None,
        }
    }

    /// The start of the file, 1:1, without a snippet: where a missing top-level key is.
    pub fn file_start() -> Site {
        Site {
            line: 1,
            column: 1,
            snippet: None,
        }
    }

    /// A diagnostic at this site.
    pub fn diagnostic(&self, file: &Path, message: String, hint: Option<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_path_buf(),
            line: self.line,
            column: self.column,
            message,
            hint,
            snippet: self.snippet.clone(),
        }
    }
}

/// One file's text, indexed by line, to turn byte offsets into [`Site`]s.
pub(crate) struct Source<'a> {
    pub file: &'a Path,
    text: &'a str,
    /// Byte offset of the start of every line.
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    /// Indexes `text`, the contents of `file`.
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            file,
            text,
            line_starts,
        }
    }

    /// The whole text of the file.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The line, column (in characters) and source line of a byte offset.
    pub fn site(&self, offset: usize) -> Site {
        let offset = offset.min(self.text.len());
        let index = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1);
        let start = self.line_starts[index.min(self.line_starts.len() - 1)];
        let end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line = &self.text[start..end];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Site {
            line: index + 1,
            column: column + 1,
            snippet: Some(line.strip_suffix('\r').unwrap_or(line).to_string()),
        }
    }

    /// A diagnostic at a byte offset.
    pub fn at(&self, offset: usize, message: String, hint: Option<String>) -> Diagnostic {
        self.site(offset).diagnostic(self.file, message, hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_value_is_shown_cut_in_the_message_the_hint_and_the_line() {
        let value = "x".repeat(16 * 1024 * 1024);
        let line = format!("timeout = \"{value}\"");
        let d = Diagnostic {
            file: PathBuf::from("big.toml"),
            line: 3,
            column: 11,
            message: format!("`{value}` is not a duration"),
            hint: Some(format!("not {value}")),
            snippet: Some(line),
        };
        let text = d.to_string();
        assert!(text.len() < 4 * 1024, "{} bytes", text.len());
        assert!(text.contains("more bytes not shown"), "{text}");
        assert!(text.contains("3 | timeout = \"xxx"), "{text}");
        assert!(
            text.contains("x…\n"),
            "the line is marked where it is cut: {text}"
        );
    }

    #[test]
    fn display_is_rustc_like_with_the_token_underlined() {
        let text = "[workload]\nkind = \"counter\"\nwriterz = 4\n";
        let source = Source::new(Path::new("scenarios/bad.toml"), text);
        let offset = text.find("writerz").unwrap();
        let d = source.at(
            offset,
            "unknown key `writerz` in [workload]".into(),
            Some("did you mean `writers`?".into()),
        );
        assert_eq!((d.line, d.column), (3, 1));
        assert_eq!(
            d.to_string(),
            "error: scenarios/bad.toml:3:1: unknown key `writerz` in [workload]\n  \
             |\n3 | writerz = 4\n  | ^^^^^^^\n  = hint: did you mean `writers`?"
        );
    }

    #[test]
    fn whole_file_problems_have_no_position_or_snippet() {
        let d = Diagnostic::whole_file(Path::new("a.toml"), "cannot read file", None);
        assert_eq!(d.to_string(), "error: a.toml: cannot read file");
    }

    #[test]
    fn gutter_widens_with_the_line_number() {
        let text = format!("{}x = \"a\"\n", "\n".repeat(11));
        let source = Source::new(Path::new("f.toml"), &text);
        let d = source.at(text.find('"').unwrap(), "bad".into(), Some("fix".into()));
        assert_eq!(
            d.to_string(),
            "error: f.toml:12:5: bad\n   |\n12 | x = \"a\"\n   |     ^^^\n   = hint: fix"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "a = \"é\" # x\nb = 1\r\n";
        let source = Source::new(Path::new("f.toml"), text);
        assert_eq!(source.site(text.find('#').unwrap()).column, 9);
        let b = source.site(text.find('1').unwrap());
        assert_eq!((b.line, b.column), (2, 5));
        assert_eq!(b.snippet.as_deref(), Some("b = 1"));
    }

    #[test]
    fn underlines_whole_tokens() {
        assert_eq!(token_width("x = \"a\\\"b\" # c", 5), 6);
        assert_eq!(token_width("x = { a = \"}\", b = [1] } y", 5), 20);
        assert_eq!(token_width("[workload]", 1), 10);
        assert_eq!(token_width("x = 4096 # y", 5), 4);
        assert_eq!(token_width("workload.kind = 1", 1), 8);
        assert_eq!(token_width("x = \"unterminated", 5), 1);
        assert_eq!(token_width("x =", 4), 1);
    }
}
