//! PromQL: parser and evaluator. Depends on `tsdb::model` only.

pub mod ast;
pub mod error;
pub mod functions;
pub mod parser;

pub use error::{Error, Result};
pub use parser::parse;
