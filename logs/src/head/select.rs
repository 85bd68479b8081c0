//! Log queries with a limit: the newest (or oldest) entries a pipeline
//! keeps, reading as few block chunks as that takes.
//!
//! Entries in memory are processed first; then the chunks, the newest
//! first (backward) or the oldest first (forward), until the next
//! chunk's time range cannot beat the `limit`-th entry found so far.

use std::cmp::Reverse;

use tsdb::model::{Labels, Matcher};

use super::read::Candidate;
use super::{Head, LineFilter};
use crate::error::Result;
use crate::model::{Direction, Entry, Hit};

/// Where an entry sits, for a total order among entries of one time:
/// stream, then source (blocks in order, then memory), then position.
type Key = (i64, u32, u64);

const FLUSHING: u64 = (u32::MAX as u64 - 1) << 32;
const HEAD: u64 = (u32::MAX as u64) << 32;

/// The best `limit` hits so far.
struct Top {
    direction: Direction,
    limit: usize,
    hits: Vec<(Key, Hit)>,
}

impl Top {
    fn push(&mut self, key: Key, hit: Hit) {
        self.hits.push((key, hit));
        if self.hits.len() >= self.limit.saturating_mul(2).max(64) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        match self.direction {
            Direction::Backward => self.hits.sort_by_key(|h| Reverse(h.0)),
            Direction::Forward => self.hits.sort_by_key(|h| h.0),
        }
        self.hits.truncate(self.limit);
    }

    /// Whether an entry at `ts` could still be among the best.
    fn could_take(&mut self, ts: i64) -> bool {
        self.trim();
        if self.hits.len() < self.limit {
            return true;
        }
        let Some(((worst, _, _), _)) = self.hits.last() else {
            return false;
        };
        match self.direction {
            Direction::Backward => ts >= *worst,
            Direction::Forward => ts <= *worst,
        }
    }
}

/// A chunk to read: its best time for the direction first.
struct Task<'a> {
    bound: i64,
    id: u32,
    labels: &'a Labels,
    chunk: Candidate<'a>,
    order: u64,
    after: i64,
}

impl Head {
    /// The entries of the selected streams in `[start, end)` that
    /// `process` keeps (as it returns them), at most `limit`: the newest
    /// (backward) or the oldest (forward) across streams, in that order.
    #[allow(clippy::too_many_arguments)]
    pub fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        direction: Direction,
        limit: usize,
        filter: &LineFilter,
        process: &mut dyn FnMut(&Labels, &Entry) -> Option<Hit>,
    ) -> Result<Vec<Hit>> {
        let (after, through) = (start.saturating_sub(1), end.saturating_sub(1));
        let mut top = Top {
            direction,
            limit,
            hits: Vec::new(),
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let inner = self.inner.read();
        let mut tasks = Vec::new();
        for id in inner.matching(matchers) {
            let s = &inner.streams[id as usize];
            let after = after.max(s.visible_from.saturating_sub(1));
            let flushing = s.flushing.as_ref().map_or(&[][..], |f| &f.entries[..]);
            for (source, entries) in [(FLUSHING, flushing), (HEAD, &s.entries[..])] {
                let from = entries.partition_point(|e| e.ts <= after);
                let to = entries.partition_point(|e| e.ts <= through);
                for (i, e) in entries[from..to].iter().enumerate() {
                    if let Some(h) = process(&s.labels, e) {
                        top.push((e.ts, id, source | (from + i) as u64), h);
                    }
                }
            }
            for c in self.candidates(s, after, through, filter) {
                let bound = match direction {
                    Direction::Backward => c.chunk.max_ts.min(through),
                    Direction::Forward => c.chunk.min_ts.max(after.saturating_add(1)),
                };
                let order = ((c.block_pos as u64) << 52) | ((c.chunk_pos as u64) << 32);
                tasks.push(Task {
                    bound,
                    id,
                    labels: &s.labels,
                    chunk: c,
                    order,
                    after,
                });
            }
        }
        match direction {
            Direction::Backward => tasks.sort_by_key(|t| Reverse(t.bound)),
            Direction::Forward => tasks.sort_by_key(|t| t.bound),
        }
        for t in tasks {
            if !top.could_take(t.bound) {
                break;
            }
            let chunk = self.read_chunk(&t.chunk)?;
            for i in chunk.within(t.after, through) {
                if !filter.keeps(t.chunk.block.line(&chunk, i)?) {
                    continue;
                }
                let e = t.chunk.block.entry(&chunk, i)?;
                if let Some(h) = process(t.labels, &e) {
                    top.push((e.ts, t.id, t.order | i as u64), h);
                }
            }
        }
        top.trim();
        Ok(top.hits.into_iter().map(|(_, h)| h).collect())
    }
}
