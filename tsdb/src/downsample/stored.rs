//! [`StoredSummaries`]: one series' buckets in one tier, selected but not
//! yet decoded. A query selects them while planning and decodes them where
//! it evaluates each series, on the query's threads, as raw chunks are.

use std::sync::Arc;

use super::Column;
use super::blocks::{read_hist_summaries_into, read_summaries_into};
use super::chunk;
use super::hchunk;
use super::hsummary::HistSummary;
use super::summary::{Bucket, Summary, coarsen_into};
use crate::chunkenc::Encoding;
use crate::querier::ChunkSeries;

/// A series' aggregate chunks of resolution `res`, for the buckets ending
/// in `(lo, hi]`, read as buckets of resolution `into` (a multiple of
/// `res`).
#[derive(Clone)]
pub struct StoredSummaries {
    series: Arc<ChunkSeries>,
    res: i64,
    into: i64,
    lo: i64,
    hi: i64,
}

impl std::fmt::Debug for StoredSummaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSummaries")
            .field("res", &self.res)
            .field("into", &self.into)
            .field("lo", &self.lo)
            .field("hi", &self.hi)
            .finish_non_exhaustive()
    }
}

impl StoredSummaries {
    pub fn new(series: ChunkSeries, res: i64, into: i64, lo: i64, hi: i64) -> Self {
        StoredSummaries {
            series: Arc::new(series),
            res,
            into: into.max(res),
            lo,
            hi,
        }
    }

    /// The aggregate chunks (float or histogram) whose buckets may end in
    /// `(lo, hi]`: a chunk spans `(first end − res, last end]`.
    fn chunks(&self) -> impl Iterator<Item = &crate::querier::ChunkMeta> {
        self.series.chunks().iter().filter(|c| {
            matches!(c.encoding, Encoding::Aggregate | Encoding::HistAggregate)
                && c.max_t > self.lo
                && c.min_t.saturating_add(self.res - 1) <= self.hi
        })
    }

    /// At least as many buckets as [`read_into`](Self::read_into) gives,
    /// from the chunks' headers and time ranges (for a query's sample
    /// limit); 0 when no chunk holds a bucket in range.
    pub fn bucket_bound(&self) -> usize {
        self.chunks()
            .map(|c| {
                let (from, to) = (c.min_t.max(self.lo + 1), c.max_t.min(self.hi));
                let slots = (to.saturating_sub(from).max(0) / self.res).saturating_add(1);
                let stored = match c.encoding {
                    Encoding::HistAggregate => hchunk::bucket_count(c.data.as_slice()),
                    _ => chunk::bucket_count(c.data.as_slice()),
                };
                let stored = stored.unwrap_or(0);
                usize::try_from(stored.min(slots as u64)).unwrap_or(usize::MAX)
            })
            .fold(0usize, usize::saturating_add)
    }

    /// Whether every bucket of its float chunks (in range or not) keeps
    /// `column`, from the chunks' headers (without decoding them); a chunk
    /// that fails to read keeps nothing. Histogram chunks keep none.
    pub fn keeps(&self, column: Column) -> bool {
        self.chunks().all(|c| {
            c.encoding == Encoding::Aggregate
                && chunk::keeps(c.data.as_slice(), column).unwrap_or(false)
        })
    }

    /// Whether its buckets are native histogram summaries: every chunk in
    /// range is a histogram aggregate chunk.
    pub fn histograms(&self) -> bool {
        self.chunks().all(|c| c.encoding == Encoding::HistAggregate)
    }

    /// Whether some bucket's raw data mixed floats and native histograms
    /// (float chunks marking histograms, or chunks of both kinds), which
    /// no tier answers from.
    pub fn histograms_too(&self) -> bool {
        let mut kinds = self.chunks().map(|c| c.encoding == Encoding::HistAggregate);
        let Some(first) = kinds.next() else {
            return false;
        };
        kinds.any(|k| k != first)
            || self.chunks().any(|c| {
                c.encoding == Encoding::Aggregate
                    && chunk::histograms_too(c.data.as_slice()).unwrap_or(false)
            })
    }

    /// Appends the buckets, ascending and coarsened to `into`, to `out`,
    /// merging the first into `out`'s last when they end together;
    /// `scratch` holds the stored ones meanwhile.
    pub fn read_into(&self, scratch: &mut Vec<Summary>, out: &mut Vec<Summary>) {
        self.read_kind_into(read_summaries_into, scratch, out);
    }

    /// [`read_into`](Self::read_into) for histogram summaries.
    pub fn read_hist_into(&self, scratch: &mut Vec<HistSummary>, out: &mut Vec<HistSummary>) {
        self.read_kind_into(read_hist_summaries_into, scratch, out);
    }

    fn read_kind_into<B: Bucket>(
        &self,
        read: fn(&ChunkSeries, i64, i64, &mut Vec<B>),
        scratch: &mut Vec<B>,
        out: &mut Vec<B>,
    ) {
        if self.into == self.res && out.is_empty() {
            // Already at the resolution asked for: decoded in place.
            read(&self.series, self.lo, self.hi, out);
            return;
        }
        read(&self.series, self.lo, self.hi, scratch);
        coarsen_into(scratch.iter(), self.into, out);
    }

    /// The buckets, coarsened to `into`.
    pub fn read(&self) -> Vec<Summary> {
        let mut out = Vec::new();
        self.read_into(&mut Vec::new(), &mut out);
        out
    }
}
