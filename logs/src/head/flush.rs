//! Entries into blocks, and blocks in and out of the head.

use std::sync::Arc;
use std::time::Duration;

use tsdb::model::Labels;

use super::Head;
use crate::block::Block;
use crate::model::Entry;

/// A stream's entries on their way into a block: moved out of the head's
/// entries, still read as the head's.
#[derive(Debug)]
pub struct Flushing {
    pub entries: Vec<Entry>,
    segments: Vec<u64>,
    pub min_segment: u64,
}

/// Entries to write as a block: every entry of WAL segments up to
/// `through` the head held, by stream.
#[derive(Debug, Default)]
pub struct Flushable {
    pub through: u64,
    /// Streams with at least one entry, and their head ids.
    pub streams: Vec<(Labels, Arc<Flushing>)>,
    ids: Vec<u32>,
}

impl Head {
    /// Whether a flush is due: `max_bytes` of lines wait, or an entry has
    /// waited `max_age`.
    pub fn flush_due(&self, max_bytes: usize, max_age: Duration) -> bool {
        let inner = self.inner.read();
        inner.bytes >= max_bytes
            || inner
                .streams
                .iter()
                .filter_map(|s| s.pending_since)
                .any(|t| t.elapsed() >= max_age)
    }

    /// Moves the entries of WAL segments up to `through` aside for a
    /// block (reads keep seeing them); [`install`](Self::install) or
    /// [`abort`](Self::abort) ends it. One flush at a time.
    pub fn flushable(&self, through: u64) -> Flushable {
        let mut inner = self.inner.write();
        let mut out = Flushable {
            through,
            ..Flushable::default()
        };
        for (id, s) in inner.streams.iter_mut().enumerate() {
            if s.entries.is_empty() || s.min_segment > through {
                continue;
            }
            let mut f = Flushing {
                entries: Vec::new(),
                segments: Vec::new(),
                min_segment: s.min_segment,
            };
            let (mut keep, mut keep_segments) = (Vec::new(), Vec::new());
            for (e, seg) in s.entries.drain(..).zip(s.segments.drain(..)) {
                if seg <= through {
                    f.entries.push(e);
                    f.segments.push(seg);
                } else {
                    keep.push(e);
                    keep_segments.push(seg);
                }
            }
            s.entries = keep;
            s.segments = keep_segments;
            s.after_removal();
            let f = Arc::new(f);
            s.flushing = Some(f.clone());
            out.streams.push((s.labels.clone(), f));
            out.ids.push(id as u32);
        }
        inner.bytes = inner.streams.iter().map(|s| s.bytes).sum();
        out
    }

    /// Makes `block` (written from `f`) the home of `f`'s entries, in one
    /// step for readers.
    pub fn install(&self, block: Arc<Block>, f: &Flushable) {
        let mut inner = self.inner.write();
        for (at, &id) in f.ids.iter().enumerate() {
            let s = &mut inner.streams[id as usize];
            s.flushing = None;
            let newest = block.streams()[at].chunks.iter().map(|c| c.max_ts).max();
            s.flushed_newest = s.flushed_newest.max(newest);
            s.flushed_through = s.flushed_through.max(Some(f.through));
            s.blocks.push((block.clone(), at));
        }
        inner.blocks.push(block);
    }

    /// Puts `f`'s entries back into the head (the block was not written).
    pub fn abort(&self, f: Flushable) {
        let mut inner = self.inner.write();
        for &id in &f.ids {
            let s = &mut inner.streams[id as usize];
            let Some(back) = s.flushing.take() else {
                continue;
            };
            let back = Arc::try_unwrap(back).unwrap_or_else(|shared| Flushing {
                entries: shared.entries.clone(),
                segments: shared.segments.clone(),
                min_segment: shared.min_segment,
            });
            let mut merged: Vec<(Entry, u64)> = back
                .entries
                .into_iter()
                .zip(back.segments)
                .chain(s.entries.drain(..).zip(s.segments.drain(..)))
                .collect();
            merged.sort_by_key(|(e, _)| e.ts);
            (s.entries, s.segments) = merged.into_iter().unzip();
            s.after_removal();
            if !s.entries.is_empty() {
                s.pending_since.get_or_insert_with(std::time::Instant::now);
            }
        }
        inner.bytes = inner.streams.iter().map(|s| s.bytes).sum();
    }

    /// Adds a block found at open: its streams become known, and replay
    /// skips the entries it holds.
    pub fn add_block(&self, block: Arc<Block>) {
        let mut inner = self.inner.write();
        let through = block.meta().wal_through;
        for (at, bs) in block.streams().iter().enumerate() {
            let (id, _) = inner.stream_id(&bs.labels, u64::MAX);
            let s = &mut inner.streams[id as usize];
            let newest = bs.chunks.iter().map(|c| c.max_ts).max();
            s.flushed_newest = s.flushed_newest.max(newest);
            s.flushed_through = s.flushed_through.max(Some(through));
            s.blocks.push((block.clone(), at));
        }
        inner.blocks.push(block);
    }

    /// Every block, oldest first.
    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.inner.read().blocks.clone()
    }

    /// Blocks of which retention has hidden every entry.
    pub fn expired_blocks(&self) -> Vec<Arc<Block>> {
        let inner = self.inner.read();
        inner
            .blocks
            .iter()
            .filter(|b| {
                b.streams().iter().all(|bs| {
                    let visible_from = inner
                        .ids
                        .get(&bs.labels)
                        .map_or(i64::MIN, |&id| inner.streams[id as usize].visible_from);
                    bs.chunks.iter().all(|c| c.max_ts < visible_from)
                })
            })
            .cloned()
            .collect()
    }

    /// Blocks holding a chunk of a stream `matchers` select that overlaps
    /// `[start, end]`.
    pub fn blocks_touching(
        &self,
        matchers: &[tsdb::model::Matcher],
        start: i64,
        end: i64,
    ) -> Vec<Arc<Block>> {
        let inner = self.inner.read();
        let mut out: Vec<Arc<Block>> = Vec::new();
        for id in inner.matching(matchers) {
            for (b, at) in &inner.streams[id as usize].blocks {
                let hit = b.streams()[*at]
                    .chunks
                    .iter()
                    .any(|c| c.overlaps(start.saturating_sub(1), end));
                if hit && !out.iter().any(|x| Arc::ptr_eq(x, b)) {
                    out.push(b.clone());
                }
            }
        }
        out
    }
}
