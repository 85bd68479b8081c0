//! `/api/v1/rules` and `/api/v1/alerts` in Prometheus's shapes.

use std::collections::BTreeMap;

use promql::syntax::format_rfc3339;
use serde_json::{Value, json};
use tsdb::model::Labels;

use super::json::success;
use super::{Reply, Req};
use crate::error::ApiError;
use crate::state::State;
use rules::alert::{Alert, AlertState};
use rules::file::RuleKind;
use rules::group::{Group, Rule};

/// Go's zero time, which Prometheus shows for "never".
const NEVER: &str = "0001-01-01T00:00:00Z";

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|x| (x.name.to_string(), Value::String(x.value.to_string())))
            .collect(),
    )
}

fn map_json(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`, as Prometheus shows alert values.
fn value_e(v: f64) -> String {
    rules::template::format_float(v, 'e', None)
}

fn alert_json(a: &Alert) -> Value {
    let mut v = json!({
        "labels": labels_json(&a.labels),
        "annotations": map_json(&a.annotations),
        "state": a.state.as_str(),
        "activeAt": format_rfc3339(a.active_at),
        "value": value_e(a.value),
    });
    if let Some(k) = a.keep_firing_since {
        v["keepFiringSince"] = json!(format_rfc3339(k));
    }
    v
}

fn active(r: &Rule) -> impl Iterator<Item = &Alert> {
    r.alerts
        .active
        .values()
        .filter(|a| a.state != AlertState::Inactive)
}

fn rule_json(r: &Rule, with_alerts: bool) -> Value {
    let last = r.last_eval.map_or(NEVER.to_string(), format_rfc3339);
    let mut v = match r.spec.kind {
        RuleKind::Recording => json!({
            "name": r.spec.name,
            "query": r.spec.expr_text,
            "labels": map_json(&r.spec.labels),
            "type": "recording",
        }),
        RuleKind::Alerting => {
            let state = active(r)
                .map(|a| a.state)
                .fold(AlertState::Inactive, |s, a| match (s, a) {
                    (AlertState::Firing, _) | (_, AlertState::Firing) => AlertState::Firing,
                    (AlertState::Pending, _) | (_, AlertState::Pending) => AlertState::Pending,
                    _ => AlertState::Inactive,
                });
            let mut v = json!({
                "state": state.as_str(),
                "name": r.spec.name,
                "query": r.spec.expr_text,
                "duration": r.spec.for_ms as f64 / 1000.0,
                "keepFiringFor": r.spec.keep_firing_for_ms as f64 / 1000.0,
                "labels": map_json(&r.spec.labels),
                "annotations": map_json(&r.spec.annotations),
                "type": "alerting",
            });
            if with_alerts {
                v["alerts"] = Value::Array(active(r).map(alert_json).collect());
            }
            v
        }
    };
    v["health"] = json!(r.health.as_str());
    if let Some(e) = &r.last_error {
        v["lastError"] = json!(e);
    }
    v["evaluationTime"] = json!(r.eval_seconds);
    v["lastEvaluation"] = json!(last);
    v
}

/// `GET /api/v1/rules` with `type`, `rule_name[]`, `rule_group[]`,
/// `file[]` and `exclude_alerts` filters.
pub fn rules(state: &State, req: &Req) -> Result<Reply, ApiError> {
    let kind = match req.params.get("type").unwrap_or("") {
        "" => None,
        "alert" => Some(RuleKind::Alerting),
        "record" => Some(RuleKind::Recording),
        other => return Err(ApiError::BadData(format!("unsupported type {other:?}"))),
    };
    let exclude_alerts = match req.params.get("exclude_alerts").unwrap_or("false") {
        "true" | "1" => true,
        "false" | "0" | "" => false,
        other => {
            return Err(ApiError::BadData(format!(
                "parsing exclude_alerts: {other:?} is not a boolean"
            )));
        }
    };
    let names = req.params.all("rule_name[]");
    let groups_f = req.params.all("rule_group[]");
    let files = req.params.all("file[]");
    let keep = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
    let mut out = Vec::new();
    for g in state.rules.groups() {
        let g: &Group = &g.lock();
        if !keep(groups_f, &g.name) || !keep(files, &g.file) {
            continue;
        }
        let rules: Vec<Value> = g
            .rules
            .iter()
            .filter(|r| kind.is_none_or(|k| k == r.spec.kind) && keep(names, &r.spec.name))
            .map(|r| rule_json(r, !exclude_alerts))
            .collect();
        if rules.is_empty() && (kind.is_some() || !names.is_empty()) {
            continue;
        }
        out.push(json!({
            "name": g.name,
            "file": g.file,
            "rules": rules,
            "interval": g.interval as f64 / 1000.0,
            "limit": g.limit,
            "evaluationTime": g.eval_seconds,
            "lastEvaluation": g.last_eval.map_or(NEVER.to_string(), format_rfc3339),
        }));
    }
    Ok(Reply::Json(success(json!({ "groups": out }), &[], &[])))
}

/// `GET /api/v1/alerts`: every pending and firing alert.
pub fn alerts(state: &State, _: &Req) -> Result<Reply, ApiError> {
    let mut out = Vec::new();
    for g in state.rules.groups() {
        let g = g.lock();
        for r in &g.rules {
            out.extend(active(r).map(alert_json));
        }
    }
    Ok(Reply::Json(success(json!({ "alerts": out }), &[], &[])))
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_in_go_exponent_form() {
        let cases = [
            ("one", 1.0, "1e+00"),
            ("frac", 0.5, "5e-01"),
            ("big", 1234.5, "1.2345e+03"),
        ];
        for (name, v, want) in cases {
            assert_eq!(super::value_e(v), want, "{name}");
        }
    }
}
