//! Label filters (`| status >= 400 and level=~"err.*"`): their tree,
//! printing and evaluation on an entry's labels.
//!
//! A comparison whose label does not read as its literal's type (a
//! number, a duration, a byte size) neither keeps nor drops the entry: it
//! passes with `__error__="LabelFilterErr"`, as Loki's does.

use std::fmt::{self, Display, Formatter};

use promql::ast::{format_float, format_matcher};
use tsdb::model::Matcher;

use super::ip::IpFilter;

#[derive(Debug, Clone, PartialEq)]
pub enum LabelFilter {
    And(Box<LabelFilter>, Box<LabelFilter>),
    Or(Box<LabelFilter>, Box<LabelFilter>),
    Paren(Box<LabelFilter>),
    /// `name="v"`, `!=`, `=~`, `!~`.
    Matcher(Matcher),
    /// `name > 400`, with a number, duration (seconds) or byte size.
    Compare {
        name: String,
        op: CmpOp,
        value: Literal,
    },
    /// `name = ip("10.0.0.0/8")` (`!=` with `negate`): a value that is
    /// not an address is in no set.
    Ip {
        name: String,
        negate: bool,
        set: IpFilter,
    },
}

/// The literal of a comparison, which also says how the label is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    /// Seconds; `text` as written.
    Duration {
        seconds: f64,
        text: String,
    },
    /// Bytes; `text` as written.
    Bytes {
        bytes: f64,
        text: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    /// Longest first.
    pub const TOKENS: [(&'static str, CmpOp); 7] = [
        ("==", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        (">=", CmpOp::Ge),
        ("<=", CmpOp::Le),
        (">", CmpOp::Gt),
        ("<", CmpOp::Lt),
        ("=", CmpOp::Eq),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }

    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
        }
    }
}

/// What a filter says of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    Drop,
    /// A label did not convert: keep, with `__error__`.
    Error,
}

impl LabelFilter {
    /// Evaluates the filter; `get` reads a label (empty when absent).
    pub fn eval<'a>(&self, get: &dyn Fn(&str) -> &'a str) -> Verdict {
        match self {
            LabelFilter::And(a, b) => match a.eval(get) {
                Verdict::Keep => b.eval(get),
                other => other,
            },
            LabelFilter::Or(a, b) => match (a.eval(get), b.eval(get)) {
                (Verdict::Keep, _) | (_, Verdict::Keep) => Verdict::Keep,
                (Verdict::Error, _) | (_, Verdict::Error) => Verdict::Error,
                _ => Verdict::Drop,
            },
            LabelFilter::Paren(f) => f.eval(get),
            LabelFilter::Matcher(m) => keep(m.matches(get(&m.name))),
            LabelFilter::Ip { name, negate, set } => keep(set.matches_value(get(name)) != *negate),
            LabelFilter::Compare { name, op, value } => {
                let raw = get(name);
                let parsed = match value {
                    Literal::Number(_) => raw.trim().parse::<f64>().ok(),
                    Literal::Duration { .. } => parse_go_duration(raw),
                    Literal::Bytes { .. } => parse_bytes(raw),
                };
                let want = match value {
                    Literal::Number(n) => *n,
                    Literal::Duration { seconds, .. } => *seconds,
                    Literal::Bytes { bytes, .. } => *bytes,
                };
                match parsed {
                    Some(v) => keep(op.holds(v, want)),
                    None => Verdict::Error,
                }
            }
        }
    }
}

fn keep(b: bool) -> Verdict {
    if b { Verdict::Keep } else { Verdict::Drop }
}

/// Go's `time.ParseDuration` in seconds: `1.5h`, `300ms`, `2h45m`, `-1s`.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    let mut total = 0.0;
    let mut any = false;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += n * scale;
        any = true;
    }
    any.then_some(if neg { -total } else { total })
}

/// A byte size as humanize reads it: `10KB` (1000s), `10KiB` (1024s),
/// `1.5 MB`, `512` (bytes); case-insensitive units.
pub fn parse_bytes(s: &str) -> Option<f64> {
    let s = s.trim();
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..num_end].parse().ok()?;
    let unit = s[num_end..].trim().to_ascii_lowercase();
    let scale = match unit.as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "pb" | "p" => 1e15,
        "kib" | "ki" => 1024.0,
        "mib" | "mi" => 1024f64.powi(2),
        "gib" | "gi" => 1024f64.powi(3),
        "tib" | "ti" => 1024f64.powi(4),
        "pib" | "pi" => 1024f64.powi(5),
        _ => return None,
    };
    Some(n * scale)
}

impl Display for LabelFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LabelFilter::And(a, b) => write!(f, "{a} and {b}"),
            LabelFilter::Or(a, b) => write!(f, "{a} or {b}"),
            LabelFilter::Paren(x) => write!(f, "({x})"),
            LabelFilter::Matcher(m) => f.write_str(&format_matcher(m)),
            LabelFilter::Ip { name, negate, set } => {
                let op = if *negate { "!=" } else { "=" };
                write!(
                    f,
                    "{name} {op} ip({})",
                    promql::ast::quote_string(&set.source)
                )
            }
            LabelFilter::Compare { name, op, value } => {
                write!(f, "{name} {} ", op.as_str())?;
                match value {
                    Literal::Number(n) => f.write_str(&format_float(*n)),
                    Literal::Duration { text, .. } | Literal::Bytes { text, .. } => {
                        f.write_str(text)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let durations: &[(&str, Option<f64>)] = &[
            ("1.5s", Some(1.5)),
            ("300ms", Some(0.3)),
            ("2h45m", Some(9900.0)),
            ("-1s", Some(-1.0)),
            ("0", Some(0.0)),
            ("1d", None),
            ("fast", None),
            ("", None),
        ];
        for (s, want) in durations {
            assert_eq!(parse_go_duration(s), *want, "{s}");
        }
        let sizes: &[(&str, Option<f64>)] = &[
            ("10KB", Some(1e4)),
            ("10KiB", Some(10240.0)),
            ("1.5 MB", Some(1.5e6)),
            ("512", Some(512.0)),
            ("2gb", Some(2e9)),
            ("lots", None),
        ];
        for (s, want) in sizes {
            assert_eq!(parse_bytes(s), *want, "{s}");
        }
    }
}
