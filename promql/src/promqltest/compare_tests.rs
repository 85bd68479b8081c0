use regex::Regex;
use tsdb::model::{STALE_NAN, Sample};

use super::*;
use crate::promqltest::script::{Command, parse_script};
use crate::value::Scalar;

fn cmd(text: &str) -> EvalCmd {
    match parse_script("t", text).commands.as_slice() {
        [Command::Eval(e)] => (**e).clone(),
        other => panic!("{other:?}"),
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

fn vs(pairs: &[(&str, &str)], v: f64) -> VectorSample {
    VectorSample {
        labels: labels(pairs),
        t: 0,
        v,
        h: None,
    }
}

fn rs(pairs: &[(&str, &str)], pts: &[(i64, f64)]) -> RangeSeries {
    RangeSeries {
        labels: labels(pairs),
        samples: pts.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
        histograms: vec![],
    }
}

#[test]
fn float_equality() {
    let cases = [
        ("equal", 1.0, 1.0, true),
        ("relative_within", 1.0, 1.0 + 1e-7, true),
        ("relative_outside", 1.0, 1.0 + 1e-5, false),
        ("large_within", 1e300, 1e300 * (1.0 + 1e-7), true),
        ("nan_nan", f64::NAN, f64::NAN, true),
        ("nan_number", f64::NAN, 1.0, false),
        ("inf_inf", f64::INFINITY, f64::INFINITY, true),
        ("inf_neg_inf", f64::INFINITY, f64::NEG_INFINITY, false),
        ("max_and_inf", f64::MAX, f64::INFINITY, false),
        ("zero_zero", 0.0, -0.0, true),
        ("zero_tiny", 0.0, 1e-320, true),
        ("zero_small", 0.0, 1e-10, false),
        ("stale_stale", STALE_NAN, STALE_NAN, true),
        ("stale_nan", STALE_NAN, f64::NAN, false),
        ("nan_stale", f64::NAN, STALE_NAN, false),
        ("stale_number", STALE_NAN, 0.0, false),
    ];
    for (name, a, b, want) in cases {
        assert_eq!(almost_equal(a, b), want, "{name}");
        assert_eq!(almost_equal(b, a), want, "{name} (swapped)");
    }
}

#[test]
fn instant_vectors() {
    let c = cmd("eval instant at 0 x\n  x{a=\"1\"} 1\n  x{a=\"2\"} NaN");
    let ok = vec![
        vs(&[("__name__", "x"), ("a", "2")], f64::NAN),
        vs(&[("__name__", "x"), ("a", "1")], 1.0000001),
    ];
    assert_eq!(compare_value(&c, &Value::Vector(ok)), Ok(()));
    let cases = [
        (
            "value",
            vec![
                vs(&[("__name__", "x"), ("a", "1")], 2.0),
                vs(&[("__name__", "x"), ("a", "2")], f64::NAN),
            ],
            "expected 1 but got 2",
        ),
        (
            "missing",
            vec![vs(&[("__name__", "x"), ("a", "1")], 1.0)],
            "missing {__name__=\"x\", a=\"2\"}",
        ),
        (
            "extra",
            vec![vs(&[("a", "1")], 1.0)],
            "unexpected {a=\"1\"} 1",
        ),
        (
            "twice",
            vec![
                vs(&[("__name__", "x"), ("a", "1")], 1.0),
                vs(&[("__name__", "x"), ("a", "1")], 1.0),
            ],
            "twice",
        ),
    ];
    for (name, got, reason) in cases {
        let err = compare_value(&c, &Value::Vector(got)).unwrap_err();
        assert!(err.contains(reason), "{name}: {err}");
    }
    let empty = cmd("eval instant at 0 x");
    assert_eq!(compare_value(&empty, &Value::Vector(vec![])), Ok(()));
    assert!(compare_value(&empty, &Value::Scalar(Scalar { t: 0, v: 1.0 })).is_err());
}

#[test]
fn ordered_vectors() {
    let c = cmd("eval instant at 0 x\n  expect ordered\n  {a=\"1\"} 1\n  {a=\"2\"} 2");
    let in_order = vec![vs(&[("a", "1")], 1.0), vs(&[("a", "2")], 2.0)];
    let reversed = vec![vs(&[("a", "2")], 2.0), vs(&[("a", "1")], 1.0)];
    assert_eq!(compare_value(&c, &Value::Vector(in_order.clone())), Ok(()));
    let err = compare_value(&c, &Value::Vector(reversed.clone())).unwrap_err();
    assert!(err.contains("position 1 but expected at 2"), "{err}");
    let unordered = cmd("eval instant at 0 x\n  {a=\"1\"} 1\n  {a=\"2\"} 2");
    assert_eq!(compare_value(&unordered, &Value::Vector(reversed)), Ok(()));
}

#[test]
fn scalars_and_strings() {
    let c = cmd("eval instant at 0 1\n  1.0000001");
    assert_eq!(
        compare_value(&c, &Value::Scalar(Scalar { t: 0, v: 1.0 })),
        Ok(())
    );
    assert!(compare_value(&c, &Value::Scalar(Scalar { t: 0, v: 2.0 })).is_err());
    assert!(compare_value(&c, &Value::Vector(vec![vs(&[], 1.0)])).is_err());
    let s = cmd("eval instant at 0 \"a\"\n  expect string \"a\"");
    assert_eq!(
        compare_value(
            &s,
            &Value::String {
                t: 0,
                v: "a".into()
            }
        ),
        Ok(())
    );
    assert!(
        compare_value(
            &s,
            &Value::String {
                t: 0,
                v: "b".into()
            }
        )
        .is_err()
    );
}

#[test]
fn matrices() {
    let c = cmd("eval range from 0 to 2m step 1m x\n  {a=\"1\"} 1 _ 3\n  {a=\"2\"} 5");
    let good = vec![
        rs(&[("a", "1")], &[(0, 1.0), (120_000, 3.0)]),
        rs(&[("a", "2")], &[(0, 5.0)]),
    ];
    assert_eq!(compare_value(&c, &Value::Matrix(good.clone())), Ok(()));
    let cases = [
        (
            "unsorted",
            vec![good[1].clone(), good[0].clone()],
            "not sorted",
        ),
        ("duplicate", vec![good[0].clone(), good[0].clone()], "twice"),
        (
            "extra_point",
            vec![
                good[0].clone(),
                rs(&[("a", "2")], &[(0, 5.0), (60_000, 5.0)]),
            ],
            "expected [0s:5] but got [0s:5 1m:5]",
        ),
        (
            "wrong_time",
            vec![
                rs(&[("a", "1")], &[(0, 1.0), (60_000, 3.0)]),
                good[1].clone(),
            ],
            "{a=\"1\"}",
        ),
        ("missing", vec![good[0].clone()], "missing {a=\"2\"}"),
    ];
    for (name, got, reason) in cases {
        let err = compare_value(&c, &Value::Matrix(got)).unwrap_err();
        assert!(err.contains(reason), "{name}: {err}");
    }
    // A matrix on an instant eval without `expect range vector` fails.
    let inst = cmd("eval instant at 0 x");
    assert!(compare_value(&inst, &Value::Matrix(vec![])).is_err());
    let rv =
        cmd("eval instant at 1m x[1m]\n  expect range vector from 30s to 1m step 30s\n  x 1 2");
    let got = vec![rs(&[("__name__", "x")], &[(30_000, 1.0), (60_000, 2.0)])];
    assert_eq!(compare_value(&rv, &Value::Matrix(got)), Ok(()));
}

#[test]
fn label_order_puts_prefixes_first() {
    let sorted = [
        rs(&[("a", "1")], &[]),
        rs(&[("a", "1"), ("b", "1")], &[]),
        rs(&[("a", "2")], &[]),
    ];
    assert_eq!(check_sorted(&sorted), Ok(()));
    let unsorted = [sorted[1].clone(), sorted[0].clone()];
    assert!(check_sorted(&unsorted).is_err());
}

#[test]
fn annotation_rules() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let w1 = "PromQL warning: one";
    let w2 = "PromQL warning: two";
    let cases = [
        ("unchecked", "", s(&[w1]), true),
        ("no_warn_ok", "expect no_warn", s(&[]), true),
        ("no_warn_bad", "expect no_warn", s(&[w1]), false),
        ("any_needs_one", "expect warn", s(&[]), false),
        ("any_matches_all", "expect warn", s(&[w1, w2]), true),
        (
            "msg_exact",
            "expect warn msg: PromQL warning: one",
            s(&[w1]),
            true,
        ),
        (
            "msg_unmatched_extra",
            "expect warn msg: PromQL warning: one",
            s(&[w1, w2]),
            false,
        ),
        (
            "msg_not_found",
            "expect warn msg: PromQL warning: three",
            s(&[w1]),
            false,
        ),
        ("msg_is_whole_text", "expect warn msg: one", s(&[w1]), false),
        (
            "regex_unanchored",
            "expect warn regex: o",
            s(&[w1, w2]),
            true,
        ),
        (
            "regex_and_msg",
            "expect warn regex: tw\n  expect warn msg: PromQL warning: one",
            s(&[w1, w2]),
            true,
        ),
    ];
    for (name, lines, got, ok) in cases {
        let c = cmd(&format!("eval instant at 0 x\n  {lines}"));
        assert_eq!(check_annotations(&c, &got, &[]).is_ok(), ok, "{name}");
    }
    let c = cmd("eval instant at 0 x\n  expect info\n  expect no_warn");
    assert!(check_annotations(&c, &[], &s(&["PromQL info: i"])).is_ok());
    assert!(check_annotations(&c, &s(&[w1]), &s(&["PromQL info: i"])).is_err());
    assert!(check_annotations(&c, &[], &[]).is_err());
}

#[test]
fn failure_messages() {
    let texts = vec![
        "1:1: parse error: bad thing".to_string(),
        "bad thing".to_string(),
    ];
    assert!(check_failure(&MessageMatch::Any, &texts).is_ok());
    assert!(check_failure(&MessageMatch::Exact("bad thing".into()), &texts).is_ok());
    assert!(check_failure(&MessageMatch::Exact("bad".into()), &texts).is_err());
    let re = MessageMatch::Regex(Regex::new("thi?ng").unwrap());
    assert!(check_failure(&re, &texts).is_ok());
}
