//! Go's time layouts (`"2006-01-02T15:04:05Z07:00"`): the reference time
//! written the way a time should be, as `date` and `toDate` take them.
//! Times are in UTC (`MST` prints `UTC`, zones print `Z` or `+00:00`).
//!
//! Tokens, longest first where they share a prefix: `2006` `06` (year),
//! `January` `Jan` `01` `1` (month), `Monday` `Mon` (weekday), `02` `_2`
//! `2` (day), `002` (day of year), `15` `03` `3` (hour), `04` `4`
//! (minute), `05` `5` (second), `PM` `pm`, `.000…`/`,000…` (fraction,
//! fixed) and `.999…` (trimmed), `MST`, `Z07:00` `Z0700` `Z07` `-07:00`
//! `-0700` `-07` (zone). Anything else is copied.

use promql::syntax::{civil_from_days, days_from_civil};

const NS_PER_SEC: i64 = 1_000_000_000;
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Year4,
    Year2,
    MonthLong,
    MonthShort,
    Month2,
    Month1,
    DayLong,
    DayShort,
    Day2,
    DaySpace,
    Day1,
    YearDay,
    Hour24,
    Hour12Pad,
    Hour12,
    Minute2,
    Minute1,
    Second2,
    Second1,
    PmUpper,
    PmLower,
    /// Fixed digits of the fraction, with its separator.
    FracFixed(u8, char),
    /// Up to this many digits, trailing zeros (and the separator) trimmed.
    FracTrim(u8, char),
    ZoneName,
    /// ISO zones: `Z` for UTC when `z`; `colon`, and minutes when `mins`.
    Zone {
        z: bool,
        colon: bool,
        mins: bool,
    },
}

/// The layout as literal text and tokens.
fn tokens(layout: &str) -> Vec<Result<Tok, char>> {
    const TABLE: &[(&str, Tok)] = &[
        ("January", Tok::MonthLong),
        ("Jan", Tok::MonthShort),
        ("Monday", Tok::DayLong),
        ("Mon", Tok::DayShort),
        ("MST", Tok::ZoneName),
        ("2006", Tok::Year4),
        (
            "Z07:00",
            Tok::Zone {
                z: true,
                colon: true,
                mins: true,
            },
        ),
        (
            "Z0700",
            Tok::Zone {
                z: true,
                colon: false,
                mins: true,
            },
        ),
        (
            "Z07",
            Tok::Zone {
                z: true,
                colon: false,
                mins: false,
            },
        ),
        (
            "-07:00",
            Tok::Zone {
                z: false,
                colon: true,
                mins: true,
            },
        ),
        (
            "-0700",
            Tok::Zone {
                z: false,
                colon: false,
                mins: true,
            },
        ),
        (
            "-07",
            Tok::Zone {
                z: false,
                colon: false,
                mins: false,
            },
        ),
        ("002", Tok::YearDay),
        ("01", Tok::Month2),
        ("02", Tok::Day2),
        ("_2", Tok::DaySpace),
        ("03", Tok::Hour12Pad),
        ("04", Tok::Minute2),
        ("05", Tok::Second2),
        ("06", Tok::Year2),
        ("15", Tok::Hour24),
        ("PM", Tok::PmUpper),
        ("pm", Tok::PmLower),
        ("1", Tok::Month1),
        ("2", Tok::Day1),
        ("3", Tok::Hour12),
        ("4", Tok::Minute1),
        ("5", Tok::Second1),
    ];
    let mut out = Vec::new();
    let mut rest = layout;
    'next: while let Some(c) = rest.chars().next() {
        if c == '.' || c == ',' {
            let after = &rest[1..];
            for digit in ['0', '9'] {
                let n = after.chars().take_while(|&d| d == digit).count();
                // A fraction: its digits not followed by another digit.
                if n > 0 && !after[n..].starts_with(|d: char| d.is_ascii_digit()) {
                    let n = n.min(9) as u8;
                    out.push(Ok(if digit == '0' {
                        Tok::FracFixed(n, c)
                    } else {
                        Tok::FracTrim(n, c)
                    }));
                    rest = &after[after.chars().take_while(|&d| d == digit).count()..];
                    continue 'next;
                }
            }
        }
        for (text, tok) in TABLE {
            if let Some(r) = rest.strip_prefix(text) {
                out.push(Ok(*tok));
                rest = r;
                continue 'next;
            }
        }
        out.push(Err(c));
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `ns` (since the Unix epoch, UTC) written as `layout` says.
pub fn format(ns: i64, layout: &str) -> String {
    let secs = ns.div_euclid(NS_PER_SEC);
    let frac = ns.rem_euclid(NS_PER_SEC);
    let days = secs.div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sod = secs.rem_euclid(86_400);
    let (hour, min, sec) = (sod / 3600, sod / 60 % 60, sod % 60);
    let weekday = (days + 4).rem_euclid(7) as usize; // 1970-01-01 was a Thursday.
    let yday = days - days_from_civil(y, 1, 1) + 1;
    let h12 = if hour % 12 == 0 { 12 } else { hour % 12 };
    let mut out = String::new();
    for t in tokens(layout) {
        let piece = match t {
            Err(c) => c.to_string(),
            Ok(Tok::Year4) => format!("{y:04}"),
            Ok(Tok::Year2) => format!("{:02}", y.rem_euclid(100)),
            Ok(Tok::MonthLong) => MONTHS[(m - 1) as usize].to_string(),
            Ok(Tok::MonthShort) => MONTHS[(m - 1) as usize][..3].to_string(),
            Ok(Tok::Month2) => format!("{m:02}"),
            Ok(Tok::Month1) => m.to_string(),
            Ok(Tok::DayLong) => DAYS[weekday].to_string(),
            Ok(Tok::DayShort) => DAYS[weekday][..3].to_string(),
            Ok(Tok::Day2) => format!("{d:02}"),
            Ok(Tok::DaySpace) => format!("{d:>2}"),
            Ok(Tok::Day1) => d.to_string(),
            Ok(Tok::YearDay) => format!("{yday:03}"),
            Ok(Tok::Hour24) => format!("{hour:02}"),
            Ok(Tok::Hour12Pad) => format!("{h12:02}"),
            Ok(Tok::Hour12) => h12.to_string(),
            Ok(Tok::Minute2) => format!("{min:02}"),
            Ok(Tok::Minute1) => min.to_string(),
            Ok(Tok::Second2) => format!("{sec:02}"),
            Ok(Tok::Second1) => sec.to_string(),
            Ok(Tok::PmUpper) => if hour >= 12 { "PM" } else { "AM" }.to_string(),
            Ok(Tok::PmLower) => if hour >= 12 { "pm" } else { "am" }.to_string(),
            Ok(Tok::FracFixed(n, sep)) => {
                format!("{sep}{}", &format!("{frac:09}")[..usize::from(n)])
            }
            Ok(Tok::FracTrim(n, sep)) => {
                let digits = format!("{frac:09}");
                let kept = digits[..usize::from(n)].trim_end_matches('0');
                if kept.is_empty() {
                    String::new()
                } else {
                    format!("{sep}{kept}")
                }
            }
            Ok(Tok::ZoneName) => "UTC".to_string(),
            Ok(Tok::Zone { z: true, .. }) => "Z".to_string(),
            Ok(Tok::Zone { colon, mins, .. }) => match (colon, mins) {
                (true, _) => "+00:00",
                (false, true) => "+0000",
                (false, false) => "+00",
            }
            .to_string(),
        };
        out.push_str(&piece);
    }
    out
}

/// The position in `names` of the name (whole when `long`, else its first
/// three letters; any case) `rest` starts with; `rest` moves past it.
fn name_at(rest: &mut &str, names: &[&str], long: bool) -> Option<usize> {
    names.iter().position(|name| {
        let name = if long { name } else { &name[..3] };
        let found = rest
            .get(..name.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(name));
        if found {
            *rest = &rest[name.len()..];
        }
        found
    })
}

/// Reads `s` as `layout` writes times: nanoseconds since the epoch. A
/// zone offset in `s` is applied; as Go's, a fraction may follow the
/// seconds where the layout has none. A date part the layout lacks is taken
/// from 1970-01-01 (Go takes year 0, which nanoseconds since 1970 do not
/// reach).
pub fn parse(layout: &str, s: &str) -> Result<i64, String> {
    let bad = |what: &str| format!("parsing time {s:?} as {layout:?}: {what}");
    let (mut y, mut m, mut d) = (1970i64, 1i64, 1i64);
    let (mut hour, mut min, mut sec, mut frac) = (0i64, 0i64, 0i64, 0i64);
    let (mut pm, mut offset, mut by_year_day) = (None::<bool>, 0i64, false);
    let mut twelve_hour = false;
    let mut rest = s;
    let number = |rest: &mut &str, min_len: usize, max_len: usize, what: &str| {
        let n = rest
            .chars()
            .take(max_len)
            .take_while(char::is_ascii_digit)
            .count();
        if n < min_len {
            return Err(bad(&format!("cannot read {what}")));
        }
        let v: i64 = rest[..n].parse().map_err(|_| bad(what))?;
        *rest = &rest[n..];
        Ok(v)
    };
    let toks = tokens(layout);
    for (k, &t) in toks.iter().enumerate() {
        match t {
            Err(c) => {
                rest = rest
                    .strip_prefix(c)
                    .ok_or_else(|| bad(&format!("expected {c:?}")))?;
            }
            Ok(Tok::Year4) => y = number(&mut rest, 4, 4, "year")?,
            Ok(Tok::Year2) => {
                let v = number(&mut rest, 2, 2, "year")?;
                y = if v >= 69 { 1900 + v } else { 2000 + v };
            }
            Ok(Tok::MonthLong | Tok::MonthShort) => {
                let i = name_at(&mut rest, &MONTHS, t == Ok(Tok::MonthLong))
                    .ok_or_else(|| bad("month"))?;
                m = i as i64 + 1;
            }
            Ok(Tok::Month2) => m = number(&mut rest, 2, 2, "month")?,
            Ok(Tok::Month1) => m = number(&mut rest, 1, 2, "month")?,
            Ok(Tok::DayLong | Tok::DayShort) => {
                name_at(&mut rest, &DAYS, t == Ok(Tok::DayLong)).ok_or_else(|| bad("weekday"))?;
            }
            Ok(Tok::Day2) => d = number(&mut rest, 2, 2, "day")?,
            Ok(Tok::DaySpace) => {
                rest = rest.strip_prefix(' ').unwrap_or(rest);
                d = number(&mut rest, 1, 2, "day")?;
            }
            Ok(Tok::Day1) => d = number(&mut rest, 1, 2, "day")?,
            Ok(Tok::YearDay) => {
                let yd = number(&mut rest, 3, 3, "day of year")?;
                (m, d, by_year_day) = (1, yd, true);
            }
            Ok(Tok::Hour24) => hour = number(&mut rest, 2, 2, "hour")?,
            Ok(Tok::Hour12Pad) => {
                hour = number(&mut rest, 2, 2, "hour")?;
                twelve_hour = true;
            }
            Ok(Tok::Hour12) => {
                hour = number(&mut rest, 1, 2, "hour")?;
                twelve_hour = true;
            }
            Ok(Tok::Minute2) => min = number(&mut rest, 2, 2, "minute")?,
            Ok(Tok::Minute1) => min = number(&mut rest, 1, 2, "minute")?,
            Ok(Tok::Second2 | Tok::Second1) => {
                let min_len = if t == Ok(Tok::Second2) { 2 } else { 1 };
                sec = number(&mut rest, min_len, 2, "second")?;
                // A fraction the layout does not write, as Go accepts it.
                let next_is_frac = matches!(
                    toks.get(k + 1),
                    Some(Ok(Tok::FracFixed(..) | Tok::FracTrim(..)))
                );
                if !next_is_frac
                    && let Some(r) = rest.strip_prefix(['.', ','])
                    && r.starts_with(|c: char| c.is_ascii_digit())
                {
                    let n = r.chars().take_while(char::is_ascii_digit).count();
                    frac = format!("{:0<9}", &r[..n.min(9)])
                        .parse()
                        .map_err(|_| bad("fraction"))?;
                    rest = &r[n..];
                }
            }
            Ok(Tok::PmUpper | Tok::PmLower) => {
                let p = rest.get(..2).map(str::to_ascii_uppercase);
                pm = Some(match p.as_deref() {
                    Some("PM") => true,
                    Some("AM") => false,
                    _ => return Err(bad("AM/PM")),
                });
                rest = &rest[2..];
            }
            Ok(Tok::FracFixed(_, sep) | Tok::FracTrim(_, sep)) => {
                if let Some(r) = rest.strip_prefix(sep) {
                    let n = r.chars().take_while(char::is_ascii_digit).count();
                    let digits = &r[..n.min(9)];
                    frac = format!("{digits:0<9}")
                        .parse()
                        .map_err(|_| bad("fraction"))?;
                    rest = &r[n..];
                } else if matches!(t, Ok(Tok::FracFixed(..))) {
                    return Err(bad(&format!("expected {sep:?}")));
                }
            }
            Ok(Tok::ZoneName) => {
                let n = rest.chars().take_while(char::is_ascii_uppercase).count();
                if n < 3 {
                    return Err(bad("zone name"));
                }
                rest = &rest[n..];
            }
            Ok(Tok::Zone { z, colon, mins }) => {
                if z && let Some(r) = rest.strip_prefix('Z') {
                    rest = r;
                    continue;
                }
                let sign = match rest.chars().next() {
                    Some('+') => 1,
                    Some('-') => -1,
                    _ => return Err(bad("zone offset")),
                };
                rest = &rest[1..];
                let h = number(&mut rest, 2, 2, "zone hours")?;
                let mm = if mins {
                    if colon {
                        rest = rest.strip_prefix(':').ok_or_else(|| bad("zone offset"))?;
                    }
                    number(&mut rest, 2, 2, "zone minutes")?
                } else {
                    0
                };
                offset = sign * (h * 3600 + mm * 60);
            }
        }
    }
    if !rest.is_empty() {
        return Err(bad(&format!("extra text {rest:?}")));
    }
    if twelve_hour && hour > 12 {
        return Err(bad("hour out of range"));
    }
    match pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let month_days = |y: i64, m: i64| {
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)
    };
    let last_day = if by_year_day {
        days_from_civil(y + 1, 1, 1) - days_from_civil(y, 1, 1)
    } else if (1..=12).contains(&m) {
        month_days(y, m)
    } else {
        return Err(bad("month out of range"));
    };
    if !(1..=last_day).contains(&d) || hour > 23 || min > 59 || sec > 59 {
        return Err(bad("value out of range"));
    }
    let days = days_from_civil(y, m, 1) + d - 1;
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset;
    secs.checked_mul(NS_PER_SEC)
        .and_then(|n| n.checked_add(frac))
        .ok_or_else(|| bad("out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2009-11-10T23:04:05.012345678Z, a Tuesday, day 314.
    const T: i64 = 1_257_894_245_012_345_678;

    #[test]
    fn formats() {
        let cases = [
            ("2006-01-02T15:04:05Z07:00", "2009-11-10T23:04:05Z"),
            ("2006-01-02 15:04:05.000", "2009-11-10 23:04:05.012"),
            (
                "2006-01-02T15:04:05.999999999-07:00",
                "2009-11-10T23:04:05.012345678+00:00",
            ),
            (
                "Mon Jan _2 15:04:05 MST 2006",
                "Tue Nov 10 23:04:05 UTC 2009",
            ),
            (
                "Monday, 02-January-06 03:04PM",
                "Tuesday, 10-November-09 11:04PM",
            ),
            ("1/2/06 3:4:5 pm", "11/10/09 11:4:5 pm"),
            ("002 -0700 Z0700 -07", "314 +0000 Z +00"),
            ("15:04:05,000000", "23:04:05,012345"),
            ("no tokens here: x", "no tokens here: x"),
        ];
        for (layout, want) in cases {
            assert_eq!(format(T, layout), want, "{layout}");
        }
        assert_eq!(
            format(0, "2006-01-02.999"),
            "1970-01-01",
            "trimmed fraction"
        );
        assert_eq!(
            format(-1, "2006-01-02T15:04:05.000"),
            "1969-12-31T23:59:59.999"
        );
    }

    #[test]
    fn parses_what_it_formats() {
        let layouts = [
            "2006-01-02T15:04:05.999999999Z07:00",
            "2006-01-02 15:04:05.000000000",
            "Mon Jan _2 15:04:05.000000000 MST 2006",
            "Monday, 02-January-2006 03:04:05.000000000PM",
        ];
        for layout in layouts {
            let text = format(T, layout);
            assert_eq!(parse(layout, &text), Ok(T), "{layout}: {text}");
        }
    }

    #[test]
    fn parse_table() {
        let ok = [
            ("2006-01-02", "2024-02-29", 1_709_164_800 * NS_PER_SEC),
            (
                "2006-01-02T15:04:05Z07:00",
                "2024-02-29T01:00:00+01:00",
                1_709_164_800 * NS_PER_SEC,
            ),
            (
                "02/01/2006 15:04",
                "29/02/2024 00:30",
                (1_709_164_800 + 1800) * NS_PER_SEC,
            ),
            ("3:04PM", "12:00AM", 0),
            ("3:04PM", "1:30PM", (13 * 3600 + 1800) * NS_PER_SEC),
            (
                "2006-01-02 15:04:05",
                "1970-01-01 00:00:01.5",
                NS_PER_SEC + NS_PER_SEC / 2,
            ),
        ];
        for (layout, s, want) in ok {
            assert_eq!(parse(layout, s), Ok(want), "{layout} {s}");
        }
        for (layout, s) in [
            ("2006-01-02", "2024-13-01"),
            ("2006-01-02", "2023-02-29"),
            ("2006-01-02", "2024-04-31"),
            ("002 2006", "366 2023"),
            ("3:04PM", "13:00PM"),
            ("2006-01-02", "2024-02-01x"),
            ("2006-01-02", "24-02-01"),
            ("Jan 2", "Foo 2"),
            ("15:04 MST", "10:00 z"),
        ] {
            assert!(parse(layout, s).is_err(), "{layout} {s}");
        }
    }
}
