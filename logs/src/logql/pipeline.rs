//! A log pipeline compiled once per query and run on each entry: line
//! filters, parsers, label filters, formatting, `drop`/`keep`.
//!
//! - `extract`: the parsers (`json`, `logfmt`, `regexp`, `unpack`);
//! - [`pattern`]: the `pattern` parser;
//! - [`ip`]: `ip("…")` address sets of line and label filters;
//! - [`label_filter`]: label filters and the values they compare;
//! - [`template`]: the `line_format`/`label_format` templates.
//!
//! Contracts, as Loki's:
//! - an entry's labels are its stream's, then its structured metadata,
//!   then what parsers extract; an extracted name already taken by a
//!   stream label gets the suffix `_extracted`;
//! - a line a parser cannot read keeps going with `__error__`
//!   (`JSONParserErr`, `LogfmtParserErr`) and `__error_details__`; a label
//!   filter can drop it (`| __error__ = ""`) or `drop __error__` remove it;
//! - a pipeline of line filters only never builds labels.

pub mod extract;
pub mod ip;
pub mod label_filter;
pub mod pattern;
pub mod template;

use memchr::memmem::Finder;
use regex::Regex;
use tsdb::model::Labels;

use super::ast::{LabelFmt, LineOp, NameOrMatcher, Stage};
use crate::model::{Entry, Hit};
use extract::{PathStep, json_all, json_paths, logfmt, parse_path, sanitize};
use label_filter::{LabelFilter, Verdict};
use template::Template;

pub const ERROR: &str = "__error__";
pub const ERROR_DETAILS: &str = "__error_details__";

/// Where a label of an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stream,
    Metadata,
    Parsed,
}

/// A compiled pipeline.
pub struct Pipeline {
    stages: Vec<Compiled>,
    line_only: bool,
}

enum Compiled {
    Contains {
        any: Vec<Finder<'static>>,
        negate: bool,
    },
    Match {
        any: Vec<Regex>,
        negate: bool,
    },
    LinePattern {
        any: Vec<pattern::Pattern>,
        negate: bool,
    },
    LineIp {
        any: Vec<ip::IpFilter>,
        negate: bool,
    },
    Json(Vec<(String, Vec<PathStep>)>),
    Logfmt {
        strict: bool,
        keep_empty: bool,
        /// `(label, sanitized key)`; empty for every key.
        fields: Vec<(String, String)>,
    },
    Regexp(Regex),
    Pattern(pattern::Pattern),
    Unpack,
    Labels(LabelFilter),
    LineFormat(Template),
    LabelFormat(Vec<(String, FmtSource)>),
    Drop(Vec<NameOrMatcher>),
    Keep(Vec<NameOrMatcher>),
    Decolorize(Regex),
}

enum FmtSource {
    Rename(String),
    Template(Template),
}

/// An entry on its way through the pipeline.
struct Work {
    line: String,
    labels: Vec<(String, String, Kind)>,
}

impl Work {
    fn get(&self, name: &str) -> &str {
        self.labels
            .iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map_or("", |(_, v, _)| v.as_str())
    }

    fn set(&mut self, name: String, value: String, kind: Kind) {
        match self.labels.iter_mut().find(|(n, _, _)| *n == name) {
            Some(l) => {
                l.1 = value;
                l.2 = kind;
            }
            None => self.labels.push((name, value, kind)),
        }
    }

    /// Adds what a parser extracted: a name a stream label holds gets
    /// `_extracted`.
    fn extracted(&mut self, pairs: Vec<(String, String)>) {
        for (n, v) in pairs {
            let taken = self
                .labels
                .iter()
                .any(|(x, _, k)| *x == n && *k == Kind::Stream);
            let name = if taken { format!("{n}_extracted") } else { n };
            self.set(name, v, Kind::Parsed);
        }
    }

    fn error(&mut self, kind: &str, details: String) {
        if self.get(ERROR).is_empty() {
            self.set(ERROR.into(), kind.into(), Kind::Parsed);
            self.set(ERROR_DETAILS.into(), details, Kind::Parsed);
        }
    }
}

impl Compiled {
    fn is_line_filter(&self) -> bool {
        matches!(
            self,
            Compiled::Contains { .. }
                | Compiled::Match { .. }
                | Compiled::LinePattern { .. }
                | Compiled::LineIp { .. }
        )
    }
}

impl Pipeline {
    pub fn new(stages: &[Stage]) -> Result<Pipeline, String> {
        let compiled = stages.iter().map(compile).collect::<Result<Vec<_>, _>>()?;
        let line_only = compiled.iter().all(|c| c.is_line_filter());
        Ok(Pipeline {
            stages: compiled,
            line_only,
        })
    }

    /// Whether the pipeline only filters lines (labels untouched).
    pub fn line_only(&self) -> bool {
        self.line_only
    }

    /// For a pipeline of line filters only, whether it keeps `line`
    /// (labels untouched); `None` for any other pipeline.
    pub fn keeps_line(&self, line: &str) -> Option<bool> {
        self.line_only
            .then(|| self.stages.iter().all(|s| line_passes(s, line)))
    }

    /// Whether `line` passes the line filters the pipeline starts with: a
    /// line that does not is dropped whatever stages follow.
    pub fn leading_lines_pass(&self, line: &str) -> bool {
        self.leading_lines().all(|s| line_passes(s, line))
    }

    /// Strings every line the pipeline keeps contains, as given (from its
    /// leading `|=` filters of one string each, and the literals of its
    /// leading `|>` filters of one pattern each).
    pub fn required(&self) -> impl Iterator<Item = &[u8]> {
        self.leading_lines().flat_map(|s| -> Vec<&[u8]> {
            match s {
                Compiled::Contains { any, negate: false } if any.len() == 1 => {
                    vec![any[0].needle()]
                }
                Compiled::LinePattern { any, negate: false } if any.len() == 1 => {
                    any[0].literals().map(str::as_bytes).collect()
                }
                _ => Vec::new(),
            }
        })
    }

    fn leading_lines(&self) -> impl Iterator<Item = &Compiled> {
        self.stages.iter().take_while(|c| c.is_line_filter())
    }

    /// Runs the pipeline on one entry of the stream with `stream` labels:
    /// `None` when a stage drops it.
    pub fn run(&self, stream: &Labels, e: &Entry) -> Option<Hit> {
        if self.line_only {
            if !self.stages.iter().all(|s| line_passes(s, &e.line)) {
                return None;
            }
            return Some(Hit::plain(stream, e));
        }
        let mut w = Work {
            line: e.line.clone(),
            labels: stream
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string(), Kind::Stream))
                .chain(
                    e.metadata
                        .iter()
                        .map(|(n, v)| (n.clone(), v.clone(), Kind::Metadata)),
                )
                .collect(),
        };
        for s in &self.stages {
            if !apply(s, &mut w, e.ts) {
                return None;
            }
        }
        let pick = |kind: Kind| -> Vec<(String, String)> {
            w.labels
                .iter()
                .filter(|(_, v, k)| *k == kind && !v.is_empty())
                .map(|(n, v, _)| (n.clone(), v.clone()))
                .collect()
        };
        let stream_pairs = pick(Kind::Stream);
        Some(Hit {
            ts: e.ts,
            stream: if stream_pairs.len() == stream.len() {
                stream.clone()
            } else {
                Labels::from_pairs(&stream_pairs)
            },
            metadata: pick(Kind::Metadata),
            parsed: pick(Kind::Parsed),
            line: w.line,
        })
    }
}

fn line_passes(s: &Compiled, line: &str) -> bool {
    match s {
        Compiled::Contains { any, negate } => {
            any.iter().any(|p| p.find(line.as_bytes()).is_some()) != *negate
        }
        Compiled::Match { any, negate } => any.iter().any(|r| r.is_match(line)) != *negate,
        Compiled::LinePattern { any, negate } => any.iter().any(|p| p.matches(line)) != *negate,
        Compiled::LineIp { any, negate } => any.iter().any(|p| p.matches_line(line)) != *negate,
        _ => true,
    }
}

/// The pairs `fields` name (`(label, key)`), under their labels: the first
/// value of each key, as Loki keeps it.
fn pick(pairs: Vec<(String, String)>, fields: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(fields.len());
    for (label, key) in fields {
        if let Some((_, v)) = pairs.iter().find(|(k, _)| k == key) {
            out.push((label.clone(), v.clone()));
        }
    }
    out
}

/// Applies one stage; `false` drops the entry.
fn apply(s: &Compiled, w: &mut Work, ts: i64) -> bool {
    match s {
        Compiled::Contains { .. }
        | Compiled::Match { .. }
        | Compiled::LinePattern { .. }
        | Compiled::LineIp { .. } => line_passes(s, &w.line),
        Compiled::Json(paths) => {
            let got = if paths.is_empty() {
                json_all(&w.line)
            } else {
                json_paths(&w.line, paths)
            };
            match got {
                Ok(pairs) => w.extracted(pairs),
                Err(e) => w.error("JSONParserErr", e),
            }
            true
        }
        Compiled::Logfmt {
            strict,
            keep_empty,
            fields,
        } => {
            match logfmt(&w.line, *strict, *keep_empty) {
                Ok(pairs) if fields.is_empty() => w.extracted(pairs),
                Ok(pairs) => w.extracted(pick(pairs, fields)),
                Err(e) => w.error("LogfmtParserErr", e),
            }
            true
        }
        Compiled::Regexp(re) => {
            if let Some(c) = re.captures(&w.line) {
                let pairs = re
                    .capture_names()
                    .flatten()
                    .filter_map(|n| c.name(n).map(|m| (sanitize(n), m.as_str().to_string())))
                    .collect();
                w.extracted(pairs);
            }
            true
        }
        Compiled::Pattern(p) => {
            let pairs = p.extract(&w.line);
            w.extracted(pairs);
            true
        }
        Compiled::Unpack => {
            match extract::unpack(&w.line) {
                Ok((pairs, entry)) => {
                    w.extracted(pairs);
                    if let Some(line) = entry {
                        w.line = line;
                    }
                }
                Err(e) => w.error("JSONParserErr", e),
            }
            true
        }
        Compiled::Labels(f) => {
            let verdict = f.eval(&|n| w.get(n));
            match verdict {
                Verdict::Keep => true,
                Verdict::Drop => false,
                Verdict::Error => {
                    w.error(
                        "LabelFilterErr",
                        format!("label filter {f}: a value does not convert"),
                    );
                    true
                }
            }
        }
        Compiled::LineFormat(t) => {
            match t.render(&|n| w.get(n).to_string(), &w.line, ts) {
                Ok(line) => w.line = line,
                Err(e) => w.error("TemplateFormatErr", e),
            }
            true
        }
        Compiled::LabelFormat(fmts) => {
            for (dst, src) in fmts {
                let v = match src {
                    FmtSource::Rename(from) => {
                        let v = w.get(from).to_string();
                        w.labels.retain(|(n, _, _)| n != from);
                        v
                    }
                    FmtSource::Template(t) => {
                        match t.render(&|n| w.get(n).to_string(), &w.line, ts) {
                            Ok(v) => v,
                            Err(e) => {
                                w.error("TemplateFormatErr", e);
                                continue;
                            }
                        }
                    }
                };
                w.set(dst.clone(), v, Kind::Parsed);
            }
            true
        }
        Compiled::Drop(items) => {
            w.labels
                .retain(|(n, v, _)| !items.iter().any(|i| selects(i, n, v)));
            true
        }
        Compiled::Keep(items) => {
            w.labels
                .retain(|(n, v, _)| items.iter().any(|i| selects(i, n, v)));
            true
        }
        Compiled::Decolorize(re) => {
            w.line = re.replace_all(&w.line, "").into_owned();
            true
        }
    }
}

fn selects(i: &NameOrMatcher, name: &str, value: &str) -> bool {
    match i {
        NameOrMatcher::Name(n) => n == name,
        NameOrMatcher::Matcher(m) => m.name == name && m.matches(value),
    }
}

fn compile(s: &Stage) -> Result<Compiled, String> {
    Ok(match s {
        Stage::Line(f) => {
            let negate = matches!(
                f.op,
                LineOp::NotContains
                    | LineOp::NotMatch
                    | LineOp::NotMatchPattern
                    | LineOp::NotContainsIp
            );
            match f.op {
                LineOp::Contains | LineOp::NotContains => Compiled::Contains {
                    any: f
                        .patterns
                        .iter()
                        .map(|p| Finder::new(p.as_bytes()).into_owned())
                        .collect(),
                    negate,
                },
                LineOp::Match | LineOp::NotMatch => Compiled::Match {
                    any: f
                        .patterns
                        .iter()
                        .map(|p| regex(p))
                        .collect::<Result<_, _>>()?,
                    negate,
                },
                LineOp::ContainsIp | LineOp::NotContainsIp => Compiled::LineIp {
                    any: f
                        .patterns
                        .iter()
                        .map(|p| ip::IpFilter::parse(p))
                        .collect::<Result<_, _>>()?,
                    negate,
                },
                LineOp::MatchPattern | LineOp::NotMatchPattern => Compiled::LinePattern {
                    any: f
                        .patterns
                        .iter()
                        .map(|p| pattern::Pattern::parse_filter(p))
                        .collect::<Result<_, _>>()?,
                    negate,
                },
            }
        }
        Stage::Json(params) => Compiled::Json(
            params
                .iter()
                .map(|(n, p)| parse_path(p).map(|steps| (n.clone(), steps)))
                .collect::<Result<_, _>>()?,
        ),
        Stage::Logfmt {
            strict,
            keep_empty,
            fields,
        } => Compiled::Logfmt {
            strict: *strict,
            keep_empty: *keep_empty,
            fields: fields
                .iter()
                .map(|(label, key)| (label.clone(), sanitize(key)))
                .collect(),
        },
        Stage::Regexp(p) => {
            let re = regex(p)?;
            if re.capture_names().flatten().next().is_none() {
                return Err(format!("regexp {p:?} has no named capture group"));
            }
            Compiled::Regexp(re)
        }
        Stage::Pattern(p) => Compiled::Pattern(p.clone()),
        Stage::Unpack => Compiled::Unpack,
        Stage::Labels(f) => Compiled::Labels(f.clone()),
        Stage::LineFormat(t) => Compiled::LineFormat(t.clone()),
        Stage::LabelFormat(fmts) => Compiled::LabelFormat(
            fmts.iter()
                .map(
                    |LabelFmt {
                         dst,
                         rename,
                         template,
                     }| {
                        let src = match (rename, template) {
                            (Some(r), _) => FmtSource::Rename(r.clone()),
                            (None, Some(t)) => FmtSource::Template(t.clone()),
                            (None, None) => FmtSource::Rename(dst.clone()),
                        };
                        (dst.clone(), src)
                    },
                )
                .collect(),
        ),
        Stage::Drop(items) => Compiled::Drop(items.clone()),
        Stage::Keep(items) => Compiled::Keep(items.clone()),
        Stage::Decolorize => Compiled::Decolorize(regex("\x1b\\[[0-9;]*m")?),
    })
}

fn regex(p: &str) -> Result<Regex, String> {
    Regex::new(p).map_err(|e| format!("invalid regular expression {p:?}: {e}"))
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
