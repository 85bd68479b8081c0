use super::*;
use crate::promqltest::script::{Command, parse_script};

fn eval(text: &str) -> Result<EvalCmd, (usize, String)> {
    let s = parse_script("t", text);
    match s.commands.as_slice() {
        [Command::Eval(e)] => Ok((**e).clone()),
        [Command::Invalid { error, .. }] => Err((error.line, error.msg.clone())),
        other => panic!("{other:?}"),
    }
}

#[test]
fn headers() {
    let steps = |start, end, step| EvalMode::Range(Steps { start, end, step });
    let cases = [
        (
            "instant",
            "eval instant at 50m sum(x)",
            EvalMode::Instant { at: 3_000_000 },
            "sum(x)",
        ),
        (
            "spaces_kept",
            "eval  instant  at 1s  a  +  b",
            EvalMode::Instant { at: 1000 },
            "a  +  b",
        ),
        (
            "zero",
            "eval instant at 0 x",
            EvalMode::Instant { at: 0 },
            "x",
        ),
        (
            "range",
            "eval range from 0 to 2m step 1m rate(x[5m])",
            steps(0, 120_000, 60_000),
            "rate(x[5m])",
        ),
        (
            "fail",
            "eval_fail instant at 0 x",
            EvalMode::Instant { at: 0 },
            "x",
        ),
    ];
    for (name, header, mode, expr) in cases {
        let e = eval(header).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!((e.mode, e.expr.as_str()), (mode, expr), "{name}");
    }
    assert!(matches!(
        eval("eval_fail instant at 0 x").unwrap().fail,
        Some(MessageMatch::Any)
    ));
    assert!(eval("eval_ordered instant at 0 x").unwrap().ordered);
    for (name, header) in [
        ("no_at", "eval instant 5m x"),
        ("no_expr", "eval instant at 5m"),
        ("bad_time", "eval instant at 5 x"),
        ("end_before_start", "eval range from 2m to 1m step 1m x"),
        ("zero_step", "eval range from 0 to 1m step 0 x"),
        ("missing_step", "eval range from 0 to 1m x"),
        ("ordered_range", "eval_ordered range from 0 to 1m step 1m x"),
        ("unknown_suffix", "eval_foo instant at 0 x"),
    ] {
        assert!(eval(header).is_err(), "{name}");
    }
}

#[test]
fn expect_lines() {
    let e = eval(
        "eval instant at 1m x\n  expect fail regex:  a.c \n  expect warn\n  expect warn msg: W one\n  expect no_info",
    )
    .unwrap();
    assert!(matches!(&e.fail, Some(MessageMatch::Regex(r)) if r.as_str() == "a.c"));
    let AnnotationExpect::Required(w) = &e.warnings else {
        panic!("{:?}", e.warnings)
    };
    assert!(matches!(&w[..], [MessageMatch::Any, MessageMatch::Exact(m)] if m == "W one"));
    assert!(matches!(e.infos, AnnotationExpect::Forbidden));

    let e = eval("eval instant at 1m x\n  expect fail msg:exact text").unwrap();
    assert!(matches!(&e.fail, Some(MessageMatch::Exact(m)) if m == "exact text"));
    let e = eval("eval instant at 1m \"a\"\n  expect string `a b`").unwrap();
    assert_eq!(e.expected, Expected::String("a b".into()));
    let e =
        eval("eval instant at 1m x[1m]\n  expect range vector from 10s to 1m step 10s\n  x 1 _ 3")
            .unwrap();
    assert_eq!(
        e.range_vector,
        Some(Steps {
            start: 10_000,
            end: 60_000,
            step: 10_000
        })
    );
    assert_eq!(e.instant_time(), Some(60_000));
    let e = eval("eval_fail instant at 0 x\n  expected_fail_message boom").unwrap();
    assert!(matches!(&e.fail, Some(MessageMatch::Exact(m)) if m == "boom"));

    for (name, text, line) in [
        (
            "warn_and_no_warn",
            "eval instant at 0 x\n  expect warn\n  expect no_warn",
            1,
        ),
        (
            "two_fails",
            "eval instant at 0 x\n  expect fail\n  expect fail",
            3,
        ),
        (
            "eval_fail_and_expect_fail",
            "eval_fail instant at 0 x\n  expect fail",
            2,
        ),
        ("unknown", "eval instant at 0 x\n  expect maybe", 2),
        (
            "bad_regex",
            "eval instant at 0 x\n  expect fail regex: (",
            2,
        ),
        (
            "ordered_msg",
            "eval instant at 0 x\n  expect ordered msg: a",
            2,
        ),
        (
            "single_quoted_string",
            "eval instant at 0 x\n  expect string 'a'",
            2,
        ),
        (
            "ordered_range",
            "eval range from 0 to 1m step 1m x\n  expect ordered",
            1,
        ),
        (
            "legacy_without_eval_fail",
            "eval instant at 0 x\n  expected_fail_message a",
            2,
        ),
        (
            "range_vector_in_range_eval",
            "eval range from 0 to 1m step 1m x\n  expect range vector from 0 to 1m step 1m",
            1,
        ),
    ] {
        assert_eq!(eval(text).map_err(|e| e.0).err(), Some(line), "{name}");
    }
}

#[test]
fn result_lines() {
    let e = eval(
        "eval instant at 0 x\n  x{a=\"1\"} 1\n  expect ordered\n  x{a=\"2\"} 2\n  x{a=\"1\"} 3",
    )
    .unwrap();
    let Expected::Series(s) = &e.expected else {
        panic!("{:?}", e.expected)
    };
    // The later line for a="1" wins, with its own position.
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].pos, s[0].line), (3, 5));
    assert_eq!(s[0].values, vec![Some(Point::Float(3.0))]);
    assert_eq!(s[1].pos, 2);
    assert!(e.ordered);

    assert_eq!(
        eval("eval instant at 0 1\n  0x1F").unwrap().expected,
        Expected::Scalar(31.0)
    );
    assert_eq!(
        eval("eval instant at 0 x").unwrap().expected,
        Expected::Series(vec![])
    );
    let e = eval("eval range from 0 to 2m step 1m x\n  {} 1 _ 3").unwrap();
    assert_eq!(e.matrix_steps().map(|s| s.len()), Some(3));

    for (name, text, line) in [
        ("two_values_instant", "eval instant at 0 x\n  x 1 2", 2),
        ("omitted_instant", "eval instant at 0 x\n  x _", 2),
        (
            "too_many_steps",
            "eval range from 0 to 1m step 1m x\n  x 1 2 3",
            2,
        ),
        ("scalar_and_series", "eval instant at 0 x\n  x 1\n  2", 1),
        (
            "scalar_in_range",
            "eval range from 0 to 1m step 1m x\n  2",
            1,
        ),
        ("bad_series", "eval instant at 0 x\n  x{a=~\"1\"} 1", 2),
    ] {
        assert_eq!(eval(text).map_err(|e| e.0).err(), Some(line), "{name}");
    }
}

#[test]
fn a_scalar_line_ends_the_body() {
    let s = parse_script(
        "t",
        "eval instant at 0 1\n  1\neval instant at 0 2\n  2\n  x 1",
    );
    let lines: Vec<_> = s
        .commands
        .iter()
        .map(|c| match c {
            Command::Eval(e) => (e.line, Some(e.expected.clone())),
            Command::Invalid { error, .. } => (error.line, None),
            other => panic!("{other:?}"),
        })
        .collect();
    // The line after the second scalar is read as a command: unknown.
    assert_eq!(
        lines,
        [
            (1, Some(Expected::Scalar(1.0))),
            (3, Some(Expected::Scalar(2.0))),
            (5, None)
        ]
    );
}
