//! `/api/v1/labels`, `/api/v1/label/<name>/values`, `/api/v1/series`,
//! `/api/v1/metadata`.

use hyper::Method;
use serde_json::{Value, json};
use tsdb::model::{Matcher, Queryable, SelectHints};

use super::{Reply, Req};
use super::{allow, json::success};
use crate::error::ApiError;
use crate::selector::parse_selector;
use crate::state::State;

const MIN_TIME: i64 = i64::MIN / 2;
const MAX_TIME: i64 = i64::MAX / 2;

/// Every `match[]` parsed; an empty list when none was given.
fn match_sets(req: &Req) -> Result<Vec<Vec<Matcher>>, ApiError> {
    req.params
        .all("match[]")
        .iter()
        .map(|s| parse_selector(s))
        .collect()
}

fn range(req: &Req) -> Result<(i64, i64), ApiError> {
    let start = req.params.time_or("start", MIN_TIME)?;
    let end = req.params.time_or("end", MAX_TIME)?;
    if end < start {
        return Err(ApiError::BadData(
            "end timestamp must not be before start time".into(),
        ));
    }
    Ok((start, end))
}

/// Applies `limit`: at most `limit` items, with a warning when cut.
fn limited(mut items: Vec<String>, limit: usize) -> (Vec<String>, Vec<String>) {
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        return (items, vec!["results truncated due to limit".to_string()]);
    }
    (items, vec![])
}

pub fn labels(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let (start, end) = range(req)?;
    let q = state.db.querier(start, end)?;
    let sets = match_sets(req)?;
    let mut names = std::collections::BTreeSet::new();
    if sets.is_empty() {
        names.extend(q.label_names(&[])?);
    } else {
        for ms in &sets {
            names.extend(q.label_names(ms)?);
        }
    }
    let (names, warnings) = limited(
        names.into_iter().collect(),
        req.params.usize_or("limit", 0)?,
    );
    Ok(Reply::Json(success(json!(names), &warnings, &[])))
}

/// Label names in the path may be escaped as `U__` + underscore-escaped
/// UTF-8 (Prometheus 3.x): `U__a_2e_b` is `a.b`.
fn unescape_label_name(s: &str) -> Result<String, ApiError> {
    let Some(rest) = s.strip_prefix("U__") else {
        return Ok(s.to_string());
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let hex: String = chars.by_ref().take_while(|&c| c != '_').collect();
        let cp = u32::from_str_radix(&hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| ApiError::BadData(format!("invalid label name: {s:?}")))?;
        out.push(cp);
    }
    Ok(out)
}

pub fn label_values(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    let raw = req
        .path
        .trim_start_matches("/api/v1/label/")
        .trim_end_matches("/values");
    let name = unescape_label_name(&super::params::decode_path_segment(raw))?;
    if name.is_empty() {
        return Err(ApiError::BadData(format!("invalid label name: {raw:?}")));
    }
    let (start, end) = range(req)?;
    let q = state.db.querier(start, end)?;
    let sets = match_sets(req)?;
    let mut values = std::collections::BTreeSet::new();
    if sets.is_empty() {
        values.extend(q.label_values(&name, &[])?);
    } else {
        for ms in &sets {
            values.extend(q.label_values(&name, ms)?);
        }
    }
    let (values, warnings) = limited(
        values.into_iter().collect(),
        req.params.usize_or("limit", 0)?,
    );
    Ok(Reply::Json(success(json!(values), &warnings, &[])))
}

pub fn series(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let sets = match_sets(req)?;
    if sets.is_empty() {
        return Err(ApiError::BadData("no match[] parameter provided".into()));
    }
    let (start, end) = range(req)?;
    let limit = req.params.usize_or("limit", 0)?;
    let q = state.db.querier(start, end)?;
    let hints = SelectHints {
        start,
        end,
        func: Some("series".into()),
        ..SelectHints::default()
    };
    let mut all = std::collections::BTreeSet::new();
    for ms in &sets {
        for s in q.select(&hints, ms)? {
            all.insert(s.labels);
        }
    }
    let mut warnings = vec![];
    let mut out: Vec<Value> = Vec::new();
    for labels in all {
        if limit > 0 && out.len() >= limit {
            warnings.push("results truncated due to limit".to_string());
            break;
        }
        let obj: serde_json::Map<String, Value> = labels
            .iter()
            .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
            .collect();
        out.push(Value::Object(obj));
    }
    Ok(Reply::Json(success(Value::Array(out), &warnings, &[])))
}

pub fn metadata(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    let limit = req.params.usize_or("limit", 0)?;
    let per = req.params.usize_or("limit_per_metric", 0)?;
    let metric = req.params.get("metric").filter(|m| !m.is_empty());
    let md = state.metadata.query(metric, limit, per);
    Ok(Reply::Json(success(json!(md), &[], &[])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_label_names() {
        assert_eq!(unescape_label_name("job").unwrap(), "job");
        assert_eq!(unescape_label_name("U__a_2e_b").unwrap(), "a.b");
        assert_eq!(unescape_label_name("U__a__b").unwrap(), "a_b");
        assert!(unescape_label_name("U__a_zz_b").is_err());
    }
}
