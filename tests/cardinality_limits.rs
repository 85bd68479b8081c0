//! Cardinality limits through the real server: a write that breaks a limit
//! stores everything else, answers 400 (or the configured 429) with the
//! written counts and a body naming the culprit, and the same request
//! again gives the same answer without duplicates; exempt series and
//! existing series keep ingesting.

use almanac::harness::{TestServer, urlencode};
use tsdb::model::{Labels, Sample};

fn value(s: &TestServer, q: &str) -> f64 {
    let v = s
        .get(&format!("/api/v1/query?query={}&time=100", urlencode(q)))
        .json();
    v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("{q}: {v}"))
}

fn m(i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", "m"), ("user", &format!("u-{i}"))])
}

/// 150 new `m` series (one sample each) and 50 samples of the existing `n`.
fn request() -> Vec<(Labels, Vec<Sample>)> {
    let mut series: Vec<(Labels, Vec<Sample>)> = (0..150)
        .map(|i| (m(i), vec![Sample::new(10_000, i as f64)]))
        .collect();
    let n = Labels::from_pairs(&[("__name__", "n")]);
    series.push((
        n,
        (0..50)
            .map(|k| Sample::new(20_000 + k * 1000, 1.0))
            .collect(),
    ));
    series
}

#[test]
fn a_write_over_the_per_metric_limit_stores_the_rest_and_names_the_culprit() {
    let s = TestServer::start_with(|c| c.limits.max_series_per_metric = 100);
    let r = s.remote_write(&[(
        Labels::from_pairs(&[("__name__", "n")]),
        vec![Sample::new(1000, 1.0)],
    )]);
    assert_eq!(r.status, 204, "{}", r.text());

    let r = s.remote_write(&request());
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.header("X-Prometheus-Remote-Write-Samples-Written"),
        Some("150")
    );
    let body = r.text();
    for want in [
        "err-almanac-max-series-per-metric",
        r#"metric=\"m\""#,
        "limit=100",
        "limits.max_series_per_metric",
        "rejected 50 series",
        r#"label \"user\" has 50 values"#,
        "example m{user=",
    ] {
        assert!(body.contains(want), "{want:?} in {body}");
    }
    assert_eq!(value(&s, "count(m)"), 100.0);
    assert_eq!(value(&s, "count_over_time(n[2m])"), 51.0);
    // Self-metrics count each refused series once.
    let metrics = s.get("/metrics").text();
    for want in [
        r#"almanac_rejected_series_total{reason="max_series_per_metric"} 50"#,
        r#"almanac_rejected_series_by_metric{metric="m"} 50"#,
        r#"almanac_discarded_samples_total{reason="cardinality limit"} 50"#,
        r#"almanac_limit{limit="max_series_per_metric"} 100"#,
        r#"almanac_limit_utilization_ratio{limit="max_series_per_metric"} 1"#,
        "almanac_head_series 101",
    ] {
        assert!(metrics.contains(want), "{want} in {metrics}");
    }

    // The limits status page: setting, current, utilisation, offenders and
    // the last hour's refusals.
    let status = s.get("/api/v1/status/limits").json();
    let per_metric = status["data"]["limits"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["name"] == "max_series_per_metric"))
        .cloned()
        .unwrap_or_else(|| panic!("{status}"));
    assert_eq!(
        per_metric["key"], "limits.max_series_per_metric",
        "{per_metric}"
    );
    assert_eq!(per_metric["setting"], 100, "{per_metric}");
    assert_eq!(per_metric["current"], 100, "{per_metric}");
    assert_eq!(per_metric["utilization"], 1.0, "{per_metric}");
    assert_eq!(per_metric["topOffenders"][0]["metric"], "m", "{per_metric}");
    assert_eq!(per_metric["topOffenders"][0]["series"], 100, "{per_metric}");
    assert_eq!(per_metric["rejectedLastHour"], 50, "{per_metric}");

    // The same request again: the same answer, nothing stored twice.
    let again = s.remote_write(&request());
    assert_eq!(again.status, 400, "{}", again.text());
    assert_eq!(
        again.header("X-Prometheus-Remote-Write-Samples-Written"),
        Some("150")
    );
    assert_eq!(value(&s, "count(m)"), 100.0);
    assert_eq!(value(&s, "count_over_time(n[2m])"), 51.0);
    assert_eq!(value(&s, "sum(count_over_time(m[2m]))"), 100.0);

    // Existing series keep ingesting; exempt series pass the per-metric limit.
    let later: Vec<(Labels, Vec<Sample>)> = (0..100)
        .map(|i| (m(i), vec![Sample::new(30_000, 1.0)]))
        .collect();
    let r = s.remote_write(&later);
    assert_eq!(r.status, 204, "{}", r.text());
    let ups: Vec<(Labels, Vec<Sample>)> = (0..150)
        .map(|i| {
            let l = Labels::from_pairs(&[("__name__", "up"), ("instance", &format!("i-{i}"))]);
            (l, vec![Sample::new(30_000, 1.0)])
        })
        .collect();
    let r = s.remote_write(&ups);
    assert_eq!(r.status, 204, "up is exempt: {}", r.text());
}

#[test]
fn series_limit_status_429_and_label_limits() {
    let s = TestServer::start_with(|c| {
        c.limits.max_series = 3;
        c.limits.series_limit_status = 429;
        c.limits.max_label_value_bytes = 8;
    });
    let series: Vec<(Labels, Vec<Sample>)> = (0..5)
        .map(|i| (m(i), vec![Sample::new(10_000, 1.0)]))
        .collect();
    let r = s.remote_write(&series);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.text().contains("err-almanac-max-series"), "{}", r.text());
    assert_eq!(
        r.header("X-Prometheus-Remote-Write-Samples-Written"),
        Some("3")
    );

    // A value too long is refused whole (never truncated), its label
    // named.
    let long = Labels::from_pairs(&[("__name__", "m"), ("user", "a-very-long-user-id")]);
    let r = s.remote_write(&[(long, vec![Sample::new(10_000, 1.0)])]);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(
        r.text().contains("err-almanac-max-label-value-bytes")
            && r.text().contains(r#"label=\"user\""#),
        "{}",
        r.text()
    );
    assert_eq!(value(&s, "count(m)"), 3.0);
}

/// The churn limit alone: 429 with `Retry-After`, a minute's worth of new
/// series created at once, and the retry after waiting stores the rest.
#[test]
fn churn_limit_answers_429_until_tokens_refill() {
    let s = TestServer::start_with(|c| c.limits.max_new_series_per_minute = 600);
    let series: Vec<(Labels, Vec<Sample>)> = (0..700)
        .map(|i| (m(i), vec![Sample::new(10_000, 1.0)]))
        .collect();
    let r = s.remote_write(&series);
    assert_eq!(r.status, 429, "{}", r.text());
    let wait: u64 = r
        .header("Retry-After")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(wait >= 1, "Retry-After {wait}");
    assert_eq!(
        r.header("X-Prometheus-Remote-Write-Samples-Written"),
        Some("600")
    );
    assert!(
        r.text().contains("err-almanac-max-new-series-per-minute"),
        "{}",
        r.text()
    );
    assert_eq!(value(&s, "count(m)"), 600.0);
    // 100 more tokens come in 10 s; retry as a sender would.
    let started = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_secs(wait.max(1)));
        let r = s.remote_write(&series);
        if r.status == 204 {
            break;
        }
        assert_eq!(r.status, 429, "{}", r.text());
        assert!(started.elapsed().as_secs() < 40, "tokens never refilled");
    }
    assert_eq!(value(&s, "count(m)"), 700.0);
}

/// A label that gains one value per series (a user id) is stopped at the
/// values limit, the label named; other labels keep taking new values.
#[test]
fn values_per_label_name_limit_names_the_label() {
    let s = TestServer::start_with(|c| c.limits.max_values_per_label_name = 20);
    let series: Vec<(Labels, Vec<Sample>)> = (0..30)
        .map(|i| (m(i), vec![Sample::new(10_000, 1.0)]))
        .collect();
    let r = s.remote_write(&series);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("err-almanac-max-values-per-label-name")
            && r.text().contains(r#"label=\"user\""#)
            && r.text().contains("rejected 10 series"),
        "{}",
        r.text()
    );
    assert_eq!(value(&s, "count(m)"), 20.0);
    let other = Labels::from_pairs(&[("__name__", "m"), ("user", "u-0"), ("zone", "z1")]);
    let r = s.remote_write(&[(other, vec![Sample::new(10_000, 1.0)])]);
    assert_eq!(
        r.status,
        204,
        "a known user value and a new label: {}",
        r.text()
    );
}

/// `/api/v1/status/tsdb` with VictoriaMetrics' parameters, checked against
/// counts made by hand over the written series.
#[test]
fn tsdb_status_counts_match_brute_force() {
    let s = TestServer::start();
    // 12 `m` series over users u-0..u-11 and zones z0..z2; 3 `n` series.
    let mut series: Vec<(Labels, Vec<Sample>)> = (0..12)
        .map(|i| {
            let l = Labels::from_pairs(&[
                ("__name__", "m"),
                ("user", &format!("u-{i}")),
                ("zone", &format!("z{}", i % 3)),
            ]);
            (l, vec![Sample::new(10_000, 1.0)])
        })
        .collect();
    for z in 0..3 {
        let l = Labels::from_pairs(&[("__name__", "n"), ("zone", &format!("z{z}"))]);
        series.push((l, vec![Sample::new(10_000, 1.0)]));
    }
    assert_eq!(s.remote_write(&series).status, 204);
    let v = s.get("/api/v1/status/tsdb?topN=2&focusLabel=zone").json();
    let d = &v["data"];
    assert_eq!(d["totalSeries"], 15, "{d}");
    // Pairs: 2 names + 12 users + 3 zones.
    assert_eq!(d["totalLabelValuePairs"], 17, "{d}");
    assert_eq!(d["headStats"]["numLabelPairs"], 17, "{d}");
    assert_eq!(
        d["seriesCountByMetricName"],
        serde_json::json!([{"name": "m", "value": 12}, {"name": "n", "value": 3}])
    );
    assert_eq!(
        d["seriesCountByFocusLabelValue"],
        serde_json::json!([{"name": "z0", "value": 5}, {"name": "z1", "value": 5}]),
        "{d}"
    );
    assert_eq!(
        d["seriesCountByLabelName"],
        serde_json::json!([{"name": "__name__", "value": 15}, {"name": "zone", "value": 15}]),
        "{d}"
    );
    assert_eq!(
        d["labelValueCountByLabelName"],
        serde_json::json!([{"name": "user", "value": 12}, {"name": "zone", "value": 3}]),
        "{d}"
    );
    // Without a focus label the list is empty, as VictoriaMetrics has it.
    let plain = s.get("/api/v1/status/tsdb").json();
    assert_eq!(
        plain["data"]["seriesCountByFocusLabelValue"],
        serde_json::json!([]),
        "{plain}"
    );
}
