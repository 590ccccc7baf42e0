//! Feature-flag files: the flags, their rules and how a flags file is read and checked.
//!
//! A flags file is RON, parsed like a scenario file (unknown fields are errors, errors
//! read `file:line:col: field: message`):
//!
//! ```ron
//! Flags(flags: [
//!     (name: "new-checkout", rules: [
//!         Users(["17", "42"]),                          // these user ids
//!         Segments(["internal", "beta"]),               // everyone in these segments
//!         Percentage(percent: 10),                      // 10 % of users, sticky
//!         Percentage(percent: 5, group_id: "checkout"), // bucketed under another group
//!         Everyone,
//!     ]),
//!     (name: "old-banner", enabled: false),             // kill switch: off for everyone
//! ])
//! ```
//!
//! A flag is on for a user when it is enabled and one of its rules matches; rules are
//! tried in order and the first match is reported. A flag with no rules is off for
//! everyone (unlike Unleash, where an enabled toggle with no strategies is on for
//! everyone; write `Everyone` for that).
//!
//! How a flag is evaluated for a user (and how Unleash buckets users) is in
//! [`crate::model::flags`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::scenario::{Percent, ScenarioError, ScenarioErrorKind};

/// Largest flags file accepted, as for scenario files.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Most flags in one file.
pub const MAX_FLAGS: usize = 1000;
/// Most rules in one flag.
pub const MAX_RULES: usize = 100;
/// Most user ids in one `Users` rule.
pub const MAX_USERS_PER_RULE: usize = 10_000;
/// Most segment names in one `Segments` rule (a scenario has at most 64 segments and
/// `default`).
pub const MAX_SEGMENTS_PER_RULE: usize = 100;

/// A flags file: `Flags(flags: [ ... ])`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename = "Flags", deny_unknown_fields)]
pub struct FlagsFile {
    pub flags: Vec<Flag>,
}

/// One feature flag.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    /// Unique within the file; the default group id of its percentage rules.
    pub name: String,
    /// `false` is the kill switch: the flag is off for everyone, whatever the rules say.
    /// Default `true`.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Tried in order; the first that matches turns the flag on. Default none (off).
    #[serde(default)]
    pub rules: Vec<FlagRule>,
}

fn default_enabled() -> bool {
    true
}

/// A condition that turns a flag on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FlagRule {
    /// `Users(["17", "42"])`: these user ids (a simulated user's id is its decimal number).
    Users(Vec<String>),
    /// `Segments(["beta"])`: users of these segments (`"default"` or a scenario segment).
    Segments(Vec<String>),
    /// `Percentage(percent: 10)` or `Percentage(percent: 10, group_id: "checkout")`.
    Percentage(PercentageRollout),
    /// `Everyone`.
    Everyone,
}

/// A sticky percentage of users, bucketed as Unleash does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PercentageRollout {
    /// From 0 to 100; a user is in when its bucket (1 to 100) is at most this.
    pub percent: Percent,
    /// Hashed with the user id. Default: the flag's name, as Unleash does. Rules sharing
    /// a group id put the same users first.
    #[serde(default)]
    pub group_id: Option<String>,
}

impl PercentageRollout {
    /// The group id used for bucketing under the flag named `flag_name`.
    pub fn group_id_or<'a>(&'a self, flag_name: &'a str) -> &'a str {
        self.group_id.as_deref().unwrap_or(flag_name)
    }

    /// Whether a user in `bucket` (1 to 100) is in the rollout.
    pub fn contains(&self, bucket: u32) -> bool {
        self.percent.0 > 0.0 && f64::from(bucket) <= self.percent.0
    }
}

/// Reads and checks a flags file (at most [`MAX_FILE_BYTES`]): a path, or the name of a
/// shipped flags file (see [`crate::scenario::source::find`]).
pub fn load_flags(path: &Path) -> Result<FlagsFile, ScenarioError> {
    use crate::scenario::source::{self, Kind};
    let src = source::find(path, Kind::Flags)?;
    let file = src.to_string();
    let text = crate::scenario::load::read_source(&src, &file, "flags", MAX_FILE_BYTES)?;
    parse_flags(&file, &text)
}

/// Parses and checks flags text; `file` is used in messages.
pub fn parse_flags(file: &str, text: &str) -> Result<FlagsFile, ScenarioError> {
    let flags: FlagsFile = crate::scenario::load::from_ron_str(file, text)?;
    check(&flags).map_err(|(field, message)| {
        let (line, col) = locate(text, &field);
        ScenarioError::at(file, line, col, field, ScenarioErrorKind::Invalid(message))
    })?;
    Ok(flags)
}

/// The limits and the checks that involve more than one value.
fn check(f: &FlagsFile) -> Result<(), (String, String)> {
    let fail = |field: String, message: String| Err((field, message));
    if f.flags.len() > MAX_FLAGS {
        return fail("flags".into(), format!("at most {MAX_FLAGS} flags are allowed"));
    }
    for (i, flag) in f.flags.iter().enumerate() {
        if flag.name.is_empty() {
            return fail(format!("flags[{i}].name"), "must be a non-empty name".into());
        }
        if let Some(j) = f.flags[..i].iter().position(|o| o.name == flag.name) {
            return fail(
                format!("flags[{i}].name"),
                format!("flag `{}` is defined twice (first as flags[{j}])", flag.name),
            );
        }
        if flag.rules.len() > MAX_RULES {
            return fail(
                format!("flags[{i}].rules"),
                format!("{} rules; at most {MAX_RULES} rules per flag are allowed", flag.rules.len()),
            );
        }
        for (j, rule) in flag.rules.iter().enumerate() {
            let at = format!("flags[{i}].rules[{j}]");
            match rule {
                FlagRule::Users(ids) if ids.len() > MAX_USERS_PER_RULE => {
                    return fail(
                        at,
                        format!("{} user ids; at most {MAX_USERS_PER_RULE} per rule are allowed", ids.len()),
                    );
                }
                FlagRule::Segments(names) if names.len() > MAX_SEGMENTS_PER_RULE => {
                    return fail(
                        at,
                        format!("{} segments; at most {MAX_SEGMENTS_PER_RULE} per rule are allowed", names.len()),
                    );
                }
                FlagRule::Segments(names) if names.iter().any(|n| n.is_empty()) => {
                    return fail(at, "segment names must be non-empty".into());
                }
                FlagRule::Percentage(p) if p.group_id.as_deref() == Some("") => {
                    return fail(
                        format!("{at}.group_id"),
                        "must be a non-empty group id (leave it out to use the flag's name)".into(),
                    );
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// `line:col` (from 1) of a field path such as `flags[3].rules[1].group_id` in RON text.
///
/// Follows the path through the nesting of brackets, skipping strings and comments, so
/// `flags[3].name` finds the fourth flag's `name`. Falls back to the last part found, or
/// to the start of the text.
fn locate(text: &str, path: &str) -> (usize, usize) {
    let toks = tokenize(text);
    let mut found = 0usize;
    let (mut lo, mut hi) = (0usize, toks.len());
    'path: for part in path.split('.') {
        let (key, indices) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            let Some(first) = toks.get(lo) else {
                break;
            };
            let depth = first.depth + 1;
            let at = (lo..hi).find(|&i| {
                toks[i].kind == Tok::Ident
                    && toks[i].depth == depth
                    && &text[toks[i].at..toks[i].end] == key
                    && toks.get(i + 1).is_some_and(|t| t.kind == Tok::Colon)
            });
            let Some(at) = at else {
                break;
            };
            found = toks[at].at;
            lo = at + 2;
            hi = value_end(&toks, lo, hi, depth);
        }
        for index in indices.split('[') {
            let Ok(index) = index.trim_end_matches(']').parse::<usize>() else {
                break 'path;
            };
            let Some(open) = (lo..hi).find(|&i| toks[i].kind == Tok::Open(b'[')) else {
                break 'path;
            };
            let depth = toks[open].depth + 1;
            let mut start = open + 1;
            for _ in 0..index {
                let end = value_end(&toks, start, hi, depth);
                if end >= hi || toks[end].kind != Tok::Comma {
                    break 'path;
                }
                start = end + 1;
            }
            if start >= hi || toks[start].kind == Tok::Close {
                break 'path;
            }
            found = toks[start].at;
            lo = start;
            hi = value_end(&toks, start, hi, depth);
        }
    }
    let before = &text[..found];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The end (exclusive) of the value starting at `lo` at nesting `depth`: its comma, or
/// the bracket closing the enclosing value.
fn value_end(toks: &[Token], lo: usize, hi: usize, depth: u32) -> usize {
    (lo..hi)
        .find(|&i| {
            let t = &toks[i];
            (t.kind == Tok::Comma && t.depth == depth) || (t.kind == Tok::Close && t.depth < depth)
        })
        .unwrap_or(hi)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Ident,
    Colon,
    Comma,
    Open(u8),
    Close,
    Other,
}

/// A token of RON text: `at..end` in bytes; `depth` is the number of brackets open around
/// it (a bracket itself counts at the depth outside it).
#[derive(Clone, Copy, Debug)]
struct Token {
    kind: Tok,
    at: usize,
    end: usize,
    depth: u32,
}

/// Splits RON text into the tokens [`locate`] needs; strings, chars and comments become
/// one `Other` token or nothing.
fn tokenize(text: &str) -> Vec<Token> {
    let b = text.as_bytes();
    let mut toks = Vec::new();
    let mut depth = 0u32;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let kind = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(b.len(), |n| i + n);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // Block comments nest in RON.
                let mut level = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        level += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        level -= 1;
                        i += 2;
                        if level == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'"' => {
                i = skip_quoted(b, i + 1, b'"');
                Tok::Other
            }
            b'\'' => {
                i = skip_quoted(b, i + 1, b'\'');
                Tok::Other
            }
            b'b' if b.get(i + 1) == Some(&b'"') => {
                i = skip_quoted(b, i + 2, b'"');
                Tok::Other
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#')) => {
                let hashes = b[i + 1..].iter().take_while(|&&h| h == b'#').count();
                let after = i + 1 + hashes;
                if b.get(after) == Some(&b'"') {
                    // Raw string: ends at `"` followed by the same number of `#`.
                    let mut close = vec![b'"'];
                    close.extend(std::iter::repeat_n(b'#', hashes));
                    i = b[after + 1..]
                        .windows(close.len())
                        .position(|w| w == close.as_slice())
                        .map_or(b.len(), |p| after + 1 + p + close.len());
                    Tok::Other
                } else {
                    // Raw identifier `r#name`.
                    i = after;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        i += 1;
                    }
                    Tok::Other
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                Tok::Ident
            }
            b':' => {
                i += 1;
                Tok::Colon
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'(' | b'[' | b'{' => {
                i += 1;
                toks.push(Token { kind: Tok::Open(c), at: start, end: i, depth });
                depth += 1;
                continue;
            }
            b')' | b']' | b'}' => {
                i += 1;
                depth = depth.saturating_sub(1);
                Tok::Close
            }
            _ => {
                // One character (whole, so that positions stay on char boundaries).
                i += text[i..].chars().next().map_or(1, char::len_utf8);
                Tok::Other
            }
        };
        toks.push(Token { kind, at: start, end: i, depth });
    }
    toks
}

/// The index after the closing `quote` of a string or char whose body starts at `i`.
fn skip_quoted(b: &[u8], mut i: usize, quote: u8) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(percent: f64, group_id: Option<&str>) -> FlagRule {
        FlagRule::Percentage(PercentageRollout { percent: Percent(percent), group_id: group_id.map(String::from) })
    }

    const EXAMPLE: &str = r#"// Flags for the checkout rollout.
Flags(flags: [
    (name: "new-checkout", rules: [
        Users(["17", "42"]),
        Segments(["internal", "beta"]),
        Percentage(percent: 10),
        Percentage(percent: 5, group_id: "checkout"),
        Everyone,
    ]),
    (name: "old-banner", enabled: false),
    Flag(name: "plain"),
])
"#;

    #[test]
    fn parses_the_documented_example() {
        let f = parse_flags("flags.ron", EXAMPLE).unwrap();
        assert_eq!(f.flags.len(), 3);
        let checkout = &f.flags[0];
        assert!(checkout.enabled);
        assert_eq!(
            checkout.rules,
            vec![
                FlagRule::Users(vec!["17".into(), "42".into()]),
                FlagRule::Segments(vec!["internal".into(), "beta".into()]),
                pct(10.0, None),
                pct(5.0, Some("checkout")),
                FlagRule::Everyone,
            ]
        );
        assert!(!f.flags[1].enabled);
        assert!(f.flags[1].rules.is_empty());
        assert_eq!(f.flags[2], Flag { name: "plain".into(), enabled: true, rules: vec![] });

        // Written back with the same extensions, the file reads the same.
        let pretty = ron::ser::PrettyConfig::new().extensions(
            ron::extensions::Extensions::IMPLICIT_SOME | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
        );
        let text = ron::ser::to_string_pretty(&f, pretty).unwrap();
        assert_eq!(parse_flags("again.ron", &text).unwrap(), f, "{text}");
    }

    fn parse_err(text: &str) -> ScenarioError {
        parse_flags("f.ron", text).unwrap_err()
    }

    #[test]
    fn duplicate_names_are_reported_where_the_second_one_is() {
        let text = "Flags(flags: [\n    (name: \"a\"),\n    (name: \"b\", rules: [Everyone]),\n    // name: \"a\" in a comment\n    (\n        rules: [],\n        name: \"a\",\n    ),\n])\n";
        let e = parse_err(text);
        assert_eq!(e.field, "flags[2].name");
        assert_eq!((e.line, e.col), (7, 9), "{e}");
        assert_eq!(e.to_string(), "f.ron:7:9: flags[2].name: flag `a` is defined twice (first as flags[0])");
    }

    #[test]
    fn serde_errors_name_the_position_and_field() {
        let e = parse_err("Flags(flags: [(name: \"a\", rules: [Percentage(percent: 150)])])");
        assert_eq!(e.line, 1);
        assert!(e.field.contains("percent"), "{e}");
        assert!(e.message().contains("a percentage from 0 to 100"), "{e}");

        let e = parse_err("Flags(flags: [(name: \"a\",\n  colour: \"red\")])");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message().contains("colour"), "{e}");

        let e = parse_err("Flags(flags: [(name: \"a\", rules: [Percentage(percent: 10, group: \"x\")])])");
        assert!(e.message().contains("group"), "{e}");

        let e = parse_err("Flags(flags: [(name: \"a\", rules: [Sometimes])])");
        assert!(e.message().contains("Sometimes"), "{e}");

        let e = parse_err("Flags(flags: [(name: \"a\")]) trailing");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn limits_and_checks() {
        let users: Vec<String> = (0..=MAX_USERS_PER_RULE).map(|u| format!("\"{u}\"")).collect();
        let text =
            format!("Flags(flags: [(name: \"x\"), (name: \"a\", rules: [Everyone,\n Users([{}])])])", users.join(","));
        let e = parse_err(&text);
        assert_eq!(e.field, "flags[1].rules[1]");
        assert_eq!((e.line, e.col), (2, 2), "{e}");
        assert!(e.message().contains("at most 10000"), "{e}");

        let rules = vec!["Everyone"; MAX_RULES + 1].join(", ");
        let e = parse_err(&format!("Flags(flags: [(name: \"a\", rules: [{rules}])])"));
        assert_eq!(e.field, "flags[0].rules");
        assert_eq!((e.line, e.col), (1, 27), "{e}");

        let e = parse_err("Flags(flags: [(name: \"a\", rules: [Percentage(percent: 1, group_id: \"\")])])");
        assert_eq!(e.field, "flags[0].rules[0].group_id");
        assert_eq!((e.line, e.col), (1, 58), "{e}");

        let e = parse_err("Flags(flags: [(name: \"\")])");
        assert_eq!(e.field, "flags[0].name");

        let e = parse_err("Flags(flags: [(name: \"a\", rules: [Segments([\"\"])])])");
        assert_eq!(e.field, "flags[0].rules[0]");

        // Exactly at the limits is fine.
        let users: Vec<String> = (0..MAX_USERS_PER_RULE).map(|u| format!("\"{u}\"")).collect();
        let text = format!("Flags(flags: [(name: \"a\", rules: [Users([{}])])])", users.join(","));
        assert!(parse_flags("f.ron", &text).is_ok());
    }

    #[test]
    fn locate_skips_strings_comments_and_nesting() {
        let text = "Flags(flags: [ /* (name: \"x\") */ (name: \"n[0]: ,)\"),\n r#\"raw\"# , (name: 'c'),\n (rules: [Users([\"1\", \"2\"]), Everyone], name: \"z\")])";
        assert_eq!(locate(text, "flags[1]"), (2, 2));
        assert_eq!(locate(text, "flags[2].name"), (2, 14));
        assert_eq!(locate(text, "flags[3].rules[1]"), (3, 30));
        assert_eq!(locate(text, "flags[3].name"), (3, 41));
        // Unknown parts fall back to the last part found.
        assert_eq!(locate(text, "flags[3].nothing"), (3, 2));
        assert_eq!(locate(text, "flags[9]"), (1, 7));
    }

    #[test]
    fn load_flags_reads_files_with_limits() {
        let dir = std::env::temp_dir().join(format!("deploysim-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("flags.ron");
        std::fs::write(&good, format!("\u{feff}{EXAMPLE}")).unwrap();
        assert_eq!(load_flags(&good).unwrap().flags.len(), 3);

        let big = dir.join("big.ron");
        std::fs::write(&big, vec![b' '; MAX_FILE_BYTES as usize + 1]).unwrap();
        let e = load_flags(&big).unwrap_err();
        assert!(e.message().contains("limited to"), "{e}");

        let e = load_flags(&dir.join("missing.ron")).unwrap_err();
        assert!(e.to_string().contains("missing.ron:1:1: cannot read the file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
