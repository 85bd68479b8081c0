//! Quantiles and fractions of one classic histogram: cumulative counts
//! per upper bound (`le`), the last of which must be `+Inf`.
//!
//! Semantics follow Prometheus 3.14 (`BucketQuantile`/`BucketFraction`,
//! documented at
//! <https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile>)
//! and the expectations in `testdata/promql/histograms.test`.

use super::go_float::go_min;

/// One classic bucket: the cumulative `count` of observations `<= upper`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub upper: f64,
    pub count: f64,
}

/// Relative difference between neighbouring buckets below which
/// `histogram_quantile` treats them as equal (floating-point noise), as
/// Prometheus does: a trillionth of the sum of both counts.
const SMALL_DELTA: f64 = 1e-12;

/// The result of [`bucket_quantile`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantileResult {
    pub value: f64,
    /// Counts had to be raised to make them monotonic: the input is
    /// inconsistent and Prometheus reports an info annotation.
    pub forced_monotonic: bool,
}

/// The `q`-quantile of one classic histogram, interpolating linearly within
/// the bucket the rank falls into. Sorts (and may merge and adjust)
/// `buckets` in place.
///
/// In order:
/// - `q` NaN → NaN; `q < 0` → `-Inf`; `q > 1` → `+Inf`;
/// - the highest upper bound is not `+Inf` → NaN;
/// - buckets with equal upper bounds are merged by adding their counts;
///   differences smaller than [`SMALL_DELTA`] (relative) between
///   neighbours are ignored, and remaining decreases are raised to the
///   previous count (`forced_monotonic`);
/// - fewer than two buckets, or no observations → NaN;
/// - rank in the `+Inf` bucket → the second-highest upper bound;
/// - rank in the lowest bucket whose upper bound is `<= 0` → that bound;
/// - otherwise linear interpolation, the lowest bucket starting at 0.
pub fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> QuantileResult {
    let plain = |value| QuantileResult {
        value,
        forced_monotonic: false,
    };
    if q.is_nan() {
        return plain(f64::NAN);
    }
    if q < 0.0 {
        return plain(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return plain(f64::INFINITY);
    }
    if !sort_and_merge(buckets) {
        return plain(f64::NAN);
    }
    let forced_monotonic = make_monotonic(buckets);
    let value = interpolate_quantile(q, buckets);
    QuantileResult {
        value,
        forced_monotonic,
    }
}

/// The interpolation step of [`bucket_quantile`] on sorted, merged,
/// monotonic buckets ending in `+Inf`.
fn interpolate_quantile(q: f64, b: &[Bucket]) -> f64 {
    let n = b.len();
    if n < 2 {
        return f64::NAN;
    }
    let total = b[n - 1].count;
    if total == 0.0 {
        return f64::NAN;
    }
    let rank = q * total;
    let i = first_at_least(&b[..n - 1], rank);
    if i == n - 1 {
        return b[n - 2].upper;
    }
    if i == 0 && b[0].upper <= 0.0 {
        return b[0].upper;
    }
    let (start, below) = if i == 0 {
        (0.0, 0.0)
    } else {
        (b[i - 1].upper, b[i - 1].count)
    };
    let end = b[i].upper;
    start + (end - start) * ((rank - below) / (b[i].count - below))
}

/// Lower-bound binary search: the first index whose count is `>= rank`
/// (`len` if none). Counts are monotonic here except for NaN, for which
/// the probe sequence of the classic bisection decides, as in Go's
/// `sort.Search`.
fn first_at_least(b: &[Bucket], rank: f64) -> usize {
    let (mut lo, mut hi) = (0, b.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if b[mid].count >= rank {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// The fraction of observations between `lower` and `upper` in one classic
/// histogram, interpolating linearly within buckets. Sorts and merges
/// `buckets` in place; unlike [`bucket_quantile`] it does not adjust
/// non-monotonic counts.
///
/// - the highest upper bound is not `+Inf` → NaN;
/// - no observations, or a NaN bound → NaN; `lower >= upper` → 0;
/// - the lowest bucket starts at 0 if its upper bound is positive, else at
///   `-Inf`; nothing is interpolated within a bucket with an infinite
///   bound (a bound inside it counts none of its observations);
/// - a bound on a bucket boundary counts the buckets below it fully.
pub fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    if !sort_and_merge(buckets) {
        return f64::NAN;
    }
    let total = buckets[buckets.len() - 1].count;
    if total == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    // At most `total` (which NaN ranks are not capped by).
    let capped = |rank: Option<f64>| match rank {
        Some(r) if r <= total || r.is_nan() => r,
        _ => total,
    };
    let lower_rank = capped(rank_below(lower, buckets));
    let upper_rank = capped(rank_below(upper, buckets));
    (upper_rank - lower_rank) / total
}

/// The interpolated number of observations below `v`; `None` when `v` lies
/// above every finite bucket boundary and no bucket interval contains it.
fn rank_below(v: f64, buckets: &[Bucket]) -> Option<f64> {
    let mut below = 0.0; // Cumulative count of the buckets passed so far.
    let mut start = if buckets[0].upper <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for b in buckets {
        if start >= v {
            return Some(below);
        }
        if v < b.upper {
            if start == f64::NEG_INFINITY {
                return Some(b.count);
            }
            return Some(below + (b.count - below) * (v - start) / (b.upper - start));
        }
        below = b.count;
        start = b.upper;
    }
    None
}

/// Sorts by upper bound and merges equal bounds by adding their counts.
/// `false` (nothing to compute) when there are no buckets or the highest
/// bound is not `+Inf`. NaN bounds sort last (by `total_cmp`), so they make
/// the highest bound not `+Inf`.
fn sort_and_merge(buckets: &mut Vec<Bucket>) -> bool {
    buckets.sort_by(|a, b| a.upper.total_cmp(&b.upper));
    match buckets.last() {
        Some(b) if b.upper == f64::INFINITY => {}
        _ => return false,
    }
    buckets.dedup_by(|next, kept| {
        if next.upper == kept.upper {
            kept.count += next.count;
            true
        } else {
            false
        }
    });
    true
}

/// Ignores negligible differences between neighbours, then raises every
/// count below the last accepted one to it. Returns whether a real
/// (non-negligible) decrease had to be raised.
fn make_monotonic(buckets: &mut [Bucket]) -> bool {
    let Some(first) = buckets.first() else {
        return false;
    };
    let mut level = first.count;
    let mut forced = false;
    for b in &mut buckets[1..] {
        if b.count == level {
            continue;
        }
        if almost_equal(level, b.count, SMALL_DELTA) {
            b.count = level;
            continue;
        }
        if b.count < level {
            b.count = level;
            forced = true;
            continue;
        }
        level = b.count;
    }
    forced
}

/// Prometheus's `almost.Equal`: NaN equals NaN; otherwise the difference
/// must be below `epsilon` times the sum of magnitudes (times the smallest
/// normal number when either is zero or both are tiny).
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < epsilon * f64::MIN_POSITIVE;
    }
    diff / go_min(abs_sum, f64::MAX) < epsilon
}

#[cfg(test)]
mod tests;
