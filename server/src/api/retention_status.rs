//! `GET /api/v1/status/retention?match[]=…`: for each series matching a
//! selector (head and blocks, any time), which retention rule decides its
//! raw retention (first match, else the database's `retention`) and which
//! downsampling tiers keep it after that, durations as configured. `limit`
//! caps the series (default 1000; a warning says when the answer was cut).

use std::collections::BTreeSet;

use hyper::Method;
use serde_json::{Value, json};
use tsdb::model::{Queryable, SelectHints};

use super::json::success;
use super::{Reply, Req, allow};
use crate::error::ApiError;
use crate::selector::parse_selector;
use crate::state::State;

/// Series listed when `limit` is not given.
const DEFAULT_LIMIT: usize = 1000;

pub fn retention(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let sets: Vec<_> = req
        .params
        .all("match[]")
        .iter()
        .map(|s| parse_selector(s))
        .collect::<Result<_, _>>()?;
    if sets.is_empty() {
        return Err(ApiError::BadData("no match[] parameter provided".into()));
    }
    let limit = match req.params.usize_or("limit", DEFAULT_LIMIT)? {
        0 => DEFAULT_LIMIT,
        n => n,
    };
    let q = state.db.querier(i64::MIN / 2, i64::MAX / 2)?;
    let mut all = BTreeSet::new();
    for ms in &sets {
        for s in q.select(&SelectHints::default(), ms)? {
            all.insert(s.labels);
        }
    }
    let cfg = state.config.read();
    // Durations as the configuration spells them.
    let tiers: Vec<Value> = cfg
        .downsampling
        .tiers
        .iter()
        .map(|t| json!({"resolution": t.resolution, "after": t.after, "retention": t.retention}))
        .collect();
    let mut warnings = Vec::new();
    let mut out = Vec::new();
    for labels in all {
        if out.len() >= limit {
            warnings.push(format!("results truncated to {limit} series"));
            break;
        }
        let (rule, _) = state.db.effective_retention(&labels);
        let raw = match rule.and_then(|i| cfg.retention_rules.get(i)) {
            Some(r) => r.retention.clone(),
            None => cfg.retention.clone(),
        };
        let metric: serde_json::Map<String, Value> = labels
            .iter()
            .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
            .collect();
        out.push(json!({
            "metric": metric,
            "rule": rule.map(|i| json!({
                "index": i,
                "match": cfg.retention_rules.get(i).map(|r| r.r#match.clone()),
            })),
            "rawRetention": raw,
            "tiers": tiers,
        }));
    }
    Ok(Reply::Json(success(Value::Array(out), &warnings, &[])))
}
