//! `GET|POST /loki/api/v1/query_range` and `/query`, as Grafana's Loki
//! data source calls them.
//!
//! A log query answers `resultType: streams`: per stream its entries as
//! `["<ns>", "<line>"]`, in `direction` order (`backward`, newest first,
//! by default), at most `limit` (100) across streams, over `[start, end)`
//! (`end` now and `start` an hour before, or `since` before, by default).
//! Structured metadata: with `X-Loki-Response-Encoding-Flags:
//! categorize-labels` (Grafana sends it) each value carries a third element
//! `{"structuredMetadata": {…}, "parsed": {…}}` and `data.encodingFlags`
//! says so; otherwise, as Loki does, metadata and parsed labels join the
//! stream's labels, one stream per distinct set.
//!
//! A metric query answers `matrix` (range) or `vector` (instant) in
//! Prometheus's shape, on the grid `start..=end` every `step` (a duration
//! or seconds; by default the range over 250, at least a second), at most
//! 11,000 points per series.

use std::collections::BTreeMap;

use hyper::{Method, StatusCode};
use logs::logql::eval::Grid;
use logs::logql::{Expr, MetricExpr};
use logs::model::{Direction, Hit};
use serde_json::{Map, Value, json};
use tsdb::model::Labels;

use super::time;
use crate::api::result_json;
use crate::api::{Reply, Req, allow};
use crate::error::ApiError;
use crate::state::State;

const DEFAULT_LIMIT: usize = 100;
const MAX_POINTS: i64 = 11_000;

pub fn query_range(state: &State, req: &Req) -> Result<Reply, ApiError> {
    range(state, req).map_err(ApiError::loki)
}

pub fn query(state: &State, req: &Req) -> Result<Reply, ApiError> {
    instant(state, req).map_err(ApiError::loki)
}

fn parse(req: &Req) -> Result<Expr, ApiError> {
    let q = req
        .params
        .get("query")
        .ok_or_else(|| ApiError::BadData("invalid parameter \"query\": missing".into()))?;
    Ok(logs::logql::parse(q).map_err(logs::Error::from)?)
}

fn direction(req: &Req) -> Result<Direction, ApiError> {
    match req
        .params
        .get("direction")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") | Some("backward") => Ok(Direction::Backward),
        Some("forward") => Ok(Direction::Forward),
        Some(other) => Err(ApiError::BadData(format!(
            "invalid parameter \"direction\": {other:?} (backward or forward)"
        ))),
    }
}

fn range(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let expr = parse(req)?;
    let (start, end) = time::range(&req.params)?;
    let log = match expr {
        Expr::Log(log) => log,
        Expr::Metric(m) => {
            let (start_ms, end_ms) = (start.div_euclid(1_000_000), end.div_euclid(1_000_000));
            let step = step(req, start_ms, end_ms)?;
            let grid = Grid {
                start: start_ms,
                end: end_ms,
                step,
            };
            return metric(state, req, &m, grid);
        }
    };
    let limit = req.params.usize_or("limit", DEFAULT_LIMIT)?;
    let direction = direction(req)?;
    let selected = state.logs.select(&log, start, end, direction, limit)?;
    let categorize = req
        .encoding_flags
        .as_deref()
        .is_some_and(|f| f.split(',').any(|f| f.trim() == "categorize-labels"));
    Ok(Reply::Json(streams(selected, categorize)))
}

/// `step` in ms: a duration or seconds, by default the range over 250 (at
/// least a second), as Loki's.
fn step(req: &Req, start_ms: i64, end_ms: i64) -> Result<i64, ApiError> {
    let step = match req.params.duration("step")? {
        Some(s) if s <= 0 => {
            return Err(ApiError::BadData(
                "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        Some(s) => s,
        None => ((end_ms - start_ms) / 250 / 1000).max(1) * 1000,
    };
    if (end_ms - start_ms) / step > MAX_POINTS {
        return Err(ApiError::BadData(
            "exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter".into(),
        ));
    }
    Ok(step)
}

fn metric(state: &State, req: &Req, m: &MetricExpr, grid: Grid) -> Result<Reply, ApiError> {
    let opts = crate::api::query::engine(state, req)?.options().clone();
    let res = state.logs.evaluate(m, grid, opts)?;
    let body = result_json::envelope(&res.value, 0, &res.warnings, &res.infos);
    Ok(Reply::Body(StatusCode::OK, "application/json", body))
}

fn instant(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    match parse(req)? {
        Expr::Log(_) => Err(ApiError::BadData(
            "log queries are not supported as an instant query type, please change your query to a range query type".into(),
        )),
        Expr::Metric(m) => {
            let t = time::param(&req.params, "time", time::now_ns())?;
            metric(state, req, &m, Grid::instant(t.div_euclid(1_000_000)))
        }
    }
}

/// The `streams` answer: entries grouped by their stream's labels (with
/// `categorize`, structured metadata and parsed labels go with each
/// value) or by all their labels, each group in `direction` order.
fn streams(hits: Vec<Hit>, categorize: bool) -> Value {
    let returned = hits.len();
    let mut groups: BTreeMap<Labels, Vec<Value>> = BTreeMap::new();
    for h in hits {
        let key = if categorize {
            h.stream.clone()
        } else {
            h.all_labels()
        };
        groups.entry(key).or_default().push(value(&h, categorize));
    }
    let result: Vec<Value> = groups
        .into_iter()
        .map(|(labels, values)| json!({"stream": label_map(&labels), "values": values}))
        .collect();
    let mut data = json!({
        "resultType": "streams",
        "result": result,
        "stats": {"summary": {"totalEntriesReturned": returned}},
    });
    if categorize {
        data["encodingFlags"] = json!(["categorize-labels"]);
    }
    json!({"status": "success", "data": data})
}

/// Labels as a JSON object, as Loki's answers carry them.
pub(super) fn label_map(labels: &Labels) -> Map<String, Value> {
    labels
        .iter()
        .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
        .collect()
}

fn pairs_map(pairs: &[(String, String)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(n, v)| (n.clone(), Value::String(v.clone())))
        .collect()
}

fn value(h: &Hit, categorize: bool) -> Value {
    let mut v = vec![
        Value::String(h.ts.to_string()),
        Value::String(h.line.clone()),
    ];
    if categorize && !(h.metadata.is_empty() && h.parsed.is_empty()) {
        let mut cats = Map::new();
        if !h.metadata.is_empty() {
            cats.insert(
                "structuredMetadata".into(),
                Value::Object(pairs_map(&h.metadata)),
            );
        }
        if !h.parsed.is_empty() {
            cats.insert("parsed".into(), Value::Object(pairs_map(&h.parsed)));
        }
        v.push(Value::Object(cats));
    }
    Value::Array(v)
}
