//! The exactness contract for native histograms: on every aligned window
//! without floats, each covered rollup of the tier's summary equals the
//! raw rollup of the same histograms.

use proptest::prelude::*;
use tsdb::downsample::testing::{RawHist, histogram_series, split};
use tsdb::downsample::{HistSummary, coarsen_into, summarize_histograms};
use tsdb::model::is_stale_nan;

use super::super::Rollup;
use super::super::native::{self, Out};
use super::{eval, from_hist_summary};
use crate::eval::hints::{HintView, apply};
use crate::value::Annotations;

const MINUTE: i64 = 60_000;
const R: i64 = 5 * MINUTE;

/// The raw answer of `f` on `(end − range, end]`, as the evaluator reads
/// the samples (staleness markers removed, stored hints); None also for
/// a window without histograms (the float rollups answer those).
fn raw(f: Rollup, samples: &[RawHist], end: i64, range: i64) -> (Option<Out>, Annotations) {
    let start = end - range;
    let (mut floats, mut hists) = split(samples);
    floats.retain(|s| s.t > start && s.t <= end && !is_stale_nan(s.v));
    hists.retain(|h| h.t > start && h.t <= end && !h.h.is_stale());
    apply(HintView::Stored, &mut hists);
    let mut ann = Annotations::default();
    if hists.is_empty() {
        return (None, ann);
    }
    let out = native::eval(f, &floats, &hists, start, end, "m", &mut ann);
    (out, ann)
}

/// The tier's answer: the window's buckets merged, then `f`; None when
/// its raw data held floats (not compared).
fn tier(
    f: Rollup,
    buckets: &[HistSummary],
    end: i64,
    range: i64,
) -> Option<(Option<Out>, Annotations)> {
    let start = end - range;
    let mut merged: Option<HistSummary> = None;
    for b in buckets.iter().filter(|b| b.end > start && b.end <= end) {
        match &mut merged {
            Some(m) => m.absorb(b),
            None => merged = Some(b.clone()),
        }
    }
    let mut ann = Annotations::default();
    let Some(m) = merged else {
        return Some((None, ann));
    };
    if m.floats {
        return None;
    }
    let out = eval(f, &m, start, end, "m", &mut ann);
    Some((out, ann))
}

fn check_all(samples: &[RawHist], buckets: &[HistSummary], res: i64) {
    let (floats, hists) = split(samples);
    let times = floats.iter().map(|s| s.t).chain(hists.iter().map(|h| h.t));
    let (Some(lo), Some(hi)) = (times.clone().min(), times.max()) else {
        return;
    };
    let (lo, hi) = (
        tsdb::downsample::bucket_end(lo, res),
        tsdb::downsample::bucket_end(hi, res) + 12 * res,
    );
    for f in Rollup::ALL
        .iter()
        .copied()
        .filter(|f| from_hist_summary(*f))
    {
        for k in [1, 2, 4, 12] {
            let mut end = lo;
            while end <= hi {
                if let Some((t, ta)) = tier(f, buckets, end, k * res) {
                    let (r, ra) = raw(f, samples, end, k * res);
                    assert_eq!(t, r, "{} over {k}×{res} at {end}", f.name());
                    assert_eq!(ta, ra, "{} annotations at {end}", f.name());
                }
                end += res;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whole counts add exactly in any grouping, so even `rate` after
    /// several resets is bit-equal here.
    #[test]
    fn every_covered_rollup_equals_raw(samples in histogram_series()) {
        let (floats, hists) = split(&samples);
        let five = summarize_histograms(&floats, &hists, R);
        check_all(&samples, &five, R);
        let mut hour = Vec::new();
        coarsen_into(&five, 12 * R, &mut hour);
        check_all(&samples, &hour, 12 * R);
    }
}

#[test]
fn a_window_with_floats_warns_and_has_no_answer() {
    let mut s = HistSummary::new(R);
    s.push_float(1, 2.0);
    let mut ann = Annotations::default();
    assert_eq!(eval(Rollup::Rate, &s, 0, R, "m", &mut ann), None);
    assert_eq!(ann.warnings.len(), 1, "{ann:?}");
}
