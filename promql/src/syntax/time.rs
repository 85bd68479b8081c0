//! Calendar times: the proleptic Gregorian day arithmetic behind the
//! PromQL calendar functions, RFC 3339 in the HTTP API, and the times of
//! rules and templates.

use crate::error::TimeError;

/// Days from 0000-03-01 to 1970-01-01.
const EPOCH_SHIFT: i64 = 719_468;
/// Days in a 400-year era.
const DAYS_PER_ERA: i64 = 146_097;

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let march_month = (month + 9) % 12; // 0 = March … 11 = February
    let day_of_year = (153 * march_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT
}

/// Year, month (1..=12) and day (1..=31) of the day `days` after
/// 1970-01-01, on the proleptic Gregorian calendar.
///
/// Counts in 400-year eras that start on March 1, so that the leap day is
/// the last day of each era-year.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + EPOCH_SHIFT;
    let era = shifted.div_euclid(DAYS_PER_ERA);
    let day_of_era = shifted.rem_euclid(DAYS_PER_ERA); // 0..=146096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_march_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_march_year + 2) / 153;
    let day = day_of_march_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// RFC 3339 in UTC with milliseconds: `2015-07-01T20:10:51.781Z`.
pub fn format_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        r / 3600,
        r / 60 % 60,
        r % 60,
        ms.rem_euclid(1000)
    )
}

/// A time as the HTTP API and rule tests accept one, in ms: unix seconds
/// with an optional fraction (`1700000000.123`) or RFC 3339
/// (`2015-07-01T20:10:51.781Z`, `…+02:00`).
pub fn parse_time(s: &str) -> Result<i64, TimeError> {
    let bad = || TimeError(s.to_string());
    if let Ok(f) = s.parse::<f64>() {
        let ms = (f * 1000.0).round();
        if !ms.is_finite() || ms.abs() > 9.2e18 {
            return Err(bad());
        }
        return Ok(ms as i64);
    }
    parse_rfc3339(s).ok_or_else(bad)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_over_eras() {
        // Day-by-day consistency across a few centuries and an era
        // boundary, and the inverse at every day.
        let days_in_month = |y: i64, m: i64| match m {
            2 if y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut prev = civil_from_days(-800_000);
        for d in -799_999..200_000 {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d, "{y}-{m}-{dd}");
            let (py, pm, pd) = prev;
            if dd == 1 {
                assert_eq!(pd, days_in_month(py, pm), "end of month before {y}-{m}");
                assert!((m == 1 && pm == 12 && y == py + 1) || (m == pm + 1 && y == py));
            } else {
                assert_eq!((y, m, dd), (py, pm, pd + 1));
            }
            prev = (y, m, dd);
        }
    }

    #[test]
    fn civil_table() {
        let cases: &[(&str, i64, (i64, i64, i64))] = &[
            ("epoch", 0, (1970, 1, 1)),
            ("day_before_epoch", -1, (1969, 12, 31)),
            ("leap_day_2000", 11_016, (2000, 2, 29)),
            ("march_2000", 11_017, (2000, 3, 1)),
            ("year_one", -719_162, (1, 1, 1)),
        ];
        for (name, days, want) in cases {
            assert_eq!(civil_from_days(*days), *want, "{name}");
            assert_eq!(days_from_civil(want.0, want.1, want.2), *days, "{name}");
        }
    }

    #[test]
    fn times() {
        let cases: &[(&str, &str, Option<i64>)] = &[
            ("zero", "0", Some(0)),
            ("unix", "1700000000", Some(1_700_000_000_000)),
            ("unix_fraction", "1700000000.123", Some(1_700_000_000_123)),
            ("small", "4", Some(4000)),
            (
                "rfc3339_ms",
                "2015-07-01T20:10:51.781Z",
                Some(1_435_781_451_781),
            ),
            ("rfc3339", "2015-07-01T20:10:51Z", Some(1_435_781_451_000)),
            (
                "rfc3339_offset",
                "2015-07-01T22:10:51+02:00",
                Some(1_435_781_451_000),
            ),
            ("rfc3339_epoch", "1970-01-01T00:00:00Z", Some(0)),
            ("nan", "NaN", None),
            ("inf", "Inf", None),
            ("word", "yesterday", None),
            ("bad_month", "2015-13-01T00:00:00Z", None),
        ];
        for (name, s, want) in cases {
            assert_eq!(parse_time(s).ok(), *want, "{name}");
        }
    }

    #[test]
    fn rfc3339_formats() {
        let cases: &[(&str, i64, &str)] = &[
            ("epoch", 0, "1970-01-01T00:00:00.000Z"),
            ("ms", 1_435_781_451_781, "2015-07-01T20:10:51.781Z"),
            ("before_epoch", -1, "1969-12-31T23:59:59.999Z"),
        ];
        for (name, ms, want) in cases {
            assert_eq!(format_rfc3339(*ms), *want, "{name}");
            assert_eq!(parse_time(want), Ok(*ms), "{name}");
        }
    }
}
