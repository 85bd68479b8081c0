//! The span head: every committed span, by trace, until it is in a block.
//!
//! A trace is *live* while spans keep arriving. Once it has been quiet for
//! the decision wait (or the live buffer is over its trace cap, oldest
//! first) it is decided: kept traces wait in `kept` for the next block,
//! dropped ones are forgotten. The verdict is recorded, so a late span
//! follows it: into `kept` (and a later block) or dropped on arrival.
//!
//! Locks are taken in the order stripe → decisions → kept.

mod decisions;
mod stored;
mod trace;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

pub use decisions::Verdict;
pub use stored::{StoredSpan, encode_traces_data};
pub use trace::{HeadSpan, LiveTrace, Origin, split, to_otlp};

use crate::id::TraceId;
use decisions::Decisions;

const STRIPES: usize = 16;

/// Traces decided and kept, being written to a block.
pub type Flushing = Arc<Vec<(TraceId, LiveTrace)>>;

pub struct Head {
    live: Box<[Mutex<HashMap<TraceId, LiveTrace>>]>,
    live_traces: AtomicUsize,
    decisions: Mutex<Decisions>,
    kept: Mutex<HashMap<TraceId, LiveTrace>>,
    flushing: RwLock<Option<Flushing>>,
    pub counters: HeadCounters,
}

#[derive(Debug, Default)]
pub struct HeadCounters {
    /// Spans of traces already dropped, refused on arrival.
    pub late_spans_dropped: AtomicU64,
    /// Spans of traces already kept, sent after their trace's verdict.
    pub late_spans_kept: AtomicU64,
    /// Traces decided before their wait because the live buffer was full.
    pub decided_early: AtomicU64,
}

/// What [`Head::apply`] did with a batch.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub new_traces: usize,
}

impl Head {
    pub fn new(decision_cache: usize) -> Head {
        Head {
            live: (0..STRIPES).map(|_| Mutex::default()).collect(),
            live_traces: AtomicUsize::new(0),
            decisions: Mutex::new(Decisions::new(decision_cache)),
            kept: Mutex::default(),
            flushing: RwLock::new(None),
            counters: HeadCounters::default(),
        }
    }

    fn stripe(&self, id: &TraceId) -> &Mutex<HashMap<TraceId, LiveTrace>> {
        &self.live[usize::from(id.0[15]) % STRIPES]
    }

    /// Adds committed spans (from WAL `segment`, arriving at `now_ms`).
    pub fn apply(&self, spans: Vec<(TraceId, StoredSpan)>, segment: u64, now_ms: i64) -> Applied {
        let mut applied = Applied::default();
        for (id, span) in spans {
            let mut live = self.stripe(&id).lock();
            if let Some(t) = live.get_mut(&id) {
                t.push(span, now_ms, segment);
                continue;
            }
            match self.decisions.lock().get(&id) {
                Some(Verdict::Drop) => {
                    self.counters
                        .late_spans_dropped
                        .fetch_add(1, Ordering::Relaxed);
                }
                Some(Verdict::Keep) => {
                    self.counters
                        .late_spans_kept
                        .fetch_add(1, Ordering::Relaxed);
                    self.kept
                        .lock()
                        .entry(id)
                        .or_insert_with(|| LiveTrace::new(now_ms, segment))
                        .push(span, now_ms, segment);
                }
                None => {
                    let mut t = LiveTrace::new(now_ms, segment);
                    t.push(span, now_ms, segment);
                    live.insert(id, t);
                    self.live_traces.fetch_add(1, Ordering::Relaxed);
                    applied.new_traces += 1;
                }
            }
        }
        applied
    }

    /// Live (undecided) traces.
    pub fn live_traces(&self) -> usize {
        self.live_traces.load(Ordering::Relaxed)
    }

    /// Decides every live trace quiet since `quiet_since_ms` (arrival
    /// time), plus the `early` oldest by first arrival; `decide` gives each
    /// verdict. Returns the decided traces' ids and verdicts.
    pub fn decide(
        &self,
        quiet_since_ms: i64,
        early: usize,
        decide: &dyn Fn(&TraceId, &LiveTrace) -> Verdict,
    ) -> Vec<(TraceId, Verdict)> {
        let cutoff_first = if early == 0 {
            i64::MIN
        } else {
            let mut firsts: Vec<i64> = self
                .live
                .iter()
                .flat_map(|s| {
                    s.lock()
                        .values()
                        .map(|t| t.first_arrival_ms)
                        .collect::<Vec<_>>()
                })
                .collect();
            let n = early.min(firsts.len());
            if n == 0 {
                i64::MIN
            } else {
                let (_, nth, _) = firsts.select_nth_unstable(n - 1);
                *nth
            }
        };
        let mut out = Vec::new();
        for stripe in self.live.iter() {
            let mut live = stripe.lock();
            let due: Vec<TraceId> = live
                .iter()
                .filter(|(_, t)| {
                    t.last_arrival_ms <= quiet_since_ms || t.first_arrival_ms <= cutoff_first
                })
                .map(|(id, _)| *id)
                .collect();
            for id in due {
                let Some(t) = live.remove(&id) else { continue };
                self.live_traces.fetch_sub(1, Ordering::Relaxed);
                if t.last_arrival_ms > quiet_since_ms {
                    self.counters.decided_early.fetch_add(1, Ordering::Relaxed);
                }
                let v = decide(&id, &t);
                self.decisions.lock().record(id, v);
                if v == Verdict::Keep {
                    match self.kept.lock().entry(id) {
                        std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(t),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(t);
                        }
                    }
                }
                out.push((id, v));
            }
        }
        out
    }

    /// Bytes and the oldest first arrival of the kept traces waiting for a
    /// block.
    pub fn kept_size(&self) -> (usize, Option<i64>) {
        let kept = self.kept.lock();
        let bytes = kept.values().map(|t| t.bytes).sum();
        (bytes, kept.values().map(|t| t.first_arrival_ms).min())
    }

    /// Moves the kept traces to `flushing` (sorted by id) for a block;
    /// `None` when none are kept or a flush is under way. Reads see them
    /// until [`finish_flush`](Self::finish_flush).
    pub fn start_flush(&self) -> Option<Flushing> {
        let mut flushing = self.flushing.write();
        if flushing.is_some() {
            return None;
        }
        let taken = std::mem::take(&mut *self.kept.lock());
        if taken.is_empty() {
            return None;
        }
        let mut traces: Vec<(TraceId, LiveTrace)> = taken.into_iter().collect();
        traces.sort_unstable_by_key(|(id, _)| *id);
        let f = Arc::new(traces);
        *flushing = Some(f.clone());
        Some(f)
    }

    /// Ends a flush: when `written`, its traces are in a block now; else
    /// they go back to `kept` for the next try.
    pub fn finish_flush(&self, written: bool) {
        let Some(f) = self.flushing.write().take() else {
            return;
        };
        if written {
            return;
        }
        // The block writer has dropped its handle by now; a copy otherwise.
        let traces = Arc::try_unwrap(f).unwrap_or_else(|shared| (*shared).clone());
        let mut kept = self.kept.lock();
        for (id, t) in traces {
            match kept.entry(id) {
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(t),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(t);
                }
            }
        }
    }

    /// The oldest WAL segment that holds a span not yet in a block.
    pub fn min_segment(&self) -> Option<u64> {
        let live = self
            .live
            .iter()
            .filter_map(|s| s.lock().values().map(|t| t.min_segment).min());
        let kept = self.kept.lock().values().map(|t| t.min_segment).min();
        let flushing = self
            .flushing
            .read()
            .as_ref()
            .and_then(|f| f.iter().map(|(_, t)| t.min_segment).min());
        live.chain(kept).chain(flushing).min()
    }

    /// The head's spans of trace `id` (live, kept and flushing), decoded.
    pub fn trace(&self, id: &TraceId) -> Vec<HeadSpan> {
        let mut out = Vec::new();
        if let Some(t) = self.stripe(id).lock().get(id) {
            out.extend(t.spans.iter().map(StoredSpan::decode));
        }
        if let Some(t) = self.kept.lock().get(id) {
            out.extend(t.spans.iter().map(StoredSpan::decode));
        }
        if let Some(f) = self.flushing.read().as_ref()
            && let Ok(i) = f.binary_search_by_key(id, |(id, _)| *id)
        {
            out.extend(f[i].1.spans.iter().map(StoredSpan::decode));
        }
        out
    }

    /// Calls `f` with every trace in the head, decoded (a trace in several
    /// places comes once per place). Each trace is copied out under its
    /// lock and decoded after, so `f` holds no lock of the head.
    pub fn for_each_trace(&self, f: &mut dyn FnMut(&TraceId, &[HeadSpan])) {
        let mut visit = |traces: Vec<(TraceId, Vec<StoredSpan>)>| {
            for (id, spans) in traces {
                let decoded: Vec<HeadSpan> = spans.iter().map(StoredSpan::decode).collect();
                f(&id, &decoded);
            }
        };
        let copy = |m: &HashMap<TraceId, LiveTrace>| -> Vec<(TraceId, Vec<StoredSpan>)> {
            m.iter().map(|(id, t)| (*id, t.spans.clone())).collect()
        };
        for stripe in self.live.iter() {
            let traces = copy(&stripe.lock());
            visit(traces);
        }
        let kept = copy(&self.kept.lock());
        visit(kept);
        let flushing = self.flushing.read().clone();
        if let Some(fl) = flushing {
            visit(fl.iter().map(|(id, t)| (*id, t.spans.clone())).collect());
        }
    }

    /// Spans and encoded bytes held (live, kept and being flushed).
    pub fn size(&self) -> (usize, usize) {
        let mut spans = 0;
        let mut bytes = 0;
        for s in self.live.iter() {
            for t in s.lock().values() {
                spans += t.spans.len();
                bytes += t.bytes;
            }
        }
        for t in self.kept.lock().values() {
            spans += t.spans.len();
            bytes += t.bytes;
        }
        if let Some(f) = self.flushing.read().as_ref() {
            for (_, t) in f.iter() {
                spans += t.spans.len();
                bytes += t.bytes;
            }
        }
        (spans, bytes)
    }
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
