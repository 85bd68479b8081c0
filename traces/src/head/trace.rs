//! Spans in memory, grouped by trace.

use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

use super::stored::StoredSpan;
use crate::id::TraceId;

/// Where spans came from: their resource and instrumentation scope,
/// shared by every span of one `ScopeSpans`.
#[derive(Debug, Default, PartialEq)]
pub struct Origin {
    pub resource: Option<Resource>,
    pub resource_schema_url: String,
    pub scope: Option<InstrumentationScope>,
    pub scope_schema_url: String,
}

impl Origin {
    /// The resource's `service.name`, when it is a string.
    pub fn service_name(&self) -> Option<&str> {
        use opentelemetry_proto::tonic::common::v1::any_value::Value;
        let attrs = &self.resource.as_ref()?.attributes;
        match attrs
            .iter()
            .find(|kv| kv.key == "service.name")?
            .value
            .as_ref()?
            .value
            .as_ref()?
        {
            Value::StringValue(s) => Some(s),
            _ => None,
        }
    }
}

/// One span with its origin.
#[derive(Debug, Clone)]
pub struct HeadSpan {
    pub origin: Arc<Origin>,
    pub span: Span,
}

/// The spans of one trace that are not in a block yet.
#[derive(Debug, Clone)]
pub struct LiveTrace {
    pub spans: Vec<StoredSpan>,
    /// Wall-clock milliseconds of the first and the latest span's arrival.
    pub first_arrival_ms: i64,
    pub last_arrival_ms: i64,
    /// The oldest WAL segment holding one of its spans.
    pub min_segment: u64,
    /// Encoded size of the spans (protobuf), for block cutting and memory.
    pub bytes: usize,
}

impl LiveTrace {
    pub fn new(now_ms: i64, segment: u64) -> LiveTrace {
        LiveTrace {
            spans: Vec::new(),
            first_arrival_ms: now_ms,
            last_arrival_ms: now_ms,
            min_segment: segment,
            bytes: 0,
        }
    }

    pub fn push(&mut self, stored: StoredSpan, now_ms: i64, segment: u64) {
        self.bytes += stored.len();
        self.last_arrival_ms = self.last_arrival_ms.max(now_ms);
        self.min_segment = self.min_segment.min(segment);
        self.spans.push(stored);
    }

    /// The spans decoded.
    pub fn decoded(&self) -> Vec<HeadSpan> {
        self.spans.iter().map(StoredSpan::decode).collect()
    }

    /// Takes in the spans of `other` (the same trace).
    pub fn merge(&mut self, other: LiveTrace) {
        self.bytes += other.bytes;
        self.first_arrival_ms = self.first_arrival_ms.min(other.first_arrival_ms);
        self.last_arrival_ms = self.last_arrival_ms.max(other.last_arrival_ms);
        self.min_segment = self.min_segment.min(other.min_segment);
        self.spans.extend(other.spans);
    }
}

/// Splits a request's spans into (trace id, span) pairs. Spans without a
/// 16-byte trace id (refused by validation before) are skipped.
pub fn split(batch: Vec<ResourceSpans>) -> Vec<(TraceId, HeadSpan)> {
    let mut out = Vec::new();
    for rs in batch {
        for ss in rs.scope_spans {
            let origin = Arc::new(Origin {
                resource: rs.resource.clone(),
                resource_schema_url: rs.schema_url.clone(),
                scope: ss.scope,
                scope_schema_url: ss.schema_url,
            });
            for span in ss.spans {
                if let Some(id) = TraceId::from_bytes(&span.trace_id) {
                    out.push((
                        id,
                        HeadSpan {
                            origin: origin.clone(),
                            span,
                        },
                    ));
                }
            }
        }
    }
    out
}

/// Spans back into OTLP form: one `ResourceSpans` per run of spans that
/// share an origin.
pub fn to_otlp<'a>(spans: impl IntoIterator<Item = &'a HeadSpan>) -> Vec<ResourceSpans> {
    let mut out: Vec<ResourceSpans> = Vec::new();
    let mut last: Option<&Arc<Origin>> = None;
    for s in spans {
        let same = last.is_some_and(|o| Arc::ptr_eq(o, &s.origin) || **o == *s.origin);
        if !same {
            out.push(ResourceSpans {
                resource: s.origin.resource.clone(),
                schema_url: s.origin.resource_schema_url.clone(),
                scope_spans: vec![ScopeSpans {
                    scope: s.origin.scope.clone(),
                    schema_url: s.origin.scope_schema_url.clone(),
                    spans: Vec::new(),
                }],
            });
            last = Some(&s.origin);
        }
        if let Some(ss) = out.last_mut().and_then(|rs| rs.scope_spans.last_mut()) {
            ss.spans.push(s.span.clone());
        }
    }
    out
}
