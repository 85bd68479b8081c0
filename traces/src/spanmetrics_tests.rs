use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use tsdb::db::{Db, DbOptions};
use tsdb::model::{MatchOp, Matcher, Queryable, SampleBuf, SelectHints};

use super::*;
use crate::head::{HeadSpan, Origin, StoredSpan};

fn origin(service: &str) -> Arc<Origin> {
    Arc::new(Origin {
        resource: Some(Resource {
            attributes: vec![KeyValue {
                key: "service.name".into(),
                key_strindex: 0,
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(service.into())),
                }),
            }],
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// A span of `service` lasting `ms` milliseconds and ending at 10 s.
fn span(service: &str, id: u8, parent: u8, kind: SpanKind, error: bool, ms: u64) -> HeadSpan {
    let end = 10_000_000_000u64;
    HeadSpan {
        origin: origin(service),
        span: Span {
            trace_id: vec![7; 16],
            span_id: vec![id; 8],
            parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
            name: format!("{service}-op"),
            kind: kind as i32,
            start_time_unix_nano: end - ms * 1_000_000,
            end_time_unix_nano: end,
            status: error.then(|| Status {
                code: StatusCode::Error as i32,
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

/// web (server) → web (client) → api (server) → api (client) → db (server).
fn call_chain(api_error: bool) -> Vec<HeadSpan> {
    vec![
        span("web", 1, 0, SpanKind::Server, false, 300),
        span("web", 2, 1, SpanKind::Client, false, 250),
        span("api", 3, 2, SpanKind::Server, api_error, 200),
        span("api", 4, 3, SpanKind::Client, false, 100),
        span("db", 5, 4, SpanKind::Server, false, 90),
    ]
}

fn stored(spans: &[HeadSpan]) -> Vec<StoredSpan> {
    spans.iter().map(StoredSpan::new).collect()
}

fn with_ids(spans: &[HeadSpan], trace: u8) -> Vec<(TraceId, StoredSpan)> {
    spans
        .iter()
        .map(|s| (TraceId([trace; 16]), StoredSpan::new(s)))
        .collect()
}

/// Every float sample as `(series, t, v)` and every histogram as
/// `(series, t, count, sum)`.
type Floats = Vec<(String, i64, f64)>;
type Hists = Vec<(String, i64, u64, f64)>;

fn dump(db: &Db) -> (Floats, Hists) {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let all = Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap();
    let (mut floats, mut hists) = (Vec::new(), Vec::new());
    let mut buf = SampleBuf::new();
    for s in q.select(&SelectHints::default(), &[all]).unwrap() {
        s.read(i64::MIN, i64::MAX, &mut buf);
        let name = series_name(&s.labels);
        floats.extend(buf.floats().iter().map(|f| (name.clone(), f.t, f.v)));
        hists.extend(
            buf.histograms()
                .iter()
                .map(|h| (name.clone(), h.t, h.h.count as u64, h.h.sum)),
        );
    }
    (floats, hists)
}

fn series_name(l: &Labels) -> String {
    let rest: Vec<String> = l
        .iter()
        .filter(|l| &*l.name != "__name__")
        .map(|l| l.value.to_string())
        .collect();
    format!("{}{{{}}}", l.metric_name(), rest.join(","))
}

fn db() -> (tempfile::TempDir, Db) {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path(), DbOptions::default()).unwrap();
    (tmp, db)
}

#[test]
fn red_series_count_every_span_with_zero_first() {
    let (_tmp, db) = db();
    let m = SpanMetrics::new(MetricsOptions::default());
    m.observe_spans(&with_ids(&call_chain(true), 1), 1);
    m.observe_spans(&with_ids(&call_chain(false), 2), 2);
    let mut app = db.appender();
    m.write(&mut app, 1000);
    app.commit().unwrap();
    let (floats, hists) = dump(&db);
    let calls = |svc: &str, kind: &str, status: &str| {
        let name = format!("{CALLS}{{{svc},{kind},{svc}-op,{status}}}");
        floats
            .iter()
            .filter(|f| f.0 == name)
            .map(|f| (f.1, f.2))
            .collect::<Vec<_>>()
    };
    type Case<'a> = (&'a str, &'a str, &'a str, &'a str, Vec<(i64, f64)>);
    let cases: &[Case] = &[
        (
            "web servers",
            "web",
            "SPAN_KIND_SERVER",
            "STATUS_CODE_UNSET",
            vec![(999, 0.0), (1000, 2.0)],
        ),
        (
            "api errors",
            "api",
            "SPAN_KIND_SERVER",
            "STATUS_CODE_ERROR",
            vec![(999, 0.0), (1000, 1.0)],
        ),
        (
            "api ok",
            "api",
            "SPAN_KIND_SERVER",
            "STATUS_CODE_UNSET",
            vec![(999, 0.0), (1000, 1.0)],
        ),
        (
            "db",
            "db",
            "SPAN_KIND_SERVER",
            "STATUS_CODE_UNSET",
            vec![(999, 0.0), (1000, 2.0)],
        ),
    ];
    for (name, svc, kind, status, want) in cases {
        assert_eq!(&calls(svc, kind, status), want, "{name}");
    }
    let db_latency = format!("{LATENCY}{{db,SPAN_KIND_SERVER,db-op,STATUS_CODE_UNSET}}");
    let got: Vec<_> = hists.iter().filter(|h| h.0 == db_latency).collect();
    assert_eq!(got.len(), 2, "{hists:?}");
    assert_eq!((got[0].1, got[0].2), (999, 0));
    assert_eq!((got[1].1, got[1].2), (1000, 2));
    assert!((got[1].3 - 0.18).abs() < 1e-9, "sum of two 90 ms spans");

    // Exemplars carry the trace id of the latest span of each series.
    let ms = vec![vec![
        Matcher::new(MatchOp::Equal, "service", "web").unwrap(),
    ]];
    let ex = db.exemplars().query(&ms, i64::MIN, i64::MAX);
    assert_eq!(
        ex.len(),
        4,
        "calls and latency of client and server: {ex:?}"
    );
    for (_, es) in &ex {
        assert_eq!(es.len(), 1);
        assert_eq!(es[0].labels.get("trace_id"), TraceId([2; 16]).to_string());
        assert_eq!(es[0].t, 10_000);
    }
}

#[test]
fn later_writes_continue_the_counters_without_new_zeros() {
    let (_tmp, db) = db();
    let m = SpanMetrics::new(MetricsOptions::default());
    for (i, t) in [(1u8, 1000), (2, 2000)] {
        m.observe_spans(
            &with_ids(&[span("db", 1, 0, SpanKind::Server, false, 5)], i),
            t,
        );
        let mut app = db.appender();
        m.write(&mut app, t);
        app.commit().unwrap();
    }
    let (floats, _) = dump(&db);
    let got: Vec<(i64, f64)> = floats
        .iter()
        .filter(|f| f.0.starts_with(CALLS))
        .map(|f| (f.1, f.2))
        .collect();
    assert_eq!(got, vec![(999, 0.0), (1000, 1.0), (2000, 2.0)]);
    assert_eq!(m.counters.samples_refused.load(Ordering::Relaxed), 0);
}

#[test]
fn service_graph_edges_pair_clients_with_their_servers() {
    type Case<'a> = (&'a str, Vec<HeadSpan>, Vec<(&'a str, &'a str, bool)>);
    let cases: &[Case] = &[
        (
            "a chain",
            call_chain(false),
            vec![("web", "api", false), ("api", "db", false)],
        ),
        (
            "a failing server fails its edge",
            call_chain(true),
            vec![("web", "api", true), ("api", "db", false)],
        ),
        (
            "a client without a server span is no edge",
            vec![span("web", 1, 0, SpanKind::Client, false, 5)],
            vec![],
        ),
        (
            "internal children are no edge",
            vec![
                span("web", 1, 0, SpanKind::Client, false, 5),
                span("api", 2, 1, SpanKind::Internal, false, 5),
            ],
            vec![],
        ),
        (
            "producer and consumer",
            vec![
                span("shop", 1, 0, SpanKind::Producer, false, 5),
                span("mailer", 2, 1, SpanKind::Consumer, true, 5),
            ],
            vec![("shop", "mailer", true)],
        ),
    ];
    for (name, spans, want) in cases {
        let mut got: Vec<(String, String, bool)> = graph::edges(&stored(spans))
            .into_iter()
            .map(|e| (e.client, e.server, e.failed))
            .collect();
        got.sort();
        let mut want: Vec<(String, String, bool)> = want
            .iter()
            .map(|(c, s, f)| (c.to_string(), s.to_string(), *f))
            .collect();
        want.sort();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn edges_are_written_as_counters() {
    let (_tmp, db) = db();
    let m = SpanMetrics::new(MetricsOptions::default());
    m.observe_trace(&stored(&call_chain(true)), 1);
    m.observe_trace(&stored(&call_chain(false)), 1);
    let mut app = db.appender();
    m.write(&mut app, 5000);
    app.commit().unwrap();
    let (floats, _) = dump(&db);
    let last = |name: &str| floats.iter().rfind(|f| f.0 == name).map(|f| f.2);
    assert_eq!(last(&format!("{GRAPH_REQUESTS}{{web,api}}")), Some(2.0));
    assert_eq!(last(&format!("{GRAPH_FAILED}{{web,api}}")), Some(1.0));
    assert_eq!(last(&format!("{GRAPH_REQUESTS}{{api,db}}")), Some(2.0));
    assert_eq!(last(&format!("{GRAPH_FAILED}{{api,db}}")), Some(0.0));
    // Latencies of both sides: api's server spans took 200 ms, web's
    // client spans 250 ms.
    let (_, hists) = dump(&db);
    let hist = |name: String| hists.iter().rfind(|h| h.0 == name).map(|h| (h.2, h.3));
    let server = hist(format!("{GRAPH_SERVER_SECONDS}{{web,api}}")).unwrap();
    let client = hist(format!("{GRAPH_CLIENT_SECONDS}{{web,api}}")).unwrap();
    assert_eq!(server.0, 2);
    assert!((server.1 - 0.4).abs() < 1e-9, "{server:?}");
    assert_eq!(client.0, 2);
    assert!((client.1 - 0.5).abs() < 1e-9, "{client:?}");
}

#[test]
fn series_past_the_limit_are_counted_and_stale_series_end() {
    let (_tmp, db) = db();
    let m = SpanMetrics::new(MetricsOptions {
        max_series: 2,
        stale_after: Duration::from_secs(60),
        ..MetricsOptions::default()
    });
    m.observe_spans(&with_ids(&call_chain(false), 1), 0);
    assert_eq!(m.series(), 2);
    assert_eq!(m.counters.series_dropped.load(Ordering::Relaxed), 3);
    let mut app = db.appender();
    m.write(&mut app, 61_000);
    app.commit().unwrap();
    assert_eq!(m.series(), 0, "no span for longer than stale_after");
    assert!(dump(&db).0.is_empty());
}

#[test]
fn classic_buckets_instead_of_the_native_histogram() {
    let (_tmp, db) = db();
    let m = SpanMetrics::new(MetricsOptions {
        native_latency: false,
        classic_bounds: vec![0.064, 0.128],
        ..MetricsOptions::default()
    });
    let spans = [
        span("db", 1, 0, SpanKind::Server, false, 90),
        span("db", 2, 0, SpanKind::Server, false, 50),
    ];
    m.observe_spans(&with_ids(&spans, 3), 1);
    let mut app = db.appender();
    m.write(&mut app, 1000);
    app.commit().unwrap();
    let (floats, hists) = dump(&db);
    assert!(hists.is_empty(), "no native histogram");
    let at = |name: &str| {
        floats
            .iter()
            .find(|f| f.0 == name && f.1 == 1000)
            .map(|f| f.2)
    };
    let base = "db,SPAN_KIND_SERVER,db-op,STATUS_CODE_UNSET";
    let cases: &[(&str, String, f64)] = &[
        (
            "le 0.064",
            format!("{}{{0.064,{base}}}", "traces_spanmetrics_latency_bucket"),
            1.0,
        ),
        (
            "le 0.128",
            format!("{}{{0.128,{base}}}", "traces_spanmetrics_latency_bucket"),
            2.0,
        ),
        (
            "le +Inf",
            format!("{}{{+Inf,{base}}}", "traces_spanmetrics_latency_bucket"),
            2.0,
        ),
        (
            "count",
            format!("{}{{{base}}}", "traces_spanmetrics_latency_count"),
            2.0,
        ),
    ];
    for (name, series, want) in cases {
        assert_eq!(at(series), Some(*want), "{name}: {floats:?}");
    }
    let sum = at(&format!("{}{{{base}}}", "traces_spanmetrics_latency_sum")).unwrap();
    assert!((sum - 0.14).abs() < 1e-9, "{sum}");
    // The exemplar sits on the bucket of the latest span's value (of two
    // ending together, the one seen last: 50 ms).
    let ms = vec![vec![
        Matcher::new(
            MatchOp::Equal,
            "__name__",
            "traces_spanmetrics_latency_bucket",
        )
        .unwrap(),
    ]];
    let ex = db.exemplars().query(&ms, i64::MIN, i64::MAX);
    assert_eq!(ex.len(), 1, "{ex:?}");
    assert_eq!(ex[0].0.get("le"), "0.064");
    assert_eq!(ex[0].1[0].v, 0.05);
}
