//! Writes a new block from any readers (the head, smaller blocks).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::chunks::ChunkWriter;
use super::index_writer::{IndexChunk, IndexWriter};
use super::meta::{BLOCK_VERSION, BlockMeta, BlockStats, CompactionMeta, new_ulid};
use crate::chunkenc::{BlockChunkEncoder, MAX_SAMPLES_PER_CHUNK};
use crate::error::{Error, Result};
use crate::model::{MatchOp, Matcher, Sample, SeriesData};
use crate::querier::{BlockReader, MergeQuerier};

/// What the new block is and where it came from.
pub struct BlockPlan {
    /// Inclusive start, exclusive end (ms).
    pub min_time: i64,
    pub max_time: i64,
    pub level: u32,
    pub sources: Vec<String>,
    pub parents: Vec<String>,
}

/// Writes the data of `readers` in `[min_time, max_time)` as a block under
/// `parent`, merging overlaps and dropping deleted samples. Each chunk is
/// stored in whichever encoding is smaller (XOR or decimal, see
/// [`BlockChunkEncoder`]). The block is
/// written to `<ulid>.tmp` and renamed into place only when complete, so a
/// crash leaves no half block. Returns `None` (and writes nothing) when the
/// range holds no samples.
pub fn write_block(
    parent: &Path,
    readers: Vec<Arc<dyn BlockReader>>,
    plan: BlockPlan,
) -> Result<Option<BlockMeta>> {
    let ulid = new_ulid();
    let tmp = parent.join(format!("{ulid}.tmp"));
    let result = write_into(&tmp, &ulid, readers, plan);
    match result {
        Ok(Some(meta)) => {
            let dst = parent.join(&ulid);
            std::fs::rename(&tmp, &dst).map_err(|e| Error::io("rename", &dst, e))?;
            crate::fsutil::sync_dir(parent)?;
            Ok(Some(meta))
        }
        other => {
            let _ = std::fs::remove_dir_all(&tmp);
            other
        }
    }
}

fn write_into(
    dir: &PathBuf,
    ulid: &str,
    readers: Vec<Arc<dyn BlockReader>>,
    plan: BlockPlan,
) -> Result<Option<BlockMeta>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("mkdir", dir, e))?;
    let maxt = plan.max_time - 1;
    let q = MergeQuerier::new(readers, plan.min_time, maxt);
    let all = Matcher::new(MatchOp::RegexMatch, crate::model::METRIC_NAME, ".*")?;
    let series = q.select_chunk_series(&[all], plan.min_time, maxt, 0)?;

    let mut chunks = ChunkWriter::new(&dir.join("chunks"))?;
    let mut index = IndexWriter::new();
    let mut stats = BlockStats::default();
    let mut samples: Vec<Sample> = Vec::new();
    let mut encoder = BlockChunkEncoder::new();
    for (labels, cs) in series {
        let mut metas = Vec::new();
        if cs.is_plain()
            && cs
                .chunks()
                .iter()
                .all(|c| c.min_t >= plan.min_time && c.max_t <= maxt)
        {
            // Nothing to merge or drop: keep the chunks' boundaries and
            // only re-encode them where that makes them smaller.
            for c in cs.chunks() {
                let (encoding, bytes) = encoder.reencode(c.encoding, c.data.as_slice());
                stats.num_samples += encoding.num_samples(bytes) as u64;
                metas.push(IndexChunk {
                    min_t: c.min_t,
                    max_t: c.max_t,
                    chunk_ref: chunks.write(encoding, bytes)?,
                });
            }
        } else {
            samples.clear();
            cs.samples_in(plan.min_time, maxt, &mut samples);
            for part in samples.chunks(MAX_SAMPLES_PER_CHUNK) {
                let (encoding, bytes) = encoder.encode(part);
                stats.num_samples += part.len() as u64;
                metas.push(IndexChunk {
                    min_t: part[0].t,
                    max_t: part[part.len() - 1].t,
                    chunk_ref: chunks.write(encoding, bytes)?,
                });
            }
        }
        if metas.is_empty() {
            continue;
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
    let meta = BlockMeta {
        ulid: ulid.to_string(),
        min_time: plan.min_time,
        max_time: plan.max_time,
        stats,
        compaction: CompactionMeta {
            level: plan.level,
            sources: if plan.sources.is_empty() {
                vec![ulid.to_string()]
            } else {
                plan.sources
            },
            parents: plan.parents,
        },
        version: BLOCK_VERSION,
        resolution: 0,
    };
    meta.write(dir)?;
    Ok(Some(meta))
}
