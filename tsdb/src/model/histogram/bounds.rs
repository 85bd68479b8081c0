//! Bucket boundaries.
//!
//! Exponential bounds are `frac · 2^exp` with `frac` from Prometheus's
//! table of `2^(i/2^s − 1)` and the same `ldexp`, so bounds (and
//! what PromQL interpolates between them) agree bit for bit. The upper
//! bound of the last finite bucket is `f64::MAX`, not `+Inf`: the bucket
//! above it counts observations of `+Inf`.

use super::bounds_table::SCHEMA8_FRACTIONS;
use super::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram, IndexedBuckets, MAX_EXPONENTIAL_SCHEMA};

/// One bucket with its bounds and count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub lower: f64,
    pub upper: f64,
    pub lower_inclusive: bool,
    pub upper_inclusive: bool,
    pub count: f64,
    /// The bucket's index on its side (0 for the zero bucket).
    pub index: i32,
}

/// `x · 2^e`, exact wherever the result is a normal number.
fn ldexp(mut x: f64, mut e: i32) -> f64 {
    let pow2 = |e: i32| f64::from_bits(((e + 1023) as u64) << 52);
    while e > 1023 {
        x *= pow2(1023);
        e -= 1023;
    }
    while e < -1022 {
        x *= pow2(-1022);
        e += 1022;
    }
    x * pow2(e)
}

/// `2^(i/2^s − 1)` of Prometheus's table, for `i < 2^s` at schema `s`
/// (0…8).
fn fraction(schema: i32, i: i32) -> f64 {
    SCHEMA8_FRACTIONS[(i << (MAX_EXPONENTIAL_SCHEMA - schema)) as usize]
}

/// The upper bound of positive bucket `index` at `schema` (for schema −53,
/// of custom bucket `index`: `custom[index]`, `+Inf` past the last).
pub fn bucket_bound(schema: i32, index: i32, custom: &[f64]) -> f64 {
    if schema == CUSTOM_BUCKETS_SCHEMA {
        return match usize::try_from(index) {
            Ok(i) => custom.get(i).copied().unwrap_or(f64::INFINITY),
            Err(_) => f64::NEG_INFINITY,
        };
    }
    if schema < 0 {
        let exp = i64::from(index) << -schema;
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp.clamp(-2000, 2000) as i32);
    }
    let frac = fraction(schema, index & ((1 << schema) - 1));
    let exp = (index >> schema) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

/// Every bucket of `h` in ascending order of value: negative buckets (most
/// negative first), the zero bucket when it has a width or a count, then
/// positive buckets; empty buckets included.
pub fn buckets(h: &FloatHistogram) -> Vec<Bucket> {
    let mut out = Vec::with_capacity(h.positive_buckets.len() + h.negative_buckets.len() + 1);
    let custom = h.uses_custom_buckets();
    let neg: Vec<(i32, f64)> =
        IndexedBuckets::new(&h.negative_spans, &h.negative_buckets).collect();
    for &(i, count) in neg.iter().rev() {
        out.push(Bucket {
            lower: -bucket_bound(h.schema, i, &h.custom_values),
            upper: -bucket_bound(h.schema, i - 1, &h.custom_values),
            lower_inclusive: true,
            upper_inclusive: false,
            count,
            index: i,
        });
    }
    if !custom && (h.zero_threshold != 0.0 || h.zero_count != 0.0) {
        out.push(Bucket {
            lower: -h.zero_threshold,
            upper: h.zero_threshold,
            lower_inclusive: true,
            upper_inclusive: true,
            count: h.zero_count,
            index: 0,
        });
    }
    for (i, count) in IndexedBuckets::new(&h.positive_spans, &h.positive_buckets) {
        let (lower, lower_inclusive) = if custom && i == 0 {
            (f64::NEG_INFINITY, true)
        } else {
            (bucket_bound(h.schema, i - 1, &h.custom_values), false)
        };
        out.push(Bucket {
            lower,
            upper: bucket_bound(h.schema, i, &h.custom_values),
            lower_inclusive,
            upper_inclusive: true,
            count,
            index: i,
        });
    }
    out
}
