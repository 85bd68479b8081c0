//! The expansion notation of series values (`1+1x3`, `_x2`, `stale`,
//! `{{…}}+{{…}}x5`) and of `@st` start-timestamp offsets.

use std::sync::Arc;

use tsdb::model::STALE_NAN;

use super::histogram::{HistogramLiteral, parse_histogram};
use super::lex::{scan_duration, scan_value};

/// Upper bound on the positions one item may expand to, so that a typo
/// such as `1x99999999999` is an error rather than an allocation failure.
const MAX_REPEAT: u64 = 10_000_000;

/// One expanded position with a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    /// A float; `stale` is [`STALE_NAN`].
    Float(f64),
    Histogram(HistogramPoint),
}

/// A native histogram position, left unevaluated: `base + times * delta`.
/// `H+DxN` yields `times = 0, 1, …, N`; `H-DxN` yields `0, -1, …, -N`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramPoint {
    pub base: Arc<HistogramLiteral>,
    pub delta: Option<Arc<HistogramLiteral>>,
    pub times: i64,
}

impl HistogramPoint {
    /// The histogram at this position, with the base's counter-reset hint.
    pub fn value(&self) -> tsdb::model::histogram::FloatHistogram {
        let mut h = self.base.to_float();
        if let Some(d) = &self.delta
            && self.times != 0
        {
            let mut d = d.to_float();
            d.scale(self.times as f64);
            let hint = h.hint;
            // Literals of one series share a schema; a mismatch leaves the
            // base as it is.
            if h.add_assign(&d, false).is_ok() {
                h.hint = hint;
            }
        }
        h
    }
}

/// Expands the whitespace-separated value items of a series line; `None`
/// is an omitted position (`_`). Histogram literals may contain spaces.
pub fn expand_values(s: &str) -> Result<Vec<Option<Point>>, String> {
    let mut out = Vec::new();
    for item in split_items(s)? {
        expand_item(item, &mut out).map_err(|e| format!("item {item:?}: {e}"))?;
    }
    Ok(out)
}

/// Splits on whitespace outside `{{…}}`.
fn split_items(s: &str) -> Result<Vec<&str>, String> {
    let mut items = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with("{{") {
            let close = rest
                .find("}}")
                .ok_or_else(|| format!("unclosed histogram literal at {rest:?}"))?;
            start.get_or_insert(i);
            i += close + 2;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                items.push(&s[st..i]);
            }
        } else {
            start.get_or_insert(i);
        }
        i += c.len_utf8();
    }
    if let Some(st) = start {
        items.push(&s[st..]);
    }
    Ok(items)
}

/// Parses `xN` (the whole remaining text).
fn repeat(rest: &str) -> Result<u64, String> {
    let n = rest
        .strip_prefix('x')
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("expected `x<count>`, got {rest:?}"))?;
    let n: u64 = n.parse().map_err(|_| format!("count {n} out of range"))?;
    if n >= MAX_REPEAT {
        return Err(format!("count {n} is too large"));
    }
    Ok(n)
}

fn expand_item(item: &str, out: &mut Vec<Option<Point>>) -> Result<(), String> {
    if item == "stale" {
        out.push(Some(Point::Float(STALE_NAN)));
        return Ok(());
    }
    if let Some(rest) = item.strip_prefix('_') {
        let n = if rest.is_empty() { 1 } else { repeat(rest)? };
        out.extend((0..n).map(|_| None));
        return Ok(());
    }
    if item.starts_with("{{") {
        return expand_histogram(item, out);
    }
    let (a, rest) = scan_value(item)?;
    if rest.is_empty() {
        out.push(Some(Point::Float(a)));
    } else if rest.starts_with('x') {
        let n = repeat(rest)?;
        out.extend((0..=n).map(|_| Some(Point::Float(a))));
    } else if rest.starts_with(['+', '-']) {
        let (step, rest) = scan_value(rest)?;
        let n = repeat(rest)?;
        // Repeated addition, as the reference does (not `a + i*step`).
        let mut v = a;
        out.push(Some(Point::Float(v)));
        for _ in 0..n {
            v += step;
            out.push(Some(Point::Float(v)));
        }
    } else {
        return Err(format!("unexpected {rest:?}"));
    }
    Ok(())
}

/// Scans `{{…}}` at the start of `s`.
fn scan_histogram(s: &str) -> Result<(Arc<HistogramLiteral>, &str), String> {
    let body = s
        .strip_prefix("{{")
        .ok_or_else(|| format!("expected `{{{{` at {s:?}"))?;
    let close = body
        .find("}}")
        .ok_or_else(|| "unclosed histogram literal".to_string())?;
    let h = parse_histogram(&body[..close])?;
    Ok((Arc::new(h), &body[close + 2..]))
}

fn expand_histogram(item: &str, out: &mut Vec<Option<Point>>) -> Result<(), String> {
    let (base, rest) = scan_histogram(item)?;
    let point = |delta: Option<Arc<HistogramLiteral>>, times| {
        Some(Point::Histogram(HistogramPoint {
            base: base.clone(),
            delta,
            times,
        }))
    };
    if rest.is_empty() {
        out.push(point(None, 0));
    } else if rest.starts_with('x') {
        let n = repeat(rest)?;
        out.extend((0..=n).map(|_| point(None, 0)));
    } else if let Some((sign, r)) = rest
        .strip_prefix('+')
        .map(|r| (1, r))
        .or_else(|| rest.strip_prefix('-').map(|r| (-1, r)))
    {
        let (delta, r) = scan_histogram(r)?;
        let n = repeat(r)? as i64;
        out.extend((0..=n).map(|i| point(Some(delta.clone()), sign * i)));
    } else {
        return Err(format!("unexpected {rest:?} after histogram"));
    }
    Ok(())
}

/// Expands the items of an `@st` line into start-time offsets in ms
/// (relative to each sample's time; `None` for `_`): `_`, `_xN`, `<d>`,
/// `<d>xN`, `<d>+<e>xN`, `<d>-<e>xN` with optionally signed durations.
pub fn expand_start_offsets(s: &str) -> Result<Vec<Option<i64>>, String> {
    let mut out = Vec::new();
    for item in s.split_whitespace() {
        expand_st_item(item, &mut out).map_err(|e| format!("@st item {item:?}: {e}"))?;
    }
    Ok(out)
}

fn signed_duration(s: &str) -> Result<(i64, &str), String> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    };
    let (d, rest) = scan_duration(body)?;
    Ok((sign * d, rest))
}

fn expand_st_item(item: &str, out: &mut Vec<Option<i64>>) -> Result<(), String> {
    if let Some(rest) = item.strip_prefix('_') {
        let n = if rest.is_empty() { 1 } else { repeat(rest)? };
        out.extend((0..n).map(|_| None));
        return Ok(());
    }
    let (d, rest) = signed_duration(item)?;
    if rest.is_empty() {
        out.push(Some(d));
    } else if rest.starts_with('x') {
        let n = repeat(rest)?;
        out.extend((0..=n).map(|_| Some(d)));
    } else if rest.starts_with(['+', '-']) {
        let (step, rest) = signed_duration(rest)?;
        let n = repeat(rest)?;
        let mut v = d;
        out.push(Some(v));
        for _ in 0..n {
            v = v.checked_add(step).ok_or("offset out of range")?;
            out.push(Some(v));
        }
    } else {
        return Err(format!("unexpected {rest:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Floats of an expansion; omitted positions as `None`.
    fn floats(s: &str) -> Vec<Option<f64>> {
        expand_values(s)
            .unwrap()
            .into_iter()
            .map(|p| match p {
                Some(Point::Float(v)) => Some(v),
                Some(Point::Histogram(_)) => panic!("histogram in {s}"),
                None => None,
            })
            .collect()
    }

    #[test]
    fn expansion_notation() {
        let cases: &[(&str, &str, &[Option<f64>])] = &[
            ("single", "5", &[Some(5.0)]),
            ("repeat", "3x2", &[Some(3.0), Some(3.0), Some(3.0)]),
            ("repeat_zero", "3x0", &[Some(3.0)]),
            (
                "increasing",
                "1+1x3",
                &[Some(1.0), Some(2.0), Some(3.0), Some(4.0)],
            ),
            ("omitted", "_", &[None]),
            ("omitted_repeat", "_x2", &[None, None]),
            ("omitted_zero", "_x0", &[]),
            (
                "negative_start",
                "-2+4x3",
                &[Some(-2.0), Some(2.0), Some(6.0), Some(10.0)],
            ),
            (
                "decreasing",
                "1-2x4",
                &[Some(1.0), Some(-1.0), Some(-3.0), Some(-5.0), Some(-7.0)],
            ),
            ("separators", "1_000", &[Some(1000.0)]),
            ("hex_is_repeat", "0x2", &[Some(0.0), Some(0.0), Some(0.0)]),
            (
                "mixed",
                " 1 _  2x1\t_x1 ",
                &[Some(1.0), None, Some(2.0), Some(2.0), None],
            ),
            (
                "inf",
                "-Infx1",
                &[Some(f64::NEG_INFINITY), Some(f64::NEG_INFINITY)],
            ),
            ("list", "0 0", &[Some(0.0), Some(0.0)]),
            (
                "omitted_between",
                "0 _ _ 0",
                &[Some(0.0), None, None, Some(0.0)],
            ),
            ("omitted_zero_then_value", "_x0 1", &[Some(1.0)]),
            ("exponent", "1e3 2.5E-1", &[Some(1000.0), Some(0.25)]),
            (
                "exponent_step",
                "1e1+1e1x2",
                &[Some(10.0), Some(20.0), Some(30.0)],
            ),
            (
                "inf_nan_case",
                "Inf -inf",
                &[Some(f64::INFINITY), Some(f64::NEG_INFINITY)],
            ),
            ("octal", "010", &[Some(8.0)]),
            (
                "fraction_step",
                "0.1+0.1x2",
                &[Some(0.1), Some(0.2), Some(0.30000000000000004)],
            ),
        ];
        for (name, s, want) in cases {
            assert_eq!(floats(s), *want, "{name}");
        }
    }

    #[test]
    fn arithmetic_series_adds_repeatedly() {
        let got = floats("0.1+0.1x10");
        let mut v = 0.1;
        let mut want = vec![Some(v)];
        for _ in 0..10 {
            v += 0.1;
            want.push(Some(v));
        }
        assert_eq!(got, want);
        // Repeated addition differs from multiplication in the last bits.
        assert_ne!(got[10], Some(0.1 + 10.0 * 0.1));
    }

    #[test]
    fn stale_is_the_marker() {
        let got = floats("1 stale");
        assert_eq!(got.len(), 2);
        assert!(got[1].is_some_and(tsdb::model::is_stale_nan));
        assert!(expand_values("stalex2").is_err());
    }

    #[test]
    fn histograms() {
        let got = expand_values(
            "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}+{{sum:2 count:1}}x2 {{}}x1 _",
        )
        .unwrap();
        assert_eq!(got.len(), 6);
        let times: Vec<Option<i64>> = got
            .iter()
            .map(|p| match p {
                Some(Point::Histogram(h)) => Some(h.times),
                _ => None,
            })
            .collect();
        assert_eq!(times, [Some(0), Some(1), Some(2), Some(0), Some(0), None]);
        let Some(Point::Histogram(h)) = &got[1] else {
            panic!("not a histogram")
        };
        assert_eq!(h.base.count, 4.0);
        assert_eq!(h.delta.as_ref().map(|d| d.sum), Some(2.0));
        let neg = expand_values("{{count:9}}-{{count:1}}x2").unwrap();
        assert!(matches!(&neg[2], Some(Point::Histogram(h)) if h.times == -2));
    }

    #[test]
    fn invalid_items() {
        for (name, s) in [
            ("word", "foo"),
            ("missing_count", "1+1"),
            ("bad_count", "1x"),
            ("trailing", "1x2y"),
            ("unclosed_histogram", "{{count:1"),
            ("histogram_bad_suffix", "{{}}y"),
            ("huge", "1x99999999999"),
        ] {
            assert!(expand_values(s).is_err(), "{name}");
        }
    }

    #[test]
    fn start_offsets() {
        let cases: &[(&str, &str, &[Option<i64>])] = &[
            ("omitted", "_ _x2", &[None, None, None]),
            (
                "steps",
                "-30s-1mx2",
                &[Some(-30_000), Some(-90_000), Some(-150_000)],
            ),
            ("repeat", "-1msx1", &[Some(-1), Some(-1)]),
            ("zero", "-0msx1", &[Some(0), Some(0)]),
            ("positive", "1s+1sx1", &[Some(1000), Some(2000)]),
        ];
        for (name, s, want) in cases {
            assert_eq!(expand_start_offsets(s).as_deref(), Ok(*want), "{name}");
        }
        assert!(expand_start_offsets("-1m+").is_err());
    }
}
