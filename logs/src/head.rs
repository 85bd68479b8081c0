//! The log head: every stream ever seen, with postings from label pairs to
//! streams; each stream's entries not yet in a block, and the blocks
//! holding the rest. Queries read both through one lock, so an entry moving
//! into a block is never seen twice or missed.
//!
//! Contracts:
//! - a stream's entries are kept in time order; entries with the same time
//!   keep their arrival order;
//! - an entry equal to one the head holds (same time, same line, same
//!   metadata) is dropped as a duplicate, as Loki drops it, so a client's
//!   retry of an acknowledged push stores nothing twice; admission drops
//!   those a block holds ([`dedup`]);
//! - an entry of a WAL segment whose entries of that stream are in a block
//!   already (replay after a flush) is skipped;
//! - stream ids are dense and never reused while the process runs.
//!
//! - [`read`]: for_each_stream, series and label values over the head
//!   and its blocks;
//! - [`dedup`]: finding pushed entries that blocks hold already;
//! - [`flush`]: moving entries into blocks, and blocks in and out;
//! - [`merge`]: swapping blocks (rewritten, merged, dropped);
//! - [`plain`]: reading for metric queries that only filter lines;
//! - [`select`]: log queries with a limit, reading the fewest chunks;
//! - [`stats`]: counts and bytes per stream, for the index endpoints.

mod dedup;
mod flush;
mod merge;
mod plain;
mod read;
mod select;
mod stats;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;
use roaring::RoaringBitmap;
use tsdb::model::{Labels, Matcher};

use crate::block::Block;
use crate::model::{Entry, StreamPush};

pub use flush::{Flushable, Flushing};
pub use plain::Split;
pub use read::{LineFilter, ReadCounters};
pub use stats::StreamStats;

/// One stream: its labels, entries not yet in a block (in time order), and
/// the blocks holding its other entries.
#[derive(Debug)]
pub struct Stream {
    pub labels: Labels,
    pub entries: Vec<Entry>,
    /// The WAL segment of each entry (parallel to `entries`).
    segments: Vec<u64>,
    /// The oldest WAL segment holding one of its entries.
    pub min_segment: u64,
    /// Bytes of the lines of `entries`.
    bytes: usize,
    /// When the oldest entry of `entries` arrived.
    pending_since: Option<Instant>,
    /// Entries being written into a block (moved out of `entries`; read
    /// as the head's until the block is in place).
    flushing: Option<Arc<Flushing>>,
    /// Blocks holding its entries, oldest first, with its index in each.
    blocks: Vec<(Arc<Block>, usize)>,
    /// The newest entry time in those blocks.
    flushed_newest: Option<i64>,
    /// Its entries of WAL segments up to this one are in blocks.
    flushed_through: Option<u64>,
    /// Entries older than this have expired (also where a block still
    /// holds them).
    visible_from: i64,
}

impl Stream {
    fn new(labels: Labels, segment: u64) -> Stream {
        Stream {
            labels,
            entries: Vec::new(),
            segments: Vec::new(),
            min_segment: segment,
            bytes: 0,
            pending_since: None,
            flushing: None,
            blocks: Vec::new(),
            flushed_newest: None,
            flushed_through: None,
            visible_from: i64::MIN,
        }
    }

    /// Adds `e` (from WAL `segment`) in time order; `false` when it is a
    /// duplicate.
    fn insert(&mut self, e: Entry, segment: u64) -> bool {
        let at = self.entries.partition_point(|x| x.ts <= e.ts);
        let same_time = self.entries[..at].iter().rev().take_while(|x| x.ts == e.ts);
        if same_time.into_iter().any(|x| *x == e) {
            return false;
        }
        if self.entries.is_empty() {
            self.pending_since = Some(Instant::now());
        }
        self.bytes += e.line.len();
        self.entries.insert(at, e);
        self.segments.insert(at, segment);
        self.min_segment = self.min_segment.min(segment);
        true
    }

    /// Keeps the entries `keep` accepts; returns how many went.
    fn retain(&mut self, keep: impl Fn(&Entry, u64) -> bool) -> usize {
        let flags: Vec<bool> = self
            .entries
            .iter()
            .zip(&self.segments)
            .map(|(e, &s)| keep(e, s))
            .collect();
        let before = self.entries.len();
        let mut it = flags.iter();
        self.entries.retain(|_| it.next().copied().unwrap_or(true));
        let mut it = flags.iter();
        self.segments.retain(|_| it.next().copied().unwrap_or(true));
        self.after_removal();
        before - self.entries.len()
    }

    /// Recomputes what depends on the entries after some left.
    fn after_removal(&mut self) {
        self.min_segment = self.segments.iter().copied().min().unwrap_or(u64::MAX);
        self.bytes = self.entries.iter().map(|e| e.line.len()).sum();
        if self.entries.is_empty() {
            self.pending_since = None;
        }
    }

    /// Drops the entries older than `cutoff` and hides those of blocks;
    /// returns how many left the head.
    fn expire(&mut self, cutoff: i64) -> usize {
        self.visible_from = self.visible_from.max(cutoff);
        let n = self.entries.partition_point(|e| e.ts < cutoff);
        if n > 0 {
            self.retain(|e, _| e.ts >= cutoff);
        }
        n
    }

    /// The newest entry's time, in the head or a block.
    pub fn newest(&self) -> Option<i64> {
        let flushing = self.flushing.as_ref().and_then(|f| f.entries.last());
        self.entries
            .last()
            .map(|e| e.ts)
            .max(flushing.map(|e| e.ts))
            .max(self.flushed_newest)
    }

    /// The oldest WAL segment one of its entries not yet in a block came
    /// from.
    fn needs_segment(&self) -> Option<u64> {
        let head = (!self.entries.is_empty()).then_some(self.min_segment);
        let flushing = self.flushing.as_ref().map(|f| f.min_segment);
        match (head, flushing) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[derive(Default)]
struct Inner {
    ids: HashMap<Labels, u32>,
    streams: Vec<Stream>,
    /// Label name → value → streams.
    postings: BTreeMap<String, BTreeMap<String, RoaringBitmap>>,
    /// Line bytes of every stream's `entries`.
    bytes: usize,
    /// Every block, oldest first.
    blocks: Vec<Arc<Block>>,
}

impl Inner {
    /// The id of the stream with `labels`, made if new (`true` then).
    fn stream_id(&mut self, labels: &Labels, segment: u64) -> (u32, bool) {
        if let Some(&id) = self.ids.get(labels) {
            return (id, false);
        }
        let id = self.streams.len() as u32;
        for l in labels.iter() {
            self.postings
                .entry(l.name.to_string())
                .or_default()
                .entry(l.value.to_string())
                .or_default()
                .insert(id);
        }
        self.ids.insert(labels.clone(), id);
        self.streams.push(Stream::new(labels.clone(), segment));
        (id, true)
    }

    /// The streams every matcher selects.
    fn matching(&self, matchers: &[Matcher]) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        out.insert_range(0..self.streams.len() as u32);
        for m in matchers {
            let values = self.postings.get(&m.name);
            let with = |keep: bool| {
                let mut set = RoaringBitmap::new();
                for (v, ids) in values.into_iter().flatten() {
                    if m.matches(v) == keep {
                        set |= ids;
                    }
                }
                set
            };
            if m.matches_empty() {
                // Streams without the label match too: all but those whose
                // value does not.
                out -= with(false);
            } else {
                out &= with(true);
            }
        }
        out
    }
}

#[derive(Default)]
pub struct Head {
    inner: RwLock<Inner>,
    pub reads: ReadCounters,
}

/// What [`Head::apply`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub entries: usize,
    pub duplicates: usize,
    pub new_streams: usize,
    /// Entries of replayed records that blocks hold already.
    pub in_blocks: usize,
}

impl Head {
    /// Adds committed entries (from WAL `segment`).
    pub fn apply(&self, push: Vec<StreamPush>, segment: u64) -> Applied {
        self.apply_tapped(push, segment, None)
    }

    /// [`apply`](Self::apply), copying the entries the head took into
    /// `taken` (when given), by stream.
    pub fn apply_tapped(
        &self,
        push: Vec<StreamPush>,
        segment: u64,
        mut taken: Option<&mut Vec<StreamPush>>,
    ) -> Applied {
        let mut applied = Applied::default();
        let mut inner = self.inner.write();
        for s in push {
            let (id, new) = inner.stream_id(&s.labels, segment);
            applied.new_streams += usize::from(new);
            let stream = &mut inner.streams[id as usize];
            if stream.flushed_through.is_some_and(|f| segment <= f) {
                applied.in_blocks += s.entries.len();
                continue;
            }
            let before = stream.bytes;
            let mut took = Vec::new();
            for e in s.entries {
                let copy = taken.is_some().then(|| e.clone());
                if stream.insert(e, segment) {
                    applied.entries += 1;
                    took.extend(copy);
                } else {
                    applied.duplicates += 1;
                }
            }
            if let Some(t) = taken.as_deref_mut().filter(|_| !took.is_empty()) {
                t.push(StreamPush {
                    labels: s.labels,
                    entries: took,
                });
            }
            let added = stream.bytes - before;
            inner.bytes += added;
        }
        applied
    }

    /// The newest entry's time of the stream with `labels`, if it is held.
    pub fn newest(&self, labels: &Labels) -> Option<i64> {
        let inner = self.inner.read();
        let id = *inner.ids.get(labels)?;
        inner.streams[id as usize].newest()
    }

    /// The newest entry's time over every stream.
    pub fn newest_overall(&self) -> Option<i64> {
        let inner = self.inner.read();
        inner.streams.iter().filter_map(Stream::newest).max()
    }

    /// Drops every entry older than `cutoff` (nanoseconds); returns how
    /// many left the head. Streams stay known (their ids are never
    /// reused), empty.
    pub fn expire(&self, cutoff: i64) -> usize {
        self.expire_by(&|_| Some(cutoff))
    }

    /// [`expire`](Self::expire) with a cutoff per stream (`None`: keep).
    /// Entries of blocks older than the cutoff are hidden at once.
    pub fn expire_by(&self, cutoff: &dyn Fn(&Labels) -> Option<i64>) -> usize {
        let mut inner = self.inner.write();
        let n = inner
            .streams
            .iter_mut()
            .map(|s| cutoff(&s.labels).map_or(0, |c| s.expire(c)))
            .sum();
        inner.bytes = inner.streams.iter().map(|s| s.bytes).sum();
        n
    }

    /// Deletes the head entries of the streams `matchers` select in
    /// `[start, end]` (nanoseconds) whose line `matches`; returns how many.
    /// (Blocks are rewritten by the store.)
    pub fn delete(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        matches: &dyn Fn(&Entry) -> bool,
    ) -> usize {
        let mut inner = self.inner.write();
        let ids = inner.matching(matchers);
        let n = ids
            .iter()
            .map(|id| {
                inner.streams[id as usize]
                    .retain(|e, _| !(e.ts >= start && e.ts <= end && matches(e)))
            })
            .sum();
        inner.bytes = inner.streams.iter().map(|s| s.bytes).sum();
        n
    }

    /// Streams known.
    pub fn streams(&self) -> usize {
        self.inner.read().streams.len()
    }

    /// Bytes of the lines not yet in blocks.
    pub fn bytes(&self) -> usize {
        self.inner.read().bytes
    }

    /// The oldest WAL segment holding an entry not yet in a block, if any.
    pub fn min_segment(&self) -> Option<u64> {
        let inner = self.inner.read();
        inner.streams.iter().filter_map(Stream::needs_segment).min()
    }
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
