//! Vector selectors: `name`, `name{matchers}`, `{matchers}`, `{"utf8.name"}`.

use tsdb::model::{MatchOp, Matcher};

use super::internal::{PResult, backtrack, failure, punct, unexpected, ws};
use super::literal::{label_name, string_literal};
use crate::ast::VectorSelector;

/// match_op := `=~` | `!~` | `!=` | `=`
fn match_op(i: &str) -> PResult<'_, MatchOp> {
    let i = ws(i);
    for (tok, op) in [
        ("=~", MatchOp::RegexMatch),
        ("!~", MatchOp::RegexNoMatch),
        ("!=", MatchOp::NotEqual),
        ("=", MatchOp::Equal),
    ] {
        if let Some(rest) = i.strip_prefix(tok) {
            return Ok((rest, op));
        }
    }
    backtrack(i)
}

/// One item inside braces: a metric name or a label matcher.
enum Item {
    Name(String),
    Matcher(Matcher),
}

/// item := string (a metric name) | label_name match_op string
fn matcher_item(i: &str) -> PResult<'_, Item> {
    let start = ws(i);
    let (rest, name) = match label_name(start) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => {
            return unexpected(start, " in label matching, expected label name");
        }
        Err(e) => return Err(e),
    };
    let (rest, op) = match match_op(rest) {
        Ok(ok) => ok,
        Err(nom::Err::Error(e)) if start.starts_with(['"', '\'', '`']) => {
            return Ok((e.input, Item::Name(name)));
        }
        Err(nom::Err::Error(e)) => {
            return unexpected(
                e.input,
                " in label matching, expected label matching operator",
            );
        }
        Err(e) => return Err(e),
    };
    let value_at = ws(rest);
    let (rest, value) = match string_literal(value_at) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => {
            return unexpected(value_at, " in label matching, expected string");
        }
        Err(e) => return Err(e),
    };
    match Matcher::new(op, name, value) {
        Ok(m) => Ok((rest, Item::Matcher(m))),
        Err(e) => failure(value_at, e.to_string()),
    }
}

/// label_matchers := `{` [item (`,` item)* [`,`]] `}`; returns the metric
/// name written as a bare string, if any, and the matchers.
pub fn label_matchers(i: &str) -> PResult<'_, (Option<String>, Vec<Matcher>)> {
    let (mut i, _) = punct("{")(i)?;
    let mut name: Option<String> = None;
    let mut matchers = Vec::new();
    loop {
        if let Ok((rest, _)) = punct("}")(i) {
            return Ok((rest, (name, matchers)));
        }
        let item_at = ws(i);
        let (rest, item) = matcher_item(item_at)?;
        match item {
            Item::Matcher(m) => matchers.push(m),
            Item::Name(n) => {
                if let Some(prev) = &name {
                    return failure(
                        item_at,
                        format!("metric name must not be set twice: {prev:?} or {n:?}"),
                    );
                }
                name = Some(n);
            }
        }
        i = match punct(",")(rest) {
            Ok((rest, _)) => rest,
            Err(_) => match punct("}")(rest) {
                Ok(_) => rest,
                Err(_) => {
                    return unexpected(ws(rest), " in label matching, expected \",\" or \"}\"");
                }
            },
        };
    }
}

/// vector_selector := metric_identifier [label_matchers] | label_matchers.
/// `name` is the identifier already read by the caller (at `start`), `i`
/// the input after it. Enforces Prometheus's rules: the name is set once,
/// and (when `require_non_empty`) at least one matcher must not match the
/// empty string; `info()`'s label-selector argument is exempt from that.
pub(crate) fn vector_selector<'a>(
    start: &'a str,
    name: Option<&'a str>,
    i: &'a str,
    require_non_empty: bool,
) -> PResult<'a, VectorSelector> {
    let (rest, (inner_name, mut matchers)) = if ws(i).starts_with('{') {
        label_matchers(i)?
    } else {
        (i, (None, Vec::new()))
    };
    let name = match (name, inner_name) {
        (Some(a), Some(b)) => {
            return failure(
                start,
                format!("metric name must not be set twice: {a:?} or {b:?}"),
            );
        }
        (Some(a), None) => Some(a.to_string()),
        (None, b) => b,
    };
    if let Some(n) = &name {
        if let Some(m) = matchers.iter().find(|m| m.name == "__name__") {
            return failure(
                start,
                format!("metric name must not be set twice: {n:?} or {:?}", m.value),
            );
        }
        matchers.insert(0, Matcher::equal("__name__", n.clone()));
    }
    if require_non_empty && matchers.iter().all(Matcher::matches_empty) {
        return failure(
            start,
            "vector selector must contain at least one non-empty matcher",
        );
    }
    Ok((
        rest,
        VectorSelector {
            name,
            matchers,
            offset: None,
            at: None,
            anchored: false,
            smoothed: false,
        },
    ))
}
