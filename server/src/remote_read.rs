//! `POST /api/v1/read`: remote read, as sampled (`ReadResponse`, snappy) or
//! streamed XOR chunks (`ChunkedReadResponse` frames).
//!
//! Streamed frame: `len uvarint │ CRC32-Castagnoli u32 BE │ protobuf`.

use prost::Message;
use tsdb::model::{Label, MatchOp, Matcher, Queryable, Sample, SelectHints};

use crate::error::ApiError;
use crate::prompb::{self, ChunkEncoding, MatcherType, ResponseType};
use crate::remote_write::decompress;
use crate::state::State;

/// The response body and its content type.
pub struct ReadReply {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

pub fn read(state: &State, body: &[u8]) -> Result<ReadReply, ApiError> {
    let raw = decompress(body, &state.write_limits)?;
    let req = prompb::ReadRequest::decode(raw.as_slice())
        .map_err(|e| ApiError::BadData(format!("protobuf: {e}")))?;
    let streamed = req
        .accepted_response_types
        .contains(&(ResponseType::StreamedXorChunks as i32));
    let mut results = Vec::new();
    let mut frames = Vec::new();
    for (qi, q) in req.queries.iter().enumerate() {
        let matchers = q
            .matchers
            .iter()
            .map(|m| {
                let op = match MatcherType::try_from(m.r#type).unwrap_or(MatcherType::Eq) {
                    MatcherType::Eq => MatchOp::Equal,
                    MatcherType::Neq => MatchOp::NotEqual,
                    MatcherType::Re => MatchOp::RegexMatch,
                    MatcherType::Nre => MatchOp::RegexNoMatch,
                };
                Matcher::new(op, m.name.clone(), m.value.clone()).map_err(ApiError::from)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (start, end) = (q.start_timestamp_ms, q.end_timestamp_ms);
        let querier = state.db.querier(start, end)?;
        let hints = SelectHints {
            start,
            end,
            ..SelectHints::default()
        };
        let series = querier.select(&hints, &matchers)?;
        let to_labels = |ls: &tsdb::model::Labels| -> Vec<prompb::Label> {
            ls.iter()
                .map(|l: &Label| prompb::Label {
                    name: l.name.to_string(),
                    value: l.value.to_string(),
                })
                .collect()
        };
        if streamed {
            for s in &series {
                let mut samples: Vec<Sample> = Vec::new();
                s.samples_in(start, end, &mut samples);
                let chunks = samples
                    .chunks(tsdb::chunkenc::MAX_SAMPLES_PER_CHUNK)
                    .map(|part| {
                        let mut a = tsdb::chunkenc::XorAppender::new();
                        for x in part {
                            a.append(x.t, x.v);
                        }
                        prompb::Chunk {
                            min_time_ms: part[0].t,
                            max_time_ms: part[part.len() - 1].t,
                            r#type: ChunkEncoding::Xor as i32,
                            data: a.to_bytes(),
                        }
                    })
                    .collect::<Vec<_>>();
                if chunks.is_empty() {
                    continue;
                }
                let msg = prompb::ChunkedReadResponse {
                    chunked_series: vec![prompb::ChunkedSeries {
                        labels: to_labels(&s.labels),
                        chunks,
                    }],
                    query_index: qi as i64,
                };
                let payload = msg.encode_to_vec();
                let mut len = Vec::new();
                prost::encoding::encode_varint(payload.len() as u64, &mut len);
                frames.extend_from_slice(&len);
                frames.extend_from_slice(&crc32c(&payload).to_be_bytes());
                frames.extend_from_slice(&payload);
            }
        } else {
            let mut ts = Vec::new();
            for s in &series {
                let mut samples: Vec<Sample> = Vec::new();
                s.samples_in(start, end, &mut samples);
                ts.push(prompb::TimeSeries {
                    labels: to_labels(&s.labels),
                    samples: samples
                        .iter()
                        .map(|x| prompb::Sample {
                            value: x.v,
                            timestamp: x.t,
                        })
                        .collect(),
                    ..Default::default()
                });
            }
            results.push(prompb::QueryResult { timeseries: ts });
        }
    }
    if streamed {
        return Ok(ReadReply {
            content_type: "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse",
            body: frames,
        });
    }
    let body = prompb::ReadResponse { results }.encode_to_vec();
    let body = snap::raw::Encoder::new()
        .compress_vec(&body)
        .map_err(|e| ApiError::Internal(format!("snappy: {e}")))?;
    Ok(ReadReply {
        content_type: "application/x-protobuf",
        body,
    })
}

/// CRC32 with the Castagnoli polynomial (as Prometheus frames streamed
/// remote-read responses).
pub fn crc32c(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0x82F6_3B78 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    let mut crc = !0u32;
    for &b in data {
        crc = table[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32c_known_value() {
        // The standard check value of CRC-32C.
        assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
    }
}
