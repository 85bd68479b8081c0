//! The calls Grafana's Prometheus data source makes, replayed against the
//! real HTTP server, with Prometheus's JSON shapes and values computed by
//! hand.
//!
//! The data: from `T0` (1700000000, aligned) every 15 s for an hour,
//! - `http_requests_total{job="api",instance="a:8080",code="200"}` = 1000 + 10k,
//! - `http_requests_total{job="api",instance="b:8080",code="500"}` = 1000 + 3k,
//! - `node_load1{job="node",instance="n1:9100"}` = k mod 5,
//!
//! for scrape k, with metadata for both metrics and one exemplar.

use almanac::harness::{Response, TestServer, form, snappy, urlencode};
use prost::Message;
use serde_json::{Value, json};
use server::prompb;

const T0: i64 = 1_700_000_000_000;
const STEP: i64 = 15_000;
const SCRAPES: i64 = 241;

fn label(name: &str, value: &str) -> prompb::Label {
    prompb::Label {
        name: name.into(),
        value: value.into(),
    }
}

fn series(labels: &[(&str, &str)], value: impl Fn(i64) -> f64) -> prompb::TimeSeries {
    prompb::TimeSeries {
        labels: labels.iter().map(|(n, v)| label(n, v)).collect(),
        samples: (0..SCRAPES)
            .map(|k| prompb::Sample {
                value: value(k),
                timestamp: T0 + k * STEP,
            })
            .collect(),
        ..Default::default()
    }
}

fn metadata(name: &str, kind: prompb::MetricType, help: &str) -> prompb::MetricMetadata {
    prompb::MetricMetadata {
        r#type: kind as i32,
        metric_family_name: name.into(),
        help: help.into(),
        unit: String::new(),
    }
}

/// A server holding the data described at the top.
fn server() -> TestServer {
    let s = TestServer::start();
    let mut ok = series(
        &[
            ("__name__", "http_requests_total"),
            ("code", "200"),
            ("instance", "a:8080"),
            ("job", "api"),
        ],
        |k| 1000.0 + 10.0 * k as f64,
    );
    ok.exemplars.push(prompb::Exemplar {
        labels: vec![label("trace_id", "abc123")],
        value: 1.5,
        timestamp: T0 + 60_123,
    });
    let req = prompb::WriteRequest {
        timeseries: vec![
            ok,
            series(
                &[
                    ("__name__", "http_requests_total"),
                    ("code", "500"),
                    ("instance", "b:8080"),
                    ("job", "api"),
                ],
                |k| 1000.0 + 3.0 * k as f64,
            ),
            series(
                &[
                    ("__name__", "node_load1"),
                    ("instance", "n1:9100"),
                    ("job", "node"),
                ],
                |k| (k % 5) as f64,
            ),
        ],
        metadata: vec![
            metadata(
                "http_requests_total",
                prompb::MetricType::Counter,
                "Total HTTP requests.",
            ),
            metadata("node_load1", prompb::MetricType::Gauge, "1m load average."),
        ],
    };
    let r = s.post(
        "/api/v1/write",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        &snappy(&req.encode_to_vec()),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    s
}

/// The JSON body of a 200 answer with `Content-Type: application/json`.
fn ok(r: &Response) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()
}

/// `data` of a successful envelope (and nothing else in it).
fn data(r: &Response) -> Value {
    let v = ok(r);
    assert_eq!(v["status"], "success", "{v}");
    let keys: Vec<&str> = v
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert!(
        keys.iter()
            .all(|k| ["status", "data", "warnings", "infos"].contains(k)),
        "unexpected keys in {v}"
    );
    v["data"].clone()
}

fn assert_close(got: &Value, want: f64) {
    let v: f64 = got
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a sample value: {got}"));
    assert!(
        (v - want).abs() <= 1e-12 * want.abs().max(1.0),
        "got {v}, want {want}"
    );
}

#[test]
fn health_check_is_one_plus_one_at_four() {
    let s = server();
    // What Grafana's "Save & test" sends.
    let r = s.get("/api/v1/query?query=1%2B1&time=4");
    assert_eq!(
        ok(&r),
        json!({"status": "success", "data": {"resultType": "scalar", "result": [4, "2"]}})
    );
    // Byte for byte as Prometheus writes it: `status` first.
    assert_eq!(
        r.text(),
        r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#
    );
    // The same as a form POST (Grafana's default HTTP method).
    let r = s.post_form("/api/v1/query", &[("query", "1+1"), ("time", "4")]);
    assert_eq!(
        ok(&r),
        json!({"status": "success", "data": {"resultType": "scalar", "result": [4, "2"]}})
    );
}

#[test]
fn buildinfo_reports_a_prometheus_version_and_no_features() {
    let s = server();
    let d = data(&s.get("/api/v1/status/buildinfo"));
    let version = d["version"].as_str().unwrap_or("");
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    assert_eq!(parts.len(), 3, "semver: {version}");
    assert!(parts[0] >= 2, "a Prometheus-compatible version: {version}");
    assert_eq!(d["features"], json!({}));
    for k in ["revision", "branch", "buildUser", "buildDate", "goVersion"] {
        assert!(d[k].is_string(), "{k} in {d}");
    }
}

#[test]
fn label_browser() {
    let s = server();
    let (start, end) = ("1700000000", "1700003600");
    let range = format!("start={start}&end={end}");

    // Label names, GET and POST (Grafana uses both, by version).
    let names = json!(["__name__", "code", "instance", "job"]);
    assert_eq!(data(&s.get(&format!("/api/v1/labels?{range}"))), names);
    assert_eq!(
        data(&s.post_form("/api/v1/labels", &[("start", start), ("end", end)])),
        names
    );
    // Narrowed by a selector.
    let q = format!("/api/v1/labels?match[]={}&{range}", urlencode("node_load1"));
    assert_eq!(data(&s.get(&q)), json!(["__name__", "instance", "job"]));
    // Nothing before the data.
    assert_eq!(
        data(&s.get("/api/v1/labels?start=1600000000&end=1600003600")),
        json!([])
    );

    // Metric names, as the metric browser asks for them.
    let q = format!(
        "/api/v1/label/__name__/values?match[]={}&{range}",
        urlencode(r#"{__name__=~".+"}"#)
    );
    assert_eq!(
        data(&s.get(&q)),
        json!(["http_requests_total", "node_load1"])
    );
    assert_eq!(
        data(&s.get("/api/v1/label/__name__/values")),
        json!(["http_requests_total", "node_load1"])
    );
    // Values of one label, then narrowed by a metric.
    assert_eq!(
        data(&s.get(&format!("/api/v1/label/job/values?{range}"))),
        json!(["api", "node"])
    );
    let q = format!(
        "/api/v1/label/instance/values?match[]={}&{range}",
        urlencode(r#"http_requests_total{job="api"}"#)
    );
    assert_eq!(data(&s.get(&q)), json!(["a:8080", "b:8080"]));
    assert_eq!(data(&s.get("/api/v1/label/nonexistent/values")), json!([]));

    // Series, GET and POST form.
    let want = json!([
        {"__name__": "http_requests_total", "code": "200", "instance": "a:8080", "job": "api"},
        {"__name__": "http_requests_total", "code": "500", "instance": "b:8080", "job": "api"},
    ]);
    let q = format!(
        "/api/v1/series?match[]={}&{range}",
        urlencode("http_requests_total")
    );
    assert_eq!(data(&s.get(&q)), want);
    assert_eq!(
        data(&s.post_form(
            "/api/v1/series",
            &[
                ("match[]", r#"{__name__="http_requests_total"}"#),
                ("start", start),
                ("end", end),
            ],
        )),
        want
    );
    // Two match[] are a union.
    let q = format!(
        "/api/v1/series?match[]={}&match[]={}&{range}",
        urlencode(r#"http_requests_total{code="500"}"#),
        urlencode("node_load1")
    );
    assert_eq!(
        data(&s.get(&q)),
        json!([
            {"__name__": "http_requests_total", "code": "500", "instance": "b:8080", "job": "api"},
            {"__name__": "node_load1", "instance": "n1:9100", "job": "node"},
        ])
    );
    let r = s.get("/api/v1/series");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errorType"], "bad_data");
}

#[test]
fn metadata_and_exemplars() {
    let s = server();
    assert_eq!(
        data(&s.get("/api/v1/metadata")),
        json!({
            "http_requests_total": [{"type": "counter", "help": "Total HTTP requests.", "unit": ""}],
            "node_load1": [{"type": "gauge", "help": "1m load average.", "unit": ""}],
        })
    );
    assert_eq!(
        data(&s.get("/api/v1/metadata?metric=node_load1")),
        json!({"node_load1": [{"type": "gauge", "help": "1m load average.", "unit": ""}]})
    );
    assert_eq!(
        data(&s.get("/api/v1/metadata?limit=1"))
            .as_object()
            .map(|o| o.len()),
        Some(1)
    );

    // Grafana's exemplar probe: a form POST with the panel's query.
    let want = json!([{
        "seriesLabels": {"__name__": "http_requests_total", "code": "200", "instance": "a:8080", "job": "api"},
        "exemplars": [{"labels": {"trace_id": "abc123"}, "value": "1.5", "timestamp": 1700000060.123}],
    }]);
    let r = s.post_form(
        "/api/v1/query_exemplars",
        &[
            ("query", "sum(rate(http_requests_total[5m]))"),
            ("start", "1700000000"),
            ("end", "1700003600"),
        ],
    );
    assert_eq!(data(&r), want);
    let q = format!(
        "/api/v1/query_exemplars?query={}&start=1700000000&end=1700003600",
        urlencode(r#"http_requests_total{code="200"}"#)
    );
    assert_eq!(data(&s.get(&q)), want);
    // None in another time range, or for another series.
    let q = format!(
        "/api/v1/query_exemplars?query={}&start=1700000100&end=1700003600",
        urlencode("http_requests_total")
    );
    assert_eq!(data(&s.get(&q)), json!([]));
    let q = format!(
        "/api/v1/query_exemplars?query={}&start=1700000000&end=1700003600",
        urlencode("node_load1")
    );
    assert_eq!(data(&s.get(&q)), json!([]));
}

#[test]
fn range_queries_with_float_parameters() {
    let s = server();
    // Steps at 1700000000.123 + 15.5 k up to 1700000100.123: seven points.
    // node_load1 there is the last sample at or before the step: scrape
    // floor((t - T0) / 15 s) mod 5.
    let want = json!({
        "resultType": "matrix",
        "result": [{
            "metric": {"__name__": "node_load1", "instance": "n1:9100", "job": "node"},
            "values": [
                [1700000000.123, "0"],
                [1700000015.623, "1"],
                [1700000031.123, "2"],
                [1700000046.623, "3"],
                [1700000062.123, "4"],
                [1700000077.623, "0"],
                [1700000093.123, "1"],
            ],
        }],
    });
    let q = format!(
        "/api/v1/query_range?query={}&start=1700000000.123&end=1700000100.123&step=15.5",
        urlencode("node_load1")
    );
    assert_eq!(data(&s.get(&q)), want);
    let r = s.post_form(
        "/api/v1/query_range",
        &[
            ("query", "node_load1"),
            ("start", "1700000000.123"),
            ("end", "1700000100.123"),
            ("step", "15.5"),
        ],
    );
    assert_eq!(data(&r), want);
    // RFC 3339 times and a duration step give the same.
    let r = s.post_form(
        "/api/v1/query_range",
        &[
            ("query", "node_load1"),
            ("start", "2023-11-14T22:13:20.123Z"),
            ("end", "2023-11-14T22:15:00.123Z"),
            ("step", "15500ms"),
        ],
    );
    assert_eq!(data(&r), want);

    // A scalar expression as a range query is a matrix with empty labels.
    let r = s.post_form(
        "/api/v1/query_range",
        &[
            ("query", "1+1"),
            ("start", "1700000000"),
            ("end", "1700000030"),
            ("step", "15"),
        ],
    );
    assert_eq!(
        data(&r),
        json!({"resultType": "matrix", "result": [{"metric": {}, "values": [
            [1700000000, "2"], [1700000015, "2"], [1700000030, "2"],
        ]}]})
    );

    // A linear counter: over a 5m window of 20 samples, extrapolated to the
    // window, the rate is the slope: 10/15 + 3/15 per second.
    let r = s.post_form(
        "/api/v1/query_range",
        &[
            ("query", "sum(rate(http_requests_total[5m]))"),
            ("start", "1700001800"),
            ("end", "1700002100"),
            ("step", "60"),
        ],
    );
    let d = data(&r);
    assert_eq!(d["resultType"], "matrix");
    let values = d["result"][0]["values"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(values.len(), 6, "{d}");
    for (i, p) in values.iter().enumerate() {
        assert_eq!(p[0], json!(1_700_001_800 + 60 * i as i64));
        assert_close(&p[1], 13.0 / 15.0);
    }
}

#[test]
fn instant_queries_computed_by_hand() {
    let s = server();
    // At T0 + 60 s, scrape 4: 1040 + 1012.
    let r = s.post_form(
        "/api/v1/query",
        &[
            ("query", "sum by (job) (http_requests_total)"),
            ("time", "1700000060"),
        ],
    );
    assert_eq!(
        data(&r),
        json!({"resultType": "vector", "result": [
            {"metric": {"job": "api"}, "value": [1700000060, "2052"]},
        ]})
    );
    // Increase over 10 minutes of the 500s: 3 per 15 s is 120.
    let r = s.post_form(
        "/api/v1/query",
        &[
            ("query", r#"increase(http_requests_total{code="500"}[10m])"#),
            ("time", "1700001800"),
        ],
    );
    let d = data(&r);
    assert_eq!(d["resultType"], "vector");
    let res = d["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(res.len(), 1, "{d}");
    assert_eq!(
        res[0]["metric"],
        json!({"code": "500", "instance": "b:8080", "job": "api"})
    );
    assert_eq!(res[0]["value"][0], json!(1700001800));
    assert_close(&res[0]["value"][1], 120.0);
    // A float time and a string result.
    let r = s.post_form(
        "/api/v1/query",
        &[("query", r#""hello""#), ("time", "1700000000.5")],
    );
    assert_eq!(
        data(&r),
        json!({"resultType": "string", "result": [1700000000.5, "hello"]})
    );
    // A range selector gives the raw samples in (t - 30s, t].
    let r = s.get(&format!(
        "/api/v1/query?query={}&time=1700000030",
        urlencode("node_load1[30s]")
    ));
    assert_eq!(
        data(&r),
        json!({"resultType": "matrix", "result": [{
            "metric": {"__name__": "node_load1", "instance": "n1:9100", "job": "node"},
            "values": [[1700000015, "1"], [1700000030, "2"]],
        }]})
    );
}

#[test]
fn format_query() {
    let s = server();
    let q = format!(
        "/api/v1/format_query?query={}",
        urlencode("sum(rate(http_requests_total{job=\"api\"}[5m]))by(code)")
    );
    assert_eq!(
        ok(&s.get(&q)),
        json!({"status": "success", "data": "sum by (code) (rate(http_requests_total{job=\"api\"}[5m]))"})
    );
    let r = s.post_form("/api/v1/format_query", &[("query", "1+  2*3")]);
    assert_eq!(data(&r), json!("1 + 2 * 3"));
}

/// An error answer: status, `errorType`, and the message.
fn error(r: &Response, status: u16, error_type: &str) -> String {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["status"], "error", "{v}");
    assert_eq!(v["errorType"], error_type, "{v}");
    v["error"].as_str().unwrap_or("").to_string()
}

#[test]
fn error_shapes() {
    let s = server();
    // A parse error: 400 bad_data, with the position in the message.
    let r = s.post_form(
        "/api/v1/query",
        &[("query", "sum(rate(x[5m])"), ("time", "1700000000")],
    );
    let msg = error(&r, 400, "bad_data");
    assert!(msg.starts_with("invalid parameter \"query\": 1:"), "{msg}");
    assert!(msg.contains("parse error"), "{msg}");
    let r = s.get(&format!(
        "/api/v1/query_range?query={}&start=1&end=2&step=1",
        urlencode("up{")
    ));
    let msg = error(&r, 400, "bad_data");
    assert!(msg.contains("1:"), "{msg}");

    // step=0, a negative step, a missing step, end before start.
    for step in ["0", "-15"] {
        let r = s.post_form(
            "/api/v1/query_range",
            &[
                ("query", "up"),
                ("start", "1700000000"),
                ("end", "1700003600"),
                ("step", step),
            ],
        );
        let msg = error(&r, 400, "bad_data");
        assert!(msg.contains("zero or negative"), "{msg}");
    }
    let r = s.post_form(
        "/api/v1/query_range",
        &[
            ("query", "up"),
            ("start", "1700000000"),
            ("end", "1700003600"),
        ],
    );
    error(&r, 400, "bad_data");
    let r = s.post_form(
        "/api/v1/query_range",
        &[
            ("query", "up"),
            ("start", "1700003600"),
            ("end", "1700000000"),
            ("step", "15"),
        ],
    );
    error(&r, 400, "bad_data");
    // Too many points.
    let r = s.post_form(
        "/api/v1/query_range",
        &[
            ("query", "up"),
            ("start", "0"),
            ("end", "1700000000"),
            ("step", "1"),
        ],
    );
    let msg = error(&r, 400, "bad_data");
    assert!(msg.contains("11,000 points"), "{msg}");
    // A bad time.
    let r = s.post_form("/api/v1/query", &[("query", "up"), ("time", "yesterday")]);
    let msg = error(&r, 400, "bad_data");
    assert!(msg.contains("invalid parameter \"time\""), "{msg}");
    // An execution error: 422.
    let r = s.post_form(
        "/api/v1/query",
        &[
            (
                "query",
                "http_requests_total + ignoring(code, instance) http_requests_total",
            ),
            ("time", "1700000060"),
        ],
    );
    let msg = error(&r, 422, "execution");
    assert!(msg.contains("many-to-many matching not allowed"), "{msg}");
    // Unknown endpoints.
    error(&s.get("/api/v1/nope"), 404, "not_found");
    // A range query of a range vector or a string is bad data (Prometheus:
    // 400 `invalid expression type "range vector" for range query, must be
    // Scalar or instant Vector`).
    for query in ["node_load1[5m]", r#""text""#] {
        let r = s.post_form(
            "/api/v1/query_range",
            &[
                ("query", query),
                ("start", "1700000000"),
                ("end", "1700000100"),
                ("step", "15"),
            ],
        );
        let msg = error(&r, 400, "bad_data");
        assert!(msg.contains("for range query"), "{msg}");
    }
}

#[test]
fn form_body_and_query_string_together() {
    let s = server();
    // Grafana sends everything in the body, but proxies may move some of it
    // to the query string: both are read.
    let body = form(&[("query", "sum(node_load1)")]);
    let r = s.post(
        "/api/v1/query?time=1700000060",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(
        data(&r),
        json!({"resultType": "vector", "result": [{"metric": {}, "value": [1700000060, "4"]}]})
    );
}
