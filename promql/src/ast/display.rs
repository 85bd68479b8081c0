//! Canonical printing: what Prometheus's `/api/v1/format_query` returns.
//! Parentheses come only from `Paren` nodes.

use std::fmt::{self, Display, Formatter, Write};

use tsdb::model::Matcher;

use super::duration::DurationExpr;
use super::expr::{
    Aggregate, AtModifier, Binary, Call, Cardinality, Expr, MatrixSelector, Subquery, Unary,
    UnaryOp, VectorMatching, VectorSelector,
};

/// Formats a float as Go's `%v` does (`1e+06`, `100000`, `0.5`, `NaN`, `+Inf`), the
/// form Prometheus prints number literals in.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{v}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Quotes a string as Go's `strconv.Quote` does (double quotes, `\n`,
/// `\x00`, `\u0085`...), so that the PromQL lexer reads it back unchanged.
pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, minus the words that read as numbers.
fn is_plain_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && !s.eq_ignore_ascii_case("inf")
        && !s.eq_ignore_ascii_case("nan")
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn is_plain_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn label_name(s: &str) -> String {
    if is_plain_label_name(s) {
        s.to_string()
    } else {
        quote_string(s)
    }
}

fn label_list(labels: &[String]) -> String {
    labels
        .iter()
        .map(|l| label_name(l))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A label matcher as PromQL prints it (`name="value"`, the name quoted
/// when it is not a plain identifier).
pub fn format_matcher(m: &Matcher) -> String {
    format!(
        "{}{}{}",
        label_name(&m.name),
        m.op.as_str(),
        quote_string(&m.value)
    )
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::NumberLiteral(v) => f.write_str(&format_float(*v)),
            Expr::StringLiteral(s) => f.write_str(&quote_string(s)),
            Expr::VectorSelector(vs) => vs.fmt(f),
            Expr::MatrixSelector(ms) => ms.fmt(f),
            Expr::Subquery(sq) => sq.fmt(f),
            Expr::Call(c) => c.fmt(f),
            Expr::Aggregate(a) => a.fmt(f),
            Expr::Binary(b) => b.fmt(f),
            Expr::Unary(u) => u.fmt(f),
            Expr::Paren(e) => write!(f, "({e})"),
        }
    }
}

impl Display for AtModifier {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            AtModifier::Start => f.write_str("@ start()"),
            AtModifier::End => f.write_str("@ end()"),
            AtModifier::Timestamp(ms) => {
                let sign = if *ms < 0 { "-" } else { "" };
                let abs = ms.unsigned_abs();
                write!(f, "@ {sign}{}.{:03}", abs / 1000, abs % 1000)
            }
        }
    }
}

/// ` @ t offset d`, the suffix shared by selectors and subqueries.
fn modifiers(
    f: &mut Formatter<'_>,
    at: &Option<AtModifier>,
    offset: &Option<DurationExpr>,
) -> fmt::Result {
    if let Some(at) = at {
        write!(f, " {at}")?;
    }
    if let Some(offset) = offset {
        write!(f, " offset {offset}")?;
    }
    Ok(())
}

impl VectorSelector {
    /// `name{matchers}` without `@` and offset.
    fn fmt_selector(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::with_capacity(self.matchers.len());
        let mut rest: &[Matcher] = &self.matchers;
        if let Some(name) = &self.name {
            if let Some((first, tail)) = rest.split_first()
                && first.name == "__name__"
                && first.op == tsdb::model::MatchOp::Equal
                && &first.value == name
            {
                rest = tail;
            }
            if is_plain_metric_name(name) {
                f.write_str(name)?;
            } else {
                parts.push(quote_string(name));
            }
        }
        parts.extend(rest.iter().map(format_matcher));
        if parts.is_empty() && self.name.is_some() {
            return Ok(());
        }
        write!(f, "{{{}}}", parts.join(", "))
    }
}

impl VectorSelector {
    /// ` @ t offset d anchored|smoothed`.
    fn fmt_modifiers(&self, f: &mut Formatter<'_>) -> fmt::Result {
        modifiers(f, &self.at, &self.offset)?;
        if self.anchored {
            f.write_str(" anchored")?;
        }
        if self.smoothed {
            f.write_str(" smoothed")?;
        }
        Ok(())
    }
}

impl Display for VectorSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.fmt_selector(f)?;
        self.fmt_modifiers(f)
    }
}

impl Display for MatrixSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.selector.fmt_selector(f)?;
        write!(f, "[{}]", self.range)?;
        self.selector.fmt_modifiers(f)
    }
}

impl Display for Subquery {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}:", self.expr, self.range)?;
        if let Some(step) = &self.step {
            write!(f, "{step}")?;
        }
        f.write_str("]")?;
        modifiers(f, &self.at, &self.offset)
    }
}

impl Display for Call {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.func.name)?;
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{arg}")?;
        }
        f.write_str(")")
    }
}

impl Display for Aggregate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.as_str())?;
        if self.without {
            write!(f, " without ({}) ", label_list(&self.grouping))?;
        } else if !self.grouping.is_empty() {
            write!(f, " by ({}) ", label_list(&self.grouping))?;
        }
        f.write_str("(")?;
        if let Some(param) = &self.param {
            write!(f, "{param}, ")?;
        }
        write!(f, "{})", self.expr)
    }
}

impl Display for VectorMatching {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let grouped = matches!(self.card, Cardinality::ManyToOne | Cardinality::OneToMany);
        if self.on || !self.labels.is_empty() || grouped {
            let kw = if self.on { "on" } else { "ignoring" };
            write!(f, " {kw} ({})", label_list(&self.labels))?;
        }
        if grouped {
            let side = if self.card == Cardinality::ManyToOne {
                "left"
            } else {
                "right"
            };
            write!(f, " group_{side} ({})", label_list(&self.include))?;
        }
        match (self.fill.lhs, self.fill.rhs) {
            (Some(l), Some(r)) if l.to_bits() == r.to_bits() => {
                write!(f, " fill ({})", format_float(l))?
            }
            (l, r) => {
                if let Some(l) = l {
                    write!(f, " fill_left ({})", format_float(l))?;
                }
                if let Some(r) = r {
                    write!(f, " fill_right ({})", format_float(r))?;
                }
            }
        }
        Ok(())
    }
}

impl Display for Binary {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.lhs, self.op.as_str())?;
        if self.return_bool {
            f.write_str(" bool")?;
        }
        if let Some(m) = &self.matching {
            write!(f, "{m}")?;
        }
        write!(f, " {}", self.rhs)
    }
}

impl Display for Unary {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            UnaryOp::Neg => "-",
            UnaryOp::Plus => "+",
        };
        write!(f, "{op}{}", self.expr)
    }
}

impl Display for DurationExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            DurationExpr::Duration(ms) => f.write_str(&crate::syntax::format_duration(*ms)),
            DurationExpr::Number(n) => f.write_str(&format_float(*n)),
            DurationExpr::Step => f.write_str("step()"),
            DurationExpr::Range => f.write_str("range()"),
            DurationExpr::Unary { neg, expr } => {
                write!(f, "{}{expr}", if *neg { "-" } else { "+" })
            }
            DurationExpr::Binary { op, lhs, rhs } => write!(f, "{lhs} {} {rhs}", op.as_str()),
            DurationExpr::MinOf(a, b) => write!(f, "min_of({a}, {b})"),
            DurationExpr::MaxOf(a, b) => write!(f, "max_of({a}, {b})"),
            DurationExpr::Paren(e) => write!(f, "({e})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        let cases = [
            (1.0, "1"),
            (0.5, "0.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-2.5e-7, "-2.5e-07"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for (v, want) in cases {
            assert_eq!(format_float(v), want, "{v}");
        }
    }

    #[test]
    fn strings_quote_like_go() {
        assert_eq!(
            quote_string("a\"b\\c\n\u{1}\u{85}é"),
            r#""a\"b\\c\n\x01\u0085é""#
        );
    }
}
