//! One in-memory series and the striped map that finds series by id and by
//! label hash.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use parking_lot::{Mutex, RwLock};

use crate::chunkenc::histogram::{ChunkLimits, StHistogramChunk, TimedHistogram, encode_values};
use crate::chunkenc::{ENCODING_XOR, Encoding, MAX_SAMPLES_PER_CHUNK, StWriter, XorAppender};
use crate::error::{Error, Result};
use crate::model::histogram::{HistogramValue, Span};
use crate::model::{Labels, Sample};
use crate::querier::{ChunkBytes, ChunkMeta};

/// A completed, immutable chunk of in-order samples.
pub(crate) struct ClosedChunk {
    pub min_t: i64,
    pub max_t: i64,
    /// XOR, or XOR wrapped with start timestamps.
    pub encoding: Encoding,
    pub bytes: Arc<[u8]>,
}

/// What happened to one appended sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    InOrder,
    OutOfOrder,
    /// Same timestamp and value bits as a stored sample: ignored.
    Duplicate,
}

/// The mutable part of a series, guarded by the series' mutex.
pub(crate) struct SeriesState {
    /// Float and histogram chunks, in time order.
    pub(super) closed: Vec<ClosedChunk>,
    /// The open float chunk; at most one of `head` and `hist_head` is open.
    head: Option<XorAppender>,
    /// The open histogram chunk (boxed: most series never have one).
    pub(super) hist_head: Option<Box<StHistogramChunk>>,
    /// Start timestamps of the head chunk's samples, from the first sample
    /// of the chunk that had one (boxed: most series never have any).
    head_st: Option<Box<StWriter>>,
    /// The head chunk is cut when a sample reaches this time (block boundary).
    pub(super) head_end: i64,
    /// The last in-order sample (for a histogram: its time, NaN).
    pub(super) last: Option<Sample>,
    /// The last in-order sample is a histogram (in `hist_head`).
    pub(super) last_is_histogram: bool,
    /// Accepted out-of-order samples, sorted by time, unique timestamps.
    ooo: Vec<Sample>,
    /// Accepted out-of-order histogram samples, likewise.
    pub(super) ooo_hists: Vec<TimedHistogram>,
    /// Samples of uncommitted batches ([`hold`](Self::hold)); truncation
    /// keeps the series while there are any.
    pending: u32,
    /// Truncation removed the series from the head: appends must look its
    /// labels up again (and get a new series).
    removed: bool,
}

/// Limits that decide where a sample goes; computed once per commit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AppendBounds {
    /// Samples older than this are rejected (`OutOfBounds`).
    pub min_valid: i64,
    /// Out-of-order samples at or after this are accepted (`i64::MAX` = no
    /// out-of-order window).
    pub ooo_min: i64,
    /// Chunk boundaries are multiples of this (the block range).
    pub chunk_range: i64,
}

pub(crate) struct MemSeries {
    pub id: u32,
    pub labels: Labels,
    pub state: Mutex<SeriesState>,
    /// A committed batch logged the series' record to the WAL (or replay
    /// read it from there). Until then every batch that appends to the
    /// series logs the record, so that a batch whose commit failed cannot
    /// leave later samples without their series on replay.
    pub wal_logged: AtomicBool,
}

impl MemSeries {
    pub fn new(id: u32, labels: Labels) -> Self {
        MemSeries {
            id,
            labels,
            state: Mutex::new(SeriesState {
                closed: Vec::new(),
                head: None,
                hist_head: None,
                head_st: None,
                head_end: i64::MIN,
                last: None,
                last_is_histogram: false,
                ooo: Vec::new(),
                ooo_hists: Vec::new(),
                pending: 0,
                removed: false,
            }),
            wal_logged: AtomicBool::new(false),
        }
    }
}

impl SeriesState {
    /// Checks a sample without storing it (used at `append` time so callers
    /// learn of bad samples before commit).
    pub fn check(&self, t: i64, v: f64, b: &AppendBounds) -> Result<()> {
        match self.last {
            Some(last) if t < last.t => {
                if t < b.ooo_min {
                    // A resent sample that is stored already is a
                    // duplicate, not an error (resends stay idempotent).
                    if self.holds_float(t, v) {
                        return Ok(());
                    }
                    return Err(Error::OutOfOrder {
                        t,
                        min_valid: last.t,
                    });
                }
                if let Ok(i) = self.ooo.binary_search_by_key(&t, |s| s.t)
                    && self.ooo[i].v.to_bits() != v.to_bits()
                {
                    return Err(Error::DuplicateSample { t });
                }
                Ok(())
            }
            Some(last)
                if t == last.t && (self.last_is_histogram || last.v.to_bits() != v.to_bits()) =>
            {
                Err(Error::DuplicateSample { t })
            }
            _ if t < b.min_valid && t < b.ooo_min => Err(Error::OutOfBounds {
                t,
                min_valid: b.min_valid,
            }),
            _ => Ok(()),
        }
    }

    /// [`check`](Self::check)s a sample of a batch and counts it as
    /// pending until [`release`](Self::release). Fails with `UnknownSeries`
    /// once truncation removed the series (`id` names it).
    pub fn hold(&mut self, id: u32, t: i64, v: f64, b: &AppendBounds) -> Result<()> {
        if self.removed {
            return Err(Error::UnknownSeries {
                series_ref: u64::from(id),
            });
        }
        self.check(t, v, b)?;
        self.pending += 1;
        Ok(())
    }

    pub(super) fn removed(&self) -> bool {
        self.removed
    }

    pub(super) fn add_pending(&mut self) {
        self.pending += 1;
    }

    /// Ends one [`hold`](Self::hold) (the sample was committed or dropped).
    pub fn release(&mut self) {
        self.pending = self.pending.saturating_sub(1);
    }

    /// Marks the series removed if it holds no samples and no batch holds
    /// any for it; returns whether it did. Under the series' lock, so a
    /// batch either sees the mark or keeps the series alive.
    pub fn try_remove(&mut self) -> bool {
        if self.is_empty() && self.pending == 0 {
            self.removed = true;
        }
        self.removed
    }

    /// Stores a sample with start timestamp `st` (0: none), re-checking it
    /// (state may have moved since `check`). Out-of-order samples keep no
    /// start timestamp, and a duplicate does not change the stored one.
    pub fn append(&mut self, t: i64, v: f64, st: i64, b: &AppendBounds) -> Result<Appended> {
        self.check(t, v, b)?;
        match self.last {
            Some(last) if t == last.t => Ok(Appended::Duplicate),
            Some(last) if t < last.t && t < b.ooo_min => Ok(Appended::Duplicate),
            Some(last) if t < last.t => {
                match self.ooo.binary_search_by_key(&t, |s| s.t) {
                    Ok(_) => return Ok(Appended::Duplicate),
                    Err(i) => self.ooo.insert(i, Sample::new(t, v)),
                }
                Ok(Appended::OutOfOrder)
            }
            // A float stale marker ends a histogram series as a
            // histogram stale marker (as Prometheus converts it).
            _ if self.last_is_histogram && crate::model::is_stale_nan(v) => {
                let marker = self.histogram_stale_marker();
                self.append_histogram(t, &marker, 0, b)
            }
            _ => {
                self.append_in_order(t, v, st, b.chunk_range);
                Ok(Appended::InOrder)
            }
        }
    }

    fn append_in_order(&mut self, t: i64, v: f64, st: i64, chunk_range: i64) {
        if self.hist_head.is_some() {
            self.close_hist_head();
        }
        let cut = match &self.head {
            None => true,
            Some(h) => h.num_samples() >= MAX_SAMPLES_PER_CHUNK || t >= self.head_end,
        };
        if cut {
            self.close_head();
            self.head = Some(XorAppender::new());
            self.head_end = next_boundary(t, chunk_range);
        }
        if let Some(h) = &mut self.head {
            if st != 0 && self.head_st.is_none() {
                self.head_st = Some(Box::new(StWriter::with_leading_none(
                    h.num_samples(),
                    h.last_time(),
                )));
            }
            if let Some(w) = &mut self.head_st {
                w.append(t, st);
            }
            h.append(t, v);
        }
        self.last = Some(Sample::new(t, v));
        self.last_is_histogram = false;
    }

    pub(super) fn close_head(&mut self) {
        let st = self.head_st.take();
        if let Some(h) = self.head.take()
            && let (Some(min_t), Some(max_t)) = (h.first_time(), h.last_time())
        {
            let (encoding, bytes) = head_chunk_bytes(&h, st.as_deref());
            self.closed.push(ClosedChunk {
                min_t,
                max_t,
                encoding,
                bytes,
            });
        }
    }

    /// Chunks overlapping `[mint, maxt]`, in-order data first and
    /// out-of-order data (encoded on the fly) last, so that it wins ties.
    pub fn chunks(&self, mint: i64, maxt: i64) -> Vec<ChunkMeta> {
        let mut out: Vec<ChunkMeta> = self
            .closed
            .iter()
            .filter(|c| c.min_t <= maxt && c.max_t >= mint)
            .map(|c| ChunkMeta {
                min_t: c.min_t,
                max_t: c.max_t,
                encoding: c.encoding,
                data: ChunkBytes::Heap(c.bytes.clone()),
            })
            .collect();
        if let Some(h) = &self.head
            && let (Some(min_t), Some(max_t)) = (h.first_time(), h.last_time())
            && min_t <= maxt
            && max_t >= mint
        {
            let (encoding, bytes) = head_chunk_bytes(h, self.head_st.as_deref());
            out.push(ChunkMeta {
                min_t,
                max_t,
                encoding,
                data: ChunkBytes::Heap(bytes),
            });
        }
        if let Some(h) = &self.hist_head
            && h.min_t <= maxt
            && h.max_t() >= mint
        {
            out.push(super::series_hist::chunk_meta(h));
        }
        let lo = self.ooo.partition_point(|s| s.t < mint);
        let hi = self.ooo.partition_point(|s| s.t <= maxt);
        let (hlo, hhi) = (
            self.ooo_hists.partition_point(|s| s.t < mint),
            self.ooo_hists.partition_point(|s| s.t <= maxt),
        );
        for c in encode_values(&self.ooo_hists[hlo..hhi], ChunkLimits::HEAD) {
            out.push(super::series_hist::chunk_meta(&c));
        }
        for part in self.ooo[lo..hi].chunks(MAX_SAMPLES_PER_CHUNK) {
            let mut a = XorAppender::new();
            for s in part {
                a.append(s.t, s.v);
            }
            out.push(ChunkMeta {
                min_t: part[0].t,
                max_t: part[part.len() - 1].t,
                encoding: Encoding::Xor,
                data: ChunkBytes::Heap(Arc::from(a.to_bytes())),
            });
        }
        out
    }

    /// Whether the series holds the float sample `(t, v)` (bit for bit).
    /// Decodes the chunks around `t`: for resends only, never on the
    /// append path of new samples.
    pub(super) fn holds_float(&self, t: i64, v: f64) -> bool {
        let mut buf = crate::model::SampleBuf::new();
        for c in self.chunks(t, t) {
            c.encoding.read_into(c.data.as_slice(), t, t, &mut buf);
        }
        buf.floats()
            .iter()
            .any(|s| s.t == t && s.v.to_bits() == v.to_bits())
    }

    /// Whether the series holds a histogram at `t` with `h`'s observations.
    pub(super) fn holds_histogram(
        &self,
        t: i64,
        h: &crate::model::histogram::FloatHistogram,
    ) -> bool {
        let mut buf = crate::model::SampleBuf::new();
        for c in self.chunks(t, t) {
            c.encoding.read_into(c.data.as_slice(), t, t, &mut buf);
        }
        buf.histograms()
            .iter()
            .any(|s| s.t == t && s.h.same_observations(h))
    }

    /// Drops all data before `mint`: whole chunks that end before it and
    /// out-of-order samples before it. Returns whether the series is now
    /// empty (no samples at all).
    pub fn truncate_before(&mut self, mint: i64) -> bool {
        self.closed.retain(|c| c.max_t >= mint);
        if let Some(h) = &self.head
            && h.last_time().is_some_and(|t| t < mint)
        {
            self.head = None;
            self.head_st = None;
        }
        if self.hist_head.as_ref().is_some_and(|h| h.max_t() < mint) {
            self.hist_head = None;
        }
        let keep_from = self.ooo.partition_point(|s| s.t < mint);
        self.ooo.drain(..keep_from);
        let keep_from = self.ooo_hists.partition_point(|s| s.t < mint);
        self.ooo_hists.drain(..keep_from);
        self.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.closed.is_empty()
            && self.head.is_none()
            && self.hist_head.is_none()
            && self.ooo.is_empty()
            && self.ooo_hists.is_empty()
    }

    /// Oldest timestamp held (in-order or out-of-order).
    pub fn min_time(&self) -> Option<i64> {
        let a = self
            .closed
            .first()
            .map(|c| c.min_t)
            .or_else(|| self.head.as_ref().and_then(|h| h.first_time()))
            .or_else(|| self.hist_head.as_ref().map(|h| h.min_t));
        let b = self
            .ooo
            .first()
            .map(|s| s.t)
            .into_iter()
            .chain(self.ooo_hists.first().map(|s| s.t))
            .min();
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn num_chunks(&self) -> usize {
        self.closed.len() + usize::from(self.head.is_some() || self.hist_head.is_some())
    }

    /// Bytes of heap this series' samples use (chunk payloads and buffers).
    pub fn heap_bytes(&self) -> usize {
        self.closed.iter().map(|c| c.bytes.len()).sum::<usize>()
            + self.head.as_ref().map_or(0, XorAppender::heap_bytes)
            + self.head_st.as_ref().map_or(0, |w| w.heap_bytes())
            + self.hist_head.as_ref().map_or(0, |h| {
                h.heap_bytes() + std::mem::size_of::<StHistogramChunk>()
            })
            + self.ooo.capacity() * std::mem::size_of::<Sample>()
            + self
                .ooo_hists
                .iter()
                .map(|s| std::mem::size_of::<TimedHistogram>() + vec_bytes(&s.h))
                .sum::<usize>()
    }
}

/// The bytes of a head chunk as a reader sees them: plain XOR, or wrapped
/// with the start timestamps of its samples.
fn head_chunk_bytes(h: &XorAppender, st: Option<&StWriter>) -> (Encoding, Arc<[u8]>) {
    match st {
        None => (Encoding::Xor, Arc::from(h.to_bytes())),
        Some(w) => {
            let mut out = Vec::new();
            crate::chunkenc::st_wrap(ENCODING_XOR, &h.to_bytes(), w.bytes(), &mut out);
            (Encoding::WithSt, Arc::from(out))
        }
    }
}

/// The lock stripe of a label hash: its top bits (the map uses the low ones).
fn stripe_of(hash: u64) -> usize {
    (hash >> 58) as usize % STRIPES
}

/// The first multiple of `range` strictly after `t`.
pub(super) fn next_boundary(t: i64, range: i64) -> i64 {
    if range <= 0 {
        return i64::MAX;
    }
    t.div_euclid(range).saturating_add(1).saturating_mul(range)
}

const STRIPES: usize = 64;

/// Keys here are already well-mixed hashes or dense ids: hashing them
/// again (SipHash by default) would be wasted work on the ingest path.
#[derive(Default, Clone, Copy)]
pub(crate) struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u32(&mut self, v: u32) {
        // Spread dense ids over the table's buckets.
        self.0 = u64::from(v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<PassThrough>>;

/// The series with one label hash: almost always exactly one, kept
/// without a separate allocation.
#[derive(Default)]
enum Bucket {
    #[default]
    Empty,
    One(Arc<MemSeries>),
    /// Hash collisions.
    Many(Vec<Arc<MemSeries>>),
}

impl Bucket {
    fn as_slice(&self) -> &[Arc<MemSeries>] {
        match self {
            Bucket::Empty => &[],
            Bucket::One(s) => std::slice::from_ref(s),
            Bucket::Many(v) => v,
        }
    }

    fn push(&mut self, s: Arc<MemSeries>) {
        *self = match std::mem::take(self) {
            Bucket::Empty => Bucket::One(s),
            Bucket::One(first) => Bucket::Many(vec![first, s]),
            Bucket::Many(mut v) => {
                v.push(s);
                Bucket::Many(v)
            }
        };
    }

    /// Keeps the series `keep` accepts; `true` when none is left.
    fn retain(&mut self, keep: impl Fn(&MemSeries) -> bool) -> bool {
        *self = match std::mem::take(self) {
            Bucket::One(s) if keep(&s) => Bucket::One(s),
            Bucket::Many(mut v) => {
                v.retain(|s| keep(s));
                match v.len() {
                    0 => Bucket::Empty,
                    1 => Bucket::One(v.remove(0)),
                    _ => Bucket::Many(v),
                }
            }
            _ => Bucket::Empty,
        };
        matches!(self, Bucket::Empty)
    }
}

/// Series by id and by label hash, split into lock stripes so that writers
/// of different series rarely contend.
pub(crate) struct StripedSeries {
    by_id: Vec<RwLock<FastMap<u32, Arc<MemSeries>>>>,
    /// hash → series with that hash (collisions keep several).
    by_hash: Vec<RwLock<FastMap<u64, Bucket>>>,
}

impl StripedSeries {
    pub fn new() -> Self {
        StripedSeries {
            by_id: (0..STRIPES)
                .map(|_| RwLock::new(FastMap::default()))
                .collect(),
            by_hash: (0..STRIPES)
                .map(|_| RwLock::new(FastMap::default()))
                .collect(),
        }
    }

    pub fn by_id(&self, id: u32) -> Option<Arc<MemSeries>> {
        self.by_id[id as usize % STRIPES].read().get(&id).cloned()
    }

    /// Finds the series with `hash` whose labels equal `pairs`.
    pub fn by_pairs<'a>(
        &self,
        hash: u64,
        pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Option<Arc<MemSeries>> {
        let stripe = self.by_hash[stripe_of(hash)].read();
        stripe.get(&hash)?.as_slice().iter().find_map(|s| {
            let mut p = pairs.clone();
            let eq = s
                .labels
                .iter()
                .all(|l| p.next() == Some((&*l.name, &*l.value)))
                && p.next().is_none();
            eq.then(|| s.clone())
        })
    }

    /// Inserts `series` unless one with equal labels exists; returns the
    /// series that is now in the map and whether it was inserted.
    pub fn get_or_insert(&self, hash: u64, series: Arc<MemSeries>) -> (Arc<MemSeries>, bool) {
        let mut stripe = self.by_hash[stripe_of(hash)].write();
        let bucket = stripe.entry(hash).or_default();
        if let Some(existing) = bucket.as_slice().iter().find(|s| s.labels == series.labels) {
            return (existing.clone(), false);
        }
        bucket.push(series.clone());
        self.by_id[series.id as usize % STRIPES]
            .write()
            .insert(series.id, series.clone());
        (series, true)
    }

    pub fn remove(&self, series: &MemSeries) {
        let hash = series.labels.hash64();
        let mut stripe = self.by_hash[stripe_of(hash)].write();
        if let Some(bucket) = stripe.get_mut(&hash)
            && bucket.retain(|s| s.id != series.id)
        {
            stripe.remove(&hash);
        }
        self.by_id[series.id as usize % STRIPES]
            .write()
            .remove(&series.id);
    }

    /// Every series (a snapshot of the map; series may be added meanwhile).
    pub fn all(&self) -> Vec<Arc<MemSeries>> {
        let mut out = Vec::new();
        for stripe in &self.by_id {
            out.extend(stripe.read().values().cloned());
        }
        out
    }
}

/// Heap bytes of a histogram's spans, buckets and bounds.
fn vec_bytes(h: &HistogramValue) -> usize {
    let spans = std::mem::size_of::<Span>();
    match h {
        HistogramValue::Int(h) => {
            (h.positive_spans.len() + h.negative_spans.len()) * spans
                + (h.positive_deltas.len() + h.negative_deltas.len() + h.custom_values.len()) * 8
        }
        HistogramValue::Float(h) => {
            (h.positive_spans.len() + h.negative_spans.len()) * spans
                + (h.positive_buckets.len() + h.negative_buckets.len() + h.custom_values.len()) * 8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> AppendBounds {
        AppendBounds {
            min_valid: i64::MIN,
            ooo_min: i64::MAX,
            chunk_range: 7_200_000,
        }
    }

    #[test]
    fn append_rules_table() {
        let b = bounds();
        let ooo = AppendBounds {
            ooo_min: 50,
            ..bounds()
        };
        type Case = (
            &'static str,
            AppendBounds,
            i64,
            f64,
            std::result::Result<Appended, &'static str>,
        );
        let cases: Vec<Case> = vec![
            ("in order", b, 200, 1.0, Ok(Appended::InOrder)),
            (
                "same timestamp same value",
                b,
                100,
                1.0,
                Ok(Appended::Duplicate),
            ),
            (
                "same timestamp other value",
                b,
                100,
                2.0,
                Err("duplicate sample for timestamp 100"),
            ),
            (
                "older without window",
                b,
                90,
                1.0,
                Err("out of order sample: timestamp 90 is older than 100"),
            ),
            (
                "older inside window",
                ooo,
                60,
                1.0,
                Ok(Appended::OutOfOrder),
            ),
            (
                "older outside window",
                ooo,
                40,
                1.0,
                Err("out of order sample: timestamp 40 is older than 100"),
            ),
        ];
        for (name, b, t, v, want) in cases {
            let s = MemSeries::new(1, Labels::from_pairs(&[("a", "b")]));
            let mut st = s.state.lock();
            st.append(100, 1.0, 0, &bounds()).unwrap();
            let got = st.append(t, v, 0, &b).map_err(|e| e.to_string());
            match want {
                Ok(w) => assert_eq!(got, Ok(w), "case {name}"),
                Err(msg) => assert_eq!(got, Err(msg.to_string()), "case {name}"),
            }
        }
    }

    #[test]
    fn stale_nan_is_not_a_duplicate_of_nan() {
        let s = MemSeries::new(1, Labels::from_pairs(&[("a", "b")]));
        let mut st = s.state.lock();
        st.append(100, f64::NAN, 0, &bounds()).unwrap();
        assert!(
            st.append(100, crate::model::STALE_NAN, 0, &bounds())
                .is_err()
        );
        assert_eq!(
            st.append(100, f64::NAN, 0, &bounds()).unwrap(),
            Appended::Duplicate
        );
    }

    #[test]
    fn start_timestamps_follow_their_chunk() {
        let s = MemSeries::new(1, Labels::from_pairs(&[("a", "b")]));
        let mut st = s.state.lock();
        let b = AppendBounds {
            chunk_range: 1000,
            ..bounds()
        };
        // No STs in the first chunk; from t=1500 on each sample starts
        // where the previous one ended (delta samples).
        for t in (0..2000).step_by(100) {
            let start = if t >= 1500 { t - 100 } else { 0 };
            st.append(t, 1.0, start, &b).unwrap();
        }
        let chunks = st.chunks(i64::MIN, i64::MAX);
        let encodings: Vec<Encoding> = chunks.iter().map(|c| c.encoding).collect();
        assert_eq!(encodings, vec![Encoding::Xor, Encoding::WithSt]);
        let (mut out, mut sts) = (vec![], vec![]);
        for c in &chunks {
            c.encoding
                .decode_range_st(c.data.as_slice(), 1200, 1600, &mut out, &mut sts);
        }
        assert_eq!(
            out.iter().map(|s| s.t).collect::<Vec<_>>(),
            [1200, 1300, 1400, 1500, 1600]
        );
        assert_eq!(sts, vec![0, 0, 0, 1400, 1500]);
        // A sample appended out of order keeps no start timestamp.
        let ooo = AppendBounds { ooo_min: 0, ..b };
        assert_eq!(st.append(1550, 1.0, 7, &ooo).unwrap(), Appended::OutOfOrder);
    }

    #[test]
    fn chunks_cut_at_size_and_boundary() {
        let s = MemSeries::new(1, Labels::from_pairs(&[("a", "b")]));
        let mut st = s.state.lock();
        let b = AppendBounds {
            chunk_range: 1000,
            ..bounds()
        };
        for t in 0..300 {
            st.append(t * 10, t as f64, 0, &b).unwrap();
        }
        // 3000 ms over 1000 ms boundaries, 100 samples each: 3 chunks.
        assert_eq!(st.num_chunks(), 3);
        let chunks = st.chunks(i64::MIN, i64::MAX);
        assert_eq!(
            chunks
                .iter()
                .map(|c| (c.min_t, c.max_t))
                .collect::<Vec<_>>(),
            vec![(0, 990), (1000, 1990), (2000, 2990)]
        );
        assert!(!st.truncate_before(2000));
        assert_eq!(st.num_chunks(), 1);
        assert!(st.truncate_before(5000));
    }
}
