//! Function calls: dispatch to rollups, elementwise transforms and the
//! functions that need the whole vector (`absent`, `sort`, labels,
//! histograms).

use tsdb::model::{Labels, MatchOp, Sample};

use super::grid::{
    Frame, Grid, SeriesSink, StepSeries, Val, cmp_nan_last, for_each_step, for_each_step_mixed,
    map_points,
};
mod quantiles;

use super::limits::Limits;
use super::rollup::{self, CounterResets, RangeMode, Rollup, RollupWindow, native};
use super::selector::{InstantValue, RangeInput, RawData, RawSeries};
use super::transform::{self, Elementwise};
use crate::ast::{Call, Expr};
use crate::error::{Error, Result};
use crate::functions::FuncId;
use crate::value::Annotations;

impl Grid<'_> {
    /// Evaluates a call: one arm per function.
    pub(crate) fn eval_call(&mut self, c: &Call) -> Result<Val> {
        use Elementwise as E;
        use FuncId as F;
        use transform::Field as T;
        let n = self.frame.len();
        match c.func.id {
            F::Rate => self.call_rollup(Rollup::Rate, c),
            F::Irate => self.call_rollup(Rollup::Irate, c),
            F::Increase => self.call_rollup(Rollup::Increase, c),
            F::Delta => self.call_rollup(Rollup::Delta, c),
            F::Idelta => self.call_rollup(Rollup::Idelta, c),
            F::Deriv => self.call_rollup(Rollup::Deriv, c),
            F::PredictLinear => self.call_rollup(Rollup::PredictLinear, c),
            F::DoubleExponentialSmoothing => {
                self.call_rollup(Rollup::DoubleExponentialSmoothing, c)
            }
            F::AvgOverTime => self.call_rollup(Rollup::AvgOverTime, c),
            F::SumOverTime => self.call_rollup(Rollup::SumOverTime, c),
            F::MinOverTime => self.call_rollup(Rollup::MinOverTime, c),
            F::MaxOverTime => self.call_rollup(Rollup::MaxOverTime, c),
            F::CountOverTime => self.call_rollup(Rollup::CountOverTime, c),
            F::StddevOverTime => self.call_rollup(Rollup::StddevOverTime, c),
            F::StdvarOverTime => self.call_rollup(Rollup::StdvarOverTime, c),
            F::LastOverTime => self.call_rollup(Rollup::LastOverTime, c),
            F::FirstOverTime => self.call_rollup(Rollup::FirstOverTime, c),
            F::PresentOverTime => self.call_rollup(Rollup::PresentOverTime, c),
            F::MadOverTime => self.call_rollup(Rollup::MadOverTime, c),
            F::QuantileOverTime => self.call_rollup(Rollup::QuantileOverTime, c),
            F::TsOfMinOverTime => self.call_rollup(Rollup::TsOfMinOverTime, c),
            F::TsOfMaxOverTime => self.call_rollup(Rollup::TsOfMaxOverTime, c),
            F::TsOfLastOverTime => self.call_rollup(Rollup::TsOfLastOverTime, c),
            F::TsOfFirstOverTime => self.call_rollup(Rollup::TsOfFirstOverTime, c),
            F::Changes => self.call_rollup(Rollup::Changes, c),
            F::Resets => self.call_rollup(Rollup::Resets, c),
            F::Abs => self.call_elementwise(E::Abs, c),
            F::Ceil => self.call_elementwise(E::Ceil, c),
            F::Floor => self.call_elementwise(E::Floor, c),
            F::Exp => self.call_elementwise(E::Exp, c),
            F::Ln => self.call_elementwise(E::Ln, c),
            F::Log2 => self.call_elementwise(E::Log2, c),
            F::Log10 => self.call_elementwise(E::Log10, c),
            F::Sqrt => self.call_elementwise(E::Sqrt, c),
            F::Sgn => self.call_elementwise(E::Sgn, c),
            F::Round => self.call_elementwise(E::Round, c),
            F::Clamp => self.call_elementwise(E::Clamp, c),
            F::ClampMin => self.call_elementwise(E::ClampMin, c),
            F::ClampMax => self.call_elementwise(E::ClampMax, c),
            F::Deg => self.call_elementwise(E::Deg, c),
            F::Rad => self.call_elementwise(E::Rad, c),
            F::Sin => self.call_elementwise(E::Sin, c),
            F::Cos => self.call_elementwise(E::Cos, c),
            F::Tan => self.call_elementwise(E::Tan, c),
            F::Asin => self.call_elementwise(E::Asin, c),
            F::Acos => self.call_elementwise(E::Acos, c),
            F::Atan => self.call_elementwise(E::Atan, c),
            F::Sinh => self.call_elementwise(E::Sinh, c),
            F::Cosh => self.call_elementwise(E::Cosh, c),
            F::Tanh => self.call_elementwise(E::Tanh, c),
            F::Asinh => self.call_elementwise(E::Asinh, c),
            F::Acosh => self.call_elementwise(E::Acosh, c),
            F::Atanh => self.call_elementwise(E::Atanh, c),
            F::DayOfMonth => self.call_elementwise(E::Time(T::DayOfMonth), c),
            F::DayOfWeek => self.call_elementwise(E::Time(T::DayOfWeek), c),
            F::DayOfYear => self.call_elementwise(E::Time(T::DayOfYear), c),
            F::DaysInMonth => self.call_elementwise(E::Time(T::DaysInMonth), c),
            F::Hour => self.call_elementwise(E::Time(T::Hour), c),
            F::Minute => self.call_elementwise(E::Time(T::Minute), c),
            F::Month => self.call_elementwise(E::Time(T::Month), c),
            F::Year => self.call_elementwise(E::Time(T::Year), c),
            F::Time => Ok(Val::Scalar(
                self.frame.times().map(|t| t as f64 / 1000.0).collect(),
            )),
            F::Pi => Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
            F::Start => Ok(Val::Scalar(vec![self.query.start as f64 / 1000.0; n])),
            F::End => Ok(Val::Scalar(vec![self.query.end as f64 / 1000.0; n])),
            F::Step => Ok(Val::Scalar(vec![self.query.step as f64 / 1000.0; n])),
            F::Range => Ok(Val::Scalar(vec![
                (self.query.end - self.query.start) as f64
                    / 1000.0;
                n
            ])),
            F::MinOf | F::MaxOf => {
                let a = self.eval_scalar(&c.args[0])?;
                let b = self.eval_scalar(&c.args[1])?;
                let min = c.func.id == F::MinOf;
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
            F::Vector => {
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
                    hpoints: Vec::new(),
                }]))
            }
            F::Scalar => {
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
            F::Timestamp => {
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
            F::StartTimestamp => {
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
            F::Absent => {
                let series = self.eval_vector(&c.args[0])?;
                let labels = absent_labels(&c.args[0]);
                let mut points = Vec::new();
                for_each_step_mixed(self.frame, &series, |_, t, present| {
                    if present.is_empty() {
                        points.push(Sample::new(t, 1.0));
                    }
                    Ok(())
                })?;
                Ok(absent_result(labels, points))
            }
            F::AbsentOverTime => {
                let input = self.range_input(&c.args[0])?;
                let labels = absent_labels(&c.args[0]);
                // Steps where some series has a sample in its window.
                let mut covered = vec![false; self.frame.len()];
                for s in &input.series {
                    let (samples, _, hists) = s.load_all();
                    let times: Vec<i64> = if hists.is_empty() {
                        samples.iter().map(|p| p.t).collect()
                    } else {
                        let mut all: Vec<i64> = samples.iter().map(|p| p.t).collect();
                        all.extend(hists.iter().map(|h| h.t));
                        all.sort_unstable();
                        all
                    };
                    for (step, t) in self.frame.times().enumerate() {
                        let end = input.end(t);
                        let lo = times.partition_point(|&x| x <= end - input.range);
                        covered[step] |= times.get(lo).is_some_and(|&x| x <= end);
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
            F::Sort | F::SortDesc | F::SortByLabel | F::SortByLabelDesc => self.call_sort(c),
            F::LabelReplace | F::LabelJoin => self.call_label(c),
            F::Info => self.call_info(c),
            F::HistogramQuantile | F::HistogramFraction => self.call_histogram(c),
            F::HistogramQuantiles => self.call_histogram_quantiles(c),
            // Native-histogram functions: float input gives no output.
            F::HistogramCount
            | F::HistogramSum
            | F::HistogramAvg
            | F::HistogramStddev
            | F::HistogramStdvar => {
                let series = self.eval_vector(&c.args[0])?;
                let f = |h: &tsdb::model::histogram::FloatHistogram| match c.func.id {
                    F::HistogramCount => h.count,
                    F::HistogramSum => h.sum,
                    F::HistogramAvg => h.sum / h.count,
                    F::HistogramStddev => transform::native::stdvar(h).sqrt(),
                    _ => transform::native::stdvar(h),
                };
                Ok(Val::Vector(
                    series
                        .into_iter()
                        .filter(|s| !s.hpoints.is_empty())
                        .map(|s| {
                            let points = s.hpoints.iter().map(|p| Sample::new(p.t, f(&p.h)));
                            StepSeries::floats(s.labels, true, points.collect())
                        })
                        .collect(),
                ))
            }
        }
    }

    fn call_rollup(&mut self, f: Rollup, c: &Call) -> Result<Val> {
        let m = f.matrix_arg();
        let tiered = match c.args[m].unparen() {
            Expr::MatrixSelector(ms) => self.tier_input(f, &ms.selector, &ms.range)?,
            _ => None,
        };
        let input = match tiered {
            Some(input) => input,
            None => self.range_input(&c.args[m])?,
        };
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
                    hpoints: Vec::new(),
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
        let mut series = self.eval_vector(&c.args[0])?;
        if self.query.step > 0 {
            self.ann.warn(
                "sort is ineffective for range queries since results are always ordered by labels",
            );
        }
        if self.frame.len() > 1 || self.query.step > 0 {
            return Ok(Val::Vector(series));
        }
        if matches!(c.func.id, FuncId::Sort | FuncId::SortDesc) {
            // Histograms have no order by value: they are left out.
            series.iter_mut().for_each(|s| s.hpoints.clear());
            series.retain(|s| !s.is_empty());
        }
        let value = |s: &StepSeries| s.points.first().map_or(f64::NAN, |p| p.v);
        match c.func.id {
            FuncId::Sort => series.sort_by(|a, b| cmp_nan_last(value(a), value(b), false)),
            FuncId::SortDesc => series.sort_by(|a, b| cmp_nan_last(value(a), value(b), true)),
            _ => {
                let mut names = Vec::new();
                for a in &c.args[1..] {
                    names.push(self.eval_string(a)?);
                }
                let desc = c.func.id == FuncId::SortByLabelDesc;
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
        let replace = if c.func.id == FuncId::LabelReplace {
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
        hpoints: Vec::new(),
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
    /// An `anchored`/`smoothed` window that involves histograms (in the
    /// window or as the samples around it): `Some` with its result.
    #[allow(clippy::too_many_arguments)]
    fn extended_native(
        &self,
        f: Rollup,
        samples: &[Sample],
        hists: &[tsdb::model::HistogramSample],
        (lo, hi, hlo, hhi): (usize, usize, usize, usize),
        (start, end): (i64, i64),
        name: &str,
        ann: &mut Annotations,
    ) -> Option<Option<native::Out>> {
        use rollup::native_ext::{ExtWindow, Near};
        let mode = self.input.mode;
        let fb = (lo > 0).then(|| Near::Float(samples[lo - 1]));
        let hb = (hlo > 0).then(|| Near::Hist(&hists[hlo - 1]));
        let before = [fb, hb]
            .into_iter()
            .flatten()
            .max_by_key(Near::t)
            .filter(|b| b.t() > start - self.lookback);
        let (fa, ha) = if mode == RangeMode::Smoothed {
            (
                samples.get(hi).map(|s| Near::Float(*s)),
                hists.get(hhi).map(Near::Hist),
            )
        } else {
            (None, None)
        };
        let after = [fa, ha]
            .into_iter()
            .flatten()
            .min_by_key(Near::t)
            .filter(|a| a.t() <= end + self.lookback);
        let involved = hlo < hhi
            || matches!(before, Some(Near::Hist(_)))
            || matches!(after, Some(Near::Hist(_)));
        if !involved {
            return None;
        }
        let w = ExtWindow {
            floats: &samples[lo..hi],
            hists: &hists[hlo..hhi],
            before,
            after,
            start,
            end,
            mode,
        };
        Some(rollup::native_ext::eval(f, &w, name, ann))
    }

    /// The output series of `series`, in order, with their annotations.
    fn run(&self, series: &[RawSeries]) -> Result<(Vec<StepSeries>, Annotations)> {
        let (input, f) = (self.input, self.f);
        let mut ann = Annotations::default();
        let mut out = Vec::with_capacity(series.len());
        let mut step_args = Vec::with_capacity(self.args.len());
        let mut tier_bufs = super::tiered::TierBuffers::default();
        for s in series {
            self.limits.check("query execution")?;
            let mut points = Vec::new();
            let mut hpoints = Vec::new();
            let name = s.labels.metric_name();
            if let RawData::Tiered(data) = &s.data {
                let windows = self.frame.times().map(|t| (t, input.end(t)));
                let (points, hpoints) = data.eval(
                    f,
                    input.range,
                    windows,
                    self.args,
                    name,
                    &mut ann,
                    &mut tier_bufs,
                );
                let series = StepSeries {
                    labels: s.labels.clone(),
                    drop_name: s.drop_name || f.drops_name(),
                    points,
                    hpoints,
                };
                if !series.is_empty() {
                    let n = series.points.len() + series.hpoints.len();
                    self.limits.hold(n, "query execution")?;
                    out.push(series);
                }
                continue;
            }
            let (samples, sts, hists) = s.load_all();
            let sts = if f.uses_start_timestamps() {
                sts
            } else {
                Vec::new()
            };
            let native = !hists.is_empty()
                && native::handles_histograms(f)
                && input.mode == RangeMode::Plain;
            let (mut hlo, mut hhi) = (0, 0);
            self.limits
                .hold(samples.len() + hists.len(), "query execution")?;
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
                if !hists.is_empty() {
                    while hlo < hists.len() && hists[hlo].t <= start {
                        hlo += 1;
                    }
                    hhi = hhi.max(hlo);
                    while hhi < hists.len() && hists[hhi].t <= end {
                        hhi += 1;
                    }
                    if !native && hlo < hhi && lo < hi {
                        ann.info(format_args!(
                            "ignored histograms in a range containing both floats and histograms for metric name {}",
                            crate::ast::quote_string(name)
                        ));
                    }
                    if input.mode != RangeMode::Plain
                        && let Some(out) = self.extended_native(
                            f,
                            &samples,
                            &hists,
                            (lo, hi, hlo, hhi),
                            (start, end),
                            name,
                            &mut ann,
                        )
                    {
                        match out {
                            Some(native::Out::Float(v)) => points.push(Sample::new(t, v)),
                            Some(native::Out::Hist(h)) => hpoints.push(native::point(t, h)),
                            None => {}
                        }
                        continue;
                    }
                    if native && hlo < hhi {
                        let (fw, hw) = (&samples[lo..hi], &hists[hlo..hhi]);
                        match native::eval(f, fw, hw, start, end, name, &mut ann) {
                            Some(native::Out::Float(v)) => points.push(Sample::new(t, v)),
                            Some(native::Out::Hist(h)) => hpoints.push(native::point(t, h)),
                            None => {}
                        }
                        continue;
                    }
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
            self.limits.release(samples.len() + hists.len());
            if !points.is_empty() || !hpoints.is_empty() {
                self.limits
                    .hold(points.len() + hpoints.len(), "query execution")?;
                out.push(StepSeries {
                    labels: s.labels.clone(),
                    drop_name: s.drop_name || f.drops_name(),
                    points,
                    hpoints,
                });
            }
        }
        Ok((out, ann))
    }
}
