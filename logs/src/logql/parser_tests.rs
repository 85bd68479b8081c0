use proptest::prelude::*;

use super::*;

#[test]
fn queries_and_their_canonical_form() {
    let cases: &[(&str, &str, &str)] = &[
        ("selector", r#"{app="api"}"#, r#"{app="api"}"#),
        (
            "spaces and matchers",
            r#"{ app = "api" ,env=~"p.*" }"#,
            r#"{app="api", env=~"p.*"}"#,
        ),
        (
            "all operators",
            r#"{a="1",b!="2",c=~"3",d!~"4"}"#,
            r#"{a="1", b!="2", c=~"3", d!~"4"}"#,
        ),
        (
            "backticks",
            r#"{app=`a"b`} |= `c\d`"#,
            r#"{app="a\"b"} |= "c\\d""#,
        ),
        (
            "filters chained",
            r#"{app="api"} |= "GET" != "/health" |~ "5.." !~ "debug""#,
            r#"{app="api"} |= "GET" != "/health" |~ "5.." !~ "debug""#,
        ),
        (
            "or",
            r#"{app="api"} |= "a" or "b" or `c`"#,
            r#"{app="api"} |= "a" or "b" or "c""#,
        ),
        (
            "OR in capitals",
            r#"{app="api"} != "a" OR "b""#,
            r#"{app="api"} != "a" or "b""#,
        ),
        ("trailing comma", r#"{app="api",}"#, r#"{app="api"}"#),
        (
            "escapes",
            r#"{app="api"} |= "tab\there\n""#,
            r#"{app="api"} |= "tab\there\n""#,
        ),
    ];
    for (name, q, want) in cases {
        let e = parse(q).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(e.to_string(), *want, "{name}");
        assert_eq!(parse(&e.to_string()).unwrap(), e, "{name}: reprint");
    }
}

#[test]
fn errors_name_where() {
    let cases: &[(&str, &str, (usize, usize), &str)] = &[
        ("empty", "", (1, 1), "empty query"),
        (
            "no selector",
            r#"app="x""#,
            (1, 1),
            "expected a stream selector",
        ),
        ("unclosed", r#"{app="x""#, (1, 9), "expected \",\" or \"}\""),
        (
            "empty selector",
            "{}",
            (1, 1),
            "at least one regexp or equality matcher",
        ),
        (
            "only empty-compatible",
            r#"{app=~".*"}"#,
            (1, 1),
            "empty-compatible",
        ),
        (
            "filter without a string",
            r#"{app="x"} |= 5"#,
            (1, 14),
            "expected a string",
        ),
        (
            "bad regex",
            r#"{app="x"} |~ "(""#,
            (1, 14),
            "invalid regular expression",
        ),
        ("bad regex matcher", r#"{app=~"("}"#, (1, 7), "("),
        ("garbage after", r#"{app="x"} foo"#, (1, 11), "unexpected"),
        (
            "second line",
            "{app=\"x\"}\n |= 1",
            (2, 5),
            "expected a string",
        ),
    ];
    for (name, q, (line, col), want) in cases {
        let e = parse(q).expect_err(name);
        assert_eq!((e.line, e.col), (*line, *col), "{name}: {e}");
        assert!(e.msg.contains(want), "{name}: {e}");
    }
}

fn query() -> impl Strategy<Value = String> {
    let matcher = (
        "[a-z_]{1,6}",
        prop::sample::select(vec!["=", "!=", "=~", "!~"]),
        "[a-z0-9 .\"\\\\\n]{0,6}",
    )
        .prop_map(|(n, op, v)| format!("{n}{op}{}", promql::ast::quote_string(&v)));
    let filter = (
        prop::sample::select(vec!["|=", "!=", "|~", "!~", "|>", "!>"]),
        proptest::collection::vec("[a-z0-9 .\"\\\\é]{0,6}", 1..3),
    )
        .prop_map(|(op, ps)| {
            let ps: Vec<String> = ps
                .iter()
                .map(|p| promql::ast::quote_string(&regex::escape(p)))
                .collect();
            format!("{op} {}", ps.join(" or "))
        });
    let stage = prop_oneof![
        Just("| json".to_string()),
        Just("| logfmt".to_string()),
        Just("| logfmt --strict".to_string()),
        Just("| decolorize".to_string()),
        (
            "[a-z]{1,4}",
            prop::sample::select(vec![">", ">=", "==", "!=", "<"]),
            prop::sample::select(vec!["5", "1.5s", "10KB", "0.25"])
        )
            .prop_map(|(n, op, v)| format!("| {n} {op} {v}")),
        ("[a-z]{1,4}", "[a-z]{1,4}")
            .prop_map(|(a, b)| format!("| {a}=\"x\" or ({b}=~\"y.*\", {a} > 2)")),
        ("[a-z]{1,4}", "[a-z ]{0,6}")
            .prop_map(|(a, t)| format!("| line_format \"{t}{{{{.{a}}}}}\"")),
        ("[a-z]{1,4}", "[a-z]{1,4}").prop_map(|(a, b)| format!("| label_format {a}={b}")),
        ("[a-z]{1,4}", "[a-z]{1,4}").prop_map(|(a, b)| format!("| drop {a}, {b}=\"v\"")),
    ];
    let filter = prop_oneof![filter, stage];
    (
        "[a-z]{1,5}",
        "[a-z]{1,5}",
        proptest::collection::vec(matcher, 0..3),
        proptest::collection::vec(filter, 0..4),
    )
        .prop_map(|(n, v, ms, fs)| {
            let mut all = vec![format!("{n}=\"{v}\"")];
            all.extend(ms);
            format!("{{{}}} {}", all.join(", "), fs.join(" "))
        })
}

proptest! {
    /// Printing a parsed query and parsing it again gives the same tree.
    #[test]
    fn display_round_trips(q in query()) {
        if let Ok(e) = parse(&q) {
            let printed = e.to_string();
            let reparsed = parse(&printed);
            prop_assert_eq!(reparsed.as_ref(), Ok(&e), "{}", printed);
        }
    }

    /// Any input gives a tree or a positioned error, never a panic.
    #[test]
    fn never_panics(q in "[{}a-z=!~|\"` ,.*()\\\\\n]{0,30}") {
        let _ = parse(&q);
    }
}

#[test]
fn stages_and_metrics_in_canonical_form() {
    let cases: &[(&str, &str, &str)] = &[
        ("json", r#"{a="b"} | json"#, r#"{a="b"} | json"#),
        (
            "json paths",
            r#"{a="b"} | json x="a.b",y="c[0]""#,
            r#"{a="b"} | json x="a.b", y="c[0]""#,
        ),
        (
            "logfmt and label filters",
            r#"{a="b"} | logfmt | status>=400 and level=~"e.*""#,
            r#"{a="b"} | logfmt | status >= 400 and level=~"e.*""#,
        ),
        (
            "durations and bytes, comma",
            r#"{a="b"} | logfmt | took > 1.5s , size < 10KB"#,
            r#"{a="b"} | logfmt | took > 1.5s and size < 10KB"#,
        ),
        (
            "juxtaposed filters",
            r#"{a="b"} | x=1 y!="z""#,
            r#"{a="b"} | x == 1 and y!="z""#,
        ),
        (
            "parenthesized filters",
            r#"{a="b"} | (x = 1 or y == 2) and z="w""#,
            r#"{a="b"} | (x == 1 or y == 2) and z="w""#,
        ),
        (
            "line_format",
            r#"{a="b"} | line_format "{{.a}} {{ .b | ToUpper }}""#,
            r#"{a="b"} | line_format "{{.a}} {{ .b | ToUpper }}""#,
        ),
        (
            "label_format",
            r#"{a="b"} | label_format x=y,z="{{.a}}""#,
            r#"{a="b"} | label_format x=y, z="{{.a}}""#,
        ),
        (
            "drop and keep",
            r#"{a="b"} | drop a, b="c" | keep d,e=~"f""#,
            r#"{a="b"} | drop a, b="c" | keep d, e=~"f""#,
        ),
        (
            "decolorize",
            r#"{a="b"} | decolorize |= "x""#,
            r#"{a="b"} | decolorize |= "x""#,
        ),
        (
            "regexp",
            r#"{a="b"} | regexp `(?P<n>\d+)`"#,
            r#"{a="b"} | regexp "(?P<n>\\d+)""#,
        ),
        (
            "pattern",
            r#"{a="b"} | pattern `<ip> - <_>`"#,
            r#"{a="b"} | pattern "<ip> - <_>""#,
        ),
        ("unpack", r#"{a="b"} | unpack"#, r#"{a="b"} | unpack"#),
        (
            "logfmt flags",
            r#"{a="b"} | logfmt --keep-empty --strict"#,
            r#"{a="b"} | logfmt --strict --keep-empty"#,
        ),
        (
            "logfmt fields",
            r#"{a="b"} | logfmt --strict host,fwd="x-fwd" , took="took""#,
            r#"{a="b"} | logfmt --strict host, fwd="x-fwd", took"#,
        ),
        (
            "ip line filters",
            r#"{a="b"} |= ip( "10.0.0.0/8" ) or ip("::1") != ip("1.2.3.4")"#,
            r#"{a="b"} |= ip("10.0.0.0/8") or ip("::1") != ip("1.2.3.4")"#,
        ),
        (
            "ip label filters",
            r#"{a="b"} | logfmt | addr==ip("10.0.0.1-10.0.0.9") and x!=ip("::/0")"#,
            r#"{a="b"} | logfmt | addr = ip("10.0.0.1-10.0.0.9") and x != ip("::/0")"#,
        ),
        (
            "json bare field",
            r#"{a="b"} | json status, p="req.path""#,
            r#"{a="b"} | json status, p="req.path""#,
        ),
        (
            "count",
            r#"count_over_time({app="a"}[5m])"#,
            r#"count_over_time({app="a"} [5m])"#,
        ),
        (
            "range with filters and offset",
            r#"rate( {app="a"} |= "x"[1m] offset 5m )"#,
            r#"rate({app="a"} |= "x" [1m] offset 5m)"#,
        ),
        (
            "aggregation, grouping after",
            r#"sum(bytes_rate({app="a"}[1m])) by (app, env)"#,
            r#"sum by (app, env) (bytes_rate({app="a"} [1m]))"#,
        ),
        (
            "topk",
            r#"topk(3, count_over_time({a="b"}[1h]))"#,
            r#"topk(3, count_over_time({a="b"} [1h]))"#,
        ),
        (
            "health check",
            "vector(1)+vector(1)",
            "vector(1) + vector(1)",
        ),
        (
            "precedence, bool, matching",
            r#"1 + 2 * count_over_time({a="b"}[1m]) > bool on (a) group_left (c) 3 or vector(0)"#,
            r#"1 + 2 * count_over_time({a="b"} [1m]) > bool on (a) group_left (c) 3 or vector(0)"#,
        ),
        ("parentheses", "(1 + 2) * 3", "(1 + 2) * 3"),
        ("power is right-associative", "2 ^ 3 ^ 2", "2 ^ 3 ^ 2"),
        (
            "negative number and sort",
            "-1 + sort_desc(vector(2))",
            "-1 + sort_desc(vector(2))",
        ),
        (
            "a metric over a pipeline",
            r#"sum by (status) (count_over_time({a="b"} | json | __error__="" [5m]))"#,
            r#"sum by (status) (count_over_time({a="b"} | json | __error__="" [5m]))"#,
        ),
        (
            "unwrap",
            r#"quantile_over_time(0.99,{a="b"} | logfmt | unwrap duration_seconds(took) | __error__="" [5m]) by (path)"#,
            r#"quantile_over_time(0.99, {a="b"} | logfmt | unwrap duration(took) | __error__="" [5m]) by (path)"#,
        ),
        (
            "unwrap plain",
            r#"sum_over_time({a="b"} | unwrap n [1m])"#,
            r#"sum_over_time({a="b"} | unwrap n [1m])"#,
        ),
        (
            "label_replace",
            r#"label_replace(rate({a="b"}[1m]), "x", "$1", "a", "(.*)")"#,
            r#"label_replace(rate({a="b"} [1m]), "x", "$1", "a", "(.*)")"#,
        ),
    ];
    for (name, q, want) in cases {
        let e = parse(q).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(e.to_string(), *want, "{name}");
        assert_eq!(parse(&e.to_string()).unwrap(), e, "{name}: reprint");
    }
}

#[test]
fn stage_and_metric_errors() {
    let cases: &[(&str, &str, (usize, usize), &str)] = &[
        (
            "pattern without a capture",
            r#"{a="b"} | pattern "x y""#,
            (1, 19),
            "no named capture",
        ),
        (
            "template",
            r#"{a="b"} | line_format "{{ fromJson .a }}""#,
            (1, 23),
            "not supported",
        ),
        (
            "comparison without a value",
            r#"{a="b"} | status >"#,
            (1, 19),
            "expected a string, number, duration or byte size",
        ),
        (
            "regexp that does not compile",
            r#"{a="b"} | regexp "(""#,
            (1, 18),
            "invalid regular expression",
        ),
        (
            "label filter without operator",
            r#"{a="b"} | status"#,
            (1, 17),
            "expected a comparison operator",
        ),
        (
            "range missing",
            r#"count_over_time({a="b"})"#,
            (1, 24),
            "expected a range",
        ),
        (
            "unknown function",
            r#"nope({a="b"}[1m])"#,
            (1, 1),
            "expected a stream selector or a metric query",
        ),
        ("bool on arithmetic", "1 + bool 2", (1, 5), "bool modifier"),
        (
            "unclosed aggregation",
            r#"sum(count_over_time({a="b"}[1m])"#,
            (1, 33),
            "expected \")\"",
        ),
        (
            "empty range",
            r#"rate({a="b"}[0s])"#,
            (1, 14),
            "range must be positive",
        ),
        (
            "over_time without unwrap",
            r#"sum_over_time({a="b"}[1m])"#,
            (1, 15),
            "needs an unwrapped label",
        ),
        (
            "count with unwrap",
            r#"count_over_time({a="b"} | unwrap x [1m])"#,
            (1, 17),
            "takes no unwrap",
        ),
        (
            "grouping a log range",
            r#"count_over_time({a="b"}[1m]) by (a)"#,
            (1, 30),
            "grouping is not allowed",
        ),
        (
            "unknown conversion",
            r#"sum_over_time({a="b"} | unwrap secs(x) [1m])"#,
            (1, 32),
            "unknown unwrap conversion",
        ),
        (
            "label_replace bad regex",
            r#"label_replace(vector(1), "a", "b", "c", "(")"#,
            (1, 14),
            "invalid regular expression",
        ),
    ];
    for (name, q, (line, col), want) in cases {
        let e = parse(q).expect_err(name);
        assert_eq!((e.line, e.col), (*line, *col), "{name}: {e}");
        assert!(e.msg.contains(want), "{name}: {e}");
    }
}

fn metric_query() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (
            "[a-z]{1,4}",
            prop::sample::select(vec!["count_over_time", "rate", "bytes_rate"]),
            prop::sample::select(vec!["1m", "5m", "1h30m"])
        )
            .prop_map(|(v, f, r)| format!("{f}({{app=\"{v}\"}} |= \"x\" [{r}])")),
        (
            "[a-z]{1,4}",
            prop::sample::select(vec!["sum_over_time", "max_over_time"])
        )
            .prop_map(|(v, f)| format!(
                "{f}({{app=\"{v}\"}} | logfmt | unwrap n | __error__=\"\" [1m]) by (app)"
            )),
        (0u32..100).prop_map(|n| format!("vector({n})")),
        (0u32..100).prop_map(|n| n.to_string()),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*", "/", ">", "or", "and", "^"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            (
                prop::sample::select(vec!["sum", "max", "count"]),
                inner.clone()
            )
                .prop_map(|(f, e)| format!("{f} by (app) ({e})")),
            inner.prop_map(|e| format!("({e})")),
        ]
    })
}

proptest! {
    /// Metric queries print as they parse back.
    #[test]
    fn metric_display_round_trips(q in metric_query()) {
        let e = parse(&q);
        prop_assert!(e.is_ok(), "{}: {:?}", q, e);
        let e = e.unwrap();
        let printed = e.to_string();
        let reparsed = parse(&printed);
        prop_assert_eq!(reparsed.as_ref(), Ok(&e), "{}", printed);
    }
}
