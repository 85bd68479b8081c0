//! `limitk`, `limit_ratio` and `count_values` over vectors that hold native
//! histograms.
//!
//! These operators never combine values: `limitk` and `limit_ratio` pick
//! whole samples (a histogram passes through as it is) and `count_values`
//! counts equal values, a histogram's value being its text form
//! (Prometheus's `FloatHistogram.String`, e.g. `{count:3, sum:2,
//! [-0.001,0.001]:1, (0.5,1]:2}`).

use std::collections::HashMap;
use std::fmt::Write as _;

use tsdb::model::Labels;
use tsdb::model::histogram::FloatHistogram;
use tsdb::model::histogram::buckets;

use super::{group_key, group_key_of, in_ratio, k_param};
use crate::ast::{Aggregate, AggregateOp};
use crate::error::Result;
use crate::eval::grid::{Frame, Point, SeriesSink, StepSeries, for_each_step_mixed};
use crate::eval::stats::GoFloat;
use crate::value::{Annotations, FloatDisplay};

/// `limitk` or `limit_ratio` (`op`) with per-step parameters `params`.
pub(super) fn limit(
    a: &Aggregate,
    frame: Frame,
    series: &[StepSeries],
    params: &[f64],
    ann: &mut Annotations,
) -> Result<Vec<StepSeries>> {
    let keys: Vec<Labels> = series.iter().map(|s| group_key(a, s).0).collect();
    let mut sink = SeriesSink::default();
    let mut warned = false;
    for_each_step_mixed(frame, series, |step, t, present| {
        let p = params.get(step).copied().unwrap_or(f64::NAN);
        let keep: Box<dyn Fn(usize, usize) -> bool> = if a.op == AggregateOp::Limitk {
            let k = k_param(p)?;
            Box::new(move |rank, _| rank < k)
        } else {
            if !(-1.0..=1.0).contains(&p) && !warned {
                warned = true;
                ann.warn(format_args!(
                    "ratio value should be between -1 and 1, got {}, capping to {}",
                    FloatDisplay(p),
                    if p < 0.0 { -1 } else { 1 }
                ));
            }
            let r = p.clamp(-1.0, 1.0);
            Box::new(move |_, i| in_ratio(&series[i].labels, r))
        };
        let mut taken: HashMap<&Labels, usize> = HashMap::new();
        for (i, point) in present {
            let rank = taken.entry(&keys[*i]).or_insert(0);
            if keep(*rank, *i) {
                let s = &series[*i];
                sink.push_point(&s.labels, s.drop_name, t, point.clone())?;
            }
            *rank += 1;
        }
        Ok(())
    })?;
    Ok(sink.out)
}

/// `count_values(label, …)`: per step, the number of samples with each
/// value, the value set as `label` before grouping (so `by` keeps it and
/// `without` can remove it, as in Prometheus).
pub(super) fn count_values(
    a: &Aggregate,
    frame: Frame,
    series: &[StepSeries],
    label: &str,
) -> Result<Vec<StepSeries>> {
    // `by` keeps the value label; `without` keeps it unless listed.
    let mut grouping = a.grouping.clone();
    if !a.without {
        grouping.push(label.to_string());
    }
    let mut sink = SeriesSink::default();
    for_each_step_mixed(frame, series, |_, t, present| {
        let mut counts: Vec<(Labels, bool, usize)> = Vec::new();
        for (i, point) in present {
            let s = &series[*i];
            let value = match point {
                Point::Float(v) => FloatDisplay(*v).to_string(),
                Point::Hist(h) => histogram_text(h),
            };
            let mut b = s.labels.builder();
            b.set(label, &value);
            let (key, drop) = group_key_of(a.without, &grouping, &b.build(), s.drop_name);
            match counts.iter_mut().find(|(k, _, _)| *k == key) {
                Some(c) => c.2 += 1,
                None => counts.push((key, drop, 1)),
            }
        }
        for (key, drop, n) in counts {
            sink.push_point(&key, drop, t, Point::Float(n as f64))?;
        }
        Ok(())
    })?;
    Ok(sink.out)
}

/// Prometheus's text form of a histogram: count, sum, then every populated
/// bucket in ascending order with its bounds and inclusivity.
pub(crate) fn histogram_text(h: &FloatHistogram) -> String {
    let mut s = format!("{{count:{}, sum:{}", GoFloat(h.count), GoFloat(h.sum));
    for b in buckets(h).iter().filter(|b| b.count != 0.0) {
        let _ = write!(
            s,
            ", {}{},{}{}:{}",
            if b.lower_inclusive { '[' } else { '(' },
            GoFloat(b.lower),
            GoFloat(b.upper),
            if b.upper_inclusive { ']' } else { ')' },
            GoFloat(b.count)
        );
    }
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsdb::model::histogram::Span;

    #[test]
    fn histogram_text_cases() {
        let exp = FloatHistogram {
            count: 20.0,
            sum: 10.0,
            zero_threshold: 0.001,
            zero_count: 2.0,
            positive_spans: vec![Span::new(0, 2)],
            positive_buckets: vec![1.0, 2.0],
            negative_spans: vec![Span::new(0, 2)],
            negative_buckets: vec![1.0, 2.0],
            ..FloatHistogram::default()
        };
        let custom = FloatHistogram {
            schema: -53,
            count: 3.0,
            sum: 1e6,
            positive_spans: vec![Span::new(0, 3)],
            positive_buckets: vec![1.0, 0.0, 2.0],
            custom_values: vec![5.0, 10.0],
            ..FloatHistogram::default()
        };
        let cases = [
            (
                "exponential",
                exp,
                "{count:20, sum:10, [-2,-1):2, [-1,-0.5):1, [-0.001,0.001]:2, (0.5,1]:1, (1,2]:2}",
            ),
            (
                "custom_skips_empty",
                custom,
                "{count:3, sum:1e+06, [-Inf,5]:1, (10,+Inf]:2}",
            ),
            ("empty", FloatHistogram::default(), "{count:0, sum:0}"),
        ];
        for (name, h, want) in cases {
            assert_eq!(histogram_text(&h), want, "{name}");
        }
    }
}
