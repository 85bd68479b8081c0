//! Numeric helpers shared by rollups and aggregations.
//!
//! - [`kahan_inc`] / [`KahanSum`]: Kahan–Babuška–Neumaier compensated sums.
//! - [`Mean`]: the mean as `avg_over_time` computes it (compensated sum,
//!   incremental mean once the sum would overflow).
//! - [`Variance`]: compensated Welford variance as `stdvar_over_time`
//!   computes it.
//! - [`quantile`]: Prometheus's linear-interpolation quantile.
//! - [`GoFloat`]: a float formatted as Go's `%g`, for annotation texts.
//!
//! Every accumulator follows IEEE arithmetic: NaN inputs propagate, and
//! infinities behave as Prometheus's (documented per type).

use std::cmp::Ordering;
use std::fmt;

/// One step of Kahan–Babuška–Neumaier summation: adds `inc` to the running
/// `sum` whose lost low-order part is `c`, and returns the new `(sum, c)`.
/// The represented total is `sum + c`.
///
/// When the new sum is ±Inf the compensation is reset to 0 (it would turn
/// into NaN otherwise), as Prometheus's `kahansum.Inc` does.
#[inline]
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        // Neumaier: the smaller operand lost its low-order bits.
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// A compensated running sum, as Prometheus sums (`sum_over_time`, `sum`).
///
/// `value()` is the compensated total; once the sum has overflowed to ±Inf
/// it stays there (or becomes NaN on `Inf + -Inf`), compensation ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct KahanSum {
    sum: f64,
    c: f64,
}

impl KahanSum {
    pub fn new() -> Self {
        KahanSum::default()
    }

    pub fn add(&mut self, v: f64) {
        (self.sum, self.c) = kahan_inc(v, self.sum, self.c);
    }

    /// The compensated total (0 when nothing was added).
    pub fn value(&self) -> f64 {
        if self.sum.is_infinite() {
            self.sum
        } else {
            self.sum + self.c
        }
    }
}

/// The arithmetic mean as Prometheus's `avg_over_time` computes it.
///
/// Values are summed with [`kahan_inc`] and the sum divided by the count at
/// the end (more accurate than an incremental mean, see prometheus#16714).
/// Only if adding a value would overflow the sum to ±Inf does it switch, from
/// that value on, to a compensated incremental mean, which cannot overflow
/// on finite inputs. The first value seeds the sum uncompensated.
///
/// Prometheus's `avg` aggregation switches the same way but updates its
/// incremental mean with a different formula after the switch; this type
/// gives the expected values of `aggregators.test`'s `avg` cases as well,
/// but may differ from `avg` in the last digits after an overflow.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mean {
    count: f64,
    /// The running sum, or the running mean once `incremental`.
    acc: f64,
    c: f64,
    incremental: bool,
}

impl Mean {
    pub fn new() -> Self {
        Mean::default()
    }

    pub fn add(&mut self, v: f64) {
        self.count += 1.0;
        if self.count == 1.0 {
            self.acc = v;
            return;
        }
        if !self.incremental {
            let (sum, c) = kahan_inc(v, self.acc, self.c);
            if !sum.is_infinite() {
                (self.acc, self.c) = (sum, c);
                return;
            }
            // The sum would overflow: continue with the mean so far.
            self.incremental = true;
            self.acc /= self.count - 1.0;
            self.c /= self.count - 1.0;
        }
        let q = (self.count - 1.0) / self.count;
        (self.acc, self.c) = kahan_inc(v / self.count, q * self.acc, q * self.c);
    }

    /// The mean; NaN when nothing was added.
    pub fn value(&self) -> f64 {
        if self.count == 0.0 {
            f64::NAN
        } else if self.incremental {
            self.acc + self.c
        } else {
            self.acc / self.count + self.c / self.count
        }
    }
}

/// Population variance by Welford's method with compensated (Kahan)
/// updates of both the mean and the sum of squared deviations, as
/// Prometheus's `stdvar_over_time` / `stddev_over_time` compute it.
///
/// One finite value gives 0; a single ±Inf or NaN gives NaN. Equal values
/// give exactly 0. Prometheus's `stddev`/`stdvar` *aggregations* use the
/// same recurrence without compensation; results agree to rounding.
#[derive(Debug, Clone, Copy, Default)]
pub struct Variance {
    count: f64,
    mean: f64,
    c_mean: f64,
    aux: f64,
    c_aux: f64,
}

impl Variance {
    pub fn new() -> Self {
        Variance::default()
    }

    pub fn add(&mut self, v: f64) {
        self.count += 1.0;
        let delta = v - (self.mean + self.c_mean);
        (self.mean, self.c_mean) = kahan_inc(delta / self.count, self.mean, self.c_mean);
        let dev = delta * (v - (self.mean + self.c_mean));
        (self.aux, self.c_aux) = kahan_inc(dev, self.aux, self.c_aux);
    }

    /// The population variance; NaN when nothing was added.
    pub fn variance(&self) -> f64 {
        if self.count == 0.0 {
            return f64::NAN;
        }
        (self.aux + self.c_aux) / self.count
    }

    /// The population standard deviation; NaN when nothing was added.
    pub fn stddev(&self) -> f64 {
        self.variance().sqrt()
    }
}

/// The `q`-quantile of `values` as Prometheus computes it: sort ascending
/// with NaNs first, take rank `q·(n−1)` and interpolate linearly between
/// the two closest ranks (`v[lo]·(1−w) + v[hi]·w`, so a NaN or ±Inf
/// neighbour can make the result NaN even at weight 0, as in Prometheus).
///
/// `NaN` when `values` is empty or `q` is NaN, `-Inf` for `q < 0`, `+Inf`
/// for `q > 1`. Reorders `values`.
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_unstable_by(nan_first);
    let n = values.len();
    let rank = q * (n - 1) as f64;
    // 0 <= rank <= n-1, so both casts stay in bounds.
    let lower = rank.floor() as usize;
    let upper = (lower + 1).min(n - 1);
    let weight = rank - rank.floor();
    match (values.get(lower), values.get(upper)) {
        (Some(lo), Some(hi)) => lo * (1.0 - weight) + hi * weight,
        _ => f64::NAN,
    }
}

/// Ascending order with NaNs before every number (Prometheus's
/// `vectorByValueHeap` order).
fn nan_first(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// Formats a float as Go's `fmt` verb `%g` does: shortest round-trip
/// digits, in exponent form `d.ddde±XX` when the decimal exponent is below
/// −4 or at least 6, plain otherwise; `NaN`, `+Inf`, `-Inf`. Prometheus
/// uses it in annotation texts, e.g. `quantile value should be between 0
/// and 1, got 1e+06`.
#[derive(Debug, Clone, Copy)]
pub struct GoFloat(pub f64);

impl fmt::Display for GoFloat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_nan() {
            return f.write_str("NaN");
        }
        if v.is_infinite() {
            return f.write_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        }
        // Rust's `{:e}` gives the shortest round-trip digits: `-1.25e-7`.
        let sci = format!("{v:e}");
        let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        if (-4..6).contains(&exp) {
            // Plain decimal, shortest round-trip.
            write!(f, "{v}")
        } else {
            let sign = if exp < 0 { '-' } else { '+' };
            write!(f, "{mantissa}e{sign}{:02}", exp.unsigned_abs())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Equality as promqltest compares floats: exact, both NaN, or within
    /// a relative 1e-6.
    fn close(got: f64, want: f64) -> bool {
        if got == want || (got.is_nan() && want.is_nan()) {
            return true;
        }
        let diff = (got - want).abs();
        if got == 0.0 || want == 0.0 {
            return diff < 1e-6 * f64::MIN_POSITIVE;
        }
        diff / (got.abs() + want.abs()).min(f64::MAX) < 1e-6
    }

    #[test]
    fn kahan_sum_cases() {
        let inf = f64::INFINITY;
        let cases: &[(&str, &[f64], f64)] = &[
            ("empty", &[], 0.0),
            // functions.test: "very big intermediate values" → 2.
            ("big_cancel", &[1.0, 1e100, 1.0, -1e100], 2.0),
            ("inf_stays", &[inf, 1.0, -3.0], inf),
            ("inf_minus_inf", &[inf, -inf], f64::NAN),
            ("nan", &[1.0, f64::NAN, 2.0], f64::NAN),
            ("overflow", &[f64::MAX, f64::MAX], inf),
        ];
        for (name, vs, want) in cases {
            let mut s = KahanSum::new();
            vs.iter().for_each(|&v| s.add(v));
            assert!(close(s.value(), *want), "{name}: got {}", s.value());
        }
    }

    #[test]
    fn mean_cases_from_avg_over_time() {
        let (inf, nan) = (f64::INFINITY, f64::NAN);
        // As functions.test writes it (more digits than an f64 holds).
        let big: f64 = "9.988465674311579e+307".parse().expect("float");
        // Inputs and expectations of avg_over_time in functions.test.
        let cases: &[(&str, &[f64], f64)] = &[
            ("empty", &[], nan),
            ("metric", &[1.0, 2.0, 3.0, 4.0, 5.0], 3.0),
            ("metric2", &[1.0, 2.0, 3.0, 4.0, inf], inf),
            ("metric3", &[1.0, 2.0, 3.0, 4.0, -inf], -inf),
            ("metric4", &[1.0, 2.0, 3.0, inf, -inf], nan),
            ("metric5", &[inf, 0.0, inf], inf),
            ("metric5c", &[inf, inf, inf, -inf], nan),
            ("metric6", &[1.0, 2.0, 3.0, -inf, -inf], -inf),
            ("metric6b", &[-inf, 0.0, -inf], -inf),
            ("metric6c", &[-inf, -inf, -inf, inf], nan),
            ("metric7", &[1.0, 2.0, -inf, -inf, inf], nan),
            ("metric8", &[big, big], big),
            ("metric9", &[-big, -big, -big], -big),
            ("metric10", &[-big, big], 0.0),
            ("metric11", &[1.0, 2.0, 3.0, nan, nan], nan),
            ("foo_52", &[52.0; 13], 52.0),
            (
                "5s_metric1",
                &[1e10, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6],
                1.6666666666666675e+09,
            ),
            (
                "5s_metric2",
                &[
                    5.30921651659898,
                    0.961118537914768,
                    1.62091361305318,
                    0.865089463758091,
                    0.323055185914577,
                    0.951811357687154,
                ],
                1.67186744582113,
            ),
            (
                "5s_metric3",
                &[1.78264e50, 0.76342771, 1.9592258, 7.69805412, 458.90154],
                3.56528E+49,
            ),
            (
                "5s_metric5",
                &[
                    1.78264E+50,
                    0.76342771,
                    1.9592258,
                    2.258E+220,
                    7.69805412,
                    458.90154,
                ],
                3.76333333333333E+219,
            ),
            (
                "5s_metric8",
                &[
                    -1.78264E+215,
                    0.76342771,
                    1.9592258,
                    2.258E+220,
                    7.69805412,
                    -458.90154,
                ],
                3.76330362266667E+219,
            ),
            (
                "5s_metric10",
                &[
                    -1.78264E+219,
                    0.76342771,
                    1.9592258,
                    2.3757689E+217,
                    -2.3757689E+217,
                    2.258E+220,
                    7.69805412,
                    1.78264E+219,
                    -458.90154,
                ],
                2.5088888888888888e+219,
            ),
            (
                // "Even Kahan summation cannot cope" — Prometheus gives 0.
                "5s_metric11",
                &[
                    -2.258E+220,
                    -1.78264E+219,
                    0.76342771,
                    1.9592258,
                    2.3757689E+217,
                    -2.3757689E+217,
                    2.258E+220,
                    7.69805412,
                    1.78264E+219,
                    -458.90154,
                ],
                0.0,
            ),
        ];
        for (name, vs, want) in cases {
            let mut m = Mean::new();
            vs.iter().for_each(|&v| m.add(v));
            assert!(close(m.value(), *want), "{name}: got {}", m.value());
        }
        // functions.test relies on exact equality: avg_over_time(foo[..]) == 52.
        let mut m = Mean::new();
        (0..13).for_each(|_| m.add(52.0));
        assert_eq!(m.value(), 52.0);
    }

    #[test]
    fn mean_cases_from_avg_aggregation() {
        // aggregators.test "Tests for avg" (series in label order).
        let (inf, nan) = (f64::INFINITY, f64::NAN);
        let big: f64 = "9.988465674311579e+307".parse().expect("float");
        let cases: &[(&str, &[f64], f64)] = &[
            ("ten", &[8.0, 10.0, 12.0], 10.0),
            ("inf", &[0.0, inf, 0.0, inf], inf),
            ("inf2", &[inf, 0.0, inf], inf),
            ("-inf", &[-inf, -inf, 0.0], -inf),
            ("nan", &[-inf, 0.0, inf], nan),
            ("big", &[big; 4], big),
            ("-big", &[-big; 4], -big),
            ("bigzero", &[-big, -big, big, big], 0.0),
            ("extreme", &[2.0, 8.0, 1e100, -1e100], 2.5),
            ("pos_inf_1", &[inf, 2.0], inf),
            ("pos_inf_2", &[2.0, inf], inf),
            ("inf_inf", &[inf, -inf], nan),
        ];
        for (name, vs, want) in cases {
            let mut m = Mean::new();
            vs.iter().for_each(|&v| m.add(v));
            assert!(close(m.value(), *want), "{name}: got {}", m.value());
        }
    }

    #[test]
    fn variance_cases() {
        let cases: &[(&str, &[f64], f64)] = &[
            ("empty", &[], f64::NAN),
            // functions.test stdvar_over_time(metric[2m]) → 10.56.
            ("metric", &[0.0, 8.0, 8.0, 2.0, 3.0], 10.56),
            ("single", &[7.0], 0.0),
            ("single_inf", &[f64::INFINITY], f64::NAN),
            ("single_nan", &[f64::NAN], f64::NAN),
            ("with_inf", &[1.0, 2.0, f64::INFINITY], f64::NAN),
            // aggregators.test stdvar cases.
            ("agg_two", &[1.0, 2.0], 0.25),
            ("agg_nan_last", &[1.0, 2.0, f64::NAN], f64::NAN),
            ("agg_nan_first", &[f64::NAN, 1.0, 2.0], f64::NAN),
        ];
        for (name, vs, want) in cases {
            let mut v = Variance::new();
            vs.iter().for_each(|&x| v.add(x));
            assert!(close(v.variance(), *want), "{name}: got {}", v.variance());
        }
        // functions.test #4927: equal values give exactly 0.
        let mut v = Variance::new();
        (0..3).for_each(|_| v.add(1.5990505637277868));
        assert_eq!(v.variance(), 0.0);
        assert_eq!(v.stddev(), 0.0);
        let mut v = Variance::new();
        [0.0, 8.0, 8.0, 2.0, 3.0].iter().for_each(|&x| v.add(x));
        assert!(close(v.stddev(), 3.249615), "stddev {}", v.stddev());
    }

    #[test]
    fn quantile_cases() {
        let nan = f64::NAN;
        // functions.test quantile_over_time and aggregators.test quantile.
        let cases: &[(&str, f64, &[f64], f64)] = &[
            ("empty", 0.5, &[], nan),
            ("two_0", 0.0, &[0.0, 1.0], 0.0),
            ("two_half", 0.5, &[1.0, 0.0], 0.5),
            ("two_0.75", 0.75, &[0.0, 1.0], 0.75),
            ("three_0.8", 0.8, &[2.0, 0.0, 1.0], 1.6),
            ("uneven_0.75", 0.75, &[0.0, 1.0, 4.0], 2.5),
            ("uneven_0.8", 0.8, &[0.0, 4.0, 1.0], 2.8),
            ("uneven_1", 1.0, &[0.0, 1.0, 4.0], 4.0),
            ("q_below", -1.0, &[0.0, 1.0], f64::NEG_INFINITY),
            ("q_above", 2.0, &[0.0, 1.0], f64::INFINITY),
            ("q_nan", nan, &[0.0, 1.0], nan),
            // "The NaN sample is treated as the smallest possible value."
            ("nan_sample_0.8", 0.8, &[0.0, 1.0, nan], 0.6),
            // "A quantile between NaN and 0 is interpolated as NaN."
            ("nan_sample_0.2", 0.2, &[0.0, nan, 1.0], nan),
            ("single", 0.3, &[5.0], 5.0),
        ];
        for (name, q, vs, want) in cases {
            let mut vs = vs.to_vec();
            let got = quantile(*q, &mut vs);
            assert!(close(got, *want), "{name}: got {got}");
        }
    }

    #[test]
    fn go_g_formatting() {
        let cases: &[(f64, &str)] = &[
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (2.0, "2"),
            (-1.0, "-1"),
            (0.0, "0"),
            (-0.0, "-0"),
            (0.5, "0.5"),
            (1.1, "1.1"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (1e-5, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1.5e21, "1.5e+21"),
            (1e100, "1e+100"),
        ];
        for (v, want) in cases {
            assert_eq!(GoFloat(*v).to_string(), *want, "{v}");
        }
    }

    /// Reference quantile: linear interpolation between the sorted values
    /// at the floor and ceiling of the rank.
    fn reference_quantile(q: f64, vs: &[f64]) -> f64 {
        let mut s = vs.to_vec();
        s.sort_by(|a, b| a.total_cmp(b));
        let rank = q * (s.len() - 1) as f64;
        let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
        if lo == hi {
            s[lo]
        } else {
            s[lo] + (s[hi] - s[lo]) * (rank - lo as f64)
        }
    }

    proptest! {
        #[test]
        fn quantile_matches_reference(
            vs in prop::collection::vec(-1e6f64..1e6, 1..40),
            q in 0.0f64..=1.0,
        ) {
            let want = reference_quantile(q, &vs);
            let got = quantile(q, &mut vs.clone());
            prop_assert!((got - want).abs() <= 1e-9 * (1.0 + want.abs()), "got {got} want {want}");
        }

        #[test]
        fn quantile_is_bounded_by_min_and_max(
            vs in prop::collection::vec(-1e9f64..1e9, 1..40),
            q in 0.0f64..=1.0,
        ) {
            let lo = vs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = vs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let got = quantile(q, &mut vs.clone());
            let slack = 1e-9 * (lo.abs() + hi.abs());
            prop_assert!(got >= lo - slack && got <= hi + slack);
        }

        #[test]
        fn kahan_sum_of_integers_is_exact(vs in prop::collection::vec(-(1i64 << 40)..(1i64 << 40), 0..200)) {
            let mut s = KahanSum::new();
            vs.iter().for_each(|&v| s.add(v as f64));
            prop_assert_eq!(s.value(), vs.iter().sum::<i64>() as f64);
        }

        #[test]
        fn mean_and_variance_match_two_pass(vs in prop::collection::vec(-1e6f64..1e6, 1..60)) {
            let n = vs.len() as f64;
            let mean = vs.iter().sum::<f64>() / n;
            let var = vs.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            let (mut m, mut w) = (Mean::new(), Variance::new());
            for &v in &vs {
                m.add(v);
                w.add(v);
            }
            prop_assert!((m.value() - mean).abs() <= 1e-9 * (1.0 + mean.abs()));
            prop_assert!((w.variance() - var).abs() <= 1e-6 * (1.0 + var));
        }
    }
}
