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
    PError, PResult, error_at, failure, identifier, keyword, label_matchers, string_literal,
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

fn line_filter(i: &str, op: LineOp) -> PResult<'_, LineFilter> {
    let mut patterns = Vec::new();
    let mut i = i;
    loop {
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
        patterns.push(p);
        i = rest;
        match keyword("or")(i) {
            Ok((rest, _)) => i = rest,
            Err(_) => return Ok((i, LineFilter { op, patterns })),
        }
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
