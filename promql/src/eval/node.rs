//! Evaluation of each expression kind on the grid.

use super::grid::{Grid, Val};
use crate::ast::Expr;
use crate::error::{Error, Result};

impl Grid<'_> {
    /// Evaluates `expr` on the current frame.
    pub(crate) fn eval(&mut self, expr: &Expr) -> Result<Val> {
        let _ = expr;
        Err(Error::Execution("evaluator under construction".into()))
    }
}
