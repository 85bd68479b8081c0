//! Lexical rules: strings, numbers, durations and attribute names. None
//! skips leading whitespace; each backtracks when its first character does
//! not fit and fails (committed) on a malformed token.

use super::ast::{Static, is_attr_char};
use super::internal::{PResult, backtrack, failure, is_ident_char};

/// string := `"` (char | `\"` | `\\` | `\n` | `\t` | `\r`)* `"`
///         | `` ` `` char* `` ` `` (raw: no escapes)
pub(crate) fn string_literal(i: &str) -> PResult<'_, String> {
    if let Some(body) = i.strip_prefix('`') {
        return match body.find('`') {
            Some(end) => Ok((&body[end + 1..], body[..end].to_owned())),
            None => failure(i, "unterminated string"),
        };
    }
    let Some(body) = i.strip_prefix('"') else {
        return backtrack(i);
    };
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((pos, c)) = chars.next() {
        match c {
            '"' => return Ok((&body[pos + 1..], out)),
            '\\' => {
                let escaped = match chars.next() {
                    Some((_, '"')) => '"',
                    Some((_, '\\')) => '\\',
                    Some((_, 'n')) => '\n',
                    Some((_, 't')) => '\t',
                    Some((_, 'r')) => '\r',
                    Some((_, other)) => {
                        return failure(
                            &body[pos..],
                            format!("unknown escape sequence `\\{other}`"),
                        );
                    }
                    None => break,
                };
                out.push(escaped);
            }
            c => out.push(c),
        }
    }
    failure(i, "unterminated string")
}

/// Duration units as written (Go's spellings), with their size in
/// nanoseconds. Longer spellings come before their prefixes.
const UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// `digits [. digits]` at the start of `i`: (rest, integer digits,
/// fraction digits). The fraction needs a digit after the point.
fn decimal(i: &str) -> Option<(&str, &str, &str)> {
    let int_end = i.find(|c: char| !c.is_ascii_digit()).unwrap_or(i.len());
    if int_end == 0 {
        return None;
    }
    let (int, rest) = i.split_at(int_end);
    match rest.strip_prefix('.') {
        Some(after) if after.starts_with(|c: char| c.is_ascii_digit()) => {
            let frac_end = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            Some((&after[frac_end..], int, &after[..frac_end]))
        }
        _ => Some((rest, int, "")),
    }
}

/// The unit at the start of `i`, if any.
fn unit(i: &str) -> Option<(&str, u64)> {
    UNITS
        .iter()
        .find_map(|&(u, size)| i.strip_prefix(u).map(|rest| (rest, size)))
}

/// `int.frac` of `size`-nanosecond units, truncated to whole nanoseconds;
/// `None` when out of range.
fn scaled(int: &str, frac: &str, size: u64) -> Option<u128> {
    let whole = int.parse::<u128>().ok()?.checked_mul(u128::from(size))?;
    let frac = &frac[..frac.len().min(18)];
    let part = if frac.is_empty() {
        0
    } else {
        frac.parse::<u128>().ok()? * u128::from(size) / 10u128.pow(frac.len() as u32)
    };
    whole.checked_add(part)
}

/// number := digits [`.` digits]; duration := (number unit)+ with unit one
/// of `ns us µs ms s m h` (`1h30m`, `1.5s`). An integer must fit in `i64`,
/// a duration in `u64` nanoseconds. No sign.
pub(crate) fn number_or_duration(i: &str) -> PResult<'_, Static> {
    let Some((rest, int, frac)) = decimal(i) else {
        return backtrack(i);
    };
    if unit(rest).is_none() {
        if glued(rest) {
            return failure(i, format!("invalid number or duration `{}`", token(i)));
        }
        if frac.is_empty() {
            return match int.parse::<i64>() {
                Ok(n) => Ok((rest, Static::Int(n))),
                Err(_) => failure(i, format!("integer `{int}` out of range")),
            };
        }
        return match format!("{int}.{frac}").parse::<f64>() {
            Ok(x) if x.is_finite() => Ok((rest, Static::Float(x))),
            _ => failure(i, format!("number `{}` out of range", token(i))),
        };
    }
    let mut total: u128 = 0;
    let (mut rest, mut int, mut frac) = (rest, int, frac);
    loop {
        let Some((after, size)) = unit(rest) else {
            return failure(i, format!("invalid duration `{}`", token(i)));
        };
        total = match scaled(int, frac, size).and_then(|n| total.checked_add(n)) {
            Some(t) => t,
            None => return failure(i, format!("duration `{}` out of range", token(i))),
        };
        rest = after;
        match decimal(rest) {
            Some(next) => (rest, int, frac) = next,
            None => break,
        }
    }
    if glued(rest) {
        return failure(i, format!("invalid duration `{}`", token(i)));
    }
    match u64::try_from(total) {
        Ok(ns) => Ok((rest, Static::Duration(ns))),
        Err(_) => failure(i, format!("duration `{}` out of range", token(i))),
    }
}

/// Whether a literal runs on into more word characters (`1x`, `5mm`, `1.`).
fn glued(rest: &str) -> bool {
    rest.starts_with(|c: char| is_ident_char(c) || c == '.' || c == 'µ' || c == 'μ')
}

/// The word-like token at the start of `i`, for messages.
fn token(i: &str) -> &str {
    let end = i
        .find(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_'))
        .unwrap_or(i.len());
    &i[..end]
}

/// attribute_name := string | attr_char+ (see [`is_attr_char`]); not empty.
pub(crate) fn attribute_name(i: &str) -> PResult<'_, String> {
    if i.starts_with(['"', '`']) {
        let (rest, name) = string_literal(i)?;
        if name.is_empty() {
            return failure(i, "empty attribute name");
        }
        return Ok((rest, name));
    }
    let end = i.find(|c| !is_attr_char(c)).unwrap_or(i.len());
    if end == 0 {
        return backtrack(i);
    }
    Ok((&i[end..], i[..end].to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parsed value and the unparsed rest, or the error message.
    fn lit(i: &str) -> Result<(Static, &str), String> {
        match number_or_duration(i) {
            Ok((rest, v)) => Ok((v, rest)),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e.msg.unwrap_or_default()),
            Err(nom::Err::Incomplete(_)) => Err("incomplete".into()),
        }
    }

    #[test]
    fn numbers_and_durations() {
        let huge_float = format!("{}.5", "9".repeat(400));
        type Case<'a> = (&'a str, &'a str, Result<(Static, &'a str), &'a str>);
        let cases: &[Case] = &[
            ("int", "42 x", Ok((Static::Int(42), " x"))),
            ("float", "1.5}", Ok((Static::Float(1.5), "}"))),
            ("int_then_attr_dot", "1 .a", Ok((Static::Int(1), " .a"))),
            ("millis", "500ms", Ok((Static::Duration(500_000_000), ""))),
            ("seconds", "1s", Ok((Static::Duration(1_000_000_000), ""))),
            (
                "fraction",
                "1.5s",
                Ok((Static::Duration(1_500_000_000), "")),
            ),
            ("minutes", "2m", Ok((Static::Duration(120_000_000_000), ""))),
            ("hours", "1h", Ok((Static::Duration(3_600_000_000_000), ""))),
            ("micros", "100us", Ok((Static::Duration(100_000), ""))),
            ("micro_sign", "100µs", Ok((Static::Duration(100_000), ""))),
            ("greek_mu", "100μs", Ok((Static::Duration(100_000), ""))),
            ("nanos", "10ns", Ok((Static::Duration(10), ""))),
            (
                "compound",
                "1h30m",
                Ok((Static::Duration(5_400_000_000_000), "")),
            ),
            (
                "int_too_big",
                "9223372036854775808",
                Err("integer `9223372036854775808` out of range"),
            ),
            ("unknown_unit", "5x", Err("invalid number or duration `5x`")),
            ("float_too_big", &huge_float, Err("out of range")),
            ("doubled_unit", "5mm", Err("invalid duration `5mm`")),
            (
                "trailing_point",
                "1.",
                Err("invalid number or duration `1.`"),
            ),
            (
                "missing_second_unit",
                "1h30",
                Err("invalid duration `1h30`"),
            ),
            (
                "duration_too_big",
                "99999999999h",
                Err("duration `99999999999h` out of range"),
            ),
        ];
        for (name, input, want) in cases {
            match (lit(input), want) {
                (Err(got), Err(fragment)) => assert!(got.contains(fragment), "{name}: {got}"),
                (got, want) => assert_eq!(got, want.clone().map_err(String::from), "{name}"),
            }
        }
    }

    #[test]
    fn strings() {
        let cases: &[(&str, &str, Result<&str, &str>)] = &[
            ("plain", r#""abc""#, Ok("abc")),
            ("escapes", r#""a\"b\\c\nd\te""#, Ok("a\"b\\c\nd\te")),
            ("raw", r"`a\d+`", Ok(r"a\d+")),
            ("unicode", "\"µs ✓\"", Ok("µs ✓")),
            ("unterminated", "\"abc", Err("unterminated string")),
            ("unterminated_raw", "`abc", Err("unterminated string")),
            (
                "bad_escape",
                r#""a\qb""#,
                Err("unknown escape sequence `\\q`"),
            ),
            ("escape_at_end", "\"a\\", Err("unterminated string")),
        ];
        for (name, input, want) in cases {
            let got = match string_literal(input) {
                Ok((_, s)) => Ok(s),
                Err(nom::Err::Failure(e)) => Err(e.msg.unwrap_or_default()),
                Err(e) => Err(format!("{e:?}")),
            };
            let want = want.map(String::from).map_err(String::from);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn attribute_names_stop_at_operators() {
        let cases = [
            ("dotted", "http.status_code=200", "http.status_code"),
            ("dash", "k8s.pod-name }", "k8s.pod-name"),
            ("bang", "a!=1", "a"),
            ("quoted", "\"a b\" = 1", "a b"),
        ];
        for (name, input, want) in cases {
            let got = attribute_name(input).map(|(_, n)| n);
            assert_eq!(got, Ok(want.to_owned()), "{name}");
        }
    }
}
