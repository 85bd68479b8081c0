//! An opened block: meta, index, chunks and tombstones, readable as a
//! [`BlockReader`].

use std::path::{Path, PathBuf};

use parking_lot::RwLock;
use roaring::RoaringBitmap;

use super::chunks::ChunkReader;
use super::index_reader::IndexReader;
use super::meta::BlockMeta;
use super::tombstones_file::{self, Tombstones};
use crate::error::Result;
use crate::index::{LabelIndex, postings_for_matchers};
use crate::model::Matcher;
use crate::querier::{BlockReader, ChunkMeta, ChunkRef, ReaderMeta, SeriesEntry};

/// An immutable on-disk block. Tombstones can be added; data never changes.
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    tombstones: RwLock<Tombstones>,
}

impl Block {
    /// Opens and verifies a block directory (headers, index checksums).
    pub fn open(dir: &Path) -> Result<Block> {
        let meta = BlockMeta::read(dir)?;
        let index = IndexReader::open(&dir.join("index"))?;
        let chunks = ChunkReader::open(&dir.join("chunks"))?;
        let tombstones = RwLock::new(tombstones_file::read(dir)?);
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            tombstones,
        })
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk (index + chunks).
    pub fn size(&self) -> u64 {
        self.index.size() + self.chunks.size()
    }

    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// Marks `[mint, maxt]` deleted for the series matching `matchers` and
    /// persists the tombstones file. Returns how many series were affected.
    pub fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<usize> {
        if !self.meta.overlaps(mint, maxt) {
            return Ok(0);
        }
        let ids: Vec<u32> = postings_for_matchers(&self.index, matchers)
            .iter()
            .collect();
        self.delete_ids(&ids, mint, maxt)
    }

    /// Marks `[mint, maxt]` deleted for the series with these ids and
    /// persists the tombstones file. Returns how many series that was.
    pub fn delete_ids(&self, ids: &[u32], mint: i64, maxt: i64) -> Result<usize> {
        if ids.is_empty() || !self.meta.overlaps(mint, maxt) {
            return Ok(0);
        }
        let mut ts = self.tombstones.write();
        for &id in ids {
            ts.entry(id).or_default().add(mint, maxt);
        }
        tombstones_file::write(&self.dir, &ts)?;
        Ok(ids.len())
    }
}

impl BlockReader for Block {
    fn meta(&self) -> ReaderMeta {
        ReaderMeta {
            min_time: self.meta.min_time,
            max_time: self.meta.max_time - 1,
            has_tombstones: !self.tombstones.read().is_empty(),
        }
    }

    fn postings(&self, matchers: &[Matcher]) -> Result<RoaringBitmap> {
        Ok(postings_for_matchers(&self.index, matchers))
    }

    fn series(&self, id: u32, mint: i64, maxt: i64) -> Result<Option<SeriesEntry>> {
        let Some((labels, metas)) = self.index.series(id)? else {
            return Ok(None);
        };
        let chunks = metas
            .iter()
            .filter(|m| m.min_t <= maxt && m.max_t >= mint)
            .map(|m| ChunkRef::file(m.min_t, m.max_t, m.chunk_ref))
            .collect();
        let deleted = self.tombstones.read().get(&id).cloned().unwrap_or_default();
        Ok(Some(SeriesEntry {
            labels,
            deleted,
            chunks,
        }))
    }

    /// Each chunk's CRC, encoding and header are checked as it is loaded.
    fn chunks(&self, refs: Vec<ChunkRef>) -> Result<Vec<ChunkMeta>> {
        refs.into_iter()
            .map(|r| r.load(|r| self.chunks.chunk(r)))
            .collect()
    }

    fn label_names(&self) -> Result<Vec<String>> {
        Ok(LabelIndex::label_names(&self.index))
    }

    fn label_values(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.index.label_values(name))
    }
}
