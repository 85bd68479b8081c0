//! Duplicates of entries already in blocks: a client retrying a push
//! that was acknowledged and then flushed sends entries the head no
//! longer holds; they are found in the blocks and dropped, as the head
//! drops the ones it holds.

use tsdb::model::Labels;

use super::Head;
use crate::model::Entry;

impl Head {
    /// Drops from `entries` (of the stream with `labels`) those a block
    /// holds already; returns how many. Only entries no newer than the
    /// stream's newest flushed one are looked for, in the chunks covering
    /// their times, each chunk read once; a chunk that fails to read
    /// drops nothing.
    pub fn drop_flushed(&self, labels: &Labels, entries: &mut Vec<Entry>) -> usize {
        let inner = self.inner.read();
        let Some(&id) = inner.ids.get(labels) else {
            return 0;
        };
        let s = &inner.streams[id as usize];
        let Some(flushed) = s.flushed_newest else {
            return 0;
        };
        let candidates: Vec<usize> = (0..entries.len())
            .filter(|&i| entries[i].ts <= flushed)
            .collect();
        if candidates.is_empty() {
            return 0;
        }
        let mut held = vec![false; entries.len()];
        for (block, at) in &s.blocks {
            for c in &block.streams()[*at].chunks {
                let hits: Vec<usize> = candidates
                    .iter()
                    .copied()
                    .filter(|&i| !held[i] && entries[i].ts >= c.min_ts && entries[i].ts <= c.max_ts)
                    .collect();
                if hits.is_empty() {
                    continue;
                }
                let Ok(chunk) = block.read(c) else {
                    continue;
                };
                for i in hits {
                    let e = &entries[i];
                    let from = chunk.ts.partition_point(|&t| t < e.ts);
                    let to = chunk.ts.partition_point(|&t| t <= e.ts);
                    held[i] = (from..to).any(|k| chunk.entry(k).is_ok_and(|x| x == *e));
                }
            }
        }
        let before = entries.len();
        let mut flags = held.iter();
        entries.retain(|_| !flags.next().copied().unwrap_or(false));
        before - entries.len()
    }
}
