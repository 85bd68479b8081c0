//! The Jaeger query API that Grafana's Jaeger data source and the Jaeger
//! UI call, under `/jaeger` (Tempo owns `/api/traces/<id>` at the root):
//! point the data source at `http://<almanac>/jaeger`.
//!
//! - `GET /jaeger/api/services`: service names;
//! - `GET /jaeger/api/services/<service>/operations`: its span names;
//! - `GET /jaeger/api/operations?service=…`: the same as `{name, spanKind}`;
//! - `GET /jaeger/api/traces?service=&operation=&tags=&minDuration=&maxDuration=&start=&end=&limit=`:
//!   traces with one span matching all of service, operation, tags
//!   (JSON object or logfmt) and duration bounds; `start`/`end` in µs;
//! - `GET /jaeger/api/traces/<id>`: one trace;
//! - `GET /jaeger/api/dependencies?endTs=&lookback=` (ms): the service
//!   graph, `{parent, child, callCount}`, from the span metrics' edge
//!   counters: their growth between their first and last samples in the
//!   lookback (a restart of Almanac within it restarts the counters; the
//!   calls before it are not counted).
//!
//! Answers are Jaeger's envelope `{data, total, limit, offset, errors}`
//! (errors as `errors: [{code, msg}]` with the HTTP status);
//! spans are converted from OTLP as the OpenTelemetry collector's Jaeger
//! translator does ([`model`]).

mod model;

use hyper::Method;
use serde_json::{Value, json};
use traces::search::SearchRequest;
use traces::traceql;

use super::search::{duration_conditions, logfmt, tag_condition};
use crate::api::{Reply, Req, allow};
use crate::error::ApiError;
use crate::state::State;

fn envelope(data: Value, total: usize) -> Reply {
    Reply::Json(json!({
        "data": data,
        "total": total,
        "limit": 0,
        "offset": 0,
        "errors": null,
    }))
}

/// `GET /jaeger/api/services`.
pub fn services(state: &State, req: &Req) -> Result<Reply, ApiError> {
    services_inner(state, req).map_err(ApiError::jaeger)
}

fn services_inner(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    let names: Vec<String> = state
        .spans
        .intrinsic_values("rootServiceName")
        .into_iter()
        .map(|v| v.value)
        .collect();
    let n = names.len();
    Ok(envelope(json!(names), n))
}

/// `GET /jaeger/api/services/<service>/operations`.
pub fn service_operations(state: &State, req: &Req) -> Result<Reply, ApiError> {
    service_operations_inner(state, req).map_err(ApiError::jaeger)
}

fn service_operations_inner(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    let mut segs = req.path.rsplit('/');
    let _operations = segs.next();
    let service = crate::api::decode_path_segment(segs.next().unwrap_or_default());
    let ops: Vec<String> = state.spans.operations(&service).into_iter().collect();
    let n = ops.len();
    Ok(envelope(json!(ops), n))
}

/// `GET /jaeger/api/operations?service=…`.
pub fn operations(state: &State, req: &Req) -> Result<Reply, ApiError> {
    operations_inner(state, req).map_err(ApiError::jaeger)
}

fn operations_inner(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    let service = req
        .params
        .get("service")
        .ok_or_else(|| ApiError::BadData("parameter service is required".into()))?;
    let ops: Vec<Value> = state
        .spans
        .operations(service)
        .into_iter()
        .map(|name| json!({"name": name, "spanKind": ""}))
        .collect();
    let n = ops.len();
    Ok(envelope(json!(ops), n))
}

/// `GET /jaeger/api/traces/<id>`.
pub fn trace(state: &State, req: &Req) -> Result<Reply, ApiError> {
    trace_inner(state, req).map_err(ApiError::jaeger)
}

fn trace_inner(state: &State, req: &Req) -> Result<Reply, ApiError> {
    let (id, spans) = super::tempo::find_by_path(state, req)?;
    Ok(envelope(json!([model::trace(&id, &spans)]), 1))
}

/// `GET /jaeger/api/traces?service=…`.
pub fn search(state: &State, req: &Req) -> Result<Reply, ApiError> {
    search_inner(state, req).map_err(ApiError::jaeger)
}

fn search_inner(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    let p = &req.params;
    let query = search_query(
        p.get("service"),
        p.get("operation"),
        p.get("tags"),
        p.get("minDuration"),
        p.get("maxDuration"),
    )?;
    let query =
        traceql::parse(&query).map_err(|e| ApiError::BadData(format!("invalid search: {e}")))?;
    let micros = |k: &str| -> Result<Option<u64>, ApiError> {
        p.get(k)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiError::BadData(format!("invalid {k} {v:?}: expected microseconds"))
                })
            })
            .transpose()
    };
    let request = SearchRequest {
        query,
        start_ns: micros("start")?.map_or(0, |us| us.saturating_mul(1000)),
        end_ns: micros("end")?.map_or(u64::MAX, |us| us.saturating_mul(1000)),
        limit: p.usize_or("limit", 20)?.max(1),
        spans_per_set: 0,
    };
    let result = state.spans.search(&request)?;
    let mut data = Vec::with_capacity(result.traces.len());
    for hit in &result.traces {
        let spans = state.spans.trace(&hit.trace_id)?;
        if !spans.is_empty() {
            data.push(model::trace(&hit.trace_id, &spans));
        }
    }
    let n = data.len();
    Ok(envelope(Value::Array(data), n))
}

/// `GET /jaeger/api/dependencies`.
pub fn dependencies(state: &State, req: &Req) -> Result<Reply, ApiError> {
    dependencies_inner(state, req).map_err(ApiError::jaeger)
}

fn dependencies_inner(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    let ms = |k: &str, default: i64| -> Result<i64, ApiError> {
        match req.params.get(k).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => v.parse::<i64>().map_err(|_| {
                ApiError::BadData(format!("invalid {k} {v:?}: expected milliseconds"))
            }),
        }
    };
    let end = ms("endTs", traces::store::now_ms())?;
    let lookback = ms("lookback", 3_600_000)?.max(1);
    let counter = traces::spanmetrics::GRAPH_REQUESTS;
    let q = format!(
        "sum by (client, server) (max_over_time({counter}[{lookback}ms]) - min_over_time({counter}[{lookback}ms]))"
    );
    let expr = promql::parse(&q).map_err(|e| ApiError::Internal(format!("{q}: {e}")))?;
    let engine = crate::api::query::engine(state, req)?;
    let res = engine.instant(&state.api_reads(), &expr, end)?;
    let mut deps: Vec<Value> = Vec::new();
    if let promql::value::Value::Vector(v) = res.value {
        for s in v.iter().filter(|s| s.v > 0.0) {
            deps.push(json!({
                "parent": s.labels.get("client"),
                "child": s.labels.get("server"),
                "callCount": s.v.round() as u64,
            }));
        }
    }
    let n = deps.len();
    Ok(envelope(Value::Array(deps), n))
}

/// Jaeger's search as one TraceQL spanset: a single span must match all.
fn search_query(
    service: Option<&str>,
    operation: Option<&str>,
    tags: Option<&str>,
    min: Option<&str>,
    max: Option<&str>,
) -> Result<String, ApiError> {
    let mut conds = Vec::new();
    if let Some(s) = service.filter(|s| !s.is_empty()) {
        conds.push(tag_condition("service.name", s));
    }
    if let Some(op) = operation.filter(|s| !s.is_empty()) {
        conds.push(tag_condition("name", op));
    }
    for (k, v) in search_tags(tags.unwrap_or_default())? {
        conds.push(tag_condition(&k, &v));
    }
    conds.extend(duration_conditions("duration", min, max)?);
    Ok(format!("{{ {} }}", conds.join(" && ")))
}

/// `tags` as Jaeger sends it (a JSON object of strings) or as logfmt.
fn search_tags(tags: &str) -> Result<Vec<(String, String)>, ApiError> {
    let tags = tags.trim();
    if !tags.starts_with('{') {
        return logfmt(tags);
    }
    let map: serde_json::Map<String, Value> = serde_json::from_str(tags)
        .map_err(|e| ApiError::BadData(format!("invalid tags {tags:?}: {e}")))?;
    Ok(map
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_as_traceql() {
        type Case<'a> = (&'a str, [Option<&'a str>; 5], Option<&'a str>);
        let cases: &[Case] = &[
            ("nothing", [None; 5], Some("{  }")),
            (
                "service and operation",
                [Some("api"), Some("GET /x"), None, None, None],
                Some(r#"{ resource.service.name = "api" && name = "GET /x" }"#),
            ),
            (
                "JSON tags",
                [
                    None,
                    None,
                    Some(r#"{"error":"true","http.status_code":"500"}"#),
                    None,
                    None,
                ],
                Some("{ status = error && .http.status_code = 500 }"),
            ),
            (
                "logfmt tags and span durations",
                [
                    None,
                    None,
                    Some("span.kind=server"),
                    Some("1.5ms"),
                    Some("2s"),
                ],
                Some("{ kind = server && duration >= 1.5ms && duration <= 2s }"),
            ),
            ("bad JSON", [None, None, Some("{nope"), None, None], None),
        ];
        for (name, [s, o, t, min, max], want) in cases {
            let got = search_query(*s, *o, *t, *min, *max).ok();
            assert_eq!(got.as_deref(), *want, "{name}");
            if let Some(q) = got {
                assert!(traceql::parse(&q).is_ok(), "{name}: {q}");
            }
        }
    }
}
