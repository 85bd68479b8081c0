//! A series' samples as a list of encoded chunks, decoded lazily.

use std::sync::Arc;

use crate::chunkenc::Encoding;
use crate::model::{Sample, SampleBuf, SeriesData};
use crate::tombstones::Intervals;

/// Encoded chunk bytes: owned by the head or borrowed from a mapped file.
#[derive(Clone)]
pub enum ChunkBytes {
    Heap(Arc<[u8]>),
    Mapped {
        map: Arc<memmap2::Mmap>,
        start: usize,
        len: usize,
    },
}

impl std::fmt::Debug for ChunkBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChunkBytes({} bytes)", self.as_slice().len())
    }
}

impl ChunkBytes {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            ChunkBytes::Heap(b) => b,
            ChunkBytes::Mapped { map, start, len } => &map[*start..*start + *len],
        }
    }
}

/// One chunk of one series and the time span it covers (inclusive).
///
/// `data` must have passed [`Encoding::validate`] (the block reader checks
/// every chunk it loads; the head only holds chunks it encoded itself).
#[derive(Clone, Debug)]
pub struct ChunkMeta {
    pub min_t: i64,
    pub max_t: i64,
    pub encoding: Encoding,
    pub data: ChunkBytes,
}

impl ChunkMeta {
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_t <= maxt && self.max_t >= mint
    }
}

/// The samples of one series from any number of chunks (head, blocks,
/// out-of-order data), minus deleted intervals.
///
/// Chunks are sorted by `min_t` and may overlap; where two chunks hold the
/// same timestamp the one listed *later* wins (callers list newer data last).
pub struct ChunkSeries {
    chunks: Vec<ChunkMeta>,
    deleted: Intervals,
    overlapping: bool,
}

impl ChunkSeries {
    /// `chunks` in any order; they are sorted here.
    pub fn new(mut chunks: Vec<ChunkMeta>, deleted: Intervals) -> Self {
        chunks.sort_by_key(|c| c.min_t);
        let overlapping = chunks.windows(2).any(|w| w[1].min_t <= w[0].max_t);
        ChunkSeries {
            chunks,
            deleted,
            overlapping,
        }
    }

    pub fn chunks(&self) -> &[ChunkMeta] {
        &self.chunks
    }

    /// Deleted time intervals.
    pub fn deleted(&self) -> &Intervals {
        &self.deleted
    }

    /// No overlapping chunks and nothing deleted: the chunks can be used
    /// as they are.
    pub fn is_plain(&self) -> bool {
        !self.overlapping && self.deleted.is_empty()
    }

    /// Orders and deduplicates `buf` by time when chunks overlap (the
    /// last of equal times wins: newer data is listed later), then drops
    /// deleted times.
    fn merge(&self, buf: &mut SampleBuf) {
        if self.overlapping {
            let (floats, sts) = buf.floats_and_sts_mut();
            let mut pairs: Vec<(Sample, i64)> =
                floats.iter().copied().zip(sts.iter().copied()).collect();
            // Stable sort keeps chunk order among equal timestamps.
            pairs.sort_by_key(|(s, _)| s.t);
            let mut w = 0;
            for r in 0..pairs.len() {
                if r + 1 < pairs.len() && pairs[r + 1].0.t == pairs[r].0.t {
                    continue;
                }
                pairs[w] = pairs[r];
                w += 1;
            }
            pairs.truncate(w);
            floats.clear();
            sts.clear();
            for (s, st) in pairs {
                floats.push(s);
                sts.push(st);
            }
            buf.settle_sts();
            let hists = buf.histograms_mut();
            hists.sort_by_key(|h| h.t);
            let mut w = 0;
            for r in 0..hists.len() {
                if r + 1 < hists.len() && hists[r + 1].t == hists[r].t {
                    continue;
                }
                hists.swap(w, r);
                w += 1;
            }
            hists.truncate(w);
        }
        if !self.deleted.is_empty() {
            buf.retain_times(|t| !self.deleted.contains(t));
        }
    }
}

impl SeriesData for ChunkSeries {
    fn read(&self, mint: i64, maxt: i64, buf: &mut SampleBuf) {
        buf.clear();
        for c in self.chunks.iter().filter(|c| c.overlaps(mint, maxt)) {
            c.encoding.read_into(c.data.as_slice(), mint, maxt, buf);
        }
        buf.settle_sts();
        if !self.is_plain() {
            self.merge(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::chunkenc::BlockChunkEncoder;

    /// One chunk: timestamps (sorted, unique after the strategy), a value
    /// and a start timestamp per sample (0 = none).
    type RawChunk = Vec<(i64, f64, i64)>;

    fn chunk_strategy() -> impl Strategy<Value = RawChunk> {
        (
            0i64..200,
            prop::collection::vec((1i64..20, -50i64..50, 0i64..3), 1..40),
        )
            .prop_map(|(start, steps)| {
                let mut t = start;
                steps
                    .into_iter()
                    .map(|(d, v, st)| {
                        t += d;
                        (t, v as f64, if st == 0 { 0 } else { t - st })
                    })
                    .collect()
            })
    }

    fn encode(raw: &RawChunk) -> ChunkMeta {
        let samples: Vec<Sample> = raw.iter().map(|&(t, v, _)| Sample::new(t, v)).collect();
        let sts: Vec<i64> = raw.iter().map(|&(_, _, st)| st).collect();
        let mut encoder = BlockChunkEncoder::new();
        let (encoding, bytes) = encoder.encode_st(&samples, &sts);
        ChunkMeta {
            min_t: samples[0].t,
            max_t: samples[samples.len() - 1].t,
            encoding,
            data: ChunkBytes::Heap(Arc::from(bytes)),
        }
    }

    proptest! {
        /// Against the obvious reference: every chunk's samples in order
        /// of first timestamp into a map (later chunks win), deleted times
        /// removed.
        #[test]
        fn read_matches_a_map_of_all_chunks(
            mut raws in prop::collection::vec(chunk_strategy(), 1..5),
            deleted in prop::collection::vec((0i64..600, 0i64..30), 0..3),
            mint in 0i64..400,
            span in 0i64..800,
        ) {
            let maxt = mint + span;
            let mut intervals = Intervals::new();
            for &(from, len) in &deleted {
                intervals.add(from, from + len);
            }
            raws.sort_by_key(|r| r[0].0);
            let mut want: BTreeMap<i64, (u64, i64)> = BTreeMap::new();
            for raw in &raws {
                for &(t, v, st) in raw {
                    want.insert(t, (v.to_bits(), st));
                }
            }
            want.retain(|&t, _| t >= mint && t <= maxt && !intervals.contains(t));
            let cs = ChunkSeries::new(raws.iter().map(encode).collect(), intervals);
            let mut buf = SampleBuf::new();
            buf.push(Sample::new(-1, 0.0), 5);
            cs.read(mint, maxt, &mut buf);
            let sts = buf.start_timestamps().map(<[i64]>::to_vec);
            let got: Vec<(i64, (u64, i64))> = buf
                .floats()
                .iter()
                .enumerate()
                .map(|(i, s)| (s.t, (s.v.to_bits(), sts.as_ref().map_or(0, |v| v[i]))))
                .collect();
            let any_st = want.values().any(|&(_, st)| st != 0);
            prop_assert_eq!(got, want.into_iter().collect::<Vec<_>>());
            prop_assert_eq!(sts.is_some(), any_st, "start timestamps only when some sample has one");
        }
    }
}
