//! Companion stores: the span and log stores keep their records in the
//! database's WAL and commit them in the same group commit as samples.
//!
//! The database owns the WAL; each store owns a [`RecordFamily`] of record
//! types, encodes its own records and applies them to its own head. The
//! contract between them:
//! - **Commit.** A store adds encoded records to a [`super::Appender`]
//!   batch with an `on_commit` callback. The batch's metric records and the
//!   stores' records are logged in one WAL write; callbacks run, in the
//!   order their records were added, only after the batch is durable under
//!   the sync policy and the samples are in the head. A batch that fails or
//!   is rolled back runs none.
//! - **Replay.** On open the WAL is read once, in order; every record of a
//!   store's family goes to its [`WalStore::replay`], with the segment that
//!   holds it.
//! - **Truncation.** A store reports through which WAL segment its records
//!   are all in its own blocks ([`WalStore::persisted_through`]). The WAL
//!   folds into a checkpoint (and deletes) only segments every store has
//!   persisted; the checkpoint keeps what the metric head still needs and
//!   none of the companion records.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::wal::RecordFamily;

/// A store whose writes go through the database's WAL and commit.
pub trait WalStore: Send + Sync {
    /// The record types this store owns (not [`RecordFamily::Metrics`]).
    fn family(&self) -> RecordFamily;

    /// Applies one record of the store's family read back from the WAL at
    /// open, in WAL order. `segment` is the segment that held it (for a
    /// checkpoint, the checkpoint's number, which is never newer). Records
    /// of segments the store had already persisted may come again: the
    /// store skips what its blocks hold. An error stops the open.
    fn replay(&self, record: &[u8], segment: u64) -> Result<()>;

    /// Every WAL segment numbered at or below this holds no record the
    /// store still needs (its data is in its blocks); 0 when it needs all.
    fn persisted_through(&self) -> u64;
}

/// A store's commits under way, by the WAL segment each began in: what a
/// store needs to answer [`WalStore::persisted_through`] without racing
/// its own commits (a record may be in the WAL and not yet in the head).
#[derive(Debug, Default)]
pub struct InflightCommits {
    by_segment: Mutex<BTreeMap<u64, usize>>,
}

/// One commit under way; dropping it (after the record reached the head,
/// or when the commit failed) ends it.
#[derive(Debug)]
pub struct InflightCommit {
    commits: Arc<InflightCommits>,
    segment: u64,
}

impl InflightCommits {
    /// Marks a commit as begun in `db`'s current segment. Take it before
    /// adding the record to the batch, hold it in the `on_commit` callback.
    pub fn begin(self: &Arc<Self>, db: &super::Db) -> InflightCommit {
        let mut by_segment = self.by_segment.lock();
        let segment = db.wal_segment();
        *by_segment.entry(segment).or_default() += 1;
        InflightCommit {
            commits: self.clone(),
            segment,
        }
    }

    /// [`WalStore::persisted_through`] for a store whose head needs WAL
    /// segments from `head_min_segment` on (`None`: the head needs none).
    /// Commits under way are read first: one that finishes after that has
    /// applied its record to the head before the head is read.
    pub fn persisted_through(&self, head_min_segment: impl FnOnce() -> Option<u64>) -> u64 {
        let inflight = self.by_segment.lock().keys().next().copied();
        match (inflight, head_min_segment()) {
            (None, None) => u64::MAX,
            (a, b) => a.unwrap_or(u64::MAX).min(b.unwrap_or(u64::MAX)) - 1,
        }
    }
}

impl Drop for InflightCommit {
    fn drop(&mut self) {
        let mut by_segment = self.commits.by_segment.lock();
        if let Some(n) = by_segment.get_mut(&self.segment) {
            *n -= 1;
            if *n == 0 {
                by_segment.remove(&self.segment);
            }
        }
    }
}

/// The companion stores of one database, one per family.
#[derive(Default, Clone)]
pub(super) struct Stores(Vec<Arc<dyn WalStore>>);

impl Stores {
    pub(super) fn new(stores: Vec<Arc<dyn WalStore>>) -> Result<Stores> {
        for (i, s) in stores.iter().enumerate() {
            let family = s.family();
            if family == RecordFamily::Metrics || stores[..i].iter().any(|o| o.family() == family) {
                return Err(Error::InvalidOption {
                    name: "stores",
                    reason: format!(
                        "one store per companion family; {} given twice or reserved",
                        family.name()
                    ),
                });
            }
        }
        Ok(Stores(stores))
    }

    /// The store that owns `family`, if one is open.
    pub(super) fn owner(&self, family: RecordFamily) -> Option<&Arc<dyn WalStore>> {
        self.0.iter().find(|s| s.family() == family)
    }

    /// The newest segment that every store has persisted (`u64::MAX`
    /// without stores).
    pub(super) fn persisted_through(&self) -> u64 {
        self.0
            .iter()
            .map(|s| s.persisted_through())
            .min()
            .unwrap_or(u64::MAX)
    }
}
