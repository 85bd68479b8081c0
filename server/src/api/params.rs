//! Request parameters as Prometheus's HTTP API reads them: times (RFC 3339
//! or unix seconds with a fraction), durations (`5m` or float seconds), and
//! form/query-string decoding.

use std::collections::HashMap;

use crate::error::ApiError;

/// Decoded `key=value` pairs from the query string and a form body.
/// Repeated keys (`match[]`) keep every value in order.
#[derive(Debug, Default, Clone)]
pub struct Params {
    values: HashMap<String, Vec<String>>,
}

impl Params {
    /// Parses `a=1&b=2` (query string or `application/x-www-form-urlencoded`).
    pub fn parse_into(&mut self, s: &str) {
        for pair in s.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            self.values
                .entry(percent_decode(k, true))
                .or_default()
                .push(percent_decode(v, true));
        }
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.values
            .get(k)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    pub fn all(&self, k: &str) -> &[String] {
        self.values.get(k).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A required time parameter.
    pub fn time(&self, k: &str) -> Result<i64, ApiError> {
        let v = self
            .get(k)
            .ok_or_else(|| ApiError::BadData(format!("invalid parameter \"{k}\": missing")))?;
        parse_time(v).map_err(|e| ApiError::BadData(format!("invalid parameter \"{k}\": {e}")))
    }

    /// An optional time parameter, `default` when absent or empty.
    pub fn time_or(&self, k: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(k) {
            None | Some("") => Ok(default),
            Some(_) => self.time(k),
        }
    }

    /// An optional duration in ms.
    pub fn duration(&self, k: &str) -> Result<Option<i64>, ApiError> {
        match self.get(k) {
            None | Some("") => Ok(None),
            Some(v) => parse_duration(v)
                .map(Some)
                .map_err(|e| ApiError::BadData(format!("invalid parameter \"{k}\": {e}"))),
        }
    }

    pub fn usize_or(&self, k: &str, default: usize) -> Result<usize, ApiError> {
        match self.get(k) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                ApiError::BadData(format!(
                    "invalid parameter \"{k}\": {v:?} is not a non-negative integer"
                ))
            }),
        }
    }
}

/// A URL path segment with its `%xx` escapes decoded (`+` stays).
pub fn decode_path_segment(s: &str) -> String {
    percent_decode(s, false)
}

/// `%xx` escapes decoded; `+` is a space in query strings
/// (`plus_is_space`), not in paths.
fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Unix seconds (`1700000000`, `1700000000.123`) or RFC 3339, to ms.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        let ms = (f * 1000.0).round();
        if ms.abs() > 9.2e18 {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        return Ok(ms as i64);
    }
    parse_rfc3339(s).ok_or_else(|| format!("cannot parse {s:?} to a valid timestamp"))
}

/// `2006-01-02T15:04:05.999Z` or with a `±hh:mm` offset.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_ms = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = s.get(start..i)?;
        if digits.is_empty() {
            return None;
        }
        let mut ms = String::from(&digits[..digits.len().min(3)]);
        while ms.len() < 3 {
            ms.push('0');
        }
        frac_ms = ms.parse().ok()?;
    }
    let offset_s = match b.get(i) {
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let o = oh * 3600 + om * 60;
            if sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    Some(secs * 1000 + frac_ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A duration in ms: float seconds (`15`, `0.5`) or Prometheus syntax
/// (`1h30m`, `500ms`).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() || f.abs() > 9.2e15 {
            return Err(format!("cannot parse {s:?} to a valid duration"));
        }
        return Ok((f * 1000.0).round() as i64);
    }
    parse_prom_duration(s).ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))
}

/// `[0-9]+(y|w|d|h|m|s|ms)` groups in decreasing order.
pub fn parse_prom_duration(s: &str) -> Option<i64> {
    const UNITS: &[(&str, i64)] = &[
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("ms", 1),
        ("m", 60_000),
        ("s", 1000),
    ];
    if s.is_empty() {
        return None;
    }
    let mut rest = s;
    let mut total: i64 = 0;
    let mut last_unit = i64::MAX;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, mult) = UNITS.iter().find(|(u, _)| rest.starts_with(u))?;
        if *mult >= last_unit {
            return None;
        }
        last_unit = *mult;
        rest = &rest[unit.len()..];
        total = total.checked_add(n.checked_mul(*mult)?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("1700000000", Some(1_700_000_000_000)),
            ("1700000000.123", Some(1_700_000_000_123)),
            ("4", Some(4000)),
            ("2015-07-01T20:10:51.781Z", Some(1_435_781_451_781)),
            ("2015-07-01T20:10:51Z", Some(1_435_781_451_000)),
            ("2015-07-01T22:10:51+02:00", Some(1_435_781_451_000)),
            ("1970-01-01T00:00:00Z", Some(0)),
            ("NaN", None),
            ("yesterday", None),
            ("2015-13-01T00:00:00Z", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_time(s).ok(), *want, "{s}");
        }
    }

    #[test]
    fn durations() {
        let cases: &[(&str, Option<i64>)] = &[
            ("15", Some(15_000)),
            ("0.5", Some(500)),
            ("1h30m", Some(5_400_000)),
            ("500ms", Some(500)),
            ("1m1s", Some(61_000)),
            ("1s1m", None),
            ("5x", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_duration(s).ok(), *want, "{s}");
        }
    }

    #[test]
    fn form_decoding() {
        let mut p = Params::default();
        p.parse_into("query=up%7Bjob%3D%22a%22%7D+or+vector(1)&match[]=a&match%5B%5D=b&x=%zz");
        assert_eq!(p.get("query"), Some("up{job=\"a\"} or vector(1)"));
        assert_eq!(p.all("match[]"), &["a".to_string(), "b".to_string()]);
        assert_eq!(p.get("x"), Some("%zz"));
    }
}
