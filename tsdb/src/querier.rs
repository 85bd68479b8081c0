//! Queriers over the head and blocks.
//!
//! One [`BlockReader`] interface is served by the head ([`crate::head::RangeHead`])
//! and by on-disk blocks; [`MergeQuerier`] merges any number of them into the
//! sorted, deduplicated [`Querier`](crate::model::Querier) that PromQL reads.

mod chunk_series;
mod merge;

pub use chunk_series::{ChunkBytes, ChunkMeta, ChunkSeries};
pub use merge::MergeQuerier;

use roaring::RoaringBitmap;

use crate::error::Result;
use crate::model::{Labels, Matcher};
use crate::tombstones::Intervals;

/// Read access to one time partition (the head or a block).
///
/// Series ids are local to the reader. A series listed by `select_ids` may
/// vanish before `series` is called (head truncation): `series` then
/// returns `None`.
pub trait BlockReader: Send + Sync {
    /// Inclusive time range the reader may hold data for.
    fn min_time(&self) -> i64;
    fn max_time(&self) -> i64;

    /// Ids of the series matching all matchers.
    fn select_ids(&self, matchers: &[Matcher]) -> Result<RoaringBitmap>;

    /// Labels of series `id` and its chunks overlapping `[mint, maxt]`.
    fn series(&self, id: u32, mint: i64, maxt: i64) -> Result<Option<(Labels, Vec<ChunkMeta>)>>;

    /// Deleted intervals of series `id`.
    fn tombstones(&self, id: u32) -> Intervals;

    /// Whether any series has deleted intervals (label queries must then
    /// look at series, not just the index).
    fn has_tombstones(&self) -> bool;

    /// Sorted label names of all series.
    fn label_names(&self) -> Result<Vec<String>>;

    /// Sorted values of label `name` over all series.
    fn label_values(&self, name: &str) -> Result<Vec<String>>;
}
