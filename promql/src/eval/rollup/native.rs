//! Range functions over native histogram samples: `rate`, `increase`,
//! `delta`, `irate`, `idelta`, `sum_over_time`, `avg_over_time`, and the
//! functions that take samples of both kinds (`count_over_time`,
//! `present_over_time`, `last_over_time`, `first_over_time`).
//!
//! A window holding floats and histograms gives `rate`-like and
//! `sum`/`avg` functions no result, with Prometheus's warning. Results of
//! `rate`, `increase`, `delta`, `irate` and `idelta` are gauge histograms
//! at the coarsest schema of the window. Extrapolation is the floats'
//! (to the window's edges, at most half an average interval beyond the
//! samples), a counter's start stopping where its count would reach zero.

use std::sync::Arc;

use tsdb::model::histogram::{CounterResetHint, FloatHistogram};
use tsdb::model::{HistogramSample, Sample};

use super::{Rollup, is_start_timestamp_reset};
use crate::ast::quote_string;
use crate::eval::hstats::{Combine, combine};
use crate::value::Annotations;

/// A window's result for a series holding histograms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Out {
    Float(f64),
    Hist(FloatHistogram),
}

/// Whether `f` has a result for windows holding histograms (otherwise
/// histograms are ignored and the float result stands).
pub(crate) fn handles_histograms(f: Rollup) -> bool {
    matches!(
        f,
        Rollup::Rate
            | Rollup::Increase
            | Rollup::Delta
            | Rollup::Irate
            | Rollup::Idelta
            | Rollup::SumOverTime
            | Rollup::AvgOverTime
            | Rollup::CountOverTime
            | Rollup::PresentOverTime
            | Rollup::LastOverTime
            | Rollup::FirstOverTime
            | Rollup::TsOfLastOverTime
            | Rollup::TsOfFirstOverTime
            | Rollup::Changes
            | Rollup::Resets
    )
}

/// `f` over one window of `floats` and `hists` (`(start, end]`, both
/// ascending, at least one histogram). `None` for no result.
pub(crate) fn eval(
    f: Rollup,
    floats: &[Sample],
    hists: &[HistogramSample],
    start: i64,
    end: i64,
    name: &str,
    ann: &mut Annotations,
) -> Option<Out> {
    match f {
        Rollup::CountOverTime => Some(Out::Float((floats.len() + hists.len()) as f64)),
        Rollup::PresentOverTime => Some(Out::Float(1.0)),
        Rollup::LastOverTime => match (floats.last(), hists.last()) {
            (Some(x), Some(h)) if x.t > h.t => Some(Out::Float(x.v)),
            (_, Some(h)) => Some(Out::Hist((*h.h).clone())),
            (Some(x), None) => Some(Out::Float(x.v)),
            (None, None) => None,
        },
        Rollup::FirstOverTime => match (floats.first(), hists.first()) {
            (Some(x), Some(h)) if x.t < h.t => Some(Out::Float(x.v)),
            (_, Some(h)) => Some(Out::Hist((*h.h).clone())),
            (Some(x), None) => Some(Out::Float(x.v)),
            (None, None) => None,
        },
        Rollup::TsOfLastOverTime => {
            let t = floats.last().map(|x| x.t).max(hists.last().map(|h| h.t))?;
            Some(Out::Float(t as f64 / 1000.0))
        }
        Rollup::TsOfFirstOverTime => {
            let t = floats
                .first()
                .map(|x| x.t)
                .into_iter()
                .chain(hists.first().map(|h| h.t))
                .min()?;
            Some(Out::Float(t as f64 / 1000.0))
        }
        Rollup::Changes | Rollup::Resets => Some(Out::Float(super::native_ext::transitions(
            f, None, floats, hists,
        ))),
        Rollup::Irate | Rollup::Idelta => instant(f, floats, hists, name, ann),
        _ if !floats.is_empty() => mixed_kinds(name, ann),
        Rollup::SumOverTime | Rollup::AvgOverTime => {
            let how = if f == Rollup::AvgOverTime {
                Combine::Mean
            } else {
                Combine::Sum
            };
            let Ok(out) = combine(hists.iter().map(|h| &*h.h), how) else {
                return mixed_schemas(name, ann);
            };
            Some(Out::Hist(out?.annotated(ann)))
        }
        Rollup::Rate | Rollup::Increase | Rollup::Delta => {
            extrapolated(f, hists, start, end, name, ann)
        }
        _ => None,
    }
}

/// `irate` or `idelta`: from the window's last two samples, which must
/// both be histograms.
pub(crate) fn instant(
    f: Rollup,
    floats: &[Sample],
    hists: &[HistogramSample],
    name: &str,
    ann: &mut Annotations,
) -> Option<Out> {
    let [.., prev, last] = hists else {
        if floats.is_empty() {
            return None;
        }
        return mixed_kinds(name, ann);
    };
    if floats.last().is_some_and(|x| x.t > prev.t) {
        return mixed_kinds(name, ann);
    }
    let gauges = [prev, last].map(|h| h.h.hint == CounterResetHint::Gauge);
    if f == Rollup::Irate && gauges.contains(&true) {
        ann.warn(format_args!(
            "this native histogram metric is not a counter: {}",
            quote_string(name)
        ));
    } else if f == Rollup::Idelta && gauges.contains(&false) {
        ann.warn(format_args!(
            "this native histogram metric is not a gauge: {}",
            quote_string(name)
        ));
    }
    let mut d = (*last.h).clone();
    let reset = f == Rollup::Irate && pair_resets(hists, hists.len() - 1).0;
    if !reset {
        match d.add_assign(&prev.h, true) {
            Err(_) => return mixed_schemas(name, ann),
            Ok(true) => ann.info(format_args!(
                "mismatched custom buckets were reconciled during subtraction"
            )),
            Ok(false) => {}
        }
    }
    if f == Rollup::Irate {
        d.scale(1000.0 / (last.t - prev.t) as f64);
    }
    Some(Out::Hist(gauge(d)))
}

pub(super) fn mixed_kinds(name: &str, ann: &mut Annotations) -> Option<Out> {
    ann.warn(format_args!(
        "encountered a mix of histograms and floats for metric name {}",
        quote_string(name)
    ));
    None
}

pub(super) fn mixed_schemas(name: &str, ann: &mut Annotations) -> Option<Out> {
    ann.warn(format_args!(
        "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {}",
        quote_string(name)
    ));
    None
}

fn gauge(mut h: FloatHistogram) -> FloatHistogram {
    h.hint = CounterResetHint::Gauge;
    h.compact(0);
    h
}

fn extrapolated(
    f: Rollup,
    hists: &[HistogramSample],
    start: i64,
    end: i64,
    name: &str,
    ann: &mut Annotations,
) -> Option<Out> {
    let (first, last) = (hists.first()?, hists.last()?);
    let mut w = HistWindow {
        first,
        last,
        count: hists.len(),
        overlap: false,
        first_reset: false,
        corrections: Vec::new(),
        correction_failed: false,
    };
    // (Start timestamps show resets too; overlapping ones get a warning.)
    for i in (1..hists.len()).filter(|_| f != Rollup::Delta) {
        let (reset, overlaps) = pair_resets(hists, i);
        w.overlap |= overlaps;
        if reset && i == 1 {
            w.first_reset = true;
        } else if reset {
            w.corrections.push(&hists[i - 1].h);
        }
    }
    from_window(f, &w, start, end, name, ann)
}

/// What `rate`, `increase` and `delta` take of a window of histograms
/// (raw samples, or a tier's summary of them).
pub(crate) struct HistWindow<'a> {
    pub first: &'a HistogramSample,
    pub last: &'a HistogramSample,
    /// Samples in the window.
    pub count: usize,
    /// Some start time overlaps the previous sample.
    pub overlap: bool,
    /// The first two samples are a counter reset.
    pub first_reset: bool,
    /// The histogram before each later reset, in time order (a tier
    /// keeps their sum).
    pub corrections: Vec<&'a FloatHistogram>,
    /// Those histograms mix exponential and custom buckets.
    pub correction_failed: bool,
}

/// `rate`, `increase` or `delta` of the window `w` of `(start, end]`.
pub(crate) fn from_window(
    f: Rollup,
    w: &HistWindow<'_>,
    start: i64,
    end: i64,
    name: &str,
    ann: &mut Annotations,
) -> Option<Out> {
    let (first, last) = (w.first, w.last);
    let counter = f != Rollup::Delta;
    // A counter whose first sample started inside the window was 0 at
    // its start: no extrapolation to the left, and one sample is enough.
    let started_inside = counter && first.st != 0 && first.st > start && first.st < first.t;
    if w.count < 2 && !started_inside {
        return None;
    }
    let is_gauge = first.h.hint == CounterResetHint::Gauge;
    if counter && is_gauge {
        ann.warn(format_args!(
            "this native histogram metric is not a counter: {}",
            quote_string(name)
        ));
    } else if !counter && !is_gauge {
        ann.warn(format_args!(
            "this native histogram metric is not a gauge: {}",
            quote_string(name)
        ));
    }
    if counter && w.overlap {
        ann.warn(format_args!(
            "sample has start time that overlaps with previous sample timestamp for metric {}",
            quote_string(name)
        ));
    }
    // last − first + every value a counter reset took away; a reset right
    // after the first sample cancels it, so that an incompatible first
    // sample (other bucket kind) only lends its count to extrapolation.
    let mut result = (*last.h).clone();
    if counter {
        if w.correction_failed {
            return mixed_schemas(name, ann);
        }
        for c in &w.corrections {
            if result.add_assign(c, false).is_err() {
                return mixed_schemas(name, ann);
            }
        }
    }
    if !(counter && w.first_reset) {
        match result.add_assign(&first.h, true) {
            Err(_) => return mixed_schemas(name, ann),
            Ok(true) => ann.info(format_args!(
                "mismatched custom buckets were reconciled during subtraction"
            )),
            Ok(false) => {}
        }
    }
    let mut sampled = (last.t - first.t) as f64 / 1000.0;
    let avg = if w.count > 1 {
        sampled / (w.count - 1) as f64
    } else {
        0.0
    };
    let threshold = avg * 1.1;
    let mut to_start = (first.t - start) as f64 / 1000.0;
    let mut to_end = (end - last.t) as f64 / 1000.0;
    if started_inside {
        to_start = 0.0;
        sampled = (last.t - first.st) as f64 / 1000.0;
        if result.add_assign(&first.h, false).is_err() {
            return mixed_schemas(name, ann);
        }
    } else {
        if to_start >= threshold {
            to_start = avg / 2.0;
        }
        // A counter's count does not extrapolate below zero.
        if counter && result.count > 0.0 && first.h.count >= 0.0 {
            to_start = to_start.min(sampled * (first.h.count / result.count));
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = if sampled != 0.0 {
        (sampled + to_start + to_end) / sampled
    } else {
        1.0
    };
    if f == Rollup::Rate {
        factor /= (end - start) as f64 / 1000.0;
    }
    result.scale(factor);
    Some(Out::Hist(gauge(result)))
}

/// Whether `hists[i]` follows a counter reset (its counts dropped, or its
/// start timestamp shows a restart), and whether its start time overlaps
/// the previous sample (as for floats: [`super::rate::pair_resets`]).
fn pair_resets(hists: &[HistogramSample], i: usize) -> (bool, bool) {
    let (prev, cur) = (&hists[i - 1], &hists[i]);
    let overlap = cur.st != 0 && cur.st < prev.t && cur.st != prev.st;
    let reset =
        cur.h.detect_reset(&prev.h) || is_start_timestamp_reset(prev.st, prev.t, cur.st, cur.t);
    (reset, overlap)
}

/// A histogram result as a step point.
pub(crate) fn point(t: i64, h: FloatHistogram) -> HistogramSample {
    HistogramSample {
        t,
        st: 0,
        h: Arc::new(h),
    }
}

#[cfg(test)]
mod tests {
    use tsdb::model::histogram::Span;

    use super::*;

    fn h(t: i64, count: f64) -> HistogramSample {
        point(
            t,
            FloatHistogram {
                count,
                sum: count,
                positive_spans: vec![Span::new(0, 1)],
                positive_buckets: vec![count],
                ..FloatHistogram::default()
            },
        )
    }

    fn count(o: Option<Out>) -> Option<f64> {
        match o {
            Some(Out::Hist(h)) => Some(h.count),
            Some(Out::Float(v)) => Some(v),
            None => None,
        }
    }

    #[test]
    fn rate_and_increase_extrapolate_and_correct_resets() {
        let mut ann = Annotations::default();
        // 10, 20, a reset to 5, then 15, 15 s apart, in the window (0, 60 s].
        let hs = [
            h(15_000, 10.0),
            h(30_000, 20.0),
            h(45_000, 5.0),
            h(60_000, 15.0),
        ];
        let inc = count(eval(Rollup::Increase, &[], &hs, 0, 60_000, "m", &mut ann));
        // (15 - 10) + 20 (reset) = 25 over 45 s; to_start 15 s ≥ 1.1·15?
        // no (15 < 16.5), so the window extends to 0: factor 60/45.
        let close = |got: Option<f64>, want: f64| got.is_some_and(|g| (g - want).abs() < 1e-9);
        assert!(close(inc, 25.0 * 60.0 / 45.0), "{inc:?}");
        let rate = count(eval(Rollup::Rate, &[], &hs, 0, 60_000, "m", &mut ann));
        assert!(close(rate, 25.0 / 45.0), "{rate:?}");
        assert!(ann.warnings.is_empty(), "{ann:?}");
    }

    #[test]
    fn mixed_windows_warn_and_both_kinds_count() {
        let mut ann = Annotations::default();
        let floats = [Sample::new(1000, 1.0)];
        let hs = [h(2000, 3.0)];
        assert_eq!(
            eval(Rollup::SumOverTime, &floats, &hs, 0, 5000, "m", &mut ann),
            None
        );
        assert_eq!(
            ann.warnings.iter().next().map(String::as_str),
            Some(
                "PromQL warning: encountered a mix of histograms and floats for metric name \"m\""
            )
        );
        let c = eval(Rollup::CountOverTime, &floats, &hs, 0, 5000, "m", &mut ann);
        assert_eq!(count(c), Some(2.0));
        let last = eval(Rollup::LastOverTime, &floats, &hs, 0, 5000, "m", &mut ann);
        assert_eq!(count(last), Some(3.0));
    }

    #[test]
    fn delta_of_a_counter_warns() {
        let mut ann = Annotations::default();
        let hs = [h(0, 1.0), h(10_000, 2.0)];
        eval(Rollup::Delta, &[], &hs, -1, 10_000, "m", &mut ann);
        assert_eq!(
            ann.warnings.iter().next().map(String::as_str),
            Some("PromQL warning: this native histogram metric is not a gauge: \"m\"")
        );
    }
}
