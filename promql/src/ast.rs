//! The PromQL syntax tree: expressions, selectors, duration expressions, and
//! their canonical `Display` (Prometheus's `format_query` form, which parses
//! back to the same tree).

mod display;
mod duration;
mod expr;

pub use display::{format_float, format_matcher, quote_string};
pub use duration::{DurationExpr, DurationOp};
pub use expr::{
    Aggregate, AggregateOp, AtModifier, Binary, BinaryOp, Call, Cardinality, Expr, Fill,
    MatrixSelector, Subquery, Unary, UnaryOp, ValueType, VectorMatching, VectorSelector,
};
