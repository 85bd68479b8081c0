//! `histogram_quantile`, `histogram_quantiles` and `histogram_fraction`
//! over classic histograms (bucket series told apart by `le`) and native
//! histograms alike.
//!
//! A native histogram whose labels equal a classic histogram's (its
//! bucket series without `le`) is ambiguous: both are left out, with
//! Prometheus's warning. Native histograms holding NaN observations (a
//! NaN sum with a count) get Prometheus's info.

use std::collections::HashSet;

use tsdb::model::Labels;
use tsdb::model::histogram::FloatHistogram;

use super::super::grid::{Grid, SeriesSink, StepSeries, Val, elems_at, for_each_step};
use super::super::transform;
use crate::ast::{Call, quote_string};
use crate::error::{Error, Result};
use crate::functions::FuncId;
use crate::value::{Annotations, FloatDisplay};

/// What is asked of each histogram.
#[derive(Clone, Copy)]
enum Ask {
    Quantile(f64),
    Fraction(f64, f64),
}

impl Ask {
    fn native(self, h: &FloatHistogram, name: &str, ann: &mut Annotations) -> f64 {
        let v = match self {
            Ask::Quantile(q) => transform::native::quantile(q, h),
            Ask::Fraction(lo, hi) => transform::native::fraction(lo, hi, h),
        };
        if h.sum.is_nan() && h.count > 0.0 {
            let what = match self {
                Ask::Quantile(_) if v.is_nan() => {
                    "histogram_quantile has NaN observations, result is NaN"
                }
                Ask::Quantile(_) => {
                    "histogram_quantile has NaN observations, result is skewed higher"
                }
                Ask::Fraction(..) => {
                    "histogram_fraction has NaN observations, which are excluded from all fractions"
                }
            };
            ann.info(format_args!(
                "input to {what} for metric name {}",
                quote_string(name)
            ));
        }
        v
    }
}

impl Grid<'_> {
    pub(super) fn call_histogram(&mut self, c: &Call) -> Result<Val> {
        let quantile = c.func.id == FuncId::HistogramQuantile;
        let nscalars = if quantile { 1 } else { 2 };
        let mut params = Vec::new();
        for a in &c.args[..nscalars] {
            params.push(self.eval_scalar(a)?);
        }
        let series = self.eval_vector(&c.args[nscalars])?;
        let (classic, native) = split_mixed(series, &mut self.ann);
        let mut sink = SeriesSink::default();
        let mut ann = std::mem::take(&mut self.ann);
        let res = for_each_step(self.frame, &classic, |step, t, present| {
            let input = elems_at(&classic, present);
            let out = if quantile {
                transform::histogram_quantile(params[0][step], input, &mut ann)?
            } else {
                transform::histogram_fraction(params[0][step], params[1][step], input, &mut ann)?
            };
            for e in out {
                sink.push(e.labels, e.drop_name, t, e.v)?;
            }
            Ok(())
        });
        // Each native histogram stands alone.
        let res = res.and_then(|()| {
            for s in &native {
                let name = s.labels.metric_name();
                for p in &s.hpoints {
                    let step = self.frame.index(p.t);
                    let ask = if quantile {
                        Ask::Quantile(params[0][step])
                    } else {
                        Ask::Fraction(params[0][step], params[1][step])
                    };
                    let v = ask.native(&p.h, name, &mut ann);
                    sink.push(s.labels.clone(), true, p.t, v)?;
                }
            }
            Ok(())
        });
        self.ann = ann;
        res?;
        sink.out
            .iter_mut()
            .for_each(|s| s.points.sort_by_key(|p| p.t));
        Ok(Val::Vector(sink.out))
    }

    /// `histogram_quantiles(v, "label", q1, q2, …)`: one output series per
    /// quantile, told apart by `label` (`q="0.5"`, `q="1.0"`).
    pub(super) fn call_histogram_quantiles(&mut self, c: &Call) -> Result<Val> {
        let series = self.eval_vector(&c.args[0])?;
        let label = self.eval_string(&c.args[1])?;
        let mut qs = Vec::new();
        for a in &c.args[2..] {
            qs.push(self.eval_scalar(a)?);
        }
        if series.iter().any(|s| s.labels.has(&label)) {
            return Err(Error::Execution(format!(
                "label {label:?} already exists on the input series of histogram_quantiles"
            )));
        }
        let (classic, native) = split_mixed(series, &mut self.ann);
        let mut sink = SeriesSink::default();
        let mut ann = std::mem::take(&mut self.ann);
        let res = for_each_step(self.frame, &classic, |step, t, present| {
            for q in &qs {
                let input = elems_at(&classic, present);
                let qv = q[step];
                for e in transform::histogram_quantile(qv, input, &mut ann)? {
                    let mut b = e.labels.builder();
                    b.set(&label, &quantile_label(qv));
                    sink.push(b.build(), e.drop_name, t, e.v)?;
                }
            }
            Ok(())
        });
        let res = res.and_then(|()| {
            for s in &native {
                let name = s.labels.metric_name();
                for p in &s.hpoints {
                    let step = self.frame.index(p.t);
                    for q in &qs {
                        let v = Ask::Quantile(q[step]).native(&p.h, name, &mut ann);
                        let mut b = s.labels.builder();
                        b.set(&label, &quantile_label(q[step]));
                        sink.push(b.build(), true, p.t, v)?;
                    }
                }
            }
            Ok(())
        });
        self.ann = ann;
        res?;
        sink.out
            .iter_mut()
            .for_each(|s| s.points.sort_by_key(|p| p.t));
        Ok(Val::Vector(sink.out))
    }
}

/// The classic input (float points) and the native input (series with
/// histogram points), without the histograms that are both.
fn split_mixed(
    series: Vec<StepSeries>,
    ann: &mut Annotations,
) -> (Vec<StepSeries>, Vec<StepSeries>) {
    let key = |l: &Labels| l.drop_names(&["__name__", "le"]);
    let native_keys: HashSet<Labels> = series
        .iter()
        .filter(|s| !s.hpoints.is_empty())
        .map(|s| key(&s.labels))
        .collect();
    let classic_keys: HashSet<Labels> = series
        .iter()
        .filter(|s| !s.points.is_empty() && s.labels.has("le"))
        .map(|s| key(&s.labels))
        .collect();
    let mut classic = Vec::with_capacity(series.len());
    let mut native = Vec::new();
    for mut s in series {
        let k = key(&s.labels);
        if native_keys.contains(&k) && classic_keys.contains(&k) {
            ann.warn(format_args!(
                "vector contains a mix of classic and native histograms for metric name {}",
                quote_string(s.labels.metric_name())
            ));
            continue;
        }
        if !s.hpoints.is_empty() {
            native.push(StepSeries {
                labels: s.labels.clone(),
                drop_name: s.drop_name,
                points: Vec::new(),
                hpoints: std::mem::take(&mut s.hpoints),
            });
        }
        if !s.points.is_empty() {
            classic.push(s);
        }
    }
    (classic, native)
}

/// A quantile as a label value: always with a decimal point (`1.0`).
fn quantile_label(q: f64) -> String {
    let s = FloatDisplay(q).to_string();
    if q.is_finite() && !s.contains('.') {
        format!("{s}.0")
    } else {
        s
    }
}
