//! The log store: entries in through the database's WAL and commit, out by
//! stream selector and line filters.
//!
//! Contracts:
//! - an entry acknowledged by [`LogStore::push`] is in the WAL; replay at
//!   open brings it back to the head;
//! - entries move from the head into blocks ([`LogStore::flush`]); the
//!   store reports no WAL segment persisted that holds an entry still in
//!   the head, so the WAL keeps those records, and replay skips the
//!   entries blocks hold;
//! - retention and deletion apply to head and blocks at once (blocks are
//!   rewritten without deleted entries, dropped when retention has hidden
//!   all they hold).

mod disk;
mod merge;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use promql::eval::{EngineOptions, QueryResult};
use tsdb::db::{Appender, Db, InflightCommits, WalStore};
use tsdb::model::{Labels, Matcher};
use tsdb::wal::RecordFamily;

use crate::admit::{self, Admitted, Limits, RateLimiter};
use crate::error::{Error, Result};
use crate::head::{Head, LineFilter};
use crate::logql::eval::{self, Grid};
use crate::logql::pipeline::Pipeline;
use crate::logql::{LogExpr, MetricExpr};
use crate::model::{Direction, Hit, StreamPush};
use crate::record;
use crate::tail::Taps;

/// How the store keeps entries.
#[derive(Debug, Clone)]
pub struct Options {
    pub limits: Limits,
    /// Entries older than this before the newest entry are dropped (`None`:
    /// kept until deleted).
    pub retention: Option<std::time::Duration>,
    /// Retention per stream selector, overriding `retention` (Loki's
    /// `retention_stream`).
    pub retention_streams: Vec<StreamRetention>,
    /// Flush the head into a block once this many bytes of lines wait…
    pub flush_bytes: usize,
    /// …or an entry has waited this long.
    pub flush_age: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            limits: Limits::default(),
            retention: None,
            retention_streams: Vec::new(),
            flush_bytes: 256 << 20,
            flush_age: Duration::from_secs(30 * 60),
        }
    }
}

/// A retention for the streams a selector picks: of the rules matching a
/// stream, the highest `priority` wins, then the longest `period`.
#[derive(Debug, Clone)]
pub struct StreamRetention {
    pub matchers: Vec<Matcher>,
    pub priority: u32,
    pub period: std::time::Duration,
}

impl StreamRetention {
    /// The retention of a stream with `labels` under `rules`, or `default`.
    pub fn of(
        rules: &[StreamRetention],
        labels: &Labels,
        default: Option<std::time::Duration>,
    ) -> Option<std::time::Duration> {
        rules
            .iter()
            .filter(|r| r.matchers.iter().all(|m| m.matches(labels.get(&m.name))))
            .max_by_key(|r| (r.priority, r.period))
            .map(|r| r.period)
            .or(default)
    }
}

#[derive(Debug, Default)]
pub struct Counters {
    pub entries_received: AtomicU64,
    pub bytes_received: AtomicU64,
    /// Entries refused by admission.
    pub entries_refused: AtomicU64,
    /// Entries equal to one held, dropped (a retried push, say).
    pub entries_duplicate: AtomicU64,
    pub entries_replayed: AtomicU64,
    /// Entries dropped by retention.
    pub entries_expired: AtomicU64,
    /// Entries removed by deletion requests.
    pub entries_deleted: AtomicU64,
    pub streams_created: AtomicU64,
    /// Entries skipped at replay because a block holds them.
    pub entries_replay_skipped: AtomicU64,
    pub entries_flushed: AtomicU64,
    pub blocks_written: AtomicU64,
    pub blocks_deleted: AtomicU64,
    /// Small blocks merged into bigger ones.
    pub blocks_merged: AtomicU64,
    /// Damaged blocks moved aside at open.
    pub blocks_quarantined: AtomicU64,
}

pub struct LogStore {
    opts: Options,
    head: Head,
    /// Where blocks go (`None`: the head keeps everything).
    blocks_dir: Option<PathBuf>,
    inflight: Arc<InflightCommits>,
    rate: Mutex<RateLimiter>,
    /// One flush, block rewrite or block drop at a time.
    maintenance: Mutex<()>,
    pub counters: Counters,
    /// Live feeds of what commits add (`/loki/api/v1/tail`).
    pub taps: Taps,
}

impl LogStore {
    /// A store kept in memory (no blocks: the head holds every entry until
    /// retention drops it). Open it before the database and hand it to
    /// `Db::open_with_stores`, which replays the WAL into it.
    pub fn open(opts: Options) -> Arc<LogStore> {
        Arc::new(LogStore::new(opts, None))
    }

    /// A store whose blocks live in `dir/blocks` (damaged ones are moved
    /// to `dir/quarantine`). Open it before the database, as [`open`].
    ///
    /// [`open`]: LogStore::open
    pub fn open_dir(dir: &Path, opts: Options) -> Result<Arc<LogStore>> {
        let blocks_dir = dir.join("blocks");
        let (blocks, quarantined) = disk::load_blocks(&blocks_dir, &dir.join("quarantine"))?;
        let store = LogStore::new(opts, Some(blocks_dir));
        for b in blocks {
            store.head.add_block(b);
        }
        store
            .counters
            .blocks_quarantined
            .store(quarantined, Ordering::Relaxed);
        Ok(Arc::new(store))
    }

    fn new(opts: Options, blocks_dir: Option<PathBuf>) -> LogStore {
        LogStore {
            opts,
            head: Head::default(),
            blocks_dir,
            inflight: Arc::default(),
            rate: Mutex::default(),
            maintenance: Mutex::default(),
            counters: Counters::default(),
            taps: Taps::default(),
        }
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    pub fn head(&self) -> &Head {
        &self.head
    }

    /// Admits `push` against the limits (`now_ns`: the wall clock) and
    /// commits what is admitted in one batch of `db`: durable when this
    /// returns `Ok`. The admission tells what was refused and why.
    pub fn push(self: &Arc<Self>, db: &Db, push: Vec<StreamPush>, now_ns: i64) -> Result<Admitted> {
        let limits = &self.opts.limits;
        let held = self.head.bytes();
        let limit = self.opts.flush_bytes.saturating_mul(4);
        if self.blocks_dir.is_some() && held >= limit {
            let refused = admit::head_full(&push, held, limit);
            self.counters
                .entries_refused
                .fetch_add(refused.refused as u64, Ordering::Relaxed);
            return Ok(refused);
        }
        let bytes: usize = push.iter().flat_map(|s| &s.entries).map(|e| e.size()).sum();
        if !self
            .rate
            .lock()
            .take(bytes as f64, limits, std::time::Instant::now())
        {
            let refused = admit::rate_limited(&push, bytes as f64, limits);
            self.counters
                .entries_refused
                .fetch_add(refused.refused as u64, Ordering::Relaxed);
            return Ok(refused);
        }
        let mut admitted = admit::admit(push, limits, &self.head, now_ns);
        self.counters
            .entries_refused
            .fetch_add(admitted.refused as u64, Ordering::Relaxed);
        self.counters
            .entries_duplicate
            .fetch_add(admitted.duplicates as u64, Ordering::Relaxed);
        let streams = std::mem::take(&mut admitted.streams);
        let mut app = db.appender();
        self.add_to(db, &mut app, streams)?;
        app.commit()?;
        Ok(admitted)
    }

    /// Adds admitted entries to a batch of `db`; they reach the head when
    /// the batch commits, and never if it does not.
    pub fn add_to(
        self: &Arc<Self>,
        db: &Db,
        app: &mut Appender<'_>,
        streams: Vec<StreamPush>,
    ) -> Result<()> {
        if streams.iter().all(|s| s.entries.is_empty()) {
            return Ok(());
        }
        let rec = record::encode(&streams);
        let ticket = self.inflight.begin(db);
        let store = self.clone();
        app.add_record(rec, move |pos| {
            let bytes: usize = streams
                .iter()
                .flat_map(|s| &s.entries)
                .map(|e| e.line.len())
                .sum();
            let mut taken = Vec::new();
            let tapped = store.taps.active() > 0;
            let applied =
                store
                    .head
                    .apply_tapped(streams, pos.segment, tapped.then_some(&mut taken));
            if tapped {
                store.taps.publish(taken);
            }
            let c = &store.counters;
            c.entries_received
                .fetch_add(applied.entries as u64, Ordering::Relaxed);
            c.bytes_received.fetch_add(bytes as u64, Ordering::Relaxed);
            c.entries_duplicate
                .fetch_add(applied.duplicates as u64, Ordering::Relaxed);
            c.streams_created
                .fetch_add(applied.new_streams as u64, Ordering::Relaxed);
            drop(ticket);
        })?;
        Ok(())
    }

    /// The entries a log query selects in `[start, end)` (nanoseconds)
    /// after its pipeline, at most `limit`, the newest first (`Backward`)
    /// or the oldest.
    pub fn select(
        &self,
        query: &LogExpr,
        start: i64,
        end: i64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        let pipeline = Pipeline::new(&query.pipeline).map_err(Error::BadQuery)?;
        self.head.select(
            &query.matchers,
            start,
            end,
            direction,
            limit,
            &LineFilter::of(&pipeline),
            &mut |l, e| pipeline.run(l, e),
        )
    }

    /// Deletes what a log query (a selector and line filters) selects in
    /// `[start, end]` (nanoseconds), through the WAL: durable when this
    /// returns `Ok`, and replay deletes it again. Returns nothing about the
    /// count: that is known when the commit applies (counted in
    /// `entries_deleted`).
    pub fn delete(self: &Arc<Self>, db: &Db, query: &LogExpr, start: i64, end: i64) -> Result<()> {
        delete_filter(query)?;
        let d = record::Deletion {
            query: query.to_string(),
            start,
            end,
        };
        let mut app = db.appender();
        let ticket = self.inflight.begin(db);
        let store = self.clone();
        let query = query.clone();
        app.add_record(record::encode_delete(&d), move |pos| {
            if let Err(e) = store.apply_delete(&query, start, end, pos.segment) {
                tracing::error!(error = %e, "deleting log entries from blocks failed");
            }
            drop(ticket);
        })?;
        app.commit()?;
        Ok(())
    }

    /// Applies a deletion committed in WAL `segment`: to the head, and to
    /// the blocks written before it (later ones hold only what survived
    /// it, or came after it).
    fn apply_delete(&self, query: &LogExpr, start: i64, end: i64, segment: u64) -> Result<()> {
        let filters = Pipeline::new(&query.pipeline).map_err(Error::BadQuery)?;
        let matches = |e: &crate::model::Entry| filters.keeps_line(&e.line).unwrap_or(false);
        let mut n = self.head.delete(&query.matchers, start, end, &matches);
        let in_blocks = self.delete_in_blocks(&query.matchers, start, end, segment, &matches);
        n += in_blocks.as_ref().map_or(0, |n| *n);
        self.counters
            .entries_deleted
            .fetch_add(n as u64, Ordering::Relaxed);
        in_blocks.map(|_| ())
    }

    /// Applies retention: hides entries older than `retention` before the
    /// newest entry held (ages are measured as the metric store measures
    /// them, from the newest data, not the wall clock), drops them from the
    /// head, and deletes the blocks holding nothing else. The WAL segments
    /// only they held become free to truncate. Returns the head entries
    /// dropped.
    pub fn apply_retention(&self) -> Result<usize> {
        let Some(newest) = self.head.newest_overall() else {
            return Ok(0);
        };
        let (rules, default) = (&self.opts.retention_streams, self.opts.retention);
        let n = self.head.expire_by(&|labels| {
            let keep = StreamRetention::of(rules, labels, default)?;
            Some(newest.saturating_sub(i64::try_from(keep.as_nanos()).unwrap_or(i64::MAX)))
        });
        self.counters
            .entries_expired
            .fetch_add(n as u64, Ordering::Relaxed);
        self.drop_expired_blocks()?;
        Ok(n)
    }

    /// Everything at once: retention, then [`flush_and_release`].
    ///
    /// [`flush_and_release`]: LogStore::flush_and_release
    pub fn maintain(&self, db: &Db, force: bool) -> Result<()> {
        self.apply_retention()?;
        self.flush_and_release(db, force)
    }

    /// A flush when one is due (always with `force`); after one, the WAL
    /// the head no longer needs is released and small blocks merge.
    pub fn flush_and_release(&self, db: &Db, force: bool) -> Result<()> {
        if self.flush(db, force)? {
            db.release_wal()?;
            self.merge_small_blocks()?;
        }
        Ok(())
    }

    /// Evaluates a metric query on `grid` (milliseconds).
    pub fn evaluate(
        &self,
        query: &MetricExpr,
        grid: Grid,
        opts: EngineOptions,
    ) -> Result<QueryResult> {
        eval::evaluate(&self.head, query, grid, opts)
    }

    /// Streams `matchers` select with an entry in `[start, end)`.
    pub fn series(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<Labels> {
        self.head.series(matchers, start, end)
    }

    pub fn label_names(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<String> {
        self.head.label_names(matchers, start, end)
    }

    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Vec<String> {
        self.head.label_values(name, matchers, start, end)
    }
}

impl WalStore for LogStore {
    fn family(&self) -> RecordFamily {
        RecordFamily::Logs
    }

    fn replay(&self, rec: &[u8], segment: u64) -> tsdb::Result<()> {
        if rec.first() == Some(&record::DELETE) {
            let d = record::decode_delete(rec).map_err(tsdb::Error::from)?;
            let query = match crate::logql::parse(&d.query) {
                Ok(crate::logql::Expr::Log(l)) => l,
                _ => {
                    return Err(Error::BadRecord(format!(
                        "deletion query {:?} does not parse",
                        d.query
                    ))
                    .into());
                }
            };
            return Ok(self.apply_delete(&query, d.start, d.end, segment)?);
        }
        let streams = record::decode(rec).map_err(tsdb::Error::from)?;
        let applied = self.head.apply(streams, segment);
        let c = &self.counters;
        c.entries_replayed
            .fetch_add(applied.entries as u64, Ordering::Relaxed);
        c.entries_replay_skipped
            .fetch_add(applied.in_blocks as u64, Ordering::Relaxed);
        Ok(())
    }

    fn persisted_through(&self) -> u64 {
        self.inflight.persisted_through(|| self.head.min_segment())
    }
}

/// A deletion's query may filter lines only (as Loki's).
fn delete_filter(query: &LogExpr) -> Result<()> {
    let only_lines = query
        .pipeline
        .iter()
        .all(|s| matches!(s, crate::logql::Stage::Line(_)));
    if !only_lines {
        return Err(Error::BadQuery(
            "a deletion query takes a stream selector and line filters only".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
