//! Native histogram rollups of a downsampling tier's window summary: the
//! [`HistSummary`] of the buckets that make up an aligned window `(start,
//! end]` gives what the window's raw histograms give for every function
//! [`from_hist_summary`] covers: bit for bit, but that after more than
//! one counter reset `rate` and `increase` add the histograms before the
//! resets grouped by bucket (the same terms, rounded otherwise).

use tsdb::downsample::HistSummary;

use super::Rollup;
use super::native::{self, HistWindow, Out};
use crate::value::Annotations;

/// Whether [`eval`] answers `f` for a native histogram series. Not
/// `sum/avg_over_time`, which need every histogram, nor the float-only
/// functions (no answer for histograms from raw data either, but their
/// annotations are the raw evaluator's to give).
pub fn from_hist_summary(f: Rollup) -> bool {
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
            | PresentOverTime
            | LastOverTime
            | FirstOverTime
            | TsOfLastOverTime
            | TsOfFirstOverTime
    )
}

/// `f` (one [`from_hist_summary`] covers) of the plain window `(start,
/// end]` whose buckets merged into `s`; None for no output. A window
/// whose raw data held floats as well has no answer here (the evaluator
/// warns of the mix).
pub(crate) fn eval(
    f: Rollup,
    s: &HistSummary,
    start: i64,
    end: i64,
    name: &str,
    ann: &mut Annotations,
) -> Option<Out> {
    if s.floats {
        return native::mixed_kinds(name, ann);
    }
    let a = s.agg.as_ref()?;
    let seconds = |t: i64| Out::Float(t as f64 / 1000.0);
    match f {
        Rollup::CountOverTime => Some(Out::Float(a.count as f64)),
        Rollup::PresentOverTime => Some(Out::Float(1.0)),
        Rollup::LastOverTime => Some(Out::Hist((*a.last.h).clone())),
        Rollup::FirstOverTime => Some(Out::Hist((*a.first.h).clone())),
        Rollup::TsOfLastOverTime => Some(seconds(a.last.t)),
        Rollup::TsOfFirstOverTime => Some(seconds(a.first.t)),
        Rollup::Changes => Some(Out::Float(a.changes as f64)),
        Rollup::Resets => Some(Out::Float(a.resets as f64)),
        Rollup::Irate | Rollup::Idelta => {
            let pair = [a.prev.clone()?, a.last.clone()];
            native::instant(f, &[], &pair, name, ann)
        }
        Rollup::Rate | Rollup::Increase | Rollup::Delta => {
            let w = HistWindow {
                first: &a.first,
                last: &a.last,
                count: usize::try_from(a.count).unwrap_or(usize::MAX),
                overlap: a.overlap,
                first_reset: a.first_reset,
                corrections: a.correction.iter().collect(),
                correction_failed: a.correction_failed,
            };
            native::from_window(f, &w, start, end, name, ann)
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "hsummary_tests.rs"]
mod tests;
