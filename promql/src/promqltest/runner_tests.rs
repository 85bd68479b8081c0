use std::cell::RefCell;

use tsdb::model::{Labels, Queryable, Sample};

use super::*;
use crate::promqltest::mem::MemStorage;
use crate::promqltest::script::parse_script;
use crate::promqltest::{Evaluator, StorageError};
use crate::value::{RangeSeries, Scalar};

type Answer = Box<dyn Fn(&str, Option<i64>) -> crate::Result<QueryResult>>;

/// An evaluator answering from a closure of (printed expression, `Some(t)`
/// for instant queries / `None` for range queries); it records each call.
struct Fake {
    calls: RefCell<Vec<String>>,
    answer: Answer,
}

impl Fake {
    fn new(answer: impl Fn(&str, Option<i64>) -> crate::Result<QueryResult> + 'static) -> Fake {
        Fake {
            calls: RefCell::default(),
            answer: Box::new(answer),
        }
    }

    /// Every query returns `x{}` = `v`: a vector, or a matrix with a point
    /// at each step.
    fn constant(v: f64) -> Fake {
        Fake::new(move |_, t| Ok(ok(if t.is_some() { vector(v) } else { matrix(v) })))
    }
}

thread_local! {
    /// The last range query's grid, for [`matrix`].
    static GRID: RefCell<(i64, i64, i64)> = const { RefCell::new((0, 0, 1)) };
}

impl Evaluator for Fake {
    fn instant(&self, _: &dyn Queryable, e: &Expr, t: i64) -> crate::Result<QueryResult> {
        self.calls.borrow_mut().push(format!("instant {e} at {t}"));
        (self.answer)(&e.to_string(), Some(t))
    }

    fn range(
        &self,
        _: &dyn Queryable,
        e: &Expr,
        s: i64,
        end: i64,
        step: i64,
    ) -> crate::Result<QueryResult> {
        self.calls
            .borrow_mut()
            .push(format!("range {e} {s}..{end}/{step}"));
        GRID.with(|g| *g.borrow_mut() = (s, end, step));
        (self.answer)(&e.to_string(), None)
    }
}

fn ok(value: Value) -> QueryResult {
    QueryResult {
        value,
        warnings: vec![],
        infos: vec![],
        tiers: vec![],
    }
}

fn x() -> Labels {
    Labels::from_pairs(&[("__name__", "x")])
}

fn vector(v: f64) -> Value {
    Value::Vector(vec![VectorSample {
        labels: x(),
        t: 0,
        v,
        h: None,
    }])
}

fn matrix(v: f64) -> Value {
    let (s, e, step) = GRID.with(|g| *g.borrow());
    let samples = (0..)
        .map(|i| s + i * step)
        .take_while(|t| *t <= e)
        .map(|t| Sample::new(t, v));
    Value::Matrix(vec![RangeSeries {
        labels: x(),
        samples: samples.collect(),
        histograms: vec![],
    }])
}

fn run(text: &str, fake: &Fake, extra: bool) -> Vec<Outcome> {
    let script = parse_script("t.test", text);
    let report = run_script_with(&script, &mut MemStorage::new(), fake, extra);
    report.cases.into_iter().map(|c| c.outcome).collect()
}

fn kinds(outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Passed => 'P',
            Outcome::Failed(_) => 'F',
        })
        .collect()
}

/// Histogram series (plain and `load_with_nhcb`) are loaded and their
/// evals run and compared through the real engine: none is skipped.
#[test]
fn histogram_evals_are_run() {
    let text = "load 1m
  h {{count:1}} 3

load_with_nhcb 1m
  c_bucket{le=\"1\"} 1
  c_bucket{le=\"+Inf\"} 2

eval instant at 1m h
  h 3

eval instant at 0m h
  h {{count:1}}

eval instant at 0m h
  h {{count:2}}

eval instant at 1m histogram_count(c)
  {} 2
";
    let script = parse_script("t.test", text);
    let opts = crate::promqltest::RunOptions::default();
    let report = crate::promqltest::run_script(&script, &mut MemStorage::new(), &opts);
    let got: Vec<Outcome> = report.cases.into_iter().map(|c| c.outcome).collect();
    assert_eq!(kinds(&got), "PPFP", "{got:?}");
}

#[test]
fn extra_checks_run_range_mode_and_pinned_variants() {
    let fake = Fake::constant(1.0);
    let got = run("eval instant at 10m x\n  x 1", &fake, true);
    assert_eq!(got, [Outcome::Passed]);
    let calls = fake.calls.borrow();
    let pinned = "x @ 600.000";
    let mut want = vec![
        "instant x at 600000".to_string(),
        "range x 540000..660000/60000".into(),
    ];
    for t in [-6_000_000, 0, 120_000, 600_000, 6_000_000] {
        want.push(format!("instant {pinned} at {t}"));
        want.push(format!(
            "range {pinned} {}..{}/60000",
            t - 60_000,
            t + 60_000
        ));
    }
    assert_eq!(*calls, want);
}

#[test]
fn extra_check_rules() {
    let count = |text: &str, extra| {
        let fake = Fake::constant(1.0);
        let got = run(text, &fake, extra);
        assert_eq!(kinds(&got), "P", "{text}: {got:?}");
        let calls = fake.calls.borrow();
        let variants = calls.iter().filter(|c| c.contains('@')).count();
        (calls.len(), variants)
    };
    // At t=0 the variants run at -1s, 0 and 1s.
    assert_eq!(count("eval instant at 0 x\n  x 1", true), (8, 6));
    assert_eq!(count("eval instant at 5m x\n  x 1", false), (1, 0));
    // time-dependent functions: range mode only.
    assert_eq!(
        count("eval instant at 5m timestamp(x)\n  x 1", true),
        (2, 0)
    );
    // step() and friends: neither.
    assert_eq!(
        count("eval instant at 5m x offset step()\n  x 1", true),
        (1, 0)
    );
    // Range evals get no extra checks.
    assert_eq!(
        count("eval range from 0 to 1m step 1m x\n  x 1 1", true),
        (1, 0)
    );
    // Expected failures get variants but no range mode.
    let fails = Fake::new(|_, _| Err(Error::Execution("boom".into())));
    assert_eq!(
        kinds(&run("eval instant at 5m x\n  expect fail", &fails, true)),
        "P"
    );
    assert_eq!(fails.calls.borrow().len(), 6);
}

#[test]
fn failed_extra_checks_name_the_variant() {
    let wrong_range = Fake::new(|_, t| {
        Ok(ok(if t.is_some() {
            vector(1.0)
        } else {
            matrix(2.0)
        }))
    });
    let got = run("eval instant at 5m x\n  x 1", &wrong_range, true);
    assert!(
        matches!(&got[0], Outcome::Failed(r) if r.starts_with("range-mode check")),
        "{got:?}"
    );

    let wrong_pinned = Fake::new(|e, t| {
        let v = if e.contains('@') && t == Some(0) {
            2.0
        } else {
            1.0
        };
        Ok(ok(if t.is_some() { vector(v) } else { matrix(v) }))
    });
    let got = run("eval instant at 5m x\n  x 1", &wrong_pinned, true);
    let Outcome::Failed(r) = &got[0] else {
        panic!("{got:?}")
    };
    assert!(
        r.starts_with("@ variant `x @ 300.000` evaluated at 0s: "),
        "{r}"
    );

    // With `expect ordered` the range-mode points are not compared.
    let fake = Fake::new(|_, t| {
        Ok(ok(if t.is_some() {
            vector(1.0)
        } else {
            matrix(2.0)
        }))
    });
    assert_eq!(
        kinds(&run(
            "eval instant at 5m x\n  expect ordered\n  x 1",
            &fake,
            true
        )),
        "P"
    );
}

#[test]
fn failures_and_annotations() {
    let boom = Fake::new(|_, _| Err(Error::Execution("boom".into())));
    let text = "eval instant at 0 x\n  expect fail msg: boom

eval instant at 0 x\n  expect fail msg: bang

eval instant at 0 x\n  expect fail regex: o+

eval instant at 0 x

eval_fail instant at 0 x
";
    let got = run(text, &boom, true);
    assert_eq!(kinds(&got), "PFPFP", "{got:?}");
    assert!(
        matches!(&got[3], Outcome::Failed(r) if r == "query failed: boom"),
        "{got:?}"
    );

    let parse = "eval instant at 0 sum(\n  expect fail\n\neval instant at 0 sum(\n";
    assert_eq!(kinds(&run(parse, &Fake::constant(1.0), true)), "PF");
    // A parse-time check matches by its bare message too.
    let msg = "eval instant at 0 1 +\n  expect fail msg: unexpected end of input";
    let got = run(msg, &Fake::constant(1.0), true);
    assert_eq!(kinds(&got), "P", "{got:?}");

    let succeed = "eval instant at 0 x\n  expect fail";
    assert_eq!(kinds(&run(succeed, &Fake::constant(1.0), true)), "F");

    let warns = Fake::new(|_, _| {
        let mut r = ok(Value::Scalar(Scalar { t: 0, v: 1.0 }));
        r.warnings.push("PromQL warning: w".into());
        Ok(r)
    });
    let text = "eval instant at 0 1\n  expect warn msg: PromQL warning: w\n  1

eval instant at 0 1\n  expect no_warn\n  1

eval instant at 0 1\n  1
";
    assert_eq!(kinds(&run(text, &warns, false)), "PFP");
}

#[test]
fn panics_fail_only_their_eval() {
    let fake = Fake::new(|e, _| {
        if e == "boom" {
            panic!("evaluator bug");
        }
        Ok(ok(vector(1.0)))
    });
    let got = run(
        "eval instant at 0 boom\n  x 1\n\neval instant at 0 x\n  x 1",
        &fake,
        false,
    );
    assert!(matches!(&got[0], Outcome::Failed(r) if r.contains("panicked: evaluator bug")));
    assert_eq!(got[1], Outcome::Passed);
}

/// Rejects every load.
struct Rejecting(MemStorage);

impl Storage for Rejecting {
    fn clear(&mut self) -> Result<(), StorageError> {
        self.0.clear()
    }

    fn load(&mut self, _: Vec<(Labels, Vec<Sample>)>) -> Result<(), StorageError> {
        Err("disk full".into())
    }

    fn queryable(&self) -> &dyn Queryable {
        &self.0
    }
}

#[test]
fn broken_loads_fail_the_following_evals() {
    let text =
        "load 1m\n  x 1\n\neval instant at 0 x\n  x 1\n\nclear\n\neval instant at 0 x\n  x 1";
    let script = parse_script("t.test", text);
    let fake = Fake::constant(1.0);
    let report = run_script_with(&script, &mut Rejecting(MemStorage::new()), &fake, false);
    let got: Vec<_> = report.cases.iter().map(|c| c.outcome.clone()).collect();
    assert_eq!(kinds(&got), "FP");
    assert!(
        matches!(&got[0], Outcome::Failed(r) if r.contains("line 1") && r.contains("disk full"))
    );

    let text = "load 1m\n  x 1\n  y{ 2\n\neval instant at 0 x\n  x 1\n\nnonsense\n\neval instant at 0 x\n  x 1 2";
    let got = run(text, &fake, false);
    assert_eq!(kinds(&got), "FFF", "{got:?}");
    assert!(matches!(&got[0], Outcome::Failed(r) if r.contains("invalid load block: t.test:3")));
    assert!(matches!(&got[1], Outcome::Failed(r) if r.contains("unknown command")));
}
