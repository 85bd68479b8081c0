//! Tests of the rollup table, mode checks and annotations; the functions'
//! values are tested beside their implementations.

use super::testutil::{Case, check_cases, load};
use super::{RangeMode, Rollup, check_mode};
use crate::ast::ValueType;

#[test]
fn signatures_agree_with_the_function_table() {
    for &f in Rollup::ALL {
        let sig = f.id().function();
        assert_eq!(
            sig.arg_type(f.matrix_arg()),
            Some(ValueType::Matrix),
            "{}",
            f.name()
        );
        assert_eq!(sig.min_args, 1 + f.scalar_args(), "{}", f.name());
    }
    assert_eq!(Rollup::ALL.len(), 26);
}

#[test]
fn argument_layout_and_name_dropping() {
    for &f in Rollup::ALL {
        let want_matrix = usize::from(f == Rollup::QuantileOverTime);
        assert_eq!(f.matrix_arg(), want_matrix, "{}", f.name());
        let keeps = matches!(f.name(), "last_over_time" | "first_over_time");
        assert_eq!(f.drops_name(), !keeps, "{}", f.name());
    }
    assert_eq!(Rollup::PredictLinear.scalar_args(), 1);
    assert_eq!(Rollup::DoubleExponentialSmoothing.scalar_args(), 2);
}

#[test]
fn modes_accepted() {
    let anchored = ["changes", "delta", "increase", "rate", "resets"];
    let smoothed = ["delta", "increase", "rate"];
    for &f in Rollup::ALL {
        let name = f.name();
        assert_eq!(
            f.accepts(RangeMode::Anchored),
            anchored.contains(&name),
            "{name}"
        );
        assert_eq!(
            f.accepts(RangeMode::Smoothed),
            smoothed.contains(&name),
            "{name}"
        );
        assert!(f.accepts(RangeMode::Plain));
    }
}

#[test]
fn mode_errors() {
    // extended_vectors.test `expect fail msg:` lines.
    let smoothed = "smoothed modifier can only be used with: delta, increase, rate - not with";
    let anchored = "anchored modifier can only be used with: changes, delta, increase, rate, resets - not with";
    let cases = [
        (
            Rollup::Deriv,
            RangeMode::Smoothed,
            format!("{smoothed} deriv"),
        ),
        (
            Rollup::Resets,
            RangeMode::Smoothed,
            format!("{smoothed} resets"),
        ),
        (
            Rollup::Changes,
            RangeMode::Smoothed,
            format!("{smoothed} changes"),
        ),
        (
            Rollup::MaxOverTime,
            RangeMode::Smoothed,
            format!("{smoothed} max_over_time"),
        ),
        (
            Rollup::PredictLinear,
            RangeMode::Smoothed,
            format!("{smoothed} predict_linear"),
        ),
        (
            Rollup::Deriv,
            RangeMode::Anchored,
            format!("{anchored} deriv"),
        ),
        (
            Rollup::MaxOverTime,
            RangeMode::Anchored,
            format!("{anchored} max_over_time"),
        ),
        (
            Rollup::PredictLinear,
            RangeMode::Anchored,
            format!("{anchored} predict_linear"),
        ),
    ];
    for (f, mode, msg) in cases {
        let err = check_mode(f, mode).map_err(|e| e.to_string());
        assert_eq!(err, Err(msg.clone()));
    }
    assert_eq!(check_mode(Rollup::Resets, RangeMode::Anchored), Ok(()));
    // eval checks too, before looking at the samples.
    let empty = [];
    check_cases(&[
        Case::new("deriv", Rollup::Deriv, &empty, "1m", "3m")
            .mode(RangeMode::Smoothed)
            .err(&format!("{smoothed} deriv")),
        Case::new("resets", Rollup::Resets, &empty, "1m", "3m")
            .mode(RangeMode::Anchored)
            .none(),
    ]);
}

#[test]
fn missing_scalar_argument_is_an_error() {
    let s = load("10s", "1 2 3");
    check_cases(&[Case::new("q", Rollup::QuantileOverTime, &s, "20s", "1m")
        .err("expected 1 scalar argument(s) to quantile_over_time, got 0")]);
}

#[test]
fn possible_non_counter_info() {
    let s = load("1m", "0+1x10");
    let info = |name: &str| {
        format!(
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name}"
        )
    };
    let cases = [
        (Rollup::Rate, "foo", Some(info("\"foo\""))),
        (Rollup::Increase, "foo", Some(info("\"foo\""))),
        (Rollup::Rate, "foo_total", None),
        (Rollup::Rate, "foo_sum", None),
        (Rollup::Increase, "foo_count", None),
        (Rollup::Rate, "foo_bucket", None),
        (Rollup::Rate, "", None),
        // Only rate and increase check the name.
        (Rollup::Irate, "foo", None),
        (Rollup::Delta, "foo", None),
        (Rollup::Resets, "foo", None),
    ];
    for (f, name, want) in cases {
        let (got, ann) = Case::new("info", f, &s, "5m", "5m").metric(name).run();
        assert!(matches!(got, Ok(Some(_))), "{}", f.name());
        assert_eq!(
            ann.infos.iter().next().cloned(),
            want,
            "{} {name}",
            f.name()
        );
        assert!(ann.warnings.is_empty());
    }
    // No value, no info.
    let (got, ann) = Case::new("one", Rollup::Rate, &s, "5m", "1m")
        .metric("foo")
        .run();
    assert_eq!(got, Ok(None));
    assert!(ann.infos.is_empty());
    // Anchored and smoothed results are checked alike.
    let (_, ann) = Case::new("an", Rollup::Increase, &s, "5m", "1m")
        .mode(RangeMode::Anchored)
        .metric("foo")
        .run();
    assert_eq!(ann.infos.len(), 1);
}

#[test]
fn invalid_quantile_warning() {
    let s = load("10s", "0 1 2");
    let warn =
        |q: &str| format!("PromQL warning: quantile value should be between 0 and 1, got {q}");
    let cases = [
        (-1.0, Some(warn("-1"))),
        (2.0, Some(warn("2"))),
        (f64::NAN, Some(warn("NaN"))),
        (1.5e6, Some(warn("1.5e+06"))),
        (0.0, None),
        (1.0, None),
        (0.5, None),
    ];
    for (q, want) in cases {
        let (_, ann) = Case::new("q", Rollup::QuantileOverTime, &s, "1m", "2m")
            .args(&[q])
            .run();
        assert_eq!(ann.warnings.iter().next().cloned(), want, "{q}");
        assert!(ann.infos.is_empty());
    }
    // Only windows with samples warn.
    let (got, ann) = Case::new("empty", Rollup::QuantileOverTime, &s, "10m", "1m")
        .args(&[2.0])
        .run();
    assert_eq!(got, Ok(None));
    assert!(ann.warnings.is_empty());
}

#[test]
fn start_timestamp_resets_table() {
    // (name, prev_st, prev_t, cur_st, cur_t, reset)
    let cases = [
        ("no start timestamp", 0, 1000, 0, 2000, false),
        ("cumulative, same start", 500, 1000, 500, 2000, false),
        (
            "restart after the previous sample",
            500,
            1000,
            1500,
            2000,
            true,
        ),
        (
            "delta: starts at the previous sample",
            1,
            1000,
            1000,
            2000,
            true,
        ),
        ("unknown previous start", 0, 1000, 1000, 2000, false),
        (
            "previous start was its own time (OTel unknown)",
            1000,
            1000,
            1000,
            2000,
            false,
        ),
        (
            "previous start after its sample (invalid)",
            1500,
            1000,
            1000,
            2000,
            false,
        ),
        (
            "start at the sample's own time",
            500,
            1000,
            2000,
            2000,
            false,
        ),
        (
            "start after the sample (invalid)",
            500,
            1000,
            2500,
            2000,
            false,
        ),
        (
            "start before the previous sample (overlap)",
            500,
            1000,
            700,
            2000,
            false,
        ),
    ];
    for (name, prev_st, prev_t, cur_st, cur_t, want) in cases {
        assert_eq!(
            super::is_start_timestamp_reset(prev_st, prev_t, cur_st, cur_t),
            want,
            "case {name}"
        );
    }
}

#[test]
fn start_timestamps_in_windows() {
    use super::{RollupWindow, eval};
    use crate::value::Annotations;
    use tsdb::model::Sample;
    let samples: Vec<Sample> = [(60_000, 10.0), (120_000, 20.0), (180_000, 25.0)]
        .iter()
        .map(|&(t, v)| Sample::new(t, v))
        .collect();
    let window = |sts: &'static [i64]| RollupWindow {
        samples: &samples,
        sts,
        start: 0,
        end: 180_000,
        before: None,
        before_st: 0,
        after: None,
        mode: RangeMode::Plain,
        resets: None,
    };
    // (name, sts, function, value, warns)
    let cases: [(&str, &'static [i64], Rollup, f64, bool); 6] = [
        // Plain extrapolation: 15 over 2 min, extended 1 min to the window
        // start (the zero point, 80 s back at this slope, is further).
        (
            "no start timestamps",
            &[],
            Rollup::Increase,
            15.0 * 180.0 / 120.0,
            false,
        ),
        // Started at 30 s: 0 there, 25 at 180 s, no left extrapolation.
        (
            "start inside the window",
            &[30_000, 30_000, 30_000],
            Rollup::Increase,
            25.0,
            false,
        ),
        // A restart at 150 s: 10 + (20 - 10) + 25 over 30..180 s.
        (
            "restart shown by the start timestamp",
            &[30_000, 30_000, 150_000],
            Rollup::Increase,
            45.0,
            false,
        ),
        (
            "resets counts the restart",
            &[30_000, 30_000, 150_000],
            Rollup::Resets,
            1.0,
            false,
        ),
        (
            "irate after a restart is the last value",
            &[30_000, 30_000, 150_000],
            Rollup::Irate,
            25.0 / 60.0,
            false,
        ),
        // 90 s is before the previous sample (120 s) and not its start.
        (
            "overlapping intervals warn",
            &[30_000, 30_000, 90_000],
            Rollup::Increase,
            25.0,
            true,
        ),
    ];
    for (name, sts, f, want, warns) in cases {
        let mut ann = Annotations::default();
        let got = eval(f, &window(sts), &[], "c_total", &mut ann).unwrap();
        let got = got.unwrap_or(f64::NAN);
        assert!(
            (got - want).abs() < 1e-9,
            "case {name}: got {got}, want {want}"
        );
        assert_eq!(!ann.warnings.is_empty(), warns, "case {name}: {ann:?}");
    }
}
