//! Test helpers: series written as in Prometheus's `.test` scripts, windows
//! selected as the evaluator selects them, and table-driven cases.

use tsdb::model::Sample;

use super::{RangeMode, Rollup, RollupWindow, eval_at};
use crate::error::Error;
use crate::promqltest::{Point, expand_values};
use crate::value::Annotations;

/// The lookback delta the `.test` scripts run with (5m).
const LOOKBACK: i64 = 5 * 60 * 1000;

/// A duration such as `5m`, `1m30s`, `10s53ms`, `20500ms`, in ms.
pub fn dur(s: &str) -> i64 {
    crate::syntax::parse_duration(s).unwrap_or_else(|e| panic!("bad duration {s:?}: {e}"))
}

/// One `load` line's values in the series notation of the `.test`
/// scripts: `1+1x4` (1, 2, 3, 4, 5), `8000-10x2`, `52x2` (52 three
/// times), `_` (no sample), `_x3`, `NaN`, `Inf`, `-Inf`, numbers. Samples
/// are `step` apart from t=0.
pub fn load(step: &str, spec: &str) -> Vec<Sample> {
    let step = dur(step);
    expand_values(spec)
        .unwrap_or_else(|e| panic!("bad values {spec:?}: {e}"))
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Some(Point::Float(v)) => Some(Sample::new(i as i64 * step, v)),
            Some(Point::Histogram(_)) => panic!("histogram in {spec:?}"),
            None => None,
        })
        .collect()
}

/// The window `(at - range, at]` of `series` in `mode`, with `before` and
/// `after` picked within the lookback delta as the evaluator does.
pub fn window(series: &[Sample], at: i64, range: i64, mode: RangeMode) -> RollupWindow<'_> {
    let start = at - range;
    let lo = series.partition_point(|s| s.t <= start);
    let hi = series.partition_point(|s| s.t <= at);
    let before = lo
        .checked_sub(1)
        .map(|i| series[i])
        .filter(|b| b.t > start - LOOKBACK && mode != RangeMode::Plain);
    let after = series
        .get(hi)
        .copied()
        .filter(|a| a.t <= at + LOOKBACK && mode == RangeMode::Smoothed);
    RollupWindow {
        samples: &series[lo..hi],
        sts: &[],
        start,
        end: at,
        before,
        before_st: 0,
        after,
        mode,
        resets: None,
    }
}

#[derive(Debug, Clone)]
pub enum Expect {
    Value(f64),
    Nothing,
    Error(String),
}

/// One table case: `f` over `series` at window end `at` with `range`.
#[derive(Debug, Clone)]
pub struct Case<'a> {
    pub name: String,
    pub f: Rollup,
    pub series: &'a [Sample],
    pub at: i64,
    pub range: i64,
    pub ts: Option<i64>,
    pub mode: RangeMode,
    pub args: Vec<f64>,
    pub metric: String,
    pub expect: Expect,
}

impl<'a> Case<'a> {
    pub fn new(name: &str, f: Rollup, series: &'a [Sample], at: &str, range: &str) -> Self {
        Case {
            name: name.to_string(),
            f,
            series,
            at: dur(at),
            range: dur(range),
            ts: None,
            mode: RangeMode::Plain,
            args: Vec::new(),
            metric: String::new(),
            expect: Expect::Nothing,
        }
    }

    pub fn mode(mut self, mode: RangeMode) -> Self {
        self.mode = mode;
        self
    }

    pub fn args(mut self, args: &[f64]) -> Self {
        self.args = args.to_vec();
        self
    }

    /// The step's evaluation time, when it differs from the window end.
    pub fn ts(mut self, ts: &str) -> Self {
        self.ts = Some(dur(ts));
        self
    }

    pub fn metric(mut self, name: &str) -> Self {
        self.metric = name.to_string();
        self
    }

    pub fn want(mut self, v: f64) -> Self {
        self.expect = Expect::Value(v);
        self
    }

    pub fn want_opt(self, v: Option<f64>) -> Self {
        match v {
            Some(v) => self.want(v),
            None => self.none(),
        }
    }

    pub fn none(mut self) -> Self {
        self.expect = Expect::Nothing;
        self
    }

    pub fn err(mut self, msg: &str) -> Self {
        self.expect = Expect::Error(msg.to_string());
        self
    }

    /// Evaluates the case.
    pub fn run(&self) -> (Result<Option<f64>, Error>, Annotations) {
        let w = window(self.series, self.at, self.range, self.mode);
        let mut ann = Annotations::default();
        let ts = self.ts.unwrap_or(self.at);
        let got = eval_at(self.f, &w, &self.args, &self.metric, ts, &mut ann);
        (got, ann)
    }
}

/// Equality as promqltest compares floats: exact, both NaN, or within a
/// relative 1e-6.
pub fn close(got: f64, want: f64) -> bool {
    if got == want || (got.is_nan() && want.is_nan()) {
        return true;
    }
    let diff = (got - want).abs();
    if got == 0.0 || want == 0.0 {
        return diff < 1e-6 * f64::MIN_POSITIVE;
    }
    diff / (got.abs() + want.abs()).min(f64::MAX) < 1e-6
}

/// Runs every case and fails listing all mismatches.
pub fn check_cases(cases: &[Case<'_>]) {
    let mut failures = Vec::new();
    for c in cases {
        let (got, _) = c.run();
        let ok = match (&c.expect, &got) {
            (Expect::Value(want), Ok(Some(v))) => close(*v, *want),
            (Expect::Nothing, Ok(None)) => true,
            (Expect::Error(msg), Err(e)) => e.to_string() == *msg,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{} ({} at {}ms [{}ms] {:?}): want {:?}, got {:?}",
                c.name,
                c.f.name(),
                c.at,
                c.range,
                c.mode,
                c.expect,
                got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
