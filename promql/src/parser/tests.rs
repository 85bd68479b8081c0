//! Parser tests: canonical output and error tables, and property tests
//! (printed random trees parse back to themselves; random input never
//! panics).

use proptest::prelude::*;

use super::parse;
use super::precedence::{Assoc, POW_PREC, precedence};
use crate::ast::*;
use crate::functions::lookup;
use tsdb::model::{MatchOp, Matcher};

/// Input → canonical form (`Display`), which must also parse to the same tree.
#[test]
fn canonical_forms() {
    let ok: &[(&str, &str)] = &[
        (
            "sum by (job) (rate(foo{a=\"b\"}[5m]))",
            "sum by (job) (rate(foo{a=\"b\"}[5m]))",
        ),
        (
            "sum(rate(foo[5m])) by (job)",
            "sum by (job) (rate(foo[5m]))",
        ),
        ("foo[90m]", "foo[1h30m]"),
        ("foo[10]", "foo[10s]"),
        ("foo[1.5]", "foo[1s500ms]"),
        ("x[30:10] offset 3", "x[30s:10s] offset 3s"),
        ("foo offset -5m @ 100", "foo @ 100.000 offset -5m"),
        ("foo @ start() offset 1h30m", "foo @ start() offset 1h30m"),
        ("1000000", "1e+06"),
        ("0x1f", "31"),
        ("1_000", "1000"),
        ("-2^2", "-2 ^ 2"),
        ("2^3^2", "2 ^ 3 ^ 2"),
        ("a + b * c", "a + b * c"),
        ("(a + b) * c", "(a + b) * c"),
        ("a or b and c unless d", "a or b and c unless d"),
        ("a == bool b", "a == bool b"),
        ("a > on(x) group_left(y) b", "a > on (x) group_left (y) b"),
        (
            "a + ignoring(x) group_right b",
            "a + ignoring (x) group_right () b",
        ),
        ("a + fill(0) b", "a + fill (0) b"),
        (
            "a + fill_left(1) fill_right(2) b",
            "a + fill_left (1) fill_right (2) b",
        ),
        ("a + fill_left(1) fill_right(1) b", "a + fill (1) b"),
        (
            "{\"my.metric\", \"a.b\"=\"c\"}",
            "{\"my.metric\", \"a.b\"=\"c\"}",
        ),
        ("{\"my.metric\"}", "{\"my.metric\"}"),
        ("foo{a=\"b\",}", "foo{a=\"b\"}"),
        ("topk(5, foo) without (a)", "topk without (a) (5, foo)"),
        ("count_values(\"v\", foo)", "count_values(\"v\", foo)"),
        ("quantile(0.9, foo)", "quantile(0.9, foo)"),
        ("foo[5m:]", "foo[5m:]"),
        (
            "foo[5m:1m] @ end() offset 1m",
            "foo[5m:1m] @ end() offset 1m",
        ),
        ("rate(foo[5m] anchored)", "rate(foo[5m] anchored)"),
        ("foo smoothed", "foo smoothed"),
        ("foo[step()*2]", "foo[step() * 2]"),
        ("foo offset (1m+1m)", "foo offset (1m + 1m)"),
        ("foo offset -step()", "foo offset -step()"),
        ("foo[min_of(step(), 1h)]", "foo[min_of(step(), 1h)]"),
        ("'a\\'b'", "\"a'b\""),
        ("`raw`", "\"raw\""),
        ("\"\\u00e9\\x41\"", "\"éA\""),
        ("-foo", "-foo"),
        ("+foo", "+foo"),
        ("--foo", "--foo"),
        ("NaN", "NaN"),
        ("-Inf", "-Inf"),
        ("foo # comment", "foo"),
        (" foo and on() bar", "foo and on () bar"),
        ("by{on=\"1\"}", "by{on=\"1\"}"),
        ("offset", "offset"),
        ("sum", "sum"),
        ("a </ 2", "a </ 2"),
        ("step()", "step()"),
        ("SUM(foo) BY (a)", "sum by (a) (foo)"),
        ("time() > bool 1", "time() > bool 1"),
        ("abs(-foo)", "abs(-foo)"),
        ("info(foo, {data=~\".*\"})", "info(foo, {data=~\".*\"})"),
    ];
    for (input, want) in ok {
        let e = parse(input).unwrap_or_else(|err| panic!("{input}: {err}"));
        assert_eq!(e.to_string(), *want, "{input}");
        let again = parse(want).unwrap_or_else(|err| panic!("{want}: {err}"));
        assert_eq!(format!("{again:?}"), format!("{e:?}"), "{input}");
    }
}

/// Bad input → Prometheus-style error with `line:col`.
#[test]
fn errors_with_positions() {
    let bad: &[(&str, &str)] = &[
        (
            "sum(foo) by",
            "1:12: parse error: unexpected end of input in grouping opts, expected \"(\"",
        ),
        (
            "foo{a=\"b\"",
            "1:10: parse error: unexpected end of input in label matching, expected \",\" or \"}\"",
        ),
        (
            "foo{a=b}",
            "1:7: parse error: unexpected identifier \"b\" in label matching, expected string",
        ),
        (
            "foo{a}",
            "1:6: parse error: unexpected right brace \"}\" in label matching, expected label matching operator",
        ),
        (
            "{}",
            "1:1: parse error: vector selector must contain at least one non-empty matcher",
        ),
        (
            "{a=\"\"}",
            "1:1: parse error: vector selector must contain at least one non-empty matcher",
        ),
        (
            "foo{__name__=\"bar\"}",
            "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\"",
        ),
        (
            "rate(foo)",
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector",
        ),
        (
            "rate(foo[5m], 1)",
            "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2",
        ),
        (
            "round()",
            "1:1: parse error: expected at least 1 argument(s) in call to \"round\", got 0",
        ),
        (
            "label_join(foo)",
            "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 1",
        ),
        (
            "unknownfn(foo)",
            "1:1: parse error: unknown function with name \"unknownfn\"",
        ),
        (
            "sum(foo[5m])",
            "1:5: parse error: expected type instant vector in aggregation expression, got range vector",
        ),
        (
            "topk(foo)",
            "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1",
        ),
        (
            "topk(\"a\", foo)",
            "1:6: parse error: expected type scalar in aggregation parameter, got string",
        ),
        (
            "foo + \"a\"",
            "1:1: parse error: binary expression must contain only scalar and instant vector types",
        ),
        (
            "1 > 2",
            "1:1: parse error: comparisons between scalars must use BOOL modifier",
        ),
        (
            "1 and 2",
            "1:1: parse error: set operator \"and\" not allowed in binary scalar expression",
        ),
        (
            "foo[5m] + 1",
            "1:1: parse error: binary expression must contain only scalar and instant vector types",
        ),
        (
            "(foo)[5m]",
            "1:6: parse error: ranges only allowed for vector selectors",
        ),
        (
            "sum(foo)[5m]",
            "1:9: parse error: ranges only allowed for vector selectors",
        ),
        (
            "foo[5m][5m:]",
            "1:1: parse error: subquery is only allowed on instant vector, got range vector instead",
        ),
        (
            "foo offset 5m offset 5m",
            "1:15: parse error: offset may not be set multiple times",
        ),
        (
            "sum(foo) offset 5m",
            "1:10: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
        ),
        (
            "foo @ 1 @ 2",
            "1:9: parse error: @ <timestamp> may not be set multiple times",
        ),
        (
            "foo and bool bar",
            "1:1: parse error: bool modifier can only be used on comparison operators",
        ),
        (
            "-foo[5m]",
            "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\"",
        ),
        (
            "foo + group_left bar",
            "1:7: parse error: unexpected <group_left>",
        ),
        (
            "foo and on(a) group_left bar",
            "1:1: parse error: no grouping allowed for \"and\" operation",
        ),
        (
            "foo * on(a) group_left(a) bar",
            "1:1: parse error: label \"a\" must not occur in ON and GROUP clause at once",
        ),
        (
            "1 + on(a) foo",
            "1:1: parse error: vector matching only allowed between instant vectors",
        ),
        (
            "rate(foo[5m]",
            "1:13: parse error: unclosed left parenthesis",
        ),
        ("sum(foo", "1:8: parse error: unclosed left parenthesis"),
        (
            "foo )",
            "1:5: parse error: unexpected right parenthesis \")\"",
        ),
        (
            "\"unterminated",
            "1:1: parse error: unterminated quoted string",
        ),
        (
            "foo{a=\"\\z\"}",
            "1:8: parse error: unknown escape sequence 'z'",
        ),
        (
            "count_values(\"a\\xc5z\\n\", foo)",
            "1:14: parse error: invalid label name \"a\\xc5z\\n\"",
        ),
        (
            "1.5m",
            "1:1: parse error: bad number or duration syntax: \"1.5m\"",
        ),
        (
            "5mm",
            "1:1: parse error: bad number or duration syntax: \"5mm\"",
        ),
        (
            "foo[5m1h]",
            "1:5: parse error: not a valid duration string: \"5m1h\"",
        ),
        (
            "foo @ Inf",
            "1:7: parse error: timestamp out of bounds for @ modifier: +Inf",
        ),
        (
            "foo[5m] anchored smoothed",
            "1:18: parse error: anchored and smoothed modifiers may only be used once and not together",
        ),
        ("foo bar", "1:5: parse error: unexpected identifier \"bar\""),
        (
            "sum by (a) (foo) by (b)",
            "1:18: parse error: unexpected <by>",
        ),
        (
            "foo offset",
            "1:11: parse error: unexpected end of input in offset, expected number, duration, or step()",
        ),
        (
            "foo[",
            "1:5: parse error: unexpected end of input in subquery or range selector",
        ),
        (
            "foo[5m",
            "1:7: parse error: unexpected end of input in subquery or range selector, expected \"]\" or \":\"",
        ),
        ("1 +", "1:4: parse error: unexpected end of input"),
        ("foo ==", "1:7: parse error: unexpected end of input"),
    ];
    for (input, want) in bad {
        match parse(input) {
            Ok(e) => panic!("{input}: parsed as {e}"),
            Err(err) => assert_eq!(err.to_string(), *want, "{input}"),
        }
    }
}

#[test]
fn multi_line_positions() {
    let err = parse("sum(\n  foo\n) by bar").map(|e| e.to_string());
    assert_eq!(
        err.unwrap_err().to_string(),
        "3:6: parse error: unexpected identifier \"bar\" in grouping opts, expected \"(\""
    );
}

#[test]
fn tree_shapes() {
    // -2^2 is -(2^2); unary minus binds tighter than `*`.
    let Ok(Expr::Unary(u)) = parse("-2^2") else {
        panic!("not unary")
    };
    assert!(matches!(
        *u.expr,
        Expr::Binary(Binary {
            op: BinaryOp::Pow,
            ..
        })
    ));
    let Ok(Expr::Binary(b)) = parse("-a * b") else {
        panic!("not binary")
    };
    assert!(matches!(*b.lhs, Expr::Unary(_)));
    // `offset 100 + 2` is `(x offset 100) + 2`.
    let Ok(Expr::Binary(b)) = parse("x offset 100 + 2") else {
        panic!("not binary")
    };
    let Expr::VectorSelector(vs) = &*b.lhs else {
        panic!("lhs")
    };
    assert_eq!(vs.offset, Some(DurationExpr::Duration(100_000)));
    // The metric name is also the leading `__name__` matcher.
    let Ok(Expr::VectorSelector(vs)) = parse(r#"foo{a!~"b"}"#) else {
        panic!("selector")
    };
    assert_eq!(vs.matchers[0], Matcher::equal("__name__", "foo"));
    assert_eq!(vs.matchers[1].op, MatchOp::RegexNoMatch);
    // Keywords are metric and label names where a name is expected.
    assert!(parse("sum by (on, by, offset) (bool{and=\"x\"})").is_ok());
    assert_eq!(
        parse("x[5m]").map(|e| e.value_type()),
        Ok(ValueType::Matrix)
    );
    assert_eq!(
        parse("1 + time()").map(|e| e.value_type()),
        Ok(ValueType::Scalar)
    );
    assert_eq!(
        parse("\"s\"").map(|e| e.value_type()),
        Ok(ValueType::String)
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    // At the depth limit an unoptimized (debug) build needs about 4 MiB of
    // stack, more than a test thread's default 2 MiB; release builds fit.
    with_stack(8 << 20, || {
        let deep = format!("{}foo{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&deep).is_err());
        assert!(parse(&"-".repeat(100_000)).is_err());
        assert!(
            parse(&format!(
                "x[{}1m{}]",
                "(".repeat(100_000),
                ")".repeat(100_000)
            ))
            .is_err()
        );
        let limit = format!("{}foo{}", "(".repeat(199), ")".repeat(199));
        assert!(
            parse(&limit).is_ok(),
            "199 parentheses are within the limit"
        );
    });
}

/// Runs `f` on a thread with `bytes` of stack, passing its panics on.
fn with_stack(bytes: usize, f: impl FnOnce() + Send + 'static) {
    let joined = std::thread::Builder::new()
        .stack_size(bytes)
        .spawn(f)
        .expect("spawn a test thread")
        .join();
    if let Err(panic) = joined {
        std::panic::resume_unwind(panic);
    }
}

// ---- random trees -------------------------------------------------------

const METRICS: &[&str] = &[
    "foo", "bar:baz", "by", "offset", "sum", "rate", "a.b", "Inf",
];
const LABELS: &[&str] = &["a", "job", "on", "by", "le", "a.b"];
const INCLUDE: &[&str] = &["x", "group", "c.d"];
const VALUES: &[&str] = &["", "x", ".*", "a|b", "\n\"\\\\", "é", "$1"];

fn strs(pool: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(pool, 0..=max).prop_map(|v| v.into_iter().map(String::from).collect())
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u32..1000).prop_map(f64::from),
        (0.0f64..1e9),
        (1e-9f64..1e-3),
        Just(f64::INFINITY),
        Just(f64::NAN),
        Just(1e300),
    ]
}

fn at() -> impl Strategy<Value = Option<AtModifier>> {
    prop_oneof![
        Just(None),
        (-10_000_000_000i64..10_000_000_000).prop_map(|ms| Some(AtModifier::Timestamp(ms))),
        Just(Some(AtModifier::Start)),
        Just(Some(AtModifier::End)),
    ]
}

fn dur_atom() -> impl Strategy<Value = DurationExpr> {
    prop_oneof![
        (1i64..1_000_000_000).prop_map(DurationExpr::Duration),
        (0u32..100).prop_map(|n| DurationExpr::Number(f64::from(n))),
        Just(DurationExpr::Step),
        Just(DurationExpr::Range),
    ]
}

fn dur_op() -> impl Strategy<Value = DurationOp> {
    prop::sample::select(vec![
        DurationOp::Add,
        DurationOp::Sub,
        DurationOp::Mul,
        DurationOp::Div,
        DurationOp::Mod,
        DurationOp::Pow,
    ])
}

/// A composite duration (atoms joined by one operator, maybe wrapped).
fn dur_composite() -> impl Strategy<Value = DurationExpr> {
    (dur_atom(), dur_op(), dur_atom(), any::<u8>()).prop_map(|(l, op, r, shape)| {
        let bin = DurationExpr::Binary {
            op,
            lhs: Box::new(l.clone()),
            rhs: Box::new(r.clone()),
        };
        match shape % 4 {
            0 => bin,
            1 => DurationExpr::Paren(Box::new(bin)),
            2 => DurationExpr::MinOf(Box::new(l), Box::new(r)),
            _ => DurationExpr::MaxOf(Box::new(l), Box::new(bin)),
        }
    })
}

/// What may follow `[`: a literal or a composite with no lone number.
fn range() -> impl Strategy<Value = DurationExpr> {
    prop_oneof![3 => (1i64..1_000_000_000).prop_map(DurationExpr::Duration), 1 => dur_composite()]
}

/// What may follow `offset`: a signed literal or an atom.
fn offset() -> impl Strategy<Value = Option<DurationExpr>> {
    prop_oneof![
        2 => Just(None),
        2 => (-1_000_000_000i64..1_000_000_000).prop_map(|ms| Some(DurationExpr::Duration(ms))),
        1 => Just(Some(DurationExpr::Unary { neg: true, expr: Box::new(DurationExpr::Step) })),
        1 => dur_composite().prop_map(|d| Some(match d {
            b @ DurationExpr::Binary { .. } => DurationExpr::Paren(Box::new(b)),
            d => d,
        })),
    ]
}

fn selector() -> impl Strategy<Value = VectorSelector> {
    (
        prop::option::of(prop::sample::select(METRICS)),
        prop::collection::vec(
            (
                prop::sample::select(LABELS),
                0..4usize,
                prop::sample::select(VALUES),
            ),
            0..3,
        ),
        offset(),
        at(),
        0..6u8,
    )
        .prop_map(|(name, ms, offset, at, ext)| {
            let ops = [
                MatchOp::Equal,
                MatchOp::NotEqual,
                MatchOp::RegexMatch,
                MatchOp::RegexNoMatch,
            ];
            let mut matchers: Vec<Matcher> = Vec::new();
            if let Some(n) = name {
                matchers.push(Matcher::equal("__name__", n));
            } else {
                matchers.push(Matcher::equal("job", "x"));
            }
            for (l, op, v) in ms {
                matchers.push(Matcher::new(ops[op], l, v).expect("valid regex"));
            }
            VectorSelector {
                name: name.map(String::from),
                matchers,
                offset,
                at,
                anchored: ext == 1,
                smoothed: ext == 2,
            }
        })
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(Call {
        func: lookup(name).expect("known function"),
        args,
    })
}

/// Wraps `e` in parentheses when it would not parse back in operand
/// position of `op` (on the given side), mirroring the precedence table.
fn operand(e: Expr, op: BinaryOp, right: bool) -> Expr {
    let (p, assoc) = precedence(op);
    let needs = match &e {
        Expr::Binary(b) => {
            let (q, _) = precedence(b.op);
            q < p || (q == p && (right == (assoc == Assoc::Left)))
        }
        Expr::Unary(_) => !right && op == BinaryOp::Pow,
        // A printed sign (`-1`, `+Inf`) would read as a unary operator around `^`.
        Expr::NumberLiteral(v) => {
            !right && op == BinaryOp::Pow && format_float(*v).starts_with(['-', '+'])
        }
        _ => false,
    };
    if needs { Expr::Paren(Box::new(e)) } else { e }
}

/// Wraps anything but a primary before a postfix `[…]`.
fn postfix_operand(e: Expr) -> Expr {
    match e {
        Expr::Binary(_) | Expr::Unary(_) => Expr::Paren(Box::new(e)),
        e => e,
    }
}

fn binary(
    op: BinaryOp,
    l: Expr,
    r: Expr,
    return_bool: bool,
    matching: Option<VectorMatching>,
) -> Expr {
    Expr::Binary(Binary {
        op,
        lhs: Box::new(operand(l, op, false)),
        rhs: Box::new(operand(r, op, true)),
        return_bool,
        matching,
    })
}

fn scalar_leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        number().prop_map(Expr::NumberLiteral),
        Just(call("time", vec![])),
        Just(call("step", vec![])),
    ]
}

fn vector_leaf() -> impl Strategy<Value = Expr> {
    selector().prop_map(Expr::VectorSelector)
}

fn matching() -> impl Strategy<Value = Option<VectorMatching>> {
    (
        any::<bool>(),
        strs(LABELS, 2),
        0..3u8,
        strs(INCLUDE, 2),
        prop::option::of(number()),
        prop::option::of(number()),
    )
        .prop_map(|(on, labels, card, include, l, r)| {
            let card = [
                Cardinality::OneToOne,
                Cardinality::ManyToOne,
                Cardinality::OneToMany,
            ][card as usize];
            let grouped = card != Cardinality::OneToOne;
            let m = VectorMatching {
                card,
                on: on || grouped,
                labels,
                include: if grouped { include } else { Vec::new() },
                fill: Fill { lhs: l, rhs: r },
            };
            let default = !m.on && m.labels.is_empty() && !grouped && l.is_none() && r.is_none();
            (!default).then_some(m)
        })
}

/// Random well-typed trees of the given type, already normalised the way
/// the parser builds them.
fn vector_expr() -> impl Strategy<Value = Expr> {
    vector_leaf().prop_recursive(4, 24, 3, |inner| {
        let scalar = prop_oneof![
            scalar_leaf(),
            inner.clone().prop_map(|v| call("scalar", vec![v]))
        ];
        let matrix = prop_oneof![
            (selector(), range()).prop_map(|(mut s, range)| {
                if s.anchored || s.smoothed {
                    s.offset = None;
                }
                Expr::MatrixSelector(MatrixSelector { selector: s, range })
            }),
            (
                inner.clone(),
                range(),
                prop::option::of(range()),
                offset(),
                at()
            )
                .prop_map(|(e, range, step, offset, at)| {
                    Expr::Subquery(Subquery {
                        expr: Box::new(postfix_operand(e)),
                        range,
                        step,
                        offset,
                        at,
                    })
                }),
        ];
        let arith = prop::sample::select(vec![
            BinaryOp::Add,
            BinaryOp::Sub,
            BinaryOp::Mul,
            BinaryOp::Div,
            BinaryOp::Pow,
            BinaryOp::Atan2,
            BinaryOp::TrimUpper,
        ]);
        let cmp = prop::sample::select(vec![BinaryOp::Eql, BinaryOp::Gtr, BinaryOp::Lte]);
        let set = prop::sample::select(vec![BinaryOp::And, BinaryOp::Or, BinaryOp::Unless]);
        prop_oneof![
            (matrix.clone(), 0..3usize)
                .prop_map(|(m, f)| call(["rate", "increase", "delta"][f], vec![m])),
            inner.clone().prop_map(|v| call("abs", vec![v])),
            (inner.clone(), scalar.clone()).prop_map(|(v, s)| call("round", vec![v, s])),
            (inner.clone(), "[a-z]{0,3}").prop_map(|(v, s)| call(
                "label_replace",
                vec![
                    v,
                    Expr::StringLiteral(s),
                    Expr::StringLiteral("$1".into()),
                    Expr::StringLiteral("a".into()),
                    Expr::StringLiteral("(.*)".into())
                ]
            )),
            (
                0..14usize,
                inner.clone(),
                scalar.clone(),
                strs(LABELS, 2),
                any::<bool>()
            )
                .prop_map(|(op, e, p, grouping, without)| {
                    let op = AggregateOp::ALL[op];
                    let param = match op.param_type() {
                        Some(ValueType::String) => Some(Box::new(Expr::StringLiteral("v".into()))),
                        Some(_) => Some(Box::new(p)),
                        None => None,
                    };
                    Expr::Aggregate(Aggregate {
                        op,
                        expr: Box::new(e),
                        param,
                        grouping,
                        without,
                    })
                }),
            (arith.clone(), inner.clone(), inner.clone(), matching())
                .prop_map(|(op, l, r, m)| binary(op, l, r, false, m)),
            (arith, inner.clone(), scalar.clone(), any::<bool>()).prop_map(|(op, v, s, flip)| {
                if flip {
                    binary(op, s, v, false, None)
                } else {
                    binary(op, v, s, false, None)
                }
            }),
            (cmp, inner.clone(), inner.clone(), any::<bool>(), matching())
                .prop_map(|(op, l, r, b, m)| binary(op, l, r, b, m)),
            (
                set,
                inner.clone(),
                inner.clone(),
                strs(LABELS, 2),
                any::<bool>()
            )
                .prop_map(|(op, l, r, labels, on)| {
                    let m = (on || !labels.is_empty()).then(|| VectorMatching {
                        card: Cardinality::ManyToMany,
                        on,
                        labels,
                        include: vec![],
                        fill: Fill::default(),
                    });
                    binary(op, l, r, false, m)
                }),
            inner.clone().prop_map(|v| {
                let v = match v {
                    Expr::Binary(b) if precedence(b.op).0 < POW_PREC => {
                        Expr::Paren(Box::new(Expr::Binary(b)))
                    }
                    v => v,
                };
                Expr::Unary(Unary {
                    op: UnaryOp::Neg,
                    expr: Box::new(v),
                })
            }),
            inner.prop_map(|v| Expr::Paren(Box::new(v))),
        ]
    })
}

/// print → parse gives back the same tree, and printing is stable. Deep
/// random trees need more than a test thread's 2 MiB of stack in debug
/// builds (parsing, printing and dropping all recurse), so the cases run
/// on a bigger one.
#[test]
fn printed_trees_parse_back() {
    with_stack(64 << 20, || {
        let config = ProptestConfig {
            cases: 2000,
            ..ProptestConfig::default()
        };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let result = runner.run(&vector_expr(), |e| {
            let printed = e.to_string();
            let parsed =
                parse(&printed).map_err(|err| TestCaseError::fail(format!("{printed}: {err}")))?;
            prop_assert_eq!(format!("{parsed:?}"), format!("{e:?}"), "{}", printed);
            prop_assert_eq!(parsed.to_string(), printed);
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary text never panics.
    #[test]
    fn random_strings_never_panic(s in any::<String>()) {
        let _ = parse(&s);
    }

    /// Token soup (much more likely to get deep into the grammar) never panics.
    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(vec![
        "foo", "{", "}", "(", ")", "[", "]", ",", ":", "=", "=~", "!~", "!=", "\"a\"", "'b'", "`c`", "5m", "1h30m", "1", ".5", "0x1f",
        "1e3", "Inf", "NaN", "-", "+", "*", "/", "^", "%", "==", ">", "<=", "and", "or", "unless", "atan2", "</", ">/", "bool", "on", "ignoring",
        "group_left", "group_right", "by", "without", "sum", "topk", "count_values", "rate", "label_replace", "offset", "@", "start()",
        "end()", "step()", "range()", "min_of", "anchored", "smoothed", "fill", "fill_left", "#", "\n", " ", "\\", "\"\\x", "é",
    ]), 0..40)) {
        let _ = parse(&tokens.concat());
        let _ = parse(&tokens.join(" "));
    }
}
