//! `POST /v1/logs` and `/otlp/v1/logs`: OpenTelemetry logs (OTLP/HTTP,
//! protobuf or JSON, gzip or not) into the log store, mapped as Loki maps
//! them:
//! - the resource attributes Loki indexes by default become stream labels,
//!   dots replaced by underscores (`service.name` → `service_name`); a
//!   resource without `service.name` gets `service_name="unknown_service"`;
//! - every other resource attribute, the scope's name and version, the
//!   record's attributes, `trace_id`, `span_id`, `severity_text` and
//!   `severity_number` become structured metadata (names the same way);
//! - the line is the body (a string as it is, other values as JSON); the
//!   time is `time_unix_nano`, or `observed_time_unix_nano` when that is 0.
//!
//! Answers as the OTLP spec has them (as `/v1/traces` does): 200 with an
//! `ExportLogsServiceResponse` whose `partial_success` counts and explains
//! refused records; 400 when the body does not decode or every record is
//! refused.

use std::collections::BTreeMap;

use hyper::{Method, StatusCode};
use logs::model::{Entry, StreamPush};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message;
use serde_json::{Value, json};
use tsdb::model::Labels;

use crate::api::{Reply, Req};
use crate::error::ApiError;
use crate::otlp::jsonpb::{
    Obj, Res, child, hex, int_field, key_value, list, object, resource, scope, string,
};
use crate::otlp::{Encoding, receive_export, wants_json};
use crate::state::State;

/// Resource attributes that become stream labels (Loki's defaults).
const LABEL_ATTRIBUTES: &[&str] = &[
    "service.name",
    "service.namespace",
    "service.instance.id",
    "deployment.environment",
    "deployment.environment.name",
    "cloud.region",
    "cloud.availability_zone",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
    "container.name",
    "k8s.replicaset.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.cronjob.name",
    "k8s.job.name",
];

pub fn export(state: &State, req: &Req) -> Result<Reply, ApiError> {
    receive(state, req).map_err(|e| e.otlp(wants_json(req)))
}

fn receive(state: &State, req: &Req) -> Result<Reply, ApiError> {
    if req.method == Method::POST && req.body.is_empty() {
        return Err(ApiError::BadData(
            "empty body: an export request carries at least one log record".into(),
        ));
    }
    let (enc, raw, _permit) = receive_export(state, req)?;
    let request = match enc {
        Encoding::Protobuf => ExportLogsServiceRequest::decode(&raw[..])
            .map_err(|e| ApiError::BadData(format!("protobuf: {e}")))?,
        Encoding::Json => decode_json(&raw).map_err(ApiError::BadData)?,
    };
    let now = super::time::now_ns();
    let streams = translate(request, now);
    let admitted = state.logs.push(&state.db, streams, now)?;
    if admitted.rate_limited {
        return Err(ApiError::Overloaded(admitted.reasons.join("; ")));
    }
    if admitted.entries == 0 && admitted.refused > 0 {
        return Err(ApiError::BadData(format!(
            "all {} log records refused: {}",
            admitted.refused,
            admitted.reasons.join("; ")
        )));
    }
    let response = ExportLogsServiceResponse {
        partial_success: (admitted.refused > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: admitted.refused as i64,
            error_message: admitted.reasons.join("; "),
        }),
    };
    let body = match enc {
        Encoding::Protobuf => response.encode_to_vec(),
        Encoding::Json => {
            let v = match &response.partial_success {
                None => json!({}),
                Some(p) => json!({"partialSuccess": {
                    "rejectedLogRecords": p.rejected_log_records.to_string(),
                    "errorMessage": p.error_message,
                }}),
            };
            serde_json::to_vec(&v).unwrap_or_default()
        }
    };
    Ok(Reply::Body(StatusCode::OK, enc.content_type(), body))
}

/// A label or metadata name from an attribute key.
fn name(key: &str) -> String {
    logs::logql::pipeline::extract::sanitize(key)
}

/// A value as text: strings as they are, other values as JSON.
fn text(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        None => String::new(),
        Some(_) => any_json(v).to_string(),
    }
}

fn any_json(v: Option<&AnyValue>) -> Value {
    use any_value::Value as V;
    match v.and_then(|v| v.value.as_ref()) {
        None => Value::Null,
        Some(V::StringValue(s)) => json!(s),
        Some(V::BoolValue(b)) => json!(b),
        Some(V::IntValue(i)) => json!(i),
        Some(V::DoubleValue(d)) => json!(d),
        Some(V::BytesValue(b)) => json!(crate::otlp::jsonpb::base64_encode(b)),
        Some(V::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(|v| any_json(Some(v))).collect())
        }
        Some(V::KvlistValue(l)) => Value::Object(
            l.values
                .iter()
                .map(|kv| (kv.key.clone(), any_json(kv.value.as_ref())))
                .collect(),
        ),
        Some(V::StringValueStrindex(i)) => json!(i),
    }
}

fn attributes(attrs: &[KeyValue], out: &mut Vec<(String, String)>) {
    for kv in attrs {
        out.push((name(&kv.key), text(kv.value.as_ref())));
    }
}

/// The entries of a request, by stream.
pub fn translate(req: ExportLogsServiceRequest, now_ns: i64) -> Vec<StreamPush> {
    let mut streams: BTreeMap<Labels, Vec<Entry>> = BTreeMap::new();
    for rl in req.resource_logs {
        let (labels, resource_md) = resource_labels(&rl);
        let entries = streams.entry(labels).or_default();
        for sl in &rl.scope_logs {
            let mut scope_md = resource_md.clone();
            if let Some(s) = &sl.scope {
                if !s.name.is_empty() {
                    scope_md.push(("scope_name".into(), s.name.clone()));
                }
                if !s.version.is_empty() {
                    scope_md.push(("scope_version".into(), s.version.clone()));
                }
                attributes(&s.attributes, &mut scope_md);
            }
            entries.extend(sl.log_records.iter().map(|r| record(r, &scope_md, now_ns)));
        }
    }
    streams
        .into_iter()
        .map(|(labels, entries)| StreamPush { labels, entries })
        .collect()
}

fn resource_labels(rl: &ResourceLogs) -> (Labels, Vec<(String, String)>) {
    let mut labels = Vec::new();
    let mut metadata = Vec::new();
    for kv in rl.resource.iter().flat_map(|r| &r.attributes) {
        let pair = (name(&kv.key), text(kv.value.as_ref()));
        if LABEL_ATTRIBUTES.contains(&kv.key.as_str()) {
            labels.push(pair);
        } else {
            metadata.push(pair);
        }
    }
    if !labels.iter().any(|(n, _)| n == "service_name") {
        labels.push(("service_name".into(), "unknown_service".into()));
    }
    (Labels::from_pairs(&labels), metadata)
}

fn record(r: &LogRecord, base: &[(String, String)], now_ns: i64) -> Entry {
    let ts = match (r.time_unix_nano, r.observed_time_unix_nano) {
        (0, 0) => now_ns,
        (0, observed) => observed as i64,
        (t, _) => t as i64,
    };
    let mut metadata = base.to_vec();
    attributes(&r.attributes, &mut metadata);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    if !r.trace_id.is_empty() {
        metadata.push(("trace_id".into(), hex(&r.trace_id)));
    }
    if !r.span_id.is_empty() {
        metadata.push(("span_id".into(), hex(&r.span_id)));
    }
    if !r.severity_text.is_empty() {
        metadata.push(("severity_text".into(), r.severity_text.clone()));
    }
    if r.severity_number != 0 {
        metadata.push(("severity_number".into(), r.severity_number.to_string()));
    }
    metadata.retain(|(_, v)| !v.is_empty());
    Entry {
        ts,
        line: text(r.body.as_ref()),
        metadata,
    }
}

/// Decodes an OTLP/JSON `ExportLogsServiceRequest`.
pub fn decode_json(body: &[u8]) -> Res<ExportLogsServiceRequest> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let o = object(&v, "request")?;
    Ok(ExportLogsServiceRequest {
        resource_logs: list(o, "resourceLogs", resource_logs)?,
    })
}

fn resource_logs(o: &Obj) -> Res<ResourceLogs> {
    Ok(ResourceLogs {
        resource: child(o, "resource", resource)?,
        scope_logs: list(o, "scopeLogs", scope_logs)?,
        schema_url: string(o, "schemaUrl")?,
    })
}

fn scope_logs(o: &Obj) -> Res<ScopeLogs> {
    Ok(ScopeLogs {
        scope: child(o, "scope", scope)?,
        log_records: list(o, "logRecords", log_record)?,
        schema_url: string(o, "schemaUrl")?,
    })
}

fn log_record(o: &Obj) -> Res<LogRecord> {
    Ok(LogRecord {
        time_unix_nano: int_field(o, "timeUnixNano")?,
        observed_time_unix_nano: int_field(o, "observedTimeUnixNano")?,
        severity_number: int_field(o, "severityNumber")?,
        severity_text: string(o, "severityText")?,
        body: child(o, "body", crate::otlp::jsonpb::any_value)?,
        attributes: list(o, "attributes", key_value)?,
        dropped_attributes_count: int_field(o, "droppedAttributesCount")?,
        flags: int_field(o, "flags")?,
        trace_id: hex(o, "traceId")?,
        span_id: hex(o, "spanId")?,
        event_name: string(o, "eventName")?,
    })
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource;

    use super::*;

    fn kv(k: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    fn s(v: &str) -> any_value::Value {
        any_value::Value::StringValue(v.into())
    }

    #[test]
    fn loki_mapping() {
        let req = ExportLogsServiceRequest {
            resource_logs: vec![
                ResourceLogs {
                    resource: Some(Resource {
                        attributes: vec![
                            kv("service.name", s("shop")),
                            kv("k8s.pod.name", s("shop-1")),
                            kv("host.name", s("h1")),
                        ],
                        ..Default::default()
                    }),
                    scope_logs: vec![ScopeLogs {
                        scope: Some(InstrumentationScope {
                            name: "app.logger".into(),
                            ..Default::default()
                        }),
                        log_records: vec![
                            LogRecord {
                                time_unix_nano: 5,
                                body: Some(AnyValue {
                                    value: Some(s("hello")),
                                }),
                                attributes: vec![kv(
                                    "http.status",
                                    any_value::Value::IntValue(500),
                                )],
                                trace_id: vec![0xab; 16],
                                severity_text: "ERROR".into(),
                                severity_number: 17,
                                ..Default::default()
                            },
                            LogRecord {
                                observed_time_unix_nano: 9,
                                body: Some(AnyValue {
                                    value: Some(any_value::Value::IntValue(42)),
                                }),
                                ..Default::default()
                            },
                        ],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                ResourceLogs::default(),
            ],
        };
        let mut got = translate(req, 77);
        got.sort_by(|a, b| a.labels.cmp(&b.labels));
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].labels.to_string(),
            r#"{k8s_pod_name="shop-1", service_name="shop"}"#
        );
        let e = &got[0].entries[0];
        assert_eq!((e.ts, e.line.as_str()), (5, "hello"));
        let md: BTreeMap<&str, &str> = e
            .metadata
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(md["host_name"], "h1");
        assert_eq!(md["scope_name"], "app.logger");
        assert_eq!(md["http_status"], "500");
        assert_eq!(md["trace_id"], "ab".repeat(16));
        assert_eq!(
            (md["severity_text"], md["severity_number"]),
            ("ERROR", "17")
        );
        assert_eq!(got[0].entries[1].ts, 9, "observed time when the time is 0");
        assert_eq!(got[0].entries[1].line, "42");
        assert_eq!(
            got[1].labels.to_string(),
            r#"{service_name="unknown_service"}"#
        );
    }

    #[test]
    fn json_bodies() {
        let body = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"j"}}]},
            "scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000000000000","body":{"stringValue":"hi"},
            "traceId":"0102030405060708090a0b0c0d0e0f10","severityNumber":9}]}]}]}"#;
        let req = decode_json(body).unwrap();
        let got = translate(req, 0);
        assert_eq!(got[0].entries[0].line, "hi");
        assert_eq!(got[0].entries[0].ts, 1_700_000_000_000_000_000);
        assert!(decode_json(b"{\"resourceLogs\": 5}").is_err());
    }
}
