//! Downsampling end to end, with Debian's Prometheus 2.42 as the oracle:
//! twenty hours of 15 s scrapes go to both; Almanac keeps raw samples for
//! eleven hours and a 1m tier, compacts (`/api/v1/admin/tsdb/compact`),
//! and its answers over the hours only the tier still holds must equal
//! Prometheus's raw answers where the query is aligned to the tier, and
//! carry an `infos` annotation (never silently empty) where it is not.
//!
//! Sample timestamps are off every minute boundary, so 2.42's closed
//! windows and 3.x's left-open ones select the same samples.
//!
//! Run: `cargo test --release --test downsampling_e2e -- --nocapture`.

use almanac::harness::{TestServer, form, remote_write_to, request};
use almanac::peers::Prometheus;
use serde_json::Value;
use server::config::TierConfig;
use tsdb::model::{Labels, Sample};

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
/// Scrape 0 (2023-11-14T22:13:20Z); samples at `S + k·15 s + 7.123 s`.
const S: i64 = 1_700_000_000_000;
const HOURS: i64 = 20;

/// Counters (one resetting now and then) and gauges, `(labels, samples)`.
fn generate() -> Vec<(Labels, Vec<Sample>)> {
    let mut out = Vec::new();
    for (k, job) in ["api", "db", "web"].iter().enumerate() {
        let k = k as i64;
        let counter = Labels::from_pairs(&[("__name__", "requests_total"), ("job", job)]);
        let gauge = Labels::from_pairs(&[("__name__", "queue_depth"), ("job", job)]);
        let (mut c, mut cs, mut gs) = (0.0f64, Vec::new(), Vec::new());
        for i in 0..HOURS * 240 {
            let t = S + i * 15 * SEC + 7_123;
            c += ((i * (k + 3)) % 11) as f64 * 0.5;
            if k == 1 && i % 997 == 500 {
                c = 0.0;
            }
            cs.push(Sample::new(t, c));
            gs.push(Sample::new(t, ((i * 7919 + k * 13) % 400) as f64 / 4.0));
        }
        out.push((counter, cs));
        out.push((gauge, gs));
    }
    out
}

/// The series' samples in `[from, to)`, as one write request's series.
fn slice(series: &[(Labels, Vec<Sample>)], from: i64, to: i64) -> Vec<(Labels, Vec<Sample>)> {
    series
        .iter()
        .map(|(l, s)| {
            let part = s
                .iter()
                .filter(|p| p.t >= from && p.t < to)
                .copied()
                .collect();
            (l.clone(), part)
        })
        .collect()
}

/// A range query's answer: `(labels, [(t, v)])` sorted, and its infos.
type Answer = (Vec<(String, Vec<(f64, f64)>)>, Vec<String>);

fn query_range(addr: std::net::SocketAddr, q: &str, start: i64, end: i64, step: &str) -> Answer {
    let secs = |t: i64| format!("{:.3}", t as f64 / 1000.0);
    let body = form(&[
        ("query", q),
        ("start", &secs(start)),
        ("end", &secs(end)),
        ("step", step),
    ]);
    let r = request(
        addr,
        "POST",
        "/api/v1/query_range",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .expect("query");
    let j: Value = r.json();
    assert_eq!(j["status"], "success", "{q}: {j}");
    let mut series: Vec<(String, Vec<(f64, f64)>)> = j["data"]["result"]
        .as_array()
        .expect("matrix")
        .iter()
        .map(|s| {
            let points = s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|p| {
                    let t = p[0].as_f64().expect("time");
                    let v: f64 = p[1].as_str().expect("value").parse().expect("float");
                    (t, v)
                })
                .collect();
            (s["metric"].to_string(), points)
        })
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let infos = j["infos"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    (series, infos)
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

const ALIGNED: &[&str] = &[
    "rate(requests_total[5m])",
    "increase(requests_total[10m])",
    "irate(requests_total[1m])",
    "resets(requests_total[30m])",
    "delta(queue_depth[5m])",
    "changes(queue_depth[3m])",
    "sum_over_time(queue_depth[5m])",
    "avg_over_time(queue_depth[10m])",
    "min_over_time(queue_depth[2m])",
    "max_over_time(queue_depth[5m])",
    "count_over_time(queue_depth[5m])",
    "sum by (job) (rate(requests_total[15m]))",
    "queue_depth",
    "timestamp(requests_total)",
];

#[test]
fn tiers_answer_as_prometheus_answers_from_raw_data() {
    let series = generate();
    let prom = Prometheus::start(
        "global:\n  evaluation_interval: 1m\nscrape_configs: []\n",
        &["--web.enable-remote-write-receiver"],
    );
    let almanac = TestServer::start_with(|c| {
        c.retention = "11h".into();
        c.downsampling.tiers = vec![TierConfig {
            resolution: "1m".into(),
            after: "30m".into(),
            retention: "7d".into(),
        }];
    });
    // Oldest first, ten minutes a request (Prometheus refuses samples an
    // hour behind its newest).
    let mut from = S;
    while from < S + HOURS * HOUR {
        let batch = slice(&series, from, from + 10 * MIN);
        let r = remote_write_to(prom.addr, &batch).expect("write to prometheus");
        assert!(r.status / 100 == 2, "prometheus: {} {}", r.status, r.text());
        let r = remote_write_to(almanac.addr, &batch).expect("write to almanac");
        assert_eq!(r.status, 204, "almanac: {}", r.text());
        from += 10 * MIN;
    }
    let r = almanac.post_form("/api/v1/admin/tsdb/compact", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let report = r.json();
    assert!(
        report["data"]["tierBlocks"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    assert!(
        report["data"]["deletedBlocks"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );

    // The hours only the tier holds: before the oldest raw block left.
    let state = almanac.state().expect("in-process server");
    let raw_from = state
        .db
        .blocks()
        .iter()
        .map(|b| b.meta().min_time)
        .min()
        .expect("raw blocks");
    assert!(raw_from >= S + 3 * HOUR, "raw data from {raw_from}");
    let (start, end) = (
        S.div_euclid(MIN) * MIN + 30 * MIN,
        raw_from.div_euclid(MIN) * MIN - MIN,
    );

    let mut checked = 0;
    for q in ALIGNED {
        for step in ["60", "300"] {
            let (want, _) = query_range(prom.addr, q, start, end, step);
            let (got, infos) = query_range(almanac.addr, q, start, end, step);
            assert!(!want.is_empty(), "{q}: Prometheus has no answer");
            assert!(
                infos.iter().all(|i| !i.contains("approximately")),
                "{q}: {infos:?}"
            );
            assert_eq!(got.len(), want.len(), "{q} step {step}: series");
            for ((gl, gp), (wl, wp)) in got.iter().zip(&want) {
                assert_eq!(gl, wl, "{q}");
                assert_eq!(gp.len(), wp.len(), "{q} step {step} {gl}: points");
                for (g, w) in gp.iter().zip(wp) {
                    assert!(
                        g.0 == w.0 && close(g.1, w.1),
                        "{q} step {step} {gl}: almanac {g:?}, prometheus {w:?}"
                    );
                    checked += 1;
                }
            }
        }
    }
    println!("downsampling_e2e: {checked} points from the 1m tier equal Prometheus's raw answers");

    // Unaligned: approximate, and said so.
    let (got, infos) = query_range(
        almanac.addr,
        "rate(requests_total[5m])",
        start + 7 * SEC,
        end,
        "45",
    );
    assert!(
        got.iter().any(|(_, p)| !p.is_empty()),
        "never silently empty"
    );
    assert!(
        infos
            .iter()
            .any(|i| i.contains("approximately on the 1m downsampling tier")),
        "{infos:?}"
    );
    // /metrics counts the queries that read the tier.
    let metrics = almanac.get("/metrics").text();
    assert!(
        metrics.contains("almanac_query_source_total{source=\"60000\"}"),
        "tier reads counted"
    );
}
