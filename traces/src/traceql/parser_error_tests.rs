//! Parser tests: positioned error messages.

use super::internal::MAX_DEPTH;
use super::parse;

#[test]
fn errors() {
    let deep = format!(
        "{}{{}}{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let long_chain = format!("{{ {} }}", vec![".a"; MAX_DEPTH + 2].join(" && "));
    let cases: &[(&str, &str, (usize, usize), &str)] = &[
        ("empty", "", (1, 1), "empty query"),
        (
            "pipeline_operand_needs_parens",
            "{ .a } | count() > 1 && { .b }",
            (1, 22),
            "a pipeline must be in parentheses",
        ),
        ("blank", "   ", (1, 4), "empty query"),
        (
            "not_a_spanset",
            "foo",
            (1, 1),
            "expected a spanset filter '{ ... }' or '(', found `foo`",
        ),
        (
            "unclosed_filter",
            "{ .a = 1",
            (1, 9),
            "expected an operator or '}', found end of query",
        ),
        (
            "two_operands",
            "{ .a .b }",
            (1, 6),
            "expected an operator or '}', found `.b`",
        ),
        (
            "missing_rhs",
            "{ .a = }",
            (1, 8),
            "expected a value, attribute or intrinsic, found `}`",
        ),
        (
            "missing_lhs",
            "{ = 1 }",
            (1, 3),
            "expected a field expression or '}', found `=`",
        ),
        (
            "unknown_intrinsic",
            "{ foo = 1 }",
            (1, 3),
            "unknown intrinsic `foo` (attributes need a scope",
        ),
        (
            "unknown_scoped_intrinsic",
            "{ span:foo = 1 }",
            (1, 3),
            "unknown intrinsic `span:foo`",
        ),
        (
            "unknown_trace_intrinsic",
            "{ trace:name = 1 }",
            (1, 3),
            "unknown intrinsic `trace:name`",
        ),
        (
            "colon_without_name",
            "{ span: = 1 }",
            (1, 8),
            "expected an intrinsic name",
        ),
        (
            "unknown_scope",
            "{ event.foo = 1 }",
            (1, 3),
            "unsupported attribute scope `event`",
        ),
        (
            "missing_attr_name",
            "{ span. = 1 }",
            (1, 8),
            "expected an attribute name",
        ),
        (
            "empty_attr_name",
            r#"{ span."" = 1 }"#,
            (1, 8),
            "empty attribute name",
        ),
        ("bad_regex", r#"{ .a =~ "(" }"#, (1, 9), "invalid regex"),
        (
            "regex_needs_literal",
            "{ .a =~ .b }",
            (1, 9),
            "`=~` needs a string literal pattern",
        ),
        (
            "regex_needs_string",
            r#"{ duration =~ "1" }"#,
            (1, 3),
            "`=~` needs a string on the left, found a duration",
        ),
        (
            "int_vs_string",
            r#"{ 1 = "a" }"#,
            (1, 3),
            "cannot compare an integer with a string",
        ),
        (
            "status_vs_int",
            "{ status = 200 }",
            (1, 3),
            "cannot compare a status with an integer",
        ),
        (
            "kind_vs_status",
            "{ kind = error }",
            (1, 3),
            "cannot compare a kind with a status",
        ),
        (
            "order_status",
            "{ status > ok }",
            (1, 3),
            "`>` cannot order a status",
        ),
        (
            "order_nil",
            "{ .a > nil }",
            (1, 3),
            "nil can only be compared with `=` or `!=`",
        ),
        (
            "non_boolean_filter",
            "{ 1 }",
            (1, 3),
            "a spanset filter needs a boolean expression, found an integer",
        ),
        (
            "string_filter",
            "{ name }",
            (1, 3),
            "needs a boolean expression, found a string",
        ),
        (
            "and_needs_booleans",
            "{ .a && 1 }",
            (1, 9),
            "`&&` needs boolean operands, found an integer",
        ),
        (
            "arith_needs_numbers",
            r#"{ .a + "x" > 1 }"#,
            (1, 8),
            "`+` needs numbers or durations, found a string",
        ),
        (
            "not_needs_boolean",
            "{ !1 }",
            (1, 3),
            "`!` needs a boolean, found an integer",
        ),
        (
            "neg_needs_number",
            "{ -name }",
            (1, 3),
            "`-` needs a number or duration, found a string",
        ),
        (
            "unterminated_string",
            r#"{ .a = "x }"#,
            (1, 8),
            "unterminated string",
        ),
        (
            "bad_escape",
            r#"{ .a = "x\q" }"#,
            (1, 10),
            "unknown escape sequence `\\q`",
        ),
        (
            "bad_duration",
            "{ duration > 5mm }",
            (1, 14),
            "invalid duration `5mm`",
        ),
        (
            "bad_number",
            "{ .a > 5x }",
            (1, 8),
            "invalid number or duration `5x`",
        ),
        (
            "big_integer",
            "{ .a > 99999999999999999999 }",
            (1, 8),
            "out of range",
        ),
        (
            "unclosed_group",
            "{ (.a = 1 }",
            (1, 11),
            "expected an operator or ')'",
        ),
        (
            "trailing_junk",
            "{ .a } foo",
            (1, 8),
            "expected a spanset operator (&& || >> > ~ << <), '|' or end of query",
        ),
        (
            "dangling_spanset_op",
            "{ .a } &&",
            (1, 10),
            "expected a spanset filter",
        ),
        (
            "unclosed_paren",
            "({ .a }",
            (1, 8),
            "or ')', found end of query",
        ),
        (
            "unsupported_stage",
            "{ .a } | by(.b)",
            (1, 10),
            "unsupported pipeline stage `by`",
        ),
        (
            "empty_stage",
            "{ .a } |",
            (1, 9),
            "expected a pipeline stage",
        ),
        (
            "count_needs_comparison",
            "{ .a } | count()",
            (1, 17),
            "expected a comparison operator",
        ),
        (
            "count_regex",
            "{ .a } | count() =~ 1",
            (1, 18),
            "expected a comparison operator",
        ),
        (
            "count_needs_number",
            "{ .a } | count() > .b",
            (1, 20),
            "expected a number or duration",
        ),
        (
            "count_vs_duration",
            "{ .a } | count() > 1s",
            (1, 20),
            "cannot compare count() with a duration",
        ),
        (
            "negative_duration",
            "{ .a } | avg(duration) > -1s",
            (1, 26),
            "a duration cannot be negative",
        ),
        (
            "aggregate_of_string",
            "{ .a } | avg(name) > 1",
            (1, 14),
            "`avg` needs a number or duration",
        ),
        (
            "multiline_position",
            "{\n  .a = \n}",
            (3, 1),
            "expected a value, attribute or intrinsic",
        ),
        ("too_deep", &deep, (1, MAX_DEPTH + 1), "nested too deeply"),
        (
            "chain_too_long",
            &long_chain,
            (1, 3 + 6 * (MAX_DEPTH - 2)),
            "nested too deeply",
        ),
    ];
    for (name, input, (line, col), fragment) in cases {
        let e = match parse(input) {
            Ok(q) => panic!("{name}: {input:?} parsed as {q}"),
            Err(e) => e,
        };
        assert!(
            e.msg.contains(fragment),
            "{name}: {:?} lacks {fragment:?}",
            e.msg
        );
        assert_eq!((e.line, e.col), (*line, *col), "{name}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("parse error at {line}:{col}: "))
        );
    }
}
