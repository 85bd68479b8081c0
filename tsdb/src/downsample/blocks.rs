//! Tier blocks: ordinary blocks (index, chunk segments, `meta.json` with
//! a non-zero `resolution`) whose chunks are aggregate chunks.
//!
//! A tier block of resolution `R` for the window `(lo, hi]` (both
//! multiples of `R`) holds the buckets ending in it, so it summarises the
//! raw samples with `lo < t ≤ hi`; its `meta.json` says `min_time = lo +
//! 1`, `max_time = hi + 1` (exclusive, as for every block). A series
//! whose samples in the window are all native histograms (staleness
//! markers aside) gets histogram aggregate chunks ([`hchunk`]); one that
//! mixes floats and histograms gets both kinds, each marking where the
//! other was ([`mark_histograms`], [`HistSummary::floats`]), and queries
//! read it raw.
//! Counters ([`CounterSuffixes`]) are summarised without sums; a tier
//! built from a finer one keeps what that one kept.

use std::path::Path;
use std::sync::Arc;

use super::chunk::{self, MAX_BUCKETS};
use super::hchunk;
use super::hsummary::{HistSummary, summarize_histograms};
use super::summary::{
    Bucket, Point, Summary, coarsen, coarsen_into, mark_histograms, points_of, summarize,
};
use super::{Columns, CounterSuffixes};
use crate::block::{
    BLOCK_VERSION, BlockMeta, BlockStats, ChunkWriter, CompactionMeta, IndexChunk, IndexWriter,
    write_atomically,
};
use crate::chunkenc::Encoding;
use crate::encoding::DecodeResult;
use crate::error::Result;
use crate::model::{MatchOp, Matcher, STALE_NAN, SampleBuf, SeriesData, is_stale_nan};
use crate::querier::{BlockReader, ChunkSeries, MergeQuerier};

/// What a new tier block is and where its data comes from.
#[derive(Debug, Clone)]
pub struct TierPlan {
    pub resolution: i64,
    /// The window `(lo, hi]`, multiples of `resolution`.
    pub lo: i64,
    pub hi: i64,
    /// Resolution of the readers: 0 for raw blocks, else a finer tier's
    /// (which divides `resolution`).
    pub source_resolution: i64,
    /// The level-1 raw blocks whose data the tier block summarises.
    pub sources: Vec<String>,
    /// The blocks it was built from.
    pub parents: Vec<String>,
    /// The series built from raw data without sums.
    pub counters: CounterSuffixes,
    /// The optional columns kept.
    pub columns: Columns,
}

/// The summaries stored in `cs`'s aggregate chunks with bucket ends in
/// `(lo, hi]`, ascending by end; of two buckets with the same end (two
/// blocks overlapping) the later-listed wins. A bucket any deleted
/// interval (tombstone) touches is left out whole. Corrupt chunks are
/// skipped (blocks validate their chunks when read).
pub fn read_summaries(cs: &ChunkSeries, lo: i64, hi: i64) -> Vec<Summary> {
    let mut out = Vec::new();
    read_summaries_into(cs, lo, hi, &mut out);
    out
}

/// [`read_summaries`] into `out`, cleared first (its memory reused).
pub fn read_summaries_into(cs: &ChunkSeries, lo: i64, hi: i64, out: &mut Vec<Summary>) {
    read_buckets_into(cs, lo, hi, out, Encoding::Aggregate, chunk::decode_range);
}

/// [`read_summaries`] for a native histogram series' chunks.
pub fn read_hist_summaries(cs: &ChunkSeries, lo: i64, hi: i64) -> Vec<HistSummary> {
    let mut out = Vec::new();
    read_hist_summaries_into(cs, lo, hi, &mut out);
    out
}

/// [`read_hist_summaries`] into `out`, cleared first.
pub fn read_hist_summaries_into(cs: &ChunkSeries, lo: i64, hi: i64, out: &mut Vec<HistSummary>) {
    read_buckets_into(
        cs,
        lo,
        hi,
        out,
        Encoding::HistAggregate,
        hchunk::decode_range,
    );
}

type DecodeRange<B> = fn(&[u8], i64, i64, &mut Vec<B>) -> DecodeResult<i64>;

/// The buckets of `cs`'s chunks of `encoding`, as [`read_summaries`]
/// describes.
fn read_buckets_into<B: Bucket>(
    cs: &ChunkSeries,
    lo: i64,
    hi: i64,
    out: &mut Vec<B>,
    encoding: Encoding,
    decode: DecodeRange<B>,
) {
    let end = B::end;
    out.clear();
    for c in cs.chunks() {
        if c.encoding != encoding || !c.overlaps(lo + 1, hi) {
            continue;
        }
        // Validated when read: an error here is a bug, and loses only
        // this chunk's buckets.
        let from = out.len();
        let Ok(res) = decode(c.data.as_slice(), lo, hi, out) else {
            out.truncate(from);
            continue;
        };
        let deleted = cs.deleted().as_slice();
        if !deleted.is_empty() {
            // A bucket with any deleted time goes entirely.
            let kept: Vec<B> = out
                .drain(from..)
                .filter(|b| {
                    !deleted
                        .iter()
                        .any(|&(a, z)| a <= end(b) && z > end(b) - res)
                })
                .collect();
            out.extend(kept);
        }
    }
    if !out.windows(2).all(|w| end(&w[0]) < end(&w[1])) {
        // Stable: of equal ends the later-listed stays last; keep it.
        out.sort_by_key(end);
        out.dedup_by(|later, kept| {
            let same = end(later) == end(kept);
            if same {
                std::mem::swap(kept, later);
            }
            same
        });
    }
}

/// Writes the tier block `plan` describes under `parent` from `readers`
/// (raw blocks, or blocks of the finer tier). `None`, and nothing
/// written, when the window holds no samples.
pub fn write_tier_block(
    parent: &Path,
    readers: Vec<Arc<dyn BlockReader>>,
    plan: &TierPlan,
) -> Result<Option<BlockMeta>> {
    write_atomically(parent, |dir, ulid| {
        std::fs::create_dir_all(dir).map_err(|e| crate::Error::io("mkdir", dir, e))?;
        let (mint, maxt) = (plan.lo + 1, plan.hi);
        let q = MergeQuerier::new(readers, mint, maxt);
        let all = Matcher::new(MatchOp::RegexMatch, crate::model::METRIC_NAME, ".*")?;
        let series = q.select_chunk_series(&[all], mint, maxt, 0)?;
        let mut chunks = ChunkWriter::new(&dir.join("chunks"))?;
        let mut index = IndexWriter::new();
        let mut stats = BlockStats::default();
        let mut buf = SampleBuf::new();
        let mut out = Out {
            chunks: &mut chunks,
            bytes: Vec::new(),
            stats: &mut stats,
        };
        let res = plan.resolution;
        for (labels, cs) in series {
            let (mut floats, hists) = series_buckets(plan, &labels, &cs, &mut buf);
            if floats.is_empty() && hists.is_empty() {
                continue;
            }
            floats.iter_mut().for_each(|b| b.keep_only(plan.columns));
            let mut metas = out.write(res, &floats, chunk::encode, Encoding::Aggregate)?;
            metas.extend(out.write(res, &hists, hchunk::encode, Encoding::HistAggregate)?);
            metas.sort_by_key(|c| c.min_t);
            out.stats.num_series += 1;
            out.stats.num_chunks += metas.len() as u64;
            index.add_series(labels, metas)?;
        }
        if stats.num_series == 0 {
            return Ok(None);
        }
        chunks.close()?;
        index.write(&dir.join("index"))?;
        let mut sources = plan.sources.clone();
        sources.sort();
        sources.dedup();
        let meta = BlockMeta {
            ulid: ulid.to_string(),
            min_time: mint,
            max_time: maxt + 1,
            stats,
            compaction: CompactionMeta {
                level: 1,
                sources,
                parents: plan.parents.clone(),
            },
            version: BLOCK_VERSION,
            resolution: plan.resolution,
        };
        meta.write(dir)?;
        Ok(Some(meta))
    })
}

/// The float and histogram buckets of `cs` for the tier block `plan`
/// describes. A series whose samples in the window are all floats, or
/// all native histograms (staleness markers aside), gets buckets of that
/// kind only. One that holds both gets both, so that neither kind is lost
/// when its raw data goes: float summaries whose buckets mark the
/// histograms, and histogram summaries whose buckets mark the floats
/// (queries read such a series raw, or say that they cannot). From a
/// finer tier, each kind is coarsened, the floats marked as from raw.
/// Histograms wider than a histogram chunk holds
/// ([`hchunk::MAX_HISTOGRAM_BUCKETS`]) are only marked, as every
/// histogram was before tiers kept them.
fn series_buckets(
    plan: &TierPlan,
    labels: &crate::model::Labels,
    cs: &ChunkSeries,
    buf: &mut SampleBuf,
) -> (Vec<Summary>, Vec<HistSummary>) {
    let res = plan.resolution;
    if plan.source_resolution != 0 {
        let fine = read_hist_summaries(cs, plan.lo, plan.hi);
        let mut hists = Vec::with_capacity(fine.len());
        coarsen_into(&fine, res, &mut hists);
        let mut floats = coarsen(&read_summaries(cs, plan.lo, plan.hi), res);
        let storable = hchunk::storable(&hists);
        if !floats.is_empty() || !storable {
            let marks = fine.iter().filter(|b| b.agg.is_some()).map(|b| b.end);
            mark_histograms(&mut floats, marks, res);
        }
        if !storable {
            hists.clear();
        }
        return (floats, hists);
    }
    cs.read(plan.lo + 1, plan.hi, buf);
    let times: Vec<i64> = buf
        .histograms()
        .iter()
        .filter(|h| !h.h.is_stale())
        .map(|h| h.t)
        .collect();
    let mut hists = Vec::new();
    if !times.is_empty() {
        hists = summarize_histograms(buf.floats(), buf.histograms(), res);
        if !hchunk::storable(&hists) {
            hists.clear();
        }
    }
    if !hists.is_empty() && !buf.floats().iter().any(|s| !is_stale_nan(s.v)) {
        return (Vec::new(), hists);
    }
    // A histogram staleness marker ends the float series as a float one.
    let stale: Vec<Point> = buf
        .histograms()
        .iter()
        .filter(|h| h.h.is_stale())
        .map(|h| Point::new(h.t, STALE_NAN, 0))
        .collect();
    let mut floats = if stale.is_empty() {
        summarize(points_of(buf), res, plan.columns)
    } else {
        let mut points: Vec<Point> = points_of(buf).chain(stale).collect();
        points.sort_by_key(|p| p.t);
        summarize(points, res, plan.columns)
    };
    if plan.counters.is_counter(labels) {
        floats.iter_mut().for_each(Summary::drop_sum);
    }
    mark_histograms(&mut floats, times, res);
    (floats, hists)
}

/// Where a tier block's chunks go.
struct Out<'a> {
    chunks: &'a mut ChunkWriter,
    bytes: Vec<u8>,
    stats: &'a mut BlockStats,
}

type Encode<B> = fn(i64, &[B], &mut Vec<u8>) -> Result<()>;

impl Out<'_> {
    /// Writes `buckets` (ascending) as chunks of `encoding`,
    /// at most [`MAX_BUCKETS`] each; returns their index entries.
    fn write<B: Bucket>(
        &mut self,
        res: i64,
        buckets: &[B],
        encode: Encode<B>,
        encoding: Encoding,
    ) -> Result<Vec<IndexChunk>> {
        let mut metas = Vec::new();
        for part in buckets.chunks(MAX_BUCKETS) {
            let (Some(first), Some(last)) = (part.first(), part.last()) else {
                continue;
            };
            self.bytes.clear();
            encode(res, part, &mut self.bytes)?;
            self.stats.num_samples += part.len() as u64;
            metas.push(IndexChunk {
                min_t: first.end() - res + 1,
                max_t: last.end(),
                chunk_ref: self.chunks.write(encoding, &self.bytes)?,
            });
        }
        Ok(metas)
    }
}
