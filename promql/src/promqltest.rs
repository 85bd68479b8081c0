//! A runner for Prometheus's PromQL test scripts (`*.test`: `load`,
//! `clear`, `eval` commands), as specified by the format description
//! shipped with the test data.
//!
//! - [`parse_script`] reads a script into [`Command`]s. It never fails as a
//!   whole: a command that does not parse becomes [`Command::Invalid`] with
//!   a [`ScriptError`] naming the file and line.
//! - [`run_script`] runs a script against a [`Storage`] and the [`Engine`]
//!   and returns a [`FileReport`] with one [`CaseReport`] per eval.
//! - [`MemStorage`] is an in-memory [`Storage`] for tests; the integration
//!   test runs against the real database.
//!
//! Native histogram series (and `load_with_nhcb`'s custom-bucket
//! histograms) are loaded and histogram results compared; `@st` start
//! timestamps are loaded with their samples. Every eval passes or fails:
//! none is skipped. Instant evals also get the reference runner's extra checks (range-mode
//! cross-check, `@`-pinned variants) unless [`RunOptions::extra_checks`] is
//! off. [`run_script_with`] has the complete rules.
//!
//! Deviations from the reference runner, all in the direction of reporting
//! more: a command that does not parse fails as one case and the rest of
//! the file still runs (the reference rejects the whole file); an
//! `expect fail msg:` also accepts a parse error's message without its
//! `line:col: parse error: ` prefix (Prometheus reports some of those
//! checks at execution time).

mod ast_walk;
mod compare;
mod eval_cmd;
mod histogram;
mod items;
mod lex;
mod mem;
mod nhcb;
mod report;
mod runner;
mod script;

use tsdb::model::HistogramSample;
use tsdb::model::{Labels, Queryable, Sample};

use crate::ast::Expr;
use crate::eval::{Engine, EngineOptions, QueryResult};

pub use compare::{EPSILON, almost_equal};
pub use eval_cmd::{
    AnnotationExpect, EvalCmd, EvalMode, Expected, ExpectedSeries, MessageMatch, Steps,
};
pub use histogram::{CounterResetHint, HistogramLiteral, histogram_matches, parse_histogram};
pub use items::{HistogramPoint, Point, expand_values};
pub use mem::MemStorage;
pub use nhcb::{NhcbSeries, synthesize as synthesize_nhcb};
pub use report::{CaseReport, Counts, FileReport, Outcome};
pub use runner::run_script_with;
pub use script::{Command, CommandKind, LoadCmd, Script, ScriptError, SeriesDef, parse_script};

/// An error from a [`Storage`], reported as the reason of the evals it
/// affects.
pub type StorageError = Box<dyn std::error::Error + Send + Sync>;

/// The data a script runs against. The runner calls [`clear`](Self::clear)
/// before the first command and for every `clear`, [`load`](Self::load)
/// once per `load` block, and queries through
/// [`queryable`](Self::queryable).
pub trait Storage {
    /// Drops all data; afterwards the storage is empty.
    fn clear(&mut self) -> Result<(), StorageError>;

    /// Appends the samples (each series' sorted by time; stale markers
    /// included as [`tsdb::model::STALE_NAN`]) in one transaction. Series
    /// may already exist with earlier samples. A sample the storage does
    /// not keep must be an error, never dropped silently; after an error
    /// the runner fails every eval up to the next `clear`.
    fn load(&mut self, series: Vec<(Labels, Vec<Sample>)>) -> Result<(), StorageError>;

    /// [`load`](Self::load) with start timestamps: `sts[i]` is parallel
    /// to the samples of `series[i]` (0 = none) or empty (none). The
    /// default keeps none, so it refuses any start timestamp rather than
    /// drop it.
    fn load_st(
        &mut self,
        series: Vec<(Labels, Vec<Sample>)>,
        sts: Vec<Vec<i64>>,
    ) -> Result<(), StorageError> {
        if sts.iter().flatten().any(|&st| st != 0) {
            return Err("this storage keeps no start timestamps".into());
        }
        self.load(series)
    }

    /// Appends native histogram samples (each series' sorted by time, with
    /// their start timestamps) in one transaction, under the rules of
    /// [`load`](Self::load). The
    /// default keeps none, so it refuses them rather than drop them.
    fn load_histograms(
        &mut self,
        series: Vec<(Labels, Vec<HistogramSample>)>,
    ) -> Result<(), StorageError> {
        match series.first() {
            Some((l, _)) => Err(format!("this storage keeps no native histograms ({l})").into()),
            None => Ok(()),
        }
    }

    /// One load block's floats (with start timestamps as for
    /// [`load_st`](Self::load_st)) and histograms. The default loads the
    /// histograms, then the floats; a storage where the order of appends
    /// matters (out-of-order samples keep no start timestamp) appends each
    /// series' samples of both kinds in time order instead.
    fn load_mixed(
        &mut self,
        floats: Vec<(Labels, Vec<Sample>)>,
        sts: Vec<Vec<i64>>,
        hists: Vec<(Labels, Vec<HistogramSample>)>,
    ) -> Result<(), StorageError> {
        self.load_histograms(hists)?;
        if floats.is_empty() {
            return Ok(());
        }
        self.load_st(floats, sts)
    }

    /// The data as loaded so far.
    fn queryable(&self) -> &dyn Queryable;
}

/// What the runner evaluates queries with: [`Engine`] in practice, a fake
/// in the runner's own tests.
pub trait Evaluator {
    /// An instant query at `t` (ms).
    fn instant(&self, q: &dyn Queryable, expr: &Expr, t: i64) -> crate::Result<QueryResult>;

    /// A range query over `start..=end` by `step` (ms).
    fn range(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> crate::Result<QueryResult>;
}

impl Evaluator for Engine {
    fn instant(&self, q: &dyn Queryable, expr: &Expr, t: i64) -> crate::Result<QueryResult> {
        Engine::instant(self, q, expr, t)
    }

    fn range(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> crate::Result<QueryResult> {
        Engine::range(self, q, expr, start, end, step)
    }
}

/// Engine settings the scripts' expectations assume: 5m lookback, 1m
/// default subquery step, at most 10000 samples per query, no timeout.
pub fn test_engine_options() -> EngineOptions {
    EngineOptions {
        lookback: 300_000,
        max_samples: 10_000,
        timeout: None,
        default_subquery_step: 60_000,
        ..EngineOptions::default()
    }
}

/// How to run scripts.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Options of the [`Engine`] queries run on.
    pub engine: EngineOptions,
    /// Run the reference runner's extra checks for instant evals: the
    /// range-mode cross-check and the `@`-pinned variants. A failed extra
    /// check fails its eval.
    pub extra_checks: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            engine: test_engine_options(),
            extra_checks: true,
        }
    }
}

/// Runs `script` against `storage` with an [`Engine`] built from
/// `opts.engine`. See [`run_script_with`] for the rules.
pub fn run_script(script: &Script, storage: &mut dyn Storage, opts: &RunOptions) -> FileReport {
    let engine = Engine::new(opts.engine.clone());
    run_script_with(script, storage, &engine, opts.extra_checks)
}
