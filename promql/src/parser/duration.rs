//! Duration expressions in ranges, subquery steps, offsets, and `@`.

use super::internal::{PResult, enter, expect, failure, keyword, punct, unexpected, ws};
use super::literal::{NumOrDur, number_or_duration};
use super::precedence::{Assoc, duration_op};
use crate::ast::{AtModifier, DurationExpr};

/// duration_expr := duration_unary (duration_op duration_unary)*, with the
/// binary-operator precedence table.
pub(crate) fn duration_expr(i: &str) -> PResult<'_, DurationExpr> {
    duration_binary(i, 0)
}

fn duration_binary(i: &str, min_prec: u8) -> PResult<'_, DurationExpr> {
    let _depth = enter(i)?;
    let (mut i, mut lhs) = duration_unary(i)?;
    while let Ok((after, (op, prec, assoc))) = duration_op(i) {
        if prec < min_prec {
            break;
        }
        let next = if assoc == Assoc::Right {
            prec
        } else {
            prec + 1
        };
        let (rest, rhs) =
            cut_or_unexpected(duration_binary(after, next), " in duration expression")?;
        lhs = DurationExpr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        };
        i = rest;
    }
    Ok((i, lhs))
}

/// Turns a backtrack into a committed "unexpected …" failure.
fn cut_or_unexpected<'a, T>(r: PResult<'a, T>, context: &str) -> PResult<'a, T> {
    match r {
        Err(nom::Err::Error(e)) => unexpected(e.input, context),
        r => r,
    }
}

/// duration_unary := (`+`|`-`) duration_binary(^) | duration_atom.
/// A sign on a literal folds into it.
fn duration_unary(i: &str) -> PResult<'_, DurationExpr> {
    let start = ws(i);
    let neg = match start.chars().next() {
        Some('-') => true,
        Some('+') => false,
        _ => return duration_atom(start),
    };
    let (rest, operand) = cut_or_unexpected(
        duration_binary(&start[1..], super::precedence::POW_PREC),
        " in duration expression",
    )?;
    Ok((rest, fold_sign(neg, operand)))
}

fn fold_sign(neg: bool, e: DurationExpr) -> DurationExpr {
    match (neg, e) {
        (true, DurationExpr::Duration(ms)) => DurationExpr::Duration(-ms),
        (true, DurationExpr::Number(n)) => DurationExpr::Number(-n),
        (false, e @ (DurationExpr::Duration(_) | DurationExpr::Number(_))) => e,
        (neg, e) => DurationExpr::Unary {
            neg,
            expr: Box::new(e),
        },
    }
}

/// duration_atom := number | duration | `step()` | `range()`
///                 | (`min_of`|`max_of`) `(` duration_expr `,` duration_expr `)`
///                 | `(` duration_expr `)`
fn duration_atom(i: &str) -> PResult<'_, DurationExpr> {
    let i = ws(i);
    if let Ok((rest, _)) = punct("(")(i) {
        let (rest, inner) = cut_or_unexpected(duration_expr(rest), " in duration expression")?;
        let (rest, _) = expect(")", " in duration expression, expected \")\"")(rest)?;
        return Ok((rest, DurationExpr::Paren(Box::new(inner))));
    }
    for (kw, e) in [("step", DurationExpr::Step), ("range", DurationExpr::Range)] {
        if let Ok((rest, _)) = keyword(kw)(i) {
            let (rest, _) = expect("(", "")(rest)?;
            let (rest, _) = expect(")", "")(rest)?;
            return Ok((rest, e));
        }
    }
    for (kw, is_min) in [("min_of", true), ("max_of", false)] {
        if let Ok((rest, _)) = keyword(kw)(i) {
            let (rest, _) = expect("(", "")(rest)?;
            let (rest, a) = cut_or_unexpected(duration_expr(rest), " in duration expression")?;
            let (rest, _) = expect(",", " in duration expression, expected \",\"")(rest)?;
            let (rest, b) = cut_or_unexpected(duration_expr(rest), " in duration expression")?;
            let (rest, _) = expect(")", " in duration expression, expected \")\"")(rest)?;
            let (a, b) = (Box::new(a), Box::new(b));
            return Ok((
                rest,
                if is_min {
                    DurationExpr::MinOf(a, b)
                } else {
                    DurationExpr::MaxOf(a, b)
                },
            ));
        }
    }
    match number_or_duration(i)? {
        (rest, NumOrDur::Duration(ms)) => Ok((rest, DurationExpr::Duration(ms))),
        (rest, NumOrDur::Number(n)) => Ok((rest, DurationExpr::Number(n))),
    }
}

/// A lone number where a duration is expected means seconds.
fn normalise(at: &str, e: DurationExpr) -> PResult<'_, DurationExpr> {
    match e {
        DurationExpr::Number(n) => {
            let ms = (n * 1000.0).round();
            if !ms.is_finite() || ms.abs() >= i64::MAX as f64 {
                return failure(at, "duration out of range");
            }
            Ok((at, DurationExpr::Duration(ms as i64)))
        }
        e => Ok((at, e)),
    }
}

/// range_duration := duration_expr, as written inside `[…]`.
pub(crate) fn range_duration(i: &str) -> PResult<'_, DurationExpr> {
    let start = ws(i);
    let (rest, e) = duration_expr(start)?;
    let (_, e) = normalise(start, e)?;
    Ok((rest, e))
}

/// offset_duration := [`+`|`-`] duration_atom. Binary operators after it
/// belong to the enclosing expression: `x offset 1m + 1` is `(x offset 1m) + 1`.
pub(crate) fn offset_duration(i: &str) -> PResult<'_, DurationExpr> {
    let start = ws(i);
    let (rest, e) = match start.chars().next() {
        Some(c @ ('-' | '+')) => {
            let (rest, atom) = cut_or_unexpected(
                duration_atom(&start[1..]),
                " in offset, expected number, duration, or step()",
            )?;
            (rest, fold_sign(c == '-', atom))
        }
        _ => cut_or_unexpected(
            duration_atom(start),
            " in offset, expected number, duration, or step()",
        )?,
    };
    let (_, e) = normalise(start, e)?;
    Ok((rest, e))
}

/// at_modifier := `@` (`start()` | `end()` | [`+`|`-`] (number | duration)).
pub(crate) fn at_modifier(i: &str) -> PResult<'_, AtModifier> {
    let (i, _) = punct("@")(i)?;
    let start = ws(i);
    for (kw, at) in [("start", AtModifier::Start), ("end", AtModifier::End)] {
        if let Ok((rest, _)) = keyword(kw)(start) {
            let (rest, _) = expect("(", "")(rest)?;
            let (rest, _) = expect(")", "")(rest)?;
            return Ok((rest, at));
        }
    }
    let (sign, unsigned) = match start.chars().next() {
        Some('-') => (-1.0, ws(&start[1..])),
        Some('+') => (1.0, ws(&start[1..])),
        _ => (1.0, start),
    };
    let (rest, v) = match number_or_duration(unsigned) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => return unexpected(unsigned, " in @, expected timestamp"),
        Err(e) => return Err(e),
    };
    let ms = (sign * v.seconds() * 1000.0).round();
    if !ms.is_finite() || ms.abs() > i64::MAX as f64 / 2.0 {
        return failure(
            start,
            format!(
                "timestamp out of bounds for @ modifier: {}",
                crate::ast::format_float(sign * v.seconds())
            ),
        );
    }
    Ok((rest, AtModifier::Timestamp(ms as i64)))
}
