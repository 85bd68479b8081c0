//! Matching a query's outcome against an eval's expectations: float
//! equality, instant vectors, matrices, scalars, strings, failures and
//! annotations. Every check returns `Err(reason)` with a short diff.

use tsdb::model::{Labels, is_stale_nan};

use super::eval_cmd::{AnnotationExpect, EvalCmd, Expected, ExpectedSeries, MessageMatch, Steps};
use super::items::Point;
use crate::syntax::format_duration;
use crate::value::{FloatDisplay, RangeSeries, Value, VectorSample};

/// Relative tolerance of [`almost_equal`].
pub const EPSILON: f64 = 1e-6;

/// Smallest positive normal `f64` (Go's `minNormal`).
const MIN_NORMAL: f64 = f64::MIN_POSITIVE;

/// Float equality of the reference runner: the stale marker equals only
/// itself; NaN equals NaN; otherwise equal values, or a relative
/// difference below [`EPSILON`] (absolute below `EPSILON * MIN_NORMAL`
/// when either side is zero or both are tiny).
pub fn almost_equal(a: f64, b: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    let sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || sum < MIN_NORMAL {
        return diff < EPSILON * MIN_NORMAL;
    }
    diff / sum.min(f64::MAX) < EPSILON
}

/// Collects mismatches and renders the first few.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    const SHOWN: usize = 3;

    fn push(&mut self, p: String) {
        self.0.push(p);
    }

    fn finish(self) -> Result<(), String> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut s = self.0[..self.0.len().min(Self::SHOWN)].join("; ");
        if self.0.len() > Self::SHOWN {
            s.push_str(&format!("; and {} more", self.0.len() - Self::SHOWN));
        }
        Err(s)
    }
}

fn f(v: f64) -> String {
    if is_stale_nan(v) {
        "stale".into()
    } else {
        FloatDisplay(v).to_string()
    }
}

fn describe_expected(e: &Expected) -> String {
    match e {
        Expected::Series(s) if s.is_empty() => "an empty result".into(),
        Expected::Series(s) => format!("{} series", s.len()),
        Expected::Scalar(v) => format!("scalar {}", f(*v)),
        Expected::String(s) => format!("string {s:?}"),
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Scalar(s) => format!("scalar {}", f(s.v)),
        Value::String { v, .. } => format!("string {v:?}"),
        Value::Vector(s) => format!("an instant vector of {} series", s.len()),
        Value::Matrix(m) => format!("a range vector of {} series", m.len()),
    }
}

/// Compares a successful query's value with the eval's expectation
/// (section 5.3 of the format): scalars and strings by value, instant
/// vectors as sets keyed by labels (by position with `expect ordered`),
/// matrices sorted by labels and point by point on the eval's grid.
pub fn compare_value(cmd: &EvalCmd, value: &Value) -> Result<(), String> {
    let mismatch = || {
        Err(format!(
            "expected {} but got {}",
            describe_expected(&cmd.expected),
            describe_value(value)
        ))
    };
    match (value, &cmd.expected, cmd.matrix_steps()) {
        (Value::Scalar(s), Expected::Scalar(want), None) => {
            if almost_equal(*want, s.v) {
                Ok(())
            } else {
                Err(format!("expected scalar {} but got {}", f(*want), f(s.v)))
            }
        }
        (Value::String { v, .. }, Expected::String(want), None) if v == want => Ok(()),
        (Value::Vector(got), Expected::Series(want), None) => {
            compare_vector(want, got, cmd.ordered)
        }
        (Value::Matrix(got), Expected::Series(want), Some(steps)) => {
            compare_matrix(want, got, steps)
        }
        _ => mismatch(),
    }
}

/// Whether `got` is the expected histogram (base plus multiples of the
/// delta, evaluated); the hint is compared when the base literal names
/// one.
fn histogram_point_matches(
    want: &super::items::HistogramPoint,
    got: &tsdb::model::histogram::FloatHistogram,
) -> bool {
    let check_hint = want.base.counter_reset_hint.is_some();
    super::histogram::histogram_matches(&want.value(), check_hint, got)
}

fn find<'a>(want: &'a [ExpectedSeries], labels: &Labels) -> Option<&'a ExpectedSeries> {
    want.iter().find(|e| &e.labels == labels)
}

fn describe_point(p: &Option<Point>) -> String {
    match p {
        Some(Point::Float(v)) => f(*v),
        Some(Point::Histogram(_)) => "a histogram".into(),
        None => "_".into(),
    }
}

/// Compares an instant vector with result lines (one value each).
pub fn compare_vector(
    want: &[ExpectedSeries],
    got: &[VectorSample],
    ordered: bool,
) -> Result<(), String> {
    let mut p = Problems::default();
    for (i, s) in got.iter().enumerate() {
        if got[..i].iter().any(|o| o.labels == s.labels) {
            p.push(format!("{} appears twice in the result", s.labels));
            continue;
        }
        let Some(exp) = find(want, &s.labels) else {
            p.push(format!("unexpected {} {}", s.labels, f(s.v)));
            continue;
        };
        if ordered && exp.pos != i + 1 {
            p.push(format!(
                "{} is at position {} but expected at {}",
                s.labels,
                i + 1,
                exp.pos
            ));
        }
        match (exp.values.first(), &s.h) {
            (Some(Some(Point::Float(w))), None) if almost_equal(*w, s.v) => {}
            (Some(Some(Point::Histogram(w))), Some(h)) if histogram_point_matches(w, h) => {}
            (other, got) => p.push(format!(
                "{}: expected {} but got {}",
                s.labels,
                describe_point(other.unwrap_or(&None)),
                got.as_ref().map_or_else(|| f(s.v), |h| format!("{h:?}"))
            )),
        }
    }
    for exp in want {
        if !got.iter().any(|s| s.labels == exp.labels) {
            let v = describe_point(exp.values.first().unwrap_or(&None));
            p.push(format!("missing {} {v}", exp.labels));
        }
    }
    p.finish()
}

/// Fails if the matrix's series are not strictly ascending by labels.
pub fn check_sorted(got: &[RangeSeries]) -> Result<(), String> {
    match got.windows(2).find(|w| w[0].labels >= w[1].labels) {
        Some(w) if w[0].labels == w[1].labels => {
            Err(format!("{} appears twice in the range vector", w[0].labels))
        }
        Some(w) => Err(format!(
            "range vector is not sorted by labels: {} before {}",
            w[0].labels, w[1].labels
        )),
        None => Ok(()),
    }
}

fn points(ps: impl Iterator<Item = (i64, f64)>) -> String {
    let items: Vec<String> = ps
        .map(|(t, v)| format!("{}:{}", format_duration(t), f(v)))
        .collect();
    format!("[{}]", items.join(" "))
}

/// Compares a matrix with result lines whose value `i` is at the `i`-th
/// time of `steps`.
pub fn compare_matrix(
    want: &[ExpectedSeries],
    got: &[RangeSeries],
    steps: Steps,
) -> Result<(), String> {
    check_sorted(got)?;
    let mut p = Problems::default();
    for s in got {
        let got_pts = || points(s.samples.iter().map(|x| (x.t, x.v)));
        let Some(exp) = find(want, &s.labels) else {
            p.push(format!("unexpected {} {}", s.labels, got_pts()));
            continue;
        };
        let mut floats = Vec::new();
        let mut hists = Vec::new();
        for (i, v) in exp.values.iter().enumerate() {
            let Some(t) = steps.time(i) else {
                p.push(format!(
                    "{}: more values than the range has steps",
                    s.labels
                ));
                break;
            };
            match v {
                Some(Point::Float(x)) => floats.push((t, *x)),
                Some(Point::Histogram(h)) => hists.push((t, h)),
                None => {}
            }
        }
        let same_hists = hists.len() == s.histograms.len()
            && hists
                .iter()
                .zip(&s.histograms)
                .all(|(&(t, w), g)| t == g.t && histogram_point_matches(w, &g.h));
        if !same_hists {
            let got: Vec<String> = s
                .histograms
                .iter()
                .map(|g| format!("{}:{:?}", format_duration(g.t), g.h))
                .collect();
            p.push(format!(
                "{}: expected {} histogram points but got [{}]",
                s.labels,
                hists.len(),
                got.join(" ")
            ));
        }
        let same = floats.len() == s.samples.len()
            && floats
                .iter()
                .zip(&s.samples)
                .all(|(&(t, w), g)| t == g.t && almost_equal(w, g.v));
        if !same {
            p.push(format!(
                "{}: expected {} but got {}",
                s.labels,
                points(floats.iter().copied()),
                got_pts()
            ));
        }
    }
    for exp in want {
        if !got.iter().any(|s| s.labels == exp.labels) {
            p.push(format!("missing {}", exp.labels));
        }
    }
    p.finish()
}

fn check_class(what: &str, expect: &AnnotationExpect, got: &[String]) -> Result<(), String> {
    match expect {
        AnnotationExpect::Unchecked => Ok(()),
        AnnotationExpect::Forbidden if got.is_empty() => Ok(()),
        AnnotationExpect::Forbidden => Err(format!("unexpected {what}s {got:?}")),
        AnnotationExpect::Required(_) if got.is_empty() => {
            Err(format!("expected {what}s but got none"))
        }
        AnnotationExpect::Required(ms) => {
            if let Some(m) = ms.iter().find(|m| !got.iter().any(|g| m.matches(g))) {
                return Err(format!("no {what} matches {m}; got {got:?}"));
            }
            match got.iter().find(|g| !ms.iter().any(|m| m.matches(g))) {
                Some(g) => Err(format!("unexpected {what} {g:?}")),
                None => Ok(()),
            }
        }
    }
}

/// Checks warnings and infos against the eval's `expect warn|info` and
/// `expect no_warn|no_info` lines; a class without lines is not checked.
pub fn check_annotations(
    cmd: &EvalCmd,
    warnings: &[String],
    infos: &[String],
) -> Result<(), String> {
    check_class("warning", &cmd.warnings, warnings)?;
    check_class("info", &cmd.infos, infos)
}

/// Checks an error against `expect fail`: it passes when any of `texts`
/// (the ways the error may be spelled) satisfies the condition.
pub fn check_failure(expect: &MessageMatch, texts: &[String]) -> Result<(), String> {
    if texts.iter().any(|t| expect.matches(t)) {
        return Ok(());
    }
    let got = texts.first().map(String::as_str).unwrap_or("");
    Err(format!(
        "expected failure with {expect} but got error {got:?}"
    ))
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
