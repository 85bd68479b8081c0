//! Reads a log block through memory maps.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use tsdb::encoding::{Decbuf, DecodeError};
use tsdb::model::{Label, Labels};

use super::chunk::Chunk;
use super::writer::BlockMeta;
use super::{CHUNKS_MAGIC, HEADER_LEN, INDEX_MAGIC, VERSION, bloom};
use crate::error::{Error, Result};
use crate::model::Entry;

/// An open log block. The index is checked whole when opened; chunks when
/// read.
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    chunks: Mmap,
    index: Mmap,
    streams: Vec<BlockStream>,
}

/// One stream of a block: its labels and chunks, in time order.
#[derive(Debug)]
pub struct BlockStream {
    pub labels: Labels,
    pub chunks: Vec<ChunkRef>,
}

/// Where a chunk is, what it holds, and its n-gram filter.
#[derive(Debug, Clone)]
pub struct ChunkRef {
    offset: usize,
    len: usize,
    raw_len: usize,
    pub entries: u32,
    pub min_ts: i64,
    pub max_ts: i64,
    crc: u32,
    /// Byte range of the filter in the index.
    filter: (usize, usize),
}

impl ChunkRef {
    /// Whether the chunk has entries in `(after, through]`.
    pub fn overlaps(&self, after: i64, through: i64) -> bool {
        self.max_ts > after && self.min_ts <= through
    }

    /// Bytes of the lines and their columns, uncompressed.
    pub fn raw_len(&self) -> usize {
        self.raw_len
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Block {
    pub fn open(dir: &Path) -> Result<Block> {
        let meta_path = dir.join("meta.json");
        let raw = std::fs::read(&meta_path).map_err(|e| Error::io("read", &meta_path, e))?;
        let meta: BlockMeta = serde_json::from_slice(&raw)
            .map_err(|e| Error::corrupt(&meta_path, 0, e.to_string()))?;
        if meta.version != VERSION {
            return Err(Error::UnsupportedFormat {
                path: meta_path,
                detail: format!(
                    "log block version {} (this build reads {VERSION})",
                    meta.version
                ),
            });
        }
        let (chunks_path, index_path) = (dir.join("chunks"), dir.join("index"));
        let chunks = map(&chunks_path)?;
        let index = map(&index_path)?;
        check_header(&chunks_path, &chunks, CHUNKS_MAGIC)?;
        check_header(&index_path, &index, INDEX_MAGIC)?;
        if index.len() < HEADER_LEN + 4 {
            return Err(Error::corrupt(&index_path, 0, "index too short"));
        }
        let body = index.len() - 4;
        let want = u32::from_be_bytes([
            index[body],
            index[body + 1],
            index[body + 2],
            index[body + 3],
        ]);
        if crc32fast::hash(&index[..body]) != want {
            return Err(Error::corrupt(
                &index_path,
                body as u64,
                "index CRC mismatch",
            ));
        }
        let streams = parse_index(&index[..body], chunks.len())
            .map_err(|e| Error::corrupt(&index_path, e.offset as u64, e.what))?;
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            chunks,
            index,
            streams,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    pub fn streams(&self) -> &[BlockStream] {
        &self.streams
    }

    /// Whether the chunk may hold a line containing `needle` (its filter
    /// says so; see [`bloom`]).
    pub fn may_contain(&self, c: &ChunkRef, needle: &[u8]) -> bool {
        bloom::may_contain(&self.index[c.filter.0..c.filter.1], needle)
    }

    /// Reads and decodes a chunk, checking its CRC and size.
    pub fn read(&self, c: &ChunkRef) -> Result<Chunk> {
        let path = || self.dir.join("chunks");
        let z = &self.chunks[c.offset..c.offset + c.len];
        if crc32fast::hash(z) != c.crc {
            return Err(Error::corrupt(
                path(),
                c.offset as u64,
                "chunk CRC mismatch",
            ));
        }
        let raw = zstd::bulk::decompress(z, c.raw_len)
            .map_err(|e| Error::corrupt(path(), c.offset as u64, e.to_string()))?;
        if raw.len() != c.raw_len {
            return Err(Error::corrupt(
                path(),
                c.offset as u64,
                "chunk size mismatch",
            ));
        }
        Chunk::decode(raw).map_err(|e| {
            Error::corrupt(
                path(),
                c.offset as u64,
                format!("{} at {}", e.what, e.offset),
            )
        })
    }
}

impl Block {
    /// Entry `i` of `chunk` (read from this block), or the corruption
    /// naming the block's file.
    pub fn entry(&self, chunk: &Chunk, i: usize) -> Result<Entry> {
        chunk.entry(i).map_err(|e| self.damaged(e))
    }

    /// Line `i` of `chunk` (read from this block).
    pub fn line<'c>(&self, chunk: &'c Chunk, i: usize) -> Result<&'c str> {
        chunk.line(i).ok_or_else(|| {
            self.damaged(DecodeError {
                offset: 0,
                what: "chunk line",
            })
        })
    }

    /// Every entry of one of the block's streams, in time order.
    pub fn stream_entries(&self, bs: &BlockStream) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for c in &bs.chunks {
            let chunk = self.read(c)?;
            for i in 0..chunk.len() {
                out.push(self.entry(&chunk, i)?);
            }
        }
        Ok(out)
    }

    fn damaged(&self, e: DecodeError) -> Error {
        Error::corrupt(
            self.dir.join("chunks"),
            e.offset as u64,
            format!("{} (decoded chunk offset)", e.what),
        )
    }
}

fn parse_index(b: &[u8], chunks_len: usize) -> Result<Vec<BlockStream>, DecodeError> {
    let mut d = Decbuf::new(b);
    d.bytes(HEADER_LEN, "header")?;
    let bad = |d: &Decbuf, what| DecodeError {
        offset: d.position(),
        what,
    };
    let n = d.len("streams")?;
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let count = d.len("labels")?;
        let mut labels = Vec::with_capacity(count);
        for _ in 0..count {
            labels.push(Label::new(d.str("label name")?, d.str("label value")?));
        }
        let labels = Labels::try_from_unsorted(labels).map_err(|_| bad(&d, "labels"))?;
        let count = d.len("chunks")?;
        let mut chunks = Vec::with_capacity(count);
        for _ in 0..count {
            let offset =
                usize::try_from(d.u64_be("chunk offset")?).map_err(|_| bad(&d, "chunk offset"))?;
            let len = d.u32_be("chunk length")? as usize;
            let raw_len = d.u32_be("chunk raw length")? as usize;
            let entries = d.u32_be("chunk entries")?;
            let min_ts = d.u64_be("chunk min time")? as i64;
            let max_ts = d.u64_be("chunk max time")? as i64;
            let crc = d.u32_be("chunk CRC")?;
            let filter_len = d.u32_be("filter length")? as usize;
            let at = d.position();
            d.bytes(filter_len, "filter")?;
            if offset < HEADER_LEN || offset.checked_add(len).is_none_or(|end| end > chunks_len) {
                return Err(bad(&d, "chunk outside the chunks file"));
            }
            chunks.push(ChunkRef {
                offset,
                len,
                raw_len,
                entries,
                min_ts,
                max_ts,
                crc,
                filter: (at, at + filter_len),
            });
        }
        streams.push(BlockStream { labels, chunks });
    }
    if !d.is_empty() {
        return Err(bad(&d, "bytes after the streams"));
    }
    Ok(streams)
}

fn map(path: &Path) -> Result<Mmap> {
    let f = File::open(path).map_err(|e| Error::io("open", path, e))?;
    // SAFETY: block files are immutable once their directory is renamed
    // into place; nothing writes or truncates them while they are mapped.
    unsafe { Mmap::map(&f) }.map_err(|e| Error::io("mmap", path, e))
}

fn check_header(path: &Path, b: &[u8], magic: &[u8; 4]) -> Result<()> {
    if b.len() < HEADER_LEN || &b[..4] != magic {
        return Err(Error::corrupt(path, 0, "bad magic"));
    }
    if b[4] != VERSION {
        return Err(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            detail: format!("log block version {} (this build reads {VERSION})", b[4]),
        });
    }
    Ok(())
}
