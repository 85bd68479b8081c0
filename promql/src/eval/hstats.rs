//! Sums and means of native histograms (`sum`, `avg`, `sum_over_time`,
//! `avg_over_time`).
//!
//! The histograms are brought onto their common bucket layout first
//! ([`Layout::common`]); then every field — count, sum, zero bucket, each
//! bucket — is a plain sequence of floats, summed with the same
//! compensated summation as float samples ([`KahanSum`]) or averaged as
//! float samples are ([`Mean`]: compensated sum, switching to an
//! incremental mean where the sum would overflow). A bucket missing from
//! a histogram counts as 0 there.

use std::collections::BTreeMap;

use tsdb::model::histogram::{CounterResetHint, FloatHistogram, IndexedBuckets, Layout, Span};

use super::stats::{KahanSum, Mean};
use crate::value::Annotations;

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    Sum,
    Mean,
}

/// The result and what Prometheus annotates about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Combined {
    pub h: FloatHistogram,
    /// Custom bucket bounds differed and were reconciled.
    pub reconciled: bool,
    /// A `reset` hint met a `not_reset` one (see
    /// [`CounterResetHint::combine`]; only statistics-only reads carry
    /// `reset`, see [`super::hints`]).
    pub reset_collision: bool,
}

impl Combined {
    /// The histogram, after adding Prometheus's annotations about it.
    pub(crate) fn annotated(self, ann: &mut Annotations) -> FloatHistogram {
        if self.reconciled {
            ann.info(format_args!(
                "mismatched custom buckets were reconciled during aggregation"
            ));
        }
        if self.reset_collision {
            ann.warn(format_args!(
                "conflicting counter resets during histogram aggregation"
            ));
        }
        self.h
    }
}

/// Exponential and custom-bucket histograms were mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MixedSchemas;

/// One field's accumulator.
#[derive(Clone, Copy)]
enum Acc {
    Sum(KahanSum),
    Mean(Mean, usize),
}

impl Acc {
    fn new(how: Combine) -> Acc {
        match how {
            Combine::Sum => Acc::Sum(KahanSum::new()),
            Combine::Mean => Acc::Mean(Mean::new(), 0),
        }
    }

    /// Adds `v` as the value of the `k`-th histogram (0-based), the ones
    /// before it that lacked this field counting as 0.
    fn add(&mut self, k: usize, v: f64) {
        match self {
            Acc::Sum(s) => s.add(v),
            Acc::Mean(m, n) => {
                while *n < k {
                    m.add(0.0);
                    *n += 1;
                }
                m.add(v);
                *n += 1;
            }
        }
    }

    /// The result over `total` histograms.
    fn value(mut self, total: usize) -> f64 {
        match &mut self {
            Acc::Sum(s) => s.value(),
            Acc::Mean(m, n) => {
                while *n < total {
                    m.add(0.0);
                    *n += 1;
                }
                m.value()
            }
        }
    }
}

/// The sum or mean of `hists`; `Ok(None)` for none.
pub(crate) fn combine<'a>(
    hists: impl IntoIterator<Item = &'a FloatHistogram> + Clone,
    how: Combine,
) -> Result<Option<Combined>, MixedSchemas> {
    let Some((layout, reconciled)) = Layout::common(hists.clone()).map_err(|_| MixedSchemas)?
    else {
        return Ok(None);
    };
    let (mut count, mut sum, mut zero) = (Acc::new(how), Acc::new(how), Acc::new(how));
    let mut pos: BTreeMap<i32, Acc> = BTreeMap::new();
    let mut neg: BTreeMap<i32, Acc> = BTreeMap::new();
    let mut hint: Option<CounterResetHint> = None;
    // Prometheus warns when the inputs hold both a `reset` and a
    // `not_reset` hint, whatever else (a gauge) is among them.
    let (mut reset_seen, mut not_reset_seen) = (false, false);
    let mut n = 0;
    for (k, h) in hists.into_iter().enumerate() {
        let mut aligned;
        let h = if h.schema == layout.schema
            && h.zero_threshold == layout.zero_threshold
            && h.custom_values == layout.custom_values
        {
            h
        } else {
            aligned = h.clone();
            aligned.align(&layout);
            &aligned
        };
        count.add(k, h.count);
        sum.add(k, h.sum);
        zero.add(k, h.zero_count);
        for (i, c) in h.positive() {
            pos.entry(i).or_insert_with(|| Acc::new(how)).add(k, c);
        }
        for (i, c) in h.negative() {
            neg.entry(i).or_insert_with(|| Acc::new(how)).add(k, c);
        }
        reset_seen |= h.hint == CounterResetHint::CounterReset;
        not_reset_seen |= h.hint == CounterResetHint::NotCounterReset;
        hint = Some(match hint {
            None => h.hint,
            Some(acc) => acc.combine(h.hint).0,
        });
        n = k + 1;
    }
    let buckets = |side: BTreeMap<i32, Acc>| -> (Vec<Span>, Vec<f64>) {
        let items: Vec<(i32, f64)> = side.into_iter().map(|(i, a)| (i, a.value(n))).collect();
        let (idx, counts): (Vec<i32>, Vec<f64>) = items.into_iter().unzip();
        spans_of(&idx, counts)
    };
    let (positive_spans, positive_buckets) = buckets(pos);
    let (negative_spans, negative_buckets) = buckets(neg);
    let mut h = FloatHistogram {
        hint: hint.unwrap_or_default(),
        schema: layout.schema,
        zero_threshold: layout.zero_threshold,
        zero_count: zero.value(n),
        count: count.value(n),
        sum: sum.value(n),
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values: layout.custom_values,
    };
    h.compact(0);
    Ok(Some(Combined {
        h,
        reconciled,
        reset_collision: reset_seen && not_reset_seen,
    }))
}

/// Spans for ascending bucket indexes `idx` (one span per run of
/// consecutive indexes) with their counts.
fn spans_of(idx: &[i32], counts: Vec<f64>) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut last: Option<i32> = None;
    for &i in idx {
        match (last, spans.last_mut()) {
            (Some(l), Some(s)) if i == l + 1 => s.length += 1,
            (Some(l), _) => spans.push(Span::new(i - l - 1, 1)),
            (None, _) => spans.push(Span::new(i, 1)),
        }
        last = Some(i);
    }
    debug_assert_eq!(IndexedBuckets::new(&spans, &counts).count(), idx.len());
    (spans, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(sum: f64, buckets: &[(i32, f64)], hint: CounterResetHint) -> FloatHistogram {
        let (idx, counts): (Vec<i32>, Vec<f64>) = buckets.iter().copied().unzip();
        let (positive_spans, positive_buckets) = spans_of(&idx, counts);
        FloatHistogram {
            hint,
            count: positive_buckets.iter().sum(),
            sum,
            positive_spans,
            positive_buckets,
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn combine_table() {
        use CounterResetHint::*;
        // native_histograms.test "sum(histogram_sum)": ±1e100 cancel
        // without losing the small sums.
        let big = [
            h(3.1, &[(0, 1.0)], NotCounterReset),
            h(1e100, &[(0, 1.0)], NotCounterReset),
            h(-1e100, &[(0, 1.0)], NotCounterReset),
            h(1.3, &[(0, 1.0)], NotCounterReset),
        ];
        let got = combine(big.iter(), Combine::Sum).unwrap().unwrap();
        assert_eq!((got.h.sum, got.h.count), (4.4, 4.0));
        let got = combine(big.iter(), Combine::Mean).unwrap().unwrap();
        assert_eq!((got.h.sum, got.h.count), (1.1, 1.0));

        // Missing buckets count as 0 in a mean; gaps give separate spans.
        let sparse = [
            h(1.0, &[(0, 2.0)], NotCounterReset),
            h(1.0, &[(3, 4.0)], CounterReset),
        ];
        let got = combine(sparse.iter(), Combine::Mean).unwrap().unwrap();
        assert_eq!(
            got.h.positive().collect::<Vec<_>>(),
            vec![(0, 1.0), (3, 2.0)]
        );
        assert_eq!((got.h.hint, got.reset_collision), (Unknown, true));

        // The sum of overflowing counts is +Inf, their mean is not.
        let huge = [
            h(0.0, &[(0, f64::MAX)], Gauge),
            h(0.0, &[(0, 1e308)], Gauge),
        ];
        let got = combine(huge.iter(), Combine::Sum).unwrap().unwrap();
        assert_eq!(got.h.count, f64::INFINITY);
        let got = combine(huge.iter(), Combine::Mean).unwrap().unwrap();
        assert!((got.h.count - (f64::MAX / 2.0 + 0.5e308)).abs() < 1e294);
        assert_eq!(got.h.hint, Gauge);

        assert_eq!(combine([].iter(), Combine::Sum), Ok(None));
        let custom = FloatHistogram {
            schema: -53,
            ..FloatHistogram::default()
        };
        let mixed = [big[0].clone(), custom];
        assert_eq!(combine(mixed.iter(), Combine::Sum), Err(MixedSchemas));
    }
}
