//! Remote read end to end through a real server: both response types, the
//! sample limit, streamed frames (CRC-checked one by one), chunks passed
//! through as the head stores them, and bad matchers.

use almanac::harness::{Response, TestServer, snappy};
use prost::Message;
use server::prompb;
use tsdb::model::{Labels, Matcher, Sample};

fn series(name: &str, job: &str, ts: impl Iterator<Item = i64>) -> (Labels, Vec<Sample>) {
    (
        Labels::from_pairs(&[("__name__", name), ("job", job)]),
        ts.map(|t| Sample::new(t, (t / 1000) as f64)).collect(),
    )
}

fn query(name: &str, start: i64, end: i64) -> prompb::Query {
    prompb::Query {
        start_timestamp_ms: start,
        end_timestamp_ms: end,
        matchers: vec![prompb::LabelMatcher {
            r#type: prompb::MatcherType::Eq as i32,
            name: "__name__".into(),
            value: name.into(),
        }],
        hints: None,
    }
}

fn read(s: &TestServer, queries: Vec<prompb::Query>, streamed: bool) -> Response {
    let accepted = if streamed {
        vec![
            prompb::ResponseType::StreamedXorChunks as i32,
            prompb::ResponseType::Samples as i32,
        ]
    } else {
        vec![]
    };
    let req = prompb::ReadRequest {
        queries,
        accepted_response_types: accepted,
    };
    s.post(
        "/api/v1/read",
        &[("Content-Type", "application/x-protobuf")],
        &snappy(&req.encode_to_vec()),
    )
}

/// The frames of a streamed body, read one after another; every frame's
/// CRC32-C is checked.
fn frames(body: &[u8]) -> Vec<prompb::ChunkedReadResponse> {
    let mut rest = body;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len = prost::encoding::decode_varint(&mut rest).expect("frame length") as usize;
        assert!(rest.len() >= 4 + len, "frame {} is cut short", out.len());
        let crc = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let payload = &rest[4..4 + len];
        assert_eq!(crc32c::crc32c(payload), crc, "CRC of frame {}", out.len());
        out.push(prompb::ChunkedReadResponse::decode(payload).expect("frame decodes"));
        rest = &rest[4 + len..];
    }
    out
}

fn decode_xor(data: &[u8]) -> Vec<Sample> {
    let mut out = Vec::new();
    tsdb::chunkenc::decode_range(data, i64::MIN, i64::MAX, &mut out);
    out
}

#[test]
fn sampled_response_holds_the_samples_in_range() {
    let s = TestServer::start();
    let (labels, samples) = series("rr", "a", (0..10).map(|i| 1_000_000 + i * 15_000));
    assert_eq!(s.remote_write(&[(labels, samples.clone())]).status, 204);
    let r = read(&s, vec![query("rr", 1_015_000, 1_060_000)], false);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some("application/x-protobuf"));
    let raw = snap::raw::Decoder::new().decompress_vec(&r.body).unwrap();
    let resp = prompb::ReadResponse::decode(raw.as_slice()).unwrap();
    let got: Vec<i64> = resp.results[0].timeseries[0]
        .samples
        .iter()
        .map(|s| s.timestamp)
        .collect();
    assert_eq!(got, vec![1_015_000, 1_030_000, 1_045_000, 1_060_000]);
}

#[test]
fn streamed_response_is_a_frame_per_series_sent_as_built() {
    let s = TestServer::start();
    let written: Vec<(Labels, Vec<Sample>)> = ["a", "b", "c"]
        .iter()
        .map(|job| series("rs", job, (0..300).map(|i| 1_000_000 + i * 15_000)))
        .collect();
    assert_eq!(s.remote_write(&written).status, 204);
    let r = read(&s, vec![query("rs", 0, 100_000_000)], true);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("Content-Type"),
        Some("application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse")
    );
    // Streamed, not built whole: no length known up front.
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(r.header("Content-Length"), None);
    let frames = frames(&r.body);
    assert_eq!(frames.len(), 3, "one frame per series");
    for (frame, (labels, samples)) in frames.iter().zip(&written) {
        assert_eq!(frame.query_index, 0);
        let [cs] = &frame.chunked_series[..] else {
            panic!("one series per frame");
        };
        let got_labels: Vec<(&str, &str)> = cs
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        let want_labels: Vec<(&str, &str)> = labels.iter().map(|l| (&*l.name, &*l.value)).collect();
        assert_eq!(got_labels, want_labels);
        let mut got = Vec::new();
        for c in &cs.chunks {
            assert_eq!(c.r#type, prompb::ChunkEncoding::Xor as i32);
            let part = decode_xor(&c.data);
            assert_eq!(
                (c.min_time_ms, c.max_time_ms),
                (part[0].t, part[part.len() - 1].t)
            );
            got.extend(part);
        }
        assert_eq!(&got, samples);
    }
}

#[test]
fn head_chunks_pass_through_byte_for_byte() {
    let s = TestServer::start();
    // Across the 2h boundary, where the head cuts a chunk: two chunks.
    let (labels, samples) = series("pt", "a", (0..21).map(|i| 7_100_000 + i * 10_000));
    assert_eq!(s.remote_write(&[(labels, samples.clone())]).status, 204);
    let state = s.state().expect("running");
    let stored: Vec<Vec<u8>> = state
        .db
        .select_chunk_series(0, 10_000_000, &[Matcher::equal("__name__", "pt")])
        .unwrap()[0]
        .1
        .chunks()
        .iter()
        .map(|c| c.data.as_slice().to_vec())
        .collect();
    assert_eq!(stored.len(), 2);

    let chunks_of = |start: i64| -> Vec<prompb::Chunk> {
        let r = read(&s, vec![query("pt", start, 10_000_000)], true);
        assert_eq!(r.status, 200, "{}", r.text());
        let frames = frames(&r.body);
        frames[0].chunked_series[0].chunks.clone()
    };
    let whole = chunks_of(0);
    let data: Vec<&[u8]> = whole.iter().map(|c| c.data.as_slice()).collect();
    assert_eq!(data, vec![&stored[0][..], &stored[1][..]], "passed through");

    // A range that cuts the first chunk: that one is re-encoded with the
    // samples in range, the second still passes through.
    let cut = chunks_of(7_150_000);
    assert_eq!(decode_xor(&cut[0].data), samples[5..10].to_vec());
    assert_eq!(cut[0].min_time_ms, 7_150_000);
    assert_eq!(cut[1].data, stored[1]);
}

#[test]
fn over_the_sample_limit_is_400_in_both_response_types() {
    let s = TestServer::start_with(|c| c.query_max_samples = 15);
    let written = [
        series("lim", "a", (0..10).map(|i| 1_000_000 + i * 15_000)),
        series("lim", "b", (0..10).map(|i| 1_000_000 + i * 15_000)),
    ];
    assert_eq!(s.remote_write(&written).status, 204);
    for streamed in [false, true] {
        let r = read(&s, vec![query("lim", 0, 10_000_000)], streamed);
        assert_eq!(r.status, 400, "streamed={streamed}: {}", r.text());
        assert!(
            r.text().contains("exceeded sample limit (15)"),
            "{}",
            r.text()
        );
        // The limit counts samples in range, over all queries.
        let r = read(&s, vec![query("lim", 0, 1_100_000)], streamed);
        assert_eq!(r.status, 200, "streamed={streamed}: 2 × 7 samples");
        let both = vec![query("lim", 0, 1_060_000), query("lim", 0, 1_045_000)];
        assert_eq!(read(&s, both, streamed).status, 400, "2 × 5 + 2 × 4");
    }
}

#[test]
fn unknown_matcher_type_is_400() {
    let s = TestServer::start();
    let (labels, samples) = series("um", "a", (0..3).map(|i| 1_000_000 + i * 15_000));
    assert_eq!(s.remote_write(&[(labels, samples)]).status, 204);
    let mut q = query("um", 0, 10_000_000);
    q.matchers[0].r#type = 9;
    for streamed in [false, true] {
        let r = read(&s, vec![q.clone()], streamed);
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(
            r.text().contains("unknown label matcher type 9"),
            "{}",
            r.text()
        );
    }
}
