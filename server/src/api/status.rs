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
    use crate::metrics::{counter, gauge, header};
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
    gauge(
        &mut out,
        "almanac_tsdb_quarantined_blocks",
        "Blocks moved to quarantine/ because they failed to read.",
        dc.quarantined_blocks.load(Ordering::Relaxed) as f64,
    );
    let tier_blocks = state.db.tier_blocks();
    header(
        &mut out,
        "almanac_tsdb_tier_blocks",
        "Downsampling tier blocks on disk, by resolution (ms).",
        "gauge",
    );
    let mut by_res: std::collections::BTreeMap<i64, (usize, u64)> = Default::default();
    for b in &tier_blocks {
        let e = by_res.entry(b.meta().resolution).or_default();
        e.0 += 1;
        e.1 += b.size();
    }
    for (res, (n, _)) in &by_res {
        let _ = writeln!(out, "almanac_tsdb_tier_blocks{{resolution=\"{res}\"}} {n}");
    }
    header(
        &mut out,
        "almanac_tsdb_tier_blocks_bytes",
        "Bytes of downsampling tier blocks on disk, by resolution (ms).",
        "gauge",
    );
    for (res, (_, bytes)) in &by_res {
        let _ = writeln!(
            out,
            "almanac_tsdb_tier_blocks_bytes{{resolution=\"{res}\"}} {bytes}"
        );
    }
    counter(
        &mut out,
        "almanac_tsdb_tier_blocks_written_total",
        "Tier blocks written by downsampling (new and re-derived windows).",
        dc.tier_blocks_written.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "almanac_retention_blocked_total",
        "Times retention kept a block past its age because no tier covered it yet.",
        dc.retention_blocked.load(Ordering::Relaxed),
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
