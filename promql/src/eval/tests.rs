//! End-to-end evaluator cases over a small in-memory storage.

use tsdb::model::{Labels, Sample};

use crate::promqltest::{MemStorage, Storage};

use super::{Engine, EngineOptions};
use crate::value::Value;

/// The promqltest runner's in-memory storage holding `series`.
fn mem(series: Vec<(Labels, Vec<Sample>)>) -> MemStorage {
    let mut m = MemStorage::new();
    m.load(series).expect("valid test series");
    m
}

fn storage() -> MemStorage {
    let series = |pairs: &[(&str, &str)], step: i64, vals: &[f64]| {
        (
            Labels::from_pairs(pairs),
            vals.iter()
                .enumerate()
                .map(|(i, v)| Sample::new(i as i64 * step, *v))
                .collect(),
        )
    };
    mem(vec![
        series(
            &[
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("instance", "0"),
            ],
            60_000,
            &[0.0, 10.0, 20.0, 30.0, 40.0, 50.0],
        ),
        series(
            &[
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("instance", "1"),
            ],
            60_000,
            &[0.0, 20.0, 40.0, 60.0, 80.0, 100.0],
        ),
        series(
            &[
                ("__name__", "http_requests_total"),
                ("job", "db"),
                ("instance", "0"),
            ],
            60_000,
            &[0.0, 5.0, 10.0, 15.0, 20.0, 25.0],
        ),
        series(&[("__name__", "up"), ("job", "api")], 60_000, &[1.0; 6]),
    ])
}

/// Evaluates `q` at `t_ms` and renders the vector as sorted `labels value` lines.
fn instant(q: &str, t_ms: i64) -> Result<Vec<String>, String> {
    let expr = crate::parse(q).map_err(|e| e.to_string())?;
    let res = Engine::new(EngineOptions::default())
        .instant(&storage(), &expr, t_ms)
        .map_err(|e| e.to_string())?;
    let mut lines = match res.value {
        Value::Vector(v) => v.iter().map(|s| format!("{} {}", s.labels, s.v)).collect(),
        Value::Scalar(s) => vec![format!("scalar {}", s.v)],
        other => vec![format!("{other:?}")],
    };
    lines.sort();
    Ok(lines)
}

#[test]
fn instant_query_table() {
    let cases: &[(&str, &str, i64, &[&str])] = &[
        (
            "selector",
            "up",
            120_000,
            &[r#"{__name__="up", job="api"} 1"#],
        ),
        ("scalar_arith", "1 + 2 * 3", 0, &["scalar 7"]),
        (
            "sum_by_job",
            "sum by (job) (http_requests_total)",
            120_000,
            &[r#"{job="api"} 60"#, r#"{job="db"} 10"#],
        ),
        (
            "rate",
            "rate(http_requests_total{instance=\"0\",job=\"api\"}[5m])",
            300_000,
            &[r#"{instance="0", job="api"} 0.16666666666666666"#],
        ),
        (
            "vector_matching_on",
            "http_requests_total / on (job) group_left up",
            60_000,
            &[
                r#"{instance="0", job="api"} 10"#,
                r#"{instance="1", job="api"} 20"#,
            ],
        ),
        (
            "comparison_keeps_name",
            "http_requests_total > 45",
            300_000,
            &[
                r#"{__name__="http_requests_total", instance="0", job="api"} 50"#,
                r#"{__name__="http_requests_total", instance="1", job="api"} 100"#,
            ],
        ),
        ("lookback_expires", "up", 700_000, &[]),
        (
            "subquery",
            "sum_over_time(sum(http_requests_total)[3m:1m])",
            180_000,
            &["{} 210"],
        ),
        (
            "absent",
            r#"absent(nonexistent{job="x"})"#,
            0,
            &[r#"{job="x"} 1"#],
        ),
    ];
    for (name, q, t, want) in cases {
        let got = instant(q, *t).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, want.to_vec(), "{name}: {q}");
    }
}

#[test]
fn selectors_hold_one_series_of_raw_samples_at_a_time() {
    // 20 series × 1440 samples (1 day at 1 min): 28,800 stored samples.
    let store = mem((0..20)
        .map(|i| {
            (
                Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())]),
                (0..1440)
                    .map(|k| Sample::new(k * 60_000, k as f64))
                    .collect(),
            )
        })
        .collect());
    // The output grid: 20 series × 25 hourly steps = 500 points. Raw samples
    // of one series (1440) plus the output fit in 3000; all raw samples don't.
    let engine = Engine::new(EngineOptions {
        max_samples: 3000,
        ..EngineOptions::default()
    });
    let cases = [
        ("instant_selector", "m"),
        ("rollup", "max_over_time(m[5m])"),
        ("absent_over_time", "absent_over_time(m[5m])"),
    ];
    for (name, q) in cases {
        let expr = crate::parse(q).expect("parses");
        let res = engine.range(&store, &expr, 0, 24 * 3_600_000, 3_600_000);
        assert!(res.is_ok(), "{name}: {res:?}");
    }
    let too_small = Engine::new(EngineOptions {
        max_samples: 1000,
        ..EngineOptions::default()
    });
    let expr = crate::parse("m").expect("parses");
    let err = too_small.range(&store, &expr, 0, 24 * 3_600_000, 3_600_000);
    assert!(
        matches!(err, Err(crate::Error::TooManySamples(_))),
        "{err:?}"
    );
}

#[test]
fn range_functions_give_the_same_answer_on_any_number_of_threads() {
    let store = mem((0..1000)
        .map(|i| {
            (
                Labels::from_pairs(&[("__name__", "c_total"), ("i", &format!("{i:04}"))]),
                (0..120)
                    .map(|k| Sample::new(k * 15_000 + i, (k * (i % 7 + 1)) as f64))
                    .collect(),
            )
        })
        .collect());
    let q = crate::parse("rate(c_total[2m]) + ignoring(i) group_left sum(rate(c_total[5m]))")
        .expect("parses");
    let run = |threads: usize| {
        Engine::new(EngineOptions {
            parallelism: threads,
            ..EngineOptions::default()
        })
        .range(&store, &q, 300_000, 1_800_000, 30_000)
        .expect("runs")
    };
    let one = run(1);
    for threads in [2, 3, 8] {
        assert_eq!(run(threads), one, "{threads} threads");
    }
    let Value::Matrix(m) = one.value else {
        panic!("a range query gives a matrix")
    };
    assert_eq!(m.len(), 1000);
}

#[test]
fn dense_and_stepwise_aggregation_agree() {
    let store = mem((0..300)
        .map(|i| {
            (
                Labels::from_pairs(&[
                    ("__name__", "g"),
                    ("i", &i.to_string()),
                    ("k", &(i % 7).to_string()),
                ]),
                // Gaps and irregular values so groups differ per step.
                (0..90)
                    .filter(|k| (k + i) % 5 != 0)
                    .map(|k| Sample::new(k * 20_000, ((k * 31 + i * 17) % 97) as f64 / 7.0))
                    .collect(),
            )
        })
        .collect());
    let ops = [
        "sum", "avg", "count", "group", "min", "max", "stddev", "stdvar",
    ];
    for op in ops {
        let q = crate::parse(&format!("{op} by (k) (g)")).expect("parses");
        let run = |stepwise: bool| {
            super::aggregate::dense::DISABLED.with(|d| d.set(stepwise));
            let r = Engine::new(EngineOptions::default())
                .range(&store, &q, 0, 1_800_000, 20_000)
                .expect("runs");
            super::aggregate::dense::DISABLED.with(|d| d.set(false));
            r
        };
        assert_eq!(run(false), run(true), "{op}");
    }
}

#[test]
fn deadline_and_cancellation_stop_a_query_with_typed_errors() {
    let expr = crate::parse("sum(rate(http_requests_total[5m]))").expect("parses");
    let past_deadline = Engine::new(EngineOptions {
        timeout: Some(std::time::Duration::ZERO),
        ..EngineOptions::default()
    });
    let err = past_deadline.range(&storage(), &expr, 0, 300_000, 60_000);
    assert!(matches!(err, Err(crate::Error::Timeout(_))), "{err:?}");

    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let cancelled = Engine::new(EngineOptions {
        cancel: Some(cancel.clone()),
        ..EngineOptions::default()
    });
    let err = cancelled.instant(&storage(), &expr, 300_000);
    assert!(matches!(err, Err(crate::Error::Canceled(_))), "{err:?}");
    cancel.store(false, std::sync::atomic::Ordering::Relaxed);
    assert!(cancelled.instant(&storage(), &expr, 300_000).is_ok());
}
