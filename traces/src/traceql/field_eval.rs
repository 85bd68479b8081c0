//! Evaluating a field expression against one span: attribute and
//! intrinsic lookup, comparisons, arithmetic and boolean logic.
//!
//! A value may be absent (`None`): a missing attribute, or arithmetic that
//! has no answer (overflow, division by zero, mismatched types). Every
//! comparison with an absent or mismatched operand is `false`, except the
//! `nil` tests: `x = nil` is true when `x` is absent, `x != nil` when it is
//! present. `&&`, `||` read an absent operand as `false`; `!` of an absent
//! operand is absent.

use std::cmp::Ordering;

use super::ast::{BinaryOp, FieldExpr, Intrinsic, Scope, Static, UnaryOp};
use super::value::{TraceView, Value};

/// Whether `e` is `true` for `span` (anything but `Some(Bool(true))` is not).
pub(crate) fn is_true(e: &FieldExpr, trace: &dyn TraceView, span: usize) -> bool {
    matches!(eval(e, trace, span), Some(Value::Bool(true)))
}

/// The value of `e` for `span`, `None` when absent.
pub(crate) fn eval<'a>(
    e: &'a FieldExpr,
    trace: &'a dyn TraceView,
    span: usize,
) -> Option<Value<'a>> {
    match e {
        FieldExpr::Static(s) => static_value(s),
        FieldExpr::Attribute(a) => match a.scope {
            Scope::Span => trace.span_attr(span, &a.name),
            Scope::Resource => trace.resource_attr(span, &a.name),
            Scope::Any => trace
                .span_attr(span, &a.name)
                .or_else(|| trace.resource_attr(span, &a.name)),
        },
        FieldExpr::Intrinsic(i) => intrinsic(*i, trace, span),
        FieldExpr::Unary { op, operand } => match (op, eval(operand, trace, span)?) {
            (UnaryOp::Not, Value::Bool(b)) => Some(Value::Bool(!b)),
            (UnaryOp::Neg, Value::Int(n)) => n.checked_neg().map(Value::Int),
            (UnaryOp::Neg, Value::Float(x)) => Some(Value::Float(-x)),
            _ => None,
        },
        FieldExpr::Binary { op, lhs, rhs } => binary(*op, lhs, rhs, trace, span),
        FieldExpr::Regex {
            lhs,
            negated,
            pattern,
        } => {
            let hit = match eval(lhs, trace, span) {
                Some(Value::Str(s)) => pattern.is_match(s) != *negated,
                _ => false,
            };
            Some(Value::Bool(hit))
        }
    }
}

/// The value a literal stands for; `nil` is absent.
pub(crate) fn static_value(s: &Static) -> Option<Value<'_>> {
    Some(match s {
        Static::Str(s) => Value::Str(s),
        Static::Int(n) => Value::Int(*n),
        Static::Float(x) => Value::Float(*x),
        Static::Bool(b) => Value::Bool(*b),
        Static::Duration(ns) => Value::Duration(*ns),
        Static::Status(s) => Value::Status(*s),
        Static::Kind(k) => Value::Kind(*k),
        Static::Nil => return None,
    })
}

fn intrinsic(i: Intrinsic, t: &dyn TraceView, span: usize) -> Option<Value<'_>> {
    Some(match i {
        Intrinsic::Name => Value::Str(t.name(span)),
        Intrinsic::Status => Value::Status(t.status(span)),
        Intrinsic::StatusMessage => Value::Str(t.status_message(span)),
        Intrinsic::Kind => Value::Kind(t.kind(span)),
        Intrinsic::Duration => Value::Duration(t.duration_ns(span)),
        Intrinsic::SpanId => Value::Str(t.span_id(span)?),
        Intrinsic::ParentId => Value::Str(t.parent_id(span)?),
        Intrinsic::RootName => Value::Str(t.root_name()?),
        Intrinsic::RootService => Value::Str(t.root_service_name()?),
        Intrinsic::TraceDuration => Value::Duration(t.trace_duration_ns()),
        Intrinsic::TraceId => Value::Str(t.trace_id()?),
    })
}

fn binary<'a>(
    op: BinaryOp,
    lhs: &'a FieldExpr,
    rhs: &'a FieldExpr,
    trace: &'a dyn TraceView,
    span: usize,
) -> Option<Value<'a>> {
    let truth = |e: &'a FieldExpr| matches!(eval(e, trace, span), Some(Value::Bool(true)));
    match op {
        BinaryOp::And => return Some(Value::Bool(truth(lhs) && truth(rhs))),
        BinaryOp::Or => return Some(Value::Bool(truth(lhs) || truth(rhs))),
        _ => {}
    }
    let is_nil = |e: &FieldExpr| matches!(e, FieldExpr::Static(Static::Nil));
    if op.is_comparison() && (is_nil(lhs) || is_nil(rhs)) {
        let absent = eval(lhs, trace, span).is_none() == eval(rhs, trace, span).is_none();
        return Some(Value::Bool(match op {
            BinaryOp::Eq => absent,
            BinaryOp::Neq => !absent,
            _ => false,
        }));
    }
    let l = eval(lhs, trace, span);
    let r = eval(rhs, trace, span);
    if op.is_comparison() {
        let holds = match (l, r) {
            (Some(l), Some(r)) => compare(op, &l, &r),
            _ => false,
        };
        return Some(Value::Bool(holds));
    }
    arithmetic(op, &l?, &r?)
}

/// `l op r` for a comparison `op`. Strings order lexicographically;
/// integers, floats and durations (as nanoseconds) compare across types;
/// booleans, statuses and kinds only test equality. Mismatched types, and
/// NaN, are neither equal nor unequal: every comparison is `false`.
pub(crate) fn compare(op: BinaryOp, l: &Value<'_>, r: &Value<'_>) -> bool {
    let equality = matches!(op, BinaryOp::Eq | BinaryOp::Neq);
    let same = |eq: bool| Some(if eq { Ordering::Equal } else { Ordering::Less });
    let order = match (l, r) {
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) if equality => same(a == b),
        (Value::Status(a), Value::Status(b)) if equality => same(a == b),
        (Value::Kind(a), Value::Kind(b)) if equality => same(a == b),
        _ => numeric_order(l, r),
    };
    let Some(order) = order else {
        return false;
    };
    match op {
        BinaryOp::Eq => order == Ordering::Equal,
        BinaryOp::Neq => order != Ordering::Equal,
        BinaryOp::Lt => order == Ordering::Less,
        BinaryOp::Lte => order != Ordering::Greater,
        BinaryOp::Gt => order == Ordering::Greater,
        BinaryOp::Gte => order != Ordering::Less,
        _ => false,
    }
}

/// A number as `f64` (durations in nanoseconds).
pub(crate) fn as_f64(v: &Value<'_>) -> Option<f64> {
    match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(x) => Some(*x),
        Value::Duration(ns) => Some(*ns as f64),
        _ => None,
    }
}

/// Orders two numbers (exactly between integers and durations), `None`
/// when either is not a number or they are unordered (NaN).
fn numeric_order(a: &Value<'_>, b: &Value<'_>) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Duration(y)) => {
            Some(u64::try_from(*x).map_or(Ordering::Less, |x| x.cmp(y)))
        }
        (Value::Duration(x), Value::Int(y)) => {
            Some(u64::try_from(*y).map_or(Ordering::Greater, |y| x.cmp(&y)))
        }
        _ => as_f64(a)?.partial_cmp(&as_f64(b)?),
    }
}

/// `l op r` for `+ - * / % ^`: integers stay integers (checked), durations
/// stay durations where that makes sense (`d ± d`, `d % d`, `d * n`,
/// `n * d`, `d / n`), anything else numeric is a float; no answer (`None`)
/// on overflow, division by zero, a negative duration or a non-number.
fn arithmetic<'a>(op: BinaryOp, l: &Value<'_>, r: &Value<'_>) -> Option<Value<'a>> {
    use BinaryOp::{Add, Div, Mod, Mul, Pow, Sub};
    match (op, l, r) {
        (Pow, _, _) => {}
        (_, Value::Int(a), Value::Int(b)) => {
            return match op {
                Add => a.checked_add(*b),
                Sub => a.checked_sub(*b),
                Mul => a.checked_mul(*b),
                Div => a.checked_div(*b),
                Mod => a.checked_rem(*b),
                _ => None,
            }
            .map(Value::Int);
        }
        (Add | Sub | Mod, Value::Duration(a), Value::Duration(b)) => {
            return match op {
                Add => a.checked_add(*b),
                Sub => a.checked_sub(*b),
                _ => a.checked_rem(*b),
            }
            .map(Value::Duration);
        }
        (Mul, Value::Duration(d), Value::Int(n)) | (Mul, Value::Int(n), Value::Duration(d)) => {
            return u64::try_from(*n)
                .ok()
                .and_then(|n| d.checked_mul(n))
                .map(Value::Duration);
        }
        (Div, Value::Duration(d), Value::Int(n)) => {
            return u64::try_from(*n)
                .ok()
                .and_then(|n| d.checked_div(n))
                .map(Value::Duration);
        }
        _ => {}
    }
    let (a, b) = (as_f64(l)?, as_f64(r)?);
    let x = match op {
        Add => a + b,
        Sub => a - b,
        Mul => a * b,
        Div if b != 0.0 => a / b,
        Mod if b != 0.0 => a % b,
        Pow => a.powf(b),
        _ => return None,
    };
    x.is_finite().then_some(Value::Float(x))
}
