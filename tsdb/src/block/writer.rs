//! Writes a new block from any readers (the head, smaller blocks).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::chunks::ChunkWriter;
use super::index_writer::{IndexChunk, IndexWriter};
use super::meta::{BLOCK_VERSION, BlockMeta, BlockStats, CompactionMeta, new_ulid};
use crate::chunkenc::histogram::{
    ChunkLimits, TimedHistogram, decode_values, encode_values, latest_per_time,
};
use crate::chunkenc::{BlockChunkEncoder, Encoding, MAX_SAMPLES_PER_CHUNK};

/// Samples per chunk in a block: twice the head's. A decimal chunk's fixed
/// cost (first timestamp and value, stream headers: about 16 bytes) and its
/// framing in the segment file (7 bytes) spread over more samples, which
/// takes 0.08 B/sample off the lab generator's data; a query that needs one
/// sample of a chunk decodes up to 240 instead of 120 (about 1.5 µs).
pub const BLOCK_CHUNK_SAMPLES: usize = 2 * MAX_SAMPLES_PER_CHUNK;
use crate::error::{Error, Result};
use crate::model::{MatchOp, Matcher, SampleBuf, SeriesData};
use crate::querier::{BlockReader, ChunkSeries, MergeQuerier};

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
/// `parent`, merging overlaps and dropping deleted samples. Samples are cut
/// into chunks of [`BLOCK_CHUNK_SAMPLES`], each stored in whichever encoding
/// is smaller (XOR or decimal, see [`BlockChunkEncoder`]); a series whose
/// chunks are all decimal already (compaction of blocks) is copied. The block is
/// written to `<ulid>.tmp` and renamed into place only when complete, so a
/// crash leaves no half block. Returns `None` (and writes nothing) when the
/// range holds no samples.
pub fn write_block(
    parent: &Path,
    readers: Vec<Arc<dyn BlockReader>>,
    plan: BlockPlan,
) -> Result<Option<BlockMeta>> {
    write_atomically(parent, |tmp, ulid| write_into(tmp, ulid, readers, plan))
}

/// Runs `write` on a new block directory `<ulid>.tmp` under `parent` and
/// renames it into place when `write` returns a meta; removes it
/// otherwise, so a crash or a failure leaves no half block.
pub(crate) fn write_atomically(
    parent: &Path,
    write: impl FnOnce(&PathBuf, &str) -> Result<Option<BlockMeta>>,
) -> Result<Option<BlockMeta>> {
    let ulid = new_ulid();
    let tmp = parent.join(format!("{ulid}.tmp"));
    let result = write(&tmp, &ulid);
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
    let mut buf = SampleBuf::new();
    let mut encoder = BlockChunkEncoder::new();
    for (labels, cs) in series {
        let mut metas = Vec::new();
        let has_floats = cs.chunks().iter().any(|c| !c.encoding.is_histogram());
        if cs.chunks().iter().any(|c| c.encoding.is_histogram()) {
            write_histograms(
                &cs,
                plan.min_time,
                maxt,
                &mut chunks,
                &mut stats,
                &mut metas,
            )?;
        }
        if has_floats
            && cs.is_plain()
            && cs.chunks().iter().all(|c| {
                c.encoding.is_histogram()
                    || (c.encoding == Encoding::Decimal
                        && c.min_t >= plan.min_time
                        && c.max_t <= maxt)
            })
        {
            // Written by a block writer and nothing to merge or drop: copy.
            for c in cs.chunks().iter().filter(|c| !c.encoding.is_histogram()) {
                metas.push(copy_chunk(c, &mut chunks, &mut stats)?);
            }
        } else if has_floats {
            cs.read(plan.min_time, maxt, &mut buf);
            let sts = buf.start_timestamps().unwrap_or(&[]);
            for (i, part) in buf.floats().chunks(BLOCK_CHUNK_SAMPLES).enumerate() {
                let from = i * BLOCK_CHUNK_SAMPLES;
                let part_sts = sts.get(from..from + part.len()).unwrap_or(&[]);
                let (encoding, bytes) = encoder.encode_st(part, part_sts);
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
        metas.sort_by_key(|m| m.min_t);
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

/// Writes a stored chunk as it is.
fn copy_chunk(
    c: &crate::querier::ChunkMeta,
    chunks: &mut ChunkWriter,
    stats: &mut BlockStats,
) -> Result<IndexChunk> {
    let bytes = c.data.as_slice();
    stats.num_samples += c.encoding.num_samples(bytes) as u64;
    Ok(IndexChunk {
        min_t: c.min_t,
        max_t: c.max_t,
        chunk_ref: chunks.write(c.encoding, bytes)?,
    })
}

/// Writes a series' histogram chunks in `[mint, maxt]`: copied when they
/// lie inside the range with nothing to merge, drop or join, else decoded
/// (keeping integer or float counts), merged (later chunks win equal
/// times), cut to the range and re-encoded under the block's chunk limits
/// ([`ChunkLimits::BLOCK`]: the head's small chunks are joined).
fn write_histograms(
    cs: &ChunkSeries,
    mint: i64,
    maxt: i64,
    chunks: &mut ChunkWriter,
    stats: &mut BlockStats,
    metas: &mut Vec<IndexChunk>,
) -> Result<()> {
    let hist_chunks = cs.chunks().iter().filter(|c| c.encoding.is_histogram());
    let max = ChunkLimits::BLOCK.max_samples;
    let sizes: Vec<usize> = hist_chunks
        .clone()
        .map(|c| c.encoding.num_samples(c.data.as_slice()))
        .collect();
    let joinable = sizes.windows(2).any(|w| w[0] + w[1] <= max);
    if cs.is_plain()
        && !joinable
        && hist_chunks
            .clone()
            .all(|c| c.min_t >= mint && c.max_t <= maxt)
    {
        for c in hist_chunks {
            metas.push(copy_chunk(c, chunks, stats)?);
        }
        return Ok(());
    }
    let mut samples: Vec<TimedHistogram> = Vec::new();
    for c in hist_chunks.filter(|c| c.overlaps(mint, maxt)) {
        samples.extend(
            decode_values(c.encoding, c.data.as_slice())
                .into_iter()
                .filter(|s| s.t >= mint && s.t <= maxt && !cs.deleted().contains(s.t)),
        );
    }
    for c in encode_values(&latest_per_time(samples), ChunkLimits::BLOCK) {
        let (encoding, bytes) = c.encoded();
        stats.num_samples += c.num_samples() as u64;
        metas.push(IndexChunk {
            min_t: c.min_t,
            max_t: c.max_t(),
            chunk_ref: chunks.write(encoding, &bytes)?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::Block;
    use crate::head::{Head, HeadOptions, RangeHead};
    use crate::model::{Labels, STALE_NAN};

    /// Named series: decimal-friendly shapes, and values only XOR can hold.
    fn series() -> Vec<(&'static str, Vec<f64>)> {
        let n = 500;
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut g = 4200i64;
        let gauge: Vec<f64> = (0..n)
            .map(|_| {
                g += (rnd() % 41) as i64 - 20;
                g as f64 / 100.0
            })
            .collect();
        let mut c = 1e9;
        let counter: Vec<f64> = (0..n)
            .map(|i| {
                c = if i == 300 {
                    3.0
                } else {
                    c + (rnd() % 500) as f64
                };
                c
            })
            .collect();
        let mut stale = gauge.clone();
        for i in [10, 11, 250, n - 1] {
            stale[i] = STALE_NAN;
        }
        let mut specials = counter.clone();
        specials[5] = -0.0;
        specials[6] = f64::INFINITY;
        specials[7] = f64::NEG_INFINITY;
        specials[8] = f64::from_bits(0x7ff8_0000_dead_beef);
        let bits: Vec<f64> = (0..n).map(|_| f64::from_bits(rnd())).collect();
        vec![
            ("gauge", gauge),
            ("counter_with_reset", counter),
            ("gauge_going_stale", stale),
            ("counter_with_specials", specials),
            ("random_bits", bits),
        ]
    }

    /// Metric name, chunk encodings, (timestamp, value bits) per series.
    type Dump = Vec<(String, Vec<Encoding>, Vec<(i64, u64)>)>;

    fn read_back(block: &Block) -> Dump {
        let all = Matcher::new(MatchOp::RegexMatch, crate::model::METRIC_NAME, ".*").unwrap();
        let mut out = Vec::new();
        for id in block.postings(&[all]).unwrap() {
            let entry = block.series(id, i64::MIN, i64::MAX).unwrap().unwrap();
            let chunks = block.chunks(entry.chunks).unwrap();
            let encodings = chunks.iter().map(|c| c.encoding).collect();
            let cs = crate::querier::ChunkSeries::new(chunks, Default::default());
            let mut buf = SampleBuf::new();
            cs.read(i64::MIN, i64::MAX, &mut buf);
            let samples = buf.floats().iter().map(|s| (s.t, s.v.to_bits())).collect();
            out.push((entry.labels.metric_name().to_string(), encodings, samples));
        }
        out
    }

    #[test]
    fn blocks_round_trip_bit_for_bit_in_the_smaller_encoding() {
        let head = Head::new(HeadOptions {
            chunk_range: i64::MAX / 4,
            ..HeadOptions::default()
        });
        let data = series();
        let t = |i: usize| 1_700_000_000_000 + i as i64 * 15_000 + (i % 3) as i64;
        let mut app = head.appender();
        for (name, values) in &data {
            let labels = Labels::from_pairs(&[("__name__", *name)]);
            for (i, &v) in values.iter().enumerate() {
                app.append(&labels, t(i), v).unwrap();
            }
        }
        app.commit();
        let dir = tempfile::tempdir().unwrap();
        let plan = |level| BlockPlan {
            min_time: t(0),
            max_time: t(data[0].1.len()),
            level,
            sources: vec![],
            parents: vec![],
        };
        let rh: Arc<dyn BlockReader> = Arc::new(RangeHead::new(head, t(0), t(500)));
        let meta = write_block(dir.path(), vec![rh], plan(1)).unwrap().unwrap();
        assert_eq!(meta.stats.num_samples, 5 * 500);
        assert_eq!(meta.stats.num_chunks, 5 * 3, "500 samples: chunks of 240");
        let block = Arc::new(Block::open(&dir.path().join(&meta.ulid)).unwrap());
        let got = read_back(&block);
        let mut want = data.clone();
        want.sort_by(|a, b| a.0.cmp(b.0));
        for ((name, encodings, samples), (want_name, values)) in got.iter().zip(&want) {
            assert_eq!(name, want_name);
            let want: Vec<(i64, u64)> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (t(i), v.to_bits()))
                .collect();
            assert_eq!(samples, &want, "series {name}");
            let expected = if *name == "random_bits" {
                Encoding::Xor
            } else {
                Encoding::Decimal
            };
            assert!(
                encodings.iter().all(|e| *e == expected),
                "series {name}: {encodings:?}"
            );
        }

        // Compacting the block copies its decimal chunks and re-encodes the
        // XOR ones; the data stays the same.
        let reader: Arc<dyn BlockReader> = block.clone();
        let meta2 = write_block(dir.path(), vec![reader], plan(2))
            .unwrap()
            .unwrap();
        let block2 = Block::open(&dir.path().join(&meta2.ulid)).unwrap();
        assert_eq!(read_back(&block2), got);
        assert_eq!(meta2.stats, meta.stats);
    }
}
