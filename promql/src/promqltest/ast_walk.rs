//! What the runner needs to know about an expression's tree for the
//! reference runner's extra checks: whether it uses the query's range,
//! and its `@`-pinned rewrite.

use crate::ast::{AtModifier, DurationExpr, Expr, VectorSelector};
use crate::functions::FuncId;

/// Functions whose value depends on the evaluation time even when their
/// arguments do not, so pinning selectors with `@` changes the result
/// (Prometheus's `AtModifierUnsafeFunctions`).
const AT_UNSAFE_FUNCTIONS: &[FuncId] = &[
    FuncId::DayOfMonth,
    FuncId::DayOfWeek,
    FuncId::DayOfYear,
    FuncId::DaysInMonth,
    FuncId::Hour,
    FuncId::Minute,
    FuncId::Month,
    FuncId::PredictLinear,
    FuncId::Time,
    FuncId::Timestamp,
    FuncId::Year,
];

/// Calls `f(node, inside_subquery)` on every node, parents first.
fn walk<'a>(e: &'a Expr, in_subquery: bool, f: &mut dyn FnMut(&'a Expr, bool)) {
    f(e, in_subquery);
    match e {
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::VectorSelector(_)
        | Expr::MatrixSelector(_) => {}
        Expr::Subquery(s) => walk(&s.expr, true, f),
        Expr::Call(c) => c.args.iter().for_each(|a| walk(a, in_subquery, f)),
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                walk(p, in_subquery, f);
            }
            walk(&a.expr, in_subquery, f);
        }
        Expr::Binary(b) => {
            walk(&b.lhs, in_subquery, f);
            walk(&b.rhs, in_subquery, f);
        }
        Expr::Unary(u) => walk(&u.expr, in_subquery, f),
        Expr::Paren(p) => walk(p, in_subquery, f),
    }
}

fn any(e: &Expr, pred: impl Fn(&Expr, bool) -> bool) -> bool {
    let mut found = false;
    walk(e, false, &mut |n, sub| found = found || pred(n, sub));
    found
}

fn duration_uses_query_range(d: &DurationExpr) -> bool {
    match d {
        DurationExpr::Step | DurationExpr::Range => true,
        DurationExpr::Duration(_) | DurationExpr::Number(_) => false,
        DurationExpr::Unary { expr, .. } | DurationExpr::Paren(expr) => {
            duration_uses_query_range(expr)
        }
        DurationExpr::Binary { lhs, rhs, .. }
        | DurationExpr::MinOf(lhs, rhs)
        | DurationExpr::MaxOf(lhs, rhs) => {
            duration_uses_query_range(lhs) || duration_uses_query_range(rhs)
        }
    }
}

fn selector_uses_query_range(vs: &VectorSelector) -> bool {
    matches!(vs.at, Some(AtModifier::Start | AtModifier::End))
        || vs.offset.as_ref().is_some_and(duration_uses_query_range)
}

/// Whether the expression depends on the query's own range: `start()`,
/// `end()`, `range()` or `step()` as functions, `@ start()`/`@ end()`, or
/// `step()`/`range()` in a duration. Such expressions get no extra checks.
pub fn uses_query_range(e: &Expr) -> bool {
    any(e, |n, _| match n {
        Expr::Call(c) => matches!(
            c.func.id,
            FuncId::Start | FuncId::End | FuncId::Range | FuncId::Step
        ),
        Expr::VectorSelector(vs) => selector_uses_query_range(vs),
        Expr::MatrixSelector(ms) => {
            selector_uses_query_range(&ms.selector) || duration_uses_query_range(&ms.range)
        }
        Expr::Subquery(s) => {
            matches!(s.at, Some(AtModifier::Start | AtModifier::End))
                || duration_uses_query_range(&s.range)
                || s.step.as_ref().is_some_and(duration_uses_query_range)
                || s.offset.as_ref().is_some_and(duration_uses_query_range)
        }
        _ => false,
    })
}

/// Whether the `@` variants apply: no time-dependent function outside
/// subqueries (subqueries are pinned whole, so their insides keep their
/// relative times) and no dependence on the query range.
pub fn at_variants_apply(e: &Expr) -> bool {
    let unsafe_call = any(e, |n, in_subquery| {
        !in_subquery && matches!(n, Expr::Call(c) if AT_UNSAFE_FUNCTIONS.contains(&c.func.id))
    });
    !unsafe_call && !uses_query_range(e)
}

/// The expression with `@ t` (ms) added to every vector selector, matrix
/// selector and subquery that has no `@` yet. Subqueries are not entered:
/// their insides are evaluated relative to the subquery's pinned time.
pub fn with_at(e: &Expr, t: i64) -> Expr {
    let mut e = e.clone();
    pin(&mut e, t);
    e
}

fn pin(e: &mut Expr, t: i64) {
    let at = Some(AtModifier::Timestamp(t));
    match e {
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
        Expr::VectorSelector(vs) => {
            if vs.at.is_none() {
                vs.at = at;
            }
        }
        Expr::MatrixSelector(ms) => {
            if ms.selector.at.is_none() {
                ms.selector.at = at;
            }
        }
        Expr::Subquery(s) => {
            if s.at.is_none() {
                s.at = at;
            }
        }
        Expr::Call(c) => c.args.iter_mut().for_each(|a| pin(a, t)),
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                pin(p, t);
            }
            pin(&mut a.expr, t);
        }
        Expr::Binary(b) => {
            pin(&mut b.lhs, t);
            pin(&mut b.rhs, t);
        }
        Expr::Unary(u) => pin(&mut u.expr, t),
        Expr::Paren(p) => pin(p, t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Expr {
        crate::parse(s).unwrap()
    }

    #[test]
    fn pinning_adds_at_outside_subqueries() {
        let cases = [
            ("selector", "x", "x @ 10.000"),
            ("matrix", "rate(x[5m])", "rate(x[5m] @ 10.000)"),
            ("kept", "x @ 5 + y", "x @ 5.000 + y @ 10.000"),
            ("start_kept", "x @ start()", "x @ start()"),
            (
                "subquery",
                "max_over_time(rate(x[1m])[5m:1m])",
                "max_over_time(rate(x[1m])[5m:1m] @ 10.000)",
            ),
            (
                "subquery_with_at",
                "max_over_time(x[5m:1m] @ 3)",
                "max_over_time(x[5m:1m] @ 3.000)",
            ),
            (
                "aggregate_param",
                "topk(scalar(y), x)",
                "topk(scalar(y @ 10.000), x @ 10.000)",
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(with_at(&p(input), 10_000).to_string(), want, "{name}");
        }
    }

    #[test]
    fn variant_rules() {
        let cases = [
            ("plain", "sum(rate(x[5m]))", true),
            ("time", "time() - x", false),
            ("timestamp", "timestamp(x)", false),
            (
                "time_in_subquery",
                "max_over_time((time() - x)[5m:1m])",
                true,
            ),
            ("step_fn", "x + step()", false),
            ("step_duration", "x offset step()", false),
            ("start_at", "x @ start()", false),
            ("range_in_subquery", "max_over_time(x[range():1m])", false),
        ];
        for (name, input, want) in cases {
            assert_eq!(at_variants_apply(&p(input)), want, "{name}");
        }
        assert!(!uses_query_range(&p("time()")));
        assert!(uses_query_range(&p("x @ end()")));
    }
}
