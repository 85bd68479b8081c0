//! Tempo's search endpoints: `/api/search` (TraceQL `q`, or the legacy
//! `tags`/`minDuration`/`maxDuration`) and tag names and values, v1 and v2.
//!
//! Answers carry only fields of Tempo's protobuf messages: Grafana decodes
//! them with a parser that rejects unknown fields.

use hyper::Method;
use serde_json::{Value, json};
use traces::search::{Hit, SearchRequest, TagScope, TagValue};
use traces::traceql;

use crate::api::{Reply, Req, allow};
use crate::error::ApiError;
use crate::state::State;

/// Intrinsics offered for autocompletion.
const INTRINSICS: &[&str] = &[
    "duration",
    "kind",
    "name",
    "rootName",
    "rootServiceName",
    "status",
    "statusMessage",
    "traceDuration",
];

/// `GET /api/search`.
pub fn search(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let p = &req.params;
    let q = match p.get("q").filter(|q| !q.trim().is_empty()) {
        Some(q) => q.to_owned(),
        None => legacy_query(p.get("tags"), p.get("minDuration"), p.get("maxDuration"))?,
    };
    let query =
        traceql::parse(&q).map_err(|e| ApiError::BadData(format!("invalid TraceQL query: {e}")))?;
    let secs_to_ns = |ms: i64| u64::try_from(ms).unwrap_or(0).saturating_mul(1_000_000);
    let start_ns = secs_to_ns(p.time_or("start", 0)?);
    let end_ns = match p.time_or("end", 0)? {
        0 => u64::MAX,
        ms => secs_to_ns(ms),
    };
    let request = SearchRequest {
        query,
        start_ns,
        end_ns,
        limit: p.usize_or("limit", 20)?.max(1),
        spans_per_set: p.usize_or("spss", 3)?,
    };
    let result = state.spans.search(&request)?;
    Ok(Reply::Json(json!({
        "traces": result.traces.iter().map(hit_json).collect::<Vec<_>>(),
        "metrics": {
            "inspectedTraces": result.inspected_traces,
            "inspectedBytes": result.inspected_bytes.to_string(),
        },
    })))
}

/// The legacy search parameters as a TraceQL query: `tags` is logfmt
/// (`service.name=api http.status_code=500`), durations Go-style.
fn legacy_query(
    tags: Option<&str>,
    min: Option<&str>,
    max: Option<&str>,
) -> Result<String, ApiError> {
    let mut conds = Vec::new();
    for (k, v) in logfmt(tags.unwrap_or_default())? {
        conds.push(tag_condition(&k, &v));
    }
    conds.extend(duration_conditions("traceDuration", min, max)?);
    Ok(format!("{{ {} }}", conds.join(" && ")))
}

/// A `key=value` search tag as a TraceQL condition: the well-known names
/// as intrinsics, numbers and booleans typed, anything else a string.
pub(super) fn tag_condition(k: &str, v: &str) -> String {
    let value = if v.parse::<i64>().is_ok() || v == "true" || v == "false" {
        v.to_owned()
    } else {
        format!("{v:?}")
    };
    match k {
        "name" => format!("name = {v:?}"),
        "service.name" => format!("resource.service.name = {v:?}"),
        "status.code" | "status" | "otel.status_code" => {
            format!("status = {}", v.to_ascii_lowercase())
        }
        "error" if v == "true" => "status = error".to_owned(),
        "span.kind" => format!("kind = {}", v.to_ascii_lowercase()),
        _ => format!(".{} = {value}", quote_attr(k)),
    }
}

/// `field >= min` and `field <= max` for the Go-style durations given.
pub(super) fn duration_conditions(
    field: &str,
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<String>, ApiError> {
    let mut conds = Vec::new();
    for (param, op) in [(min, ">="), (max, "<=")] {
        if let Some(d) = param.filter(|d| !d.is_empty()) {
            if !d
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == 'µ')
            {
                return Err(ApiError::BadData(format!("invalid duration {d:?}")));
            }
            conds.push(format!("{field} {op} {d}"));
        }
    }
    Ok(conds)
}

/// An attribute name as TraceQL writes it: quoted unless plain.
fn quote_attr(k: &str) -> String {
    if k.chars().all(traceql::is_attr_char) && !k.is_empty() {
        k.to_owned()
    } else {
        format!("{k:?}")
    }
}

/// `k=v k2="v 2"` pairs.
pub(super) fn logfmt(s: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| ApiError::BadData(format!("invalid tags {s:?}: expected key=value")))?;
        let key = rest[..eq].trim().to_owned();
        rest = &rest[eq + 1..];
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| ApiError::BadData(format!("invalid tags {s:?}: unclosed quote")))?;
            rest = &quoted[end + 1..];
            quoted[..end].to_owned()
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            let v = rest[..end].to_owned();
            rest = &rest[end..];
            v
        };
        out.push((key, value));
        rest = rest.trim_start();
    }
    Ok(out)
}

fn hit_json(h: &Hit) -> Value {
    let spans: Vec<Value> = h
        .spans
        .iter()
        .map(|s| {
            let mut attrs: Vec<Value> = s
                .service
                .iter()
                .map(|svc| json!({"key": "service.name", "value": {"stringValue": svc}}))
                .collect();
            let shown = s.attributes.iter().filter(|kv| kv.key != "service.name");
            attrs.extend(shown.map(|kv| {
                json!({"key": kv.key, "value": kv.value.as_ref().map_or(json!({}), super::render::any)})
            }));
            json!({
                "spanID": s.span_id,
                "name": s.name,
                "startTimeUnixNano": s.start_ns.to_string(),
                "durationNanos": s.duration_ns.to_string(),
                "attributes": attrs,
            })
        })
        .collect();
    let set = json!({"spans": spans, "matched": h.matched});
    let stats: serde_json::Map<String, Value> = h
        .services
        .iter()
        .map(|(svc, (n, errors))| (svc.clone(), json!({"spanCount": n, "errorCount": errors})))
        .collect();
    json!({
        "traceID": h.trace_id.to_string(),
        "rootServiceName": h.root_service,
        "rootTraceName": h.root_name,
        "startTimeUnixNano": h.start_ns.to_string(),
        "durationMs": h.duration_ns / 1_000_000,
        "spanSet": set,
        "spanSets": [set],
        "serviceStats": stats,
    })
}

/// `GET /api/search/tags`: every attribute name.
pub fn tags_v1(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    let mut names = state.spans.tag_names(TagScope::Span);
    names.extend(state.spans.tag_names(TagScope::Resource));
    Ok(Reply::Json(json!({"tagNames": names})))
}

/// `GET /api/v2/search/tags?scope=`: names by scope.
pub fn tags_v2(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    let scope = req.params.get("scope").unwrap_or("all");
    let mut scopes = Vec::new();
    for (name, s) in [("resource", TagScope::Resource), ("span", TagScope::Span)] {
        if scope == "all" || scope == name || scope.is_empty() {
            scopes.push(json!({"name": name, "tags": state.spans.tag_names(s)}));
        }
    }
    if scope == "all" || scope == "intrinsic" || scope.is_empty() {
        scopes.push(json!({"name": "intrinsic", "tags": INTRINSICS}));
    }
    if scopes.is_empty() {
        return Err(ApiError::BadData(format!(
            "invalid scope {scope:?}: resource, span, intrinsic or all"
        )));
    }
    Ok(Reply::Json(json!({"scopes": scopes, "metrics": {}})))
}

/// The tag named by the path's segment before `values`.
fn tag_name(req: &Req) -> String {
    let mut segs = req.path.rsplit('/');
    let _values = segs.next();
    crate::api::decode_path_segment(segs.next().unwrap_or_default())
}

/// `GET /api/search/tag/<name>/values`: plain strings.
pub fn tag_values_v1(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    let values = state.spans.tag_values(None, &tag_name(req));
    let values: Vec<&str> = values.iter().map(|v| v.value.as_str()).collect();
    Ok(Reply::Json(json!({"tagValues": values})))
}

/// `GET /api/v2/search/tag/<scoped name>/values`: typed values; the name
/// is `span.x`, `resource.x`, `.x` or an intrinsic.
pub fn tag_values_v2(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET])?;
    let name = tag_name(req);
    let values = if let Some(k) = name.strip_prefix("span.") {
        state.spans.tag_values(Some(TagScope::Span), k)
    } else if let Some(k) = name.strip_prefix("resource.") {
        let mut v = state.spans.tag_values(Some(TagScope::Resource), k);
        if k == "service.name" {
            v.extend(state.spans.intrinsic_values("rootServiceName"));
        }
        v
    } else if let Some(k) = name.strip_prefix('.') {
        state.spans.tag_values(None, k)
    } else {
        let intrinsic = name
            .strip_prefix("span:")
            .or(name.strip_prefix("trace:"))
            .unwrap_or(&name);
        state.spans.intrinsic_values(intrinsic)
    };
    let values: Vec<Value> = values.iter().map(typed_json).collect();
    Ok(Reply::Json(json!({"tagValues": values, "metrics": {}})))
}

fn typed_json(v: &TagValue) -> Value {
    json!({"type": v.kind, "value": v.value})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_parameters_as_traceql() {
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            ("nothing", None, None, None, Some("{  }")),
            (
                "tags and durations",
                Some(r#"service.name=api http.status_code=500 name="GET /x""#),
                Some("100ms"),
                Some("2s"),
                Some(
                    r#"{ resource.service.name = "api" && .http.status_code = 500 && name = "GET /x" && traceDuration >= 100ms && traceDuration <= 2s }"#,
                ),
            ),
            (
                "status",
                Some("status.code=error"),
                None,
                None,
                Some("{ status = error }"),
            ),
            ("bad tags", Some("novalue"), None, None, None),
            ("bad duration", None, Some("1s}||{"), None, None),
        ];
        for (name, tags, min, max, want) in cases {
            let got = legacy_query(*tags, *min, *max).ok();
            assert_eq!(got.as_deref(), *want, "{name}");
            if let Some(q) = got {
                assert!(traceql::parse(&q).is_ok(), "{name}: {q}");
            }
        }
    }
}
