//! The span store through the real server: the real OpenTelemetry Python
//! SDK (installed by `scripts/test.sh`) sends nested traces; every span
//! comes back by id through both Tempo endpoints, field for field; TraceQL
//! and legacy searches return exactly the traces the SDK's own record says
//! they should; bad requests get 4xx with a reason and keep the good spans.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use almanac::harness::{TestServer, urlencode};
use almanac::span_gen;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::Message;
use serde_json::{Value, json};

/// Tempo's `TraceByIDResponse`: the trace (field 1) and its status.
#[derive(Clone, PartialEq, prost::Message)]
struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    trace: Option<TracesData>,
    #[prost(int32, tag = "3")]
    status: i32,
}

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

fn run_sdk(s: &TestServer, mode: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp/traces.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("http://{}/v1/traces", s.addr))
        .arg(mode)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the SDK script failed (scripts/test.sh installs opentelemetry-sdk and \
         opentelemetry-exporter-otlp-proto-http): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("recorded JSON")
}

fn any_json(v: &AnyValue) -> Value {
    use any_value::Value as V;
    match &v.value {
        Some(V::StringValue(s)) => json!(s),
        Some(V::IntValue(i)) => json!(i),
        Some(V::DoubleValue(d)) => json!(d),
        Some(V::BoolValue(b)) => json!(b),
        Some(V::ArrayValue(a)) => Value::Array(a.values.iter().map(any_json).collect()),
        other => panic!("unexpected attribute value {other:?}"),
    }
}

fn attrs_json(kvs: &[KeyValue]) -> Value {
    kvs.iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map_or(Value::Null, any_json),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Stored spans in the script's record format, by span id.
fn normalize(data: &TracesData) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for rs in &data.resource_spans {
        let resource = rs
            .resource
            .as_ref()
            .map_or(json!({}), |r| attrs_json(&r.attributes));
        for ss in &rs.scope_spans {
            let scope = ss
                .scope
                .as_ref()
                .map_or(json!(["", ""]), |s| json!([s.name, s.version]));
            for s in &ss.spans {
                let status = s.status.clone().unwrap_or_default();
                let v = json!({
                    "trace_id": hex(&s.trace_id),
                    "span_id": hex(&s.span_id),
                    "parent_span_id": hex(&s.parent_span_id),
                    "name": s.name,
                    "kind": s.kind,
                    "start": s.start_time_unix_nano,
                    "end": s.end_time_unix_nano,
                    "attributes": attrs_json(&s.attributes),
                    "events": s.events.iter().map(|e| json!({"name": e.name, "time": e.time_unix_nano, "attributes": attrs_json(&e.attributes)})).collect::<Vec<_>>(),
                    "links": s.links.iter().map(|l| json!({"trace_id": hex(&l.trace_id), "span_id": hex(&l.span_id), "attributes": attrs_json(&l.attributes)})).collect::<Vec<_>>(),
                    "status": {"code": status.code, "message": status.message},
                    "resource": resource,
                    "scope": scope,
                });
                assert!(
                    out.insert(hex(&s.span_id), v).is_none(),
                    "span {} twice",
                    hex(&s.span_id)
                );
            }
        }
    }
    out
}

fn get_proto(s: &TestServer, path: &str) -> (u16, Vec<u8>) {
    let r = almanac::harness::request(
        s.addr,
        "GET",
        path,
        &[("Accept", "application/protobuf")],
        b"",
    )
    .unwrap();
    (r.status, r.body)
}

/// The trace ids `q` finds.
fn search(s: &TestServer, params: &str) -> BTreeSet<String> {
    let v = s.get(&format!("/api/search?limit=1000&{params}")).json();
    let traces = v["traces"]
        .as_array()
        .unwrap_or_else(|| panic!("{params}: {v}"));
    traces
        .iter()
        .map(|t| t["traceID"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn traceql(s: &TestServer, q: &str) -> BTreeSet<String> {
    search(s, &format!("q={}", urlencode(q)))
}

#[test]
fn python_sdk_traces_come_back_whole_and_searchable() {
    let s = TestServer::start();
    let sent = run_sdk(&s, "shop");
    let spans = sent.as_array().expect("spans");
    assert_eq!(spans.len(), 30 * 4);
    let mut by_trace: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for sp in spans {
        let t = sp["trace_id"].as_str().unwrap().to_owned();
        by_trace
            .entry(t)
            .or_default()
            .insert(sp["span_id"].as_str().unwrap().to_owned(), sp.clone());
    }
    assert_eq!(by_trace.len(), 30);

    for (id, want) in &by_trace {
        let (status, body) = get_proto(&s, &format!("/api/v2/traces/{id}"));
        assert_eq!(status, 200, "{id}");
        let resp = TraceByIdResponse::decode(&body[..]).expect("TraceByIDResponse");
        assert_eq!(resp.status, 0, "complete");
        assert_eq!(&normalize(&resp.trace.unwrap_or_default()), want, "v2 {id}");
        let (status, body) = get_proto(&s, &format!("/api/traces/{id}"));
        assert_eq!(status, 200, "{id}");
        let trace = TracesData::decode(&body[..]).expect("tempopb.Trace");
        assert_eq!(&normalize(&trace), want, "v1 {id}");
        let j = s.get(&format!("/api/v2/traces/{id}")).json();
        let n: usize = j["trace"]["resourceSpans"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|rs| rs["scopeSpans"].as_array().unwrap())
            .map(|ss| ss["spans"].as_array().unwrap().len())
            .sum();
        assert_eq!(n, want.len(), "JSON {id}");
    }
    let missing = "0af7651916cd43dd8448eb211c80319c";
    assert_eq!(get_proto(&s, &format!("/api/v2/traces/{missing}")).0, 404);
    assert_eq!(s.get("/api/traces/not-hex").status, 400);

    // Search answers against the SDK's own record.
    let traces_where = |f: &dyn Fn(&Value) -> bool| -> BTreeSet<String> {
        by_trace
            .iter()
            .filter(|(_, spans)| spans.values().any(f))
            .map(|(id, _)| id.clone())
            .collect()
    };
    let dur = |sp: &Value| sp["end"].as_u64().unwrap() - sp["start"].as_u64().unwrap();
    let errors = traces_where(&|sp| sp["status"]["code"] == 2);
    let slow = traces_where(&|sp| dur(sp) > 500_000_000);
    let cash = traces_where(&|sp| sp["attributes"]["payment.method"] == "cash");
    let home = traces_where(&|sp| sp["parent_span_id"] == "" && sp["name"] == "GET /home");
    let all: BTreeSet<String> = by_trace.keys().cloned().collect();
    assert!(!errors.is_empty() && !slow.is_empty() && !cash.is_empty() && home.len() == 15);
    let cases: Vec<(&str, BTreeSet<String>)> = vec![
        ("{ status = error }", errors.clone()),
        ("{ duration > 500ms }", slow.clone()),
        ("{ traceDuration > 500ms }", slow.clone()),
        (r#"{ span.payment.method = "cash" }"#, cash.clone()),
        (
            r#"{ resource.service.name = "db" && span.db.system = "postgresql" }"#,
            all.clone(),
        ),
        (r#"{ rootName = "GET /home" }"#, home.clone()),
        (
            r#"{ rootServiceName = "frontend" && kind = producer }"#,
            all.clone(),
        ),
        (
            r#"{ name = "charge" } >> { status = error }"#,
            errors.clone(),
        ),
        ("{ span.http.status_code >= 500 }", errors.clone()),
        (
            r#"{ status = error } && { span.payment.method = "cash" }"#,
            errors.intersection(&cash).cloned().collect(),
        ),
        (
            r#"{ status = error } || { duration > 500ms }"#,
            errors.union(&slow).cloned().collect(),
        ),
        (r#"{ name = "nothing like this" }"#, BTreeSet::new()),
    ];
    for (q, want) in cases {
        assert_eq!(traceql(&s, q), want, "{q}");
    }
    let legacy = search(
        &s,
        &format!(
            "tags={}",
            urlencode("service.name=checkout payment.method=cash")
        ),
    );
    assert_eq!(legacy, cash, "legacy tags");
    assert_eq!(search(&s, "minDuration=500ms"), slow, "legacy minDuration");

    // A hit as Grafana reads it.
    let v = s
        .get(&format!(
            "/api/search?q={}&limit=1",
            urlencode("{ status = error }")
        ))
        .json();
    let hit = &v["traces"][0];
    assert_eq!(hit["rootServiceName"], "frontend", "{v}");
    assert!(
        hit["rootTraceName"].as_str().unwrap().starts_with("GET /"),
        "{v}"
    );
    assert_eq!(hit["spanSets"][0]["matched"], 1, "{v}");
    assert_eq!(hit["serviceStats"]["db"]["errorCount"], 1, "{v}");
    let v = s
        .get(&format!(
            "/api/search?q={}&limit=1",
            urlencode(r#"{ span.payment.method = "cash" }"#)
        ))
        .json();
    let attrs = &v["traces"][0]["spanSets"][0]["spans"][0]["attributes"];
    assert!(
        attrs.as_array().is_some_and(
            |a| a.contains(&json!({"key": "payment.method", "value": {"stringValue": "cash"}}))
        ),
        "the matched span shows the attribute the query reads: {v}"
    );

    // Tags and values.
    let v = s.get("/api/v2/search/tags?scope=span").json();
    let span_tags = v["scopes"][0]["tags"].as_array().unwrap();
    assert!(span_tags.contains(&json!("payment.method")), "{v}");
    let v = s
        .get("/api/v2/search/tag/span.payment.method/values")
        .json();
    assert_eq!(
        v["tagValues"],
        json!([{"type": "string", "value": "card"}, {"type": "string", "value": "cash"}])
    );
    let v = s.get("/api/search/tag/service.name/values").json();
    assert_eq!(
        v["tagValues"],
        json!(["checkout", "db", "frontend", "queue"]),
        "{v}"
    );
    let v = s
        .get("/api/v2/search/tag/resource.service.name/values")
        .json();
    assert_eq!(v["tagValues"].as_array().unwrap().len(), 4, "{v}");

    // Health and build info as Grafana checks them.
    assert_eq!(s.get("/api/echo").text(), "echo");
    assert_eq!(s.get("/ready").status, 200);
    assert!(s.get("/api/status/buildinfo").json()["version"].is_string());
}

fn post_traces(
    s: &TestServer,
    ct: &str,
    encoding: Option<&str>,
    body: &[u8],
) -> almanac::harness::Response {
    let mut headers = vec![("Content-Type", ct)];
    if let Some(e) = encoding {
        headers.push(("Content-Encoding", e));
    }
    s.post("/v1/traces", &headers, body)
}

#[test]
fn bad_requests_are_refused_with_reasons_and_keep_the_good_spans() {
    use std::io::Write;
    let s = TestServer::start_with(|c| c.max_decompressed_bytes = 1 << 20);
    let t0 = 1_765_000_000_000_000_000;
    let good = span_gen::span(span_gen::trace_id(1), 1, None, "good", t0, 1_000);
    let mut short_id = span_gen::span(span_gen::trace_id(2), 1, None, "short id", t0, 1_000);
    short_id.trace_id.truncate(8);
    let mut backwards = span_gen::span(span_gen::trace_id(3), 1, None, "backwards", t0, 1_000);
    backwards.end_time_unix_nano = t0 - 1;
    let mixed =
        span_gen::request("svc", vec![good.clone(), short_id.clone(), backwards]).encode_to_vec();
    let all_bad = span_gen::request("svc", vec![short_id]).encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 8 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    let json_unknown = format!(
        r#"{{"resourceSpans":[{{"futureField":1,"scopeSpans":[{{"spans":[{{"traceId":"{}","spanId":"00000000000000aa","name":"from json","startTimeUnixNano":"{t0}","endTimeUnixNano":"{}","unknownSpanField":{{"x":1}}}}]}}]}}]}}"#,
        hex(&span_gen::trace_id(4)),
        t0 + 5
    );
    let proto = "application/x-protobuf";
    struct Case<'a> {
        name: &'a str,
        ct: &'a str,
        encoding: Option<&'a str>,
        body: Vec<u8>,
        status: u16,
        reason: &'a str,
    }
    let cases = [
        Case {
            name: "malformed protobuf",
            ct: proto,
            encoding: None,
            body: b"\x0a\xff\xff\xff".to_vec(),
            status: 400,
            reason: "protobuf",
        },
        Case {
            name: "empty body",
            ct: proto,
            encoding: None,
            body: vec![],
            status: 400,
            reason: "empty body",
        },
        Case {
            name: "every span refused",
            ct: proto,
            encoding: None,
            body: all_bad,
            status: 400,
            reason: "trace_id is 8 bytes, not 16",
        },
        Case {
            name: "gzip bomb",
            ct: proto,
            encoding: Some("gzip"),
            body: bomb,
            status: 413,
            reason: "over the limit",
        },
        Case {
            name: "not gzip",
            ct: proto,
            encoding: Some("gzip"),
            body: b"plain".to_vec(),
            status: 400,
            reason: "gzip",
        },
        Case {
            name: "bad content type",
            ct: "text/plain",
            encoding: None,
            body: b"x".to_vec(),
            status: 400,
            reason: "unsupported content type",
        },
        Case {
            name: "invalid JSON",
            ct: "application/json",
            encoding: None,
            body: b"{".to_vec(),
            status: 400,
            reason: "invalid JSON",
        },
        Case {
            name: "mixed: good spans kept",
            ct: proto,
            encoding: None,
            body: mixed,
            status: 200,
            reason: "ends before it starts",
        },
        Case {
            name: "JSON with unknown fields (ignored, as the spec says)",
            ct: "application/json",
            encoding: None,
            body: json_unknown.into_bytes(),
            status: 200,
            reason: "",
        },
    ];
    for c in cases {
        let r = post_traces(&s, c.ct, c.encoding, &c.body);
        assert_eq!(r.status, c.status, "{}: {}", c.name, r.text());
        if c.status >= 400 {
            let reason = if c.ct == "application/json" {
                r.json()["message"].as_str().unwrap_or_default().to_owned()
            } else {
                RpcStatus::decode(&r.body[..])
                    .map(|st| st.message)
                    .unwrap_or_else(|e| panic!("{}: {e}", c.name))
            };
            assert!(reason.contains(c.reason), "{}: {reason}", c.name);
        } else if c.ct == proto {
            let resp = ExportTraceServiceResponse::decode(&r.body[..]).unwrap();
            let partial = resp.partial_success.unwrap_or_default();
            assert_eq!(partial.rejected_spans, 2, "{}", c.name);
            assert!(
                partial.error_message.contains(c.reason),
                "{}: {}",
                c.name,
                partial.error_message
            );
            assert!(
                partial.error_message.contains("trace_id is 8 bytes"),
                "{}",
                partial.error_message
            );
        } else {
            assert_eq!(r.json(), json!({}), "{}", c.name);
        }
    }
    for (i, name) in [(1, "good"), (4, "from json")] {
        let (status, body) = get_proto(&s, &format!("/api/traces/{}", hex(&span_gen::trace_id(i))));
        assert_eq!(status, 200, "{name}");
        let t = TracesData::decode(&body[..]).unwrap();
        assert_eq!(t.resource_spans[0].scope_spans[0].spans[0].name, name);
    }
    for i in [2, 3] {
        assert_eq!(
            get_proto(&s, &format!("/api/traces/{}", hex(&span_gen::trace_id(i)))).0,
            404
        );
    }
    let metrics = s.get("/metrics").text();
    assert!(
        metrics.contains("almanac_spans_refused_total 3"),
        "{metrics}"
    );
    assert_eq!(s.get("/api/echo").text(), "echo", "still serving");
    let _ = ExportTraceServiceRequest::default();
}

/// The SDK's record grouped by trace id, then span id.
fn by_trace(sent: &Value) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut out: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for sp in sent.as_array().expect("spans") {
        out.entry(sp["trace_id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(sp["span_id"].as_str().unwrap().to_owned(), sp.clone());
    }
    out
}

const KINDS: [&str; 6] = [
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];
const STATUSES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

/// A span's span-metric series key: service, name, kind, status.
fn red_key(sp: &Value) -> String {
    format!(
        "{}|{}|{}|{}",
        sp["resource"]["service.name"].as_str().unwrap(),
        sp["name"].as_str().unwrap(),
        KINDS[sp["kind"].as_u64().unwrap() as usize],
        STATUSES[sp["status"]["code"].as_u64().unwrap() as usize],
    )
}

/// An instant query's answer as `series key -> value`.
fn instant(s: &TestServer, q: &str) -> BTreeMap<String, f64> {
    let v = s
        .get(&format!("/api/v1/query?query={}", urlencode(q)))
        .json();
    let result = v["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{q}: {v}"));
    result
        .iter()
        .map(|r| {
            let m = &r["metric"];
            let key = if m.get("client").is_some() {
                format!(
                    "{}->{}",
                    m["client"].as_str().unwrap(),
                    m["server"].as_str().unwrap()
                )
            } else {
                format!(
                    "{}|{}|{}|{}",
                    m["service"].as_str().unwrap(),
                    m["span_name"].as_str().unwrap(),
                    m["span_kind"].as_str().unwrap(),
                    m["status_code"].as_str().unwrap()
                )
            };
            (key, r["value"][1].as_str().unwrap().parse().unwrap())
        })
        .collect()
}

/// Polls `q` until it answers `want` (span metrics are written every
/// second, edges once a trace is decided), for at most 30 s.
fn eventually(s: &TestServer, q: &str, want: &BTreeMap<String, f64>) {
    let mut got = BTreeMap::new();
    for _ in 0..300 {
        got = instant(s, q);
        let close = got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|((k, a), (w, b))| k == w && (a - b).abs() <= 1e-9 * b.abs().max(1.0));
        if close {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(&got, want, "{q}");
}

#[test]
fn span_metrics_exemplars_and_jaeger_answer_from_the_sdk_record() {
    let s = TestServer::start_with(|c| {
        c.traces.trace_idle_period = "1s".into();
        c.traces.span_metrics.interval = "1s".into();
    });
    let traces = by_trace(&run_sdk(&s, "shop"));
    let spans: Vec<&Value> = traces.values().flat_map(|t| t.values()).collect();
    let dur =
        |sp: &Value| (sp["end"].as_u64().unwrap() - sp["start"].as_u64().unwrap()) as f64 / 1e9;

    // RED metrics: calls, and the latency histogram's count, sum and the
    // share at or under 0.5 s (a bucket boundary, so exact).
    let mut calls: BTreeMap<String, f64> = BTreeMap::new();
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    let mut fast: BTreeMap<String, f64> = BTreeMap::new();
    for sp in &spans {
        let k = red_key(sp);
        *calls.entry(k.clone()).or_default() += 1.0;
        *sums.entry(k.clone()).or_default() += dur(sp);
        *fast.entry(k).or_default() += f64::from(u8::from(dur(sp) <= 0.5));
    }
    let fractions: BTreeMap<String, f64> = fast
        .iter()
        .map(|(k, n)| (k.clone(), n / calls[k]))
        .collect();
    eventually(&s, "traces_spanmetrics_calls_total", &calls);
    eventually(&s, "histogram_count(traces_spanmetrics_latency)", &calls);
    eventually(&s, "histogram_sum(traces_spanmetrics_latency)", &sums);
    eventually(
        &s,
        "histogram_fraction(0, 0.5, traces_spanmetrics_latency)",
        &fractions,
    );

    // The service graph: checkout's client span calls db's server span.
    let failed = traces
        .values()
        .filter(|t| {
            t.values()
                .any(|sp| sp["name"] == "SELECT orders" && sp["status"]["code"] == 2)
        })
        .count() as f64;
    assert!(failed > 0.0);
    let edge = |n: f64| BTreeMap::from([("checkout->db".to_string(), n)]);
    eventually(&s, "traces_service_graph_request_total", &edge(30.0));
    eventually(
        &s,
        "traces_service_graph_request_failed_total",
        &edge(failed),
    );
    eventually(
        &s,
        "histogram_count(traces_service_graph_request_server_seconds)",
        &edge(30.0),
    );

    // Exemplars link each series to a trace that is stored.
    let v = s
        .get(&format!(
            "/api/v1/query_exemplars?query={}&start=0&end=4102444800",
            urlencode("traces_spanmetrics_latency")
        ))
        .json();
    let series = v["data"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        series.len(),
        calls.len(),
        "one exemplar series per latency series: {v}"
    );
    for sr in series {
        let id = sr["exemplars"][0]["labels"]["trace_id"].as_str().unwrap();
        assert!(traces.contains_key(id), "{id} was sent");
        let span_of_series = traces[id].values().any(|sp| {
            sp["name"] == sr["seriesLabels"]["span_name"]
                && sp["resource"]["service.name"] == sr["seriesLabels"]["service"]
        });
        assert!(span_of_series, "{sr}");
        assert_eq!(s.get(&format!("/api/traces/{id}")).status, 200, "{id}");
    }

    // Jaeger: services, operations, searches and traces by id.
    let data = |path: &str| s.get(&format!("/jaeger/api/{path}")).json()["data"].clone();
    assert_eq!(
        data("services"),
        json!(["checkout", "db", "frontend", "queue"])
    );
    assert_eq!(data("services/checkout/operations"), json!(["charge"]));
    assert_eq!(data("operations?service=db")[0]["name"], "SELECT orders");
    let ids = |params: &str| -> BTreeSet<String> {
        data(&format!("traces?limit=100&{params}"))
            .as_array()
            .unwrap_or_else(|| panic!("{params}"))
            .iter()
            .map(|t| t["traceID"].as_str().unwrap().to_owned())
            .collect()
    };
    let where_span = |f: &dyn Fn(&Value) -> bool| -> BTreeSet<String> {
        traces
            .iter()
            .filter(|(_, t)| t.values().any(f))
            .map(|(id, _)| id.clone())
            .collect()
    };
    let cases: Vec<(&str, BTreeSet<String>)> = vec![
        (
            "service=db&tags=%7B%22error%22%3A%22true%22%7D",
            where_span(&|sp| sp["name"] == "SELECT orders" && sp["status"]["code"] == 2),
        ),
        (
            "service=checkout&operation=charge&minDuration=500ms",
            where_span(&|sp| sp["name"] == "charge" && dur(sp) >= 0.5),
        ),
        (
            "service=frontend&tags=%7B%22http.route%22%3A%22%2Fhome%22%7D",
            where_span(&|sp| sp["attributes"]["http.route"] == "/home"),
        ),
        (
            "service=queue&maxDuration=2ms",
            traces.keys().cloned().collect(),
        ),
        ("service=db&operation=charge", BTreeSet::new()),
    ];
    for (params, want) in cases {
        assert!(
            params.contains("operation=charge") || !want.is_empty(),
            "{params}"
        );
        assert_eq!(ids(params), want, "{params}");
    }
    for (id, want) in &traces {
        let t = &data(&format!("traces/{id}"))[0];
        let got: BTreeMap<String, Value> = t["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sp| {
                let pid = sp["processID"].as_str().unwrap();
                let parent = sp["references"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["refType"] == "CHILD_OF")
                    .map_or(json!(""), |r| r["spanID"].clone());
                let v = json!([
                    sp["operationName"],
                    t["processes"][pid]["serviceName"],
                    parent,
                    sp["startTime"],
                    sp["duration"],
                    sp["logs"].as_array().unwrap().len(),
                ]);
                (sp["spanID"].as_str().unwrap().to_owned(), v)
            })
            .collect();
        let expected: BTreeMap<String, Value> = want
            .iter()
            .map(|(sid, sp)| {
                let (start, end) = (sp["start"].as_u64().unwrap(), sp["end"].as_u64().unwrap());
                let v = json!([
                    sp["name"],
                    sp["resource"]["service.name"],
                    sp["parent_span_id"],
                    start / 1000,
                    (end - start) / 1000,
                    sp["events"].as_array().unwrap().len(),
                ]);
                (sid.clone(), v)
            })
            .collect();
        assert_eq!(got, expected, "jaeger {id}");
    }
    // The dependency graph from the service-graph counters.
    assert_eq!(
        data("dependencies?lookback=3600000"),
        json!([{"parent": "checkout", "child": "db", "callCount": 30}])
    );

    // Errors in Jaeger's envelope, with the HTTP status.
    let missing = s.get("/jaeger/api/traces/0af7651916cd43dd8448eb211c80319c");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["errors"][0]["code"], 404);
    let bad = s.get("/jaeger/api/traces?service=db&tags=%7Bnope");
    assert_eq!(bad.status, 400);
    let msg = bad.json()["errors"][0]["msg"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(msg.contains("invalid tags"), "{msg}");
}
