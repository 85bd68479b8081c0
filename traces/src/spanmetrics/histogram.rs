//! A growing exponential histogram of durations, handed to the metric
//! store as a native histogram sample.

use std::collections::BTreeMap;

use tsdb::model::histogram::{CounterResetHint, Histogram, Span, bucket_bound, deltas};

/// Schema 3: each bucket is 2^(1/8) ≈ 9% wider than the one before, the
/// resolution Tempo's metrics generator defaults to.
pub const SCHEMA: i32 = 3;

/// Cumulative counts of observed values (seconds, never negative).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpHistogram {
    count: u64,
    sum: f64,
    zero_count: u64,
    buckets: BTreeMap<i32, u64>,
}

impl ExpHistogram {
    /// Counts one value; zero (and anything not positive) goes to the zero
    /// bucket.
    pub fn observe(&mut self, v: f64) {
        self.count += 1;
        if v > 0.0 && v.is_finite() {
            self.sum += v;
            *self.buckets.entry(bucket_index(v)).or_default() += 1;
        } else {
            self.zero_count += 1;
        }
    }

    /// The counts so far as an integer native histogram.
    pub fn to_histogram(&self) -> Histogram {
        let mut spans: Vec<Span> = Vec::new();
        let mut counts = Vec::with_capacity(self.buckets.len());
        let mut next: Option<i32> = None;
        for (&i, &c) in &self.buckets {
            match next {
                Some(n) if n == i => {
                    if let Some(last) = spans.last_mut() {
                        last.length += 1;
                    }
                }
                Some(n) => spans.push(Span::new(i - n, 1)),
                None => spans.push(Span::new(i, 1)),
            }
            counts.push(c);
            next = Some(i + 1);
        }
        Histogram {
            hint: CounterResetHint::Unknown,
            schema: SCHEMA,
            zero_threshold: 0.0,
            zero_count: self.zero_count,
            count: self.count,
            sum: self.sum,
            positive_spans: spans,
            positive_deltas: deltas(&counts),
            ..Histogram::default()
        }
    }
}

/// The bucket of positive `v`: the `i` with bound(i−1) < v ≤ bound(i).
pub fn bucket_index(v: f64) -> i32 {
    let scale = f64::from(1u32 << SCHEMA);
    let guess = (v.log2() * scale).ceil().clamp(-8000.0, 8000.0) as i32;
    // log2 rounds; settle the guess against the exact bounds.
    let mut i = guess;
    while i > -8000 && v <= bucket_bound(SCHEMA, i - 1, &[]) {
        i -= 1;
    }
    while i < 8000 && v > bucket_bound(SCHEMA, i, &[]) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounds_are_upper_inclusive() {
        let cases: &[(&str, f64, i32)] = &[
            ("one", 1.0, 0),
            ("just above one", 1.000_001, 1),
            ("two", 2.0, 8),
            ("half", 0.5, -8),
            ("a millisecond", 0.001, -79),
        ];
        for (name, v, want) in cases {
            assert_eq!(bucket_index(*v), *want, "{name}");
        }
    }

    #[test]
    fn layout_and_counts() {
        let mut h = ExpHistogram::default();
        for v in [1.0, 1.0, 2.0, 0.0, 1.05] {
            h.observe(v);
        }
        let n = h.to_histogram();
        assert_eq!(n.count, 5);
        assert_eq!(n.zero_count, 1);
        assert_eq!(n.sum, 5.05);
        // Buckets 0 (two values), 1 (1.05) and 8 (2.0).
        assert_eq!(n.positive_spans, vec![Span::new(0, 2), Span::new(6, 1)]);
        assert_eq!(n.positive_deltas, vec![2, -1, 0]);
        assert!(n.validate().is_ok());
    }

    proptest! {
        #[test]
        fn index_brackets_value(v in 1e-9f64..1e6) {
            let i = bucket_index(v);
            prop_assert!(bucket_bound(SCHEMA, i - 1, &[]) < v);
            prop_assert!(v <= bucket_bound(SCHEMA, i, &[]));
        }
    }
}
