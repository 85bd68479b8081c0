//! The LogQL syntax tree. `Display` prints the canonical form, which
//! parses back to the same tree.

use std::fmt::{self, Display, Formatter};

use promql::ast::{format_matcher, quote_string};
use tsdb::model::Matcher;

use super::metric::MetricExpr;
use super::pipeline::label_filter::LabelFilter;
use super::pipeline::pattern::Pattern;
use super::pipeline::template::Template;

/// A LogQL query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Log lines: a stream selector and a pipeline.
    Log(LogExpr),
    /// Samples computed from log lines.
    Metric(MetricExpr),
}

/// `{selector} stage*`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogExpr {
    pub matchers: Vec<Matcher>,
    pub pipeline: Vec<Stage>,
}

/// One stage of a log pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Line(LineFilter),
    /// `| json` (every field) or `| json a="path", …`.
    Json(Vec<(String, String)>),
    /// `| logfmt`, with `--strict` (a malformed pair stops the parse with
    /// `__error__`; otherwise it is skipped) and `--keep-empty` (keys
    /// without a value are kept, empty; otherwise dropped); with fields
    /// (`| logfmt a, b="key"`: `(label, key)`), only those keys, renamed.
    Logfmt {
        strict: bool,
        keep_empty: bool,
        fields: Vec<(String, String)>,
    },
    /// `| regexp "(?P<name>…)"`.
    Regexp(String),
    /// `| pattern "<ip> - <_> <status>"`.
    Pattern(Pattern),
    /// `| unpack`: the string fields of a JSON line as labels, `_entry` as
    /// the line.
    Unpack,
    /// `| status >= 400 and level="error"`.
    Labels(LabelFilter),
    LineFormat(Template),
    LabelFormat(Vec<LabelFmt>),
    Drop(Vec<NameOrMatcher>),
    Keep(Vec<NameOrMatcher>),
    Decolorize,
}

/// `dst=src` (rename) or `dst="{{…}}"` (template) in `label_format`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelFmt {
    pub dst: String,
    pub rename: Option<String>,
    pub template: Option<Template>,
}

/// An item of `drop` and `keep`: a label, or a label with a value.
#[derive(Debug, Clone, PartialEq)]
pub enum NameOrMatcher {
    Name(String),
    Matcher(Matcher),
}

/// `|= "a" or "b"`: a line filter with its alternatives.
#[derive(Debug, Clone, PartialEq)]
pub struct LineFilter {
    pub op: LineOp,
    /// At least one. A line passes `|=` and `|~` when any alternative
    /// matches, `!=` and `!~` when none does.
    pub patterns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOp {
    /// `|=`
    Contains,
    /// `!=`
    NotContains,
    /// `|~`
    Match,
    /// `!~`
    NotMatch,
    /// `|>`: the line matches a pattern (`<_>` for any text).
    MatchPattern,
    /// `!>`
    NotMatchPattern,
    /// `|= ip("10.0.0.0/8")`: the line holds an address in the set.
    ContainsIp,
    /// `!= ip("…")`
    NotContainsIp,
}

impl LineOp {
    pub fn as_str(self) -> &'static str {
        match self {
            LineOp::Contains => "|=",
            LineOp::NotContains => "!=",
            LineOp::Match => "|~",
            LineOp::NotMatch => "!~",
            LineOp::MatchPattern => "|>",
            LineOp::NotMatchPattern => "!>",
            LineOp::ContainsIp => "|=",
            LineOp::NotContainsIp => "!=",
        }
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Log(l) => l.fmt(f),
            Expr::Metric(m) => m.fmt(f),
        }
    }
}

impl Display for LogExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let matchers: Vec<String> = self.matchers.iter().map(format_matcher).collect();
        write!(f, "{{{}}}", matchers.join(", "))?;
        for s in &self.pipeline {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Line(l) => l.fmt(f),
            Stage::Json(params) => write!(f, "| json{}", params_text(params)),
            Stage::Logfmt {
                strict,
                keep_empty,
                fields,
            } => {
                f.write_str("| logfmt")?;
                if *strict {
                    f.write_str(" --strict")?;
                }
                if *keep_empty {
                    f.write_str(" --keep-empty")?;
                }
                f.write_str(&params_text(fields))
            }
            Stage::Regexp(p) => write!(f, "| regexp {}", quote_string(p)),
            Stage::Pattern(p) => write!(f, "| pattern {}", quote_string(&p.source)),
            Stage::Unpack => f.write_str("| unpack"),
            Stage::Labels(l) => write!(f, "| {l}"),
            Stage::LineFormat(t) => write!(f, "| line_format {}", quote_string(&t.source)),
            Stage::LabelFormat(fmts) => {
                let fs: Vec<String> = fmts
                    .iter()
                    .map(|l| match (&l.rename, &l.template) {
                        (Some(r), _) => format!("{}={r}", l.dst),
                        (None, Some(t)) => format!("{}={}", l.dst, quote_string(&t.source)),
                        (None, None) => format!("{}={}", l.dst, l.dst),
                    })
                    .collect();
                write!(f, "| label_format {}", fs.join(", "))
            }
            Stage::Drop(items) => write!(f, "| drop {}", items_text(items)),
            Stage::Keep(items) => write!(f, "| keep {}", items_text(items)),
            Stage::Decolorize => f.write_str("| decolorize"),
        }
    }
}

fn items_text(items: &[NameOrMatcher]) -> String {
    items
        .iter()
        .map(|i| match i {
            NameOrMatcher::Name(n) => n.clone(),
            NameOrMatcher::Matcher(m) => format_matcher(m),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Display for LineFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let ip = matches!(self.op, LineOp::ContainsIp | LineOp::NotContainsIp);
        let patterns: Vec<String> = self
            .patterns
            .iter()
            .map(|p| {
                if ip {
                    format!("ip({})", quote_string(p))
                } else {
                    quote_string(p)
                }
            })
            .collect();
        write!(f, "{} {}", self.op.as_str(), patterns.join(" or "))
    }
}

/// ` a, b="source"` (empty for no params): a label named as its source
/// stands alone.
fn params_text(params: &[(String, String)]) -> String {
    let ps: Vec<String> = params
        .iter()
        .map(|(n, p)| {
            if n == p {
                n.clone()
            } else {
                format!("{n}={}", quote_string(p))
            }
        })
        .collect();
    if ps.is_empty() {
        String::new()
    } else {
        format!(" {}", ps.join(", "))
    }
}
