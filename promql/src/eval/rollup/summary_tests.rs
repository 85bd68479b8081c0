//! The exactness contract: on every aligned window, each covered rollup
//! of the tier's summary equals the raw rollup of the same samples.

use proptest::prelude::*;
use tsdb::downsample::{Columns, Point, Summary, coarsen, summarize};
use tsdb::model::{STALE_NAN, Sample, is_stale_nan};

use super::super::{RangeMode, Rollup, RollupWindow, eval};
use super::{SummaryWindow, eval as eval_summary, from_summary};
use crate::value::Annotations;

const MINUTE: i64 = 60_000;
const R: i64 = 5 * MINUTE;
/// `predict_linear`'s argument (seconds ahead); the others take none.
const ARGS: [f64; 1] = [600.0];

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
    let v = eval(f, &w, &ARGS, "m_total", &mut ann).expect("plain rollups never fail");
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
    let w = SummaryWindow {
        start,
        end,
        ts: end,
        args: &ARGS,
    };
    let v = merged.and_then(|s| eval_summary(f, &s, w, "m_total", &mut ann));
    (v, ann)
}

fn same(f: Rollup, tier: Option<f64>, raw: Option<f64>) -> bool {
    match (tier, raw) {
        (None, None) => true,
        (Some(a), Some(b)) if a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) => true,
        // Not within any tolerance (which ∞ would swallow).
        (Some(a), Some(b)) if a.is_finite() != b.is_finite() => false,
        (Some(a), Some(b)) => {
            let tolerance = match f {
                // Sums add the same terms grouped by bucket.
                Rollup::SumOverTime | Rollup::AvgOverTime | Rollup::Rate | Rollup::Increase => {
                    1e-12
                }
                // The optional columns merge moments and least-squares sums.
                Rollup::StddevOverTime
                | Rollup::StdvarOverTime
                | Rollup::Deriv
                | Rollup::PredictLinear => 1e-9,
                _ => 0.0,
            };
            (a - b).abs() <= tolerance * a.abs().max(b.abs())
        }
        _ => false,
    }
}

/// For `deriv` and `predict_linear`, whose raw answer (Prometheus's sums
/// of x and x²) loses digits to cancellation over long windows: the tier's
/// answer is within 1e-9 of the exact least-squares answer, or no further
/// from it than the raw one. Exact: the test values are multiples of 1/4,
/// so the fit is computed in integers.
fn no_further_from_exact(
    f: Rollup,
    tier: Option<f64>,
    raw: Option<f64>,
    points: &[Point],
    end: i64,
    range: i64,
) -> bool {
    let (Some(t), Some(r)) = (tier, raw) else {
        return false;
    };
    let inside: Vec<&Point> = points
        .iter()
        .filter(|p| p.t > end - range && p.t <= end && !is_stale_nan(p.v))
        .collect();
    if !matches!(f, Rollup::Deriv | Rollup::PredictLinear)
        || inside
            .iter()
            .any(|p| !p.v.is_finite() || (p.v * 4.0).fract() != 0.0)
    {
        return false;
    }
    // x in ms from the end, y in quarters: slope = num / den per ms.
    let n = inside.len() as i128;
    let (mut sx, mut sy, mut sxx, mut sxy) = (0i128, 0i128, 0i128, 0i128);
    for p in &inside {
        let (x, y) = ((p.t - end) as i128, (p.v * 4.0) as i128);
        (sx, sy, sxx, sxy) = (sx + x, sy + y, sxx + x * x, sxy + x * y);
    }
    let (num, den) = (n * sxy - sx * sy, n * sxx - sx * sx);
    if den == 0 {
        return false;
    }
    let slope = num as f64 / den as f64 * 1000.0 / 4.0; // per second
    let exact = if f == Rollup::Deriv {
        slope
    } else {
        // The line's value ARGS[0] seconds after `end` (= ts here).
        let intercept = (sy as f64 - slope / 1000.0 * 4.0 * sx as f64) / n as f64 / 4.0;
        intercept + slope * ARGS[0]
    };
    let err = |v: f64| (v - exact).abs();
    err(t) <= err(r).max(1e-9 * exact.abs())
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
                    same(f, t, r) || no_further_from_exact(f, t, r, points, end, k * res),
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
            "deriv",
            "predict_linear",
            "avg_over_time",
            "sum_over_time",
            "min_over_time",
            "max_over_time",
            "count_over_time",
            "stddev_over_time",
            "stdvar_over_time",
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
    let hourly = coarsen(&summarize(points.iter().copied(), R, Columns::ALL), hour);
    let eleven = hourly.iter().find(|b| b.end == 11 * hour).expect("bucket");
    assert_eq!(eleven.instant(5 * MINUTE), None);
    // Without the marker, the last sample (10:17) is outside the lookback
    // at 11:00 too, and inside it at 10:20 on the 5m tier.
    let fine = summarize(points[..68].iter().copied(), R, Columns::ALL);
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
        check_all(&points, &summarize(points.iter().copied(), R, Columns::ALL), R);
    }

    #[test]
    fn hourly_tier_from_five_minutes_equals_raw(points in series()) {
        let hourly = coarsen(&summarize(points.iter().copied(), R, Columns::ALL), 12 * R);
        check_all(&points, &hourly, 12 * R);
    }
}
