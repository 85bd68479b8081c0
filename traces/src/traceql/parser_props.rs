//! Parser properties: printed random well-typed trees parse back to
//! themselves; no input panics.

use proptest::prelude::*;

use super::ast::{
    Aggregate, Attribute, BinaryOp, FieldExpr, Intrinsic, Pattern, ScalarFilter, Scope,
    SpansetExpr, SpansetOp, Stage, Static, UnaryOp,
};
use super::parse;
use super::value::{Kind, Status};

fn attribute() -> impl Strategy<Value = FieldExpr> {
    let scope = prop_oneof![Just(Scope::Span), Just(Scope::Resource), Just(Scope::Any)];
    (scope, "[a-z.][a-z0-9._/-]{0,6}|[a-z \"=]{1,4}")
        .prop_map(|(scope, name)| FieldExpr::Attribute(Attribute { scope, name }))
}

fn number() -> impl Strategy<Value = FieldExpr> {
    prop_oneof![
        (0i64..1_000_000).prop_map(Static::Int),
        (0u32..100_000, 1u32..64).prop_map(|(a, b)| Static::Float(f64::from(a) / f64::from(b))),
        (0u64..10_000_000_000_000).prop_map(Static::Duration),
    ]
    .prop_map(FieldExpr::Static)
}

/// Any literal that may be compared with `=`/`!=` against an attribute.
fn any_static() -> impl Strategy<Value = FieldExpr> {
    let status = prop::sample::select(Status::ALL.to_vec()).prop_map(|(s, _)| Static::Status(s));
    let kind = prop::sample::select(Kind::ALL.to_vec()).prop_map(|(k, _)| Static::Kind(k));
    prop_oneof![
        "[a-z \"\\\\\n\t]{0,5}".prop_map(|s| FieldExpr::Static(Static::Str(s))),
        any::<bool>().prop_map(|b| FieldExpr::Static(Static::Bool(b))),
        status.prop_map(FieldExpr::Static),
        kind.prop_map(FieldExpr::Static),
        Just(FieldExpr::Static(Static::Nil)),
        number(),
    ]
}

/// An intrinsic and a literal of its type.
fn intrinsic_comparison() -> impl Strategy<Value = (FieldExpr, FieldExpr)> {
    let string = "[a-z]{0,3}".prop_map(|s| FieldExpr::Static(Static::Str(s)));
    prop::sample::select(Intrinsic::SPELLINGS.to_vec()).prop_flat_map(move |(_, i)| {
        let value = match i {
            Intrinsic::Status => prop::sample::select(Status::ALL.to_vec())
                .prop_map(|(s, _)| FieldExpr::Static(Static::Status(s)))
                .boxed(),
            Intrinsic::Kind => prop::sample::select(Kind::ALL.to_vec())
                .prop_map(|(k, _)| FieldExpr::Static(Static::Kind(k)))
                .boxed(),
            Intrinsic::Duration | Intrinsic::TraceDuration => number().boxed(),
            _ => string.clone().boxed(),
        };
        (Just(FieldExpr::Intrinsic(i)), value)
    })
}

fn binary(op: BinaryOp, lhs: FieldExpr, rhs: FieldExpr) -> FieldExpr {
    FieldExpr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

/// Well-typed numeric expressions.
fn numeric() -> impl Strategy<Value = FieldExpr> {
    let ops = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Mod,
        BinaryOp::Pow,
    ];
    prop_oneof![attribute(), number()].prop_recursive(4, 16, 2, move |inner| {
        prop_oneof![
            (
                prop::sample::select(ops.to_vec()),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, l, r)| binary(op, l, r)),
            inner.prop_map(|e| FieldExpr::Unary {
                op: UnaryOp::Neg,
                operand: Box::new(e),
            }),
        ]
    })
}

/// Well-typed boolean expressions.
fn boolean() -> impl Strategy<Value = FieldExpr> {
    let cmp = [
        BinaryOp::Eq,
        BinaryOp::Neq,
        BinaryOp::Lt,
        BinaryOp::Lte,
        BinaryOp::Gt,
        BinaryOp::Gte,
    ];
    let eq = prop_oneof![Just(BinaryOp::Eq), Just(BinaryOp::Neq)];
    let pattern = prop::sample::select(vec!["a.*", "x|y", "[0-9]+", "", "\\d\"q"]);
    let leaf = prop_oneof![
        attribute(),
        any::<bool>().prop_map(|b| FieldExpr::Static(Static::Bool(b))),
        (prop::sample::select(cmp.to_vec()), numeric(), numeric())
            .prop_map(|(op, l, r)| binary(op, l, r)),
        (eq.clone(), attribute(), any_static()).prop_map(|(op, l, r)| binary(op, l, r)),
        (eq, intrinsic_comparison()).prop_map(|(op, (l, r))| binary(op, l, r)),
        (attribute(), any::<bool>(), pattern).prop_filter_map(
            "valid pattern",
            |(l, negated, p)| {
                Some(FieldExpr::Regex {
                    lhs: Box::new(l),
                    negated,
                    pattern: Pattern::new(p).ok()?,
                })
            }
        ),
    ];
    let logic = prop_oneof![Just(BinaryOp::And), Just(BinaryOp::Or), Just(BinaryOp::Eq)];
    leaf.prop_recursive(4, 24, 2, move |inner| {
        prop_oneof![
            (logic.clone(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| binary(op, l, r)),
            inner.prop_map(|e| FieldExpr::Unary {
                op: UnaryOp::Not,
                operand: Box::new(e),
            }),
        ]
    })
}

fn stage(spanset: BoxedStrategy<SpansetExpr>) -> impl Strategy<Value = Stage> {
    let ops = [
        BinaryOp::Eq,
        BinaryOp::Neq,
        BinaryOp::Lt,
        BinaryOp::Lte,
        BinaryOp::Gt,
        BinaryOp::Gte,
    ];
    let count = (prop::sample::select(ops.to_vec()), -5i64..100).prop_map(|(op, n)| ScalarFilter {
        aggregate: Aggregate::Count,
        op,
        value: Static::Int(n),
    });
    let avg = (
        prop::sample::select(ops.to_vec()),
        numeric(),
        0u64..1_000_000_000,
    )
        .prop_map(|(op, e, ns)| ScalarFilter {
            aggregate: Aggregate::Avg(e),
            op,
            value: Static::Duration(ns),
        });
    prop_oneof![
        count.prop_map(Stage::Scalar),
        avg.prop_map(Stage::Scalar),
        spanset.prop_map(Stage::Spanset),
    ]
}

fn spanset() -> impl Strategy<Value = SpansetExpr> {
    let ops = [
        SpansetOp::And,
        SpansetOp::Or,
        SpansetOp::Descendant,
        SpansetOp::Child,
        SpansetOp::Sibling,
        SpansetOp::Ancestor,
        SpansetOp::Parent,
    ];
    boolean()
        .prop_map(SpansetExpr::Filter)
        .prop_recursive(3, 12, 3, move |inner| {
            let not_pipeline = inner.clone().prop_filter("pipelines flatten", |e| {
                !matches!(e, SpansetExpr::Pipeline { .. })
            });
            prop_oneof![
                (
                    prop::sample::select(ops.to_vec()),
                    inner.clone(),
                    inner.clone()
                )
                    .prop_map(|(op, l, r)| SpansetExpr::Op {
                        op,
                        lhs: Box::new(l),
                        rhs: Box::new(r),
                    }),
                (not_pipeline, prop::collection::vec(stage(inner), 1..3)).prop_map(
                    |(input, stages)| SpansetExpr::Pipeline {
                        input: Box::new(input),
                        stages,
                    }
                ),
            ]
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn printed_queries_parse_back(root in spanset()) {
        let text = root.to_string();
        match parse(&text) {
            Ok(q) => prop_assert_eq!(q.root, root, "{}", text),
            Err(e) => prop_assert!(false, "{} does not parse: {}", text, e),
        }
    }

    #[test]
    fn no_input_panics(tokens in prop::collection::vec(prop::sample::select(vec![
        "{", "}", "(", ")", " ", "&&", "||", "!", "=", "!=", "=~", "<", ">>", "~", "|",
        ".a", "span.", "resource.x", "name", "span:", "count()", "avg(", "1", "1.5", "2s",
        "\"s", "\"", "`", "-", "+", "nil", "error", "µ", "\\",
    ]), 0..16), junk in "\\PC{0,12}") {
        let text = tokens.concat();
        for input in [text.as_str(), junk.as_str()] {
            if let Err(e) = parse(input) {
                prop_assert!(e.offset <= input.len());
            }
        }
    }
}
