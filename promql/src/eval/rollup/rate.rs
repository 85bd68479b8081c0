//! `rate`, `increase` and `delta` — extrapolated over a plain window, or
//! exact between boundary values for `anchored` / `smoothed` — and the
//! two-sample `irate` and `idelta`.

use tsdb::model::Sample;

use super::{RangeMode, RollupWindow, is_start_timestamp_reset};
use crate::ast::quote_string;
use crate::value::Annotations;

/// Which of the three window-difference functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    /// Per-second increase of a counter.
    Rate,
    /// Increase of a counter over the window.
    Increase,
    /// Difference of a gauge over the window.
    Delta,
}

impl Flavor {
    /// Counters never decrease: a drop is a reset, and they never go below 0.
    fn is_counter(self) -> bool {
        self != Flavor::Delta
    }

    fn per_second(self) -> bool {
        self == Flavor::Rate
    }
}

/// `rate`/`increase`/`delta` of one window, by its range mode.
/// `metric_name` names the series in the start-time overlap warning.
pub(super) fn rate(
    w: &RollupWindow<'_>,
    flavor: Flavor,
    metric_name: &str,
    ann: &mut Annotations,
) -> Option<f64> {
    let diff = match w.mode {
        RangeMode::Plain => return extrapolated(w, flavor, metric_name, ann),
        RangeMode::Anchored => anchored_bounds(w),
        RangeMode::Smoothed => smoothed_bounds(w, flavor.is_counter()),
    };
    let (left, right) = diff?;
    let mut result = right - left;
    if flavor.is_counter() {
        result += reset_correction(left, w.samples, right);
    }
    if flavor.per_second() {
        result /= range_seconds(w);
    }
    Some(result)
}

/// The window's length in seconds.
fn range_seconds(w: &RollupWindow<'_>) -> f64 {
    (w.end - w.start) as f64 / 1000.0
}

/// What extrapolation needs of a window: its first and last sample, how
/// many there are, and the difference between them with, for counters,
/// the value before every reset added back.
#[derive(Debug, Clone, Copy)]
pub(super) struct Endpoints {
    pub first: Sample,
    /// The first sample's start timestamp (0 = none; always 0 for `delta`).
    pub first_st: i64,
    pub last: Sample,
    pub count: usize,
    pub difference: f64,
    /// Some sample's start time overlaps the previous sample.
    pub overlap: bool,
}

/// Prometheus's extrapolated difference of a plain window's samples (see
/// [`extrapolate`]).
fn extrapolated(
    w: &RollupWindow<'_>,
    flavor: Flavor,
    metric_name: &str,
    ann: &mut Annotations,
) -> Option<f64> {
    let s = w.samples;
    let (first, last) = (*s.first()?, *s.last()?);
    let counter = flavor.is_counter();
    let sts = if counter { w.sts } else { &[] };
    let mut difference = last.v - first.v;
    let mut overlap = false;
    if counter {
        match w.resets {
            Some(found) => {
                for &i in found.at {
                    difference += s[i - 1].v;
                }
                overlap = found.overlap;
            }
            None => {
                for i in 1..s.len() {
                    let (reset, overlaps) = pair_resets(s, sts, i);
                    overlap |= overlaps;
                    if reset {
                        difference += s[i - 1].v;
                    }
                }
            }
        }
    }
    let e = Endpoints {
        first,
        first_st: sts.first().copied().unwrap_or(0),
        last,
        count: s.len(),
        difference,
        overlap,
    };
    extrapolate(&e, w.start, w.end, flavor, metric_name, ann)
}

/// Prometheus's extrapolated difference over the window `(start, end]`.
/// The difference between the last and first sample (plus, for counters,
/// the value before every reset) is extended towards each window boundary
/// by the distance to it if that is under 1.1 average sample intervals,
/// otherwise by half an interval; a counter is not extended to before its
/// extrapolated zero.
///
/// Counters with start timestamps: when the first sample's start lies
/// inside the window the counter is taken to be 0 there instead of
/// extrapolating to the left (then one sample is enough). A start time
/// before the previous sample's time that is not the previous start
/// (overlapping intervals) gets a warning.
pub(super) fn extrapolate(
    e: &Endpoints,
    start: i64,
    end: i64,
    flavor: Flavor,
    metric_name: &str,
    ann: &mut Annotations,
) -> Option<f64> {
    let (first, last) = (e.first, e.last);
    let counter = flavor.is_counter();
    let mut result = e.difference;
    if counter && e.overlap {
        ann.warn(format_args!(
            "sample has start time that overlaps with previous sample timestamp for metric {}",
            quote_string(metric_name)
        ));
    }
    let mut to_start = (first.t - start) as f64 / 1000.0;
    let mut to_end = (end - last.t) as f64 / 1000.0;
    let mut sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_interval = if e.count > 1 {
        sampled / (e.count - 1) as f64
    } else {
        0.0
    };
    let threshold = avg_interval * 1.1;
    let st = if counter { e.first_st } else { 0 };
    match st {
        st if st != 0 && st > start && st < first.t => {
            // The counter started inside the window: it was 0 at `st`.
            to_start = 0.0;
            sampled = (last.t - st) as f64 / 1000.0;
            result += first.v;
        }
        _ if e.count < 2 => return None,
        _ => {
            if to_start >= threshold {
                to_start = avg_interval / 2.0;
            }
            if counter && result > 0.0 && first.v >= 0.0 {
                // Where the counter would have been zero, going back at
                // this slope.
                let to_zero = sampled * (first.v / result);
                if to_zero < to_start {
                    to_start = to_zero;
                }
            }
        }
    }
    if to_end >= threshold {
        to_end = avg_interval / 2.0;
    }
    let mut factor = if sampled != 0.0 {
        (sampled + to_start + to_end) / sampled
    } else {
        1.0
    };
    if flavor.per_second() {
        factor /= (end - start) as f64 / 1000.0;
    }
    Some(result * factor)
}

/// Whether `s[i]` follows a counter reset (its value dropped, or its start
/// timestamp shows a restart), and whether its start time overlaps the
/// previous sample (set, before the previous sample, and not the previous
/// start). `sts` is parallel to `s` or empty.
pub(super) fn pair_resets(s: &[Sample], sts: &[i64], i: usize) -> (bool, bool) {
    let (prev, cur) = (s[i - 1], s[i]);
    let mut reset = cur.v < prev.v;
    let mut overlap = false;
    if let (Some(&prev_st), Some(&cur_st)) = (sts.get(i - 1), sts.get(i)) {
        overlap = cur_st != 0 && cur_st < prev.t && cur_st != prev_st;
        reset |= is_start_timestamp_reset(prev_st, prev.t, cur_st, cur.t);
    }
    (reset, overlap)
}

/// `anchored`: the value at `start` is the last sample at or before it
/// (else the first sample in the window), the value at `end` the last
/// sample in the window. None for an empty window.
fn anchored_bounds(w: &RollupWindow<'_>) -> Option<(f64, f64)> {
    let (first, last) = (w.samples.first()?, w.samples.last()?);
    let left = w.before.filter(|b| b.t <= w.start).map_or(first.v, |b| b.v);
    Some((left, last.v))
}

/// `smoothed`: the values at `start` and `end`, each interpolated between
/// the samples around it (the window's own or `before`/`after`), or the
/// nearest sample inside the window when there is none outside. None
/// unless some sample lies after `start` and some at or before `end`.
fn smoothed_bounds(w: &RollupWindow<'_>, counter: bool) -> Option<(f64, f64)> {
    let (start, end) = (w.start, w.end);
    let before = w.before.filter(|b| b.t <= start);
    let after = w.after.filter(|a| a.t > end);
    // The first sample after `start` and the last at or before `end`.
    let first_after_start = w.samples.first().or(after.as_ref())?;
    let last_before_end = w.samples.last().or(before.as_ref())?;
    let left = match before {
        Some(b) if b.t < start => interpolate(b, *first_after_start, start, counter),
        Some(b) => b.v,
        None => first_after_start.v,
    };
    let right = match after {
        Some(a) if last_before_end.t < end => interpolate(*last_before_end, a, end, counter),
        _ => last_before_end.v,
    };
    Some((left, right))
}

/// The value at `t` on the line through `p1` and `p2`. For a counter that
/// dropped between them the line starts from 0 at `p1` (a reset).
fn interpolate(p1: Sample, p2: Sample, t: i64, counter: bool) -> f64 {
    let y1 = if counter && p2.v < p1.v { 0.0 } else { p1.v };
    y1 + (p2.v - y1) * (t - p1.t) as f64 / (p2.t - p1.t) as f64
}

/// What counter resets took away along `left, samples…, right`: the value
/// before every drop.
fn reset_correction(left: f64, samples: &[Sample], right: f64) -> f64 {
    let mut correction = 0.0;
    let mut prev = left;
    for v in samples.iter().map(|s| s.v).chain(std::iter::once(right)) {
        if v < prev {
            correction += prev;
        }
        prev = v;
    }
    correction
}

/// `irate` (`per_second`) / `idelta` of the last two samples. A drop, or
/// a restart the start timestamps show (`sts`: parallel to `s`, or empty),
/// is a counter reset for `irate`: the increase is then the last value.
pub(super) fn instant(s: &[Sample], sts: &[i64], per_second: bool) -> Option<f64> {
    let [.., prev, last] = s else {
        return None;
    };
    let (prev_st, last_st) = match sts {
        [.., prev_st, last_st] if sts.len() == s.len() => (*prev_st, *last_st),
        _ => (0, 0),
    };
    last_two(*prev, prev_st, *last, last_st, per_second)
}

/// [`instant`] of the two samples `prev` and `last` with their start
/// timestamps (0 = none).
pub(super) fn last_two(
    prev: Sample,
    prev_st: i64,
    last: Sample,
    last_st: i64,
    per_second: bool,
) -> Option<f64> {
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    let restarted = is_start_timestamp_reset(prev_st, prev.t, last_st, last.t);
    let mut result = if per_second && (last.v < prev.v || restarted) {
        last.v
    } else {
        last.v - prev.v
    };
    if per_second {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{Case, check_cases, load};
    use super::super::{RangeMode, RangeMode::*, Rollup::*};

    #[test]
    fn extrapolated_rate_increase_delta() {
        // functions.test "Tests for increase()".
        let foo = load("5m", "0+10x10");
        let bar = load("5m", "0+18x5 0+18x5");
        let dings = load("5m", "10+10x10");
        let bumms = load("5m", "1+10x10");
        let reset = load("5m", "0 1 2 3 2 3 4");
        // functions.test "Tests for rate()".
        let middle = load("5m", "0+27x4 0+27x5");
        let end = load("5m", "0+10x9 0 10");
        let window = load("5m", "0+80x10");
        let offset_a = load("5m", "0+10x10");
        let offset_b = load("5m", "0+20x10");
        // functions.test "Tests for delta()".
        let up = load("5m", "0 50 100 150 200");
        let down = load("5m", "200 150 100 50 0");
        // name_label_dropping.test.
        let nl = load("5m", "0 60 120");
        check_cases(&[
            Case::new("increase_foo", Increase, &foo, "50m", "50m").want(100.0),
            Case::new("increase_bar", Increase, &bar, "50m", "50m").want(160.0),
            Case::new("increase_dings", Increase, &dings, "50m", "50m").want(100.0),
            Case::new("increase_bumms", Increase, &bumms, "50m", "50m").want(100.0),
            Case::new("increase_foo_100m", Increase, &foo, "50m", "100m").want(100.0),
            Case::new("increase_bar_100m", Increase, &bar, "50m", "100m").want(162.0),
            Case::new("increase_dings_100m", Increase, &dings, "50m", "100m").want(105.0),
            Case::new("increase_bumms_100m", Increase, &bumms, "50m", "100m").want(101.0),
            Case::new("increase_reset", Increase, &reset, "30m", "30m").want(7.0),
            Case::new("rate_reset_middle", Rate, &middle, "50m", "50m").want(0.08),
            Case::new("rate_reset_end_one_sample", Rate, &end, "50m", "5m").none(),
            Case::new("rate_reset_end", Rate, &end, "50m", "6m").want(0.0),
            Case::new("rate_window", Rate, &window, "50m", "50m").want(0.26666666666666666),
            Case::new("rate_offset_a", Rate, &offset_a, "45m", "10m").want(0.03333333333333333),
            Case::new("rate_offset_b", Rate, &offset_b, "45m", "10m").want(0.06666666666666667),
            Case::new("delta_up", Delta, &up, "20m", "20m").want(200.0),
            Case::new("delta_down", Delta, &down, "20m", "20m").want(-200.0),
            Case::new("rate_name_drop", Rate, &nl, "10m", "10m").want(0.2),
            Case::new("rate_empty", Rate, &[], "10m", "10m").none(),
        ]);
    }

    #[test]
    fn rate_zero_cutoff() {
        // functions.test: "Zero cutoff for left-side extrapolation".
        let want_10m = [0.5, 0.55, 0.6, 0.6, 0.6, 0.6];
        for (i, want) in want_10m.iter().enumerate() {
            let s = load("4m", &format!("{}+240x10", 60 * i));
            check_cases(&[
                Case::new("zero_cutoff_10m", Rate, &s, "10m", "20m").want(*want),
                Case::new("half_interval_50m", Rate, &s, "50m", "20m").want(0.6),
            ]);
        }
    }

    #[test]
    fn anchored_and_smoothed_increase() {
        // extended_vectors.test "PROM-52: Complete dataset" and "Partial".
        let complete = load("15s", "1+1x4 9+1x4");
        let partial = load("15s", "1+1x2 _ _ 9+1x4");
        let at = [
            "5s", "20s", "35s", "50s", "65s", "80s", "95s", "110s", "125s",
        ];
        let nan = f64::NAN;
        let tables: [(&str, RangeMode, &[f64], &[f64]); 3] = [
            (
                "plain",
                Plain,
                &[nan, 1.833333333, 2.833333333, 4.0, 4.0, 8.0, 8.0, 8.0, 4.0],
                &[
                    nan,
                    1.833333333,
                    2.833333333,
                    3.166666666,
                    2.166666666,
                    8.0,
                    1.833333333,
                    2.833333333,
                    4.0,
                ],
            ),
            (
                "anchored",
                Anchored,
                &[0.0, 1.0, 2.0, 3.0, 4.0, 7.0, 7.0, 7.0, 7.0],
                &[0.0, 1.0, 2.0, 2.0, 2.0, 7.0, 7.0, 8.0, 9.0],
            ),
            (
                "smoothed",
                Smoothed,
                &[
                    0.333333333,
                    1.333333333,
                    2.333333333,
                    3.333333333,
                    5.0,
                    7.0,
                    7.0,
                    7.0,
                    6.0,
                ],
                &[
                    0.333333333,
                    1.333333333,
                    2.666666666,
                    4.666666666,
                    6.333333333,
                    7.0,
                    6.666666666,
                    5.666666666,
                    4.666666666,
                ],
            ),
        ];
        for (name, mode, want_complete, want_partial) in tables {
            for (i, t) in at.iter().enumerate() {
                let c = Case::new(name, Increase, &complete, t, "1m").mode(mode);
                let p = Case::new(name, Increase, &partial, t, "1m").mode(mode);
                // NaN marks "no result" in these tables.
                let c = if want_complete[i].is_nan() {
                    c.none()
                } else {
                    c.want(want_complete[i])
                };
                let p = if want_partial[i].is_nan() {
                    p.none()
                } else {
                    p.want(want_partial[i])
                };
                check_cases(&[c, p]);
            }
        }
    }

    #[test]
    fn extended_counter_resets() {
        // extended_vectors.test "Basic test with counter resets" and others.
        let id1 = load("1m", "1+1x4 1+1x4");
        let id2 = load("1m", "3 2+2x9");
        let id3 = load("1m", "5+3x2 3+3x6");
        let open = load("1m", "1 2 _ 4 5");
        let down = load("1m", "9 8 5 4");
        let jump = load("15s", "100 10");
        let gauge1 = load("1m", "11 -1 100 0");
        let gauge2 = load("1m", "0 0 100 0 0 11 -1");
        let late = load("10s", "_ 5+1x4");
        check_cases(&[
            Case::new("left_open_smoothed", Increase, &open, "2m", "1m")
                .mode(Smoothed)
                .want(1.0),
            Case::new("left_open_anchored", Increase, &open, "2m", "1m")
                .mode(Anchored)
                .none(),
            Case::new("plain_one_sample", Increase, &id1, "1m30s", "1m").none(),
            Case::new("smoothed_id1", Increase, &id1, "1m30s", "1m")
                .mode(Smoothed)
                .want(1.0),
            Case::new("smoothed_id2", Increase, &id2, "1m30s", "1m")
                .mode(Smoothed)
                .want(2.0),
            Case::new("smoothed_id3", Increase, &id3, "1m30s", "1m")
                .mode(Smoothed)
                .want(3.0),
            Case::new("anchored_id1", Increase, &id1, "1m30s", "1m")
                .mode(Anchored)
                .want(1.0),
            Case::new("anchored_id2", Increase, &id2, "1m30s", "1m")
                .mode(Anchored)
                .want(2.0),
            Case::new("anchored_id3", Increase, &id3, "1m30s", "1m")
                .mode(Anchored)
                .want(3.0),
            Case::new("delta_plain", Delta, &id2, "1m30s", "1m").none(),
            Case::new("delta_anchored_id1", Delta, &id1, "1m30s", "1m")
                .mode(Anchored)
                .want(1.0),
            Case::new("delta_anchored_id2", Delta, &id2, "1m30s", "1m")
                .mode(Anchored)
                .want(-1.0),
            Case::new("delta_anchored_id3", Delta, &id3, "3m", "1m")
                .mode(Anchored)
                .want(-8.0),
            Case::new("delta_anchored_id3b", Delta, &id3, "3m30s", "1m")
                .mode(Anchored)
                .want(-8.0),
            Case::new("increase_5m_id2", Increase, &id2, "6m", "5m").want(10.0),
            Case::new("increase_5m_id3", Increase, &id3, "6m", "5m").want(15.0),
            Case::new("sm_6m15_id1", Increase, &id1, "6m15s", "5m")
                .mode(Smoothed)
                .want(5.0),
            Case::new("sm_6m15_id2", Increase, &id2, "6m15s", "5m")
                .mode(Smoothed)
                .want(10.0),
            Case::new("sm_6m15_id3", Increase, &id3, "6m15s", "5m")
                .mode(Smoothed)
                .want(15.0),
            Case::new("sm_6m_id3", Increase, &id3, "6m", "5m")
                .mode(Smoothed)
                .want(15.0),
            Case::new("an_5m_id1", Increase, &id1, "5m", "5m")
                .mode(Anchored)
                .want(5.0),
            Case::new("an_5m_id3", Increase, &id3, "5m", "5m")
                .mode(Anchored)
                .want(15.0),
            Case::new("an_15m_gone", Increase, &id3, "15m", "5m")
                .mode(Anchored)
                .none(),
            Case::new("delta_sm_id1", Delta, &gauge1, "5m30s", "5m")
                .mode(Smoothed)
                .want(-5.0),
            Case::new("delta_sm_id2", Delta, &gauge2, "5m30s", "5m")
                .mode(Smoothed)
                .want(5.0),
            Case::new("delta_sm_id1b", Delta, &gauge1, "5m45s", "5m")
                .mode(Smoothed)
                .want(-2.0),
            Case::new("delta_sm_id2b", Delta, &gauge2, "5m45s", "5m")
                .mode(Smoothed)
                .want(2.0),
            Case::new("both_edges_reset", Increase, &down, "2m15s", "2m")
                .mode(Smoothed)
                .want(12.0),
            Case::new("rate_across_reset", Rate, &jump, "12s", "10s")
                .mode(Smoothed)
                .want(0.666666666666667),
            Case::new("only_after", Rate, &late, "5s", "5s")
                .mode(Smoothed)
                .none(),
            Case::new("only_after_inc", Increase, &late, "5s", "5s")
                .mode(Smoothed)
                .none(),
            Case::new("no_before", Increase, &late, "15s", "10s")
                .mode(Smoothed)
                .want(0.5),
            Case::new("only_before", Rate, &late, "60s", "5s")
                .mode(Smoothed)
                .none(),
            Case::new("only_before_inc", Increase, &late, "60s", "5s")
                .mode(Smoothed)
                .none(),
        ]);
    }

    #[test]
    fn extended_float_references_of_histogram_cases() {
        // The float references spelled out in extended_vectors.test's
        // native-histogram cases.
        let at_end = load("30s", "5 10 3");
        let two = load("30s", "5 3");
        let double = load("10s", "10 5 2 4");
        let same_reset = load("20s", "10 5");
        let boundary = load("10s", "_ 396 110 194");
        let right = load("10s", "5 10 3");
        let counter = load("15s", "1+1x7");
        check_cases(&[
            Case::new("reset_at_end", Increase, &at_end, "70s", "70s")
                .mode(Anchored)
                .want(8.0),
            Case::new("two_sample_reset", Increase, &two, "30s", "30s")
                .mode(Anchored)
                .want(3.0),
            Case::new("double_reset", Increase, &double, "15s", "14s")
                .mode(Smoothed)
                .want(5.5),
            Case::new("same_reset", Increase, &same_reset, "15s", "10s")
                .mode(Smoothed)
                .want(2.5),
            Case::new("left_boundary", Rate, &boundary, "20500ms", "1s")
                .mode(Smoothed)
                .want(9.7),
            Case::new("right_boundary", Rate, &right, "15s", "10s")
                .mode(Smoothed)
                .want(0.4),
            Case::new("anchored_rate", Rate, &counter, "50s", "1m")
                .mode(Anchored)
                .want(0.05),
            Case::new("smoothed_rate", Rate, &counter, "50s", "1m")
                .mode(Smoothed)
                .want(0.05555555555555555),
            Case::new("smoothed_at_0", Rate, &counter, "0s", "1m")
                .mode(Smoothed)
                .want(0.0),
            Case::new("smoothed_at_15", Rate, &counter, "15s", "1m")
                .mode(Smoothed)
                .want(0.016666666666666666),
        ]);
    }

    #[test]
    fn irate_and_idelta() {
        // functions.test "Tests for irate()" and "Tests for idelta()".
        let foo = load("5m", "0+10x10");
        let bar = load("5m", "0+10x5 0+10x5");
        let nan = load("5m", "1 NaN NaN 5 11");
        let up = load("5m", "0 50 100 150");
        let back = load("5m", "0 50 100 50");
        let mut cases = vec![
            Case::new("irate_foo", Irate, &foo, "50m", "50m").want(0.03333333333333333),
            Case::new("irate_bar", Irate, &bar, "50m", "50m").want(0.03333333333333333),
            Case::new("irate_foo_30m", Irate, &foo, "30m", "50m").want(0.03333333333333333),
            Case::new("irate_reset", Irate, &bar, "30m", "50m").want(0.0),
            Case::new("idelta_up", Idelta, &up, "20m", "20m").want(50.0),
            Case::new("idelta_back", Idelta, &back, "20m", "20m").want(-50.0),
        ];
        // irate / idelta range 0..20m step 5m over [15m1s]: _ NaN NaN NaN x.
        for (i, t) in ["0s", "5m", "10m", "15m", "20m"].into_iter().enumerate() {
            let (r, d) = match i {
                0 => (None, None),
                4 => (Some(0.02), Some(6.0)),
                _ => (Some(f64::NAN), Some(f64::NAN)),
            };
            cases.push(Case::new("irate_nan", Irate, &nan, t, "15m1s").want_opt(r));
            cases.push(Case::new("idelta_nan", Idelta, &nan, t, "15m1s").want_opt(d));
        }
        check_cases(&cases);
    }

    proptest::proptest! {
        /// Resets found once per series give the same bits as a scan of
        /// each window.
        #[test]
        fn precomputed_resets_match_the_scan(
            values in proptest::collection::vec(0u8..20, 2..60),
            kinds in proptest::collection::vec(0u8..4, 60),
            windows in proptest::collection::vec((0usize..60, 1usize..30), 1..10),
        ) {
            use super::super::{CounterResets, RollupWindow};
            use crate::value::Annotations;
            use tsdb::model::Sample;
            let samples: Vec<Sample> = values
                .iter()
                .enumerate()
                .map(|(i, &v)| Sample::new(i as i64 * 1000 + 1000, f64::from(v) * 1.5))
                .collect();
            // Start times: none, a cumulative start, the previous sample
            // (delta), or one overlapping the previous sample.
            let sts: Vec<i64> = samples
                .iter()
                .enumerate()
                .map(|(i, s)| match kinds[i] {
                    0 => 0,
                    1 => 500,
                    2 => s.t - 1000,
                    _ => s.t - 1500,
                })
                .collect();
            let mut sorted = windows.clone();
            sorted.sort();
            let mut found = CounterResets::of_series(&samples, &sts);
            for (lo, len) in sorted {
                let lo = lo.min(samples.len() - 1);
                let hi = (lo + len).min(samples.len());
                let base = RollupWindow {
                    samples: &samples[lo..hi],
                    sts: &sts[lo..hi],
                    start: samples[lo].t - 700,
                    end: samples[hi - 1].t + 300,
                    before: None,
                    before_st: 0,
                    after: None,
                    mode: RangeMode::Plain,
                    resets: None,
                };
                let fast = RollupWindow { resets: Some(found.window(lo, hi)), ..base };
                for flavor in [super::Flavor::Rate, super::Flavor::Increase] {
                    let (mut a, mut b) = (Annotations::default(), Annotations::default());
                    let want = super::rate(&base, flavor, "m", &mut a);
                    let got = super::rate(&fast, flavor, "m", &mut b);
                    proptest::prop_assert_eq!(want.map(f64::to_bits), got.map(f64::to_bits));
                    proptest::prop_assert_eq!(a.warnings, b.warnings);
                }
            }
        }
    }
}
