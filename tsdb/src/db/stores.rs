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

use std::sync::Arc;

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
