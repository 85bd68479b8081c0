//! Reading streams: entries of the head and of blocks, as one.

use std::sync::atomic::{AtomicU64, Ordering};

use tsdb::model::{Labels, Matcher};

use super::{Head, Stream};
use crate::block::chunk::Chunk;
use crate::block::{Block, ChunkRef};
use crate::error::Result;
use crate::logql::pipeline::Pipeline;
use crate::model::Entry;

/// What a query keeps of lines, for reading less: a source may leave out
/// entries whose line the filter rejects, and chunks that cannot hold a
/// line with every required string (their n-gram filters say so).
#[derive(Default, Clone, Copy)]
pub struct LineFilter<'a> {
    pipeline: Option<&'a Pipeline>,
}

impl<'a> LineFilter<'a> {
    /// Keeps every line.
    pub const ALL: LineFilter<'static> = LineFilter { pipeline: None };

    /// The lines `pipeline` may keep.
    pub fn of(pipeline: &'a Pipeline) -> LineFilter<'a> {
        LineFilter {
            pipeline: Some(pipeline),
        }
    }

    pub(super) fn keeps(&self, line: &str) -> bool {
        self.pipeline.is_none_or(|p| p.leading_lines_pass(line))
    }

    pub(super) fn chunk_may_match(&self, b: &Block, c: &ChunkRef) -> bool {
        self.pipeline
            .is_none_or(|p| p.required().all(|n| b.may_contain(c, n)))
    }
}

/// Block chunks queries read, and skipped by their filters.
#[derive(Debug, Default)]
pub struct ReadCounters {
    pub chunks_read: AtomicU64,
    pub chunks_skipped: AtomicU64,
}

impl Head {
    /// Calls `f` with each selected stream's entries in `(after, through]`
    /// (nanoseconds), in time order; streams with none are skipped, and
    /// entries `filter` rejects may be left out. Fails when a block chunk
    /// does not read.
    pub fn for_each_stream(
        &self,
        matchers: &[Matcher],
        after: i64,
        through: i64,
        filter: &LineFilter,
        f: &mut dyn FnMut(&Labels, &[Entry]),
    ) -> Result<()> {
        let inner = self.inner.read();
        for id in inner.matching(matchers) {
            let s = &inner.streams[id as usize];
            let after = after.max(s.visible_from.saturating_sub(1));
            let from = s.entries.partition_point(|e| e.ts <= after);
            let to = s.entries.partition_point(|e| e.ts <= through);
            let head = &s.entries[from..to];
            let mut read = self.flushed_entries(s, after, through, filter)?;
            if read.is_empty() {
                if !head.is_empty() {
                    f(&s.labels, head);
                }
                continue;
            }
            read.extend_from_slice(head);
            if !read.is_sorted_by_key(|e| e.ts) {
                read.sort_by_key(|e| e.ts);
            }
            f(&s.labels, &read);
        }
        Ok(())
    }

    /// Labels of the streams `matchers` select that hold an entry in
    /// `[start, end)` (nanoseconds; for blocks, a chunk overlapping it).
    pub fn series(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<Labels> {
        let inner = self.inner.read();
        inner
            .matching(matchers)
            .iter()
            .map(|id| &inner.streams[id as usize])
            .filter(|s| has_entry_in(s, start, end))
            .map(|s| s.labels.clone())
            .collect()
    }

    /// Label names of streams with an entry in `[start, end)`, sorted.
    pub fn label_names(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<String> {
        let mut names: Vec<String> = self
            .series(matchers, start, end)
            .iter()
            .flat_map(|l| l.iter().map(|l| l.name.to_string()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Values of label `name` of streams with an entry in `[start, end)`,
    /// sorted.
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Vec<String> {
        let mut values: Vec<String> = self
            .series(matchers, start, end)
            .iter()
            .map(|l| l.get(name).to_string())
            .filter(|v| !v.is_empty())
            .collect();
        values.sort();
        values.dedup();
        values
    }
}

/// A block chunk a read may need: its block and chunk, with their
/// positions in the stream's lists.
pub(super) struct Candidate<'a> {
    pub block_pos: usize,
    pub block: &'a Block,
    pub chunk_pos: usize,
    pub chunk: &'a ChunkRef,
}

impl Head {
    /// The chunks of `s`'s blocks overlapping `(after, through]` that
    /// `filter` does not rule out (those it does are counted skipped).
    pub(super) fn candidates<'a>(
        &self,
        s: &'a Stream,
        after: i64,
        through: i64,
        filter: &LineFilter,
    ) -> Vec<Candidate<'a>> {
        let mut out = Vec::new();
        for (block_pos, (block, at)) in s.blocks.iter().enumerate() {
            for (chunk_pos, chunk) in block.streams()[*at].chunks.iter().enumerate() {
                if !chunk.overlaps(after, through) {
                    continue;
                }
                if !filter.chunk_may_match(block, chunk) {
                    self.reads.chunks_skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                out.push(Candidate {
                    block_pos,
                    block,
                    chunk_pos,
                    chunk,
                });
            }
        }
        out
    }

    /// Reads a candidate chunk (counted read).
    pub(super) fn read_chunk(&self, c: &Candidate) -> Result<Chunk> {
        self.reads.chunks_read.fetch_add(1, Ordering::Relaxed);
        c.block.read(c.chunk)
    }

    /// The entries of `s` in `(after, through]` its blocks hold, less
    /// those `filter` rejects, in block order, then those on their way
    /// into a block.
    fn flushed_entries(
        &self,
        s: &Stream,
        after: i64,
        through: i64,
        filter: &LineFilter,
    ) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for c in self.candidates(s, after, through, filter) {
            let chunk = self.read_chunk(&c)?;
            for i in chunk.within(after, through) {
                if filter.keeps(c.block.line(&chunk, i)?) {
                    out.push(c.block.entry(&chunk, i)?);
                }
            }
        }
        if let Some(f) = &s.flushing {
            let from = f.entries.partition_point(|e| e.ts <= after);
            let to = f.entries.partition_point(|e| e.ts <= through);
            out.extend(
                f.entries[from..to]
                    .iter()
                    .filter(|e| filter.keeps(&e.line))
                    .cloned(),
            );
        }
        Ok(out)
    }
}

fn has_entry_in(s: &Stream, start: i64, end: i64) -> bool {
    let start = start.max(s.visible_from);
    let from = s.entries.partition_point(|e| e.ts < start);
    let flushing = s.flushing.as_ref().is_some_and(|f| {
        let from = f.entries.partition_point(|e| e.ts < start);
        f.entries.get(from).is_some_and(|e| e.ts < end)
    });
    s.entries.get(from).is_some_and(|e| e.ts < end)
        || flushing
        || s.blocks.iter().any(|(b, at)| {
            b.streams()[*at]
                .chunks
                .iter()
                .any(|c| c.overlaps(start.saturating_sub(1), end.saturating_sub(1)))
        })
}
