//! Necessary conditions for pruning: equality constraints every trace
//! with a non-empty result satisfies, as index terms ([`Query::conditions`])
//! and as bytes its encoding contains ([`Query::needles`]).

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
    /// … this span attribute (`span.k = "v"`, `= 500`, `= true`); the
    /// value as text, as block terms write it.
    SpanAttr(String, String),
    /// … this attribute on the span or its resource (`.k = v`); the value
    /// as text.
    AnyAttr(String, String),
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
    /// never below `||` or `!`. Numbers count only as integers, and for
    /// resource attributes only strings do.
    pub fn conditions(&self) -> Vec<Required> {
        let mut unique = Vec::new();
        for r in self
            .equalities()
            .into_iter()
            .filter_map(|(s, v)| equality(s, v))
        {
            if !unique.contains(&r) {
                unique.push(r);
            }
        }
        unique
    }

    /// Strings that the protobuf encoding of every trace with a non-empty
    /// result contains (where [`conditions`](Self::conditions) look): the
    /// keys of attributes compared with `=`, and the string literals they
    /// and span names are compared to. Checking them costs a substring
    /// search instead of decoding the trace.
    pub fn needles(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (subject, value) in self.equalities() {
            let literal = match value {
                Static::Str(v) => Some(v),
                _ => None,
            };
            match subject {
                FieldExpr::Attribute(Attribute { name, .. }) => {
                    out.push(name.clone());
                    out.extend(literal.cloned());
                }
                FieldExpr::Intrinsic(Intrinsic::Name) => out.extend(literal.cloned()),
                _ => {}
            }
        }
        out.retain(|n| !n.is_empty());
        out.sort();
        out.dedup();
        out
    }

    /// The `subject = literal` comparisons that must hold (either order).
    fn equalities(&self) -> Vec<(&FieldExpr, &Static)> {
        let mut out = Vec::new();
        spanset(&self.root, &mut out);
        out
    }
}

type Equalities<'a> = Vec<(&'a FieldExpr, &'a Static)>;

fn spanset<'a>(e: &'a SpansetExpr, out: &mut Equalities<'a>) {
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

fn field<'a>(e: &'a FieldExpr, out: &mut Equalities<'a>) {
    let FieldExpr::Binary { op, lhs, rhs } = e else {
        return;
    };
    match op {
        BinaryOp::And => {
            field(lhs, out);
            field(rhs, out);
        }
        BinaryOp::Eq => match (&**lhs, &**rhs) {
            (FieldExpr::Static(v), subject) | (subject, FieldExpr::Static(v)) => {
                out.push((subject, v));
            }
            _ => {}
        },
        _ => {}
    }
}

/// The constraint `subject = value` imposes, if indexable.
fn equality(subject: &FieldExpr, value: &Static) -> Option<Required> {
    let text = match value {
        Static::Str(v) => Some(v.clone()),
        Static::Int(i) => Some(i.to_string()),
        Static::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let string = matches!(value, Static::Str(_));
    match (subject, value) {
        (FieldExpr::Intrinsic(Intrinsic::Name), Static::Str(v)) => {
            Some(Required::SpanName(v.clone()))
        }
        (FieldExpr::Intrinsic(Intrinsic::Status), Static::Status(s)) => Some(Required::Status(*s)),
        (FieldExpr::Attribute(Attribute { scope, name }), _) => match scope {
            Scope::Span => Some(Required::SpanAttr(name.clone(), text?)),
            Scope::Resource if !string => None,
            Scope::Resource if name == "service.name" => Some(Required::ServiceName(text?)),
            Scope::Resource => Some(Required::ResourceAttr(name.clone(), text?)),
            Scope::Any => Some(Required::AnyAttr(name.clone(), text?)),
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
            (
                "unscoped",
                r#"{ .a = "x" }"#,
                vec![AnyAttr("a".into(), "x".into())],
            ),
            (
                "integer_attr",
                "{ span.code = 200 }",
                vec![SpanAttr("code".into(), "200".into())],
            ),
            ("float_attr", "{ span.ratio = 0.5 }", vec![]),
            ("integer_resource_attr", "{ resource.pid = 7 }", vec![]),
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

    #[test]
    fn needles() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("name", r#"{ name = "GET /" }"#, &["GET /"]),
            (
                "attribute key and string value",
                r#"{ span.user.id = "u42" && .region = "eu" }"#,
                &["eu", "region", "u42", "user.id"],
            ),
            (
                "integer value: the key only",
                "{ span.code = 500 }",
                &["code"],
            ),
            ("not below or", r#"{ name = "a" || name = "b" }"#, &[]),
            ("status is no string", "{ status = error }", &[]),
            ("empty literal", r#"{ name = "" }"#, &[]),
        ];
        for (name, query, want) in cases {
            let got = parse(query).map(|q| q.needles());
            let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            assert_eq!(got, Ok(want), "{name}");
        }
    }
}
