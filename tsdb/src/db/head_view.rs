//! What other crates may see of the head: series lookup for callers that
//! cache series handles, the series generation that tells them when to
//! drop such a cache, statistics, the label index and exemplars.

use std::sync::atomic::Ordering;

use super::Db;
use crate::exemplars::ExemplarStore;
use crate::head::{HeadStats, SeriesHandle};
use crate::index::MemPostings;

impl Db {
    /// A number that changes whenever the head removes series (head
    /// truncation removes series left empty), and only then. A cache of
    /// [`SeriesHandle`]s that starts over when it changes never keeps
    /// removed series alive for long.
    pub fn series_generation(&self) -> u64 {
        self.head.counters.series_removed.load(Ordering::Acquire)
    }

    /// The head series whose sorted label pairs are `pairs` (`hash` is
    /// [`hash_label_pairs`](crate::model::hash_label_pairs) of them),
    /// looked up without allocating. Append to it with
    /// [`Appender::append_to`](super::Appender::append_to).
    pub fn series_for_pairs<'a>(
        &self,
        hash: u64,
        pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Option<SeriesHandle> {
        self.head.series_for_pairs(hash, pairs)
    }

    /// Replaces the cardinality limits (a configuration reload); they
    /// apply to series created from now on.
    pub fn set_limits(&self, limits: crate::limits::Limits) {
        self.head.set_limits(limits);
    }

    /// The cardinality limits in force.
    pub fn limits(&self) -> std::sync::Arc<crate::limits::Limits> {
        self.head.limits()
    }

    /// A point-in-time summary of the head.
    pub fn head_stats(&self) -> HeadStats {
        self.head.stats()
    }

    /// Head series with a sample in the last `window_ms` of the head's
    /// data (up to its newest sample).
    pub fn head_active_series(&self, window_ms: i64) -> u64 {
        let max = self.head.max_time();
        if max == i64::MIN {
            return 0;
        }
        self.head.active_series(max.saturating_sub(window_ms) + 1)
    }

    /// Visits the head's label index under its read lock.
    pub fn with_head_postings<R>(&self, f: impl FnOnce(&MemPostings) -> R) -> R {
        self.head.with_postings(f)
    }

    /// The exemplars kept in memory.
    pub fn exemplars(&self) -> &ExemplarStore {
        &self.head.exemplars
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DbOptions;
    use crate::model::{Labels, hash_label_pairs};

    #[test]
    fn series_generation_changes_when_the_head_removes_series() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        let (old, new) = (
            Labels::from_pairs(&[("__name__", "old")]),
            Labels::from_pairs(&[("__name__", "new")]),
        );
        let mut app = db.appender();
        app.append(&old, 0, 1.0).unwrap();
        app.append(&new, 0, 1.0).unwrap();
        app.commit().unwrap();
        let gen0 = db.series_generation();
        let pairs = || old.iter().map(|l| (&*l.name, &*l.value));
        let handle = db.series_for_pairs(hash_label_pairs(pairs()), pairs());
        assert_eq!(handle.map(|h| h.labels().clone()), Some(old.clone()));

        // Appends and a compaction that removes nothing keep the generation.
        let mut app = db.appender();
        app.append(&new, 60_000, 1.0).unwrap();
        app.commit().unwrap();
        db.compact().unwrap();
        assert_eq!(db.series_generation(), gen0);

        // The head moves on 5h: the first 2h go to a block, `old` is empty.
        let mut app = db.appender();
        app.append(&new, 5 * 3_600_000, 1.0).unwrap();
        app.commit().unwrap();
        db.compact().unwrap();
        assert_ne!(db.series_generation(), gen0);
        assert!(
            db.series_for_pairs(hash_label_pairs(pairs()), pairs())
                .is_none()
        );
        assert_eq!(db.head_stats().series_removed, 1);
    }
}
