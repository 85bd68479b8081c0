//! The OpenTelemetry metrics receiver through the real server: the real
//! OpenTelemetry Python SDK (installed by `scripts/test.sh`) exports to
//! Almanac and PromQL answers what it recorded; bad bodies get 400/413 and
//! a request with refused points stores the rest.

use std::io::Write;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use almanac::harness::{TestServer, urlencode};

/// The value of an instant query that must select exactly one series.
fn value(s: &TestServer, q: &str) -> f64 {
    let v = s
        .get(&format!("/api/v1/query?query={}", urlencode(q)))
        .json();
    let result = v["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{q}: {v}"));
    assert_eq!(result.len(), 1, "{q}: {v}");
    let text = result[0]["value"][1].as_str().unwrap_or_default();
    text.parse().unwrap_or_else(|_| panic!("{q}: {v}"))
}

#[test]
fn python_sdk_export_is_queryable() {
    let s = TestServer::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp/export.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("http://{}/v1/metrics", s.addr))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the exporter failed (scripts/test.sh installs opentelemetry-sdk and \
         opentelemetry-exporter-otlp-proto-http): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Failed to export"), "{stderr}");
    let want: serde_json::Value = serde_json::from_slice(&out.stdout).expect("recorded JSON");
    let sel = r#"job="shop/checkout",instance="i-1""#;
    for region in ["eu", "us"] {
        let q = format!(r#"orders_total{{{sel},region="{region}"}}"#);
        assert_eq!(
            Some(value(&s, &q)),
            want["orders_total"][region].as_f64(),
            "{q}"
        );
    }
    let q = format!("queue_size{{{sel}}}");
    assert_eq!(Some(value(&s, &q)), want["queue_size"].as_f64());
    let q = format!(r#"room_temperature_celsius{{{sel},room="lab"}}"#);
    assert_eq!(
        Some(value(&s, &q)),
        want["room_temperature_celsius"].as_f64()
    );
    let buckets = want["request_duration_seconds_bucket"]
        .as_object()
        .expect("buckets");
    assert_eq!(buckets.len(), 4);
    for (le, n) in buckets {
        let q = format!(r#"request_duration_seconds_bucket{{{sel},route="/pay",le="{le}"}}"#);
        assert_eq!(Some(value(&s, &q)), n.as_f64(), "{q}");
    }
    let sum = value(&s, "request_duration_seconds_sum");
    let want_sum = want["request_duration_seconds_sum"]
        .as_f64()
        .unwrap_or(f64::NAN);
    assert!((sum - want_sum).abs() < 1e-9, "{sum} vs {want_sum}");
    let count = value(&s, "request_duration_seconds_count");
    assert_eq!(Some(count), want["request_duration_seconds_count"].as_f64());
    exponential_histogram_is_native(&s, &want["payload_size_bytes"], sel);
    let q = format!(r#"target_info{{{sel},deployment_environment="e2e"}}"#);
    assert_eq!(value(&s, &q), 1.0);
    let md = s.get("/api/v1/metadata?metric=orders_total").json();
    assert_eq!(md["data"]["orders_total"][0]["type"], "counter", "{md}");
    assert_eq!(
        md["data"]["orders_total"][0]["help"], "Orders placed",
        "{md}"
    );
}

/// The SDK's exponential histogram (`want`: scale, zero count, positive
/// offset and counts, sum, count) is one native histogram: count, sum and
/// every populated bucket with its bounds, `(2^(i·2^−scale),
/// 2^((i+1)·2^−scale)]` for OTLP index `i`.
fn exponential_histogram_is_native(s: &TestServer, want: &serde_json::Value, sel: &str) {
    let num = |v: &serde_json::Value| -> f64 {
        v.as_str()
            .and_then(|t| t.parse().ok())
            .or_else(|| v.as_f64())
            .unwrap_or(f64::NAN)
    };
    let q = format!(r#"payload_size_bytes{{{sel},route="/pay"}}"#);
    let v = s
        .get(&format!("/api/v1/query?query={}", urlencode(&q)))
        .json();
    let result = v["data"]["result"].as_array().expect("a vector");
    assert_eq!(result.len(), 1, "{q}: {v}");
    let h = &result[0]["histogram"][1];
    assert_eq!(num(&h["count"]), num(&want["count"]), "{v}");
    assert_eq!(num(&h["sum"]), num(&want["sum"]), "{v}");
    let scale = want["scale"].as_i64().expect("scale") as i32;
    assert!(
        (-4..=8).contains(&scale),
        "the view keeps the scale in range: {want}"
    );
    let base = |i: i64| 2f64.powf(i as f64 * 2f64.powi(-scale));
    let offset = want["offset"].as_i64().expect("offset");
    let mut expected: Vec<(f64, f64, f64)> = Vec::new();
    let zero = num(&want["zero_count"]);
    for (k, c) in want["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .enumerate()
    {
        let c = num(c);
        if c != 0.0 {
            let i = offset + k as i64;
            expected.push((base(i), base(i + 1), c));
        }
    }
    let got: Vec<(u64, f64, f64, f64)> = h["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| {
            (
                b[0].as_u64().unwrap_or(9),
                num(&b[1]),
                num(&b[2]),
                num(&b[3]),
            )
        })
        .collect();
    let (zero_got, rest): (Vec<_>, Vec<_>) = got.into_iter().partition(|b| b.0 == 3);
    assert_eq!(
        zero_got.iter().map(|b| b.3).sum::<f64>(),
        zero,
        "zero bucket: {v}"
    );
    assert_eq!(rest.len(), expected.len(), "{v} vs {want}");
    for ((rule, lo, hi, c), (wlo, whi, wc)) in rest.iter().zip(&expected) {
        assert_eq!(*rule, 0, "positive buckets are (lo, hi]: {v}");
        assert!(
            (lo - wlo).abs() <= 1e-12 * wlo && (hi - whi).abs() <= 1e-12 * whi,
            "{v}"
        );
        assert_eq!(c, wc, "{v}");
    }
    assert!(
        value(s, &format!("histogram_count({q})")) == num(&want["count"]),
        "histogram_count"
    );
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

#[test]
fn bad_bodies_table() {
    let s = TestServer::start_with(|c| c.max_decompressed_bytes = 1 << 20);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 16 << 20]).expect("gzip");
    let bomb = gz.finish().expect("gzip");
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, &'a [u8], u16);
    let cases: &[Case] = &[
        (
            "not protobuf",
            "application/x-protobuf",
            None,
            b"\xff\xff\xff\xff",
            400,
        ),
        (
            "not JSON",
            "application/json",
            None,
            b"{resourceMetrics",
            400,
        ),
        ("not gzip", "application/json", Some("gzip"), b"{}", 400),
        ("gzip bomb", "application/json", Some("gzip"), &bomb, 413),
        ("unknown content type", "text/plain", None, b"{}", 400),
        ("empty JSON request", "application/json", None, b"{}", 200),
    ];
    for (name, ct, ce, body, want) in cases {
        let mut headers = vec![("Content-Type", *ct)];
        if let Some(ce) = ce {
            headers.push(("Content-Encoding", ce));
        }
        let r = s.post("/v1/metrics", &headers, body);
        assert_eq!(r.status, *want, "case {name}: {}", r.text());
    }
}

#[test]
fn refused_points_are_reported_and_the_rest_stored() {
    let s = TestServer::start();
    let t = now_ns();
    let body = format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"svc"}}}}]}},
          "someFutureField":[1,2],
          "scopeMetrics":[{{"metrics":[
            {{"name":"good","gauge":{{"dataPoints":[
               {{"timeUnixNano":"{t}","asDouble":4.5,"attributes":[{{"key":"k","value":{{"stringValue":"a"}}}}],"newField":"x"}},
               {{"timeUnixNano":"{t}","attributes":[{{"key":"k","value":{{"stringValue":"no-value"}}}}]}}]}}}},
            {{"name":"deltas","sum":{{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA","isMonotonic":true,
               "dataPoints":[{{"timeUnixNano":"{t}","asInt":"3"}}]}}}},
            {{"name":"latency","exponentialHistogram":{{"aggregationTemporality":2,
               "dataPoints":[{{"timeUnixNano":"{t}","count":"1","scale":2,"positive":{{"offset":0,"bucketCounts":["1"]}}}}]}}}},
            {{"name":"coarse","exponentialHistogram":{{"aggregationTemporality":2,
               "dataPoints":[{{"timeUnixNano":"{t}","count":"1","scale":-9,"positive":{{"offset":0,"bucketCounts":["1"]}}}}]}}}}
          ]}}]}}]}}"#
    );
    let r = s.post(
        "/api/v1/otlp/v1/metrics",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    let partial = &v["partialSuccess"];
    assert_eq!(partial["rejectedDataPoints"], "3", "{v}");
    let msg = partial["errorMessage"].as_str().unwrap_or_default();
    for want in [
        "without a value",
        "metric \"deltas\": delta temporality",
        "metric \"coarse\": exponential histogram scale -9 is below",
    ] {
        assert!(msg.contains(want), "{want:?} not in {msg:?}");
    }
    assert_eq!(value(&s, r#"good{job="svc",k="a"}"#), 4.5);
    // The valid exponential histogram is a native histogram series.
    let v = s
        .get(&format!("/api/v1/series?match[]={}", urlencode("latency")))
        .json();
    assert_eq!(v["data"][0]["job"], "svc", "{v}");
}

/// A point whose series a cardinality limit refuses is a refused point of
/// the partial success, whose message names the culprit; the rest is
/// stored.
#[test]
fn points_refused_by_a_limit_name_the_culprit() {
    let s = TestServer::start_with(|c| c.limits.max_series_per_metric = 2);
    let t = now_ns();
    let point = |k: &str| {
        format!(
            r#"{{"timeUnixNano":"{t}","asDouble":1,"attributes":[{{"key":"user","value":{{"stringValue":"{k}"}}}}]}}"#
        )
    };
    let points: Vec<String> = ["a", "b", "c", "d"].iter().map(|k| point(k)).collect();
    let body = format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"svc"}}}}]}},
          "scopeMetrics":[{{"metrics":[{{"name":"logins","gauge":{{"dataPoints":[{}]}}}}]}}]}}]}}"#,
        points.join(",")
    );
    let r = s.post(
        "/v1/metrics",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["partialSuccess"]["rejectedDataPoints"], "2", "{v}");
    let msg = v["partialSuccess"]["errorMessage"]
        .as_str()
        .unwrap_or_default();
    assert!(
        msg.contains(r#"err-almanac-max-series-per-metric: metric="logins""#)
            && msg.contains(r#"label "user" has 2 values"#),
        "{msg}"
    );
    assert_eq!(value(&s, "count(logins)"), 2.0);
}
