//! Prometheus's JSON envelope and value formatting.

use serde_json::{Value, json};

use crate::error::ApiError;

/// Formats a sample value as Prometheus does: `"NaN"`, `"+Inf"`, `"-Inf"`,
/// otherwise the shortest decimal that round-trips, without exponent.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

/// Timestamps are unix seconds as a JSON number with millisecond precision.
pub fn format_time(t_ms: i64) -> Value {
    if t_ms % 1000 == 0 {
        json!(t_ms / 1000)
    } else {
        // Written through a string so that 1.1 stays 1.1, not 1.100000001.
        let sign = if t_ms < 0 { "-" } else { "" };
        let abs = t_ms.unsigned_abs();
        let s = format!("{sign}{}.{:03}", abs / 1000, abs % 1000);
        let s = s.trim_end_matches('0');
        serde_json::from_str(s).unwrap_or(Value::Null)
    }
}

/// `{"status":"success","data":…}` plus warnings/infos when present.
pub fn success(data: Value, warnings: &[String], infos: &[String]) -> Value {
    let mut v = json!({"status": "success", "data": data});
    if !warnings.is_empty() {
        v["warnings"] = json!(warnings);
    }
    if !infos.is_empty() {
        v["infos"] = json!(infos);
    }
    v
}

/// `{"status":"error","errorType":…,"error":…}`.
pub fn error(e: &ApiError) -> Value {
    json!({"status": "error", "errorType": e.error_type(), "error": e.to_string()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_prometheus_formats_them() {
        let cases: &[(f64, &str)] = &[
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (2.0, "2"),
            (0.1, "0.1"),
            (1e21, "1000000000000000000000"),
            (1e-7, "0.0000001"),
            (-0.0, "-0"),
            (123.456, "123.456"),
        ];
        for (v, want) in cases {
            assert_eq!(format_float(*v), *want);
        }
    }

    #[test]
    fn times() {
        assert_eq!(format_time(4000).to_string(), "4");
        assert_eq!(format_time(1_435_781_451_781).to_string(), "1435781451.781");
        assert_eq!(format_time(1100).to_string(), "1.1");
        assert_eq!(format_time(-1500).to_string(), "-1.5");
    }
}
