//! Selection from storage: instant selectors with lookback and staleness,
//! and the raw samples behind range selectors and subqueries.

use std::borrow::Cow;
use std::sync::Arc;

use tsdb::model::histogram::CounterResetHint;
use tsdb::model::{HistogramSample, Labels, Sample, SampleBuf, SelectHints, Series, is_stale_nan};

use super::grid::{Grid, StepSeries};
use super::hints::{self, HintView};
use super::rollup::RangeMode;
use super::rollup::native_ext::interpolate;
use crate::ast::{AtModifier, DurationExpr, VectorSelector};
use crate::error::{Error, Result};
use crate::value::Annotations;

/// A series' raw samples behind a range vector argument, for all steps.
#[derive(Debug, Clone)]
pub(crate) struct RawSeries {
    pub labels: Labels,
    pub drop_name: bool,
    pub data: RawData,
}

/// Where a [`RawSeries`]' samples are: computed (subqueries) or still in
/// storage, read one series at a time so that memory follows the series
/// being evaluated, not the whole selection.
#[derive(Debug, Clone)]
pub(crate) enum RawData {
    /// Float and histogram samples, each ascending; staleness markers
    /// removed.
    Loaded {
        floats: Vec<Sample>,
        hists: Vec<HistogramSample>,
    },
    /// Read `[mint, maxt]` from storage on use, histogram hints as `view`
    /// says.
    Stored {
        series: Series,
        mint: i64,
        maxt: i64,
        view: HintView,
    },
    /// Read from a downsampling tier (and the raw samples after it); only
    /// the range functions a tier covers read it ([`super::tiered`]).
    Tiered(Box<super::tiered::TieredData>),
}

impl RawSeries {
    /// Float samples with their start timestamps (parallel to the
    /// samples, 0 = none, or empty when none has one; computed series such
    /// as subqueries have none) and histogram samples, each ascending,
    /// staleness markers removed; one read of storage.
    pub fn load_all(&self) -> (Cow<'_, [Sample]>, Vec<i64>, Cow<'_, [HistogramSample]>) {
        let RawData::Stored {
            series,
            mint,
            maxt,
            view,
        } = &self.data
        else {
            let RawData::Loaded { floats, hists } = &self.data else {
                return (Cow::Borrowed(&[]), Vec::new(), Cow::Borrowed(&[]));
            };
            return (Cow::Borrowed(floats), Vec::new(), Cow::Borrowed(hists));
        };
        let mut buf = SampleBuf::new();
        series.read(*mint, *maxt, &mut buf);
        buf.retain(|s| !is_stale_nan(s.v));
        hints::apply(*view, buf.histograms_mut());
        let mut hists = buf.histograms().to_vec();
        hists.retain(|h| !h.h.is_stale());
        let (out, sts) = buf.into_parts();
        (Cow::Owned(out), sts, Cow::Owned(hists))
    }
}

/// What an instant selector reports for the sample it picks at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstantValue {
    /// The sample's value.
    Value,
    /// The sample's time in seconds (`timestamp()`).
    Timestamp,
    /// The sample's start time in seconds, 0 when it has none
    /// (`start_timestamp()`).
    StartTimestamp,
}

/// A range vector argument over the whole grid: the window at step time
/// `t` is `(end(t) - range, end(t)]`.
#[derive(Debug, Clone)]
pub(crate) struct RangeInput {
    pub series: Vec<RawSeries>,
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
    pub mode: RangeMode,
}

impl RangeInput {
    /// The inclusive end of the window at step time `t`.
    pub fn end(&self, t: i64) -> i64 {
        self.at.unwrap_or(t) - self.offset
    }
}

impl Grid<'_> {
    /// A duration expression in milliseconds, checked.
    pub(crate) fn duration_ms(&self, d: &DurationExpr) -> Result<i64> {
        if let DurationExpr::Duration(ms) = d {
            return Ok(*ms);
        }
        let (step, range) = self.step_and_range_secs();
        let ms = (d.eval_seconds(step, range) * 1000.0).round();
        if !ms.is_finite() || ms.abs() >= i64::MAX as f64 / 2.0 {
            return Err(Error::Execution(format!("duration out of range: {d}")));
        }
        Ok(ms as i64)
    }

    pub(crate) fn offset_ms(&self, d: &Option<DurationExpr>) -> Result<i64> {
        d.as_ref().map_or(Ok(0), |d| self.duration_ms(d))
    }

    /// The series matching `vs` that have data in `[mint, maxt]`, unread.
    /// A range selector's range, offset, `@` time and mode, without
    /// series.
    pub(crate) fn range_shape(
        &self,
        vs: &VectorSelector,
        range: &DurationExpr,
    ) -> Result<RangeInput> {
        Ok(RangeInput {
            series: Vec::new(),
            range: self.duration_ms(range)?,
            offset: self.offset_ms(&vs.offset)?,
            at: self.at_ms(&vs.at),
            mode: if vs.anchored {
                RangeMode::Anchored
            } else if vs.smoothed {
                RangeMode::Smoothed
            } else {
                RangeMode::Plain
            },
        })
    }

    pub(crate) fn select_series(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        range: i64,
    ) -> Result<Vec<Series>> {
        self.select_series_as(vs, mint, maxt, range, None)
    }

    /// [`select_series`](Self::select_series) with a function hint
    /// ([`SelectHints::func`]).
    pub(crate) fn select_series_as(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        range: i64,
        func: Option<&str>,
    ) -> Result<Vec<Series>> {
        self.check("query preparation")?;
        let hints = SelectHints {
            start: mint,
            end: maxt,
            step: self.frame.step,
            range,
            func: func.map(str::to_string),
            ..SelectHints::default()
        };
        Ok(self
            .storage
            .querier(mint, maxt)?
            .select(&hints, &vs.matchers)?)
    }

    /// The selector's evaluation times `(first, last)` over the frame.
    fn selector_span(&self, at: Option<i64>, offset: i64) -> (i64, i64) {
        match at {
            Some(a) => (a - offset, a - offset),
            None => (self.frame.start - offset, self.frame.end - offset),
        }
    }

    fn at_ms(&self, at: &Option<AtModifier>) -> Option<i64> {
        at.as_ref().map(|a| self.at_time(a))
    }

    /// An instant selector on every step: the latest sample in
    /// `(t - lookback, t]` unless it is a staleness marker, reported as
    /// `what` says; where raw data has expired, from a downsampling tier
    /// ([`Grid::tier_instant`]).
    pub(crate) fn select_instant(
        &mut self,
        vs: &VectorSelector,
        what: InstantValue,
    ) -> Result<Vec<StepSeries>> {
        let raw = self.select_instant_raw(vs, what)?;
        self.tier_instant(vs, what, raw)
    }

    /// [`select_instant`](Self::select_instant) from raw samples only.
    fn select_instant_raw(
        &mut self,
        vs: &VectorSelector,
        what: InstantValue,
    ) -> Result<Vec<StepSeries>> {
        let offset = self.offset_ms(&vs.offset)?;
        let at = self.at_ms(&vs.at);
        let lookback = self.opts.lookback;
        let (first, last) = self.selector_span(at, offset);
        let ahead = if vs.smoothed { lookback } else { 0 };
        let (mint, maxt) = (first - lookback + 1, last + ahead);
        let selected = self.select_series(vs, mint, maxt, 0)?;
        let frame = self.frame;
        let mut out = Vec::with_capacity(selected.len());
        // One series' samples in memory at a time.
        let mut buf = SampleBuf::new();
        let view = self.hint_view(vs);
        for series in selected {
            self.check("query execution")?;
            series.read(mint, maxt, &mut buf);
            hints::apply(view, buf.histograms_mut());
            if !buf.histograms().is_empty() {
                let held = buf.len();
                self.hold(held, "query execution")?;
                let s = instant_mixed(
                    &buf,
                    series.labels,
                    frame.times(),
                    |t| at.unwrap_or(t) - offset,
                    Lookup {
                        lookback,
                        what,
                        smoothed: vs.smoothed,
                    },
                    &mut self.ann,
                );
                self.release(held);
                if let Some(s) = s {
                    self.hold(s.points.len() + s.hpoints.len(), "query execution")?;
                    out.push(s);
                }
                continue;
            }
            let (samples, sts) = (buf.floats(), buf.start_timestamps().unwrap_or(&[]));
            let held = samples.len();
            self.hold(held, "query execution")?;
            let mut points = Vec::new();
            let mut hi = 0;
            for t in frame.times() {
                let te = at.unwrap_or(t) - offset;
                if at.is_some() {
                    hi = samples.partition_point(|s| s.t <= te);
                } else {
                    while hi < samples.len() && samples[hi].t <= te {
                        hi += 1;
                    }
                }
                let Some(i) = hi.checked_sub(1) else {
                    continue;
                };
                let s = samples[i];
                if s.t <= te - lookback || is_stale_nan(s.v) {
                    continue;
                }
                let mut v = match what {
                    InstantValue::Value => s.v,
                    InstantValue::Timestamp => s.t as f64 / 1000.0,
                    InstantValue::StartTimestamp => {
                        sts.get(i).map_or(0.0, |&st| st as f64 / 1000.0)
                    }
                };
                if vs.smoothed
                    && s.t < te
                    && let Some(n) = samples.get(hi)
                    && n.t <= te + lookback
                    && !is_stale_nan(n.v)
                {
                    // `smoothed`: interpolate linearly to the step time.
                    v = s.v + (n.v - s.v) * (te - s.t) as f64 / (n.t - s.t) as f64;
                }
                points.push(Sample::new(t, v));
            }
            self.release(held);
            if points.is_empty() {
                continue;
            }
            self.hold(points.len(), "query execution")?;
            out.push(StepSeries::floats(series.labels, false, points));
        }
        Ok(out)
    }

    /// A range selector's samples for every step of the frame.
    pub(crate) fn select_range(
        &mut self,
        vs: &VectorSelector,
        range: &DurationExpr,
    ) -> Result<RangeInput> {
        let shape = self.range_shape(vs, range)?;
        let RangeInput {
            range,
            offset,
            at,
            mode,
            ..
        } = shape;
        let (first, last) = self.selector_span(at, offset);
        let (mint, maxt) = match mode {
            RangeMode::Plain => (first - range + 1, last),
            RangeMode::Anchored => (first - range - self.opts.lookback, last),
            RangeMode::Smoothed => (
                first - range - self.opts.lookback,
                last + self.opts.lookback,
            ),
        };
        let view = self.hint_view(vs);
        let series = self
            .select_series(vs, mint, maxt, range)?
            .into_iter()
            .map(|s| RawSeries {
                labels: s.labels.clone(),
                drop_name: false,
                data: RawData::Stored {
                    series: s,
                    mint,
                    maxt,
                    view,
                },
            })
            .collect();
        Ok(RangeInput {
            series,
            range,
            offset,
            at,
            mode,
        })
    }
}

/// How [`instant_mixed`] looks a value up.
struct Lookup {
    lookback: i64,
    what: InstantValue,
    /// Interpolate to the step time between the samples around it.
    smoothed: bool,
}

/// The instant selection of a series holding histograms: at each step the
/// latest sample of either kind in `(te - lookback, te]` (`te` = the step's
/// evaluation time), unless it is a staleness marker; a histogram's start
/// timestamp reads as 0. `smoothed` interpolates to `te` when a sample
/// follows within the lookback: floats linearly, histograms bucket by
/// bucket (a counter restarting from zero across a reset); samples of two
/// kinds, or exponential and custom buckets, give no value and a warning.
fn instant_mixed(
    buf: &SampleBuf,
    labels: Labels,
    times: impl Iterator<Item = i64>,
    eval_time: impl Fn(i64) -> i64,
    how: Lookup,
    ann: &mut Annotations,
) -> Option<StepSeries> {
    let (floats, hists) = (buf.floats(), buf.histograms());
    let sts = buf.start_timestamps().unwrap_or(&[]);
    let lookback = how.lookback;
    let name = labels.metric_name().to_string();
    let mut out = StepSeries::floats(labels, false, Vec::new());
    for t in times {
        let te = eval_time(t);
        let fi = floats.partition_point(|s| s.t <= te).checked_sub(1);
        let hi = hists.partition_point(|s| s.t <= te).checked_sub(1);
        let f = fi.map(|i| &floats[i]);
        let h = hi.map(|i| &hists[i]);
        let hist_is_latest = match (f, h) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(f), Some(h)) => h.t > f.t,
        };
        let latest_t = if hist_is_latest {
            h.map(|h| h.t)
        } else {
            f.map(|f| f.t)
        };
        if how.smoothed
            && how.what == InstantValue::Value
            && let Some(lt) = latest_t.filter(|&lt| lt < te && lt > te - lookback)
        {
            let nf = floats
                .get(fi.map_or(0, |i| i + 1))
                .filter(|n| n.t <= te + lookback);
            let nh = hists
                .get(hi.map_or(0, |i| i + 1))
                .filter(|n| n.t <= te + lookback);
            let next_is_hist = match (nf, nh) {
                (Some(a), Some(b)) => Some(b.t < a.t),
                (None, Some(_)) => Some(true),
                (Some(_), None) => Some(false),
                (None, None) => None,
            };
            match (hist_is_latest, next_is_hist) {
                (_, None) => {}
                (true, Some(true)) => {
                    let (Some(p), Some(n)) = (h, nh) else {
                        continue;
                    };
                    if p.h.is_stale() || n.h.is_stale() {
                        continue;
                    }
                    let counter = n.h.hint != CounterResetHint::Gauge;
                    match interpolate((p.t, &p.h), (n.t, &n.h), te, counter) {
                        Ok(v) => out.hpoints.push(HistogramSample {
                            t,
                            st: 0,
                            h: Arc::new(v),
                        }),
                        Err(()) => ann.warn(format_args!(
                            "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {}",
                            crate::ast::quote_string(&name)
                        )),
                    }
                    continue;
                }
                (false, Some(false)) => {
                    let (Some(p), Some(n)) = (f, nf) else {
                        continue;
                    };
                    if !is_stale_nan(p.v) && !is_stale_nan(n.v) {
                        let v = p.v + (n.v - p.v) * (te - lt) as f64 / (n.t - lt) as f64;
                        out.points.push(Sample::new(t, v));
                    }
                    continue;
                }
                _ => {
                    ann.warn(format_args!(
                        "encountered a mix of histograms and floats for metric name {}",
                        crate::ast::quote_string(&name)
                    ));
                    continue;
                }
            }
        }
        if hist_is_latest {
            let Some(h) = h else { continue };
            if h.t <= te - lookback || h.h.is_stale() {
                continue;
            }
            match how.what {
                InstantValue::Value => out.hpoints.push(HistogramSample {
                    t,
                    st: 0,
                    h: h.h.clone(),
                }),
                InstantValue::Timestamp => out.points.push(Sample::new(t, h.t as f64 / 1000.0)),
                InstantValue::StartTimestamp => {
                    out.points.push(Sample::new(t, h.st as f64 / 1000.0))
                }
            }
        } else if let (Some(i), Some(f)) = (fi, f) {
            if f.t <= te - lookback || is_stale_nan(f.v) {
                continue;
            }
            let v = match how.what {
                InstantValue::Value => f.v,
                InstantValue::Timestamp => f.t as f64 / 1000.0,
                InstantValue::StartTimestamp => sts.get(i).map_or(0.0, |&st| st as f64 / 1000.0),
            };
            out.points.push(Sample::new(t, v));
        }
    }
    (!out.is_empty()).then_some(out)
}
