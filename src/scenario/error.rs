//! The error of a scenario, lesson or flags file: where it is (file, line, column, the
//! span's end, the dotted field) and what is wrong ([`ScenarioErrorKind`]).

use std::fmt;

/// What is wrong with a file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioErrorKind {
    /// The file cannot be opened or read (the operating system's reason).
    #[error("cannot read the file: {reason}")]
    Read { reason: String },
    /// A name that is neither a file nor a shipped file of its kind.
    #[error("there is no such file, and no shipped {noun} of that name; the shipped {noun}s are: {names}")]
    UnknownName { noun: &'static str, names: String },
    /// The file is longer than files of its kind may be.
    #[error("{}", too_large(.what, *.len, *.limit))]
    TooLarge {
        /// `scenario`, `lesson` or `flags`.
        what: &'static str,
        /// The length the file reports, when it reports one (pipes and devices do not).
        len: Option<u64>,
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("the file is not UTF-8 text: {0}")]
    NotUtf8(std::str::Utf8Error),
    /// RON syntax, or a value of the wrong type or range, as the parser reports it: an
    /// unknown field or variant carries the names that are allowed.
    #[error("{0}")]
    Ron(ron::Error),
    /// A rule of the file format that involves more than one value, or a size limit.
    #[error("{0}")]
    Invalid(String),
    /// The trace CSV of a `Trace` rate profile cannot be read.
    #[error("cannot read trace `{trace}`: {reason}")]
    TraceRead { trace: String, reason: String },
    /// The trace CSV is larger than [`super::load::MAX_TRACE_BYTES`].
    #[error("trace `{trace}` is larger than the {limit}-byte limit")]
    TraceTooLarge { trace: String, limit: u64 },
    /// The trace CSV is not UTF-8 text.
    #[error("trace `{trace}` is not UTF-8 text: {error}")]
    TraceNotUtf8 { trace: String, error: std::str::Utf8Error },
    /// A row of the trace CSV (the error's file is the CSV, its line the row's).
    #[error("{0}")]
    TraceRow(String),
    /// A lesson's `Path` scenario does not load.
    #[error("the scenario `{path}` does not load: {error}")]
    LessonScenario { path: String, error: Box<ScenarioError> },
    /// A lesson's headless scenario loads but cannot run.
    #[error("the scenario does not run: {reason}")]
    LessonRun { reason: String },
}

fn too_large(what: &str, len: Option<u64>, limit: u64) -> String {
    match len {
        Some(len) => format!("the file is {len} bytes; {what} files are limited to {limit} bytes"),
        None => format!("the file is longer than {limit} bytes; {what} files are limited to {limit} bytes"),
    }
}

impl ScenarioErrorKind {
    /// The names allowed where an unknown field or variant was written, and what they are.
    pub fn allowed(&self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            ScenarioErrorKind::Ron(ron::Error::NoSuchStructField { expected, .. }) => Some(("fields", expected)),
            ScenarioErrorKind::Ron(ron::Error::NoSuchEnumVariant { expected, .. }) => Some(("variants", expected)),
            _ => None,
        }
    }

    /// The message without the list of allowed names (which [`Self::allowed`] gives).
    pub fn summary(&self) -> String {
        let quoted = |s: &str| format!("`{s}`");
        let within =
            |outer: &Option<String>| outer.as_deref().map(|o| format!(" in {}", quoted(o))).unwrap_or_default();
        match self {
            ScenarioErrorKind::Ron(ron::Error::NoSuchStructField { found, outer, .. }) => {
                format!("unknown field {}{}", quoted(found), within(outer))
            }
            ScenarioErrorKind::Ron(ron::Error::NoSuchEnumVariant { found, outer, .. }) => {
                format!("unknown variant {}{}", quoted(found), within(outer))
            }
            other => other.to_string(),
        }
    }
}

/// An error in a file, written for the person at the terminal. Its one-line form is
/// `file:line:col: field: what is wrong and what is allowed`; [`super::diagnostic`] draws
/// it with the offending line and a caret under the span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    /// Where the offending text starts: 1-based line and column (in characters).
    pub line: usize,
    pub col: usize,
    /// Where it ends (exclusive); the start again when only a point is known.
    pub end_line: usize,
    pub end_col: usize,
    /// Dotted path of the field, e.g. `fleet.replicas`; empty when the file as a whole is wrong.
    pub field: String,
    /// Boxed: errors travel in `Result`s and should stay small.
    pub kind: Box<ScenarioErrorKind>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.location(), self.kind)
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    /// An error at one point (`end` = start).
    pub fn at(
        file: impl Into<String>,
        line: usize,
        col: usize,
        field: impl Into<String>,
        kind: ScenarioErrorKind,
    ) -> Self {
        ScenarioError {
            file: file.into(),
            line,
            col,
            end_line: line,
            end_col: col,
            field: field.into(),
            kind: Box::new(kind),
        }
    }

    /// An error about the file as a whole, reported at its start.
    pub fn whole(file: impl Into<String>, kind: ScenarioErrorKind) -> Self {
        Self::at(file, 1, 1, "", kind)
    }

    /// A rule broken by the field at dotted `field`, located in `text` by its key.
    pub fn in_field(file: impl Into<String>, text: &str, field: impl Into<String>, kind: ScenarioErrorKind) -> Self {
        let field = field.into();
        let ((line, col), (end_line, end_col)) = super::locate::locate_span(text, &field);
        ScenarioError { file: file.into(), line, col, end_line, end_col, field, kind: Box::new(kind) }
    }

    /// [`Self::in_field`] for a rule's message.
    pub fn invalid(file: impl Into<String>, text: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::in_field(file, text, field, ScenarioErrorKind::Invalid(message.into()))
    }

    /// A parser error at its span.
    pub fn from_ron(file: impl Into<String>, field: impl Into<String>, e: ron::error::SpannedError) -> Self {
        let (start, end) = (e.span.start, e.span.end.max(e.span.start));
        ScenarioError {
            file: file.into(),
            line: start.line,
            col: start.col,
            end_line: end.line,
            end_col: end.col,
            field: field.into(),
            kind: Box::new(ScenarioErrorKind::Ron(e.code)),
        }
    }

    /// The parser starts a string value's span just past its opening quote, and a
    /// number's past its sign; this moves the start onto the quote or sign, so that the
    /// span is the whole literal (`"3"`, `-3`).
    pub(crate) fn covering_literal(mut self, text: &str) -> Self {
        let (Some(start), Some(end)) =
            (byte_offset(text, self.line, self.col), byte_offset(text, self.end_line, self.end_col))
        else {
            return self;
        };
        let before = &text[..start];
        let quoted = before.ends_with('"') && end > start && text[..end].ends_with('"');
        let signed = before.ends_with(['-', '+']) && self.line == self.end_line;
        if (quoted || signed) && self.col > 1 {
            self.col -= 1;
        }
        self
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }

    /// `file:line:col: field: `, the start of the one-line form.
    pub fn location(&self) -> String {
        let mut s = format!("{}:{}:{}: ", self.file, self.line, self.col);
        if !self.field.is_empty() {
            s.push_str(&self.field);
            s.push_str(": ");
        }
        s
    }
}

/// The byte offset of 1-based `line` and `col` (in characters, as the parser counts
/// them); a column past the line's end is its end. `None` if the text has no such line.
pub(crate) fn byte_offset(text: &str, line: usize, col: usize) -> Option<usize> {
    let start = match line {
        0 => return None,
        1 => 0,
        n => text.match_indices('\n').nth(n - 2)?.0 + 1,
    };
    let line_text = text[start..].split('\n').next().unwrap_or("");
    let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
    let within = line_text.char_indices().nth(col.saturating_sub(1)).map_or(line_text.len(), |(b, _)| b);
    Some(start + within)
}
