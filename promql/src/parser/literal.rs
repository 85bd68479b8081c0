//! Lexical rules: numbers, duration literals, strings, label names.

use super::internal::{PResult, backtrack, failure, identifier, is_ident_char, ws};
use crate::error::DurationError;
use crate::syntax::scan_duration;

/// Whether a literal is followed by something that glues onto it (`1.5m`,
/// `5mm`, `1x`), which makes the whole token malformed.
fn glued(rest: &str) -> bool {
    rest.starts_with(|c: char| is_ident_char(c) || c == '.')
}

/// `[0-9](_?[0-9])*` at the start of `i`: returns the digits without `_`.
/// A `_` must sit between two digits.
fn digits(i: &str, radix: u32) -> Option<(&str, String)> {
    let mut out = String::new();
    let mut end = 0;
    let mut prev_digit = false;
    for (pos, c) in i.char_indices() {
        if c.is_digit(radix) {
            out.push(c);
            prev_digit = true;
        } else if c == '_' && prev_digit && i[pos + 1..].starts_with(|d: char| d.is_digit(radix)) {
            prev_digit = false;
        } else {
            break;
        }
        end = pos + c.len_utf8();
    }
    (!out.is_empty()).then(|| (&i[end..], out))
}

/// number := `0x` hex | decimal [`.` digits] [exponent] | `.` digits [exponent]
///         | `Inf` | `NaN` (case-insensitive); `_` may separate digits.
/// A leading `0` makes an integer octal, as in Go (`010` = 8). No sign.
pub fn number(i: &str) -> PResult<'_, f64> {
    if let Ok((rest, word)) = identifier(i) {
        return match word.to_ascii_lowercase().as_str() {
            "inf" => Ok((rest, f64::INFINITY)),
            "nan" => Ok((rest, f64::NAN)),
            _ => backtrack(i),
        };
    }
    if let Some(hex) = i.strip_prefix("0x").or_else(|| i.strip_prefix("0X")) {
        let Some((rest, ds)) = digits(hex, 16) else {
            return failure(i, "bad number syntax: hexadecimal literal without digits");
        };
        if glued(rest) {
            return failure(i, bad_token(i));
        }
        let v = ds.chars().fold(0f64, |acc, d| {
            acc * 16.0 + f64::from(d.to_digit(16).unwrap_or(0))
        });
        return Ok((rest, v));
    }
    let (mut rest, mut text) = match digits(i, 10) {
        Some((rest, int)) => (rest, int),
        None if i.starts_with('.') && i[1..].starts_with(|c: char| c.is_ascii_digit()) => {
            (i, String::new())
        }
        None => return backtrack(i),
    };
    let integer_only = {
        let mut only = true;
        if let Some(after_dot) = rest.strip_prefix('.') {
            only = false;
            text.push('.');
            rest = after_dot;
            if let Some((r, frac)) = digits(rest, 10) {
                text.push_str(&frac);
                rest = r;
            }
        }
        if let Some(after_e) = rest.strip_prefix(['e', 'E']) {
            let (sign, unsigned) = match after_e.strip_prefix(['+', '-']) {
                Some(u) => (&after_e[..1], u),
                None => ("", after_e),
            };
            if let Some((r, exp)) = digits(unsigned, 10) {
                only = false;
                text.push('e');
                text.push_str(sign);
                text.push_str(&exp);
                rest = r;
            }
        }
        only
    };
    if glued(rest) {
        return failure(i, bad_token(i));
    }
    if integer_only
        && text.len() > 1
        && text.starts_with('0')
        && let Ok(v) = u64::from_str_radix(&text[1..], 8)
    {
        return Ok((rest, v as f64));
    }
    match text.parse::<f64>() {
        Ok(v) => Ok((rest, v)),
        Err(_) => failure(i, bad_token(i)),
    }
}

fn bad_token(i: &str) -> String {
    let end = i
        .find(|c: char| !(is_ident_char(c) || c == '.'))
        .unwrap_or(i.len());
    format!("bad number or duration syntax: {:?}", &i[..end])
}

/// duration := (digits unit)+ with units `y w d h m s ms`, each at most once,
/// largest first: `1h30m`, `500ms`. Returns milliseconds. Backtracks when
/// the input does not start with `digits unit` (it may be a number).
pub fn duration_literal(i: &str) -> PResult<'_, i64> {
    let (rest, total) = match scan_duration(i) {
        Ok((total, rest)) => (rest, total),
        Err(DurationError::Missing) => return backtrack(i),
        Err(DurationError::OutOfRange) => {
            return failure(i, format!("duration out of range: {:?}", token(i)));
        }
        Err(DurationError::OutOfOrder | DurationError::Trailing) => {
            return failure(i, format!("not a valid duration string: {:?}", token(i)));
        }
    };
    if glued(rest) {
        return failure(i, bad_token(i));
    }
    Ok((rest, total))
}

fn token(i: &str) -> &str {
    &i[..i
        .find(|c: char| !(is_ident_char(c) || c == '.'))
        .unwrap_or(i.len())]
}

/// A number or a duration literal, both as seconds.
pub(crate) fn number_or_duration(i: &str) -> PResult<'_, NumOrDur> {
    match duration_literal(i) {
        Ok((rest, ms)) => Ok((rest, NumOrDur::Duration(ms))),
        Err(nom::Err::Error(_)) => number(i).map(|(rest, v)| (rest, NumOrDur::Number(v))),
        Err(e) => Err(e),
    }
}

/// What [`number_or_duration`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NumOrDur {
    Number(f64),
    /// Milliseconds.
    Duration(i64),
}

impl NumOrDur {
    pub(crate) fn seconds(self) -> f64 {
        match self {
            NumOrDur::Number(v) => v,
            NumOrDur::Duration(ms) => ms as f64 / 1000.0,
        }
    }
}

/// string := `"…"` | `'…'` with Go escapes | `` `…` `` raw. Escapes that
/// produce invalid UTF-8 (`\xc5` alone) are replaced by U+FFFD; where
/// that matters (a label name) [`string_literal_bytes`] tells.
pub fn string_literal(i: &str) -> PResult<'_, String> {
    let (rest, bytes) = string_literal_bytes(i)?;
    let s = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok((rest, s))
}

/// The bytes a string literal stands for, which escapes may have made
/// invalid UTF-8.
pub fn string_literal_bytes(i: &str) -> PResult<'_, Vec<u8>> {
    let Some(quote) = i.chars().next().filter(|c| matches!(c, '"' | '\'' | '`')) else {
        return backtrack(i);
    };
    let body = &i[1..];
    if quote == '`' {
        return match body.find('`') {
            Some(end) => Ok((&body[end + 1..], body.as_bytes()[..end].to_vec())),
            None => failure(i, "unterminated raw string"),
        };
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((pos, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((&body[pos + 1..], out)),
            '\n' => break,
            '\\' => {
                let esc_at = &body[pos..];
                let Some((_, e)) = chars.next() else { break };
                let simple = match e {
                    'a' => Some(7u8),
                    'b' => Some(8),
                    'f' => Some(12),
                    'n' => Some(b'\n'),
                    'r' => Some(b'\r'),
                    't' => Some(b'\t'),
                    'v' => Some(11),
                    '\\' => Some(b'\\'),
                    '"' | '\'' if e == quote => Some(e as u8),
                    _ => None,
                };
                if let Some(b) = simple {
                    out.push(b);
                    continue;
                }
                let (count, radix) = match e {
                    'x' => (2, 16),
                    'u' => (4, 16),
                    'U' => (8, 16),
                    '0'..='7' => (2, 8),
                    _ => return failure(esc_at, format!("unknown escape sequence {e:?}")),
                };
                let mut v: u32 = if radix == 8 {
                    e.to_digit(8).unwrap_or(0)
                } else {
                    0
                };
                for _ in 0..count {
                    match chars.next().and_then(|(_, d)| d.to_digit(radix)) {
                        Some(d) => v = v * radix + d,
                        None => return failure(esc_at, "invalid escape sequence"),
                    }
                }
                if matches!(e, 'x') || radix == 8 {
                    if v > 255 {
                        return failure(esc_at, "octal escape value > 255");
                    }
                    out.push(v as u8);
                } else {
                    match char::from_u32(v) {
                        Some(ch) => out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes()),
                        None => {
                            return failure(
                                esc_at,
                                "invalid Unicode code point in escape sequence",
                            );
                        }
                    }
                }
            }
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    failure(i, "unterminated quoted string")
}

/// label_name := identifier (keywords included) | string. Skips leading
/// whitespace.
pub fn label_name(i: &str) -> PResult<'_, String> {
    let i = ws(i);
    if let Ok((rest, name)) = identifier(i) {
        return Ok((rest, name.to_string()));
    }
    string_literal(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> f64 {
        number(s).map(|(_, v)| v).unwrap_or(-12345.0)
    }

    #[test]
    fn numbers() {
        assert_eq!(num("1"), 1.0);
        assert_eq!(num(".5"), 0.5);
        assert_eq!(num("1.5e3"), 1500.0);
        assert_eq!(num("1e-3"), 0.001);
        assert_eq!(num("0x1f"), 31.0);
        assert_eq!(num("0X1F"), 31.0);
        assert_eq!(num("1_000"), 1000.0);
        assert_eq!(num("010"), 8.0);
        assert_eq!(num("09"), 9.0);
        assert_eq!(num("5."), 5.0);
        assert!(num("NaN").is_nan());
        assert_eq!(num("iNf"), f64::INFINITY);
        assert!(number("1_").is_err());
        assert!(number("1.5m").is_err());
        assert!(number("Info").is_err());
    }

    #[test]
    fn durations() {
        let d = |s| duration_literal(s).map(|(_, v)| v).unwrap_or(-1);
        assert_eq!(d("5m"), 300_000);
        assert_eq!(d("1h30m"), 5_400_000);
        assert_eq!(d("500ms"), 500);
        assert_eq!(d("1y2w3d"), (365 + 14 + 3) * 86_400_000);
        assert_eq!(d("10s53ms"), 10_053);
        assert!(matches!(duration_literal("5"), Err(nom::Err::Error(_))));
        assert!(matches!(
            duration_literal("5m1h"),
            Err(nom::Err::Failure(_))
        ));
        assert!(matches!(duration_literal("5mm"), Err(nom::Err::Failure(_))));
        assert!(matches!(
            duration_literal("1h30"),
            Err(nom::Err::Failure(_))
        ));
    }

    #[test]
    fn strings() {
        let s = |i| {
            string_literal(i)
                .map(|(_, v)| v)
                .unwrap_or_else(|_| "<err>".into())
        };
        assert_eq!(s(r#""a\"b\n\x41\u00e9\101""#), "a\"b\nAéA");
        assert_eq!(s(r"'it\'s'"), "it's");
        assert_eq!(s("`raw\\n`"), "raw\\n");
        assert_eq!(s("\"open"), "<err>");
        assert_eq!(s(r#""\z""#), "<err>");
        assert_eq!(s("\"a\nb\""), "<err>");
    }
}
