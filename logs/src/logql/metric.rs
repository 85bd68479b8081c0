//! Metric queries: range aggregations over log queries, and the PromQL-
//! shaped rest (aggregations, binary operators, literals, `vector()`).
//!
//! Only the range aggregations are the log store's own work. The rest is
//! PromQL's: [`MetricExpr::to_promql`] prints the query as PromQL with
//! each range aggregation replaced by a placeholder selector
//! (`__logql_0__`, `__logql_1__`, …), which the evaluator serves from the
//! log store, so aggregation, vector matching and the step grid are the
//! PromQL engine's, not written twice.

use std::fmt::{self, Display, Formatter, Write};

use promql::ast::{format_float, quote_string};
use promql::syntax::format_duration;

use super::ast::LogExpr;

/// A metric query.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricExpr {
    Range(RangeAgg),
    Aggregate(Aggregate),
    Binary(Box<Binary>),
    Number(f64),
    /// `vector(n)`.
    Vector(f64),
    Paren(Box<MetricExpr>),
    /// `label_replace(expr, "dst", "replacement", "src", "regex")`.
    LabelReplace(Box<MetricExpr>, [String; 4]),
}

/// `count_over_time({…} |= "x" [5m] offset 1m)`, or over unwrapped
/// values: `quantile_over_time(0.99, {…} | unwrap duration(took) [5m]) by (path)`.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeAgg {
    pub op: RangeOp,
    pub log: LogExpr,
    pub unwrap: Option<Unwrap>,
    /// φ of `quantile_over_time`.
    pub param: Option<f64>,
    /// Milliseconds.
    pub range: i64,
    pub offset: i64,
    /// `by`/`without` after the call (unwrapped aggregations only): the
    /// window holds the samples of every series of a group.
    pub grouping: Option<Grouping>,
}

/// `| unwrap [conv(]label[)]`, then label filters on the samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Unwrap {
    pub label: String,
    pub conv: Conv,
    pub post: Vec<super::ast::Stage>,
}

/// How an unwrapped label reads as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    Number,
    /// Go durations (`1.5s`), in seconds.
    Duration,
    /// Byte sizes (`10KB`), in bytes.
    Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    CountOverTime,
    Rate,
    BytesOverTime,
    BytesRate,
    AbsentOverTime,
    SumOverTime,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    StddevOverTime,
    StdvarOverTime,
    QuantileOverTime,
    FirstOverTime,
    LastOverTime,
    /// The per-second rate of unwrapped counter values (resets counted,
    /// extrapolated as Prometheus's `rate` was before 3.0, as Loki does).
    RateCounter,
}

impl RangeOp {
    pub const ALL: [RangeOp; 15] = [
        RangeOp::CountOverTime,
        RangeOp::Rate,
        RangeOp::BytesOverTime,
        RangeOp::BytesRate,
        RangeOp::AbsentOverTime,
        RangeOp::SumOverTime,
        RangeOp::AvgOverTime,
        RangeOp::MinOverTime,
        RangeOp::MaxOverTime,
        RangeOp::StddevOverTime,
        RangeOp::StdvarOverTime,
        RangeOp::QuantileOverTime,
        RangeOp::FirstOverTime,
        RangeOp::LastOverTime,
        RangeOp::RateCounter,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RangeOp::CountOverTime => "count_over_time",
            RangeOp::Rate => "rate",
            RangeOp::BytesOverTime => "bytes_over_time",
            RangeOp::BytesRate => "bytes_rate",
            RangeOp::AbsentOverTime => "absent_over_time",
            RangeOp::SumOverTime => "sum_over_time",
            RangeOp::AvgOverTime => "avg_over_time",
            RangeOp::MinOverTime => "min_over_time",
            RangeOp::MaxOverTime => "max_over_time",
            RangeOp::StddevOverTime => "stddev_over_time",
            RangeOp::StdvarOverTime => "stdvar_over_time",
            RangeOp::QuantileOverTime => "quantile_over_time",
            RangeOp::FirstOverTime => "first_over_time",
            RangeOp::LastOverTime => "last_over_time",
            RangeOp::RateCounter => "rate_counter",
        }
    }

    /// Whether the operator reads unwrapped values (`Some(true)`), log
    /// lines (`Some(false)`), or either (`None`: `rate`).
    pub fn unwrapped(self) -> Option<bool> {
        match self {
            RangeOp::Rate => None,
            RangeOp::CountOverTime
            | RangeOp::BytesOverTime
            | RangeOp::BytesRate
            | RangeOp::AbsentOverTime => Some(false),
            _ => Some(true),
        }
    }
}

/// `sum by (app) (…)`, `topk(3, …)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub op: AggOp,
    /// `k` of `topk` and `bottomk`.
    pub param: Option<f64>,
    pub grouping: Option<Grouping>,
    pub expr: Box<MetricExpr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    Sort,
    SortDesc,
}

impl AggOp {
    pub const ALL: [AggOp; 11] = [
        AggOp::Sum,
        AggOp::Avg,
        AggOp::Min,
        AggOp::Max,
        AggOp::Count,
        AggOp::Stddev,
        AggOp::Stdvar,
        AggOp::Topk,
        AggOp::Bottomk,
        AggOp::Sort,
        AggOp::SortDesc,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AggOp::Sum => "sum",
            AggOp::Avg => "avg",
            AggOp::Min => "min",
            AggOp::Max => "max",
            AggOp::Count => "count",
            AggOp::Stddev => "stddev",
            AggOp::Stdvar => "stdvar",
            AggOp::Topk => "topk",
            AggOp::Bottomk => "bottomk",
            AggOp::Sort => "sort",
            AggOp::SortDesc => "sort_desc",
        }
    }

    /// Whether the operator takes `k` before the expression.
    pub fn takes_param(self) -> bool {
        matches!(self, AggOp::Topk | AggOp::Bottomk)
    }

    /// `sort` and `sort_desc` are functions in PromQL: no grouping.
    pub fn is_sort(self) -> bool {
        matches!(self, AggOp::Sort | AggOp::SortDesc)
    }
}

/// `by (a, b)` or `without (a)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    pub without: bool,
    pub labels: Vec<String>,
}

/// `lhs op [bool] [on|ignoring (…)] rhs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    pub op: BinOp,
    pub lhs: MetricExpr,
    pub rhs: MetricExpr,
    pub return_bool: bool,
    pub matching: Option<Matching>,
}

/// `on (…)` or `ignoring (…)`, with `group_left`/`group_right (…)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matching {
    pub ignoring: bool,
    pub labels: Vec<String>,
    /// `Some((true, include))` for `group_left (include)`, `false` right.
    pub group: Option<(bool, Vec<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Unless,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl BinOp {
    /// Longest tokens first, so `>=` is not read as `>`.
    pub const TOKENS: [(&'static str, BinOp); 15] = [
        ("==", BinOp::Eq),
        ("!=", BinOp::Ne),
        (">=", BinOp::Ge),
        ("<=", BinOp::Le),
        (">", BinOp::Gt),
        ("<", BinOp::Lt),
        ("+", BinOp::Add),
        ("-", BinOp::Sub),
        ("*", BinOp::Mul),
        ("/", BinOp::Div),
        ("%", BinOp::Mod),
        ("^", BinOp::Pow),
        ("or", BinOp::Or),
        ("and", BinOp::And),
        ("unless", BinOp::Unless),
    ];

    pub fn as_str(self) -> &'static str {
        Self::TOKENS
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(t, _)| t)
    }

    /// Binding strength, PromQL's: `or` < `and unless` < comparisons <
    /// `+ -` < `* / %` < `^`.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And | BinOp::Unless => 2,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 5,
            BinOp::Pow => 6,
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == 3
    }

    pub fn is_set(self) -> bool {
        matches!(self, BinOp::Or | BinOp::And | BinOp::Unless)
    }
}

impl MetricExpr {
    /// The PromQL text of this query with range aggregation `i` (in the
    /// order of `leaves`, which it fills) as the selector `__logql_<i>__`.
    pub fn to_promql(&self, leaves: &mut Vec<RangeAgg>) -> String {
        let mut out = String::new();
        self.write(&mut out, &mut Some(leaves));
        out
    }

    /// The range aggregations, in the order [`to_promql`](Self::to_promql)
    /// numbers them.
    pub fn leaves(&self) -> Vec<RangeAgg> {
        let mut leaves = Vec::new();
        self.to_promql(&mut leaves);
        leaves
    }

    /// Prints LogQL (`leaves` is `None`) or PromQL with placeholders.
    fn write(&self, out: &mut String, leaves: &mut Option<&mut Vec<RangeAgg>>) {
        match self {
            MetricExpr::Range(r) => match leaves {
                Some(l) => {
                    let _ = write!(out, "__logql_{}__", l.len());
                    l.push(r.clone());
                }
                None => {
                    let _ = write!(out, "{r}");
                }
            },
            MetricExpr::Number(n) => out.push_str(&format_float(*n)),
            MetricExpr::Vector(n) => {
                let _ = write!(out, "vector({})", format_float(*n));
            }
            MetricExpr::Paren(e) => {
                out.push('(');
                e.write(out, leaves);
                out.push(')');
            }
            MetricExpr::LabelReplace(e, args) => {
                out.push_str("label_replace(");
                e.write(out, leaves);
                for a in args {
                    out.push_str(", ");
                    out.push_str(&quote_string(a));
                }
                out.push(')');
            }
            MetricExpr::Aggregate(a) => {
                out.push_str(a.op.name());
                if let Some(g) = &a.grouping {
                    let _ = write!(
                        out,
                        " {} ({}) ",
                        if g.without { "without" } else { "by" },
                        g.labels.join(", ")
                    );
                }
                out.push('(');
                if let Some(k) = a.param {
                    out.push_str(&format_float(k));
                    out.push_str(", ");
                }
                a.expr.write(out, leaves);
                out.push(')');
            }
            MetricExpr::Binary(b) => {
                b.lhs.write(out, leaves);
                let _ = write!(out, " {}", b.op.as_str());
                if b.return_bool {
                    out.push_str(" bool");
                }
                if let Some(m) = &b.matching {
                    let _ = write!(
                        out,
                        " {} ({})",
                        if m.ignoring { "ignoring" } else { "on" },
                        m.labels.join(", ")
                    );
                    if let Some((left, include)) = &m.group {
                        let side = if *left { "group_left" } else { "group_right" };
                        let _ = write!(out, " {side} ({})", include.join(", "));
                    }
                }
                out.push(' ');
                b.rhs.write(out, leaves);
            }
        }
    }
}

impl Display for MetricExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write(&mut out, &mut None);
        f.write_str(&out)
    }
}

impl Display for RangeAgg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.op.name())?;
        if let Some(p) = self.param {
            write!(f, "{}, ", format_float(p))?;
        }
        write!(f, "{}", self.log)?;
        if let Some(u) = &self.unwrap {
            match u.conv {
                Conv::Number => write!(f, " | unwrap {}", u.label)?,
                Conv::Duration => write!(f, " | unwrap duration({})", u.label)?,
                Conv::Bytes => write!(f, " | unwrap bytes({})", u.label)?,
            }
            for s in &u.post {
                write!(f, " {s}")?;
            }
        }
        write!(f, " [{}]", format_duration(self.range))?;
        if self.offset != 0 {
            write!(f, " offset {}", format_duration(self.offset))?;
        }
        f.write_str(")")?;
        if let Some(g) = &self.grouping {
            let kw = if g.without { "without" } else { "by" };
            write!(f, " {kw} ({})", g.labels.join(", "))?;
        }
        Ok(())
    }
}
