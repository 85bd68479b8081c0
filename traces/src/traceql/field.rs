//! Field expression rules (inside `{ }` and aggregate arguments):
//! precedence climbing over [`FIELD_OPS`], prefix `!`/`-`, and primaries
//! (literals, attributes, intrinsics, parentheses).

use super::ast::{
    Assoc, Attribute, FIELD_OPS, FieldExpr, Infix, Intrinsic, POW_PREC, Scope, Static, UnaryOp,
};
use super::check;
use super::internal::{PResult, backtrack, commit, enter, failure, identifier, punct, ws};
use super::literal::{attribute_name, number_or_duration, string_literal};
use super::value::{Kind, Status};

/// What a missing operand is reported as.
const OPERAND: &str = "a value, attribute or intrinsic";

/// field_expr := binary(lowest precedence)
pub(crate) fn field_expr(i: &str) -> PResult<'_, FieldExpr> {
    binary(i, 1)
}

/// An infix token of [`FIELD_OPS`] after optional whitespace.
fn infix_op(i: &str) -> PResult<'_, (Infix, u8, Assoc)> {
    let i = ws(i);
    for (token, op, prec, assoc) in FIELD_OPS {
        if let Some(rest) = i.strip_prefix(token) {
            return Ok((rest, (op, prec, assoc)));
        }
    }
    backtrack(i)
}

/// binary(p) := unary (infix_op binary(p'))* for operators of precedence
/// at least p; p' is one more than the operator's precedence for
/// left-associative operators and equal for `^`.
fn binary(i: &str, min_prec: u8) -> PResult<'_, FieldExpr> {
    let start = ws(i);
    let _depth = enter(start)?;
    let (mut i, mut lhs) = unary(start)?;
    // Each operator in the chain deepens the tree by one: count it too.
    let mut chain = Vec::new();
    while let Ok((after_op, (op, prec, assoc))) = infix_op(i) {
        if prec < min_prec {
            break;
        }
        chain.push(enter(ws(i))?);
        let next = if assoc == Assoc::Right {
            prec
        } else {
            prec + 1
        };
        let rhs_at = ws(after_op);
        let (rest, rhs) = commit(binary(after_op, next), OPERAND)?;
        lhs = match op {
            Infix::Binary(op) => check::binary(start, rhs_at, op, lhs, rhs)?.1,
            Infix::Regex { negated } => check::regex(start, rhs_at, negated, lhs, rhs)?.1,
        };
        i = rest;
    }
    Ok((i, lhs))
}

/// unary := (`!` | `-`) binary(`^`) | primary
fn unary(i: &str) -> PResult<'_, FieldExpr> {
    let start = ws(i);
    let op = if punct(start, "!", "=~").is_ok() {
        UnaryOp::Not
    } else if punct(start, "-", "").is_ok() {
        UnaryOp::Neg
    } else {
        return primary(start);
    };
    let (rest, operand) = commit(binary(&start[1..], POW_PREC), OPERAND)?;
    let (_, e) = check::unary(start, op, operand)?;
    Ok((rest, e))
}

/// primary := `(` field_expr `)` | string | number | duration | attribute
///          | intrinsic | keyword literal
fn primary(i: &str) -> PResult<'_, FieldExpr> {
    if let Some(rest) = i.strip_prefix('(') {
        let (rest, e) = commit(field_expr(rest), OPERAND)?;
        let (rest, _) = commit(punct(rest, ")", ""), "an operator or ')'")?;
        return Ok((rest, e));
    }
    if i.starts_with(['"', '`']) {
        let (rest, s) = string_literal(i)?;
        return Ok((rest, FieldExpr::Static(Static::Str(s))));
    }
    if i.starts_with(|c: char| c.is_ascii_digit()) {
        let (rest, v) = number_or_duration(i)?;
        return Ok((rest, FieldExpr::Static(v)));
    }
    if let Some(rest) = i.strip_prefix('.') {
        return attribute(rest, Scope::Any);
    }
    let (rest, word) = identifier(i)?;
    if let Some(after_dot) = rest.strip_prefix('.') {
        return match word {
            "span" => attribute(after_dot, Scope::Span),
            "resource" => attribute(after_dot, Scope::Resource),
            _ => failure(
                i,
                format!("unsupported attribute scope `{word}` (use span., resource. or .)"),
            ),
        };
    }
    if let Some(after_colon) = rest.strip_prefix(':') {
        let (rest, field) = identifier(after_colon).unwrap_or((after_colon, ""));
        let spelled = &i[..i.len() - rest.len()];
        return match Intrinsic::lookup(spelled) {
            Some(intrinsic) => Ok((rest, FieldExpr::Intrinsic(intrinsic))),
            None if field.is_empty() => failure(after_colon, "expected an intrinsic name"),
            None => failure(i, format!("unknown intrinsic `{spelled}`")),
        };
    }
    if let Some(s) = keyword(word) {
        return Ok((rest, FieldExpr::Static(s)));
    }
    match Intrinsic::lookup(word) {
        Some(intrinsic) => Ok((rest, FieldExpr::Intrinsic(intrinsic))),
        None => failure(
            i,
            format!(
                "unknown intrinsic `{word}` (attributes need a scope: \
                 span.{word}, resource.{word} or .{word})"
            ),
        ),
    }
}

/// The literal a keyword stands for: `true false nil`, statuses, kinds.
fn keyword(word: &str) -> Option<Static> {
    match word {
        "true" => Some(Static::Bool(true)),
        "false" => Some(Static::Bool(false)),
        "nil" => Some(Static::Nil),
        _ => Status::ALL
            .iter()
            .find(|(_, s)| *s == word)
            .map(|&(st, _)| Static::Status(st))
            .or_else(|| {
                Kind::ALL
                    .iter()
                    .find(|(_, s)| *s == word)
                    .map(|&(k, _)| Static::Kind(k))
            }),
    }
}

/// The attribute whose name starts at `name` (after `span.`, `resource.`
/// or `.`).
fn attribute(name: &str, scope: Scope) -> PResult<'_, FieldExpr> {
    let (rest, name) = commit(attribute_name(name), "an attribute name")?;
    Ok((rest, FieldExpr::Attribute(Attribute { scope, name })))
}
