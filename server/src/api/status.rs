//! Health, readiness, self-metrics and `/api/v1/status/*`.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use hyper::StatusCode;
use serde_json::json;

use super::json::success;
use super::{Reply, Req};
use crate::error::ApiError;
use crate::state::State;

/// The Prometheus version Almanac's API corresponds to (Grafana reads it
/// to enable features).
pub const PROMETHEUS_COMPAT_VERSION: &str = "3.14.0";

pub fn healthy(_: &State, _: &Req) -> Result<Reply, ApiError> {
    Ok(healthy_reply())
}

/// `/-/healthy`'s answer: the process is up. Also given while the WAL
/// replays (see [`crate::http::answer_while_replaying`]).
pub(crate) fn healthy_reply() -> Reply {
    Reply::Body(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        b"Almanac is Healthy.\n".to_vec(),
    )
}

/// `/-/ready`: handlers run only once the storage is open (until then
/// [`crate::http::answer_while_replaying`] answers 503), so this is always 200.
pub fn ready(_: &State, _: &Req) -> Result<Reply, ApiError> {
    Ok(Reply::Body(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        b"Almanac is Ready.\n".to_vec(),
    ))
}

pub fn reload(state: &State, req: &Req) -> Result<Reply, ApiError> {
    super::allow(req, &[hyper::Method::POST, hyper::Method::PUT])?;
    state
        .reload()
        .map_err(|e| ApiError::BadData(format!("failed to reload config: {e}")))?;
    Ok(Reply::Body(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        Vec::new(),
    ))
}

pub fn metrics(state: &State, _: &Req) -> Result<Reply, ApiError> {
    let mut out = String::with_capacity(8192);
    crate::metrics::header(
        &mut out,
        "almanac_build_info",
        "Build information.",
        "gauge",
    );
    out.push_str(&format!(
        "almanac_build_info{{version=\"{}\",prometheus_compat=\"{PROMETHEUS_COMPAT_VERSION}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    ));
    let hs = state.db.head_stats();
    use crate::metrics::{counter, gauge};
    gauge(
        &mut out,
        "almanac_tsdb_head_series",
        "Series in the head.",
        hs.num_series as f64,
    );
    gauge(
        &mut out,
        "almanac_tsdb_head_chunks",
        "Chunks in the head.",
        hs.num_chunks as f64,
    );
    gauge(
        &mut out,
        "almanac_tsdb_head_chunk_bytes",
        "Bytes of head chunk data.",
        hs.chunk_bytes as f64,
    );
    counter(
        &mut out,
        "almanac_tsdb_head_samples_appended_total",
        "Samples appended to the head.",
        hs.samples_appended,
    );
    counter(
        &mut out,
        "almanac_tsdb_head_ooo_samples_appended_total",
        "Out-of-order samples appended to the head.",
        hs.ooo_samples_appended,
    );
    counter(
        &mut out,
        "almanac_tsdb_head_series_created_total",
        "Series created in the head.",
        hs.series_created,
    );
    counter(
        &mut out,
        "almanac_tsdb_head_series_removed_total",
        "Series removed from the head.",
        hs.series_removed,
    );
    gauge(
        &mut out,
        "almanac_tsdb_wal_bytes",
        "Bytes of WAL on disk.",
        state.db.wal_size() as f64,
    );
    let (fsyncs, fsync_secs) = state.db.wal_fsyncs();
    crate::metrics::header(
        &mut out,
        "almanac_tsdb_wal_fsync_duration_seconds",
        "Time WAL fsyncs took.",
        "summary",
    );
    let _ = writeln!(
        out,
        "almanac_tsdb_wal_fsync_duration_seconds_sum {fsync_secs}"
    );
    let _ = writeln!(
        out,
        "almanac_tsdb_wal_fsync_duration_seconds_count {fsyncs}"
    );
    let blocks = state.db.blocks();
    gauge(
        &mut out,
        "almanac_tsdb_blocks_loaded",
        "Blocks on disk.",
        blocks.len() as f64,
    );
    gauge(
        &mut out,
        "almanac_tsdb_storage_blocks_bytes",
        "Bytes of blocks on disk.",
        blocks.iter().map(|b| b.size()).sum::<u64>() as f64,
    );
    let dc = &state.db.counters;
    counter(
        &mut out,
        "almanac_tsdb_compactions_total",
        "Blocks written by compaction.",
        dc.compactions.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "almanac_tsdb_compactions_failed_total",
        "Compactions that failed.",
        dc.compaction_failures.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "almanac_tsdb_head_truncations_total",
        "Head truncations after compaction.",
        dc.head_truncations.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "almanac_tsdb_blocks_deleted_total",
        "Blocks deleted by retention and compaction.",
        dc.blocks_deleted.load(Ordering::Relaxed),
    );
    state.metrics.render(&mut out);
    Ok(Reply::Body(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        out.into_bytes(),
    ))
}

pub fn buildinfo(_: &State, _: &Req) -> Result<Reply, ApiError> {
    Ok(Reply::Json(success(
        json!({
            "version": PROMETHEUS_COMPAT_VERSION,
            "revision": format!("almanac-{}", env!("CARGO_PKG_VERSION")),
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "",
            "features": {},
        }),
        &[],
        &[],
    )))
}

pub fn runtimeinfo(state: &State, _: &Req) -> Result<Reply, ApiError> {
    let started = humantime_rfc3339(state.started);
    let cfg = state.config.read();
    Ok(Reply::Json(success(
        json!({
            "startTime": started,
            "CWD": std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default(),
            "reloadConfigSuccess": true,
            "lastConfigTime": started,
            "corruptionCount": 0,
            "goroutineCount": 0,
            "GOMAXPROCS": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "GOGC": "",
            "GODEBUG": "",
            "storageRetention": cfg.retention_description(),
        }),
        &[],
        &[],
    )))
}

pub fn flags(state: &State, _: &Req) -> Result<Reply, ApiError> {
    Ok(Reply::Json(success(
        json!(state.config.read().flags()),
        &[],
        &[],
    )))
}

pub fn config(state: &State, _: &Req) -> Result<Reply, ApiError> {
    Ok(Reply::Json(success(
        json!({"yaml": state.config.read().to_yaml()}),
        &[],
        &[],
    )))
}

/// `/api/v1/status/tsdb` over the head: Prometheus's fields (`limit`),
/// plus VictoriaMetrics' `topN` (the same as `limit`), `focusLabel` (→
/// `seriesCountByFocusLabelValue`), `totalSeries`, `totalLabelValuePairs`
/// and `seriesCountByLabelName`.
pub fn tsdb(state: &State, req: &Req) -> Result<Reply, ApiError> {
    let limit = if req.params.get("topN").is_some() {
        req.params.usize_or("topN", 10)?
    } else {
        req.params.usize_or("limit", 10)?
    };
    let focus = req.params.get("focusLabel").map(str::to_string);
    let hs = state.db.head_stats();
    let stats = state.db.with_head_postings(|p| {
        let mut pairs: Vec<(String, u64)> = Vec::new();
        let mut metrics: Vec<(String, u64)> = Vec::new();
        let mut focused: Vec<(String, u64)> = Vec::new();
        let mut mem: std::collections::HashMap<String, u64> = Default::default();
        let mut series_by_name: std::collections::HashMap<String, u64> = Default::default();
        for (n, v, c) in p.pair_counts() {
            if n == tsdb::model::METRIC_NAME {
                metrics.push((v.to_string(), c));
            }
            if focus.as_deref() == Some(n) {
                focused.push((v.to_string(), c));
            }
            pairs.push((format!("{n}={v}"), c));
            *mem.entry(n.to_string()).or_default() += v.len() as u64 * c;
            // A series has one value per label name.
            *series_by_name.entry(n.to_string()).or_default() += c;
        }
        let total_pairs = pairs.len();
        let mut names: Vec<(String, u64)> = p
            .name_cardinalities()
            .map(|(n, c)| (n.to_string(), c as u64))
            .collect();
        let mut mem: Vec<(String, u64)> = mem.into_iter().collect();
        let mut series_by_name: Vec<(String, u64)> = series_by_name.into_iter().collect();
        for v in [
            &mut pairs,
            &mut metrics,
            &mut names,
            &mut mem,
            &mut focused,
            &mut series_by_name,
        ] {
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(limit);
        }
        TsdbStats {
            by_metric: metrics,
            by_name_values: names,
            by_pair: pairs,
            memory_by_name: mem,
            focused,
            series_by_name,
            total_pairs,
        }
    });
    let stat = |v: Vec<(String, u64)>| -> serde_json::Value {
        json!(
            v.into_iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect::<Vec<_>>()
        )
    };
    let (min, max) = if hs.num_series == 0 {
        (0, 0)
    } else {
        (hs.min_time, hs.max_time)
    };
    let mut data = json!({
        "headStats": {
            "numSeries": hs.num_series,
            "numLabelPairs": stats.total_pairs,
            "chunkCount": hs.num_chunks,
            "minTime": min,
            "maxTime": max,
        },
        "seriesCountByMetricName": stat(stats.by_metric),
        "labelValueCountByLabelName": stat(stats.by_name_values),
        "memoryInBytesByLabelName": stat(stats.memory_by_name),
        "seriesCountByLabelValuePair": stat(stats.by_pair),
        "totalSeries": hs.num_series,
        "totalLabelValuePairs": stats.total_pairs,
        "seriesCountByLabelName": stat(stats.series_by_name),
    });
    if focus.is_some() {
        data["seriesCountByFocusLabelValue"] = stat(stats.focused);
    }
    Ok(Reply::Json(success(data, &[], &[])))
}

/// The head's statistics, each list sorted by count (then name) and cut to
/// the asked length.
struct TsdbStats {
    by_metric: Vec<(String, u64)>,
    by_name_values: Vec<(String, u64)>,
    by_pair: Vec<(String, u64)>,
    memory_by_name: Vec<(String, u64)>,
    focused: Vec<(String, u64)>,
    series_by_name: Vec<(String, u64)>,
    total_pairs: usize,
}

/// `/api/v1/status/walreplay`: the replay is done once handlers run.
pub fn walreplay(_: &State, _: &Req) -> Result<Reply, ApiError> {
    Ok(Reply::Json(success(
        json!({"min": 0, "max": 0, "current": 0}),
        &[],
        &[],
    )))
}

pub fn targets(_: &State, _: &Req) -> Result<Reply, ApiError> {
    Ok(Reply::Json(success(
        json!({"activeTargets": [], "droppedTargets": []}),
        &[],
        &[],
    )))
}

/// RFC 3339 in UTC with millisecond precision.
pub fn humantime_rfc3339(t: std::time::SystemTime) -> String {
    let ms = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    promql::syntax::format_rfc3339(ms)
}
