//! The canonical form of a query (`Display`): single spaces around binary
//! operators, intrinsics in their colon spelling, strings double-quoted,
//! durations in their largest exact unit, and only the parentheses the
//! operator table needs. Printing then parsing gives back an equal tree.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{
    Aggregate, Assoc, Attribute, FieldExpr, Infix, POW_PREC, Query, ScalarFilter, Scope,
    SpansetExpr, Stage, Static, UnaryOp, is_attr_char,
};

/// Binding strength of prefix operators and atoms, above every infix one.
const UNARY_PREC: u8 = POW_PREC + 1;
const ATOM_PREC: u8 = POW_PREC + 2;

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_spanset(f, &self.root, None)
    }
}

impl Display for SpansetExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_spanset(f, self, None)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// Whether `a` and `b` are `&&` and `||` in some order: they share a
/// precedence level (Tempo's), so mixing them gets parentheses for the
/// reader even where the grammar does not need them.
fn mixes_and_or(a: &str, b: &str) -> bool {
    matches!((a, b), ("&&", "||") | ("||", "&&"))
}

/// Writes `e` as an operand of a parent operator (token, precedence, side),
/// or at the top of a query (`None`). Pipelines are parenthesized anywhere
/// but the top; `|` binds loosest, at precedence 0.
fn write_spanset(
    f: &mut Formatter<'_>,
    e: &SpansetExpr,
    parent: Option<(&str, u8, Side)>,
) -> fmt::Result {
    let parens = match (e, parent) {
        (_, None) | (SpansetExpr::Filter(_), _) => false,
        (SpansetExpr::Pipeline { .. }, Some(_)) => true,
        (SpansetExpr::Op { op, .. }, Some((parent, p, side))) => {
            let (token, q) = op.entry();
            q < p || (q == p && side == Side::Right) || mixes_and_or(token, parent)
        }
    };
    if parens {
        f.write_char('(')?;
    }
    match e {
        SpansetExpr::Filter(FieldExpr::Static(Static::Bool(true))) => f.write_str("{}")?,
        SpansetExpr::Filter(expr) => write!(f, "{{ {expr} }}")?,
        SpansetExpr::Op { op, lhs, rhs } => {
            let (token, p) = op.entry();
            write_spanset(f, lhs, Some((token, p, Side::Left)))?;
            write!(f, " {token} ")?;
            write_spanset(f, rhs, Some((token, p, Side::Right)))?;
        }
        SpansetExpr::Pipeline { input, stages } => {
            write_spanset(f, input, Some(("|", 0, Side::Left)))?;
            for stage in stages {
                f.write_str(" | ")?;
                match stage {
                    Stage::Spanset(s) => write_spanset(f, s, Some(("|", 0, Side::Right)))?,
                    Stage::Scalar(s) => write!(f, "{s}")?,
                }
            }
        }
    }
    if parens {
        f.write_char(')')?;
    }
    Ok(())
}

impl Display for ScalarFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.aggregate, self.op.token(), self.value)
    }
}

impl Display for Aggregate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (name, arg) = match self {
            Aggregate::Count => return f.write_str("count()"),
            Aggregate::Avg(e) => ("avg", e),
            Aggregate::Min(e) => ("min", e),
            Aggregate::Max(e) => ("max", e),
            Aggregate::Sum(e) => ("sum", e),
        };
        write!(f, "{name}({arg})")
    }
}

/// How tightly `e` binds when printed bare.
fn field_prec(e: &FieldExpr) -> u8 {
    match e {
        FieldExpr::Binary { op, .. } => Infix::Binary(*op).entry().1,
        FieldExpr::Regex { negated, .. } => Infix::Regex { negated: *negated }.entry().1,
        FieldExpr::Unary { .. } => UNARY_PREC,
        FieldExpr::Static(_) | FieldExpr::Attribute(_) | FieldExpr::Intrinsic(_) => ATOM_PREC,
    }
}

/// Writes `e` as the operand on `side` of the infix operator `parent`.
fn write_operand(f: &mut Formatter<'_>, e: &FieldExpr, parent: Infix, side: Side) -> fmt::Result {
    let (parent, p, assoc) = parent.entry();
    let q = field_prec(e);
    let mixed = match e {
        FieldExpr::Binary { op, .. } => mixes_and_or(op.token(), parent),
        _ => false,
    };
    let parens = q < p
        || mixed
        || (q == p && side == Side::Left && assoc == Assoc::Right)
        || (q == p && side == Side::Right && assoc == Assoc::Left)
        // A prefix operator's operand runs through `^`: `(-a) ^ b`.
        || (q == UNARY_PREC && side == Side::Left && p >= POW_PREC);
    if parens {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl Display for FieldExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FieldExpr::Static(s) => write!(f, "{s}"),
            FieldExpr::Attribute(a) => write!(f, "{a}"),
            FieldExpr::Intrinsic(i) => f.write_str(i.canonical()),
            FieldExpr::Unary { op, operand } => {
                f.write_char(match op {
                    UnaryOp::Not => '!',
                    UnaryOp::Neg => '-',
                })?;
                if field_prec(operand) < POW_PREC {
                    write!(f, "({operand})")
                } else {
                    write!(f, "{operand}")
                }
            }
            FieldExpr::Binary { op, lhs, rhs } => {
                let infix = Infix::Binary(*op);
                write_operand(f, lhs, infix, Side::Left)?;
                write!(f, " {} ", op.token())?;
                write_operand(f, rhs, infix, Side::Right)
            }
            FieldExpr::Regex {
                lhs,
                negated,
                pattern,
            } => {
                let infix = Infix::Regex { negated: *negated };
                write_operand(f, lhs, infix, Side::Left)?;
                write!(f, " {} ", infix.entry().0)?;
                write_quoted(f, pattern.source())
            }
        }
    }
}

impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.scope {
            Scope::Span => "span.",
            Scope::Resource => "resource.",
            Scope::Any => ".",
        })?;
        if !self.name.is_empty() && self.name.chars().all(is_attr_char) {
            f.write_str(&self.name)
        } else {
            write_quoted(f, &self.name)
        }
    }
}

impl Display for Static {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Static::Str(s) => write_quoted(f, s),
            Static::Int(i) => write!(f, "{i}"),
            Static::Float(x) if x.is_finite() && x.fract() == 0.0 => write!(f, "{x:.1}"),
            Static::Float(x) => write!(f, "{x}"),
            Static::Bool(b) => write!(f, "{b}"),
            Static::Duration(ns) => write_duration(f, *ns),
            Static::Status(s) => write!(f, "{s}"),
            Static::Kind(k) => write!(f, "{k}"),
            Static::Nil => f.write_str("nil"),
        }
    }
}

/// Units from largest to smallest, in nanoseconds.
pub(crate) const DURATION_UNITS: [(&str, u64); 6] = [
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// `ns` as a count of the largest unit dividing it exactly (`0s` for 0).
fn write_duration(f: &mut Formatter<'_>, ns: u64) -> fmt::Result {
    if ns == 0 {
        return f.write_str("0s");
    }
    let (unit, size) = DURATION_UNITS
        .iter()
        .find(|(_, size)| ns.is_multiple_of(*size))
        .map_or(("ns", 1), |&(u, s)| (u, s));
    write!(f, "{}{unit}", ns / size)
}

/// `s` in double quotes, escaping `\`, `"`, newline, tab and carriage return.
fn write_quoted(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statics_print_in_canonical_form() {
        let cases = [
            (
                "string_escapes",
                Static::Str("a\"b\\c\nd\te".into()),
                r#""a\"b\\c\nd\te""#,
            ),
            ("int", Static::Int(-42), "-42"),
            ("integral_float_keeps_point", Static::Float(3.0), "3.0"),
            ("float", Static::Float(1.25), "1.25"),
            ("zero_duration", Static::Duration(0), "0s"),
            ("hours", Static::Duration(7_200_000_000_000), "2h"),
            (
                "minutes_not_hours",
                Static::Duration(5_400_000_000_000),
                "90m",
            ),
            (
                "fractional_seconds",
                Static::Duration(1_500_000_000),
                "1500ms",
            ),
            ("micros", Static::Duration(100_000), "100us"),
            ("nanos", Static::Duration(7), "7ns"),
            ("nil", Static::Nil, "nil"),
        ];
        for (name, s, want) in cases {
            assert_eq!(s.to_string(), want, "{name}");
        }
    }

    #[test]
    fn attribute_names_are_quoted_only_when_needed() {
        let cases = [
            (
                "dotted",
                Scope::Span,
                "http.status_code",
                "span.http.status_code",
            ),
            (
                "dash",
                Scope::Resource,
                "k8s.pod-name",
                "resource.k8s.pod-name",
            ),
            ("space", Scope::Span, "a b", "span.\"a b\""),
            ("unscoped", Scope::Any, "x", ".x"),
            ("empty", Scope::Any, "", ".\"\""),
            ("operator_char", Scope::Span, "a=b", "span.\"a=b\""),
        ];
        for (name, scope, key, want) in cases {
            let a = Attribute {
                scope,
                name: key.into(),
            };
            assert_eq!(a.to_string(), want, "{name}");
        }
    }
}
