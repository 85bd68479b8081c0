//! Background work on the database: cutting the head into blocks, merging
//! blocks, retention, deletion and snapshots. All of it runs under the
//! maintenance lock, one task at a time; reads and writes go on meanwhile.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Db, wal_io};
use crate::block::{Block, BlockMeta, BlockPlan, write_block};
use crate::compact;
use crate::error::{Error, Result};
use crate::head::RangeHead;
use crate::index::postings_for_matchers;
use crate::model::Matcher;
use crate::querier::BlockReader;
use crate::retention;

/// What one maintenance pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MaintenanceReport {
    pub head_blocks: usize,
    pub merged_blocks: usize,
    pub deleted_blocks: usize,
    /// Tier blocks written, and of those re-derived.
    pub tier_blocks: usize,
    pub rederived_tier_blocks: usize,
    /// Blocks rewritten without series past their retention rule.
    pub rule_rewrites: usize,
}

impl Db {
    /// Runs everything that is due: head → blocks while the head spans more
    /// than 1.5 block ranges, block merges, downsampling, retention (raw
    /// blocks only once the first tier covers them, then the tiers').
    pub fn compact(&self) -> Result<MaintenanceReport> {
        let _guard = self.maintenance.lock();
        self.wal.check_open()?;
        let mut report = MaintenanceReport::default();
        while self.head_compactable() {
            self.compact_head_once()?;
            report.head_blocks += 1;
        }
        report.merged_blocks = self.merge_blocks()?;
        let tiers = self.downsample()?;
        report.tier_blocks = tiers.written;
        report.rederived_tier_blocks = tiers.rederived;
        report.deleted_blocks = self.apply_retention()?;
        report.rule_rewrites = self.apply_retention_rules()?;
        if let Some(newest) = self.newest_time() {
            report.deleted_blocks += self.apply_tier_retention(newest)?;
        }
        self.truncate_wal_for_stores()?;
        Ok(report)
    }

    /// [`truncate_wal_for_stores`](Self::truncate_wal_for_stores) between
    /// compactions: a companion store that has just written a block calls
    /// it so the WAL it no longer needs goes soon.
    pub fn release_wal(&self) -> Result<()> {
        let _guard = self.maintenance.lock();
        self.wal.check_open()?;
        self.truncate_wal_for_stores()
    }

    /// Folds closed WAL segments the companion stores have persisted into
    /// a checkpoint when the metric head's compaction did not (a log- or
    /// span-heavy database whose metric head is small, or empty). The
    /// checkpoint keeps every sample the head holds, so it is taken only
    /// once two segments are free, or when the head holds no samples.
    fn truncate_wal_for_stores(&self) -> Result<()> {
        let segments = self.wal.segments()?;
        let persisted = self
            .stores
            .persisted_through()
            .min(self.wal.segment().saturating_sub(1));
        let free = segments.iter().filter(|&&s| s <= persisted).count();
        let head_empty = self.head.min_time() > self.head.max_time();
        if free >= 2 || (free >= 1 && head_empty) {
            wal_io::checkpoint(&self.wal, &self.head, &self.stores, self.head.min_time())?;
        }
        Ok(())
    }

    fn head_compactable(&self) -> bool {
        let (min, max) = (self.head.min_time(), self.head.max_time());
        min <= max && max - min > self.opts.block_range / 2 * 3
    }

    /// Writes the head's oldest block range as a level-1 block, then drops
    /// it from the head and the WAL.
    fn compact_head_once(&self) -> Result<()> {
        let r = self.opts.block_range;
        let mint = self.head.min_time().div_euclid(r) * r;
        let maxt = mint + r;
        self.persist_head_range(mint, maxt)
    }

    /// Persists `[mint, maxt)` of the head as a block (if it has data), then
    /// truncates head and WAL before `maxt`.
    fn persist_head_range(&self, mint: i64, maxt: i64) -> Result<()> {
        let rh: Arc<dyn BlockReader> = Arc::new(RangeHead::new(self.head.clone(), mint, maxt - 1));
        let plan = BlockPlan {
            min_time: mint,
            max_time: maxt,
            level: 1,
            sources: vec![],
            parents: vec![],
        };
        let written = write_block(&self.dir.join("blocks"), vec![rh], plan);
        let meta = match written {
            Ok(m) => m,
            Err(e) => {
                self.counters
                    .compaction_failures
                    .fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
        };
        if let Some(meta) = meta {
            self.add_block(&meta)?;
        }
        self.head.truncate(maxt);
        self.counters
            .head_truncations
            .fetch_add(1, Ordering::Relaxed);
        wal_io::checkpoint(&self.wal, &self.head, &self.stores, maxt)?;
        Ok(())
    }

    fn add_block(&self, meta: &BlockMeta) -> Result<()> {
        let block = Arc::new(Block::open(&self.dir.join("blocks").join(&meta.ulid))?);
        let mut blocks = self.blocks.write();
        blocks.push(block);
        blocks.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
        self.counters.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Merges blocks as [`compact::plan`] says until nothing is due.
    fn merge_blocks(&self) -> Result<usize> {
        let ranges = compact::exponential_ranges(
            self.opts.block_range,
            self.opts.effective_max_block_range(),
        );
        let mut merged = 0;
        loop {
            let blocks = self.blocks();
            let metas: Vec<BlockMeta> = blocks.iter().map(|b| b.meta().clone()).collect();
            let Some(group) = compact::plan(&metas, &ranges) else {
                return Ok(merged);
            };
            let parts: Vec<Arc<Block>> = group.iter().map(|&i| blocks[i].clone()).collect();
            if self.replace_blocks(&parts)? {
                merged += parts.len();
            }
        }
    }

    /// Writes one block holding the data of `parts` (dropping deleted
    /// samples), swaps it in, and deletes the old directories. `false`
    /// when a part was found corrupt instead and quarantined (nothing
    /// merged).
    pub(super) fn replace_blocks(&self, parts: &[Arc<Block>]) -> Result<bool> {
        let min_time = parts.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
        let max_time = parts.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
        let mut sources: Vec<String> = parts
            .iter()
            .flat_map(|b| b.meta().compaction.sources.clone())
            .collect();
        sources.sort();
        sources.dedup();
        let plan = BlockPlan {
            min_time,
            max_time,
            level: parts
                .iter()
                .map(|b| b.meta().compaction.level)
                .max()
                .unwrap_or(0)
                + 1,
            sources,
            parents: parts.iter().map(|b| b.meta().ulid.clone()).collect(),
        };
        let readers: Vec<Arc<dyn BlockReader>> = parts
            .iter()
            .map(|b| b.clone() as Arc<dyn BlockReader>)
            .collect();
        let meta = match write_block(&self.dir.join("blocks"), readers, plan) {
            Ok(meta) => meta,
            Err(e) => {
                self.counters
                    .compaction_failures
                    .fetch_add(1, Ordering::Relaxed);
                // A part whose files turn out corrupt is set aside; the
                // merge is planned again without it.
                if let Error::Corruption { path, .. } = &e
                    && let Some(bad) = parts.iter().find(|b| path.starts_with(b.dir()))
                {
                    return self.quarantine(bad, &e).map(|()| false);
                }
                return Err(e);
            }
        };
        if let Some(meta) = &meta {
            self.add_block(meta)?;
        }
        self.remove_blocks(parts).map(|()| true)
    }

    /// Moves `bad` (found corrupt: `why`) out of the database into
    /// `quarantine/`; reads that hold it keep their mappings.
    pub(super) fn quarantine(&self, bad: &Arc<Block>, why: &Error) -> Result<()> {
        self.blocks
            .write()
            .retain(|b| b.meta().ulid != bad.meta().ulid);
        self.tiers
            .write()
            .retain(|b| b.meta().ulid != bad.meta().ulid);
        super::open::quarantine_block(bad.dir(), &self.dir.join(super::open::QUARANTINE_DIR), why)?;
        self.counters
            .quarantined_blocks
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn remove_blocks(&self, gone: &[Arc<Block>]) -> Result<()> {
        self.blocks
            .write()
            .retain(|b| !gone.iter().any(|g| g.meta().ulid == b.meta().ulid));
        for b in gone {
            // Readers holding the block keep its mappings valid after unlink.
            std::fs::remove_dir_all(b.dir()).map_err(|e| Error::io("remove", b.dir(), e))?;
            self.counters.blocks_deleted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    pub(super) fn apply_retention(&self) -> Result<usize> {
        let blocks = self.blocks();
        let sized: Vec<(BlockMeta, u64)> = blocks
            .iter()
            .map(|b| (b.meta().clone(), b.size()))
            .collect();
        let tier_bytes: u64 = self.tier_blocks().iter().map(|b| b.size()).sum();
        let expired = retention::expired(&sized, self.opts.retention, self.wal_size() + tier_bytes);
        let mut gone: Vec<Arc<Block>> = Vec::new();
        let newest = self.newest_time().unwrap_or(i64::MAX);
        for b in expired.iter().map(|&i| blocks[i].clone()) {
            if self.kept_by_rules(&b, newest)? {
                continue;
            }
            if self.tier_covers(&b)? {
                gone.push(b);
            } else {
                self.counters
                    .retention_blocked
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        self.remove_blocks(&gone)?;
        Ok(gone.len())
    }

    /// Hides `[mint, maxt]` of the series matching `matchers` from queries at
    /// once (tombstones in the head, logged to the WAL, and in each block).
    pub fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<()> {
        let _guard = self.maintenance.lock();
        self.wal.check_open()?;
        let ids = self
            .head
            .with_postings(|p| postings_for_matchers(p, matchers));
        let stones: Vec<(u32, i64, i64)> = ids.iter().map(|id| (id, mint, maxt)).collect();
        wal_io::log_tombstones(&self.wal, &stones)?;
        for (id, a, z) in stones {
            self.head.add_tombstone(id, a, z);
        }
        // Tier blocks too: a bucket with deleted time is no longer read.
        for b in self.blocks().into_iter().chain(self.tier_blocks()) {
            b.delete(matchers, mint, maxt)?;
        }
        Ok(())
    }

    /// Rewrites every block that has tombstones without the deleted data.
    pub fn clean_tombstones(&self) -> Result<usize> {
        let _guard = self.maintenance.lock();
        self.wal.check_open()?;
        let mut rewritten = 0;
        for b in self
            .blocks()
            .into_iter()
            .filter(|b| BlockReader::meta(&**b).has_tombstones)
        {
            if self.replace_blocks(std::slice::from_ref(&b))? {
                rewritten += 1;
            }
        }
        Ok(rewritten)
    }

    /// Writes a consistent copy of the database into `dir`: every block,
    /// and with `with_head` the head written out as one more block.
    /// Returns the names of the block directories written.
    pub fn snapshot(&self, dir: &Path, with_head: bool) -> Result<Vec<String>> {
        let _guard = self.maintenance.lock();
        self.wal.check_open()?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io("mkdir", dir, e))?;
        let mut names = Vec::new();
        for b in self.blocks().into_iter().chain(self.tier_blocks()) {
            let dst = dir.join(&b.meta().ulid);
            crate::fsutil::copy_dir(b.dir(), &dst)?;
            names.push(b.meta().ulid.clone());
        }
        if with_head {
            let (mint, maxt) = (self.head.min_time(), self.head.max_time());
            if mint <= maxt {
                let rh: Arc<dyn BlockReader> =
                    Arc::new(RangeHead::new(self.head.clone(), mint, maxt));
                let plan = BlockPlan {
                    min_time: mint,
                    max_time: maxt + 1,
                    level: 1,
                    sources: vec![],
                    parents: vec![],
                };
                if let Some(meta) = write_block(dir, vec![rh], plan)? {
                    names.push(meta.ulid);
                }
            }
        }
        Ok(names)
    }
}
