//! The log store through the real server and real Loki clients (installed
//! by `scripts/test.sh`): python-logging-loki pushes JSON, winston-loki
//! pushes snappy protobuf; every acknowledged line comes back through
//! `/loki/api/v1/query_range` in order with its labels; structured
//! metadata comes back both ways Loki gives it; bad pushes get a 4xx with a
//! reason and the rest of the push is stored.

use std::collections::BTreeMap;
use std::process::Command;

use almanac::harness::{TestServer, snappy, urlencode};
use serde_json::{Value, json};

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Runs a client script and returns the JSON it prints.
fn run(cmd: &mut Command, what: &str) -> Value {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what} runs: {e}"));
    assert!(
        out.status.success(),
        "{what} failed (scripts/test.sh installs the Loki clients): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what} JSON: {e}"))
}

/// `query_range` over the last ten minutes, oldest first.
fn query(s: &TestServer, q: &str, headers: &[(&str, &str)]) -> Value {
    let end = now_ns() + 60_000_000_000;
    let path = format!(
        "/loki/api/v1/query_range?query={}&start={}&end={end}&limit=5000&direction=forward",
        urlencode(q),
        end - 660_000_000_000
    );
    let r = almanac::harness::request(s.addr, "GET", &path, headers, b"").unwrap();
    assert_eq!(r.status, 200, "{q}: {}", r.text());
    let v = r.json();
    assert_eq!(v["data"]["resultType"], "streams", "{v}");
    v
}

/// Every line of a `streams` answer in time order, with its stream's
/// labels.
fn lines(v: &Value) -> Vec<(i64, String, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    for s in v["data"]["result"].as_array().unwrap() {
        let labels: BTreeMap<String, String> = s["stream"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        for e in s["values"].as_array().unwrap() {
            let ts: i64 = e[0].as_str().unwrap().parse().unwrap();
            out.push((ts, e[1].as_str().unwrap().to_string(), labels.clone()));
        }
    }
    out.sort_by_key(|(ts, _, _)| *ts);
    out
}

#[test]
fn real_clients_push_and_every_line_comes_back() {
    let s = TestServer::start();
    let push_url = format!("http://{}/loki/api/v1/push", s.addr);

    let py = run(
        Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/logs/push.py"))
            .arg(&push_url)
            .arg("25"),
        "python-logging-loki",
    );
    assert_eq!(py["failed"], json!([]), "every push acknowledged");
    let got = lines(&query(&s, r#"{app="pyapp"}"#, &[]));
    let sent = py["sent"].as_array().unwrap();
    assert_eq!(got.len(), sent.len());
    for ((_, line, labels), want) in got.iter().zip(sent) {
        assert_eq!(line, want["line"].as_str().unwrap());
        assert_eq!(labels["severity"], want["severity"].as_str().unwrap());
        assert_eq!(
            (labels["app"].as_str(), labels["logger"].as_str()),
            ("pyapp", "shop")
        );
    }

    let node_modules = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/logs/node_modules");
    let node = run(
        Command::new("node")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/logs/push.js"))
            .arg(format!("http://{}", s.addr))
            .arg("40")
            .env("NODE_PATH", node_modules),
        "winston-loki",
    );
    assert_eq!(node["errors"], json!([]), "every batch acknowledged");
    let got = lines(&query(&s, r#"{app="nodeapp"}"#, &[]));
    let got_lines: Vec<&str> = got.iter().map(|(_, l, _)| l.as_str()).collect();
    let sent: Vec<&str> = node["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        got_lines, sent,
        "in order (same-millisecond lines keep their order)"
    );
    assert!(got.iter().all(|(_, _, l)| l["level"] == "info"));

    // Line filters, newest first by default.
    let r = s.get(&format!(
        "/loki/api/v1/query_range?query={}&start={}&limit=3",
        urlencode(r#"{app="pyapp"} |= "line 1" != "line 10""#),
        now_ns() - 600_000_000_000
    ));
    let backward: Vec<String> = r.json()["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["values"].as_array().unwrap().clone())
        .map(|v| {
            v[1].as_str()
                .unwrap()
                .split(' ')
                .nth(2)
                .unwrap()
                .to_string()
        })
        .collect::<Vec<_>>();
    let mut backward = backward;
    backward.sort();
    assert_eq!(
        backward,
        vec!["17", "18", "19"],
        "the newest three of 1, 11..19 minus 10"
    );

    // Metric queries: counts by label, on a grid; Grafana's health check.
    let end = now_ns() + 60_000_000_000;
    let r = s.get(&format!(
        "/loki/api/v1/query_range?query={}&start={}&end={end}&step=60",
        urlencode(r#"sum by (severity) (count_over_time({app="pyapp"}[15m]))"#),
        end - 120_000_000_000
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["data"]["resultType"], "matrix", "{v}");
    let by_severity: BTreeMap<String, String> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let last = s["values"].as_array().unwrap().last().unwrap();
            (
                s["metric"]["severity"].as_str().unwrap().to_string(),
                last[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        by_severity,
        BTreeMap::from([
            ("info".to_string(), "20".to_string()),
            ("warning".to_string(), "5".to_string())
        ])
    );
    let health = s.get(&format!(
        "/loki/api/v1/query?query={}&time=4000000000",
        urlencode("vector(1)+vector(1)")
    ));
    assert_eq!(health.status, 200, "{}", health.text());
    let h = health.json();
    assert_eq!(h["data"]["resultType"], "vector");
    assert_eq!(h["data"]["result"][0]["value"][1], "2");

    // Labels, values and series.
    let names = s.get("/loki/api/v1/labels").json()["data"].clone();
    assert_eq!(names, json!(["app", "level", "logger", "severity"]));
    let values = s.get("/loki/api/v1/label/app/values").json()["data"].clone();
    assert_eq!(values, json!(["nodeapp", "pyapp"]));
    let series = s.get(&format!(
        "/loki/api/v1/series?match[]={}",
        urlencode(r#"{app="pyapp"}"#)
    ));
    assert_eq!(
        series.json()["data"].as_array().unwrap().len(),
        2,
        "info and warning streams"
    );
}

#[test]
fn structured_metadata_both_ways() {
    let s = TestServer::start();
    let t = now_ns();
    let body = json!({"streams": [{"stream": {"app": "md"}, "values": [
        [t.to_string(), "with trace", {"trace_id": "abc123"}],
        [(t + 1).to_string(), "plain"],
    ]}]});
    let r = s.post(
        "/loki/api/v1/push",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 204, "{}", r.text());

    let categorized = query(
        &s,
        r#"{app="md"}"#,
        &[("X-Loki-Response-Encoding-Flags", "categorize-labels")],
    );
    assert_eq!(
        categorized["data"]["encodingFlags"],
        json!(["categorize-labels"])
    );
    let result = &categorized["data"]["result"];
    assert_eq!(result.as_array().unwrap().len(), 1, "{result}");
    assert_eq!(result[0]["stream"], json!({"app": "md"}));
    assert_eq!(
        result[0]["values"][0],
        json!([t.to_string(), "with trace", {"structuredMetadata": {"trace_id": "abc123"}}])
    );
    assert_eq!(
        result[0]["values"][1],
        json!([(t + 1).to_string(), "plain"])
    );

    let plain = lines(&query(&s, r#"{app="md"}"#, &[]));
    assert_eq!(
        plain[0].2.get("trace_id").map(String::as_str),
        Some("abc123")
    );
    assert_eq!(plain[1].2.get("trace_id"), None);
}

/// Each bad push: a 4xx with a reason naming the problem, the good part
/// stored, the server still serving.
#[test]
fn bad_pushes_are_refused_with_reasons() {
    let s = TestServer::start();
    let t = now_ns();
    let json_ct = [("Content-Type", "application/json")];
    let proto_ct = [("Content-Type", "application/x-protobuf")];
    let good =
        |app: &str| json!({"stream": {"app": app}, "values": [[t.to_string(), "kept line"]]});
    let many_labels: serde_json::Map<String, Value> =
        (0..10_000).map(|i| (format!("l{i}"), json!("v"))).collect();
    let long_line = "x".repeat((256 << 10) + 1);
    // A JSON push whose second value is not UTF-8.
    let bad_utf8_json = {
        let mut b = format!(
            r#"{{"streams": [{{"stream": {{"app": "json8"}}, "values": [["{t}", "fine"], ["{t}", "bad "#
        )
        .into_bytes();
        b.extend_from_slice(&[0xff, 0xfe]);
        b.extend_from_slice(br#""]]}]}"#);
        b
    };
    // A protobuf push whose second entry is not UTF-8.
    let bad_utf8_proto = {
        use server::logs::proto::{EntryAdapter, PushRequest, StreamAdapter, Timestamp};
        let entry = |line: &[u8]| EntryAdapter {
            timestamp: Some(Timestamp {
                seconds: t / 1_000_000_000,
                nanos: 0,
            }),
            line: line.to_vec(),
            structured_metadata: vec![],
        };
        let req = PushRequest {
            streams: vec![StreamAdapter {
                labels: br#"{app="proto"}"#.to_vec(),
                entries: vec![entry(b"fine"), entry(b"\xff\xfe")],
                hash: 0,
            }],
        };
        snappy(&prost::Message::encode_to_vec(&req))
    };
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        Vec<u8>,
        u16,
        &'a str,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        ("malformed JSON", &json_ct, b"{\"streams\": [".to_vec(), 400, "decoding JSON push body", None),
        ("not snappy", &proto_ct, b"\xff\xff\xff\xff".to_vec(), 400, "snappy", None),
        ("empty body", &json_ct, Vec::new(), 400, "decoding JSON push body", None),
        (
            "timestamps as numbers",
            &json_ct,
            json!({"streams": [good("num"), {"stream": {"app": "num2"}, "values": [[t, "x"]]}]})
                .to_string()
                .into_bytes(),
            400,
            "timestamp must be a string of nanoseconds",
            Some("num"),
        ),
        (
            "line over the limit",
            &json_ct,
            json!({"streams": [{"stream": {"app": "long"}, "values": [[t.to_string(), long_line], [(t + 1).to_string(), "kept line"]]}]})
                .to_string()
                .into_bytes(),
            400,
            "max entry size '262144' bytes exceeded for stream '{app=\"long\"}'",
            Some("long"),
        ),
        (
            "10,000 labels",
            &json_ct,
            json!({"streams": [good("few"), {"stream": many_labels, "values": [[t.to_string(), "x"]]}]})
                .to_string()
                .into_bytes(),
            400,
            "has 10000 label names; limit 15",
            Some("few"),
        ),
        ("invalid UTF-8 line (protobuf)", &proto_ct, bad_utf8_proto, 400, "line is not UTF-8", Some("proto")),
        ("invalid UTF-8 line (JSON)", &json_ct, bad_utf8_json, 400, "value 1: line is not UTF-8", Some("json8")),
        (
            "too old",
            &json_ct,
            json!({"streams": [{"stream": {"app": "old"}, "values": [["1000", "x"]]}]})
                .to_string()
                .into_bytes(),
            400,
            "timestamp too old",
            None,
        ),
    ];
    for (name, headers, body, status, why, stored) in cases {
        let r = s.post("/loki/api/v1/push", headers, &body);
        assert_eq!(r.status, status, "{name}: {}", r.text());
        assert!(r.text().contains(why), "{name}: {}", r.text());
        if let Some(app) = stored {
            let q = format!(r#"{{app="{app}"}}"#);
            let got = lines(&query(&s, &q, &[]));
            assert_eq!(got.len(), 1, "{name}: the good entry is stored");
        }
        assert_eq!(s.get("/ready").status, 200, "{name}: still serving");
    }

    // A retried push stores nothing twice.
    let body = json!({"streams": [good("retry")]}).to_string();
    for _ in 0..2 {
        assert_eq!(
            s.post("/loki/api/v1/push", &json_ct, body.as_bytes())
                .status,
            204
        );
    }
    assert_eq!(lines(&query(&s, r#"{app="retry"}"#, &[])).len(), 1);

    // Query errors come back as Loki gives them: plain text with where.
    let r = s.get(&format!(
        "/loki/api/v1/query_range?query={}",
        urlencode("{app=\"x\"} |= ")
    ));
    assert_eq!(r.status, 400);
    assert!(
        r.text().starts_with("parse error at line 1, col 14"),
        "{}",
        r.text()
    );
}

/// Parsers, label filters and formatting through the API; parsed labels
/// come back both ways Loki gives them.
#[test]
fn pipelines_through_the_api() {
    let s = TestServer::start();
    let t = now_ns();
    let lines = [
        r#"{"status":200,"path":"/a","took":"12ms"}"#,
        r#"{"status":503,"path":"/b","took":"1.2s"}"#,
        r#"{"status":500,"path":"/a","took":"800ms"}"#,
        "not json at all",
    ];
    let values: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| json!([(t + i as i64).to_string(), l]))
        .collect();
    let body = json!({"streams": [{"stream": {"app": "j"}, "values": values}]});
    let r = s.post(
        "/loki/api/v1/push",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 204, "{}", r.text());

    let got = lines_of(&query(
        &s,
        r#"{app="j"} | json | __error__="" | status >= 500 and took > 1s | line_format "{{.path}} {{.status}}""#,
        &[],
    ));
    assert_eq!(got, vec![("/b 503".to_string(), "503".to_string())]);

    let errors = lines_of(&query(&s, r#"{app="j"} | json | __error__!="""#, &[]));
    assert_eq!(errors, vec![("not json at all".to_string(), String::new())]);

    let categorized = query(
        &s,
        r#"{app="j"} | json | path="/a" | drop took"#,
        &[("X-Loki-Response-Encoding-Flags", "categorize-labels")],
    );
    let result = &categorized["data"]["result"];
    assert_eq!(result.as_array().unwrap().len(), 1, "{result}");
    assert_eq!(result[0]["stream"], json!({"app": "j"}));
    assert_eq!(
        result[0]["values"][0][2],
        json!({"parsed": {"path": "/a", "status": "200"}})
    );

    // A metric over a pipeline: parsed labels group the series; an entry
    // left with __error__ fails the query, as Loki's does.
    let end = now_ns() + 60_000_000_000;
    let metric = |q: &str| {
        s.get(&format!(
            "/loki/api/v1/query?query={}&time={end}",
            urlencode(q)
        ))
    };
    let r = metric(r#"sum by (path) (count_over_time({app="j"} | json | __error__="" [10m]))"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let mut by_path: Vec<(String, String)> = r.json()["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"]["path"].as_str().unwrap().to_string(),
                s["value"][1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    by_path.sort();
    assert_eq!(
        by_path,
        vec![
            ("/a".to_string(), "2".to_string()),
            ("/b".to_string(), "1".to_string())
        ]
    );
    let r = metric(r#"count_over_time({app="j"} | json [10m])"#);
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("pipeline error: 'JSONParserErr'"),
        "{}",
        r.text()
    );
}

/// `(line, status label)` of each entry of a `streams` answer, in time
/// order.
fn lines_of(v: &Value) -> Vec<(String, String)> {
    lines(v)
        .into_iter()
        .map(|(_, l, labels)| (l, labels.get("status").cloned().unwrap_or_default()))
        .collect()
}

/// The OpenTelemetry Python SDK's OTLP/HTTP logs exporter: every record
/// comes back with Loki's mapping (service_name label, metadata).
#[test]
fn otel_sdk_logs_through_otlp() {
    let s = TestServer::start();
    let sdk = run(
        Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/logs/otlp.py"))
            .arg(format!("http://{}/v1/logs", s.addr))
            .arg("12"),
        "the OpenTelemetry logs exporter",
    );
    let results = sdk["results"].as_array().unwrap();
    assert!(
        !results.is_empty() && results.iter().all(|r| r == "SUCCESS"),
        "{results:?}"
    );
    let answer = query(
        &s,
        r#"{service_name="pylogs"}"#,
        &[("X-Loki-Response-Encoding-Flags", "categorize-labels")],
    );
    let mut got = Vec::new();
    for stream in answer["data"]["result"].as_array().unwrap() {
        // The SDK adds service.instance.id, which Loki also indexes.
        let labels = stream["stream"].as_object().unwrap();
        assert_eq!(labels["service_name"], "pylogs");
        assert!(
            labels
                .keys()
                .all(|k| k == "service_name" || k == "service_instance_id"),
            "{labels:?}"
        );
        for v in stream["values"].as_array().unwrap() {
            let ts: i64 = v[0].as_str().unwrap().parse().unwrap();
            got.push((
                ts,
                v[1].as_str().unwrap().to_string(),
                v[2]["structuredMetadata"].clone(),
            ));
        }
    }
    got.sort_by_key(|g| g.0);
    let sent = sdk["sent"].as_array().unwrap();
    assert_eq!(got.len(), sent.len());
    for ((_, line, md), want) in got.iter().zip(sent) {
        assert_eq!(line, want["line"].as_str().unwrap());
        assert_eq!(md["severity_text"], want["severity"]);
        assert_eq!(md["host_name"], "box1");
        assert_eq!(md["scope_name"], "otlp.test");
        match want["trace_id"].as_str() {
            Some(t) => assert_eq!(md["trace_id"], t, "{line}"),
            None => assert_eq!(md.get("trace_id"), None, "{line}"),
        }
    }
    // The same path under Loki's prefix, and a body that does not decode.
    let r = s.post(
        "/otlp/v1/logs",
        &[("Content-Type", "application/x-protobuf")],
        b"\x0a\x05ab",
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

/// Index stats and volumes, detected fields and labels, patterns.
#[test]
fn index_and_discovery() {
    let s = TestServer::start();
    let t = now_ns();
    let body = json!({"streams": [
        {"stream": {"app": "v", "env": "a"}, "values": [
            [t.to_string(), "status=200 took=12ms"],
            [(t + 1).to_string(), "status=500 took=1.5s"],
            [(t + 2).to_string(), "status=404 took=3ms"],
        ]},
        {"stream": {"app": "v", "env": "b"}, "values": [[t.to_string(), "status=200 took=1s x"]]},
    ]});
    let r = s.post(
        "/loki/api/v1/push",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let sel = urlencode(r#"{app="v"}"#);
    let window = format!("start={}&end={}", t - 60_000_000_000, t + 60_000_000_000);

    let stats = s
        .get(&format!("/loki/api/v1/index/stats?query={sel}&{window}"))
        .json();
    assert_eq!(
        (&stats["streams"], &stats["entries"], &stats["bytes"]),
        (&json!(2), &json!(4), &json!(79))
    );
    assert_eq!(
        stats["chunks"], 2,
        "one open chunk a stream, nothing flushed"
    );

    let v = s
        .get(&format!("/loki/api/v1/index/volume?query={sel}&{window}"))
        .json();
    assert_eq!(v["data"]["resultType"], "vector");
    assert_eq!(v["data"]["result"][0]["metric"], json!({"app": "v"}));
    assert_eq!(v["data"]["result"][0]["value"][1], "79");
    let v = s
        .get(&format!(
            "/loki/api/v1/index/volume?query={sel}&{window}&targetLabels=env"
        ))
        .json();
    let by_env: Vec<(Value, Value)> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["metric"].clone(), r["value"][1].clone()))
        .collect();
    assert_eq!(
        by_env,
        vec![
            (json!({"env": "a"}), json!("59")),
            (json!({"env": "b"}), json!("20"))
        ]
    );
    // By label name: each stream's bytes count under each of its names.
    let by_name = |extra: &str| -> Vec<(Value, Value)> {
        s.get(&format!(
            "/loki/api/v1/index/volume?query={sel}&{window}&aggregateBy=labels{extra}"
        ))
        .json()["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["metric"].clone(), r["value"][1].clone()))
            .collect()
    };
    assert_eq!(
        by_name(""),
        vec![
            (json!({"app": ""}), json!("79")),
            (json!({"env": ""}), json!("79"))
        ]
    );
    assert_eq!(
        by_name("&targetLabels=env"),
        vec![(json!({"env": ""}), json!("79"))]
    );
    let r = s.get(&format!(
        "/loki/api/v1/index/volume?query={sel}&{window}&aggregateBy=stream"
    ));
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s.get(&format!(
        "/loki/api/v1/index/volume_range?query={sel}&{window}&step=60&aggregateBy=labels"
    ));
    let names: Vec<Value> = r.json()["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metric"].clone())
        .collect();
    assert_eq!(names, vec![json!({"app": ""}), json!({"env": ""})]);
    let r = s.get(&format!(
        "/loki/api/v1/index/volume_range?query={sel}&{window}&step=60"
    ));
    assert_eq!(r.json()["data"]["resultType"], "matrix", "{}", r.text());
    let v = r.json();
    assert_eq!(v["data"]["result"][0]["metric"], json!({"app": "v"}));
    let total: u64 = v["data"]["result"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 79, "every line's bytes in some step: {v}");

    let f = s
        .get(&format!(
            "/loki/api/v1/detected_fields?query={sel}&{window}"
        ))
        .json();
    let fields: BTreeMap<String, (String, u64)> = f["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["label"].as_str().unwrap().to_string(),
                (
                    x["type"].as_str().unwrap().to_string(),
                    x["cardinality"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(fields["status"], ("int".to_string(), 3));
    assert_eq!(fields["took"], ("duration".to_string(), 4));

    let l = s
        .get(&format!(
            "/loki/api/v1/detected_labels?query={sel}&{window}"
        ))
        .json();
    assert_eq!(
        l["detectedLabels"],
        json!([{"label": "app", "cardinality": 1}, {"label": "env", "cardinality": 2}])
    );
    let p = s
        .get(&format!("/loki/api/v1/patterns?query={sel}&{window}"))
        .json();
    assert_eq!(p["data"], json!([]));
}

/// Past the ingestion rate, a push is refused whole with 429, retryable.
#[test]
fn ingestion_rate_limit_is_429() {
    let s = TestServer::start_with(|c| {
        c.logs.ingestion_rate_mb = 0.0001; // ~105 bytes per second
        c.logs.ingestion_burst_size_mb = 0.0001;
    });
    let push = |line: &str| {
        let body = json!({"streams": [{"stream": {"app": "rl"}, "values": [[now_ns().to_string(), line]]}]});
        s.post(
            "/loki/api/v1/push",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    };
    assert_eq!(push("small").status, 204);
    let r = push(&"x".repeat(200));
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(
        r.text().contains("ingestion rate limit exceeded"),
        "{}",
        r.text()
    );
    assert!(r.header("retry-after").is_some());
    assert_eq!(lines(&query(&s, r#"{app="rl"}"#, &[])).len(), 1);
}

/// LogQL rules (Loki's ruler format, `log_rule_files`): a recording rule's
/// result lands in the metric store, an alerting rule fires; both listed
/// where Grafana's Loki data source looks for them.
#[test]
fn log_rules_record_and_alert() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("loki-rules.yml");
    std::fs::write(
        &file,
        r#"groups:
  - name: log-errors
    interval: 1s
    rules:
      - record: app:log_errors:count5m
        expr: sum by (app) (count_over_time({app="ruled"} |= "error" [5m]))
      - alert: ManyLogErrors
        expr: sum by (app) (count_over_time({app="ruled"} | logfmt | level="error" [5m])) > 1
        labels: {severity: page}
"#,
    )
    .unwrap();
    let path = file.display().to_string();
    let s = TestServer::start_with(|c| {
        c.log_rule_files = vec![path];
        c.evaluation_interval = "1s".into();
    });
    let t = now_ns();
    let body = json!({"streams": [{"stream": {"app": "ruled"}, "values": [
        [t.to_string(), "level=error msg=boom"],
        [(t + 1).to_string(), "level=info msg=ok"],
        [(t + 2).to_string(), "level=error msg=again"],
    ]}]});
    let r = s.post(
        "/loki/api/v1/push",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let v = s
            .get(&format!(
                "/api/v1/query?query={}",
                urlencode("app:log_errors:count5m")
            ))
            .json();
        let alerts = s.get("/prometheus/api/v1/alerts").json();
        let recorded = v["data"]["result"][0]["value"][1].as_str() == Some("2");
        let firing = alerts["data"]["alerts"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x["labels"]["alertname"] == "ManyLogErrors")
        });
        if recorded && firing {
            assert_eq!(v["data"]["result"][0]["metric"]["app"], "ruled");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rule results: {v} {alerts}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let rules = s.get("/prometheus/api/v1/rules").json();
    assert_eq!(rules["data"]["groups"][0]["name"], "log-errors", "{rules}");
}

/// Deletion by query: gone at once, and still gone after a restart (the
/// deletion is a WAL record replay applies again).
#[test]
fn deletion_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let t = now_ns();
    let body = json!({"streams": [{"stream": {"app": "del"}, "values": [
        [t.to_string(), "user=ann password=hunter2"],
        [(t + 1).to_string(), "user=bob ok"],
        [(t + 2).to_string(), "user=cy password=xyz"],
    ]}]});
    {
        let s = TestServer::start_in(dir.path(), |_| {});
        let r = s.post(
            "/loki/api/v1/push",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status, 204, "{}", r.text());
        let bad = s.post_form(
            "/loki/api/v1/delete",
            &[("query", r#"{app="del"} | json"#), ("start", "0")],
        );
        assert_eq!(bad.status, 400, "{}", bad.text());
        assert!(bad.text().contains("line filters only"), "{}", bad.text());
        let r = s.post_form(
            "/loki/api/v1/delete",
            &[("query", r#"{app="del"} |= "password""#), ("start", "0")],
        );
        assert_eq!(r.status, 204, "{}", r.text());
        let left: Vec<String> = lines(&query(&s, r#"{app="del"}"#, &[]))
            .into_iter()
            .map(|x| x.1)
            .collect();
        assert_eq!(left, vec!["user=bob ok"]);
    }
    let s = TestServer::start_in(dir.path(), |_| {});
    let left: Vec<String> = lines(&query(&s, r#"{app="del"}"#, &[]))
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(left, vec!["user=bob ok"], "after a restart");
}

/// Lines flushed into a block by `/api/v1/admin/tsdb/compact` are served
/// from it, a deletion rewrites it, and both hold after a restart.
#[test]
fn blocks_serve_flushed_lines_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let t = now_ns();
    let values: Vec<Value> = (0..100)
        .map(|i| json!([(t + i).to_string(), format!("request {i} token=t{i}")]))
        .collect();
    let body = json!({"streams": [{"stream": {"app": "flushed"}, "values": values}]});
    let gauge = |s: &TestServer, name: &str| -> f64 {
        let text = s.get("/metrics").text();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let all = |s: &TestServer| -> Vec<String> {
        lines(&query(s, r#"{app="flushed"}"#, &[]))
            .into_iter()
            .map(|x| x.1)
            .collect()
    };
    {
        let s = TestServer::start_in(dir.path(), |_| {});
        let r = s.post(
            "/loki/api/v1/push",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status, 204, "{}", r.text());
        let r = s.post("/api/v1/admin/tsdb/compact", &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(gauge(&s, "almanac_log_blocks"), 1.0);
        assert_eq!(gauge(&s, "almanac_log_head_bytes"), 0.0);
        assert_eq!(all(&s).len(), 100, "served from the block");
        let r = s.post_form(
            "/loki/api/v1/delete",
            &[
                ("query", r#"{app="flushed"} |= "token=t7""#),
                ("start", "0"),
            ],
        );
        assert_eq!(r.status, 204, "{}", r.text());
        let left = all(&s);
        assert_eq!(left.len(), 89, "t7 and t70..t79 deleted");
        assert!(left.iter().all(|l| !l.contains("token=t7")));
    }
    assert!(dir.path().join("logs/blocks").read_dir().unwrap().count() == 1);
    let s = TestServer::start_in(dir.path(), |_| {});
    let left = all(&s);
    assert_eq!(left.len(), 89, "after a restart");
    assert_eq!(gauge(&s, "almanac_log_blocks"), 1.0);
    let rare = lines(&query(&s, r#"{app="flushed"} |= "token=t42""#, &[]));
    assert_eq!(rare.len(), 1);
}
