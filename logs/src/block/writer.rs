//! Writes a log block from streams of entries in time order.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tsdb::encoding::{put_bytes, put_uvarint};
use tsdb::model::Labels;

use super::{CHUNK_BYTES, CHUNKS_MAGIC, INDEX_MAGIC, VERSION, compress};
use crate::error::{Error, Result};
use crate::model::Entry;
use tsdb::fsutil::{sync_dir, write_durably};

/// A block's `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMeta {
    pub version: u8,
    pub ulid: String,
    /// Oldest and newest entry, Unix nanoseconds.
    pub min_time_ns: i64,
    pub max_time_ns: i64,
    pub streams: u64,
    pub chunks: u64,
    pub entries: u64,
    /// Bytes of the lines, uncompressed.
    pub line_bytes: u64,
    /// Bytes of `chunks` and `index`.
    pub bytes: u64,
    /// The block holds its streams' entries from WAL segments up to this
    /// one (replay skips them).
    pub wal_through: u64,
    /// Blocks this one replaces (same entries, less some deleted).
    #[serde(default)]
    pub replaces: Vec<String>,
}

/// Writes `streams` (each stream's entries in time order; streams without
/// entries are left out) as a new block under `blocks_dir`. Nothing is
/// visible under the block's name until every file is written and synced.
/// `None` when there is nothing to write.
pub fn write(
    blocks_dir: &Path,
    streams: &[(Labels, &[Entry])],
    wal_through: u64,
    replaces: Vec<String>,
) -> Result<Option<BlockMeta>> {
    if streams.iter().all(|(_, es)| es.is_empty()) {
        return Ok(None);
    }
    let ulid = tsdb::block::new_ulid();
    let tmp = blocks_dir.join(format!(".{ulid}.tmp"));
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io("mkdir", &tmp, e))?;
    let mut meta = BlockMeta {
        version: VERSION,
        ulid: ulid.clone(),
        min_time_ns: i64::MAX,
        max_time_ns: i64::MIN,
        streams: 0,
        chunks: 0,
        entries: 0,
        line_bytes: 0,
        bytes: 0,
        wal_through,
        replaces,
    };
    if let Err(e) = write_files(&tmp, streams, &mut meta) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let dir = blocks_dir.join(&ulid);
    std::fs::rename(&tmp, &dir).map_err(|e| Error::io("rename", &tmp, e))?;
    sync_dir(blocks_dir)?;
    Ok(Some(meta))
}

fn write_files(dir: &Path, streams: &[(Labels, &[Entry])], meta: &mut BlockMeta) -> Result<()> {
    let live: Vec<&(Labels, &[Entry])> = streams.iter().filter(|(_, es)| !es.is_empty()).collect();
    let cuts: Vec<Vec<&[Entry]>> = live.iter().map(|(_, es)| cut(es)).collect();
    let parts: Vec<&[Entry]> = cuts.iter().flatten().copied().collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut packed = compress::pack_all(&parts, threads)
        .map_err(|e| Error::io("compress", dir, e))?
        .into_iter();
    let mut data = Vec::new();
    data.extend_from_slice(CHUNKS_MAGIC);
    data.push(VERSION);
    let mut index = Vec::new();
    index.extend_from_slice(INDEX_MAGIC);
    index.push(VERSION);
    put_uvarint(&mut index, live.len() as u64);
    for ((labels, _), parts) in live.iter().zip(&cuts) {
        put_uvarint(&mut index, labels.len() as u64);
        for l in labels.iter() {
            put_bytes(&mut index, l.name.as_bytes());
            put_bytes(&mut index, l.value.as_bytes());
        }
        put_uvarint(&mut index, parts.len() as u64);
        for part in parts {
            let Some(p) = packed.next() else {
                let e = std::io::Error::other("a chunk was not packed");
                return Err(Error::io("compress", dir, e));
            };
            let (min, max) = (part[0].ts, part[part.len() - 1].ts);
            let u32_of = |v: usize, what: &str| -> Result<[u8; 4]> {
                let e = || std::io::Error::other(format!("log chunk {what} over 4 GiB"));
                let v = u32::try_from(v).map_err(|_| Error::io("write", dir, e()))?;
                Ok(v.to_be_bytes())
            };
            index.extend_from_slice(&(data.len() as u64).to_be_bytes());
            index.extend_from_slice(&u32_of(p.compressed.len(), "compressed")?);
            index.extend_from_slice(&u32_of(p.raw_len, "raw")?);
            index.extend_from_slice(&u32_of(part.len(), "entries")?);
            index.extend_from_slice(&min.to_be_bytes());
            index.extend_from_slice(&max.to_be_bytes());
            index.extend_from_slice(&crc32fast::hash(&p.compressed).to_be_bytes());
            index.extend_from_slice(&u32_of(p.filter.len(), "filter")?);
            index.extend_from_slice(&p.filter);
            data.extend_from_slice(&p.compressed);
            meta.chunks += 1;
            meta.entries += part.len() as u64;
            meta.line_bytes += part.iter().map(|e| e.line.len() as u64).sum::<u64>();
            meta.min_time_ns = meta.min_time_ns.min(min);
            meta.max_time_ns = meta.max_time_ns.max(max);
        }
        meta.streams += 1;
    }
    index.extend_from_slice(&crc32fast::hash(&index).to_be_bytes());
    meta.bytes = (data.len() + index.len()) as u64;
    write_durably(&dir.join("chunks"), &data)?;
    write_durably(&dir.join("index"), &index)?;
    let json = serde_json::to_vec_pretty(&meta)
        .map_err(|e| Error::io("write", dir.join("meta.json"), e.into()))?;
    write_durably(&dir.join("meta.json"), &json)?;
    Ok(sync_dir(dir)?)
}

/// A stream's entries cut into chunks of equal size, as many as make
/// each closest to [`CHUNK_BYTES`] of lines (a remainder does not get a
/// small chunk of its own: small chunks compress worse).
fn cut(entries: &[Entry]) -> Vec<&[Entry]> {
    let total: usize = entries.iter().map(|e| e.line.len()).sum();
    let count = ((total + CHUNK_BYTES / 2) / CHUNK_BYTES).max(1);
    let each = total.div_ceil(count).max(1);
    let mut parts = Vec::with_capacity(count);
    let (mut start, mut bytes) = (0, 0);
    for (i, e) in entries.iter().enumerate() {
        bytes += e.line.len();
        if bytes >= each && parts.len() + 1 < count {
            parts.push(&entries[start..=i]);
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < entries.len() {
        parts.push(&entries[start..]);
    }
    parts
}
