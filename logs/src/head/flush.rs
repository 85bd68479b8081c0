//! Entries into blocks, and blocks in and out of the head.

use std::sync::Arc;
use std::time::Duration;

use tsdb::model::Labels;

use super::Head;
use crate::block::Block;
use crate::model::Entry;

/// Entries to write as a block: every entry of WAL segments up to
/// `through` the head holds, by stream.
#[derive(Debug, Default)]
pub struct Flushable {
    pub through: u64,
    /// Streams with at least one entry, and their head ids.
    pub streams: Vec<(Labels, Vec<Entry>)>,
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

    /// Copies of the entries of WAL segments up to `through`.
    pub fn flushable(&self, through: u64) -> Flushable {
        let inner = self.inner.read();
        let mut out = Flushable {
            through,
            ..Flushable::default()
        };
        for (id, s) in inner.streams.iter().enumerate() {
            if s.min_segment > through {
                continue;
            }
            let entries: Vec<Entry> = s
                .entries
                .iter()
                .zip(&s.segments)
                .filter(|(_, seg)| **seg <= through)
                .map(|(e, _)| e.clone())
                .collect();
            if !entries.is_empty() {
                out.streams.push((s.labels.clone(), entries));
                out.ids.push(id as u32);
            }
        }
        out
    }

    /// Makes `block` (written from `f`) the home of `f`'s entries: they
    /// leave the head and are read from the block, in one step.
    pub fn install(&self, block: Arc<Block>, f: &Flushable) {
        let mut inner = self.inner.write();
        for (at, &id) in f.ids.iter().enumerate() {
            let s = &mut inner.streams[id as usize];
            s.retain(|_, seg| seg > f.through);
            let newest = block.streams()[at].chunks.iter().map(|c| c.max_ts).max();
            s.flushed_newest = s.flushed_newest.max(newest);
            s.flushed_through = s.flushed_through.max(Some(f.through));
            s.blocks.push((block.clone(), at));
        }
        inner.bytes = inner.streams.iter().map(|s| s.bytes).sum();
        inner.blocks.push(block);
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

    /// Puts `new` (a rewrite of `old`, possibly without some streams) in
    /// `old`'s place, or drops `old` when `new` is `None`.
    pub fn replace_block(&self, old: &Arc<Block>, new: Option<Arc<Block>>) {
        let mut inner = self.inner.write();
        for bs in old.streams() {
            let Some(&id) = inner.ids.get(&bs.labels) else {
                continue;
            };
            let s = &mut inner.streams[id as usize];
            let Some(pos) = s.blocks.iter().position(|(b, _)| Arc::ptr_eq(b, old)) else {
                continue;
            };
            let at = new
                .as_ref()
                .and_then(|n| n.streams().iter().position(|x| x.labels == bs.labels));
            match (&new, at) {
                (Some(n), Some(at)) => s.blocks[pos] = (n.clone(), at),
                _ => {
                    s.blocks.remove(pos);
                }
            }
        }
        let pos = inner.blocks.iter().position(|b| Arc::ptr_eq(b, old));
        match (pos, new) {
            (Some(p), Some(n)) => inner.blocks[p] = n,
            (Some(p), None) => {
                inner.blocks.remove(p);
            }
            (None, Some(n)) => inner.blocks.push(n),
            (None, None) => {}
        }
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
