//! The native-histogram trim operators: `h </ c` keeps the observations
//! below `c`, `h >/ c` the ones above it (Prometheus 3.11+).
//!
//! A bucket on the kept side of `c` stays whole, one on the other side is
//! emptied, and one that `c` cuts keeps the share of its population
//! interpolated below (or above) `c`: exponentially in exponential
//! buckets, linearly in custom buckets and in the zero bucket. When
//! anything was removed, count is the kept population and the sum is
//! estimated: every kept observation at the mean of its bucket's kept part
//! (geometric for exponential buckets, arithmetic otherwise). When nothing
//! was removed the histogram comes back unchanged.
//!
//! The zero bucket `[-z, z]` counts as `[0, z]` when the histogram has
//! populated positive buckets only, `[-z, 0]` for negative ones only.
//! Custom buckets reaching to ±Inf follow Prometheus: the `+Inf` bucket
//! is all at `+Inf` (dropped by `</`, kept whole by `>/` at `max(l, c)`);
//! a first bucket `(-Inf, u]` with `u <= 0` is all at `-Inf`; one with
//! `u > 0` counts as `[0, u]` for cutoffs at or above 0 and is dropped
//! below 0.

use tsdb::model::histogram::{FloatHistogram, bucket_bound};

/// `h </ c` (`upper`) or `h >/ c`.
pub(crate) fn trim(h: &FloatHistogram, c: f64, upper: bool) -> FloatHistogram {
    if c == f64::INFINITY && upper || c == f64::NEG_INFINITY && !upper {
        return h.clone();
    }
    let mut out = h.clone();
    if c.is_infinite() {
        out.count = 0.0;
        out.sum = 0.0;
        out.zero_count = 0.0;
        out.positive_buckets.iter_mut().for_each(|n| *n = 0.0);
        out.negative_buckets.iter_mut().for_each(|n| *n = 0.0);
        out.compact(0);
        return out;
    }
    let mut acc = Kept::default();
    if h.uses_custom_buckets() {
        let idx: Vec<i32> = h.positive().map(|(i, _)| i).collect();
        for (slot, i) in out.positive_buckets.iter_mut().zip(idx) {
            let lo = if i == 0 {
                f64::NEG_INFINITY
            } else {
                bucket_bound(h.schema, i - 1, &h.custom_values)
            };
            let hi = bucket_bound(h.schema, i, &h.custom_values);
            *slot = acc.visit(*slot, custom(lo, hi, *slot, c, upper));
        }
    } else {
        let populated = |b: &[f64]| b.iter().any(|&n| n != 0.0);
        let z = h.zero_threshold;
        let (zlo, zhi) = match (
            populated(&h.positive_buckets),
            populated(&h.negative_buckets),
        ) {
            (true, false) => (0.0, z),
            (false, true) => (-z, 0.0),
            _ => (-z, z),
        };
        if h.zero_count != 0.0 {
            let part = cut(zlo, zhi, h.zero_count, c, upper, Interp::Linear);
            out.zero_count = acc.visit(h.zero_count, part);
        }
        let pos: Vec<i32> = h.positive().map(|(i, _)| i).collect();
        for (slot, i) in out.positive_buckets.iter_mut().zip(pos) {
            let lo = bucket_bound(h.schema, i - 1, &[]);
            let hi = bucket_bound(h.schema, i, &[]);
            *slot = acc.visit(*slot, cut(lo, hi, *slot, c, upper, Interp::Exponential));
        }
        let neg: Vec<i32> = h.negative().map(|(i, _)| i).collect();
        for (slot, i) in out.negative_buckets.iter_mut().zip(neg) {
            let lo = -bucket_bound(h.schema, i, &[]);
            let hi = -bucket_bound(h.schema, i - 1, &[]);
            *slot = acc.visit(*slot, cut(lo, hi, *slot, c, upper, Interp::Exponential));
        }
    }
    if !acc.removed {
        return h.clone();
    }
    out.count = acc.count;
    out.sum = acc.sum;
    out.compact(0);
    out
}

/// The kept part of a bucket: its population and the value each kept
/// observation counts as in the sum.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Part {
    n: f64,
    at: f64,
}

const DROPPED: Part = Part { n: 0.0, at: 0.0 };

/// Running totals over the kept parts.
#[derive(Default)]
struct Kept {
    count: f64,
    sum: f64,
    removed: bool,
}

impl Kept {
    /// Records the kept `part` of a bucket holding `n`; returns its count.
    fn visit(&mut self, n: f64, part: Part) -> f64 {
        if part.n != n {
            self.removed = true;
        }
        if part.n != 0.0 {
            self.count += part.n;
            self.sum += part.n * part.at;
        }
        part.n
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Interp {
    Linear,
    Exponential,
}

/// The part of bucket `[lo, hi]` (population `n`) below `c` (`upper`) or
/// above it.
fn cut(lo: f64, hi: f64, n: f64, c: f64, upper: bool, interp: Interp) -> Part {
    let mean = |a: f64, b: f64| match interp {
        Interp::Linear => (a + b) / 2.0,
        Interp::Exponential if a < 0.0 => -(a * b).sqrt(),
        Interp::Exponential => (a * b).sqrt(),
    };
    let (whole, none) = if upper {
        (hi <= c, lo >= c)
    } else {
        (lo >= c, hi <= c)
    };
    if whole {
        return Part {
            n,
            at: mean(lo, hi),
        };
    }
    if none {
        return DROPPED;
    }
    let below = match interp {
        Interp::Linear => (c - lo) / (hi - lo),
        Interp::Exponential if lo > 0.0 => (c / lo).ln() / (hi / lo).ln(),
        Interp::Exponential => (lo / c).ln() / (lo / hi).ln(),
    };
    if upper {
        Part {
            n: n * below,
            at: mean(lo, c),
        }
    } else {
        Part {
            n: n * (1.0 - below),
            at: mean(c, hi),
        }
    }
}

/// The kept part of custom bucket `(lo, hi]` for a finite cutoff.
fn custom(lo: f64, hi: f64, n: f64, c: f64, upper: bool) -> Part {
    match (lo == f64::NEG_INFINITY, hi == f64::INFINITY) {
        (true, true) => DROPPED,
        (false, true) if upper => DROPPED,
        (false, true) => Part { n, at: lo.max(c) },
        (true, false) if hi <= 0.0 && upper => Part { n, at: hi.min(c) },
        (true, false) if hi <= 0.0 => DROPPED,
        (true, false) if c < 0.0 => DROPPED,
        (true, false) => cut(0.0, hi, n, c, upper, Interp::Linear),
        (false, false) => cut(lo, hi, n, c, upper, Interp::Linear),
    }
}

#[cfg(test)]
mod tests {
    use tsdb::model::histogram::Span;

    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
    }

    /// `{{schema:0 sum:123.75 count:34 z_bucket:1 z_bucket_w:0.001
    /// buckets:[2 4 8 16] n_buckets:[1 2]}}` of native_histograms.test.
    fn h_test() -> FloatHistogram {
        FloatHistogram {
            count: 34.0,
            sum: 123.75,
            zero_threshold: 0.001,
            zero_count: 1.0,
            positive_spans: vec![Span::new(0, 4)],
            positive_buckets: vec![2.0, 4.0, 8.0, 16.0],
            negative_spans: vec![Span::new(0, 2)],
            negative_buckets: vec![1.0, 2.0],
            ..FloatHistogram::default()
        }
    }

    /// `{{schema:-53 sum:172.5 count:15 custom_values:[5 10 15 20]
    /// buckets:[1 6 4 3 1]}}`.
    fn cbh() -> FloatHistogram {
        FloatHistogram {
            schema: -53,
            count: 15.0,
            sum: 172.5,
            positive_spans: vec![Span::new(0, 5)],
            positive_buckets: vec![1.0, 6.0, 4.0, 3.0, 1.0],
            custom_values: vec![5.0, 10.0, 15.0, 20.0],
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn trim_table() {
        // (name, input, cutoff, upper, count, sum) from native_histograms.test.
        let cases = [
            (
                "exp </ +Inf is a no-op",
                h_test(),
                f64::INFINITY,
                true,
                34.0,
                123.75,
            ),
            (
                "exp >/ +Inf empties",
                h_test(),
                f64::INFINITY,
                false,
                0.0,
                0.0,
            ),
            ("exp >/ 0", h_test(), 0.0, false, 30.5, 120.20840280171308),
            ("exp </ 0", h_test(), 0.0, true, 3.5, -3.535783905932737),
            (
                "exp </ sqrt2",
                h_test(),
                std::f64::consts::SQRT_2,
                true,
                8.0,
                0.2570938865989847,
            ),
            (
                "exp >/ 2 on a bound",
                h_test(),
                2.0,
                false,
                24.0,
                113.13708498984761,
            ),
            ("exp >/ -1", h_test(), -1.0, false, 32.0, 119.50104602052653),
            ("custom </ 13", cbh(), 13.0, true, 9.4, 75.1),
            ("custom >/ 13", cbh(), 13.0, false, 5.6, 94.9),
            ("custom </ 50 drops +Inf", cbh(), 50.0, true, 14.0, 150.0),
            ("custom >/ 0 is a no-op", cbh(), 0.0, false, 15.0, 172.5),
            ("custom </ 0 empties", cbh(), 0.0, true, 0.0, 0.0),
        ];
        for (name, h, c, upper, count, sum) in cases {
            let got = trim(&h, c, upper);
            assert!(close(got.count, count), "{name}: count {}", got.count);
            assert!(close(got.sum, sum), "{name}: sum {}", got.sum);
            assert_eq!(
                (got.schema, got.zero_threshold, &got.custom_values),
                (h.schema, h.zero_threshold, &h.custom_values),
                "{name}: layout kept"
            );
        }
    }

    #[test]
    fn zero_bucket_bias() {
        // h_positive_buckets: z_bucket:2 z_bucket_w:0.5 buckets:[10].
        let h = FloatHistogram {
            count: 12.0,
            sum: 8.021_067_811_865_476,
            zero_threshold: 0.5,
            zero_count: 2.0,
            positive_spans: vec![Span::new(0, 1)],
            positive_buckets: vec![10.0],
            ..FloatHistogram::default()
        };
        let got = trim(&h, 0.1, false);
        assert!(close(got.zero_count, 1.6) && close(got.sum, 7.551067811865476));
        let got = trim(&h, 0.1, true);
        assert!(close(got.zero_count, 0.4) && close(got.sum, 0.02));
        assert_eq!(trim(&h, 0.0, false), h, "nothing below 0: unchanged");
    }
}
