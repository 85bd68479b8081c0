//! LogQL: [`parse`] turns a query into an [`Expr`] (nom, on PromQL's
//! tokens: strings, label matchers and durations read as PromQL reads
//! them), positions in errors; [`Expr`]'s `Display` reads back as the
//! same query.
//!
//! - [`ast`]: the syntax tree and its printing;
//! - `parser`: the grammar;
//! - [`filter`]: line filters compiled for evaluation.
//!
//! What is here so far: log queries made of a stream selector and line
//! filters (`|=`, `!=`, `|~`, `!~`, chained, alternatives joined with
//! `or`).

pub mod ast;
pub mod filter;
mod parser;

pub use ast::{Expr, LineFilter, LineOp, LogExpr, Stage};
pub use parser::{ParseError, parse};
