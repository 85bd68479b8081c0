//! Merging small blocks: a flush writes whatever waited (after 30 minutes
//! at most), so a quiet store makes many small blocks with small chunks,
//! which compress worse and cost a directory and two maps each. Runs of
//! small blocks, oldest first, are merged into one block per run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tsdb::model::Labels;

use super::LogStore;
use super::disk::remove_dir;
use crate::block::{self, Block};
use crate::error::Result;
use crate::model::Entry;

/// A block holding fewer lines than this is small.
pub const SMALL_BYTES: u64 = 64 << 20;

/// A merged block holds at most about this many bytes of lines.
pub const MERGED_BYTES: u64 = 512 << 20;

/// Small blocks in a row it takes to merge them (so a block that is
/// merged again has grown by at least three more since).
pub const RUN: usize = 4;

impl LogStore {
    /// Merges runs of small blocks (at least [`RUN`], oldest first, up to
    /// [`MERGED_BYTES`] of lines each); returns how many blocks went.
    pub fn merge_small_blocks(&self) -> Result<usize> {
        let Some(dir) = &self.blocks_dir else {
            return Ok(0);
        };
        let _one = self.maintenance.lock();
        let mut merged = 0;
        for run in small_runs(&self.head.blocks()) {
            let mut streams: BTreeMap<Labels, Vec<Entry>> = BTreeMap::new();
            for b in &run {
                for bs in b.streams() {
                    let entries = b.stream_entries(bs)?;
                    streams
                        .entry(bs.labels.clone())
                        .or_default()
                        .extend(entries);
                }
            }
            for entries in streams.values_mut() {
                // Stable: entries of one time keep their blocks' order.
                entries.sort_by_key(|e| e.ts);
            }
            let parts: Vec<(Labels, &[Entry])> = streams
                .iter()
                .map(|(l, es)| (l.clone(), es.as_slice()))
                .collect();
            let through = run.iter().map(|b| b.meta().wal_through).max().unwrap_or(0);
            let replaces = run.iter().map(|b| b.meta().ulid.clone()).collect();
            let Some(meta) = block::write(dir, &parts, through, replaces)? else {
                continue;
            };
            let new = Arc::new(Block::open(&dir.join(&meta.ulid))?);
            self.head.swap_blocks(&run, Some(new));
            for b in &run {
                remove_dir(b.dir())?;
            }
            merged += run.len();
        }
        self.counters
            .blocks_merged
            .fetch_add(merged as u64, Ordering::Relaxed);
        Ok(merged)
    }
}

/// Runs of consecutive small blocks worth merging.
fn small_runs(blocks: &[Arc<Block>]) -> Vec<Vec<Arc<Block>>> {
    let mut runs = Vec::new();
    let mut run: Vec<Arc<Block>> = Vec::new();
    let mut bytes = 0;
    let mut close = |run: &mut Vec<Arc<Block>>, bytes: &mut u64| {
        if run.len() >= RUN {
            runs.push(std::mem::take(run));
        }
        run.clear();
        *bytes = 0;
    };
    for b in blocks {
        let size = b.meta().line_bytes;
        if size >= SMALL_BYTES {
            close(&mut run, &mut bytes);
            continue;
        }
        if bytes + size > MERGED_BYTES {
            close(&mut run, &mut bytes);
        }
        bytes += size;
        run.push(b.clone());
    }
    close(&mut run, &mut bytes);
    runs
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
