//! Native histograms: the second sample kind beside floats.
//!
//! Two representations, as in Prometheus:
//! - [`Histogram`]: integer counts, buckets stored as deltas (the first
//!   bucket absolute, then each one relative to the previous) — what remote
//!   write, the WAL and integer chunks carry;
//! - [`FloatHistogram`]: float counts, buckets absolute — what PromQL
//!   computes with (rates, sums and averages are fractional).
//!
//! Buckets are addressed by index through [`Span`]s: the first span's
//! offset is the index of its first bucket, a later span's offset the gap
//! after the previous span. For an exponential schema `s` (−4…8) positive
//! bucket `i` is `(2^((i−1)·2^−s), 2^(i·2^−s)]`, negative buckets mirror
//! it, and the zero bucket is `[−zero_threshold, zero_threshold]`. Schema
//! −53 has custom buckets: `custom_values` are the finite upper bounds,
//! `+Inf` implicit, bucket 0 is `(−Inf, cv[0]]`.
//!
//! - [`validate`](Histogram::validate): one [`HistogramError`] per broken
//!   rule.
//! - [`bounds`]: bucket boundaries, exactly as Prometheus computes them.
//! - [`FloatHistogram`]'s arithmetic lives in `ops`.

mod bounds;
mod bounds_table;
mod layout;
mod ops;
mod validate;

#[cfg(test)]
mod tests;

pub use bounds::{Bucket, bucket_bound, buckets};
pub use layout::Layout;
pub use ops::IndexedBuckets;

use crate::error::HistogramError;

/// Schema of native histograms with custom bucket bounds.
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;
/// The exponential schemas: −4 (coarsest) to 8 (finest).
pub const MIN_EXPONENTIAL_SCHEMA: i32 = -4;
pub const MAX_EXPONENTIAL_SCHEMA: i32 = 8;

/// A run of `length` consecutive buckets; see the module doc for `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub offset: i32,
    pub length: u32,
}

impl Span {
    pub fn new(offset: i32, length: u32) -> Span {
        Span { offset, length }
    }
}

/// What the writer knew about counter resets (stored in chunk headers and
/// remote write's `reset_hint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum CounterResetHint {
    /// Detect resets by comparing with the previous sample.
    #[default]
    Unknown = 0,
    /// A counter reset happened right before this sample.
    CounterReset = 1,
    /// Known not to be a reset.
    NotCounterReset = 2,
    /// A gauge histogram: resets do not apply.
    Gauge = 3,
}

impl CounterResetHint {
    /// The hint for a wire or WAL byte; `None` for values past 3.
    pub fn from_u8(v: u8) -> Option<CounterResetHint> {
        Some(match v {
            0 => CounterResetHint::Unknown,
            1 => CounterResetHint::CounterReset,
            2 => CounterResetHint::NotCounterReset,
            3 => CounterResetHint::Gauge,
            _ => return None,
        })
    }
}

/// A histogram with integer counts; buckets are deltas.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub hint: CounterResetHint,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: u64,
    pub count: u64,
    pub sum: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    pub positive_deltas: Vec<i64>,
    pub negative_deltas: Vec<i64>,
    /// Upper bounds of custom buckets (schema −53 only).
    pub custom_values: Vec<f64>,
}

/// A histogram with float counts; buckets are absolute.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FloatHistogram {
    pub hint: CounterResetHint,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: f64,
    pub count: f64,
    pub sum: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    pub positive_buckets: Vec<f64>,
    pub negative_buckets: Vec<f64>,
    /// Upper bounds of custom buckets (schema −53 only).
    pub custom_values: Vec<f64>,
}

/// A histogram sample's value as it is appended and stored: integer or
/// float counts.
#[derive(Debug, Clone, PartialEq)]
pub enum HistogramValue {
    Int(Histogram),
    Float(FloatHistogram),
}

impl HistogramValue {
    /// The value with float counts.
    pub fn to_float(&self) -> FloatHistogram {
        match self {
            HistogramValue::Int(h) => h.to_float(),
            HistogramValue::Float(h) => h.clone(),
        }
    }

    pub fn hint(&self) -> CounterResetHint {
        match self {
            HistogramValue::Int(h) => h.hint,
            HistogramValue::Float(h) => h.hint,
        }
    }

    pub fn is_stale(&self) -> bool {
        match self {
            HistogramValue::Int(h) => h.is_stale(),
            HistogramValue::Float(h) => h.is_stale(),
        }
    }

    /// Checks every rule of the model; the first broken one is the error.
    pub fn validate(&self) -> Result<(), HistogramError> {
        match self {
            HistogramValue::Int(h) => h.validate(),
            HistogramValue::Float(h) => h.validate(),
        }
    }
}

/// The bit pattern of a stale histogram's `sum` (the float stale marker):
/// a histogram whose sum has these bits marks its series stale.
pub const STALE_SUM_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Absolute bucket counts as an integer histogram stores them: the first
/// as it is, each later one as the change from the one before.
pub fn deltas(counts: &[u64]) -> Vec<i64> {
    let mut prev = 0i64;
    counts
        .iter()
        .map(|&c| {
            let d = (c as i64).wrapping_sub(prev);
            prev = c as i64;
            d
        })
        .collect()
}

fn absolute(deltas: &[i64]) -> Vec<f64> {
    let mut acc = 0i64;
    deltas
        .iter()
        .map(|&d| {
            acc = acc.wrapping_add(d);
            acc as f64
        })
        .collect()
}

impl Histogram {
    /// Whether the schema is −53 (custom bucket bounds).
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }

    /// Whether this is the stale marker.
    pub fn is_stale(&self) -> bool {
        self.sum.to_bits() == STALE_SUM_BITS
    }

    /// The same histogram with float counts.
    pub fn to_float(&self) -> FloatHistogram {
        FloatHistogram {
            hint: self.hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count as f64,
            count: self.count as f64,
            sum: self.sum,
            positive_spans: self.positive_spans.clone(),
            negative_spans: self.negative_spans.clone(),
            positive_buckets: absolute(&self.positive_deltas),
            negative_buckets: absolute(&self.negative_deltas),
            custom_values: self.custom_values.clone(),
        }
    }

    /// Checks every rule of the model; the first broken one is the error.
    pub fn validate(&self) -> Result<(), HistogramError> {
        validate::validate_int(self)
    }
}

impl FloatHistogram {
    /// Whether the schema is −53 (custom bucket bounds).
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }

    /// Whether this is the stale marker.
    pub fn is_stale(&self) -> bool {
        self.sum.to_bits() == STALE_SUM_BITS
    }

    /// A stale marker.
    pub fn stale() -> FloatHistogram {
        FloatHistogram {
            sum: f64::from_bits(STALE_SUM_BITS),
            ..FloatHistogram::default()
        }
    }

    /// Checks every rule of the model; the first broken one is the error.
    pub fn validate(&self) -> Result<(), HistogramError> {
        validate::validate_float(self)
    }
}
