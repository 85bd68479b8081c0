//! Queriers over the head and blocks.
//!
//! One [`BlockReader`] interface is served by the head
//! ([`RangeHead`](crate::RangeHead)) and by on-disk blocks
//! ([`Block`](crate::block::Block)); one [`MergeQuerier`] merges any number
//! of them into the sorted, deduplicated [`Querier`](crate::model::Querier)
//! that PromQL reads, and the block writer (compaction) reads through the
//! same querier. A selected series is a [`ChunkSeries`], read in bulk
//! ([`SeriesData::read`](crate::model::SeriesData::read)).

mod chunk_series;
mod merge;
mod wire_export;

pub use chunk_series::{ChunkBytes, ChunkMeta, ChunkSeries};
pub use merge::MergeQuerier;
pub use wire_export::{ExportBytes, ExportChunk};

use roaring::RoaringBitmap;

use crate::chunkenc::Encoding;
use crate::error::Result;
use crate::model::{Labels, Matcher};
use crate::tombstones::Intervals;

/// Read access to one time partition (the head or a block): postings,
/// series, chunks and meta.
///
/// Series ids are local to the reader. A series listed by `postings` may
/// vanish before `series` is called (head truncation): `series` then
/// returns `None`.
pub trait BlockReader: Send + Sync {
    /// What the reader covers.
    fn meta(&self) -> ReaderMeta;

    /// Ids of the series matching all matchers.
    fn postings(&self, matchers: &[Matcher]) -> Result<RoaringBitmap>;

    /// Labels and deleted intervals of series `id`, and references to its
    /// chunks overlapping `[mint, maxt]` (nothing is loaded yet).
    fn series(&self, id: u32, mint: i64, maxt: i64) -> Result<Option<SeriesEntry>>;

    /// Loads the chunks `refs` (listed by this reader's `series`) and
    /// checks them (CRC, encoding, header), so that reading them cannot
    /// fail.
    fn chunks(&self, refs: Vec<ChunkRef>) -> Result<Vec<ChunkMeta>>;

    /// Sorted label names of all series.
    fn label_names(&self) -> Result<Vec<String>>;

    /// Sorted values of label `name` over all series.
    fn label_values(&self, name: &str) -> Result<Vec<String>>;
}

/// The time range a reader may hold data for, and whether it has deleted
/// data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderMeta {
    /// Inclusive bounds (ms).
    pub min_time: i64,
    pub max_time: i64,
    /// Whether any series has deleted intervals (label queries must then
    /// look at series, not just the index).
    pub has_tombstones: bool,
}

impl ReaderMeta {
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_time <= maxt && self.max_time >= mint
    }
}

/// One series as a reader lists it.
#[derive(Debug, Clone)]
pub struct SeriesEntry {
    pub labels: Labels,
    /// Deleted intervals.
    pub deleted: Intervals,
    /// Chunks overlapping the asked range, unloaded.
    pub chunks: Vec<ChunkRef>,
}

impl SeriesEntry {
    /// Whether some listed chunk holds undeleted time.
    pub fn has_live_chunks(&self) -> bool {
        self.chunks
            .iter()
            .any(|c| !self.deleted.covers(c.min_t, c.max_t))
    }
}

/// A reference to one chunk of a series and the time span it covers
/// (inclusive).
#[derive(Debug, Clone)]
pub struct ChunkRef {
    pub min_t: i64,
    pub max_t: i64,
    loc: ChunkLoc,
}

#[derive(Debug, Clone)]
enum ChunkLoc {
    /// A block's chunk-file reference (segment and offset).
    File(u64),
    /// A chunk the head holds in memory: nothing to load.
    Memory(Encoding, ChunkBytes),
}

impl ChunkRef {
    pub(crate) fn file(min_t: i64, max_t: i64, r: u64) -> Self {
        ChunkRef {
            min_t,
            max_t,
            loc: ChunkLoc::File(r),
        }
    }

    pub(crate) fn memory(c: ChunkMeta) -> Self {
        ChunkRef {
            min_t: c.min_t,
            max_t: c.max_t,
            loc: ChunkLoc::Memory(c.encoding, c.data),
        }
    }

    /// The chunk, from memory or through `load_file` (a block's chunk
    /// reader, which checks what it loads).
    pub(crate) fn load(
        self,
        load_file: impl FnOnce(u64) -> Result<(Encoding, ChunkBytes)>,
    ) -> Result<ChunkMeta> {
        let (encoding, data) = match self.loc {
            ChunkLoc::File(r) => load_file(r)?,
            ChunkLoc::Memory(e, d) => (e, d),
        };
        Ok(ChunkMeta {
            min_t: self.min_t,
            max_t: self.max_t,
            encoding,
            data,
        })
    }
}
