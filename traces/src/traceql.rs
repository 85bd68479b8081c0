//! TraceQL, Grafana Tempo's trace query language: [`parse`] a query into a
//! [`Query`], run it on one trace ([`TraceView`]) with [`Query::matches`],
//! prune traces before reading them with [`Query::conditions`], and list
//! the attributes it reads with [`Query::attributes`].

mod ast;
mod check;
mod conditions;
mod error;
mod eval;
mod field;
mod field_eval;
mod internal;
mod literal;
mod parser;
mod print;
mod refs;
mod structural;
mod value;

#[cfg(test)]
mod eval_tests;
#[cfg(test)]
mod parser_error_tests;
#[cfg(test)]
mod parser_props;
#[cfg(test)]
mod parser_tests;

pub use ast::{
    Aggregate, Attribute, BinaryOp, FieldExpr, Intrinsic, Pattern, Query, ScalarFilter, Scope,
    SpansetExpr, SpansetOp, Stage, Static, UnaryOp, is_attr_char,
};
pub use conditions::Required;
pub use error::ParseError;
pub use parser::parse;
pub use value::{Kind, Status, TraceView, Value};
