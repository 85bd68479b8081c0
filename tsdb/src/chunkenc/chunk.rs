//! Chunk encodings by their byte, decoding any of them, and choosing the
//! smaller encoding for immutable blocks.

use std::sync::Arc;

use super::decimal::{self, DecimalEncoder, DecimalIter, ENCODING_DECIMAL};
use super::histogram::{
    ENCODING_FLOAT_HISTOGRAM, ENCODING_HISTOGRAM, decode_float_histograms, decode_histograms,
};
use super::st::{self, ENCODING_HISTOGRAM_ST, ENCODING_ST, StReader, StWriter};
use super::xor::{self, ENCODING_XOR, XorAppender, XorIter};
use crate::downsample::chunk::ENCODING_AGGREGATE;
use crate::downsample::hchunk::{self, ENCODING_HIST_AGGREGATE};
use crate::encoding::{DecodeError, DecodeResult};
use crate::model::histogram::FloatHistogram;
use crate::model::{HistogramSample, Sample, SampleBuf};

/// How a chunk is encoded: the byte stored beside every chunk on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Gorilla XOR ([`XorAppender`]): appendable; the head's encoding.
    Xor,
    /// Decimal-scaled packed integers ([`DecimalEncoder`]): written whole,
    /// for blocks.
    Decimal,
    /// An XOR or decimal chunk with the samples' start timestamps
    /// ([`st`](super::st)).
    WithSt,
    /// Integer native histograms, Prometheus's chunk encoding 2 bit for
    /// bit ([`histogram`](super::histogram)); appendable.
    Histogram,
    /// Float native histograms, Prometheus's chunk encoding 3 bit for bit.
    FloatHistogram,
    /// An integer or float histogram chunk with the samples' start
    /// timestamps ([`st`](super::st)).
    HistogramWithSt,
    /// Bucket summaries of a downsampling tier
    /// ([`crate::downsample::chunk`]); no samples: only tier blocks hold
    /// them, and only the tier readers decode them.
    Aggregate,
    /// Bucket summaries of a native histogram series in a downsampling
    /// tier ([`crate::downsample::hchunk`]); as [`Aggregate`](Self::Aggregate).
    HistAggregate,
}

impl Encoding {
    /// The encoding with this byte, if it is known.
    pub fn from_byte(b: u8) -> Option<Encoding> {
        match b {
            ENCODING_XOR => Some(Encoding::Xor),
            ENCODING_DECIMAL => Some(Encoding::Decimal),
            ENCODING_ST => Some(Encoding::WithSt),
            ENCODING_HISTOGRAM => Some(Encoding::Histogram),
            ENCODING_FLOAT_HISTOGRAM => Some(Encoding::FloatHistogram),
            ENCODING_HISTOGRAM_ST => Some(Encoding::HistogramWithSt),
            ENCODING_AGGREGATE => Some(Encoding::Aggregate),
            ENCODING_HIST_AGGREGATE => Some(Encoding::HistAggregate),
            _ => None,
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Encoding::Xor => ENCODING_XOR,
            Encoding::Decimal => ENCODING_DECIMAL,
            Encoding::WithSt => ENCODING_ST,
            Encoding::Histogram => ENCODING_HISTOGRAM,
            Encoding::FloatHistogram => ENCODING_FLOAT_HISTOGRAM,
            Encoding::HistogramWithSt => ENCODING_HISTOGRAM_ST,
            Encoding::Aggregate => ENCODING_AGGREGATE,
            Encoding::HistAggregate => ENCODING_HIST_AGGREGATE,
        }
    }

    /// Whether the chunk holds native histograms (not floats).
    pub fn is_histogram(self) -> bool {
        matches!(
            self,
            Encoding::Histogram | Encoding::FloatHistogram | Encoding::HistogramWithSt
        )
    }

    /// Whether chunks of this encoding carry start timestamps.
    pub fn has_start_timestamps(self) -> bool {
        matches!(self, Encoding::WithSt | Encoding::HistogramWithSt)
    }

    /// The samples chunk inside a chunk with start timestamps, its
    /// encoding and the ST stream; other chunks are their own inner chunk.
    /// `None` for a chunk that does not [`validate`](Self::validate).
    fn inner(self, bytes: &[u8]) -> Option<(Encoding, &[u8], &[u8])> {
        if !self.has_start_timestamps() {
            return Some((self, bytes, &[]));
        }
        let (enc, inner, stream) = st::split(bytes).ok()?;
        let e = Encoding::from_byte(enc)?;
        (e.is_histogram() == self.is_histogram() && !e.has_start_timestamps())
            .then_some((e, inner, stream))
    }

    /// The Prometheus histogram chunk (encoding 4 or 5) of a histogram
    /// chunk, without its start timestamps: what remote read hands out.
    pub fn histogram_bytes(self, bytes: &[u8]) -> Option<(Encoding, &[u8])> {
        match self.inner(bytes)? {
            (e @ (Encoding::Histogram | Encoding::FloatHistogram), inner, _) => Some((e, inner)),
            _ => None,
        }
    }

    /// The chunk's samples as an XOR chunk, without decoding: the chunk
    /// itself when it is XOR, the samples chunk inside an encoding-3 chunk
    /// when that is XOR (its start timestamps left out); `None` otherwise.
    pub fn xor_bytes(self, bytes: &[u8]) -> Option<&[u8]> {
        match self.inner(bytes)? {
            (Encoding::Xor, inner, _) => Some(inner),
            _ => None,
        }
    }

    /// Number of samples recorded in the chunk's header (0 for a chunk too
    /// short to hold one).
    pub fn num_samples(self, bytes: &[u8]) -> usize {
        match self {
            Encoding::Xor => xor::num_samples(bytes),
            Encoding::Decimal => decimal::num_samples(bytes),
            Encoding::WithSt | Encoding::HistogramWithSt => self
                .inner(bytes)
                .map_or(0, |(e, inner, _)| e.num_samples(inner)),
            Encoding::Histogram | Encoding::FloatHistogram => match bytes {
                [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
                _ => 0,
            },
            // Buckets, not samples.
            Encoding::Aggregate => crate::downsample::chunk::num_buckets(bytes),
            Encoding::HistAggregate => hchunk::num_buckets(bytes),
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
            Encoding::WithSt | Encoding::HistogramWithSt => {
                let (_, inner, _) = st::split(bytes)?;
                let offset = inner.as_ptr() as usize - bytes.as_ptr() as usize;
                match self.inner(bytes) {
                    Some((e, ..)) => e.validate(inner).map_err(|mut err| {
                        err.offset += offset;
                        err
                    }),
                    None => Err(DecodeError {
                        offset: 1,
                        what: "bad inner encoding of a start-timestamp chunk",
                    }),
                }
            }
            // Histogram decoders report corruption instead of stopping
            // quietly, so a whole decode is the check (reads then never
            // meet an error).
            Encoding::Histogram => decode_histograms(bytes).map(drop).map_err(corrupt),
            Encoding::FloatHistogram => decode_float_histograms(bytes).map(drop).map_err(corrupt),
            Encoding::Aggregate => crate::downsample::chunk::validate(bytes),
            Encoding::HistAggregate => hchunk::validate(bytes),
        }
    }

    /// A lazy iterator over the chunk's samples.
    pub fn iter(self, bytes: &[u8]) -> ChunkIter<'_> {
        match self {
            Encoding::Xor => ChunkIter::Xor(XorIter::new(bytes)),
            Encoding::Decimal => ChunkIter::Decimal(DecimalIter::new(bytes)),
            Encoding::WithSt => match self.inner(bytes) {
                Some((e, inner, _)) => e.iter(inner),
                None => ChunkIter::Xor(XorIter::new(&[])),
            },
            Encoding::Histogram
            | Encoding::FloatHistogram
            | Encoding::HistogramWithSt
            | Encoding::Aggregate
            | Encoding::HistAggregate => ChunkIter::Xor(XorIter::new(&[])),
        }
    }

    /// Appends every float sample with `mint <= t <= maxt` to `out`
    /// (none from a histogram chunk).
    pub fn decode_range(self, bytes: &[u8], mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        match self {
            Encoding::Histogram
            | Encoding::FloatHistogram
            | Encoding::HistogramWithSt
            | Encoding::Aggregate
            | Encoding::HistAggregate => {}
            Encoding::Xor => xor::decode_range(bytes, mint, maxt, out),
            Encoding::Decimal => decimal::decode_range(bytes, mint, maxt, out),
            Encoding::WithSt => {
                if let Some((e, inner, _)) = self.inner(bytes) {
                    e.decode_range(inner, mint, maxt, out);
                }
            }
        }
    }

    /// Appends the samples with `mint <= t <= maxt` to `buf`, with their
    /// start timestamps when the chunk has them. Start timestamps in `buf`
    /// may fall short of its floats afterwards: the reader ends with
    /// [`SampleBuf::settle_sts`].
    pub fn read_into(self, bytes: &[u8], mint: i64, maxt: i64, buf: &mut SampleBuf) {
        if self.is_histogram() {
            read_histograms(self, bytes, mint, maxt, buf.histograms_mut());
        } else if self.has_start_timestamps() {
            let (floats, sts) = buf.floats_and_sts_mut();
            self.decode_range_st(bytes, mint, maxt, floats, sts);
        } else {
            self.decode_range(bytes, mint, maxt, buf.floats_mut());
        }
    }

    /// [`decode_range`](Self::decode_range) that also appends one start
    /// timestamp per appended sample to `sts` (0 where there is none, so
    /// always 0 for chunks without them).
    pub fn decode_range_st(
        self,
        bytes: &[u8],
        mint: i64,
        maxt: i64,
        out: &mut Vec<Sample>,
        sts: &mut Vec<i64>,
    ) {
        let Some((e, inner, stream)) = self.inner(bytes) else {
            return;
        };
        if self != Encoding::WithSt {
            let before = out.len();
            e.decode_range(inner, mint, maxt, out);
            sts.resize(sts.len() + out.len() - before, 0);
            return;
        }
        let mut it = e.iter(inner);
        let mut codes = StReader::new(stream);
        while it.next() {
            let s = it.at();
            let st = codes.next(s.t);
            if s.t > maxt {
                break;
            }
            if s.t >= mint {
                out.push(s);
                sts.push(st);
            }
        }
    }
}

fn corrupt(e: super::histogram::ChunkCorrupt) -> DecodeError {
    DecodeError {
        offset: 0,
        what: e.0,
    }
}

/// Appends the histograms with `mint <= t <= maxt` of a histogram chunk
/// (one that passed [`Encoding::validate`]) to `out`, with float counts
/// and their start timestamps.
fn read_histograms(
    e: Encoding,
    bytes: &[u8],
    mint: i64,
    maxt: i64,
    out: &mut Vec<HistogramSample>,
) {
    let Some((e, inner, stream)) = e.inner(bytes) else {
        return;
    };
    let mut sts = StReader::new(stream);
    let mut push = |t: i64, h: FloatHistogram| {
        let st = if stream.is_empty() { 0 } else { sts.next(t) };
        if t >= mint && t <= maxt {
            out.push(HistogramSample {
                t,
                st,
                h: Arc::new(h),
            });
        }
    };
    match e {
        Encoding::Histogram => {
            for (t, h) in decode_histograms(inner).unwrap_or_default() {
                push(t, h.to_float());
            }
        }
        _ => {
            for (t, h) in decode_float_histograms(inner).unwrap_or_default() {
                push(t, h);
            }
        }
    }
}

/// Iterates one chunk's samples in strictly increasing timestamp order.
///
/// Contract: a fresh iterator is positioned *before* the first sample; `at`
/// may only be called after `next` returned `true`.
pub trait SampleIterator {
    /// Advances to the next sample; `false` when exhausted.
    fn next(&mut self) -> bool;
    /// The current sample.
    fn at(&self) -> Sample;
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
    wrapped: Vec<u8>,
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

    /// [`encode`](Self::encode) with the samples' start timestamps (`sts`
    /// parallel to `samples`, 0 = none): the samples chunk is wrapped in
    /// an encoding-3 chunk when any ST is set.
    pub fn encode_st(&mut self, samples: &[Sample], sts: &[i64]) -> (Encoding, &[u8]) {
        if sts.iter().all(|&st| st == 0) {
            return self.encode(samples);
        }
        let mut codes = StWriter::new();
        for (s, &st) in samples.iter().zip(sts) {
            codes.append(s.t, st);
        }
        let (inner, _) = self.encode(samples);
        self.wrapped.clear();
        st::wrap(inner.byte(), &self.buf, codes.bytes(), &mut self.wrapped);
        (Encoding::WithSt, &self.wrapped)
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
            prop_assert!(bytes.len() <= xor.to_bytes().len());
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

    proptest! {
        #[test]
        fn start_timestamps_round_trip(
            samples in samples_strategy(),
            kinds in prop::collection::vec(0u8..4, 300),
            mint_frac in 0.0f64..1.0,
        ) {
            // None, cumulative from the first sample, delta, or arbitrary.
            let sts: Vec<i64> = samples
                .iter()
                .enumerate()
                .map(|(i, s)| match kinds[i] {
                    0 => 0,
                    1 => samples[0].t - 1,
                    2 => if i > 0 { samples[i - 1].t } else { 0 },
                    _ => s.t - 7 * i as i64,
                })
                .collect();
            let mut enc = BlockChunkEncoder::new();
            let (encoding, bytes) = enc.encode_st(&samples, &sts);
            let with_st = sts.iter().any(|&st| st != 0);
            prop_assert_eq!(encoding == Encoding::WithSt, with_st);
            prop_assert!(encoding.validate(bytes).is_ok());
            prop_assert_eq!(encoding.num_samples(bytes), samples.len());
            let first = samples[0].t;
            let span = samples[samples.len() - 1].t - first;
            let mint = first + (span as f64 * mint_frac) as i64;
            let (mut out, mut got_sts) = (vec![], vec![]);
            encoding.decode_range_st(bytes, mint, i64::MAX, &mut out, &mut got_sts);
            let lo = samples.partition_point(|s| s.t < mint);
            prop_assert_eq!(out.len(), samples.len() - lo);
            prop_assert_eq!(&got_sts[..], &sts[lo..]);
            let mut plain = vec![];
            encoding.decode_range(bytes, mint, i64::MAX, &mut plain);
            for (want, got) in samples[lo..].iter().zip(&plain) {
                prop_assert!(want.bit_eq(got));
            }
        }
    }

    #[test]
    fn unknown_bytes_are_no_encoding() {
        assert_eq!(Encoding::from_byte(0), None);
        assert_eq!(Encoding::from_byte(9), None);
        assert_eq!(Encoding::from_byte(8), Some(Encoding::HistAggregate));
        assert_eq!(Encoding::from_byte(7), Some(Encoding::Aggregate));
        assert_eq!(Encoding::from_byte(6), Some(Encoding::HistogramWithSt));
        assert_eq!(Encoding::from_byte(4), Some(Encoding::Histogram));
        assert_eq!(Encoding::from_byte(5), Some(Encoding::FloatHistogram));
        assert_eq!(Encoding::from_byte(3), Some(Encoding::WithSt));
        assert_eq!(Encoding::from_byte(1), Some(Encoding::Xor));
        assert_eq!(Encoding::from_byte(2), Some(Encoding::Decimal));
    }
}
