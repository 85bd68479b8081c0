//! Parser plumbing shared by the grammar rules: the error carried through
//! nom (the unparsed rest of the query, whose length gives the byte
//! offset), whitespace, identifiers, token descriptions and the nesting
//! budget.

use std::cell::Cell;

use nom::error::{ErrorKind, ParseError};

/// A parse failure at `input` (the unparsed rest of the query). Without
/// `msg` it reads "unexpected `token`".
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PError<'a> {
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
    /// one with a message.
    fn or(self, other: Self) -> Self {
        match self.input.len().cmp(&other.input.len()) {
            std::cmp::Ordering::Less => self,
            std::cmp::Ordering::Greater => other,
            std::cmp::Ordering::Equal if self.msg.is_some() => self,
            std::cmp::Ordering::Equal => other,
        }
    }
}

pub(crate) type PResult<'a, T> = nom::IResult<&'a str, T, PError<'a>>;

/// A committed failure with a message: no alternative is tried.
pub(crate) fn failure<'a, T>(at: &'a str, msg: impl Into<String>) -> PResult<'a, T> {
    Err(nom::Err::Failure(PError {
        input: at,
        msg: Some(msg.into()),
    }))
}

/// A recoverable "this rule does not apply here".
pub(crate) fn backtrack<T>(at: &str) -> PResult<'_, T> {
    Err(nom::Err::Error(PError {
        input: at,
        msg: None,
    }))
}

/// A committed "expected `what`, found `token`" failure at `at`.
pub(crate) fn expected<'a, T>(at: &'a str, what: &str) -> PResult<'a, T> {
    failure(at, format!("expected {what}, found {}", describe(at)))
}

/// Turns a backtrack into a committed "expected `what`" failure.
pub(crate) fn commit<'a, T>(r: PResult<'a, T>, what: &str) -> PResult<'a, T> {
    match r {
        Err(nom::Err::Error(e)) => expected(e.input, what),
        r => r,
    }
}

/// How many nesting levels (parentheses, prefix operators, operators in a
/// chain) a query may have: beyond this it is rejected instead of risking
/// the stack in the parser, the evaluator, the printer or `Drop`.
pub(crate) const MAX_DEPTH: usize = 128;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Counts one level of nesting until dropped.
pub(crate) struct DepthGuard(());

impl Drop for DepthGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Enters one level of nesting at `at`; fails past [`MAX_DEPTH`].
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
                "query nested too deeply (more than {MAX_DEPTH} levels)"
            )),
        }));
    }
    Ok(guard)
}

/// Skips whitespace.
pub(crate) fn ws(i: &str) -> &str {
    i.trim_start()
}

/// A punctuation token after optional whitespace, not followed by any of
/// `not_before` (so `|` does not match the start of `||`).
pub(crate) fn punct<'a>(i: &'a str, p: &str, not_before: &str) -> PResult<'a, &'a str> {
    let start = ws(i);
    match start.strip_prefix(p) {
        Some(rest) if !rest.starts_with(|c: char| not_before.contains(c)) => {
            Ok((rest, &start[..p.len()]))
        }
        _ => backtrack(start),
    }
}

/// Like [`punct`] but committed: a missing token is "expected `p`".
pub(crate) fn expect<'a>(i: &'a str, p: &str) -> PResult<'a, &'a str> {
    commit(punct(i, p, ""), &format!("'{p}'"))
}

pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

pub(crate) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `[a-zA-Z_][a-zA-Z0-9_]*` at the start of `i` (no whitespace skipping).
pub(crate) fn identifier(i: &str) -> PResult<'_, &str> {
    if !i.starts_with(is_ident_start) {
        return backtrack(i);
    }
    let end = i.find(|c| !is_ident_char(c)).unwrap_or(i.len());
    Ok((&i[end..], &i[..end]))
}

/// Names the token at the start of `i` for messages: `end of query`, or
/// the text up to the next space or bracket (at most 24 characters) in
/// backquotes.
pub(crate) fn describe(i: &str) -> String {
    let Some(c) = i.chars().next() else {
        return "end of query".into();
    };
    let token: String = if "{}()".contains(c) {
        c.to_string()
    } else {
        i.chars()
            .take_while(|c| !c.is_whitespace() && !"{}()".contains(*c))
            .take(24)
            .collect()
    };
    format!("`{token}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_described_for_messages() {
        let cases = [
            ("end", "", "end of query"),
            ("brace", "} x", "`}`"),
            ("word", "foo bar", "`foo`"),
            ("word_before_brace", "foo}", "`foo`"),
            (
                "long",
                "abcdefghijklmnopqrstuvwxyz",
                "`abcdefghijklmnopqrstuvwx`",
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(describe(input), want, "{name}");
        }
    }

    #[test]
    fn punct_respects_longer_tokens() {
        assert!(punct(" | x", "|", "|").is_ok());
        assert!(punct(" || x", "|", "|").is_err());
        assert_eq!(punct("  >> x", ">>", "").map(|(r, _)| r), Ok(" x"));
    }
}
