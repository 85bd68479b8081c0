//! Parser tests: canonical forms (`Display`) and the trees behind them.

use super::ast::{
    Aggregate, Attribute, BinaryOp, FieldExpr, ScalarFilter, Scope, SpansetExpr, SpansetOp, Stage,
    Static,
};
use super::parse;

#[test]
fn canonical_forms() {
    let cases: &[(&str, &str, &str)] = &[
        ("empty_filter", "{}", "{}"),
        ("empty_filter_spaced", "{ }", "{}"),
        ("true_is_empty_filter", "{ true }", "{}"),
        ("false", "{ false }", "{ false }"),
        ("whitespace", "{   span.a   =   1 }", "{ span.a = 1 }"),
        ("newlines", "{\n  .a = 1\n}\n", "{ .a = 1 }"),
        ("tight", "{.a=1&&.b!=2}", "{ .a = 1 && .b != 2 }"),
        ("name", r#"{ name = "x" }"#, r#"{ span:name = "x" }"#),
        (
            "colon_name",
            r#"{ span:name = "x" }"#,
            r#"{ span:name = "x" }"#,
        ),
        ("status", "{ status = error }", "{ span:status = error }"),
        (
            "status_ok",
            "{ span:status != ok }",
            "{ span:status != ok }",
        ),
        (
            "status_unset",
            "{ status = unset }",
            "{ span:status = unset }",
        ),
        ("kind", "{ kind = server }", "{ span:kind = server }"),
        (
            "kinds",
            "{ kind = unspecified || kind = internal || kind = client || kind = producer || kind = consumer }",
            "{ span:kind = unspecified || span:kind = internal || span:kind = client || span:kind = producer || span:kind = consumer }",
        ),
        (
            "status_message",
            r#"{ statusMessage = "m" }"#,
            r#"{ span:statusMessage = "m" }"#,
        ),
        (
            "duration",
            "{ duration > 1.5s }",
            "{ span:duration > 1500ms }",
        ),
        (
            "duration_micro_sign",
            "{ span:duration < 100µs }",
            "{ span:duration < 100us }",
        ),
        (
            "duration_units",
            "{ duration >= 10ns && duration <= 2m || duration = 1h }",
            "{ (span:duration >= 10ns && span:duration <= 2m) || span:duration = 1h }",
        ),
        (
            "trace_intrinsics",
            r#"{ rootName = "r" && rootServiceName = "s" && traceDuration > 1s }"#,
            r#"{ trace:rootName = "r" && trace:rootService = "s" && trace:duration > 1s }"#,
        ),
        (
            "trace_colon_intrinsics",
            r#"{ trace:rootName = "r" && trace:rootService = "s" && trace:duration > 1s }"#,
            r#"{ trace:rootName = "r" && trace:rootService = "s" && trace:duration > 1s }"#,
        ),
        (
            "ids",
            r#"{ span:id = "ab" || span:parentID = "cd" || trace:id = "ef" }"#,
            r#"{ span:id = "ab" || span:parentID = "cd" || trace:id = "ef" }"#,
        ),
        (
            "resource",
            r#"{ resource.service.name = "a" }"#,
            r#"{ resource.service.name = "a" }"#,
        ),
        (
            "unscoped",
            "{ .http.status_code = 200 }",
            "{ .http.status_code = 200 }",
        ),
        (
            "quoted_attr",
            r#"{ span."attr with space" = 1 }"#,
            r#"{ span."attr with space" = 1 }"#,
        ),
        (
            "needlessly_quoted_attr",
            r#"{ span."abc" = 1 }"#,
            "{ span.abc = 1 }",
        ),
        ("quoted_unscoped", r#"{ ."a b" }"#, r#"{ ."a b" }"#),
        (
            "backtick",
            r#"{ name = `a"b\` }"#,
            r#"{ span:name = "a\"b\\" }"#,
        ),
        ("escapes", r#"{ .a = "x\ty\n" }"#, r#"{ .a = "x\ty\n" }"#),
        ("float", "{ .a = 1.0 }", "{ .a = 1.0 }"),
        ("bare_attribute", "{ span.cache_hit }", "{ span.cache_hit }"),
        (
            "nil",
            "{ span.x != nil && span.y = nil }",
            "{ span.x != nil && span.y = nil }",
        ),
        (
            "regex",
            r#"{ name =~ "GET.*" }"#,
            r#"{ span:name =~ "GET.*" }"#,
        ),
        (
            "not_regex",
            r"{ name !~ `a\d` }",
            r#"{ span:name !~ "a\\d" }"#,
        ),
        (
            "and_or_equal_precedence",
            "{ .a || .b && .c }",
            "{ (.a || .b) && .c }",
        ),
        ("and_chain", "{ .a && .b && .c }", "{ .a && .b && .c }"),
        (
            "and_or_grouped",
            "{ .a || (.b && .c) }",
            "{ .a || (.b && .c) }",
        ),
        (
            "redundant_parens",
            "{ (.a = 1) && ((.b)) }",
            "{ .a = 1 && .b }",
        ),
        ("not", "{ !(.a = 1) }", "{ !(.a = 1) }"),
        ("not_bare", "{ ! span.cache_hit }", "{ !span.cache_hit }"),
        ("not_not", "{ !!.a }", "{ !!.a }"),
        ("arithmetic", "{ span.a + 1 > 3 }", "{ span.a + 1 > 3 }"),
        (
            "arithmetic_grouped",
            "{ (span.a + 1) * 2 > 3 }",
            "{ (span.a + 1) * 2 > 3 }",
        ),
        (
            "arithmetic_precedence",
            "{ .a + .b * .c % 2 = 0 }",
            "{ .a + .b * .c % 2 = 0 }",
        ),
        (
            "left_assoc",
            "{ (.a - .b) - .c = 0 }",
            "{ .a - .b - .c = 0 }",
        ),
        (
            "right_group_kept",
            "{ .a - (.b - .c) = 0 }",
            "{ .a - (.b - .c) = 0 }",
        ),
        (
            "pow_right_assoc",
            "{ 2 ^ (3 ^ .a) = 1 }",
            "{ 2 ^ 3 ^ .a = 1 }",
        ),
        (
            "pow_left_group",
            "{ (2 ^ 3) ^ .a = 1 }",
            "{ (2 ^ 3) ^ .a = 1 }",
        ),
        ("negation", "{ -.a < -1 }", "{ -.a < -1 }"),
        ("negation_of_pow", "{ -2 ^ 2 < .a }", "{ -2 ^ 2 < .a }"),
        (
            "negation_then_pow",
            "{ (-2) ^ 2 < .a }",
            "{ (-2) ^ 2 < .a }",
        ),
        ("minus_in_name", "{ .a-b > 1 }", "{ .a-b > 1 }"),
        (
            "compare_booleans",
            "{ (.a = 1) = true }",
            "{ .a = 1 = true }",
        ),
        ("spanset_and", "{ .a } && { .b }", "{ .a } && { .b }"),
        ("spanset_or", "{.a}||{.b}", "{ .a } || { .b }"),
        (
            "spanset_grouped",
            "({ .a } || { .b }) && { .c }",
            "({ .a } || { .b }) && { .c }",
        ),
        (
            "spanset_and_or_left_to_right",
            "{ .a } || { .b } && { .c }",
            "({ .a } || { .b }) && { .c }",
        ),
        (
            "spanset_redundant_parens",
            "(({ .a } && { .b })) && { .c }",
            "{ .a } && { .b } && { .c }",
        ),
        (
            "spanset_right_group",
            "{ .a } && ({ .b } || { .c })",
            "{ .a } && ({ .b } || { .c })",
        ),
        (
            "structural",
            "{ .a } >> { .b } > { .c } ~ { .d }",
            "{ .a } >> { .b } > { .c } ~ { .d }",
        ),
        (
            "structural_binds_tighter",
            "{ .a } && { .b } >> { .c }",
            "{ .a } && { .b } >> { .c }",
        ),
        (
            "structural_grouped",
            "({ .a } && { .b }) >> { .c }",
            "({ .a } && { .b }) >> { .c }",
        ),
        (
            "ancestor_parent",
            "{ .a } << { .b } < { .c }",
            "{ .a } << { .b } < { .c }",
        ),
        (
            "pipeline_count",
            "{ .a } | count() > 2",
            "{ .a } | count() > 2",
        ),
        (
            "pipeline_stages",
            "{} | avg(duration) > 1s | max(span.x) <= -2.5 | min(.y)=0 | sum(.z) != 1.0 | { .b }",
            "{} | avg(span:duration) > 1s | max(span.x) <= -2.5 | min(.y) = 0 | sum(.z) != 1.0 | { .b }",
        ),
        (
            "pipeline_spanset_stage",
            "{ .a } | { .b } >> { .c }",
            "{ .a } | { .b } >> { .c }",
        ),
        (
            "pipeline_operand",
            "({ .a } | count() > 1) && { .b }",
            "({ .a } | count() > 1) && { .b }",
        ),
        (
            "nested_pipeline_flattens",
            "({ .a } | count() > 1) | { .b }",
            "{ .a } | count() > 1 | { .b }",
        ),
        (
            "pipeline_in_stage",
            "{ .a } | ({ .b } | count() > 1)",
            "{ .a } | ({ .b } | count() > 1)",
        ),
        ("parenthesized_query", "({ .a })", "{ .a }"),
    ];
    for (name, input, want) in cases {
        let q = match parse(input) {
            Ok(q) => q,
            Err(e) => panic!("{name}: {input:?}: {e}"),
        };
        assert_eq!(q.to_string(), *want, "{name}");
        assert_eq!(
            parse(want).as_ref(),
            Ok(&q),
            "{name}: canonical form reparses"
        );
    }
}

/// Input → (line, column, message fragment).
/// Queries just inside the nesting budget parse, print, reparse and
/// evaluate without exhausting a test thread's stack.
#[test]
fn deep_queries_within_budget() {
    let n = super::internal::MAX_DEPTH - 4;
    let cases = [
        (
            "parens",
            format!("{{ {}.a{} }}", "(".repeat(n), ")".repeat(n)),
        ),
        ("prefix", format!("{{ {}.a }}", "!".repeat(n))),
        ("chain", format!("{{ {} }}", vec![".a"; n].join(" && "))),
        (
            "spansets",
            format!("{}{{}}{}", "(".repeat(n), ")".repeat(n)),
        ),
        ("spanset_chain", vec!["{}"; n].join(" >> ")),
    ];
    for (name, query) in cases {
        let q = match parse(&query) {
            Ok(q) => q,
            Err(e) => panic!("{name}: {e}"),
        };
        assert_eq!(parse(&q.to_string()).as_ref(), Ok(&q), "{name}");
        assert!(q.conditions().is_empty(), "{name}");
    }
}

#[test]
fn queries_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<super::Query>();
    check::<super::ParseError>();
}

#[test]
fn parse_builds_the_expected_tree() {
    let attr = |name: &str| {
        Box::new(FieldExpr::Attribute(Attribute {
            scope: Scope::Any,
            name: name.into(),
        }))
    };
    let q = match parse("{ .a || .b && .c } >> {} | count() >= 2") {
        Ok(q) => q,
        Err(e) => panic!("{e}"),
    };
    // `&&` and `||` share a precedence level and group to the left (Tempo).
    let filter = FieldExpr::Binary {
        op: BinaryOp::And,
        lhs: Box::new(FieldExpr::Binary {
            op: BinaryOp::Or,
            lhs: attr("a"),
            rhs: attr("b"),
        }),
        rhs: attr("c"),
    };
    let want = SpansetExpr::Pipeline {
        input: Box::new(SpansetExpr::Op {
            op: SpansetOp::Descendant,
            lhs: Box::new(SpansetExpr::Filter(filter)),
            rhs: Box::new(SpansetExpr::Filter(FieldExpr::Static(Static::Bool(true)))),
        }),
        stages: vec![Stage::Scalar(ScalarFilter {
            aggregate: Aggregate::Count,
            op: BinaryOp::Gte,
            value: Static::Int(2),
        })],
    };
    assert_eq!(q.root, want);
}
