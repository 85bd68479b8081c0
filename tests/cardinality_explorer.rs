//! The cardinality explorer through the real server, checked against
//! counts made by brute force over the written series: `/api/v1/status/
//! tsdb` over the head and over time ranges read from blocks (with the
//! 422 cap), created and active series, Mimir's `/api/v1/cardinality/*`,
//! `/api/v1/status/metric_names_stats` with its reset, and the
//! `almanac_active_series` / `almanac_series_created_total` self-metrics.

use std::collections::BTreeMap;

use almanac::harness::{TestServer, urlencode};
use serde_json::{Value, json};
use tsdb::model::{Labels, Sample};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const END: i64 = 5 * HOUR;

/// Every written series with its samples, every 10 minutes:
/// - `old{i}` (5): from 0 to 1 h, then silent;
/// - `steady{job,inst}` (6): all along;
/// - `late{user}` (8): from 4 h 30 on;
/// - `gone{x}` (2): until 3 h.
fn data() -> Vec<(Labels, Vec<Sample>)> {
    let every = |from: i64, to: i64| -> Vec<Sample> {
        (0..)
            .map(|k| from + k * 10 * MIN)
            .take_while(|t| *t <= to)
            .map(|t| Sample::new(t, (t / MIN) as f64))
            .collect()
    };
    let mut out = Vec::new();
    for i in 0..5 {
        let l = Labels::from_pairs(&[("__name__", "old"), ("i", &i.to_string())]);
        out.push((l, every(0, HOUR)));
    }
    for j in 0..2 {
        for k in 0..3 {
            let l = Labels::from_pairs(&[
                ("__name__", "steady"),
                ("job", &format!("j{j}")),
                ("inst", &format!("h{k}")),
            ]);
            out.push((l, every(0, END)));
        }
    }
    for u in 0..8 {
        let l = Labels::from_pairs(&[("__name__", "late"), ("user", &format!("u{u}"))]);
        out.push((l, every(4 * HOUR + 30 * MIN, END)));
    }
    for x in 0..2 {
        let l = Labels::from_pairs(&[("__name__", "gone"), ("x", &x.to_string())]);
        out.push((l, every(0, 3 * HOUR)));
    }
    out
}

/// The series with a sample in `[mint, maxt]`, by brute force.
fn in_range(mint: i64, maxt: i64) -> Vec<Labels> {
    data()
        .into_iter()
        .filter(|(_, s)| s.iter().any(|x| x.t >= mint && x.t <= maxt))
        .map(|(l, _)| l)
        .collect()
}

/// `{name: count}` of a `[{name, value}]` list.
fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn by_metric(series: &[Labels]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for l in series {
        *m.entry(l.get("__name__").to_string()).or_default() += 1;
    }
    m
}

fn pairs(series: &[Labels]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for l in series {
        for x in l.iter() {
            *m.entry(format!("{}={}", x.name, x.value)).or_default() += 1;
        }
    }
    m
}

/// A server holding [`data`], its first hours compacted into blocks.
fn server(tweak: impl FnOnce(&mut server::Config)) -> TestServer {
    let s = TestServer::start_with(tweak);
    assert_eq!(s.remote_write(&data()).status, 204);
    let state = s.state().expect("state");
    state.db.compact().expect("compact");
    assert!(!state.db.blocks().is_empty(), "data went to blocks");
    s
}

fn status(s: &TestServer, query: &str) -> Value {
    let r = s.get(&format!("/api/v1/status/tsdb?{query}"));
    assert_eq!(r.status, 200, "{query}: {}", r.text());
    r.json()["data"].clone()
}

#[test]
fn tsdb_status_over_ranges_read_from_blocks_matches_brute_force() {
    let s = server(|_| {});
    let ranges = [(0, END), (0, HOUR), (2 * HOUR, 3 * HOUR), (4 * HOUR, END)];
    for (mint, maxt) in ranges {
        let q = format!("start={}&end={}&topN=1000", mint / 1000, maxt / 1000);
        let d = status(&s, &q);
        let want = in_range(mint, maxt);
        assert_eq!(d["totalSeries"], want.len(), "{q}: {d}");
        assert_eq!(
            counts(&d["seriesCountByMetricName"]),
            by_metric(&want),
            "{q}"
        );
        assert_eq!(
            counts(&d["seriesCountByLabelValuePair"]),
            pairs(&want),
            "{q}"
        );
        assert_eq!(d["totalLabelValuePairs"], pairs(&want).len(), "{q}");
    }
    // match[] narrows every list, totals included.
    let q = format!(
        "match[]={}&match[]={}&start=0&end={}",
        urlencode(r#"{__name__="steady",job="j0"}"#),
        urlencode(r#"gone"#),
        END / 1000
    );
    let d = status(&s, &q);
    assert_eq!(d["totalSeries"], 5, "{d}");
    assert_eq!(
        counts(&d["seriesCountByMetricName"]),
        BTreeMap::from([("gone".into(), 2), ("steady".into(), 3)])
    );
    // A day: 1970-01-01 is all time, the next day holds nothing.
    assert_eq!(status(&s, "date=1970-01-01")["totalSeries"], 21);
    assert_eq!(status(&s, "date=1970-01-02")["totalSeries"], 0);
}

#[test]
fn created_and_active_series_by_metric() {
    let s = server(|_| {});
    // Created in [4h, 5h]: first sample there and none before.
    let d = status(&s, &format!("start={}&end={}", 4 * HOUR / 1000, END / 1000));
    assert_eq!(
        counts(&d["seriesCreatedByMetricName"]),
        BTreeMap::from([("late".into(), 8)]),
        "{d}"
    );
    // Active: a sample in the range's last 10 minutes.
    assert_eq!(
        counts(&d["activeSeriesCountByMetricName"]),
        BTreeMap::from([("late".into(), 8), ("steady".into(), 6)]),
        "{d}"
    );
    // From the start of time every series is new.
    let d = status(&s, &format!("start=0&end={}", END / 1000));
    assert_eq!(
        counts(&d["seriesCreatedByMetricName"]),
        by_metric(&in_range(0, END))
    );
    // The head's default answer: created in its last hour, active in its
    // last 10 minutes.
    let d = status(&s, "");
    assert_eq!(
        counts(&d["seriesCreatedByMetricName"]),
        BTreeMap::from([("late".into(), 8)]),
        "{d}"
    );
    assert_eq!(
        counts(&d["activeSeriesCountByMetricName"]),
        BTreeMap::from([("late".into(), 8), ("steady".into(), 6)])
    );
    let metrics = s.get("/metrics").text();
    assert!(
        metrics.contains("\nalmanac_active_series 14\n"),
        "{metrics}"
    );
    let created: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("almanac_series_created_total "))
        .and_then(|v| v.parse().ok())
        .expect("almanac_series_created_total");
    assert_eq!(created, 21);
}

#[test]
fn reading_more_series_than_the_cap_is_a_422() {
    let s = server(|c| c.limits.max_explorer_series = 10);
    let r = s.get(&format!("/api/v1/status/tsdb?start=0&end={}", END / 1000));
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.text().contains("limits.max_explorer_series"),
        "{}",
        r.text()
    );
    // Narrowed under the cap, the same request answers.
    let q = format!("match[]=steady&start=0&end={}", END / 1000);
    assert_eq!(status(&s, &q)["totalSeries"], 6);
    // The head's default answer reads its index, whatever the cap.
    assert_eq!(s.get("/api/v1/status/tsdb").status, 200);
    // Mimir's endpoints answer 413, as Mimir does for a result too large.
    let r = s.get("/api/v1/cardinality/label_names");
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("limits.max_explorer_series"));
    let r = s.get("/api/v1/cardinality/label_names?selector=steady");
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn keys_and_order_are_prometheus_then_victoriametrics() {
    let s = server(|_| {});
    let d = status(&s, "limit=3");
    let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys[..5],
        [
            "headStats",
            "seriesCountByMetricName",
            "labelValueCountByLabelName",
            "memoryInBytesByLabelName",
            "seriesCountByLabelValuePair"
        ]
    );
    let head: Vec<&str> = d["headStats"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        head,
        [
            "numSeries",
            "numLabelPairs",
            "chunkCount",
            "minTime",
            "maxTime"
        ]
    );
    assert_eq!(d["seriesCountByMetricName"].as_array().unwrap().len(), 3);
    assert_eq!(d["seriesCountByFocusLabelValue"], json!([]));
    for bad in ["limit=0", "limit=x", "limit=10001"] {
        let r = s.get(&format!("/api/v1/status/tsdb?{bad}"));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    // topN is clamped, never refused.
    assert_eq!(s.get("/api/v1/status/tsdb?topN=0").status, 200);
}

#[test]
fn mimir_cardinality_endpoints() {
    let s = server(|_| {});
    let sel = urlencode(r#"{__name__="steady"}"#);
    let v = s
        .get(&format!("/api/v1/cardinality/label_names?selector={sel}"))
        .json();
    assert_eq!(
        v,
        json!({
            "label_values_count_total": 6,
            "label_names_count": 3,
            "cardinality": [
                {"label_name": "inst", "label_values_count": 3},
                {"label_name": "job", "label_values_count": 2},
                {"label_name": "__name__", "label_values_count": 1},
            ],
        })
    );
    let v = s
        .get(&format!(
            "/api/v1/cardinality/label_values?label_names[]=job&label_names[]=user&selector={sel}&limit=1"
        ))
        .json();
    assert_eq!(
        v,
        json!({
            "series_count_total": 6,
            "labels": [
                {"label_name": "job", "label_values_count": 2, "series_count": 6,
                 "cardinality": [{"label_value": "j0", "series_count": 3}]},
                {"label_name": "user", "label_values_count": 0, "series_count": 0,
                 "cardinality": []},
            ],
        })
    );
    // The head holds `gone` but it is not active any more.
    let v = s
        .get("/api/v1/cardinality/label_names?count_method=active")
        .json();
    let names: Vec<&str> = v["cardinality"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label_name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"x"), "{v}");
    let v = s
        .get(&format!(
            "/api/v1/cardinality/active_series?selector={}",
            urlencode(r#"{__name__=~"steady|gone"}"#)
        ))
        .json();
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 6, "{v}");
    assert_eq!(
        data[0],
        json!({"__name__": "steady", "inst": "h0", "job": "j0"})
    );
    for (q, msg) in [
        ("label_values", "'label_names[]' param is required"),
        (
            "label_names?limit=501",
            "'limit' param cannot be greater than '500'",
        ),
        (
            "label_names?limit=-1",
            "'limit' param cannot be less than '0'",
        ),
        (
            "label_names?count_method=x",
            "invalid 'count_method' param 'x'",
        ),
        ("active_series", "missing 'selector' parameter"),
        ("label_names?selector=%7B", "failed to parse selector"),
    ] {
        let r = s.get(&format!("/api/v1/cardinality/{q}"));
        assert_eq!(r.status, 400, "{q}");
        assert!(r.text().contains(msg), "{q}: {}", r.text());
    }
}

#[test]
fn metric_names_stats_counts_queries_by_source() {
    let s = server(|_| {});
    let q = format!(
        "/api/v1/query?query={}&time={}",
        urlencode("sum(steady)"),
        END / 1000
    );
    assert_eq!(s.get(&q).status, 200);
    assert_eq!(s.get(&q).status, 200);
    // A remote read of `old` counts under its own source.
    let read = server::prompb::ReadRequest {
        queries: vec![server::prompb::Query {
            start_timestamp_ms: 0,
            end_timestamp_ms: END,
            matchers: vec![server::prompb::LabelMatcher {
                r#type: server::prompb::MatcherType::Eq as i32,
                name: "__name__".into(),
                value: "old".into(),
            }],
            hints: None,
        }],
        accepted_response_types: vec![],
    };
    let r = s.post(
        "/api/v1/read",
        &[("Content-Type", "application/x-protobuf")],
        &almanac::harness::snappy(&prost::Message::encode_to_vec(&read)),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = s.get("/api/v1/status/metric_names_stats").json();
    assert_eq!(v["status"], "success");
    assert_eq!(v["statsCollectedRecordsTotal"], 4, "{v}");
    let records = v["records"].as_array().unwrap();
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["metricName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gone", "late", "old", "steady"]);
    let steady = &records[3];
    assert_eq!(steady["queryRequestsCount"], 2, "{v}");
    assert_eq!(
        steady["queryRequestsCountBySource"],
        json!({"api": 2, "rules": 0, "remote_read": 0})
    );
    assert!(steady["lastQueryRequestTimestamp"].as_i64().unwrap() > 0);
    assert_eq!(
        records[2]["queryRequestsCountBySource"],
        json!({"api": 0, "rules": 0, "remote_read": 1})
    );
    // The tsdb status carries the counts of tracked metrics.
    let d = status(&s, "");
    let entry = d["seriesCountByMetricName"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "steady")
        .cloned()
        .unwrap();
    assert_eq!(entry["requestsCount"], 2, "{entry}");
    // le=0: the metrics nobody queries; match_pattern filters names.
    let v = s.get("/api/v1/status/metric_names_stats?le=0").json();
    let names: Vec<&str> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metricName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gone", "late"]);
    let v = s
        .get("/api/v1/status/metric_names_stats?match_pattern=ea")
        .json();
    assert_eq!(v["records"].as_array().unwrap().len(), 1, "{v}");
    // Reset: 204, then nothing counted.
    let r = s.post("/api/v1/admin/status/metric_names_stats/reset", &[], b"");
    assert_eq!(r.status, 204);
    let v = s.get("/api/v1/status/metric_names_stats?le=0").json();
    assert_eq!(v["records"].as_array().unwrap().len(), 4, "{v}");
}
