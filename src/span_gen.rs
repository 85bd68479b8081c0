//! Spans for tests and benchmarks, built in Rust as OTLP messages: ids
//! from a counter through a mixing function (random-looking, repeatable),
//! realistic attribute sets (ten per span, two events), durations and
//! values varying per span.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

/// SplitMix64: a well-mixed 64-bit value of `x`.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The `i`th trace id.
pub fn trace_id(i: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&mix(i).to_be_bytes());
    id[8..].copy_from_slice(&mix(i ^ 0x5555).to_be_bytes());
    id
}

pub fn string(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

pub fn int(k: &str, v: i64) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(v)),
        }),
        ..Default::default()
    }
}

/// The span id of span number `id`: random-looking, as SDKs make them,
/// and never zero.
pub fn span_id(id: u64) -> [u8; 8] {
    (mix(id) | 1).to_be_bytes()
}

/// A bare span.
pub fn span(
    trace: [u8; 16],
    id: u64,
    parent: Option<u64>,
    name: &str,
    start_ns: u64,
    dur_ns: u64,
) -> Span {
    Span {
        trace_id: trace.to_vec(),
        span_id: span_id(id).to_vec(),
        parent_span_id: parent.map(|p| span_id(p).to_vec()).unwrap_or_default(),
        name: name.into(),
        kind: if parent.is_none() { 2 } else { 3 },
        start_time_unix_nano: start_ns,
        end_time_unix_nano: start_ns + dur_ns,
        ..Default::default()
    }
}

/// One request of `spans` from `service`.
pub fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    string("service.name", service),
                    string("host.name", "node-1"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "almanac.gen".into(),
                    version: "1".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

const ROUTES: &[&str] = &[
    "/api/cart",
    "/api/checkout",
    "/api/search",
    "/api/user",
    "/health",
];

/// Trace `i` of `n` realistic spans starting at `t0_ns`: a server root and
/// children, each with ten attributes and two events; every 50th trace
/// has an error.
pub fn realistic_trace(i: u64, n: usize, t0_ns: u64) -> Vec<Span> {
    let tid = trace_id(i);
    let r = mix(i);
    let route = ROUTES[(r % ROUTES.len() as u64) as usize];
    (0..n as u64)
        .map(|j| {
            let parent = (j > 0).then_some(i * 1000);
            let name = if j == 0 {
                format!("GET {route}")
            } else {
                format!("query {}", j % 4)
            };
            let start = t0_ns + j * 1_000_000;
            let mut s = span(
                tid,
                i * 1000 + j,
                parent,
                &name,
                start,
                2_000_000 + mix(i * 1000 + j) % 50_000_000,
            );
            s.attributes = vec![
                string("http.method", "GET"),
                string("http.route", route),
                int(
                    "http.status_code",
                    if i.is_multiple_of(50) { 500 } else { 200 },
                ),
                string("net.peer.name", "10.0.3.17"),
                int("net.peer.port", 5432),
                string("db.system", "postgresql"),
                string(
                    "db.statement",
                    "SELECT id, total FROM orders WHERE user_id = $1",
                ),
                string("user.id", &format!("u{}", r % 10_000)),
                int("thread.id", (j % 16) as i64),
                string("component", "http"),
            ];
            s.events = (0..2)
                .map(|e| Event {
                    time_unix_nano: start + 100_000 * (e + 1),
                    name: if e == 0 {
                        "cache.lookup".into()
                    } else {
                        "rows.fetched".into()
                    },
                    attributes: vec![
                        int("rows", (mix(i ^ j) % 100) as i64),
                        string("cache", "miss"),
                    ],
                    dropped_attributes_count: 0,
                })
                .collect();
            if i.is_multiple_of(50) && j == n as u64 - 1 {
                s.status = Some(Status {
                    code: 2,
                    message: "upstream failed".into(),
                });
            }
            s
        })
        .collect()
}
