//! The histogram aggregate chunk (encoding byte 8): one native histogram
//! series' bucket [`HistSummary`]s of one resolution.
//!
//! Buckets follow one another; each histogram is written against the one
//! written before it in the chunk (first, last, prev, correction, then
//! the next bucket's): the same layout (schema, zero threshold, spans,
//! custom bounds) costs one bit, and each count as its whole difference
//! from the previous histogram's, so a steady counter costs about a raw
//! sample's deltas per histogram. A value that is not its reference plus
//! a whole number (a fraction, NaN, −0.0) is stored raw.
//!
//! ```text
//! ┌──────────────────┬────────────────────┬─────────────────────┬──────────────────┐
//! │ version = 1 (1B) │ resolution uvarint │ n uvarint           │ k₀ varint        │
//! │                  │ (ms, ≥ 1)          │ (1 ..= 65535)       │ (end₀ / R)       │
//! ├──────────────────┴────────────────────┴─────────────────────┴──────────────────┤
//! │ n buckets:                                                                     │
//! │   gap uvarint: kᵢ − kᵢ₋₁ − 1                         (absent for the first)    │
//! │   flags (1B): 0 samples, 1 stale, 2 floats too, 3 first pair reset,            │
//! │               4 overlap, 5 correction, 6 correction failed                     │
//! │   end − stale_t uvarint                               only with flags bit 1    │
//! │   with flags bit 0: count uvarint (≥ 1), resets uvarint, changes uvarint,      │
//! │     first: first_t − (end − R) − 1 uvarint, st, histogram                      │
//! │     last:  end − last_t uvarint, st, histogram        only when count ≥ 2      │
//! │     prev:  last_t − prev_t uvarint, st, histogram     only when count ≥ 3      │
//! │            (count = 2: prev is first)                                          │
//! │     correction: histogram                             only with flags bit 5    │
//! └────────────────────────────────────────────────────────────────────────────────┘
//! st: varint, 0 for none, t − st + 1 (t − st when negative)
//! histogram: tag (1B): bits 0–1 counter-reset hint, bit 2 same layout as
//!   the reference;
//!   layout unless the same: schema varint, zero threshold num, positive
//!   spans, negative spans (each: count uvarint, then offset varint,
//!   length uvarint), custom bounds (count uvarint, then num each);
//!   numbers: count, sum, zero count, positive and negative buckets, each
//!   a num against the reference's (0 where the layout differs)
//! num: uvarint u; even: the reference plus unzigzag(u / 2); u = 1: the
//!   f64's bits follow (8B, little-endian)
//! ```
//!
//! Chunks lie in blocks' chunk segments, which carry a CRC per chunk.
//! Decoding checks every length against the bytes left and every
//! histogram against the model's rules, so garbage is an error, never a
//! panic or a huge allocation.

use std::sync::Arc;

use super::chunk::MAX_BUCKETS;
use super::hsummary::{HistAggregates, HistSummary};
use crate::encoding::{Decbuf, DecodeError, DecodeResult, put_uvarint, put_varint};
use crate::error::{Error, Result};
use crate::model::HistogramSample;
use crate::model::histogram::{CounterResetHint, FloatHistogram, Span};

/// The chunk encoding byte of histogram aggregate chunks.
pub const ENCODING_HIST_AGGREGATE: u8 = 8;
/// The layout this module writes.
pub const HIST_AGGREGATE_VERSION: u8 = 1;

const HAS_AGG: u8 = 1;
const HAS_STALE: u8 = 1 << 1;
const FLOATS: u8 = 1 << 2;
const FIRST_RESET: u8 = 1 << 3;
const OVERLAP: u8 = 1 << 4;
const HAS_CORRECTION: u8 = 1 << 5;
const CORRECTION_FAILED: u8 = 1 << 6;
const SAME_LAYOUT: u8 = 1 << 2;
/// Whole differences up to this magnitude are stored as integers.
const MAX_WHOLE: f64 = (1u64 << 53) as f64;

/// Encodes `buckets` (ascending distinct ends on `res`'s grid, 1 ..=
/// [`MAX_BUCKETS`]) as one histogram aggregate chunk appended to `out`.
pub fn encode(res: i64, buckets: &[HistSummary], out: &mut Vec<u8>) -> Result<()> {
    check_input(res, buckets)?;
    out.push(HIST_AGGREGATE_VERSION);
    put_uvarint(out, res as u64);
    put_uvarint(out, buckets.len() as u64);
    put_varint(out, buckets[0].end / res);
    let mut w = Writer {
        out,
        reference: None,
    };
    for (i, b) in buckets.iter().enumerate() {
        if i > 0 {
            let gap = (b.end - buckets[i - 1].end) / res - 1;
            put_uvarint(w.out, gap as u64);
        }
        w.bucket(res, b);
    }
    Ok(())
}

fn check_input(res: i64, buckets: &[HistSummary]) -> Result<()> {
    let bad = |reason: String| Err(Error::InvalidSummaries { reason });
    if res <= 0 {
        return bad(format!("resolution {res} ms"));
    }
    if buckets.is_empty() || buckets.len() > MAX_BUCKETS {
        return bad(format!("{} buckets (1 ..= {MAX_BUCKETS})", buckets.len()));
    }
    for (i, b) in buckets.iter().enumerate() {
        if b.end.rem_euclid(res) != 0 || (i > 0 && b.end <= buckets[i - 1].end) {
            return bad(format!("bucket end {} out of order or off the grid", b.end));
        }
        let inside = |t: i64| t > b.end - res && t <= b.end;
        let times = b.agg.iter().flat_map(|a| [a.first.t, a.last.t]);
        if let Some(t) = times.chain(b.stale).find(|&t| !inside(t)) {
            return bad(format!("time {t} outside the bucket ending {}", b.end));
        }
        if let Some(a) = &b.agg {
            let prev_ok = match (a.count, &a.prev) {
                (0, _) => false,
                (1, p) => p.is_none(),
                (2, Some(p)) => p.t == a.first.t,
                (_, Some(p)) => p.t < a.last.t,
                _ => false,
            };
            if !prev_ok {
                return bad(format!("bucket ending {}: count and prev disagree", b.end));
            }
        }
    }
    Ok(())
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    reference: Option<FloatHistogram>,
}

impl Writer<'_> {
    fn bucket(&mut self, res: i64, b: &HistSummary) {
        let a = b.agg.as_ref();
        let flag = |on: bool, bit: u8| if on { bit } else { 0 };
        let flags = flag(a.is_some(), HAS_AGG)
            | flag(b.stale.is_some(), HAS_STALE)
            | flag(b.floats, FLOATS)
            | a.map_or(0, |a| {
                flag(a.first_reset, FIRST_RESET)
                    | flag(a.overlap, OVERLAP)
                    | flag(a.correction.is_some(), HAS_CORRECTION)
                    | flag(a.correction_failed, CORRECTION_FAILED)
            });
        self.out.push(flags);
        if let Some(t) = b.stale {
            put_uvarint(self.out, (b.end - t) as u64);
        }
        let Some(a) = a else { return };
        put_uvarint(self.out, a.count);
        put_uvarint(self.out, a.resets);
        put_uvarint(self.out, a.changes);
        put_uvarint(self.out, (a.first.t - (b.end - res) - 1) as u64);
        self.sample(&a.first);
        if a.count >= 2 {
            put_uvarint(self.out, (b.end - a.last.t) as u64);
            self.sample(&a.last);
        }
        if let (true, Some(p)) = (a.count >= 3, &a.prev) {
            put_uvarint(self.out, a.last.t.wrapping_sub(p.t) as u64);
            self.sample(p);
        }
        if let Some(c) = &a.correction {
            self.histogram(c);
        }
    }

    fn sample(&mut self, s: &HistogramSample) {
        let st = match s.st {
            0 => 0,
            st if s.t >= st => s.t.wrapping_sub(st).wrapping_add(1),
            st => s.t.wrapping_sub(st),
        };
        put_varint(self.out, st);
        self.histogram(&s.h);
    }

    fn histogram(&mut self, h: &FloatHistogram) {
        let same = self.reference.as_ref().is_some_and(|r| same_layout(r, h));
        let reference = self.reference.take().filter(|_| same);
        self.out
            .push(h.hint as u8 | if same { SAME_LAYOUT } else { 0 });
        if !same {
            put_varint(self.out, i64::from(h.schema));
            put_num(self.out, h.zero_threshold, 0.0);
            put_spans(self.out, &h.positive_spans);
            put_spans(self.out, &h.negative_spans);
            put_uvarint(self.out, h.custom_values.len() as u64);
            h.custom_values
                .iter()
                .for_each(|&v| put_num(self.out, v, 0.0));
        }
        let r = reference.as_ref();
        put_num(self.out, h.count, r.map_or(0.0, |r| r.count));
        put_num(self.out, h.sum, r.map_or(0.0, |r| r.sum));
        put_num(self.out, h.zero_count, r.map_or(0.0, |r| r.zero_count));
        let at = |of: Option<&Vec<f64>>, i: usize| of.and_then(|b| b.get(i)).copied();
        for (i, &v) in h.positive_buckets.iter().enumerate() {
            let base = at(r.map(|r| &r.positive_buckets), i);
            put_num(self.out, v, base.unwrap_or(0.0));
        }
        for (i, &v) in h.negative_buckets.iter().enumerate() {
            let base = at(r.map(|r| &r.negative_buckets), i);
            put_num(self.out, v, base.unwrap_or(0.0));
        }
        self.reference = Some(h.clone());
    }
}

/// Same schema, zero threshold, spans and custom bounds (so the same
/// bucket counts line up).
fn same_layout(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    a.schema == b.schema
        && a.zero_threshold.to_bits() == b.zero_threshold.to_bits()
        && a.positive_spans == b.positive_spans
        && a.negative_spans == b.negative_spans
        && a.custom_values.len() == b.custom_values.len()
        && a.custom_values
            .iter()
            .zip(&b.custom_values)
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

fn put_spans(out: &mut Vec<u8>, spans: &[Span]) {
    put_uvarint(out, spans.len() as u64);
    for s in spans {
        put_varint(out, i64::from(s.offset));
        put_uvarint(out, u64::from(s.length));
    }
}

/// `v` against `reference`: their whole difference when adding it back
/// gives `v`'s bits, else `v` raw.
fn put_num(out: &mut Vec<u8>, v: f64, reference: f64) {
    let d = v - reference;
    if d.fract() == 0.0 && d.abs() < MAX_WHOLE && (reference + d).to_bits() == v.to_bits() {
        let d = d as i64;
        put_uvarint(out, (((d << 1) ^ (d >> 63)) as u64) << 1);
    } else {
        put_uvarint(out, 1);
        out.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

/// Buckets recorded in the chunk's header (0 for a chunk too short).
pub fn num_buckets(data: &[u8]) -> usize {
    bucket_count(data).map_or(0, |n| n.min(MAX_BUCKETS as u64) as usize)
}

/// The number of buckets the chunk holds (its header).
pub fn bucket_count(data: &[u8]) -> DecodeResult<u64> {
    let mut d = Decbuf::new(data);
    d.u8("histogram aggregate chunk version")?;
    d.uvarint("resolution")?;
    d.uvarint("bucket count")
}

/// Checks the whole chunk by decoding it.
pub fn validate(data: &[u8]) -> DecodeResult<()> {
    decode_range(data, i64::MIN, i64::MAX, &mut Vec::new()).map(drop)
}

/// Decodes a histogram aggregate chunk: its resolution and summaries.
pub fn decode(data: &[u8]) -> DecodeResult<(i64, Vec<HistSummary>)> {
    let mut out = Vec::new();
    let res = decode_range(data, i64::MIN, i64::MAX, &mut out)?;
    Ok((res, out))
}

/// Appends the summaries of the buckets ending in `(lo, hi]` to `out`
/// (decoding stops after `hi`); returns the chunk's resolution. On an
/// error `out` may hold some of the chunk's buckets.
pub fn decode_range(
    data: &[u8],
    lo: i64,
    hi: i64,
    out: &mut Vec<HistSummary>,
) -> DecodeResult<i64> {
    let mut d = Decbuf::new(data);
    let at = d.position();
    if d.u8("histogram aggregate chunk version")? != HIST_AGGREGATE_VERSION {
        return fail(at, "unknown histogram aggregate chunk version");
    }
    let at = d.position();
    let res = d.uvarint("resolution")?;
    let Some(res) = i64::try_from(res).ok().filter(|&r| r > 0) else {
        return fail(at, "bad resolution");
    };
    let at = d.position();
    let n = d.uvarint("bucket count")?;
    if n == 0 || n > MAX_BUCKETS as u64 {
        return fail(at, "bad bucket count");
    }
    let at = d.position();
    let mut k = d.varint("first bucket")?;
    let mut r = Reader { d, reference: None };
    for i in 0..n {
        if i > 0 {
            let at = r.d.position();
            let gap = r.d.uvarint("bucket gap")?;
            k = i64::try_from(gap)
                .ok()
                .and_then(|g| k.checked_add(g)?.checked_add(1))
                .ok_or(DecodeError {
                    offset: at,
                    what: "bucket gap",
                })?;
        }
        let end = k.checked_mul(res).ok_or(DecodeError {
            offset: at,
            what: "bucket end",
        })?;
        let b = r.bucket(end, res)?;
        if end > hi {
            break;
        }
        if end > lo {
            out.push(b);
        }
    }
    Ok(res)
}

fn fail<T>(offset: usize, what: &'static str) -> DecodeResult<T> {
    Err(DecodeError { offset, what })
}

struct Reader<'a> {
    d: Decbuf<'a>,
    reference: Option<FloatHistogram>,
}

impl Reader<'_> {
    fn bucket(&mut self, end: i64, res: i64) -> DecodeResult<HistSummary> {
        let flags = self.d.u8("bucket flags")?;
        let mut b = HistSummary::new(end);
        b.floats = flags & FLOATS != 0;
        if flags & HAS_STALE != 0 {
            b.stale = Some(end.wrapping_sub(self.time("stale time", res)?));
        }
        if flags & HAS_AGG == 0 {
            return Ok(b);
        }
        let at = self.d.position();
        let count = self.d.uvarint("count")?;
        if count == 0 {
            return fail(at, "zero count");
        }
        let resets = self.d.uvarint("resets")?;
        let changes = self.d.uvarint("changes")?;
        let first_t = end - res + 1 + self.time("first time", res)?;
        let first = self.sample(first_t)?;
        let last = if count >= 2 {
            let t = end - self.time("last time", res)?;
            self.sample(t)?
        } else {
            first.clone()
        };
        let prev = match count {
            1 => None,
            2 => Some(first.clone()),
            _ => {
                let at = self.d.position();
                let back = self.d.uvarint("prev time")?;
                let t = i64::try_from(back)
                    .ok()
                    .and_then(|b| last.t.checked_sub(b))
                    .ok_or(DecodeError {
                        offset: at,
                        what: "prev time",
                    })?;
                Some(self.sample(t)?)
            }
        };
        let correction = if flags & HAS_CORRECTION != 0 {
            Some(self.histogram()?)
        } else {
            None
        };
        b.agg = Some(HistAggregates {
            count,
            first,
            last,
            prev,
            first_reset: flags & FIRST_RESET != 0,
            resets,
            correction,
            correction_failed: flags & CORRECTION_FAILED != 0,
            changes,
            overlap: flags & OVERLAP != 0,
        });
        Ok(b)
    }

    /// An offset inside a bucket: less than `res`.
    fn time(&mut self, what: &'static str, res: i64) -> DecodeResult<i64> {
        let at = self.d.position();
        let v = self.d.uvarint(what)?;
        match i64::try_from(v) {
            Ok(v) if v < res => Ok(v),
            _ => fail(at, what),
        }
    }

    fn sample(&mut self, t: i64) -> DecodeResult<HistogramSample> {
        let st = match self.d.varint("start time")? {
            0 => 0,
            v if v > 0 => t.wrapping_sub(v - 1),
            v => t.wrapping_sub(v),
        };
        Ok(HistogramSample {
            t,
            st,
            h: Arc::new(self.histogram()?),
        })
    }

    fn histogram(&mut self) -> DecodeResult<FloatHistogram> {
        let at = self.d.position();
        let tag = self.d.u8("histogram tag")?;
        let hint = CounterResetHint::from_u8(tag & 3).ok_or(DecodeError {
            offset: at,
            what: "hint",
        })?;
        let reference = if tag & SAME_LAYOUT != 0 {
            match self.reference.take() {
                Some(r) => Some(r),
                None => return fail(at, "same layout as no histogram"),
            }
        } else {
            None
        };
        let mut h = match &reference {
            Some(r) => FloatHistogram {
                hint,
                schema: r.schema,
                zero_threshold: r.zero_threshold,
                positive_spans: r.positive_spans.clone(),
                negative_spans: r.negative_spans.clone(),
                custom_values: r.custom_values.clone(),
                ..FloatHistogram::default()
            },
            None => self.layout(hint)?,
        };
        let r = reference.as_ref();
        h.count = self.num(r.map_or(0.0, |r| r.count))?;
        h.sum = self.num(r.map_or(0.0, |r| r.sum))?;
        h.zero_count = self.num(r.map_or(0.0, |r| r.zero_count))?;
        let lengths = |spans: &[Span]| spans.iter().map(|s| s.length as usize).sum::<usize>();
        let (np, nn) = (lengths(&h.positive_spans), lengths(&h.negative_spans));
        if np.saturating_add(nn) > self.d.remaining() {
            return fail(at, "more buckets than bytes");
        }
        for i in 0..np {
            let v = self.num(
                r.and_then(|r| r.positive_buckets.get(i))
                    .copied()
                    .unwrap_or(0.0),
            )?;
            h.positive_buckets.push(v);
        }
        for i in 0..nn {
            let v = self.num(
                r.and_then(|r| r.negative_buckets.get(i))
                    .copied()
                    .unwrap_or(0.0),
            )?;
            h.negative_buckets.push(v);
        }
        if h.validate().is_err() {
            return fail(at, "invalid histogram");
        }
        self.reference = Some(h.clone());
        Ok(h)
    }

    fn layout(&mut self, hint: CounterResetHint) -> DecodeResult<FloatHistogram> {
        let at = self.d.position();
        let schema = i32::try_from(self.d.varint("schema")?).map_err(|_| DecodeError {
            offset: at,
            what: "schema",
        })?;
        let zero_threshold = self.num(0.0)?;
        let positive_spans = self.spans()?;
        let negative_spans = self.spans()?;
        let n = self.d.len("custom bound count")?;
        let mut custom_values = Vec::with_capacity(n);
        for _ in 0..n {
            custom_values.push(self.num(0.0)?);
        }
        Ok(FloatHistogram {
            hint,
            schema,
            zero_threshold,
            positive_spans,
            negative_spans,
            custom_values,
            ..FloatHistogram::default()
        })
    }

    fn spans(&mut self) -> DecodeResult<Vec<Span>> {
        let n = self.d.len("span count")?;
        let mut spans = Vec::with_capacity(n);
        for _ in 0..n {
            let at = self.d.position();
            let offset = i32::try_from(self.d.varint("span offset")?);
            let length = u32::try_from(self.d.uvarint("span length")?);
            let (Ok(offset), Ok(length)) = (offset, length) else {
                return fail(at, "span");
            };
            spans.push(Span::new(offset, length));
        }
        Ok(spans)
    }

    fn num(&mut self, reference: f64) -> DecodeResult<f64> {
        let at = self.d.position();
        match self.d.uvarint("number")? {
            1 => {
                let b = self.d.bytes(8, "raw number")?;
                let mut bits = [0u8; 8];
                bits.copy_from_slice(b);
                Ok(f64::from_bits(u64::from_le_bytes(bits)))
            }
            u if u & 1 == 0 => {
                let z = (u >> 1) as i64;
                let d = ((z as u64 >> 1) as i64) ^ -(z & 1);
                Ok(reference + d as f64)
            }
            _ => fail(at, "number tag"),
        }
    }
}

#[cfg(test)]
#[path = "hchunk_tests.rs"]
mod tests;
