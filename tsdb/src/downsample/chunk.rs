//! The aggregate chunk (encoding byte 7): one series' bucket
//! [`Summary`]s of one resolution, in columns of packed integers.
//!
//! Every value is stored as an integer `m` with `v = m / 10^e` bit for
//! bit, one exponent `e` per chunk (the decimal chunk's scheme), and each
//! value column as the residual from what the columns before it predict,
//! so that a steady counter costs about one raw sample delta per column:
//!
//! | column | residual stored |
//! |---|---|
//! | F | `first − last` of the previous bucket with samples (0 before the first) |
//! | L | `last − first` |
//! | P | `last − prev` (0 when `count < 2`) |
//! | MIN | `min(first, last) − min` |
//! | MAX | `max − max(first, last)` |
//! | S | `sum − (count·first + ⌊count·(last − first) / 2⌋)` |
//! | C | `reset_correction − max` after one reset, `− resets·⌊(min + max)/2⌋` after more |
//!
//! A counter's chunk (no sum, flags bit 3) in version 3 predicts from the
//! increase of the previous bucket with samples, `inc = last − first +
//! reset_correction` (0 before the first), and stores MIN, MAX and C
//! residuals zig-zag coded (`2r` for `r ≥ 0`, `−2r − 1` below), since
//! these predictions no longer bound them:
//!
//! | column | prediction without a reset | with resets |
//! |---|---|---|
//! | F | `last` of the previous bucket | the same |
//! | L | `first + inc` | `inc / 2` (truncated toward 0) |
//! | P | `last` | the same |
//! | MIN | `min(first, last)` | `min(first, last − prev)` |
//! | MAX | `max(first, last)` | one reset: `max(last, first + inc − last)`; more: `max(first, last)` |
//! | C | 0 | one reset with `max > last`: `max`; else `first + inc − last` |
//!
//! Version 2 chunks (every chunk on the first table) still decode.
//!
//! The optional columns of `stddev/stdvar_over_time` (bit 4: mean and
//! sum of squared deviations) and `deriv/predict_linear` (bit 5: the
//! least-squares line in centred form, x in seconds since the bucket's
//! first sample) are
//! kept when every bucket has them ([`Columns`](super::Columns)).
//! Counters' tiers keep no sum (flags bit 3, see
//! [`CounterSuffixes`](super::CounterSuffixes)): the S column is then
//! absent and every bucket's `sum` is None.
//!
//! Sums and reset corrections, added in floating point, are often a few
//! units in the last place off the decimal they approximate: such a value
//! is stored as the nearest decimal `m` plus its distance in ULPs (the
//! difference of the two values' bit patterns, same sign, at most 2^20)
//! in the column's ULP stream. A value that is neither (NaN, ±Inf, −0.0,
//! too far from any decimal) is stored raw in the exception list; its
//! column then holds residual 0 and later predictions use the predicted
//! `m`, on both sides alike. Each value column is stored as its residuals
//! or, where that is smaller, as their differences from one bucket to the
//! next (flags byte `orders`, bit `i` for column `i`); only the columns
//! with a ULP offset other than 0 store their ULP stream (byte `ulps`).
//! Integer arithmetic wraps; times are checked to lie in their bucket, so
//! every valid input round-trips bit for bit (start times within ±2^62 ms
//! of their sample).
//!
//! ```text
//! ┌──────────────────┬───────────────────┬────────────────────┬───────────┬───────────┐
//! │ version = 3 (1B) │ resolution uvarint│ n uvarint          │ flags (1B)│ e (1B)    │
//! │                  │ (ms, ≥ 1)         │ (1 ..= 65535)      │           │ (0 ..= 15)│
//! ├──────────────────┴───────────────────┴────────────────────┴───────────┴───────────┤
//! │ orders (1B): bit i set = value column i stored as bucket-to-bucket differences    │
//! │ ulps (1B): bit i set = value column i has a ULP stream                            │
//! ├──────────────────┴─────┬─────────────┴────────────────────┴───────────┴───────────┤
//! │ k₀ varint: end₀ / R    │ streams of n elements (the decimal chunk's packed        │
//! │                        │ streams), in this order:                                 │
//! ├────────────────────────┴──────────────────────────────────────────────────────────┤
//! │ gap: kᵢ − kᵢ₋₁ − 1 (n − 1 elements; absent when n = 1)                            │
//! │ count (0: the bucket holds only staleness markers)                                │
//! │ stale: 0, or end − stale_t + 1                        only with flags bit 0       │
//! │ first_t − (end − R), end − last_t, last_t − prev_t (0 when count < 2)             │
//! │ start times of first, last, prev: 0 none, t − st + 1  only with flags bit 1       │
//! │ (t − st when negative)                                                            │
//! │ resets, count − 1 − changes                                                       │
//! │ overlap (0/1)                                         only with flags bit 2       │
//! │ histograms (0/1): native histograms there too         only with flags bit 6       │
//! │ F, L, P, MIN, MAX, S, C                      S only without flags bit 3 (no sum)  │
//! │ ULP offsets of the columns whose bit is set in ulps                               │
//! ├───────────────────────────────────────────────────────────────────────────────────┤
//! │ r uvarint, r × (bucket u16 BE, column u8, value bits u64 BE): raw values          │
//! ├───────────────────────────────────────────────────────────────────────────────────┤
//! │ optional columns, only with flags bit 4 or 5: one bit stream, padded to a byte;   │
//! │ per bucket with samples: mean, m2 (bit 4), x̄, ȳ, Sxx, Sxy (bit 5), each float   │
//! │ XOR-coded against its column's previous one (the XOR chunk's value code)         │
//! └───────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! A bucket with count 0 has every other column 0 but `stale` and
//! `histograms` (in a series mixing floats and native histograms, a
//! bucket whose raw data held only histograms is stored to say so). Bucket
//! ends are `kᵢ · R`. Decoding checks every region against the data
//! first ([`StreamReader::parse`]); garbage decodes to garbage summaries,
//! never a panic or an out-of-bounds read.

use crate::chunkenc::bstream::{BitReader, BitWriter};
use crate::chunkenc::decimal::scale::{self, MAX_EXP, POW10};
use crate::chunkenc::decimal::stream::{self, StreamReader};
use crate::chunkenc::histogram::XorValue;
use crate::downsample::{Aggregates, Moments, Point, Summary, Trend};
use crate::encoding::{Decbuf, DecodeError, DecodeResult, put_uvarint, put_varint};
use crate::error::{Error, Result};

/// The encoding byte of aggregate chunks in chunk references.
pub const ENCODING_AGGREGATE: u8 = 7;
/// The layout version, every aggregate chunk's first byte.
pub const AGGREGATE_VERSION: u8 = 3;
/// Buckets one chunk holds at most.
pub const MAX_BUCKETS: usize = u16::MAX as usize;

const HAS_STALE: u8 = 1;
const HAS_ST: u8 = 2;
const HAS_OVERLAP: u8 = 4;
const NO_SUM: u8 = 8;
const HAS_MOMENTS: u8 = 16;
const HAS_TREND: u8 = 32;
const HAS_HISTOGRAMS: u8 = 64;
const KNOWN_FLAGS: u8 =
    HAS_STALE | HAS_ST | HAS_OVERLAP | NO_SUM | HAS_MOMENTS | HAS_TREND | HAS_HISTOGRAMS;

/// Value columns, in stream order.
const VALUE_COLUMNS: usize = 7;
const F: usize = 0;
const L: usize = 1;
const P: usize = 2;
const MIN: usize = 3;
const MAX: usize = 4;
const S: usize = 5;
const C: usize = 6;

/// A bucket's seven values, by column.
type Values = [f64; VALUE_COLUMNS];

/// The values of `a` by column (P is `last` when there is no `prev`; C is
/// 0 without resets).
fn values_of(a: &Aggregates) -> Values {
    let mut v = [0.0; VALUE_COLUMNS];
    v[F] = a.first.v;
    v[L] = a.last.v;
    v[P] = a.prev.map_or(a.last.v, |p| p.v);
    v[MIN] = a.min;
    v[MAX] = a.max;
    v[S] = a.sum.unwrap_or(0.0);
    v[C] = if a.resets > 0 {
        a.reset_correction
    } else {
        0.0
    };
    v
}

/// Predictions and residuals of one bucket's values, in integers.
/// `ms` holds the bucket's `m` per column as they become known.
struct Predictor {
    /// `m` of the last `last` value (0 before any).
    prev_last: i64,
    /// The increase of the last bucket with samples, `last − first +
    /// reset_correction` in `m` (0 before any).
    prev_inc: i64,
    /// Counters' predictions (version 3, a counter's chunk): the series
    /// grows about as much as in the bucket before.
    counter: bool,
}

impl Predictor {
    fn new(version: u8, flags: u8) -> Self {
        Predictor {
            prev_last: 0,
            prev_inc: 0,
            counter: version >= 3 && flags & NO_SUM != 0,
        }
    }

    /// The prediction of column `col` from the columns before it.
    fn predict(&self, col: usize, ms: &Values64, count: i64, resets: i64) -> i64 {
        if self.counter {
            return self.predict_counter(col, ms, resets);
        }
        let (first, last) = (ms[F], ms[L]);
        match col {
            F => self.prev_last,
            L => first,
            P => last,
            MIN => first.min(last),
            MAX => first.max(last),
            S => count
                .wrapping_mul(first)
                .wrapping_add(count.wrapping_mul(last.wrapping_sub(first)).div_euclid(2)),
            // A counter that reset once inside the bucket: the value
            // before the reset was (usually) its largest.
            C if resets == 1 => ms[MAX],
            // Many drops: a gauge, whose value before a drop is about
            // the middle of its range.
            C if resets > 1 => resets.wrapping_mul(ms[MIN].wrapping_add(ms[MAX]) / 2),
            _ => 0,
        }
    }

    /// A counter's predictions. Without a reset, `last` is `first` plus
    /// the previous bucket's increase, and `first` the minimum; with one,
    /// the values before the resets add up to that increase less the
    /// growth seen (`first + prev_inc − last`), and the minimum is about
    /// one step (`last − prev`) above 0.
    fn predict_counter(&self, col: usize, ms: &Values64, resets: i64) -> i64 {
        let (first, last) = (ms[F], ms[L]);
        let before_resets = first.wrapping_add(self.prev_inc).wrapping_sub(last);
        match col {
            F => self.prev_last,
            L if resets == 0 => first.wrapping_add(self.prev_inc),
            L => self.prev_inc / 2,
            P => last,
            MIN if resets == 0 => first.min(last),
            MIN => first.min(last.wrapping_sub(ms[P])),
            MAX if resets == 1 => last.max(before_resets),
            MAX => first.max(last),
            // One reset and a maximum above `last`: the maximum is the
            // value before the reset.
            C if resets == 1 && ms[MAX] > last => ms[MAX],
            C if resets > 0 => before_resets,
            _ => 0,
        }
    }

    /// Moves past a bucket with samples whose values were `ms`.
    fn advance(&mut self, ms: &Values64, resets: i64) {
        self.prev_last = ms[L];
        let correction = if resets > 0 { ms[C] } else { 0 };
        self.prev_inc = ms[L].wrapping_sub(ms[F]).wrapping_add(correction);
    }
}

type Values64 = [i64; VALUE_COLUMNS];

/// The residual stored for `m` in column `col` given its prediction:
/// never negative for MIN and MAX, whose predictions bound them, except
/// under the counter model, where MIN, MAX and C residuals of either sign
/// are zig-zag mapped (a negative residual would cost a packed stream
/// its full width).
fn residual(col: usize, m: i64, predicted: i64, counter: bool) -> i64 {
    match col {
        MIN | MAX | C if counter => zigzag(m.wrapping_sub(predicted)),
        P | MIN => predicted.wrapping_sub(m),
        _ => m.wrapping_sub(predicted),
    }
}

/// `m` back from a residual and the prediction.
fn unresidual(col: usize, r: i64, predicted: i64, counter: bool) -> i64 {
    match col {
        MIN | MAX | C if counter => unzigzag(r).wrapping_add(predicted),
        P | MIN => predicted.wrapping_sub(r),
        _ => r.wrapping_add(predicted),
    }
}

fn zigzag(x: i64) -> i64 {
    (x << 1) ^ (x >> 63)
}

fn unzigzag(z: i64) -> i64 {
    ((z as u64 >> 1) as i64) ^ -(z & 1)
}

/// Encodes `buckets` (ascending distinct ends on `res`'s grid, 1 ..=
/// [`MAX_BUCKETS`] of them) as one aggregate chunk appended to `out`.
pub fn encode(res: i64, buckets: &[Summary], out: &mut Vec<u8>) -> Result<()> {
    encode_as(AGGREGATE_VERSION, res, buckets, out)
}

/// [`encode`] in layout `version` (2 or 3; tests write version 2 to keep
/// its decoder honest).
fn encode_as(version: u8, res: i64, buckets: &[Summary], out: &mut Vec<u8>) -> Result<()> {
    check_input(res, buckets)?;
    let n = buckets.len();
    let mut flags = 0u8;
    for b in buckets {
        if b.stale.is_some() {
            flags |= HAS_STALE;
        }
        if b.histograms {
            flags |= HAS_HISTOGRAMS;
        }
        if let Some(a) = &b.agg {
            if a.first.st != 0 || a.last.st != 0 || a.prev.is_some_and(|p| p.st != 0) {
                flags |= HAS_ST;
            }
            if a.overlap {
                flags |= HAS_OVERLAP;
            }
            if a.sum.is_none() {
                flags |= NO_SUM;
            }
        }
    }
    // An optional column is kept when every bucket has it.
    let aggs = || buckets.iter().filter_map(|b| b.agg.as_ref());
    if aggs().all(|a| a.moments.is_some()) {
        flags |= HAS_MOMENTS;
    }
    if aggs().all(|a| a.trend.is_some()) {
        flags |= HAS_TREND;
    }
    let kept = |col: usize| col != S || flags & NO_SUM == 0;
    let e = chunk_exponent(buckets, flags & NO_SUM == 0);
    out.push(version);
    put_uvarint(out, res as u64);
    put_uvarint(out, n as u64);
    out.push(flags);
    out.push(e);
    // The orders and ULP columns bytes, known once the value columns are.
    let orders_at = out.len();
    out.extend_from_slice(&[0, 0]);
    let k0 = buckets[0].end / res;
    put_varint(out, k0);
    let column = |f: &dyn Fn(&Summary) -> i64| -> Vec<i64> { buckets.iter().map(f).collect() };
    let gaps: Vec<i64> = buckets
        .windows(2)
        .map(|w| (w[1].end - w[0].end) / res - 1)
        .collect();
    put_stream(&gaps, out);
    let agg = |b: &Summary, f: &dyn Fn(&Aggregates) -> i64| b.agg.as_ref().map_or(0, f);
    put_stream(&column(&|b| agg(b, &|a| a.count as i64)), out);
    if flags & HAS_STALE != 0 {
        put_stream(&column(&|b| b.stale.map_or(0, |t| b.end - t + 1)), out);
    }
    put_stream(&column(&|b| agg(b, &|a| a.first.t - (b.end - res))), out);
    put_stream(&column(&|b| agg(b, &|a| b.end - a.last.t)), out);
    put_stream(
        &column(&|b| agg(b, &|a| a.prev.map_or(0, |p| a.last.t - p.t))),
        out,
    );
    if flags & HAS_ST != 0 {
        let st = |p: &Point| start_offset(p.t, p.st);
        put_stream(&column(&|b| agg(b, &|a| st(&a.first))), out);
        put_stream(&column(&|b| agg(b, &|a| st(&a.last))), out);
        put_stream(
            &column(&|b| agg(b, &|a| a.prev.as_ref().map_or(0, st))),
            out,
        );
    }
    put_stream(&column(&|b| agg(b, &|a| a.resets as i64)), out);
    // Most pairs change (gauges) or most do not (idle counters): stored
    // as the pairs that do not, `count − 1 − changes`.
    put_stream(
        &column(&|b| agg(b, &|a| (a.count as i64 - 1).wrapping_sub(a.changes as i64))),
        out,
    );
    if flags & HAS_OVERLAP != 0 {
        put_stream(&column(&|b| agg(b, &|a| i64::from(a.overlap))), out);
    }
    if flags & HAS_HISTOGRAMS != 0 {
        put_stream(&column(&|b| i64::from(b.histograms)), out);
    }
    // Value columns.
    let mut residuals = vec![vec![0i64; n]; VALUE_COLUMNS];
    let mut ulps = vec![vec![0i64; n]; VALUE_COLUMNS];
    let mut raws: Vec<(usize, usize, u64)> = Vec::new();
    let mut pred = Predictor::new(version, flags);
    for (i, b) in buckets.iter().enumerate() {
        let Some(a) = &b.agg else { continue };
        let vs = values_of(a);
        let mut ms = [0i64; VALUE_COLUMNS];
        for col in (0..VALUE_COLUMNS).filter(|&c| kept(c)) {
            let predicted = pred.predict(col, &ms, a.count as i64, a.resets as i64);
            ms[col] = match near_decimal(vs[col], e) {
                Some((m, ulp)) => {
                    ulps[col][i] = ulp;
                    m
                }
                None => {
                    raws.push((i, col, vs[col].to_bits()));
                    predicted
                }
            };
            residuals[col][i] = residual(col, ms[col], predicted, pred.counter);
        }
        pred.advance(&ms, a.resets as i64);
    }
    let (mut orders, mut ulp_columns) = (0u8, 0u8);
    let mut columns = Vec::with_capacity(VALUE_COLUMNS);
    for (col, r) in residuals.into_iter().enumerate().filter(|(c, _)| kept(*c)) {
        let d = differences(&r);
        if stream::plan(&d).bytes < stream::plan(&r).bytes {
            orders |= 1 << col;
            columns.push(d);
        } else {
            columns.push(r);
        }
    }
    for (col, u) in ulps.iter().enumerate() {
        if u.iter().any(|&x| x != 0) {
            ulp_columns |= 1 << col;
        }
    }
    out[orders_at] = orders;
    out[orders_at + 1] = ulp_columns;
    for c in &columns {
        put_stream(c, out);
    }
    for (col, u) in ulps.iter().enumerate() {
        if ulp_columns & (1 << col) != 0 {
            put_stream(u, out);
        }
    }
    put_uvarint(out, raws.len() as u64);
    for (i, col, bits) in raws {
        out.extend_from_slice(&(i as u16).to_be_bytes());
        out.push(col as u8);
        out.extend_from_slice(&bits.to_be_bytes());
    }
    put_optional(buckets, flags, out);
    Ok(())
}

/// The optional columns' floats of a bucket with samples, in stream
/// order: mean and m2 with [`HAS_MOMENTS`], x̄, ȳ, Sxx, Sxy with
/// [`HAS_TREND`].
fn optional_values(a: &Aggregates, flags: u8) -> impl Iterator<Item = f64> {
    let m = a.moments.map_or([f64::NAN; 2], |m| [m.mean, m.m2]);
    let t = a
        .trend
        .map_or([f64::NAN; 4], |t| [t.mean_x, t.mean_y, t.sxx, t.sxy]);
    let m = m.into_iter().filter(move |_| flags & HAS_MOMENTS != 0);
    m.chain(t.into_iter().filter(move |_| flags & HAS_TREND != 0))
}

/// Writes the optional columns: one bit stream, each column's floats XOR
/// coded against the column's previous one (Gorilla), padded to a byte.
fn put_optional(buckets: &[Summary], flags: u8, out: &mut Vec<u8>) {
    if flags & (HAS_MOMENTS | HAS_TREND) == 0 {
        return;
    }
    let mut w = BitWriter::with_bytes(Vec::new());
    let mut cols = [XorValue::new(0.0); OPTIONAL_COLUMNS];
    for a in buckets.iter().filter_map(|b| b.agg.as_ref()) {
        for (c, v) in cols.iter_mut().zip(optional_values(a, flags)) {
            c.write(&mut w, v);
        }
    }
    out.extend_from_slice(w.bytes());
}

/// Most optional columns a chunk holds.
const OPTIONAL_COLUMNS: usize = 6;

/// Reads the optional columns back, bucket by bucket.
struct OptionalReader<'a> {
    r: BitReader<'a>,
    cols: [XorValue; OPTIONAL_COLUMNS],
    moments: bool,
    trend: bool,
}

impl<'a> OptionalReader<'a> {
    fn new(data: &'a [u8], flags: u8) -> Self {
        OptionalReader {
            r: BitReader::new(data),
            cols: [XorValue::new(0.0); OPTIONAL_COLUMNS],
            moments: flags & HAS_MOMENTS != 0,
            trend: flags & HAS_TREND != 0,
        }
    }

    /// The next bucket's moments and trend (as the chunk has them).
    fn next(&mut self) -> DecodeResult<(Option<Moments>, Option<Trend>)> {
        let n = usize::from(self.moments) * 2 + usize::from(self.trend) * 4;
        let mut v = [0.0; OPTIONAL_COLUMNS];
        for (c, out) in self.cols.iter_mut().zip(&mut v).take(n) {
            c.read(&mut self.r).map_err(|e| DecodeError {
                offset: 0,
                what: e.0,
            })?;
            *out = c.value();
        }
        if self.r.overrun() {
            return Err(DecodeError {
                offset: 0,
                what: "optional columns cut short",
            });
        }
        let moments = self.moments.then(|| Moments {
            mean: v[0],
            m2: v[1],
        });
        let t = if self.moments { &v[2..] } else { &v[..] };
        let trend = self.trend.then(|| Trend {
            mean_x: t[0],
            mean_y: t[1],
            sxx: t[2],
            sxy: t[3],
        });
        Ok((moments, trend))
    }
}

/// What every aggregate chunk's buckets need: a positive resolution, 1
/// ..= [`MAX_BUCKETS`] of them, ends on its grid and ascending.
pub(super) fn check_grid<B: super::Bucket>(res: i64, buckets: &[B]) -> Result<()> {
    let bad = |reason: String| Err(Error::InvalidSummaries { reason });
    if res <= 0 {
        return bad(format!("resolution {res} ms"));
    }
    if buckets.is_empty() || buckets.len() > MAX_BUCKETS {
        return bad(format!("{} buckets (1 ..= {MAX_BUCKETS})", buckets.len()));
    }
    for (i, b) in buckets.iter().enumerate() {
        if b.end().rem_euclid(res) != 0 {
            return bad(format!("bucket end {} is not a multiple of {res}", b.end()));
        }
        if i > 0 && b.end() <= buckets[i - 1].end() {
            let before = buckets[i - 1].end();
            return bad(format!("bucket end {} after {before}", b.end()));
        }
    }
    Ok(())
}

fn check_input(res: i64, buckets: &[Summary]) -> Result<()> {
    let bad = |reason: String| Err(Error::InvalidSummaries { reason });
    check_grid(res, buckets)?;
    for b in buckets {
        let inside = |t: i64| t > b.end - res && t <= b.end;
        let times = b
            .agg
            .iter()
            .flat_map(|a| [a.first.t, a.last.t])
            .chain(b.stale);
        if let Some(t) = times.into_iter().find(|&t| !inside(t)) {
            return bad(format!("time {t} outside the bucket ending {}", b.end));
        }
        if b.agg
            .is_some_and(|a| a.count == 0 || (a.count >= 2) != a.prev.is_some())
        {
            return bad(format!("bucket ending {}: count and prev disagree", b.end));
        }
    }
    Ok(())
}

/// A start time as stored: 0 for none, else `t − st`, moved one away from
/// 0 when not negative.
fn start_offset(t: i64, st: i64) -> i64 {
    if st == 0 {
        return 0;
    }
    let d = t.wrapping_sub(st);
    if d >= 0 { d.wrapping_add(1) } else { d }
}

/// Inverse of [`start_offset`].
fn start_from_offset(t: i64, stored: i64) -> i64 {
    match stored {
        0 => 0,
        s if s > 0 => t.wrapping_sub(s - 1),
        s => t.wrapping_sub(s),
    }
}

/// Most ULPs a value may be from its decimal to be stored as one.
const MAX_ULPS: i64 = 1 << 20;

/// `v` as a decimal `m` at exponent `e` and its distance in ULPs from
/// `m / 10^e` (0 when it is that decimal); `None` when it is not within
/// [`MAX_ULPS`] of one of the same sign.
fn near_decimal(v: f64, e: u8) -> Option<(i64, i64)> {
    if let Some(m) = scale::scaled(v, e) {
        return Some((m, 0));
    }
    if !v.is_finite() || v == 0.0 {
        return None;
    }
    let x = (v * POW10[usize::from(e)]).round();
    if x.abs() >= 9.0e15 {
        return None;
    }
    let m = x as i64;
    let base = m as f64 / POW10[usize::from(e)];
    if base == 0.0 || base.is_sign_negative() != v.is_sign_negative() {
        return None;
    }
    let ulp = v.to_bits() as i64 - base.to_bits() as i64;
    (ulp.abs() <= MAX_ULPS).then_some((m, ulp))
}

/// The value `m / 10^e` moved by `ulp` units in the last place.
fn from_decimal(m: i64, ulp: i64, div: f64) -> f64 {
    let base = m as f64 / div;
    if ulp == 0 {
        base
    } else {
        f64::from_bits((base.to_bits() as i64).wrapping_add(ulp) as u64)
    }
}

/// `xs` as differences from one element to the next (the first as is).
fn differences(xs: &[i64]) -> Vec<i64> {
    let mut prev = 0i64;
    xs.iter()
        .map(|&x| {
            let d = x.wrapping_sub(prev);
            prev = x;
            d
        })
        .collect()
}

/// The exponent for the chunk's values (as the decimal chunk chooses it).
fn chunk_exponent(buckets: &[Summary], with_sum: bool) -> u8 {
    let mut counts = [0u32; MAX_EXP as usize + 1];
    let mut n = 0usize;
    let mut hint = 0u8;
    for a in buckets.iter().filter_map(|b| b.agg.as_ref()) {
        let vs = values_of(a);
        for (_, &v) in vs.iter().enumerate().filter(|&(c, _)| with_sum || c != S) {
            n += 1;
            if let Some((e, _)) = scale::exponent_of(v, hint) {
                counts[usize::from(e)] += 1;
                hint = e;
            }
        }
    }
    scale::choose(&counts, n.max(1))
}

fn put_stream(xs: &[i64], out: &mut Vec<u8>) {
    if xs.is_empty() {
        return;
    }
    let plan = stream::plan(xs);
    stream::write(xs, &plan, out);
}

/// Buckets recorded in the chunk's header (0 for a chunk too short).
pub fn num_buckets(data: &[u8]) -> usize {
    let mut d = Decbuf::new(data);
    let header = d
        .u8("version")
        .and_then(|_| d.uvarint("resolution"))
        .and_then(|_| d.uvarint("bucket count"));
    header.map_or(0, |n| n.min(MAX_BUCKETS as u64) as usize)
}

/// Decodes an aggregate chunk: its resolution and its summaries.
pub fn decode(data: &[u8]) -> DecodeResult<(i64, Vec<Summary>)> {
    let mut out = Vec::new();
    let res = decode_checked(data, Some((&mut out, i64::MIN, i64::MAX)))?;
    Ok((res, out))
}

/// Appends the summaries of the buckets ending in `(lo, hi]` to `out`
/// (decoding stops after `hi`); returns the chunk's resolution.
pub fn decode_range(data: &[u8], lo: i64, hi: i64, out: &mut Vec<Summary>) -> DecodeResult<i64> {
    decode_checked(data, Some((out, lo, hi)))
}

/// The chunk's bucket count and flags byte, from its header.
fn header(data: &[u8]) -> DecodeResult<(u64, u8)> {
    let mut d = Decbuf::new(data);
    d.u8("aggregate chunk version")?;
    d.uvarint("resolution")?;
    let n = d.uvarint("bucket count")?;
    Ok((n, d.u8("flags")?))
}

/// The number of buckets the chunk holds (its header).
pub fn bucket_count(data: &[u8]) -> DecodeResult<u64> {
    header(data).map(|(n, _)| n)
}

/// Whether some bucket of the chunk held native histogram samples too
/// (its flags byte).
pub fn histograms_too(data: &[u8]) -> DecodeResult<bool> {
    header(data).map(|(_, flags)| flags & HAS_HISTOGRAMS != 0)
}

/// Whether every bucket of the chunk keeps `column` (its flags byte).
pub fn keeps(data: &[u8], column: super::Column) -> DecodeResult<bool> {
    let (_, flags) = header(data)?;
    Ok(match column {
        super::Column::Sum => flags & NO_SUM == 0,
        super::Column::Moments => flags & HAS_MOMENTS != 0,
        super::Column::Trend => flags & HAS_TREND != 0,
    })
}

/// Checks the header and that every stream and the raw list lie inside
/// `data` (what makes decoding safe), without decoding the buckets.
pub fn validate(data: &[u8]) -> DecodeResult<()> {
    decode_checked(data, None).map(drop)
}

/// The checks of [`decode`], then, with a sink, the buckets ending in its
/// range appended to it.
fn decode_checked(data: &[u8], sink: Option<(&mut Vec<Summary>, i64, i64)>) -> DecodeResult<i64> {
    let mut d = Decbuf::new(data);
    let at = d.position();
    let version = d.u8("aggregate chunk version")?;
    if !(2..=AGGREGATE_VERSION).contains(&version) {
        return Err(DecodeError {
            offset: at,
            what: "unknown aggregate chunk version",
        });
    }
    let at = d.position();
    let res = d.uvarint("resolution")?;
    if res == 0 || res > i64::MAX as u64 {
        return Err(DecodeError {
            offset: at,
            what: "bad resolution",
        });
    }
    let res = res as i64;
    let at = d.position();
    let n = d.uvarint("bucket count")?;
    if n == 0 || n > MAX_BUCKETS as u64 {
        return Err(DecodeError {
            offset: at,
            what: "bad bucket count",
        });
    }
    let n = n as usize;
    let at = d.position();
    let flags = d.u8("flags")?;
    if flags & !KNOWN_FLAGS != 0 {
        return Err(DecodeError {
            offset: at,
            what: "unknown aggregate chunk flags",
        });
    }
    let at = d.position();
    let e = d.u8("exponent")?;
    if e > MAX_EXP {
        return Err(DecodeError {
            offset: at,
            what: "exponent above 15",
        });
    }
    let at = d.position();
    let orders = d.u8("value column orders")?;
    let ulp_columns = d.u8("ULP columns")?;
    if (orders | ulp_columns) >> VALUE_COLUMNS != 0 {
        return Err(DecodeError {
            offset: at,
            what: "unknown value columns",
        });
    }
    let has_sum = flags & NO_SUM == 0;
    let k0 = d.varint("first bucket")?;
    let mut parse = |len: usize, present: bool| -> DecodeResult<StreamReader<'_>> {
        if present && len > 0 {
            StreamReader::parse(&mut d, data, len)
        } else {
            Ok(StreamReader::constant(0))
        }
    };
    let mut gaps = parse(n - 1, true)?;
    let mut count = parse(n, true)?;
    let mut stale = parse(n, flags & HAS_STALE != 0)?;
    let mut first_t = parse(n, true)?;
    let mut last_t = parse(n, true)?;
    let mut prev_t = parse(n, true)?;
    let has_st = flags & HAS_ST != 0;
    let mut sts = [parse(n, has_st)?, parse(n, has_st)?, parse(n, has_st)?];
    let mut resets = parse(n, true)?;
    let mut changes = parse(n, true)?;
    let mut overlap = parse(n, flags & HAS_OVERLAP != 0)?;
    let mut histograms = parse(n, flags & HAS_HISTOGRAMS != 0)?;
    let mut values = Vec::with_capacity(VALUE_COLUMNS);
    for col in 0..VALUE_COLUMNS {
        values.push(parse(n, col != S || has_sum)?);
    }
    let mut ulps = Vec::with_capacity(VALUE_COLUMNS);
    for col in 0..VALUE_COLUMNS {
        ulps.push(parse(n, ulp_columns & (1 << col) != 0)?);
    }
    // Running sums of the columns stored as differences.
    let mut running = [0i64; VALUE_COLUMNS];
    let raws = read_raws(&mut d, n, has_sum)?;
    let mut optional = OptionalReader::new(d.bytes(d.remaining(), "optional columns")?, flags);
    let Some((out, lo, hi)) = sink else {
        return Ok(res);
    };

    let div = POW10[usize::from(e)];
    let (has_stale, has_overlap) = (flags & HAS_STALE != 0, flags & HAS_OVERLAP != 0);
    let has_histograms = flags & HAS_HISTOGRAMS != 0;
    out.reserve(n);
    let mut k = k0;
    let mut raw_at = 0usize;
    let mut pred = Predictor::new(version, flags);
    for i in 0..n {
        if i > 0 {
            k = k.wrapping_add(gaps.next()).wrapping_add(1);
        }
        let end = k.wrapping_mul(res);
        if end > hi {
            break;
        }
        // Earlier buckets are decoded all the same: later predictions
        // start from them.
        let keep = end > lo;
        // Absent streams (flags) are skipped, not read as zeros.
        let cnt = count.next();
        let stale_off = if has_stale { stale.next() } else { 0 };
        let stale = (stale_off != 0).then(|| end.wrapping_sub(stale_off).wrapping_add(1));
        let (ft, lt, pt) = (first_t.next(), last_t.next(), prev_t.next());
        let st = if has_st {
            [sts[0].next(), sts[1].next(), sts[2].next()]
        } else {
            [0; 3]
        };
        let (rs, ch) = (resets.next(), changes.next());
        let ov = if has_overlap { overlap.next() } else { 0 };
        let hist = has_histograms && histograms.next() != 0;
        let mut rs_ = [0i64; VALUE_COLUMNS];
        let mut ulp = [0i64; VALUE_COLUMNS];
        for col in 0..VALUE_COLUMNS {
            if col == S && !has_sum {
                continue;
            }
            let x = values[col].next();
            rs_[col] = if orders & (1 << col) != 0 {
                running[col] = running[col].wrapping_add(x);
                running[col]
            } else {
                x
            };
            if ulp_columns & (1 << col) != 0 {
                ulp[col] = ulps[col].next();
            }
        }
        if cnt <= 0 {
            if keep {
                out.push(Summary {
                    end,
                    agg: None,
                    stale,
                    histograms: hist,
                });
            }
            continue;
        }
        if rs < 0 || ch < 0 || ch > cnt - 1 {
            return Err(DecodeError {
                offset: data.len(),
                what: "reset or change count out of range",
            });
        }
        let has_prev = cnt >= 2;
        let mut ms = [0i64; VALUE_COLUMNS];
        let mut vs = [0f64; VALUE_COLUMNS];
        for col in (0..VALUE_COLUMNS).filter(|&c| c != S || has_sum) {
            let predicted = pred.predict(col, &ms, cnt, rs);
            match raws.get(raw_at) {
                Some(&(ri, rc, bits)) if (ri, rc) == (i, col) => {
                    raw_at += 1;
                    ms[col] = predicted;
                    vs[col] = f64::from_bits(bits);
                }
                _ => {
                    ms[col] = unresidual(col, rs_[col], predicted, pred.counter);
                    vs[col] = from_decimal(ms[col], ulp[col], div);
                }
            }
        }
        pred.advance(&ms, rs);
        let (moments, trend) = optional.next()?;
        let last_t = end.wrapping_sub(lt);
        let point = |t: i64, v: f64, st: i64| Point {
            t,
            v,
            st: start_from_offset(t, st),
        };
        if !keep {
            continue;
        }
        let last = point(last_t, vs[L], st[1]);
        out.push(Summary {
            end,
            agg: Some(Aggregates {
                count: cnt as u64,
                first: point(end.wrapping_sub(res).wrapping_add(ft), vs[F], st[0]),
                last,
                prev: has_prev.then(|| point(last_t.wrapping_sub(pt), vs[P], st[2])),
                sum: has_sum.then_some(vs[S]),
                min: vs[MIN],
                max: vs[MAX],
                resets: rs as u64,
                reset_correction: if rs > 0 { vs[C] } else { 0.0 },
                changes: (cnt - 1).wrapping_sub(ch) as u64,
                overlap: ov != 0,
                moments,
                trend,
            }),
            stale,
            histograms: hist,
        });
    }
    Ok(res)
}

/// The raw-value list: (bucket, column, bits), in the order written.
fn read_raws(
    d: &mut Decbuf<'_>,
    n: usize,
    has_sum: bool,
) -> DecodeResult<Vec<(usize, usize, u64)>> {
    let at = d.position();
    let r = d.uvarint("raw value count")?;
    if r > (n * VALUE_COLUMNS) as u64 {
        return Err(DecodeError {
            offset: at,
            what: "more raw values than values",
        });
    }
    let mut raws = Vec::with_capacity(r as usize);
    for _ in 0..r {
        let at = d.position();
        let b = d.bytes(2, "raw value bucket")?;
        let i = usize::from(u16::from_be_bytes([b[0], b[1]]));
        let col = usize::from(d.u8("raw value column")?);
        let bits = d.u64_be("raw value")?;
        if i >= n
            || col >= VALUE_COLUMNS
            || (col == S && !has_sum)
            || raws.last().is_some_and(|&(pi, pc, _)| (pi, pc) >= (i, col))
        {
            return Err(DecodeError {
                offset: at,
                what: "raw value out of place",
            });
        }
        raws.push((i, col, bits));
    }
    Ok(raws)
}

#[cfg(test)]
#[path = "chunk_tests.rs"]
mod tests;
