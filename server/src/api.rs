//! The HTTP API: Prometheus's `/api/v1/*`, remote write/read, health and
//! self-metrics. [`route`] maps a path to its handler.

mod admin;
mod ast_json;
mod cardinality;
pub mod json;
mod limits_status;
mod meta;
mod metric_names_stats;
mod params;
pub(crate) mod query;
pub(crate) mod result_json;
mod retention_status;
mod rules;
mod status;
mod tsdb_status;
mod write;

pub use params::{Params, decode_path_segment, parse_duration};
pub(crate) use status::healthy_reply;

use bytes::Bytes;
use hyper::{Method, StatusCode};

use crate::error::ApiError;
use crate::state::State;

/// What a handler produces.
pub enum Reply {
    /// A successful JSON body (already in the envelope).
    Json(serde_json::Value),
    /// A status with no body (204 for writes) and extra headers.
    Empty(StatusCode, Vec<(&'static str, String)>),
    /// A body with its content type.
    Body(StatusCode, &'static str, Vec<u8>),
    /// A 200 with a body that is sent while it is built: the producer
    /// runs on a blocking thread and hands the body's pieces to a
    /// [`BodySink`].
    Stream(&'static str, Box<dyn FnOnce(&BodySink) + Send>),
}

/// Where a streamed body's pieces go, each sent as it comes (at most a
/// few are buffered: a slow client slows the producer down).
pub struct BodySink(pub(crate) tokio::sync::mpsc::Sender<Bytes>);

impl BodySink {
    /// Sends one piece; `false` once the client has gone (stop producing).
    pub fn send(&self, piece: Vec<u8>) -> bool {
        self.0.blocking_send(Bytes::from(piece)).is_ok()
    }
}

/// A request as handlers see it: method, path, headers of interest, the
/// parameters (query string + form body) and the raw body.
pub struct Req {
    pub method: Method,
    pub path: String,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub accept: Option<String>,
    /// Loki's `X-Loki-Response-Encoding-Flags` (Grafana sends
    /// `categorize-labels`).
    pub encoding_flags: Option<String>,
    pub params: Params,
    pub body: Bytes,
}

/// The handler label for metrics: the route, not the raw path.
pub fn handler_name(path: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|(p, _)| route_matches(p, path))
        .map_or("other", |(p, _)| *p)
}

type Handler = fn(&State, &Req) -> Result<Reply, ApiError>;

/// Path patterns; `*` stands for one path segment.
const ROUTES: &[(&str, Handler)] = &[
    ("/-/healthy", status::healthy),
    ("/-/ready", status::ready),
    ("/-/reload", status::reload),
    ("/metrics", status::metrics),
    ("/api/v1/write", write::remote_write),
    ("/api/v1/read", write::remote_read),
    ("/v1/metrics", crate::otlp::metrics),
    ("/api/v1/otlp/v1/metrics", crate::otlp::metrics),
    ("/v1/traces", crate::spans::ingest::export),
    ("/api/echo", crate::spans::tempo::echo),
    ("/ready", crate::spans::tempo::ready),
    ("/api/status/buildinfo", crate::spans::tempo::buildinfo),
    ("/api/traces/*", crate::spans::tempo::trace_v1),
    ("/api/v2/traces/*", crate::spans::tempo::trace_v2),
    ("/api/search", crate::spans::search::search),
    ("/api/search/tags", crate::spans::search::tags_v1),
    ("/api/v2/search/tags", crate::spans::search::tags_v2),
    (
        "/api/search/tag/*/values",
        crate::spans::search::tag_values_v1,
    ),
    (
        "/api/v2/search/tag/*/values",
        crate::spans::search::tag_values_v2,
    ),
    ("/jaeger/api/services", crate::spans::jaeger::services),
    (
        "/jaeger/api/services/*/operations",
        crate::spans::jaeger::service_operations,
    ),
    ("/jaeger/api/operations", crate::spans::jaeger::operations),
    ("/jaeger/api/traces", crate::spans::jaeger::search),
    (
        "/jaeger/api/dependencies",
        crate::spans::jaeger::dependencies,
    ),
    ("/jaeger/api/traces/*", crate::spans::jaeger::trace),
    ("/loki/api/v1/push", crate::logs::push::push),
    ("/v1/logs", crate::logs::otlp::export),
    ("/otlp/v1/logs", crate::logs::otlp::export),
    ("/loki/api/v1/query_range", crate::logs::query::query_range),
    ("/loki/api/v1/query", crate::logs::query::query),
    ("/loki/api/v1/labels", crate::logs::meta::labels),
    (
        "/loki/api/v1/label/*/values",
        crate::logs::meta::label_values,
    ),
    ("/loki/api/v1/series", crate::logs::meta::series),
    ("/loki/api/v1/delete", crate::logs::delete::delete),
    ("/loki/api/v1/index/stats", crate::logs::index::stats),
    ("/loki/api/v1/tail", crate::logs::tail::without_upgrade),
    ("/loki/api/v1/index/volume", crate::logs::index::volume),
    (
        "/loki/api/v1/index/volume_range",
        crate::logs::index::volume_range,
    ),
    (
        "/loki/api/v1/detected_fields",
        crate::logs::index::detected_fields,
    ),
    (
        "/loki/api/v1/detected_labels",
        crate::logs::index::detected_labels,
    ),
    ("/loki/api/v1/patterns", crate::logs::index::patterns),
    (
        "/loki/api/v1/status/buildinfo",
        crate::logs::meta::buildinfo,
    ),
    ("/loki/api/v1/format_query", crate::logs::meta::format_query),
    ("/api/v1/query", query::query),
    ("/api/v1/query_range", query::query_range),
    ("/api/v1/query_exemplars", query::query_exemplars),
    ("/api/v1/format_query", query::format_query),
    ("/api/v1/parse_query", query::parse_query),
    ("/api/v1/labels", meta::labels),
    ("/api/v1/label/*/values", meta::label_values),
    ("/api/v1/series", meta::series),
    ("/api/v1/metadata", meta::metadata),
    ("/api/v1/status/buildinfo", status::buildinfo),
    ("/api/v1/status/runtimeinfo", status::runtimeinfo),
    ("/api/v1/status/flags", status::flags),
    ("/api/v1/status/config", status::config),
    ("/api/v1/status/tsdb", tsdb_status::tsdb),
    ("/api/v1/status/limits", limits_status::limits),
    ("/api/v1/status/retention", retention_status::retention),
    (
        "/api/v1/status/metric_names_stats",
        metric_names_stats::stats,
    ),
    (
        "/api/v1/admin/status/metric_names_stats/reset",
        metric_names_stats::reset,
    ),
    ("/api/v1/cardinality/label_names", cardinality::label_names),
    (
        "/api/v1/cardinality/label_values",
        cardinality::label_values,
    ),
    (
        "/api/v1/cardinality/active_series",
        cardinality::active_series,
    ),
    ("/api/v1/status/walreplay", status::walreplay),
    ("/api/v1/targets", status::targets),
    ("/api/v1/rules", rules::rules),
    ("/api/v1/alerts", rules::alerts),
    // Where Grafana's Loki data source lists rules and alerts.
    ("/prometheus/api/v1/rules", rules::rules),
    ("/prometheus/api/v1/alerts", rules::alerts),
    ("/api/v1/admin/tsdb/delete_series", admin::delete_series),
    (
        "/api/v1/admin/tsdb/clean_tombstones",
        admin::clean_tombstones,
    ),
    ("/api/v1/admin/tsdb/snapshot", admin::snapshot),
    ("/api/v1/admin/tsdb/compact", admin::compact),
];

fn route_matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some("*"), Some(seg)) if !seg.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

pub fn route(state: &State, req: &Req) -> Result<Reply, ApiError> {
    match ROUTES.iter().find(|(p, _)| route_matches(p, &req.path)) {
        Some((_, h)) => h(state, req),
        None => Err(ApiError::NotFound(format!(
            "no such endpoint: {}",
            req.path
        ))),
    }
}

/// Rejects methods other than those listed.
pub(crate) fn allow(req: &Req, methods: &[Method]) -> Result<(), ApiError> {
    if methods.contains(&req.method) {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

pub(crate) fn no_content() -> Reply {
    Reply::Empty(StatusCode::NO_CONTENT, vec![])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(route_matches(
            "/api/v1/label/*/values",
            "/api/v1/label/job/values"
        ));
        assert!(!route_matches(
            "/api/v1/label/*/values",
            "/api/v1/label//values"
        ));
        assert!(!route_matches("/api/v1/labels", "/api/v1/labels/x"));
        assert_eq!(
            handler_name("/api/v1/label/x/values"),
            "/api/v1/label/*/values"
        );
        assert_eq!(handler_name("/nope"), "other");
    }
}
