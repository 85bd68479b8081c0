//! `/api/v1/parse_query`: the syntax tree as JSON, in the shape
//! Prometheus's API returns it (used by query editors' tree views).

use promql::ast::{AtModifier, Cardinality, DurationExpr, Expr, UnaryOp, VectorSelector};
use serde_json::{Value, json};

fn duration_ms(d: &Option<DurationExpr>) -> Value {
    match d {
        None => json!(0),
        Some(d) => match d.constant_millis() {
            Some(ms) => json!(ms),
            None => json!(d.to_string()),
        },
    }
}

fn at_fields(at: &Option<AtModifier>) -> (Value, Value) {
    match at {
        None => (Value::Null, Value::Null),
        Some(AtModifier::Timestamp(ms)) => (json!(ms), Value::Null),
        Some(AtModifier::Start) => (Value::Null, json!("start")),
        Some(AtModifier::End) => (Value::Null, json!("end")),
    }
}

fn selector_fields(vs: &VectorSelector) -> serde_json::Map<String, Value> {
    let (timestamp, start_or_end) = at_fields(&vs.at);
    let matchers: Vec<Value> = vs
        .matchers
        .iter()
        .map(|m| json!({"type": m.op.as_str(), "name": m.name, "value": m.value}))
        .collect();
    let mut o = serde_json::Map::new();
    o.insert("name".into(), json!(vs.name.clone().unwrap_or_default()));
    o.insert("matchers".into(), Value::Array(matchers));
    o.insert("offset".into(), duration_ms(&vs.offset));
    o.insert("timestamp".into(), timestamp);
    o.insert("startOrEnd".into(), start_or_end);
    o
}

/// Translates a parsed expression.
pub fn translate(e: &Expr) -> Value {
    match e {
        Expr::NumberLiteral(v) => {
            json!({"type": "numberLiteral", "val": promql::ast::format_float(*v)})
        }
        Expr::StringLiteral(s) => json!({"type": "stringLiteral", "val": s}),
        Expr::VectorSelector(vs) => {
            let mut o = selector_fields(vs);
            o.insert("type".into(), json!("vectorSelector"));
            Value::Object(o)
        }
        Expr::MatrixSelector(ms) => {
            let mut o = selector_fields(&ms.selector);
            o.insert("type".into(), json!("matrixSelector"));
            o.insert("range".into(), duration_ms(&Some(ms.range.clone())));
            Value::Object(o)
        }
        Expr::Subquery(sq) => {
            let (timestamp, start_or_end) = at_fields(&sq.at);
            json!({
                "type": "subquery",
                "expr": translate(&sq.expr),
                "range": duration_ms(&Some(sq.range.clone())),
                "offset": duration_ms(&sq.offset),
                "step": duration_ms(&sq.step),
                "timestamp": timestamp,
                "startOrEnd": start_or_end,
            })
        }
        Expr::Call(c) => json!({
            "type": "call",
            "func": {
                "name": c.func.name,
                "argTypes": c.func.arg_types.iter().map(|t| type_name(*t)).collect::<Vec<_>>(),
                "variadic": match c.func.max_args {
                    None => -1,
                    Some(max) => (max - c.func.min_args) as i64,
                },
                "returnType": type_name(c.func.return_type),
            },
            "args": c.args.iter().map(translate).collect::<Vec<_>>(),
        }),
        Expr::Aggregate(a) => json!({
            "type": "aggregation",
            "op": a.op.as_str(),
            "expr": translate(&a.expr),
            "param": a.param.as_deref().map(translate),
            "grouping": a.grouping,
            "without": a.without,
        }),
        Expr::Binary(b) => json!({
            "type": "binaryExpr",
            "op": b.op.as_str(),
            "lhs": translate(&b.lhs),
            "rhs": translate(&b.rhs),
            "matching": b.matching.as_ref().map(|m| json!({
                "card": match m.card {
                    Cardinality::OneToOne => "one-to-one",
                    Cardinality::ManyToOne => "many-to-one",
                    Cardinality::OneToMany => "one-to-many",
                    Cardinality::ManyToMany => "many-to-many",
                },
                "labels": m.labels,
                "on": m.on,
                "include": m.include,
            })),
            "bool": b.return_bool,
        }),
        Expr::Unary(u) => json!({
            "type": "unaryExpr",
            "op": match u.op { UnaryOp::Neg => "-", UnaryOp::Plus => "+" },
            "expr": translate(&u.expr),
        }),
        Expr::Paren(e) => json!({"type": "parenExpr", "expr": translate(e)}),
    }
}

fn type_name(t: promql::ast::ValueType) -> &'static str {
    use promql::ast::ValueType::*;
    match t {
        Scalar => "scalar",
        Vector => "vector",
        Matrix => "matrix",
        String => "string",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let e = promql::parse(r#"sum by (job) (rate(x{a="b"}[5m] offset 1m))"#).unwrap();
        let v = translate(&e);
        assert_eq!(v["type"], "aggregation");
        assert_eq!(v["grouping"], json!(["job"]));
        let call = &v["expr"];
        assert_eq!(call["func"]["name"], "rate");
        let ms = &call["args"][0];
        assert_eq!(ms["type"], "matrixSelector");
        assert_eq!(ms["range"], 300_000);
        assert_eq!(ms["offset"], 60_000);
        assert_eq!(
            ms["matchers"][1],
            json!({"type": "=", "name": "a", "value": "b"})
        );
        let b = translate(&promql::parse("a / on (x) group_left b").unwrap());
        assert_eq!(b["matching"]["card"], "many-to-one");
    }
}
