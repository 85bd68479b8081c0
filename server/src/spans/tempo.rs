//! The Tempo HTTP API that Grafana's Tempo data source calls: health,
//! build info and traces by id (search and tags in [`super::search`]).
//!
//! Trace by id answers in protobuf when `Accept: application/protobuf`
//! (what Grafana sends) and in OTLP/JSON otherwise:
//! - `/api/traces/<id>`: `tempopb.Trace {batches = 1}` / `{"batches": […]}`;
//! - `/api/v2/traces/<id>`: `TraceByIDResponse {trace = 1 {resourceSpans = 1},
//!   status = 3}` / `{"trace": {"resourceSpans": […]}}`.
//!
//! A trace with no stored span is 404, as Tempo answers it.

use hyper::{Method, StatusCode};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use serde_json::json;
use traces::TraceId;

use super::render;
use crate::api::{Reply, Req, allow};
use crate::error::ApiError;
use crate::state::State;

/// The Tempo API version these endpoints follow (Grafana reads it to pick
/// features).
pub const TEMPO_COMPAT_VERSION: &str = "2.7.0";

pub fn echo(_: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    Ok(Reply::Body(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        b"echo".to_vec(),
    ))
}

pub fn ready(_: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    Ok(Reply::Body(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        b"ready".to_vec(),
    ))
}

pub fn buildinfo(_: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    Ok(Reply::Json(json!({
        "version": TEMPO_COMPAT_VERSION,
        "revision": format!("almanac-{}", env!("CARGO_PKG_VERSION")),
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
    })))
}

/// Whether the client asked for protobuf.
fn wants_protobuf(req: &Req) -> bool {
    req.accept
        .as_deref()
        .is_some_and(|a| a.contains("application/protobuf") || a.contains("application/x-protobuf"))
}

/// The trace named by the path's last segment, or 404.
fn find(state: &State, req: &Req) -> Result<Vec<ResourceSpans>, ApiError> {
    find_by_path(state, req).map(|(_, spans)| spans)
}

/// The id in the path's last segment and its trace's spans; 404 when none
/// is stored.
pub(super) fn find_by_path(
    state: &State,
    req: &Req,
) -> Result<(TraceId, Vec<ResourceSpans>), ApiError> {
    allow(req, &[Method::GET])?;
    let id = req.path.rsplit('/').next().unwrap_or_default();
    let id = TraceId::parse_hex(id)?;
    let spans = state.spans.trace(&id)?;
    if spans.is_empty() {
        return Err(ApiError::NotFound(format!("trace not found: {id}")));
    }
    Ok((id, spans))
}

/// `tempopb.Trace`: the spans as repeated field 1.
fn trace_proto(spans: &[ResourceSpans]) -> Vec<u8> {
    traces::record::traces_data(spans)
}

/// `GET /api/traces/<id>`.
pub fn trace_v1(state: &State, req: &Req) -> Result<Reply, ApiError> {
    let spans = find(state, req)?;
    if wants_protobuf(req) {
        return Ok(Reply::Body(
            StatusCode::OK,
            "application/protobuf",
            trace_proto(&spans),
        ));
    }
    Ok(Reply::Json(
        json!({"batches": render::resource_spans(&spans)}),
    ))
}

/// `GET /api/v2/traces/<id>`.
pub fn trace_v2(state: &State, req: &Req) -> Result<Reply, ApiError> {
    let spans = find(state, req)?;
    if wants_protobuf(req) {
        let mut out = Vec::new();
        prost::encoding::bytes::encode(1, &trace_proto(&spans), &mut out);
        return Ok(Reply::Body(StatusCode::OK, "application/protobuf", out));
    }
    Ok(Reply::Json(
        json!({"trace": {"resourceSpans": render::resource_spans(&spans)}}),
    ))
}
