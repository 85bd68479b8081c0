//! Grafana Mimir's cardinality API over the head:
//! `/api/v1/cardinality/label_names`, `/api/v1/cardinality/label_values`
//! and `/api/v1/cardinality/active_series`, with Mimir's parameters and
//! bare JSON answers. Parameter errors are plain-text 400s, as Mimir
//! sends them. `count_method=inmemory` (the default) counts the head's
//! series; `active` only those with a sample in its last 10 minutes.
//! More series than `limits.max_explorer_series` is a 413, as Mimir
//! answers a result too large.

use hyper::{Method, StatusCode};
use serde_json::{Map, Value, json};
use tsdb::model::{Labels, Matcher};

use super::{Reply, Req, allow};
use crate::cardinality::scope::{ACTIVE_WINDOW_MS, Scope};
use crate::cardinality::stats::{self, PairCounts};
use crate::error::ApiError;
use crate::state::State;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 500;

pub fn label_names(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let answer = || -> Result<Value, Refused> {
        let p = Params::parse(req, true)?;
        let pairs = selected_pairs(state, &p)?;
        let (total, count, list) = stats::label_names(&pairs, p.limit);
        let cardinality: Vec<Value> = list
            .into_iter()
            .map(
                |l| json!({"label_name": l.label_name, "label_values_count": l.label_values_count}),
            )
            .collect();
        Ok(json!({
            "label_values_count_total": total,
            "label_names_count": count,
            "cardinality": cardinality,
        }))
    };
    reply(answer())
}

pub fn label_values(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let answer = || -> Result<Value, Refused> {
        let p = Params::parse(req, true)?;
        let mut names: Vec<String> = req.params.all("label_names[]").to_vec();
        if names.is_empty() {
            return Err(Refused::from(
                "'label_names[]' param is required".to_string(),
            ));
        }
        if let Some(bad) = names.iter().find(|n| n.is_empty()) {
            return Err(Refused::from(format!(
                "invalid 'label_names' param '{bad}'"
            )));
        }
        names.sort();
        names.dedup();
        let (pairs, series) = selected(state, &p)?;
        let mut labels = stats::label_values(&pairs, &names, p.limit);
        labels.sort_by(|a, b| {
            b.series_count
                .cmp(&a.series_count)
                .then_with(|| a.label_name.cmp(&b.label_name))
        });
        let labels: Vec<Value> = labels
            .into_iter()
            .map(|l| {
                let values: Vec<Value> = l
                    .cardinality
                    .into_iter()
                    .map(|s| json!({"label_value": s.name, "series_count": s.value}))
                    .collect();
                json!({
                    "label_name": l.label_name,
                    "label_values_count": l.label_values_count,
                    "series_count": l.series_count,
                    "cardinality": values,
                })
            })
            .collect();
        Ok(json!({"series_count_total": series.len(), "labels": labels}))
    };
    reply(answer())
}

pub fn active_series(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::GET, Method::POST])?;
    let answer = || -> Result<Value, Refused> {
        if req.params.get("selector").is_none() {
            return Err(Refused::from("missing 'selector' parameter".to_string()));
        }
        let mut p = Params::parse(req, false)?;
        p.active = true;
        let (_, series) = selected(state, &p)?;
        let data: Vec<Value> = series.iter().map(label_map).collect();
        Ok(json!({"data": data}))
    };
    reply(answer())
}

/// A label set as a flat object, keys sorted.
fn label_map(l: &Labels) -> Value {
    let mut m = Map::new();
    for x in l.iter() {
        m.insert(x.name.to_string(), Value::String(x.value.to_string()));
    }
    Value::Object(m)
}

/// The parameters every endpoint shares.
struct Params {
    selector: Vec<Matcher>,
    limit: usize,
    active: bool,
}

impl Params {
    fn parse(req: &Req, with_limit: bool) -> Result<Params, String> {
        let one = |k: &str| -> Result<Option<&str>, String> {
            match req.params.all(k) {
                [] => Ok(None),
                [v] => Ok(Some(v.as_str())),
                _ => Err(format!("multiple '{k}' params are not allowed")),
            }
        };
        let selector = match one("selector")? {
            None | Some("") => Vec::new(),
            Some(s) => promql::parse_series_selector(s)
                .map_err(|e| format!("failed to parse selector: {e}"))?,
        };
        let limit = match one("limit")?.filter(|_| with_limit) {
            None => DEFAULT_LIMIT,
            Some(v) => {
                let n: i64 = v
                    .parse()
                    .map_err(|e| format!("strconv.Atoi: parsing {v:?}: {e}"))?;
                if n < 0 {
                    return Err("'limit' param cannot be less than '0'".into());
                }
                if n > MAX_LIMIT as i64 {
                    return Err(format!(
                        "'limit' param cannot be greater than '{MAX_LIMIT}'"
                    ));
                }
                n as usize
            }
        };
        let active = match one("count_method")? {
            None | Some("inmemory") => false,
            Some("active") => true,
            Some(v) => {
                return Err(format!(
                    "invalid 'count_method' param '{v}'. valid options are: [active,inmemory]"
                ));
            }
        };
        Ok(Params {
            selector,
            limit,
            active,
        })
    }
}

/// The pair counts of the selected head series.
fn selected_pairs(state: &State, p: &Params) -> Result<PairCounts, Refused> {
    selected(state, p).map(|(pairs, _)| pairs)
}

/// The head's series the parameters select (all, or the active ones),
/// with their pair counts.
fn selected(state: &State, p: &Params) -> Result<(PairCounts, Vec<Labels>), Refused> {
    let hs = state.db.head_stats();
    if hs.num_series == 0 {
        return Ok((PairCounts::default(), Vec::new()));
    }
    let mint = if p.active {
        hs.max_time.saturating_sub(ACTIVE_WINDOW_MS) + 1
    } else {
        hs.min_time
    };
    let scope = Scope {
        selectors: if p.selector.is_empty() {
            Vec::new()
        } else {
            vec![p.selector.clone()]
        },
        mint,
        maxt: hs.max_time,
    };
    let cap = super::tsdb_status::explorer_cap(state);
    let series: Vec<Labels> = scope
        .select(&state.db, cap)
        .map_err(|e| Refused {
            // Past the cap, as Mimir answers a result too large.
            status: match e {
                ApiError::Execution(_) => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            msg: e.to_string(),
        })?
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    Ok((PairCounts::of_series(&series), series))
}

/// Why a request is refused: its status and plain-text message.
struct Refused {
    status: StatusCode,
    msg: String,
}

/// A bad parameter: 400.
impl From<String> for Refused {
    fn from(msg: String) -> Self {
        Refused {
            status: StatusCode::BAD_REQUEST,
            msg,
        }
    }
}

fn reply(answer: Result<Value, Refused>) -> Result<Reply, ApiError> {
    Ok(match answer {
        Ok(v) => Reply::Body(
            StatusCode::OK,
            "application/json",
            serde_json::to_vec(&v).unwrap_or_default(),
        ),
        Err(r) => Reply::Body(
            r.status,
            "text/plain; charset=utf-8",
            format!("{}\n", r.msg).into_bytes(),
        ),
    })
}
