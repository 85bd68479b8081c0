//! `POST /api/v1/write`.

use hyper::{Method, StatusCode};

use super::allow;
use super::{Reply, Req};
use crate::error::ApiError;
use crate::remote_write::{self, Protocol};
use crate::state::State;

pub fn remote_write(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::POST])?;
    let protocol = Protocol::from_content_type(req.content_type.as_deref())?;
    let out = remote_write::ingest(state, protocol, &req.body)?;
    let headers = vec![
        (
            "X-Prometheus-Remote-Write-Samples-Written",
            out.samples_written.to_string(),
        ),
        (
            "X-Prometheus-Remote-Write-Histograms-Written",
            out.histograms_written.to_string(),
        ),
        (
            "X-Prometheus-Remote-Write-Exemplars-Written",
            out.exemplars_written.to_string(),
        ),
    ];
    if out.total_rejected() > 0 {
        // Series refused by limits alone answer with the configured
        // status; by the churn limit alone, 429 until tokens refill.
        let mut headers = headers;
        let churn = out
            .only_limits_refused()
            .then(|| out.refusals.churn_retry_after())
            .flatten();
        if let Some(secs) = churn {
            headers.push(("Retry-After", secs.to_string()));
        }
        let retry = churn.is_some()
            || (out.only_limits_refused() && state.config.read().limits.series_limit_status == 429);
        return Err(ApiError::PartialWrite {
            message: out.summary(),
            retry,
            headers,
        });
    }
    Ok(Reply::Empty(StatusCode::NO_CONTENT, headers))
}

/// `POST /api/v1/read`.
pub fn remote_read(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::POST])?;
    crate::remote_read::read(state, &req.body)
}
