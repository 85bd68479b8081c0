//! The exactness contract: on every aligned window, each covered rollup
//! of the tier's summary equals the raw rollup of the same samples.

use proptest::prelude::*;
use tsdb::downsample::{Point, Summary, coarsen, summarize};
use tsdb::model::{STALE_NAN, Sample, is_stale_nan};

use super::super::{RangeMode, Rollup, RollupWindow, eval};
use super::{eval as eval_summary, from_summary};
use crate::value::Annotations;

const MINUTE: i64 = 60_000;
const R: i64 = 5 * MINUTE;

/// Raw answer of `f` on `(end - range, end]`, as the evaluator selects it
/// (staleness markers removed, start timestamps beside the samples).
fn raw(f: Rollup, points: &[Point], end: i64, range: i64) -> (Option<f64>, Annotations) {
    let start = end - range;
    let inside: Vec<&Point> = points
        .iter()
        .filter(|p| p.t > start && p.t <= end && !is_stale_nan(p.v))
        .collect();
    let samples: Vec<Sample> = inside.iter().map(|p| p.sample()).collect();
    let sts: Vec<i64> = if f.uses_start_timestamps() && inside.iter().any(|p| p.st != 0) {
        inside.iter().map(|p| p.st).collect()
    } else {
        Vec::new()
    };
    let w = RollupWindow {
        samples: &samples,
        sts: &sts,
        start,
        end,
        before: None,
        before_st: 0,
        after: None,
        mode: RangeMode::Plain,
        resets: None,
    };
    let mut ann = Annotations::default();
    let v = eval(f, &w, &[], "m_total", &mut ann).expect("plain rollups never fail");
    (v, ann)
}

/// The tier's answer: the buckets inside the window merged, then `f`.
fn tier(f: Rollup, buckets: &[Summary], end: i64, range: i64) -> (Option<f64>, Annotations) {
    let start = end - range;
    let mut ann = Annotations::default();
    let merged = buckets
        .iter()
        .filter(|b| b.end > start && b.end <= end)
        .fold(None::<Summary>, |acc, b| {
            Some(acc.map_or(*b, |a| a.merge(b)))
        });
    let v = merged.and_then(|s| eval_summary(f, &s, start, end, "m_total", &mut ann));
    (v, ann)
}

fn same(f: Rollup, tier: Option<f64>, raw: Option<f64>) -> bool {
    match (tier, raw) {
        (None, None) => true,
        (Some(a), Some(b)) if a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) => true,
        // Sums add the same terms grouped by bucket.
        (Some(a), Some(b)) => {
            matches!(
                f,
                Rollup::SumOverTime | Rollup::AvgOverTime | Rollup::Rate | Rollup::Increase
            ) && (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
        }
        _ => false,
    }
}

fn covered() -> Vec<Rollup> {
    Rollup::ALL
        .iter()
        .copied()
        .filter(|f| from_summary(*f))
        .collect()
}

/// Checks every covered rollup at every aligned end and for ranges of
/// 1, 2, 4 and 12 buckets of `buckets` (resolution `res`).
fn check_all(points: &[Point], buckets: &[Summary], res: i64) {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return;
    };
    let lo = tsdb::downsample::bucket_end(first.t, res);
    let hi = tsdb::downsample::bucket_end(last.t, res) + 12 * res;
    for f in covered() {
        for k in [1, 2, 4, 12] {
            let mut end = lo;
            while end <= hi {
                let (t, ta) = tier(f, buckets, end, k * res);
                let (r, ra) = raw(f, points, end, k * res);
                assert!(
                    same(f, t, r),
                    "{} over {}×{res} at {end}: tier {t:?}, raw {r:?}",
                    f.name(),
                    k
                );
                assert_eq!(ta, ra, "{} annotations at {end}", f.name());
                end += res;
            }
        }
    }
}

/// Points of a counter (resets, restarts shown by start times only),
/// jittered 15 s scrapes with gaps, NaNs and staleness markers.
fn series() -> impl Strategy<Value = Vec<Point>> {
    let step = prop_oneof![
        6 => 14_990i64..15_010,
        1 => 1i64..60_000,
        1 => 5 * MINUTE..90 * MINUTE,
    ];
    let event = prop_oneof![
        12 => (0u32..50).prop_map(|x| (x as f64 / 4.0, 0u8)),
        1 => Just((0.0, 1)), // value reset
        1 => Just((0.0, 2)), // restart shown by the start time only
        1 => Just((f64::NAN, 0)),
        1 => Just((STALE_NAN, 0)),
    ];
    proptest::collection::vec((step, event), 1..400).prop_map(|raw| {
        let (mut t, mut v, mut st) = (7 * MINUTE, 10.0f64, 0i64);
        let mut out = Vec::new();
        for (dt, (dv, kind)) in raw {
            t += dt;
            match kind {
                1 => v = dv,
                2 => st = t - 1,
                _ if dv.is_nan() => {
                    out.push(Point::new(t, dv, st));
                    continue;
                }
                _ => v += dv,
            }
            out.push(Point::new(t, v, st));
        }
        out
    })
}

#[test]
fn covered_functions() {
    let names: Vec<&str> = covered().iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        [
            "rate",
            "irate",
            "increase",
            "delta",
            "idelta",
            "avg_over_time",
            "sum_over_time",
            "min_over_time",
            "max_over_time",
            "count_over_time",
            "last_over_time",
            "first_over_time",
            "present_over_time",
            "ts_of_last_over_time",
            "ts_of_first_over_time",
            "changes",
            "resets",
        ]
    );
}

#[test]
fn stale_series_is_absent_from_the_hourly_plain_selector() {
    // Samples every 15 s from 10:00 to 10:17, then a staleness marker.
    let hour = 60 * MINUTE;
    let ten = 10 * hour;
    let mut points: Vec<Point> = (1..=68)
        .map(|i| Point::new(ten + i * 15_000, i as f64, 0))
        .collect();
    points.push(Point::new(ten + 17 * MINUTE + 1, STALE_NAN, 0));
    let hourly = coarsen(&summarize(points.iter().copied(), R), hour);
    let eleven = hourly.iter().find(|b| b.end == 11 * hour).expect("bucket");
    assert_eq!(eleven.instant(5 * MINUTE), None);
    // Without the marker, the last sample (10:17) is outside the lookback
    // at 11:00 too, and inside it at 10:20 on the 5m tier.
    let fine = summarize(points[..68].iter().copied(), R);
    let at_1020 = fine
        .iter()
        .find(|b| b.end == ten + 20 * MINUTE)
        .expect("bucket");
    assert_eq!(at_1020.instant(5 * MINUTE).map(|p| p.v), Some(68.0));
    let hourly = coarsen(&fine, hour);
    assert_eq!(hourly[0].instant(5 * MINUTE), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn five_minute_tier_equals_raw(points in series()) {
        check_all(&points, &summarize(points.iter().copied(), R), R);
    }

    #[test]
    fn hourly_tier_from_five_minutes_equals_raw(points in series()) {
        let hourly = coarsen(&summarize(points.iter().copied(), R), 12 * R);
        check_all(&points, &hourly, 12 * R);
    }
}
