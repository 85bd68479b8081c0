//! [`Summary`]: what a tier keeps of the raw float samples in one bucket
//! `(end − R, end]`, and how summaries of consecutive buckets merge.
//!
//! The contract: the summary of a run of consecutive buckets
//! ([`Summary::merge`] in time order) equals the summary built from their
//! raw samples ([`Summary::push`] one by one), field by field — bit for
//! bit for every field but `sum` and `reset_correction`, which add the
//! same terms grouped by bucket. From such a summary PromQL computes
//! `rate`, `increase`, `delta`, `irate`, `idelta`, `resets`, `changes`,
//! the `*_over_time` family but quantiles, variance and `mad`, and the
//! value a plain selector sees, exactly as from the raw samples of the
//! same aligned window; with the optional moments and trend (kept on
//! request) also `stddev/stdvar_over_time`, `deriv` and `predict_linear`,
//! to 1e-9. The coarser tier is built by merging the finer
//! one's buckets, so it equals the tier built from raw.
//!
//! Staleness markers are not samples to range functions: they are
//! counted nowhere and only remembered when they are the last thing in
//! the bucket ([`Summary::stale`]), which a plain selector needs.

use super::{Column, Columns};
use crate::model::{Sample, SampleBuf, is_stale_nan, is_start_timestamp_reset};

/// One raw sample with its start timestamp (0 = none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: i64,
    pub v: f64,
    pub st: i64,
}

impl Point {
    pub fn new(t: i64, v: f64, st: i64) -> Self {
        Point { t, v, st }
    }

    pub fn sample(&self) -> Sample {
        Sample::new(self.t, self.v)
    }

    /// Time, value bits and start time equal.
    pub fn bit_eq(&self, other: &Point) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits() && self.st == other.st
    }
}

/// The aggregates of a bucket's (or a window's) non-stale samples; a
/// bucket holding only staleness markers has none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregates {
    /// Non-stale samples.
    pub count: u64,
    pub first: Point,
    pub last: Point,
    /// The sample before `last`, when `count ≥ 2` (`irate`, `idelta`).
    pub prev: Option<Point>,
    /// Kahan-compensated sum of the values, as `sum_over_time` adds them;
    /// None where the tier does not keep it (counters, see
    /// [`CounterSuffixes`](super::CounterSuffixes)), and in any merge
    /// with such a summary.
    pub sum: Option<f64>,
    /// Minimum and maximum; NaN only when every value is NaN, and of
    /// equal values the earliest.
    pub min: f64,
    pub max: f64,
    /// Consecutive pairs where the counter reset: the value dropped, or
    /// the start timestamps show a restart.
    pub resets: u64,
    /// The value before each of those resets, summed in time order: what
    /// `rate` adds back.
    pub reset_correction: f64,
    /// Consecutive pairs whose values differ (NaN to NaN is no change).
    pub changes: u64,
    /// Some sample's start time overlaps the previous sample (`rate`
    /// warns).
    pub overlap: bool,
    /// Kept on request ([`Columns`](super::Columns)): `stddev/stdvar_over_time`.
    pub moments: Option<Moments>,
    /// Kept on request: `deriv`, `predict_linear`.
    pub trend: Option<Trend>,
}

/// The mean of the values and the sum of their squared deviations from
/// it (Welford's running form; Chan's formula merges two).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub mean: f64,
    pub m2: f64,
}

/// A least-squares line through the samples, in centred form (stable to
/// merge, unlike raw sums): the means of `x` (seconds since the summary's
/// first sample) and of the values, Σ(x − x̄)² and Σ(x − x̄)(y − ȳ).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    pub mean_x: f64,
    pub mean_y: f64,
    pub sxx: f64,
    pub sxy: f64,
}

impl Moments {
    fn of(v: f64) -> Self {
        // As the first step of Prometheus's running variance: v·(v − v),
        // 0 for a finite value, NaN for ±Inf and NaN.
        Moments {
            mean: v,
            m2: if v.is_finite() { 0.0 } else { f64::NAN },
        }
    }

    /// Adds value `v` as the `n`-th.
    fn push(&mut self, v: f64, n: u64) {
        let delta = v - self.mean;
        self.mean += delta / n as f64;
        self.m2 += delta * (v - self.mean);
    }

    /// `self` over `na` values merged with `next` over `nb`.
    fn merge(&self, na: u64, next: &Moments, nb: u64) -> Moments {
        let (na, nb) = (na as f64, nb as f64);
        let n = na + nb;
        let delta = next.mean - self.mean;
        Moments {
            mean: merged_mean(self.mean, na, next.mean, nb, delta),
            m2: self.m2 + next.m2 + delta * delta * na * nb / n,
        }
    }
}

/// `w·(b − a)` given `ey = b − a`; when that difference overflows (values
/// near ±f64::MAX), as `w·b − w·a`, finite for a small weight.
fn cross(w: f64, ey: f64, b: f64, a: f64) -> f64 {
    if ey.is_finite() {
        w * ey
    } else {
        w * b - w * a
    }
}

/// The mean of two parts, as Chan's update `a + delta·nb/n`; when the
/// difference of the means overflows (values near ±f64::MAX), as the
/// weighted sum of the two, which stays finite for finite means.
fn merged_mean(a: f64, na: f64, b: f64, nb: f64, delta: f64) -> f64 {
    let n = na + nb;
    if delta.is_finite() {
        a + delta * nb / n
    } else {
        a * (na / n) + b * (nb / n)
    }
}

impl Trend {
    fn of(v: f64) -> Self {
        Trend {
            mean_x: 0.0,
            mean_y: v,
            sxx: 0.0,
            sxy: 0.0 * v,
        }
    }

    /// Adds a sample `x` seconds after the first as the `n`-th.
    fn push(&mut self, x: f64, y: f64, n: u64) {
        let n = n as f64;
        let dx = x - self.mean_x;
        self.mean_x += dx / n;
        let dy = y - self.mean_y;
        self.mean_y += dy / n;
        self.sxx += dx * (x - self.mean_x);
        self.sxy += dx * (y - self.mean_y);
    }

    /// `self` over `na` samples merged with `next` over `nb`, whose `x`
    /// counts from `dx` seconds after `self`'s.
    fn merge(&self, na: u64, next: &Trend, nb: u64, dx: f64) -> Trend {
        let (na, nb) = (na as f64, nb as f64);
        let n = na + nb;
        let (ex, ey) = (next.mean_x + dx - self.mean_x, next.mean_y - self.mean_y);
        Trend {
            mean_x: self.mean_x + ex * nb / n,
            mean_y: merged_mean(self.mean_y, na, next.mean_y, nb, ey),
            sxx: self.sxx + next.sxx + ex * ex * na * nb / n,
            sxy: self.sxy + next.sxy + cross(ex * na * nb / n, ey, next.mean_y, self.mean_y),
        }
    }
}

/// The summary of one bucket, or of consecutive buckets merged.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Inclusive end of the (last) bucket, ms.
    pub end: i64,
    /// None when the bucket holds only staleness markers.
    pub agg: Option<Aggregates>,
    /// The time of the staleness marker that is the last raw sample of the
    /// bucket, if it is one.
    pub stale: Option<i64>,
    /// The bucket's raw data also held native histogram samples, which a
    /// float summary does not keep ([`mark_histograms`]; a series of
    /// histograms alone has [`HistSummary`](super::HistSummary)s): the
    /// planner reads such a series raw while raw data covers the query.
    pub histograms: bool,
}

/// Whether `cur` follows a counter reset after `prev`.
fn is_reset(prev: &Point, cur: &Point) -> bool {
    cur.v < prev.v || is_start_timestamp_reset(prev.st, prev.t, cur.st, cur.t)
}

/// Whether the values of two consecutive samples differ, as `changes`
/// counts.
fn is_change(prev: f64, cur: f64) -> bool {
    cur != prev && !(cur.is_nan() && prev.is_nan())
}

/// Whether `cur`'s start time overlaps `prev` (set, before `prev`'s time,
/// and not `prev`'s own start).
fn overlaps(prev: &Point, cur: &Point) -> bool {
    cur.st != 0 && cur.st < prev.t && cur.st != prev.st
}

/// `candidate` replaces `best` as minimum (`lower`) or maximum.
fn better(candidate: f64, best: f64, lower: bool) -> bool {
    best.is_nan()
        || if lower {
            candidate < best
        } else {
            candidate > best
        }
}

/// Prometheus's compensated addition of `v` to `(sum, c)`.
fn kahan_inc(v: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + v;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= v.abs() {
        c + ((sum - t) + v)
    } else {
        c + ((v - t) + sum)
    };
    (t, c)
}

/// The compensated total of a Kahan pair.
fn kahan_value(sum: f64, c: f64) -> f64 {
    if sum.is_infinite() { sum } else { sum + c }
}

impl Aggregates {
    fn of(p: Point, columns: Columns) -> Self {
        Aggregates {
            count: 1,
            first: p,
            last: p,
            prev: None,
            sum: Some(p.v),
            min: p.v,
            max: p.v,
            resets: 0,
            reset_correction: 0.0,
            changes: 0,
            overlap: false,
            moments: columns.moments.then(|| Moments::of(p.v)),
            trend: columns.trend.then(|| Trend::of(p.v)),
        }
    }

    /// Adds the transitions from `prev` (this run's last sample) into
    /// `cur` (the next run's first).
    fn join(&mut self, prev: &Point, cur: &Point) {
        if is_reset(prev, cur) {
            self.resets += 1;
            self.reset_correction += prev.v;
        }
        if is_change(prev.v, cur.v) {
            self.changes += 1;
        }
        self.overlap |= overlaps(prev, cur);
    }

    /// `sum`, or where it is not kept an estimate from the endpoints (the
    /// values on a straight line from `first` to `last`).
    pub fn sum_or_estimate(&self) -> f64 {
        self.sum
            .unwrap_or_else(|| self.count as f64 * (self.first.v + self.last.v) / 2.0)
    }

    /// Extends `self` by the later run `next`, in place.
    fn absorb(&mut self, next: &Aggregates) {
        let last = self.last;
        let reset = is_reset(&last, &next.first);
        // The same additions, in the same order, as pushing each sample.
        let boundary = if reset { 0.0 + last.v } else { 0.0 };
        // Saturating: counts decoded from a damaged chunk must not panic.
        self.resets = self
            .resets
            .saturating_add(u64::from(reset))
            .saturating_add(next.resets);
        self.reset_correction = self.reset_correction + boundary + next.reset_correction;
        let change = u64::from(is_change(last.v, next.first.v));
        self.changes = self
            .changes
            .saturating_add(change)
            .saturating_add(next.changes);
        self.overlap = self.overlap || overlaps(&last, &next.first) || next.overlap;
        self.moments = match (&self.moments, &next.moments) {
            (Some(a), Some(b)) => Some(a.merge(self.count, b, next.count)),
            _ => None,
        };
        self.trend = match (&self.trend, &next.trend) {
            (Some(a), Some(b)) => {
                let dx = (next.first.t - self.first.t) as f64 / 1000.0;
                Some(a.merge(self.count, b, next.count, dx))
            }
            _ => None,
        };
        self.count = self.count.saturating_add(next.count);
        self.last = next.last;
        self.prev = if next.count >= 2 {
            next.prev
        } else {
            Some(last)
        };
        self.sum = match (self.sum, next.sum) {
            (Some(a), Some(b)) => {
                let (sum, c) = kahan_inc(b, a, 0.0);
                Some(kahan_value(sum, c))
            }
            _ => None,
        };
        if better(next.min, self.min, true) {
            self.min = next.min;
        }
        if better(next.max, self.max, false) {
            self.max = next.max;
        }
    }
}

impl Summary {
    /// An empty summary of the bucket ending at `end`.
    pub fn new(end: i64) -> Self {
        Summary {
            end,
            agg: None,
            stale: None,
            histograms: false,
        }
    }

    /// Whether no float sample, not even a staleness marker, went in (a
    /// bucket may still be marked for histograms).
    pub fn is_empty(&self) -> bool {
        self.agg.is_none() && self.stale.is_none()
    }

    /// Adds the next raw sample (later than every one before), keeping
    /// the optional `columns` from the bucket's first sample on.
    pub fn push(&mut self, p: Point, kahan_c: &mut f64, columns: Columns) {
        if is_stale_nan(p.v) {
            self.stale = Some(p.t);
            return;
        }
        self.stale = None;
        let Some(a) = &mut self.agg else {
            let mut a = Aggregates::of(p, columns);
            // As `sum_over_time` starts: 0 + v (which turns −0 into +0).
            let (sum, c) = kahan_inc(p.v, 0.0, 0.0);
            (a.sum, *kahan_c) = (Some(sum), c);
            self.agg = Some(a);
            return;
        };
        let last = a.last;
        a.join(&last, &p);
        a.count += 1;
        if let Some(m) = &mut a.moments {
            m.push(p.v, a.count);
        }
        if let Some(tr) = &mut a.trend {
            tr.push((p.t - a.first.t) as f64 / 1000.0, p.v, a.count);
        }
        a.prev = Some(last);
        a.last = p;
        // `sum` holds the running Kahan sum uncompensated until `finish`.
        if let Some(sum) = &mut a.sum {
            (*sum, *kahan_c) = kahan_inc(p.v, *sum, *kahan_c);
        }
        if better(p.v, a.min, true) {
            a.min = p.v;
        }
        if better(p.v, a.max, false) {
            a.max = p.v;
        }
    }

    /// Completes a summary built by [`push`](Self::push): folds the Kahan
    /// compensation into `sum`.
    pub fn finish(&mut self, kahan_c: f64) {
        if let Some(sum) = self.agg.as_mut().and_then(|a| a.sum.as_mut()) {
            *sum = kahan_value(*sum, kahan_c);
        }
    }

    /// The summary of `self` followed by the later `next` (consecutive
    /// buckets, or windows); its end is `next`'s.
    pub fn merge(&self, next: &Summary) -> Summary {
        let mut out = *self;
        out.absorb(next);
        out
    }

    /// [`merge`](Self::merge) in place.
    pub fn absorb(&mut self, next: &Summary) {
        match (&mut self.agg, &next.agg) {
            (Some(a), Some(b)) => a.absorb(b),
            (None, Some(b)) => self.agg = Some(*b),
            _ => {}
        }
        if !next.is_empty() {
            self.stale = next.stale;
        }
        self.histograms |= next.histograms;
        self.end = next.end;
    }

    /// Forgets the sum (a tier that does not keep it).
    pub fn drop_sum(&mut self) {
        if let Some(a) = &mut self.agg {
            a.sum = None;
        }
    }

    /// Forgets the optional columns `columns` does not ask for.
    pub fn keep_only(&mut self, columns: Columns) {
        if let Some(a) = &mut self.agg {
            if !columns.moments {
                a.moments = None;
            }
            if !columns.trend {
                a.trend = None;
            }
        }
    }

    /// Whether the summary keeps `column` (or holds no sample).
    pub fn keeps(&self, column: Column) -> bool {
        self.agg.is_none_or(|a| match column {
            Column::Sum => a.sum.is_some(),
            Column::Moments => a.moments.is_some(),
            Column::Trend => a.trend.is_some(),
        })
    }

    /// The value a plain selector sees at `self.end` with lookback
    /// `lookback`: the bucket's last sample if it is within the lookback
    /// and not a staleness marker. Exact when the selector's time is a
    /// bucket end and the summary covers at least the lookback.
    pub fn instant(&self, lookback: i64) -> Option<Point> {
        if self.stale.is_some() {
            return None;
        }
        let last = self.agg?.last;
        (last.t > self.end - lookback).then_some(last)
    }
}

/// The end of the bucket of resolution `res` holding time `t`: buckets are
/// left-open, `(end − res, end]`, with ends at multiples of `res`.
pub fn bucket_end(t: i64, res: i64) -> i64 {
    (t - 1).div_euclid(res) * res + res
}

/// The float samples of `buf` with their start timestamps, as points.
pub fn points_of(buf: &SampleBuf) -> impl Iterator<Item = Point> + '_ {
    let sts = buf.start_timestamps().unwrap_or(&[]);
    buf.floats()
        .iter()
        .enumerate()
        .map(|(i, s)| Point::new(s.t, s.v, sts.get(i).copied().unwrap_or(0)))
}

/// Marks the buckets of resolution `res` that hold any of the native
/// histogram sample times `times` (ascending), adding a bucket with no
/// float data where `buckets` (ascending) has none: what the bucket's
/// summary would be had it been built from every raw sample.
pub fn mark_histograms(buckets: &mut Vec<Summary>, times: impl IntoIterator<Item = i64>, res: i64) {
    let mut added = Vec::new();
    let mut at = 0;
    for t in times {
        let end = bucket_end(t, res);
        while at < buckets.len() && buckets[at].end < end {
            at += 1;
        }
        match buckets.get_mut(at) {
            Some(b) if b.end == end => b.histograms = true,
            _ if added.last().is_some_and(|b: &Summary| b.end == end) => {}
            _ => added.push(Summary {
                histograms: true,
                ..Summary::new(end)
            }),
        }
    }
    if !added.is_empty() {
        buckets.extend(added);
        buckets.sort_by_key(|b| b.end);
    }
}

/// Summaries of `points` (ascending) in buckets of resolution `res`, one
/// per bucket that holds any raw sample, ascending, with the optional
/// `columns`.
pub fn summarize(
    points: impl IntoIterator<Item = Point>,
    res: i64,
    columns: Columns,
) -> Vec<Summary> {
    let mut out: Vec<Summary> = Vec::new();
    let mut c = 0.0;
    for p in points {
        match out.last_mut() {
            // Most samples fall in the bucket of the one before.
            Some(cur) if p.t <= cur.end && p.t > cur.end - res => {}
            cur => {
                if let Some(cur) = cur {
                    cur.finish(c);
                }
                out.push(Summary::new(bucket_end(p.t, res)));
            }
        }
        if let Some(cur) = out.last_mut() {
            cur.push(p, &mut c, columns);
        }
    }
    if let Some(cur) = out.last_mut() {
        cur.finish(c);
    }
    out
}

/// A bucket's summary, of floats ([`Summary`]) or of native histograms
/// ([`HistSummary`](super::HistSummary)): what coarsening, reading stored
/// buckets and merging a query's window need of either.
pub trait Bucket: Clone {
    /// Inclusive end of the (last) bucket, ms.
    fn end(&self) -> i64;
    fn set_end(&mut self, end: i64);
    /// Extends `self` by the later summary `next`; its end becomes
    /// `next`'s.
    fn absorb_next(&mut self, next: &Self);
}

impl Bucket for Summary {
    fn end(&self) -> i64 {
        self.end
    }

    fn set_end(&mut self, end: i64) {
        self.end = end;
    }

    fn absorb_next(&mut self, next: &Self) {
        self.absorb(next);
    }
}

/// Coarser summaries of resolution `res` (a multiple of the input's) from
/// finer ones (ascending): each the merge of the finer buckets inside it.
pub fn coarsen<'a>(fine: impl IntoIterator<Item = &'a Summary>, res: i64) -> Vec<Summary> {
    let fine = fine.into_iter();
    let mut out: Vec<Summary> = Vec::with_capacity(fine.size_hint().0);
    coarsen_into(fine, res, &mut out);
    out
}

/// [`coarsen`] (of either kind of bucket) appending to `out`, whose last
/// bucket absorbs the first of `fine` when they end together (`fine`
/// continues `out` in time).
pub fn coarsen_into<'a, B: Bucket + 'a>(
    fine: impl IntoIterator<Item = &'a B>,
    res: i64,
    out: &mut Vec<B>,
) {
    for s in fine {
        let end = bucket_end(s.end(), res);
        match out.last_mut() {
            Some(cur) if cur.end() == end => {
                cur.absorb_next(s);
                cur.set_end(end);
            }
            _ => {
                let mut b = s.clone();
                b.set_end(end);
                out.push(b);
            }
        }
    }
}

/// The buckets of `buckets` (ascending) ending in `(lo, hi]` merged, if
/// any.
pub fn merge_window<B: Bucket>(buckets: &[B], lo: i64, hi: i64) -> Option<B> {
    let from = buckets.partition_point(|b| b.end() <= lo);
    let to = buckets.partition_point(|b| b.end() <= hi);
    let (first, rest) = buckets.get(from..to)?.split_first()?;
    let mut m = first.clone();
    rest.iter().for_each(|b| m.absorb_next(b));
    Some(m)
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
