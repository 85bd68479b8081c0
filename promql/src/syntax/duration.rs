//! Durations as Prometheus writes them: `(digits unit)+` with the units
//! `y w d h m s ms` (a year is 365 days), each at most once, largest first.

use crate::error::DurationError;

/// Milliseconds per unit, largest first (the order units must appear in).
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

/// The unit at the start of `s` (`ms` wins over `m`): its index in
/// [`UNITS`], name and size.
fn unit_at(s: &str) -> Option<(usize, &'static str, i64)> {
    UNITS
        .iter()
        .enumerate()
        .filter(|(_, (u, _))| s.starts_with(u))
        .max_by_key(|(_, (u, _))| u.len())
        .map(|(i, &(u, size))| (i, u, size))
}

/// Scans the longest run of `digits unit` groups at the start of `s`;
/// returns the milliseconds and the rest, which may start with digits
/// that have no unit (`1h30` → `(3_600_000, "30")`). Fails with
/// [`DurationError::Missing`] when `s` does not start with a group.
pub fn scan_duration(s: &str) -> Result<(i64, &str), DurationError> {
    let mut rest = s;
    let mut total: i64 = 0;
    let mut last: Option<usize> = None;
    loop {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        let (num, after) = rest.split_at(digits);
        let Some((rank, unit, size)) = unit_at(after) else {
            break;
        };
        if last.is_some_and(|l| rank <= l) {
            return Err(DurationError::OutOfOrder);
        }
        last = Some(rank);
        total = num
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(size))
            .and_then(|v| total.checked_add(v))
            .ok_or(DurationError::OutOfRange)?;
        rest = &after[unit.len()..];
    }
    match last {
        Some(_) => Ok((total, rest)),
        None => Err(DurationError::Missing),
    }
}

/// Parses a whole duration (`50m`, `1h30m`, `10s53ms`, or `0`) into
/// milliseconds: no sign, no fractions, nothing after it.
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    if s == "0" {
        return Ok(0);
    }
    match scan_duration(s)? {
        (ms, "") => Ok(ms),
        _ => Err(DurationError::Trailing),
    }
}

/// Formats milliseconds as Prometheus prints a duration: `1h30m`, `500ms`,
/// `0s`, `-5m`.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
    }
    let mut rest = ms.unsigned_abs();
    for (unit, size) in UNITS {
        let size = size.unsigned_abs();
        if rest >= size {
            out.push_str(&(rest / size).to_string());
            out.push_str(unit);
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let ok: &[(&str, &str, i64)] = &[
            ("zero", "0", 0),
            ("zero_with_unit", "0s", 0),
            ("minutes", "5m", 300_000),
            ("many_minutes", "50m", 3_000_000),
            ("seconds", "8000s", 8_000_000),
            ("hour_and_minutes", "1h30m", 5_400_000),
            ("ms", "500ms", 500),
            ("minute_and_second", "1m1s", 61_000),
            ("seconds_and_ms", "10s53ms", 10_053),
            ("minutes_and_ms", "5m1ms", 300_001),
            ("year", "1y", 365 * 86_400_000),
            ("year_week_day", "1y2w3d", (365 + 14 + 3) * 86_400_000),
        ];
        for (name, s, want) in ok {
            assert_eq!(parse_duration(s), Ok(*want), "{name}");
        }
        let bad: &[(&str, &str, DurationError)] = &[
            ("empty", "", DurationError::Missing),
            ("unitless", "5", DurationError::Missing),
            ("unknown_unit", "5x", DurationError::Missing),
            ("negative", "-5m", DurationError::Missing),
            ("fraction", "1.5m", DurationError::Missing),
            ("repeated", "1m1m", DurationError::OutOfOrder),
            ("increasing", "1s1m", DurationError::OutOfOrder),
            ("decreasing_then_up", "5m1h", DurationError::OutOfOrder),
            ("trailing_digits", "1m5", DurationError::Trailing),
            ("trailing_unit", "5mm", DurationError::Trailing),
            (
                "overflow",
                "99999999999999999999s",
                DurationError::OutOfRange,
            ),
            ("overflow_sum", "292471208y36w", DurationError::OutOfRange),
        ];
        for (name, s, want) in bad {
            assert_eq!(parse_duration(s), Err(*want), "{name}");
        }
    }

    #[test]
    fn scan_stops_before_a_group_without_unit() {
        assert_eq!(scan_duration("1mx2"), Ok((60_000, "x2")));
        assert_eq!(scan_duration("0msx15"), Ok((0, "x15")));
        assert_eq!(scan_duration("1h30"), Ok((3_600_000, "30")));
        assert_eq!(scan_duration("0x3"), Err(DurationError::Missing));
    }

    #[test]
    fn format_table() {
        let cases: &[(&str, i64, &str)] = &[
            ("zero", 0, "0s"),
            ("mixed", 299_000, "4m59s"),
            ("hour_and_minutes", 5_400_000, "1h30m"),
            ("ms", 500, "500ms"),
            ("minutes_and_ms", 179_999, "2m59s999ms"),
            ("day", 86_400_000, "1d"),
            ("negative", -300_000, "-5m"),
            ("year_week_day", (365 + 14 + 3) * 86_400_000, "1y2w3d"),
            ("min", i64::MIN, "-292471208y35w2d7h12m55s808ms"),
        ];
        for (name, ms, want) in cases {
            assert_eq!(format_duration(*ms), *want, "{name}");
        }
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_round_trips(ms in 0i64..=i64::MAX) {
            proptest::prop_assert_eq!(parse_duration(&format_duration(ms)), Ok(ms));
        }
    }
}
