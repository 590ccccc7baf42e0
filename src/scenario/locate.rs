//! Where a dotted field path is in a file's text: the span an error's caret goes under.

/// Finds the `line:col` of a dotted field path in the text: each key is searched after
/// the previous one, so `fleet.replicas` finds `replicas` inside `fleet`. Falls back to
/// the last key found. Returns where the key starts and ends: the span a caret goes under.
pub(crate) fn locate_span(text: &str, path: &str) -> ((usize, usize), (usize, usize)) {
    let mut from = 0usize;
    let mut found = None;
    for key in path.split('.') {
        let key = key.split('[').next().unwrap_or(key);
        if key.is_empty() || key.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Some(pos) = find_key(text, key, from) {
            from = pos;
            found = Some((pos, key.len()));
        }
    }
    let (pos, len) = found.unwrap_or((0, 0));
    let at = |pos: usize| {
        let before = &text[..pos];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    };
    (at(pos), at(pos + len))
}

fn find_key(text: &str, key: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut start = from;
    while let Some(off) = text.get(start..)?.find(key) {
        let pos = start + off;
        let end = pos + key.len();
        let before_ok = pos == 0 || !(bytes[pos - 1].is_ascii_alphanumeric() || bytes[pos - 1] == b'_');
        let rest = text[end..].trim_start();
        if before_ok && (rest.starts_with(':') || rest.starts_with('(')) {
            return Some(pos);
        }
        start = end;
    }
    None
}
