//! The log store: entries in through the database's WAL and commit, out by
//! stream selector and line filters.
//!
//! Contracts:
//! - an entry acknowledged by [`LogStore::push`] is in the WAL; replay at
//!   open brings it back to the head;
//! - the head holds every entry until log blocks exist (not yet) or
//!   retention drops it: the store reports no WAL segment persisted that
//!   holds an entry still held, so the WAL keeps those records.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use promql::eval::{EngineOptions, QueryResult};
use tsdb::db::{Appender, Db, InflightCommits, WalStore};
use tsdb::model::{Labels, Matcher};
use tsdb::wal::RecordFamily;

use crate::admit::{self, Admitted, Limits, RateLimiter};
use crate::error::{Error, Result};
use crate::head::Head;
use crate::logql::eval::{self, Grid};
use crate::logql::pipeline::Pipeline;
use crate::logql::{LogExpr, MetricExpr};
use crate::model::{Direction, Hit, StreamPush};
use crate::record;

/// How the store keeps entries.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub limits: Limits,
    /// Entries older than this before the newest entry are dropped (`None`:
    /// kept until deleted).
    pub retention: Option<std::time::Duration>,
    /// Retention per stream selector, overriding `retention` (Loki's
    /// `retention_stream`).
    pub retention_streams: Vec<StreamRetention>,
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
}

pub struct LogStore {
    opts: Options,
    head: Head,
    inflight: Arc<InflightCommits>,
    rate: Mutex<RateLimiter>,
    pub counters: Counters,
}

impl LogStore {
    /// A store with nothing in it; open it before the database and hand it
    /// to `Db::open_with_stores`, which replays the WAL into it.
    pub fn open(opts: Options) -> Arc<LogStore> {
        Arc::new(LogStore {
            opts,
            head: Head::default(),
            inflight: Arc::default(),
            rate: Mutex::default(),
            counters: Counters::default(),
        })
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
            let applied = store.head.apply(streams, pos.segment);
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
        Ok(self.head.select(
            &query.matchers,
            start,
            end,
            direction,
            limit,
            &mut |l, e| pipeline.run(l, e),
        ))
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
        app.add_record(record::encode_delete(&d), move |_| {
            store.apply_delete(&query, start, end);
            drop(ticket);
        })?;
        app.commit()?;
        Ok(())
    }

    fn apply_delete(&self, query: &LogExpr, start: i64, end: i64) {
        let Ok(filters) = Pipeline::new(&query.pipeline) else {
            return;
        };
        let n = self.head.delete(&query.matchers, start, end, &|e| {
            filters.keeps_line(&e.line).unwrap_or(false)
        });
        self.counters
            .entries_deleted
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Applies retention: drops entries older than `retention` before the
    /// newest entry held (ages are measured as the metric store measures
    /// them, from the newest data, not the wall clock). The WAL segments
    /// only they held become free to truncate. Returns the entries dropped.
    pub fn apply_retention(&self) -> usize {
        let Some(newest) = self.head.newest_overall() else {
            return 0;
        };
        let (rules, default) = (&self.opts.retention_streams, self.opts.retention);
        let n = self.head.expire_by(&|labels| {
            let keep = StreamRetention::of(rules, labels, default)?;
            Some(newest.saturating_sub(i64::try_from(keep.as_nanos()).unwrap_or(i64::MAX)))
        });
        self.counters
            .entries_expired
            .fetch_add(n as u64, Ordering::Relaxed);
        n
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
            self.apply_delete(&query, d.start, d.end);
            return Ok(());
        }
        let streams = record::decode(rec).map_err(tsdb::Error::from)?;
        let applied = self.head.apply(streams, segment);
        self.counters
            .entries_replayed
            .fetch_add(applied.entries as u64, Ordering::Relaxed);
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
