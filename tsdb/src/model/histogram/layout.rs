//! Bringing several histograms onto one bucket layout, so that their
//! counts can be combined field by field (compensated sums and means in
//! PromQL), and the counter-reset hint of a combination.
//!
//! The common layout of exponential histograms is the coarsest schema and
//! the widest zero bucket, widened further while its edge falls inside a
//! populated bucket of any of them. Custom-bucket histograms share the
//! bounds they all have (a bucket maps to the common bucket containing
//! it). Exponential and custom buckets have no common layout.

use super::{CounterResetHint, FloatHistogram};
use crate::error::HistogramError;

/// A bucket layout: schema, zero bucket width and custom bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub schema: i32,
    pub zero_threshold: f64,
    pub custom_values: Vec<f64>,
}

impl Layout {
    /// The layout all of `hists` fit (see the module doc) and whether
    /// custom bounds had to be reconciled. `None` for no histograms.
    pub fn common<'a>(
        hists: impl IntoIterator<Item = &'a FloatHistogram> + Clone,
    ) -> Result<Option<(Layout, bool)>, HistogramError> {
        let mut it = hists.clone().into_iter();
        let Some(first) = it.next() else {
            return Ok(None);
        };
        let custom = first.uses_custom_buckets();
        let mut layout = Layout {
            schema: first.schema,
            zero_threshold: first.zero_threshold,
            custom_values: first.custom_values.clone(),
        };
        let mut reconciled = false;
        for h in it {
            if h.uses_custom_buckets() != custom {
                return Err(HistogramError::IncompatibleSchemas);
            }
            if custom {
                if h.custom_values != layout.custom_values {
                    reconciled = true;
                    layout.custom_values.retain(|b| h.custom_values.contains(b));
                }
            } else {
                layout.schema = layout.schema.min(h.schema);
                layout.zero_threshold = layout.zero_threshold.max(h.zero_threshold);
            }
        }
        if !custom {
            // Widening one histogram's zero bucket can swallow a bucket
            // that reaches past the threshold: repeat until all agree.
            loop {
                let mut widest = layout.zero_threshold;
                for h in hists.clone() {
                    let mut h = h.clone();
                    h.reduce_resolution(layout.schema);
                    widest = widest.max(h.widen_zero_bucket(layout.zero_threshold));
                }
                if widest == layout.zero_threshold {
                    break;
                }
                layout.zero_threshold = widest;
            }
        }
        Ok(Some((layout, reconciled)))
    }
}

impl FloatHistogram {
    /// The same observations on `layout`, which must be coarser or equal
    /// (as [`Layout::common`] gives).
    pub fn align(&mut self, layout: &Layout) {
        if self.uses_custom_buckets() {
            if self.custom_values != layout.custom_values {
                self.rebucket_custom(&layout.custom_values);
            }
            return;
        }
        self.reduce_resolution(layout.schema);
        self.widen_zero_bucket(layout.zero_threshold);
    }
}

impl CounterResetHint {
    /// The hint of the sum (or average) of histograms hinted `self` and
    /// `other`: equal hints stay, a gauge makes a gauge, unknown makes
    /// unknown; a counter reset meeting a non-reset is a collision (the
    /// second value, `true`) and gives unknown.
    pub fn combine(self, other: CounterResetHint) -> (CounterResetHint, bool) {
        use CounterResetHint::*;
        match (self, other) {
            (a, b) if a == b => (a, false),
            (Gauge, _) | (_, Gauge) => (Gauge, false),
            (Unknown, _) | (_, Unknown) => (Unknown, false),
            _ => (Unknown, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Span;
    use super::*;

    fn exp(schema: i32, zt: f64, buckets: Vec<f64>) -> FloatHistogram {
        FloatHistogram {
            schema,
            zero_threshold: zt,
            count: buckets.iter().sum(),
            positive_spans: vec![Span::new(0, buckets.len() as u32)],
            positive_buckets: buckets,
            ..FloatHistogram::default()
        }
    }

    fn custom(bounds: Vec<f64>) -> FloatHistogram {
        FloatHistogram {
            schema: -53,
            custom_values: bounds,
            ..FloatHistogram::default()
        }
    }

    /// Schema, zero threshold, custom bounds, reconciled.
    type Want = (i32, f64, Vec<f64>, bool);

    #[test]
    fn common_layout_cases() {
        let cases: Vec<(&str, Vec<FloatHistogram>, Option<Want>)> = vec![
            ("empty", vec![], None),
            (
                "coarsest schema, widest zero bucket",
                vec![exp(2, 0.001, vec![1.0]), exp(0, 0.0001, vec![1.0])],
                Some((0, 0.001, vec![], false)),
            ),
            (
                // Bucket 0 of schema 0 is (0.5, 1]: a 0.7 threshold grows to 1.
                "zero bucket widened to a populated bucket's edge",
                vec![exp(0, 0.7, vec![]), exp(0, 0.0, vec![1.0, 1.0])],
                Some((0, 1.0, vec![], false)),
            ),
            (
                "custom bounds reconciled",
                vec![custom(vec![1.0, 2.0, 5.0]), custom(vec![1.0, 5.0])],
                Some((-53, 0.0, vec![1.0, 5.0], true)),
            ),
        ];
        for (name, hists, want) in cases {
            let got = Layout::common(hists.iter())
                .map(|o| o.map(|(l, r)| (l.schema, l.zero_threshold, l.custom_values, r)));
            assert_eq!(got, Ok(want), "{name}");
        }
        let mixed = [exp(0, 0.0, vec![1.0]), custom(vec![1.0])];
        assert_eq!(
            Layout::common(mixed.iter()),
            Err(HistogramError::IncompatibleSchemas)
        );
    }

    #[test]
    fn hint_combination_table() {
        use CounterResetHint::*;
        let cases = [
            (NotCounterReset, NotCounterReset, (NotCounterReset, false)),
            (Gauge, NotCounterReset, (Gauge, false)),
            (Unknown, Gauge, (Gauge, false)),
            (NotCounterReset, Unknown, (Unknown, false)),
            (CounterReset, Unknown, (Unknown, false)),
            (CounterReset, NotCounterReset, (Unknown, true)),
            (NotCounterReset, CounterReset, (Unknown, true)),
        ];
        for (a, b, want) in cases {
            assert_eq!(a.combine(b), want, "{a:?} + {b:?}");
        }
    }
}
