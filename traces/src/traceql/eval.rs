//! Evaluating a query on one trace: spanset filters, `&&`/`||` between
//! spansets, structural relations and pipeline stages. Spansets are
//! sorted, deduplicated span indexes.

use super::ast::{Aggregate, Query, ScalarFilter, SpansetExpr, SpansetOp, Stage};
use super::field_eval::{as_f64, compare, eval, is_true, static_value};
use super::structural;
use super::value::{TraceView, Value};

impl Query {
    /// The spans of `trace` in the query's resulting spanset: sorted,
    /// deduplicated indexes in `0..trace.len()`. Empty means the trace
    /// does not match.
    ///
    /// Semantics (Tempo's): `{ e }` keeps the spans for which `e` is true;
    /// `A && B` is the union of both when both are non-empty (else empty);
    /// `A || B` the union; `A >> B`, `A > B`, `A ~ B`, `A << B`, `A < B`
    /// the spans of `B` that are a descendant, child, sibling, ancestor or
    /// parent of some span of `A`; each pipeline stage works on the spans
    /// the previous one left.
    pub fn matches(&self, trace: &dyn TraceView) -> Vec<usize> {
        let all: Vec<usize> = (0..trace.len()).collect();
        spanset(&self.root, trace, &all)
    }
}

/// The spans of `domain` (sorted, deduplicated) that `e` selects.
fn spanset(e: &SpansetExpr, trace: &dyn TraceView, domain: &[usize]) -> Vec<usize> {
    match e {
        SpansetExpr::Filter(f) => domain
            .iter()
            .copied()
            .filter(|&span| is_true(f, trace, span))
            .collect(),
        SpansetExpr::Op { op, lhs, rhs } => {
            let l = spanset(lhs, trace, domain);
            if l.is_empty() && *op != SpansetOp::Or {
                return Vec::new();
            }
            let r = spanset(rhs, trace, domain);
            match op {
                SpansetOp::And if r.is_empty() => Vec::new(),
                SpansetOp::And | SpansetOp::Or => union(&l, &r),
                op => structural::relate(*op, &l, &r, trace),
            }
        }
        SpansetExpr::Pipeline { input, stages } => {
            let mut set = spanset(input, trace, domain);
            for stage in stages {
                if set.is_empty() {
                    break;
                }
                set = match stage {
                    Stage::Spanset(e) => spanset(e, trace, &set),
                    Stage::Scalar(f) if scalar_holds(f, trace, &set) => set,
                    Stage::Scalar(_) => Vec::new(),
                };
            }
            set
        }
    }
}

/// The union of two sorted, deduplicated index lists.
fn union(a: &[usize], b: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Whether `aggregate(set) op value` holds. `count()` is an integer; the
/// other aggregates are floats over the spans whose argument is a number
/// or duration (in nanoseconds), and false when there is none.
fn scalar_holds(f: &ScalarFilter, trace: &dyn TraceView, set: &[usize]) -> bool {
    let lhs = match &f.aggregate {
        Aggregate::Count => Value::Int(i64::try_from(set.len()).unwrap_or(i64::MAX)),
        Aggregate::Avg(e) | Aggregate::Min(e) | Aggregate::Max(e) | Aggregate::Sum(e) => {
            let values: Vec<f64> = set
                .iter()
                .filter_map(|&span| eval(e, trace, span).as_ref().and_then(as_f64))
                .collect();
            if values.is_empty() {
                return false;
            }
            let sum: f64 = values.iter().sum();
            Value::Float(match &f.aggregate {
                Aggregate::Avg(_) => sum / values.len() as f64,
                Aggregate::Min(_) => values.iter().copied().fold(f64::INFINITY, f64::min),
                Aggregate::Max(_) => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                _ => sum,
            })
        }
    };
    static_value(&f.value).is_some_and(|rhs| compare(f.op, &lhs, &rhs))
}

#[cfg(test)]
mod tests {
    use super::union;

    #[test]
    fn union_merges_sorted_lists() {
        type Case<'a> = (&'a str, &'a [usize], &'a [usize], &'a [usize]);
        let cases: [Case; 4] = [
            ("both_empty", &[], &[], &[]),
            ("one_empty", &[1, 3], &[], &[1, 3]),
            ("interleaved", &[1, 4, 6], &[2, 4, 7], &[1, 2, 4, 6, 7]),
            ("same", &[0, 5], &[0, 5], &[0, 5]),
        ];
        for (name, a, b, want) in cases {
            assert_eq!(union(a, b), want, "{name}");
        }
    }
}
