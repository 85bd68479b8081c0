//! Rollups of a downsampling tier's window summary: the [`Summary`] of
//! the buckets that make up an aligned window `(start, end]` gives the
//! same answer as the window's raw samples for every function
//! [`from_summary`] covers (see `tsdb::downsample` for the contract).

use tsdb::downsample::{Aggregates, Column, Summary};
use tsdb::model::Sample;

use super::rate::{self, Endpoints, Flavor};
use super::{Rollup, note_possible_non_counter};
use crate::value::Annotations;

/// The column `f` needs that not every tier keeps: sums (not kept for
/// counters), and the optional moments and trend columns.
pub fn needs(f: Rollup) -> Option<Column> {
    match f {
        Rollup::SumOverTime | Rollup::AvgOverTime => Some(Column::Sum),
        Rollup::StddevOverTime | Rollup::StdvarOverTime => Some(Column::Moments),
        Rollup::Deriv | Rollup::PredictLinear => Some(Column::Trend),
        _ => None,
    }
}

/// The window a summary covers and where `f` is evaluated.
#[derive(Debug, Clone, Copy)]
pub struct SummaryWindow<'a> {
    /// The window `(start, end]`.
    pub start: i64,
    pub end: i64,
    /// The step's evaluation time (`predict_linear` predicts from it).
    pub ts: i64,
    /// The step's scalar arguments.
    pub args: &'a [f64],
}

/// Whether [`eval`] answers `f` in a plain range (no `anchored` or
/// `smoothed`, which look at samples outside the window).
pub fn from_summary(f: Rollup) -> bool {
    use Rollup::*;
    matches!(
        f,
        Rate | Increase
            | Delta
            | Irate
            | Idelta
            | Resets
            | Changes
            | CountOverTime
            | SumOverTime
            | AvgOverTime
            | MinOverTime
            | MaxOverTime
            | LastOverTime
            | FirstOverTime
            | PresentOverTime
            | TsOfLastOverTime
            | TsOfFirstOverTime
            | StddevOverTime
            | StdvarOverTime
            | Deriv
            | PredictLinear
    )
}

/// `f` (one [`from_summary`] covers) of the plain window `w` whose
/// buckets merged into `s`; None for no output, for a function it does
/// not cover, or for one whose optional column `s` lacks. `metric_name`
/// as for the raw rollups' annotations.
pub fn eval(
    f: Rollup,
    s: &Summary,
    w: SummaryWindow<'_>,
    metric_name: &str,
    ann: &mut Annotations,
) -> Option<f64> {
    let a = s.agg.as_ref()?;
    let (start, end) = (w.start, w.end);
    let seconds = |t: i64| t as f64 / 1000.0;
    let out = match f {
        Rollup::Rate => extrapolated(a, start, end, Flavor::Rate, metric_name, ann),
        Rollup::Increase => extrapolated(a, start, end, Flavor::Increase, metric_name, ann),
        Rollup::Delta => extrapolated(a, start, end, Flavor::Delta, metric_name, ann),
        Rollup::Irate | Rollup::Idelta => {
            let prev = a.prev?;
            let irate = f == Rollup::Irate;
            let st = |st: i64| if irate { st } else { 0 };
            rate::last_two(
                prev.sample(),
                st(prev.st),
                a.last.sample(),
                st(a.last.st),
                irate,
            )
        }
        Rollup::Resets => Some(a.resets as f64),
        Rollup::Changes => Some(a.changes as f64),
        Rollup::CountOverTime => Some(a.count as f64),
        // Estimated where the tier keeps no sum: the planner reads such
        // series raw, or says the answer is approximate.
        Rollup::SumOverTime => Some(a.sum_or_estimate()),
        Rollup::AvgOverTime => Some(a.sum_or_estimate() / a.count as f64),
        Rollup::MinOverTime => Some(a.min),
        Rollup::MaxOverTime => Some(a.max),
        Rollup::LastOverTime => Some(a.last.v),
        Rollup::FirstOverTime => Some(a.first.v),
        Rollup::PresentOverTime => Some(1.0),
        Rollup::TsOfLastOverTime => Some(seconds(a.last.t)),
        Rollup::TsOfFirstOverTime => Some(seconds(a.first.t)),
        Rollup::StdvarOverTime => a.moments.map(|m| m.m2 / a.count as f64),
        Rollup::StddevOverTime => a.moments.map(|m| (m.m2 / a.count as f64).sqrt()),
        Rollup::Deriv if a.count >= 2 => Some(regression(a, a.first.t)?.0),
        Rollup::PredictLinear if a.count >= 2 => {
            let (slope, intercept) = regression(a, w.ts)?;
            Some(slope * w.args.first().copied()? + intercept)
        }
        _ => None,
    };
    if out.is_some() && matches!(f, Rollup::Rate | Rollup::Increase) {
        note_possible_non_counter(metric_name, ann);
    }
    out
}

/// The least-squares line `(slope, intercept)` through the window's
/// samples with `x` the seconds since `origin` (ms), as `deriv` and
/// `predict_linear` fit it from raw samples: a constant window has slope
/// 0 (both NaN when the constant is ±Inf). None without the trend column.
fn regression(a: &Aggregates, origin: i64) -> Option<(f64, f64)> {
    let t = a.trend?;
    // Every value equal: min = max, and no NaN (which makes ȳ NaN).
    if a.min == a.max && !t.mean_y.is_nan() {
        return Some(if a.first.v.is_infinite() {
            (f64::NAN, f64::NAN)
        } else {
            (0.0, a.first.v)
        });
    }
    let slope = t.sxy / t.sxx;
    let mean_x = t.mean_x + (a.first.t - origin) as f64 / 1000.0;
    Some((slope, t.mean_y - slope * mean_x))
}

fn extrapolated(
    a: &Aggregates,
    start: i64,
    end: i64,
    flavor: Flavor,
    metric_name: &str,
    ann: &mut Annotations,
) -> Option<f64> {
    let counter = flavor != Flavor::Delta;
    let mut difference = a.last.v - a.first.v;
    if counter && a.resets > 0 {
        difference += a.reset_correction;
    }
    let e = Endpoints {
        first: Sample::new(a.first.t, a.first.v),
        first_st: if counter { a.first.st } else { 0 },
        last: a.last.sample(),
        count: a.count as usize,
        difference,
        overlap: counter && a.overlap,
    };
    rate::extrapolate(&e, start, end, flavor, metric_name, ann)
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
