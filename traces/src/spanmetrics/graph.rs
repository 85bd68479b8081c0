//! Service-graph edges: a client span (kind `CLIENT` or `PRODUCER`) and a
//! server span (kind `SERVER` or `CONSUMER`) that is its child make one
//! request from the client's service to the server's.

use std::collections::HashMap;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use crate::head::HeadSpan;

/// One request between two services.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Edge {
    pub client: String,
    pub server: String,
    /// Either side ended with status `ERROR`.
    pub failed: bool,
}

/// The edges of one trace with all its spans in view. Spans without a
/// `service.name` take the SDKs' default, `unknown_service`.
pub fn edges(spans: &[HeadSpan]) -> Vec<Edge> {
    let clients: HashMap<&[u8], &HeadSpan> = spans
        .iter()
        .filter(|s| is_kind(s, &[SpanKind::Client, SpanKind::Producer]))
        .map(|s| (s.span.span_id.as_slice(), s))
        .collect();
    if clients.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for server in spans {
        if !is_kind(server, &[SpanKind::Server, SpanKind::Consumer]) {
            continue;
        }
        let Some(client) = clients.get(server.span.parent_span_id.as_slice()) else {
            continue;
        };
        out.push(Edge {
            client: service(client).to_string(),
            server: service(server).to_string(),
            failed: is_error(client) || is_error(server),
        });
    }
    out
}

pub(crate) fn service(s: &HeadSpan) -> &str {
    s.origin.service_name().unwrap_or("unknown_service")
}

fn is_kind(s: &HeadSpan, kinds: &[SpanKind]) -> bool {
    kinds.iter().any(|k| *k as i32 == s.span.kind)
}

fn is_error(s: &HeadSpan) -> bool {
    s.span
        .status
        .as_ref()
        .is_some_and(|st| st.code == StatusCode::Error as i32)
}
