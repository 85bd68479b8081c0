//! Native histograms through the real server: remote write 1.0 and 2.0
//! store them (a request with invalid ones stores the rest and answers
//! 400 naming the broken rule), remote read hands them back (streamed
//! chunks of types 2 and 3, sampled histograms), and they survive a
//! restart.

use almanac::harness::{Response, TestServer, snappy};
use prost::Message;
use server::prompb::{self, BucketSpan, histogram::Count, histogram::ZeroCount};
use tsdb::chunkenc::histogram::{decode_float_histograms, decode_histograms};

fn label(name: &str, value: &str) -> prompb::Label {
    prompb::Label {
        name: name.into(),
        value: value.into(),
    }
}

/// An integer histogram at `t` after `n` observations in two buckets.
fn int_histogram(t: i64, n: u64) -> prompb::Histogram {
    prompb::Histogram {
        count: Some(Count::CountInt(n + 1)),
        zero_count: Some(ZeroCount::ZeroCountInt(1)),
        sum: n as f64 * 0.25,
        schema: 2,
        zero_threshold: 1e-128,
        positive_spans: vec![BucketSpan {
            offset: 1,
            length: 2,
        }],
        positive_deltas: vec![n as i64, -(n as i64)],
        timestamp: t,
        ..prompb::Histogram::default()
    }
}

/// A float gauge histogram at `t`.
fn float_histogram(t: i64, v: f64) -> prompb::Histogram {
    prompb::Histogram {
        count: Some(Count::CountFloat(v)),
        zero_count: Some(ZeroCount::ZeroCountFloat(0.0)),
        sum: -v,
        schema: 0,
        negative_spans: vec![BucketSpan {
            offset: 0,
            length: 1,
        }],
        negative_counts: vec![v],
        reset_hint: prompb::ResetHint::Gauge as i32,
        timestamp: t,
        ..prompb::Histogram::default()
    }
}

fn write_v1(s: &TestServer, timeseries: Vec<prompb::TimeSeries>) -> Response {
    let req = prompb::WriteRequest {
        timeseries,
        metadata: vec![],
    };
    s.post(
        "/api/v1/write",
        &[("Content-Type", "application/x-protobuf")],
        &snappy(&req.encode_to_vec()),
    )
}

fn read(s: &TestServer, name: &str, streamed: bool) -> Response {
    let req = prompb::ReadRequest {
        queries: vec![prompb::Query {
            start_timestamp_ms: 0,
            end_timestamp_ms: 10_000_000,
            matchers: vec![prompb::LabelMatcher {
                r#type: prompb::MatcherType::Eq as i32,
                name: "__name__".into(),
                value: name.into(),
            }],
            hints: None,
        }],
        accepted_response_types: if streamed {
            vec![prompb::ResponseType::StreamedXorChunks as i32]
        } else {
            vec![]
        },
    };
    s.post(
        "/api/v1/read",
        &[("Content-Type", "application/x-protobuf")],
        &snappy(&req.encode_to_vec()),
    )
}

/// The chunks of a streamed response as `(chunk type, decoded samples)`;
/// integer histograms as `(t, count)`, float ones as `(t, count)` too.
fn streamed_chunks(r: &Response) -> Vec<(i32, Vec<(i64, f64)>)> {
    let mut rest = &r.body[..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len = prost::encoding::decode_varint(&mut rest).expect("frame length") as usize;
        let payload = &rest[4..4 + len];
        let msg = prompb::ChunkedReadResponse::decode(payload).expect("frame decodes");
        for s in msg.chunked_series {
            for c in s.chunks {
                let samples = match c.r#type {
                    2 => decode_histograms(&c.data)
                        .expect("a histogram chunk")
                        .into_iter()
                        .map(|(t, h)| (t, h.count as f64))
                        .collect(),
                    3 => decode_float_histograms(&c.data)
                        .expect("a float histogram chunk")
                        .into_iter()
                        .map(|(t, h)| (t, h.count))
                        .collect(),
                    other => panic!("chunk type {other}"),
                };
                out.push((c.r#type, samples));
            }
        }
        rest = &rest[4 + len..];
    }
    out
}

#[test]
fn remote_write_1_stores_histograms_and_refuses_only_the_invalid_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = TestServer::start_in(dir.path(), |_| {});
    let mut broken = int_histogram(4000, 3);
    broken.positive_deltas = vec![3];
    let mut bad_schema = float_histogram(3000, 1.0);
    bad_schema.schema = 9;
    let r = write_v1(
        &s,
        vec![
            prompb::TimeSeries {
                labels: vec![label("__name__", "lat"), label("job", "a")],
                histograms: vec![
                    int_histogram(1000, 1),
                    int_histogram(2000, 2),
                    int_histogram(3000, 3),
                    broken,
                    // Older than the last stored one.
                    int_histogram(2500, 3),
                ],
                ..Default::default()
            },
            prompb::TimeSeries {
                labels: vec![label("__name__", "temp"), label("job", "a")],
                histograms: vec![
                    float_histogram(1000, 2.0),
                    float_histogram(2000, 1.0),
                    bad_schema,
                ],
                ..Default::default()
            },
        ],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let text = r.text();
    for want in [
        "3 rejected (invalid histogram: 2, out of order sample: 1)",
        "stored 0 samples and 5 histograms",
        "spans need 2 buckets, have 1 buckets",
    ] {
        assert!(text.contains(want), "{want:?} not in {text:?}");
    }
    let check = |s: &TestServer| {
        let chunks = streamed_chunks(&read(s, "lat", true));
        assert_eq!(
            chunks,
            vec![(2, vec![(1000, 2.0), (2000, 3.0), (3000, 4.0)])],
            "lat"
        );
        let chunks = streamed_chunks(&read(s, "temp", true));
        assert_eq!(chunks, vec![(3, vec![(1000, 2.0), (2000, 1.0)])], "temp");
        let r = read(s, "temp", false);
        assert_eq!(r.status, 200);
        let body = snap::raw::Decoder::new()
            .decompress_vec(&r.body)
            .expect("snappy");
        let resp = prompb::ReadResponse::decode(body.as_slice()).expect("response");
        let hs = &resp.results[0].timeseries[0].histograms;
        assert_eq!(hs.len(), 2);
        assert_eq!(hs[1].count, Some(Count::CountFloat(1.0)));
        assert_eq!(hs[1].reset_hint, prompb::ResetHint::Gauge as i32);
        // PromQL selects them: an instant query, and a range query where
        // the series is a float-free histogram series.
        let v = s.get("/api/v1/query?query=lat&time=3").json();
        let h = &v["data"]["result"][0]["histogram"];
        assert_eq!(h[0], 3, "{v}");
        assert_eq!(h[1]["count"], "4", "{v}");
        assert_eq!(h[1]["sum"], "0.75", "{v}");
        // Bounds print as Go's 'f' format does (no exponent); the zero
        // bucket is closed on both sides (rule 3), positive buckets are
        // (lo, hi] (rule 0), empty ones left out.
        let b = &h[1]["buckets"];
        assert_eq!(
            (&b[0][0], &b[0][3]),
            (&serde_json::json!(3), &serde_json::json!("1")),
            "{v}"
        );
        assert_eq!(
            b[1],
            serde_json::json!([0, "1", "1.189207115002721", "3"]),
            "{v}"
        );
        assert_eq!(b.as_array().map(Vec::len), Some(2), "{v}");
        let v = s
            .get("/api/v1/query_range?query=temp&start=1&end=3&step=1")
            .json();
        let r = &v["data"]["result"][0];
        assert!(r.get("values").is_none(), "{v}");
        let counts: Vec<&str> = r["histograms"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p[1]["count"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(counts, ["2", "1", "1"], "{v}");
    };
    check(&s);
    s.stop();
    let s = TestServer::start_in(dir.path(), |_| {});
    check(&s);
}

#[test]
fn remote_write_2_counts_written_histograms() {
    let s = TestServer::start();
    let req = prompb::v2::Request {
        symbols: vec!["".into(), "__name__".into(), "rw2_hist".into()],
        timeseries: vec![prompb::v2::TimeSeries {
            labels_refs: vec![1, 2],
            histograms: vec![int_histogram(1000, 5), int_histogram(2000, 6)],
            ..Default::default()
        }],
    };
    let r = s.remote_write_v2(&req);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        r.header("X-Prometheus-Remote-Write-Histograms-Written"),
        Some("2")
    );
    assert_eq!(
        r.header("X-Prometheus-Remote-Write-Samples-Written"),
        Some("0")
    );
    let chunks = streamed_chunks(&read(&s, "rw2_hist", true));
    assert_eq!(chunks, vec![(2, vec![(1000, 6.0), (2000, 7.0)])]);
}

/// Remote write 2.0 start timestamps of histograms (the series' created
/// timestamp, or a histogram's own) reach PromQL, and remote read still
/// hands out Prometheus's histogram chunks, without them.
#[test]
fn remote_write_2_histogram_start_timestamps() {
    let s = TestServer::start();
    let send = |created: i64, histograms: Vec<prompb::Histogram>| {
        let req = prompb::v2::Request {
            symbols: vec!["".into(), "__name__".into(), "rw2_st_hist".into()],
            timeseries: vec![prompb::v2::TimeSeries {
                labels_refs: vec![1, 2],
                histograms,
                created_timestamp: created,
                ..Default::default()
            }],
        };
        let r = s.remote_write_v2(&req);
        assert_eq!(r.status, 204, "{}", r.text());
    };
    send(500, vec![int_histogram(1000, 5), int_histogram(2000, 6)]);
    // The counter restarted at 2.5 s; its counts alone do not show it.
    let restarted = prompb::Histogram {
        start_timestamp: 2500,
        ..int_histogram(3000, 10)
    };
    send(0, vec![restarted]);
    let query = |q: &str| {
        let url = format!(
            "/api/v1/query?query={}&time=3",
            almanac::harness::urlencode(q)
        );
        let body: serde_json::Value = serde_json::from_slice(&s.get(&url).body).unwrap();
        body["data"]["result"][0]["value"][1].clone()
    };
    assert_eq!(query("start_timestamp(rw2_st_hist)"), "2.5");
    assert_eq!(query("start_timestamp(rw2_st_hist offset 2s)"), "0.5");
    assert_eq!(query("resets(rw2_st_hist[5s])"), "1");
    let chunks = streamed_chunks(&read(&s, "rw2_st_hist", true));
    assert_eq!(
        chunks,
        vec![(2, vec![(1000, 6.0), (2000, 7.0), (3000, 11.0)])]
    );
}

#[test]
fn each_invalid_histogram_rule_is_named_in_the_400() {
    let s = TestServer::start();
    let base = || int_histogram(1000, 3);
    type Case = (&'static str, prompb::Histogram, &'static str);
    let cases: Vec<Case> = vec![
        (
            "schema out of range",
            prompb::Histogram {
                schema: 9,
                ..base()
            },
            "histogram has an invalid schema, which must be between -4 and 8 or -53, got 9",
        ),
        (
            "spans and buckets disagree",
            prompb::Histogram {
                positive_deltas: vec![3],
                ..base()
            },
            "positive side: spans need 2 buckets, have 1 buckets",
        ),
        (
            "negative bucket",
            prompb::Histogram {
                positive_deltas: vec![3, -5],
                ..base()
            },
            "histogram has a bucket whose observation count is negative",
        ),
        (
            "count below the buckets",
            prompb::Histogram {
                count: Some(Count::CountInt(1)),
                ..base()
            },
            "histogram's observation count should equal the number of observations",
        ),
        (
            "negative span offset",
            prompb::Histogram {
                positive_spans: vec![
                    BucketSpan {
                        offset: 1,
                        length: 1,
                    },
                    BucketSpan {
                        offset: -1,
                        length: 1,
                    },
                ],
                ..base()
            },
            "histogram has a span whose offset is negative",
        ),
        (
            "custom bounds not increasing",
            prompb::Histogram {
                schema: -53,
                zero_threshold: 0.0,
                zero_count: Some(ZeroCount::ZeroCountInt(0)),
                count: Some(Count::CountInt(3)),
                custom_values: vec![2.0, 1.0],
                ..base()
            },
            "histogram custom bounds must be in strictly increasing order",
        ),
    ];
    for (i, (name, h, want)) in cases.into_iter().enumerate() {
        let metric = format!("bad_{i}");
        let r = write_v1(
            &s,
            vec![prompb::TimeSeries {
                labels: vec![label("__name__", &metric)],
                samples: vec![prompb::Sample {
                    value: 1.0,
                    timestamp: 500,
                }],
                histograms: vec![h],
                ..Default::default()
            }],
        );
        assert_eq!(r.status, 400, "case {name}: {}", r.text());
        let text = r.text();
        assert!(text.contains(want), "case {name}: {text}");
        assert!(
            text.contains("stored 1 samples and 0 histograms"),
            "case {name}: the float sample is stored: {text}"
        );
    }
}
