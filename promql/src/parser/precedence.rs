//! The one operator table: token, operator, precedence, associativity.
//! Binary expressions and duration expressions both climb it.

use super::internal::{PResult, backtrack, is_ident_char, ws};
use crate::ast::{BinaryOp, DurationOp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assoc {
    Left,
    Right,
}

/// Precedence of `^`; also the binding power of unary `-`/`+`, whose
/// operand may contain `^` but nothing looser (`-2^2` is `-(2^2)`).
pub(crate) const POW_PREC: u8 = 6;

/// Lowest to highest: `or` < `and unless` < comparisons < `+ -`
/// < `* / % atan2` < `^` (right-associative). Longer tokens come before
/// their prefixes (`<=` before `<`).
/// The native-histogram trim operators `</` and `>/` bind like `*`.
pub(crate) const BINARY_OPS: [(&str, BinaryOp, u8, Assoc); 18] = [
    ("or", BinaryOp::Or, 1, Assoc::Left),
    ("and", BinaryOp::And, 2, Assoc::Left),
    ("unless", BinaryOp::Unless, 2, Assoc::Left),
    ("==", BinaryOp::Eql, 3, Assoc::Left),
    ("!=", BinaryOp::Neq, 3, Assoc::Left),
    ("</", BinaryOp::TrimUpper, 5, Assoc::Left),
    (">/", BinaryOp::TrimLower, 5, Assoc::Left),
    ("<=", BinaryOp::Lte, 3, Assoc::Left),
    (">=", BinaryOp::Gte, 3, Assoc::Left),
    ("<", BinaryOp::Lss, 3, Assoc::Left),
    (">", BinaryOp::Gtr, 3, Assoc::Left),
    ("+", BinaryOp::Add, 4, Assoc::Left),
    ("-", BinaryOp::Sub, 4, Assoc::Left),
    ("*", BinaryOp::Mul, 5, Assoc::Left),
    ("/", BinaryOp::Div, 5, Assoc::Left),
    ("%", BinaryOp::Mod, 5, Assoc::Left),
    ("atan2", BinaryOp::Atan2, 5, Assoc::Left),
    ("^", BinaryOp::Pow, POW_PREC, Assoc::Right),
];

/// The precedence and associativity of `op`.
#[cfg(test)]
pub(crate) fn precedence(op: BinaryOp) -> (u8, Assoc) {
    BINARY_OPS
        .iter()
        .find(|(_, o, _, _)| *o == op)
        .map_or((0, Assoc::Left), |(_, _, p, a)| (*p, *a))
}

/// binary_op := one of the table's tokens (words case-insensitive and not
/// followed by an identifier character), after optional whitespace.
pub(crate) fn binary_op(i: &str) -> PResult<'_, (BinaryOp, u8, Assoc)> {
    let i = ws(i);
    for (tok, op, prec, assoc) in BINARY_OPS {
        let Some(head) = i.get(..tok.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(tok) {
            continue;
        }
        let rest = &i[tok.len()..];
        if tok.starts_with(|c: char| c.is_ascii_alphabetic()) && rest.starts_with(is_ident_char) {
            continue;
        }
        return Ok((rest, (op, prec, assoc)));
    }
    backtrack(i)
}

/// The arithmetic subset of the table allowed in duration expressions.
pub(crate) fn duration_op(i: &str) -> PResult<'_, (DurationOp, u8, Assoc)> {
    let (rest, (op, prec, assoc)) = binary_op(i)?;
    let op = match op {
        BinaryOp::Add => DurationOp::Add,
        BinaryOp::Sub => DurationOp::Sub,
        BinaryOp::Mul => DurationOp::Mul,
        BinaryOp::Div => DurationOp::Div,
        BinaryOp::Mod => DurationOp::Mod,
        BinaryOp::Pow => DurationOp::Pow,
        _ => return backtrack(ws(i)),
    };
    Ok((rest, (op, prec, assoc)))
}
