//! The counter-reset hints histograms carry when a selector reads them.
//!
//! A stored hint of `reset` comes from the first sample of a chunk and
//! says nothing certain about the samples a query sees before it, so a
//! plain read reports it as `unknown` (Prometheus's results never carry
//! `reset`, prometheus#15346); resets are then found from the values.
//!
//! Selectors whose histograms only feed `histogram_count`,
//! `histogram_sum` or `histogram_avg` are read as Prometheus reads them
//! there (its statistics-only iterator): an unknown hint is resolved
//! against the previous sample read, to `reset` or `not_reset`. Adding a
//! `reset` to a `not_reset` is then Prometheus's "conflicting counter
//! resets" warning, which only such reads can show.

use std::collections::HashSet;

use tsdb::model::HistogramSample;
use tsdb::model::histogram::CounterResetHint;

use crate::ast::{Expr, VectorSelector};
use crate::functions::FuncId;

/// How a selector's histograms get their hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum HintView {
    /// `reset` reads as `unknown`.
    #[default]
    Stored,
    /// `unknown` and `reset` resolved against the previous sample.
    Detected,
}

/// Rewrites the hints of one series' histograms (ascending) for `view`.
pub(crate) fn apply(view: HintView, hists: &mut [HistogramSample]) {
    use CounterResetHint::{CounterReset, NotCounterReset, Unknown};
    for i in 0..hists.len() {
        let h = &hists[i].h;
        let want = match (view, h.hint) {
            (HintView::Stored, CounterReset) => Unknown,
            (HintView::Detected, CounterReset | Unknown) => match i.checked_sub(1) {
                // Judged by values, so an earlier rewrite does not matter.
                Some(j) if !h.is_stale() && !hists[j].h.is_stale() => {
                    if h.detect_reset_by_value(&hists[j].h) {
                        CounterReset
                    } else {
                        NotCounterReset
                    }
                }
                _ => Unknown,
            },
            (_, hint) => hint,
        };
        if want != h.hint {
            let mut h = (**h).clone();
            h.hint = want;
            hists[i].h = std::sync::Arc::new(h);
        }
    }
}

/// The selectors of `expr` read statistics-only: the nearest function
/// above them (through aggregations and other functions, not through a
/// binary operator or a subquery) is `histogram_count`, `histogram_sum`
/// or `histogram_avg`.
pub(crate) fn statistics_only(expr: &Expr) -> HashSet<*const VectorSelector> {
    let mut out = HashSet::new();
    walk(expr, false, &mut out);
    out
}

fn walk(e: &Expr, stats: bool, out: &mut HashSet<*const VectorSelector>) {
    match e {
        Expr::VectorSelector(vs) => {
            if stats {
                out.insert(vs as *const VectorSelector);
            }
        }
        Expr::MatrixSelector(ms) => {
            if stats {
                out.insert(&ms.selector as *const VectorSelector);
            }
        }
        Expr::Subquery(sq) => walk(&sq.expr, false, out),
        Expr::Call(c) => {
            let stats = match c.func.id {
                FuncId::HistogramCount | FuncId::HistogramSum | FuncId::HistogramAvg => true,
                FuncId::HistogramQuantile
                | FuncId::HistogramQuantiles
                | FuncId::HistogramFraction => false,
                _ => stats,
            };
            c.args.iter().for_each(|a| walk(a, stats, out));
        }
        Expr::Aggregate(a) => {
            walk(&a.expr, stats, out);
            if let Some(p) = &a.param {
                walk(p, false, out);
            }
        }
        Expr::Binary(b) => {
            walk(&b.lhs, false, out);
            walk(&b.rhs, false, out);
        }
        Expr::Unary(u) => walk(&u.expr, stats, out),
        Expr::Paren(p) => walk(p, stats, out),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_only_selectors() {
        let cases = [
            ("histogram_count(sum(x))", 1),
            ("histogram_sum(rate(x[5m]))", 1),
            ("histogram_count(x) + histogram_count(y)", 2),
            ("histogram_count(x + y)", 0),
            ("histogram_count(increase(x[40m:9m]))", 0),
            ("histogram_quantile(0.9, x)", 0),
            ("sum(x)", 0),
            ("histogram_avg(sum_over_time(x[5m])) ", 1),
        ];
        for (q, want) in cases {
            let e = crate::parse(q).expect("parses");
            assert_eq!(statistics_only(&e).len(), want, "{q}");
        }
    }

    #[test]
    fn hints_as_read() {
        use CounterResetHint::*;
        use std::sync::Arc;
        use tsdb::model::histogram::FloatHistogram;
        let h = |count: f64, hint| HistogramSample {
            t: 0,
            st: 0,
            h: Arc::new(FloatHistogram {
                count,
                hint,
                ..FloatHistogram::default()
            }),
        };
        let series = || {
            vec![
                h(5.0, Unknown),
                h(6.0, NotCounterReset),
                h(2.0, CounterReset),
                h(3.0, Unknown),
            ]
        };
        let hints = |v: &[HistogramSample]| v.iter().map(|s| s.h.hint).collect::<Vec<_>>();
        let mut stored = series();
        apply(HintView::Stored, &mut stored);
        assert_eq!(
            hints(&stored),
            vec![Unknown, NotCounterReset, Unknown, Unknown]
        );
        let mut detected = series();
        apply(HintView::Detected, &mut detected);
        assert_eq!(
            hints(&detected),
            vec![Unknown, NotCounterReset, CounterReset, NotCounterReset]
        );
    }
}
