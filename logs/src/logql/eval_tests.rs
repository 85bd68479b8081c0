use promql::value::Value;

use super::*;
use crate::logql::{Expr, parse};
use crate::model::{Entry, StreamPush};

const S: i64 = 1_000_000_000;

/// `{app="a"}`: lines at 10 s ("GET", "error x", "GET"), at 20 s and 30 s;
/// `{app="b"}`: one at 15 s.
fn head() -> Head {
    let h = Head::default();
    let push = |app: &str, entries: &[(i64, &str)]| StreamPush {
        labels: Labels::from_pairs(&[("app", app)]),
        entries: entries.iter().map(|(t, l)| Entry::new(*t, *l)).collect(),
    };
    h.apply(
        vec![
            push(
                "a",
                &[(10 * S, "GET /a"), (20 * S, "error x"), (30 * S, "GET /b")],
            ),
            push("b", &[(15 * S, "db")]),
        ],
        1,
    );
    h
}

fn metric(q: &str) -> MetricExpr {
    match parse(q) {
        Ok(Expr::Metric(m)) => m,
        other => panic!("{q}: {other:?}"),
    }
}

/// `(labels, value)` of an instant answer, sorted.
fn instant(q: &str, t_s: i64) -> Vec<(String, f64)> {
    let res = evaluate(
        &head(),
        &metric(q),
        Grid::instant(t_s * 1000),
        EngineOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{q}: {e}"));
    let mut out: Vec<(String, f64)> = match res.value {
        Value::Vector(v) => v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect(),
        Value::Scalar(s) => vec![("scalar".into(), s.v)],
        other => panic!("{q}: {other:?}"),
    };
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn instant_table() {
    type Case<'a> = (&'a str, &'a str, i64, Vec<(&'a str, f64)>);
    let cases: Vec<Case> = vec![
        (
            "count, left-open window",
            r#"count_over_time({app="a"}[15s])"#,
            30,
            vec![(r#"{app="a"}"#, 2.0)],
        ),
        (
            "count, window ends at t",
            r#"count_over_time({app="a"}[10s])"#,
            20,
            vec![(r#"{app="a"}"#, 1.0)],
        ),
        (
            "rate per second",
            r#"rate({app="a"}[20s])"#,
            30,
            vec![(r#"{app="a"}"#, 0.1)],
        ),
        (
            "bytes",
            r#"bytes_over_time({app="a"}[30s])"#,
            30,
            vec![(r#"{app="a"}"#, 19.0)],
        ),
        (
            "bytes rate",
            r#"bytes_rate({app="a"}[10s])"#,
            30,
            vec![(r#"{app="a"}"#, 0.6)],
        ),
        (
            "line filter",
            r#"count_over_time({app="a"} |= "GET" [1m])"#,
            30,
            vec![(r#"{app="a"}"#, 2.0)],
        ),
        (
            "no entry, no sample",
            r#"count_over_time({app="a"}[5s])"#,
            27,
            vec![],
        ),
        (
            "offset",
            r#"count_over_time({app="a"}[5s] offset 10s)"#,
            30,
            vec![(r#"{app="a"}"#, 1.0)],
        ),
        (
            "sum",
            r#"sum(count_over_time({app=~"a|b"}[1m]))"#,
            30,
            vec![("{}", 4.0)],
        ),
        (
            "sum by",
            r#"sum by (app) (count_over_time({app=~".+"}[1m]))"#,
            30,
            vec![(r#"{app="a"}"#, 3.0), (r#"{app="b"}"#, 1.0)],
        ),
        (
            "topk",
            r#"topk(1, count_over_time({app=~".+"}[1m]))"#,
            30,
            vec![(r#"{app="a"}"#, 3.0)],
        ),
        (
            "arithmetic",
            r#"count_over_time({app="a"}[1m]) * 2 + 1"#,
            30,
            vec![(r#"{app="a"}"#, 7.0)],
        ),
        (
            "comparison filters",
            r#"count_over_time({app=~".+"}[1m]) > 1"#,
            30,
            vec![(r#"{app="a"}"#, 3.0)],
        ),
        (
            "bool comparison",
            r#"count_over_time({app="b"}[1m]) > bool 1"#,
            30,
            vec![(r#"{app="b"}"#, 0.0)],
        ),
        (
            "health check",
            "vector(1)+vector(1)",
            4_000_000_000,
            vec![("{}", 2.0)],
        ),
        (
            "absent",
            r#"absent_over_time({app="zzz", env=~"x"}[1m])"#,
            30,
            vec![(r#"{app="zzz"}"#, 1.0)],
        ),
        (
            "not absent",
            r#"absent_over_time({app="a"}[1m])"#,
            30,
            vec![],
        ),
        (
            "or",
            r#"count_over_time({app="zzz"}[1m]) or vector(0)"#,
            30,
            vec![("{}", 0.0)],
        ),
    ];
    for (name, q, t, want) in cases {
        let got = instant(q, t);
        let want: Vec<(String, f64)> = want.into_iter().map(|(l, v)| (l.to_string(), v)).collect();
        assert_eq!(got.len(), want.len(), "{name}: {got:?}");
        for ((gl, gv), (wl, wv)) in got.iter().zip(&want) {
            assert_eq!(gl, wl, "{name}");
            assert!((gv - wv).abs() < 1e-12, "{name}: {gv} != {wv}");
        }
    }
}

#[test]
fn range_grid() {
    let grid = Grid {
        start: 10_000,
        end: 40_000,
        step: 10_000,
    };
    let res = evaluate(
        &head(),
        &metric(r#"count_over_time({app="a"}[10s])"#),
        grid,
        EngineOptions::default(),
    )
    .unwrap();
    let Value::Matrix(m) = res.value else {
        panic!("{:?}", res.value)
    };
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].labels.to_string(), r#"{app="a"}"#);
    let points: Vec<(i64, f64)> = m[0].samples.iter().map(|s| (s.t, s.v)).collect();
    assert_eq!(
        points,
        vec![(10_000, 1.0), (20_000, 1.0), (30_000, 1.0)],
        "none at 40 s"
    );
}

/// `{app="u"}` logfmt lines with numbers, durations and one bad value.
fn unwrap_head() -> Head {
    let h = Head::default();
    let entries = [
        (10 * S, "path=/a took=100ms n=1"),
        (20 * S, "path=/b took=2s n=3"),
        (30 * S, "path=/a took=1s n=5"),
        (31 * S, "path=/a took=bad n=x"),
    ];
    h.apply(
        vec![StreamPush {
            labels: Labels::from_pairs(&[("app", "u")]),
            entries: entries.iter().map(|(t, l)| Entry::new(*t, *l)).collect(),
        }],
        1,
    );
    h
}

#[test]
fn unwrapped_aggregations() {
    let h = unwrap_head();
    let run = |q: &str| -> std::result::Result<Vec<(String, f64)>, String> {
        let res = evaluate(
            &h,
            &metric(q),
            Grid::instant(40_000),
            EngineOptions::default(),
        )
        .map_err(|e| e.to_string())?;
        let Value::Vector(v) = res.value else {
            return Err(format!("{:?}", res.value));
        };
        let mut out: Vec<(String, f64)> =
            v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    };
    type Case<'a> = (&'a str, &'a str, Result<Vec<(&'a str, f64)>, &'a str>);
    let cases: Vec<Case> = vec![
        (
            "sum by path",
            r#"sum_over_time({app="u"} | logfmt | unwrap n | __error__="" [1m]) by (path)"#,
            Ok(vec![(r#"{path="/a"}"#, 6.0), (r#"{path="/b"}"#, 3.0)]),
        ),
        (
            "max of durations",
            r#"max_over_time({app="u"} | logfmt | unwrap duration(took) | __error__="" [1m]) by (path)"#,
            Ok(vec![(r#"{path="/a"}"#, 1.0), (r#"{path="/b"}"#, 2.0)]),
        ),
        (
            "quantile of a group",
            r#"quantile_over_time(0.5, {app="u"} | logfmt | unwrap n | __error__="" [1m]) by (app)"#,
            Ok(vec![(r#"{app="u"}"#, 3.0)]),
        ),
        (
            "without, the unwrapped label gone",
            r#"avg_over_time({app="u"} | logfmt | unwrap n | __error__="" [15s]) without (took)"#,
            Ok(vec![(r#"{app="u", path="/a"}"#, 5.0)]),
        ),
        (
            "rate of values",
            r#"sum(rate({app="u"} | logfmt | unwrap n | __error__="" [1m]))"#,
            Ok(vec![("{}", 9.0 / 60.0)]),
        ),
        (
            "a bad value fails the query",
            r#"sum_over_time({app="u"} | logfmt | unwrap n [1m])"#,
            Err("pipeline error: 'SampleExtractionErr'"),
        ),
    ];
    for (name, q, want) in cases {
        match (run(q), want) {
            (Ok(g), Ok(w)) => {
                let w: Vec<(String, f64)> =
                    w.into_iter().map(|(l, v)| (l.to_string(), v)).collect();
                assert_eq!(g.len(), w.len(), "{name}: {g:?}");
                for ((gl, gv), (wl, wv)) in g.iter().zip(&w) {
                    assert_eq!(gl, wl, "{name}");
                    assert!((gv - wv).abs() < 1e-12, "{name}: {gv} != {wv}");
                }
            }
            (Err(e), Err(w)) => assert!(e.contains(w), "{name}: {e}"),
            (g, w) => panic!("{name}: got {g:?}, want {w:?}"),
        }
    }
}
