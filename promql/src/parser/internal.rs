//! Shared plumbing: the error type carried through nom, whitespace and
//! comment skipping, keywords, and the description of an unexpected token.

use std::cell::Cell;

use nom::error::{ErrorKind, ParseError};

/// A parse failure at `input` (the unparsed rest of the query; its length
/// gives the byte offset). Without `msg` it reads "unexpected <token>".
#[derive(Debug, Clone, PartialEq)]
pub struct PError<'a> {
    pub input: &'a str,
    pub msg: Option<String>,
}

impl<'a> ParseError<&'a str> for PError<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        PError { input, msg: None }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }

    /// Of two failed alternatives keep the one that got further, preferring
    /// a specific message.
    fn or(self, other: Self) -> Self {
        match self.input.len().cmp(&other.input.len()) {
            std::cmp::Ordering::Less => self,
            std::cmp::Ordering::Greater => other,
            std::cmp::Ordering::Equal if self.msg.is_some() => self,
            std::cmp::Ordering::Equal => other,
        }
    }
}

pub type PResult<'a, T> = nom::IResult<&'a str, T, PError<'a>>;

/// A committed failure with a message: no alternative is tried.
pub fn failure<'a, T>(at: &'a str, msg: impl Into<String>) -> PResult<'a, T> {
    Err(nom::Err::Failure(PError {
        input: at,
        msg: Some(msg.into()),
    }))
}

/// A recoverable "this rule does not apply here".
pub fn backtrack<T>(at: &str) -> PResult<'_, T> {
    Err(nom::Err::Error(PError {
        input: at,
        msg: None,
    }))
}

/// A committed "unexpected <token>" failure at `at`.
pub fn unexpected<'a, T>(at: &'a str, context: &str) -> PResult<'a, T> {
    failure(at, format!("unexpected {}{context}", describe(at)))
}

/// How deeply rules may recurse (parentheses, arguments, unary chains):
/// beyond this the query is rejected instead of overflowing the stack.
pub(crate) const MAX_DEPTH: usize = 200;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Counts one level of recursion until dropped.
pub(crate) struct DepthGuard(());

impl Drop for DepthGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Enters one level of recursion at `at`; fails past [`MAX_DEPTH`].
pub(crate) fn enter(at: &str) -> Result<DepthGuard, nom::Err<PError<'_>>> {
    let depth = DEPTH.with(|d| {
        d.set(d.get() + 1);
        d.get()
    });
    let guard = DepthGuard(());
    if depth > MAX_DEPTH {
        return Err(nom::Err::Failure(PError {
            input: at,
            msg: Some(format!(
                "expression nested too deeply (more than {MAX_DEPTH} levels)"
            )),
        }));
    }
    Ok(guard)
}

/// Skips whitespace and `#` comments (to end of line).
pub fn ws(mut i: &str) -> &str {
    loop {
        i = i.trim_start_matches([' ', '\t', '\n', '\r']);
        match i.strip_prefix('#') {
            Some(rest) => i = rest.find('\n').map_or("", |n| &rest[n..]),
            None => return i,
        }
    }
}

pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

pub(crate) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `[a-zA-Z_][a-zA-Z0-9_]*` at the start of `i` (no whitespace skipping).
pub fn identifier(i: &str) -> PResult<'_, &str> {
    if !i.starts_with(is_ident_start) {
        return backtrack(i);
    }
    let end = i.find(|c| !is_ident_char(c)).unwrap_or(i.len());
    Ok((&i[end..], &i[..end]))
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`: a metric name (no whitespace skipping).
pub(crate) fn metric_identifier(i: &str) -> PResult<'_, &str> {
    if !i.starts_with(|c| is_ident_start(c) || c == ':') {
        return backtrack(i);
    }
    let end = i
        .find(|c| !(is_ident_char(c) || c == ':'))
        .unwrap_or(i.len());
    Ok((&i[end..], &i[..end]))
}

/// A case-insensitive keyword after optional whitespace, not followed by
/// an identifier character.
pub fn keyword<'a>(kw: &'static str) -> impl Fn(&'a str) -> PResult<'a, &'a str> {
    move |i: &'a str| {
        let start = ws(i);
        match identifier(start) {
            Ok((rest, word)) if word.eq_ignore_ascii_case(kw) => Ok((rest, word)),
            _ => backtrack(start),
        }
    }
}

/// A punctuation token after optional whitespace.
pub fn punct<'a>(p: &'static str) -> impl Fn(&'a str) -> PResult<'a, &'a str> {
    move |i: &'a str| {
        let start = ws(i);
        match start.strip_prefix(p) {
            Some(rest) => Ok((rest, &start[..p.len()])),
            None => backtrack(start),
        }
    }
}

/// Like [`punct`] but committed: a missing token is reported as
/// "unexpected X<context>".
pub fn expect<'a>(
    p: &'static str,
    context: &'static str,
) -> impl Fn(&'a str) -> PResult<'a, &'a str> {
    move |i: &'a str| match punct(p)(i) {
        Err(nom::Err::Error(e)) => unexpected(e.input, context),
        r => r,
    }
}

const KEYWORDS: &[&str] = &[
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "start",
    "end",
    "step",
    "range",
    "anchored",
    "smoothed",
    "fill",
    "fill_left",
    "fill_right",
];

/// How Prometheus names the token at the start of `i` in "unexpected …".
pub fn describe(i: &str) -> String {
    let Some(c) = i.chars().next() else {
        return "end of input".into();
    };
    if c.is_ascii_digit() || (c == '.' && i[1..].starts_with(|c: char| c.is_ascii_digit())) {
        let end = i
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(i.len());
        let tok = &i[..end];
        let is_duration = !tok.starts_with("0x")
            && tok
                .chars()
                .any(|c| c.is_ascii_alphabetic() && !matches!(c, 'e' | 'E'));
        let kind = if is_duration { "duration" } else { "number" };
        return format!("{kind} {tok:?}");
    }
    if let Ok((_, word)) = metric_identifier(i) {
        let lower = word.to_ascii_lowercase();
        if crate::ast::AggregateOp::from_name(&lower).is_some() {
            return format!("<aggr:{lower}>");
        }
        if matches!(lower.as_str(), "and" | "or" | "unless" | "atan2") {
            return format!("<op:{lower}>");
        }
        if KEYWORDS.contains(&lower.as_str()) {
            return format!("<{lower}>");
        }
        if matches!(lower.as_str(), "inf" | "nan") {
            return format!("number {word:?}");
        }
        let kind = if word.contains(':') {
            "metric identifier"
        } else {
            "identifier"
        };
        return format!("{kind} {word:?}");
    }
    if matches!(c, '"' | '\'' | '`') {
        let body = &i[1..];
        let end = body.find(c).map_or(i.len(), |n| n + 2);
        return format!("string {}", &i[..end]);
    }
    for op in [
        "==", "!=", "<=", ">=", "=~", "!~", "+", "-", "*", "/", "%", "^", "<", ">", "=",
    ] {
        if i.starts_with(op) {
            return format!("<op:{op}>");
        }
    }
    match c {
        ')' => "right parenthesis \")\"".into(),
        ']' => "right bracket \"]\"".into(),
        '}' => "right brace \"}\"".into(),
        '(' | '[' | '{' | ',' | ':' | '@' => format!("\"{c}\""),
        c => format!("character {c:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_comments_are_skipped() {
        assert_eq!(ws("  # c\n  x"), "x");
        assert_eq!(ws("# only"), "");
    }

    #[test]
    fn tokens_are_described_like_prometheus() {
        let cases = [
            ("", "end of input"),
            ("by (x)", "<by>"),
            ("sum(x)", "<aggr:sum>"),
            ("foo bar", "identifier \"foo\""),
            ("5m]", "duration \"5m\""),
            ("1e3 ", "number \"1e3\""),
            ("+ 1", "<op:+>"),
            (")", "right parenthesis \")\""),
        ];
        for (input, want) in cases {
            assert_eq!(describe(input), want, "{input}");
        }
    }
}
