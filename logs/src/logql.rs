//! LogQL: [`parse`] turns a query into an [`Expr`] (nom, on PromQL's
//! tokens: strings, label matchers and durations read as PromQL reads
//! them), positions in errors; [`Expr`]'s `Display` reads back as the
//! same query.
//!
//! - [`ast`]: the syntax tree of log queries and its printing;
//! - [`metric`]: metric queries, and their PromQL form;
//! - `parser`, `parser_metric`: the grammar;
//! - [`pipeline`]: log pipelines compiled for evaluation;
//! - [`eval`]: metric queries evaluated (range aggregations here, the rest
//!   by the PromQL engine); `unwrapped`: the `*_over_time` of unwrapped
//!   values.
//!
//! What is here so far: log queries made of a stream selector and a
//! pipeline — line filters (`|=`, `!=`, `|~`, `!~`, chained, alternatives
//! joined with `or`), `json`, `logfmt`, `regexp`, `pattern`, `unpack`,
//! label filters (strings, numbers, durations, byte sizes, `and`/`or`),
//! `line_format`, `label_format`, `drop`, `keep`, `decolorize`; metric
//! queries with `count_over_time`, `rate`, `bytes_over_time`,
//! `bytes_rate`, `absent_over_time`; over `| unwrap` (plain, `duration()`,
//! `bytes()`, label filters after it) the `*_over_time` functions and
//! `rate`, with `by`/`without`; the vector aggregations, binary operators
//! with `bool`, `on`/`ignoring` and `group_left`/`group_right`,
//! `label_replace`, numbers and `vector()`.

pub mod ast;
pub mod eval;
pub mod metric;
mod parser;
mod parser_metric;
mod parser_stage;
pub mod pipeline;
mod unwrapped;

pub use ast::{Expr, LabelFmt, LineFilter, LineOp, LogExpr, NameOrMatcher, Stage};
pub use metric::MetricExpr;
pub use parser::{ParseError, parse};
