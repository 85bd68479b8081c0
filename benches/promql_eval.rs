//! PromQL range queries over a head of 10k series × 6h at 15s
//! (14.4M samples): the dashboard shapes of issue 3.
//!
//! What is measured, each as one range query over the full 6h at a 60s step:
//! - `rate_sum_by_job`: `sum by (job) (rate(http_requests_total[5m]))` over
//!   10k counter series.
//! - `rate_ratio`: `rate(x[5m]) / rate(x[5m] offset 1m)`: one-to-one
//!   matching of 10k series with 10k.
//! - `histogram_quantile`: `histogram_quantile(0.99, sum by (le)
//!   (rate(request_duration_seconds_bucket[5m])))` over 10k bucket series
//!   (1k histograms × 10 buckets).
//!
//! Run: `cargo bench --bench promql_eval -- --warm-up-time 1 --measurement-time 10`

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use promql::eval::{Engine, EngineOptions};
use tsdb::model::{Labels, SeriesRef};
use tsdb::{Head, HeadOptions};

const SERIES: usize = 10_000;
const STEP: i64 = 15_000;
const SPAN: i64 = 6 * 3600 * 1000;
const BUCKETS: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];

fn counter_labels(i: usize) -> Labels {
    Labels::from_pairs(&[
        ("__name__", "http_requests_total"),
        ("job", ["api", "node", "db", "cache"][i % 4]),
        ("instance", &format!("host-{}:8080", i / 4)),
    ])
}

fn bucket_labels(i: usize) -> Labels {
    Labels::from_pairs(&[
        ("__name__", "request_duration_seconds_bucket"),
        ("job", ["api", "node", "db", "cache"][(i / 10) % 4]),
        ("instance", &format!("host-{}:8080", i / 10)),
        ("le", BUCKETS[i % 10]),
    ])
}

/// Builds the head: counters rising by a per-series rate, bucket counts
/// cumulative over `le`.
fn head() -> Arc<Head> {
    let head = Head::new(HeadOptions::default());
    let mut refs: Vec<SeriesRef> = Vec::with_capacity(2 * SERIES);
    let mut app = head.appender();
    for i in 0..SERIES {
        refs.push(app.append(&counter_labels(i), 0, 0.0).expect("append"));
    }
    for i in 0..SERIES {
        refs.push(app.append(&bucket_labels(i), 0, 0.0).expect("append"));
    }
    app.commit();
    let mut t = STEP;
    while t <= SPAN {
        let mut app = head.appender();
        let k = (t / STEP) as f64;
        for (i, r) in refs.iter().enumerate() {
            let v = if i < SERIES {
                k * (1 + i % 7) as f64
            } else {
                k * (1 + (i - SERIES) % 10) as f64
            };
            app.append_ref(*r, t, v).expect("append");
        }
        app.commit();
        t += STEP;
    }
    head
}

fn range_queries(c: &mut Criterion) {
    let head = head();
    let engine = Engine::new(EngineOptions::default());
    let mut g = c.benchmark_group("promql_range");
    g.sample_size(10);
    let cases = [
        (
            "rate_sum_by_job",
            "sum by (job) (rate(http_requests_total[5m]))",
        ),
        (
            "rate_ratio",
            "rate(http_requests_total[5m]) / rate(http_requests_total[5m] offset 1m)",
        ),
        (
            "histogram_quantile",
            "histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
        ),
    ];
    for (name, q) in cases {
        let expr = promql::parse(q).expect("query parses");
        g.bench_function(name, |b| {
            b.iter(|| {
                engine
                    .range(&head, &expr, 600_000, SPAN, 60_000)
                    .expect("query runs")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, range_queries);
criterion_main!(benches);
