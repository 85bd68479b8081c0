//! Functions over range windows: `rate`, `*_over_time`, ….
//! (Interface only; the implementations land next.)

use tsdb::model::Sample;

use crate::error::{Error, Result};
use crate::value::Annotations;

/// How a range selector picks its samples (3.x extended range selectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeMode {
    Plain,
    Anchored,
    Smoothed,
}

/// One series' window at one evaluation time.
#[derive(Debug, Clone, Copy)]
pub struct RollupWindow<'a> {
    /// Samples in `(start, end]`, ascending, staleness markers removed.
    pub samples: &'a [Sample],
    /// Exclusive start of the window, ms.
    pub start: i64,
    /// Inclusive end of the window (the evaluation time after offset/@), ms.
    pub end: i64,
    /// Last non-stale sample at or before `start`, within the lookback
    /// delta (for `anchored`/`smoothed`; `None` otherwise).
    pub before: Option<Sample>,
    /// First non-stale sample after `end`, within the lookback delta (for
    /// `smoothed`; `None` otherwise).
    pub after: Option<Sample>,
    pub mode: RangeMode,
}

/// A function of a range vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    SumOverTime,
}

impl Rollup {
    pub fn from_name(name: &str) -> Option<Rollup> {
        match name {
            "sum_over_time" => Some(Rollup::SumOverTime),
            _ => None,
        }
    }

    /// Index of the range-vector argument among the call's arguments.
    pub fn matrix_arg(self) -> usize {
        0
    }

    /// Whether the output drops the metric name.
    pub fn drops_name(self) -> bool {
        true
    }
}

/// Evaluates `f` on one window. `args` are the call's scalar arguments at
/// this step, in call order without the range vector. `Ok(None)`: no output
/// element for this series at this step.
pub fn eval(
    f: Rollup,
    w: &RollupWindow<'_>,
    args: &[f64],
    metric_name: &str,
    ann: &mut Annotations,
) -> Result<Option<f64>> {
    let _ = (args, metric_name, ann);
    match f {
        Rollup::SumOverTime if w.samples.is_empty() => Ok(None),
        Rollup::SumOverTime => Ok(Some(w.samples.iter().map(|s| s.v).sum())),
    }
    .map_err(|e: Error| e)
}
