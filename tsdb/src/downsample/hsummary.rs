//! [`HistSummary`]: what a tier keeps of a native histogram series' raw
//! samples in one bucket `(end − R, end]`, and how summaries of
//! consecutive buckets merge — the counter columns of [`Summary`] with
//! histograms where it has values.
//!
//! The contract, as for floats: the summary of a run of consecutive
//! buckets ([`HistSummary::absorb`] in time order) equals the summary of
//! their raw samples ([`HistSummary::push`] one by one) in every field
//! but `correction`, which adds the same histograms grouped by bucket
//! (bit for bit while it holds one). From it PromQL computes `rate`,
//! `increase`, `delta`, `irate`, `idelta`, `resets`, `changes`,
//! `count/present/first/last_over_time`, their timestamps and a plain
//! selector's value as from the window's raw histograms.
//!
//! Resets are the raw rollups' ([`is_reset`]). `rate` adds to the last
//! histogram the one before each reset, then subtracts the first unless
//! the first pair reset (an incompatible first sample only lends its
//! count to extrapolation): so the correction leaves out the window's
//! first sample, and [`HistAggregates::first_reset`] says whether that
//! pair reset.
//!
//! [`Summary`]: super::Summary

use std::sync::Arc;

use crate::model::histogram::{CounterResetHint, FloatHistogram};
use crate::model::{HistogramSample, is_stale_nan, is_start_timestamp_reset};

/// The aggregates of a bucket's (or window's) non-stale histograms.
#[derive(Debug, Clone, PartialEq)]
pub struct HistAggregates {
    pub count: u64,
    pub first: HistogramSample,
    pub last: HistogramSample,
    /// The sample before `last`, when `count ≥ 2`.
    pub prev: Option<HistogramSample>,
    /// The first two samples are a counter reset.
    pub first_reset: bool,
    /// Consecutive pairs that are counter resets.
    pub resets: u64,
    /// The histograms before each reset but the first sample, added in
    /// time order; None when there is none, or when adding them failed
    /// (`correction_failed`).
    pub correction: Option<FloatHistogram>,
    /// The histograms before resets mix exponential and custom buckets:
    /// `rate` has no answer, as from raw data.
    pub correction_failed: bool,
    /// Consecutive pairs whose observations differ.
    pub changes: u64,
    /// Some sample's start time overlaps the previous sample.
    pub overlap: bool,
}

/// The summary of one bucket of a native histogram series, or of
/// consecutive buckets merged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistSummary {
    /// Inclusive end of the (last) bucket, ms.
    pub end: i64,
    /// None when the bucket holds only staleness markers.
    pub agg: Option<HistAggregates>,
    /// The time of the staleness marker (float or histogram) that is the
    /// bucket's last raw sample, if it is one.
    pub stale: Option<i64>,
    /// The bucket's raw data held float samples too, which this summary
    /// does not keep: no answer is exact from it.
    pub floats: bool,
}

/// Whether `cur` follows a counter reset after `prev`, as `rate` and
/// `resets` find them in raw histograms.
pub fn is_reset(prev: &HistogramSample, cur: &HistogramSample) -> bool {
    cur.h.detect_reset(&prev.h) || is_start_timestamp_reset(prev.st, prev.t, cur.st, cur.t)
}

fn overlaps(prev: &HistogramSample, cur: &HistogramSample) -> bool {
    cur.st != 0 && cur.st < prev.t && cur.st != prev.st
}

impl HistAggregates {
    pub fn of(h: HistogramSample) -> Self {
        HistAggregates {
            count: 1,
            first: h.clone(),
            last: h,
            prev: None,
            first_reset: false,
            resets: 0,
            correction: None,
            correction_failed: false,
            changes: 0,
            overlap: false,
        }
    }

    /// Adds `h` to the correction, in time order.
    fn correct(&mut self, h: &FloatHistogram) {
        if self.correction_failed {
            return;
        }
        match &mut self.correction {
            None => self.correction = Some(h.clone()),
            Some(c) => {
                if c.add_assign(h, false).is_err() {
                    self.correction = None;
                    self.correction_failed = true;
                }
            }
        }
    }

    /// Extends `self` by the later run `next`.
    pub fn absorb(&mut self, next: &HistAggregates) {
        let reset = is_reset(&self.last, &next.first);
        if reset {
            if self.count == 1 {
                self.first_reset = true;
            } else {
                let before = Arc::clone(&self.last.h);
                self.correct(&before);
            }
        }
        if next.first_reset {
            self.correct(&next.first.h);
        }
        if next.correction_failed {
            self.correction = None;
            self.correction_failed = true;
        } else if let Some(c) = &next.correction {
            self.correct(c);
        }
        // Saturating: counts decoded from a damaged chunk must not panic.
        self.resets = self
            .resets
            .saturating_add(u64::from(reset))
            .saturating_add(next.resets);
        let change = !next.first.h.same_observations(&self.last.h);
        self.changes = self
            .changes
            .saturating_add(u64::from(change))
            .saturating_add(next.changes);
        self.overlap = self.overlap || overlaps(&self.last, &next.first) || next.overlap;
        self.count = self.count.saturating_add(next.count);
        self.prev = if next.count >= 2 {
            next.prev.clone()
        } else {
            Some(self.last.clone())
        };
        self.last = next.last.clone();
    }
}

impl HistSummary {
    pub fn new(end: i64) -> Self {
        HistSummary {
            end,
            ..HistSummary::default()
        }
    }

    /// Whether no sample, not even a staleness marker, went in.
    pub fn is_empty(&self) -> bool {
        self.agg.is_none() && self.stale.is_none() && !self.floats
    }

    /// Adds the next raw histogram sample (later than every one before).
    pub fn push(&mut self, h: HistogramSample) {
        if h.h.is_stale() {
            self.stale = Some(h.t);
            return;
        }
        self.stale = None;
        let one = HistAggregates::of(h);
        match &mut self.agg {
            Some(a) => a.absorb(&one),
            None => self.agg = Some(one),
        }
    }

    /// Adds the next raw float sample: a staleness marker is remembered,
    /// any other float marks the bucket ([`floats`](Self::floats)).
    pub fn push_float(&mut self, t: i64, v: f64) {
        if is_stale_nan(v) {
            self.stale = Some(t);
        } else {
            self.floats = true;
            self.stale = None;
        }
    }

    /// Extends `self` by the later summary `next`; its end is `next`'s.
    pub fn absorb(&mut self, next: &HistSummary) {
        match (&mut self.agg, &next.agg) {
            (Some(a), Some(b)) => a.absorb(b),
            (None, Some(b)) => self.agg = Some(b.clone()),
            _ => {}
        }
        if !next.is_empty() {
            self.stale = next.stale;
        }
        self.floats |= next.floats;
        self.end = next.end;
    }

    /// The histogram a plain selector sees at `self.end` with lookback
    /// `lookback`, as [`Summary::instant`](super::Summary::instant).
    pub fn instant(&self, lookback: i64) -> Option<&HistogramSample> {
        if self.stale.is_some() {
            return None;
        }
        let last = &self.agg.as_ref()?.last;
        (last.t > self.end - lookback).then_some(last)
    }
}

/// The hint a tier keeps: a stored `CounterReset` reads as `Unknown`, as
/// queries read stored hints (the reset is then found from the values).
pub fn stored_hint(mut h: HistogramSample) -> HistogramSample {
    if h.h.hint == CounterResetHint::CounterReset {
        let mut f = (*h.h).clone();
        f.hint = CounterResetHint::Unknown;
        h.h = Arc::new(f);
    }
    h
}

/// Summaries of a series' raw samples (`floats` and `hists`, each
/// ascending, staleness markers included) in buckets of resolution
/// `res`, one per bucket holding any, ascending.
pub fn summarize_histograms(
    floats: &[crate::model::Sample],
    hists: &[HistogramSample],
    res: i64,
) -> Vec<HistSummary> {
    let mut out: Vec<HistSummary> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < floats.len() || j < hists.len() {
        let float_next = j >= hists.len() || (i < floats.len() && floats[i].t < hists[j].t);
        let t = if float_next { floats[i].t } else { hists[j].t };
        let end = super::bucket_end(t, res);
        if out.last().is_none_or(|b| b.end != end) {
            out.push(HistSummary::new(end));
        }
        let Some(b) = out.last_mut() else { break };
        if float_next {
            b.push_float(t, floats[i].v);
            i += 1;
        } else {
            b.push(stored_hint(hists[j].clone()));
            j += 1;
        }
    }
    out
}

impl super::summary::Bucket for HistSummary {
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

#[cfg(test)]
#[path = "hsummary_tests.rs"]
mod tests;
