//! OTLP histograms as native histograms, as Prometheus 3.x translates
//! them:
//! - exponential histograms: scale −4…8 is the schema; a finer scale is
//!   downscaled to 8 by merging 2^(scale−8) neighbouring buckets; a scale
//!   below −4 is refused. OTLP bucket `i` is `(b^i, b^(i+1)]` and
//!   Prometheus bucket `i` is `(b^(i−1), b^i]`, so index = (otel index >>
//!   scale-down) + 1. The zero threshold is Prometheus's fixed 1e−128;
//!   min and max are dropped.
//! - explicit-bucket histograms (with `convert_histograms_to_nhcb`):
//!   schema −53, the explicit bounds are the custom values, bucket `i` is
//!   explicit bucket `i`.
//!
//! Empty buckets are left out; a gap of at most two buckets is filled
//! with empty ones, a longer one starts a new span. A point flagged
//! "no recorded value" becomes the stale marker; delta temporality gives
//! the gauge hint, cumulative the unknown hint.

use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, DataPointFlags, ExponentialHistogramDataPoint, HistogramDataPoint,
};
use tsdb::model::histogram::{
    CUSTOM_BUCKETS_SCHEMA, CounterResetHint, Histogram, MAX_EXPONENTIAL_SCHEMA,
    MIN_EXPONENTIAL_SCHEMA, STALE_SUM_BITS, Span,
};

/// The zero threshold of every translated exponential histogram.
pub const ZERO_THRESHOLD: f64 = 1e-128;

/// Why a point cannot become a native histogram.
pub type Refusal = String;

fn stale(flags: u32) -> Option<Histogram> {
    let no_value = DataPointFlags::NoRecordedValueMask as u32;
    (flags & no_value != 0).then(|| Histogram {
        sum: f64::from_bits(STALE_SUM_BITS),
        ..Histogram::default()
    })
}

fn hint(temporality: i32) -> CounterResetHint {
    if temporality == AggregationTemporality::Delta as i32 {
        CounterResetHint::Gauge
    } else {
        CounterResetHint::Unknown
    }
}

/// An exponential histogram point as an integer native histogram.
pub fn exponential(
    p: &ExponentialHistogramDataPoint,
    temporality: i32,
) -> Result<Histogram, Refusal> {
    if p.scale < MIN_EXPONENTIAL_SCHEMA {
        return Err(format!(
            "exponential histogram scale {} is below the smallest supported, {MIN_EXPONENTIAL_SCHEMA}",
            p.scale
        ));
    }
    if let Some(h) = stale(p.flags) {
        return Ok(h);
    }
    let scale_down = (p.scale - MAX_EXPONENTIAL_SCHEMA).max(0) as u32;
    let index = |otel: i64| (otel >> scale_down) + 1;
    let (positive_spans, positive_deltas) = p
        .positive
        .as_ref()
        .map(|b| layout(b.offset, &b.bucket_counts, index))
        .unwrap_or_default();
    let (negative_spans, negative_deltas) = p
        .negative
        .as_ref()
        .map(|b| layout(b.offset, &b.bucket_counts, index))
        .unwrap_or_default();
    let h = Histogram {
        hint: hint(temporality),
        schema: p.scale.min(MAX_EXPONENTIAL_SCHEMA),
        zero_threshold: ZERO_THRESHOLD,
        zero_count: p.zero_count,
        count: p.count,
        sum: p.sum.unwrap_or(0.0),
        positive_spans,
        negative_spans,
        positive_deltas,
        negative_deltas,
        custom_values: Vec::new(),
    };
    h.validate().map_err(|e| e.to_string())?;
    Ok(h)
}

/// An explicit-bucket histogram point as a custom-bucket native histogram.
pub fn custom_buckets(p: &HistogramDataPoint, temporality: i32) -> Result<Histogram, Refusal> {
    if let Some(h) = stale(p.flags) {
        return Ok(h);
    }
    if !p.bucket_counts.is_empty() && p.bucket_counts.len() != p.explicit_bounds.len() + 1 {
        return Err(format!(
            "{} bucket counts for {} explicit bounds",
            p.bucket_counts.len(),
            p.explicit_bounds.len()
        ));
    }
    let (positive_spans, positive_deltas) = layout(0, &p.bucket_counts, |i| i);
    let h = Histogram {
        hint: hint(temporality),
        schema: CUSTOM_BUCKETS_SCHEMA,
        count: p.count,
        sum: p.sum.unwrap_or(0.0),
        positive_spans,
        positive_deltas,
        custom_values: p.explicit_bounds.clone(),
        ..Histogram::default()
    };
    h.validate().map_err(|e| e.to_string())?;
    Ok(h)
}

/// Spans and deltas of `counts`, the first at OTLP index `offset`;
/// `index` maps an OTLP index to a Prometheus one (several may share one:
/// their counts add up).
fn layout(offset: i32, counts: &[u64], index: impl Fn(i64) -> i64) -> (Vec<Span>, Vec<i64>) {
    let mut merged: Vec<(i64, u64)> = Vec::new();
    for (i, &c) in counts.iter().enumerate() {
        let idx = index(i64::from(offset) + i as i64);
        match merged.last_mut() {
            Some((j, n)) if *j == idx => *n = n.saturating_add(c),
            _ => merged.push((idx, c)),
        }
    }
    let mut spans: Vec<Span> = Vec::new();
    let mut deltas = Vec::new();
    let mut prev_count = 0i64;
    let mut prev_idx: Option<i64> = None;
    for (idx, c) in merged.into_iter().filter(|b| b.1 > 0) {
        let c = c as i64;
        match prev_idx {
            None => spans.push(Span::new(idx as i32, 0)),
            Some(p) if idx - p - 1 > 2 => spans.push(Span::new((idx - p - 1) as i32, 0)),
            Some(p) => {
                for _ in 0..idx - p - 1 {
                    deltas.push(-prev_count);
                    prev_count = 0;
                    if let Some(s) = spans.last_mut() {
                        s.length += 1;
                    }
                }
            }
        }
        deltas.push(c - prev_count);
        prev_count = c;
        prev_idx = Some(idx);
        if let Some(s) = spans.last_mut() {
            s.length += 1;
        }
    }
    (spans, deltas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;

    fn point(scale: i32, offset: i32, counts: &[u64], zero: u64) -> ExponentialHistogramDataPoint {
        ExponentialHistogramDataPoint {
            scale,
            count: counts.iter().sum::<u64>() + zero,
            sum: Some(10.0),
            zero_count: zero,
            positive: Some(Buckets {
                offset,
                bucket_counts: counts.to_vec(),
            }),
            ..Default::default()
        }
    }

    const CUMULATIVE: i32 = AggregationTemporality::Cumulative as i32;
    const DELTA: i32 = AggregationTemporality::Delta as i32;

    #[test]
    fn exponential_table() {
        type Case = (
            &'static str,
            ExponentialHistogramDataPoint,
            i32,
            Vec<Span>,
            Vec<i64>,
        );
        let cases: Vec<Case> = vec![
            // OTLP index 0 is Prometheus index 1.
            (
                "index shifts by one",
                point(3, 0, &[1, 2, 3], 0),
                3,
                vec![Span::new(1, 3)],
                vec![1, 1, 1],
            ),
            (
                "negative offset",
                point(0, -2, &[4, 1], 0),
                0,
                vec![Span::new(-1, 2)],
                vec![4, -3],
            ),
            (
                "scale -4 kept",
                point(-4, 0, &[1], 0),
                -4,
                vec![Span::new(1, 1)],
                vec![1],
            ),
            // Scale 10 → 8 merges groups of 4: OTLP 0..3 → 1, 4..7 → 2.
            (
                "downscaled by two",
                point(10, 0, &[1, 1, 1, 1, 2, 0, 0, 0], 0),
                8,
                vec![Span::new(1, 2)],
                vec![4, -2],
            ),
            // OTLP -1 >> 1 = -1, so -1 → 0 and 0,1 → 1.
            (
                "downscale floors negatives",
                point(9, -1, &[5, 1, 1], 0),
                8,
                vec![Span::new(0, 2)],
                vec![5, -3],
            ),
            (
                "small gap zero-filled",
                point(0, 0, &[1, 0, 0, 2], 0),
                0,
                vec![Span::new(1, 4)],
                vec![1, -1, 0, 2],
            ),
            (
                "large gap new span",
                point(0, 0, &[1, 0, 0, 0, 2], 0),
                0,
                vec![Span::new(1, 1), Span::new(3, 1)],
                vec![1, 1],
            ),
            (
                "leading zeros skipped",
                point(0, 0, &[0, 0, 3], 7),
                0,
                vec![Span::new(3, 1)],
                vec![3],
            ),
        ];
        for (name, p, schema, spans, deltas) in cases {
            let h = exponential(&p, CUMULATIVE).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(h.schema, schema, "{name}");
            assert_eq!(h.positive_spans, spans, "{name}");
            assert_eq!(h.positive_deltas, deltas, "{name}");
            assert_eq!(h.zero_threshold, ZERO_THRESHOLD, "{name}");
            assert_eq!(h.count, p.count, "{name}");
            assert_eq!(h.zero_count, p.zero_count, "{name}");
            assert_eq!(h.hint, CounterResetHint::Unknown, "{name}");
        }
    }

    #[test]
    fn exponential_refusals_and_flags() {
        let err = exponential(&point(-5, 0, &[1], 0), CUMULATIVE).unwrap_err();
        assert!(err.contains("scale -5"), "{err}");
        let delta = exponential(&point(0, 0, &[1], 0), DELTA).unwrap();
        assert_eq!(delta.hint, CounterResetHint::Gauge);
        let mut p = point(0, 0, &[1], 0);
        p.flags = DataPointFlags::NoRecordedValueMask as u32;
        assert!(exponential(&p, CUMULATIVE).unwrap().is_stale());
        // The count must match the buckets (the model's rule).
        let mut p = point(0, 0, &[1, 2], 0);
        p.count = 99;
        assert!(exponential(&p, CUMULATIVE).is_err());
        // Negative buckets mirror positive ones.
        let mut p = point(0, 0, &[], 0);
        p.negative = Some(Buckets {
            offset: 1,
            bucket_counts: vec![2],
        });
        p.count = 2;
        let h = exponential(&p, CUMULATIVE).unwrap();
        assert_eq!(h.negative_spans, vec![Span::new(2, 1)]);
        assert_eq!(h.negative_deltas, vec![2]);
    }

    #[test]
    fn custom_buckets_table() {
        let p = HistogramDataPoint {
            count: 6,
            sum: Some(12.5),
            explicit_bounds: vec![0.5, 1.0, 5.0],
            bucket_counts: vec![0, 1, 0, 5],
            ..Default::default()
        };
        let h = custom_buckets(&p, CUMULATIVE).unwrap();
        assert_eq!(h.schema, CUSTOM_BUCKETS_SCHEMA);
        assert_eq!(h.custom_values, vec![0.5, 1.0, 5.0]);
        assert_eq!(h.positive_spans, vec![Span::new(1, 3)]);
        assert_eq!(h.positive_deltas, vec![1, -1, 5]);
        assert_eq!(h.sum, 12.5);
        let mut bad = p.clone();
        bad.bucket_counts.pop();
        assert!(
            custom_buckets(&bad, CUMULATIVE)
                .unwrap_err()
                .contains("3 bucket counts")
        );
        let mut unsorted = p.clone();
        unsorted.explicit_bounds = vec![1.0, 0.5, 5.0];
        assert!(custom_buckets(&unsorted, CUMULATIVE).is_err());
        assert_eq!(
            custom_buckets(&p, DELTA).unwrap().hint,
            CounterResetHint::Gauge
        );
    }
}
