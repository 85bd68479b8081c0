//! Chunk encodings by their byte, decoding any of them, and choosing the
//! smaller encoding for immutable blocks.

use super::decimal::{self, DecimalEncoder, DecimalIter, ENCODING_DECIMAL};
use super::xor::{self, ENCODING_XOR, XorAppender, XorIter};
use crate::encoding::{DecodeError, DecodeResult};
use crate::model::{Sample, SampleIterator};

/// How a chunk is encoded: the byte stored beside every chunk on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Gorilla XOR ([`XorAppender`]): appendable; the head's encoding.
    Xor,
    /// Decimal-scaled packed integers ([`DecimalEncoder`]): written whole,
    /// for blocks.
    Decimal,
}

impl Encoding {
    /// The encoding with this byte, if it is known.
    pub fn from_byte(b: u8) -> Option<Encoding> {
        match b {
            ENCODING_XOR => Some(Encoding::Xor),
            ENCODING_DECIMAL => Some(Encoding::Decimal),
            _ => None,
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Encoding::Xor => ENCODING_XOR,
            Encoding::Decimal => ENCODING_DECIMAL,
        }
    }

    /// Number of samples recorded in the chunk's header (0 for a chunk too
    /// short to hold one).
    pub fn num_samples(self, bytes: &[u8]) -> usize {
        match self {
            Encoding::Xor => xor::num_samples(bytes),
            Encoding::Decimal => decimal::num_samples(bytes),
        }
    }

    /// Checks what can be checked without decoding every sample (headers
    /// and, for decimal chunks, that every region lies inside `bytes`);
    /// the error's offset is inside the chunk. A chunk that passes decodes
    /// without ever reading out of bounds.
    pub fn validate(self, bytes: &[u8]) -> DecodeResult<()> {
        match self {
            Encoding::Xor if bytes.len() < 2 => Err(DecodeError {
                offset: 0,
                what: "XOR chunk shorter than its header",
            }),
            Encoding::Xor => Ok(()),
            Encoding::Decimal => decimal::validate(bytes),
        }
    }

    /// A lazy iterator over the chunk's samples.
    pub fn iter(self, bytes: &[u8]) -> ChunkIter<'_> {
        match self {
            Encoding::Xor => ChunkIter::Xor(XorIter::new(bytes)),
            Encoding::Decimal => ChunkIter::Decimal(DecimalIter::new(bytes)),
        }
    }

    /// Appends every sample with `mint <= t <= maxt` to `out`.
    pub fn decode_range(self, bytes: &[u8], mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        match self {
            Encoding::Xor => xor::decode_range(bytes, mint, maxt, out),
            Encoding::Decimal => decimal::decode_range(bytes, mint, maxt, out),
        }
    }
}

/// A sample iterator over a chunk of any encoding.
// The decimal iterator is the larger (~380 bytes: two packed streams with
// their exception cursors); boxing it would cost an allocation per chunk on
// the query path, and iterators live on the stack one at a time.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ChunkIter<'a> {
    Xor(XorIter<'a>),
    Decimal(DecimalIter<'a>),
}

impl SampleIterator for ChunkIter<'_> {
    #[inline]
    fn next(&mut self) -> bool {
        match self {
            ChunkIter::Xor(it) => it.next(),
            ChunkIter::Decimal(it) => it.next(),
        }
    }

    #[inline]
    fn seek(&mut self, t: i64) -> bool {
        match self {
            ChunkIter::Xor(it) => it.seek(t),
            ChunkIter::Decimal(it) => it.seek(t),
        }
    }

    #[inline]
    fn at(&self) -> Sample {
        match self {
            ChunkIter::Xor(it) => it.at(),
            ChunkIter::Decimal(it) => it.at(),
        }
    }
}

/// Encodes chunks for immutable blocks in whichever encoding is smaller;
/// reuses its buffers across calls.
#[derive(Debug, Default)]
pub struct BlockChunkEncoder {
    decimal: DecimalEncoder,
    buf: Vec<u8>,
}

impl BlockChunkEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The smaller encoding of `samples` (1 to `u16::MAX` of them, strictly
    /// increasing timestamps), XOR on a tie.
    pub fn encode(&mut self, samples: &[Sample]) -> (Encoding, &[u8]) {
        let mut a = XorAppender::new();
        for s in samples {
            a.append(s.t, s.v);
        }
        let xor = a.into_chunk();
        self.buf.clear();
        self.buf.extend_from_slice(xor.bytes());
        let encoding = self.pick(samples, Encoding::Xor);
        (encoding, &self.buf)
    }

    /// `self.buf` holds `samples` as `current`; replaces it with the
    /// decimal encoding when that is strictly smaller.
    fn pick(&mut self, samples: &[Sample], current: Encoding) -> Encoding {
        let len = self.buf.len();
        if self.decimal.encode(samples, &mut self.buf) && self.buf.len() - len < len {
            self.buf.drain(..len);
            return Encoding::Decimal;
        }
        self.buf.truncate(len);
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN;
    use proptest::prelude::*;

    fn samples_strategy() -> impl Strategy<Value = Vec<Sample>> {
        let value = prop_oneof![
            4 => (-100_000i64..100_000).prop_map(|m| m as f64 / 100.0),
            2 => (0u64..1 << 40).prop_map(|m| m as f64),
            1 => Just(STALE_NAN),
            1 => any::<u64>().prop_map(f64::from_bits),
        ];
        prop::collection::vec((1i64..100_000, value), 1..300).prop_map(|steps| {
            let mut t = 1_700_000_000_000;
            steps
                .into_iter()
                .map(|(d, v)| {
                    t += d;
                    Sample::new(t, v)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn the_smaller_encoding_round_trips(samples in samples_strategy()) {
            let mut xor = XorAppender::new();
            for s in &samples {
                xor.append(s.t, s.v);
            }
            let mut enc = BlockChunkEncoder::new();
            let (encoding, bytes) = enc.encode(&samples);
            prop_assert!(bytes.len() <= xor.bytes().len());
            prop_assert_eq!(Encoding::from_byte(encoding.byte()), Some(encoding));
            prop_assert!(encoding.validate(bytes).is_ok());
            prop_assert_eq!(encoding.num_samples(bytes), samples.len());
            let mut out = vec![];
            encoding.decode_range(bytes, i64::MIN, i64::MAX, &mut out);
            let mut it = encoding.iter(bytes);
            for (want, got) in samples.iter().zip(&out) {
                prop_assert!(want.bit_eq(got));
                prop_assert!(it.next());
                prop_assert!(want.bit_eq(&it.at()));
            }
            prop_assert_eq!(out.len(), samples.len());
            prop_assert!(!it.next());
        }
    }

    #[test]
    fn unknown_bytes_are_no_encoding() {
        assert_eq!(Encoding::from_byte(0), None);
        assert_eq!(Encoding::from_byte(3), None);
        assert_eq!(Encoding::from_byte(1), Some(Encoding::Xor));
        assert_eq!(Encoding::from_byte(2), Some(Encoding::Decimal));
    }
}
