//! The calendar functions (`year`, `month`, `day_of_week`, …) of a value
//! holding a Unix time in seconds, in UTC, on the proleptic Gregorian
//! calendar.
//!
//! Prometheus truncates the value to an `int64` first. Non-finite and
//! out-of-range values therefore follow Go on amd64: they become
//! `i64::MIN` seconds, which Go's `time` package (1.23 and later) wraps
//! around its 64-bit absolute clock to 292277026596-12-04 15:30:08 UTC.
//! That is the answer reproduced here, e.g. `year(vector(NaN))` is
//! 292277026596.

use super::go_float::go_f64_to_i64;
use crate::syntax::civil_from_days;

/// A calendar field of a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// 1..=31.
    DayOfMonth,
    /// 0..=6, Sunday is 0.
    DayOfWeek,
    /// 1..=366.
    DayOfYear,
    /// 28..=31.
    DaysInMonth,
    /// 0..=23.
    Hour,
    /// 0..=59.
    Minute,
    /// 1..=12.
    Month,
    Year,
}

/// Seconds from Go's absolute zero instant (March 1 of year -292277022400,
/// proleptic Gregorian) to the Unix epoch. Go computes calendar fields from
/// `unix + this` as a wrapping unsigned 64-bit number.
const UNIX_TO_ABSOLUTE: i128 = 9_223_372_028_741_760_000;

const SECONDS_PER_DAY: i128 = 86_400;

/// The `field` of the Unix time `v` (seconds), as Prometheus computes it.
pub(crate) fn field(field: Field, v: f64) -> f64 {
    let secs = effective_unix_seconds(go_f64_to_i64(v));
    let days = secs.div_euclid(SECONDS_PER_DAY);
    let second_of_day = secs.rem_euclid(SECONDS_PER_DAY);
    // |days| < 2^64 / 86400, far inside i64.
    let days = days as i64;
    let (year, month, day) = civil_from_days(days);
    // Every field fits an f64 exactly (years are below 2^40).
    match field {
        Field::DayOfMonth => day as f64,
        // 1970-01-01 was a Thursday (4).
        Field::DayOfWeek => (days + 4).rem_euclid(7) as f64,
        Field::DayOfYear => day_of_year(year, month, day) as f64,
        Field::DaysInMonth => days_in_month(year, month) as f64,
        Field::Hour => (second_of_day / 3600) as f64,
        Field::Minute => (second_of_day % 3600 / 60) as f64,
        Field::Month => month as f64,
        Field::Year => year as f64,
    }
}

/// The instant Go's calendar code sees for Unix time `secs`: the same, unless
/// it lies before Go's absolute zero, in which case the 64-bit absolute time
/// wraps around to the far future.
fn effective_unix_seconds(secs: i64) -> i128 {
    let absolute = (i128::from(secs) + UNIX_TO_ABSOLUTE).rem_euclid(1 << 64);
    absolute - UNIX_TO_ABSOLUTE
}

fn is_leap(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn day_of_year(year: i64, month: i64, day: i64) -> i64 {
    (1..month).map(|m| days_in_month(year, m)).sum::<i64>() + day
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timestamps and results from testdata/promql/functions.test.
    #[test]
    fn table() {
        use Field::*;
        let cases: &[(&str, Field, f64, f64)] = &[
            ("epoch year", Year, 0.0, 1970.0),
            ("epoch month", Month, 0.0, 1.0),
            ("epoch day of month", DayOfMonth, 0.0, 1.0),
            ("epoch day of year", DayOfYear, 0.0, 1.0),
            ("epoch is a Thursday", DayOfWeek, 0.0, 4.0),
            ("epoch hour", Hour, 0.0, 0.0),
            ("epoch minute", Minute, 0.0, 0.0),
            ("2006 year", Year, 1136239445.0, 2006.0),
            ("2006 month", Month, 1136239445.0, 1.0),
            ("2006 day of month", DayOfMonth, 1136239445.0, 2.0),
            ("2006 day of year", DayOfYear, 1136239445.0, 2.0),
            ("2006 day of week", DayOfWeek, 1136239445.0, 1.0),
            ("2006 hour", Hour, 1136239445.0, 22.0),
            ("2006 minute", Minute, 1136239445.0, 4.0),
            ("before leap second", Year, 1230767999.0, 2008.0),
            ("after leap second", Year, 1230768000.0, 2009.0),
            ("leap day month", Month, 1456790399.0, 2.0),
            ("leap day", DayOfMonth, 1456790399.0, 29.0),
            ("after leap day month", Month, 1456790400.0, 3.0),
            ("after leap day", DayOfMonth, 1456790400.0, 1.0),
            ("366th day", DayOfYear, 1483191420.0, 366.0),
            ("365th day", DayOfYear, 1672493820.0, 365.0),
            ("February 2016", DaysInMonth, 1454284800.0, 29.0),
            ("February 2017", DaysInMonth, 1485907200.0, 28.0),
        ];
        for (name, f, v, want) in cases {
            assert_eq!(field(*f, *v), *want, "{name}");
        }
    }

    #[test]
    fn fractions_truncate_toward_zero() {
        // -0.5 s truncates to 0 (1970), -1.5 s to -1 (1969-12-31 23:59:59).
        assert_eq!(field(Field::Year, -0.5), 1970.0);
        assert_eq!(field(Field::Year, -1.5), 1969.0);
        assert_eq!(field(Field::Minute, -1.5), 59.0);
        assert_eq!(field(Field::DayOfWeek, -1.5), 3.0);
    }

    #[test]
    fn negative_and_far_years() {
        // 0000-03-01T00:00:00Z (astronomical year 0 is a leap year).
        let march_1_year_0 = -62162035200.0;
        assert_eq!(field(Field::Year, march_1_year_0), 0.0);
        assert_eq!(field(Field::Month, march_1_year_0), 3.0);
        assert_eq!(field(Field::DaysInMonth, march_1_year_0 - 86400.0), 29.0);
        // 1900 is not a leap year, 2000 is.
        assert_eq!(field(Field::DaysInMonth, -2206310400.0), 28.0); // 1900-02-01
        assert_eq!(field(Field::DaysInMonth, 949363200.0), 29.0); // 2000-02-01
    }

    /// NaN, ±Inf and out-of-range values become `i64::MIN` seconds, which
    /// Go shows as 292277026596-12-04 15:30:08 UTC (a Sunday).
    #[test]
    fn non_finite_values_follow_go_on_amd64() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300] {
            assert_eq!(field(Field::Year, v), 292277026596.0, "{v}");
            assert_eq!(field(Field::Month, v), 12.0);
            assert_eq!(field(Field::DayOfMonth, v), 4.0);
            assert_eq!(field(Field::Hour, v), 15.0);
            assert_eq!(field(Field::Minute, v), 30.0);
            assert_eq!(field(Field::DayOfWeek, v), 0.0);
            assert_eq!(field(Field::DaysInMonth, v), 31.0);
            assert_eq!(field(Field::DayOfYear, v), 339.0);
        }
        // i64::MAX seconds is in range: one second earlier.
        assert_eq!(field(Field::Year, 9.223372036854775e18), 292277026596.0);
    }
}
