//! Functions over range windows ("rollups"): `rate`, `*_over_time`, ….
//!
//! The evaluator selects, per series and step, a [`RollupWindow`] and calls
//! [`eval`] (or [`eval_at`]) with the call's scalar arguments; the result is
//! at most one float. Float samples only; native histograms are not handled
//! here.
//!
//! - [`Rollup`]: the functions, their argument layout ([`Rollup::matrix_arg`])
//!   and whether they drop the metric name ([`Rollup::drops_name`]).
//! - [`RangeMode`], [`check_mode`]: the 3.x `anchored` / `smoothed`
//!   modifiers and which functions accept them.
//! - [`native`]: the functions defined for native histogram samples.
//! - `rate`: `rate`, `increase`, `delta` (extrapolated, anchored, smoothed),
//!   `irate`, `idelta`.
//! - `over_time`: `sum`/`avg`/`min`/`max`/`count`/`stddev`/`stdvar`/`last`/
//!   `first`/`present`/`mad`/`quantile` `_over_time` and `ts_of_*_over_time`.
//! - `trend`: `deriv`, `predict_linear`, `double_exponential_smoothing`.
//! - `transitions`: `changes`, `resets`.
//! - [`summary`]: the same functions from a downsampling tier's summary
//!   of an aligned window.
//! - `hsummary`: the native histogram functions from a tier's summary of
//!   a native histogram series' window.

pub(crate) mod hsummary;
pub(crate) mod native;
pub(crate) mod native_ext;
mod over_time;
mod rate;
pub mod summary;
#[cfg(test)]
mod testutil;
mod transitions;
mod trend;

use tsdb::model::Sample;
pub(crate) use tsdb::model::is_start_timestamp_reset;

use crate::ast::quote_string;
use crate::error::{Error, Result};
use crate::functions::FuncId;
use crate::value::Annotations;

/// How a range selector picks its samples (3.x extended range selectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeMode {
    /// `foo[5m]`: the samples in `(start, end]`.
    Plain,
    /// `foo[5m] anchored`: additionally the last sample at or before
    /// `start` ([`RollupWindow::before`]) as the value at `start`; the last
    /// sample in the window stands for the value at `end`. No extrapolation.
    Anchored,
    /// `foo[5m] smoothed`: the values at `start` and `end` are linearly
    /// interpolated between the neighbouring samples (also
    /// [`RollupWindow::before`] / [`RollupWindow::after`]); without a
    /// neighbour outside the window the nearest sample inside is used.
    Smoothed,
}

/// One series' window at one evaluation time.
#[derive(Debug, Clone, Copy)]
pub struct RollupWindow<'a> {
    /// Samples in `(start, end]`, ascending, staleness markers removed.
    pub samples: &'a [Sample],
    /// The samples' start timestamps (0 = none), parallel to `samples`, or
    /// empty when none has one. Set only for the functions that
    /// [use them](Rollup::uses_start_timestamps).
    pub sts: &'a [i64],
    /// Exclusive start of the window, ms.
    pub start: i64,
    /// Inclusive end of the window (the evaluation time after offset/@), ms.
    pub end: i64,
    /// Last non-stale sample at or before `start`, within the lookback
    /// delta (`t > start - lookback`), for `anchored`/`smoothed`; `None`
    /// otherwise. Ignored in [`RangeMode::Plain`].
    pub before: Option<Sample>,
    /// The start timestamp of `before` (0 = none).
    pub before_st: i64,
    /// First non-stale sample after `end`, within the lookback delta, for
    /// `smoothed`; `None` otherwise. Used only in [`RangeMode::Smoothed`].
    pub after: Option<Sample>,
    pub mode: RangeMode,
    /// The counter resets of a plain window when the caller found them
    /// once for the whole series ([`CounterResets::of_series`]); `None`:
    /// `rate` and `increase` scan the window.
    pub resets: Option<WindowResets<'a>>,
}

/// Counter resets in one window: the indices `i` into its samples where
/// `samples[i]` follows a reset (the value dropped, or a start timestamp
/// shows a restart), ascending, and whether some sample's start time
/// overlaps the previous sample.
#[derive(Debug, Clone, Copy)]
pub struct WindowResets<'a> {
    pub at: &'a [usize],
    pub overlap: bool,
}

/// The counter resets of a whole series, found once so that each step's
/// window costs its resets, not its samples. Windows are read in
/// ascending order ([`window`](Self::window)).
#[derive(Debug, Default)]
pub struct CounterResets {
    /// Indices of samples that follow a reset, ascending.
    resets: Vec<usize>,
    /// Indices of samples whose start time overlaps the previous sample.
    overlaps: Vec<usize>,
    /// Cursors into `resets` and `overlaps`.
    cursors: [usize; 2],
    /// The current window's resets, relative to its first sample.
    scratch: Vec<usize>,
}

impl CounterResets {
    /// The resets of `samples` with start timestamps `sts` (parallel, or
    /// empty for none).
    pub fn of_series(samples: &[Sample], sts: &[i64]) -> Self {
        let mut out = CounterResets::default();
        for i in 1..samples.len() {
            let (reset, overlap) = rate::pair_resets(samples, sts, i);
            if reset {
                out.resets.push(i);
            }
            if overlap {
                out.overlaps.push(i);
            }
        }
        out
    }

    /// The resets of the window `samples[lo..hi]`; `lo` must not decrease
    /// between calls.
    pub fn window(&mut self, lo: usize, hi: usize) -> WindowResets<'_> {
        // A pair (i - 1, i) is inside the window when lo < i < hi.
        let [r, o] = &mut self.cursors;
        while *r < self.resets.len() && self.resets[*r] <= lo {
            *r += 1;
        }
        while *o < self.overlaps.len() && self.overlaps[*o] <= lo {
            *o += 1;
        }
        self.scratch.clear();
        self.scratch.extend(
            self.resets[*r..]
                .iter()
                .take_while(|&&i| i < hi)
                .map(|&i| i - lo),
        );
        WindowResets {
            at: &self.scratch,
            overlap: self.overlaps.get(*o).is_some_and(|&i| i < hi),
        }
    }
}

macro_rules! rollups {
    ($($variant:ident,)*) => {
        /// A function of a range vector; each variant is named as its
        /// [`FuncId`]. `absent_over_time` is not one: the evaluator
        /// handles it across series.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Rollup {
            $($variant,)*
        }

        impl Rollup {
            /// Every rollup, in declaration order.
            #[cfg(test)]
            pub const ALL: &'static [Rollup] = &[$(Rollup::$variant,)*];

            /// The function this is.
            pub fn id(self) -> FuncId {
                match self {
                    $(Rollup::$variant => FuncId::$variant,)*
                }
            }
        }
    };
}

rollups! {
    Rate,
    Irate,
    Increase,
    Delta,
    Idelta,
    Deriv,
    PredictLinear,
    DoubleExponentialSmoothing,
    AvgOverTime,
    SumOverTime,
    MinOverTime,
    MaxOverTime,
    CountOverTime,
    StddevOverTime,
    StdvarOverTime,
    LastOverTime,
    FirstOverTime,
    PresentOverTime,
    MadOverTime,
    QuantileOverTime,
    TsOfMinOverTime,
    TsOfMaxOverTime,
    TsOfLastOverTime,
    TsOfFirstOverTime,
    Changes,
    Resets,
}

impl Rollup {
    /// The function's PromQL name.
    pub fn name(self) -> &'static str {
        self.id().name()
    }

    /// Index of the range-vector argument among the call's arguments:
    /// 1 for `quantile_over_time(q, m)`, 0 otherwise.
    pub fn matrix_arg(self) -> usize {
        match self {
            Rollup::QuantileOverTime => 1,
            _ => 0,
        }
    }

    /// How many scalar arguments [`eval`] expects besides the range vector.
    pub fn scalar_args(self) -> usize {
        match self {
            Rollup::QuantileOverTime | Rollup::PredictLinear => 1,
            Rollup::DoubleExponentialSmoothing => 2,
            _ => 0,
        }
    }

    /// Whether the output drops the metric name: every rollup except
    /// `last_over_time` and `first_over_time`, which pick a sample
    /// unchanged (Prometheus 3, `name_label_dropping.test`).
    pub fn drops_name(self) -> bool {
        !matches!(self, Rollup::LastOverTime | Rollup::FirstOverTime)
    }

    /// Whether the function looks at start timestamps: counter resets
    /// they show, and the counter's start inside the window.
    pub fn uses_start_timestamps(self) -> bool {
        matches!(
            self,
            Rollup::Rate | Rollup::Increase | Rollup::Irate | Rollup::Resets
        )
    }

    /// Whether the function accepts a range selector in `mode`.
    pub fn accepts(self, mode: RangeMode) -> bool {
        match mode {
            RangeMode::Plain => true,
            RangeMode::Anchored => ANCHORED_SAFE.contains(&self),
            RangeMode::Smoothed => SMOOTHED_SAFE.contains(&self),
        }
    }
}

/// Functions that accept `anchored`, in the order Prometheus lists them.
const ANCHORED_SAFE: &[Rollup] = &[
    Rollup::Changes,
    Rollup::Delta,
    Rollup::Increase,
    Rollup::Rate,
    Rollup::Resets,
];

/// Functions that accept `smoothed`, in the order Prometheus lists them.
const SMOOTHED_SAFE: &[Rollup] = &[Rollup::Delta, Rollup::Increase, Rollup::Rate];

/// Fails, with Prometheus's execution error text, unless `f` accepts a
/// range selector in `mode`: `anchored modifier can only be used with:
/// changes, delta, increase, rate, resets - not with deriv`.
pub fn check_mode(f: Rollup, mode: RangeMode) -> Result<()> {
    if f.accepts(mode) {
        return Ok(());
    }
    let (modifier, allowed) = match mode {
        RangeMode::Smoothed => ("smoothed", SMOOTHED_SAFE),
        _ => ("anchored", ANCHORED_SAFE),
    };
    let allowed: Vec<&str> = allowed.iter().map(|r| r.name()).collect();
    Err(Error::Execution(format!(
        "{modifier} modifier can only be used with: {} - not with {}",
        allowed.join(", "),
        f.name()
    )))
}

/// Evaluates `f` on one window. `args` are the call's scalar arguments at
/// this step, in call order without the range vector (`quantile_over_time`
/// → `[q]`, `predict_linear` → `[t]`, `double_exponential_smoothing` →
/// `[sf, tf]`). `metric_name` is the series' `__name__` (may be empty), for
/// annotations. `Ok(None)`: no output element for this series at this step.
///
/// Same as [`eval_at`] with the evaluation time `w.end`; that is exact for
/// every function unless `predict_linear` is used with `offset` or `@`.
#[cfg(test)]
pub fn eval(
    f: Rollup,
    w: &RollupWindow<'_>,
    args: &[f64],
    metric_name: &str,
    ann: &mut Annotations,
) -> Result<Option<f64>> {
    eval_at(f, w, args, metric_name, w.end, ann)
}

/// Evaluates `f` on one window (see `eval`) with the step's evaluation time `ts` (ms, before offset and
/// `@`): `predict_linear` predicts `t` seconds after `ts`, not after the
/// window's end. No other function looks at `ts`.
///
/// Errors: a range mode `f` does not accept ([`check_mode`]), a missing
/// scalar argument, and `double_exponential_smoothing`'s factors outside
/// (0, 1). Annotations: the "might not be a counter" info of `rate` and
/// `increase`, the invalid-quantile warning of `quantile_over_time`.
pub fn eval_at(
    f: Rollup,
    w: &RollupWindow<'_>,
    args: &[f64],
    metric_name: &str,
    ts: i64,
    ann: &mut Annotations,
) -> Result<Option<f64>> {
    check_mode(f, w.mode)?;
    if args.len() < f.scalar_args() {
        return Err(Error::Execution(format!(
            "expected {} scalar argument(s) to {}, got {}",
            f.scalar_args(),
            f.name(),
            args.len()
        )));
    }
    // Prometheus calls a rollup only for windows holding samples; smoothed
    // windows may be computed from the neighbours alone.
    if w.samples.is_empty() && w.mode != RangeMode::Smoothed {
        return Ok(None);
    }
    let s = w.samples;
    let arg = |i: usize| args.get(i).copied().unwrap_or(f64::NAN);
    let out = match f {
        Rollup::Rate => rate::rate(w, rate::Flavor::Rate, metric_name, ann),
        Rollup::Increase => rate::rate(w, rate::Flavor::Increase, metric_name, ann),
        Rollup::Delta => rate::rate(w, rate::Flavor::Delta, metric_name, ann),
        Rollup::Irate => rate::instant(s, w.sts, true),
        Rollup::Idelta => rate::instant(s, &[], false),
        Rollup::Deriv => trend::deriv(s),
        Rollup::PredictLinear => trend::predict_linear(s, ts, arg(0)),
        Rollup::DoubleExponentialSmoothing => trend::double_exponential(s, arg(0), arg(1))?,
        Rollup::Changes => transitions::changes(w),
        Rollup::Resets => transitions::resets(w),
        Rollup::QuantileOverTime => over_time::quantile(s, arg(0), ann),
        _ => over_time::eval(f, s),
    };
    if out.is_some() && matches!(f, Rollup::Rate | Rollup::Increase) {
        note_possible_non_counter(metric_name, ann);
    }
    Ok(out)
}

/// Prometheus's info for `rate`/`increase` of a series whose name does not
/// look like a counter's (added when the series produced a value).
fn note_possible_non_counter(metric_name: &str, ann: &mut Annotations) {
    const COUNTER_SUFFIXES: [&str; 4] = ["_total", "_sum", "_count", "_bucket"];
    if metric_name.is_empty() || COUNTER_SUFFIXES.iter().any(|s| metric_name.ends_with(s)) {
        return;
    }
    ann.info(format_args!(
        "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {}",
        quote_string(metric_name)
    ));
}

#[cfg(test)]
mod tests;
