//! Whether a histogram can join a chunk: as it is (missing buckets
//! zero-filled), after recoding the chunk to a wider layout, or only in a
//! new chunk — Prometheus 3.x's rules, so chunks are cut where its chunks
//! are.

use super::Layout;
use crate::model::histogram::{FloatHistogram, IndexedBuckets, Span};

/// What to do with the next histogram of a series.
#[derive(Debug, Clone, PartialEq)]
pub enum Appendable {
    /// Append it, expanded to the chunk's spans.
    Append,
    /// It has buckets the chunk lacks: recode the chunk to these spans
    /// (the union of both), then append it expanded to them.
    Recode {
        positive_spans: Vec<Span>,
        negative_spans: Vec<Span>,
    },
    /// Start a new chunk; `reset` when because of a counter reset (the new
    /// chunk's header says so), else because the layout changed.
    NewChunk { reset: bool },
}

/// Decides for `h` after `last`, the chunk's last sample, in a chunk with
/// `layout`. `gauge`: a gauge histogram (no resets; buckets the new sample
/// lacks are zero-filled both ways).
pub fn appendable(
    layout: &Layout,
    last: &FloatHistogram,
    h: &FloatHistogram,
    gauge: bool,
) -> Appendable {
    if last.is_stale() && !h.is_stale() {
        return Appendable::NewChunk { reset: false };
    }
    if h.is_stale() {
        return Appendable::Append;
    }
    if h.schema != layout.schema || h.zero_threshold != layout.zero_threshold {
        return Appendable::NewChunk { reset: false };
    }
    // Other custom bounds are no reset by themselves: readers compare the
    // two on the bounds both have (as Prometheus 3 reconciles them).
    if h.custom_values != layout.custom_values {
        return Appendable::NewChunk { reset: false };
    }
    if !gauge && (h.count < last.count || h.zero_count < last.zero_count) {
        return Appendable::NewChunk { reset: true };
    }
    let p = compare(
        &layout.positive_spans,
        &last.positive_buckets,
        &h.positive_spans,
        &h.positive_buckets,
    );
    let n = compare(
        &layout.negative_spans,
        &last.negative_buckets,
        &h.negative_spans,
        &h.negative_buckets,
    );
    if !gauge && (p.reset || n.reset) {
        return Appendable::NewChunk { reset: true };
    }
    if p.new_buckets || n.new_buckets {
        return Appendable::Recode {
            positive_spans: p.union,
            negative_spans: n.union,
        };
    }
    Appendable::Append
}

struct Comparison {
    /// A bucket went down, or a populated bucket vanished.
    reset: bool,
    /// The new sample has buckets the chunk lacks.
    new_buckets: bool,
    union: Vec<Span>,
}

fn compare(old_spans: &[Span], old: &[f64], new_spans: &[Span], new: &[f64]) -> Comparison {
    let mut a = IndexedBuckets::new(old_spans, old).peekable();
    let mut b = IndexedBuckets::new(new_spans, new).peekable();
    let mut c = Comparison {
        reset: false,
        new_buckets: false,
        union: Vec::new(),
    };
    let mut indexes = Vec::new();
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (Some((i, x)), Some((j, y))) if i == j => {
                c.reset |= y < x;
                indexes.push(i);
                a.next();
                b.next();
            }
            (Some((i, x)), Some((j, _))) if i < j => {
                c.reset |= x != 0.0;
                indexes.push(i);
                a.next();
            }
            (Some((i, x)), None) => {
                c.reset |= x != 0.0;
                indexes.push(i);
                a.next();
            }
            (_, Some((j, _))) => {
                c.new_buckets = true;
                indexes.push(j);
                b.next();
            }
            (None, None) => break,
        }
    }
    c.union = spans_of(&indexes);
    c
}

/// Spans covering ascending bucket `indexes`, consecutive ones in one span.
fn spans_of(indexes: &[i32]) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    let mut last: Option<i32> = None;
    for &i in indexes {
        match (last, spans.last_mut()) {
            (Some(l), Some(s)) if i == l + 1 => s.length += 1,
            (Some(l), _) => spans.push(Span::new(i - l - 1, 1)),
            (None, _) => spans.push(Span::new(i, 1)),
        }
        last = Some(i);
    }
    spans
}

/// `counts` laid out on `spans` re-laid on `to` (a superset of buckets),
/// the buckets `to` adds empty.
pub fn expand(spans: &[Span], counts: &[f64], to: &[Span]) -> Vec<f64> {
    let mut src = IndexedBuckets::new(spans, counts).peekable();
    IndexedBuckets::new(to, &vec![0.0; to.iter().map(|s| s.length as usize).sum()])
        .map(|(i, _)| match src.peek() {
            Some(&(j, c)) if j == i => {
                src.next();
                c
            }
            _ => 0.0,
        })
        .collect()
}
