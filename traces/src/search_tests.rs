use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use tsdb::db::{Db, DbOptions, WalStore};

use super::*;
use crate::store::Options;
use crate::traceql::parse;

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

/// Trace `t`: a `web` root `GET /t` calling `api` `work` (error when
/// `error`), the trace lasting `ms` milliseconds and starting `t` seconds
/// after T0.
fn trace(t: u8, ms: u64, error: bool, route: &str) -> Vec<ResourceSpans> {
    let start = T0 + u64::from(t) * 1_000 * MS;
    let span = |id: u8, parent: Option<u8>, name: &str, dur: u64, err: bool| Span {
        trace_id: vec![t; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: name.into(),
        kind: if parent.is_none() { 2 } else { 3 },
        start_time_unix_nano: start,
        end_time_unix_nano: start + dur * MS,
        attributes: vec![
            kv("http.route", any_value::Value::StringValue(route.into())),
            kv("retries", any_value::Value::IntValue(i64::from(t))),
        ],
        status: err.then(|| Status {
            code: 2,
            message: "boom".into(),
        }),
        ..Default::default()
    };
    let rs = |svc: &str, spans: Vec<Span>| ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv(
                "service.name",
                any_value::Value::StringValue(svc.into()),
            )],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        ..Default::default()
    };
    vec![
        rs("web", vec![span(1, None, &format!("GET /{t}"), ms, false)]),
        rs("api", vec![span(2, Some(1), "work", ms / 2, error)]),
    ]
}

fn store_with_traces(dir: &std::path::Path) -> (Arc<SpanStore>, Db) {
    let store = SpanStore::open(&dir.join("spans"), Options::default()).unwrap();
    let db = Db::open_with_stores(
        dir,
        DbOptions::default(),
        vec![store.clone() as Arc<dyn WalStore>],
    )
    .unwrap();
    // Traces 1–4 in a block, 5–6 in the head.
    for (t, ms, err, route) in [
        (1, 100, false, "/a"),
        (2, 900, true, "/b"),
        (3, 20, false, "/a"),
        (4, 600, false, "/c"),
    ] {
        store.append(&db, trace(t, ms, err, route)).unwrap();
    }
    store.flush_all().unwrap();
    for (t, ms, err, route) in [(5, 700, true, "/a"), (6, 10, false, "/b")] {
        store.append(&db, trace(t, ms, err, route)).unwrap();
    }
    (store, db)
}

fn ids(store: &SpanStore, q: &str) -> Vec<u8> {
    let req = SearchRequest {
        query: parse(q).unwrap(),
        start_ns: 0,
        end_ns: u64::MAX,
        limit: 100,
        spans_per_set: 3,
    };
    store
        .search(&req)
        .unwrap()
        .traces
        .iter()
        .map(|h| h.trace_id.0[0])
        .collect()
}

#[test]
fn queries_find_exactly_their_traces_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _db) = store_with_traces(tmp.path());
    let cases: &[(&str, &str, &[u8])] = &[
        ("everything", "{}", &[6, 5, 4, 3, 2, 1]),
        ("errors", "{ status = error }", &[5, 2]),
        (
            "service",
            r#"{ resource.service.name = "api" }"#,
            &[6, 5, 4, 3, 2, 1],
        ),
        ("slow spans", "{ duration > 500ms }", &[5, 2, 4]),
        ("slow traces", "{ traceDuration >= 600ms }", &[5, 4, 2]),
        (
            "indexed attribute",
            r#"{ span.http.route = "/a" }"#,
            &[5, 3, 1],
        ),
        ("unindexed attribute", "{ span.retries >= 4 }", &[6, 5, 4]),
        ("integer attribute", "{ span.retries = 4 }", &[4]),
        ("unscoped integer", "{ .retries = 4 }", &[4]),
        ("unscoped indexed", r#"{ .http.route = "/a" }"#, &[5, 3, 1]),
        (
            "unscoped resource",
            r#"{ .service.name = "api" && name = "work" }"#,
            &[6, 5, 4, 3, 2, 1],
        ),
        ("root name", r#"{ rootName = "GET /3" }"#, &[3]),
        (
            "root service",
            r#"{ rootServiceName = "web" && name = "work" }"#,
            &[6, 5, 4, 3, 2, 1],
        ),
        (
            "two spansets",
            r#"{ status = error } && { span.http.route = "/b" }"#,
            &[2],
        ),
        (
            "either",
            r#"{ name = "GET /1" } || { name = "GET /6" }"#,
            &[6, 1],
        ),
        (
            "child of",
            r#"{ resource.service.name = "web" } > { status = error }"#,
            &[5, 2],
        ),
        ("kind", "{ kind = server && duration < 50ms }", &[6, 3]),
        ("regex", r#"{ name =~ "GET /[12]" }"#, &[2, 1]),
        ("nothing", r#"{ name = "nope" }"#, &[]),
    ];
    for (name, q, want) in cases {
        let mut got = ids(&store, q);
        let mut want = want.to_vec();
        if *name == "slow spans" || *name == "slow traces" {
            got.sort();
            want.sort();
        }
        assert_eq!(got, want, "{name}: {q}");
    }
}

#[test]
fn hits_describe_their_traces() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _db) = store_with_traces(tmp.path());
    let req = SearchRequest {
        query: parse("{ status = error }").unwrap(),
        start_ns: T0 + 4_500 * MS,
        end_ns: u64::MAX,
        limit: 10,
        spans_per_set: 3,
    };
    let r = store.search(&req).unwrap();
    assert_eq!(r.traces.len(), 1, "trace 2 is before the start");
    let h = &r.traces[0];
    assert_eq!(h.trace_id, TraceId([5; 16]));
    assert_eq!(
        (h.root_service.as_str(), h.root_name.as_str()),
        ("web", "GET /5")
    );
    assert_eq!(
        (h.start_ns, h.duration_ns, h.matched),
        (T0 + 5_000 * MS, 700 * MS, 1)
    );
    assert_eq!(h.spans[0].name, "work");
    assert_eq!(h.spans[0].service.as_deref(), Some("api"));
    assert_eq!(h.services.get("api"), Some(&(1, 1)));
    assert_eq!(h.services.get("web"), Some(&(1, 0)));
    assert!(h.spans[0].attributes.is_empty(), "the query mentions none");

    // The attributes a query mentions come with each matched span.
    let req = SearchRequest {
        query: parse(r#"{ span.retries = 5 && .service.name = "api" && (span.nope = 1 || .http.route != "x") }"#)
            .unwrap(),
        ..req
    };
    let r = store.search(&req).unwrap();
    let keys: Vec<&str> = r.traces[0].spans[0]
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .collect();
    assert_eq!(keys, vec!["retries", "service.name", "http.route"]);
}

#[test]
fn the_limit_keeps_the_newest() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _db) = store_with_traces(tmp.path());
    let req = SearchRequest {
        query: parse("{}").unwrap(),
        start_ns: 0,
        end_ns: u64::MAX,
        limit: 3,
        spans_per_set: 1,
    };
    let got: Vec<u8> = store
        .search(&req)
        .unwrap()
        .traces
        .iter()
        .map(|h| h.trace_id.0[0])
        .collect();
    assert_eq!(got, vec![6, 5, 4]);
}

#[test]
fn tags_come_from_blocks_and_head() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _db) = store_with_traces(tmp.path());
    let names = store.tag_names(TagScope::Span);
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        vec!["http.route", "retries"]
    );
    let names = store.tag_names(TagScope::Resource);
    assert_eq!(names.into_iter().collect::<Vec<_>>(), vec!["service.name"]);
    let values: Vec<String> = store
        .tag_values(Some(TagScope::Span), "http.route")
        .into_iter()
        .map(|v| v.value)
        .collect();
    assert_eq!(
        values,
        vec!["/a", "/b", "/c"],
        "indexed values from the block and the head"
    );
    let retries: Vec<(&str, String)> = store
        .tag_values(None, "retries")
        .into_iter()
        .map(|v| (v.kind, v.value))
        .collect();
    assert_eq!(
        retries,
        vec![("int", "5".into()), ("int", "6".into())],
        "head values, typed"
    );
    let services: Vec<String> = store
        .intrinsic_values("rootServiceName")
        .into_iter()
        .map(|v| v.value)
        .collect();
    assert_eq!(services, vec!["api", "web"]);
    assert_eq!(store.intrinsic_values("status").len(), 3);
}
