//! PromQL: parser and evaluator. Depends on `tsdb::model` only.

pub mod ast;
pub mod error;
pub mod eval;
pub mod functions;
pub mod parser;
pub mod promqltest;
mod series_selector;
pub mod syntax;
pub mod value;

pub use error::{DurationError, Error, Result, TimeError};
pub use parser::parse;
pub use series_selector::parse_series_selector;
