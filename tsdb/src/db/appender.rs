//! The database's write batch: WAL first, then the head and the companion
//! stores.

use super::{Db, wal_io};
use crate::error::{Error, Result};
use crate::head::{CommitStats, HeadAppender, SeriesHandle};
use crate::model::histogram::HistogramValue;
use crate::model::{Labels, SeriesRef};
use crate::wal::{RecordFamily, WalPos};

/// A batch of samples (and companion-store records) for the database.
///
/// Contract: end with [`commit`](Self::commit) or [`rollback`](Self::rollback)
/// (dropping rolls back). `append` rejects a bad sample with its typed error
/// and keeps the rest of the batch. `commit` writes the batch's new series,
/// samples and records to the WAL in one write, waits until they are
/// durable under the configured sync policy, and only then applies them to
/// the head and runs the records' callbacks. An error means nothing of the
/// batch was applied or acknowledged. (After a failed fsync the database
/// is closed; whatever reached the disk is replayed at the next open.)
pub struct Appender<'a> {
    db: &'a Db,
    head: HeadAppender,
    records: Vec<Vec<u8>>,
    on_commit: Vec<OnCommit<'a>>,
}

/// Runs after a batch's commit, with the batch's WAL position.
type OnCommit<'a> = Box<dyn FnOnce(WalPos) + Send + 'a>;

impl<'a> Appender<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Appender {
            db,
            head: db.head.appender(),
            records: Vec::new(),
            on_commit: Vec::new(),
        }
    }

    /// Adds an encoded record of a companion store (see
    /// [`WalStore`](super::WalStore)) to the batch; `on_commit` runs after
    /// the batch's commit succeeded, in the order records were added, with
    /// the WAL position the batch was logged at. Fails when no open store
    /// owns the record's type.
    pub fn add_record(
        &mut self,
        record: Vec<u8>,
        on_commit: impl FnOnce(WalPos) + Send + 'a,
    ) -> Result<()> {
        let record_type = record.first().copied().unwrap_or(0);
        match RecordFamily::of(record_type) {
            Some(f) if f != RecordFamily::Metrics && self.db.stores.owner(f).is_some() => {}
            f => {
                return Err(Error::UnownedRecord {
                    record_type,
                    family: f.map_or("unallocated", RecordFamily::name),
                });
            }
        }
        self.records.push(record);
        self.on_commit.push(Box::new(on_commit));
        Ok(())
    }

    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef> {
        self.head.append(labels, t, v)
    }

    pub fn append_ref(&mut self, r: SeriesRef, t: i64, v: f64) -> Result<()> {
        self.head.append_ref(r, t, v)
    }

    /// See [`HeadAppender::append_to`].
    pub fn append_to(&mut self, s: &SeriesHandle, t: i64, v: f64) -> Result<()> {
        self.head.append_to(s, t, v)
    }

    /// See [`HeadAppender::append_new`].
    pub fn append_new(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesHandle> {
        self.head.append_new(labels, t, v)
    }

    /// See [`HeadAppender::append_histogram`].
    pub fn append_histogram(
        &mut self,
        labels: &Labels,
        t: i64,
        h: HistogramValue,
    ) -> Result<SeriesRef> {
        self.head.append_histogram(labels, t, h)
    }

    /// See [`HeadAppender::append_histogram_new`].
    pub fn append_histogram_new(
        &mut self,
        labels: &Labels,
        t: i64,
        h: HistogramValue,
    ) -> Result<SeriesHandle> {
        self.head.append_histogram_new(labels, t, h)
    }

    /// See [`HeadAppender::append_histogram_to`].
    pub fn append_histogram_to(
        &mut self,
        s: &SeriesHandle,
        t: i64,
        h: HistogramValue,
    ) -> Result<()> {
        self.head.append_histogram_to(s, t, h)
    }

    /// See [`HeadAppender::set_start_timestamp`].
    pub fn set_start_timestamp(&mut self, st: i64) {
        self.head.set_start_timestamp(st)
    }

    /// Adds an exemplar for an existing series (see [`HeadAppender::append_exemplar`]).
    pub fn append_exemplar(
        &mut self,
        r: SeriesRef,
        e: crate::exemplars::Exemplar,
    ) -> std::result::Result<(), crate::exemplars::ExemplarRejection> {
        self.head.append_exemplar(r, e)
    }

    pub fn len(&self) -> usize {
        self.head.len()
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.records.is_empty()
    }

    pub fn commit(self) -> Result<CommitStats> {
        let pos = wal_io::log_batch(&self.db.wal, &self.head, &self.records)?;
        if let Some(pos) = pos {
            wal_io::wait_durable(&self.db.wal, pos.seq)?;
        }
        let stats = self.head.commit();
        let pos = pos.unwrap_or_default();
        for f in self.on_commit {
            f(pos);
        }
        Ok(stats)
    }

    pub fn rollback(self) {
        self.head.rollback()
    }
}
