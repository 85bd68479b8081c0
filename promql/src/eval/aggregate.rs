//! Aggregation operators, evaluated step by step over groups of series.

use std::collections::HashMap;

pub(crate) mod dense;
mod native;
mod select;

use tsdb::model::Labels;

use super::grid::{
    Grid, SeriesSink, StepSeries, Val, cmp_nan_last, drop_metric_name, for_each_step,
};
use super::stats::{GoFloat, KahanSum, Mean, Variance, quantile};
use crate::ast::{Aggregate, AggregateOp};
use crate::error::{Error, Result};
use crate::value::FloatDisplay;

/// Running state of one group at one step.
#[derive(Debug, Clone)]
struct Acc {
    labels: Labels,
    count: usize,
    sum: KahanSum,
    mean: Mean,
    var: Variance,
    min: f64,
    max: f64,
    values: Vec<f64>,
    members: Vec<(usize, f64)>,
    /// Some member's metric name removal is pending (see `group_key`).
    drop_name: bool,
}

impl Acc {
    fn new(labels: Labels) -> Self {
        Acc {
            labels,
            count: 0,
            sum: KahanSum::default(),
            mean: Mean::new(),
            var: Variance::new(),
            min: f64::NAN,
            max: f64::NAN,
            values: Vec::new(),
            members: Vec::new(),
            drop_name: false,
        }
    }

    fn add(&mut self, op: AggregateOp, v: f64) {
        self.count += 1;
        match op {
            AggregateOp::Sum => self.sum.add(v),
            AggregateOp::Avg => self.mean.add(v),
            AggregateOp::Stddev | AggregateOp::Stdvar => self.var.add(v),
            AggregateOp::Min if self.min.is_nan() || v < self.min => self.min = v,
            AggregateOp::Max if self.max.is_nan() || v > self.max => self.max = v,
            _ => {}
        }
    }
}

impl Grid<'_> {
    pub(crate) fn eval_aggregate(&mut self, a: &Aggregate) -> Result<Val> {
        let param = match &a.param {
            Some(p) if a.op == AggregateOp::CountValues => Param::Label(self.eval_string(p)?),
            Some(p) => Param::Scalars(self.eval_scalar(p)?),
            None => Param::None,
        };
        if let Param::Scalars(ps) = &param {
            for &p in ps {
                match a.op {
                    AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::Limitk => {
                        k_param(p)?;
                    }
                    AggregateOp::LimitRatio if p.is_nan() => {
                        return Err(Error::Execution("Ratio value is NaN".into()));
                    }
                    _ => {}
                }
            }
        }
        let mut series = self.eval_vector(&a.expr)?;
        let has_histograms = series.iter().any(|s| !s.hpoints.is_empty());
        {
            let out = match (&param, a.op) {
                (Param::Scalars(ps), AggregateOp::Limitk | AggregateOp::LimitRatio)
                    if has_histograms =>
                {
                    Some(select::limit(a, self.frame, &series, ps, &mut self.ann)?)
                }
                (Param::Label(l), AggregateOp::CountValues) => {
                    if !valid_label_name(l) {
                        return Err(Error::Execution(format!("invalid label name {l:?}")));
                    }
                    Some(select::count_values(a, self.frame, &series, l)?)
                }
                _ => None,
            };
            if let Some(out) = out {
                let points: usize = out.iter().map(|s| s.points.len() + s.hpoints.len()).sum();
                self.hold(points, "query execution")?;
                return Ok(Val::Vector(out));
            }
        }
        if has_histograms && native::ignores(a.op) {
            self.ann.info(format_args!(
                "ignored histogram in {} aggregation",
                a.op.as_str()
            ));
            series.iter_mut().for_each(|s| s.hpoints.clear());
            series.retain(|s| !s.points.is_empty());
        }
        if let Param::Label(l) = &param
            && !valid_label_name(l)
        {
            return Err(Error::Execution(format!("invalid label name {l:?}")));
        }
        // Group keys per series, computed once.
        let (keys, drops): (Vec<Labels>, Vec<bool>) =
            series.iter().map(|s| group_key(a, s)).unzip();
        // Group ids, resolved once per series rather than once per step.
        let mut ids: HashMap<&Labels, usize> = HashMap::new();
        let group_of: Vec<usize> = keys
            .iter()
            .map(|k| {
                let n = ids.len();
                *ids.entry(k).or_insert(n)
            })
            .collect();
        if has_histograms && !native::ignores(a.op) {
            let mut ann = std::mem::take(&mut self.ann);
            let groups = native::Groups {
                of: &group_of,
                keys: &keys,
                drops: &drops,
                n: ids.len(),
            };
            let out = native::aggregate(a.op, self.frame, &series, &groups, &mut ann);
            self.ann = ann;
            let out = out?;
            let points: usize = out.iter().map(|s| s.points.len() + s.hpoints.len()).sum();
            self.hold(points, "query execution")?;
            return Ok(Val::Vector(out));
        }
        if dense::applies(a.op, ids.len(), self.frame) {
            let out = dense::aggregate(
                a.op,
                self.frame,
                &series,
                &group_of,
                &keys,
                &drops,
                ids.len(),
            );
            let points: usize = out.iter().map(|s| s.points.len()).sum();
            self.hold(points, "query execution")?;
            return Ok(Val::Vector(out));
        }
        let mut slot: Vec<usize> = vec![usize::MAX; ids.len()];
        let mut sink = SeriesSink::default();
        let mut ordered: Vec<StepSeries> = Vec::new();
        let frame = self.frame;
        let mut ann = std::mem::take(&mut self.ann);
        let res = for_each_step(frame, &series, |step, t, present| {
            let mut groups: Vec<Acc> = Vec::new();
            for &(i, v) in present {
                let g = group_of[i];
                if slot[g] == usize::MAX {
                    slot[g] = groups.len();
                    groups.push(Acc::new(keys[i].clone()));
                }
                let acc = &mut groups[slot[g]];
                acc.drop_name |= drops[i];
                match a.op {
                    AggregateOp::Topk
                    | AggregateOp::Bottomk
                    | AggregateOp::Limitk
                    | AggregateOp::LimitRatio => acc.members.push((i, v)),
                    AggregateOp::Quantile => acc.values.push(v),
                    op => acc.add(op, v),
                }
            }
            for &(i, _) in present {
                slot[group_of[i]] = usize::MAX;
            }
            let p = match &param {
                Param::Scalars(p) => p[step],
                _ => f64::NAN,
            };
            for acc in groups {
                let v = match a.op {
                    AggregateOp::Sum => acc.sum.value(),
                    AggregateOp::Avg => acc.mean.value(),
                    AggregateOp::Count => acc.count as f64,
                    AggregateOp::Group => 1.0,
                    AggregateOp::Min => acc.min,
                    AggregateOp::Max => acc.max,
                    AggregateOp::Stdvar => acc.var.variance(),
                    AggregateOp::Stddev => acc.var.variance().sqrt(),
                    AggregateOp::Quantile => {
                        if !(0.0..=1.0).contains(&p) {
                            ann.warn(format_args!(
                                "quantile value should be between 0 and 1, got {}",
                                GoFloat(p)
                            ));
                        }
                        let mut vals = acc.values;
                        quantile(p, &mut vals)
                    }
                    // Evaluated by `select::count_values` above.
                    AggregateOp::CountValues => continue,
                    AggregateOp::Topk | AggregateOp::Bottomk => {
                        let k = k_param(p)?;
                        let top = a.op == AggregateOp::Topk;
                        let mut members = acc.members;
                        members.sort_by(|x, y| cmp_nan_last(x.1, y.1, top));
                        members.truncate(k);
                        for (i, v) in members {
                            emit_member(&mut ordered, &mut sink, &series[i], t, v, frame.len())?;
                        }
                        continue;
                    }
                    AggregateOp::Limitk => {
                        let k = k_param(p)?;
                        for &(i, v) in acc.members.iter().take(k) {
                            emit_member(&mut ordered, &mut sink, &series[i], t, v, frame.len())?;
                        }
                        continue;
                    }
                    AggregateOp::LimitRatio => {
                        if !(-1.0..=1.0).contains(&p) {
                            ann.warn(format_args!(
                                "ratio value should be between -1 and 1, got {}, capping to {}",
                                FloatDisplay(p),
                                if p < 0.0 { -1 } else { 1 }
                            ));
                        }
                        let r = p.clamp(-1.0, 1.0);
                        for &(i, v) in &acc.members {
                            if in_ratio(&series[i].labels, r) {
                                emit_member(
                                    &mut ordered,
                                    &mut sink,
                                    &series[i],
                                    t,
                                    v,
                                    frame.len(),
                                )?;
                            }
                        }
                        continue;
                    }
                };
                sink.push(acc.labels, acc.drop_name, t, v)?;
            }
            Ok(())
        });
        self.ann = ann;
        res?;
        if !ordered.is_empty() {
            return Ok(Val::Vector(ordered));
        }
        Ok(Val::Vector(sink.out))
    }
}

enum Param {
    None,
    Scalars(Vec<f64>),
    Label(String),
}

/// The group a series belongs to: its labels narrowed by `by`/`without`,
/// and whether the group's output still has to drop its metric name
/// (`by (__name__)` over series whose name removal is pending).
fn group_key(a: &Aggregate, s: &StepSeries) -> (Labels, bool) {
    group_key_of(a.without, &a.grouping, &s.labels, s.drop_name)
}

/// [`group_key`] of `labels` (name removal pending: `drop_name`) for a
/// `by` (or, with `without`, a `without`) list `grouping`.
fn group_key_of(
    without: bool,
    grouping: &[String],
    labels: &Labels,
    drop_name: bool,
) -> (Labels, bool) {
    if without {
        let mut names: Vec<&str> = grouping.iter().map(String::as_str).collect();
        names.push("__name__");
        let labels = if drop_name {
            drop_metric_name(labels)
        } else {
            labels.clone()
        };
        return (labels.drop_names(&names), false);
    }
    let by_name = grouping.iter().any(|g| g == "__name__");
    (labels.keep(grouping), by_name && drop_name)
}

fn k_param(p: f64) -> Result<usize> {
    if p.is_nan() {
        return Err(Error::Execution("Parameter value is NaN".into()));
    }
    if p >= i64::MAX as f64 || p <= i64::MIN as f64 {
        return Err(Error::Execution(format!(
            "Scalar value {} overflows int64",
            FloatDisplay(p)
        )));
    }
    Ok(if p < 1.0 { 0 } else { p as usize })
}

/// Whether a series is in the sample `limit_ratio(r, ...)` keeps: a
/// deterministic position of the series in `[0, 1)` from its label hash,
/// below `r` for positive `r`, at or above `1 + r` for negative `r`.
fn in_ratio(labels: &Labels, r: f64) -> bool {
    let pos = labels.hash64() as f64 / u64::MAX as f64;
    if r >= 0.0 { pos < r } else { pos >= 1.0 + r }
}

/// Emits an input series' point as it is (labels and name kept), for
/// the operators that select series rather than combine them. In an
/// instant query the selection order is kept.
fn emit_member(
    ordered: &mut Vec<StepSeries>,
    sink: &mut SeriesSink,
    s: &StepSeries,
    t: i64,
    v: f64,
    steps: usize,
) -> Result<()> {
    if steps == 1 {
        ordered.push(StepSeries {
            labels: s.labels.clone(),
            drop_name: s.drop_name,
            points: vec![tsdb::model::Sample::new(t, v)],
            hpoints: Vec::new(),
        });
        return Ok(());
    }
    sink.push(s.labels.clone(), s.drop_name, t, v).map(drop)
}

/// UTF-8 label names are allowed (Prometheus 3); only the empty name is not.
fn valid_label_name(l: &str) -> bool {
    !l.is_empty()
}
