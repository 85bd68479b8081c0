//! The span store's WAL record (type 32, in the span family 32–63 of the
//! shared WAL; see `tsdb::wal::RecordFamily`).
//!
//! ```text
//! ┌──────────┬───────────┬────────────────────────────────────────────┐
//! │ type=32  │ version=1 │ OTLP TracesData protobuf                    │
//! │ 1 byte   │ 1 byte    │ (resource_spans = 1, repeated ResourceSpans)│
//! └──────────┴───────────┴────────────────────────────────────────────┘
//! ```
//!
//! The record carries the accepted spans of one request exactly as they
//! were validated, so replay rebuilds the same head. The WAL frames every
//! record with its own CRC; this record adds none.

use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, TracesData};
use prost::Message;

use crate::error::{Error, Result};
use crate::head::{StoredSpan, encode_traces_data};

/// The record type byte of a spans record.
pub const SPANS: u8 = 32;
const VERSION: u8 = 1;

/// Encodes accepted spans as one record.
pub fn encode(batch: &[ResourceSpans]) -> Vec<u8> {
    let mut out = vec![SPANS, VERSION];
    encode_traces_data_into(batch, &mut out);
    out
}

/// The `TracesData` encoding of `batch` (`resource_spans = 1`, repeated),
/// as trace-by-id answers carry it, without copying the spans into one.
pub fn traces_data(batch: &[ResourceSpans]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_traces_data_into(batch, &mut out);
    out
}

fn encode_traces_data_into(batch: &[ResourceSpans], out: &mut Vec<u8>) {
    let body: usize = batch
        .iter()
        .map(|rs| prost::encoding::message::encoded_len(1, rs))
        .sum();
    out.reserve(body);
    for rs in batch {
        prost::encoding::message::encode(1, rs, out);
    }
}

/// Encodes spans the head holds as one record (their bytes copied, not
/// encoded again).
pub fn encode_stored<'a>(spans: impl IntoIterator<Item = &'a StoredSpan>) -> Vec<u8> {
    let body = encode_traces_data(spans);
    let mut out = Vec::with_capacity(2 + body.len());
    out.push(SPANS);
    out.push(VERSION);
    out.extend_from_slice(&body);
    out
}

/// Decodes a record written by [`encode`] or [`encode_stored`].
pub fn decode(record: &[u8]) -> Result<Vec<ResourceSpans>> {
    TracesData::decode(body(record)?)
        .map(|d| d.resource_spans)
        .map_err(|e| Error::BadRecord(format!("payload: {e}")))
}

/// The `TracesData` encoding a record carries, its type and version
/// checked.
pub fn body(record: &[u8]) -> Result<&[u8]> {
    match record {
        [SPANS, VERSION, body @ ..] => Ok(body),
        [SPANS, v, ..] => Err(Error::BadRecord(format!(
            "version {v} is not known to this build (it reads {VERSION})"
        ))),
        [t, ..] => Err(Error::BadRecord(format!("type {t} is not a spans record"))),
        [] => Err(Error::BadRecord("empty record".into())),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span};

    use super::*;

    #[test]
    fn round_trip() {
        let batch = vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: "GET /".into(),
                    start_time_unix_nano: 10,
                    end_time_unix_nano: 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }];
        let rec = encode(&batch);
        assert_eq!(rec[0], SPANS);
        assert_eq!(decode(&rec).unwrap(), batch);
    }

    #[test]
    fn refusals() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("empty", b"", "empty"),
            ("other type", &[2, 1], "not a spans record"),
            ("newer version", &[SPANS, 9], "version 9"),
            ("bad payload", &[SPANS, VERSION, 0x0a, 0x05], "payload"),
        ];
        for (name, rec, want) in cases {
            let err = decode(rec).unwrap_err().to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
    }
}
