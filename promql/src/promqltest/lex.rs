//! Tokens of the script format: durations, numbers, string literals and
//! series descriptors. Every function takes the text at the current
//! position and returns the value with the unconsumed rest, or a message
//! (the caller adds file and line).

use tsdb::model::{Label, Labels, METRIC_NAME};

use crate::ast::Expr;
use crate::error::DurationError;
use crate::syntax;

/// Parses a whole duration of a script command (`50m`, `0`) into ms.
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    syntax::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

/// Scans the longest duration at the start of `s`. A bare `0` is a
/// duration too (`0x3` repeats zero), as in the series notation.
pub(crate) fn scan_duration(s: &str) -> Result<(i64, &str), String> {
    match syntax::scan_duration(s) {
        Ok((_, rest)) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
            Err(format!("duration {s:?} lacks a unit"))
        }
        Ok(found) => Ok(found),
        Err(DurationError::Missing) => {
            let zeros = s.bytes().take_while(|&b| b == b'0').count();
            match s.as_bytes().get(zeros) {
                _ if zeros == 0 => Err(format!("expected a duration at {s:?}")),
                Some(b) if b.is_ascii_digit() => Err(format!("duration {s:?} lacks a unit")),
                _ => Ok((0, &s[zeros..])),
            }
        }
        Err(e) => Err(format!("duration {s:?}: {e}")),
    }
}

/// Scans an optionally signed series value: a decimal number with optional
/// fraction, exponent and `_` digit separators, or the words `Inf`/`NaN`
/// (any case). Hexadecimal is not a value here: `0x5` scans as `0` with
/// rest `x5`. Integers with a leading `0` are octal when all their digits
/// are octal, as Go's base detection does.
pub(crate) fn scan_value(s: &str) -> Result<(f64, &str), String> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let sign = if neg { -1.0 } else { 1.0 };
    for (word, v) in [("inf", f64::INFINITY), ("nan", f64::NAN)] {
        if body.get(..3).is_some_and(|w| w.eq_ignore_ascii_case(word)) {
            return Ok((sign * v, &body[3..]));
        }
    }
    let b = body.as_bytes();
    let digit_run = |from: usize| {
        b[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'_')
            .count()
    };
    let mut end = digit_run(0);
    let mut is_int = true;
    if b.get(end) == Some(&b'.') {
        is_int = false;
        end += 1 + digit_run(end + 1);
    }
    if !b[..end].iter().any(u8::is_ascii_digit) {
        return Err(format!("expected a number at {s:?}"));
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let mut e = end + 1;
        if matches!(b.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let exp_digits = b[e..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits > 0 {
            is_int = false;
            end = e + exp_digits;
        }
    }
    let text = &body[..end];
    let v = number_text_value(text, is_int).ok_or_else(|| format!("invalid number {text:?}"))?;
    Ok((sign * v, &body[end..]))
}

/// The value of an unsigned decimal number text; `None` when its `_`
/// separators are misplaced (each must sit between two digits).
fn number_text_value(text: &str, is_int: bool) -> Option<f64> {
    let b = text.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'_' {
            let before = i.checked_sub(1).and_then(|j| b.get(j));
            let after = b.get(i + 1);
            if !before.is_some_and(u8::is_ascii_digit) || !after.is_some_and(u8::is_ascii_digit) {
                return None;
            }
        }
    }
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    if is_int && clean.len() > 1 && clean.starts_with('0') && clean.bytes().all(|c| c < b'8') {
        return i64::from_str_radix(&clean[1..], 8)
            .ok()
            .map(|v| v as f64)
            .or_else(|| clean.parse().ok());
    }
    clean.parse().ok()
}

/// Parses a whole line as a number the way the reference runner does for
/// scalar expectations (Go's `ParseInt(s, 0, 64)`, then `ParseFloat`):
/// decimal, `0x`/`0o`/`0b` and leading-`0` octal integers, floats, `Inf`,
/// `Infinity`, `NaN`, each optionally signed. `None` if it is not a number.
pub fn parse_scalar_line(s: &str) -> Option<f64> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'-') => (-1.0, &s[1..]),
        Some(b'+') => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    if body.is_empty() || body.starts_with(['+', '-']) {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let radix = |prefix: &str, radix: u32| {
        let digits = lower.strip_prefix(prefix)?.replace('_', "");
        u64::from_str_radix(&digits, radix).ok().map(|v| v as f64)
    };
    let int = radix("0x", 16)
        .or_else(|| radix("0o", 8))
        .or_else(|| radix("0b", 2));
    if let Some(v) = int {
        return Some(sign * v);
    }
    if lower.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return number_text_value(body, true).map(|v| sign * v);
    }
    match lower.as_str() {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    // Rust's float syntax is Go's decimal float syntax here; exclude the
    // spellings only Rust accepts beyond those handled above.
    if lower.contains("inf") || lower.contains("nan") {
        return None;
    }
    lower.parse::<f64>().ok().map(|v| sign * v)
}

/// Scans a PromQL string literal (`"…"`, `'…'` or backquoted) at the start
/// of `s` and returns its unescaped value, using the PromQL parser for the
/// escapes.
pub(crate) fn scan_string(s: &str) -> Result<(String, &str), String> {
    let quote = s
        .chars()
        .next()
        .filter(|c| matches!(c, '"' | '\'' | '`'))
        .ok_or_else(|| format!("expected a string literal at {s:?}"))?;
    let mut escaped = false;
    let mut end = None;
    for (i, c) in s.char_indices().skip(1) {
        if c == '\n' && quote != '`' {
            break;
        }
        if escaped {
            escaped = false;
        } else if c == '\\' && quote != '`' {
            escaped = true;
        } else if c == quote {
            end = Some(i + 1);
            break;
        }
    }
    let end = end.ok_or_else(|| format!("unterminated string literal {s:?}"))?;
    match crate::parse(&s[..end]) {
        Ok(Expr::StringLiteral(v)) => Ok((v, &s[end..])),
        Ok(_) => Err(format!("invalid string literal {:?}", &s[..end])),
        Err(e) => Err(format!("invalid string literal {:?}: {e}", &s[..end])),
    }
}

fn ident_len(s: &str, metric: bool) -> usize {
    s.char_indices()
        .take_while(|&(i, c)| {
            c == '_'
                || c.is_ascii_alphabetic()
                || (metric && c == ':')
                || (i > 0 && c.is_ascii_digit())
        })
        .count()
}

/// Scans a series descriptor with equality matchers only: `name`,
/// `name{a="x", b='y',}`, `{__name__="name"}`, `{"quoted.name", "l"="v"}`,
/// `{}`. Returns its label set (empty values dropped) and the rest.
pub(crate) fn scan_series(s: &str) -> Result<(Labels, &str), String> {
    let mut labels: Vec<Label> = Vec::new();
    let name_len = ident_len(s, true);
    if name_len > 0 {
        labels.push(Label::new(METRIC_NAME, &s[..name_len]));
    }
    let mut rest = &s[name_len..];
    if rest.starts_with('{') && !rest.starts_with("{{") {
        rest = scan_braces(&rest[1..], &mut labels)?;
    } else if name_len == 0 {
        return Err(format!("expected a series descriptor at {s:?}"));
    }
    let mut names: Vec<&str> = labels.iter().map(|l| &*l.name).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("label {} given twice in {s:?}", w[0]));
    }
    let labels = Labels::try_from_unsorted(labels).map_err(|e| format!("{e} in {s:?}"))?;
    Ok((labels, rest))
}

/// The inside of `{…}` after the opening brace; returns the rest after `}`.
fn scan_braces<'a>(mut rest: &'a str, labels: &mut Vec<Label>) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('}') {
            return Ok(r);
        }
        let name = if rest.starts_with(['"', '\'', '`']) {
            let (v, r) = scan_string(rest)?;
            rest = r.trim_start();
            if rest.starts_with([',', '}']) {
                labels.push(Label::new(METRIC_NAME, v));
                rest = rest.strip_prefix(',').unwrap_or(rest);
                continue;
            }
            v
        } else {
            let n = ident_len(rest, false);
            if n == 0 {
                return Err(format!("expected a label name at {rest:?}"));
            }
            let (name, r) = rest.split_at(n);
            rest = r.trim_start();
            name.to_string()
        };
        rest = rest
            .strip_prefix('=')
            .filter(|r| !r.starts_with('~'))
            .ok_or_else(|| format!("expected `=` after label {name} (only equality is allowed)"))?
            .trim_start();
        let (value, r) = scan_string(rest)?;
        labels.push(Label::new(name, value));
        rest = r.trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err(format!("expected `,` or `}}` at {rest:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_durations() {
        /// Name, input, the duration and rest scanned (None: an error).
        type Case<'a> = (&'a str, &'a str, Option<(i64, &'a str)>);
        let cases: &[Case] = &[
            ("unit", "1mx2", Some((60_000, "x2"))),
            ("ms", "0msx15", Some((0, "x15"))),
            ("bare_zero", "0x3", Some((0, "x3"))),
            ("bare_zeros", "00", Some((0, ""))),
            ("unitless", "5x3", None),
            ("unitless_after_unit", "1m5x", None),
            ("not_a_duration", "x", None),
            ("out_of_order", "1s1m", None),
        ];
        for (name, s, want) in cases {
            assert_eq!(scan_duration(s).ok(), *want, "{name}");
        }
    }

    #[test]
    fn values() {
        let cases = [
            ("int", "42", 42.0, ""),
            ("negative_fraction", "-1.5", -1.5, ""),
            ("leading_dot", ".5x3", 0.5, "x3"),
            ("exponent", "1e3", 1000.0, ""),
            ("signed_exponent", "2.5E-3+1x2", 0.0025, "+1x2"),
            ("separators", "1_000", 1000.0, ""),
            ("octal", "010", 8.0, ""),
            ("not_octal", "09", 9.0, ""),
            ("hex_is_repeat", "0x5", 0.0, "x5"),
            ("inf", "-Inf", f64::NEG_INFINITY, ""),
            ("inf_lower", "+inf", f64::INFINITY, ""),
            ("step_rest", "-2+4x3", -2.0, "+4x3"),
        ];
        for (name, s, want, rest) in cases {
            assert_eq!(scan_value(s), Ok((want, rest)), "{name}");
        }
        let (nan, rest) = scan_value("NaN").unwrap();
        assert!(nan.is_nan() && rest.is_empty());
        for (name, s) in [("word", "foo"), ("bad_separator", "1__0"), ("dot", ".")] {
            assert!(scan_value(s).is_err(), "{name}");
        }
    }

    #[test]
    fn scalar_lines() {
        let cases = [
            ("int", "42", Some(42.0)),
            ("neg", "-1.5", Some(-1.5)),
            ("inf", "+Inf", Some(f64::INFINITY)),
            ("exp", "1e3", Some(1000.0)),
            ("hex", "0x1F", Some(31.0)),
            ("octal", "010", Some(8.0)),
            ("separators", "1_000", Some(1000.0)),
            ("series", "{} 1", None),
            ("metric", "foo", None),
            ("double_sign", "--1", None),
        ];
        for (name, s, want) in cases {
            assert_eq!(parse_scalar_line(s), want, "{name}");
        }
        assert!(parse_scalar_line("NaN").is_some_and(f64::is_nan));
    }

    #[test]
    fn strings() {
        assert_eq!(scan_string(r#""a\"b" x"#), Ok(("a\"b".into(), " x")));
        assert_eq!(scan_string("`a\\n`"), Ok(("a\\n".into(), "")));
        assert_eq!(scan_string("'x'}"), Ok(("x".into(), "}")));
        assert!(scan_string("\"open").is_err());
    }

    #[test]
    fn series_descriptors() {
        let l = |pairs: &[(&str, &str)]| Labels::from_pairs(pairs);
        let cases = [
            ("bare", "up 1", l(&[("__name__", "up")]), " 1"),
            (
                "braces",
                r#"a:b{x="1", y='2',} 3"#,
                l(&[("__name__", "a:b"), ("x", "1"), ("y", "2")]),
                " 3",
            ),
            ("only_labels", r#"{a="x"} 1"#, l(&[("a", "x")]), " 1"),
            ("empty", "{} 1", Labels::empty(), " 1"),
            ("empty_after_name", "m{} 1", l(&[("__name__", "m")]), " 1"),
            (
                "name_label",
                r#"{__name__="m", a="b c"}@st"#,
                l(&[("__name__", "m"), ("a", "b c")]),
                "@st",
            ),
            (
                "quoted_name",
                r#"{"a.b", "c.d"="e"}"#,
                l(&[("__name__", "a.b"), ("c.d", "e")]),
                "",
            ),
        ];
        for (name, s, want, rest) in cases {
            assert_eq!(scan_series(s), Ok((want, rest)), "{name}");
        }
        for (name, s) in [
            ("regex", r#"m{a=~"x"}"#),
            ("duplicate", r#"m{__name__="n"}"#),
            ("unclosed", r#"m{a="x""#),
            ("histogram", "{{count:1}}"),
            ("number", "1"),
        ] {
            assert!(scan_series(s).is_err(), "{name}");
        }
    }
}
