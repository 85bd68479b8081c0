//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/format_query`,
//! `/api/v1/parse_query`, `/api/v1/query_exemplars`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode};
use promql::ast::ValueType;
use promql::eval::{Engine, EngineOptions, QueryResult, SourceResolution};
use promql::value::FloatDisplay;
use serde_json::{Value, json};
use tsdb::model::Labels;

use super::json::{format_time, success};
use super::{Reply, Req};
use super::{allow, ast_json, result_json};
use crate::error::ApiError;
use crate::state::State;

/// Prometheus's limit on points per series of a range query.
const MAX_POINTS: i64 = 11_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn parse(req: &Req) -> Result<promql::ast::Expr, ApiError> {
    let q = req.params.get("query").unwrap_or("");
    promql::parse(q).map_err(|e| ApiError::BadData(format!("invalid parameter \"query\": {e}")))
}

/// The engine for one request: the configured limits, narrowed by the
/// request's `timeout` and `lookback_delta`.
pub(crate) fn engine(state: &State, req: &Req) -> Result<Engine, ApiError> {
    let cfg = state.config.read();
    let configured = cfg
        .query_timeout_ms()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // The configured limit (0: none), narrowed by the request's `timeout`,
    // which always applies: `timeout=0` times out at once, as Prometheus.
    let mut timeout = (configured > 0).then(|| Duration::from_millis(configured as u64));
    if let Some(t) = req.params.duration("timeout")? {
        let t = Duration::from_millis(t.max(0) as u64);
        timeout = Some(timeout.map_or(t, |c| c.min(t)));
    }
    let mut lookback = cfg
        .lookback_ms()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(l) = req.params.duration("lookback_delta")? {
        lookback = l;
    }
    Ok(Engine::new(EngineOptions {
        lookback,
        max_samples: cfg.query_max_samples,
        timeout,
        max_source_resolution: source_resolution(req)?,
        ..EngineOptions::default()
    }))
}

/// Thanos's `max_source_resolution`: `auto` (default), `raw` or `0s`/`0`
/// for raw samples only, or a duration bounding the tiers read.
fn source_resolution(req: &Req) -> Result<SourceResolution, ApiError> {
    match req.params.get("max_source_resolution") {
        None | Some("" | "auto") => Ok(SourceResolution::Auto),
        Some("raw" | "0") => Ok(SourceResolution::Raw),
        Some(_) => match req.params.duration("max_source_resolution")? {
            Some(0) => Ok(SourceResolution::Raw),
            Some(d) if d > 0 => Ok(SourceResolution::AtMost(d)),
            _ => Err(ApiError::BadData(
                "invalid parameter \"max_source_resolution\": must be auto, raw or a positive duration".into(),
            )),
        },
    }
}

/// Logs a finished query (debug level: the query log) and counts it.
fn record(
    state: &State,
    endpoint: &'static str,
    q: &str,
    took: Duration,
    res: &promql::Result<QueryResult>,
) {
    let tiers = res.as_ref().map(|r| r.tiers.as_slice()).unwrap_or(&[]);
    state.metrics.record_query(endpoint, took, tiers);
    tracing::debug!(target: "query_log", endpoint, query = q, seconds = took.as_secs_f64(), ?tiers, ok = res.is_ok(), "query");
}

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
            .collect(),
    )
}

fn reply(res: QueryResult, limit: usize) -> Reply {
    let body = result_json::envelope(&res.value, limit, &res.warnings, &res.infos);
    Reply::Body(StatusCode::OK, "application/json", body)
}

pub fn query(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let expr = parse(req)?;
    let t = req.params.time_or("time", now_ms())?;
    let engine = engine(state, req)?;
    let started = Instant::now();
    let res = engine.instant(&state.api_reads(), &expr, t);
    record(
        state,
        "query",
        req.params.get("query").unwrap_or(""),
        started.elapsed(),
        &res,
    );
    Ok(reply(res?, req.params.usize_or("limit", 0)?))
}

pub fn query_range(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let start = req.params.time("start")?;
    let end = req.params.time("end")?;
    if end < start {
        return Err(ApiError::BadData(
            "end timestamp must not be before start time".into(),
        ));
    }
    let step = req
        .params
        .duration("step")?
        .ok_or_else(|| ApiError::BadData("invalid parameter \"step\": missing".into()))?;
    if step <= 0 {
        return Err(ApiError::BadData(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
        ));
    }
    if (end - start) / step > MAX_POINTS {
        return Err(ApiError::BadData(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
        ));
    }
    let expr = parse(req)?;
    let ty = expr.value_type();
    if matches!(ty, ValueType::Matrix | ValueType::String) {
        return Err(ApiError::BadData(format!(
            "invalid expression type \"{ty}\" for range query, must be Scalar or instant Vector"
        )));
    }
    let engine = engine(state, req)?;
    let started = Instant::now();
    let res = engine.range(&state.api_reads(), &expr, start, end, step);
    record(
        state,
        "query_range",
        req.params.get("query").unwrap_or(""),
        started.elapsed(),
        &res,
    );
    Ok(reply(res?, req.params.usize_or("limit", 0)?))
}

pub fn format_query(_: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let expr = parse(req)?;
    Ok(Reply::Json(success(json!(expr.to_string()), &[], &[])))
}

pub fn parse_query(_: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let expr = parse(req)?;
    Ok(Reply::Json(success(ast_json::translate(&expr), &[], &[])))
}

/// Every vector selector's matchers in an expression.
fn selectors(e: &promql::ast::Expr, out: &mut Vec<Vec<tsdb::model::Matcher>>) {
    use promql::ast::Expr as E;
    match e {
        E::VectorSelector(vs) => out.push(vs.matchers.clone()),
        E::MatrixSelector(ms) => out.push(ms.selector.matchers.clone()),
        E::Subquery(sq) => selectors(&sq.expr, out),
        E::Call(c) => c.args.iter().for_each(|a| selectors(a, out)),
        E::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        E::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        E::Unary(u) => selectors(&u.expr, out),
        E::Paren(p) => selectors(p, out),
        E::NumberLiteral(_) | E::StringLiteral(_) => {}
    }
}

pub fn query_exemplars(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let expr = parse(req)?;
    let start = req.params.time_or("start", i64::MIN / 2)?;
    let end = req.params.time_or("end", i64::MAX / 2)?;
    if end < start {
        return Err(ApiError::BadData(
            "end timestamp must not be before start time".into(),
        ));
    }
    let mut sets = Vec::new();
    selectors(&expr, &mut sets);
    let found = state.db.exemplars().query(&sets, start, end);
    let data: Vec<Value> = found
        .iter()
        .map(|(series, es)| {
            json!({
                "seriesLabels": labels_json(series),
                "exemplars": es.iter().map(|e| json!({
                    "labels": labels_json(&e.labels),
                    "value": FloatDisplay(e.v).to_string(),
                    "timestamp": format_time(e.t),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Reply::Json(success(Value::Array(data), &[], &[])))
}
