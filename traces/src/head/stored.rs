//! A span as the head holds it: its protobuf encoding, about a seventh of
//! the memory of the decoded message, with the few fields read without
//! decoding (the service graph's pairing, time bounds).

use std::sync::Arc;

use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint};

use super::trace::{HeadSpan, Origin};
use crate::validate::SpanFacts;
use crate::wire::find_bytes;

#[derive(Debug, Clone)]
pub struct StoredSpan {
    pub origin: Arc<Origin>,
    /// The `Span` message, encoded.
    raw: Box<[u8]>,
    pub span_id: [u8; 8],
    /// All zero for a root span.
    pub parent_span_id: [u8; 8],
    pub kind: i32,
    pub status: i32,
    pub start_ns: u64,
    pub end_ns: u64,
    /// Where the name lies in `raw`.
    name_at: (u32, u32),
}

/// An 8-byte id (validation refuses others; anything else reads as zero).
fn id8(b: &[u8]) -> [u8; 8] {
    b.try_into().unwrap_or_default()
}

impl StoredSpan {
    /// A decoded span, encoded.
    pub fn new(s: &HeadSpan) -> StoredSpan {
        let raw = s.span.encode_to_vec();
        let name = find_bytes(&raw, 5).unwrap_or_default();
        StoredSpan {
            origin: s.origin.clone(),
            raw: raw.into_boxed_slice(),
            span_id: id8(&s.span.span_id),
            parent_span_id: id8(&s.span.parent_span_id),
            kind: s.span.kind,
            status: s.span.status.as_ref().map_or(0, |st| st.code),
            start_ns: s.span.start_time_unix_nano,
            end_ns: s.span.end_time_unix_nano,
            name_at: (name.start as u32, name.len() as u32),
        }
    }

    /// A span validation accepted: its bytes copied, its facts as read.
    pub fn from_checked(origin: Arc<Origin>, raw: &[u8], facts: SpanFacts) -> StoredSpan {
        StoredSpan {
            origin,
            raw: raw.into(),
            span_id: facts.span_id,
            parent_span_id: facts.parent_span_id,
            kind: facts.kind,
            status: facts.status,
            start_ns: facts.start_ns,
            end_ns: facts.end_ns,
            name_at: (facts.name.start as u32, facts.name.len() as u32),
        }
    }

    /// The span's name (empty if it has none).
    pub fn name(&self) -> &str {
        let (at, len) = (self.name_at.0 as usize, self.name_at.1 as usize);
        self.raw
            .get(at..at + len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// The `Span` message's encoding.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Encoded bytes.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The span decoded. The bytes were encoded by [`StoredSpan::new`], so
    /// they decode; were they not, the span would read as empty.
    pub fn decode(&self) -> HeadSpan {
        let span = Span::decode(&self.raw[..]);
        debug_assert!(span.is_ok(), "a stored span decodes");
        HeadSpan {
            origin: self.origin.clone(),
            span: span.unwrap_or_default(),
        }
    }
}

/// The `TracesData` encoding of `spans`: one `ResourceSpans` per run of
/// spans with the same origin (spans are grouped by origin first), the
/// spans' bytes copied as they are.
pub fn encode_traces_data<'a>(spans: impl IntoIterator<Item = &'a StoredSpan>) -> Vec<u8> {
    let mut order: Vec<&StoredSpan> = spans.into_iter().collect();
    order.sort_by_key(|s| Arc::as_ptr(&s.origin) as usize);
    let mut out = Vec::with_capacity(order.iter().map(|s| s.len() + 4).sum::<usize>() + 256);
    let mut run: Vec<&StoredSpan> = Vec::new();
    for s in order {
        if run
            .first()
            .is_some_and(|r| !Arc::ptr_eq(&r.origin, &s.origin))
        {
            encode_run(&run, &mut out);
            run.clear();
        }
        run.push(s);
    }
    if !run.is_empty() {
        encode_run(&run, &mut out);
    }
    out
}

/// `TracesData.resource_spans` (field 1) holding one `ScopeSpans` (field
/// 2) whose `spans` (field 2) are the run's encodings. Protobuf accepts
/// fields in any order, so each message is its fields without spans as
/// prost encodes them, then the spans.
fn encode_run(run: &[&StoredSpan], out: &mut Vec<u8>) {
    let Some(first) = run.first() else { return };
    let o = &first.origin;
    let mut scope = ScopeSpans {
        scope: o.scope.clone(),
        schema_url: o.scope_schema_url.clone(),
        spans: Vec::new(),
    }
    .encode_to_vec();
    for s in run {
        encode_key(2, WireType::LengthDelimited, &mut scope);
        encode_varint(s.raw.len() as u64, &mut scope);
        scope.extend_from_slice(&s.raw);
    }
    let mut resource = ResourceSpans {
        resource: o.resource.clone(),
        schema_url: o.resource_schema_url.clone(),
        scope_spans: Vec::new(),
    }
    .encode_to_vec();
    encode_key(2, WireType::LengthDelimited, &mut resource);
    encode_varint(scope.len() as u64, &mut resource);
    resource.extend_from_slice(&scope);
    encode_key(1, WireType::LengthDelimited, out);
    encode_varint(resource.len() as u64, out);
    out.extend_from_slice(&resource);
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::trace::v1::{Status, TracesData};

    use super::*;

    #[test]
    fn encodes_as_prost_decodes() {
        let origin = |name: &str| {
            Arc::new(Origin {
                scope: Some(InstrumentationScope {
                    name: name.into(),
                    ..Default::default()
                }),
                resource_schema_url: "https://r".into(),
                ..Default::default()
            })
        };
        let (a, b) = (origin("a"), origin("b"));
        let span = |o: &Arc<Origin>, id: u8| HeadSpan {
            origin: o.clone(),
            span: Span {
                trace_id: vec![1; 16],
                span_id: vec![id; 8],
                parent_span_id: if id > 1 { vec![1; 8] } else { vec![] },
                name: format!("s{id}"),
                kind: 2,
                status: Some(Status {
                    code: 2,
                    message: "x".into(),
                }),
                start_time_unix_nano: 5,
                end_time_unix_nano: 9,
                ..Default::default()
            },
        };
        let heads = [span(&a, 1), span(&b, 2), span(&a, 3)];
        let stored: Vec<StoredSpan> = heads.iter().map(StoredSpan::new).collect();
        assert_eq!(stored[1].parent_span_id, [1; 8]);
        assert_eq!((stored[0].kind, stored[0].status), (2, 2));
        for (s, h) in stored.iter().zip(&heads) {
            assert_eq!(s.decode().span, h.span);
        }
        let data = TracesData::decode(&encode_traces_data(&stored)[..]).unwrap();
        assert_eq!(data.resource_spans.len(), 2, "one per origin");
        let mut names: Vec<(String, String)> = data
            .resource_spans
            .iter()
            .flat_map(|rs| {
                assert_eq!(rs.schema_url, "https://r");
                rs.scope_spans.iter().flat_map(|ss| {
                    let scope = ss.scope.as_ref().map_or("", |s| s.name.as_str());
                    ss.spans
                        .iter()
                        .map(move |s| (scope.to_string(), s.name.clone()))
                })
            })
            .collect();
        names.sort();
        let want =
            [("a", "s1"), ("a", "s3"), ("b", "s2")].map(|(x, y)| (x.to_string(), y.to_string()));
        assert_eq!(names, want);
    }
}
