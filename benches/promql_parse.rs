//! What is measured: `promql::parse` (parse + type check, no evaluation) of
//! 20 real dashboard queries (node-exporter and RED panels, from the lab's
//! dashboard and basic query sets), as one batch and per query, plus
//! `Display` of the parsed batch (what `/api/v1/format_query` costs).
//!
//! How to run:
//! `cargo bench --bench promql_parse -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};

const QUERIES: [&str; 20] = [
    r#"sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[1m]))"#,
    r#"1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))"#,
    r#"node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes"#,
    r#"rate(node_network_receive_bytes_total{device!="lo"}[5m])"#,
    r#"1 - node_filesystem_avail_bytes / node_filesystem_size_bytes"#,
    r#"sum by (job) (rate(http_requests_total[5m]))"#,
    r#"sum by (handler) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (handler) (rate(http_requests_total[5m]))"#,
    r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"#,
    r#"histogram_quantile(0.9, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))"#,
    r#"topk(10, sum by (instance) (rate(http_requests_total[5m])))"#,
    r#"max_over_time(node_load1[10m])"#,
    r#"quantile_over_time(0.95, go_goroutines[10m])"#,
    r#"count by (job) (up)"#,
    r#"count({__name__=~".+"})"#,
    r#"sum(rate(http_requests_total[1h]))"#,
    r#"node_cpu_seconds_total{mode!~"idle|iowait|steal", cpu="0"}"#,
    r#"predict_linear(node_filesystem_avail_bytes[30m], 3600)"#,
    r#"avg without (cpu) (rate(node_cpu_seconds_total[5m]))"#,
    r#"count_values("goroutines", go_goroutines)"#,
    r#"sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m] offset 1d)) > bool on (instance) group_left (env) node_uname_info"#,
];

fn bench(c: &mut Criterion) {
    let bytes: usize = QUERIES.iter().map(|q| q.len()).sum();
    let mut g = c.benchmark_group("promql_parse");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("dashboard_batch_20", |b| {
        b.iter(|| {
            for q in QUERIES {
                black_box(promql::parse(black_box(q)).expect("valid query"));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("promql_parse_one");
    for (name, q) in [
        ("selector", QUERIES[15]),
        ("sum_rate", QUERIES[0]),
        ("ratio", QUERIES[6]),
        ("matching", QUERIES[19]),
    ] {
        g.throughput(Throughput::Bytes(q.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| black_box(promql::parse(black_box(q)).expect("valid query")))
        });
    }
    g.finish();

    let parsed: Vec<_> = QUERIES
        .iter()
        .map(|q| promql::parse(q).expect("valid query"))
        .collect();
    c.bench_function("promql_format_batch_20", |b| {
        b.iter(|| {
            for e in &parsed {
                black_box(e.to_string());
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
