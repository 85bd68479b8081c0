//! Node construction with Prometheus's type checks. Each function returns a
//! committed failure positioned at the offending node's start.

use super::expr::BinModifiers;
use super::internal::{PError, failure};
use crate::ast::{
    Aggregate, AggregateOp, AtModifier, Binary, BinaryOp, Call, Cardinality, DurationExpr, Expr,
    Unary, UnaryOp, ValueType, VectorMatching,
};
use crate::functions::Function;

type Check<'a, T> = Result<T, nom::Err<PError<'a>>>;

fn fail<'a, T>(at: &'a str, msg: impl Into<String>) -> Check<'a, T> {
    failure(at, msg).map(|(_, t)| t)
}

fn expect_type<'a>(at: &'a str, e: &Expr, want: ValueType, context: &str) -> Check<'a, ()> {
    let got = e.value_type();
    if got != want {
        return fail(at, format!("expected type {want} in {context}, got {got}"));
    }
    Ok(())
}

/// `lhs op rhs` with its modifiers; checks operand types, `bool`, and
/// vector matching. Matching that equals the default is dropped (`None`).
pub(crate) fn binary<'a>(
    at: &'a str,
    op: BinaryOp,
    lhs: Expr,
    rhs: Expr,
    m: BinModifiers,
) -> Check<'a, Expr> {
    let (lt, rt) = (lhs.value_type(), rhs.value_type());
    if m.return_bool && !op.is_comparison() {
        return fail(at, "bool modifier can only be used on comparison operators");
    }
    if op.is_comparison() && !m.return_bool && lt == ValueType::Scalar && rt == ValueType::Scalar {
        return fail(at, "comparisons between scalars must use BOOL modifier");
    }
    let on = m.on == Some(true);
    if let Some((_, include)) = &m.group
        && on
        && let Some(l) = include.iter().find(|l| m.labels.contains(l))
    {
        return fail(
            at,
            format!("label {l:?} must not occur in ON and GROUP clause at once"),
        );
    }
    for t in [lt, rt] {
        if t != ValueType::Scalar && t != ValueType::Vector {
            return fail(
                at,
                "binary expression must contain only scalar and instant vector types",
            );
        }
    }
    let both_vectors = lt == ValueType::Vector && rt == ValueType::Vector;
    if op.is_set_operator() && !both_vectors {
        return fail(
            at,
            format!(
                "set operator {:?} not allowed in binary scalar expression",
                op.as_str()
            ),
        );
    }
    let mut card = if op.is_set_operator() {
        Cardinality::ManyToMany
    } else {
        Cardinality::OneToOne
    };
    let mut include = Vec::new();
    if let Some((c, inc)) = m.group {
        if op.is_set_operator() {
            return fail(
                at,
                format!("no grouping allowed for {:?} operation", op.as_str()),
            );
        }
        card = c;
        include = inc;
    }
    if !both_vectors && !m.labels.is_empty() {
        return fail(at, "vector matching only allowed between instant vectors");
    }
    let is_default = !on
        && m.labels.is_empty()
        && matches!(card, Cardinality::OneToOne | Cardinality::ManyToMany)
        && m.fill.lhs.is_none()
        && m.fill.rhs.is_none();
    let matching = (both_vectors && !is_default).then_some(VectorMatching {
        card,
        on,
        labels: m.labels,
        include,
        fill: m.fill,
    });
    Ok(Expr::Binary(Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        return_bool: m.return_bool,
        matching,
    }))
}

/// `-e` / `+e`; folds into number literals.
pub(crate) fn unary<'a>(at: &'a str, op: UnaryOp, e: Expr) -> Check<'a, Expr> {
    if let Expr::NumberLiteral(v) = e {
        return Ok(Expr::NumberLiteral(if op == UnaryOp::Neg { -v } else { v }));
    }
    let t = e.value_type();
    if t != ValueType::Scalar && t != ValueType::Vector {
        return fail(
            at,
            format!(
                "unary expression only allowed on expressions of type scalar or instant vector, got {:?}",
                t.as_str()
            ),
        );
    }
    Ok(Expr::Unary(Unary {
        op,
        expr: Box::new(e),
    }))
}

/// A function call: arity and argument types. Which functions take
/// `anchored` / `smoothed` range selectors is checked at evaluation, where
/// Prometheus checks it (its message has no position).
pub(crate) fn call<'a>(
    at: &'a str,
    func: &'static Function,
    args: Vec<(&'a str, Expr)>,
) -> Check<'a, Expr> {
    let n = args.len();
    let name = func.name;
    if !func.is_variadic() && n != func.min_args {
        return fail(
            at,
            format!(
                "expected {} argument(s) in call to {name:?}, got {n}",
                func.min_args
            ),
        );
    }
    if n < func.min_args {
        return fail(
            at,
            format!(
                "expected at least {} argument(s) in call to {name:?}, got {n}",
                func.min_args
            ),
        );
    }
    if let Some(max) = func.max_args
        && n > max
    {
        return fail(
            at,
            format!("expected at most {max} argument(s) in call to {name:?}, got {n}"),
        );
    }
    for (i, (arg_at, arg)) in args.iter().enumerate() {
        if let Some(want) = func.arg_type(i) {
            expect_type(arg_at, arg, want, &format!("call to function {name:?}"))?;
        }
    }
    let args = args.into_iter().map(|(_, e)| e).collect();
    Ok(Expr::Call(Call { func, args }))
}

/// A string literal that escapes made invalid UTF-8 is no label name (its
/// parsed value has U+FFFD in place of the bad bytes, so the evaluator's
/// check could not tell). The message shows the bytes as Go's `%q` does.
fn label_name_is_utf8<'a>(at: &'a str, p: &Expr) -> Check<'a, ()> {
    let lit = super::ws(at);
    if !matches!(p, Expr::StringLiteral(_)) {
        return Ok(());
    }
    let Ok((_, bytes)) = super::literal::string_literal_bytes(lit) else {
        return Ok(());
    };
    if std::str::from_utf8(&bytes).is_ok() {
        return Ok(());
    }
    let mut quoted = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        let valid = crate::ast::quote_string(chunk.valid());
        quoted.push_str(&valid[1..valid.len() - 1]);
        for b in chunk.invalid() {
            quoted.push_str(&format!("\\x{b:02x}"));
        }
    }
    quoted.push('"');
    fail(at, format!("invalid label name {quoted}"))
}

/// An aggregation: parameter count and types.
pub(crate) fn aggregate<'a>(
    at: &'a str,
    op: AggregateOp,
    args: Vec<(&'a str, Expr)>,
    without: bool,
    grouping: Vec<String>,
) -> Check<'a, Expr> {
    let want = if op.param_type().is_some() { 2 } else { 1 };
    if args.is_empty() {
        return fail(at, "no arguments for aggregate expression provided");
    }
    if args.len() != want {
        return fail(
            at,
            format!(
                "wrong number of arguments for aggregate expression provided, expected {want}, got {}",
                args.len()
            ),
        );
    }
    let mut args = args.into_iter();
    let param = match op.param_type() {
        Some(t) => {
            let (p_at, p) = args.next().ok_or_else(|| nom_fail(at))?;
            expect_type(p_at, &p, t, "aggregation parameter")?;
            if op == AggregateOp::CountValues {
                label_name_is_utf8(p_at, &p)?;
            }
            Some(Box::new(p))
        }
        None => None,
    };
    let (e_at, e) = args.next().ok_or_else(|| nom_fail(at))?;
    expect_type(e_at, &e, ValueType::Vector, "aggregation expression")?;
    Ok(Expr::Aggregate(Aggregate {
        op,
        expr: Box::new(e),
        param,
        grouping,
        without,
    }))
}

fn nom_fail(at: &str) -> nom::Err<PError<'_>> {
    nom::Err::Failure(PError {
        input: at,
        msg: None,
    })
}

/// A subquery needs an instant vector inside.
pub(crate) fn subquery_operand<'a>(at: &'a str, e: &Expr) -> Check<'a, ()> {
    let t = e.value_type();
    if t != ValueType::Vector {
        return fail(
            at,
            format!("subquery is only allowed on instant vector, got {t} instead"),
        );
    }
    Ok(())
}

const MODIFIER_TARGETS: &str =
    "must be preceded by an instant vector selector or range vector selector or a subquery";

/// Attaches `offset d` to a selector or subquery (once).
pub(crate) fn with_offset<'a>(at: &'a str, mut e: Expr, d: DurationExpr) -> Check<'a, Expr> {
    let slot = match &mut e {
        Expr::VectorSelector(vs) => &mut vs.offset,
        Expr::MatrixSelector(ms) => &mut ms.selector.offset,
        Expr::Subquery(sq) => &mut sq.offset,
        _ => return fail(at, format!("offset modifier {MODIFIER_TARGETS}")),
    };
    if slot.is_some() {
        return fail(at, "offset may not be set multiple times");
    }
    *slot = Some(d);
    Ok(e)
}

/// Attaches `@ t` to a selector or subquery (once).
pub(crate) fn with_at<'a>(at: &'a str, mut e: Expr, a: AtModifier) -> Check<'a, Expr> {
    let slot = match &mut e {
        Expr::VectorSelector(vs) => &mut vs.at,
        Expr::MatrixSelector(ms) => &mut ms.selector.at,
        Expr::Subquery(sq) => &mut sq.at,
        _ => return fail(at, format!("@ modifier {MODIFIER_TARGETS}")),
    };
    if slot.is_some() {
        return fail(at, "@ <timestamp> may not be set multiple times");
    }
    *slot = Some(a);
    Ok(e)
}
