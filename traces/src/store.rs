//! The span store: spans in through the database's WAL and commit, out by
//! trace id and by search, over the head and the blocks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use parking_lot::{Mutex, RwLock};
use tsdb::db::{Appender, Db, InflightCommits, WalStore};
use tsdb::wal::RecordFamily;

use crate::block::{self, Block};
use crate::error::{Error, Result};
use crate::head::{self, Head, LiveTrace, StoredSpan, Verdict};
use crate::id::TraceId;
use crate::record;
use crate::sampling::Sampler;
use crate::spanmetrics::{MetricsOptions, SpanMetrics};
use crate::validate;

/// How the store keeps spans.
#[derive(Debug, Clone)]
pub struct Options {
    /// Blocks whose newest span ended longer ago than this are deleted.
    pub retention: Duration,
    /// A trace is decided once no span of it arrived for this long.
    pub decision_wait: Duration,
    /// Most undecided traces held; past it the oldest are decided early
    /// (at least a twentieth of this at a time).
    pub num_traces: usize,
    /// Verdicts remembered for late spans.
    pub decision_cache: usize,
    /// A block is cut once the kept traces hold this many encoded bytes …
    pub max_block_bytes: usize,
    /// … or the oldest of them arrived this long ago.
    pub max_block_age: Duration,
    /// Tail sampling; `None` keeps every trace.
    pub sampler: Option<Arc<Sampler>>,
    /// Span metrics; `None` derives none.
    pub span_metrics: Option<MetricsOptions>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            retention: Duration::from_secs(7 * 24 * 3600),
            decision_wait: Duration::from_secs(10),
            num_traces: 50_000,
            decision_cache: 100_000,
            max_block_bytes: 64 << 20,
            max_block_age: Duration::from_secs(300),
            sampler: None,
            span_metrics: Some(MetricsOptions::default()),
        }
    }
}

pub struct SpanStore {
    blocks_dir: PathBuf,
    opts: Options,
    head: Head,
    blocks: RwLock<Vec<Arc<Block>>>,
    /// Commits under way, holding back WAL truncation.
    inflight: Arc<InflightCommits>,
    /// Span ids of traces already in blocks, met during replay.
    replay_seen: Mutex<HashMap<TraceId, HashSet<[u8; 8]>>>,
    metrics: Option<SpanMetrics>,
    pub counters: Counters,
}

#[derive(Debug, Default)]
pub struct Counters {
    pub spans_received: AtomicU64,
    /// Spans refused by validation (counted by the receiver).
    pub spans_refused: AtomicU64,
    pub spans_replayed: AtomicU64,
    pub spans_replay_skipped: AtomicU64,
    pub traces_kept: AtomicU64,
    pub traces_dropped: AtomicU64,
    pub blocks_written: AtomicU64,
    pub blocks_deleted: AtomicU64,
    /// Damaged blocks moved aside at open.
    pub blocks_quarantined: AtomicU64,
    /// Sampling verdicts by policy name (or `"none"` with no sampler).
    pub decisions: Mutex<BTreeMap<(String, &'static str), u64>>,
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl SpanStore {
    /// Opens the store in `dir` (its blocks under `dir/blocks`). Open it
    /// before the database, and hand it to `Db::open_with_stores`.
    pub fn open(dir: &Path, opts: Options) -> Result<Arc<SpanStore>> {
        let blocks_dir = dir.join("blocks");
        std::fs::create_dir_all(&blocks_dir).map_err(|e| Error::io("mkdir", &blocks_dir, e))?;
        let (blocks, quarantined) = load_blocks(&blocks_dir, &dir.join("quarantine"))?;
        let counters = Counters::default();
        counters
            .blocks_quarantined
            .store(quarantined, Ordering::Relaxed);
        Ok(Arc::new(SpanStore {
            blocks_dir,
            head: Head::new(opts.decision_cache),
            metrics: opts.span_metrics.clone().map(SpanMetrics::new),
            opts,
            blocks: RwLock::new(blocks),
            inflight: Arc::default(),
            replay_seen: Mutex::default(),
            counters,
        }))
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Commits decoded spans in one batch of `db` (for callers holding
    /// messages; a receiver hands over what [`validate`] accepted with
    /// [`SpanStore::append_spans`]). Durable when this returns `Ok`.
    ///
    /// [`validate`]: crate::validate::validate
    pub fn append(self: &Arc<Self>, db: &Db, batch: Vec<ResourceSpans>) -> Result<()> {
        let spans = head::split(batch)
            .iter()
            .map(|(id, s)| (*id, StoredSpan::new(s)))
            .collect();
        self.append_spans(db, spans)
    }

    /// Commits validated spans in one batch of `db`: durable when this
    /// returns `Ok`.
    pub fn append_spans(
        self: &Arc<Self>,
        db: &Db,
        spans: Vec<(TraceId, StoredSpan)>,
    ) -> Result<()> {
        let mut app = db.appender();
        self.add_to(db, &mut app, spans)?;
        app.commit()?;
        Ok(())
    }

    /// Adds validated spans to a batch of `db` (with samples, say); they
    /// reach the head when the batch commits, and never if it does not.
    /// The record carries each span's bytes as they are.
    pub fn add_to(
        self: &Arc<Self>,
        db: &Db,
        app: &mut Appender<'_>,
        spans: Vec<(TraceId, StoredSpan)>,
    ) -> Result<()> {
        if spans.is_empty() {
            return Ok(());
        }
        let rec = record::encode_stored(spans.iter().map(|(_, s)| s));
        let ticket = self.inflight.begin(db);
        let store = self.clone();
        app.add_record(rec, move |pos| {
            if let Some(m) = &store.metrics {
                m.observe_spans(&spans, now_ms());
            }
            store
                .counters
                .spans_received
                .fetch_add(spans.len() as u64, Ordering::Relaxed);
            store.apply(spans, pos.segment);
            drop(ticket);
        })?;
        Ok(())
    }

    fn apply(&self, spans: Vec<(TraceId, StoredSpan)>, segment: u64) {
        self.head.apply(spans, segment, now_ms());
        let over = self.head.live_traces().saturating_sub(self.opts.num_traces);
        if over > 0 {
            // Finding the oldest scans every live trace: decide a twentieth
            // of the cap at once, so that scan is rare.
            self.decide(i64::MIN, over.max(self.opts.num_traces / 20));
        }
    }

    /// Background work: decides quiet traces, cuts a block when one is due
    /// (`force`: whenever any trace is kept), applies retention.
    pub fn maintain(&self, force: bool) -> Result<()> {
        let wait = self.opts.decision_wait.as_millis() as i64;
        self.decide(now_ms() - wait, 0);
        let (bytes, oldest) = self.head.kept_size();
        let age_due =
            oldest.is_some_and(|t| now_ms() - t >= self.opts.max_block_age.as_millis() as i64);
        if bytes > 0 && (force || age_due || bytes >= self.opts.max_block_bytes) {
            self.flush()?;
        }
        self.apply_retention()
    }

    /// Decides every live trace (as at shutdown) and writes the kept ones
    /// to a block.
    pub fn flush_all(&self) -> Result<()> {
        self.decide(i64::MAX, 0);
        self.flush()
    }

    fn decide(&self, quiet_since_ms: i64, early: usize) {
        let sampler = self.opts.sampler.as_ref();
        let counters = &self.counters;
        let metrics = self.metrics.as_ref();
        let now = now_ms();
        let decided = self
            .head
            .decide(quiet_since_ms, early, &|id, t: &LiveTrace| {
                if let Some(m) = metrics {
                    m.observe_trace(&t.spans, now);
                }
                let (verdict, policy) = match sampler {
                    None => (Verdict::Keep, "none".to_string()),
                    Some(s) => s.decide(id, &t.decoded()),
                };
                let name = if verdict == Verdict::Keep {
                    "sampled"
                } else {
                    "not_sampled"
                };
                *counters.decisions.lock().entry((policy, name)).or_default() += 1;
                verdict
            });
        for (_, v) in decided {
            let c = match v {
                Verdict::Keep => &self.counters.traces_kept,
                Verdict::Drop => &self.counters.traces_dropped,
            };
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&self) -> Result<()> {
        let Some(traces) = self.head.start_flush() else {
            return Ok(());
        };
        let written = block::write(&self.blocks_dir, &traces).and_then(|dir| Block::open(&dir));
        drop(traces);
        match written {
            Ok(b) => {
                self.blocks.write().push(Arc::new(b));
                self.head.finish_flush(true);
                self.counters.blocks_written.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.head.finish_flush(false);
                Err(e)
            }
        }
    }

    fn apply_retention(&self) -> Result<()> {
        let cutoff = now_ns().saturating_sub(self.opts.retention.as_nanos() as u64);
        let expired: Vec<Arc<Block>> = {
            let mut blocks = self.blocks.write();
            let (old, keep): (Vec<_>, Vec<_>) = blocks
                .drain(..)
                .partition(|b| b.meta().max_time_ns < cutoff);
            *blocks = keep;
            old
        };
        for b in expired {
            std::fs::remove_dir_all(b.dir()).map_err(|e| Error::io("remove", b.dir(), e))?;
            self.counters.blocks_deleted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Writes the span metrics' current values into `db` at the present
    /// time, in one commit.
    pub fn write_metrics(&self, db: &Db) -> Result<()> {
        let Some(m) = &self.metrics else {
            return Ok(());
        };
        let mut app = db.appender();
        m.write(&mut app, now_ms());
        app.commit()?;
        Ok(())
    }

    /// The span metrics, when derived.
    pub fn metrics(&self) -> Option<&SpanMetrics> {
        self.metrics.as_ref()
    }

    /// Every stored span of trace `id` (head and blocks, each span once by
    /// span id); empty when the trace is unknown.
    pub fn trace(&self, id: &TraceId) -> Result<Vec<ResourceSpans>> {
        let mut out = Vec::new();
        for b in self.blocks.read().iter() {
            if let Some(i) = b.find(id) {
                out.extend(b.read(i)?);
            }
        }
        out.extend(head::to_otlp(&self.head.trace(id)));
        Ok(dedup_spans(out))
    }

    /// The open blocks, oldest first.
    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.blocks.read().clone()
    }

    pub fn head(&self) -> &Head {
        &self.head
    }

    /// Ends replay: forgets what it needed to skip spans already in blocks.
    pub fn replayed(&self) {
        self.replay_seen.lock().clear();
    }

    /// Whether a replayed span is already in a block.
    fn in_blocks(&self, id: &TraceId, span_id: &[u8; 8]) -> tsdb::Result<bool> {
        let mut seen = self.replay_seen.lock();
        if !seen.contains_key(id) {
            let mut ids = HashSet::new();
            for b in self.blocks.read().iter() {
                let Some(i) = b.find(id) else { continue };
                let spans = b.read(i).map_err(tsdb::Error::from)?;
                for rs in spans {
                    for ss in rs.scope_spans {
                        ids.extend(
                            ss.spans
                                .iter()
                                .filter_map(|s| <[u8; 8]>::try_from(&s.span_id[..]).ok()),
                        );
                    }
                }
            }
            seen.insert(*id, ids);
        }
        Ok(seen.get(id).is_some_and(|ids| ids.contains(span_id)))
    }
}

/// Drops repeated spans (same span id within the trace), keeping the first.
fn dedup_spans(mut batch: Vec<ResourceSpans>) -> Vec<ResourceSpans> {
    let mut seen = HashSet::new();
    for rs in &mut batch {
        for ss in &mut rs.scope_spans {
            ss.spans.retain(|s| seen.insert(s.span_id.clone()));
        }
        rs.scope_spans.retain(|ss| !ss.spans.is_empty());
    }
    batch.retain(|rs| !rs.scope_spans.is_empty());
    batch
}

impl WalStore for SpanStore {
    fn family(&self) -> RecordFamily {
        RecordFamily::Spans
    }

    fn replay(&self, rec: &[u8], segment: u64) -> tsdb::Result<()> {
        let body = record::body(rec).map_err(tsdb::Error::from)?;
        let v = validate::validate(body, &validate::Limits::NONE)
            .map_err(|e| tsdb::Error::from(Error::BadRecord(e)))?;
        if let Some(why) = v.reasons.first() {
            tracing::warn!(
                refused = v.rejected_spans,
                "spans in the WAL that no longer pass validation are skipped: {why}"
            );
        }
        let before = v.spans.len();
        let mut keep = Vec::with_capacity(before);
        for (id, s) in v.spans {
            if !self.in_blocks(&id, &s.span_id)? {
                keep.push((id, s));
            }
        }
        let c = &self.counters;
        c.spans_replay_skipped.fetch_add(
            (before - keep.len() + v.rejected_spans) as u64,
            Ordering::Relaxed,
        );
        c.spans_replayed
            .fetch_add(keep.len() as u64, Ordering::Relaxed);
        self.apply(keep, segment);
        Ok(())
    }

    fn persisted_through(&self) -> u64 {
        self.inflight.persisted_through(|| self.head.min_segment())
    }
}

/// Opens the blocks in `dir`. A damaged block (a checksum or structure
/// that does not hold, a missing file) is moved into `quarantine` with an
/// error logged, so the other blocks and the WAL stay served; returns how
/// many were. A block of an unknown format version stops the open.
fn load_blocks(dir: &Path, quarantine: &Path) -> Result<(Vec<Arc<Block>>, u64)> {
    let mut out = Vec::new();
    let mut quarantined = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read dir", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read dir", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with('.') && name.ends_with(".tmp") {
            // A block that was being written when the process stopped.
            std::fs::remove_dir_all(&path).map_err(|e| Error::io("remove", &path, e))?;
            continue;
        }
        if !path.is_dir() {
            continue;
        }
        match Block::open(&path) {
            Ok(b) => out.push((name, Arc::new(b))),
            Err(e) if is_damage(&e) => {
                std::fs::create_dir_all(quarantine)
                    .map_err(|e| Error::io("mkdir", quarantine, e))?;
                let to = quarantine.join(&name);
                std::fs::rename(&path, &to).map_err(|e| Error::io("rename", &path, e))?;
                tracing::error!(block = %name, error = %e, to = %to.display(), "span block is damaged: moved aside");
                quarantined += 1;
            }
            Err(e) => return Err(e),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((out.into_iter().map(|(_, b)| b).collect(), quarantined))
}

fn is_damage(e: &Error) -> bool {
    match e {
        Error::Corruption { .. } => true,
        Error::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
