//! The query-level rules: pipelines, spanset expressions (precedence
//! climbing over [`SPANSET_OPS`]), spanset filters and scalar filters; and
//! [`parse`], which turns the first failure into a positioned
//! [`ParseError`].

use super::ast::{
    Aggregate, BinaryOp, FIELD_OPS, FieldExpr, Infix, Query, SPANSET_OPS, ScalarFilter,
    SpansetExpr, SpansetOp, Stage, Static,
};
use super::check;
use super::error::ParseError;
use super::field::field_expr;
use super::internal::{
    PError, PResult, backtrack, commit, describe, enter, expect, expected, failure, identifier,
    punct, ws,
};
use super::literal::number_or_duration;

/// What may follow a complete spanset expression.
const AFTER_SPANSET: &str = "a spanset operator (&& || >> > ~ << <), '|' or end of query";
/// What may start a spanset expression.
const SPANSET: &str = "a spanset filter '{ ... }' or '('";

/// Parses a TraceQL query. Never panics; every failure is a
/// [`ParseError`] positioned at the offending token.
///
/// query := pipeline
pub fn parse(query: &str) -> Result<Query, ParseError> {
    let error_at = |at: &str, msg: String| ParseError::at(query, query.len() - at.len(), msg);
    if ws(query).is_empty() {
        return Err(error_at(ws(query), "empty query".into()));
    }
    match pipeline(query) {
        Ok((rest, root)) => match ws(rest) {
            "" => Ok(Query { root }),
            rest if spanset_op(rest).is_ok() => Err(error_at(
                rest,
                "a pipeline must be in parentheses to be an operand of a spanset operator".into(),
            )),
            rest => Err(error_at(
                rest,
                format!("expected {AFTER_SPANSET}, found {}", describe(rest)),
            )),
        },
        Err(nom::Err::Error(PError { input, msg }) | nom::Err::Failure(PError { input, msg })) => {
            let msg = msg.unwrap_or_else(|| format!("unexpected {}", describe(input)));
            Err(error_at(input, msg))
        }
        Err(nom::Err::Incomplete(_)) => Err(error_at("", "unexpected end of query".into())),
    }
}

/// pipeline := spanset_expr (`|` stage)*
fn pipeline(i: &str) -> PResult<'_, SpansetExpr> {
    let (mut i, input) = commit(spanset_expr(i, 1), SPANSET)?;
    let mut stages = Vec::new();
    while let Ok((rest, _)) = punct(i, "|", "|") {
        let (rest, s) = stage(rest)?;
        stages.push(s);
        i = rest;
    }
    if stages.is_empty() {
        return Ok((i, input));
    }
    let root = match input {
        SpansetExpr::Pipeline {
            input,
            stages: mut first,
        } => {
            first.append(&mut stages);
            SpansetExpr::Pipeline {
                input,
                stages: first,
            }
        }
        input => SpansetExpr::Pipeline {
            input: Box::new(input),
            stages,
        },
    };
    Ok((i, root))
}

/// A token of [`SPANSET_OPS`] after optional whitespace.
fn spanset_op(i: &str) -> PResult<'_, (SpansetOp, u8)> {
    let i = ws(i);
    for (token, op, prec) in SPANSET_OPS {
        if let Some(rest) = i.strip_prefix(token) {
            return Ok((rest, (op, prec)));
        }
    }
    backtrack(i)
}

/// spanset_expr(p) := spanset_operand (spanset_op spanset_expr(p + 1))*
/// for operators of precedence >= p (all left-associative).
fn spanset_expr(i: &str, min_prec: u8) -> PResult<'_, SpansetExpr> {
    let start = ws(i);
    let _depth = enter(start)?;
    let (mut i, mut lhs) = spanset_operand(start)?;
    let mut chain = Vec::new();
    while let Ok((after_op, (op, prec))) = spanset_op(i) {
        if prec < min_prec {
            break;
        }
        chain.push(enter(ws(i))?);
        let (rest, rhs) = commit(spanset_expr(after_op, prec + 1), SPANSET)?;
        lhs = SpansetExpr::Op {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        };
        i = rest;
    }
    Ok((i, lhs))
}

/// spanset_operand := `{` [field_expr] `}` | `(` pipeline `)`
fn spanset_operand(i: &str) -> PResult<'_, SpansetExpr> {
    if let Some(body) = i.strip_prefix('{') {
        if let Ok((rest, _)) = punct(body, "}", "") {
            return Ok((
                rest,
                SpansetExpr::Filter(FieldExpr::Static(Static::Bool(true))),
            ));
        }
        let at = ws(body);
        let (rest, e) = commit(field_expr(body), "a field expression or '}'")?;
        check::filter(at, &e)?;
        let (rest, _) = commit(punct(rest, "}", ""), "an operator or '}'")?;
        return Ok((rest, SpansetExpr::Filter(e)));
    }
    if let Some(body) = i.strip_prefix('(') {
        let (rest, e) = pipeline(body)?;
        let (rest, _) = commit(punct(rest, ")", ""), &format!("{AFTER_SPANSET} or ')'"))?;
        return Ok((rest, e));
    }
    backtrack(i)
}

/// stage := scalar_filter | spanset_expr
fn stage(i: &str) -> PResult<'_, Stage> {
    let start = ws(i);
    if let Ok((_, word)) = identifier(start) {
        return if matches!(word, "count" | "avg" | "min" | "max" | "sum") {
            let (rest, f) = scalar_filter(start)?;
            Ok((rest, Stage::Scalar(f)))
        } else {
            failure(start, format!("unsupported pipeline stage `{word}`"))
        };
    }
    let what = "a pipeline stage (count(), avg(..), min(..), max(..), sum(..) or a spanset)";
    let (rest, e) = commit(spanset_expr(start, 1), what)?;
    Ok((rest, Stage::Spanset(e)))
}

/// scalar_filter := aggregate comparison_op `-`? (number | duration)
/// aggregate := `count` `(` `)` | (`avg`|`min`|`max`|`sum`) `(` field_expr `)`
fn scalar_filter(i: &str) -> PResult<'_, ScalarFilter> {
    let (rest, name) = identifier(i)?;
    let (rest, _) = expect(rest, "(")?;
    let (rest, aggregate) = if name == "count" {
        (rest, Aggregate::Count)
    } else {
        let at = ws(rest);
        let (rest, e) = commit(field_expr(rest), "an aggregate argument")?;
        check::aggregate_arg(at, name, &e)?;
        let aggregate = match name {
            "avg" => Aggregate::Avg(e),
            "min" => Aggregate::Min(e),
            "max" => Aggregate::Max(e),
            _ => Aggregate::Sum(e),
        };
        (rest, aggregate)
    };
    let (rest, _) = commit(punct(rest, ")", ""), "an operator or ')'")?;
    let (rest, op) = comparison_op(rest)?;
    let value_at = ws(rest);
    let (negative, digits) = match punct(value_at, "-", "") {
        Ok((after, _)) => (true, ws(after)),
        Err(_) => (false, value_at),
    };
    let (rest, value) = commit(number_or_duration(digits), "a number or duration")?;
    let value = match (negative, value) {
        (false, v) => v,
        (true, Static::Int(n)) => Static::Int(-n),
        (true, Static::Float(x)) => Static::Float(-x),
        (true, _) => return failure(value_at, "a duration cannot be negative"),
    };
    if aggregate == Aggregate::Count && matches!(value, Static::Duration(_)) {
        return failure(value_at, "cannot compare count() with a duration");
    }
    Ok((
        rest,
        ScalarFilter {
            aggregate,
            op,
            value,
        },
    ))
}

/// One of `= != < <= > >=` after optional whitespace, committed.
fn comparison_op(i: &str) -> PResult<'_, BinaryOp> {
    let i = ws(i);
    let first = FIELD_OPS.iter().find(|(token, ..)| i.starts_with(token));
    let comparison = first.filter(|e| matches!(e.1, Infix::Binary(op) if op.is_comparison()));
    if let Some(&(token, Infix::Binary(op), _, _)) = comparison {
        return Ok((&i[token.len()..], op));
    }
    expected(i, "a comparison operator (= != < <= > >=)")
}
