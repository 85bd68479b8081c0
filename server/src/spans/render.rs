//! Spans as OTLP/JSON: lowerCamelCase, ids in hex, 64-bit integers as
//! strings, enums as numbers, bytes as base64 — what the OTLP spec's JSON
//! encoding says and what `curl` users and Grafana's JSON paths read.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use serde_json::{Map, Value, json};
use traces::id::hex;

use crate::otlp::jsonpb::base64_encode;

/// `resourceSpans` (or Tempo v1's `batches`) as a JSON array.
pub fn resource_spans(batch: &[ResourceSpans]) -> Value {
    Value::Array(batch.iter().map(one_resource).collect())
}

fn one_resource(rs: &ResourceSpans) -> Value {
    let mut o = Map::new();
    if let Some(r) = &rs.resource {
        o.insert(
            "resource".into(),
            json!({"attributes": attributes(&r.attributes), "droppedAttributesCount": r.dropped_attributes_count}),
        );
    }
    let scopes: Vec<Value> = rs
        .scope_spans
        .iter()
        .map(|ss| {
            let mut s = Map::new();
            if let Some(scope) = &ss.scope {
                s.insert("scope".into(), scope_json(scope));
            }
            s.insert("spans".into(), ss.spans.iter().map(span).collect());
            if !ss.schema_url.is_empty() {
                s.insert("schemaUrl".into(), json!(ss.schema_url));
            }
            Value::Object(s)
        })
        .collect();
    o.insert("scopeSpans".into(), Value::Array(scopes));
    if !rs.schema_url.is_empty() {
        o.insert("schemaUrl".into(), json!(rs.schema_url));
    }
    Value::Object(o)
}

fn scope_json(s: &InstrumentationScope) -> Value {
    json!({"name": s.name, "version": s.version, "attributes": attributes(&s.attributes)})
}

/// One span.
pub fn span(s: &Span) -> Value {
    let mut o = Map::new();
    o.insert("traceId".into(), json!(hex(&s.trace_id)));
    o.insert("spanId".into(), json!(hex(&s.span_id)));
    if !s.parent_span_id.is_empty() {
        o.insert("parentSpanId".into(), json!(hex(&s.parent_span_id)));
    }
    if !s.trace_state.is_empty() {
        o.insert("traceState".into(), json!(s.trace_state));
    }
    if s.flags != 0 {
        o.insert("flags".into(), json!(s.flags));
    }
    o.insert("name".into(), json!(s.name));
    o.insert("kind".into(), json!(s.kind));
    o.insert(
        "startTimeUnixNano".into(),
        json!(s.start_time_unix_nano.to_string()),
    );
    o.insert(
        "endTimeUnixNano".into(),
        json!(s.end_time_unix_nano.to_string()),
    );
    o.insert("attributes".into(), attributes(&s.attributes));
    let dropped = [
        ("droppedAttributesCount", s.dropped_attributes_count),
        ("droppedEventsCount", s.dropped_events_count),
        ("droppedLinksCount", s.dropped_links_count),
    ];
    for (k, n) in dropped {
        if n != 0 {
            o.insert(k.into(), json!(n));
        }
    }
    if !s.events.is_empty() {
        let events = s.events.iter().map(|e| {
            json!({"timeUnixNano": e.time_unix_nano.to_string(), "name": e.name,
                   "attributes": attributes(&e.attributes), "droppedAttributesCount": e.dropped_attributes_count})
        });
        o.insert("events".into(), events.collect());
    }
    if !s.links.is_empty() {
        let links = s.links.iter().map(|l| {
            json!({"traceId": hex(&l.trace_id), "spanId": hex(&l.span_id), "traceState": l.trace_state,
                   "attributes": attributes(&l.attributes), "droppedAttributesCount": l.dropped_attributes_count,
                   "flags": l.flags})
        });
        o.insert("links".into(), links.collect());
    }
    let status = s
        .status
        .as_ref()
        .map_or((0, ""), |st| (st.code, st.message.as_str()));
    o.insert(
        "status".into(),
        json!({"code": status.0, "message": status.1}),
    );
    Value::Object(o)
}

/// Attributes as a JSON array of `{key, value}`.
pub fn attributes(kvs: &[KeyValue]) -> Value {
    kvs.iter()
        .map(|kv| json!({"key": kv.key, "value": kv.value.as_ref().map_or(json!({}), any)}))
        .collect()
}

/// An `AnyValue` in OTLP/JSON.
pub fn any(v: &AnyValue) -> Value {
    use any_value::Value as V;
    match &v.value {
        None => json!({}),
        Some(V::StringValue(s)) => json!({"stringValue": s}),
        Some(V::BoolValue(b)) => json!({"boolValue": b}),
        Some(V::IntValue(i)) => json!({"intValue": i.to_string()}),
        Some(V::DoubleValue(d)) if d.is_finite() => json!({"doubleValue": d}),
        Some(V::DoubleValue(d)) => {
            json!({"doubleValue": if d.is_nan() { "NaN" } else if *d > 0.0 { "Infinity" } else { "-Infinity" }})
        }
        Some(V::ArrayValue(a)) => {
            json!({"arrayValue": {"values": a.values.iter().map(any).collect::<Vec<_>>()}})
        }
        Some(V::KvlistValue(l)) => json!({"kvlistValue": {"values": attributes(&l.values)}}),
        Some(V::BytesValue(b)) => json!({"bytesValue": base64_encode(b)}),
        // Profiles' string-table references never occur in spans.
        Some(V::StringValueStrindex(_)) => json!({}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is rendered decodes back to the same spans.
    #[test]
    fn round_trips_through_the_receiver_decoder() {
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}}]},
          "scopeSpans":[{"scope":{"name":"lib","version":"1"},"spans":[{
            "traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","parentSpanId":"b7ad6b7169203330",
            "name":"GET /","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000",
            "attributes":[{"key":"i","value":{"intValue":"-3"}},{"key":"b","value":{"bytesValue":"AAE="}},
              {"key":"d","value":{"doubleValue":1.5}},{"key":"a","value":{"arrayValue":{"values":[{"boolValue":true}]}}},
              {"key":"m","value":{"kvlistValue":{"values":[{"key":"x","value":{"stringValue":"y"}}]}}}],
            "events":[{"timeUnixNano":"1700000000100000000","name":"retry","attributes":[]}],
            "links":[{"traceId":"0af7651916cd43dd8448eb211c80319d","spanId":"b7ad6b7169203332","flags":1}],
            "status":{"code":2,"message":"boom"}}]}]}]}"#;
        let req = super::super::otlp_json::decode(body).unwrap();
        let rendered = json!({"resourceSpans": resource_spans(&req.resource_spans)});
        let again =
            super::super::otlp_json::decode(&serde_json::to_vec(&rendered).unwrap()).unwrap();
        assert_eq!(req, again);
    }
}
