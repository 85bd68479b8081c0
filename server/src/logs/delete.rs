//! `POST /loki/api/v1/delete`: deletes what a log query (a selector and
//! line filters) selects between `start` (required) and `end` (now by
//! default), both included; 204 once the deletion is durable. Unlike
//! Loki's, which queues requests for its compactor, the lines are gone
//! at once.

use hyper::Method;
use logs::logql::Expr;

use super::time;
use crate::api::{Reply, Req, allow, no_content};
use crate::error::ApiError;
use crate::state::State;

pub fn delete(state: &State, req: &Req) -> Result<Reply, ApiError> {
    (|| {
        allow(req, &[Method::POST, Method::PUT])?;
        let q = req
            .params
            .get("query")
            .ok_or_else(|| ApiError::BadData("invalid parameter \"query\": missing".into()))?;
        let Expr::Log(log) = logs::logql::parse(q).map_err(logs::Error::from)? else {
            return Err(ApiError::BadData(
                "invalid parameter \"query\": a deletion takes a log query".into(),
            ));
        };
        if req.params.get("start").is_none_or(str::is_empty) {
            return Err(ApiError::BadData(
                "invalid parameter \"start\": missing".into(),
            ));
        }
        let start = time::param(&req.params, "start", 0)?;
        let end = time::param(&req.params, "end", time::now_ns())?;
        if end < start {
            return Err(ApiError::BadData(
                "invalid parameters: end is before start".into(),
            ));
        }
        state.logs.delete(&state.db, &log, start, end)?;
        Ok(no_content())
    })()
    .map_err(ApiError::loki)
}
