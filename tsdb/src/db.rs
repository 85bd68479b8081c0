//! The database: head + WAL + blocks, with background maintenance.
//!
//! ```text
//! data/
//!   wal/00000001 …        write-ahead log segments (+ checkpoint.N/)
//!   blocks/<ULID>/        immutable blocks (meta.json, index, chunks/, tombstones);
//!                         tier blocks of downsampling too (`resolution` > 0)
//! ```
//! Writes go through [`Appender`]: records are logged to the WAL, applied
//! to the head, and (with the default sync policy) fsynced before `commit`
//! returns. Reads merge the blocks and the head. [`Db::compact`] cuts the
//! head into blocks, merges blocks and applies retention.

mod appender;
mod head_view;
mod maintenance;
mod open;
mod retention_rules;
mod select;
mod stores;
mod tiers;
mod wal_io;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use parking_lot::{Mutex, RwLock};

pub use crate::head::SeriesHandle;
pub use appender::Appender;
pub use open::DbOptions;
pub use retention_rules::RetentionRule;
pub use stores::{InflightCommit, InflightCommits, WalStore};
pub use tiers::DownsampleReport;

use crate::block::Block;
use crate::downsample::StoredSummaries;
use crate::error::Result;
use crate::head::{Head, RangeHead};
use crate::model::{Labels, Matcher, Querier, Queryable, Tiering};
use crate::querier::{BlockReader, MergeQuerier};
use crate::wal::Wal;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct DbCounters {
    pub compactions: AtomicU64,
    pub compaction_failures: AtomicU64,
    pub head_truncations: AtomicU64,
    pub blocks_deleted: AtomicU64,
    pub wal_replayed_records: AtomicU64,
    /// Blocks in `quarantine/`: moved aside because they failed to read.
    pub quarantined_blocks: AtomicU64,
    /// Tier blocks written by downsampling.
    pub tier_blocks_written: AtomicU64,
    /// Times retention kept a block because no tier covered it yet.
    pub retention_blocked: AtomicU64,
}

/// An open database. Share it behind an `Arc`; every method takes `&self`.
pub struct Db {
    dir: PathBuf,
    opts: DbOptions,
    head: Arc<Head>,
    wal: Wal,
    stores: stores::Stores,
    /// Raw blocks, sorted by `min_time`.
    blocks: RwLock<Vec<Arc<Block>>>,
    /// Tier blocks (`resolution > 0`), sorted by resolution, then time.
    tiers: RwLock<Vec<Arc<Block>>>,
    /// Serialises compaction, retention, deletion cleanup and snapshots.
    maintenance: Mutex<()>,
    pub counters: DbCounters,
}

impl Db {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> &DbOptions {
        &self.opts
    }

    /// The WAL segment being written; a batch committed from now on is
    /// logged in it or a newer one (companion stores bound their
    /// [`WalStore::persisted_through`] with it while a commit is in flight).
    pub fn wal_segment(&self) -> u64 {
        self.wal.segment()
    }

    /// Closes the WAL's current segment (fsynced) and starts the next;
    /// returns the new segment's number. A companion store flushing its
    /// head cuts first, so everything committed before is in closed
    /// segments it can persist.
    pub fn cut_wal_segment(&self) -> Result<u64> {
        self.wal.cut_segment()
    }

    /// A new write batch.
    pub fn appender(&self) -> Appender<'_> {
        Appender::new(self)
    }

    /// The blocks, oldest first.
    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.blocks.read().clone()
    }

    /// Readers for `[mint, maxt]`: blocks oldest first, then the head.
    fn readers(&self, mint: i64, maxt: i64) -> Vec<Arc<dyn BlockReader>> {
        let mut readers: Vec<Arc<dyn BlockReader>> = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.meta().overlaps(mint, maxt))
            .map(|b| b.clone() as Arc<dyn BlockReader>)
            .collect();
        readers.push(Arc::new(RangeHead::new(self.head.clone(), mint, maxt)));
        readers
    }

    /// Bytes of WAL on disk.
    pub fn wal_size(&self) -> u64 {
        wal_io::dir_size(&self.dir.join("wal"))
    }

    /// Flushes and fsyncs the WAL and closes the database for writes:
    /// later commits and maintenance fail with
    /// [`Error::Closed`](crate::Error::Closed); reads keep working until
    /// the `Db` is dropped. Call before exit for a clean shutdown.
    pub fn close(&self) -> Result<()> {
        let _guard = self.maintenance.lock();
        self.wal.close()
    }

    /// WAL fsyncs so far and the seconds they took in total.
    pub fn wal_fsyncs(&self) -> (u64, f64) {
        use std::sync::atomic::Ordering;
        (
            self.wal.fsyncs.load(Ordering::Relaxed),
            self.wal.fsync_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        )
    }

    /// Makes buffered WAL records durable (for the interval sync policy).
    pub fn sync_wal(&self) -> Result<()> {
        wal_io::sync_all(&self.wal)
    }
}

impl Queryable for Db {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>> {
        let merged = Box::new(MergeQuerier::new(self.readers(mint, maxt), mint, maxt));
        match self.newest_time() {
            Some(newest) if !self.opts.retention_rules.is_empty() => {
                Ok(Box::new(retention_rules::RuleMask {
                    inner: merged,
                    rules: self.opts.retention_rules.clone(),
                    newest,
                }))
            }
            _ => Ok(merged),
        }
    }

    fn tiering(&self) -> Tiering {
        self.tier_spans()
    }

    fn select_summaries(
        &self,
        res: i64,
        into: i64,
        matchers: &[Matcher],
        lo: i64,
        hi: i64,
    ) -> Result<Vec<(Labels, StoredSummaries)>> {
        Db::select_summaries(self, res, into, matchers, lo, hi)
    }
}

impl Queryable for Arc<Db> {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>> {
        (**self).querier(mint, maxt)
    }

    fn tiering(&self) -> Tiering {
        (**self).tiering()
    }

    fn select_summaries(
        &self,
        res: i64,
        into: i64,
        matchers: &[Matcher],
        lo: i64,
        hi: i64,
    ) -> Result<Vec<(Labels, StoredSummaries)>> {
        Db::select_summaries(self, res, into, matchers, lo, hi)
    }
}

#[cfg(test)]
mod histogram_tests;
#[cfg(test)]
mod tests;
