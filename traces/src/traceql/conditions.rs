//! Necessary conditions for index pruning: equality constraints every
//! trace with a non-empty result satisfies.

use super::ast::{
    Attribute, BinaryOp, FieldExpr, Intrinsic, Query, Scope, SpansetExpr, SpansetOp, Stage, Static,
};
use super::value::Status;

/// "The trace has at least one span with …".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Required {
    /// … this name (`span:name = "x"`).
    SpanName(String),
    /// … this status (`span:status = error`).
    Status(Status),
    /// … this string-valued resource attribute, other than `service.name`
    /// (`resource.k = "v"`).
    ResourceAttr(String, String),
    /// … this string-valued span attribute (`span.k = "v"`).
    SpanAttr(String, String),
    /// … a resource whose string `service.name` is this
    /// (`resource.service.name = "x"`).
    ServiceName(String),
}

impl Query {
    /// Constraints that every trace for which [`Query::matches`] is
    /// non-empty satisfies, all at once (a conjunction), without
    /// duplicates. Conservative: an empty list prunes nothing. Only
    /// `=` between a span name, status, `span.` or `resource.` attribute
    /// and a literal counts, and only where it must hold: below `&&` in a
    /// filter, and on both sides of spanset `&&` and structural operators;
    /// never below `||` or `!`, nor for unscoped `.key` (span or resource).
    pub fn conditions(&self) -> Vec<Required> {
        let mut out = Vec::new();
        spanset(&self.root, &mut out);
        let mut unique = Vec::with_capacity(out.len());
        for r in out {
            if !unique.contains(&r) {
                unique.push(r);
            }
        }
        unique
    }
}

fn spanset(e: &SpansetExpr, out: &mut Vec<Required>) {
    match e {
        SpansetExpr::Filter(f) => field(f, out),
        SpansetExpr::Op {
            op: SpansetOp::Or, ..
        } => {}
        // `&&` needs both sides non-empty; a structural result is a subset
        // of its right side and exists only with a left side.
        SpansetExpr::Op { lhs, rhs, .. } => {
            spanset(lhs, out);
            spanset(rhs, out);
        }
        // Each stage keeps a subset of what it gets, so each must select
        // spans of the trace for the result to be non-empty.
        SpansetExpr::Pipeline { input, stages } => {
            spanset(input, out);
            for stage in stages {
                if let Stage::Spanset(s) = stage {
                    spanset(s, out);
                }
            }
        }
    }
}

fn field(e: &FieldExpr, out: &mut Vec<Required>) {
    let FieldExpr::Binary { op, lhs, rhs } = e else {
        return;
    };
    match op {
        BinaryOp::And => {
            field(lhs, out);
            field(rhs, out);
        }
        BinaryOp::Eq => {
            let r = equality(lhs, rhs).or_else(|| equality(rhs, lhs));
            out.extend(r);
        }
        _ => {}
    }
}

/// The constraint `subject = value` imposes, if indexable.
fn equality(subject: &FieldExpr, value: &FieldExpr) -> Option<Required> {
    let FieldExpr::Static(value) = value else {
        return None;
    };
    match (subject, value) {
        (FieldExpr::Intrinsic(Intrinsic::Name), Static::Str(v)) => {
            Some(Required::SpanName(v.clone()))
        }
        (FieldExpr::Intrinsic(Intrinsic::Status), Static::Status(s)) => Some(Required::Status(*s)),
        (FieldExpr::Attribute(Attribute { scope, name }), Static::Str(v)) => match scope {
            Scope::Span => Some(Required::SpanAttr(name.clone(), v.clone())),
            Scope::Resource if name == "service.name" => Some(Required::ServiceName(v.clone())),
            Scope::Resource => Some(Required::ResourceAttr(name.clone(), v.clone())),
            Scope::Any => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::value::Status;
    use super::Required::{self, *};

    #[test]
    fn required_conditions() {
        let cases: Vec<(&str, &str, Vec<Required>)> = vec![
            (
                "conjunction_in_one_filter",
                r#"{ resource.service.name = "a" && name = "x" }"#,
                vec![ServiceName("a".into()), SpanName("x".into())],
            ),
            (
                "literal_on_the_left",
                r#"{ "x" = span:name }"#,
                vec![SpanName("x".into())],
            ),
            (
                "status",
                "{ status = error }",
                vec![Required::Status(Status::Error)],
            ),
            (
                "attributes",
                r#"{ span.http.method = "GET" && resource.region = "eu" }"#,
                vec![
                    SpanAttr("http.method".into(), "GET".into()),
                    ResourceAttr("region".into(), "eu".into()),
                ],
            ),
            ("or_in_filter", r#"{ name = "x" || name = "y" }"#, vec![]),
            (
                "or_below_and",
                r#"{ name = "x" && (.a = 1 || .b = 2) }"#,
                vec![SpanName("x".into())],
            ),
            ("not", r#"{ !(name = "x") }"#, vec![]),
            ("not_equal", r#"{ name != "x" }"#, vec![]),
            ("regex", r#"{ name =~ "x" }"#, vec![]),
            ("unscoped", r#"{ .a = "x" }"#, vec![]),
            ("non_string_attr", "{ span.code = 200 }", vec![]),
            (
                "spanset_and",
                r#"{ name = "x" } && { status = error }"#,
                vec![SpanName("x".into()), Required::Status(Status::Error)],
            ),
            (
                "spanset_or",
                r#"{ name = "x" } || { status = error }"#,
                vec![],
            ),
            (
                "structural",
                r#"{ name = "x" } >> { name = "y" }"#,
                vec![SpanName("x".into()), SpanName("y".into())],
            ),
            (
                "pipeline",
                r#"{ name = "x" } | count() > 2 | { span.a = "b" }"#,
                vec![SpanName("x".into()), SpanAttr("a".into(), "b".into())],
            ),
            (
                "deduplicated",
                r#"{ name = "x" } && { name = "x" }"#,
                vec![SpanName("x".into())],
            ),
            ("match_all", "{}", vec![]),
        ];
        for (name, query, want) in cases {
            let got = parse(query).map(|q| q.conditions());
            assert_eq!(got, Ok(want), "{name}");
        }
    }
}
