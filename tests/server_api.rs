//! The HTTP API end to end through a real server: ingest, metadata
//! endpoints, bad input, admin endpoints, restart, self-metrics.

use almanac::harness::{TestServer, snappy, urlencode, write_request_proto};
use prost::Message;
use serde_json::json;
use server::prompb;
use tsdb::model::{Labels, Sample};

fn series(name: &str, job: &str, n: i64) -> (Labels, Vec<Sample>) {
    (
        Labels::from_pairs(&[("__name__", name), ("job", job)]),
        (0..n)
            .map(|i| Sample::new(1_000_000 + i * 15_000, i as f64))
            .collect(),
    )
}

fn data(r: &almanac::harness::Response) -> serde_json::Value {
    let v = r.json();
    assert_eq!(v["status"], "success", "{v}");
    v["data"].clone()
}

#[test]
fn health_and_readiness() {
    let s = TestServer::start();
    assert_eq!(s.get("/-/healthy").status, 200);
    assert_eq!(s.get("/-/ready").status, 200);
    let nf = s.get("/api/v1/nope");
    assert_eq!(nf.status, 404);
    assert_eq!(nf.json()["errorType"], "not_found");
}

#[test]
fn ingested_series_appear_in_metadata_endpoints_and_survive_restart() {
    let mut s = TestServer::start();
    let r = s.remote_write(&[
        series("up", "node", 10),
        series("up", "api", 10),
        series("http_requests_total", "api", 5),
    ]);
    assert_eq!(r.status, 204, "{}", r.text());

    assert_eq!(data(&s.get("/api/v1/labels")), json!(["__name__", "job"]));
    assert_eq!(
        data(&s.get("/api/v1/label/job/values")),
        json!(["api", "node"])
    );
    assert_eq!(
        data(&s.get("/api/v1/label/__name__/values")),
        json!(["http_requests_total", "up"])
    );
    let q = format!(
        "/api/v1/label/job/values?match[]={}",
        urlencode("http_requests_total")
    );
    assert_eq!(data(&s.get(&q)), json!(["api"]));
    let q = format!("/api/v1/series?match[]={}", urlencode("up"));
    assert_eq!(
        data(&s.get(&q)),
        json!([{"__name__": "up", "job": "api"}, {"__name__": "up", "job": "node"}])
    );
    let q = format!(
        "/api/v1/series?match[]={}&limit=1",
        urlencode("{__name__=~\".+\"}")
    );
    let v = s.get(&q).json();
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_eq!(v["warnings"], json!(["results truncated due to limit"]));
    // Time-restricted: nothing before the data.
    assert_eq!(
        data(&s.get(&format!("/api/v1/series?match[]=up&end={}", 100))),
        json!([])
    );
    assert_eq!(s.get("/api/v1/series").status, 400, "match[] is required");

    let dir = s.data_dir.clone();
    s.stop();
    let s = TestServer::start_in(&dir, |_| {});
    assert_eq!(
        data(&s.get("/api/v1/label/job/values")),
        json!(["api", "node"])
    );
}

#[test]
fn repeated_requests_store_the_same_series() {
    // From the second request on, series are found by their label bytes.
    let s = TestServer::start();
    let empty_value = Labels::from_pairs(&[("__name__", "cached"), ("empty", ""), ("job", "b")]);
    let bad = Labels::from_pairs(&[("__name__", "bad_order"), ("job", "x")]);
    for round in 0..3i64 {
        let t = 1_000_000 + round * 15_000;
        let mut req = vec![
            (
                Labels::from_pairs(&[("__name__", "cached"), ("job", "a")]),
                vec![Sample::new(t, round as f64)],
            ),
            (empty_value.clone(), vec![Sample::new(t, 1.0)]),
        ];
        req.push((bad.clone(), vec![Sample::new(t, 1.0)]));
        let mut body = write_request_proto(&req);
        // Labels out of order in the third series: rejected every time.
        body.timeseries[2].labels.reverse();
        let r = s.post("/api/v1/write", &[], &snappy(&body.encode_to_vec()));
        assert_eq!(r.status, 400, "round {round}: {}", r.text());
        assert!(r.text().contains("labels out of order"), "{}", r.text());
    }
    let q = format!(
        "/api/v1/query?query={}&time=1100",
        urlencode("count_over_time({__name__=\"cached\"}[5m])")
    );
    let got = data(&s.get(&q));
    let counts: Vec<(String, String)> = got["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["metric"]["job"].to_string(), r["value"][1].to_string()))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("\"a\"".to_string(), "\"3\"".to_string()),
            ("\"b\"".to_string(), "\"3\"".to_string())
        ]
    );
    let m = s.get("/metrics").text();
    assert!(
        m.contains("almanac_discarded_samples_total{reason=\"labels out of order\"} 3"),
        "{m}"
    );
}

#[test]
fn metadata_from_remote_write() {
    let s = TestServer::start();
    let req = prompb::WriteRequest {
        timeseries: vec![],
        metadata: vec![prompb::MetricMetadata {
            r#type: prompb::MetricType::Counter as i32,
            metric_family_name: "http_requests_total".into(),
            help: "Total HTTP requests.".into(),
            unit: "".into(),
        }],
    };
    let r = s.post(
        "/api/v1/write",
        &[("Content-Type", "application/x-protobuf")],
        &snappy(&req.encode_to_vec()),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        data(&s.get("/api/v1/metadata")),
        json!({"http_requests_total": [{"type": "counter", "help": "Total HTTP requests.", "unit": ""}]})
    );
    assert_eq!(data(&s.get("/api/v1/metadata?metric=nope")), json!({}));
}

/// A raw TimeSeries with labels in the given order.
fn raw_series(labels: &[(&str, &str)], t: i64) -> prompb::TimeSeries {
    prompb::TimeSeries {
        labels: labels
            .iter()
            .map(|(n, v)| prompb::Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
        samples: vec![prompb::Sample {
            value: 1.0,
            timestamp: t,
        }],
        ..Default::default()
    }
}

fn body_of(ts: Vec<prompb::TimeSeries>) -> Vec<u8> {
    snappy(
        &prompb::WriteRequest {
            timeseries: ts,
            metadata: vec![],
        }
        .encode_to_vec(),
    )
}

#[test]
fn bad_input_table() {
    let s = TestServer::start_with(|c| c.max_request_bytes = 1 << 20);
    // Data that must survive every bad request below.
    assert_eq!(s.remote_write(&[series("keep_me", "a", 20)]).status, 204);

    let good = || raw_series(&[("__name__", "ok_metric"), ("job", "x")], 2_000_000);
    let many: Vec<(String, String)> = (0..100_000)
        .map(|i| (format!("l{i:06}"), "v".into()))
        .collect();
    let mut many_labels: Vec<(&str, &str)> =
        many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    many_labels.insert(0, ("__name__", "wide"));
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "truncated snappy",
            body_of(vec![good()])[..10].to_vec(),
            400,
            "snappy",
        ),
        (
            "garbage protobuf",
            snappy(b"\xff\xff\xff\xff garbage that is not protobuf"),
            400,
            "protobuf",
        ),
        (
            "snappy header claims 4 GiB",
            vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0x00],
            413,
            "over the limit",
        ),
        (
            "body over the limit",
            vec![0u8; 2 << 20],
            413,
            "over the limit",
        ),
        (
            "labels out of order",
            body_of(vec![
                raw_series(&[("__name__", "m"), ("b", "1"), ("a", "1")], 2_000_000),
                good(),
            ]),
            400,
            "labels out of order",
        ),
        (
            "empty metric name",
            body_of(vec![
                raw_series(&[("__name__", ""), ("job", "x")], 2_000_000),
                good(),
            ]),
            400,
            "empty metric name",
        ),
        (
            "duplicate label names",
            body_of(vec![
                raw_series(&[("__name__", "m"), ("a", "1"), ("a", "2")], 2_000_000),
                good(),
            ]),
            400,
            "duplicate label name",
        ),
        (
            "100k labels on one series",
            body_of(vec![raw_series(&many_labels, 2_000_000), good()]),
            400,
            "too many labels",
        ),
        (
            "sample older than the series",
            body_of(vec![
                raw_series(&[("__name__", "keep_me"), ("job", "a")], 0),
                good(),
            ]),
            400,
            "out of order",
        ),
    ];
    for (name, body, want_status, want_reason) in cases {
        let r = s.post(
            "/api/v1/write",
            &[("Content-Type", "application/x-protobuf")],
            &body,
        );
        assert_eq!(r.status, want_status, "case {name}: {}", r.text());
        let v = r.json();
        assert_eq!(v["status"], "error", "case {name}");
        let msg = v["error"].as_str().unwrap_or_default();
        assert!(msg.contains(want_reason), "case {name}: {msg}");
        assert!(!msg.contains('\n'), "case {name}: one-line reason: {msg}");
        assert!(
            r.header("Retry-After").is_none(),
            "case {name}: bad data is never retryable"
        );
        // The server keeps serving and nothing already stored is lost.
        assert_eq!(s.get("/-/ready").status, 200, "case {name}");
        let q = format!("/api/v1/series?match[]={}", urlencode("keep_me"));
        assert_eq!(
            data(&s.get(&q)).as_array().map(Vec::len),
            Some(1),
            "case {name}"
        );
    }
    // NaN times on the query side: 400 bad_data, nothing else changes.
    for path in [
        "/api/v1/query?query=keep_me&time=NaN",
        "/api/v1/query_range?query=keep_me&start=NaN&end=100&step=15",
        "/api/v1/query_range?query=keep_me&start=0&end=NaN&step=15",
        "/api/v1/query_range?query=keep_me&start=0&end=100&step=NaN",
        "/api/v1/series?match[]=keep_me&start=NaN",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert_eq!(r.json()["errorType"], "bad_data", "{path}");
        assert!(r.header("Retry-After").is_none(), "{path}");
    }
    assert_eq!(s.get("/-/ready").status, 200);
    // The valid series sent alongside bad ones was stored.
    let q = format!("/api/v1/series?match[]={}", urlencode("ok_metric"));
    assert_eq!(data(&s.get(&q)).as_array().map(Vec::len), Some(1));
    // Rejections are counted by reason.
    let m = s.get("/metrics").text();
    assert!(
        m.contains("almanac_discarded_samples_total{reason=\"labels out of order\"} 1"),
        "{m}"
    );
}

#[test]
fn overloaded_ingest_answers_429_with_retry_after() {
    let s = TestServer::start_with(|c| c.max_inflight_write_bytes = 64);
    let state = s.state().expect("running");
    // Another request holds the whole budget.
    let held = state.write_inflight.try_acquire(64).expect("admitted");
    let r = s.remote_write(&[series("busy", "a", 3)]);
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.header("Retry-After"), Some("1"));
    assert_eq!(r.json()["errorType"], "unavailable");
    drop(held);
    assert_eq!(s.remote_write(&[series("busy", "a", 3)]).status, 204);
}

/// Posts a remote write 2.0 request.
#[test]
fn remote_write_2_reports_what_was_written() {
    let s = TestServer::start();
    let req = prompb::v2::Request {
        symbols: vec![
            "".into(),
            "__name__".into(),
            "rw2_metric".into(),
            "job".into(),
            "x".into(),
            "Help text.".into(),
        ],
        timeseries: vec![prompb::v2::TimeSeries {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![
                prompb::Sample {
                    value: 1.0,
                    timestamp: 1000,
                },
                prompb::Sample {
                    value: 2.0,
                    timestamp: 2000,
                },
            ],
            metadata: Some(prompb::v2::Metadata {
                r#type: prompb::MetricType::Gauge as i32,
                help_ref: 5,
                unit_ref: 0,
            }),
            ..Default::default()
        }],
    };
    let r = s.remote_write_v2(&req);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        r.header("X-Prometheus-Remote-Write-Samples-Written"),
        Some("2")
    );
    assert_eq!(
        r.header("X-Prometheus-Remote-Write-Histograms-Written"),
        Some("0")
    );
    assert_eq!(
        r.header("X-Prometheus-Remote-Write-Exemplars-Written"),
        Some("0")
    );
    assert_eq!(
        data(&s.get("/api/v1/metadata?metric=rw2_metric"))["rw2_metric"][0]["help"],
        "Help text."
    );
    let bad = s.post(
        "/api/v1/write",
        &[("Content-Type", "application/x-protobuf;proto=x.Y")],
        b"",
    );
    assert_eq!(bad.status, 400);
}

#[test]
fn remote_write_2_created_timestamps_are_start_timestamps() {
    let s = TestServer::start();
    let send = |created: i64, samples: &[(i64, f64)]| {
        let req = prompb::v2::Request {
            symbols: vec!["".into(), "__name__".into(), "rw2_ct_total".into()],
            timeseries: vec![prompb::v2::TimeSeries {
                labels_refs: vec![1, 2],
                samples: samples
                    .iter()
                    .map(|&(timestamp, value)| prompb::Sample { value, timestamp })
                    .collect(),
                created_timestamp: created,
                ..Default::default()
            }],
        };
        let r = s.remote_write_v2(&req);
        assert_eq!(r.status, 204, "{}", r.text());
    };
    send(500, &[(1000, 5.0), (2000, 6.0)]);
    // The counter restarted at 2.5 s; its value alone does not show it.
    send(2500, &[(3000, 10.0)]);
    let query = |q: &str| {
        let url = format!("/api/v1/query?query={}&time=3", urlencode(q));
        data(&s.get(&url))["result"][0]["value"][1].clone()
    };
    assert_eq!(query("start_timestamp(rw2_ct_total)"), json!("2.5"));
    assert_eq!(query("resets(rw2_ct_total[5s])"), json!("1"));
    assert_eq!(
        query("start_timestamp(rw2_ct_total offset 2s)"),
        json!("0.5")
    );
}

#[test]
fn admin_delete_and_snapshot() {
    let s = TestServer::start();
    assert_eq!(
        s.remote_write(&[series("gone", "a", 10), series("stays", "a", 10)])
            .status,
        204
    );
    let r = s.post_form("/api/v1/admin/tsdb/delete_series", &[("match[]", "gone")]);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        data(&s.get("/api/v1/label/__name__/values")),
        json!(["stays"])
    );
    assert_eq!(
        s.post("/api/v1/admin/tsdb/clean_tombstones", &[], b"")
            .status,
        204
    );
    let snap = data(&s.post("/api/v1/admin/tsdb/snapshot", &[], b""));
    let name = snap["name"].as_str().unwrap();
    let dir = s.data_dir.join("snapshots").join(name);
    assert!(
        std::fs::read_dir(&dir).unwrap().count() >= 1,
        "snapshot holds the head block"
    );
}

#[test]
fn status_endpoints_and_self_metrics() {
    let s = TestServer::start();
    assert_eq!(s.remote_write(&[series("up", "a", 3)]).status, 204);
    let b = data(&s.get("/api/v1/status/buildinfo"));
    assert!(b["version"].as_str().unwrap().starts_with('3'));
    assert_eq!(b["features"], json!({}));
    let t = data(&s.get("/api/v1/status/tsdb"));
    assert_eq!(t["headStats"]["numSeries"], 1);
    assert_eq!(
        t["seriesCountByMetricName"],
        json!([{"name": "up", "value": 1}])
    );
    // Top counts by label name (distinct values) and by label pair.
    assert_eq!(
        t["labelValueCountByLabelName"],
        json!([{"name": "__name__", "value": 1}, {"name": "job", "value": 1}])
    );
    assert_eq!(
        t["seriesCountByLabelValuePair"],
        json!([{"name": "__name__=up", "value": 1}, {"name": "job=a", "value": 1}])
    );
    for p in ["runtimeinfo", "flags", "config", "walreplay"] {
        assert_eq!(s.get(&format!("/api/v1/status/{p}")).status, 200, "{p}");
    }
    assert_eq!(data(&s.get("/api/v1/targets"))["activeTargets"], json!([]));
    let m = s.get("/metrics");
    assert!(m.header("Content-Type").unwrap().starts_with("text/plain"));
    let text = m.text();
    for want in [
        "almanac_build_info{",
        "almanac_samples_ingested_total 3",
        "almanac_tsdb_head_series 1",
        "almanac_tsdb_wal_bytes",
        "almanac_http_requests_total{handler=\"/api/v1/write\",code=\"204\"} 1",
        "almanac_http_request_duration_seconds_bucket{handler=\"/api/v1/write\",le=\"+Inf\"} 1",
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    assert!(text.contains("almanac_tsdb_wal_fsync_duration_seconds_count "));
    // Query durations by endpoint, head chunks, series created, compactions.
    assert_eq!(s.get("/api/v1/query?query=up&time=1000").status, 200);
    let text = s.get("/metrics").text();
    for want in [
        "almanac_query_duration_seconds_count{endpoint=\"query\"} 1",
        "almanac_tsdb_head_chunks 1",
        "almanac_tsdb_head_series_created_total 1",
        "almanac_tsdb_compactions_total 0",
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
}

#[test]
fn label_values_of_escaped_utf8_names_and_limits() {
    let s = TestServer::start();
    let dotted = |v: &str| {
        (
            Labels::from_pairs(&[("__name__", "m"), ("a.b", v), ("job", "x")]),
            vec![Sample::new(1_000_000, 1.0)],
        )
    };
    assert_eq!(s.remote_write(&[dotted("1"), dotted("2")]).status, 204);
    // Prometheus 3's escaping, plain or percent-encoded by the client.
    for path in [
        "/api/v1/label/U__a_2e_b/values",
        "/api/v1/label/U%5F%5Fa%5F2e%5Fb/values",
    ] {
        assert_eq!(data(&s.get(path)), json!(["1", "2"]), "{path}");
    }
    let r = s.get("/api/v1/label/U__a_2e_b/values?limit=1");
    assert_eq!(r.json()["data"], json!(["1"]));
    assert_eq!(
        r.json()["warnings"],
        json!(["results truncated due to limit"])
    );
    let r = s.get("/api/v1/labels?limit=2");
    assert_eq!(r.json()["data"], json!(["__name__", "a.b"]));
    assert_eq!(
        r.json()["warnings"],
        json!(["results truncated due to limit"])
    );
    assert_eq!(s.get("/api/v1/label/U__a_zz/values").status, 400);
}

#[test]
fn query_timeout_parameter_gives_503_timeout() {
    let s = TestServer::start();
    let many: Vec<(Labels, Vec<Sample>)> = (0..200)
        .map(|i| {
            (
                Labels::from_pairs(&[("__name__", "busy"), ("i", &i.to_string())]),
                (0..240)
                    .map(|k| Sample::new(1_000_000 + k * 15_000, k as f64))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(s.remote_write(&many).status, 204);
    // A timeout no query can meet (Prometheus: `timeout=0` expires at
    // once), in seconds and as a duration; a generous one changes nothing.
    let q = |timeout: &str| {
        format!(
            "/api/v1/query_range?query={}&start=1000&end=4600&step=1&timeout={timeout}",
            urlencode("sum(rate(busy[5m])) by (i)")
        )
    };
    for t in ["0", "0s"] {
        let r = s.get(&q(t));
        assert_eq!(r.status, 503, "timeout={t}: {}", r.text());
        assert_eq!(r.json()["errorType"], "timeout", "timeout={t}");
    }
    assert_eq!(s.get(&q("1m")).status, 200);
    // A bad timeout is bad data.
    let r = s.get("/api/v1/query?query=1&timeout=soon");
    assert_eq!(r.status, 400, "{}", r.text());
}

/// `almanac_tsdb_wal_fsync_duration_seconds_count` in a /metrics text.
fn wal_fsyncs(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("almanac_tsdb_wal_fsync_duration_seconds_count "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn always_wal_sync_fsyncs_before_acknowledging() {
    let s = TestServer::start_with(|c| c.wal_sync = "always".into());
    assert_eq!(wal_fsyncs(&s.get("/metrics").text()), 0);
    assert_eq!(s.remote_write(&[series("up", "a", 3)]).status, 204);
    assert!(wal_fsyncs(&s.get("/metrics").text()) >= 1);
}

#[test]
fn interval_wal_sync_fsyncs_in_the_background() {
    let s = TestServer::start_with(|c| c.wal_sync = "interval:50ms".into());
    assert_eq!(s.remote_write(&[series("up", "a", 3)]).status, 204);
    // Not synced by the write itself; the background task gets to it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while wal_fsyncs(&s.get("/metrics").text()) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no WAL fsync within 20 s under interval:50ms"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn readme_config_example_is_the_defaults() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let (_, after) = readme
        .split_once("A complete file with the defaults:")
        .expect("the README has the defaults example");
    let yaml = after
        .split_once("```yaml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(yaml, _)| yaml)
        .expect("a yaml block follows");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("almanac.yml");
    std::fs::write(&path, yaml).expect("write");
    let parsed = server::config::Config::from_file(&path).expect("the example parses");
    assert_eq!(parsed, server::config::Config::default());
}

#[test]
fn writes_after_the_head_dropped_a_series_create_it_again() {
    // The head removes a series compaction left empty while the remote
    // write series cache knew it: the next write must not be lost.
    let s = TestServer::start();
    let hour = 3_600_000;
    let gone = |from: i64, to: i64| {
        (
            Labels::from_pairs(&[("__name__", "comes_back"), ("job", "a")]),
            (from..to)
                .step_by(60_000)
                .map(|t| Sample::new(t, 1.0))
                .collect::<Vec<_>>(),
        )
    };
    let stays = (
        Labels::from_pairs(&[("__name__", "stays"), ("job", "a")]),
        (0..5 * hour)
            .step_by(60_000)
            .map(|t| Sample::new(t, 1.0))
            .collect::<Vec<_>>(),
    );
    // Twice, so that the second request finds the series by label bytes.
    assert_eq!(s.remote_write(&[gone(0, hour / 2)]).status, 204);
    assert_eq!(s.remote_write(&[gone(hour / 2, hour), stays]).status, 204);
    let state = s.state().expect("running");
    state.db.compact().expect("compact");
    let metrics = s.get("/metrics").text();
    assert!(
        !metrics.contains("almanac_tsdb_head_series_removed_total 0"),
        "the scenario needs the head to drop the series: {metrics}"
    );
    let r = s.remote_write(&[gone(5 * hour, 5 * hour + 60_000)]);
    assert_eq!(r.status, 204, "{}", r.text());
    let q = format!(
        "/api/v1/query?query={}&time={}",
        urlencode("count_over_time(comes_back[6h])"),
        5 * 3600 + 30
    );
    assert_eq!(
        data(&s.get(&q))["result"][0]["value"][1],
        json!("61"),
        "60 samples from the block and the new one"
    );
}

/// `POST /api/v1/admin/tsdb/compact` runs maintenance now and says what
/// it did; the quarantine gauge is in `/metrics`.
#[test]
fn admin_compact_runs_maintenance_now() {
    // The background pass runs once at start, then hourly.
    let s = TestServer::start_with(|c| c.maintenance_interval = "1h".into());
    let write = |from_min: i64| {
        let series: Vec<(Labels, Vec<Sample>)> = vec![(
            Labels::from_pairs(&[("__name__", "c")]),
            (from_min..from_min + 6 * 60)
                .map(|m| Sample::new(m * 60_000, m as f64))
                .collect(),
        )];
        assert_eq!(s.remote_write(&series).status, 204);
    };
    assert_eq!(s.get("/api/v1/admin/tsdb/compact").status, 405);
    write(0);
    let r = s.post("/api/v1/admin/tsdb/compact", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let newest = || {
        let blocks = s.state().unwrap().db.blocks();
        blocks.iter().map(|b| b.meta().max_time).max()
    };
    let before = newest().expect("a block");
    // Six more hours: only this call can cut them into blocks now.
    write(6 * 60);
    let r = s.post("/api/v1/admin/tsdb/compact", &[], b"");
    let d = &r.json()["data"];
    assert!(d["headBlocks"].as_u64().unwrap() >= 1, "{d}");
    assert!(newest().expect("blocks") > before);
    assert!(
        s.get("/metrics")
            .text()
            .contains("\nalmanac_tsdb_quarantined_blocks 0\n")
    );
}

#[test]
fn retention_status_names_the_rule_and_tiers_of_each_series() {
    let s = TestServer::start_with(|c| {
        c.retention_rules = vec![
            server::config::RetentionRuleConfig {
                r#match: r#"{job="dev"}"#.into(),
                retention: "3d".into(),
            },
            server::config::RetentionRuleConfig {
                r#match: r#"{__name__=~"slo_.*"}"#.into(),
                retention: "400d".into(),
            },
        ];
        c.downsampling.tiers = vec![server::config::TierConfig {
            resolution: "5m".into(),
            after: "36h".into(),
            retention: "90d".into(),
        }];
    });
    let r = s.remote_write(&[
        series("m", "dev", 3),
        series("m", "prod", 3),
        series("slo_errors", "prod", 3),
    ]);
    assert_eq!(r.status, 204, "{}", r.text());
    let r = s.get(&format!(
        "/api/v1/status/retention?match[]={}",
        urlencode(r#"{__name__=~"m|slo_errors"}"#)
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let got = data(&r);
    let by_job = |name: &str, job: &str| {
        got.as_array()
            .unwrap()
            .iter()
            .find(|e| e["metric"]["__name__"] == name && e["metric"]["job"] == job)
            .cloned()
            .unwrap_or_else(|| panic!("{name} {job} in {got}"))
    };
    let dev = by_job("m", "dev");
    assert_eq!(dev["rule"], json!({"index": 0, "match": r#"{job="dev"}"#}));
    assert_eq!(dev["rawRetention"], "3d");
    assert_eq!(
        dev["tiers"],
        json!([{"resolution": "5m", "after": "36h", "retention": "90d"}])
    );
    let prod = by_job("m", "prod");
    assert_eq!(prod["rule"], json!(null));
    assert_eq!(prod["rawRetention"], "15d");
    assert_eq!(by_job("slo_errors", "prod")["rawRetention"], "400d");
    // No selector: the error Prometheus gives for series without one.
    assert_eq!(s.get("/api/v1/status/retention").status, 400);
}
