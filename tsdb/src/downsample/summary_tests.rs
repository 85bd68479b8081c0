use proptest::prelude::*;

use super::super::testdata::series;
use super::*;
use crate::model::STALE_NAN;

/// Same float, or both NaN, or within `rel` of each other relatively.
fn close(a: f64, b: f64, rel: f64) -> bool {
    a.to_bits() == b.to_bits()
        || (a.is_nan() && b.is_nan())
        || (a - b).abs() <= rel * a.abs().max(b.abs())
}

/// Field by field: bit-equal but for the two sums (≤ 1e-12 relative, the
/// sum of values to the largest of them).
fn assert_same(got: &Summary, want: &Summary) {
    assert_eq!(got.end, want.end, "end");
    assert_eq!(got.stale, want.stale, "stale");
    let (g, w) = match (&got.agg, &want.agg) {
        (Some(g), Some(w)) => (g, w),
        (None, None) => return,
        _ => panic!("aggregates present in one only: {got:?} vs {want:?}"),
    };
    assert_eq!(g.count, w.count, "count");
    assert!(
        g.first.bit_eq(&w.first),
        "first {:?} vs {:?}",
        g.first,
        w.first
    );
    assert!(g.last.bit_eq(&w.last), "last {:?} vs {:?}", g.last, w.last);
    match (g.prev, w.prev) {
        (Some(a), Some(b)) => assert!(a.bit_eq(&b), "prev {a:?} vs {b:?}"),
        (a, b) => assert_eq!(a, b, "prev"),
    }
    assert_eq!(
        g.min.to_bits(),
        w.min.to_bits(),
        "min {} vs {}",
        g.min,
        w.min
    );
    assert_eq!(
        g.max.to_bits(),
        w.max.to_bits(),
        "max {} vs {}",
        g.max,
        w.max
    );
    assert_eq!(
        (g.resets, g.changes, g.overlap),
        (w.resets, w.changes, w.overlap)
    );
    match (g.sum, w.sum) {
        // Summation error scales with the terms, not with a sum they
        // cancel down to: measured against the largest value too.
        (Some(a), Some(b)) => {
            let scale = [a, b, w.min, w.max]
                .into_iter()
                .filter(|x| x.is_finite())
                .fold(0.0f64, |m, x| m.max(x.abs()));
            assert!(
                close(a, b, 1e-12) || (a - b).abs() <= 1e-12 * scale,
                "sum {a} vs {b}"
            )
        }
        (a, b) => assert_eq!(a.is_some(), b.is_some(), "sum kept in one only"),
    }
    // The optional columns: Welford and Chan agree to 1e-9, relative to
    // the spread of the values for the second moments.
    let spread = (w.max - w.min).abs().max(w.max.abs()).max(1.0);
    // Values near f64::MAX overflow both ways, into ±Inf or NaN alike.
    let near = |a: f64, b: f64, scale: f64| {
        close(a, b, 1e-9) || (a - b).abs() <= 1e-9 * scale || !(a.is_finite() || b.is_finite())
    };
    match (g.moments, w.moments) {
        (Some(a), Some(b)) => assert!(
            near(a.mean, b.mean, spread) && near(a.m2, b.m2, spread * spread * g.count as f64),
            "moments {a:?} vs {b:?}"
        ),
        (a, b) => assert_eq!(a.is_some(), b.is_some(), "moments"),
    }
    match (g.trend, w.trend) {
        (Some(a), Some(b)) => {
            let span = (g.last.t - g.first.t) as f64 / 1000.0 + 1.0;
            let n = g.count as f64;
            assert!(
                near(a.mean_x, b.mean_x, span)
                    && near(a.mean_y, b.mean_y, spread)
                    && near(a.sxx, b.sxx, span * span * n)
                    && near(a.sxy, b.sxy, span * spread * n),
                "trend {a:?} vs {b:?}"
            )
        }
        (a, b) => assert_eq!(a.is_some(), b.is_some(), "trend"),
    }
    assert!(
        close(g.reset_correction, w.reset_correction, 1e-12),
        "reset correction {} vs {}",
        g.reset_correction,
        w.reset_correction
    );
}

fn pts(samples: &[(i64, f64)]) -> Vec<Point> {
    samples.iter().map(|&(t, v)| Point::new(t, v, 0)).collect()
}

#[test]
fn bucket_ends_are_left_open() {
    for (name, t, res, end) in [
        ("on an end", 300_000, 300_000, 300_000),
        ("just after", 300_001, 300_000, 600_000),
        ("zero", 0, 60_000, 0),
        ("negative", -1, 60_000, 0),
        ("negative end", -60_000, 60_000, -60_000),
    ] {
        assert_eq!(bucket_end(t, res), end, "{name}");
    }
}

#[test]
fn one_bucket_table() {
    struct Case {
        name: &'static str,
        samples: Vec<(i64, f64)>,
        check: fn(&Summary),
    }
    let cases = [
        Case {
            name: "counter with a reset",
            samples: vec![(1, 5.0), (2, 7.0), (3, 2.0), (4, 3.0)],
            check: |s| {
                let a = s.agg.unwrap();
                assert_eq!((a.count, a.resets, a.changes), (4, 1, 3));
                assert_eq!(a.reset_correction, 7.0);
                assert_eq!((a.first.v, a.last.v, a.prev.unwrap().v), (5.0, 3.0, 2.0));
                assert_eq!((a.min, a.max, a.sum), (2.0, 7.0, Some(17.0)));
            },
        },
        Case {
            name: "trailing staleness marker",
            samples: vec![(1, 1.0), (2, STALE_NAN)],
            check: |s| {
                assert_eq!(s.stale, Some(2));
                assert_eq!(s.agg.unwrap().count, 1);
                assert_eq!(s.instant(i64::MAX), None);
            },
        },
        Case {
            name: "sample after a staleness marker",
            samples: vec![(1, 1.0), (2, STALE_NAN), (3, 1.0)],
            check: |s| {
                assert_eq!(s.stale, None);
                let a = s.agg.unwrap();
                assert_eq!((a.count, a.changes), (2, 0));
                assert_eq!(s.instant(10).map(|p| p.t), Some(3));
            },
        },
        Case {
            name: "only staleness markers",
            samples: vec![(5, STALE_NAN)],
            check: |s| {
                assert!(s.agg.is_none());
                assert!(!s.is_empty());
            },
        },
        Case {
            name: "NaN loses min and max, NaN to NaN is no change",
            samples: vec![(1, f64::NAN), (2, f64::NAN), (3, 4.0), (4, 1.0)],
            check: |s| {
                let a = s.agg.unwrap();
                assert_eq!((a.min, a.max, a.changes), (1.0, 4.0, 2));
                assert!(a.sum.is_some_and(f64::is_nan));
            },
        },
        Case {
            name: "equal extremes keep the earliest zero",
            samples: vec![(1, -0.0), (2, 0.0)],
            check: |s| {
                let a = s.agg.unwrap();
                assert_eq!(a.min.to_bits(), (-0.0f64).to_bits());
                assert_eq!(a.sum.map(f64::to_bits), Some(0.0f64.to_bits()));
            },
        },
        Case {
            name: "instant outside the lookback",
            samples: vec![(1, 1.0)],
            check: |s| assert_eq!(s.instant(5), None),
        },
    ];
    for c in cases {
        let got = summarize(pts(&c.samples), 10, Columns::ALL);
        assert_eq!(got.len(), 1, "{}", c.name);
        assert_eq!(got[0].end, 10, "{}", c.name);
        (c.check)(&got[0]);
    }
}

#[test]
fn start_timestamps_mark_resets_and_overlaps() {
    // A restart the value does not show (start time after the previous
    // sample), then an overlapping start.
    let p = [
        Point::new(10, 5.0, 1),
        Point::new(20, 6.0, 15),
        Point::new(30, 7.0, 12),
    ];
    let s = summarize(p, 100, Columns::ALL);
    let a = s[0].agg.unwrap();
    assert_eq!(a.resets, 1);
    assert_eq!(a.reset_correction, 5.0);
    assert!(a.overlap);
}

proptest! {
    #[test]
    fn coarse_from_fine_equals_coarse_from_raw(p in series(), k in 1i64..14) {
        let fine = summarize(p.iter().copied(), 300_000, Columns::ALL);
        let coarse_raw = summarize(p.iter().copied(), 300_000 * k, Columns::ALL);
        let coarse = coarsen(&fine, 300_000 * k);
        prop_assert_eq!(coarse.len(), coarse_raw.len());
        for (g, w) in coarse.iter().zip(&coarse_raw) {
            assert_same(g, w);
        }
    }

    #[test]
    fn histogram_marks_coarsen_as_built_from_raw(
        p in series(),
        hist in proptest::collection::vec(-60_000i64..4_000_000, 0..40),
        k in 1i64..14,
    ) {
        let mut times = hist;
        times.sort_unstable();
        let mut fine = summarize(p.iter().copied(), 300_000, Columns::ALL);
        mark_histograms(&mut fine, times.iter().copied(), 300_000);
        let mut coarse_raw = summarize(p.iter().copied(), 300_000 * k, Columns::ALL);
        mark_histograms(&mut coarse_raw, times.iter().copied(), 300_000 * k);
        let coarse = coarsen(&fine, 300_000 * k);
        prop_assert_eq!(coarse.len(), coarse_raw.len());
        for (g, w) in coarse.iter().zip(&coarse_raw) {
            assert_same(g, w);
            prop_assert_eq!(g.histograms, w.histograms, "bucket {}", g.end);
        }
        // Every histogram's bucket is marked, and only those.
        for b in &fine {
            let has = times.iter().any(|&t| bucket_end(t, 300_000) == b.end);
            prop_assert_eq!(b.histograms, has, "bucket {}", b.end);
        }
        prop_assert!(fine.windows(2).all(|w| w[0].end < w[1].end));
    }

    #[test]
    fn merging_every_bucket_equals_one_bucket(p in series()) {
        let fine = summarize(p.iter().copied(), 60_000, Columns::ALL);
        let mut all = Summary::new(0);
        let mut c = 0.0;
        p.iter().for_each(|&x| all.push(x, &mut c, Columns::ALL));
        all.finish(c);
        if let Some(first) = fine.first() {
            let mut merged = fine[1..].iter().fold(*first, |acc, s| acc.merge(s));
            merged.end = 0;
            assert_same(&merged, &all);
        }
    }
}
