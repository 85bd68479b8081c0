//! Loki's index and discovery endpoints as Grafana calls them:
//! `index/stats`, `index/volume`, `index/volume_range`, `detected_fields`,
//! `detected_labels` and `patterns` (which answers no patterns).
//!
//! Volumes are bytes of lines in `[start, end)`, the largest `limit` (100)
//! first. With `aggregateBy=series` (the default) a stream counts under
//! its labels narrowed to `targetLabels`, or to the selector's label names;
//! with `aggregateBy=labels` it counts under each of its label names (those
//! in `targetLabels` when given), named `{name=""}`, as Loki answers.

use std::collections::{BTreeMap, BTreeSet};

use hyper::Method;
use logs::head::StreamStats;
use logs::logql::Expr;
use serde_json::{Value, json};
use tsdb::model::{Label, Labels, Matcher};

use super::time;
use crate::api::{Reply, Req, allow};
use crate::error::ApiError;
use crate::state::State;

/// Lines sampled for `detected_fields`.
const FIELD_SAMPLE: usize = 1000;

fn matchers(req: &Req) -> Result<Vec<Matcher>, ApiError> {
    let q = req
        .params
        .get("query")
        .ok_or_else(|| ApiError::BadData("invalid parameter \"query\": missing".into()))?;
    match logs::logql::parse(q).map_err(logs::Error::from)? {
        Expr::Log(l) => Ok(l.matchers),
        Expr::Metric(_) => Err(ApiError::BadData(
            "invalid parameter \"query\": expected a stream selector".into(),
        )),
    }
}

fn window(req: &Req) -> Result<(i64, i64), ApiError> {
    time::range(&req.params)
}

/// Calls `f` with each selected stream and its entries in `[start, end)`.
fn each(
    state: &State,
    m: &[Matcher],
    (start, end): (i64, i64),
    f: &mut dyn FnMut(&Labels, &[logs::model::Entry]),
) -> Result<(), ApiError> {
    state.logs.head().for_each_stream(
        m,
        start.saturating_sub(1),
        end.saturating_sub(1),
        &logs::head::LineFilter::ALL,
        f,
    )?;
    Ok(())
}

/// Calls `f` with what each selected stream holds in `[start, end)`.
fn each_stats(
    state: &State,
    m: &[Matcher],
    (start, end): (i64, i64),
    f: &mut dyn FnMut(&Labels, StreamStats),
) -> Result<(), ApiError> {
    state.logs.head().for_each_stream_stats(
        m,
        start.saturating_sub(1),
        end.saturating_sub(1),
        f,
    )?;
    Ok(())
}

pub fn stats(state: &State, req: &Req) -> Result<Reply, ApiError> {
    (|| {
        allow(req, &[Method::GET, Method::POST])?;
        let m = matchers(req)?;
        let (mut streams, mut total) = (0u64, StreamStats::default());
        each_stats(state, &m, window(req)?, &mut |_, s| {
            streams += 1;
            total.chunks += s.chunks;
            total.entries += s.entries;
            total.bytes += s.bytes;
        })?;
        Ok(Reply::Json(json!({
            "streams": streams,
            "chunks": total.chunks,
            "entries": total.entries,
            "bytes": total.bytes,
        })))
    })()
    .map_err(ApiError::loki)
}

/// What a stream's volume is counted under.
enum Aggregate {
    /// Its labels narrowed to these names.
    Series(Vec<String>),
    /// Each of its label names (only these, when given).
    Labels(Option<BTreeSet<String>>),
}

impl Aggregate {
    fn of(req: &Req, m: &[Matcher]) -> Result<Aggregate, ApiError> {
        let targets: Option<Vec<String>> = match req.params.get("targetLabels") {
            Some(t) if !t.is_empty() => Some(t.split(',').map(|s| s.trim().to_string()).collect()),
            _ => None,
        };
        match req.params.get("aggregateBy") {
            None | Some("" | "series") => Ok(Aggregate::Series(targets.unwrap_or_else(|| {
                m.iter()
                    .map(|m| m.name.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect()
            }))),
            Some("labels") => Ok(Aggregate::Labels(targets.map(|t| t.into_iter().collect()))),
            Some(other) => Err(ApiError::BadData(format!(
                "invalid parameter \"aggregateBy\": {other:?} (series or labels)"
            ))),
        }
    }

    /// The keys `labels`' bytes count under.
    fn keys(&self, labels: &Labels) -> Vec<Labels> {
        match self {
            Aggregate::Series(names) => vec![labels.keep(names)],
            Aggregate::Labels(only) => labels
                .iter()
                .filter(|l| only.as_ref().is_none_or(|o| o.contains(&*l.name)))
                .map(|l| Labels::from_sorted(vec![Label::new(l.name.clone(), "")]))
                .collect(),
        }
    }
}

fn top(volumes: BTreeMap<Labels, u64>, limit: usize) -> Vec<(Labels, u64)> {
    let mut v: Vec<(Labels, u64)> = volumes.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(limit);
    v
}

fn metric_json(l: &Labels) -> Value {
    Value::Object(super::query::label_map(l))
}

pub fn volume(state: &State, req: &Req) -> Result<Reply, ApiError> {
    (|| {
        allow(req, &[Method::GET, Method::POST])?;
        let m = matchers(req)?;
        let (start, end) = window(req)?;
        let by = Aggregate::of(req, &m)?;
        let mut volumes: BTreeMap<Labels, u64> = BTreeMap::new();
        each_stats(state, &m, (start, end), &mut |labels, s| {
            for key in by.keys(labels) {
                *volumes.entry(key).or_default() += s.bytes;
            }
        })?;
        let t = end as f64 / 1e9;
        let result: Vec<Value> = top(volumes, req.params.usize_or("limit", 100)?)
            .into_iter()
            .map(|(l, b)| json!({"metric": metric_json(&l), "value": [t, b.to_string()]}))
            .collect();
        Ok(Reply::Json(
            json!({"status": "success", "data": {"resultType": "vector", "result": result}}),
        ))
    })()
    .map_err(ApiError::loki)
}

pub fn volume_range(state: &State, req: &Req) -> Result<Reply, ApiError> {
    (|| {
        allow(req, &[Method::GET, Method::POST])?;
        let m = matchers(req)?;
        let (start, end) = window(req)?;
        let by = Aggregate::of(req, &m)?;
        let step_ms = match req.params.duration("step")? {
            Some(s) if s > 0 => s,
            _ => (((end - start) / 1_000_000) / 250 / 1000).max(1) * 1000,
        };
        let step = step_ms * 1_000_000;
        // Bytes per key per step bucket (start + k*step, start + (k+1)*step].
        let mut series: BTreeMap<Labels, BTreeMap<i64, u64>> = BTreeMap::new();
        let mut totals: BTreeMap<Labels, u64> = BTreeMap::new();
        // Times and line sizes only: entries without metadata are not built.
        let mut add = |labels: &Labels, sizes: &mut dyn Iterator<Item = (i64, u64)>| {
            let keys = by.keys(labels);
            for (ts, b) in sizes {
                let k = (ts - start).div_euclid(step) + 1;
                for key in &keys {
                    *series.entry(key.clone()).or_default().entry(k).or_default() += b;
                    *totals.entry(key.clone()).or_default() += b;
                }
            }
        };
        state.logs.head().for_each_stream_split(
            &m,
            start.saturating_sub(1),
            end.saturating_sub(1),
            &logs::head::LineFilter::ALL,
            &|_| true,
            &mut |labels, split| {
                let rich = split.rich.iter().map(|e| (e.ts, e.line.len() as u64));
                add(labels, &mut split.plain.iter().copied().chain(rich));
            },
        )?;
        let limit = req.params.usize_or("limit", 100)?;
        let result: Vec<Value> = top(totals, limit)
            .into_iter()
            .map(|(l, _)| {
                let values: Vec<Value> = series
                    .get(&l)
                    .into_iter()
                    .flatten()
                    .map(|(k, b)| json!([(start + k * step) as f64 / 1e9, b.to_string()]))
                    .collect();
                json!({"metric": metric_json(&l), "values": values})
            })
            .collect();
        Ok(Reply::Json(
            json!({"status": "success", "data": {"resultType": "matrix", "result": result}}),
        ))
    })()
    .map_err(ApiError::loki)
}

/// A field value's type, as Grafana's Logs Drilldown shows it.
fn kind(v: &str) -> &'static str {
    use logs::logql::pipeline::label_filter::{parse_bytes, parse_go_duration};
    if v.parse::<i64>().is_ok() {
        "int"
    } else if v.parse::<f64>().is_ok() {
        "float"
    } else if v == "true" || v == "false" {
        "boolean"
    } else if v.chars().any(|c| c.is_ascii_alphabetic()) && parse_go_duration(v).is_some() {
        "duration"
    } else if v.chars().any(|c| c.is_ascii_alphabetic()) && parse_bytes(v).is_some() {
        "bytes"
    } else {
        "string"
    }
}

/// What was seen of one field: its values' types, its values, the
/// parsers that found it.
type Field = (
    BTreeSet<&'static str>,
    BTreeSet<String>,
    BTreeSet<&'static str>,
);

pub fn detected_fields(state: &State, req: &Req) -> Result<Reply, ApiError> {
    use logs::logql::pipeline::extract::{json_all, logfmt};
    (|| {
        allow(req, &[Method::GET, Method::POST])?;
        let m = matchers(req)?;
        // name → (types seen, values seen, parsers).
        let mut fields: BTreeMap<String, Field> = BTreeMap::new();
        let mut seen = 0usize;
        each(state, &m, window(req)?, &mut |_, es| {
            for e in es.iter().rev() {
                if seen >= FIELD_SAMPLE {
                    return;
                }
                seen += 1;
                let (parser, pairs) = match json_all(&e.line) {
                    Ok(p) => ("json", p),
                    Err(_) => match logfmt(&e.line, true, false) {
                        Ok(p) if p.iter().any(|(_, v)| !v.is_empty()) => ("logfmt", p),
                        _ => continue,
                    },
                };
                for (n, v) in pairs {
                    let f = fields.entry(n).or_default();
                    f.0.insert(kind(&v));
                    f.1.insert(v);
                    f.2.insert(parser);
                }
            }
        })?;
        let out: Vec<Value> = fields
            .into_iter()
            .map(|(label, (types, values, parsers))| {
                let ty = if types.len() == 1 {
                    types.into_iter().next().unwrap_or("string")
                } else {
                    "string"
                };
                json!({"label": label, "type": ty, "cardinality": values.len(), "parsers": parsers})
            })
            .collect();
        Ok(Reply::Json(json!({"fields": out})))
    })()
    .map_err(ApiError::loki)
}

pub fn detected_labels(state: &State, req: &Req) -> Result<Reply, ApiError> {
    (|| {
        allow(req, &[Method::GET, Method::POST])?;
        let m = match req.params.get("query") {
            None | Some("") | Some("{}") => Vec::new(),
            Some(_) => matchers(req)?,
        };
        let (start, end) = window(req)?;
        let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for l in state.logs.series(&m, start, end) {
            for p in l.iter() {
                values
                    .entry(p.name.to_string())
                    .or_default()
                    .insert(p.value.to_string());
            }
        }
        let out: Vec<Value> = values
            .into_iter()
            .map(|(label, v)| json!({"label": label, "cardinality": v.len()}))
            .collect();
        Ok(Reply::Json(json!({"detectedLabels": out})))
    })()
    .map_err(ApiError::loki)
}

pub fn patterns(_: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST]).map_err(ApiError::loki)?;
    Ok(Reply::Json(json!({"status": "success", "data": []})))
}
