//! Rule files in Prometheus's format: parsing, validation (every error
//! names the file, line, group and rule) and the duplicate-rule lint of
//! `promtool check rules`.

use std::collections::{BTreeMap, HashSet};

use promql::ast::Expr;
use serde::Deserialize;

use super::template::Template;
use super::yamlpos::{self, PosNode};
use crate::error::{RuleError, RuleLocation};
use promql::syntax::parse_duration;

/// A loaded, valid rule file.
#[derive(Debug, Clone)]
pub struct RuleFile {
    pub path: String,
    pub groups: Vec<GroupSpec>,
}

/// One group as written in a file.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub name: String,
    pub file: String,
    pub line: usize,
    /// Evaluation interval in ms; `None` = the global one.
    pub interval: Option<i64>,
    /// Evaluate this far in the past (ms); `None` = the global default.
    pub query_offset: Option<i64>,
    /// Most series one rule may return (0 = no limit).
    pub limit: usize,
    /// Labels added to every rule's output.
    pub labels: BTreeMap<String, String>,
    pub rules: Vec<RuleSpec>,
}

/// Recording or alerting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Recording,
    Alerting,
}

/// What a rule file's expressions are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    PromQl,
    /// Loki's ruler format: metric queries over the log store.
    LogQl,
}

/// A rule's parsed expression.
#[derive(Debug, Clone)]
pub enum RuleExpr {
    PromQl(Expr),
    LogQl(logs::logql::MetricExpr),
}

/// One rule as written in a file, with its expression parsed.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub kind: RuleKind,
    /// The `record` or `alert` name.
    pub name: String,
    pub expr_text: String,
    pub expr: RuleExpr,
    /// `for` in ms (alerting only).
    pub for_ms: i64,
    /// `keep_firing_for` in ms (alerting only).
    pub keep_firing_for_ms: i64,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub line: usize,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default)]
    name: String,
    interval: Option<String>,
    query_offset: Option<String>,
    #[serde(default)]
    limit: i64,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRule {
    record: Option<String>,
    alert: Option<String>,
    expr: Option<String>,
    #[serde(rename = "for")]
    for_: Option<String>,
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

const GROUP_KEYS: &[&str] = &[
    "name",
    "interval",
    "query_offset",
    "limit",
    "labels",
    "rules",
];
const RULE_KEYS: &[&str] = &[
    "record",
    "alert",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
];

/// Reads and validates the rule file at `path`.
pub fn load(path: &str, ignore_unknown_fields: bool) -> Result<RuleFile, Vec<RuleError>> {
    load_as(path, ignore_unknown_fields, Language::PromQl)
}

/// [`load`] for a file whose expressions are in `lang`.
pub fn load_as(
    path: &str,
    ignore_unknown_fields: bool,
    lang: Language,
) -> Result<RuleFile, Vec<RuleError>> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        vec![RuleError::Read {
            file: path.to_string(),
            source,
        }]
    })?;
    parse_as(path, &text, ignore_unknown_fields, lang)
}

/// Parses and validates rule-file text; `path` is used in messages. All
/// validation errors are returned, not only the first.
pub fn parse(
    path: &str,
    text: &str,
    ignore_unknown_fields: bool,
) -> Result<RuleFile, Vec<RuleError>> {
    parse_as(path, text, ignore_unknown_fields, Language::PromQl)
}

/// [`parse`] for a file whose expressions are in `lang`.
pub fn parse_as(
    path: &str,
    text: &str,
    ignore_unknown_fields: bool,
    lang: Language,
) -> Result<RuleFile, Vec<RuleError>> {
    let raw = decode(path, text, ignore_unknown_fields).map_err(|e| vec![e])?;
    let pos = yamlpos::scan(text);
    let gpos = pos.key("groups");
    let mut errors = Vec::new();
    let mut groups = Vec::new();
    let mut names = HashSet::new();
    for (gi, g) in raw.groups.into_iter().enumerate() {
        let gp = gpos.and_then(|p| p.item(gi));
        let at = |line: Option<usize>, rule: Option<(usize, String)>| RuleLocation {
            file: path.to_string(),
            line: line.or(gp.map(|p| p.line)).unwrap_or(0),
            group: Some(g.name.clone()),
            rule,
        };
        let mut bad = |line: Option<usize>, rule: Option<(usize, String)>, msg: String| {
            errors.push(RuleError::Invalid {
                at: at(line, rule),
                msg,
            })
        };
        if g.name.is_empty() {
            bad(None, None, "Groupname must not be empty".into());
        } else if !names.insert(g.name.clone()) {
            bad(
                None,
                None,
                format!("groupname: {:?} is repeated in the same file", g.name),
            );
        }
        let line_of = |k: &str| gp.and_then(|p| p.value_pos(k)).map(|(l, _)| l);
        let interval = duration_field(g.interval.as_deref(), "interval", |m| {
            bad(line_of("interval"), None, m)
        });
        let query_offset = duration_field(g.query_offset.as_deref(), "query_offset", |m| {
            bad(line_of("query_offset"), None, m)
        });
        if g.limit < 0 {
            bad(
                line_of("limit"),
                None,
                format!("limit must not be negative, got {}", g.limit),
            );
        }
        for k in g.labels.keys() {
            if let Some(m) = check_label_name(k) {
                bad(line_of("labels"), None, m);
            }
        }
        let rpos = gp.and_then(|p| p.key("rules"));
        let mut rules = Vec::new();
        for (ri, r) in g.rules.into_iter().enumerate() {
            let rp = rpos.and_then(|p| p.item(ri));
            let name = r.record.clone().or(r.alert.clone()).unwrap_or_default();
            let rule_at = Some((ri + 1, name.clone()));
            match check_rule(r, rp, lang) {
                Ok(spec) => rules.push(spec),
                Err(errs) => {
                    for (line, msg) in errs {
                        bad(line.or(rp.map(|p| p.line)), rule_at.clone(), msg);
                    }
                }
            }
        }
        groups.push(GroupSpec {
            name: g.name,
            file: path.to_string(),
            line: gp.map_or(0, |p| p.line),
            interval: interval.filter(|&i| i > 0),
            query_offset,
            limit: g.limit.max(0) as usize,
            labels: g.labels,
            rules,
        });
    }
    if errors.is_empty() {
        Ok(RuleFile {
            path: path.to_string(),
            groups,
        })
    } else {
        Err(errors)
    }
}

/// YAML → raw structs; syntax and type errors carry YAML's position.
fn decode(path: &str, text: &str, ignore_unknown: bool) -> Result<RawFile, RuleError> {
    let yaml_err = |e: serde_yaml_ng::Error| {
        let (line, col) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        let msg = e.to_string();
        let msg = msg
            .rsplit_once(" at line ")
            .map_or(msg.as_str(), |(m, _)| m)
            .to_string();
        RuleError::Yaml {
            file: path.to_string(),
            line,
            col,
            msg,
        }
    };
    if text.trim().is_empty() {
        return Ok(RawFile::default());
    }
    if !ignore_unknown {
        let f: Option<RawFile> = serde_yaml_ng::from_str(text).map_err(yaml_err)?;
        return Ok(f.unwrap_or_default());
    }
    let mut v: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(yaml_err)?;
    if let Some(groups) = v.get_mut("groups").and_then(|g| g.as_sequence_mut()) {
        for g in groups {
            retain_keys(g, GROUP_KEYS);
            if let Some(rules) = g.get_mut("rules").and_then(|r| r.as_sequence_mut()) {
                rules.iter_mut().for_each(|r| retain_keys(r, RULE_KEYS));
            }
        }
    }
    if let Some(m) = v.as_mapping_mut() {
        m.retain(|k, _| k.as_str() == Some("groups"));
    }
    // Through text again: scalars such as `expr: 1` read as strings only
    // from text, not from a `Value`.
    let text = serde_yaml_ng::to_string(&v).map_err(yaml_err)?;
    let f: Option<RawFile> = serde_yaml_ng::from_str(&text).map_err(yaml_err)?;
    Ok(f.unwrap_or_default())
}

fn retain_keys(v: &mut serde_yaml_ng::Value, keys: &[&str]) {
    if let Some(m) = v.as_mapping_mut() {
        m.retain(|k, _| k.as_str().is_some_and(|k| keys.contains(&k)));
    }
}

fn duration_field(v: Option<&str>, field: &str, mut bad: impl FnMut(String)) -> Option<i64> {
    let v = v?;
    match parse_duration(v) {
        Ok(d) => Some(d),
        Err(_) => {
            bad(format!("{field}: not a valid duration string: {v:?}"));
            None
        }
    }
}

/// Prometheus 3 accepts any UTF-8 label name except the empty one; the
/// metric name cannot be set through rule labels.
fn check_label_name(name: &str) -> Option<String> {
    (name.is_empty() || name == tsdb::model::METRIC_NAME)
        .then(|| format!("invalid label name: {name:?}"))
}

type LineMsg = (Option<usize>, String);

fn check_rule(r: RawRule, rp: Option<&PosNode>, lang: Language) -> Result<RuleSpec, Vec<LineMsg>> {
    let mut errs: Vec<LineMsg> = Vec::new();
    let line_of = |k: &str| rp.and_then(|p| p.value_pos(k)).map(|(l, _)| l);
    let (kind, name) = match (&r.record, &r.alert) {
        (Some(_), Some(_)) => {
            errs.push((None, "only one of 'record' and 'alert' must be set".into()));
            return Err(errs);
        }
        (None, None) => {
            errs.push((None, "one of 'record' or 'alert' must be set".into()));
            return Err(errs);
        }
        (Some(n), None) => (RuleKind::Recording, n.clone()),
        (None, Some(n)) => (RuleKind::Alerting, n.clone()),
    };
    if name.is_empty() {
        let what = match kind {
            RuleKind::Recording => "recording rule name",
            RuleKind::Alerting => "alert name",
        };
        errs.push((None, format!("invalid {what}: must not be empty")));
    }
    let expr_text = r.expr.clone().unwrap_or_default();
    let expr = if expr_text.trim().is_empty() {
        errs.push((None, "field 'expr' must be set in rule".into()));
        None
    } else {
        match lang {
            Language::PromQl => match promql::parse(&expr_text) {
                Ok(e) => Some(RuleExpr::PromQl(e)),
                Err(e) => {
                    let line = match (&e, rp.and_then(|p| p.value_pos("expr"))) {
                        // A block scalar (`|`, `>`) starts on the next line.
                        (promql::Error::Parse { pos, .. }, Some((l, _))) if is_block(&r) => {
                            Some(l + pos.line)
                        }
                        (promql::Error::Parse { pos, .. }, Some((l, _))) => Some(l + pos.line - 1),
                        _ => line_of("expr"),
                    };
                    errs.push((line, format!("could not parse expression: {e}")));
                    None
                }
            },
            Language::LogQl => match logs::logql::parse(&expr_text) {
                Ok(logs::logql::Expr::Metric(m)) => Some(RuleExpr::LogQl(m)),
                Ok(logs::logql::Expr::Log(_)) => {
                    errs.push((
                        line_of("expr"),
                        "a log query is not a rule expression: use a metric query such as count_over_time(…)".into(),
                    ));
                    None
                }
                Err(e) => {
                    let line = match rp.and_then(|p| p.value_pos("expr")) {
                        Some((l, _)) if is_block(&r) => Some(l + e.line),
                        Some((l, _)) => Some(l + e.line - 1),
                        None => line_of("expr"),
                    };
                    errs.push((line, format!("could not parse expression: {e}")));
                    None
                }
            },
        }
    };
    let mut dur = |v: &Option<String>, field: &str| -> i64 {
        let Some(s) = v else { return 0 };
        parse_duration(s).unwrap_or_else(|_| {
            errs.push((
                line_of(field),
                format!("{field}: not a valid duration string: {s:?}"),
            ));
            0
        })
    };
    let for_ms = dur(&r.for_, "for");
    let keep_firing_for_ms = dur(&r.keep_firing_for, "keep_firing_for");
    if kind == RuleKind::Recording {
        for (set, field) in [
            (r.for_.is_some(), "for"),
            (r.keep_firing_for.is_some(), "keep_firing_for"),
            (!r.annotations.is_empty(), "annotations"),
        ] {
            if set {
                errs.push((
                    line_of(field),
                    format!("invalid field '{field}' in recording rule"),
                ));
            }
        }
    }
    for (k, v) in &r.labels {
        if let Some(m) = check_label_name(k) {
            errs.push((line_of("labels"), m));
        }
        if let (RuleKind::Alerting, Err(e)) = (kind, Template::parse(&format!("__alert_{name}"), v))
        {
            errs.push((line_of("labels"), format!("label {k:?}: {e}")));
        }
    }
    for (k, v) in &r.annotations {
        if k.is_empty() {
            errs.push((
                line_of("annotations"),
                "invalid annotation name: \"\"".into(),
            ));
        }
        if let Err(e) = Template::parse(&format!("__alert_{name}"), v) {
            errs.push((line_of("annotations"), format!("annotation {k:?}: {e}")));
        }
    }
    match expr {
        Some(expr) if errs.is_empty() => Ok(RuleSpec {
            kind,
            name,
            expr_text,
            expr,
            for_ms,
            keep_firing_for_ms,
            labels: r.labels,
            annotations: r.annotations,
            line: rp.map_or(0, |p| p.line),
        }),
        _ => Err(errs),
    }
}

/// Whether `expr` was written as a block scalar (`|`/`>`), whose value
/// starts on the line after the key.
fn is_block(r: &RawRule) -> bool {
    r.expr.as_deref().is_some_and(|e| e.ends_with('\n'))
}

/// One finding of the duplicate-rule lint: the same name and labels more
/// than once in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicate {
    pub at: RuleLocation,
    pub name: String,
}

/// Rules of a file sharing their name and labels with an earlier rule
/// (promtool's `duplicate-rules` lint), each reported once.
pub fn duplicates(file: &RuleFile) -> Vec<Duplicate> {
    let mut seen: HashSet<(String, Vec<(String, String)>)> = HashSet::new();
    let mut reported = HashSet::new();
    let mut out = Vec::new();
    for g in &file.groups {
        for (i, r) in g.rules.iter().enumerate() {
            let key = (
                r.name.clone(),
                r.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            );
            if !seen.insert(key.clone()) && reported.insert(key) {
                out.push(Duplicate {
                    at: RuleLocation {
                        file: file.path.clone(),
                        line: r.line,
                        group: Some(g.name.clone()),
                        rule: Some((i + 1, r.name.clone())),
                    },
                    name: r.name.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
