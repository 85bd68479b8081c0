//! Time parameters as Loki reads them: an integer of up to ten digits is
//! Unix seconds, a longer one nanoseconds; a number with a fraction is
//! seconds; otherwise RFC 3339 (to the nanosecond).

use crate::api::Params;
use crate::error::ApiError;

/// Nanoseconds since the epoch of `value`.
pub fn parse(value: &str) -> Result<i64, String> {
    let v = value.trim();
    if v.contains('.')
        && let Ok(f) = v.parse::<f64>()
    {
        let ns = (f * 1e9).round();
        if ns.is_finite() && ns.abs() < 9.2e18 {
            return Ok(ns as i64);
        }
        return Err(format!("{value:?} is out of range"));
    }
    if let Ok(n) = v.parse::<i64>() {
        let digits = v.trim_start_matches('-').len();
        return if digits <= 10 {
            Ok(n * 1_000_000_000)
        } else {
            Ok(n)
        };
    }
    rfc3339_ns(v).ok_or_else(|| {
        format!("cannot parse {value:?} as a time (nanoseconds, seconds or RFC 3339)")
    })
}

/// An RFC 3339 time to the nanosecond: the shared parser reads it to the
/// millisecond, the fraction's digits past the third are added here.
fn rfc3339_ns(v: &str) -> Option<i64> {
    let t = v.find('T')?;
    let Some(dot) = v[t..].find('.').map(|d| t + d) else {
        return promql::syntax::parse_time(v).ok()?.checked_mul(1_000_000);
    };
    let digits = v[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
    let (frac, zone) = (&v[dot + 1..dot + 1 + digits], &v[dot + 1 + digits..]);
    if digits == 0 || digits > 9 {
        return None;
    }
    let ms_part = format!("{}.{:0<3}{zone}", &v[..dot], &frac[..digits.min(3)]);
    let ms = promql::syntax::parse_time(&ms_part).ok()?;
    let sub_ms: i64 = format!("{:0<6}", frac.get(3..).unwrap_or(""))
        .parse()
        .ok()?;
    ms.checked_mul(1_000_000)?.checked_add(sub_ms)
}

/// Parameter `k` as a time, `default` when absent or empty.
pub fn param(params: &Params, k: &str, default: i64) -> Result<i64, ApiError> {
    match params.get(k) {
        None | Some("") => Ok(default),
        Some(v) => {
            parse(v).map_err(|e| ApiError::BadData(format!("invalid parameter \"{k}\": {e}")))
        }
    }
}

/// Now, in nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// `start`/`end` of a range request (`since` before `end` when no start,
/// an hour by default); refuses an end before the start.
pub fn range(params: &Params) -> Result<(i64, i64), ApiError> {
    let end = param(params, "end", now_ns())?;
    let since = match params.get("since") {
        None | Some("") => 3_600_000_000_000,
        Some(v) => crate::api::parse_duration(v)
            .map_err(|e| ApiError::BadData(format!("invalid parameter \"since\": {e}")))?
            .saturating_mul(1_000_000),
    };
    let start = param(params, "start", end.saturating_sub(since))?;
    if end < start {
        return Err(ApiError::BadData(
            "invalid parameters: the end timestamp must not be before the start time".into(),
        ));
    }
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let cases: &[(&str, &str, Result<i64, &str>)] = &[
            (
                "seconds (Grafana's health check)",
                "4000000000",
                Ok(4_000_000_000_000_000_000),
            ),
            (
                "nanoseconds",
                "1700000000123456789",
                Ok(1_700_000_000_123_456_789),
            ),
            (
                "fractional seconds",
                "1700000000.5",
                Ok(1_700_000_000_500_000_000),
            ),
            (
                "RFC 3339",
                "2023-11-14T22:13:20Z",
                Ok(1_700_000_000_000_000_000),
            ),
            (
                "RFC 3339 to the nanosecond",
                "2023-11-14T22:13:20.123456789Z",
                Ok(1_700_000_000_123_456_789),
            ),
            (
                "RFC 3339 microseconds with an offset",
                "2023-11-15T00:13:20.000042+02:00",
                Ok(1_700_000_000_000_042_000),
            ),
            (
                "RFC 3339 milliseconds",
                "2023-11-14T22:13:20.5Z",
                Ok(1_700_000_000_500_000_000),
            ),
            (
                "ten fraction digits",
                "2023-11-14T22:13:20.1234567890Z",
                Err("cannot parse"),
            ),
            ("garbage", "soon", Err("cannot parse")),
        ];
        for (name, v, want) in cases {
            match (parse(v), want) {
                (Ok(g), Ok(w)) => assert_eq!(g, *w, "{name}"),
                (Err(g), Err(w)) => assert!(g.contains(w), "{name}: {g}"),
                (g, w) => panic!("{name}: got {g:?}, want {w:?}"),
            }
        }
    }
}
