//! The `*_over_time` aggregations of a window's samples, and the
//! `ts_of_*_over_time` functions (timestamps in seconds).

use tsdb::model::Sample;

use super::Rollup;
use crate::eval::stats::{self, GoFloat, KahanSum, Mean, Variance};
use crate::value::Annotations;

/// `f` over the window's samples; None for an empty window. `f` is one of
/// the parameterless `*_over_time` / `ts_of_*_over_time` functions (any
/// other rollup gives None).
pub(super) fn eval(f: Rollup, s: &[Sample]) -> Option<f64> {
    let (first, last) = (s.first()?, s.last()?);
    let v = match f {
        Rollup::SumOverTime => {
            let mut sum = KahanSum::new();
            s.iter().for_each(|p| sum.add(p.v));
            sum.value()
        }
        Rollup::AvgOverTime => {
            let mut mean = Mean::new();
            s.iter().for_each(|p| mean.add(p.v));
            mean.value()
        }
        Rollup::CountOverTime => s.len() as f64,
        Rollup::MinOverTime => extreme(s, |cur, best| cur < best)?.v,
        Rollup::MaxOverTime => extreme(s, |cur, best| cur > best)?.v,
        Rollup::StddevOverTime => variance(s).stddev(),
        Rollup::StdvarOverTime => variance(s).variance(),
        Rollup::LastOverTime => last.v,
        Rollup::FirstOverTime => first.v,
        Rollup::PresentOverTime => 1.0,
        Rollup::MadOverTime => mad(s),
        Rollup::TsOfMinOverTime => seconds(extreme(s, |cur, best| cur <= best)?.t),
        Rollup::TsOfMaxOverTime => seconds(extreme(s, |cur, best| cur >= best)?.t),
        Rollup::TsOfLastOverTime => seconds(last.t),
        Rollup::TsOfFirstOverTime => seconds(first.t),
        _ => return None,
    };
    Some(v)
}

/// `quantile_over_time`: the `q`-quantile of the values (see
/// [`stats::quantile`] for `q` outside [0, 1] and NaN, which also add
/// Prometheus's warning). None for an empty window.
pub(super) fn quantile(s: &[Sample], q: f64, ann: &mut Annotations) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    if !(0.0..=1.0).contains(&q) {
        ann.warn(format_args!(
            "quantile value should be between 0 and 1, got {}",
            GoFloat(q)
        ));
    }
    let mut values: Vec<f64> = s.iter().map(|p| p.v).collect();
    Some(stats::quantile(q, &mut values))
}

/// A ms timestamp in seconds.
fn seconds(t: i64) -> f64 {
    t as f64 / 1000.0
}

/// The sample that wins under `better(candidate, best)` scanning in time
/// order from the first; a NaN best is always replaced, so NaNs lose to
/// any number. With `<=` / `>=` the latest of equal extremes wins. None
/// for no samples.
fn extreme(s: &[Sample], better: impl Fn(f64, f64) -> bool) -> Option<Sample> {
    let mut best = *s.first()?;
    for p in s {
        if better(p.v, best.v) || best.v.is_nan() {
            best = *p;
        }
    }
    Some(best)
}

fn variance(s: &[Sample]) -> Variance {
    let mut v = Variance::new();
    s.iter().for_each(|p| v.add(p.v));
    v
}

/// Median absolute deviation from the median; NaN if any value is NaN.
fn mad(s: &[Sample]) -> f64 {
    if s.iter().any(|p| p.v.is_nan()) {
        return f64::NAN;
    }
    let mut values: Vec<f64> = s.iter().map(|p| p.v).collect();
    let median = stats::quantile(0.5, &mut values);
    values.iter_mut().for_each(|v| *v = (*v - median).abs());
    stats::quantile(0.5, &mut values)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tsdb::model::Sample;

    use super::super::testutil::{Case, check_cases, close, load, window};
    use super::super::{RangeMode, Rollup, Rollup::*, eval};
    use crate::value::Annotations;

    #[test]
    fn avg_sum_count() {
        // functions.test "Tests for avg_over_time" (load 10s, at 55s).
        let metric = load("10s", "1 2 3 4 5");
        let metric4 = load("10s", "1 2 3 Inf -Inf");
        let metric5 = load("10s", "Inf 0 Inf");
        let metric8 = load("10s", "9.988465674311579e+307 9.988465674311579e+307");
        let metric10 = load("10s", "-9.988465674311579e+307 9.988465674311579e+307");
        let metric11 = load("10s", "1 2 3 NaN NaN");
        let big = load("10s", "1 1e100 1 -1e100");
        let dense = load("1ms", "1+0x4000");
        let foo = load("10s", "52+0x100");
        let mut cases = vec![
            Case::new("no_samples", AvgOverTime, &metric, "55s", "10s").none(),
            Case::new("one_sample", AvgOverTime, &metric, "55s", "20s").want(5.0),
            Case::new("all", AvgOverTime, &metric, "55s", "1m").want(3.0),
            Case::new("sum", SumOverTime, &metric, "55s", "1m").want(15.0),
            Case::new("count", CountOverTime, &metric, "55s", "1m").want(5.0),
            Case::new("inf_minus_inf", AvgOverTime, &metric4, "55s", "1m").want(f64::NAN),
            Case::new("inf", AvgOverTime, &metric5, "55s", "1m").want(f64::INFINITY),
            Case::new("overflow", AvgOverTime, &metric8, "55s", "1m").want(metric8[0].v),
            Case::new("overflow_sum", SumOverTime, &metric8, "55s", "1m").want(f64::INFINITY),
            Case::new("cancel", AvgOverTime, &metric10, "55s", "1m").want(0.0),
            Case::new("nan_20s", AvgOverTime, &metric11, "20s", "1m").want(2.0),
            Case::new("nan_30s", AvgOverTime, &metric11, "30s", "1m").want(f64::NAN),
            Case::new("big_sum", SumOverTime, &big, "1m", "2m").want(2.0),
            Case::new("big_avg", AvgOverTime, &big, "1m", "2m").want(0.5),
        ];
        // "Test per-series aggregation on dense samples."
        for (range, want) in [
            ("1000ms", 1000.0),
            ("1001ms", 1001.0),
            ("1003ms", 1003.0),
            ("2002ms", 2002.0),
            ("3000ms", 3000.0),
            ("3003ms", 3003.0),
        ] {
            cases.push(Case::new("dense", SumOverTime, &dense, "4s", range).want(want));
        }
        check_cases(&cases);
        // avg_over_time(foo[…]) == 52 holds exactly.
        for range in ["100s", "110s", "120s", "130s"] {
            let (got, _) = Case::new("exact", AvgOverTime, &foo, "10m", range).run();
            assert_eq!(got, Ok(Some(52.0)), "{range}");
        }
    }

    #[test]
    fn min_max_first_last() {
        // functions.test "Tests for *_over_time" (load 10s, at 1m [2m]).
        let numbers = load("10s", "2 0 3");
        let some_nan = load("10s", "2 0 NaN");
        let some_nan2 = load("10s", "2 NaN 1");
        let some_nan3 = load("10s", "NaN 0 1");
        let only_nan = load("10s", "NaN NaN NaN");
        let sparse = load("10s", "_ 5 2 _ 4 _");
        let nan = f64::NAN;
        let table: [(&str, &[Sample], [f64; 5]); 6] = [
            // name, series, [min, max, last, first, count]
            ("numbers", &numbers, [0.0, 3.0, 3.0, 2.0, 3.0]),
            ("some_nan", &some_nan, [0.0, 2.0, nan, 2.0, 3.0]),
            ("some_nan2", &some_nan2, [1.0, 2.0, 1.0, 2.0, 3.0]),
            ("some_nan3", &some_nan3, [0.0, 1.0, 1.0, nan, 3.0]),
            ("only_nan", &only_nan, [nan, nan, nan, nan, 3.0]),
            ("sparse", &sparse, [2.0, 5.0, 4.0, 5.0, 3.0]),
        ];
        let fs = [
            MinOverTime,
            MaxOverTime,
            LastOverTime,
            FirstOverTime,
            CountOverTime,
        ];
        let mut cases = Vec::new();
        for (name, series, wants) in table {
            for (f, want) in fs.iter().zip(wants) {
                cases.push(Case::new(name, *f, series, "1m", "2m").want(want));
            }
        }
        let metric = load("5m", "0 60 120");
        cases.push(Case::new("name_last", LastOverTime, &metric, "10m", "10m").want(120.0));
        cases.push(Case::new("name_first", FirstOverTime, &metric, "10m", "10m").want(60.0));
        cases.push(Case::new("name_max", MaxOverTime, &metric, "10m", "10m").want(120.0));
        cases.push(Case::new("present", PresentOverTime, &metric, "10m", "10m").want(1.0));
        cases.push(Case::new("present_none", PresentOverTime, &metric, "20m", "5m").none());
        check_cases(&cases);
    }

    #[test]
    fn stddev_stdvar_mad() {
        // functions.test "Tests for stddev_over_time", "#4927", "mad_over_time".
        let metric = load("10s", "0 8 8 2 3");
        let same = load(
            "10s",
            "1.5990505637277868 1.5990505637277868 1.5990505637277868",
        );
        let mad = load("10s", "4 6 2 1 999 1 2");
        let odd = load("10s", "1 2 3 4 5");
        let equal = load("10s", "7 7 7 7 7");
        let single = load("10s", "5");
        let nan = load("10s", "1 2 NaN 4");
        check_cases(&[
            Case::new("stdvar", StdvarOverTime, &metric, "1m", "2m").want(10.56),
            Case::new("stddev", StddevOverTime, &metric, "1m", "2m").want(3.249615),
            Case::new("stdvar_same", StdvarOverTime, &same, "55s", "1m").want(0.0),
            Case::new("stddev_same", StddevOverTime, &same, "55s", "1m").want(0.0),
            Case::new("mad", MadOverTime, &mad, "70s", "70s").want(1.0),
            Case::new("mad_odd", MadOverTime, &odd, "40s", "50s").want(1.0),
            Case::new("mad_equal", MadOverTime, &equal, "40s", "50s").want(0.0),
            Case::new("mad_single", MadOverTime, &single, "0s", "10s").want(0.0),
            Case::new("mad_nan", MadOverTime, &nan, "30s", "40s").want(f64::NAN),
        ]);
    }

    #[test]
    fn timestamps_of() {
        // functions.test "Tests for ts_of_*_over_time" (load 10s53ms).
        let metric = load("10s53ms", "1 2 3 0 5 6 2 1 4");
        let last = load("10s53ms", "1 2 3 _ _");
        let first = load("10s53ms", "_ _ 1 2 3 _ _");
        check_cases(&[
            Case::new("min", TsOfMinOverTime, &metric, "90s", "90s").want(30.159),
            Case::new("max", TsOfMaxOverTime, &metric, "90s", "90s").want(50.265),
            Case::new("last_90", TsOfLastOverTime, &last, "90s", "90s").want(20.106),
            Case::new("last_95", TsOfLastOverTime, &last, "95s", "90s").want(20.106),
            Case::new("first_90", TsOfFirstOverTime, &first, "90s", "90s").want(20.106),
            Case::new("first_95", TsOfFirstOverTime, &first, "95s", "90s").want(20.106),
            Case::new("first_15", TsOfFirstOverTime, &first, "15s", "90s").none(),
        ]);
        // The latest of equal extremes wins.
        let ties = load("1s", "3 1 3 1");
        check_cases(&[
            Case::new("min_tie", TsOfMinOverTime, &ties, "3s", "4s").want(3.0),
            Case::new("max_tie", TsOfMaxOverTime, &ties, "3s", "4s").want(2.0),
        ]);
    }

    #[test]
    fn quantile_over_time() {
        // functions.test "Tests for quantile_over_time" (at 1m [2m]).
        let two = load("10s", "0 1");
        let three = load("10s", "0 1 2");
        let uneven = load("10s", "0 1 4");
        let inf = f64::INFINITY;
        let table: [(f64, [f64; 3]); 7] = [
            (0.0, [0.0, 0.0, 0.0]),
            (0.5, [0.5, 1.0, 1.0]),
            (0.75, [0.75, 1.5, 2.5]),
            (0.8, [0.8, 1.6, 2.8]),
            (1.0, [1.0, 2.0, 4.0]),
            (-1.0, [-inf, -inf, -inf]),
            (2.0, [inf, inf, inf]),
        ];
        let mut cases = Vec::new();
        for (q, wants) in table {
            for (series, want) in [&two, &three, &uneven].into_iter().zip(wants) {
                cases.push(
                    Case::new("q", QuantileOverTime, series, "1m", "2m")
                        .args(&[q])
                        .want(want),
                );
            }
        }
        check_cases(&cases);
    }

    fn reference(f: Rollup, vs: &[f64]) -> Option<f64> {
        let first = *vs.first()?;
        Some(match f {
            SumOverTime => vs.iter().sum(),
            CountOverTime => vs.len() as f64,
            MinOverTime => vs.iter().copied().fold(first, f64::min),
            MaxOverTime => vs.iter().copied().fold(first, f64::max),
            _ => unreachable!(),
        })
    }

    proptest! {
        /// sum/count/min/max over random windows of a random series agree
        /// with direct computations (integer values keep sums exact).
        #[test]
        fn aggregations_match_reference(
            values in prop::collection::vec(-1_000_000i32..1_000_000, 0..60),
            at in 0i64..70_000,
            range in 1i64..70_000,
        ) {
            let series: Vec<Sample> = values
                .iter()
                .enumerate()
                .map(|(i, v)| Sample::new(i as i64 * 1000, f64::from(*v)))
                .collect();
            let w = window(&series, at, range, RangeMode::Plain);
            let in_window: Vec<f64> = series
                .iter()
                .filter(|s| s.t > at - range && s.t <= at)
                .map(|s| s.v)
                .collect();
            for f in [SumOverTime, CountOverTime, MinOverTime, MaxOverTime] {
                let mut ann = Annotations::default();
                let got = eval(f, &w, &[], "m", &mut ann);
                prop_assert_eq!(got, Ok(reference(f, &in_window)), "{}", f.name());
            }
        }

        /// quantile_over_time agrees with sorting and interpolating.
        #[test]
        fn quantile_matches_reference(
            values in prop::collection::vec(-1e6f64..1e6, 1..50),
            q in 0.0f64..=1.0,
        ) {
            let series: Vec<Sample> = values
                .iter()
                .enumerate()
                .map(|(i, v)| Sample::new(i as i64, *v))
                .collect();
            let w = window(&series, series.len() as i64, series.len() as i64 + 1, RangeMode::Plain);
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let rank = q * (sorted.len() - 1) as f64;
            let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
            let want = sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64);
            let mut ann = Annotations::default();
            let got = eval(QuantileOverTime, &w, &[q], "m", &mut ann);
            prop_assert!(matches!(got, Ok(Some(v)) if close(v, want) || (v - want).abs() < 1e-9));
            prop_assert!(ann.warnings.is_empty());
        }
    }
}
