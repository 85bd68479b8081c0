//! Functions of one native histogram: `histogram_count`, `_sum`, `_avg`,
//! `_stddev`, `_stdvar`, `_quantile` and `_fraction` (Prometheus 3.x
//! semantics, from its documentation).
//!
//! Quantiles and fractions interpolate exponentially inside exponential
//! buckets (observations spread evenly in log space, as the schema
//! assumes) and linearly inside the zero bucket and custom buckets. In a
//! zero bucket of a histogram with only positive (negative) buckets, 0 is
//! taken as its lower (upper) bound. Of custom buckets, the first one's
//! lower bound counts as 0 when its upper bound is above 0, and a quantile
//! in the `+Inf` bucket is that bucket's lower bound.

use tsdb::model::histogram::{Bucket, FloatHistogram, buckets};

use crate::eval::stats::kahan_inc;

/// `histogram_stdvar` (or, `sqrt`ed, `histogram_stddev`): the variance of
/// the observations, each bucket's observations taken at its geometric
/// mean (exponential buckets), arithmetic mean (custom buckets) or 0 (the
/// zero bucket), around `sum / count`.
pub fn stdvar(h: &FloatHistogram) -> f64 {
    let mean = h.sum / h.count;
    let (mut v, mut c) = (0.0, 0.0);
    for b in buckets(h).into_iter().filter(|b| b.count != 0.0) {
        let x = if h.uses_custom_buckets() {
            (b.upper + b.lower) / 2.0
        } else if b.lower <= 0.0 && b.upper >= 0.0 {
            0.0
        } else {
            let g = (b.upper * b.lower).sqrt();
            if b.upper < 0.0 { -g } else { g }
        };
        let d = x - mean;
        (v, c) = kahan_inc(b.count * d * d, v, c);
    }
    (v + c) / h.count
}

/// A bucket's bounds as interpolation uses them (see the module doc).
fn effective(h: &FloatHistogram, mut b: Bucket) -> Bucket {
    if h.uses_custom_buckets() {
        if b.lower == f64::NEG_INFINITY && b.upper > 0.0 {
            b.lower = 0.0;
        }
    } else if b.lower < 0.0 && b.upper > 0.0 {
        let (pos, neg) = (
            !h.positive_buckets.is_empty(),
            !h.negative_buckets.is_empty(),
        );
        if pos && !neg {
            b.lower = 0.0;
        } else if neg && !pos {
            b.upper = 0.0;
        }
    }
    b
}

/// The point `f` (0…1) of the way through bucket `b`.
fn interpolate(h: &FloatHistogram, b: &Bucket, f: f64) -> f64 {
    let linear = h.uses_custom_buckets() || (b.lower <= 0.0 && b.upper >= 0.0);
    if linear {
        return b.lower + (b.upper - b.lower) * f;
    }
    if b.lower > 0.0 {
        let (lo, hi) = (b.lower.log2(), b.upper.log2());
        (lo + (hi - lo) * f).exp2()
    } else {
        // Mirrored: |upper| is the small end.
        let (lo, hi) = ((-b.upper).log2(), (-b.lower).log2());
        -(hi - (hi - lo) * f).exp2()
    }
}

/// The fraction (0…1) of bucket `b` below `x`: the inverse of
/// [`interpolate`].
fn fraction_below(h: &FloatHistogram, b: &Bucket, x: f64) -> f64 {
    if x <= b.lower {
        return 0.0;
    }
    if x >= b.upper {
        return 1.0;
    }
    let linear = h.uses_custom_buckets() || (b.lower <= 0.0 && b.upper >= 0.0);
    if linear {
        return (x - b.lower) / (b.upper - b.lower);
    }
    if b.lower > 0.0 {
        let (lo, hi) = (b.lower.log2(), b.upper.log2());
        (x.log2() - lo) / (hi - lo)
    } else {
        let (lo, hi) = ((-b.upper).log2(), (-b.lower).log2());
        (hi - (-x).log2()) / (hi - lo)
    }
}

/// `histogram_quantile(q, h)`: NaN for `q` NaN or an empty histogram,
/// −Inf/+Inf for `q` below 0/above 1. Quantiles of `q ≥ 0.5` are found
/// walking down from the top, so that rounding errors in the counts land
/// in the bottom half (unless the sum is NaN: then NaN observations are in
/// the count only, and the walk is from the bottom).
pub fn quantile(q: f64, h: &FloatHistogram) -> f64 {
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if q.is_nan() || h.count == 0.0 {
        return f64::NAN;
    }
    let mut all: Vec<Bucket> = buckets(h).into_iter().filter(|b| b.count != 0.0).collect();
    if all.is_empty() {
        return f64::NAN;
    }
    let forward = h.sum.is_nan() || q < 0.5;
    if !forward {
        all.reverse();
    }
    let rank = if forward {
        q * h.count
    } else {
        (1.0 - q) * h.count
    };
    let mut seen = 0.0;
    let mut found = all[all.len() - 1];
    for b in &all {
        seen += b.count;
        found = *b;
        if seen >= rank {
            break;
        }
    }
    if h.uses_custom_buckets() {
        if found.lower == f64::NEG_INFINITY && found.upper <= 0.0 {
            return found.upper;
        }
        if found.upper == f64::INFINITY {
            return found.lower;
        }
    }
    let b = effective(h, found);
    let seen = seen.min(h.count);
    if seen < rank {
        if h.sum.is_nan() {
            // The rank is among the NaN observations, which no bucket holds.
            return f64::NAN;
        }
        return if forward { b.upper } else { b.lower };
    }
    // How far into the bucket the rank is, from the walk's side.
    let into = (rank - (seen - b.count)) / b.count;
    interpolate(h, &b, if forward { into } else { 1.0 - into })
}

/// `histogram_fraction(lower, upper, h)`: the estimated share of
/// observations in `[lower, upper]`; NaN for an empty histogram or a NaN
/// bound.
pub fn fraction(lower: f64, upper: f64, h: &FloatHistogram) -> f64 {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    let below = |x: f64| -> f64 {
        let mut r = 0.0;
        for b in buckets(h).into_iter().filter(|b| b.count != 0.0) {
            if x == f64::INFINITY || b.upper <= x {
                r += b.count;
                continue;
            }
            if b.lower >= x {
                break;
            }
            if h.uses_custom_buckets() && b.upper == f64::INFINITY {
                // Nothing is known about the +Inf bucket's spread: its
                // observations count as +Inf.
                break;
            }
            if h.uses_custom_buckets() && b.lower == f64::NEG_INFINITY && b.upper <= 0.0 {
                // Likewise the first bucket's count as -Inf (one reaching
                // above 0 counts as from 0 instead).
                r += b.count;
                continue;
            }
            let e = effective(h, b);
            r += b.count * fraction_below(h, &e, x);
            break;
        }
        r.min(h.count)
    };
    if upper < lower {
        return 0.0;
    }
    (below(upper) - below(lower)) / h.count
}

#[cfg(test)]
mod tests {
    use tsdb::model::histogram::Span;

    use super::*;

    fn exp(schema: i32, buckets: Vec<f64>, offset: i32) -> FloatHistogram {
        let count = buckets.iter().sum();
        FloatHistogram {
            schema,
            count,
            sum: 0.0,
            positive_spans: vec![Span::new(offset, buckets.len() as u32)],
            positive_buckets: buckets,
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn quantile_table() {
        // Schema 0: bucket 1 is (1, 2], bucket 2 (2, 4].
        let h = exp(0, vec![2.0, 2.0], 1);
        let cases = [
            ("q below 0", -0.1, f64::NEG_INFINITY),
            ("q above 1", 1.1, f64::INFINITY),
            ("median at the bucket edge", 0.5, 2.0),
            // A quarter of the way through (1, 2] in log space: 2^0.5.
            ("first quartile", 0.25, 2f64.sqrt()),
            ("third quartile", 0.75, 2f64.powf(1.5)),
            ("maximum", 1.0, 4.0),
        ];
        for (name, q, want) in cases {
            let got = quantile(q, &h);
            assert!(
                got == want || (got - want).abs() < 1e-12,
                "{name}: {got} vs {want}"
            );
        }
        assert!(quantile(0.5, &FloatHistogram::default()).is_nan());
        assert!(quantile(f64::NAN, &h).is_nan());
    }

    #[test]
    fn custom_buckets_interpolate_linearly_and_inf_gives_the_lower_bound() {
        let h = FloatHistogram {
            schema: -53,
            count: 4.0,
            custom_values: vec![10.0, 20.0],
            positive_spans: vec![Span::new(0, 3)],
            positive_buckets: vec![2.0, 1.0, 1.0],
            ..FloatHistogram::default()
        };
        // First bucket [0, 10] (lower taken as 0), linear.
        assert_eq!(quantile(0.25, &h), 5.0);
        assert_eq!(quantile(0.625, &h), 15.0);
        assert_eq!(quantile(0.99, &h), 20.0, "+Inf bucket → its lower bound");
        assert_eq!(fraction(0.0, 10.0, &h), 0.5);
        assert_eq!(fraction(0.0, 15.0, &h), 0.625);
    }

    #[test]
    fn fraction_is_the_inverse_of_quantile() {
        let h = exp(1, vec![1.0, 3.0, 4.0, 2.0], -2);
        for q in [0.1, 0.3, 0.45, 0.6, 0.9] {
            let x = quantile(q, &h);
            let f = fraction(f64::NEG_INFINITY, x, &h);
            assert!((f - q).abs() < 1e-9, "q={q}: x={x}, fraction={f}");
        }
        assert_eq!(fraction(f64::NEG_INFINITY, f64::INFINITY, &h), 1.0);
        assert_eq!(fraction(5.0, 1.0, &h), 0.0);
    }

    #[test]
    fn stdvar_uses_bucket_means() {
        // Two observations at the geometric means of (1,2] and (2,4].
        let mut h = exp(0, vec![1.0, 1.0], 1);
        let (a, b) = (2f64.sqrt(), 8f64.sqrt());
        h.sum = a + b;
        let mean = h.sum / 2.0;
        let want = ((a - mean).powi(2) + (b - mean).powi(2)) / 2.0;
        assert!((stdvar(&h) - want).abs() < 1e-12);
    }
}
