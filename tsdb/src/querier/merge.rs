//! Merging several block readers into one sorted, deduplicated querier.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{BlockReader, ChunkMeta, ChunkSeries};
use crate::error::Result;
use crate::model::{LABELS_ONLY, Labels, Matcher, Querier, SelectHints, Series};
use crate::tombstones::Intervals;

/// A querier over readers that are ordered oldest first; where readers
/// overlap in time, the later reader's samples win on equal timestamps.
pub struct MergeQuerier {
    readers: Vec<Arc<dyn BlockReader>>,
    mint: i64,
    maxt: i64,
}

impl MergeQuerier {
    /// Keeps only readers overlapping `[mint, maxt]`.
    pub fn new(readers: Vec<Arc<dyn BlockReader>>, mint: i64, maxt: i64) -> Self {
        let readers = readers
            .into_iter()
            .filter(|r| r.meta().overlaps(mint, maxt))
            .collect();
        MergeQuerier {
            readers,
            mint,
            maxt,
        }
    }

    /// Labels of every series matching `matchers` (all series when empty)
    /// with undeleted data in this range.
    fn matching_labels(&self, matchers: &[Matcher]) -> Result<BTreeSet<Labels>> {
        let all;
        let matchers = if matchers.is_empty() {
            all = [Matcher::new(
                crate::model::MatchOp::RegexMatch,
                crate::model::METRIC_NAME,
                ".*",
            )?];
            &all[..]
        } else {
            matchers
        };
        let mut out = BTreeSet::new();
        for r in &self.readers {
            for id in r.postings(matchers)? {
                if let Some(entry) = r.series(id, self.mint, self.maxt)?
                    && entry.has_live_chunks()
                {
                    out.insert(entry.labels);
                }
            }
        }
        Ok(out)
    }
}

impl MergeQuerier {
    /// Every series matching `matchers` with data in `[mint, maxt]` (clamped
    /// to the querier's range), merged across readers and sorted by labels.
    /// Stops after `limit` series when `limit > 0`.
    pub fn select_chunk_series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        limit: usize,
    ) -> Result<Vec<(Labels, ChunkSeries)>> {
        self.collect(matchers, mint, maxt, limit, true)
    }

    /// The series with data in range; their chunks only when `load`.
    fn collect(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        limit: usize,
        load: bool,
    ) -> Result<Vec<(Labels, ChunkSeries)>> {
        let (mint, maxt) = (mint.max(self.mint), maxt.min(self.maxt));
        let mut parts: Vec<(Labels, Vec<ChunkMeta>, Intervals)> = Vec::new();
        for r in &self.readers {
            for id in r.postings(matchers)? {
                let Some(entry) = r.series(id, mint, maxt)? else {
                    continue;
                };
                if !entry.has_live_chunks() {
                    continue;
                }
                let chunks = if load {
                    r.chunks(entry.chunks)?
                } else {
                    Vec::new()
                };
                parts.push((entry.labels, chunks, entry.deleted));
            }
        }
        // Stable sort: equal label sets stay in reader order (oldest first).
        parts.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::new();
        let mut iter = parts.into_iter().peekable();
        while let Some((labels, mut chunks, mut deleted)) = iter.next() {
            while let Some(next) = iter.next_if(|p| p.0 == labels) {
                chunks.extend(next.1);
                deleted.extend(&next.2);
            }
            out.push((labels, ChunkSeries::new(chunks, deleted)));
            if limit > 0 && out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}

impl Querier for MergeQuerier {
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>> {
        let (mint, maxt) = if hints.start == 0 && hints.end == 0 {
            (self.mint, self.maxt)
        } else {
            (hints.start, hints.end)
        };
        let load = hints.func.as_deref() != Some(LABELS_ONLY);
        Ok(self
            .collect(matchers, mint, maxt, hints.limit, load)?
            .into_iter()
            .map(|(labels, cs)| Series {
                labels,
                data: Arc::new(cs),
            })
            .collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() && !self.readers.iter().any(|r| r.meta().has_tombstones) {
            let mut names = BTreeSet::new();
            for r in &self.readers {
                names.extend(r.label_names()?);
            }
            return Ok(names.into_iter().collect());
        }
        let mut names = BTreeSet::new();
        for l in self.matching_labels(matchers)? {
            for label in &l {
                if !names.contains(&*label.name) {
                    names.insert(label.name.to_string());
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() && !self.readers.iter().any(|r| r.meta().has_tombstones) {
            let mut values = BTreeSet::new();
            for r in &self.readers {
                values.extend(r.label_values(name)?);
            }
            return Ok(values.into_iter().collect());
        }
        let mut values = BTreeSet::new();
        for l in self.matching_labels(matchers)? {
            let v = l.get(name);
            if !v.is_empty() && !values.contains(v) {
                values.insert(v.to_string());
            }
        }
        Ok(values.into_iter().collect())
    }
}
