//! The LogQL grammar, on PromQL's tokens (`promql::parser::kit`).
//!
//! ```text
//! query       := log_expr | metric (see `parser_metric`)
//! log_expr    := selector stage*
//! selector    := `{` matcher (`,` matcher)* `}`
//! stage       := line_filter | `|` … (see `parser_stage`)
//! line_filter := (`|=` | `!=` | `|~` | `!~`) string (`or` string)*
//! ```

use promql::parser::kit::{
    PError, PResult, error_at, failure, identifier, keyword, label_matchers, punct, string_literal,
    unexpected, ws,
};

use super::ast::{Expr, LineFilter, LineOp, LogExpr, Stage};
use super::parser_metric::metric;
use super::parser_stage;

/// A query that does not parse, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse error at line {line}, col {col}: {msg}")]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

const EMPTY_COMPATIBLE: &str = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

/// Parses a LogQL query. Never panics; every failure is positioned.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let positioned = |at: &str, msg: Option<String>| match error_at(input, at, msg) {
        promql::Error::Parse { pos, msg } => ParseError {
            line: pos.line,
            col: pos.col,
            msg,
        },
        other => ParseError {
            line: 1,
            col: 1,
            msg: other.to_string(),
        },
    };
    if ws(input).is_empty() {
        return Err(positioned(
            ws(input),
            Some("syntax error: empty query".into()),
        ));
    }
    let parsed = if ws(input).starts_with('{') {
        log_expr(input).map(|(rest, e)| (rest, Expr::Log(e)))
    } else {
        metric(input).map(|(rest, e)| (rest, Expr::Metric(e)))
    };
    match parsed {
        Ok((rest, e)) => {
            let rest = ws(rest);
            if rest.is_empty() {
                Ok(e)
            } else {
                Err(positioned(rest, None))
            }
        }
        Err(
            nom::Err::Error(PError { input: at, msg })
            | nom::Err::Failure(PError { input: at, msg }),
        ) => Err(positioned(at, msg)),
        Err(nom::Err::Incomplete(_)) => Err(positioned("", None)),
    }
}

pub(super) fn log_expr(i: &str) -> PResult<'_, LogExpr> {
    let at = ws(i);
    if !at.starts_with('{') {
        return unexpected(at, ", expected a stream selector");
    }
    let (mut i, (name, matchers)) = label_matchers(at)?;
    if name.is_some() {
        return failure(at, "a stream selector holds label matchers only");
    }
    if matchers.iter().all(|m| m.matches_empty()) {
        return failure(at, EMPTY_COMPATIBLE);
    }
    let mut pipeline = Vec::new();
    while let Some((rest, stage)) = stage(i)? {
        pipeline.push(stage);
        i = rest;
    }
    Ok((i, LogExpr { matchers, pipeline }))
}

/// The next stage, or `None` where the pipeline ends.
fn stage(i: &str) -> Result<Option<(&str, Stage)>, nom::Err<PError<'_>>> {
    let at = ws(i);
    let op = [
        ("|=", LineOp::Contains),
        ("!=", LineOp::NotContains),
        ("|~", LineOp::Match),
        ("!~", LineOp::NotMatch),
        ("|>", LineOp::MatchPattern),
        ("!>", LineOp::NotMatchPattern),
    ]
    .into_iter()
    .find_map(|(tok, op)| at.strip_prefix(tok).map(|rest| (rest, op)));
    let Some((rest, op)) = op else {
        return match at.strip_prefix('|') {
            // `| unwrap` ends the log pipeline of a range aggregation.
            Some(rest) if identifier(ws(rest)).is_ok_and(|(_, w)| w == "unwrap") => Ok(None),
            Some(rest) => {
                let (rest, s) = parser_stage::stage(rest)?;
                Ok(Some((rest, s)))
            }
            None => Ok(None),
        };
    };
    let (rest, f) = line_filter(rest, op)?;
    Ok(Some((rest, Stage::Line(f))))
}

/// Reads one alternative of a line filter.
type Item = for<'a> fn(&'a str, LineOp) -> PResult<'a, String>;

fn line_filter(i: &str, op: LineOp) -> PResult<'_, LineFilter> {
    // `|= ip("…")` and `!= ip("…")`: every alternative an address set.
    let (op, item): (LineOp, Item) = match op {
        LineOp::Contains if starts_ip(i) => (LineOp::ContainsIp, ip_item),
        LineOp::NotContains if starts_ip(i) => (LineOp::NotContainsIp, ip_item),
        _ => (op, text_item),
    };
    let mut patterns = Vec::new();
    let mut i = i;
    loop {
        let (rest, p) = item(i, op)?;
        patterns.push(p);
        i = rest;
        match keyword("or")(i) {
            Ok((rest, _)) => i = rest,
            Err(_) => return Ok((i, LineFilter { op, patterns })),
        }
    }
}

/// Whether `ip(` follows.
pub(super) fn starts_ip(i: &str) -> bool {
    identifier(ws(i)).is_ok_and(|(rest, w)| w == "ip" && ws(rest).starts_with('('))
}

/// A string, checked as `op` reads it (a regex, a pattern).
fn text_item(i: &str, op: LineOp) -> PResult<'_, String> {
    let at = ws(i);
    let (rest, p) = match string_literal(at) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => return unexpected(at, ", expected a string"),
        Err(e) => return Err(e),
    };
    if matches!(op, LineOp::Match | LineOp::NotMatch)
        && let Err(e) = regex::Regex::new(&p)
    {
        return failure(at, format!("invalid regular expression {p:?}: {e}"));
    }
    if matches!(op, LineOp::MatchPattern | LineOp::NotMatchPattern)
        && let Err(e) = super::pipeline::pattern::Pattern::parse_filter(&p)
    {
        return failure(at, e);
    }
    Ok((rest, p))
}

/// `ip("…")`: the address set as written.
pub(super) fn ip_item(i: &str, _: LineOp) -> PResult<'_, String> {
    let at = ws(i);
    if !starts_ip(at) {
        return unexpected(at, ", expected ip(\"…\")");
    }
    let (rest, _) = identifier(at)?;
    let (rest, _) = punct("(")(rest)?;
    let s_at = ws(rest);
    let (rest, set) = string_literal(s_at).or_else(|_| unexpected(s_at, ", expected a string"))?;
    if let Err(e) = super::pipeline::ip::IpFilter::parse(&set) {
        return failure(s_at, e);
    }
    let (rest, _) = punct(")")(rest).or_else(|_| unexpected(ws(rest), ", expected \")\""))?;
    Ok((rest, set))
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
