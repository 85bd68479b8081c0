use std::sync::Arc;

use proptest::prelude::*;

use super::super::testing::{histogram, histogram_series, split};
use super::*;
use crate::downsample::coarsen_into;
use crate::model::Sample;

const MINUTE: i64 = 60_000;

fn sample(t: i64, st: i64, h: FloatHistogram) -> HistogramSample {
    HistogramSample {
        t,
        st,
        h: Arc::new(h),
    }
}

fn counter(t: i64, counts: &[f64]) -> HistogramSample {
    sample(t, 0, histogram(1, counts))
}

#[test]
fn one_bucket_table() {
    struct Case {
        name: &'static str,
        hists: Vec<HistogramSample>,
        check: fn(&HistAggregates),
    }
    let cases = [
        Case {
            name: "steady counter",
            hists: vec![counter(1, &[1.0, 2.0]), counter(2, &[2.0, 2.0])],
            check: |a| {
                assert_eq!((a.count, a.resets, a.changes), (2, 0, 1));
                assert!(!a.first_reset && a.correction.is_none());
                assert_eq!(a.prev.as_ref().map(|p| p.t), Some(1));
            },
        },
        Case {
            name: "reset after the first sample is not corrected",
            hists: vec![
                counter(1, &[5.0, 5.0]),
                counter(2, &[1.0, 0.0]),
                counter(3, &[2.0, 0.0]),
            ],
            check: |a| {
                assert_eq!((a.count, a.resets), (3, 1));
                assert!(a.first_reset && a.correction.is_none());
            },
        },
        Case {
            name: "two later resets add their histograms",
            hists: vec![
                counter(1, &[1.0]),
                counter(2, &[4.0]),
                counter(3, &[1.0]),
                counter(4, &[3.0]),
                counter(5, &[2.0]),
            ],
            check: |a| {
                assert_eq!((a.count, a.resets, a.first_reset), (5, 2, false));
                assert_eq!(a.correction.as_ref().map(|c| c.count), Some(7.0));
            },
        },
        Case {
            name: "custom then exponential buckets cannot be corrected",
            hists: vec![
                counter(1, &[1.0]),
                sample(2, 0, histogram(-53, &[4.0, 1.0])),
                counter(3, &[1.0]),
                counter(4, &[0.0]),
            ],
            check: |a| {
                assert_eq!(a.resets, 3);
                assert!(a.first_reset && a.correction_failed && a.correction.is_none());
            },
        },
        Case {
            name: "a start time after the previous sample is a reset",
            hists: vec![
                counter(1, &[1.0]),
                counter(2, &[2.0]),
                sample(10, 5, histogram(1, &[3.0])),
            ],
            check: |a| {
                assert_eq!(a.resets, 1);
                assert_eq!(a.correction.as_ref().map(|c| c.count), Some(2.0));
            },
        },
    ];
    for case in cases {
        let mut s = HistSummary::new(MINUTE);
        case.hists.into_iter().for_each(|h| s.push(h));
        let Some(a) = &s.agg else {
            panic!("{}: no aggregates", case.name)
        };
        (case.check)(a);
    }
}

#[test]
fn staleness_and_floats() {
    let hists = [counter(1_000, &[1.0]), counter(3_000, &[2.0])];
    let floats = [
        Sample::new(2_000, crate::model::STALE_NAN),
        Sample::new(4_000, crate::model::STALE_NAN),
        Sample::new(MINUTE + 1, 7.0),
    ];
    let got = summarize_histograms(&floats, &hists, MINUTE);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].stale, Some(4_000));
    assert_eq!(got[0].agg.as_ref().map(|a| a.count), Some(2));
    assert!(!got[0].floats && got[1].floats && got[1].agg.is_none());
    assert_eq!(got[0].instant(5 * MINUTE), None);
    let fresh = &summarize_histograms(&[], &hists, MINUTE)[0];
    assert_eq!(fresh.instant(5 * MINUTE).map(|h| h.t), Some(3_000));
    assert_eq!(fresh.instant(MINUTE - 3_000), None);
}

#[test]
fn stored_reset_hints_read_as_unknown() {
    let mut h = histogram(1, &[1.0]);
    h.hint = CounterResetHint::CounterReset;
    let got = stored_hint(sample(1, 0, h));
    assert_eq!(got.h.hint, CounterResetHint::Unknown);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Coarse from fine equals coarse from raw, field by field (whole
    /// counts add exactly in any grouping, so the correction too).
    #[test]
    fn coarse_from_fine_equals_coarse_from_raw(raw in histogram_series(), k in 2i64..13) {
        let (floats, hists) = split(&raw);
        let fine = summarize_histograms(&floats, &hists, MINUTE);
        let mut coarse = Vec::new();
        coarsen_into(&fine, k * MINUTE, &mut coarse);
        let want = summarize_histograms(&floats, &hists, k * MINUTE);
        prop_assert_eq!(coarse, want);
    }
}
