//! The LogQL syntax tree. `Display` prints the canonical form, which
//! parses back to the same tree.

use std::fmt::{self, Display, Formatter};

use promql::ast::{format_matcher, quote_string};
use tsdb::model::Matcher;

use super::metric::MetricExpr;

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
}

impl LineOp {
    pub fn as_str(self) -> &'static str {
        match self {
            LineOp::Contains => "|=",
            LineOp::NotContains => "!=",
            LineOp::Match => "|~",
            LineOp::NotMatch => "!~",
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
        }
    }
}

impl Display for LineFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let patterns: Vec<String> = self.patterns.iter().map(|p| quote_string(p)).collect();
        write!(f, "{} {}", self.op.as_str(), patterns.join(" or "))
    }
}
