//! What the span store accepts. A span that breaks a rule is refused with
//! its reason, whole: nothing is truncated or repaired, and the request's
//! other spans are kept.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};

use crate::id::hex;

/// Limits on one span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of an attribute (key and value, nested values summed),
    /// of the span, its resource, events and links.
    pub max_attribute_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_attribute_bytes: 16 << 10,
        }
    }
}

/// What validation kept and refused of a request.
#[derive(Debug, Default)]
pub struct Validated {
    /// The request with refused spans (and emptied scopes and resources)
    /// removed.
    pub accepted: Vec<ResourceSpans>,
    pub accepted_spans: usize,
    pub rejected_spans: usize,
    /// The first few reasons, each naming its span.
    pub reasons: Vec<String>,
}

const MAX_REASONS: usize = 5;

/// Splits a request into what is stored and what is refused.
pub fn validate(request: Vec<ResourceSpans>, limits: &Limits) -> Validated {
    let mut out = Validated::default();
    for mut rs in request {
        let resource_error = rs
            .resource
            .as_ref()
            .and_then(|r| check_attributes(&r.attributes, limits))
            .map(|e| format!("resource {e}"));
        for ss in &mut rs.scope_spans {
            let scope_error = ss
                .scope
                .as_ref()
                .and_then(|s| check_attributes(&s.attributes, limits))
                .map(|e| format!("scope {e}"));
            ss.spans.retain(|span| {
                let err = resource_error
                    .clone()
                    .or_else(|| scope_error.clone())
                    .or_else(|| check_span(span, limits));
                match err {
                    None => {
                        out.accepted_spans += 1;
                        true
                    }
                    Some(e) => {
                        out.rejected_spans += 1;
                        if out.reasons.len() < MAX_REASONS {
                            out.reasons.push(format!(
                                "span {:?} (id {}, trace {}): {e}",
                                span.name,
                                hex(&span.span_id),
                                hex(&span.trace_id)
                            ));
                        }
                        false
                    }
                }
            });
        }
        rs.scope_spans.retain(|ss| !ss.spans.is_empty());
        if !rs.scope_spans.is_empty() {
            out.accepted.push(rs);
        }
    }
    out
}

/// Why `span` is refused, if it is.
pub fn check_span(span: &Span, limits: &Limits) -> Option<String> {
    if let Some(e) = check_id(&span.trace_id, 16, "trace_id") {
        return Some(e);
    }
    if let Some(e) = check_id(&span.span_id, 8, "span_id") {
        return Some(e);
    }
    if !span.parent_span_id.is_empty()
        && let Some(e) = check_id(&span.parent_span_id, 8, "parent_span_id")
    {
        return Some(e);
    }
    if span.end_time_unix_nano < span.start_time_unix_nano {
        return Some(format!(
            "ends before it starts (end {} < start {})",
            span.end_time_unix_nano, span.start_time_unix_nano
        ));
    }
    if span.start_time_unix_nano == 0 {
        return Some("start time is missing (0)".into());
    }
    if !(0..=5).contains(&span.kind) {
        return Some(format!("unknown span kind {}", span.kind));
    }
    if let Some(status) = &span.status
        && !(0..=2).contains(&status.code)
    {
        return Some(format!("unknown status code {}", status.code));
    }
    if let Some(e) = check_attributes(&span.attributes, limits) {
        return Some(e);
    }
    for ev in &span.events {
        if let Some(e) = check_attributes(&ev.attributes, limits) {
            return Some(format!("event {:?}: {e}", ev.name));
        }
    }
    for (i, link) in span.links.iter().enumerate() {
        let ids = check_id(&link.trace_id, 16, "trace_id")
            .or_else(|| check_id(&link.span_id, 8, "span_id"));
        if let Some(e) = ids.or_else(|| check_attributes(&link.attributes, limits)) {
            return Some(format!("link {i}: {e}"));
        }
    }
    None
}

fn check_id(id: &[u8], len: usize, what: &str) -> Option<String> {
    if id.len() != len {
        return Some(format!("{what} is {} bytes, not {len}", id.len()));
    }
    if id.iter().all(|&b| b == 0) {
        return Some(format!("{what} is all zeros"));
    }
    None
}

fn check_attributes(attrs: &[KeyValue], limits: &Limits) -> Option<String> {
    attrs.iter().find_map(|kv| {
        let size = kv.key.len() + kv.value.as_ref().map_or(0, value_size);
        (size > limits.max_attribute_bytes).then(|| {
            format!(
                "attribute {:?} is {size} bytes, over the limit of {}",
                kv.key.chars().take(64).collect::<String>(),
                limits.max_attribute_bytes
            )
        })
    })
}

fn value_size(v: &AnyValue) -> usize {
    match &v.value {
        None => 0,
        Some(any_value::Value::StringValue(s)) => s.len(),
        Some(any_value::Value::BytesValue(b)) => b.len(),
        Some(any_value::Value::ArrayValue(a)) => a.values.iter().map(value_size).sum(),
        Some(any_value::Value::KvlistValue(l)) => l
            .values
            .iter()
            .map(|kv| kv.key.len() + kv.value.as_ref().map_or(0, value_size))
            .sum(),
        Some(_) => 8,
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::trace::v1::span::Link;
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Status};

    use super::*;

    fn good() -> Span {
        Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "op".into(),
            start_time_unix_nano: 100,
            end_time_unix_nano: 200,
            ..Default::default()
        }
    }

    fn string_attr(key: &str, len: usize) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("x".repeat(len))),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn span_rules() {
        let limits = Limits {
            max_attribute_bytes: 100,
        };
        let cases: Vec<(&str, Span, Option<&str>)> = vec![
            ("valid", good(), None),
            (
                "short trace id",
                Span {
                    trace_id: vec![1; 8],
                    ..good()
                },
                Some("trace_id is 8 bytes, not 16"),
            ),
            (
                "zero span id",
                Span {
                    span_id: vec![0; 8],
                    ..good()
                },
                Some("span_id is all zeros"),
            ),
            (
                "bad parent",
                Span {
                    parent_span_id: vec![3; 4],
                    ..good()
                },
                Some("parent_span_id is 4 bytes"),
            ),
            (
                "ends first",
                Span {
                    end_time_unix_nano: 50,
                    ..good()
                },
                Some("ends before it starts"),
            ),
            (
                "no start",
                Span {
                    start_time_unix_nano: 0,
                    end_time_unix_nano: 0,
                    ..good()
                },
                Some("start time is missing"),
            ),
            (
                "kind",
                Span { kind: 9, ..good() },
                Some("unknown span kind 9"),
            ),
            (
                "status",
                Span {
                    status: Some(Status {
                        code: 7,
                        message: String::new(),
                    }),
                    ..good()
                },
                Some("unknown status code 7"),
            ),
            (
                "attribute at the limit",
                Span {
                    attributes: vec![string_attr("k", 99)],
                    ..good()
                },
                None,
            ),
            (
                "attribute over the limit",
                Span {
                    attributes: vec![string_attr("k", 100)],
                    ..good()
                },
                Some("attribute \"k\" is 101 bytes"),
            ),
            (
                "link with a bad id",
                Span {
                    links: vec![Link {
                        trace_id: vec![1; 16],
                        span_id: vec![],
                        ..Default::default()
                    }],
                    ..good()
                },
                Some("link 0: span_id is 0 bytes"),
            ),
        ];
        for (name, span, want) in cases {
            let got = check_span(&span, &limits);
            match (got, want) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!(g.contains(w), "{name}: {g}"),
                (g, w) => panic!("{name}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn refused_spans_leave_the_rest() {
        let bad = Span {
            trace_id: vec![],
            ..good()
        };
        let request = vec![
            ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![good(), bad.clone()],
                    ..Default::default()
                }],
                ..Default::default()
            },
            ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![bad],
                    ..Default::default()
                }],
                ..Default::default()
            },
        ];
        let v = validate(request, &Limits::default());
        assert_eq!((v.accepted_spans, v.rejected_spans), (1, 2));
        assert_eq!(v.accepted.len(), 1, "the emptied resource is dropped");
        assert_eq!(v.accepted[0].scope_spans[0].spans, vec![good()]);
        assert_eq!(v.reasons.len(), 2);
        assert!(
            v.reasons[0].contains("trace_id is 0 bytes"),
            "{:?}",
            v.reasons
        );
    }
}
