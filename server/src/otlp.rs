//! `POST /v1/metrics` and `POST /api/v1/otlp/v1/metrics`: the
//! OpenTelemetry metrics receiver (OTLP/HTTP, protobuf or JSON, gzip or
//! not).
//!
//! The body is decompressed within `max_decompressed_bytes` (over it:
//! 413, before the whole of it is allocated), decoded by its content type
//! (400 when it does not decode), translated as Prometheus 3.x does
//! ([`translate`]) and stored through remote write's appender path (same
//! limits, same WAL). The answer is 200 with an
//! `ExportMetricsServiceResponse` in the request's encoding; refused points
//! are counted in its `partial_success`, with the reasons.

mod json;
pub(crate) mod jsonpb;
mod names;
mod native;
mod translate;

use std::borrow::Cow;
use std::io::Read;

use hyper::{Method, StatusCode};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;

pub use translate::{Options, Translation, translate};

use crate::api::allow;
use crate::api::{Reply, Req};
use crate::error::ApiError;
use crate::remote_write::{self, Permit, SeriesIn, WriteLimits};
use crate::state::State;

/// How a request is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// `application/x-protobuf` (also when missing) or `application/json`.
    pub fn from_content_type(ct: Option<&str>) -> Result<Encoding, ApiError> {
        let media = ct.and_then(|c| c.split(';').next()).map(str::trim);
        match media {
            None => Ok(Encoding::Protobuf),
            Some(m) if m.eq_ignore_ascii_case("application/x-protobuf") => Ok(Encoding::Protobuf),
            Some(m) if m.eq_ignore_ascii_case("application/json") => Ok(Encoding::Json),
            Some(_) => Err(ApiError::BadData(format!(
                "unsupported content type {:?}; OTLP/HTTP is application/x-protobuf or application/json",
                ct.unwrap_or("")
            ))),
        }
    }

    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// The request body, gunzipped when `Content-Encoding: gzip` (read in
/// steps, never past `max_decoded` + 1 bytes).
pub fn decompress<'a>(
    body: &'a [u8],
    content_encoding: Option<&str>,
    limits: &WriteLimits,
) -> Result<Cow<'a, [u8]>, ApiError> {
    match content_encoding.map(str::trim) {
        None | Some("") | Some("identity") => Ok(Cow::Borrowed(body)),
        Some(e) if e.eq_ignore_ascii_case("gzip") => {
            let mut out = Vec::new();
            let cap = limits.max_decoded as u64;
            flate2::read::GzDecoder::new(body)
                .take(cap + 1)
                .read_to_end(&mut out)
                .map_err(|e| ApiError::BadData(format!("decoding gzip body: {e}")))?;
            if out.len() as u64 > cap {
                return Err(ApiError::TooLarge(format!(
                    "decompressed body is over the limit of {cap} bytes"
                )));
            }
            Ok(Cow::Owned(out))
        }
        Some(e) => Err(ApiError::BadData(format!(
            "unsupported content encoding {e:?}; use gzip or none"
        ))),
    }
}

/// Decodes an `ExportMetricsServiceRequest`.
pub fn decode(raw: &[u8], enc: Encoding) -> Result<ExportMetricsServiceRequest, ApiError> {
    match enc {
        Encoding::Protobuf => ExportMetricsServiceRequest::decode(raw)
            .map_err(|e| ApiError::BadData(format!("protobuf: {e}"))),
        Encoding::Json => json::decode(raw).map_err(ApiError::BadData),
    }
}

/// Whether errors are answered in JSON: the request is OTLP/JSON.
pub fn wants_json(req: &Req) -> bool {
    matches!(
        Encoding::from_content_type(req.content_type.as_deref()),
        Ok(Encoding::Json)
    )
}

/// The handler of both metrics paths; errors as OTLP answers them.
pub fn metrics(state: &State, req: &Req) -> Result<Reply, ApiError> {
    export_metrics(state, req).map_err(|e| e.otlp(wants_json(req)))
}

/// An OTLP export request's start, shared by the receivers: a POST, its
/// encoding from `Content-Type`, the body decompressed within the size
/// limits, and a share of the in-flight write budget (held while the
/// request is stored; past the budget the sender is told to retry).
pub(crate) fn receive_export<'s, 'r>(
    state: &'s State,
    req: &'r Req,
) -> Result<(Encoding, Cow<'r, [u8]>, Permit<'s>), ApiError> {
    allow(req, &[Method::POST])?;
    let enc = Encoding::from_content_type(req.content_type.as_deref())?;
    let raw = decompress(
        &req.body,
        req.content_encoding.as_deref(),
        &state.write_limits,
    )?;
    let permit = state
        .write_inflight
        .try_acquire(req.body.len() + raw.len())
        .ok_or_else(|| {
            ApiError::Overloaded(format!(
                "too many writes in flight ({} bytes); retry later",
                state.write_inflight.used()
            ))
        })?;
    Ok((enc, raw, permit))
}

fn export_metrics(state: &State, req: &Req) -> Result<Reply, ApiError> {
    let (enc, raw, _permit) = receive_export(state, req)?;
    let request = decode(&raw, enc)?;
    let (otlp, lookback) = {
        let c = state.config.read();
        (c.otlp.clone(), c.lookback_ms().unwrap_or(300_000))
    };
    let opts = Options {
        strategy: otlp.translation_strategy,
        promote: &otlp.promote_resource_attributes,
        nhcb: otlp.convert_histograms_to_nhcb,
        target_info_interval: lookback / 2,
    };
    let tr = translate(&request, &opts);
    let (rejected, message) = store(state, &tr)?;
    let response = ExportMetricsServiceResponse {
        partial_success: (rejected > 0).then_some(ExportMetricsPartialSuccess {
            rejected_data_points: rejected as i64,
            error_message: message,
        }),
    };
    let body = match enc {
        Encoding::Protobuf => response.encode_to_vec(),
        Encoding::Json => response_json(&response),
    };
    Ok(Reply::Body(StatusCode::OK, enc.content_type(), body))
}

/// Stores a translation; returns the refused count (translation refuses
/// points; storage refuses samples: out of order, limits) and the reasons.
fn store(state: &State, tr: &Translation) -> Result<(u64, String), ApiError> {
    for md in &tr.metadata {
        state
            .metadata
            .record(&md.name, md.kind, md.help.clone(), md.unit.clone());
    }
    let pairs: Vec<Vec<(&str, &str)>> = tr
        .series
        .iter()
        .map(|s| {
            s.labels
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect()
        })
        .collect();
    let series = tr.series.iter().zip(&pairs).map(|(s, labels)| SeriesIn {
        labels,
        known: None,
        raw_labels: &[],
        samples: &s.samples,
        histograms: &s.histograms,
        start_time: s.start_ms,
        exemplars: s.exemplars.clone(),
    });
    let out = remote_write::store(state, series)?;
    let mut errors = tr.errors.clone();
    if let Some(e) = &out.first_error {
        errors.push(format!("{} samples not stored: {e}", out.total_rejected()));
    }
    // The culprits of cardinality limits, as remote write names them.
    errors.extend(out.refusals.lines());
    Ok((tr.rejected_points + out.total_rejected(), errors.join("; ")))
}

/// The body of an OTLP error answer: a `google.rpc.Status` (code = 1,
/// message = 2) in protobuf or JSON, with its content type.
pub fn rpc_status(e: &ApiError, json: bool) -> (&'static str, Vec<u8>) {
    let code = e.grpc_code();
    let message = e.to_string();
    if json {
        let v = serde_json::json!({"code": code, "message": message});
        return (
            "application/json",
            serde_json::to_vec(&v).unwrap_or_default(),
        );
    }
    let mut out = Vec::with_capacity(message.len() + 8);
    prost::encoding::int32::encode(1, &code, &mut out);
    prost::encoding::string::encode(2, &message, &mut out);
    ("application/x-protobuf", out)
}

/// The response in OTLP/JSON (int64 as a string, lowerCamelCase).
fn response_json(r: &ExportMetricsServiceResponse) -> Vec<u8> {
    let v = match &r.partial_success {
        None => serde_json::json!({}),
        Some(p) => serde_json::json!({"partialSuccess": {
            "rejectedDataPoints": p.rejected_data_points.to_string(),
            "errorMessage": p.error_message,
        }}),
    };
    serde_json::to_vec(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let cases: &[(&str, Option<&str>, Option<Encoding>)] = &[
            ("missing", None, Some(Encoding::Protobuf)),
            (
                "protobuf",
                Some("application/x-protobuf"),
                Some(Encoding::Protobuf),
            ),
            (
                "json with charset",
                Some("application/json; charset=utf-8"),
                Some(Encoding::Json),
            ),
            ("text", Some("text/plain"), None),
        ];
        for (name, ct, want) in cases {
            assert_eq!(Encoding::from_content_type(*ct).ok(), *want, "{name}");
        }
    }

    #[test]
    fn gzip_within_and_over_the_limit() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        let small = WriteLimits {
            max_decoded: 1 << 16,
            ..WriteLimits::default()
        };
        let err = decompress(&bomb, Some("gzip"), &small).unwrap_err();
        assert!(matches!(err, ApiError::TooLarge(_)), "{err:?}");
        let ok = decompress(&bomb, Some("gzip"), &WriteLimits::default()).unwrap();
        assert_eq!(ok.len(), 1 << 20);
        let err = decompress(b"not gzip", Some("gzip"), &small).unwrap_err();
        assert!(matches!(err, ApiError::BadData(_)), "{err:?}");
        assert!(decompress(b"x", Some("br"), &small).is_err());
    }

    #[test]
    fn bodies_that_do_not_decode_are_bad_data() {
        for (enc, body) in [
            (Encoding::Protobuf, &b"{\"resourceMetrics\":[]}"[..]),
            (Encoding::Json, &b"\x0a\x03abc"[..]),
        ] {
            let err = decode(body, enc).unwrap_err();
            assert!(matches!(err, ApiError::BadData(_)), "{enc:?}: {err:?}");
        }
    }
}
