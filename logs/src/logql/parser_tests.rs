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
        prop_oneof!["=", "!=", "=~", "!~"],
        "[a-z0-9 .\"\\\\\n]{0,6}",
    )
        .prop_map(|(n, op, v)| format!("{n}{op}{}", promql::ast::quote_string(&v)));
    let filter = (
        prop_oneof!["|=", "!=", "|~", "!~"],
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
        Just("| decolorize".to_string()),
        (
            "[a-z]{1,4}",
            prop_oneof![">", ">=", "==", "!=", "<"],
            prop_oneof!["5", "1.5s", "10KB", "0.25"]
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
