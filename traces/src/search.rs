//! Search: the traces whose spans match a TraceQL query, newest first,
//! over the head and the blocks.
//!
//! Blocks are read newest first. In each, the query's required conditions
//! ([`Query::conditions`]) pick candidate traces from the postings and the
//! time range from the index entries; only candidates are decompressed and
//! evaluated. Once `limit` traces are found, blocks wholly older than the
//! oldest of them are skipped.

mod tags;
mod view;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use memchr::memmem::Finder;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use roaring::RoaringBitmap;

pub use tags::{TagScope, TagValue};
pub use view::{SpanSet, kind, status};

use crate::block::{Block, Entry, INDEXED_SPAN_ATTRS, Term, TermKind, status_name};
use crate::error::Result;
use crate::id::{TraceId, hex};
use crate::store::SpanStore;
use crate::traceql::{Attribute, Query, Required, Scope, TraceView};

/// What to search for.
#[derive(Debug)]
pub struct SearchRequest {
    pub query: Query,
    /// Traces overlapping `[start_ns, end_ns]` (Unix nanoseconds).
    pub start_ns: u64,
    pub end_ns: u64,
    /// Most traces returned.
    pub limit: usize,
    /// Most matched spans listed per trace.
    pub spans_per_set: usize,
}

/// A matching trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub trace_id: TraceId,
    pub root_service: String,
    pub root_name: String,
    pub start_ns: u64,
    pub duration_ns: u64,
    /// Up to `spans_per_set` of the matched spans.
    pub spans: Vec<MatchedSpan>,
    /// How many spans matched.
    pub matched: usize,
    /// Spans and error spans per service.
    pub services: BTreeMap<String, (u32, u32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchedSpan {
    pub span_id: String,
    pub name: String,
    pub start_ns: u64,
    pub duration_ns: u64,
    pub service: Option<String>,
    /// The span's (or its resource's) values of the attributes the query
    /// mentions.
    pub attributes: Vec<KeyValue>,
}

#[derive(Debug, Default)]
pub struct SearchResult {
    pub traces: Vec<Hit>,
    pub inspected_traces: u64,
    pub inspected_bytes: u64,
}

impl SpanStore {
    /// The traces matching `req`, newest first.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResult> {
        let mut found: HashMap<TraceId, Hit> = HashMap::new();
        let mut out = SearchResult::default();
        let overlaps = |start: u64, end: u64| start <= req.end_ns && end >= req.start_ns;
        self.head().for_each_trace(&mut |id, spans| {
            let set = SpanSet::from_head(spans);
            out.inspected_traces += 1;
            if overlaps(set.start_ns(), set.start_ns() + set.trace_duration_ns())
                && let Some(hit) = evaluate(&req.query, *id, &set, req.spans_per_set)
            {
                merge(&mut found, hit);
            }
        });
        let required = req.query.conditions();
        let needles: Vec<Finder<'static>> = req
            .query
            .needles()
            .iter()
            .map(|n| Finder::new(n.as_bytes()).into_owned())
            .collect();
        let contains_needles = |raw: &[u8]| needles.iter().all(|n| n.find(raw).is_some());
        let mut newest = Newest::new(req.limit);
        for h in found.values() {
            newest.add(h.start_ns);
        }
        let mut blocks = self.blocks();
        blocks.sort_by_key(|b| std::cmp::Reverse(b.meta().max_time_ns));
        for b in blocks {
            let meta = b.meta();
            if !overlaps(meta.min_time_ns, meta.max_time_ns) {
                continue;
            }
            if newest.older(meta.max_time_ns) {
                continue;
            }
            // Frame by frame, newest first: each frame is decompressed at
            // most once, and frames older than the hits found are skipped.
            for group in by_frame(&b, candidates(&b, &required)?) {
                if newest.older(group.newest_start) {
                    break;
                }
                for e in group.entries {
                    if !overlaps(e.start_ns, e.end_ns) || newest.older(e.start_ns) {
                        continue;
                    }
                    out.inspected_traces += 1;
                    out.inspected_bytes += u64::from(e.len);
                    let Some(spans) = b.read_if(e.ordinal, contains_needles)? else {
                        continue;
                    };
                    let set = SpanSet::from_otlp(&spans);
                    if let Some(hit) = evaluate(&req.query, e.id, &set, req.spans_per_set) {
                        let start = hit.start_ns;
                        if merge(&mut found, hit) {
                            newest.add(start);
                        }
                    }
                }
            }
        }
        let mut traces: Vec<Hit> = found.into_values().collect();
        traces.sort_by(|a, b| {
            b.start_ns
                .cmp(&a.start_ns)
                .then(a.trace_id.cmp(&b.trace_id))
        });
        traces.truncate(req.limit);
        out.traces = traces;
        Ok(out)
    }
}

/// A trace split between places (a block and the head) is one hit: the
/// part with more matches wins. Returns whether the trace is new.
fn merge(found: &mut HashMap<TraceId, Hit>, hit: Hit) -> bool {
    match found.get(&hit.trace_id) {
        Some(old) if old.matched >= hit.matched => false,
        Some(_) => {
            found.insert(hit.trace_id, hit);
            false
        }
        None => {
            found.insert(hit.trace_id, hit);
            true
        }
    }
}

/// Candidate traces of one frame.
struct FrameGroup {
    newest_start: u64,
    entries: Vec<Entry>,
}

/// The candidates of `b` grouped by frame, the frame with the newest
/// candidate first.
fn by_frame(b: &Block, candidates: RoaringBitmap) -> Vec<FrameGroup> {
    let mut groups: Vec<FrameGroup> = Vec::new();
    for i in candidates {
        let e = b.entry(i as usize);
        match groups.last_mut() {
            Some(g) if g.entries.last().is_some_and(|l| l.frame == e.frame) => {
                g.newest_start = g.newest_start.max(e.start_ns);
                g.entries.push(e);
            }
            _ => groups.push(FrameGroup {
                newest_start: e.start_ns,
                entries: vec![e],
            }),
        }
    }
    groups.sort_by_key(|g| Reverse(g.newest_start));
    groups
}

/// The start times of the newest `limit` hits so far: a trace that
/// started before all of them cannot be in the answer.
struct Newest {
    limit: usize,
    starts: BinaryHeap<Reverse<u64>>,
}

impl Newest {
    fn new(limit: usize) -> Newest {
        Newest {
            limit: limit.max(1),
            starts: BinaryHeap::new(),
        }
    }

    fn add(&mut self, start_ns: u64) {
        self.starts.push(Reverse(start_ns));
        if self.starts.len() > self.limit {
            self.starts.pop();
        }
    }

    /// Whether a trace starting at `start_ns` is older than every one of
    /// `limit` hits.
    fn older(&self, start_ns: u64) -> bool {
        self.starts.len() >= self.limit && self.starts.peek().is_some_and(|r| start_ns < r.0)
    }
}

/// The entries of `b` that can match: all of the required terms' postings.
fn candidates(b: &Block, required: &[Required]) -> Result<RoaringBitmap> {
    let mut set = RoaringBitmap::new();
    set.insert_range(0..b.len() as u32);
    for r in required {
        let Some(terms) = terms_of(r) else { continue };
        let mut any = RoaringBitmap::new();
        for t in &terms {
            any |= b.postings(t)?;
        }
        set &= any;
        if set.is_empty() {
            break;
        }
    }
    Ok(set)
}

/// Index terms one of which every trace meeting `r` has, when there are.
fn terms_of(r: &Required) -> Option<Vec<Term>> {
    // Longer values are not indexed (see `block::terms`).
    let short = |v: &str| v.len() <= 256;
    let span_attr = |k: &str, v: &str| {
        if short(v) && INDEXED_SPAN_ATTRS.contains(&k) {
            Term::new(TermKind::SpanAttr, k, v)
        } else {
            Term::new(TermKind::SpanAttrKey, k, "")
        }
    };
    Some(match r {
        Required::SpanName(n) => vec![Term::new(TermKind::SpanName, "", n)],
        Required::Status(s) => {
            let code = match s {
                crate::traceql::Status::Unset => 0,
                crate::traceql::Status::Ok => 1,
                crate::traceql::Status::Error => 2,
            };
            vec![Term::new(TermKind::Status, "", status_name(code))]
        }
        Required::ServiceName(v) if short(v) => vec![Term::new(TermKind::Service, "", v)],
        Required::ResourceAttr(k, v) if short(v) => vec![Term::new(TermKind::ResourceAttr, k, v)],
        Required::SpanAttr(k, v) => vec![span_attr(k, v)],
        Required::AnyAttr(k, v) if short(v) => {
            vec![span_attr(k, v), Term::new(TermKind::ResourceAttr, k, v)]
        }
        _ => return None,
    })
}

fn evaluate(q: &Query, id: TraceId, set: &SpanSet<'_>, spans_per_set: usize) -> Option<Hit> {
    let matched = q.matches(set);
    if matched.is_empty() {
        return None;
    }
    let shown = q.attributes();
    let mut services: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for (i, (s, _)) in set.spans.iter().enumerate() {
        let e = services
            .entry(set.service(i).unwrap_or_default().to_owned())
            .or_default();
        e.0 += 1;
        if status(s) == crate::traceql::Status::Error {
            e.1 += 1;
        }
    }
    let spans = matched
        .iter()
        .take(spans_per_set)
        .map(|&i| {
            let (s, resource) = set.spans[i];
            MatchedSpan {
                span_id: hex(&s.span_id),
                name: s.name.clone(),
                start_ns: s.start_time_unix_nano,
                duration_ns: s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano),
                service: set.service(i).map(str::to_owned),
                attributes: shown_attributes(&shown, &s.attributes, resource),
            }
        })
        .collect();
    Some(Hit {
        trace_id: id,
        root_service: set
            .root_service_name()
            .unwrap_or("<root span not yet received>")
            .to_owned(),
        root_name: set.root_name().unwrap_or_default().to_owned(),
        start_ns: set.start_ns(),
        duration_ns: set.trace_duration_ns(),
        spans,
        matched: matched.len(),
        services,
    })
}

/// The values of the query's attributes on one span (span attributes
/// first for unscoped names), each once.
fn shown_attributes(
    shown: &[Attribute],
    span: &[KeyValue],
    resource: &[KeyValue],
) -> Vec<KeyValue> {
    let mut out: Vec<KeyValue> = Vec::new();
    for a in shown {
        let places: &[&[KeyValue]] = match a.scope {
            Scope::Span => &[span],
            Scope::Resource => &[resource],
            Scope::Any => &[span, resource],
        };
        let found = places
            .iter()
            .find_map(|kvs| kvs.iter().find(|kv| kv.key == a.name));
        if let Some(kv) = found
            && !out.iter().any(|o| o.key == kv.key)
        {
            out.push(kv.clone());
        }
    }
    out
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
