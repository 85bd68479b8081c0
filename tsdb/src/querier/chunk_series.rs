//! A series' samples as a list of encoded chunks, decoded lazily.

use std::sync::Arc;

use crate::chunkenc::{ChunkIter, Encoding};
use crate::model::{Sample, SampleIterator, SeriesData};
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

    /// No overlapping chunks and nothing deleted: the chunks can be used
    /// as they are.
    pub fn is_plain(&self) -> bool {
        !self.overlapping && self.deleted.is_empty()
    }

    /// All samples in `[mint, maxt]`, merged and deduplicated.
    fn collect(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        let start = out.len();
        for c in self.chunks.iter().filter(|c| c.overlaps(mint, maxt)) {
            c.encoding.decode_range(c.data.as_slice(), mint, maxt, out);
        }
        self.merge(out, start, |s| s.t);
    }

    /// [`collect`](Self::collect) with start timestamps, parallel to the
    /// samples (0 = none).
    fn collect_st(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>, sts: &mut Vec<i64>) {
        let (mut samples, mut starts) = (Vec::new(), Vec::new());
        for c in self.chunks.iter().filter(|c| c.overlaps(mint, maxt)) {
            c.encoding
                .decode_range_st(c.data.as_slice(), mint, maxt, &mut samples, &mut starts);
        }
        let mut pairs: Vec<(Sample, i64)> = samples.into_iter().zip(starts).collect();
        self.merge(&mut pairs, 0, |(s, _)| s.t);
        for (s, st) in pairs {
            out.push(s);
            sts.push(st);
        }
    }

    /// Orders and deduplicates `v[start..]` by time when chunks overlap
    /// (the last of equal times wins: newer data is listed later), then
    /// drops deleted times.
    fn merge<T: Copy>(&self, v: &mut Vec<T>, start: usize, t: impl Fn(&T) -> i64) {
        if self.overlapping {
            // Stable sort keeps chunk order among equal timestamps.
            v[start..].sort_by_key(&t);
            let mut w = start;
            for r in start..v.len() {
                if r + 1 < v.len() && t(&v[r + 1]) == t(&v[r]) {
                    continue;
                }
                v[w] = v[r];
                w += 1;
            }
            v.truncate(w);
        }
        if !self.deleted.is_empty() {
            let mut w = start;
            for r in start..v.len() {
                if !self.deleted.contains(t(&v[r])) {
                    v[w] = v[r];
                    w += 1;
                }
            }
            v.truncate(w);
        }
    }
}

impl SeriesData for ChunkSeries {
    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        if !self.overlapping && self.deleted.is_empty() {
            return Box::new(SequentialIter {
                chunks: &self.chunks,
                idx: 0,
                cur: None,
            });
        }
        let mut all = Vec::new();
        self.collect(i64::MIN, i64::MAX, &mut all);
        Box::new(OwnedIter {
            samples: all,
            pos: None,
        })
    }

    fn samples_in(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        self.collect(mint, maxt, out)
    }

    fn samples_st_in(
        &self,
        mint: i64,
        maxt: i64,
        out: &mut Vec<Sample>,
        sts: &mut Vec<i64>,
    ) -> bool {
        let with_st = self
            .chunks
            .iter()
            .any(|c| c.encoding.has_start_timestamps() && c.overlaps(mint, maxt));
        if !with_st {
            self.collect(mint, maxt, out);
            return false;
        }
        self.collect_st(mint, maxt, out, sts);
        true
    }
}

/// Walks non-overlapping chunks one after another.
struct SequentialIter<'a> {
    chunks: &'a [ChunkMeta],
    idx: usize,
    cur: Option<ChunkIter<'a>>,
}

impl SampleIterator for SequentialIter<'_> {
    fn next(&mut self) -> bool {
        loop {
            if let Some(it) = &mut self.cur {
                if it.next() {
                    return true;
                }
                self.idx += 1;
            }
            let Some(c) = self.chunks.get(self.idx) else {
                self.cur = None;
                return false;
            };
            self.cur = Some(c.encoding.iter(c.data.as_slice()));
        }
    }

    fn seek(&mut self, t: i64) -> bool {
        if let Some(it) = &self.cur
            && it.at().t >= t
        {
            return true;
        }
        // Skip whole chunks that end before t without decoding them.
        while let Some(c) = self.chunks.get(self.idx) {
            if c.max_t >= t {
                break;
            }
            self.idx += 1;
            self.cur = None;
        }
        loop {
            if !self.next() {
                return false;
            }
            if self.at().t >= t {
                return true;
            }
        }
    }

    fn at(&self) -> Sample {
        match &self.cur {
            Some(it) => it.at(),
            None => Sample::new(i64::MIN, f64::NAN),
        }
    }
}

/// Iterates samples that were merged into a buffer.
struct OwnedIter {
    samples: Vec<Sample>,
    /// Index of the current sample; `None` before the first `next`.
    pos: Option<usize>,
}

impl SampleIterator for OwnedIter {
    fn next(&mut self) -> bool {
        let next = self.pos.map_or(0, |p| p + 1).min(self.samples.len());
        self.pos = Some(next);
        next < self.samples.len()
    }

    fn seek(&mut self, t: i64) -> bool {
        let from = self.pos.unwrap_or(0).min(self.samples.len());
        let idx = from + self.samples[from..].partition_point(|s| s.t < t);
        self.pos = Some(idx);
        idx < self.samples.len()
    }

    fn at(&self) -> Sample {
        match self.pos.and_then(|p| self.samples.get(p)) {
            Some(s) => *s,
            None => Sample::new(i64::MIN, f64::NAN),
        }
    }
}
