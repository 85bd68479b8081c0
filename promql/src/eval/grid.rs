//! Per-query state and the values that flow between expression nodes.

use std::time::Instant;

use std::sync::Arc;

use tsdb::model::histogram::FloatHistogram;
use tsdb::model::{HistogramSample, Labels, Queryable, Sample};

use super::EngineOptions;
use super::limits::Limits;
use crate::ast::{AtModifier, Expr};
use crate::error::{Error, Result};
use crate::value::{Annotations, RangeSeries, Scalar, Value, VectorSample};

/// One series' value at one step, inside the evaluator.
///
/// `drop_name` is Prometheus 3's delayed `__name__` removal: functions and
/// operators that drop the metric name only mark the element; the name is
/// removed when the result leaves the engine (and where an aggregation or
/// a set of labels needs it gone), so that `label_replace` and `__name__`
/// matching can still see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Elem {
    pub labels: Labels,
    pub v: f64,
    pub drop_name: bool,
}

/// A series on the step grid: `points[i].t` and `hpoints[i].t` are step
/// times; a step has a float point or a histogram point, not both.
///
/// Float-only functions and operators work on `points` and leave
/// histogram points out of their results (as Prometheus does); the ones
/// Prometheus defines for histograms handle `hpoints` too.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StepSeries {
    pub labels: Labels,
    pub drop_name: bool,
    pub points: Vec<Sample>,
    pub hpoints: Vec<HistogramSample>,
}

impl StepSeries {
    /// A series of float points.
    pub fn floats(labels: Labels, drop_name: bool, points: Vec<Sample>) -> StepSeries {
        StepSeries {
            labels,
            drop_name,
            points,
            hpoints: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty() && self.hpoints.is_empty()
    }
}

/// A histogram point at `t`.
pub(crate) fn hpoint(t: i64, h: FloatHistogram) -> HistogramSample {
    HistogramSample {
        t,
        st: 0,
        h: Arc::new(h),
    }
}

/// A range vector at one evaluation time (raw samples, stale ones
/// removed): float samples and histogram samples.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Window {
    pub labels: Labels,
    pub drop_name: bool,
    pub samples: Vec<Sample>,
    pub hists: Vec<HistogramSample>,
}

/// The value of an expression node over the whole grid.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    /// One value per step.
    Scalar(Vec<f64>),
    String(String),
    /// An instant vector at every step.
    Vector(Vec<StepSeries>),
    /// A range vector; only for instant evaluation (one step).
    Matrix(Vec<Window>),
}

/// The step grid of the node being evaluated. Subqueries evaluate their
/// inner expression on a grid of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame {
    pub start: i64,
    pub end: i64,
    /// 0 only for a one-step grid.
    pub step: i64,
}

impl Frame {
    pub fn len(&self) -> usize {
        if self.step <= 0 || self.end < self.start {
            1
        } else {
            ((self.end - self.start) / self.step) as usize + 1
        }
    }

    pub fn time(&self, i: usize) -> i64 {
        self.start + self.step.max(0) * i as i64
    }

    pub fn times(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.time(i))
    }

    /// The index of step time `t`, if `t` is on the grid.
    pub fn index(&self, t: i64) -> usize {
        if self.step <= 0 {
            0
        } else {
            ((t - self.start) / self.step) as usize
        }
    }
}

/// Everything one query's evaluation needs.
pub(crate) struct Grid<'q> {
    pub opts: &'q EngineOptions,
    pub storage: &'q dyn Queryable,
    /// The query's own grid (for `@ start()`/`@ end()`, `step()`, `range()`).
    pub query: Frame,
    /// The grid of the node being evaluated.
    pub frame: Frame,
    pub limits: Limits<'q>,
    pub ann: Annotations,
    /// Addresses of the query's selectors read statistics-only
    /// ([`super::hints::statistics_only`]).
    pub statistics_only: std::collections::HashSet<usize>,
    /// Resolutions of the downsampling tiers read so far.
    pub tiers_used: std::collections::BTreeSet<i64>,
}

impl<'q> Grid<'q> {
    pub fn new(
        opts: &'q EngineOptions,
        storage: &'q dyn Queryable,
        start: i64,
        end: i64,
        step: i64,
        deadline: Option<Instant>,
    ) -> Self {
        let frame = Frame {
            start,
            end,
            step: if start == end { 0 } else { step },
        };
        Grid {
            opts,
            storage,
            query: Frame { step, ..frame },
            frame,
            limits: Limits::new(opts, deadline),
            ann: Annotations::default(),
            statistics_only: Default::default(),
            tiers_used: Default::default(),
        }
    }

    /// How the selector `vs` of the query reads histogram hints.
    pub fn hint_view(&self, vs: &crate::ast::VectorSelector) -> super::hints::HintView {
        if self
            .statistics_only
            .contains(&(vs as *const crate::ast::VectorSelector as usize))
        {
            super::hints::HintView::Detected
        } else {
            super::hints::HintView::Stored
        }
    }

    pub fn into_annotations(self) -> Annotations {
        self.ann
    }

    /// See [`Limits::check`].
    pub fn check(&self, stage: &'static str) -> Result<()> {
        self.limits.check(stage)
    }

    /// See [`Limits::hold`].
    pub fn hold(&self, n: usize, stage: &'static str) -> Result<()> {
        self.limits.hold(n, stage)
    }

    /// See [`Limits::release`].
    pub fn release(&self, n: usize) {
        self.limits.release(n)
    }

    /// The fixed evaluation time an `@` modifier asks for, in ms.
    pub fn at_time(&self, at: &AtModifier) -> i64 {
        match at {
            AtModifier::Timestamp(t) => *t,
            AtModifier::Start => self.query.start,
            AtModifier::End => self.query.end,
        }
    }

    /// Seconds of the query's step and range, for duration expressions.
    pub fn step_and_range_secs(&self) -> (f64, f64) {
        (
            self.query.step as f64 / 1000.0,
            (self.query.end - self.query.start) as f64 / 1000.0,
        )
    }

    /// Evaluates the whole query and converts to the API value.
    pub fn run(&mut self, expr: &Expr) -> Result<Value> {
        let range_query = self.query.start != self.query.end || self.query.step > 0;
        self.statistics_only = super::hints::statistics_only(expr)
            .into_iter()
            .map(|p| p as usize)
            .collect();
        let val = self.eval(expr)?;
        let frame = self.frame;
        if range_query && matches!(val, Val::Matrix(_) | Val::String(_)) {
            return Err(Error::Execution(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                super::node::val_type(&val)
            )));
        }
        match val {
            Val::Scalar(vs) => {
                if range_query {
                    let samples = frame
                        .times()
                        .zip(vs)
                        .map(|(t, v)| Sample::new(t, v))
                        .collect();
                    Ok(Value::Matrix(vec![RangeSeries {
                        labels: Labels::empty(),
                        samples,
                        histograms: Vec::new(),
                    }]))
                } else {
                    Ok(Value::Scalar(Scalar {
                        t: frame.start,
                        v: vs.first().copied().unwrap_or(f64::NAN),
                    }))
                }
            }
            Val::String(s) => Ok(Value::String {
                t: frame.start,
                v: s,
            }),
            Val::Vector(series) => {
                let series = finish_names(series)?;
                if range_query {
                    let mut m: Vec<RangeSeries> = series
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .map(|s| RangeSeries {
                            labels: s.labels,
                            samples: s.points,
                            histograms: s.hpoints,
                        })
                        .collect();
                    m.sort_by(|a, b| a.labels.cmp(&b.labels));
                    Ok(Value::Matrix(m))
                } else {
                    Ok(Value::Vector(
                        series
                            .into_iter()
                            .filter_map(|s| match (s.points.first(), s.hpoints.first()) {
                                (Some(p), _) => Some(VectorSample {
                                    labels: s.labels,
                                    t: p.t,
                                    v: p.v,
                                    h: None,
                                }),
                                (None, Some(h)) => Some(VectorSample {
                                    labels: s.labels,
                                    t: h.t,
                                    v: 0.0,
                                    h: Some(h.h.clone()),
                                }),
                                (None, None) => None,
                            })
                            .collect(),
                    ))
                }
            }
            Val::Matrix(ws) => {
                let steps: Vec<StepSeries> = ws
                    .into_iter()
                    .map(|w| StepSeries {
                        labels: w.labels,
                        drop_name: w.drop_name,
                        points: w.samples,
                        hpoints: w.hists,
                    })
                    .collect();
                let mut m: Vec<RangeSeries> = finish_names(steps)?
                    .into_iter()
                    .map(|s| RangeSeries {
                        labels: s.labels,
                        samples: s.points,
                        histograms: s.hpoints,
                    })
                    .collect();
                m.sort_by(|a, b| a.labels.cmp(&b.labels));
                Ok(Value::Matrix(m))
            }
        }
    }
}

/// Drops the metric name (and `__type__`/`__unit__`) of the series marked
/// for it and merges what became equal: series with the same labels may
/// not both have a point at one step.
pub(crate) fn finish_names(series: Vec<StepSeries>) -> Result<Vec<StepSeries>> {
    if !series.iter().any(|s| s.drop_name) {
        return Ok(series);
    }
    let mut out: Vec<StepSeries> = Vec::with_capacity(series.len());
    let mut index: std::collections::HashMap<Labels, usize> = Default::default();
    for mut s in series {
        if s.drop_name {
            s.labels = drop_metric_name(&s.labels);
            s.drop_name = false;
        }
        match index.get(&s.labels) {
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
            Some(&i) => {
                let same = || {
                    Error::Execution("vector cannot contain metrics with the same labelset".into())
                };
                let merged = merge_points(&out[i].points, &s.points).ok_or_else(same)?;
                out[i].points = merged;
                let mut hs = std::mem::take(&mut out[i].hpoints);
                hs.extend(s.hpoints);
                hs.sort_by_key(|h| h.t);
                let clash = hs.windows(2).any(|w| w[0].t == w[1].t)
                    || hs
                        .iter()
                        .any(|h| out[i].points.binary_search_by_key(&h.t, |p| p.t).is_ok());
                if clash {
                    return Err(same());
                }
                out[i].hpoints = hs;
            }
        }
    }
    Ok(out)
}

/// Merges two sorted point lists; `None` when both have a point at one time.
pub(crate) fn merge_points(a: &[Sample], b: &[Sample]) -> Option<Vec<Sample>> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].t.cmp(&b[j].t) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => return None,
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    Some(out)
}

/// `labels` without `__name__`, `__type__` and `__unit__`.
pub(crate) fn drop_metric_name(labels: &Labels) -> Labels {
    if !labels
        .iter()
        .any(|l| matches!(&*l.name, "__name__" | "__type__" | "__unit__"))
    {
        return labels.clone();
    }
    labels.drop_names(&["__name__", "__type__", "__unit__"])
}

/// Collects per-step outputs into series keyed by labels.
#[derive(Default)]
pub(crate) struct SeriesSink {
    index: std::collections::HashMap<Labels, usize>,
    pub out: Vec<StepSeries>,
}

impl SeriesSink {
    /// Adds the point `(t, v)` to the series `labels` and returns the
    /// series' index in `out`. Points must come in step order; a second
    /// point at one step is Prometheus's duplicate labelset error.
    pub fn push(&mut self, labels: Labels, drop_name: bool, t: i64, v: f64) -> Result<usize> {
        match self.index.get(&labels) {
            Some(&i) => {
                self.push_at(i, t, v)?;
                Ok(i)
            }
            None => {
                let i = self.out.len();
                self.index.insert(labels.clone(), i);
                self.out.push(StepSeries::floats(
                    labels,
                    drop_name,
                    vec![Sample::new(t, v)],
                ));
                Ok(i)
            }
        }
    }

    /// [`push`](Self::push) for a sample of either kind; a second sample
    /// of either kind at one step is the duplicate labelset error.
    pub fn push_point(&mut self, labels: &Labels, drop_name: bool, t: i64, p: Point) -> Result<()> {
        let i = match self.index.get(labels) {
            Some(&i) => i,
            None => {
                self.index.insert(labels.clone(), self.out.len());
                self.out
                    .push(StepSeries::floats(labels.clone(), drop_name, Vec::new()));
                self.out.len() - 1
            }
        };
        let s = &mut self.out[i];
        let last = s
            .points
            .last()
            .map(|p| p.t)
            .max(s.hpoints.last().map(|p| p.t));
        if last == Some(t) {
            return Err(Error::Execution(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
        match p {
            Point::Float(v) => s.points.push(Sample::new(t, v)),
            Point::Hist(h) => s.hpoints.push(HistogramSample { t, st: 0, h }),
        }
        Ok(())
    }

    /// Adds a point to the series at index `i` (as returned by `push`).
    pub fn push_at(&mut self, i: usize, t: i64, v: f64) -> Result<()> {
        let s = &mut self.out[i];
        if s.points.last().is_some_and(|p| p.t == t) {
            return Err(Error::Execution(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
        s.points.push(Sample::new(t, v));
        Ok(())
    }
}

/// Calls `f(step, t, present)` for every step of `frame`, with the
/// `(series index, value)` of every series that has a point there, in
/// series order.
pub(crate) fn for_each_step(
    frame: Frame,
    series: &[StepSeries],
    mut f: impl FnMut(usize, i64, &[(usize, f64)]) -> Result<()>,
) -> Result<()> {
    let mut cursors = vec![0usize; series.len()];
    let mut present = Vec::with_capacity(series.len());
    for (step, t) in frame.times().enumerate() {
        present.clear();
        for (i, s) in series.iter().enumerate() {
            let c = &mut cursors[i];
            while *c < s.points.len() && s.points[*c].t < t {
                *c += 1;
            }
            if let Some(p) = s.points.get(*c)
                && p.t == t
            {
                present.push((i, p.v));
            }
        }
        f(step, t, &present)?;
    }
    Ok(())
}

/// One series' sample at one step.
#[derive(Clone)]
pub(crate) enum Point {
    Float(f64),
    Hist(Arc<FloatHistogram>),
}

/// [`for_each_step`] over samples of both kinds: `present` holds the
/// float or histogram sample of every series that has one at the step.
pub(crate) fn for_each_step_mixed(
    frame: Frame,
    series: &[StepSeries],
    mut f: impl FnMut(usize, i64, &[(usize, Point)]) -> Result<()>,
) -> Result<()> {
    let mut cursors = vec![(0usize, 0usize); series.len()];
    let mut present = Vec::with_capacity(series.len());
    for (step, t) in frame.times().enumerate() {
        present.clear();
        for (i, s) in series.iter().enumerate() {
            let (fc, hc) = &mut cursors[i];
            while *fc < s.points.len() && s.points[*fc].t < t {
                *fc += 1;
            }
            while *hc < s.hpoints.len() && s.hpoints[*hc].t < t {
                *hc += 1;
            }
            if let Some(p) = s.points.get(*fc).filter(|p| p.t == t) {
                present.push((i, Point::Float(p.v)));
            } else if let Some(p) = s.hpoints.get(*hc).filter(|p| p.t == t) {
                present.push((i, Point::Hist(p.h.clone())));
            }
        }
        f(step, t, &present)?;
    }
    Ok(())
}

/// Rewrites every float point's value with `f(step, value)`, dropping the
/// points where it gives `None`, every histogram point (a float function's
/// result has none) and the series left without points.
pub(crate) fn map_points(
    frame: Frame,
    series: &mut Vec<StepSeries>,
    mut f: impl FnMut(usize, f64) -> Option<f64>,
) {
    for s in series.iter_mut() {
        s.hpoints.clear();
        s.points.retain_mut(|p| match f(frame.index(p.t), p.v) {
            Some(v) => {
                p.v = v;
                true
            }
            None => false,
        });
    }
    series.retain(|s| !s.points.is_empty());
}

/// The elements of one step, as `for_each_step` presents them.
pub(crate) fn elems_at(series: &[StepSeries], present: &[(usize, f64)]) -> Vec<Elem> {
    present
        .iter()
        .map(|&(i, v)| Elem {
            labels: series[i].labels.clone(),
            v,
            drop_name: series[i].drop_name,
        })
        .collect()
}

/// Orders values ascending (or descending), with NaN last either way: the
/// order of `sort`, `sort_desc`, `topk` and `bottomk`.
pub(crate) fn cmp_nan_last(a: f64, b: f64, desc: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ if desc => b.partial_cmp(&a).unwrap_or(Equal),
        _ => a.partial_cmp(&b).unwrap_or(Equal),
    }
}
