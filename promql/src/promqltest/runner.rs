//! Executing a parsed script: loads into a [`Storage`], evals through the
//! [`Evaluator`](super::Evaluator), and the reference runner's extra checks.

use std::panic::{AssertUnwindSafe, catch_unwind};

use tsdb::model::HistogramSample;

use super::ast_walk::{at_variants_apply, uses_query_range, with_at};
use super::compare::{
    almost_equal, check_annotations, check_failure, check_sorted, compare_value, compare_vector,
};
use super::eval_cmd::{EvalCmd, EvalMode, Expected, Steps};
use super::nhcb;
use super::report::{CaseReport, FileReport, Outcome};
use super::script::{Command, CommandKind, LoadCmd, Script};
use super::{Evaluator, Storage};
use crate::ast::Expr;
use crate::error::Error;
use crate::eval::QueryResult;
use crate::syntax::format_duration;
use crate::value::{Value, VectorSample};

/// Runs every command of `script` in order against `storage` (cleared
/// first), evaluating with `evaluator`, and reports each eval.
///
/// - A load the storage rejects, or that does not parse, makes every eval
///   up to the next `clear` fail with that reason.
/// - Native histogram samples (and `load_with_nhcb`'s custom-bucket
///   histograms) are loaded through [`Storage::load_mixed`] and
///   [`Storage::load_histograms`]; histogram results are compared. No
///   eval is skipped.
/// - A command that does not parse counts as one failed case (evals,
///   `clear`, unknown commands).
/// - An evaluator panic fails the eval; the run goes on.
/// - With `extra_checks`, instant evals also get the range-mode
///   cross-check and the `@`-pinned variants; a failed extra check fails
///   the eval with a reason naming the variant.
pub fn run_script_with(
    script: &Script,
    storage: &mut dyn Storage,
    evaluator: &dyn Evaluator,
    extra_checks: bool,
) -> FileReport {
    let mut run = Run {
        storage,
        engine: evaluator,
        extra_checks,
        broken: None,
    };
    run.clear();
    let mut cases = Vec::new();
    for cmd in &script.commands {
        match cmd {
            Command::Clear { .. } => run.clear(),
            Command::Load(l) => run.load(l),
            Command::Eval(e) => cases.push(CaseReport {
                line: e.line,
                expr: e.expr.clone(),
                outcome: run.eval(e),
            }),
            Command::Invalid {
                kind: CommandKind::Load,
                error,
                ..
            } => run.break_with(format!("invalid load block: {error}")),
            Command::Invalid { header, error, .. } => cases.push(CaseReport {
                line: error.line,
                expr: header.clone(),
                outcome: Outcome::Failed(format!("script error: {}", error.msg)),
            }),
        }
    }
    FileReport {
        file: script.file.clone(),
        cases,
    }
}

struct Run<'a> {
    storage: &'a mut dyn Storage,
    engine: &'a dyn Evaluator,
    extra_checks: bool,
    /// Why the data since the last clear cannot be trusted.
    broken: Option<String>,
}

/// Why a query produced no result.
enum QueryError {
    Engine(Error),
    Panic(String),
}

impl QueryError {
    /// Failure texts the error may be matched by: its full text, and for a
    /// parse error also the bare message (Prometheus reports some of these
    /// checks at execution, without a position).
    fn texts(&self) -> Vec<String> {
        match self {
            QueryError::Engine(e @ Error::Parse { msg, .. }) => vec![e.to_string(), msg.clone()],
            QueryError::Engine(e) => vec![e.to_string()],
            QueryError::Panic(m) => vec![format!("engine panicked: {m}")],
        }
    }
}

/// Runs `f`, turning a panic into an error.
fn guarded(f: impl FnOnce() -> crate::Result<QueryResult>) -> Result<QueryResult, QueryError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(QueryError::Engine),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic".into());
            Err(QueryError::Panic(msg))
        }
    }
}

fn time(ms: i64) -> String {
    format_duration(ms)
}

impl Run<'_> {
    fn break_with(&mut self, reason: String) {
        self.broken.get_or_insert(reason);
    }

    fn clear(&mut self) {
        self.broken = None;
        if let Err(e) = self.storage.clear() {
            self.break_with(format!("clearing the storage failed: {e}"));
        }
    }

    fn load(&mut self, l: &LoadCmd) {
        let floats = l.float_series();
        if l.nhcb {
            match nhcb::synthesize(&floats) {
                Ok(series) => {
                    let hs = series
                        .into_iter()
                        .map(|s| {
                            let v = s.histograms.iter().map(|(t, h)| HistogramSample {
                                t: *t,
                                st: 0,
                                h: std::sync::Arc::new(h.to_float()),
                            });
                            (s.labels, v.collect())
                        })
                        .collect();
                    if let Err(e) = self.storage.load_histograms(hs) {
                        self.break_with(format!(
                            "the storage rejected the histograms of load_with_nhcb at line {}: {e}",
                            l.line
                        ));
                    }
                }
                Err(e) => self.break_with(format!("load_with_nhcb at line {}: {e}", l.line)),
            }
        }
        let hists = l.histogram_series();
        if floats.is_empty() && hists.is_empty() {
            return;
        }
        let sts = l.float_start_times();
        let loaded = if !hists.is_empty() {
            self.storage.load_mixed(floats, sts, hists)
        } else if sts.iter().all(Vec::is_empty) {
            self.storage.load(floats)
        } else {
            self.storage.load_st(floats, sts)
        };
        if let Err(e) = loaded {
            self.break_with(format!(
                "the storage rejected the load at line {}: {e}",
                l.line
            ));
        }
    }

    fn eval(&self, cmd: &EvalCmd) -> Outcome {
        if let Some(r) = &self.broken {
            return Outcome::Failed(format!("not run: {r}"));
        }
        let expr = crate::parse(&cmd.expr);
        let result = match cmd.mode {
            EvalMode::Instant { .. } => self.instant_eval(cmd, expr),
            EvalMode::Range(steps) => self.range_eval(cmd, expr, steps),
        };
        match result {
            Ok(()) => Outcome::Passed,
            Err(r) => Outcome::Failed(r),
        }
    }

    /// Checks a query outcome up to and including the value comparison.
    fn check_outcome(
        &self,
        cmd: &EvalCmd,
        res: Result<QueryResult, QueryError>,
    ) -> Result<Option<QueryResult>, String> {
        match (res, &cmd.fail) {
            (Err(QueryError::Panic(m)), _) => Err(format!("engine panicked: {m}")),
            (Err(e), Some(m)) => check_failure(m, &e.texts()).map(|()| None),
            (Err(QueryError::Engine(e)), None) => Err(format!("query failed: {e}")),
            (Ok(_), Some(_)) => Err("expected the query to fail, but it succeeded".into()),
            (Ok(r), None) => {
                check_annotations(cmd, &r.warnings, &r.infos)?;
                compare_value(cmd, &r.value)?;
                Ok(Some(r))
            }
        }
    }

    fn range_eval(&self, cmd: &EvalCmd, expr: crate::Result<Expr>, s: Steps) -> Result<(), String> {
        let q = self.storage.queryable();
        let res = match &expr {
            Ok(e) => guarded(|| self.engine.range(q, e, s.start, s.end, s.step)),
            Err(e) => Err(QueryError::Engine(e.clone())),
        };
        self.check_outcome(cmd, res).map(|_| ())
    }

    fn instant_eval(&self, cmd: &EvalCmd, expr: crate::Result<Expr>) -> Result<(), String> {
        let Some(t) = cmd.instant_time() else {
            return Err("not an instant eval".into());
        };
        let expr = match expr {
            Ok(e) => e,
            Err(e) => {
                return self
                    .check_outcome(cmd, Err(QueryError::Engine(e)))
                    .map(|_| ());
            }
        };
        let range_mode = self.extra_checks
            && cmd.fail.is_none()
            && cmd.range_vector.is_none()
            && !matches!(cmd.expected, Expected::String(_))
            && !uses_query_range(&expr);
        self.check_instant(cmd, &expr, t, range_mode)?;
        if !self.extra_checks || !at_variants_apply(&expr) {
            return Ok(());
        }
        let pinned = with_at(&expr, t);
        let times = if t == 0 {
            vec![-1000, 0, 1000]
        } else {
            let ten = t.saturating_mul(10);
            vec![ten.saturating_neg(), 0, t / 5, t, ten]
        };
        for vt in times {
            self.check_instant(cmd, &pinned, vt, range_mode)
                .map_err(|r| format!("@ variant `{pinned}` evaluated at {}: {r}", time(vt)))?;
        }
        Ok(())
    }

    /// One instant evaluation at `t`, then (if `range_mode`) the range-mode
    /// cross-check around `t`.
    fn check_instant(
        &self,
        cmd: &EvalCmd,
        expr: &Expr,
        t: i64,
        range_mode: bool,
    ) -> Result<(), String> {
        let q = self.storage.queryable();
        let res = guarded(|| self.engine.instant(q, expr, t));
        if self.check_outcome(cmd, res)?.is_none() || !range_mode {
            return Ok(());
        }
        self.range_mode_check(cmd, expr, t).map_err(|r| {
            format!(
                "range-mode check (from {} to {} step 1m): {r}",
                time(t.saturating_sub(60_000)),
                time(t.saturating_add(60_000))
            )
        })
    }

    /// Runs `expr` as a range query from `t-1m` to `t+1m` step 1m; its
    /// points at `t` must meet the eval's expectation (order not checked;
    /// with `expect ordered` only success is required, as the reference
    /// runner does).
    fn range_mode_check(&self, cmd: &EvalCmd, expr: &Expr, t: i64) -> Result<(), String> {
        let q = self.storage.queryable();
        let res = guarded(|| {
            self.engine.range(
                q,
                expr,
                t.saturating_sub(60_000),
                t.saturating_add(60_000),
                60_000,
            )
        });
        let res = match res {
            Ok(r) => r,
            Err(QueryError::Engine(e)) => return Err(format!("query failed: {e}")),
            Err(QueryError::Panic(m)) => return Err(format!("engine panicked: {m}")),
        };
        if cmd.ordered {
            return Ok(());
        }
        let Value::Matrix(m) = res.value else {
            return Err("the range query did not return a range vector".into());
        };
        check_sorted(&m)?;
        let at_t: Vec<VectorSample> = m
            .iter()
            .filter_map(|s| {
                if let Some(p) = s.samples.iter().find(|p| p.t == t) {
                    return Some(VectorSample {
                        labels: s.labels.clone(),
                        t,
                        v: p.v,
                        h: None,
                    });
                }
                let h = s.histograms.iter().find(|p| p.t == t)?;
                Some(VectorSample {
                    labels: s.labels.clone(),
                    t,
                    v: 0.0,
                    h: Some(h.h.clone()),
                })
            })
            .collect();
        match &cmd.expected {
            Expected::Scalar(w) => match at_t.first() {
                Some(p) if almost_equal(*w, p.v) => Ok(()),
                Some(p) => Err(format!(
                    "expected scalar {w} but got {} at {}",
                    p.v,
                    time(t)
                )),
                None => Err(format!("no point at {}", time(t))),
            },
            Expected::Series(want) => compare_vector(want, &at_t, false),
            Expected::String(_) => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
