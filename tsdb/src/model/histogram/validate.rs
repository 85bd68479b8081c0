//! The rules a histogram must follow, checked in Prometheus's order so the
//! first broken rule is the one Prometheus would name.

use super::{
    CUSTOM_BUCKETS_SCHEMA, FloatHistogram, Histogram, MAX_EXPONENTIAL_SCHEMA,
    MIN_EXPONENTIAL_SCHEMA, Span,
};
use crate::error::{HistogramError, Side};

/// The parts validation looks at, for both count types; bucket counts are
/// absolute here.
struct Parts<'a> {
    schema: i32,
    zero_threshold: f64,
    zero_count: f64,
    count: f64,
    sum: f64,
    positive_spans: &'a [Span],
    negative_spans: &'a [Span],
    positive: &'a [f64],
    negative: &'a [f64],
    custom_values: &'a [f64],
    /// Integer histograms: the count must equal the observations in the
    /// buckets (be at least them when the sum is NaN). Float histograms
    /// skip this check, as Prometheus does: float rounding would make it
    /// refuse correct histograms.
    check_count: bool,
}

pub(super) fn validate_int(h: &Histogram) -> Result<(), HistogramError> {
    let positive = super::absolute(&h.positive_deltas);
    let negative = super::absolute(&h.negative_deltas);
    validate(&Parts {
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: h.zero_count as f64,
        count: h.count as f64,
        sum: h.sum,
        positive_spans: &h.positive_spans,
        negative_spans: &h.negative_spans,
        positive: &positive,
        negative: &negative,
        custom_values: &h.custom_values,
        check_count: true,
    })
}

pub(super) fn validate_float(h: &FloatHistogram) -> Result<(), HistogramError> {
    validate(&Parts {
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: h.zero_count,
        count: h.count,
        sum: h.sum,
        positive_spans: &h.positive_spans,
        negative_spans: &h.negative_spans,
        positive: &h.positive_buckets,
        negative: &h.negative_buckets,
        custom_values: &h.custom_values,
        check_count: false,
    })
}

fn validate(h: &Parts) -> Result<(), HistogramError> {
    let mut negative_total = 0.0;
    if h.schema == CUSTOM_BUCKETS_SCHEMA {
        check_custom_bounds(h.custom_values, h.positive_spans, h.positive.len())?;
        if h.zero_count != 0.0 {
            return Err(HistogramError::CustomZeroCount);
        }
        if h.zero_threshold != 0.0 {
            return Err(HistogramError::CustomZeroThreshold);
        }
        if !h.negative_spans.is_empty() {
            return Err(HistogramError::CustomNegativeSpans);
        }
        if !h.negative.is_empty() {
            return Err(HistogramError::CustomNegativeBuckets);
        }
    } else if (MIN_EXPONENTIAL_SCHEMA..=MAX_EXPONENTIAL_SCHEMA).contains(&h.schema) {
        check_spans(Side::Positive, h.positive_spans, h.positive.len())?;
        check_spans(Side::Negative, h.negative_spans, h.negative.len())?;
        negative_total = check_buckets(Side::Negative, h.negative)?;
        if !h.custom_values.is_empty() {
            return Err(HistogramError::ExponentialWithCustomBounds);
        }
    } else {
        return Err(HistogramError::InvalidSchema(h.schema));
    }
    let in_buckets = negative_total + check_buckets(Side::Positive, h.positive)? + h.zero_count;
    if !h.check_count {
        return Ok(());
    }
    if h.sum.is_nan() {
        if in_buckets > h.count {
            return Err(HistogramError::CountNotBigEnough {
                in_buckets,
                count: h.count,
            });
        }
    } else if in_buckets != h.count {
        return Err(HistogramError::CountMismatch {
            in_buckets,
            count: h.count,
        });
    }
    Ok(())
}

/// Span offsets after the first are gaps (never negative), and the spans'
/// lengths add up to the number of buckets.
fn check_spans(side: Side, spans: &[Span], buckets: usize) -> Result<(), HistogramError> {
    for (i, s) in spans.iter().enumerate().skip(1) {
        if s.offset < 0 {
            return Err(HistogramError::NegativeSpanOffset {
                side,
                span: i + 1,
                offset: s.offset,
            });
        }
    }
    let need: u64 = spans.iter().map(|s| u64::from(s.length)).sum();
    if need != buckets as u64 {
        return Err(HistogramError::SpansBucketsMismatch {
            side,
            spans: need,
            buckets,
        });
    }
    Ok(())
}

/// No bucket count is negative; returns their total.
fn check_buckets(side: Side, counts: &[f64]) -> Result<f64, HistogramError> {
    let mut total = 0.0;
    for (i, &c) in counts.iter().enumerate() {
        if c < 0.0 {
            return Err(HistogramError::NegativeBucketCount {
                side,
                bucket: i + 1,
                count: c,
            });
        }
        total += c;
    }
    Ok(total)
}

/// Custom bounds increase strictly, are finite (`+Inf` is implicit), and
/// cover every bucket the spans name; spans have no negative offsets.
fn check_custom_bounds(
    bounds: &[f64],
    spans: &[Span],
    buckets: usize,
) -> Result<(), HistogramError> {
    let mut prev = f64::NEG_INFINITY;
    for &b in bounds {
        if b.is_nan() || b <= prev {
            return Err(HistogramError::CustomBoundsNotIncreasing { prev, curr: b });
        }
        prev = b;
    }
    if prev == f64::INFINITY {
        return Err(HistogramError::CustomBoundsInfinite);
    }
    let mut need = 0u64;
    let mut span_length = 0i64;
    for (i, s) in spans.iter().enumerate() {
        if s.offset < 0 {
            return Err(HistogramError::NegativeSpanOffset {
                side: Side::Positive,
                span: i + 1,
                offset: s.offset,
            });
        }
        need += u64::from(s.length);
        span_length += i64::from(s.length) + i64::from(s.offset);
    }
    if need != buckets as u64 {
        return Err(HistogramError::SpansBucketsMismatch {
            side: Side::Positive,
            spans: need,
            buckets,
        });
    }
    if (bounds.len() as i64) + 1 < span_length {
        return Err(HistogramError::CustomBoundsTooFew {
            bounds: bounds.len(),
            span_length,
        });
    }
    Ok(())
}
