//! Native histogram samples in WAL records (types 8 and 9).
//!
//! ```text
//! Histograms:      type=8 │ count uvarint │ (ref uvarint │ t varint │ histogram)*
//! FloatHistograms: type=9 │ count uvarint │ (ref uvarint │ t varint │ float histogram)*
//! histogram: hint 1B │ schema varint │ zero threshold 8B BE │
//!            zero count, count: uvarint (integer) or 8B BE (float) │ sum 8B BE │
//!            positive spans, negative spans: n uvarint │ (offset varint │ length uvarint)* │
//!            positive, negative buckets: n uvarint │ (delta varint (integer) | count 8B BE (float))* │
//!            custom bounds: n uvarint │ bound 8B BE*
//! ```

use crate::encoding::{Decbuf, DecodeError, put_uvarint, put_varint};
use crate::model::histogram::{CounterResetHint, FloatHistogram, Histogram, Span};

/// A histogram sample of `series_ref` at `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramRecord {
    pub series_ref: u64,
    pub t: i64,
    pub h: Histogram,
}

/// A float histogram sample of `series_ref` at `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatHistogramRecord {
    pub series_ref: u64,
    pub t: i64,
    pub h: FloatHistogram,
}

type DecodeResult<T> = std::result::Result<T, DecodeError>;

fn put_f64(b: &mut Vec<u8>, v: f64) {
    b.extend_from_slice(&v.to_bits().to_be_bytes());
}

fn get_f64(d: &mut Decbuf, what: &'static str) -> DecodeResult<f64> {
    d.u64_be(what).map(f64::from_bits)
}

fn put_spans(b: &mut Vec<u8>, spans: &[Span]) {
    put_uvarint(b, spans.len() as u64);
    for s in spans {
        put_varint(b, i64::from(s.offset));
        put_uvarint(b, u64::from(s.length));
    }
}

fn get_spans(d: &mut Decbuf) -> DecodeResult<Vec<Span>> {
    let n = d.len("span count")?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let at = d.position();
        let offset = i32::try_from(d.varint("span offset")?).map_err(|_| DecodeError {
            offset: at,
            what: "span offset out of range",
        })?;
        let at = d.position();
        let length = u32::try_from(d.uvarint("span length")?).map_err(|_| DecodeError {
            offset: at,
            what: "span length out of range",
        })?;
        v.push(Span { offset, length });
    }
    Ok(v)
}

/// The fields both kinds share, read before and after the counts.
struct Head {
    hint: CounterResetHint,
    schema: i32,
    zero_threshold: f64,
}

fn put_head(b: &mut Vec<u8>, hint: CounterResetHint, schema: i32, zero_threshold: f64) {
    b.push(hint as u8);
    put_varint(b, i64::from(schema));
    put_f64(b, zero_threshold);
}

fn get_head(d: &mut Decbuf) -> DecodeResult<Head> {
    let at = d.position();
    let hint = CounterResetHint::from_u8(d.u8("reset hint")?).ok_or(DecodeError {
        offset: at,
        what: "unknown counter reset hint",
    })?;
    let at = d.position();
    let schema = i32::try_from(d.varint("schema")?).map_err(|_| DecodeError {
        offset: at,
        what: "schema out of range",
    })?;
    Ok(Head {
        hint,
        schema,
        zero_threshold: get_f64(d, "zero threshold")?,
    })
}

fn put_custom(b: &mut Vec<u8>, bounds: &[f64]) {
    put_uvarint(b, bounds.len() as u64);
    bounds.iter().for_each(|&v| put_f64(b, v));
}

fn get_custom(d: &mut Decbuf) -> DecodeResult<Vec<f64>> {
    let n = d.len("custom bound count")?;
    (0..n).map(|_| get_f64(d, "custom bound")).collect()
}

pub(super) fn put_histogram(b: &mut Vec<u8>, h: &Histogram) {
    put_head(b, h.hint, h.schema, h.zero_threshold);
    put_uvarint(b, h.zero_count);
    put_uvarint(b, h.count);
    put_f64(b, h.sum);
    put_spans(b, &h.positive_spans);
    put_spans(b, &h.negative_spans);
    for deltas in [&h.positive_deltas, &h.negative_deltas] {
        put_uvarint(b, deltas.len() as u64);
        deltas.iter().for_each(|&v| put_varint(b, v));
    }
    put_custom(b, &h.custom_values);
}

pub(super) fn get_histogram(d: &mut Decbuf) -> DecodeResult<Histogram> {
    let head = get_head(d)?;
    let zero_count = d.uvarint("zero count")?;
    let count = d.uvarint("count")?;
    let sum = get_f64(d, "sum")?;
    let positive_spans = get_spans(d)?;
    let negative_spans = get_spans(d)?;
    let mut deltas = || -> DecodeResult<Vec<i64>> {
        let n = d.len("bucket count")?;
        (0..n).map(|_| d.varint("bucket")).collect()
    };
    let positive_deltas = deltas()?;
    let negative_deltas = deltas()?;
    Ok(Histogram {
        hint: head.hint,
        schema: head.schema,
        zero_threshold: head.zero_threshold,
        zero_count,
        count,
        sum,
        positive_spans,
        negative_spans,
        positive_deltas,
        negative_deltas,
        custom_values: get_custom(d)?,
    })
}

pub(super) fn put_float_histogram(b: &mut Vec<u8>, h: &FloatHistogram) {
    put_head(b, h.hint, h.schema, h.zero_threshold);
    put_f64(b, h.zero_count);
    put_f64(b, h.count);
    put_f64(b, h.sum);
    put_spans(b, &h.positive_spans);
    put_spans(b, &h.negative_spans);
    for counts in [&h.positive_buckets, &h.negative_buckets] {
        put_uvarint(b, counts.len() as u64);
        counts.iter().for_each(|&v| put_f64(b, v));
    }
    put_custom(b, &h.custom_values);
}

pub(super) fn get_float_histogram(d: &mut Decbuf) -> DecodeResult<FloatHistogram> {
    let head = get_head(d)?;
    let zero_count = get_f64(d, "zero count")?;
    let count = get_f64(d, "count")?;
    let sum = get_f64(d, "sum")?;
    let positive_spans = get_spans(d)?;
    let negative_spans = get_spans(d)?;
    let mut counts = || -> DecodeResult<Vec<f64>> {
        let n = d.len("bucket count")?;
        (0..n).map(|_| get_f64(d, "bucket")).collect()
    };
    let positive_buckets = counts()?;
    let negative_buckets = counts()?;
    Ok(FloatHistogram {
        hint: head.hint,
        schema: head.schema,
        zero_threshold: head.zero_threshold,
        zero_count,
        count,
        sum,
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values: get_custom(d)?,
    })
}
