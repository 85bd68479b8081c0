//! Vector–vector arithmetic where an operand is a native histogram:
//! `H + H`, `H - H`, `H * F`, `F * H`, `H / F`, and the filters `H == H`,
//! `H != H`, the trims `H </ F` and `H >/ F`, matched as the float pairs are (one-to-one or by
//! `group_left`/`group_right`; `fill` modifiers and `bool` do not apply).
//! Other pairs with a histogram have no result and an info.

use std::collections::HashMap;
use std::sync::Arc;

use tsdb::model::Labels;
use tsdb::model::histogram::{CounterResetHint, FloatHistogram};

use super::{incompatible, result_labels, signature};
use crate::ast::{Binary, BinaryOp, Cardinality, VectorMatching};
use crate::eval::grid::{Frame, StepSeries, hpoint};
use crate::value::Annotations;

/// One operand at one step.
#[derive(Clone)]
enum Operand {
    Float(f64),
    Hist(Arc<FloatHistogram>),
}

fn at(s: &StepSeries, t: i64) -> Option<Operand> {
    if let Ok(i) = s.points.binary_search_by_key(&t, |p| p.t) {
        return Some(Operand::Float(s.points[i].v));
    }
    let i = s.hpoints.binary_search_by_key(&t, |p| p.t).ok()?;
    Some(Operand::Hist(s.hpoints[i].h.clone()))
}

/// `l op r` when a histogram is involved: `Err` when they cannot combine,
/// `Ok(None)` when a comparison drops the pair. Custom bucket bounds
/// reconciled by `+`/`-` set `reconciled`.
fn apply(
    op: BinaryOp,
    l: &Operand,
    r: &Operand,
    reconciled: &mut bool,
) -> Result<Option<FloatHistogram>, ()> {
    if let (BinaryOp::Eql | BinaryOp::Neq, Operand::Hist(a), Operand::Hist(b)) = (op, l, r) {
        let same = a.same_observations(b);
        return Ok((same == (op == BinaryOp::Eql)).then(|| (**a).clone()));
    }
    arithmetic(op, l, r, reconciled).map(Some).ok_or(())
}

fn arithmetic(
    op: BinaryOp,
    l: &Operand,
    r: &Operand,
    reconciled: &mut bool,
) -> Option<FloatHistogram> {
    match (op, l, r) {
        (BinaryOp::Add | BinaryOp::Sub, Operand::Hist(a), Operand::Hist(b)) => {
            let mut out = (**a).clone();
            *reconciled |= out.add_assign(b, op == BinaryOp::Sub).ok()?;
            // A difference is a gauge even when it is not negative.
            out.hint = if op == BinaryOp::Sub {
                CounterResetHint::Gauge
            } else {
                a.hint.combine(b.hint).0
            };
            out.compact(0);
            Some(out)
        }
        (BinaryOp::Mul, Operand::Hist(h), Operand::Float(x))
        | (BinaryOp::Mul, Operand::Float(x), Operand::Hist(h)) => {
            Some(super::histogram_by_scalar(BinaryOp::Mul, true, h, *x)?)
        }
        (BinaryOp::Div, Operand::Hist(h), Operand::Float(x)) => {
            Some(super::histogram_by_scalar(BinaryOp::Div, true, h, *x)?)
        }
        (BinaryOp::TrimUpper | BinaryOp::TrimLower, Operand::Hist(h), Operand::Float(x)) => {
            Some(super::trim::trim(h, *x, op == BinaryOp::TrimUpper))
        }
        _ => None,
    }
}

fn kind(o: &Operand) -> &'static str {
    match o {
        Operand::Float(_) => "float",
        Operand::Hist(_) => "histogram",
    }
}

/// The histogram results of `l op r` over the frame: one series per
/// result label set, histogram points only.
pub(super) fn pairs(
    b: &Binary,
    m: &VectorMatching,
    l: &[StepSeries],
    r: &[StepSeries],
    frame: Frame,
    ann: &mut Annotations,
) -> Vec<StepSeries> {
    let (op, return_bool) = (b.op, b.return_bool);
    let drops_name = !op.is_comparison() || return_bool;
    let right_is_one = m.card != Cardinality::OneToMany;
    let (many, one) = if right_is_one { (l, r) } else { (r, l) };
    let one_sig: Vec<Labels> = one.iter().map(|s| signature(m, s)).collect();
    let many_sig: Vec<Labels> = many.iter().map(|s| signature(m, s)).collect();
    let mut out: Vec<StepSeries> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for t in frame.times() {
        let mut one_at: HashMap<&Labels, (usize, Operand)> = HashMap::new();
        for (j, s) in one.iter().enumerate() {
            if let Some(v) = at(s, t) {
                one_at.insert(&one_sig[j], (j, v));
            }
        }
        for (i, s) in many.iter().enumerate() {
            let Some(mv) = at(s, t) else { continue };
            let Some((j, ov)) = one_at.get(&many_sig[i]) else {
                continue;
            };
            let (lv, rv) = if right_is_one { (&mv, ov) } else { (ov, &mv) };
            if matches!((lv, rv), (Operand::Float(_), Operand::Float(_))) {
                continue;
            }
            let bool_result = match (op, lv, rv) {
                (BinaryOp::Eql | BinaryOp::Neq, Operand::Hist(a), Operand::Hist(b))
                    if return_bool =>
                {
                    Some(f64::from(u8::from(
                        a.same_observations(b) == (op == BinaryOp::Eql),
                    )))
                }
                _ => None,
            };
            let mut reconciled = false;
            let h = match apply(op, lv, rv, &mut reconciled) {
                _ if bool_result.is_some() => FloatHistogram::default(),
                Ok(Some(h)) => h,
                Ok(None) => continue,
                Err(()) => {
                    ann.info(incompatible(op, kind(lv), kind(rv)));
                    continue;
                }
            };
            if reconciled {
                ann.info(format_args!(
                    "mismatched custom buckets were reconciled during {}",
                    if op == BinaryOp::Add {
                        "addition"
                    } else {
                        "subtraction"
                    }
                ));
            }
            let labels = result_labels(m, s, Some(&one[*j]));
            let k = *index.entry(labels.clone()).or_insert_with(|| {
                out.push(StepSeries::floats(
                    labels,
                    s.drop_name || drops_name,
                    Vec::new(),
                ));
                out.len() - 1
            });
            if let Some(v) = bool_result {
                if out[k].points.last().is_none_or(|p| p.t != t) {
                    out[k].points.push(tsdb::model::Sample::new(t, v));
                }
            } else if out[k].hpoints.last().is_none_or(|p| p.t != t) {
                out[k].hpoints.push(hpoint(t, h));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use tsdb::model::histogram::Span;

    use super::*;

    fn h(count: f64) -> Operand {
        Operand::Hist(Arc::new(FloatHistogram {
            count,
            sum: count,
            positive_spans: vec![Span::new(0, 1)],
            positive_buckets: vec![count],
            ..FloatHistogram::default()
        }))
    }

    #[test]
    fn pairs_table() {
        let count = |r: Result<Option<FloatHistogram>, ()>| r.map(|o| o.map(|h| h.count));
        let cases = [
            ("h + h", BinaryOp::Add, h(2.0), h(3.0), Ok(Some(5.0))),
            ("h - h", BinaryOp::Sub, h(5.0), h(3.0), Ok(Some(2.0))),
            (
                "h * f",
                BinaryOp::Mul,
                h(2.0),
                Operand::Float(3.0),
                Ok(Some(6.0)),
            ),
            (
                "f * h",
                BinaryOp::Mul,
                Operand::Float(3.0),
                h(2.0),
                Ok(Some(6.0)),
            ),
            (
                "h / f",
                BinaryOp::Div,
                h(6.0),
                Operand::Float(3.0),
                Ok(Some(2.0)),
            ),
            ("f / h", BinaryOp::Div, Operand::Float(3.0), h(2.0), Err(())),
            ("h * h", BinaryOp::Mul, h(2.0), h(2.0), Err(())),
            (
                "h == h, equal",
                BinaryOp::Eql,
                h(2.0),
                h(2.0),
                Ok(Some(2.0)),
            ),
            ("h == h, not equal", BinaryOp::Eql, h(2.0), h(3.0), Ok(None)),
            ("h > h", BinaryOp::Gtr, h(2.0), h(3.0), Err(())),
        ];
        for (name, op, l, r, want) in cases {
            assert_eq!(count(apply(op, &l, &r, &mut false)), want, "{name}");
        }
    }
}
