//! PromQL parser (nom): `parse(&str) -> Result<Expr>`.

use crate::ast::Expr;
use crate::error::{Error, Position, Result};

/// Parses and type-checks a PromQL expression. (Stub until the parser lands.)
pub fn parse(_input: &str) -> Result<Expr> {
    Err(Error::Parse {
        pos: Position { line: 1, col: 1 },
        msg: "parser not implemented yet".into(),
    })
}
