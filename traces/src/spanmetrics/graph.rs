//! Service-graph edges: a client span (kind `CLIENT` or `PRODUCER`) and a
//! server span (kind `SERVER` or `CONSUMER`) that is its child make one
//! request from the client's service to the server's.

use std::collections::HashMap;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use crate::head::{Origin, StoredSpan};

/// One request between two services.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub client: String,
    pub server: String,
    /// Either side ended with status `ERROR`.
    pub failed: bool,
    /// How long the server and the client span took.
    pub server_seconds: f64,
    pub client_seconds: f64,
}

/// The edges of one trace with all its spans in view. Spans without a
/// `service.name` take the SDKs' default, `unknown_service`.
pub fn edges(spans: &[StoredSpan]) -> Vec<Edge> {
    let clients: HashMap<[u8; 8], &StoredSpan> = spans
        .iter()
        .filter(|s| is_kind(s, &[SpanKind::Client, SpanKind::Producer]))
        .map(|s| (s.span_id, s))
        .collect();
    if clients.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for server in spans {
        if !is_kind(server, &[SpanKind::Server, SpanKind::Consumer]) {
            continue;
        }
        let Some(client) = clients.get(&server.parent_span_id) else {
            continue;
        };
        out.push(Edge {
            client: service_of(&client.origin).to_string(),
            server: service_of(&server.origin).to_string(),
            failed: is_error(client) || is_error(server),
            server_seconds: seconds(server),
            client_seconds: seconds(client),
        });
    }
    out
}

pub(crate) fn service_of(o: &Origin) -> &str {
    o.service_name().unwrap_or("unknown_service")
}

fn is_kind(s: &StoredSpan, kinds: &[SpanKind]) -> bool {
    kinds.iter().any(|k| *k as i32 == s.kind)
}

fn seconds(s: &StoredSpan) -> f64 {
    s.end_ns.saturating_sub(s.start_ns) as f64 / 1e9
}

fn is_error(s: &StoredSpan) -> bool {
    s.status == StatusCode::Error as i32
}
