//! `/api/v1/admin/tsdb/*`.

use hyper::Method;
use serde_json::json;

use super::{Reply, Req};
use super::{allow, json::success, no_content};
use crate::error::ApiError;
use crate::selector::parse_selector;
use crate::state::State;

pub fn delete_series(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::POST, Method::PUT])?;
    let sets = req.params.all("match[]");
    if sets.is_empty() {
        return Err(ApiError::BadData("no match[] parameter provided".into()));
    }
    let start = req.params.time_or("start", i64::MIN)?;
    let end = req.params.time_or("end", i64::MAX)?;
    for s in sets {
        let ms = parse_selector(s)?;
        state.db.delete(&ms, start, end)?;
    }
    Ok(no_content())
}

pub fn clean_tombstones(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::POST, Method::PUT])?;
    state.db.clean_tombstones()?;
    Ok(no_content())
}

/// Runs maintenance now — the head cut into blocks as far as it is due,
/// block merges, downsampling, retention, and every log line not yet in
/// a block flushed — and answers what it did once it is done.
pub fn compact(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::POST, Method::PUT])?;
    state.db.sync_wal()?;
    state.logs.maintain(&state.db, true)?;
    let r = state.db.compact()?;
    Ok(Reply::Json(success(
        json!({
            "headBlocks": r.head_blocks,
            "mergedBlocks": r.merged_blocks,
            "deletedBlocks": r.deleted_blocks,
            "tierBlocks": r.tier_blocks,
            "rederivedTierBlocks": r.rederived_tier_blocks,
        }),
        &[],
        &[],
    )))
}

/// Writes a snapshot under `<data>/snapshots/<timestamp>-<ulid>/` and
/// answers its name, as Prometheus does.
pub fn snapshot(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::POST, Method::PUT])?;
    let skip_head = matches!(req.params.get("skip_head"), Some("true" | "1"));
    let now = super::status::humantime_rfc3339(std::time::SystemTime::now());
    let stamp: String = now.chars().filter(char::is_ascii_digit).take(14).collect();
    let name = format!("{stamp}-{}", tsdb::block::new_ulid().to_lowercase());
    let dir = state.db.dir().join("snapshots").join(&name);
    state.db.snapshot(&dir, !skip_head)?;
    Ok(Reply::Json(success(json!({"name": name}), &[], &[])))
}
