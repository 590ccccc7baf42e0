//! Draws a [`ScenarioError`] the way rustc draws a compile error: the one-line form as
//! the title, then ` --> file:line:col`, the offending line of the file with a caret
//! (`^^^`) under the span, and what is allowed where that is known.
//!
//! ```text
//! error: bad.ron:4:23: fleet.replicas: invalid type: string "3", expected an integer
//!  --> bad.ron:4:23
//!   |
//! 4 |     fleet: (replicas: "3"),
//!   |                       ^^^
//! ```

use std::io::IsTerminal;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::error::byte_offset;
use super::{ScenarioError, ScenarioErrorKind};

/// Whether errors written to standard error may be coloured: it is a terminal and
/// `NO_COLOR` is unset or empty (<https://no-color.org>).
pub fn stderr_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Draws `e`, reading the lines it points at from its file; without a readable file,
/// only the title.
pub fn render_file(e: &ScenarioError, color: bool) -> String {
    let text = read_text(&e.file);
    render(e, text.as_deref(), color)
}

/// Draws `e` over `source`, the text of `e.file` (as the loader read it: no byte-order mark).
pub fn render(e: &ScenarioError, source: Option<&str>, color: bool) -> String {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let mut group = Group::with_title(Level::ERROR.primary_title(format!("{}{}", e.location(), e.kind.summary())));
    if let Some(text) = source
        && let Some(start) = byte_offset(text, e.line, e.col)
    {
        let end = byte_offset(text, e.end_line, e.end_col).unwrap_or(start).max(start);
        let mut mark = AnnotationKind::Primary.span(start..end);
        if let Some((what, _)) = e.kind.allowed() {
            mark = mark.label(format!("not one of the allowed {what}"));
        }
        group = group.element(Snippet::source(text).line_start(1).path(e.file.as_str()).annotation(mark));
    }
    if let Some((what, names)) = e.kind.allowed() {
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        group = group.element(Level::HELP.message(format!("allowed {what}: {}", names.join(", "))));
    }
    let mut out = renderer.render(&[group]);
    // A lesson's scenario that does not load: its own error, in its own file, follows.
    if let ScenarioErrorKind::LessonScenario { error, .. } = &*e.kind {
        out.push('\n');
        out.push_str(&render_file(error, color));
    }
    out
}

/// The file's text as the loader reads it, if it is UTF-8 and not too large to draw.
fn read_text(file: &str) -> Option<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(file).ok()?.take(super::load::MAX_TRACE_BYTES + 1).read_to_end(&mut bytes).ok()?;
    if bytes.len() as u64 > super::load::MAX_TRACE_BYTES {
        return None;
    }
    let text = String::from_utf8(bytes).ok()?;
    Some(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_and_stop_at_the_line_end() {
        let text = "ab\nµx: 1\n";
        assert_eq!(byte_offset(text, 1, 1), Some(0));
        assert_eq!(byte_offset(text, 2, 1), Some(3));
        // `µ` is two bytes: the second character of line 2 starts at byte 3 + 2.
        assert_eq!(byte_offset(text, 2, 2), Some(5));
        assert_eq!(byte_offset(text, 2, 99), Some(3 + "µx: 1".len()));
        assert_eq!(byte_offset(text, 3, 1), Some(text.len()));
        assert_eq!(byte_offset(text, 4, 1), None);
    }
}
