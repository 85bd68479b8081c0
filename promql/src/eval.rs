//! The evaluator: every expression is evaluated on a step grid
//! `start, start+step, …, end`; an instant query is a grid of one step.
//!
//! - [`Engine`]: the entry point, with its limits ([`EngineOptions`]).
//! - `grid`: the per-query state (the grid, annotations) and the per-node
//!   intermediate values; `limits`: deadline, cancellation and memory
//!   accounting, shared by a query's threads.
//! - `selector`: instant and range selection from storage (lookback,
//!   staleness, offset and `@`).
//! - `node`: evaluation of each expression kind; `call` dispatches functions.
//! - `rollup`: functions over range windows (`rate`, `*_over_time`, …).
//! - `transform`: functions of instant vectors (math, time, labels,
//!   `histogram_quantile`).
//! - `aggregate`: `sum`, `topk`, … `by`/`without`.
//! - `binop`: arithmetic, comparisons and set operators with vector matching.
//! - `stats`: compensated sums, quantiles and friends shared by the above.

mod aggregate;
mod binop;
mod call;
mod grid;
mod hints;
mod hstats;
mod info;
mod limits;
mod node;
mod rollup;
mod selector;
mod stats;
mod tiered;
mod transform;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tsdb::model::Queryable;

use crate::ast::Expr;
use crate::error::Result;
use crate::value::Value;

pub(crate) use grid::Elem;
pub use tiered::SourceResolution;

/// Limits and defaults of query evaluation.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample, in ms (5m).
    pub lookback: i64,
    /// Most samples a query may hold in memory at once (50M, as Prometheus).
    pub max_samples: usize,
    /// Wall-clock limit of one query; `None` for none.
    pub timeout: Option<Duration>,
    /// Step of `[range:]` subqueries without one, in ms (1m).
    pub default_subquery_step: i64,
    /// Set to `true` by another thread to cancel the query.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Threads one query may use for per-series work (range functions);
    /// defaults to the machine's cores.
    pub parallelism: usize,
    /// Which downsampling tiers range functions may read.
    pub max_source_resolution: SourceResolution,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Some(Duration::from_secs(120)),
            default_subquery_step: 60 * 1000,
            cancel: None,
            parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_source_resolution: SourceResolution::Auto,
        }
    }
}

/// A query's value with its annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub value: Value,
    /// Texts starting `PromQL warning: `.
    pub warnings: Vec<String>,
    /// Texts starting `PromQL info: `.
    pub infos: Vec<String>,
    /// Resolutions (ms) of the downsampling tiers the query read,
    /// ascending; empty when it read raw samples only.
    pub tiers: Vec<i64>,
}

/// Evaluates parsed expressions against a [`Queryable`]. Cheap to create;
/// holds no state between queries.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `expr` at time `t` (ms). The result has the expression's
    /// type: a range vector for a bare matrix selector or subquery.
    pub fn instant(&self, q: &dyn Queryable, expr: &Expr, t: i64) -> Result<QueryResult> {
        self.run(q, expr, t, t, 0)
    }

    /// Evaluates `expr` at `start, start+step, …, end` (ms, `step > 0`).
    /// The result is a matrix sorted by labels; a scalar expression gives
    /// one series without labels.
    pub fn range(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult> {
        self.run(q, expr, start, end, step.max(1))
    }

    fn run(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult> {
        let deadline = self.opts.timeout.map(|d| Instant::now() + d);
        let mut grid = grid::Grid::new(&self.opts, q, start, end, step, deadline);
        let value = grid.run(expr)?;
        let tiers = grid.tiers_used.iter().copied().collect();
        let ann = grid.into_annotations();
        Ok(QueryResult {
            value,
            warnings: ann.warnings.into_iter().collect(),
            infos: ann.infos.into_iter().collect(),
            tiers,
        })
    }
}

#[cfg(test)]
mod tests;
