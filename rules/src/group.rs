//! A rule group: its rules evaluated in order at one timestamp, each
//! seeing the output of the ones before; recording rules' results and
//! alerting rules' `ALERTS` series written, series that disappear marked
//! stale, and per-rule health kept. Storage and time come from the caller.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use promql::eval::Engine;
use promql::value::Value;
use tsdb::model::histogram::FloatHistogram;
use tsdb::model::{Labels, LabelsBuilder, METRIC_NAME, Queryable, STALE_NAN};

use super::alert::{Alert, AlertSet, Candidate, Hold};
use super::file::{GroupSpec, RuleExpr, RuleKind, RuleSpec};
use super::template::{AlertData, QueryResult, Template};

/// What a group evaluates against.
pub struct EvalEnv<'a> {
    pub engine: &'a Engine,
    pub storage: &'a dyn Queryable,
    /// Where LogQL rules are evaluated (`None`: they fail, saying so).
    pub logs: Option<&'a dyn LogQueries>,
    pub external_labels: &'a BTreeMap<String, String>,
    pub external_url: &'a str,
}

/// The log store as LogQL rules query it.
pub trait LogQueries: Send + Sync {
    /// The metric query's instant value at `t` (ms).
    fn instant(&self, expr: &logs::logql::MetricExpr, t: i64) -> Result<Value, String>;
}

/// A rule's output value: a float or a native histogram (recording rules
/// over histograms record histograms).
#[derive(Debug, Clone, PartialEq)]
pub enum SampleValue {
    Float(f64),
    Histogram(Arc<FloatHistogram>),
}

impl SampleValue {
    /// The value alerting rules see (`$value`): a histogram sample has no
    /// float value, so 0.
    fn alert_value(&self) -> f64 {
        match self {
            SampleValue::Float(v) => *v,
            SampleValue::Histogram(_) => 0.0,
        }
    }
}

/// Appends samples `(labels, t, value)` and commits them so that the next
/// rule sees them. Returns how many were rejected (out of order,
/// duplicates), or a storage failure.
pub type Writer<'a> = dyn FnMut(&[(Labels, i64, SampleValue)]) -> Result<usize, String> + 'a;

/// A rule's health as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Ok,
    Err,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// One rule with its evaluation state.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule, with the group's labels merged under its own.
    pub spec: RuleSpec,
    label_tmpls: Vec<(String, Template)>,
    annotation_tmpls: Vec<(String, Template)>,
    pub alerts: AlertSet,
    pub health: Health,
    pub last_error: Option<String>,
    /// Wall-clock time of the last evaluation (ms).
    pub last_eval: Option<i64>,
    pub eval_seconds: f64,
    /// Output series of the last successful evaluation.
    prev_series: HashSet<Labels>,
}

impl Rule {
    fn new(mut spec: RuleSpec, group_labels: &BTreeMap<String, String>) -> Rule {
        for (k, v) in group_labels {
            spec.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let tmpl = |m: &BTreeMap<String, String>| -> Vec<(String, Template)> {
            m.iter()
                .filter_map(|(k, v)| {
                    Template::parse(&format!("__alert_{}", spec.name), v)
                        .ok()
                        .map(|t| (k.clone(), t))
                })
                .collect()
        };
        let (label_tmpls, annotation_tmpls) = match spec.kind {
            RuleKind::Alerting => (tmpl(&spec.labels), tmpl(&spec.annotations)),
            RuleKind::Recording => (Vec::new(), Vec::new()),
        };
        Rule {
            label_tmpls,
            annotation_tmpls,
            alerts: AlertSet::default(),
            health: Health::Unknown,
            last_error: None,
            last_eval: None,
            eval_seconds: 0.0,
            prev_series: HashSet::new(),
            spec,
        }
    }

    /// Identity across reloads: kind, name, labels and expression.
    fn key(&self) -> (RuleKind, &str, &BTreeMap<String, String>, &str) {
        (
            self.spec.kind,
            &self.spec.name,
            &self.spec.labels,
            &self.spec.expr_text,
        )
    }

    pub fn hold(&self, limit: usize) -> Hold {
        Hold {
            for_ms: self.spec.for_ms,
            keep_firing_for_ms: self.spec.keep_firing_for_ms,
            limit,
        }
    }
}

/// A group and its rules' state.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub file: String,
    pub interval: i64,
    pub query_offset: i64,
    pub limit: usize,
    pub rules: Vec<Rule>,
    /// Wall-clock time of the last evaluation (ms) and its duration.
    pub last_eval: Option<i64>,
    pub eval_seconds: f64,
}

/// Alerts a group wants sent: (rule expression, alerts).
pub type Outgoing = Vec<(String, Vec<Alert>)>;

impl Group {
    /// A group from its spec; `interval`/`query_offset` fill what the
    /// group does not set.
    pub fn new(spec: &GroupSpec, interval: i64, query_offset: i64) -> Group {
        Group {
            name: spec.name.clone(),
            file: spec.file.clone(),
            interval: spec.interval.unwrap_or(interval).max(1),
            query_offset: spec.query_offset.unwrap_or(query_offset),
            limit: spec.limit,
            rules: spec
                .rules
                .iter()
                .map(|r| Rule::new(r.clone(), &spec.labels))
                .collect(),
            last_eval: None,
            eval_seconds: 0.0,
        }
    }

    /// A stable per-group offset within the interval (FNV-1a of the file
    /// and name), so groups spread over the interval as in Prometheus.
    pub fn offset(&self) -> i64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.file.bytes().chain([0xff]).chain(self.name.bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        (h % self.interval as u64) as i64
    }

    /// The latest evaluation timestamp at or before `now` (ms): evaluations
    /// happen at `k * interval + offset`.
    pub fn eval_timestamp(&self, now: i64) -> i64 {
        let off = self.offset();
        let adj = now - off;
        adj - adj.rem_euclid(self.interval) + off
    }

    /// Takes over the state of the same rules (same kind, name, labels and
    /// expression) from `old`: active alerts, last outputs, health.
    pub fn copy_state(&mut self, old: &Group) {
        self.last_eval = old.last_eval;
        self.eval_seconds = old.eval_seconds;
        let mut used = HashSet::new();
        for r in &mut self.rules {
            let found = old
                .rules
                .iter()
                .enumerate()
                .find(|(i, o)| !used.contains(i) && o.key() == r.key());
            if let Some((i, o)) = found {
                used.insert(i);
                r.alerts = o.alerts.clone();
                r.prev_series = o.prev_series.clone();
                r.health = o.health;
                r.last_error = o.last_error.clone();
                r.last_eval = o.last_eval;
                r.eval_seconds = o.eval_seconds;
            }
        }
    }

    /// Every series the group wrote in its last evaluation (to mark them
    /// stale when the group goes away).
    pub fn last_series(&self) -> Vec<Labels> {
        self.rules
            .iter()
            .flat_map(|r| r.prev_series.iter().cloned())
            .collect()
    }

    /// Marks every rule's alert state as restored (nothing to restore).
    pub fn set_restored(&mut self) {
        for r in &mut self.rules {
            r.alerts.restored = true;
        }
    }

    /// Evaluates every rule at `t` (ms) in order. `wall` is the wall-clock
    /// time recorded as the evaluation time. Returns the alerts due to be
    /// sent, with `resend_ms` as the resend period.
    pub fn eval(
        &mut self,
        t: i64,
        wall: i64,
        resend_ms: i64,
        env: &EvalEnv,
        write: &mut Writer,
    ) -> Outgoing {
        let started = Instant::now();
        let qt = t - self.query_offset;
        let mut out = Vec::new();
        for rule in &mut self.rules {
            let rule_started = Instant::now();
            let result = match rule.spec.kind {
                RuleKind::Recording => eval_recording(rule, qt, self.limit, env),
                RuleKind::Alerting => eval_alerting(rule, t, qt, self.limit, env),
            };
            rule.last_eval = Some(wall);
            match result.and_then(|samples| commit(rule, qt, samples, write)) {
                Ok(()) => {
                    rule.health = Health::Ok;
                    rule.last_error = None;
                }
                Err(e) => {
                    tracing::warn!(group = %self.name, rule = %rule.spec.name, error = %e, "rule evaluation failed");
                    rule.health = Health::Err;
                    rule.last_error = Some(e);
                }
            }
            if rule.spec.kind == RuleKind::Alerting {
                let due = rule.alerts.due(t, resend_ms, self.interval);
                if !due.is_empty() {
                    out.push((rule.spec.expr_text.clone(), due));
                }
            }
            rule.eval_seconds = rule_started.elapsed().as_secs_f64();
        }
        self.last_eval = Some(wall);
        self.eval_seconds = started.elapsed().as_secs_f64();
        out
    }

    /// Restores the `for` state of alerting rules from `ALERTS_FOR_STATE`
    /// series in `[now - outage_tolerance, now]`.
    pub fn restore_for_state(
        &mut self,
        now: i64,
        storage: &dyn Queryable,
        outage_tolerance: i64,
        grace: i64,
    ) {
        for rule in &mut self.rules {
            if rule.spec.kind != RuleKind::Alerting || rule.spec.for_ms < grace {
                rule.alerts.restored = true;
                continue;
            }
            let found = last_for_state(storage, &rule.spec.name, now - outage_tolerance, now);
            rule.alerts
                .restore(now, rule.spec.for_ms, grace, |l| found.get(l).copied());
        }
    }
}

/// The last sample of each `ALERTS_FOR_STATE{alertname=name}` series in
/// `[mint, maxt]`, keyed by the alert's labels (without `__name__`).
fn last_for_state(
    storage: &dyn Queryable,
    name: &str,
    mint: i64,
    maxt: i64,
) -> BTreeMap<Labels, (i64, f64)> {
    let mut out = BTreeMap::new();
    let Ok(q) = storage.querier(mint, maxt) else {
        return out;
    };
    let matchers = [
        tsdb::model::Matcher::equal(METRIC_NAME, "ALERTS_FOR_STATE"),
        tsdb::model::Matcher::equal("alertname", name),
    ];
    let hints = tsdb::model::SelectHints {
        start: mint,
        end: maxt,
        ..Default::default()
    };
    let Ok(series) = q.select(&hints, &matchers) else {
        return out;
    };
    for s in series {
        let mut samples = Vec::new();
        s.samples_in(mint, maxt, &mut samples);
        if let Some(last) = samples.last() {
            out.insert(s.labels.drop_names(&[METRIC_NAME]), (last.t, last.v));
        }
    }
    out
}

/// Writes a rule's samples and stale markers for its vanished series.
fn commit(
    rule: &mut Rule,
    qt: i64,
    samples: Vec<(Labels, SampleValue)>,
    write: &mut Writer,
) -> Result<(), String> {
    let current: HashSet<Labels> = samples.iter().map(|(l, _)| l.clone()).collect();
    let mut batch: Vec<(Labels, i64, SampleValue)> =
        samples.into_iter().map(|(l, v)| (l, qt, v)).collect();
    for gone in rule.prev_series.difference(&current) {
        // The storage stores it as a histogram stale marker where the
        // series holds histograms.
        batch.push((gone.clone(), qt, SampleValue::Float(STALE_NAN)));
    }
    write(&batch)?;
    rule.prev_series = current;
    Ok(())
}

fn query(env: &EvalEnv, expr: &RuleExpr, t: i64) -> Result<Vec<(Labels, SampleValue)>, String> {
    let value = match expr {
        RuleExpr::PromQl(e) => {
            env.engine
                .instant(env.storage, e, t)
                .map_err(|e| e.to_string())?
                .value
        }
        RuleExpr::LogQl(m) => env
            .logs
            .ok_or("LogQL rules need the log store, which this evaluation has not")?
            .instant(m, t)?,
    };
    match value {
        Value::Vector(v) => Ok(v
            .into_iter()
            .map(|s| {
                let v = match s.h {
                    Some(h) => SampleValue::Histogram(h),
                    None => SampleValue::Float(s.v),
                };
                (s.labels, v)
            })
            .collect()),
        Value::Scalar(s) => Ok(vec![(Labels::empty(), SampleValue::Float(s.v))]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

fn eval_recording(
    rule: &Rule,
    qt: i64,
    limit: usize,
    env: &EvalEnv,
) -> Result<Vec<(Labels, SampleValue)>, String> {
    let rows = query(env, &rule.spec.expr, qt)?;
    let mut out = Vec::with_capacity(rows.len());
    let mut seen = HashSet::new();
    for (labels, v) in rows {
        let mut b = builder(&labels);
        b.set(METRIC_NAME, &rule.spec.name);
        for (k, val) in &rule.spec.labels {
            if val.is_empty() {
                b.del(k);
            } else {
                b.set(k, val);
            }
        }
        let l = b.build();
        if !seen.insert(l.clone()) {
            return Err(format!(
                "vector contains metrics with the same labelset after applying rule labels: {l}"
            ));
        }
        out.push((l, v));
    }
    if limit > 0 && out.len() > limit {
        return Err(format!(
            "exceeded limit of {limit} with {} series",
            out.len()
        ));
    }
    Ok(out)
}

fn builder(l: &Labels) -> LabelsBuilder {
    let mut b = LabelsBuilder::new();
    for x in l.iter() {
        b.set(&x.name, &x.value);
    }
    b
}

fn eval_alerting(
    rule: &mut Rule,
    t: i64,
    qt: i64,
    limit: usize,
    env: &EvalEnv,
) -> Result<Vec<(Labels, SampleValue)>, String> {
    let rows = query(env, &rule.spec.expr, qt)?;
    let run_query = |q: &str| -> QueryResult {
        let e = promql::parse(q).map_err(|e| e.to_string())?;
        let rows = query(env, &RuleExpr::PromQl(e), qt)?;
        Ok(rows
            .into_iter()
            .map(|(l, v)| {
                (
                    l.iter()
                        .map(|x| (x.name.to_string(), x.value.to_string()))
                        .collect(),
                    v.alert_value(),
                )
            })
            .collect())
    };
    let ext: BTreeMap<&str, &str> = env
        .external_labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut candidates = Vec::with_capacity(rows.len());
    for (labels, v) in rows {
        let v = v.alert_value();
        let data = AlertData {
            labels: labels.iter().map(|l| (&*l.name, &*l.value)).collect(),
            external_labels: ext.clone(),
            external_url: env.external_url,
            value: v,
        };
        let expand = |t: &Template| {
            t.expand(&data, Some(&run_query))
                .unwrap_or_else(|e| format!("<error expanding template: {e}>"))
        };
        let mut b = builder(&labels);
        b.del(METRIC_NAME);
        for (k, tm) in &rule.label_tmpls {
            let val = expand(tm);
            if val.is_empty() {
                b.del(k);
            } else {
                b.set(k, &val);
            }
        }
        b.set("alertname", &rule.spec.name);
        let annotations = rule
            .annotation_tmpls
            .iter()
            .map(|(k, tm)| (k.clone(), expand(tm)))
            .collect();
        candidates.push(Candidate {
            labels: b.build(),
            annotations,
            value: v,
        });
    }
    let hold = rule.hold(limit);
    let series = rule
        .alerts
        .eval(t, hold, candidates)
        .map_err(|e| e.to_string())?;
    Ok(series
        .into_iter()
        .map(|(l, v)| (l, SampleValue::Float(v)))
        .collect())
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
