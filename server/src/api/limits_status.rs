//! `GET /api/v1/status/limits`: per cardinality limit, its setting (0 =
//! unlimited), the current value it is measured against, the utilisation,
//! the top ten offenders and the series it refused in the last hour.
//!
//! The series limits measure the head: `max_series` the head's series (its
//! offenders: the metrics with the most series), `max_series_per_metric`
//! the fullest metric against its limit (override included). The label
//! limits (sizes, values per name) and the churn limit have no standing
//! value here; their offenders are the metrics with the most series they
//! refused.

use serde_json::{Value, json};
use tsdb::limits::LimitKind;

use super::json::success;
use super::{Reply, Req};
use crate::error::ApiError;
use crate::metrics::limits::reason;
use crate::state::State;

/// Offenders listed per limit.
const TOP: usize = 10;

pub fn limits(state: &State, _: &Req) -> Result<Reply, ApiError> {
    let limits = state.db.limits();
    let head_series = state.db.head_stats().num_series;
    let mut by_metric: Vec<(String, u64)> = state.db.with_head_postings(|p| {
        p.pair_counts()
            .filter(|(n, _, _)| *n == tsdb::model::METRIC_NAME)
            .map(|(_, v, c)| (v.to_string(), c))
            .collect()
    });
    by_metric.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let counters = &state.metrics.limit_counters;
    let ratio = |cur: u64, lim: u64| (lim > 0).then(|| cur as f64 / lim as f64);
    let offenders = |v: &[(String, u64)]| -> Value {
        json!(
            v.iter()
                .take(TOP)
                .map(|(m, n)| json!({"metric": m, "series": n}))
                .collect::<Vec<_>>()
        )
    };
    let entry =
        |kind: LimitKind, setting: u64, current: Option<u64>, util: Option<f64>, top: Value| {
            json!({
                "name": reason(kind),
                "key": kind.config_key(),
                "setting": setting,
                "current": current,
                "utilization": util,
                "topOffenders": top,
                "rejectedLastHour": counters.last_hour(reason(kind)),
            })
        };
    // The per-metric limit: metrics ranked by how full they are.
    let mut fullness: Vec<(String, u64, f64)> = by_metric
        .iter()
        .filter_map(|(m, n)| {
            let l = limits.per_metric(m);
            (l > 0).then(|| (m.clone(), *n, *n as f64 / l as f64))
        })
        .collect();
    fullness.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let fullest = fullness.first();
    let per_metric_top: Vec<(String, u64)> =
        fullness.iter().map(|(m, n, _)| (m.clone(), *n)).collect();
    let refused_top = |kind: LimitKind| offenders(&counters.top_refused(reason(kind), TOP));
    let out = vec![
        entry(
            LimitKind::MaxSeries,
            limits.max_series,
            Some(head_series),
            ratio(head_series, limits.max_series),
            offenders(&by_metric),
        ),
        entry(
            LimitKind::MaxSeriesPerMetric,
            limits.max_series_per_metric,
            fullest.map(|f| f.1),
            fullest.map(|f| f.2),
            offenders(&per_metric_top),
        ),
        entry(
            LimitKind::MaxLabelsPerSeries,
            limits.max_labels_per_series,
            None,
            None,
            refused_top(LimitKind::MaxLabelsPerSeries),
        ),
        entry(
            LimitKind::MaxLabelNameBytes,
            limits.max_label_name_bytes,
            None,
            None,
            refused_top(LimitKind::MaxLabelNameBytes),
        ),
        entry(
            LimitKind::MaxLabelValueBytes,
            limits.max_label_value_bytes,
            None,
            None,
            refused_top(LimitKind::MaxLabelValueBytes),
        ),
        entry(
            LimitKind::MaxNewSeriesPerMinute,
            limits.max_new_series_per_minute,
            None,
            None,
            refused_top(LimitKind::MaxNewSeriesPerMinute),
        ),
        entry(
            LimitKind::MaxValuesPerLabelName,
            limits.max_values_per_label_name,
            None,
            None,
            refused_top(LimitKind::MaxValuesPerLabelName),
        ),
    ];
    Ok(Reply::Json(success(json!({ "limits": out }), &[], &[])))
}
