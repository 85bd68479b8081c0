//! `anchored` and `smoothed` ranges over native histograms: `rate`,
//! `increase` and `delta` from the values at the window's boundaries
//! (no extrapolation), and `changes`/`resets` with the anchor sample.
//!
//! As for floats: `anchored` takes the last sample at or before the
//! window's start (else the first in the window) and the last in the
//! window; `smoothed` interpolates each boundary between the samples
//! around it. A counter interpolated across a reset restarts from zero
//! (the later sample scaled), keeping the later sample's reset hint.
//! Counter resets along `left, samples…, right` add back the value before
//! them; a pair with an interpolated boundary is compared by values only
//! (its reset, if any, is already in the interpolation), real samples by
//! [`FloatHistogram::detect_reset`] (hints included).
//!
//! Floats and histograms in one window give no result and Prometheus's
//! warning, except for `changes`/`resets`, which count a switch of kind.

use tsdb::model::histogram::{CounterResetHint, FloatHistogram};
use tsdb::model::{HistogramSample, Sample};

use super::native::{Out, mixed_kinds, mixed_schemas};
use super::{RangeMode, Rollup, is_start_timestamp_reset};
use crate::ast::quote_string;
use crate::value::Annotations;

/// A sample of either kind next to the window.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Near<'a> {
    Float(Sample),
    Hist(&'a HistogramSample),
}

impl Near<'_> {
    pub fn t(&self) -> i64 {
        match self {
            Near::Float(s) => s.t,
            Near::Hist(h) => h.t,
        }
    }
}

/// A boundary value and whether it was interpolated.
struct Edge {
    h: FloatHistogram,
    interpolated: bool,
}

/// The window `(start, end]` of one step with the samples around it.
pub(crate) struct ExtWindow<'a> {
    pub floats: &'a [Sample],
    pub hists: &'a [HistogramSample],
    pub before: Option<Near<'a>>,
    pub after: Option<Near<'a>>,
    pub start: i64,
    pub end: i64,
    pub mode: RangeMode,
}

/// `f` over the window; `None` for no result.
pub(crate) fn eval(f: Rollup, w: &ExtWindow<'_>, name: &str, ann: &mut Annotations) -> Option<Out> {
    match f {
        Rollup::Changes | Rollup::Resets => {
            let anchor = match (w.mode, w.before) {
                (RangeMode::Anchored, Some(b)) if b.t() <= w.start => Some(b),
                _ => None,
            };
            Some(Out::Float(transitions(f, anchor, w.floats, w.hists)))
        }
        Rollup::Rate | Rollup::Increase | Rollup::Delta => boundary_rate(f, w, name, ann),
        _ => None,
    }
}

/// `h` at `t` on the way from `a` (at `ta`) to `b` (at `tb`); `Err`
/// when exponential and custom buckets meet. A counter (`counter`) that
/// resets between them restarts from zero: `b` scaled.
pub(crate) fn interpolate(
    (ta, a): (i64, &FloatHistogram),
    (tb, b): (i64, &FloatHistogram),
    t: i64,
    counter: bool,
) -> Result<FloatHistogram, ()> {
    let frac = (t - ta) as f64 / (tb - ta) as f64;
    if a.uses_custom_buckets() != b.uses_custom_buckets() {
        return Err(());
    }
    if counter && b.detect_reset(a) {
        let mut out = b.clone();
        out.scale(frac);
        return Ok(out);
    }
    let mut d = b.clone();
    d.add_assign(a, true).map_err(drop)?;
    d.scale(frac);
    let mut out = a.clone();
    out.add_assign(&d, false).map_err(drop)?;
    out.hint = CounterResetHint::Unknown;
    Ok(out)
}

/// The boundary values `(time, edge)` at the window's start and end.
type Edges = ((i64, Edge), (i64, Edge));

fn at(h: &HistogramSample) -> (i64, &FloatHistogram) {
    (h.t, &h.h)
}

fn edges(
    w: &ExtWindow<'_>,
    before: Option<&HistogramSample>,
    after: Option<&HistogramSample>,
    counter: bool,
) -> Option<Result<Edges, ()>> {
    let real = |h: &HistogramSample| {
        (
            h.t,
            Edge {
                h: (*h.h).clone(),
                interpolated: false,
            },
        )
    };
    if w.mode == RangeMode::Anchored {
        let (first, last) = (w.hists.first()?, w.hists.last()?);
        return Some(Ok((real(before.unwrap_or(first)), real(last))));
    }
    let first_after_start = w.hists.first().or(after)?;
    let last_before_end = w.hists.last().or(before)?;
    let left = match before {
        Some(b) if b.t < w.start => {
            match interpolate(at(b), at(first_after_start), w.start, counter) {
                Ok(h) => (
                    w.start,
                    Edge {
                        h,
                        interpolated: true,
                    },
                ),
                Err(()) => return Some(Err(())),
            }
        }
        Some(b) => real(b),
        None => real(first_after_start),
    };
    let right = match after {
        Some(a) if last_before_end.t < w.end => {
            match interpolate(at(last_before_end), at(a), w.end, counter) {
                Ok(h) => (
                    w.end,
                    Edge {
                        h,
                        interpolated: true,
                    },
                ),
                Err(()) => return Some(Err(())),
            }
        }
        _ => real(last_before_end),
    };
    Some(Ok((left, right)))
}

fn boundary_rate(f: Rollup, w: &ExtWindow<'_>, name: &str, ann: &mut Annotations) -> Option<Out> {
    let floats_near =
        matches!(w.before, Some(Near::Float(_))) || matches!(w.after, Some(Near::Float(_)));
    if !w.floats.is_empty() || (floats_near && w.mode == RangeMode::Smoothed && w.hists.is_empty())
    {
        return mixed_kinds(name, ann);
    }
    let counter = f != Rollup::Delta;
    let before = match w.before {
        Some(Near::Hist(h)) if h.t <= w.start => Some(h),
        _ => None,
    };
    let after = match w.after {
        Some(Near::Hist(h)) if h.t > w.end => Some(h),
        _ => None,
    };
    let Ok(((lt, left), (rt, right))) = edges(w, before, after, counter)? else {
        return mixed_schemas(name, ann);
    };
    // Every stored histogram the result is made of, for the warnings.
    let used: Vec<&FloatHistogram> = before
        .map(|b| &*b.h)
        .into_iter()
        .chain(w.hists.iter().map(|h| &*h.h))
        .chain(after.filter(|_| right.interpolated).map(|a| &*a.h))
        .collect();
    if counter && used.iter().any(|h| h.hint == CounterResetHint::Gauge) {
        ann.warn(format_args!(
            "this native histogram metric is not a counter: {}",
            quote_string(name)
        ));
    } else if !counter && used.iter().any(|h| h.hint != CounterResetHint::Gauge) {
        ann.warn(format_args!(
            "this native histogram metric is not a gauge: {}",
            quote_string(name)
        ));
    }
    if used
        .iter()
        .any(|h| h.uses_custom_buckets() != used[0].uses_custom_buckets())
    {
        return mixed_schemas(name, ann);
    }
    let mut result = right.h.clone();
    if result.add_assign(&left.h, true).is_err() {
        return mixed_schemas(name, ann);
    }
    if counter {
        // Along left, the window's samples strictly between the
        // boundaries, right: add back the value before every reset.
        let inner = w.hists.iter().filter(|h| h.t > lt && h.t < rt);
        let mut prev: (&FloatHistogram, bool) = (&left.h, left.interpolated);
        let mut corrections: Vec<&FloatHistogram> = Vec::new();
        for (cur, interpolated) in inner
            .map(|h| (&*h.h, false))
            .chain(std::iter::once((&right.h, right.interpolated)))
        {
            let reset = if prev.1 || interpolated {
                cur.detect_reset_by_value(prev.0)
            } else {
                cur.detect_reset(prev.0)
            };
            if reset {
                corrections.push(prev.0);
            }
            prev = (cur, interpolated);
        }
        for c in corrections {
            if result.add_assign(c, false).is_err() {
                return mixed_schemas(name, ann);
            }
        }
    }
    if f == Rollup::Rate {
        result.scale(1000.0 / (w.end - w.start) as f64);
    }
    result.hint = CounterResetHint::Gauge;
    result.compact(0);
    Some(Out::Hist(result))
}

/// `changes`/`resets` over `anchor` (if any) and the window's samples of
/// both kinds, in time order. A switch between a float and a histogram is
/// a change and a reset; two histograms differ when their observations do
/// and reset as [`FloatHistogram::detect_reset`] says.
pub(crate) fn transitions<'a>(
    f: Rollup,
    anchor: Option<Near<'a>>,
    floats: &[Sample],
    hists: &'a [HistogramSample],
) -> f64 {
    let mut seq: Vec<Near<'_>> = anchor.into_iter().collect();
    let (mut i, mut j) = (0, 0);
    while i < floats.len() || j < hists.len() {
        if j >= hists.len() || (i < floats.len() && floats[i].t < hists[j].t) {
            seq.push(Near::Float(floats[i]));
            i += 1;
        } else {
            seq.push(Near::Hist(&hists[j]));
            j += 1;
        }
    }
    let counts = |a: &Near<'_>, b: &Near<'_>| match (a, b) {
        (Near::Float(x), Near::Float(y)) if f == Rollup::Resets => y.v < x.v,
        (Near::Float(x), Near::Float(y)) => x.v != y.v && !(x.v.is_nan() && y.v.is_nan()),
        (Near::Hist(x), Near::Hist(y)) if f == Rollup::Resets => {
            y.h.detect_reset(&x.h) || is_start_timestamp_reset(x.st, x.t, y.st, y.t)
        }
        (Near::Hist(x), Near::Hist(y)) => !y.h.same_observations(&x.h),
        _ => true,
    };
    seq.windows(2).filter(|p| counts(&p[0], &p[1])).count() as f64
}
