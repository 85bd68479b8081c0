//! Prometheus's JSON envelope and value formatting.

use serde_json::{Value, json};

use crate::error::ApiError;

/// Writes a timestamp as Prometheus does: unix seconds, with the
/// milliseconds as decimals when there are any (`4`, `1.1`, `-0.001`).
pub fn write_time(out: &mut String, t_ms: i64) {
    use std::fmt::Write;
    let sign = if t_ms < 0 { "-" } else { "" };
    let abs = t_ms.unsigned_abs();
    let (secs, ms) = (abs / 1000, abs % 1000);
    let _ = match (ms % 100, ms % 10) {
        _ if ms == 0 => write!(out, "{sign}{secs}"),
        (0, _) => write!(out, "{sign}{secs}.{}", ms / 100),
        (_, 0) => write!(out, "{sign}{secs}.{:02}", ms / 10),
        _ => write!(out, "{sign}{secs}.{ms:03}"),
    };
}

/// A timestamp as a JSON number (see [`write_time`]); written through its
/// text so that 1.1 stays 1.1, not 1.100000001.
pub fn format_time(t_ms: i64) -> Value {
    let mut s = String::new();
    write_time(&mut s, t_ms);
    serde_json::from_str(&s).unwrap_or(Value::Null)
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
    fn times() {
        assert_eq!(format_time(4000).to_string(), "4");
        assert_eq!(format_time(1_435_781_451_781).to_string(), "1435781451.781");
        assert_eq!(format_time(1100).to_string(), "1.1");
        assert_eq!(format_time(-1500).to_string(), "-1.5");
        assert_eq!(format_time(1050).to_string(), "1.05");
        assert_eq!(format_time(-1).to_string(), "-0.001");
    }
}
