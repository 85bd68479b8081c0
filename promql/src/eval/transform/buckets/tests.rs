//! Tests of the bucket math: table cases from
//! `testdata/promql/histograms.test` and a property test against a plain
//! reading of the documented rules.

use super::*;
use proptest::prelude::*;

fn bk(pairs: &[(f64, f64)]) -> Vec<Bucket> {
    pairs
        .iter()
        .map(|&(upper, count)| Bucket { upper, count })
        .collect()
}

const INF: f64 = f64::INFINITY;

/// Name, q, (upper, count) pairs, expected value, expected forced flag.
type QuantileCase<'a> = (&'a str, f64, &'a [(f64, f64)], f64, bool);
/// Name, lower, upper, (upper, count) pairs, expected fraction.
type FractionCase<'a> = (&'a str, f64, f64, &'a [(f64, f64)], f64);

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

/// Buckets and expectations from testdata/promql/histograms.test.
#[test]
fn quantile_table() {
    // testhistogram3 at 50m.
    let pos = [
        (0.0, 0.0),
        (0.1, 50.0),
        (0.2, 70.0),
        (1.0, 110.0),
        (INF, 110.0),
    ];
    let neg = [
        (-0.25, 0.0),
        (-0.2, 10.0),
        (-0.1, 20.0),
        (0.3, 20.0),
        (INF, 20.0),
    ];
    // testhistogram at 50m.
    let pos2 = [(0.1, 50.0), (0.2, 70.0), (1.0, 110.0), (INF, 120.0)];
    let neg2 = [(-0.2, 10.0), (-0.1, 20.0), (0.3, 20.0), (INF, 30.0)];
    // testhistogram2 at 7m (values 0, 1, 2, 3, 3 after one step).
    let h2 = [(0.0, 0.0), (2.0, 1.0), (4.0, 2.0), (6.0, 3.0), (INF, 3.0)];
    // nonmonotonic_bucket at 50m.
    let nonmono = [
        (0.1, 20.0),
        (1.0, 10.0),
        (10.0, 50.0),
        (100.0, 40.0),
        (1000.0, 90.0),
        (INF, 80.0),
    ];
    // mixed_bucket ins1: three spellings of 0.2 merge into one bucket.
    let mixed = [(0.1, 1.0), (0.2, 1.0), (0.2, 1.0), (0.2, 1.0), (INF, 4.0)];
    let cases: &[QuantileCase] = &[
        ("testhistogram3 q0 positive", 0.0, &pos, 0.0, false),
        ("testhistogram3 q0 negative", 0.0, &neg, -0.25, false),
        ("testhistogram3 q.25 positive", 0.25, &pos, 0.055, false),
        ("testhistogram3 q.25 negative", 0.25, &neg, -0.225, false),
        ("testhistogram3 q.5 positive", 0.5, &pos, 0.125, false),
        ("testhistogram3 q.5 negative", 0.5, &neg, -0.2, false),
        ("testhistogram3 q.75 positive", 0.75, &pos, 0.45, false),
        ("testhistogram3 q.75 negative", 0.75, &neg, -0.15, false),
        ("testhistogram3 q1 positive", 1.0, &pos, 1.0, false),
        ("testhistogram3 q1 negative", 1.0, &neg, -0.1, false),
        ("testhistogram q0 positive", 0.0, &pos2, 0.0, false),
        ("testhistogram q0 negative", 0.0, &neg2, -0.2, false),
        ("testhistogram q1 negative", 1.0, &neg2, 0.3, false),
        ("testhistogram q.2 positive", 0.2, &pos2, 0.048, false),
        ("testhistogram q.2 negative", 0.2, &neg2, -0.2, false),
        ("testhistogram q.5 negative", 0.5, &neg2, -0.15, false),
        ("testhistogram q.8 positive", 0.8, &pos2, 0.72, false),
        ("testhistogram q.8 negative", 0.8, &neg2, 0.3, false),
        ("quantile too low", -0.1, &pos2, -INF, false),
        ("quantile too high", 1.01, &pos2, INF, false),
        ("quantile NaN", f64::NAN, &pos2, f64::NAN, false),
        ("middle of first bucket", 1.0 / 6.0, &h2, 1.0, false),
        ("middle of second bucket", 0.5, &h2, 3.0, false),
        ("middle of third bucket", 5.0 / 6.0, &h2, 5.0, false),
        ("nonmonotonic q.01", 0.01, &nonmono, 0.0045, true),
        ("nonmonotonic q.5", 0.5, &nonmono, 8.5, true),
        ("nonmonotonic q.99", 0.99, &nonmono, 979.75, true),
        ("duplicate le merge q.5", 0.5, &mixed, 0.15, false),
        ("duplicate le merge q.75", 0.75, &mixed, 0.2, false),
        ("duplicate le merge q1", 1.0, &mixed, 0.2, false),
        (
            "only +Inf buckets",
            0.5,
            &[(INF, 0.0), (INF, 0.0)],
            f64::NAN,
            false,
        ),
        (
            "all empty",
            0.2,
            &[(0.1, 0.0), (0.2, 0.0), (INF, 0.0)],
            f64::NAN,
            false,
        ),
        (
            "no +Inf bucket",
            0.5,
            &[(0.1, 1.0), (0.2, 2.0)],
            f64::NAN,
            false,
        ),
        (
            "NaN bound sorts last",
            0.5,
            &[(f64::NAN, 1.0), (INF, 2.0)],
            f64::NAN,
            false,
        ),
        (
            "unsorted input",
            0.5,
            &[(INF, 30.0), (-0.1, 20.0), (-0.2, 10.0)],
            -0.15,
            false,
        ),
    ];
    for (name, q, pairs, want, want_forced) in cases {
        let mut b = bk(pairs);
        let got = bucket_quantile(*q, &mut b);
        assert!(
            close(got.value, *want),
            "{name}: got {}, want {want}",
            got.value
        );
        assert_eq!(got.forced_monotonic, *want_forced, "{name}: forced flag");
    }
}

#[test]
fn small_deltas_are_ignored_without_info() {
    // A relative dip of 1e-15 is floating-point noise, not a fix.
    let mut b = bk(&[(1.0, 1000.0), (2.0, 1000.0 - 1e-12), (INF, 2000.0)]);
    let got = bucket_quantile(0.5, &mut b);
    assert!(!got.forced_monotonic);
    assert_eq!(b[1].count, 1000.0);
    assert_eq!(got.value, 1.0);
}

#[test]
fn forced_flag_survives_a_nan_result() {
    // Raising the decrease leaves no observations: NaN, but still fixed.
    let mut b = bk(&[(1.0, 0.0), (2.0, -5.0), (INF, -5.0)]);
    let got = bucket_quantile(0.5, &mut b);
    assert!(got.value.is_nan());
    assert!(got.forced_monotonic);
}

/// Cases and expectations from testdata/promql/histograms.test
/// (`histogram_fraction` over `*_bucket` series at 50m).
#[test]
fn fraction_table() {
    let h2 = [
        (0.0, 0.0),
        (2.0, 10.0),
        (4.0, 20.0),
        (6.0, 30.0),
        (INF, 30.0),
    ];
    let pos3 = [
        (0.0, 0.0),
        (0.1, 50.0),
        (0.2, 70.0),
        (1.0, 110.0),
        (INF, 110.0),
    ];
    let neg3 = [
        (-0.25, 0.0),
        (-0.2, 10.0),
        (-0.1, 20.0),
        (0.3, 20.0),
        (INF, 20.0),
    ];
    let pos = [(1.0, 1.0), (2.0, 3.0), (3.0, 6.0), (INF, 100.0)];
    let neg = [(-3.0, 10.0), (-2.0, 12.0), (-1.0, 15.0), (INF, 100.0)];
    let frac = [(0.5, 2.5), (1.0, 7.5), (INF, 100.0)];
    let cross = [
        (-2.0, 5.0),
        (-1.0, 10.0),
        (0.0, 15.0),
        (1.0, 20.0),
        (INF, 100.0),
    ];
    let small = [(1.0, 1.0), (2.0, 3.0), (INF, 10.0)];
    let nan = f64::NAN;
    let cases: &[FractionCase] = &[
        ("testhistogram2 0..4", 0.0, 4.0, &h2, 0.6666666666666666),
        ("testhistogram2 0..6", 0.0, 6.0, &h2, 1.0),
        ("testhistogram2 0..3.5", 0.0, 3.5, &h2, 0.5833333333333334),
        (
            "testhistogram3 positive",
            0.0,
            0.2,
            &pos3,
            0.6363636363636364,
        ),
        ("testhistogram3 negative", 0.0, 0.2, &neg3, 0.0),
        ("lower in first bucket", 0.0, 1.5, &pos, 0.02),
        ("negative lower in first bucket", -4.0, -2.0, &neg, 0.02),
        ("lower is -Inf", -INF, -1.5, &neg, 0.135),
        ("everything, positive", -INF, INF, &pos, 1.0),
        ("everything, negative", -INF, INF, &neg, 1.0),
        ("both in last bucket", 4.0, 5.0, &pos, 0.0),
        ("both in last bucket, negative", 0.0, 1.0, &neg, 0.0),
        ("upper in last bucket", 2.0, 5.0, &pos, 0.03),
        ("upper is +Inf", 400.0, INF, &pos, 0.94),
        ("lower equals upper", 2.0, 2.0, &pos, 0.0),
        ("lower above upper", 3.0, 2.0, &pos, 0.0),
        ("single bucket", 0.0, 1.0, &[(INF, 100.0)], 0.0),
        (
            "all zero",
            0.0,
            5.0,
            &[(1.0, 0.0), (2.0, 0.0), (3.0, 0.0), (INF, 0.0)],
            nan,
        ),
        ("lower on boundary", 2.0, 3.5, &pos, 0.03),
        ("upper on boundary", 0.5, 2.0, &pos, 0.025),
        ("both on boundaries", 1.0, 3.0, &pos, 0.05),
        ("fractional bounds", 0.1, 0.75, &frac, 0.045),
        ("range crosses zero", -1.0, 1.0, &cross, 0.1),
        ("lower NaN", nan, 1.0, &[(1.0, 1.0), (INF, 100.0)], nan),
        ("upper NaN", 0.0, nan, &[(1.0, 1.0), (INF, 100.0)], nan),
        ("entirely below", -10.0, -5.0, &small, 0.0),
        ("entirely above", 5.0, 10.0, &small, 0.0),
        ("no +Inf bucket", 0.0, 1.0, &[(1.0, 1.0)], nan),
    ];
    for (name, lower, upper, pairs, want) in cases {
        let mut b = bk(pairs);
        let got = bucket_fraction(*lower, *upper, &mut b);
        assert!(close(got, *want), "{name}: got {got}, want {want}");
    }
}

#[test]
fn almost_equal_edges() {
    assert!(almost_equal(f64::NAN, f64::NAN, SMALL_DELTA));
    assert!(!almost_equal(f64::NAN, 1.0, SMALL_DELTA));
    // Against zero the tolerance is absolute: 1e-12 of the smallest normal.
    assert!(almost_equal(0.0, 1e-321, SMALL_DELTA));
    assert!(!almost_equal(0.0, 1e-300, SMALL_DELTA));
    assert!(almost_equal(1e300, 1e300 * (1.0 + 1e-14), SMALL_DELTA));
    assert!(!almost_equal(f64::INFINITY, 1.0, SMALL_DELTA));
}

/// A plain reading of the documented rules for well-formed input:
/// distinct finite bounds in ascending order, then `+Inf`; monotonic
/// counts with a positive total.
fn reference_quantile(q: f64, bounds: &[f64], counts: &[f64]) -> f64 {
    let total = *counts.last().unwrap();
    let rank = q * total;
    let finite = bounds.len();
    for i in 0..finite {
        if counts[i] >= rank {
            if i == 0 && bounds[0] <= 0.0 {
                return bounds[0];
            }
            let lo = if i == 0 { 0.0 } else { bounds[i - 1] };
            let below = if i == 0 { 0.0 } else { counts[i - 1] };
            return lo + (bounds[i] - lo) * ((rank - below) / (counts[i] - below));
        }
    }
    if finite == 0 {
        f64::NAN
    } else {
        bounds[finite - 1]
    }
}

fn histogram() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    prop::collection::btree_set(-500i32..5000, 1..8)
        .prop_flat_map(|bounds| {
            let bounds: Vec<f64> = bounds.into_iter().map(|b| f64::from(b) / 10.0).collect();
            let n = bounds.len() + 1;
            (Just(bounds), prop::collection::vec(0u32..50, n))
        })
        .prop_filter_map("needs observations", |(bounds, increments)| {
            let mut acc = 0.0;
            let counts: Vec<f64> = increments
                .iter()
                .map(|&d| {
                    acc += f64::from(d);
                    acc
                })
                .collect();
            (acc > 0.0).then_some((bounds, counts))
        })
}

proptest! {
    #[test]
    fn quantile_matches_reference(
        (bounds, counts) in histogram(),
        q in 0.0f64..=1.0,
        seed in any::<u64>(),
    ) {
        let mut b: Vec<Bucket> = bounds
            .iter()
            .chain(std::iter::once(&INF))
            .zip(&counts)
            .map(|(&upper, &count)| Bucket { upper, count })
            .collect();
        // Input order must not matter.
        let len = b.len();
        for i in 0..len {
            let j = (seed.rotate_left(i as u32) as usize).wrapping_add(i) % len;
            b.swap(i, j);
        }
        let got = bucket_quantile(q, &mut b);
        let want = reference_quantile(q, &bounds, &counts);
        prop_assert!(!got.forced_monotonic);
        prop_assert!(close(got.value, want), "got {}, want {want}", got.value);
        prop_assert!(b.windows(2).all(|w| w[0].upper < w[1].upper));
    }

    #[test]
    fn quantile_is_monotonic_in_q(
        (bounds, counts) in histogram(),
        q1 in 0.0f64..=1.0,
        q2 in 0.0f64..=1.0,
    ) {
        let mk = || -> Vec<Bucket> {
            bounds
                .iter()
                .chain(std::iter::once(&INF))
                .zip(&counts)
                .map(|(&upper, &count)| Bucket { upper, count })
                .collect()
        };
        let (lo, hi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
        let a = bucket_quantile(lo, &mut mk()).value;
        let b = bucket_quantile(hi, &mut mk()).value;
        prop_assert!(a <= b + 1e-9 * b.abs().max(1.0), "q={lo} gave {a}, q={hi} gave {b}");
    }
}
