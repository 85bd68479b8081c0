//! PromQL parser (nom): [`parse`] turns a query into a type-checked
//! [`Expr`], or an [`Error::Parse`] with a `line:col` position.

mod check;
mod duration;
mod expr;
mod internal;
mod literal;
mod precedence;
mod selector;
#[cfg(test)]
mod tests;

use crate::ast::Expr;
use crate::error::{Error, Position, Result};
use internal::{PError, describe, ws};

/// The parser's building blocks, for grammars built on PromQL's tokens
/// (LogQL's stream selectors, strings and durations): the nom error type,
/// whitespace, punctuation and keywords, literals, label matchers, and the
/// positioned error.
pub mod kit {
    pub use super::error_at;
    pub use super::internal::{
        PError, PResult, backtrack, describe, expect, failure, identifier, keyword, punct,
        unexpected, ws,
    };
    pub use super::literal::{duration_literal, label_name, number, string_literal};
    pub use super::selector::label_matchers;
}

/// Parses and type-checks a PromQL expression. Never panics; every failure
/// is an [`Error::Parse`] positioned at the offending token or node.
pub fn parse(input: &str) -> Result<Expr> {
    if ws(input).is_empty() {
        return Err(error_at(
            input,
            ws(input),
            Some("no expression found in input".into()),
        ));
    }
    match expr::expression(input) {
        Ok((rest, e)) => {
            let rest = ws(rest);
            if rest.is_empty() {
                Ok(e)
            } else {
                Err(error_at(input, rest, None))
            }
        }
        Err(
            nom::Err::Error(PError { input: at, msg })
            | nom::Err::Failure(PError { input: at, msg }),
        ) => Err(error_at(input, at, msg)),
        Err(nom::Err::Incomplete(_)) => Err(error_at(input, "", None)),
    }
}

/// Converts an error at the suffix `at` of `input` into a positioned error.
pub fn error_at(input: &str, at: &str, msg: Option<String>) -> Error {
    let offset = (at.as_ptr() as usize)
        .checked_sub(input.as_ptr() as usize)
        .filter(|&o| o <= input.len())
        .unwrap_or(input.len());
    let at = input.get(offset..).unwrap_or("");
    Error::Parse {
        pos: Position::from_offset(input, offset),
        msg: msg.unwrap_or_else(|| format!("unexpected {}", describe(at))),
    }
}
