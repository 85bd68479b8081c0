//! VictoriaMetrics' `/api/v1/status/metric_names_stats`: every metric
//! name the database holds with how often it was queried and when last
//! (`le=0` lists the metrics nobody queries), and its reset
//! (`POST /api/v1/admin/status/metric_names_stats/reset`, 204). Almanac
//! adds each record's counts by source: the HTTP API, rules and remote
//! read.

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use tsdb::model::{METRIC_NAME, Queryable};

use super::{Reply, Req, allow, no_content};
use crate::cardinality::usage::{Source, Usage};
use crate::error::ApiError;
use crate::state::State;

const DEFAULT_LIMIT: usize = 1000;

pub fn stats(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let limit = match req.params.get("limit").filter(|v| !v.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n > 0 => n as usize,
            Ok(_) => DEFAULT_LIMIT,
            Err(_) => return Err(ApiError::BadData(format!("cannot parse `limit` arg {v:?}"))),
        },
    };
    let le = match req.params.get("le").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => {
            let n: i64 = v
                .parse()
                .map_err(|_| ApiError::BadData(format!("cannot parse `le` arg {v:?}")))?;
            (n >= 0).then_some(n as u64)
        }
    };
    let pattern = match req.params.get("match_pattern").filter(|v| !v.is_empty()) {
        None => None,
        Some(p) => Some(regex::Regex::new(p).map_err(|e| {
            ApiError::BadData(format!("match_pattern={p:?} must be valid regex: {e}"))
        })?),
    };
    let (since, usage) = state.usage.snapshot();
    let usage: std::collections::HashMap<String, Usage> = usage.into_iter().collect();
    // Every stored metric name (a name queried but since deleted stays
    // listed while its record lasts).
    let mut names: Vec<String> = state
        .db
        .querier(i64::MIN, i64::MAX)?
        .label_values(METRIC_NAME, &[])?;
    names.extend(usage.keys().cloned());
    names.sort();
    names.dedup();
    let total = names.len();
    let records: Vec<Value> = names
        .into_iter()
        .map(|n| {
            let u = usage.get(&n).copied().unwrap_or_default();
            (n, u)
        })
        .filter(|(n, u)| {
            le.is_none_or(|le| u.total() <= le) && pattern.as_ref().is_none_or(|p| p.is_match(n))
        })
        .take(limit)
        .map(|(n, u)| {
            let by_source: serde_json::Map<String, Value> = Source::ALL
                .iter()
                .map(|s| (s.as_str().to_string(), json!(u.requests[s.index()])))
                .collect();
            json!({
                "metricName": n,
                "queryRequestsCount": u.total(),
                "lastQueryRequestTimestamp": u.last_request,
                "queryRequestsCountBySource": by_source,
            })
        })
        .collect();
    let body = json!({
        "status": "success",
        "statsCollectedSince": since,
        "statsCollectedRecordsTotal": total,
        "trackerMemoryMaxSizeBytes": 0,
        "trackerCurrentMemoryUsageBytes": state.usage.heap_bytes(),
        "records": records,
    });
    Ok(Reply::Body(
        StatusCode::OK,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
    ))
}

pub fn reset(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::POST])?;
    state.usage.reset();
    Ok(no_content())
}
