//! The head as a [`BlockReader`] over a time range.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::Head;
use crate::error::Result;
use crate::index::{LabelIndex, postings_for_matchers};
use crate::model::{Labels, Matcher, Querier, Queryable};
use crate::querier::{BlockReader, ChunkMeta, MergeQuerier};
use crate::tombstones::Intervals;

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
    fn min_time(&self) -> i64 {
        self.mint.max(self.head.min_time())
    }

    fn max_time(&self) -> i64 {
        self.maxt.min(self.head.max_time())
    }

    fn select_ids(&self, matchers: &[Matcher]) -> Result<RoaringBitmap> {
        Ok(self
            .head
            .with_postings(|p| postings_for_matchers(p, matchers)))
    }

    fn series(&self, id: u32, mint: i64, maxt: i64) -> Result<Option<(Labels, Vec<ChunkMeta>)>> {
        let Some(s) = self.head.series.by_id(id) else {
            return Ok(None);
        };
        let chunks = s
            .state
            .lock()
            .chunks(mint.max(self.mint), maxt.min(self.maxt));
        Ok(Some((s.labels.clone(), chunks)))
    }

    fn tombstones(&self, id: u32) -> Intervals {
        self.head
            .tombstones
            .read()
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }

    fn has_tombstones(&self) -> bool {
        !self.head.tombstones.read().is_empty()
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
