//! The attributes a query reads, which search answers show for each
//! matched span (as Tempo does).

use super::ast::{Aggregate, Attribute, FieldExpr, Query, SpansetExpr, Stage};

impl Query {
    /// Every attribute the query mentions, in order of first mention.
    pub fn attributes(&self) -> Vec<Attribute> {
        let mut out = Vec::new();
        spanset(&self.root, &mut out);
        out
    }
}

fn spanset(e: &SpansetExpr, out: &mut Vec<Attribute>) {
    match e {
        SpansetExpr::Filter(f) => field(f, out),
        SpansetExpr::Op { lhs, rhs, .. } => {
            spanset(lhs, out);
            spanset(rhs, out);
        }
        SpansetExpr::Pipeline { input, stages } => {
            spanset(input, out);
            for stage in stages {
                match stage {
                    Stage::Spanset(s) => spanset(s, out),
                    Stage::Scalar(f) => match &f.aggregate {
                        Aggregate::Count => {}
                        Aggregate::Avg(e)
                        | Aggregate::Min(e)
                        | Aggregate::Max(e)
                        | Aggregate::Sum(e) => field(e, out),
                    },
                }
            }
        }
    }
}

fn field(e: &FieldExpr, out: &mut Vec<Attribute>) {
    match e {
        FieldExpr::Attribute(a) => {
            if !out.contains(a) {
                out.push(a.clone());
            }
        }
        FieldExpr::Unary { operand, .. } => field(operand, out),
        FieldExpr::Binary { lhs, rhs, .. } => {
            field(lhs, out);
            field(rhs, out);
        }
        FieldExpr::Regex { lhs, .. } => field(lhs, out),
        FieldExpr::Static(_) | FieldExpr::Intrinsic(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::ast::Scope;
    use super::super::parse;

    #[test]
    fn attributes_in_order_of_mention() {
        let q = parse(
            r#"{ span.a = 1 && resource.b =~ "x" } >> { .c > 2 || span.a = 3 } | avg(span.d) > 1"#,
        )
        .unwrap();
        let got: Vec<(Scope, String)> = q
            .attributes()
            .into_iter()
            .map(|a| (a.scope, a.name))
            .collect();
        let want = vec![
            (Scope::Span, "a".to_string()),
            (Scope::Resource, "b".to_string()),
            (Scope::Any, "c".to_string()),
            (Scope::Span, "d".to_string()),
        ];
        assert_eq!(got, want);
    }
}
