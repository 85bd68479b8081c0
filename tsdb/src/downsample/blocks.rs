//! Tier blocks: ordinary blocks (index, chunk segments, `meta.json` with
//! a non-zero `resolution`) whose chunks are aggregate chunks.
//!
//! A tier block of resolution `R` for the window `(lo, hi]` (both
//! multiples of `R`) holds the buckets ending in it, so it summarises the
//! raw samples with `lo < t ≤ hi`; its `meta.json` says `min_time = lo +
//! 1`, `max_time = hi + 1` (exclusive, as for every block). Float samples
//! only: native histogram series are left out of tiers for now. Counters
//! ([`CounterSuffixes`]) are summarised without sums; a tier built from a
//! finer one keeps what that one kept.

use std::path::Path;
use std::sync::Arc;

use super::chunk::{self, MAX_BUCKETS};
use super::summary::{Summary, coarsen, mark_histograms, points_of, summarize};
use super::{Columns, CounterSuffixes};
use crate::block::{
    BLOCK_VERSION, BlockMeta, BlockStats, ChunkWriter, CompactionMeta, IndexChunk, IndexWriter,
    write_atomically,
};
use crate::chunkenc::Encoding;
use crate::error::Result;
use crate::model::{MatchOp, Matcher, SampleBuf, SeriesData};
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
    out.clear();
    for c in cs.chunks() {
        if c.encoding != Encoding::Aggregate || !c.overlaps(lo + 1, hi) {
            continue;
        }
        // Validated when read: an error here is a bug, and loses only
        // this chunk's buckets.
        let from = out.len();
        let Ok(res) = chunk::decode_range(c.data.as_slice(), lo, hi, out) else {
            out.truncate(from);
            continue;
        };
        let deleted = cs.deleted().as_slice();
        if !deleted.is_empty() {
            // A bucket with any deleted time goes entirely.
            let kept: Vec<Summary> = out
                .drain(from..)
                .filter(|b| !deleted.iter().any(|&(a, z)| a <= b.end && z > b.end - res))
                .collect();
            out.extend(kept);
        }
    }
    if !out.windows(2).all(|w| w[0].end < w[1].end) {
        // Stable: of equal ends the later-listed stays last; keep it.
        out.sort_by_key(|b| b.end);
        out.dedup_by(|later, kept| {
            let same = later.end == kept.end;
            if same {
                *kept = *later;
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
        let mut bytes = Vec::new();
        for (labels, cs) in series {
            let mut buckets = if plan.source_resolution == 0 {
                cs.read(mint, maxt, &mut buf);
                let mut buckets = summarize(points_of(&buf), plan.resolution, plan.columns);
                if plan.counters.is_counter(&labels) {
                    buckets.iter_mut().for_each(Summary::drop_sum);
                }
                let hists = buf.histograms().iter().map(|h| h.t);
                mark_histograms(&mut buckets, hists, plan.resolution);
                buckets
            } else {
                coarsen(&read_summaries(&cs, plan.lo, plan.hi), plan.resolution)
            };
            if buckets.is_empty() {
                continue;
            }
            buckets.iter_mut().for_each(|b| b.keep_only(plan.columns));
            let mut metas = Vec::new();
            for part in buckets.chunks(MAX_BUCKETS) {
                bytes.clear();
                chunk::encode(plan.resolution, part, &mut bytes)?;
                stats.num_samples += part.len() as u64;
                metas.push(IndexChunk {
                    min_t: part[0].end - plan.resolution + 1,
                    max_t: part[part.len() - 1].end,
                    chunk_ref: chunks.write(Encoding::Aggregate, &bytes)?,
                });
            }
            stats.num_series += 1;
            stats.num_chunks += metas.len() as u64;
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
