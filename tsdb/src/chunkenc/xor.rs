//! The Gorilla XOR chunk: delta-of-delta timestamps and XOR-compressed
//! floats in one bit stream.
//!
//! ```text
//! ┌──────────────────────┬──────────────────────────────────────────────┐
//! │ num samples u16 (BE) │ bit stream                                    │
//! └──────────────────────┴──────────────────────────────────────────────┘
//! bit stream:
//!   sample 0: t varint (zig-zag) │ v: 64 raw bits
//!   sample 1: Δt uvarint          │ v: XOR code
//!   sample n: Δ²t code            │ v: XOR code
//!
//! Δ²t code (Δ²t = (tₙ − tₙ₋₁) − (tₙ₋₁ − tₙ₋₂)):
//!   0                      Δ²t = 0
//!   10   + 14-bit value    −8191 ≤ Δ²t ≤ 8192
//!   110  + 17-bit value    −65535 ≤ Δ²t ≤ 65536
//!   1110 + 20-bit value    −524287 ≤ Δ²t ≤ 524288
//!   1111 + 64-bit value    anything else
//! XOR code (x = bits(vₙ) ^ bits(vₙ₋₁)):
//!   0                                  x = 0 (same value)
//!   10 + meaningful bits               x fits the previous leading/trailing window
//!   11 + 5-bit leading + 6-bit count   new window (count 64 is written as 0)
//!      + meaningful bits
//! ```
//! Values are stored as raw IEEE-754 bits, so every bit pattern round-trips:
//! NaN payloads (the staleness marker), ±Inf, −0.0. Timestamps inside a
//! chunk must strictly increase.

use std::sync::Arc;

use super::bstream::{BitReader, WordWriter};
use super::chunk::SampleIterator;
use crate::encoding::{put_uvarint, put_varint};
use crate::error::{Error, Result};
use crate::model::Sample;

/// The encoding byte of XOR chunks in chunk references (0 = none).
pub const ENCODING_XOR: u8 = 1;

/// The head cuts a chunk after this many samples.
pub const MAX_SAMPLES_PER_CHUNK: usize = 120;

const HEADER: usize = 2;

/// Number of samples recorded in a chunk's header (0 for a short slice).
pub fn num_samples(bytes: &[u8]) -> usize {
    match bytes {
        [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
        _ => 0,
    }
}

/// Encodes samples into a chunk; [`to_bytes`](Self::to_bytes) gives a
/// complete, decodable chunk after every append. An append writes to the
/// encoder's own fields and, every few samples, one word to the end of its
/// buffer: the sample count is put in the header only by `to_bytes`.
#[derive(Debug, Clone)]
pub struct XorAppender {
    w: WordWriter,
    n: u16,
    t: i64,
    t_delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
    first_t: i64,
}

impl Default for XorAppender {
    fn default() -> Self {
        Self::new()
    }
}

impl XorAppender {
    pub fn new() -> Self {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(&[0, 0]);
        XorAppender {
            w: WordWriter::with_bytes(bytes),
            n: 0,
            t: 0,
            t_delta: 0,
            v: 0,
            leading: 0xff,
            trailing: 0,
            first_t: 0,
        }
    }

    /// Appends a sample. `t` must be greater than the previous timestamp;
    /// at most `u16::MAX` samples fit in a chunk.
    pub fn append(&mut self, t: i64, v: f64) {
        debug_assert!(self.n == 0 || t > self.t, "timestamps must increase");
        debug_assert!(self.n < u16::MAX);
        let bits = v.to_bits();
        match self.n {
            0 => {
                let mut b = Vec::with_capacity(10);
                put_varint(&mut b, t);
                for x in b {
                    self.w.write_byte(x);
                }
                self.w.write_bits(bits, 64);
                self.first_t = t;
            }
            1 => {
                let delta = t.wrapping_sub(self.t);
                let mut b = Vec::with_capacity(10);
                put_uvarint(&mut b, delta as u64);
                for x in b {
                    self.w.write_byte(x);
                }
                self.write_value(bits);
                self.t_delta = delta;
            }
            _ => {
                let delta = t.wrapping_sub(self.t);
                let dod = delta.wrapping_sub(self.t_delta);
                match dod {
                    0 => self.w.write_bit(false),
                    d if fits(d, 14) => {
                        self.w.write_bits(0b10, 2);
                        self.w.write_bits(d as u64, 14);
                    }
                    d if fits(d, 17) => {
                        self.w.write_bits(0b110, 3);
                        self.w.write_bits(d as u64, 17);
                    }
                    d if fits(d, 20) => {
                        self.w.write_bits(0b1110, 4);
                        self.w.write_bits(d as u64, 20);
                    }
                    d => {
                        self.w.write_bits(0b1111, 4);
                        self.w.write_bits(d as u64, 64);
                    }
                }
                self.write_value(bits);
                self.t_delta = delta;
            }
        }
        self.t = t;
        self.v = bits;
        self.n += 1;
    }

    fn write_value(&mut self, bits: u64) {
        let x = bits ^ self.v;
        if x == 0 {
            self.w.write_bit(false);
            return;
        }
        self.w.write_bit(true);
        let leading = (x.leading_zeros() as u8).min(31);
        let trailing = x.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            self.w.write_bit(false);
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.w.write_bits(x >> self.trailing, sig);
            return;
        }
        self.leading = leading;
        self.trailing = trailing;
        self.w.write_bit(true);
        self.w.write_bits(u64::from(leading), 5);
        let sig = 64 - u32::from(leading) - u32::from(trailing);
        // 64 meaningful bits are written as 0 (6 bits cannot hold 64).
        self.w.write_bits(u64::from(sig) & 63, 6);
        self.w.write_bits(x >> trailing, sig);
    }

    pub fn num_samples(&self) -> usize {
        usize::from(self.n)
    }

    /// The encoded chunk so far (a copy).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.w.copy_to(&mut out);
        out[..HEADER].copy_from_slice(&self.n.to_be_bytes());
        out
    }

    pub fn first_time(&self) -> Option<i64> {
        (self.n > 0).then_some(self.first_t)
    }

    pub fn last_time(&self) -> Option<i64> {
        (self.n > 0).then_some(self.t)
    }

    /// Freezes the chunk.
    pub fn into_chunk(self) -> XorChunk {
        XorChunk {
            bytes: Arc::from(self.to_bytes()),
        }
    }

    /// Heap bytes held by the encoder.
    pub fn heap_bytes(&self) -> usize {
        self.w.capacity()
    }
}

/// Whether `d` fits the signed range of an `n`-bit Δ²t field as the format
/// defines it: `-(2^(n-1) - 1) ..= 2^(n-1)`.
#[inline]
fn fits(d: i64, n: u32) -> bool {
    -((1i64 << (n - 1)) - 1) <= d && d <= 1i64 << (n - 1)
}

/// Sign-extends the low `n` bits of `v`, with the format's convention that
/// the all-bits pattern above `2^(n-1)` means positive `2^(n-1)`.
#[inline]
fn signed(v: u64, n: u32) -> i64 {
    let half = 1u64 << (n - 1);
    if v > half {
        v as i64 - (1i64 << n)
    } else {
        v as i64
    }
}

/// An immutable encoded chunk.
#[derive(Debug, Clone)]
pub struct XorChunk {
    bytes: Arc<[u8]>,
}

impl XorChunk {
    /// Wraps encoded bytes; checks only that the header is present.
    pub fn from_bytes(b: impl Into<Arc<[u8]>>) -> Result<XorChunk> {
        let bytes = b.into();
        if bytes.len() < HEADER {
            return Err(Error::corruption(
                "",
                0,
                "XOR chunk shorter than its header",
            ));
        }
        Ok(XorChunk { bytes })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn num_samples(&self) -> usize {
        num_samples(&self.bytes)
    }

    pub fn iter(&self) -> XorIter<'_> {
        XorIter::new(&self.bytes)
    }
}

/// Decodes a chunk. Garbage input ends iteration early (see [`XorIter::err`])
/// and never panics.
#[derive(Debug, Clone)]
pub struct XorIter<'a> {
    r: BitReader<'a>,
    total: u16,
    read: u16,
    t: i64,
    t_delta: i64,
    v: u64,
    leading: u32,
    trailing: u32,
    err: Option<&'static str>,
}

impl<'a> XorIter<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        let (total, body, err) = if bytes.len() < HEADER {
            (0, &bytes[..0], Some("chunk shorter than its header"))
        } else {
            (
                u16::from_be_bytes([bytes[0], bytes[1]]),
                &bytes[HEADER..],
                None,
            )
        };
        XorIter {
            r: BitReader::new(body),
            total,
            read: 0,
            t: 0,
            t_delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
            err,
        }
    }

    /// Why decoding stopped early, if it did.
    pub fn err(&self) -> Option<&'static str> {
        self.err
    }

    fn fail(&mut self, what: &'static str) -> bool {
        self.err = Some(what);
        self.read = self.total;
        false
    }

    fn read_varint_bytes(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.r.read_byte();
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    #[inline(always)]
    fn read_value(&mut self) -> Option<()> {
        self.r.ensure(13);
        let ctrl = self.r.peek() >> 62;
        if ctrl < 0b10 {
            self.r.consume(1);
            return Some(());
        }
        self.r.consume(2);
        if ctrl == 0b11 {
            let head = self.r.peek() >> 53;
            self.r.consume(11);
            self.leading = (head >> 6) as u32;
            let sig = match (head & 63) as u32 {
                0 => 64,
                s => s,
            };
            if self.leading + sig > 64 {
                return None;
            }
            self.trailing = 64 - self.leading - sig;
        }
        let sig = 64 - self.leading - self.trailing;
        let x = self.r.read_bits(sig);
        self.v ^= x << self.trailing;
        Some(())
    }

    /// Decodes the next sample into the iterator state.
    #[inline(always)]
    fn advance(&mut self) -> bool {
        if self.read >= self.total {
            return false;
        }
        let ok = if self.read >= 2 {
            self.r.ensure(4);
            let ones = (!self.r.peek()).leading_zeros().min(4);
            self.r.consume(if ones == 4 { 4 } else { ones + 1 });
            let dod = match ones {
                0 => 0,
                1 => signed(self.r.read_bits(14), 14),
                2 => signed(self.r.read_bits(17), 17),
                3 => signed(self.r.read_bits(20), 20),
                _ => self.r.read_bits(64) as i64,
            };
            self.t_delta = self.t_delta.wrapping_add(dod);
            self.t = self.t.wrapping_add(self.t_delta);
            self.read_value()
        } else if self.read == 0 {
            self.read_varint_bytes().map(|zz| {
                self.t = ((zz >> 1) as i64) ^ -((zz & 1) as i64);
                self.v = self.r.read_bits(64);
            })
        } else {
            self.read_varint_bytes().and_then(|d| {
                self.t_delta = d as i64;
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()
            })
        };
        if ok.is_none() || self.r.overrun() {
            return self.fail("chunk data ends before its last sample");
        }
        self.read += 1;
        true
    }
}

impl SampleIterator for XorIter<'_> {
    fn next(&mut self) -> bool {
        self.advance()
    }

    fn at(&self) -> Sample {
        Sample::new(self.t, f64::from_bits(self.v))
    }
}

/// Appends every sample of the chunk with `mint <= t <= maxt` to `out`.
pub fn decode_range(bytes: &[u8], mint: i64, maxt: i64, out: &mut Vec<Sample>) {
    let mut it = XorIter::new(bytes);
    out.reserve(usize::from(it.total));
    while it.advance() {
        if it.t > maxt {
            break;
        }
        if it.t >= mint {
            out.push(Sample::new(it.t, f64::from_bits(it.v)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN;
    use proptest::prelude::*;

    fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
        let mut a = XorAppender::new();
        for &(t, v) in samples {
            a.append(t, v);
        }
        a.to_bytes()
    }

    fn decode(bytes: &[u8]) -> Vec<(i64, u64)> {
        let mut it = XorIter::new(bytes);
        let mut out = vec![];
        while it.next() {
            let s = it.at();
            out.push((s.t, s.v.to_bits()));
        }
        assert_eq!(it.err(), None);
        out
    }

    #[test]
    fn table() {
        let cases: Vec<(&str, Vec<(i64, f64)>)> = vec![
            ("empty", vec![]),
            ("one sample", vec![(1000, 1.5)]),
            ("two samples", vec![(1000, 1.5), (2000, 2.5)]),
            (
                "stale marker",
                vec![(0, 1.0), (15_000, STALE_NAN), (30_000, 1.0)],
            ),
            (
                "negative zero after zero",
                vec![(0, 0.0), (1, -0.0), (2, 0.0)],
            ),
            (
                "infinities",
                vec![(0, f64::INFINITY), (1, f64::NEG_INFINITY), (2, f64::NAN)],
            ),
            (
                "subnormal",
                vec![(0, 5e-324), (1, f64::MIN_POSITIVE), (2, f64::MAX)],
            ),
            (
                "negative timestamps",
                vec![(-5000, 1.0), (-4000, 2.0), (-3000, 3.0)],
            ),
            (
                "every dod bucket",
                vec![
                    (0, 1.0),
                    (10, 1.0),
                    (20, 1.0),                     // dod 0
                    (8222, 2.0),                   // dod 8192 (14-bit max)
                    (8222 + 8202 - 8191 + 1, 2.0), // negative dod within 14 bits
                    (100_000, 3.0),                // 17 bits
                    (700_000, 3.0),                // 20 bits
                    (1 << 40, 4.0),                // 64-bit escape
                    ((1 << 40) + 1, 4.0),          // large negative dod
                ],
            ),
            (
                "huge values",
                vec![(0, f64::MAX), (1, -f64::MAX), (2, 1e-300)],
            ),
            (
                "extreme timestamps",
                vec![(i64::MIN + 1, 1.0), (0, 2.0), (i64::MAX, 3.0)],
            ),
        ];
        for (name, samples) in cases {
            let bytes = encode(&samples);
            let want: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
            assert_eq!(decode(&bytes), want, "case {name}");
            assert_eq!(num_samples(&bytes), samples.len(), "case {name}");
        }
    }

    #[test]
    fn stale_nan_survives_bit_for_bit() {
        let bytes = encode(&[(0, 1.0), (1, STALE_NAN), (2, f64::NAN)]);
        let got = decode(&bytes);
        assert_eq!(got[1].1, 0x7ff0_0000_0000_0002);
        assert_eq!(got[2].1, f64::NAN.to_bits());
    }

    fn samples_strategy() -> impl Strategy<Value = Vec<(i64, u64)>> {
        prop::collection::vec(
            (
                prop_oneof![
                    Just(15_000i64),
                    1i64..100,
                    1i64..100_000_000,
                    1i64..(1 << 50)
                ],
                prop_oneof![
                    any::<u64>(),
                    (0u64..100).prop_map(|x| (x as f64).to_bits()),
                    Just(STALE_NAN.to_bits())
                ],
            ),
            0..300,
        )
        .prop_map(|steps| {
            let mut t = -1_000_000i64;
            steps
                .into_iter()
                .map(|(d, v)| {
                    t += d;
                    (t, v)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn round_trips_against_vec(samples in samples_strategy()) {
            let mut a = XorAppender::new();
            for &(t, v) in &samples {
                a.append(t, f64::from_bits(v));
            }
            prop_assert_eq!(decode(&a.to_bytes()), samples);
        }

        #[test]
        fn range_matches_reference(samples in samples_strategy(), q in any::<i64>(), span in 0i64..(1 << 40)) {
            let mut a = XorAppender::new();
            for &(t, v) in &samples {
                a.append(t, f64::from_bits(v));
            }
            let bytes = &a.to_bytes();
            let maxt = q.saturating_add(span);
            let mut out = vec![];
            decode_range(bytes, q, maxt, &mut out);
            let want: Vec<(i64, u64)> = samples.iter().filter(|s| s.0 >= q && s.0 <= maxt).copied().collect();
            let got: Vec<(i64, u64)> = out.iter().map(|s| (s.t, s.v.to_bits())).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut it = XorIter::new(&bytes);
            let mut n = 0;
            while it.next() {
                n += 1;
            }
            prop_assert!(n <= num_samples(&bytes));
            let mut out = vec![];
            decode_range(&bytes, i64::MIN, i64::MAX, &mut out);
        }

        #[test]
        fn truncated_chunks_end_with_an_error(samples in samples_strategy(), cut in any::<prop::sample::Index>()) {
            prop_assume!(samples.len() > 2);
            let mut a = XorAppender::new();
            for &(t, v) in &samples {
                a.append(t, f64::from_bits(v));
            }
            let bytes = &a.to_bytes();
            let cut = 2 + cut.index(bytes.len() - 2);
            let mut it = XorIter::new(&bytes[..cut]);
            let mut got = vec![];
            while it.next() {
                got.push((it.at().t, it.at().v.to_bits()));
            }
            prop_assert!(got.len() <= samples.len());
            prop_assert_eq!(&got[..], &samples[..got.len()]);
            if got.len() < samples.len() {
                prop_assert!(it.err().is_some());
            }
        }
    }
}
