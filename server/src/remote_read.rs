//! `POST /api/v1/read`: remote read, answered in the response type the
//! client prefers of the two we serve (sampled when it names neither).
//!
//! - **Sampled** (`SAMPLES`, the default): one snappy-compressed
//!   `ReadResponse` protobuf, built whole.
//! - **Streamed XOR chunks** (`STREAMED_XOR_CHUNKS`): frames of
//!   `ChunkedReadResponse`, each sent as soon as it is built: one frame per
//!   series, or several when a series' chunks exceed [`FRAME_BYTES`].
//!   ```text
//!   ┌──────────────┬───────────────────────────────┬──────────────────────┐
//!   │ len uvarint  │ CRC32-Castagnoli u32 BE of pb │ pb: len bytes        │
//!   └──────────────┴───────────────────────────────┴──────────────────────┘
//!   ```
//!   Stored chunks that hold XOR samples or native histograms and lie
//!   wholly within the asked range are passed through byte for byte,
//!   without decoding: the head's chunks, XOR block chunks, the XOR
//!   samples inside chunks with start timestamps (which remote read cannot
//!   carry), and histogram chunks (chunk types 2 and 3). Decimal block
//!   chunks, chunks the range cuts, and series that need merging
//!   (overlapping or partly deleted data) are decoded and re-encoded (see
//!   [`ChunkSeries::export_chunks`]).
//!
//! Sampled responses carry native histograms with float counts.
//!
//! Limits: the samples a request would return (over all its queries) are
//! counted before anything is sent; over `query_max_samples` the request
//! fails with 400, as Prometheus answers a remote read over its sample
//! limit. A matcher of unknown type is a 400 too.

use prost::Message;
use tsdb::chunkenc::Encoding;
use tsdb::model::{Label, Labels, MatchOp, Matcher, SampleBuf, SeriesData};
use tsdb::querier::ChunkSeries;

use crate::api::{BodySink, Reply};
use crate::error::ApiError;
use crate::prompb::{self, ChunkEncoding, MatcherType, ResponseType};
use crate::remote_write::decompress;
use crate::state::State;

/// The content type of a streamed response.
pub const STREAMED_CONTENT_TYPE: &str =
    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

/// A series' chunks are cut into several frames past this many bytes of
/// chunk data (Prometheus's default frame size).
pub const FRAME_BYTES: usize = 1 << 20;

/// One query's selection: its index in the request, the range and the
/// series with their chunks.
struct Selected {
    index: usize,
    start: i64,
    end: i64,
    series: Vec<(Labels, ChunkSeries)>,
}

pub fn read(state: &State, body: &[u8]) -> Result<Reply, ApiError> {
    let raw = decompress(body, &state.write_limits)?;
    let req = prompb::ReadRequest::decode(raw.as_slice())
        .map_err(|e| ApiError::BadData(format!("protobuf: {e}")))?;
    // The client lists the types it accepts, most preferred first.
    let streamed = req
        .accepted_response_types
        .iter()
        .find_map(|&t| ResponseType::try_from(t).ok())
        == Some(ResponseType::StreamedXorChunks);
    let limit = state.config.read().query_max_samples;
    let mut selected = Vec::with_capacity(req.queries.len());
    let mut total = 0usize;
    for (index, q) in req.queries.iter().enumerate() {
        let matchers = q
            .matchers
            .iter()
            .map(matcher)
            .collect::<Result<Vec<_>, _>>()?;
        let (start, end) = (q.start_timestamp_ms, q.end_timestamp_ms);
        let series = state.db.select_chunk_series(start, end, &matchers)?;
        state.usage.record(
            crate::cardinality::usage::Source::RemoteRead,
            series.iter().map(|(l, _)| l.get(tsdb::model::METRIC_NAME)),
        );
        for (_, cs) in &series {
            total += cs.num_samples_in(start, end);
            if limit > 0 && total > limit {
                return Err(ApiError::BadData(format!(
                    "exceeded sample limit ({limit}): remote read selects more samples \
                     (query_max_samples)"
                )));
            }
        }
        selected.push(Selected {
            index,
            start,
            end,
            series,
        });
    }
    if streamed {
        return Ok(Reply::Stream(
            STREAMED_CONTENT_TYPE,
            Box::new(move |sink: &BodySink| stream(selected, sink)),
        ));
    }
    sampled(selected)
}

/// The matcher of a protobuf label matcher; an unknown type is the
/// client's error.
fn matcher(m: &prompb::LabelMatcher) -> Result<Matcher, ApiError> {
    let op = match MatcherType::try_from(m.r#type) {
        Ok(MatcherType::Eq) => MatchOp::Equal,
        Ok(MatcherType::Neq) => MatchOp::NotEqual,
        Ok(MatcherType::Re) => MatchOp::RegexMatch,
        Ok(MatcherType::Nre) => MatchOp::RegexNoMatch,
        Err(_) => {
            return Err(ApiError::BadData(format!(
                "unknown label matcher type {} for label {:?}",
                m.r#type, m.name
            )));
        }
    };
    Ok(Matcher::new(op, m.name.clone(), m.value.clone())?)
}

fn to_labels(ls: &Labels) -> Vec<prompb::Label> {
    ls.iter()
        .map(|l: &Label| prompb::Label {
            name: l.name.to_string(),
            value: l.value.to_string(),
        })
        .collect()
}

/// The sampled response: every query's series with their samples.
fn sampled(selected: Vec<Selected>) -> Result<Reply, ApiError> {
    let mut buf = SampleBuf::new();
    let results = selected
        .into_iter()
        .map(|q| prompb::QueryResult {
            timeseries: q
                .series
                .iter()
                .map(|(labels, cs)| {
                    cs.read(q.start, q.end, &mut buf);
                    prompb::TimeSeries {
                        labels: to_labels(labels),
                        samples: buf
                            .floats()
                            .iter()
                            .map(|x| prompb::Sample {
                                value: x.v,
                                timestamp: x.t,
                            })
                            .collect(),
                        histograms: buf
                            .histograms()
                            .iter()
                            .map(|x| prompb::Histogram::from_float(&x.h, x.t))
                            .collect(),
                        ..Default::default()
                    }
                })
                .collect(),
        })
        .collect();
    let body = prompb::ReadResponse { results }.encode_to_vec();
    let body = snap::raw::Encoder::new()
        .compress_vec(&body)
        .map_err(|e| ApiError::Internal(format!("snappy: {e}")))?;
    Ok(Reply::Body(
        hyper::StatusCode::OK,
        "application/x-protobuf",
        body,
    ))
}

/// Sends the frames of every series, each as it is built; stops when the
/// client has gone.
fn stream(selected: Vec<Selected>, sink: &BodySink) {
    for q in selected {
        for (labels, cs) in &q.series {
            let mut chunks = Vec::new();
            let mut bytes = 0;
            for c in cs.export_chunks(q.start, q.end) {
                let data = c.data.as_slice();
                if bytes > 0 && bytes + data.len() > FRAME_BYTES {
                    let frame = frame(q.index, labels, std::mem::take(&mut chunks));
                    if !sink.send(frame) {
                        return;
                    }
                    bytes = 0;
                }
                bytes += data.len();
                chunks.push(prompb::Chunk {
                    min_time_ms: c.min_t,
                    max_time_ms: c.max_t,
                    r#type: match c.encoding {
                        Encoding::Histogram => ChunkEncoding::Histogram,
                        Encoding::FloatHistogram => ChunkEncoding::FloatHistogram,
                        _ => ChunkEncoding::Xor,
                    } as i32,
                    data: data.to_vec(),
                });
            }
            if !chunks.is_empty() && !sink.send(frame(q.index, labels, chunks)) {
                return;
            }
        }
    }
}

/// One frame: `len uvarint │ CRC32-C u32 BE │ ChunkedReadResponse`.
fn frame(query_index: usize, labels: &Labels, chunks: Vec<prompb::Chunk>) -> Vec<u8> {
    let msg = prompb::ChunkedReadResponse {
        chunked_series: vec![prompb::ChunkedSeries {
            labels: to_labels(labels),
            chunks,
        }],
        query_index: query_index as i64,
    };
    let payload = msg.encode_to_vec();
    let mut out = Vec::with_capacity(payload.len() + 14);
    prost::encoding::encode_varint(payload.len() as u64, &mut out);
    out.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
    out.extend_from_slice(&payload);
    out
}
