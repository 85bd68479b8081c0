//! The decimal chunk (encoding byte 2): for immutable blocks, where most
//! values are decimals with few digits (integer counters, gauges rounded to
//! a few places) whose binary mantissas defeat XOR compression.
//!
//! Values become integers `mᵢ` with `vᵢ = mᵢ / 10^e` bit for bit, one
//! exponent `e` per chunk; the `mᵢ` are stored as deltas (counters, random
//! walks) or deltas of deltas (smooth curves), whichever is smaller, and
//! timestamps as deltas, each in a packed stream ([`stream`]: frame of
//! reference, common factor, fixed-width bit packing, patched exceptions).
//! A value that is no such decimal (NaN payloads such as the staleness
//! marker, ±Inf, −0.0, values with too many digits) is stored raw, so every
//! bit pattern round-trips.
//!
//! ```text
//! ┌──────────────────┬───────────────────┬────────────────────┬────────────────────────────┐
//! │ version = 1 (1B) │ n uvarint         │ t₀ varint (zigzag) │ Δt stream, n − 1 elements  │
//! │                  │ (1 ..= 65535)     │                    │ (absent when n = 1)        │
//! ├────────────┬─────┴───────────────────┴──┬─────────────────┴────────────────────────────┤
//! │ scale (1B) │ if scale bit 5: raw count  │ r × (index u16 BE, value bits u64 BE),       │
//! │            │ r uvarint (else r = 0)     │ indexes strictly increasing, < n             │
//! ├────────────┴──────────┬─────────────────┴─────┬────────────────────────────────────────┤
//! │ m₀ varint (zigzag;    │ order 2: m₁ − m₀      │ value stream: k − order elements       │
//! │ absent when k = 0)    │ varint (zigzag)       │ (Δm or Δ²m; absent when k ≤ order)     │
//! └───────────────────────┴───────────────────────┴────────────────────────────────────────┘
//! scale: bits 0–4 the exponent e (0..=15), bit 5 raw values present,
//!        bit 7 the order (0: deltas, 1: deltas of deltas, only when
//!        k ≥ 3), bit 6 zero.
//! ```
//! Sample `i` has timestamp `t₀ + Σ Δt`. If `i` is in the raw list its value
//! is the stored bits; the other `k = n − r` samples, in order, have values
//! `(m₀ as f64) / 10^e, (m₁ as f64) / 10^e, …` — raw samples take no place
//! in the `m` sequence, so a staleness marker costs its 10 bytes and does
//! not disturb the deltas. All integer arithmetic wraps, so any timestamps
//! and any values have an encoding; chunks hold strictly increasing
//! timestamps, but the encoding does not rely on it.
//!
//! The head keeps XOR chunks (appendable); the block writer encodes each
//! chunk both ways and keeps the smaller. Decoding is lazy and sequential
//! like XOR's; [`DecimalIter::try_new`] checks that every region lies inside
//! the data, after which decoding cannot read out of bounds or panic.

pub(crate) mod scale;
pub(crate) mod stream;
#[cfg(test)]
mod tests;

use super::chunk::SampleIterator;
use crate::encoding::{Decbuf, DecodeError, DecodeResult, put_uvarint, put_varint};
use crate::model::Sample;
use stream::{Plan, StreamReader};

pub use scale::MAX_EXP;

/// The encoding byte of decimal chunks in chunk references.
pub const ENCODING_DECIMAL: u8 = 2;

/// The layout version, every decimal chunk's first byte.
pub const DECIMAL_VERSION: u8 = 1;

/// Scale byte bits.
const ORDER2: u8 = 0x80;
const RESERVED: u8 = 0x40;
const HAS_RAW: u8 = 0x20;
const RAW_ENTRY: usize = 10;

/// Encodes chunks; reuses its buffers across calls.
#[derive(Debug, Default)]
pub struct DecimalEncoder {
    ms: Vec<i64>,
    xs: Vec<i64>,
    /// Per sample: its smallest exponent, or [`RAW`].
    exps: Vec<u8>,
}

/// In `DecimalEncoder::exps`: a value stored raw.
const RAW: u8 = u8::MAX;

impl DecimalEncoder {
    /// Appends `samples` encoded as one decimal chunk to `out` and returns
    /// `true`; returns `false` (and leaves `out` alone) when there are none
    /// or more than `u16::MAX`. Timestamps may be anything; every value's
    /// bits round-trip.
    pub fn encode(&mut self, samples: &[Sample], out: &mut Vec<u8>) -> bool {
        let n = samples.len();
        if n == 0 || n > usize::from(u16::MAX) {
            return false;
        }
        out.push(DECIMAL_VERSION);
        put_uvarint(out, n as u64);
        put_varint(out, samples[0].t);
        if n > 1 {
            self.xs.clear();
            self.xs
                .extend(samples.windows(2).map(|w| w[1].t.wrapping_sub(w[0].t)));
            let p = stream::plan(&self.xs);
            stream::write(&self.xs, &p, out);
        }
        let e = self.scale(samples);
        let (order, plan) = self.choose_order();
        let raws = self.exps.iter().filter(|&&e| e == RAW).count();
        let order_bit = if order == 2 { ORDER2 } else { 0 };
        if raws > 0 {
            out.push(e | order_bit | HAS_RAW);
            put_uvarint(out, raws as u64);
        } else {
            out.push(e | order_bit);
        }
        for (i, s) in samples
            .iter()
            .enumerate()
            .filter(|(i, _)| self.exps[*i] == RAW)
        {
            out.extend_from_slice(&(i as u16).to_be_bytes());
            out.extend_from_slice(&s.v.to_bits().to_be_bytes());
        }
        if let Some(&m0) = self.ms.first() {
            put_varint(out, m0);
        }
        if order == 2 {
            put_varint(out, self.ms[1].wrapping_sub(self.ms[0]));
        }
        if let Some(p) = plan {
            self.fill_diffs(order);
            stream::write(&self.xs, &p, out);
        }
        true
    }

    /// Picks the exponent and fills `exps` (per sample) and `ms` (per
    /// decimal sample).
    fn scale(&mut self, samples: &[Sample]) -> u8 {
        let mut counts = [0u32; MAX_EXP as usize + 1];
        let mut hint = 0;
        self.exps.clear();
        self.ms.clear();
        for s in samples {
            let found = scale::exponent_of(s.v, hint);
            if let Some((e, m)) = found {
                counts[usize::from(e)] += 1;
                hint = e;
                self.ms.push(m);
            } else {
                self.ms.push(0);
            }
            self.exps.push(found.map_or(RAW, |f| f.0));
        }
        let e = scale::choose(&counts, samples.len());
        // Keep the decimal values' m at `e`, in place; values needing a
        // larger exponent than `e` are stored raw.
        let mut k = 0;
        for (i, s) in samples.iter().enumerate() {
            let found = self.exps[i];
            let m = match found {
                f if f <= e => scale::rescale(s.v, self.ms[i], f, e),
                _ => None,
            };
            match m {
                Some(m) => {
                    self.ms[k] = m;
                    k += 1;
                }
                None => self.exps[i] = RAW,
            }
        }
        self.ms.truncate(k);
        e
    }

    /// Fills `xs` with the differences of `ms` of `order` (1 or 2).
    fn fill_diffs(&mut self, order: u8) {
        self.xs.clear();
        let ms = &self.ms;
        if order == 1 {
            self.xs
                .extend(ms.windows(2).map(|w| w[1].wrapping_sub(w[0])));
        } else {
            self.xs.extend(ms.windows(3).map(|w| {
                w[2].wrapping_sub(w[1])
                    .wrapping_sub(w[1].wrapping_sub(w[0]))
            }));
        }
    }

    /// The cheaper order and the plan of its value stream (`None` when the
    /// stream is empty).
    fn choose_order(&mut self) -> (u8, Option<Plan>) {
        let k = self.ms.len();
        if k < 2 {
            return (1, None);
        }
        self.fill_diffs(1);
        let p1 = stream::plan(&self.xs);
        if k < 3 {
            return (1, Some(p1));
        }
        self.fill_diffs(2);
        let p2 = stream::plan(&self.xs);
        let d1 = self.ms[1].wrapping_sub(self.ms[0]);
        let d1_len = stream::varint_len(d1);
        if p2.bytes + d1_len < p1.bytes {
            (2, Some(p2))
        } else {
            (1, Some(p1))
        }
    }
}

/// Number of samples in a decimal chunk's header (0 when it has none).
pub fn num_samples(bytes: &[u8]) -> usize {
    let mut d = Decbuf::new(bytes);
    match (d.u8("version"), d.uvarint("length")) {
        (Ok(DECIMAL_VERSION), Ok(n)) => usize::try_from(n).unwrap_or(0).min(usize::from(u16::MAX)),
        _ => 0,
    }
}

/// Checks a decimal chunk's header and that all its regions lie inside
/// `bytes`; the error carries the offset inside the chunk.
pub fn validate(bytes: &[u8]) -> DecodeResult<()> {
    DecimalIter::try_new(bytes).map(|_| ())
}

/// Decodes a decimal chunk sample by sample.
#[derive(Debug, Clone)]
pub struct DecimalIter<'a> {
    total: u16,
    read: u16,
    t: i64,
    m: i64,
    /// Current delta of `m` (order 2 only).
    d: i64,
    /// Decimal (not raw) samples decoded so far.
    decimals: u16,
    order2: bool,
    ts: StreamReader<'a>,
    vals: StreamReader<'a>,
    div: f64,
    v: f64,
    /// Raw entries not yet reached (10 bytes each).
    raw: &'a [u8],
    next_raw: usize,
    next_raw_bits: u64,
    err: Option<DecodeError>,
}

fn bad<T>(offset: usize, what: &'static str) -> DecodeResult<T> {
    Err(DecodeError { offset, what })
}

impl<'a> DecimalIter<'a> {
    /// An iterator over `bytes`; a malformed chunk yields no samples and
    /// reports why in [`err`](Self::err).
    pub fn new(bytes: &'a [u8]) -> Self {
        Self::try_new(bytes).unwrap_or_else(|e| {
            let mut it = Self::empty();
            it.err = Some(e);
            it
        })
    }

    fn empty() -> Self {
        let none = StreamReader::constant(0);
        DecimalIter {
            total: 0,
            read: 0,
            t: 0,
            m: 0,
            d: 0,
            decimals: 0,
            order2: false,
            ts: none.clone(),
            vals: none,
            div: 1.0,
            v: 0.0,
            raw: &[],
            next_raw: usize::MAX,
            next_raw_bits: 0,
            err: None,
        }
    }

    /// Parses the headers and checks every region's bounds.
    pub fn try_new(bytes: &'a [u8]) -> DecodeResult<Self> {
        let mut d = Decbuf::new(bytes);
        let mut it = Self::empty();
        let version = d.u8("decimal chunk version")?;
        if version != DECIMAL_VERSION {
            return bad(0, "unsupported decimal chunk version");
        }
        let at = d.position();
        let total = d.uvarint("decimal chunk length")?;
        let Ok(total) = u16::try_from(total) else {
            return bad(at, "more than 65535 samples in a decimal chunk");
        };
        if total == 0 {
            return match d.is_empty() {
                true => Ok(it),
                false => bad(d.position(), "bytes after the end of the decimal chunk"),
            };
        }
        let n = usize::from(total);
        it.total = total;
        it.t = d.varint("first timestamp")?;
        if n > 1 {
            it.ts = StreamReader::parse(&mut d, bytes, n - 1)?;
        }
        let scale_at = d.position();
        let scale = d.u8("decimal scale")?;
        let e = scale & !(ORDER2 | RESERVED | HAS_RAW);
        if scale & RESERVED != 0 || e > MAX_EXP {
            return bad(scale_at, "bad decimal scale byte");
        }
        it.order2 = scale & ORDER2 != 0;
        it.div = scale::POW10[usize::from(e)];
        let at = d.position();
        let raws = match scale & HAS_RAW {
            0 => 0,
            _ => d.uvarint("raw value count")?,
        };
        if raws > u64::from(total) {
            return bad(at, "more raw values than samples");
        }
        let at = d.position();
        it.raw = d.bytes(raws as usize * RAW_ENTRY, "raw values")?;
        let mut prev: Option<u16> = None;
        for e in it.raw.chunks_exact(RAW_ENTRY) {
            let i = u16::from_be_bytes([e[0], e[1]]);
            if i >= total || prev.is_some_and(|p| i <= p) {
                return bad(at, "raw value indexes out of order or range");
            }
            prev = Some(i);
        }
        it.load_raw();
        let k = n - raws as usize;
        if it.order2 && k < 3 {
            return bad(scale_at, "deltas of deltas need three decimal values");
        }
        if k > 0 {
            it.m = d.varint("first value")?;
        }
        if it.order2 {
            it.d = d.varint("first value delta")?;
        }
        let order = if it.order2 { 2 } else { 1 };
        if k > order {
            it.vals = StreamReader::parse(&mut d, bytes, k - order)?;
        }
        if !d.is_empty() {
            return bad(d.position(), "bytes after the end of the decimal chunk");
        }
        Ok(it)
    }

    /// Why decoding stopped before it began, if it did.
    pub fn err(&self) -> Option<&'static str> {
        self.err.as_ref().map(|e| e.what)
    }

    pub fn num_samples(&self) -> usize {
        usize::from(self.total)
    }

    fn load_raw(&mut self) {
        match self.raw.split_first_chunk::<RAW_ENTRY>() {
            Some((e, rest)) => {
                self.next_raw = usize::from(u16::from_be_bytes([e[0], e[1]]));
                let mut b = [0u8; 8];
                b.copy_from_slice(&e[2..]);
                self.next_raw_bits = u64::from_be_bytes(b);
                self.raw = rest;
            }
            None => self.next_raw = usize::MAX,
        }
    }

    /// Decodes the next sample into the iterator state.
    #[inline(always)]
    fn advance(&mut self) -> bool {
        let i = self.read;
        if i >= self.total {
            return false;
        }
        if i > 0 {
            self.t = self.t.wrapping_add(self.ts.next());
        }
        self.v = self.next_value(i);
        self.read = i + 1;
        true
    }

    /// The value of sample `i`, the next one not yet decoded.
    #[inline(always)]
    fn next_value(&mut self, i: u16) -> f64 {
        if usize::from(i) == self.next_raw {
            let bits = self.next_raw_bits;
            self.load_raw();
            return f64::from_bits(bits);
        }
        let k = self.decimals;
        if k > 0 {
            if self.order2 {
                if k > 1 {
                    self.d = self.d.wrapping_add(self.vals.next());
                }
                self.m = self.m.wrapping_add(self.d);
            } else {
                self.m = self.m.wrapping_add(self.vals.next());
            }
        }
        self.decimals = k + 1;
        self.m as f64 / self.div
    }
}

impl SampleIterator for DecimalIter<'_> {
    fn next(&mut self) -> bool {
        self.advance()
    }

    fn at(&self) -> Sample {
        Sample::new(self.t, self.v)
    }
}

/// Appends every sample of the chunk with `mint <= t <= maxt` to `out`
/// (nothing for a malformed chunk). Decodes timestamps first, then values
/// only up to the last sample in range, converting to floats only inside
/// it.
pub fn decode_range(bytes: &[u8], mint: i64, maxt: i64, out: &mut Vec<Sample>) {
    let Ok(mut it) = DecimalIter::try_new(bytes) else {
        return;
    };
    let n = usize::from(it.total);
    let start = out.len();
    out.reserve(n);
    // Samples lo..hi are in range; timestamps increase, so once one is in
    // range every later one is until one passes maxt.
    let (mut lo, mut hi) = (n, n);
    let mut t = it.t;
    for i in 0..n {
        if i > 0 {
            t = t.wrapping_add(it.ts.next());
        }
        if t > maxt {
            hi = i;
            break;
        }
        if lo == n && t >= mint {
            lo = i;
        }
        if lo != n {
            out.push(Sample::new(t, 0.0));
        }
    }
    if lo >= hi {
        return;
    }
    let slots = &mut out[start..];
    if it.raw.is_empty() && it.next_raw == usize::MAX && !it.order2 {
        // The common case: plain deltas, no raw values.
        let mut m = it.m;
        for _ in 0..lo {
            m = m.wrapping_add(it.vals.next());
        }
        let div = it.div;
        let mut slots = slots.iter_mut();
        if let Some(s) = slots.next() {
            s.v = m as f64 / div;
        }
        for s in slots {
            m = m.wrapping_add(it.vals.next());
            s.v = m as f64 / div;
        }
        return;
    }
    for i in 0..hi {
        let v = it.next_value(i as u16);
        if let Some(s) = i.checked_sub(lo).and_then(|j| slots.get_mut(j)) {
            s.v = v;
        }
    }
}
