//! Static type checks run while the parser builds nodes: operands whose
//! types are known from the query text (literals, intrinsics) must fit
//! their operator. Attributes have no static type and fit anything; their
//! mismatches are simply `false` at evaluation.

use std::fmt;

use super::ast::{BinaryOp, FieldExpr, Intrinsic, Pattern, Static, UnaryOp};
use super::internal::{PResult, failure};

/// The type of a field expression as far as the query text tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Bool,
    Int,
    Float,
    Duration,
    Str,
    Status,
    Kind,
    Nil,
    /// An attribute, or arithmetic on one: known only per span.
    Unknown,
}

impl Ty {
    fn is_bool(self) -> bool {
        self == Ty::Bool
    }

    fn is_str(self) -> bool {
        self == Ty::Str
    }

    fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Duration)
    }

    /// Whether a value of this type may be where `want` applies.
    fn fits(self, want: fn(Ty) -> bool) -> bool {
        self == Ty::Unknown || want(self)
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ty::Bool => "a boolean",
            Ty::Int => "an integer",
            Ty::Float => "a float",
            Ty::Duration => "a duration",
            Ty::Str => "a string",
            Ty::Status => "a status",
            Ty::Kind => "a kind",
            Ty::Nil => "nil",
            Ty::Unknown => "an attribute",
        })
    }
}

/// The static type of `e`.
pub(crate) fn ty(e: &FieldExpr) -> Ty {
    match e {
        FieldExpr::Static(s) => match s {
            Static::Str(_) => Ty::Str,
            Static::Int(_) => Ty::Int,
            Static::Float(_) => Ty::Float,
            Static::Bool(_) => Ty::Bool,
            Static::Duration(_) => Ty::Duration,
            Static::Status(_) => Ty::Status,
            Static::Kind(_) => Ty::Kind,
            Static::Nil => Ty::Nil,
        },
        FieldExpr::Attribute(_) => Ty::Unknown,
        FieldExpr::Intrinsic(i) => match i {
            Intrinsic::Status => Ty::Status,
            Intrinsic::Kind => Ty::Kind,
            Intrinsic::Duration | Intrinsic::TraceDuration => Ty::Duration,
            Intrinsic::Name
            | Intrinsic::StatusMessage
            | Intrinsic::SpanId
            | Intrinsic::ParentId
            | Intrinsic::RootName
            | Intrinsic::RootService
            | Intrinsic::TraceId => Ty::Str,
        },
        FieldExpr::Unary {
            op: UnaryOp::Not, ..
        }
        | FieldExpr::Regex { .. } => Ty::Bool,
        FieldExpr::Unary {
            op: UnaryOp::Neg,
            operand,
        } => ty(operand),
        FieldExpr::Binary { op, lhs, rhs } if op.is_arithmetic() => match (ty(lhs), ty(rhs)) {
            (Ty::Unknown, _) | (_, Ty::Unknown) => Ty::Unknown,
            (Ty::Int, Ty::Int) if *op != BinaryOp::Pow => Ty::Int,
            (Ty::Duration, _) | (_, Ty::Duration) => Ty::Duration,
            _ => Ty::Float,
        },
        FieldExpr::Binary { .. } => Ty::Bool,
    }
}

/// Builds `op operand`, checking the operand's type; `at` is where the
/// operator starts.
pub(crate) fn unary(at: &str, op: UnaryOp, operand: FieldExpr) -> PResult<'_, FieldExpr> {
    let t = ty(&operand);
    let (ok, what) = match op {
        UnaryOp::Not => (t.fits(Ty::is_bool), "`!` needs a boolean"),
        UnaryOp::Neg => (t.fits(Ty::is_numeric), "`-` needs a number or duration"),
    };
    if !ok {
        return failure(at, format!("{what}, found {t}"));
    }
    let operand = Box::new(operand);
    Ok((at, FieldExpr::Unary { op, operand }))
}

/// Builds `lhs op rhs`, checking operand types; `at` and `rhs_at` are
/// where the operands start (errors point there).
pub(crate) fn binary<'a>(
    at: &'a str,
    rhs_at: &'a str,
    op: BinaryOp,
    lhs: FieldExpr,
    rhs: FieldExpr,
) -> PResult<'a, FieldExpr> {
    let (l, r) = (ty(&lhs), ty(&rhs));
    let token = op.token();
    /// What both operands must be, and how to say it.
    type OperandCheck = Option<(fn(Ty) -> bool, &'static str)>;
    let operand_check: OperandCheck = match op {
        BinaryOp::And | BinaryOp::Or => Some((Ty::is_bool, "boolean operands")),
        _ if op.is_arithmetic() => Some((Ty::is_numeric, "numbers or durations")),
        _ => None,
    };
    if let Some((want, what)) = operand_check {
        for (t, pos) in [(l, at), (r, rhs_at)] {
            if !t.fits(want) {
                return failure(pos, format!("`{token}` needs {what}, found {t}"));
            }
        }
    } else {
        comparison(at, op, l, r)?;
    }
    let (lhs, rhs) = (Box::new(lhs), Box::new(rhs));
    Ok((at, FieldExpr::Binary { op, lhs, rhs }))
}

/// Checks that `l op r` can ever be true or false on the same footing:
/// `nil` only with `=`/`!=`; booleans, statuses and kinds only with
/// `=`/`!=`; known types equal or both numeric.
fn comparison(at: &str, op: BinaryOp, l: Ty, r: Ty) -> PResult<'_, ()> {
    let token = op.token();
    let equality = matches!(op, BinaryOp::Eq | BinaryOp::Neq);
    if l == Ty::Nil || r == Ty::Nil {
        if !equality {
            return failure(
                at,
                format!("nil can only be compared with `=` or `!=`, not `{token}`"),
            );
        }
        return Ok((at, ()));
    }
    for t in [l, r] {
        if !equality && matches!(t, Ty::Bool | Ty::Status | Ty::Kind) {
            return failure(at, format!("`{token}` cannot order {t}"));
        }
    }
    let compatible =
        l == Ty::Unknown || r == Ty::Unknown || l == r || (l.is_numeric() && r.is_numeric());
    if !compatible {
        return failure(at, format!("cannot compare {l} with {r}"));
    }
    Ok((at, ()))
}

/// Builds `lhs =~ rhs` (or `!~`): `rhs` must be a string literal holding a
/// valid regex, `lhs` a string.
pub(crate) fn regex<'a>(
    at: &'a str,
    rhs_at: &'a str,
    negated: bool,
    lhs: FieldExpr,
    rhs: FieldExpr,
) -> PResult<'a, FieldExpr> {
    let token = if negated { "!~" } else { "=~" };
    let l = ty(&lhs);
    if !l.fits(Ty::is_str) {
        return failure(
            at,
            format!("`{token}` needs a string on the left, found {l}"),
        );
    }
    let FieldExpr::Static(Static::Str(source)) = rhs else {
        return failure(rhs_at, format!("`{token}` needs a string literal pattern"));
    };
    let pattern = match Pattern::new(&source) {
        Ok(p) => p,
        Err(e) => return failure(rhs_at, format!("invalid regex: {}", regex_message(&e))),
    };
    let lhs = Box::new(lhs);
    Ok((
        at,
        FieldExpr::Regex {
            lhs,
            negated,
            pattern,
        },
    ))
}

/// The one-line cause of a regex error (its `Display` spans lines).
fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(text.lines().last().unwrap_or(""))
        .to_owned()
}

/// Checks that a spanset filter's expression is a boolean (or an
/// attribute, read as one).
pub(crate) fn filter<'a>(at: &'a str, e: &FieldExpr) -> PResult<'a, ()> {
    let t = ty(e);
    if !t.fits(Ty::is_bool) {
        return failure(
            at,
            format!("a spanset filter needs a boolean expression, found {t}"),
        );
    }
    Ok((at, ()))
}

/// Checks an aggregate's argument (`avg(x)`): a number or duration.
pub(crate) fn aggregate_arg<'a>(at: &'a str, name: &str, e: &FieldExpr) -> PResult<'a, ()> {
    let t = ty(e);
    if !t.fits(Ty::is_numeric) {
        return failure(
            at,
            format!("`{name}` needs a number or duration, found {t}"),
        );
    }
    Ok((at, ()))
}
