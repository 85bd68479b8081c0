//! Plain (instant) selectors over expired raw data: the steps whose
//! lookback window reaches before the oldest raw sample are answered from
//! the finest tier holding them (float or native histogram series alike).

use std::collections::HashMap;

use tsdb::downsample::{Bucket, Columns, merge_window};
use tsdb::model::{HistogramSample, Labels, Sample, Series};

use super::{SourceResolution, TierBuffers, TieredData, format_duration};
use crate::ast::VectorSelector;
use crate::error::Result;
use crate::eval::grid::{Grid, StepSeries};
use crate::eval::selector::InstantValue;

impl Grid<'_> {
    /// `raw` (an instant selector's answer from raw samples) with the steps
    /// whose lookback window reaches before the oldest raw sample answered
    /// from the finest tier holding them: the bucket summaries of the
    /// lookback window merged, their last sample if within the lookback
    /// and not stale ([`Summary::instant`]). Exact at step times that are
    /// multiples of the tier's resolution; others are evaluated at the
    /// bucket end before them, with an info annotation naming the tier.
    pub(crate) fn tier_instant(
        &mut self,
        vs: &VectorSelector,
        what: InstantValue,
        raw: Vec<StepSeries>,
    ) -> Result<Vec<StepSeries>> {
        let tiering = self.storage.tiering();
        if tiering.tiers.is_empty()
            || vs.smoothed
            || what == InstantValue::StartTimestamp
            || matches!(self.opts.max_source_resolution, SourceResolution::Raw)
        {
            return Ok(raw);
        }
        let offset = self.offset_ms(&vs.offset)?;
        let at = vs.at.as_ref().map(|a| self.at_time(a));
        let lookback = self.opts.lookback;
        let raw_from = tiering.latest_raw_from().unwrap_or(i64::MAX);
        // Steps whose lookback window starts before the raw data.
        let steps: Vec<(i64, i64)> = self
            .frame
            .times()
            .map(|t| (t, at.unwrap_or(t) - offset))
            .filter(|&(_, te)| te - lookback + 1 < raw_from)
            .collect();
        let (Some(&(_, lo_te)), Some(&(_, hi_te))) = (steps.first(), steps.last()) else {
            return Ok(raw);
        };
        let (lo_te, hi_te) = (lo_te.min(hi_te), lo_te.max(hi_te));
        let allowed = |r: i64| match self.opts.max_source_resolution {
            SourceResolution::AtMost(m) => r <= m,
            _ => true,
        };
        let Some(tier) = tiering
            .tiers
            .iter()
            .filter(|s| allowed(s.resolution) && s.hi > lo_te - lookback && s.lo < hi_te)
            .min_by_key(|s| s.resolution)
            .copied()
        else {
            return Ok(raw);
        };
        let res = tier.resolution;
        let reach = (lookback + res - 1).div_euclid(res) * res;
        let lo = lo_te.div_euclid(res) * res - reach;
        let hi = tier.hi.min(hi_te);
        self.check("query preparation")?;
        let stored = self
            .storage
            .select_summaries(res, res, &vs.matchers, lo, hi)?;
        self.hold(
            stored.iter().map(|(_, b)| b.bucket_bound()).sum(),
            "query preparation",
        )?;
        let tail = if hi < hi_te {
            self.select_series(vs, hi + 1, hi_te, 0)?
        } else {
            Vec::new()
        };
        let mut tail_of: HashMap<Labels, Series> =
            tail.into_iter().map(|s| (s.labels.clone(), s)).collect();
        let mut approximate = false;
        let mut from_tier: Vec<StepSeries> = Vec::new();
        let mut bufs = TierBuffers::default();
        let mut mixed = false;
        for (labels, buckets) in stored {
            // As for range functions: a series mixing floats and native
            // histograms is answered from raw data only.
            if buckets.histograms_too() {
                mixed = true;
                continue;
            }
            let histograms = buckets.histograms();
            let data = TieredData {
                resolution: res,
                approximate: false,
                stored: vec![buckets],
                raw: tail_of.remove(&labels),
                raw_after: hi,
                maxt: hi_te,
                columns: Columns::default(),
                histograms,
            };
            // This series' own raw data answers the steps it reaches.
            let own_from = tiering.raw_from_of(&labels).unwrap_or(i64::MAX);
            let wanted = steps.iter().filter(|(_, te)| te - lookback + 1 < own_from);
            let mut out = StepSeries::floats(labels, false, Vec::new());
            let windows = wanted.map(|&(t, te)| {
                let end = te.div_euclid(res) * res;
                approximate |= end != te;
                (t, end - reach, end)
            });
            if histograms {
                let buckets = data.hist_buckets(&mut bufs);
                for (t, m) in merged_steps(buckets, windows) {
                    let Some(p) = m.instant(lookback) else {
                        continue;
                    };
                    match what {
                        InstantValue::Timestamp => {
                            out.points.push(Sample::new(t, p.t as f64 / 1000.0))
                        }
                        _ => out.hpoints.push(HistogramSample {
                            t,
                            st: 0,
                            h: p.h.clone(),
                        }),
                    }
                }
            } else {
                let buckets = data.buckets(&mut bufs);
                for (t, m) in merged_steps(buckets, windows) {
                    if let Some(p) = m.instant(lookback) {
                        let v = match what {
                            InstantValue::Timestamp => p.t as f64 / 1000.0,
                            _ => p.v,
                        };
                        out.points.push(Sample::new(t, v));
                    }
                }
            }
            if !out.is_empty() {
                from_tier.push(out);
            }
        }
        if approximate && !from_tier.is_empty() {
            self.ann.info(format_args!(
                "raw data has expired for part of the range: instant selector evaluated approximately on the {} downsampling tier (step times aligned to its buckets)",
                format_duration(res)
            ));
        }
        if mixed {
            self.ann.info(format_args!(
                "instant selector of series mixing floats and native histograms answered from raw data only: the downsampling tiers keep either kind of series, not both"
            ));
        }
        if !from_tier.is_empty() {
            self.tiers_used.insert(res);
        }
        Ok(join_steps(raw, from_tier))
    }
}

/// For each step `(t, lo, hi)`, the buckets ending in `(lo, hi]` merged
/// and ending at `hi` (steps without any are left out).
fn merged_steps<'b, B: Bucket>(
    buckets: &'b [B],
    steps: impl Iterator<Item = (i64, i64, i64)> + 'b,
) -> impl Iterator<Item = (i64, B)> + 'b {
    steps.filter_map(|(t, lo, hi)| {
        let mut m = merge_window(buckets, lo, hi)?;
        m.set_end(hi);
        Some((t, m))
    })
}

/// The tier's points added to the raw answer's, by series, at the steps
/// raw data did not answer (a raw sample inside the lookback window is
/// the latest there, as the tier holds nothing newer than raw data).
fn join_steps(raw: Vec<StepSeries>, tier: Vec<StepSeries>) -> Vec<StepSeries> {
    if tier.is_empty() {
        return raw;
    }
    let mut out: Vec<StepSeries> = raw;
    let mut index: HashMap<Labels, usize> = out
        .iter()
        .enumerate()
        .map(|(i, s)| (s.labels.clone(), i))
        .collect();
    for s in tier {
        let Some(&i) = index.get(&s.labels) else {
            index.insert(s.labels.clone(), out.len());
            out.push(s);
            continue;
        };
        let have = &out[i];
        let answered = |t: i64| {
            have.points.binary_search_by_key(&t, |q| q.t).is_ok()
                || have.hpoints.binary_search_by_key(&t, |q| q.t).is_ok()
        };
        let points: Vec<Sample> = s.points.into_iter().filter(|p| !answered(p.t)).collect();
        let hpoints: Vec<HistogramSample> =
            s.hpoints.into_iter().filter(|p| !answered(p.t)).collect();
        let have = &mut out[i];
        have.points.extend(points);
        have.points.sort_by_key(|p| p.t);
        have.hpoints.extend(hpoints);
        have.hpoints.sort_by_key(|p| p.t);
    }
    out
}
