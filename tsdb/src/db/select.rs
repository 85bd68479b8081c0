//! Selecting series as stored chunks, for readers that want chunks rather
//! than samples (remote read passes XOR chunks through).

use super::Db;
use crate::error::Result;
use crate::model::{Labels, Matcher};
use crate::querier::{ChunkSeries, MergeQuerier};

impl Db {
    /// The series matching all `matchers` with data in `[mint, maxt]`,
    /// sorted by labels, each with its chunks in the range (loaded and
    /// checked, so reading them cannot fail) merged across the blocks and
    /// the head. See [`ChunkSeries::export_chunks`] and
    /// [`SeriesData::read`](crate::model::SeriesData::read).
    pub fn select_chunk_series(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[Matcher],
    ) -> Result<Vec<(Labels, ChunkSeries)>> {
        self.select_chunk_series_up_to(mint, maxt, matchers, 0)
    }

    /// [`select_chunk_series`](Self::select_chunk_series) returning at most
    /// `limit` series (0: no limit), the first by labels.
    pub fn select_chunk_series_up_to(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[Matcher],
        limit: usize,
    ) -> Result<Vec<(Labels, ChunkSeries)>> {
        MergeQuerier::new(self.readers(mint, maxt), mint, maxt)
            .select_chunk_series(matchers, mint, maxt, limit)
    }
}
