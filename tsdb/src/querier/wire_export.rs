//! A series' samples as the chunks Prometheus's wire formats carry (remote
//! read's streamed chunks): XOR for floats, Prometheus's histogram and
//! float-histogram chunks for native histograms.

use super::chunk_series::{ChunkBytes, ChunkSeries};
use crate::chunkenc::histogram::{
    ChunkLimits, TimedHistogram, decode_values, encode_values, latest_per_time,
};
use crate::chunkenc::{Encoding, MAX_SAMPLES_PER_CHUNK, XorAppender};
use crate::model::{SampleBuf, SeriesData};

/// One exported chunk of a series: the time span of its samples
/// (inclusive), their number, its encoding (XOR, or integer or float
/// histograms: Prometheus's chunk types 1, 2 and 3) and its bytes.
#[derive(Debug, Clone)]
pub struct ExportChunk {
    pub min_t: i64,
    pub max_t: i64,
    pub num_samples: usize,
    pub encoding: Encoding,
    pub data: ExportBytes,
}

/// An exported chunk's bytes: stored ones shared as they are, or encoded
/// anew.
#[derive(Debug, Clone)]
pub enum ExportBytes {
    /// A stored XOR or histogram chunk (or the XOR samples chunk inside a
    /// stored chunk with start timestamps), passed through without
    /// decoding.
    Stored {
        chunk: ChunkBytes,
        /// The XOR bytes inside `chunk`.
        range: std::ops::Range<usize>,
    },
    Encoded(Vec<u8>),
}

impl ExportBytes {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            ExportBytes::Stored { chunk, range } => &chunk.as_slice()[range.clone()],
            ExportBytes::Encoded(v) => v,
        }
    }
}

impl ChunkSeries {
    /// The samples in `[mint, maxt]` as wire chunks, in time order.
    ///
    /// When the series needs no merging (no overlaps, nothing deleted), a
    /// stored chunk that lies wholly within the range and holds XOR
    /// samples (the head's chunks, XOR block chunks, and the XOR inside a
    /// chunk with start timestamps) or histograms is passed through byte
    /// for byte. Everything else (decimal block chunks, chunks cut by the
    /// range, merged or partly deleted data) is decoded and re-encoded:
    /// floats as XOR, at most [`MAX_SAMPLES_PER_CHUNK`] samples a chunk,
    /// histograms under the head's chunk rules with their counts' kind
    /// kept. Start timestamps are left out: the wire chunks carry none.
    pub fn export_chunks(&self, mint: i64, maxt: i64) -> Vec<ExportChunk> {
        let mut out = Vec::new();
        if !self.is_plain() {
            let mut buf = SampleBuf::new();
            self.read(mint, maxt, &mut buf);
            encode(buf.floats(), &mut out);
            let mut hists = Vec::new();
            for c in self.chunks().iter().filter(|c| c.overlaps(mint, maxt)) {
                hists.extend(decode_values(c.encoding, c.data.as_slice()));
            }
            hists.retain(|s| s.t >= mint && s.t <= maxt && !self.deleted().contains(s.t));
            encode_histograms(&latest_per_time(hists), &mut out);
            out.sort_by_key(|c| c.min_t);
            return out;
        }
        let mut buf = SampleBuf::new();
        for c in self.chunks().iter().filter(|c| c.overlaps(mint, maxt)) {
            let bytes = c.data.as_slice();
            let whole = c.min_t >= mint && c.max_t <= maxt;
            if whole && let Some(xor) = c.encoding.xor_bytes(bytes) {
                let start = xor.as_ptr() as usize - bytes.as_ptr() as usize;
                out.push(ExportChunk {
                    min_t: c.min_t,
                    max_t: c.max_t,
                    num_samples: crate::chunkenc::num_samples_xor(xor),
                    encoding: Encoding::Xor,
                    data: ExportBytes::Stored {
                        chunk: c.data.clone(),
                        range: start..start + xor.len(),
                    },
                });
                continue;
            }
            if c.encoding.is_histogram() {
                if whole && let Some((encoding, inner)) = c.encoding.histogram_bytes(bytes) {
                    let start = inner.as_ptr() as usize - bytes.as_ptr() as usize;
                    out.push(ExportChunk {
                        min_t: c.min_t,
                        max_t: c.max_t,
                        num_samples: encoding.num_samples(inner),
                        encoding,
                        data: ExportBytes::Stored {
                            chunk: c.data.clone(),
                            range: start..start + inner.len(),
                        },
                    });
                } else {
                    let mut hists = decode_values(c.encoding, bytes);
                    hists.retain(|s| s.t >= mint && s.t <= maxt);
                    encode_histograms(&hists, &mut out);
                }
                continue;
            }
            buf.clear();
            c.encoding.decode_range(bytes, mint, maxt, buf.floats_mut());
            encode(buf.floats(), &mut out);
        }
        out
    }

    /// How many samples [`read`](SeriesData::read) or
    /// [`xor_chunks`](Self::xor_chunks) would give for `[mint, maxt]`,
    /// decoding only the chunks the range cuts (and merged series).
    pub fn num_samples_in(&self, mint: i64, maxt: i64) -> usize {
        let mut buf = SampleBuf::new();
        if !self.is_plain() {
            self.read(mint, maxt, &mut buf);
            return buf.len();
        }
        let mut n = 0;
        for c in self.chunks().iter().filter(|c| c.overlaps(mint, maxt)) {
            let bytes = c.data.as_slice();
            if c.min_t >= mint && c.max_t <= maxt {
                n += c.encoding.num_samples(bytes);
            } else {
                buf.clear();
                c.encoding.read_into(bytes, mint, maxt, &mut buf);
                n += buf.len();
            }
        }
        n
    }
}

/// Appends histogram samples (ascending, unique times) to `out` as
/// histogram chunks.
fn encode_histograms(samples: &[TimedHistogram], out: &mut Vec<ExportChunk>) {
    for c in encode_values(samples, ChunkLimits::HEAD) {
        out.push(ExportChunk {
            min_t: c.min_t,
            max_t: c.max_t(),
            num_samples: c.num_samples(),
            encoding: c.chunk.encoding(),
            data: ExportBytes::Encoded(c.chunk.bytes()),
        });
    }
}

/// Appends `samples` to `out` as XOR chunks of at most
/// [`MAX_SAMPLES_PER_CHUNK`].
fn encode(samples: &[crate::model::Sample], out: &mut Vec<ExportChunk>) {
    for part in samples.chunks(MAX_SAMPLES_PER_CHUNK) {
        let mut a = XorAppender::new();
        for s in part {
            a.append(s.t, s.v);
        }
        out.push(ExportChunk {
            min_t: part[0].t,
            max_t: part[part.len() - 1].t,
            num_samples: part.len(),
            encoding: Encoding::Xor,
            data: ExportBytes::Encoded(a.to_bytes()),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::chunkenc::{BlockChunkEncoder, decode_range};
    use crate::model::Sample;
    use crate::querier::ChunkMeta;
    use crate::tombstones::Intervals;

    fn chunk(samples: &[Sample], sts: &[i64], decimal: bool) -> ChunkMeta {
        let (encoding, bytes) = if decimal {
            let mut encoder = BlockChunkEncoder::new();
            let (e, b) = encoder.encode_st(samples, sts);
            (e, b.to_vec())
        } else {
            let mut a = XorAppender::new();
            for s in samples {
                a.append(s.t, s.v);
            }
            let xor = a.to_bytes();
            if sts.iter().all(|&st| st == 0) {
                (Encoding::Xor, xor)
            } else {
                let mut w = crate::chunkenc::StWriter::new();
                for (s, &st) in samples.iter().zip(sts) {
                    w.append(s.t, st);
                }
                let mut out = Vec::new();
                crate::chunkenc::st_wrap(crate::chunkenc::ENCODING_XOR, &xor, w.bytes(), &mut out);
                (Encoding::WithSt, out)
            }
        };
        ChunkMeta {
            min_t: samples[0].t,
            max_t: samples[samples.len() - 1].t,
            encoding,
            data: ChunkBytes::Heap(Arc::from(bytes)),
        }
    }

    fn run(from: i64, n: i64) -> Vec<Sample> {
        (from..from + n)
            .map(|i| Sample::new(i * 10, (i % 7) as f64))
            .collect()
    }

    #[test]
    fn whole_xor_chunks_pass_through_the_rest_is_re_encoded() {
        let (a, b, c) = (run(0, 50), run(50, 50), run(100, 50));
        let sts: Vec<i64> = b.iter().map(|s| s.t - 5).collect();
        let chunks = vec![
            chunk(&a, &[], false),
            chunk(&b, &sts, false),
            chunk(&c, &[], true),
        ];
        let stored: Vec<Vec<u8>> = chunks.iter().map(|c| c.data.as_slice().to_vec()).collect();
        assert_eq!(chunks[2].encoding, Encoding::Decimal);
        let cs = ChunkSeries::new(chunks, Intervals::new());
        type Case = (&'static str, i64, i64, Vec<bool>);
        let cases: Vec<Case> = vec![
            ("everything", i64::MIN, i64::MAX, vec![true, true, false]),
            ("first chunk cut", 100, i64::MAX, vec![false, true, false]),
            ("inside one chunk", 600, 700, vec![false]),
        ];
        for (name, mint, maxt, want_stored) in cases {
            let got = cs.export_chunks(mint, maxt);
            let kinds: Vec<bool> = got
                .iter()
                .map(|c| matches!(c.data, ExportBytes::Stored { .. }))
                .collect();
            assert_eq!(kinds, want_stored, "{name}");
            let mut decoded = Vec::new();
            for c in &got {
                let before = decoded.len();
                decode_range(c.data.as_slice(), i64::MIN, i64::MAX, &mut decoded);
                assert_eq!(decoded.len() - before, c.num_samples, "{name}");
                assert_eq!(
                    (c.min_t, c.max_t),
                    (decoded[before].t, decoded[decoded.len() - 1].t)
                );
            }
            let mut want = SampleBuf::new();
            cs.read(mint, maxt, &mut want);
            assert_eq!(decoded, want.floats(), "{name}");
            assert_eq!(cs.num_samples_in(mint, maxt), want.len(), "{name}");
        }
        let all = cs.export_chunks(i64::MIN, i64::MAX);
        assert_eq!(all[0].data.as_slice(), &stored[0][..], "byte for byte");
    }

    #[test]
    fn deleted_data_is_re_encoded_without_it() {
        let mut deleted = Intervals::new();
        deleted.add(100, 200);
        let cs = ChunkSeries::new(vec![chunk(&run(0, 50), &[], false)], deleted);
        let got = cs.export_chunks(i64::MIN, i64::MAX);
        assert!(matches!(got[0].data, ExportBytes::Encoded(_)));
        assert_eq!(got.iter().map(|c| c.num_samples).sum::<usize>(), 39);
        assert_eq!(cs.num_samples_in(i64::MIN, i64::MAX), 39);
    }
}
