//! The head as a [`BlockReader`] over a time range.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::Head;
use crate::error::{Error, Result};
use crate::index::{LabelIndex, postings_for_matchers};
use crate::model::{Matcher, Querier, Queryable};
use crate::querier::{BlockReader, ChunkMeta, ChunkRef, MergeQuerier, ReaderMeta, SeriesEntry};

/// The head restricted to `[mint, maxt]`, readable like a block.
#[derive(Clone)]
pub struct RangeHead {
    head: Arc<Head>,
    mint: i64,
    maxt: i64,
}

impl RangeHead {
    pub fn new(head: Arc<Head>, mint: i64, maxt: i64) -> Self {
        RangeHead { head, mint, maxt }
    }
}

impl BlockReader for RangeHead {
    fn meta(&self) -> ReaderMeta {
        ReaderMeta {
            min_time: self.mint.max(self.head.min_time()),
            max_time: self.maxt.min(self.head.max_time()),
            has_tombstones: !self.head.tombstones.read().is_empty(),
        }
    }

    fn postings(&self, matchers: &[Matcher]) -> Result<RoaringBitmap> {
        Ok(self
            .head
            .with_postings(|p| postings_for_matchers(p, matchers)))
    }

    /// The head's chunks are in memory: their references carry them (the
    /// open chunk as of this call).
    fn series(&self, id: u32, mint: i64, maxt: i64) -> Result<Option<SeriesEntry>> {
        let Some(s) = self.head.series.by_id(id) else {
            return Ok(None);
        };
        let chunks = s
            .state
            .lock()
            .chunks(mint.max(self.mint), maxt.min(self.maxt));
        let deleted = self
            .head
            .tombstones
            .read()
            .get(&id)
            .cloned()
            .unwrap_or_default();
        Ok(Some(SeriesEntry {
            labels: s.labels.clone(),
            deleted,
            chunks: chunks.into_iter().map(ChunkRef::memory).collect(),
        }))
    }

    fn chunks(&self, refs: Vec<ChunkRef>) -> Result<Vec<ChunkMeta>> {
        refs.into_iter()
            .map(|r| {
                r.load(|_| {
                    Err(Error::corruption(
                        "head",
                        0,
                        "a chunk-file reference given to the head",
                    ))
                })
            })
            .collect()
    }

    fn label_names(&self) -> Result<Vec<String>> {
        Ok(self.head.with_postings(|p| p.label_names()))
    }

    fn label_values(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.head.with_postings(|p| {
            let mut out = Vec::new();
            p.for_each_value(name, &mut |v, _| out.push(v.to_string()));
            out
        }))
    }
}

/// The head alone is queryable (tests, the PromQL script runner).
impl Queryable for Arc<Head> {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>> {
        let rh: Arc<dyn BlockReader> = Arc::new(RangeHead::new(self.clone(), mint, maxt));
        Ok(Box::new(MergeQuerier::new(vec![rh], mint, maxt)))
    }
}
