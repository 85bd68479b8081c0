//! `almanac test rules`: promtool's rule unit tests. Each test group loads
//! its `input_series` into memory, evaluates every rule group at every
//! `evaluation_interval` from the start up to the largest `eval_time`,
//! compares firing alerts at each `alert_rule_test` time, then runs the
//! `promql_expr_test` queries. Exit code 0 when all pass, 1 otherwise.

mod values;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use promql::eval::Engine;
use promql::value::Value;
use serde::Deserialize;
use std::sync::Arc;

use tsdb::model::histogram::FloatHistogram;
use tsdb::model::{HistogramSample, Labels, Sample};

use super::alert::AlertState;
use super::group::{EvalEnv, Group, SampleValue};
use super::{file, glob};
use promql::promqltest::MemStorage;
use promql::syntax::{format_duration, parse_duration, parse_time};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    rule_files: Vec<String>,
    evaluation_interval: Option<String>,
    #[serde(default)]
    group_eval_order: Vec<String>,
    #[serde(default)]
    fuzzy_compare: bool,
    #[serde(default)]
    tests: Vec<TestGroup>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    #[serde(default)]
    name: String,
    interval: Option<String>,
    start_timestamp: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    external_url: String,
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    promql_expr_test: Vec<ExprTest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    series: String,
    #[serde(default)]
    values: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTest {
    #[serde(default)]
    eval_time: Option<String>,
    #[serde(default)]
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExprTest {
    expr: String,
    #[serde(default)]
    eval_time: Option<String>,
    #[serde(default)]
    exp_samples: Vec<ExpSample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpSample {
    #[serde(default)]
    labels: String,
    #[serde(default)]
    value: f64,
    histogram: Option<String>,
}

/// Options of `test rules`.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// Run only test groups whose name matches one of these regexes.
    pub run: Vec<String>,
    pub ignore_unknown_fields: bool,
}

/// Runs the test files, writing promtool's report to `out`. Returns the
/// exit code.
pub fn test_rules(files: &[String], opts: &TestOptions, out: &mut dyn Write) -> u8 {
    let run: Vec<regex::Regex> = match opts.run.iter().map(|r| regex::Regex::new(r)).collect() {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(out, "invalid --run pattern: {e}");
            return 1;
        }
    };
    let mut failed = false;
    for f in files {
        let _ = writeln!(out, "Unit Testing:  {f}");
        match test_file(f, opts, &run) {
            Ok(()) => {
                let _ = writeln!(out, "  SUCCESS\n");
            }
            Err(errs) => {
                failed = true;
                let _ = writeln!(out, "  FAILED:");
                for e in errs {
                    let _ = writeln!(out, "{e}");
                }
                let _ = writeln!(out);
            }
        }
    }
    u8::from(failed)
}

fn duration(s: &Option<String>, what: &str) -> Result<i64, String> {
    match s.as_deref().map(str::trim) {
        None | Some("0") | Some("") => Ok(0),
        Some(d) => parse_duration(d).map_err(|_| format!("{what}: not a valid duration: {d:?}")),
    }
}

fn test_file(path: &str, opts: &TestOptions, run: &[regex::Regex]) -> Result<(), Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("  {path}: {e}")])?;
    let tf: TestFile =
        serde_yaml_ng::from_str(&text).map_err(|e| vec![format!("  {path}: {e}")])?;
    let eval_interval = match &tf.evaluation_interval {
        None => 60_000,
        Some(_) => duration(&tf.evaluation_interval, "evaluation_interval")
            .map_err(|e| vec![format!("  {e}")])?,
    }
    .max(1);
    let base = Path::new(path).parent().unwrap_or(Path::new(""));
    let mut rule_files = Vec::new();
    for pattern in &tf.rule_files {
        let full = base.join(pattern).display().to_string();
        let paths = glob::expand(&full).map_err(|e| vec![format!("  {e}")])?;
        for p in paths {
            let f = file::load(&p.display().to_string(), opts.ignore_unknown_fields)
                .map_err(|errs| errs.iter().map(|e| format!("  {e}")).collect::<Vec<_>>())?;
            rule_files.push(f);
        }
    }
    let mut specs: Vec<&file::GroupSpec> =
        rule_files.iter().flat_map(|f| f.groups.iter()).collect();
    if !tf.group_eval_order.is_empty() {
        let pos = |name: &str| tf.group_eval_order.iter().position(|g| g == name);
        for g in &tf.group_eval_order {
            if !specs.iter().any(|s| &s.name == g) {
                return Err(vec![format!(
                    "  group name {g:?} given in group_eval_order not present in the rule files"
                )]);
            }
        }
        if let Some(s) = specs.iter().find(|s| pos(&s.name).is_none()) {
            return Err(vec![format!(
                "  group {:?} missing from group_eval_order",
                s.name
            )]);
        }
        specs.sort_by_key(|s| pos(&s.name));
    }
    let mut errs = Vec::new();
    for tg in &tf.tests {
        if !run.is_empty() && !run.iter().any(|r| r.is_match(&tg.name)) {
            continue;
        }
        if let Err(e) = run_group(tg, &specs, eval_interval, tf.fuzzy_compare) {
            errs.push(format!("    name: {},", tg.name));
            errs.extend(e);
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

fn load_input(tg: &TestGroup, store: &MemStorage, start: i64, interval: i64) -> Result<(), String> {
    for s in &tg.input_series {
        let labels = values::parse_series(&s.series)?;
        let points =
            values::expand(&s.values).map_err(|e| format!("series {:?}: {e}", s.series))?;
        let (mut floats, mut hists) = (Vec::new(), Vec::new());
        let mut prev: Option<FloatHistogram> = None;
        for (i, p) in points.into_iter().enumerate() {
            let t = start + i as i64 * interval;
            match p {
                Some(values::Value::Float(v)) => {
                    floats.push(Sample::new(t, v));
                    prev = None;
                }
                Some(values::Value::Histogram(mut h)) => {
                    stored_hint(&mut h, prev.as_ref());
                    prev = Some(h.clone());
                    hists.push(HistogramSample {
                        t,
                        st: 0,
                        h: Arc::new(h),
                    });
                }
                None => {}
            }
        }
        store.set(labels, floats, hists);
    }
    Ok(())
}

/// Gives a counter histogram the hint a TSDB chunk reads back with, as
/// promtool's storage does: after another histogram of the series, not a
/// reset unless it is one; the series' first (or one after a float)
/// unknown. Explicit hints stay.
fn stored_hint(h: &mut FloatHistogram, prev: Option<&FloatHistogram>) {
    use tsdb::model::histogram::CounterResetHint::{CounterReset, NotCounterReset, Unknown};
    if h.hint != Unknown {
        return;
    }
    if let Some(p) = prev {
        h.hint = if h.detect_reset(p) {
            CounterReset
        } else {
            NotCounterReset
        };
    }
}

type Firing = Vec<(Labels, BTreeMap<String, String>)>;

fn run_group(
    tg: &TestGroup,
    specs: &[&file::GroupSpec],
    eval_interval: i64,
    fuzzy: bool,
) -> Result<(), Vec<String>> {
    let one = |e: String| vec![format!("    {e}")];
    let interval = match &tg.interval {
        None => eval_interval,
        Some(_) => duration(&tg.interval, "interval").map_err(one)?.max(1),
    };
    let start = match &tg.start_timestamp {
        None => 0,
        Some(serde_yaml_ng::Value::Number(n)) => {
            (n.as_f64().unwrap_or(0.0) * 1000.0).round() as i64
        }
        Some(serde_yaml_ng::Value::String(s)) => parse_time(s).map_err(|e| one(e.to_string()))?,
        Some(other) => return Err(one(format!("start_timestamp: not a time: {other:?}"))),
    };
    let store = MemStorage::new();
    load_input(tg, &store, start, interval).map_err(one)?;
    let mut groups: Vec<Group> = specs
        .iter()
        .map(|s| Group::new(s, eval_interval, 0))
        .collect();
    groups.iter_mut().for_each(Group::set_restored);
    let mut alert_tests: Vec<(i64, &AlertTest)> = Vec::new();
    for t in &tg.alert_rule_test {
        alert_tests.push((duration(&t.eval_time, "eval_time").map_err(one)?, t));
    }
    alert_tests.sort_by_key(|(t, _)| *t);
    let mut expr_times = Vec::new();
    for t in &tg.promql_expr_test {
        expr_times.push(duration(&t.eval_time, "eval_time").map_err(one)?);
    }
    let max_t = alert_tests
        .iter()
        .map(|(t, _)| *t)
        .chain(expr_times.iter().copied())
        .max()
        .unwrap_or(0);
    let engine = Engine::default();
    let env = EvalEnv {
        engine: &engine,
        storage: &store,
        logs: None,
        external_labels: &tg.external_labels,
        external_url: &tg.external_url,
    };
    let mut write = |b: &[(Labels, i64, SampleValue)]| -> Result<usize, String> {
        Ok(b.iter()
            .filter(|(l, t, v)| {
                match v {
                    SampleValue::Float(v) => store.append(l, *t, *v),
                    SampleValue::Histogram(h) => store.append_histogram(l, *t, h.clone()),
                }
                .is_err()
            })
            .count())
    };
    let mut errs = Vec::new();
    let mut next_alert = 0;
    let mut ts = start;
    while ts <= start + max_t {
        let mut eval_errs = Vec::new();
        for g in &mut groups {
            g.eval(ts, ts, 60_000, &env, &mut write);
            for r in &g.rules {
                if let Some(e) = &r.last_error {
                    eval_errs.push(format!(
                        "    rule: {}, time: {}, err: {e}",
                        r.spec.name,
                        format_duration(ts - start)
                    ));
                }
            }
        }
        if !eval_errs.is_empty() {
            return Err(eval_errs);
        }
        while let Some((t, test)) = alert_tests.get(next_alert) {
            if !(ts - start <= *t && *t < ts - start + eval_interval) {
                break;
            }
            let mut got: Firing = groups
                .iter()
                .flat_map(|g| g.rules.iter())
                .filter(|r| r.spec.name == test.alertname)
                .flat_map(|r| r.alerts.active.values())
                .filter(|a| a.state == AlertState::Firing)
                .map(|a| (a.labels.clone(), a.annotations.clone()))
                .collect();
            let mut exp: Firing = test
                .exp_alerts
                .iter()
                .map(|a| {
                    let mut l: Vec<(&str, &str)> = a
                        .exp_labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    l.push(("alertname", &test.alertname));
                    (Labels::from_pairs(&l), a.exp_annotations.clone())
                })
                .collect();
            got.sort_by(|a, b| a.0.cmp(&b.0));
            exp.sort_by(|a, b| a.0.cmp(&b.0));
            if got != exp {
                errs.push(format!(
                    "    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                    test.alertname,
                    format_duration(*t),
                    show_alerts(&exp),
                    show_alerts(&got)
                ));
            }
            next_alert += 1;
        }
        ts += eval_interval;
    }
    for (test, t) in tg.promql_expr_test.iter().zip(expr_times) {
        if let Err(e) = check_expr(test, t, start, &env, fuzzy) {
            errs.push(e);
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

fn show_alerts(a: &Firing) -> String {
    let parts: Vec<String> = a
        .iter()
        .enumerate()
        .map(|(i, (l, ann))| {
            let ann: Vec<String> = ann.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            format!(
                "\n            {i}:\n              Labels:{l}\n              Annotations:{{{}}}",
                ann.join(", ")
            )
        })
        .collect();
    format!("[{}]", parts.join(""))
}

fn floats_equal(a: f64, b: f64, fuzzy: bool) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    fuzzy && a.is_sign_negative() == b.is_sign_negative() && a.to_bits().abs_diff(b.to_bits()) <= 1
}

fn check_expr(
    test: &ExprTest,
    t: i64,
    start: i64,
    env: &EvalEnv,
    fuzzy: bool,
) -> Result<(), String> {
    let head = format!("    expr: {:?}, time: {}", test.expr, format_duration(t));
    let fail = |e: String| format!("{head}, err: {e}");
    let expr = promql::parse(&test.expr).map_err(|e| fail(e.to_string()))?;
    let r = env
        .engine
        .instant(env.storage, &expr, start + t)
        .map_err(|e| fail(e.to_string()))?;
    let mut got: Vec<(Labels, SampleValue)> = match r.value {
        Value::Vector(v) => v
            .into_iter()
            .map(|s| match s.h {
                Some(h) => (s.labels, SampleValue::Histogram(h)),
                None => (s.labels, SampleValue::Float(s.v)),
            })
            .collect(),
        Value::Scalar(s) => vec![(Labels::empty(), SampleValue::Float(s.v))],
        _ => return Err(fail("rule result is not a vector or scalar".into())),
    };
    let mut exp: Vec<(Labels, SampleValue, bool)> = Vec::new();
    for s in &test.exp_samples {
        let l = values::parse_metric(&s.labels)
            .map_err(|e| fail(format!("labels {:?}: {e}", s.labels)))?;
        match &s.histogram {
            Some(text) => {
                let (h, hint) = values::parse_expected_histogram(text)
                    .map_err(|e| fail(format!("histogram {text:?}: {e}")))?;
                exp.push((l, SampleValue::Histogram(Arc::new(h)), hint));
            }
            None => exp.push((l, SampleValue::Float(s.value), false)),
        }
    }
    got.sort_by(|a, b| a.0.cmp(&b.0));
    exp.sort_by(|a, b| a.0.cmp(&b.0));
    let same = got.len() == exp.len()
        && got.iter().zip(&exp).all(|(g, e)| {
            g.0 == e.0
                && match (&g.1, &e.1) {
                    (SampleValue::Float(x), SampleValue::Float(y)) => floats_equal(*x, *y, fuzzy),
                    (SampleValue::Histogram(x), SampleValue::Histogram(y)) => {
                        promql::promqltest::histogram_matches(y, e.2, x)
                    }
                    _ => false,
                }
        });
    if same {
        return Ok(());
    }
    let show = |v: &mut dyn Iterator<Item = (&Labels, &SampleValue)>| {
        v.map(|(l, x)| format!("{l} {}", show_value(x)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "{head},\n        exp: {}\n        got: {}",
        show(&mut exp.iter().map(|(l, v, _)| (l, v))),
        show(&mut got.iter().map(|(l, v)| (l, v)))
    ))
}

/// A value as a failure report shows it; histograms in the notation of
/// `exp_samples`.
fn show_value(v: &SampleValue) -> String {
    match v {
        SampleValue::Float(x) => promql::value::FloatDisplay(*x).to_string(),
        SampleValue::Histogram(h) => histogram_literal(h),
    }
}

fn histogram_literal(h: &FloatHistogram) -> String {
    let list = |it: tsdb::model::histogram::IndexedBuckets<'_>| -> String {
        it.map(|(i, c)| format!("{i}:{c}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = format!("{{{{schema:{} count:{} sum:{}", h.schema, h.count, h.sum);
    if h.zero_count != 0.0 || h.zero_threshold != 0.0 {
        s += &format!(" z_bucket:{} z_bucket_w:{}", h.zero_count, h.zero_threshold);
    }
    if !h.positive_buckets.is_empty() {
        s += &format!(" buckets(index:count):[{}]", list(h.positive()));
    }
    if !h.negative_buckets.is_empty() {
        s += &format!(" n_buckets(index:count):[{}]", list(h.negative()));
    }
    if !h.custom_values.is_empty() {
        s += &format!(" custom_values:{:?}", h.custom_values);
    }
    s + "}}"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_floats() {
        assert!(floats_equal(3.0, 3.0000000000000004, true));
        assert!(!floats_equal(3.0, 3.0000000000000004, false));
        assert!(!floats_equal(3.0, 3.0000000000000013, true));
        assert!(floats_equal(f64::NAN, f64::NAN, false));
    }
}
