//! OTLP spans as Jaeger's JSON trace model, converted as the OpenTelemetry
//! collector's Jaeger translator converts them:
//!
//! - the resource becomes a process (`serviceName` from `service.name`,
//!   the other resource attributes as its tags), numbered `p1`, `p2`, …;
//! - the parent becomes a `CHILD_OF` reference, links `FOLLOWS_FROM`;
//! - kind, status and scope become the tags `span.kind`,
//!   `otel.status_code`, `otel.status_description`, `error`,
//!   `otel.scope.name`, `otel.scope.version`;
//! - events become logs, their name as the field `event`;
//! - times are microseconds; ids lower-case hex.

use std::collections::HashMap;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use serde_json::{Value, json};
use traces::TraceId;
use traces::id::hex;

use crate::otlp::jsonpb::base64_encode;

/// One trace in Jaeger's model.
pub fn trace(id: &TraceId, batch: &[ResourceSpans]) -> Value {
    let mut processes = serde_json::Map::new();
    let mut process_ids: HashMap<String, String> = HashMap::new();
    let mut spans = Vec::new();
    for rs in batch {
        let attrs = rs.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
        let process = process(attrs);
        let key = process.to_string();
        let next = format!("p{}", process_ids.len() + 1);
        let pid = process_ids.entry(key).or_insert(next).clone();
        processes.entry(pid.clone()).or_insert(process);
        for ss in &rs.scope_spans {
            let scope = ss.scope.as_ref();
            let mut scope_tags = Vec::new();
            if let Some(sc) = scope.filter(|s| !s.name.is_empty()) {
                scope_tags.push(tag_str("otel.scope.name", &sc.name));
                if !sc.version.is_empty() {
                    scope_tags.push(tag_str("otel.scope.version", &sc.version));
                }
            }
            for s in &ss.spans {
                spans.push(span(s, &pid, &scope_tags));
            }
        }
    }
    json!({
        "traceID": id.to_string(),
        "spans": spans,
        "processes": processes,
        "warnings": null,
    })
}

fn process(attrs: &[KeyValue]) -> Value {
    let mut service = "unknown_service".to_owned();
    let mut tags = Vec::new();
    for kv in attrs {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) if kv.key == "service.name" => {
                service = s.clone();
            }
            _ => tags.push(tag(kv)),
        }
    }
    json!({"serviceName": service, "tags": tags})
}

fn span(s: &Span, pid: &str, scope_tags: &[Value]) -> Value {
    let trace_id = hex(&s.trace_id);
    let mut references = Vec::new();
    if !s.parent_span_id.is_empty() {
        references.push(json!({
            "refType": "CHILD_OF",
            "traceID": trace_id,
            "spanID": hex(&s.parent_span_id),
        }));
    }
    for l in &s.links {
        references.push(json!({
            "refType": "FOLLOWS_FROM",
            "traceID": hex(&l.trace_id),
            "spanID": hex(&l.span_id),
        }));
    }
    let mut tags: Vec<Value> = s.attributes.iter().map(tag).collect();
    tags.extend_from_slice(scope_tags);
    if let Some(kind) = kind_name(s.kind) {
        tags.push(tag_str("span.kind", kind));
    }
    if let Some(st) = &s.status {
        match StatusCode::try_from(st.code) {
            Ok(StatusCode::Error) => {
                tags.push(tag_str("otel.status_code", "ERROR"));
                tags.push(json!({"key": "error", "type": "bool", "value": true}));
            }
            Ok(StatusCode::Ok) => tags.push(tag_str("otel.status_code", "OK")),
            _ => {}
        }
        if !st.message.is_empty() {
            tags.push(tag_str("otel.status_description", &st.message));
        }
    }
    if !s.trace_state.is_empty() {
        tags.push(tag_str("w3c.tracestate", &s.trace_state));
    }
    let logs: Vec<Value> = s
        .events
        .iter()
        .map(|e| {
            let mut fields = vec![tag_str("event", &e.name)];
            fields.extend(e.attributes.iter().map(tag));
            json!({"timestamp": e.time_unix_nano / 1000, "fields": fields})
        })
        .collect();
    let start_us = s.start_time_unix_nano / 1000;
    let duration_us = s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano) / 1000;
    json!({
        "traceID": trace_id,
        "spanID": hex(&s.span_id),
        "operationName": s.name,
        "references": references,
        "startTime": start_us,
        "duration": duration_us,
        "tags": tags,
        "logs": logs,
        "processID": pid,
        "warnings": null,
    })
}

fn kind_name(kind: i32) -> Option<&'static str> {
    Some(match SpanKind::try_from(kind).ok()? {
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Unspecified => return None,
    })
}

fn tag_str(key: &str, v: &str) -> Value {
    json!({"key": key, "type": "string", "value": v})
}

/// An attribute as a typed Jaeger tag; arrays and maps as JSON text.
fn tag(kv: &KeyValue) -> Value {
    use any_value::Value as V;
    let (ty, value) = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(V::StringValue(s)) => ("string", json!(s)),
        Some(V::BoolValue(b)) => ("bool", json!(b)),
        Some(V::IntValue(i)) => ("int64", json!(i)),
        Some(V::DoubleValue(d)) => ("float64", json!(d)),
        Some(V::BytesValue(b)) => ("binary", json!(base64_encode(b))),
        Some(other) => (
            "string",
            json!(
                plain(&AnyValue {
                    value: Some(other.clone())
                })
                .to_string()
            ),
        ),
        None => ("string", json!("")),
    };
    json!({"key": kv.key, "type": ty, "value": value})
}

/// An `AnyValue` as plain JSON (arrays as arrays, maps as objects).
fn plain(v: &AnyValue) -> Value {
    use any_value::Value as V;
    match &v.value {
        Some(V::StringValue(s)) => json!(s),
        Some(V::BoolValue(b)) => json!(b),
        Some(V::IntValue(i)) => json!(i),
        Some(V::DoubleValue(d)) => json!(d),
        Some(V::BytesValue(b)) => json!(base64_encode(b)),
        Some(V::ArrayValue(a)) => Value::Array(a.values.iter().map(plain).collect()),
        Some(V::KvlistValue(l)) => l
            .values
            .iter()
            .map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(Value::Null, plain)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Some(V::StringValueStrindex(_)) | None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Status};

    use super::*;

    fn kv(key: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    #[test]
    fn converts_as_the_collector_translator() {
        use any_value::Value as V;
        let resource = |svc: &str| Resource {
            attributes: vec![
                kv("service.name", V::StringValue(svc.into())),
                kv("host", V::StringValue("h1".into())),
            ],
            ..Default::default()
        };
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            parent_span_id: vec![3; 8],
            name: "GET /".into(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: 1_700_000_000_000_001_000,
            end_time_unix_nano: 1_700_000_000_250_001_000,
            attributes: vec![
                kv("n", V::IntValue(7)),
                kv("ok", V::BoolValue(true)),
                kv("r", V::DoubleValue(0.5)),
            ],
            events: vec![Event {
                time_unix_nano: 1_700_000_000_100_000_000,
                name: "retry".into(),
                attributes: vec![kv("attempt", V::IntValue(2))],
                ..Default::default()
            }],
            links: vec![Link {
                trace_id: vec![9; 16],
                span_id: vec![8; 8],
                ..Default::default()
            }],
            status: Some(Status {
                code: StatusCode::Error as i32,
                message: "boom".into(),
            }),
            ..Default::default()
        };
        let batch = |svc: &str| ResourceSpans {
            resource: Some(resource(svc)),
            scope_spans: vec![ScopeSpans {
                spans: vec![span.clone()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let id = TraceId([1; 16]);
        let t = trace(&id, &[batch("web"), batch("api"), batch("web")]);
        let p = &t["processes"];
        assert_eq!(p["p1"]["serviceName"], "web");
        assert_eq!(p["p2"]["serviceName"], "api");
        assert_eq!(
            p["p1"]["tags"],
            json!([{"key": "host", "type": "string", "value": "h1"}])
        );
        assert!(p.get("p3").is_none(), "the same resource is one process");
        let s = &t["spans"][0];
        assert_eq!(s["processID"], "p1");
        assert_eq!(t["spans"][2]["processID"], "p1");
        assert_eq!(s["startTime"], 1_700_000_000_000_001u64);
        assert_eq!(s["duration"], 250_000);
        assert_eq!(s["references"][0]["refType"], "CHILD_OF");
        assert_eq!(s["references"][0]["spanID"], "0303030303030303");
        assert_eq!(s["references"][1]["refType"], "FOLLOWS_FROM");
        let tags = s["tags"].as_array().unwrap();
        for want in [
            json!({"key": "n", "type": "int64", "value": 7}),
            json!({"key": "ok", "type": "bool", "value": true}),
            json!({"key": "r", "type": "float64", "value": 0.5}),
            json!({"key": "span.kind", "type": "string", "value": "server"}),
            json!({"key": "otel.status_code", "type": "string", "value": "ERROR"}),
            json!({"key": "error", "type": "bool", "value": true}),
            json!({"key": "otel.status_description", "type": "string", "value": "boom"}),
        ] {
            assert!(tags.contains(&want), "{want} in {tags:?}");
        }
        assert_eq!(
            s["logs"][0],
            json!({"timestamp": 1_700_000_000_100_000u64, "fields": [
                {"key": "event", "type": "string", "value": "retry"},
                {"key": "attempt", "type": "int64", "value": 2},
            ]})
        );
    }
}
