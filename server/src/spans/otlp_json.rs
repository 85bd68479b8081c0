//! OTLP/JSON trace requests into the protobuf message types, by the rules
//! of [`crate::otlp::jsonpb`].

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status,
    span::{Event, Link},
};
use serde_json::Value;

use crate::otlp::jsonpb::{
    Obj, Res, child, enumeration, hex, int_field, key_value, list, object, resource, scope, string,
};

const KINDS: &[&str] = &[
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];

const STATUS_CODES: &[&str] = &["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

/// Decodes an OTLP/JSON `ExportTraceServiceRequest`.
pub fn decode(body: &[u8]) -> Res<ExportTraceServiceRequest> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let o = object(&v, "request")?;
    Ok(ExportTraceServiceRequest {
        resource_spans: list(o, "resourceSpans", resource_spans)?,
    })
}

fn resource_spans(o: &Obj) -> Res<ResourceSpans> {
    Ok(ResourceSpans {
        resource: child(o, "resource", resource)?,
        scope_spans: list(o, "scopeSpans", scope_spans)?,
        schema_url: string(o, "schemaUrl")?,
    })
}

fn scope_spans(o: &Obj) -> Res<ScopeSpans> {
    Ok(ScopeSpans {
        scope: child(o, "scope", scope)?,
        spans: list(o, "spans", span)?,
        schema_url: string(o, "schemaUrl")?,
    })
}

fn span(o: &Obj) -> Res<Span> {
    Ok(Span {
        trace_id: hex(o, "traceId")?,
        span_id: hex(o, "spanId")?,
        trace_state: string(o, "traceState")?,
        parent_span_id: hex(o, "parentSpanId")?,
        flags: int_field(o, "flags")?,
        name: string(o, "name")?,
        kind: enumeration(o, "kind", KINDS)?,
        start_time_unix_nano: int_field(o, "startTimeUnixNano")?,
        end_time_unix_nano: int_field(o, "endTimeUnixNano")?,
        attributes: list(o, "attributes", key_value)?,
        dropped_attributes_count: int_field(o, "droppedAttributesCount")?,
        events: list(o, "events", event)?,
        dropped_events_count: int_field(o, "droppedEventsCount")?,
        links: list(o, "links", link)?,
        dropped_links_count: int_field(o, "droppedLinksCount")?,
        status: child(o, "status", |s| {
            Ok(Status {
                message: string(s, "message")?,
                code: enumeration(s, "code", STATUS_CODES)?,
            })
        })?,
    })
}

fn event(o: &Obj) -> Res<Event> {
    Ok(Event {
        time_unix_nano: int_field(o, "timeUnixNano")?,
        name: string(o, "name")?,
        attributes: list(o, "attributes", key_value)?,
        dropped_attributes_count: int_field(o, "droppedAttributesCount")?,
    })
}

fn link(o: &Obj) -> Res<Link> {
    Ok(Link {
        trace_id: hex(o, "traceId")?,
        span_id: hex(o, "spanId")?,
        trace_state: string(o, "traceState")?,
        attributes: list(o, "attributes", key_value)?,
        dropped_attributes_count: int_field(o, "droppedAttributesCount")?,
        flags: int_field(o, "flags")?,
    })
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;

    use super::*;

    #[test]
    fn a_javascript_exporter_request() {
        // Numbers for int64 fields, enum names and numbers, upper-case hex,
        // an unknown field: all as the JS exporter and the spec allow.
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}}]},
          "scopeSpans":[{"scope":{"name":"lib","version":"1"},"spans":[{
            "traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":"b7ad6b7169203331","parentSpanId":"",
            "name":"GET /","kind":2,"startTimeUnixNano":1700000000000000000,"endTimeUnixNano":"1700000000500000000",
            "attributes":[{"key":"http.status_code","value":{"intValue":"200"}},{"key":"raw","value":{"bytesValue":"aGkhPw=="}}],
            "events":[{"timeUnixNano":"1700000000100000000","name":"retry","attributes":[]}],
            "links":[{"traceId":"0af7651916cd43dd8448eb211c80319d","spanId":"b7ad6b7169203332"}],
            "status":{"code":"STATUS_CODE_ERROR","message":"boom"},
            "futureField":true}]}]}]}"#;
        let req = decode(body).unwrap();
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id[0], 0x0a);
        assert_eq!(span.trace_id.len(), 16);
        assert_eq!(span.span_id.len(), 8);
        assert!(span.parent_span_id.is_empty());
        assert_eq!(
            (span.kind, span.start_time_unix_nano),
            (2, 1_700_000_000_000_000_000)
        );
        assert_eq!(span.end_time_unix_nano, 1_700_000_000_500_000_000);
        assert_eq!(
            span.attributes[0].value.as_ref().unwrap().value,
            Some(V::IntValue(200))
        );
        assert_eq!(
            span.attributes[1].value.as_ref().unwrap().value,
            Some(V::BytesValue(b"hi!?".to_vec()))
        );
        assert_eq!(span.events[0].name, "retry");
        assert_eq!(span.links[0].span_id.len(), 8);
        let status = span.status.as_ref().unwrap();
        assert_eq!((status.code, status.message.as_str()), (2, "boom"));
    }

    #[test]
    fn malformed_requests() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("not json", b"{", "invalid JSON"),
            ("not an object", b"[]", "expected an object"),
            (
                "bad hex",
                br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#,
                "traceId: invalid hex",
            ),
            (
                "bad kind",
                br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_NOPE"}]}]}]}"#,
                "kind: unknown value",
            ),
        ];
        for (name, body, want) in cases {
            let err = decode(body).unwrap_err();
            assert!(err.contains(want), "{name}: {err}");
        }
    }
}
