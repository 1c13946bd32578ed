//! Documentation text, made safe once: the only way spec prose (and the prose wiregen writes
//! around it) reaches a doc comment.
//!
//! A [`Docs`] can only be built by [`Docs::from_text`] (and combined with
//! [`Docs::push_paragraph`]), which escapes what rustc or rustdoc would act on: line breaks
//! inside a line, control characters, bidirectional-override code points (rustc's deny-by-default
//! `text_direction_codepoint_in_comment`), fenced code blocks rustdoc would compile as doctests,
//! and indentation that would start an indented code block.

/// Documentation lines, each safe to print as one `#[doc = "..."]` literal (`/// ...`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Docs {
    lines: Vec<String>,
}

impl Docs {
    /// Docs from spec or generated text (a `description`, `summary`, `title`, or a sentence
    /// naming a path or a wire name). Line endings of any kind split lines; blank lines at either
    /// end are dropped.
    pub fn from_text(text: &str) -> Docs {
        let mut lines = Vec::new();
        let mut in_fence: Option<&'static str> = None;
        let normalised = if text.contains('\r') {
            std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        for raw in normalised.split('\n') {
            let line = safe_line(raw);
            let trimmed = line.trim_start();
            let fence = ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f));
            if let Some(fence) = fence {
                match in_fence {
                    Some(open)
                        if fence == open
                            && trimmed
                                .trim_end_matches(fence.chars().next().unwrap_or('`'))
                                .is_empty() =>
                    {
                        in_fence = None;
                        lines.push(fence.to_owned());
                    }
                    Some(_) => lines.push(line),
                    None => {
                        // A block rustdoc would compile as a doctest (no info string, `rust`,
                        // `ignore`, …) becomes a `text` block; others (`json`) keep theirs.
                        in_fence = Some(fence);
                        let info = trimmed.trim_start_matches(['`', '~']).trim();
                        if is_rust_info_string(info) || info.contains(['`', '~']) {
                            lines.push(format!("{fence}text"));
                        } else {
                            lines.push(format!("{fence}{info}"));
                        }
                    }
                }
                continue;
            }
            if in_fence.is_some() {
                lines.push(line);
                continue;
            }
            // Four spaces of indentation start an indented code block, which rustdoc would also
            // compile: keep at most three.
            let indent = line.len() - trimmed.len();
            lines.push(format!("{}{}", " ".repeat(indent.min(3)), trimmed));
        }
        if let Some(fence) = in_fence {
            lines.push(fence.to_owned());
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let first = lines
            .iter()
            .position(|l| !l.is_empty())
            .unwrap_or(lines.len());
        lines.drain(..first);
        Docs { lines }
    }

    /// Append a paragraph (separated by a blank line).
    pub fn push_paragraph(&mut self, other: Docs) {
        if other.lines.is_empty() {
            return;
        }
        if !self.lines.is_empty() {
            self.lines.push(String::new());
        }
        self.lines.extend(other.lines);
    }

    /// These docs, then a paragraph.
    pub fn with_paragraph(mut self, other: Docs) -> Docs {
        self.push_paragraph(other);
        self
    }

    /// The lines, without the leading `///`.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The lines after dropping a first line that only repeats `title` (for a module's docs
    /// that start with the title already).
    pub fn without_title(&self, titles: &[&str]) -> Docs {
        let mut lines = self.lines.as_slice();
        if let Some((first, rest)) = lines.split_first()
            && titles.iter().any(|t| first.trim() == t.trim())
        {
            lines = rest;
        }
        let first = lines
            .iter()
            .position(|l| !l.trim().is_empty())
            .unwrap_or(lines.len());
        Docs {
            lines: lines[first..].to_vec(),
        }
    }

    /// No documentation at all?
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// One line of text made safe: control characters other than tab become spaces,
/// bidirectional overrides are spelled out as `\u{..}`, trailing spaces go.
fn safe_line(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if is_bidi_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else if c.is_control() && c != '\t' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// Code points rustc rejects in comments and doc comments (`text_direction_codepoint_in_*`,
/// deny-by-default): a `#[doc = "..."]` is printed as `///` followed by the decoded text.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Does a fence's info string make rustdoc treat the block as Rust (and compile it)?
pub(crate) fn is_rust_info_string(info: &str) -> bool {
    const RUSTISH: &[&str] = &[
        "rust",
        "ignore",
        "should_panic",
        "no_run",
        "compile_fail",
        "test_harness",
        "standalone_crate",
    ];
    let mut words = info
        .split([',', ' ', '\t'])
        .filter(|w| !w.is_empty())
        .peekable();
    if words.peek().is_none() {
        return true;
    }
    words.any(|w| RUSTISH.contains(&w) || w.starts_with("edition") || w.starts_with('{'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_text_is_escaped_once() {
        let docs = Docs::from_text(
            "\n\nTitle \u{202E}evil\u{2066} end  \r\n    indented\n```\nfn pwned() {}\n```\n```json\n{\"a\": 1}\n```\na\u{0}b\n\n",
        );
        assert_eq!(
            docs.lines(),
            [
                "Title \\u{202e}evil\\u{2066} end",
                "   indented",
                "```text",
                "fn pwned() {}",
                "```",
                "```json",
                "{\"a\": 1}",
                "```",
                "a b",
            ]
        );
    }

    #[test]
    fn an_unclosed_fence_is_closed_and_titles_are_dropped() {
        let docs = Docs::from_text("T\n\n```rust\nx");
        assert_eq!(docs.lines(), ["T", "", "```text", "x", "```"]);
        assert_eq!(docs.without_title(&["T"]).lines(), ["```text", "x", "```"]);
    }
}
