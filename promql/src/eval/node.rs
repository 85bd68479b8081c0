//! Evaluation of each expression kind on the grid.

use tsdb::model::Sample;

use super::grid::{Frame, Grid, StepSeries, Val, Window, hpoint};
use super::rollup::RangeMode;
use super::selector::{InstantValue, RangeInput, RawData, RawSeries};
use crate::ast::{Expr, Subquery, UnaryOp};
use crate::error::{Error, Result};

impl Grid<'_> {
    /// Evaluates `expr` on the current frame.
    pub(crate) fn eval(&mut self, expr: &Expr) -> Result<Val> {
        self.check("query execution")?;
        match expr {
            Expr::NumberLiteral(v) => Ok(Val::Scalar(vec![*v; self.frame.len()])),
            Expr::StringLiteral(s) => Ok(Val::String(s.clone())),
            Expr::Paren(e) => self.eval(e),
            Expr::VectorSelector(vs) => {
                Ok(Val::Vector(self.select_instant(vs, InstantValue::Value)?))
            }
            Expr::MatrixSelector(_) | Expr::Subquery(_) => {
                let input = self.range_input(expr)?;
                Ok(Val::Matrix(self.windows_at(&input, self.frame.start)))
            }
            Expr::Unary(u) => {
                let v = self.eval(&u.expr)?;
                if u.op == UnaryOp::Plus {
                    return Ok(v);
                }
                match v {
                    Val::Scalar(vs) => Ok(Val::Scalar(vs.into_iter().map(|v| -v).collect())),
                    Val::Vector(mut series) => {
                        for s in &mut series {
                            s.drop_name = true;
                            s.points.iter_mut().for_each(|p| p.v = -p.v);
                            for p in &mut s.hpoints {
                                let mut h = (*p.h).clone();
                                h.scale(-1.0);
                                h.hint = tsdb::model::histogram::CounterResetHint::Gauge;
                                *p = hpoint(p.t, h);
                            }
                        }
                        Ok(Val::Vector(series))
                    }
                    _ => Err(Error::Execution(
                        "unary expression only allowed on expressions of type scalar or instant vector".into(),
                    )),
                }
            }
            Expr::Call(c) => self.eval_call(c),
            Expr::Aggregate(a) => self.eval_aggregate(a),
            Expr::Binary(b) => self.eval_binary(b),
        }
    }

    /// Evaluates an expression that must give an instant vector.
    pub(crate) fn eval_vector(&mut self, expr: &Expr) -> Result<Vec<StepSeries>> {
        match self.eval(expr)? {
            Val::Vector(v) => Ok(v),
            other => Err(Error::Execution(format!(
                "expected instant vector, got {}",
                val_type(&other)
            ))),
        }
    }

    /// Evaluates an expression that must give a scalar: one value per step.
    pub(crate) fn eval_scalar(&mut self, expr: &Expr) -> Result<Vec<f64>> {
        match self.eval(expr)? {
            Val::Scalar(v) => Ok(v),
            other => Err(Error::Execution(format!(
                "expected scalar, got {}",
                val_type(&other)
            ))),
        }
    }

    /// Evaluates a string-typed expression.
    pub(crate) fn eval_string(&mut self, expr: &Expr) -> Result<String> {
        match self.eval(expr)? {
            Val::String(s) => Ok(s),
            other => Err(Error::Execution(format!(
                "expected string, got {}",
                val_type(&other)
            ))),
        }
    }

    /// The samples behind a matrix selector or subquery for every step.
    pub(crate) fn range_input(&mut self, expr: &Expr) -> Result<RangeInput> {
        match expr.unparen() {
            Expr::MatrixSelector(ms) => self.select_range(&ms.selector, &ms.range),
            Expr::Subquery(sq) => self.subquery(sq),
            other => Err(Error::Execution(format!(
                "expected range vector, got {}",
                other.value_type()
            ))),
        }
    }

    /// Evaluates a subquery's inner expression on its own grid: steps that
    /// are multiples of the subquery step, covering every outer window.
    fn subquery(&mut self, sq: &Subquery) -> Result<RangeInput> {
        let range = self.duration_ms(&sq.range)?;
        let step = match &sq.step {
            Some(s) => self.duration_ms(s)?,
            None => self.opts.default_subquery_step,
        };
        if step <= 0 {
            return Err(Error::Execution(format!(
                "zero or negative step in subquery: {step}ms"
            )));
        }
        let offset = self.offset_ms(&sq.offset)?;
        let at = sq.at.as_ref().map(|a| self.at_time(a));
        let (first, last) = match at {
            Some(a) => (a - offset, a - offset),
            None => (self.frame.start - offset, self.frame.end - offset),
        };
        let lo = first - range;
        let mut start = lo.div_euclid(step) * step;
        while start <= lo {
            start += step;
        }
        let inner = Frame {
            start,
            end: last,
            step,
        };
        let outer = self.frame;
        self.frame = inner;
        let value = if start > last {
            Ok(Val::Vector(Vec::new()))
        } else {
            self.eval(&sq.expr)
        };
        self.frame = outer;
        let series = match value? {
            Val::Vector(series) => series
                .into_iter()
                .map(|s| RawSeries {
                    labels: s.labels,
                    drop_name: s.drop_name,
                    data: RawData::Loaded {
                        floats: s.points,
                        hists: s.hpoints.into_iter().map(sampled_hint).collect(),
                    },
                })
                .collect(),
            Val::Scalar(vs) => vec![RawSeries {
                labels: Default::default(),
                drop_name: false,
                data: RawData::Loaded {
                    floats: inner
                        .times()
                        .zip(vs)
                        .map(|(t, v)| Sample::new(t, v))
                        .collect(),
                    hists: Vec::new(),
                },
            }],
            other => {
                return Err(Error::Execution(format!(
                    "subquery is only allowed on instant vector, got {}",
                    val_type(&other)
                )));
            }
        };
        Ok(RangeInput {
            series,
            range,
            offset,
            at,
            mode: RangeMode::Plain,
        })
    }

    /// The range vector at step time `t`: each series' samples in its
    /// window, series without samples left out.
    pub(crate) fn windows_at(&self, input: &RangeInput, t: i64) -> Vec<Window> {
        let end = input.end(t);
        let start = end - input.range;
        input
            .series
            .iter()
            .filter_map(|s| {
                let (samples, _, hists) = s.load_all();
                let lo = samples.partition_point(|p| p.t <= start);
                let hi = samples.partition_point(|p| p.t <= end);
                let hlo = hists.partition_point(|p| p.t <= start);
                let hhi = hists.partition_point(|p| p.t <= end);
                (lo < hi || hlo < hhi).then(|| Window {
                    labels: s.labels.clone(),
                    drop_name: s.drop_name,
                    samples: samples[lo..hi].to_vec(),
                    hists: hists[hlo..hhi].to_vec(),
                })
            })
            .collect()
    }
}

pub(crate) fn val_type(v: &Val) -> &'static str {
    match v {
        Val::Scalar(_) => "scalar",
        Val::String(_) => "string",
        Val::Vector(_) => "instant vector",
        Val::Matrix(_) => "range vector",
    }
}

/// A histogram sampled by a subquery: its stored hint spoke of the sample
/// before it in storage, which the subquery's previous step need not be,
/// so a counter's hint becomes unknown (resets are then detected from the
/// values, as Prometheus does).
fn sampled_hint(p: tsdb::model::HistogramSample) -> tsdb::model::HistogramSample {
    use tsdb::model::histogram::CounterResetHint;
    if matches!(
        p.h.hint,
        CounterResetHint::CounterReset | CounterResetHint::NotCounterReset
    ) {
        let mut h = (*p.h).clone();
        h.hint = CounterResetHint::Unknown;
        return hpoint(p.t, h);
    }
    p
}
