//! Tests of the rollup table, mode checks and annotations; the functions'
//! values are tested beside their implementations.

use super::testutil::{Case, check_cases, load};
use super::{RangeMode, Rollup, check_mode};
use crate::functions::{ANCHORED_FUNCTIONS, SMOOTHED_FUNCTIONS};

#[test]
fn names_round_trip() {
    for &f in Rollup::ALL {
        assert_eq!(Rollup::from_name(f.name()), Some(f));
    }
    assert_eq!(Rollup::ALL.len(), 26);
    assert_eq!(Rollup::from_name("absent_over_time"), None);
    assert_eq!(Rollup::from_name("abs"), None);
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
fn modes_agree_with_the_parser_lists() {
    for &f in Rollup::ALL {
        assert_eq!(
            f.accepts(RangeMode::Anchored),
            ANCHORED_FUNCTIONS.contains(&f.name())
        );
        assert_eq!(
            f.accepts(RangeMode::Smoothed),
            SMOOTHED_FUNCTIONS.contains(&f.name())
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
