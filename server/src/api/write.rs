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
    if out.total_rejected() > 0 {
        return Err(ApiError::BadData(out.summary()));
    }
    let headers = match protocol {
        Protocol::V1 => vec![],
        Protocol::V2 => vec![
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
        ],
    };
    Ok(Reply::Empty(StatusCode::NO_CONTENT, headers))
}

/// `POST /api/v1/read`.
pub fn remote_read(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::POST])?;
    crate::remote_read::read(state, &req.body)
}
