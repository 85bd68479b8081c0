//! `/api/v1/status/tsdb`: Prometheus 3.x's answer (`headStats` and four
//! top lists, `limit`), VictoriaMetrics' additions (`topN`, `match[]`,
//! `focusLabel` → `seriesCountByFocusLabelValue`, `date`, `totalSeries`,
//! `totalLabelValuePairs`, `seriesCountByLabelName`; `requestsCount` and
//! `lastRequestTimestamp` on metric names) and Almanac's
//! `seriesCreatedByMetricName` and `activeSeriesCountByMetricName`.
//!
//! Without `match[]`, `date`, `start` or `end` the lists describe the
//! head, from its label index; with them, the series in that scope read
//! exactly from the head and the blocks ([`Scope`]). Created series are
//! those whose first sample falls in the scope's range (for the head: its
//! last hour); active ones have a sample in the range's last 10 minutes.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::json::success;
use super::{Reply, Req};
use crate::cardinality::scope::{self, Scope};
use crate::cardinality::stats::{self, PairCounts, Stat, TsdbLists};
use crate::cardinality::usage::Usage;
use crate::error::ApiError;
use crate::state::State;

/// Prometheus's most entries a list may be asked for.
const MAX_LIMIT: usize = 10_000;
/// VictoriaMetrics' clamp of `topN`.
const MAX_TOP_N: usize = 1000;

pub fn tsdb(state: &State, req: &Req) -> Result<Reply, ApiError> {
    let limit = list_length(&req.params)?;
    let focus = req.params.get("focusLabel").filter(|f| !f.is_empty());
    let cap = explorer_cap(state);
    let hs = state.db.head_stats();
    let head = if hs.num_series == 0 {
        (0, 0)
    } else {
        (hs.min_time, hs.max_time)
    };
    let mut warnings = Vec::new();
    let (lists, head_pairs, total_series, created, active) =
        match Scope::from_params(&req.params, head)? {
            None => {
                let lists = state
                    .db
                    .with_head_postings(|p| stats::tsdb_lists(p.pair_counts(), focus, limit));
                let churn = head_churn(state, head, cap);
                let (created, active) = churn.unwrap_or_else(|e| {
                    warnings.push(format!(
                        "seriesCreatedByMetricName and activeSeriesCountByMetricName left out: {e}"
                    ));
                    (HashMap::new(), HashMap::new())
                });
                let pairs = lists.total_pairs;
                (lists, pairs, hs.num_series, created, active)
            }
            Some(sc) => {
                let series = sc.select(&state.db, cap)?;
                let pairs = PairCounts::of_series(series.iter().map(|(l, _)| l));
                let lists = stats::tsdb_lists(pairs.iter(), focus, limit);
                let end = sc.maxt.min(head.1);
                let active = scope::active_by_metric(&series, end);
                let created = scope::created_by_metric(&state.db, &sc, sc.mint, cap)?;
                let head_pairs = state
                    .db
                    .with_head_postings(|p| p.pair_counts().count() as u64);
                (lists, head_pairs, series.len() as u64, created, active)
            }
        };
    let data = answer(
        &hs,
        (head, head_pairs),
        lists,
        total_series,
        &usage_by_metric(state),
        Churn {
            created: stats::top(created, limit),
            active: stats::top(active, limit),
        },
    );
    Ok(Reply::Json(success(data, &warnings, &[])))
}

/// VictoriaMetrics' `topN` (clamped to 1…1000), else Prometheus's
/// `limit` (1…10000, else 400); 10 by default.
fn list_length(p: &crate::api::Params) -> Result<usize, ApiError> {
    if let Some(n) = p.get("topN").filter(|v| !v.is_empty()) {
        let n: i64 = n
            .parse()
            .map_err(|_| ApiError::BadData(format!("cannot parse `topN` arg {n:?}")))?;
        return Ok(n.clamp(1, MAX_TOP_N as i64) as usize);
    }
    match p.get("limit").filter(|v| !v.is_empty()) {
        None => Ok(10),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 1 && n as usize <= MAX_LIMIT => Ok(n as usize),
            Ok(n) if n >= 1 => Err(ApiError::BadData(format!(
                "limit must not exceed {MAX_LIMIT}"
            ))),
            _ => Err(ApiError::BadData("limit must be a positive number".into())),
        },
    }
}

/// The cap on series one request reads (`usize::MAX` for none).
pub(super) fn explorer_cap(state: &State) -> usize {
    match state.config.read().limits.max_explorer_series {
        0 => usize::MAX,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    }
}

/// The head's series created in its last hour and active in its last 10
/// minutes, by metric name.
fn head_churn(
    state: &State,
    head: (i64, i64),
    cap: usize,
) -> Result<(ByMetric, ByMetric), ApiError> {
    let end = head.1;
    let whole = Scope::head(head);
    let created = scope::created_by_metric(
        &state.db,
        &whole,
        end.saturating_sub(scope::CHURN_WINDOW_MS) + 1,
        cap,
    )?;
    let recent = whole
        .with_range(end.saturating_sub(scope::ACTIVE_WINDOW_MS) + 1, end)
        .select(&state.db, cap)?;
    Ok((created, scope::active_by_metric(&recent, end)))
}

/// Series counts by metric name.
type ByMetric = HashMap<String, u64>;

struct Churn {
    created: Vec<Stat>,
    active: Vec<Stat>,
}

fn usage_by_metric(state: &State) -> HashMap<String, Usage> {
    state.usage.snapshot().1.into_iter().collect()
}

/// The JSON answer: Prometheus's keys in its order, then the rest of
/// VictoriaMetrics' (`seriesCountByFocusLabelValue` is `[]` without a
/// `focusLabel`, as there), then Almanac's.
fn answer(
    hs: &tsdb::HeadStats,
    (head, head_pairs): ((i64, i64), u64),
    lists: TsdbLists,
    total_series: u64,
    usage: &HashMap<String, Usage>,
    churn: Churn,
) -> Value {
    let stat = |v: Vec<Stat>| -> Value {
        json!(
            v.into_iter()
                .map(|s| json!({"name": s.name, "value": s.value}))
                .collect::<Vec<_>>()
        )
    };
    // VictoriaMetrics adds the query counts of metrics its tracker knows.
    let by_metric: Vec<Value> = lists
        .series_by_metric
        .into_iter()
        .map(|s| match usage.get(&s.name) {
            Some(u) => json!({
                "name": s.name,
                "value": s.value,
                "requestsCount": u.total(),
                "lastRequestTimestamp": u.last_request,
            }),
            None => json!({"name": s.name, "value": s.value}),
        })
        .collect();
    json!({
        "headStats": {
            "numSeries": hs.num_series,
            "numLabelPairs": head_pairs,
            "chunkCount": hs.num_chunks,
            "minTime": head.0,
            "maxTime": head.1,
        },
        "seriesCountByMetricName": by_metric,
        "labelValueCountByLabelName": stat(lists.values_by_label_name),
        "memoryInBytesByLabelName": stat(lists.memory_by_label_name),
        "seriesCountByLabelValuePair": stat(lists.series_by_pair),
        "totalSeries": total_series,
        "totalLabelValuePairs": lists.total_pairs,
        "seriesCountByLabelName": stat(lists.series_by_label_name),
        "seriesCountByFocusLabelValue": stat(lists.series_by_focus_value.unwrap_or_default()),
        "seriesCreatedByMetricName": stat(churn.created),
        "activeSeriesCountByMetricName": stat(churn.active),
    })
}
