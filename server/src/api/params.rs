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
        promql::syntax::parse_time(v)
            .map_err(|e| ApiError::BadData(format!("invalid parameter \"{k}\": {e}")))
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

/// A duration in ms: float seconds (`15`, `0.5`) or Prometheus syntax
/// (`1h30m`, `500ms`).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() || f.abs() > 9.2e15 {
            return Err(format!("cannot parse {s:?} to a valid duration"));
        }
        return Ok((f * 1000.0).round() as i64);
    }
    promql::syntax::parse_duration(s).map_err(|_| format!("cannot parse {s:?} to a valid duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
