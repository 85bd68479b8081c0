//! The in-memory head: the newest data, appendable.
//!
//! Series are found by label hash ([`series`]); samples go into per-series
//! Gorilla chunks; the label index is a [`MemPostings`]. Appends are batched
//! in a [`HeadAppender`] and applied on commit. The head knows nothing of the
//! WAL: [`crate::Db`] logs an appender's batch before applying it, and WAL
//! replay applies records through the same path.

mod appender;
mod read;
mod series;
mod series_hist;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

pub use appender::{CommitStats, HeadAppender, SeriesHandle};
pub use read::RangeHead;

use crate::error::{Error, Result};
use crate::exemplars::ExemplarStore;
use crate::index::MemPostings;
use crate::limits::Limits;
use crate::model::{Label, Labels, METRIC_NAME, SeriesRef};
use crate::tombstones::Intervals;
use series::{AppendBounds, MemSeries, StripedSeries};

/// How the head accepts data.
#[derive(Debug, Clone)]
pub struct HeadOptions {
    /// Block range in ms; chunks never straddle a multiple of it.
    pub chunk_range: i64,
    /// How far behind the newest sample an out-of-order sample may be (ms);
    /// 0 rejects every out-of-order sample.
    pub ooo_window: i64,
    pub limits: Limits,
    /// Exemplars kept in memory (0 keeps none).
    pub max_exemplars: usize,
}

impl Default for HeadOptions {
    fn default() -> Self {
        HeadOptions {
            chunk_range: 2 * 3_600_000,
            ooo_window: 0,
            limits: Limits::default(),
            max_exemplars: 100_000,
        }
    }
}

/// Counters the head keeps.
#[derive(Debug, Default)]
pub(crate) struct HeadCounters {
    pub samples_appended: AtomicU64,
    pub ooo_samples_appended: AtomicU64,
    pub series_created: AtomicU64,
    pub series_removed: AtomicU64,
}

/// The appendable, in-memory part of the database.
pub struct Head {
    opts: HeadOptions,
    series: StripedSeries,
    postings: RwLock<MemPostings>,
    symbols: Mutex<HashSet<Arc<str>>>,
    tombstones: RwLock<std::collections::HashMap<u32, Intervals>>,
    next_id: AtomicU32,
    min_time: AtomicI64,
    max_time: AtomicI64,
    /// Samples before this were persisted to blocks and are rejected.
    min_valid: AtomicI64,
    pub(crate) counters: HeadCounters,
    pub(crate) exemplars: ExemplarStore,
    /// The cardinality limits in force (replaced by [`Head::set_limits`]).
    limits: RwLock<Arc<Limits>>,
    /// Held while a series is admitted and created, so that concurrent
    /// writers never create more series than a limit allows; holds the
    /// churn limit's bucket.
    creating: Mutex<crate::limits::Churn>,
}

impl Head {
    pub fn new(opts: HeadOptions) -> Arc<Head> {
        let exemplars = ExemplarStore::new(opts.max_exemplars);
        Arc::new(Head {
            exemplars,
            limits: RwLock::new(Arc::new(opts.limits.clone())),
            creating: Mutex::new(crate::limits::Churn::default()),
            opts,
            series: StripedSeries::new(),
            postings: RwLock::new(MemPostings::new()),
            symbols: Mutex::new(HashSet::new()),
            tombstones: RwLock::new(Default::default()),
            next_id: AtomicU32::new(1),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            min_valid: AtomicI64::new(i64::MIN),
            counters: HeadCounters::default(),
        })
    }

    pub fn options(&self) -> &HeadOptions {
        &self.opts
    }

    /// Replaces the cardinality limits; they apply to series created from
    /// now on (existing series are never dropped).
    pub fn set_limits(&self, limits: Limits) {
        *self.limits.write() = Arc::new(limits);
    }

    /// The cardinality limits in force.
    pub fn limits(&self) -> Arc<Limits> {
        self.limits.read().clone()
    }

    /// A new batch; see [`HeadAppender`] for the commit contract.
    pub fn appender(self: &Arc<Self>) -> HeadAppender {
        HeadAppender::new(self.clone())
    }

    /// Oldest sample time in the head (`i64::MAX` when empty).
    pub fn min_time(&self) -> i64 {
        self.min_time.load(Ordering::Acquire)
    }

    /// Newest sample time in the head (`i64::MIN` when empty).
    pub fn max_time(&self) -> i64 {
        self.max_time.load(Ordering::Acquire)
    }

    pub fn min_valid_time(&self) -> i64 {
        self.min_valid.load(Ordering::Acquire)
    }

    pub fn num_series(&self) -> u64 {
        self.postings.read().num_series()
    }

    /// Looks a series up by its sorted label pairs without allocating.
    pub fn series_ref_for_pairs<'a>(
        &self,
        hash: u64,
        pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Option<SeriesRef> {
        self.series
            .by_pairs(hash, pairs)
            .map(|s| SeriesRef(u64::from(s.id)))
    }

    /// Like [`series_ref_for_pairs`](Self::series_ref_for_pairs), but
    /// returns a handle that appends without a second lookup.
    pub fn series_for_pairs<'a>(
        &self,
        hash: u64,
        pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Option<SeriesHandle> {
        self.series.by_pairs(hash, pairs).map(SeriesHandle)
    }

    fn bounds(&self) -> AppendBounds {
        let max = self.max_time();
        AppendBounds {
            min_valid: self.min_valid_time(),
            ooo_min: if self.opts.ooo_window > 0 && max != i64::MIN {
                max.saturating_sub(self.opts.ooo_window)
            } else {
                i64::MAX
            },
            chunk_range: self.opts.chunk_range,
        }
    }

    /// The series with `labels`, created (and indexed) when missing.
    /// Creation is where cardinality limits apply; `id` forces the id (WAL
    /// replay, which never rejects: the series exists already), otherwise a
    /// fresh one is taken.
    fn get_or_create(&self, labels: &Labels, id: Option<u32>) -> Result<(Arc<MemSeries>, bool)> {
        let hash = labels.hash64();
        if let Some(s) = self
            .series
            .by_pairs(hash, labels.iter().map(|l| (&*l.name, &*l.value)))
        {
            return Ok((s, false));
        }
        // Admission and creation under one lock: no overshoot under
        // concurrent writers. WAL replay (`id` given) never checks.
        let mut churn = self.creating.lock();
        if id.is_none() {
            if let Some(s) = self
                .series
                .by_pairs(hash, labels.iter().map(|l| (&*l.name, &*l.value)))
            {
                return Ok((s, false));
            }
            let limits = self.limits();
            let postings = self.postings.read();
            limits
                .admit(
                    labels,
                    &PostingsCounts(&postings),
                    &mut churn,
                    std::time::Instant::now(),
                )
                .map_err(|r| Error::CardinalityLimit(Box::new(r)))?;
        }
        let id = match id {
            Some(id) => {
                self.next_id
                    .fetch_max(id.saturating_add(1), Ordering::AcqRel);
                id
            }
            None => self.next_id.fetch_add(1, Ordering::AcqRel),
        };
        let labels = self.intern(labels);
        let (s, created) = self
            .series
            .get_or_insert(hash, Arc::new(MemSeries::new(id, labels)));
        if created {
            self.postings.write().add(s.id, &s.labels);
            self.counters.series_created.fetch_add(1, Ordering::Relaxed);
        }
        Ok((s, created))
    }

    /// Shares label strings between series.
    fn intern(&self, labels: &Labels) -> Labels {
        let mut symbols = self.symbols.lock();
        let mut get = |s: &Arc<str>| -> Arc<str> {
            if let Some(x) = symbols.get(s) {
                return x.clone();
            }
            symbols.insert(s.clone());
            s.clone()
        };
        Labels::from_sorted(
            labels
                .iter()
                .map(|l| Label {
                    name: get(&l.name),
                    value: get(&l.value),
                })
                .collect(),
        )
    }

    fn note_times(&self, t: i64) {
        self.min_time.fetch_min(t, Ordering::AcqRel);
        self.max_time.fetch_max(t, Ordering::AcqRel);
    }

    /// Marks `[mint, maxt]` of the series matching `ids` as deleted.
    pub fn add_tombstone(&self, id: u32, mint: i64, maxt: i64) {
        self.tombstones
            .write()
            .entry(id)
            .or_default()
            .add(mint, maxt);
    }

    /// Drops everything before `mint` (already persisted in a block), removes
    /// series left empty and raises the lower bound for appends. Returns the
    /// number of series removed.
    pub fn truncate(&self, mint: i64) -> usize {
        self.min_valid.fetch_max(mint, Ordering::AcqRel);
        let mut removed = 0;
        let mut new_min = i64::MAX;
        for s in self.series.all() {
            let mut st = s.state.lock();
            if st.truncate_before(mint) && st.try_remove() {
                drop(st);
                self.series.remove(&s);
                self.postings.write().remove(s.id, &s.labels);
                self.tombstones.write().remove(&s.id);
                removed += 1;
            } else if let Some(t) = st.min_time() {
                new_min = new_min.min(t);
            }
        }
        self.min_time.store(new_min, Ordering::Release);
        if new_min == i64::MAX {
            self.max_time.fetch_max(mint - 1, Ordering::AcqRel);
        }
        self.symbols.lock().retain(|s| Arc::strong_count(s) > 1);
        self.counters
            .series_removed
            .fetch_add(removed as u64, Ordering::Relaxed);
        removed
    }

    /// Whether series `id` still exists (for WAL checkpoints).
    pub fn has_series(&self, id: u32) -> bool {
        self.series.by_id(id).is_some()
    }

    /// Every live series with its labels (for checkpoints and stats).
    pub fn series_labels(&self) -> Vec<(SeriesRef, Labels)> {
        self.series
            .all()
            .into_iter()
            .map(|s| (SeriesRef(u64::from(s.id)), s.labels.clone()))
            .collect()
    }

    /// Series whose last in-order sample is at or after `since`.
    pub fn active_series(&self, since: i64) -> u64 {
        let all = self.series.all();
        all.iter()
            .filter(|s| s.state.lock().last.is_some_and(|l| l.t >= since))
            .count() as u64
    }

    /// Head statistics for the status API.
    pub fn stats(&self) -> HeadStats {
        let mut chunks = 0;
        let mut bytes = 0;
        for s in self.series.all() {
            let st = s.state.lock();
            chunks += st.num_chunks();
            bytes += st.heap_bytes();
        }
        HeadStats {
            num_series: self.num_series(),
            num_chunks: chunks as u64,
            chunk_bytes: bytes as u64,
            min_time: self.min_time(),
            max_time: self.max_time(),
            samples_appended: self.counters.samples_appended.load(Ordering::Relaxed),
            ooo_samples_appended: self.counters.ooo_samples_appended.load(Ordering::Relaxed),
            series_created: self.counters.series_created.load(Ordering::Relaxed),
            series_removed: self.counters.series_removed.load(Ordering::Relaxed),
        }
    }

    /// Visits the label index under its read lock.
    pub fn with_postings<R>(&self, f: impl FnOnce(&MemPostings) -> R) -> R {
        f(&self.postings.read())
    }
}

/// A point-in-time summary of the head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadStats {
    pub num_series: u64,
    pub num_chunks: u64,
    pub chunk_bytes: u64,
    pub min_time: i64,
    pub max_time: i64,
    /// Counters since the head was created.
    pub samples_appended: u64,
    pub ooo_samples_appended: u64,
    pub series_created: u64,
    pub series_removed: u64,
}

/// The head's counts for admission, from its label index.
struct PostingsCounts<'a>(&'a MemPostings);

impl crate::limits::HeadCounts for PostingsCounts<'_> {
    fn series(&self) -> u64 {
        self.0.num_series()
    }

    fn series_of(&self, metric: &str) -> u64 {
        self.0.count(METRIC_NAME, metric)
    }

    fn values_of(&self, name: &str, value: &str) -> (u64, bool) {
        self.0.values_of(name, value)
    }
}
