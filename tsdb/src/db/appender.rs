//! The database's write batch: WAL first, then the head.

use super::{Db, wal_io};
use crate::error::Result;
use crate::head::{CommitStats, HeadAppender, SeriesHandle};
use crate::model::{Labels, SeriesRef};

/// A batch of samples for the database.
///
/// Contract: end with [`commit`](Self::commit) or [`rollback`](Self::rollback)
/// (dropping rolls back). `append` rejects a bad sample with its typed error
/// and keeps the rest of the batch. `commit` writes the batch's new series
/// and samples to the WAL, applies them to the head, and returns once they
/// are durable under the configured sync policy; an error from the WAL means
/// nothing of the batch was applied.
pub struct Appender<'a> {
    db: &'a Db,
    head: HeadAppender,
}

impl<'a> Appender<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Appender {
            db,
            head: db.head.appender(),
        }
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
        self.head.is_empty()
    }

    pub fn commit(self) -> Result<CommitStats> {
        let pos = wal_io::log_batch(&self.db.wal, &self.head)?;
        let stats = self.head.commit();
        wal_io::wait_durable(&self.db.wal, pos)?;
        Ok(stats)
    }

    pub fn rollback(self) {
        self.head.rollback()
    }
}
