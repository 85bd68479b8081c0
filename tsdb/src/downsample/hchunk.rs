//! The histogram aggregate chunk (encoding byte 8): one native histogram
//! series' bucket [`HistSummary`]s of one resolution.
//!
//! Buckets follow one another. Each histogram is written against a
//! reference and a prediction: a bucket's first against the previous
//! bucket's last (predicted one average step of the previous bucket
//! later), its last against its first (predicted to grow by the previous
//! bucket's increase, last − first), its prev against its last (predicted
//! one average step of the bucket earlier), its correction against its
//! last (layout only, numbers predicted 0). The same layout as the reference
//! (schema, zero threshold, spans, custom bounds) costs one bit; the
//! bucket counts are stored as their whole differences from the
//! prediction in one packed stream (the decimal chunk's frame of
//! reference, width and exceptions), so a steady counter costs a few bits
//! a bucket count. A value that is not its prediction plus a whole number
//! (a sum, NaN, −0.0) is stored as the XOR of its bits with the
//! prediction's when that is shorter, else raw.
//!
//! ```text
//! ┌──────────────────┬────────────────────┬─────────────────────┬──────────────────┐
//! │ version = 2 (1B) │ resolution uvarint │ n uvarint           │ k₀ varint        │
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
//!   count, sum, zero count: each a num against its prediction;
//!   bucket counts (positive, then negative; none: nothing): mode (1B),
//!   0 = a packed stream of the whole differences from their predictions,
//!   1 = each a num against its prediction
//! num: uvarint u; even: the prediction plus unzigzag(u / 2); u = 1: the
//!   f64's bits follow (8B, little-endian); u = 3: a uvarint follows, the
//!   XOR of the value's bits and the prediction's (version 2)
//! predictions: the reference's numbers, plus one average step
//!   (`round((last − first) / (count − 1))`) of the previous bucket for a
//!   first, the previous bucket's increase for a last, minus one average
//!   step of the bucket for a prev; 0 without a reference of the same
//!   layout
//! ```
//!
//! Version 1 (every histogram against the one written before it, each
//! number a num, no mode byte) still decodes.
//!
//! Chunks lie in blocks' chunk segments, which carry a CRC per chunk.
//! Decoding checks every length against the bytes left, caps a
//! histogram at [`MAX_HISTOGRAM_BUCKETS`] buckets, and checks every
//! histogram against the model's rules, so garbage is an error, never a
//! panic or a huge allocation.

use std::sync::Arc;

use super::chunk::MAX_BUCKETS;
use super::hsummary::{HistAggregates, HistSummary};
use crate::chunkenc::decimal::stream::{self, StreamReader};
use crate::encoding::{Decbuf, DecodeError, DecodeResult, put_uvarint, put_varint};
use crate::error::{Error, Result};
use crate::model::HistogramSample;
use crate::model::histogram::{CounterResetHint, FloatHistogram, Span};

/// The chunk encoding byte of histogram aggregate chunks.
pub const ENCODING_HIST_AGGREGATE: u8 = 8;
/// The layout this module writes.
pub const HIST_AGGREGATE_VERSION: u8 = 2;

const HAS_AGG: u8 = 1;
const HAS_STALE: u8 = 1 << 1;
const FLOATS: u8 = 1 << 2;
const FIRST_RESET: u8 = 1 << 3;
const OVERLAP: u8 = 1 << 4;
const HAS_CORRECTION: u8 = 1 << 5;
const CORRECTION_FAILED: u8 = 1 << 6;
const SAME_LAYOUT: u8 = 1 << 2;
/// A histogram's bucket counts: as a packed stream of whole differences
/// from their predictions, or each as a num.
const PACKED: u8 = 0;
const EACH: u8 = 1;
/// A num's odd tags: the value's bits raw, or XORed with its prediction's.
const RAW_NUM: u64 = 1;
const XOR_NUM: u64 = 3;
/// Buckets a stored histogram has at most (positive and negative).
pub const MAX_HISTOGRAM_BUCKETS: usize = 1 << 16;
/// Whole differences up to this magnitude are stored as integers.
const MAX_WHOLE: f64 = (1u64 << 53) as f64;

/// Whether every histogram of `buckets` has at most
/// [`MAX_HISTOGRAM_BUCKETS`] buckets, as [`encode`] requires.
pub fn storable(buckets: &[HistSummary]) -> bool {
    buckets.iter().filter_map(|b| b.agg.as_ref()).all(|a| {
        let hists = [&*a.first.h, &*a.last.h]
            .into_iter()
            .chain(a.prev.as_ref().map(|p| &*p.h))
            .chain(a.correction.as_ref());
        hists
            .into_iter()
            .all(|h| numbers_len(h) - 3 <= MAX_HISTOGRAM_BUCKETS)
    })
}

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
        first: None,
        last: None,
        count: 0,
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
    super::chunk::check_grid(res, buckets)?;
    for b in buckets {
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
            if !storable(std::slice::from_ref(b)) {
                return bad(format!(
                    "bucket ending {}: a histogram of more than {MAX_HISTOGRAM_BUCKETS} buckets",
                    b.end
                ));
            }
        }
    }
    Ok(())
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// The first and last histograms of the previous bucket with samples,
    /// and its count.
    first: Option<FloatHistogram>,
    last: Option<FloatHistogram>,
    count: u64,
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
        let (first, last) = (self.first.take(), self.last.take());
        let before = first
            .as_ref()
            .zip(last.as_ref())
            .map(|(f, l)| (f, l, self.count));
        self.sample(&a.first, last.as_ref(), Pred::first(before));
        if a.count >= 2 {
            put_uvarint(self.out, (b.end - a.last.t) as u64);
            self.sample(&a.last, Some(&a.first.h), Pred::last(before));
        }
        if let (true, Some(p)) = (a.count >= 3, &a.prev) {
            put_uvarint(self.out, a.last.t.wrapping_sub(p.t) as u64);
            let pred = Pred::prev(&a.first.h, &a.last.h, a.count);
            self.sample(p, Some(&a.last.h), pred);
        }
        if let Some(c) = &a.correction {
            self.histogram(c, Some(&a.last.h), Pred::Zero);
        }
        self.first = Some((*a.first.h).clone());
        self.last = Some((*a.last.h).clone());
        self.count = a.count;
    }

    fn sample(&mut self, s: &HistogramSample, reference: Option<&FloatHistogram>, pred: Pred) {
        let st = match s.st {
            0 => 0,
            st if s.t >= st => s.t.wrapping_sub(st).wrapping_add(1),
            st => s.t.wrapping_sub(st),
        };
        put_varint(self.out, st);
        self.histogram(&s.h, reference, pred);
    }

    fn histogram(&mut self, h: &FloatHistogram, reference: Option<&FloatHistogram>, pred: Pred) {
        let reference = reference.filter(|r| same_layout(r, h));
        let same = reference.is_some();
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
        let p = predictions(reference, pred, numbers_len(h));
        let mut v = numbers(h);
        for (i, x) in v.by_ref().take(3).enumerate() {
            put_num(self.out, x, p[i]);
        }
        let rest: Vec<f64> = v.collect();
        if rest.is_empty() {
            return;
        }
        let whole: Option<Vec<i64>> = rest
            .iter()
            .zip(&p[3..])
            .map(|(&x, &q)| whole_difference(x, q))
            .collect();
        match whole {
            Some(r) => {
                self.out.push(PACKED);
                let plan = stream::plan(&r);
                stream::write(&r, &plan, self.out);
            }
            None => {
                self.out.push(EACH);
                for (&x, &q) in rest.iter().zip(&p[3..]) {
                    put_num(self.out, x, q);
                }
            }
        }
    }
}

/// What a histogram's numbers are predicted from, given a reference of
/// the same layout.
#[derive(Clone, Copy)]
enum Pred<'a> {
    /// The reference's numbers.
    Same,
    /// The reference's plus the change from the first to the second (the
    /// previous bucket's increase), where both share its layout.
    Plus(&'a FloatHistogram, &'a FloatHistogram),
    /// The reference's plus `sign` times one average step from the first
    /// to the second over `steps` steps, rounded to a whole number.
    Step(&'a FloatHistogram, &'a FloatHistogram, f64, f64),
    /// Zeros (the layout alone is shared).
    Zero,
}

/// The previous bucket with samples: its first and last histograms and
/// its count.
type Before<'a> = Option<(&'a FloatHistogram, &'a FloatHistogram, u64)>;

impl<'a> Pred<'a> {
    /// A bucket's first (against the previous bucket's last): one average
    /// step of the previous bucket after it.
    fn first(before: Before<'a>) -> Pred<'a> {
        match before {
            Some((f, l, n)) if n >= 2 => Pred::Step(f, l, (n - 1) as f64, 1.0),
            _ => Pred::Same,
        }
    }

    /// A bucket's last (against its first): the previous bucket's
    /// increase after it.
    fn last(before: Before<'a>) -> Pred<'a> {
        before.map_or(Pred::Same, |(f, l, _)| Pred::Plus(f, l))
    }

    /// A bucket's prev (against its last, `count ≥ 3`): one average step
    /// of the bucket before it.
    fn prev(first: &'a FloatHistogram, last: &'a FloatHistogram, count: u64) -> Pred<'a> {
        Pred::Step(first, last, count.saturating_sub(1).max(1) as f64, -1.0)
    }
}

/// A histogram's numbers in stored order: count, sum, zero count, then
/// the positive and negative buckets.
fn numbers(h: &FloatHistogram) -> impl Iterator<Item = f64> + '_ {
    [h.count, h.sum, h.zero_count]
        .into_iter()
        .chain(h.positive_buckets.iter().copied())
        .chain(h.negative_buckets.iter().copied())
}

fn numbers_len(h: &FloatHistogram) -> usize {
    3 + h.positive_buckets.len() + h.negative_buckets.len()
}

/// The predicted numbers (`n` of them) of a histogram whose layout is
/// `reference`'s, or zeros without one.
fn predictions(reference: Option<&FloatHistogram>, pred: Pred<'_>, n: usize) -> Vec<f64> {
    let Some(r) = reference else {
        return vec![0.0; n];
    };
    let mut p: Vec<f64> = match pred {
        Pred::Zero => vec![0.0; n],
        Pred::Plus(a, b) if same_layout(a, r) && same_layout(b, r) => numbers(r)
            .zip(numbers(a).zip(numbers(b)))
            .map(|(x, (y, z))| x + (z - y))
            .collect(),
        Pred::Step(a, b, steps, sign) if same_layout(a, r) && same_layout(b, r) => numbers(r)
            .zip(numbers(a).zip(numbers(b)))
            .map(|(x, (y, z))| x + sign * ((z - y) / steps).round())
            .collect(),
        _ => numbers(r).collect(),
    };
    p.resize(n, 0.0);
    p
}

/// `v − reference` when it is whole, small, and adding it back gives
/// `v`'s bits.
fn whole_difference(v: f64, reference: f64) -> Option<i64> {
    let d = v - reference;
    (d.fract() == 0.0 && d.abs() < MAX_WHOLE && (reference + d).to_bits() == v.to_bits())
        .then_some(d as i64)
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
/// gives `v`'s bits, else the XOR of their bits when it is shorter (the
/// two close: their sign, exponent and top bits agree), else `v` raw.
fn put_num(out: &mut Vec<u8>, v: f64, reference: f64) {
    if let Some(d) = whole_difference(v, reference) {
        put_uvarint(out, (((d << 1) ^ (d >> 63)) as u64) << 1);
        return;
    }
    let x = v.to_bits() ^ reference.to_bits();
    if x < 1 << 49 {
        // At most 7 bytes of uvarint after the tag.
        put_uvarint(out, XOR_NUM);
        put_uvarint(out, x);
    } else {
        put_uvarint(out, RAW_NUM);
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
    let version = d.u8("histogram aggregate chunk version")?;
    if !(1..=HIST_AGGREGATE_VERSION).contains(&version) {
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
    let mut r = Reader {
        data,
        d,
        version,
        written: None,
        first: None,
        last: None,
        count: 0,
    };
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
    data: &'a [u8],
    d: Decbuf<'a>,
    version: u8,
    /// Version 1: the histogram decoded last, every histogram's reference.
    written: Option<FloatHistogram>,
    /// Version 2: the first and last histograms of the previous bucket
    /// with samples, and its count.
    first: Option<FloatHistogram>,
    last: Option<FloatHistogram>,
    count: u64,
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
        let (pf, pl) = (self.first.take(), self.last.take());
        let before = pf
            .as_ref()
            .zip(pl.as_ref())
            .map(|(f, l)| (f, l, self.count));
        // Wrapping, as every time here: a damaged end may lie anywhere.
        let offset = self.time("first time", res)?;
        let first_t = end.wrapping_sub(res).wrapping_add(1).wrapping_add(offset);
        let first = self.sample(first_t, pl.as_ref(), Pred::first(before))?;
        let last = if count >= 2 {
            let t = end.wrapping_sub(self.time("last time", res)?);
            self.sample(t, Some(&first.h), Pred::last(before))?
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
                let pred = Pred::prev(&first.h, &last.h, count);
                Some(self.sample(t, Some(&last.h), pred)?)
            }
        };
        let correction = if flags & HAS_CORRECTION != 0 {
            Some(self.histogram(Some(&last.h), Pred::Zero)?)
        } else {
            None
        };
        self.first = Some((*first.h).clone());
        self.last = Some((*last.h).clone());
        self.count = count;
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

    fn sample(
        &mut self,
        t: i64,
        reference: Option<&FloatHistogram>,
        pred: Pred<'_>,
    ) -> DecodeResult<HistogramSample> {
        let st = match self.d.varint("start time")? {
            0 => 0,
            v if v > 0 => t.wrapping_sub(v - 1),
            v => t.wrapping_sub(v),
        };
        Ok(HistogramSample {
            t,
            st,
            h: Arc::new(self.histogram(reference, pred)?),
        })
    }

    /// The next histogram, written against `reference` and `pred`
    /// (version 2) or against the histogram before it (version 1).
    fn histogram(
        &mut self,
        reference: Option<&FloatHistogram>,
        pred: Pred<'_>,
    ) -> DecodeResult<FloatHistogram> {
        let at = self.d.position();
        let tag = self.d.u8("histogram tag")?;
        let hint = CounterResetHint::from_u8(tag & 3).ok_or(DecodeError {
            offset: at,
            what: "hint",
        })?;
        let v1 = self.version == 1;
        let written = self.written.take();
        let (reference, pred) = match (tag & SAME_LAYOUT != 0, v1) {
            (false, _) => (None, pred),
            (true, true) => (written.as_ref(), Pred::Same),
            (true, false) => (reference, pred),
        };
        let mut h = match reference {
            Some(r) => FloatHistogram {
                hint,
                schema: r.schema,
                zero_threshold: r.zero_threshold,
                positive_spans: r.positive_spans.clone(),
                negative_spans: r.negative_spans.clone(),
                custom_values: r.custom_values.clone(),
                ..FloatHistogram::default()
            },
            None if tag & SAME_LAYOUT != 0 => return fail(at, "same layout as no histogram"),
            None => self.layout(hint)?,
        };
        let lengths = |spans: &[Span]| spans.iter().map(|s| s.length as usize).sum::<usize>();
        let (np, nn) = (lengths(&h.positive_spans), lengths(&h.negative_spans));
        // Version 1 stores each count in at least a byte; version 2's
        // packed stream may not, so its histograms have a cap.
        let most = if v1 {
            self.d.remaining()
        } else {
            MAX_HISTOGRAM_BUCKETS
        };
        if np.saturating_add(nn) > most {
            return fail(at, "too many histogram buckets");
        }
        let p = predictions(reference, pred, 3 + np + nn);
        h.count = self.num(p[0])?;
        h.sum = self.num(p[1])?;
        h.zero_count = self.num(p[2])?;
        let mut counts = Vec::with_capacity(np + nn);
        if np + nn > 0 {
            let packed = !v1 && self.d.u8("bucket count mode")? == PACKED;
            if packed {
                let mut s = StreamReader::parse(&mut self.d, self.data, np + nn)?;
                counts.extend(p[3..].iter().map(|&q| q + s.next() as f64));
            } else {
                for &q in &p[3..] {
                    counts.push(self.num(q)?);
                }
            }
        }
        h.negative_buckets = counts.split_off(np);
        h.positive_buckets = counts;
        if h.validate().is_err() {
            return fail(at, "invalid histogram");
        }
        if v1 {
            self.written = Some(h.clone());
        }
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
            XOR_NUM => {
                let x = self.d.uvarint("number bits")?;
                Ok(f64::from_bits(reference.to_bits() ^ x))
            }
            RAW_NUM => {
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
