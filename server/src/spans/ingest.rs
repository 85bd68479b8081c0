//! `POST /v1/traces`: the OpenTelemetry traces receiver (OTLP/HTTP,
//! protobuf or JSON, gzip or not).
//!
//! Answers, as the OTLP spec has them: 200 with an empty
//! `ExportTraceServiceResponse` when every span is stored; 200 with
//! `partial_success` (the refused count and their reasons) when some spans
//! are refused — the others are stored; 400 when the body does not decode,
//! is empty, or every span in it is refused; 413 over the size limits; 429
//! and 503 (with `Retry-After`) only when a retry can succeed. Errors carry
//! a `google.rpc.Status` in the request's encoding. The answer comes only
//! after the spans are committed to the WAL.

use hyper::{Method, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;

use super::otlp_json;
use crate::api::{Reply, Req};
use crate::error::ApiError;
use crate::otlp::{Encoding, receive_export, wants_json};
use crate::state::State;

/// The handler of `/v1/traces`.
pub fn export(state: &State, req: &Req) -> Result<Reply, ApiError> {
    receive(state, req).map_err(|e| e.otlp(wants_json(req)))
}

fn receive(state: &State, req: &Req) -> Result<Reply, ApiError> {
    if req.method == Method::POST && req.body.is_empty() {
        return Err(ApiError::BadData(
            "empty body: an export request carries at least one span".into(),
        ));
    }
    let (enc, raw, _permit) = receive_export(state, req)?;
    // Spans are checked and kept in their protobuf encoding; a JSON body
    // is encoded once to get it.
    let from_json;
    let body: &[u8] = match enc {
        Encoding::Protobuf => &raw,
        Encoding::Json => {
            from_json = otlp_json::decode(&raw)
                .map_err(ApiError::BadData)?
                .encode_to_vec();
            &from_json
        }
    };
    let v = traces::validate::validate(body, &state.trace_limits)
        .map_err(|e| ApiError::BadData(format!("protobuf: {e}")))?;
    state.spans.counters.spans_refused.fetch_add(
        v.rejected_spans as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    if v.spans.is_empty() && v.rejected_spans > 0 {
        return Err(ApiError::BadData(format!(
            "all {} spans refused: {}",
            v.rejected_spans,
            v.reasons.join("; ")
        )));
    }
    state.spans.append_spans(&state.db, v.spans)?;
    let response = ExportTraceServiceResponse {
        partial_success: (v.rejected_spans > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: v.rejected_spans as i64,
            error_message: v.reasons.join("; "),
        }),
    };
    let body = match enc {
        Encoding::Protobuf => response.encode_to_vec(),
        Encoding::Json => {
            let v = match &response.partial_success {
                None => serde_json::json!({}),
                Some(p) => serde_json::json!({"partialSuccess": {
                    "rejectedSpans": p.rejected_spans.to_string(),
                    "errorMessage": p.error_message,
                }}),
            };
            serde_json::to_vec(&v).unwrap_or_default()
        }
    };
    Ok(Reply::Body(StatusCode::OK, enc.content_type(), body))
}
