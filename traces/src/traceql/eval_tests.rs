//! Evaluator tests: a table of queries over one small trace, and the
//! structural relations checked against a slow, obvious reference.

use proptest::prelude::*;

use super::ast::SpansetOp;
use super::parse;
use super::structural::relate;
use super::value::{Kind, Status, TraceView, Value};

struct Span {
    name: &'static str,
    /// Index into [`TestTrace::resources`].
    resource: usize,
    parent: Option<usize>,
    status: Status,
    message: &'static str,
    kind: Kind,
    duration_ms: u64,
    attrs: Vec<(&'static str, Value<'static>)>,
}

struct TestTrace {
    spans: Vec<Span>,
    resources: Vec<Vec<(&'static str, Value<'static>)>>,
    ids: Vec<String>,
}

fn find<'a>(attrs: &'a [(&str, Value<'static>)], key: &str) -> Option<Value<'a>> {
    attrs
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.clone())
}

impl TraceView for TestTrace {
    fn len(&self) -> usize {
        self.spans.len()
    }
    fn name(&self, span: usize) -> &str {
        self.spans[span].name
    }
    fn status(&self, span: usize) -> Status {
        self.spans[span].status
    }
    fn status_message(&self, span: usize) -> &str {
        self.spans[span].message
    }
    fn kind(&self, span: usize) -> Kind {
        self.spans[span].kind
    }
    fn duration_ns(&self, span: usize) -> u64 {
        self.spans[span].duration_ms * 1_000_000
    }
    fn parent(&self, span: usize) -> Option<usize> {
        self.spans[span].parent
    }
    fn span_attr(&self, span: usize, key: &str) -> Option<Value<'_>> {
        find(&self.spans[span].attrs, key)
    }
    fn resource_attr(&self, span: usize, key: &str) -> Option<Value<'_>> {
        find(&self.resources[self.spans[span].resource], key)
    }
    fn root_name(&self) -> Option<&str> {
        Some(self.spans[0].name)
    }
    fn root_service_name(&self) -> Option<&str> {
        Some("frontend")
    }
    fn trace_duration_ns(&self) -> u64 {
        1_200_000_000
    }
    fn span_id(&self, span: usize) -> Option<&str> {
        Some(&self.ids[span])
    }
    fn parent_id(&self, span: usize) -> Option<&str> {
        self.spans[span].parent.map(|p| self.ids[p].as_str())
    }
    fn trace_id(&self) -> Option<&str> {
        Some("t1")
    }
}

/// ```text
/// 0 GET /api (frontend, server, ok, 500ms)
/// ├─ 1 auth (frontend, internal, unset, 20ms)
/// │  └─ 5 publish (frontend, producer, unset, 1s)
/// └─ 2 query (db, client, error "timeout", 300ms)
///    ├─ 3 cache get (db, client, ok, 2ms)
///    └─ 4 retry (db, client, error, 150ms)
/// ```
fn trace() -> TestTrace {
    let span = |name, resource, parent, status, kind, duration_ms| Span {
        name,
        resource,
        parent,
        status,
        message: "",
        kind,
        duration_ms,
        attrs: Vec::new(),
    };
    let mut spans = vec![
        span("GET /api", 0, None, Status::Ok, Kind::Server, 500),
        span("auth", 0, Some(0), Status::Unset, Kind::Internal, 20),
        span("query", 1, Some(0), Status::Error, Kind::Client, 300),
        span("cache get", 1, Some(2), Status::Ok, Kind::Client, 2),
        span("retry", 1, Some(2), Status::Error, Kind::Client, 150),
        span("publish", 0, Some(1), Status::Unset, Kind::Producer, 1000),
    ];
    spans[0].attrs = vec![
        ("http.method", Value::Str("GET")),
        ("http.status_code", Value::Int(200)),
        ("cache_hit", Value::Bool(false)),
    ];
    spans[1].attrs = vec![
        ("user", Value::Str("alice")),
        ("cache_hit", Value::Bool(true)),
    ];
    spans[2].message = "timeout";
    spans[2].attrs = vec![
        ("db.statement", Value::Str("SELECT 1")),
        ("http.status_code", Value::Int(500)),
        ("ratio", Value::Float(0.5)),
    ];
    spans[3].attrs = vec![
        ("cache_hit", Value::Bool(true)),
        ("attr with space", Value::Str("yes")),
    ];
    spans[4].attrs = vec![("retries", Value::Int(3))];
    spans[5].attrs = vec![
        ("region", Value::Str("ap")),
        ("topic", Value::Str("events")),
    ];
    let resources = vec![
        vec![
            ("service.name", Value::Str("frontend")),
            ("region", Value::Str("eu")),
        ],
        vec![
            ("service.name", Value::Str("db")),
            ("region", Value::Str("us")),
        ],
    ];
    let ids = (0..spans.len()).map(|i| format!("s{i}")).collect();
    TestTrace {
        spans,
        resources,
        ids,
    }
}

#[test]
fn queries_select_spans() {
    let all: &[usize] = &[0, 1, 2, 3, 4, 5];
    let cases: &[(&str, &str, &[usize])] = &[
        ("match_all", "{}", all),
        ("match_none", "{ false }", &[]),
        ("name", r#"{ name = "auth" }"#, &[1]),
        ("colon_name", r#"{ span:name = "auth" }"#, &[1]),
        ("name_not_equal", r#"{ name != "auth" }"#, &[0, 2, 3, 4, 5]),
        ("status_error", "{ status = error }", &[2, 4]),
        ("status_not_ok", "{ span:status != ok }", &[1, 2, 4, 5]),
        ("status_unset", "{ status = unset }", &[1, 5]),
        ("kind", "{ kind = client }", &[2, 3, 4]),
        ("kind_colon", "{ span:kind = producer }", &[5]),
        ("status_message", r#"{ statusMessage = "timeout" }"#, &[2]),
        ("duration_gt", "{ duration > 100ms }", &[0, 2, 4, 5]),
        ("duration_lte", "{ span:duration <= 20ms }", &[1, 3]),
        ("duration_gte_exact", "{ duration >= 1s }", &[5]),
        ("duration_micros", "{ duration < 2500us }", &[3]),
        (
            "duration_vs_nanoseconds",
            "{ duration > 100000000 }",
            &[0, 2, 4, 5],
        ),
        ("trace_duration", "{ traceDuration > 1s }", all),
        ("trace_duration_colon", "{ trace:duration < 1s }", &[]),
        ("root_name", r#"{ rootName = "GET /api" }"#, all),
        ("root_service", r#"{ trace:rootService = "db" }"#, &[]),
        (
            "root_service_legacy",
            r#"{ rootServiceName = "frontend" }"#,
            all,
        ),
        (
            "service_name",
            r#"{ resource.service.name = "db" }"#,
            &[2, 3, 4],
        ),
        ("span_attr_int", "{ span.http.status_code = 200 }", &[0]),
        (
            "int_equals_float",
            "{ span.http.status_code = 200.0 }",
            &[0],
        ),
        ("float_attr", "{ span.ratio < 1 }", &[2]),
        ("int_gte", "{ span.http.status_code >= 400 }", &[2]),
        ("string_lt", r#"{ span.user < "bob" }"#, &[1]),
        ("string_gt", r#"{ name > "q" }"#, &[2, 4]),
        ("bare_boolean", "{ span.cache_hit }", &[1, 3]),
        ("not_boolean", "{ !span.cache_hit }", &[0]),
        ("boolean_equals", "{ span.cache_hit = false }", &[0]),
        ("missing_is_not_unequal", r#"{ span.user != "bob" }"#, &[1]),
        ("not_nil", "{ span.user != nil }", &[1]),
        ("nil", "{ span.user = nil }", &[0, 2, 3, 4, 5]),
        ("nil_on_left", "{ nil != span.retries }", &[4]),
        ("unscoped_prefers_span", r#"{ .region = "eu" }"#, &[0, 1]),
        ("unscoped_span_value", r#"{ .region = "ap" }"#, &[5]),
        (
            "unscoped_resource",
            r#"{ .service.name = "db" }"#,
            &[2, 3, 4],
        ),
        (
            "resource_scope",
            r#"{ resource.region = "eu" }"#,
            &[0, 1, 5],
        ),
        ("span_scope_only", r#"{ span.service.name = "db" }"#, &[]),
        ("quoted_attr", r#"{ span."attr with space" = "yes" }"#, &[3]),
        ("regex", r#"{ name =~ "GET.*" }"#, &[0]),
        ("regex_is_anchored", r#"{ name =~ "GET" }"#, &[]),
        (
            "regex_alternation_anchored",
            r#"{ name =~ "auth|retry" }"#,
            &[1, 4],
        ),
        ("not_regex", r#"{ name !~ ".*e.*" }"#, &[0, 1, 5]),
        ("not_regex_missing", r#"{ span.user !~ "x" }"#, &[1]),
        (
            "regex_on_attr",
            r#"{ resource.service.name =~ "fr.*" }"#,
            &[0, 1, 5],
        ),
        (
            "and",
            r#"{ resource.service.name = "db" && status = error }"#,
            &[2, 4],
        ),
        ("or", r#"{ name = "auth" || kind = producer }"#, &[1, 5]),
        ("not_group", "{ !(kind = client) }", &[0, 1, 5]),
        (
            "and_or_left_to_right",
            r#"{ name = "auth" || name = "query" && status = error }"#,
            &[2],
        ),
        ("arithmetic", "{ span.retries + 1 > 3 }", &[4]),
        (
            "arithmetic_mul",
            "{ span.http.status_code * 2 = 1000 }",
            &[2],
        ),
        (
            "arithmetic_precedence",
            "{ span.retries + 2 * 3 = 9 }",
            &[4],
        ),
        ("duration_times_int", "{ duration * 2 > 1s }", &[5]),
        ("duration_sum", "{ duration + 500ms = 1s }", &[0]),
        ("division_by_zero", "{ span.retries / 0 = 1 }", &[]),
        ("float_division", "{ span.retries / 2.0 = 1.5 }", &[4]),
        ("modulo", "{ span.http.status_code % 3 = 2 }", &[0, 2]),
        ("power", "{ span.retries ^ 2 = 9 }", &[4]),
        ("negation", "{ -span.retries < -2 }", &[4]),
        ("type_mismatch", "{ span.user = 1 }", &[]),
        ("status_vs_string_attr", "{ span.user = error }", &[]),
        ("span_id", r#"{ span:id = "s3" }"#, &[3]),
        ("parent_id", r#"{ span:parentID = "s2" }"#, &[3, 4]),
        ("trace_id", r#"{ trace:id = "t1" }"#, all),
        (
            "spanset_and",
            r#"{ name = "auth" } && { status = error }"#,
            &[1, 2, 4],
        ),
        (
            "spanset_and_one_empty",
            r#"{ name = "auth" } && { name = "nope" }"#,
            &[],
        ),
        (
            "spanset_or_one_empty",
            r#"{ name = "auth" } || { name = "nope" }"#,
            &[1],
        ),
        (
            "spanset_or",
            r#"{ name = "auth" } || { kind = producer }"#,
            &[1, 5],
        ),
        (
            "spanset_grouping",
            r#"({ name = "x" } || { kind = producer }) && { kind = server }"#,
            &[0, 5],
        ),
        ("child", r#"{ name = "GET /api" } > {}"#, &[1, 2]),
        (
            "child_across_services",
            r#"{ resource.service.name = "frontend" } > { resource.service.name = "db" }"#,
            &[2],
        ),
        ("descendant", r#"{ name = "query" } >> {}"#, &[3, 4]),
        (
            "descendant_deep",
            r#"{ name = "GET /api" } >> { kind = producer }"#,
            &[5],
        ),
        ("descendant_none", r#"{ name = "retry" } >> {}"#, &[]),
        ("sibling", r#"{ name = "cache get" } ~ {}"#, &[4]),
        (
            "sibling_not_itself",
            "{ kind = client } ~ { kind = client }",
            &[3, 4],
        ),
        ("parent", r#"{ name = "retry" } < {}"#, &[2]),
        ("ancestor", "{ kind = producer } << {}", &[0, 1]),
        (
            "structural_chain",
            r#"{ kind = server } > { kind = client } > { status = error }"#,
            &[4],
        ),
        (
            "structural_then_and",
            r#"{ name = "auth" } > {} && { status = error }"#,
            &[2, 4, 5],
        ),
        (
            "pipeline_count",
            "{ status = error } | count() > 1",
            &[2, 4],
        ),
        (
            "pipeline_count_fails",
            "{ status = error } | count() > 2",
            &[],
        ),
        ("pipeline_count_equal", "{} | count() = 6", all),
        (
            "pipeline_avg",
            r#"{ resource.service.name = "db" } | avg(duration) > 100ms"#,
            &[2, 3, 4],
        ),
        (
            "pipeline_min",
            "{ kind = client } | min(duration) < 3ms",
            &[2, 3, 4],
        ),
        (
            "pipeline_sum",
            "{ kind = client } | sum(duration) = 452ms",
            &[2, 3, 4],
        ),
        ("pipeline_max_attr", "{} | max(span.retries) = 3", all),
        (
            "pipeline_aggregate_of_nothing",
            "{} | max(span.nope) > 0",
            &[],
        ),
        (
            "pipeline_filter_stage",
            "{ kind = client } | { status = error }",
            &[2, 4],
        ),
        (
            "pipeline_structural_stage",
            r#"{ resource.service.name = "db" } | { name = "query" } > {}"#,
            &[3, 4],
        ),
        (
            "stage_sees_only_its_input",
            r#"{ kind = client } | { name = "GET /api" } > {}"#,
            &[],
        ),
        (
            "pipeline_operand",
            "({ status = error } | count() > 1) && { kind = server }",
            &[0, 2, 4],
        ),
        (
            "pipeline_then_count",
            "{ kind = client } | { status = error } | count() = 2",
            &[2, 4],
        ),
    ];
    let t = trace();
    for (name, query, want) in cases {
        let q = match parse(query) {
            Ok(q) => q,
            Err(e) => panic!("{name}: {e}"),
        };
        assert_eq!(q.matches(&t), *want, "{name}: {query}");
    }
}

#[test]
fn empty_trace_matches_nothing() {
    let t = TestTrace {
        spans: Vec::new(),
        resources: Vec::new(),
        ids: Vec::new(),
    };
    for query in ["{}", "{} || {}", "{} >> {}", "{} | count() = 0"] {
        let q = parse(query).map_err(|e| e.to_string());
        assert_eq!(q.map(|q| q.matches(&t)), Ok(vec![]), "{query}");
    }
}

/// `a` is a strict ancestor of `s`, by walking parents (acyclic input).
fn is_ancestor(parents: &[Option<usize>], a: usize, s: usize) -> bool {
    let mut at = parents[s];
    while let Some(p) = at {
        if p == a {
            return true;
        }
        at = parents[p];
    }
    false
}

/// The definitions, pair by pair.
fn reference(op: SpansetOp, parents: &[Option<usize>], l: &[usize], r: &[usize]) -> Vec<usize> {
    let related = |x: usize, s: usize| match op {
        SpansetOp::Child => parents[s] == Some(x),
        SpansetOp::Parent => parents[x] == Some(s),
        SpansetOp::Descendant => is_ancestor(parents, x, s),
        SpansetOp::Ancestor => is_ancestor(parents, s, x),
        SpansetOp::Sibling => x != s && parents[s].is_some() && parents[s] == parents[x],
        SpansetOp::And | SpansetOp::Or => false,
    };
    r.iter()
        .copied()
        .filter(|&s| l.iter().any(|&x| related(x, s)))
        .collect()
}

/// A forest of up to 10 spans (each parent precedes its child) and two
/// sorted subsets of it.
fn forest() -> impl Strategy<Value = (Vec<Option<usize>>, Vec<usize>, Vec<usize>)> {
    (1usize..10).prop_flat_map(|n| {
        let parents = (0..n)
            .map(|i| prop::option::of(0..i.max(1)).prop_map(move |p| p.filter(|&p| p < i)))
            .collect::<Vec<_>>();
        let subset = prop::collection::btree_set(0..n, 0..=n)
            .prop_map(|s| s.into_iter().collect::<Vec<_>>());
        (parents, subset.clone(), subset)
    })
}

proptest! {
    #[test]
    fn structural_relations_match_reference((parents, l, r) in forest()) {
        let tree = TestTrace {
            spans: parents
                .iter()
                .map(|&parent| Span {
                    name: "",
                    resource: 0,
                    parent,
                    status: Status::Unset,
                    message: "",
                    kind: Kind::Internal,
                    duration_ms: 0,
                    attrs: Vec::new(),
                })
                .collect(),
            resources: vec![Vec::new()],
            ids: Vec::new(),
        };
        for op in [
            SpansetOp::Child,
            SpansetOp::Parent,
            SpansetOp::Descendant,
            SpansetOp::Ancestor,
            SpansetOp::Sibling,
        ] {
            prop_assert_eq!(relate(op, &l, &r, &tree), reference(op, &parents, &l, &r), "{:?}", op);
        }
    }
}
