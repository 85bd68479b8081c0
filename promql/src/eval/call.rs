//! Function calls: dispatch to rollups, elementwise transforms and the
//! functions that need the whole vector (`absent`, `sort`, labels,
//! histograms).

use tsdb::model::{Labels, MatchOp, Sample};

use super::grid::{
    Frame, Grid, SeriesSink, StepSeries, Val, cmp_nan_last, elems_at, for_each_step, map_points,
};
use super::limits::Limits;
use super::rollup::{self, CounterResets, RangeMode, Rollup, RollupWindow};
use super::selector::{InstantValue, RangeInput, RawSeries};
use super::transform::{self, Elementwise};
use crate::ast::{Call, Expr};
use crate::error::{Error, Result};
use crate::value::Annotations;

/// Native-histogram functions: no float input gives them an output.
const HISTOGRAM_ONLY: &[&str] = &[
    "histogram_count",
    "histogram_sum",
    "histogram_avg",
    "histogram_stddev",
    "histogram_stdvar",
];

impl Grid<'_> {
    pub(crate) fn eval_call(&mut self, c: &Call) -> Result<Val> {
        let name = c.func.name;
        if let Some(f) = Rollup::from_name(name) {
            return self.call_rollup(f, c);
        }
        if let Some(f) = Elementwise::from_name(name) {
            return self.call_elementwise(f, c);
        }
        let n = self.frame.len();
        match name {
            "time" => Ok(Val::Scalar(
                self.frame.times().map(|t| t as f64 / 1000.0).collect(),
            )),
            "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
            "start" => Ok(Val::Scalar(vec![self.query.start as f64 / 1000.0; n])),
            "end" => Ok(Val::Scalar(vec![self.query.end as f64 / 1000.0; n])),
            "step" => Ok(Val::Scalar(vec![self.query.step as f64 / 1000.0; n])),
            "range" => Ok(Val::Scalar(vec![
                (self.query.end - self.query.start) as f64
                    / 1000.0;
                n
            ])),
            "min_of" | "max_of" => {
                let a = self.eval_scalar(&c.args[0])?;
                let b = self.eval_scalar(&c.args[1])?;
                let min = name == "min_of";
                Ok(Val::Scalar(
                    a.into_iter()
                        .zip(b)
                        .map(|(a, b)| match (a.is_nan() || b.is_nan(), min) {
                            (true, _) => f64::NAN,
                            (false, true) => a.min(b),
                            (false, false) => a.max(b),
                        })
                        .collect(),
                ))
            }
            "vector" => {
                let vs = self.eval_scalar(&c.args[0])?;
                let points = self
                    .frame
                    .times()
                    .zip(vs)
                    .map(|(t, v)| Sample::new(t, v))
                    .collect();
                Ok(Val::Vector(vec![StepSeries {
                    labels: Labels::empty(),
                    drop_name: false,
                    points,
                }]))
            }
            "scalar" => {
                let series = self.eval_vector(&c.args[0])?;
                let mut out = vec![f64::NAN; n];
                for_each_step(self.frame, &series, |step, _, present| {
                    if let [(_, v)] = present {
                        out[step] = *v;
                    }
                    Ok(())
                })?;
                Ok(Val::Scalar(out))
            }
            "timestamp" => {
                let mut series = match c.args[0].unparen() {
                    Expr::VectorSelector(vs) => self.select_instant(vs, InstantValue::Timestamp)?,
                    e => {
                        let mut s = self.eval_vector(e)?;
                        s.iter_mut()
                            .flat_map(|s| s.points.iter_mut())
                            .for_each(|p| p.v = p.t as f64 / 1000.0);
                        s
                    }
                };
                series.iter_mut().for_each(|s| s.drop_name = true);
                Ok(Val::Vector(series))
            }
            "start_timestamp" => {
                // Only a selector's samples have start timestamps: of any
                // other expression the result is empty.
                let mut series = match c.args[0].unparen() {
                    Expr::VectorSelector(vs) => {
                        self.select_instant(vs, InstantValue::StartTimestamp)?
                    }
                    e => {
                        self.eval_vector(e)?;
                        Vec::new()
                    }
                };
                series.iter_mut().for_each(|s| s.drop_name = true);
                Ok(Val::Vector(series))
            }
            "absent" => {
                let series = self.eval_vector(&c.args[0])?;
                let labels = absent_labels(&c.args[0]);
                let mut points = Vec::new();
                for_each_step(self.frame, &series, |_, t, present| {
                    if present.is_empty() {
                        points.push(Sample::new(t, 1.0));
                    }
                    Ok(())
                })?;
                Ok(absent_result(labels, points))
            }
            "absent_over_time" => {
                let input = self.range_input(&c.args[0])?;
                let labels = absent_labels(&c.args[0]);
                // Steps where some series has a sample in its window.
                let mut covered = vec![false; self.frame.len()];
                for s in &input.series {
                    let samples = s.load();
                    for (step, t) in self.frame.times().enumerate() {
                        let end = input.end(t);
                        let lo = samples.partition_point(|p| p.t <= end - input.range);
                        covered[step] |= samples.get(lo).is_some_and(|p| p.t <= end);
                    }
                }
                let points = self
                    .frame
                    .times()
                    .zip(covered)
                    .filter(|(_, c)| !c)
                    .map(|(t, _)| Sample::new(t, 1.0))
                    .collect();
                Ok(absent_result(labels, points))
            }
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => self.call_sort(c),
            "label_replace" | "label_join" => self.call_label(c),
            "info" => self.call_info(c),
            "histogram_quantile" | "histogram_fraction" => self.call_histogram(c),
            "histogram_quantiles" => self.call_histogram_quantiles(c),
            _ if HISTOGRAM_ONLY.contains(&name) => {
                self.eval_vector(&c.args[0])?;
                Ok(Val::Vector(Vec::new()))
            }
            _ => Err(Error::Execution(format!(
                "function {name}() is not supported"
            ))),
        }
    }

    fn call_rollup(&mut self, f: Rollup, c: &Call) -> Result<Val> {
        let m = f.matrix_arg();
        let input = self.range_input(&c.args[m])?;
        rollup::check_mode(f, input.mode)?;
        let mut args = Vec::new();
        for (i, a) in c.args.iter().enumerate() {
            if i != m {
                args.push(self.eval_scalar(a)?);
            }
        }
        let job = RollupJob {
            f,
            input: &input,
            args: &args,
            frame: self.frame,
            lookback: self.opts.lookback,
            limits: &self.limits,
        };
        // Series are independent: split them over the query's threads,
        // keeping their order.
        let threads = self
            .opts
            .parallelism
            .min(input.series.len() / MIN_SERIES_PER_THREAD)
            .max(1);
        let per = input.series.len().div_ceil(threads).max(1);
        let results: Vec<Result<(Vec<StepSeries>, Annotations)>> = if threads == 1 {
            vec![job.run(&input.series)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = input
                    .series
                    .chunks(per)
                    .map(|part| scope.spawn(move || job.run(part)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(Error::Execution(
                                "a range function evaluation panicked".into(),
                            ))
                        })
                    })
                    .collect()
            })
        };
        let mut out = Vec::with_capacity(input.series.len());
        for r in results {
            let (series, ann) = r?;
            out.extend(series);
            self.ann.merge(ann);
        }
        Ok(Val::Vector(out))
    }

    fn call_elementwise(&mut self, f: Elementwise, c: &Call) -> Result<Val> {
        let (mut series, rest) = match c.args.first() {
            Some(a) => (self.eval_vector(a)?, &c.args[1..]),
            None => {
                let points = self
                    .frame
                    .times()
                    .map(|t| Sample::new(t, t as f64 / 1000.0))
                    .collect();
                let s = StepSeries {
                    labels: Labels::empty(),
                    drop_name: false,
                    points,
                };
                (vec![s], &c.args[..0])
            }
        };
        let mut args = Vec::with_capacity(rest.len());
        for a in rest {
            args.push(self.eval_scalar(a)?);
        }
        let mut step_args = Vec::with_capacity(args.len());
        for s in &mut series {
            s.drop_name |= f.drops_name();
        }
        map_points(self.frame, &mut series, |step, v| {
            step_args.clear();
            step_args.extend(args.iter().map(|a| a[step]));
            f.apply(v, &step_args)
        });
        Ok(Val::Vector(series))
    }

    fn call_sort(&mut self, c: &Call) -> Result<Val> {
        let name = c.func.name;
        let mut series = self.eval_vector(&c.args[0])?;
        if self.query.step > 0 {
            self.ann.warn(
                "sort is ineffective for range queries since results are always ordered by labels",
            );
        }
        if self.frame.len() > 1 || self.query.step > 0 {
            return Ok(Val::Vector(series));
        }
        let value = |s: &StepSeries| s.points.first().map_or(f64::NAN, |p| p.v);
        match name {
            "sort" => series.sort_by(|a, b| cmp_nan_last(value(a), value(b), false)),
            "sort_desc" => series.sort_by(|a, b| cmp_nan_last(value(a), value(b), true)),
            _ => {
                let mut names = Vec::new();
                for a in &c.args[1..] {
                    names.push(self.eval_string(a)?);
                }
                let desc = name == "sort_by_label_desc";
                series.sort_by(|a, b| {
                    let mut ord = std::cmp::Ordering::Equal;
                    for n in &names {
                        ord = transform::natural_cmp(a.labels.get(n), b.labels.get(n));
                        if ord.is_ne() {
                            break;
                        }
                    }
                    if ord.is_eq() {
                        ord = a.labels.cmp(&b.labels);
                    }
                    if desc { ord.reverse() } else { ord }
                });
            }
        }
        Ok(Val::Vector(series))
    }

    fn call_label(&mut self, c: &Call) -> Result<Val> {
        let series = self.eval_vector(&c.args[0])?;
        let mut strs = Vec::new();
        for a in &c.args[1..] {
            strs.push(self.eval_string(a)?);
        }
        let dst = strs[0].clone();
        let replace = if c.func.name == "label_replace" {
            Some(transform::LabelReplace::new(
                &dst, &strs[1], &strs[2], &strs[3],
            )?)
        } else {
            None
        };
        let mut sink = SeriesSink::default();
        for s in series {
            // Setting the metric name undoes a pending name drop.
            let (labels, drop_name) = match &replace {
                Some(r) => match r.apply(&s.labels) {
                    Some(l) => (l, s.drop_name && !r.sets_metric_name()),
                    None => (s.labels.clone(), s.drop_name),
                },
                None => (
                    transform::label_join(&s.labels, &dst, &strs[1], &strs[2..])?,
                    s.drop_name && dst != "__name__",
                ),
            };
            for p in s.points {
                sink.push(labels.clone(), drop_name, p.t, p.v)?;
            }
        }
        Ok(Val::Vector(sink.out))
    }

    fn call_histogram(&mut self, c: &Call) -> Result<Val> {
        let quantile = c.func.name == "histogram_quantile";
        let nscalars = if quantile { 1 } else { 2 };
        let mut params = Vec::new();
        for a in &c.args[..nscalars] {
            params.push(self.eval_scalar(a)?);
        }
        let series = self.eval_vector(&c.args[nscalars])?;
        let mut sink = SeriesSink::default();
        let mut ann = std::mem::take(&mut self.ann);
        let res = for_each_step(self.frame, &series, |step, t, present| {
            let input = elems_at(&series, present);
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
        self.ann = ann;
        res?;
        Ok(Val::Vector(sink.out))
    }
}

impl Grid<'_> {
    /// `histogram_quantiles(v, "label", q1, q2, …)`: one output series per
    /// quantile, told apart by `label` (`q="0.5"`, `q="1.0"`).
    fn call_histogram_quantiles(&mut self, c: &Call) -> Result<Val> {
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
        let mut sink = SeriesSink::default();
        let mut ann = std::mem::take(&mut self.ann);
        let res = for_each_step(self.frame, &series, |step, t, present| {
            for q in &qs {
                let input = elems_at(&series, present);
                let qv = q[step];
                for e in transform::histogram_quantile(qv, input, &mut ann)? {
                    let mut b = e.labels.builder();
                    b.set(&label, &quantile_label(qv));
                    sink.push(b.build(), e.drop_name, t, e.v)?;
                }
            }
            Ok(())
        });
        self.ann = ann;
        res?;
        Ok(Val::Vector(sink.out))
    }
}

/// A quantile as a label value: always with a decimal point (`1.0`).
fn quantile_label(q: f64) -> String {
    let s = crate::value::FloatDisplay(q).to_string();
    if q.is_finite() && !s.contains('.') {
        format!("{s}.0")
    } else {
        s
    }
}

/// The labels `absent()` gives its output: the selector's equality
/// matchers except the metric name, unless a name is matched twice.
fn absent_labels(arg: &Expr) -> Labels {
    let vs = match arg.unparen() {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.selector,
        _ => return Labels::empty(),
    };
    let mut b = Labels::empty().builder();
    let mut seen: Vec<&str> = Vec::new();
    let mut dup: Vec<&str> = Vec::new();
    for m in &vs.matchers {
        if m.name == "__name__" {
            continue;
        }
        if seen.contains(&m.name.as_str()) {
            dup.push(&m.name);
        }
        seen.push(&m.name);
        if m.op == MatchOp::Equal {
            b.set(&m.name, &m.value);
        }
    }
    for d in dup {
        b.del(d);
    }
    b.build()
}

fn absent_result(labels: Labels, points: Vec<Sample>) -> Val {
    if points.is_empty() {
        return Val::Vector(Vec::new());
    }
    Val::Vector(vec![StepSeries {
        labels,
        drop_name: false,
        points,
    }])
}

/// Below this many series per thread a range function runs on one thread.
const MIN_SERIES_PER_THREAD: usize = 256;

/// A range function over some series of one range input: what each
/// thread of [`Grid::call_rollup`] runs.
#[derive(Clone, Copy)]
struct RollupJob<'a, 'q> {
    f: Rollup,
    input: &'a RangeInput,
    args: &'a [Vec<f64>],
    frame: Frame,
    lookback: i64,
    limits: &'a Limits<'q>,
}

impl RollupJob<'_, '_> {
    /// The output series of `series`, in order, with their annotations.
    fn run(&self, series: &[RawSeries]) -> Result<(Vec<StepSeries>, Annotations)> {
        let (input, f) = (self.input, self.f);
        let mut ann = Annotations::default();
        let mut out = Vec::with_capacity(series.len());
        let mut step_args = Vec::with_capacity(self.args.len());
        for s in series {
            self.limits.check("query execution")?;
            let mut points = Vec::new();
            let name = s.labels.metric_name();
            let (samples, sts) = if f.uses_start_timestamps() {
                s.load_st()
            } else {
                (s.load(), Vec::new())
            };
            self.limits.hold(samples.len(), "query execution")?;
            // Counter resets found once, not again in every step's window.
            let mut resets = (matches!(f, Rollup::Rate | Rollup::Increase)
                && input.mode == RangeMode::Plain)
                .then(|| CounterResets::of_series(&samples, &sts));
            // Windows only move forward with the steps: advance two cursors.
            let (mut lo, mut hi) = (0, 0);
            for (step, t) in self.frame.times().enumerate() {
                let end = input.end(t);
                let start = end - input.range;
                while lo < samples.len() && samples[lo].t <= start {
                    lo += 1;
                }
                hi = hi.max(lo);
                while hi < samples.len() && samples[hi].t <= end {
                    hi += 1;
                }
                let before = (input.mode != RangeMode::Plain && lo > 0)
                    .then(|| samples[lo - 1])
                    .filter(|p| p.t > start - self.lookback);
                let after = (input.mode == RangeMode::Smoothed)
                    .then(|| samples.get(hi).copied())
                    .flatten()
                    .filter(|p| p.t <= end + self.lookback);
                if lo >= hi && before.is_none() {
                    continue;
                }
                let st_at = |i: usize| sts.get(i).copied().unwrap_or(0);
                let w = RollupWindow {
                    samples: &samples[lo..hi],
                    sts: sts.get(lo..hi).unwrap_or(&[]),
                    start,
                    end,
                    before,
                    before_st: before.map_or(0, |_| st_at(lo.wrapping_sub(1))),
                    after,
                    mode: input.mode,
                    resets: resets.as_mut().map(|r| r.window(lo, hi)),
                };
                step_args.clear();
                step_args.extend(self.args.iter().map(|a| a[step]));
                if let Some(v) = rollup::eval_at(f, &w, &step_args, name, t, &mut ann)? {
                    points.push(Sample::new(t, v));
                }
            }
            self.limits.release(samples.len());
            if !points.is_empty() {
                self.limits.hold(points.len(), "query execution")?;
                out.push(StepSeries {
                    labels: s.labels.clone(),
                    drop_name: s.drop_name || f.drops_name(),
                    points,
                });
            }
        }
        Ok((out, ann))
    }
}
