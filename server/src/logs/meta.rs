//! Loki's metadata endpoints: `labels`, `label/<name>/values`, `series`,
//! `status/buildinfo` and `format_query`. Times as in
//! [`super::query`], over the last six hours by default.

use hyper::Method;
use serde_json::{Value, json};
use tsdb::model::Matcher;

use super::time;
use crate::api::{Reply, Req, allow, decode_path_segment};
use crate::error::ApiError;
use crate::state::State;

/// The Loki API version these endpoints follow (Grafana reads it to pick
/// features).
pub const LOKI_COMPAT_VERSION: &str = "3.0.0";

const SIX_HOURS_NS: i64 = 6 * 3_600_000_000_000;

fn window(req: &Req) -> Result<(i64, i64), ApiError> {
    let end = time::param(&req.params, "end", time::now_ns())?;
    let start = time::param(&req.params, "start", end.saturating_sub(SIX_HOURS_NS))?;
    Ok((start, end))
}

/// The stream selector of `query`, if given.
fn selector(req: &Req) -> Result<Vec<Matcher>, ApiError> {
    match req.params.get("query") {
        None | Some("") => Ok(Vec::new()),
        Some(q) => match logs::logql::parse(q).map_err(logs::Error::from)? {
            logs::logql::Expr::Log(l) => Ok(l.matchers),
            logs::logql::Expr::Metric(_) => Err(ApiError::BadData(
                "invalid parameter \"query\": expected a stream selector".into(),
            )),
        },
    }
}

pub fn labels(state: &State, req: &Req) -> Result<Reply, ApiError> {
    (|| {
        allow(req, &[Method::GET, Method::POST])?;
        let (start, end) = window(req)?;
        let names = state.logs.label_names(&selector(req)?, start, end);
        Ok(Reply::Json(json!({"status": "success", "data": names})))
    })()
    .map_err(ApiError::loki)
}

pub fn label_values(state: &State, req: &Req) -> Result<Reply, ApiError> {
    (|| {
        allow(req, &[Method::GET, Method::POST])?;
        let name = req
            .path
            .trim_start_matches("/loki/api/v1/label/")
            .trim_end_matches("/values");
        let name = decode_path_segment(name);
        let (start, end) = window(req)?;
        let values = state.logs.label_values(&name, &selector(req)?, start, end);
        Ok(Reply::Json(json!({"status": "success", "data": values})))
    })()
    .map_err(ApiError::loki)
}

pub fn series(state: &State, req: &Req) -> Result<Reply, ApiError> {
    (|| {
        allow(req, &[Method::GET, Method::POST])?;
        let selectors = req.params.all("match[]");
        let selectors = if selectors.is_empty() {
            req.params.all("match")
        } else {
            selectors
        };
        if selectors.is_empty() {
            return Err(ApiError::BadData(
                "invalid parameter \"match[]\": at least one stream selector is required".into(),
            ));
        }
        let (start, end) = window(req)?;
        let mut all = Vec::new();
        for s in selectors {
            let logs::logql::Expr::Log(l) = logs::logql::parse(s).map_err(logs::Error::from)?
            else {
                return Err(ApiError::BadData(format!(
                    "invalid parameter \"match[]\": {s:?} is not a stream selector"
                )));
            };
            all.extend(state.logs.series(&l.matchers, start, end));
        }
        all.sort();
        all.dedup();
        let data: Vec<Value> = all
            .iter()
            .map(|l| {
                Value::Object(
                    l.iter()
                        .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
                        .collect(),
                )
            })
            .collect();
        Ok(Reply::Json(json!({"status": "success", "data": data})))
    })()
    .map_err(ApiError::loki)
}

pub fn buildinfo(_: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET]).map_err(ApiError::loki)?;
    Ok(Reply::Json(json!({
        "version": LOKI_COMPAT_VERSION,
        "revision": env!("CARGO_PKG_VERSION"),
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
    })))
}

pub fn format_query(_: &State, req: &Req) -> Result<Reply, ApiError> {
    (|| {
        allow(req, &[Method::GET, Method::POST])?;
        let q = req
            .params
            .get("query")
            .ok_or_else(|| ApiError::BadData("invalid parameter \"query\": missing".into()))?;
        let e = logs::logql::parse(q).map_err(logs::Error::from)?;
        Ok(Reply::Json(
            json!({"status": "success", "data": e.to_string()}),
        ))
    })()
    .map_err(ApiError::loki)
}
