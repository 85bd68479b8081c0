//! Start timestamps beside a chunk's samples.
//!
//! A sample's start timestamp (ST) is when the quantity it reports started
//! accumulating: the start of a cumulative counter, or the start of a delta
//! sample's interval. PromQL's `rate` family uses it to see counter resets
//! that values alone cannot show. Most series have none, so STs are not a
//! column of every chunk: a float chunk whose samples carry any is stored
//! as encoding 3, a histogram chunk as encoding 6; both wrap the ordinary
//! samples chunk and add one ST code per sample.
//!
//! ```text
//! ┌─────────┬───────────┬──────────────┬─────────────────┬──────────────────┐
//! │ version │ inner enc │ inner length │ inner chunk     │ ST stream        │
//! │ 1 byte  │ 1 (XOR) / │ uvarint      │ (as on its own) │ bit codes, to    │
//! │ = 1     │ 2 (dec.)  │              │                 │ the end          │
//! │         │ under 3;  │              │                 │                  │
//! │         │ 4 (int) / │              │                 │                  │
//! │         │ 5 (float) │              │                 │                  │
//! │         │ under 6   │              │                 │                  │
//! └─────────┴───────────┴──────────────┴─────────────────┴──────────────────┘
//!
//! ST stream: one code per sample, in sample order; an ST of 0 means none.
//!   0                                  same ST as the previous sample
//!                                      (none before the first sample)
//!   10                                 the previous sample's timestamp
//!                                      (back-to-back delta samples)
//!   110                                none
//!   111 │ n-1: 6 bits │ zigzag(t-st): n bits   any other ST, relative to
//!                                      the sample's own timestamp t
//! ```
//!
//! The chunk's checksum is the container's (block chunk files checksum
//! every chunk); the head keeps these bytes in memory only.

use super::bstream::{BitReader, BitWriter};
use crate::encoding::{Decbuf, DecodeError, DecodeResult, put_uvarint};

/// The encoding byte of a float chunk with start timestamps.
pub const ENCODING_ST: u8 = 3;
/// The encoding byte of a histogram chunk with start timestamps (the
/// same container around an encoding-4 or -5 chunk).
pub const ENCODING_HISTOGRAM_ST: u8 = 6;
/// The version byte that starts such a chunk.
pub const ST_VERSION: u8 = 1;

/// Encodes the ST codes of a chunk's samples, appendable.
#[derive(Debug, Clone, Default)]
pub struct StWriter {
    bits: BitWriter,
    prev_st: i64,
    prev_t: Option<i64>,
}

impl StWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer for a chunk that already holds `n` samples without STs,
    /// the last at `last_t`.
    pub fn with_leading_none(n: usize, last_t: Option<i64>) -> Self {
        let mut w = StWriter::new();
        for _ in 0..n {
            w.bits.write_bit(false);
        }
        w.prev_t = last_t;
        w
    }

    /// Records the ST of the next sample (at `t`); `st == 0` is none.
    pub fn append(&mut self, t: i64, st: i64) {
        if st == self.prev_st {
            self.bits.write_bit(false);
        } else if st != 0 && Some(st) == self.prev_t {
            self.bits.write_bits(0b10, 2);
        } else if st == 0 {
            self.bits.write_bits(0b110, 3);
        } else {
            let d = t.wrapping_sub(st);
            let zz = ((d << 1) ^ (d >> 63)) as u64;
            let n = (64 - zz.leading_zeros()).max(1);
            self.bits.write_bits(0b111, 3);
            self.bits.write_bits(u64::from(n - 1), 6);
            self.bits.write_bits(zz, n);
        }
        self.prev_st = st;
        self.prev_t = Some(t);
    }

    pub fn bytes(&self) -> &[u8] {
        self.bits.bytes()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.bits.bytes().len()
    }
}

/// Decodes ST codes in step with the samples they belong to.
#[derive(Debug, Clone)]
pub struct StReader<'a> {
    bits: BitReader<'a>,
    prev_st: i64,
    prev_t: Option<i64>,
}

impl<'a> StReader<'a> {
    pub fn new(stream: &'a [u8]) -> Self {
        StReader {
            bits: BitReader::new(stream),
            prev_st: 0,
            prev_t: None,
        }
    }

    /// The ST of the next sample, whose timestamp is `t` (0: none). A
    /// stream shorter than the samples reads as "same as before".
    pub fn next(&mut self, t: i64) -> i64 {
        let st = if self.bits.read_bits(1) == 0 {
            self.prev_st
        } else if self.bits.read_bits(1) == 0 {
            self.prev_t.unwrap_or(0)
        } else if self.bits.read_bits(1) == 0 {
            0
        } else {
            let n = self.bits.read_bits(6) as u32 + 1;
            let zz = self.bits.read_bits(n);
            let d = ((zz >> 1) as i64) ^ -((zz & 1) as i64);
            t.wrapping_sub(d)
        };
        self.prev_st = st;
        self.prev_t = Some(t);
        st
    }
}

/// Appends the encoding-3 chunk wrapping `inner` (a chunk of encoding
/// byte `inner_encoding`) and the ST `stream` of its samples to `out`.
pub fn wrap(inner_encoding: u8, inner: &[u8], stream: &[u8], out: &mut Vec<u8>) {
    out.reserve(inner.len() + stream.len() + 12);
    out.push(ST_VERSION);
    out.push(inner_encoding);
    put_uvarint(out, inner.len() as u64);
    out.extend_from_slice(inner);
    out.extend_from_slice(stream);
}

/// The parts of an encoding-3 chunk: the inner encoding byte, the inner
/// chunk and the ST stream. Errors name the offset of the bad field.
pub fn split(bytes: &[u8]) -> DecodeResult<(u8, &[u8], &[u8])> {
    let mut d = Decbuf::new(bytes);
    let version = d.u8("start-timestamp chunk version")?;
    if version != ST_VERSION {
        return Err(DecodeError {
            offset: 0,
            what: "unknown start-timestamp chunk version",
        });
    }
    let inner_encoding = d.u8("inner chunk encoding")?;
    let inner = d.len_bytes("inner chunk")?;
    let at = d.position();
    Ok((inner_encoding, inner, &bytes[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_table() {
        // (name, [(t, st)], bits written)
        type Case<'a> = (&'a str, &'a [(i64, i64)], usize);
        let cases: &[Case] = &[
            ("no STs", &[(1000, 0), (2000, 0)], 2),
            (
                "cumulative",
                &[(1000, 500), (2000, 500), (3000, 500)],
                3 + 6 + 10 + 2,
            ),
            (
                "deltas",
                &[(1000, 0), (2000, 1000), (3000, 2000)],
                1 + 2 + 2,
            ),
            ("reset to none", &[(1000, 500), (2000, 0)], 3 + 6 + 10 + 3),
        ];
        for (name, samples, bits) in cases {
            let mut w = StWriter::new();
            for &(t, st) in *samples {
                w.append(t, st);
            }
            assert_eq!(w.bytes().len(), bits.div_ceil(8), "case {name}");
            let mut r = StReader::new(w.bytes());
            for &(t, st) in *samples {
                assert_eq!(r.next(t), st, "case {name} at {t}");
            }
        }
    }

    #[test]
    fn leading_none_then_sts() {
        let mut w = StWriter::with_leading_none(3, Some(3000));
        w.append(4000, 3000);
        w.append(5000, 4000);
        let mut r = StReader::new(w.bytes());
        let got: Vec<i64> = (1..=5).map(|i| r.next(i * 1000)).collect();
        assert_eq!(got, vec![0, 0, 0, 3000, 4000]);
    }

    #[test]
    fn split_rejects_bad_headers() {
        let mut ok = Vec::new();
        wrap(1, &[1, 2, 3], &[0xff], &mut ok);
        assert_eq!(split(&ok), Ok((1, &[1u8, 2, 3][..], &[0xffu8][..])));
        let cases: &[(&str, &[u8])] = &[
            ("empty", &[]),
            ("bad version", &[9, 1, 0]),
            ("inner longer than chunk", &[1, 1, 5, 0]),
        ];
        for (name, bytes) in cases {
            assert!(split(bytes).is_err(), "case {name}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(steps in prop::collection::vec((1i64..100_000, 0u8..5, any::<i64>()), 1..300)) {
            let mut t = 1_700_000_000_000i64;
            let mut prev_t = 0;
            let mut samples = Vec::new();
            for (d, kind, x) in steps {
                t += d;
                let st = match kind {
                    0 => 0,
                    1 => prev_t,
                    2 => t - d / 2,
                    3 => samples.last().map_or(1, |&(_, st)| st),
                    _ => x,
                };
                samples.push((t, st));
                prev_t = t;
            }
            let mut w = StWriter::new();
            for &(t, st) in &samples {
                w.append(t, st);
            }
            let mut r = StReader::new(w.bytes());
            for &(t, st) in &samples {
                prop_assert_eq!(r.next(t), st);
            }
        }
    }
}
