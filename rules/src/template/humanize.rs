//! Prometheus's `humanize*` functions and Go's printing of times.

use super::funcs::g4;

/// SI prefixes: `1234567` → `1.235M`, `0.001234` → `1.234m`.
pub fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", g4(v))
}

/// Binary prefixes: `1048576` → `1Mi`.
pub fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

/// Seconds as `1d 2h 3m 4s`, or with a sub-second prefix (`1.5ms`).
pub fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return g4(v);
    }
    if v == 0.0 {
        return "0s".into();
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        let d = v as i64;
        let (days, hours, minutes, seconds) = (d / 86_400, d / 3600 % 24, d / 60 % 60, d % 60);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", g4(v))
        };
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", g4(v))
}

/// Go's `time.Time.String()` in UTC for unix seconds:
/// `2015-06-23 13:19:44.128 +0000 UTC`.
pub fn go_time(secs: f64) -> String {
    let nanos = (secs * 1e9) as i64;
    let s = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let (y, m, d) = promql::syntax::civil_from_days(s.div_euclid(86_400));
    let r = s.rem_euclid(86_400);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        r / 3600,
        r / 60 % 60,
        r % 60
    );
    if frac != 0 {
        out.push_str(format!(".{frac:09}").trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_table() {
        type Case = (&'static str, fn(f64) -> String, f64, &'static str);
        let cases: &[Case] = &[
            ("si_mega", humanize, 1234567.0, "1.235M"),
            ("si_unit", humanize, 12.0, "12"),
            ("si_milli", humanize, 0.001234, "1.234m"),
            ("si_micro", humanize, 0.0000012, "1.2u"),
            ("si_zero", humanize, 0.0, "0"),
            ("si_neg_kilo", humanize, -1500.0, "-1.5k"),
            ("si_nan", humanize, f64::NAN, "NaN"),
            ("si_inf", humanize, f64::INFINITY, "+Inf"),
            ("bin_mebi", humanize1024, 1048576.0, "1Mi"),
            ("bin_small", humanize1024, 0.5, "0.5"),
            ("bin_kibi", humanize1024, 1536.0, "1.5ki"),
            ("dur_minutes", humanize_duration, 899.99, "14m 59s"),
            ("dur_days", humanize_duration, 90061.0, "1d 1h 1m 1s"),
            ("dur_hours", humanize_duration, 3600.0, "1h 0m 0s"),
            ("dur_seconds", humanize_duration, 1.5, "1.5s"),
            ("dur_zero", humanize_duration, 0.0, "0s"),
            ("dur_millis", humanize_duration, 0.0015, "1.5ms"),
            ("dur_negative", humanize_duration, -65.0, "-1m 5s"),
            (
                "time_ms",
                go_time,
                1435065584.128,
                "2015-06-23 13:19:44.128 +0000 UTC",
            ),
            ("time_epoch", go_time, 0.0, "1970-01-01 00:00:00 +0000 UTC"),
        ];
        for (name, f, v, want) in cases {
            assert_eq!(f(*v), *want, "{name}");
        }
    }
}
