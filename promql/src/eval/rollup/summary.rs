//! Rollups of a downsampling tier's window summary: the [`Summary`] of
//! the buckets that make up an aligned window `(start, end]` gives the
//! same answer as the window's raw samples for every function
//! [`from_summary`] covers (see `tsdb::downsample` for the contract).

use tsdb::downsample::{Aggregates, Summary};
use tsdb::model::Sample;

use super::rate::{self, Endpoints, Flavor};
use super::{Rollup, note_possible_non_counter};
use crate::value::Annotations;

/// Whether `f` needs the buckets' sums, which counters' tiers do not keep.
pub fn needs_sum(f: Rollup) -> bool {
    matches!(f, Rollup::SumOverTime | Rollup::AvgOverTime)
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
    )
}

/// `f` (one [`from_summary`] covers) of the plain window `(start, end]`
/// whose buckets merged into `s`; None for no output, or for a function
/// it does not cover. `metric_name` as for the raw rollups' annotations.
pub fn eval(
    f: Rollup,
    s: &Summary,
    start: i64,
    end: i64,
    metric_name: &str,
    ann: &mut Annotations,
) -> Option<f64> {
    let a = s.agg.as_ref()?;
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
        _ => None,
    };
    if out.is_some() && matches!(f, Rollup::Rate | Rollup::Increase) {
        note_possible_non_counter(metric_name, ann);
    }
    out
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
