//! `input_series` of rule unit tests: a series (`metric{labels}`) and its
//! values in the expanding notation (`1+2x3`, `_x2`, `stale`, `5x0`).

use tsdb::model::{Labels, LabelsBuilder, METRIC_NAME, MatchOp, STALE_NAN};

/// One position of an expanded series: a value or an omitted sample.
pub type Point = Option<f64>;

/// Parses `metric{a="b"}` (or `{__name__="m", a="b"}`) into labels. Only
/// equality matchers are allowed.
pub fn parse_series(s: &str) -> Result<Labels, String> {
    let matchers = promql::parse_series_selector(s).map_err(|e| e.to_string())?;
    let mut b = LabelsBuilder::new();
    for m in matchers {
        if m.op != MatchOp::Equal {
            return Err(format!("{s:?}: only = matchers are allowed in a series"));
        }
        b.set(&m.name, &m.value);
    }
    let l = b.build();
    if l.is_empty() {
        return Err(format!("{s:?}: a series needs at least one label"));
    }
    Ok(l)
}

/// Parses a metric as `exp_samples` write it: `up{a="b"}`, `{a="b"}`,
/// or empty for no labels.
pub fn parse_metric(s: &str) -> Result<Labels, String> {
    if s.trim().is_empty() || s.trim() == "{}" {
        return Ok(Labels::empty());
    }
    parse_series(s).map(|l| {
        if l.metric_name().is_empty() {
            l.drop_names(&[METRIC_NAME])
        } else {
            l
        }
    })
}

/// A signed number: decimal, exponent, `Inf`, `NaN`, `_` separators.
fn number(s: &str) -> Result<f64, String> {
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let (sign, body) = match lower.strip_prefix('-') {
        Some(b) => (-1.0, b),
        None => (1.0, lower.strip_prefix('+').unwrap_or(&lower)),
    };
    let v = match body {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        b if b.starts_with("0x") => return Err(format!("invalid value {s:?}")),
        b if b.len() > 1 && b.starts_with('0') && b.bytes().all(|c| c.is_ascii_digit()) => {
            i64::from_str_radix(&b[1..], 8).map_err(|_| format!("invalid value {s:?}"))? as f64
        }
        b => b
            .parse::<f64>()
            .map_err(|_| format!("invalid value {s:?}"))?,
    };
    Ok(sign * v)
}

/// Expands the values notation into positions (`None` = omitted).
pub fn expand(values: &str) -> Result<Vec<Point>, String> {
    let mut out = Vec::new();
    for item in values.split_whitespace() {
        if item.contains("{{") {
            return Err("native histograms are not supported by Almanac".into());
        }
        if item == "stale" {
            out.push(Some(STALE_NAN));
            continue;
        }
        // `…xN`: N is the digits after the last `x`.
        let (head, times) = match item.rfind('x') {
            Some(i)
                if i > 0
                    && i + 1 < item.len()
                    && item[i + 1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                let n: usize = item[i + 1..]
                    .parse()
                    .map_err(|_| format!("invalid repetition in {item:?}"))?;
                (&item[..i], Some(n))
            }
            _ => (item, None),
        };
        if head == "_" {
            out.extend(std::iter::repeat_n(None, times.unwrap_or(1)));
            continue;
        }
        let Some(n) = times else {
            out.push(Some(number(head)?));
            continue;
        };
        // `a+b` / `a-b`: the step's sign is the first +/- after the start
        // that does not belong to an exponent.
        let b = head.as_bytes();
        let split = (1..b.len())
            .find(|&i| (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E'));
        let (start, step) = match split {
            Some(i) => (number(&head[..i])?, number(&head[i..])?),
            None => (number(head)?, 0.0),
        };
        let mut v = start;
        out.push(Some(v));
        for _ in 0..n {
            v += step;
            out.push(Some(v));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(p: &[Point]) -> String {
        p.iter()
            .map(|x| match x {
                None => "_".to_string(),
                Some(v) if tsdb::model::is_stale_nan(*v) => "stale".to_string(),
                Some(v) => v.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn expansion_table() {
        let cases: &[(&str, &str, &str)] = &[
            ("single", "1", "1"),
            ("list", "0 0", "0 0"),
            ("repeat", "1x2", "1 1 1"),
            ("increase", "1+1x2", "1 2 3"),
            ("decrease", "1-2x4", "1 -1 -3 -5 -7"),
            ("negative_start", "-2+4x3", "-2 2 6 10"),
            ("zero_repeat", "5x0", "5"),
            ("omitted", "0 _ _ 0", "0 _ _ 0"),
            ("omitted_repeat", "_x3 1", "_ _ _ 1"),
            ("omitted_zero", "_x0 1", "1"),
            ("stale", "0 stale", "0 stale"),
            ("hex_is_repeat", "0x5", "0 0 0 0 0 0"),
            ("exponent", "1e3 2.5E-1", "1000 0.25"),
            ("exponent_step", "1e1+1e1x2", "10 20 30"),
            ("inf_nan", "Inf -inf", "inf -inf"),
            ("underscore", "1_000", "1000"),
            ("fraction_step", "0.1+0.1x2", "0.1 0.2 0.30000000000000004"),
        ];
        for (name, input, want) in cases {
            assert_eq!(show(&expand(input).unwrap()), *want, "{name}");
        }
        assert!(expand("abc").is_err());
        assert!(expand("{{schema:1}}").unwrap_err().contains("histograms"));
    }

    #[test]
    fn series_and_metrics() {
        let l = parse_series(r#"up{job="a", instance="b"}"#).unwrap();
        assert_eq!(l.to_string(), r#"{__name__="up", instance="b", job="a"}"#);
        assert!(parse_series(r#"up{job="a""#).is_err());
        assert!(parse_series(r#"up{job=~"a"}"#).is_err());
        assert_eq!(parse_metric("").unwrap(), Labels::empty());
        assert_eq!(
            parse_metric(r#"{job="a"}"#).unwrap().to_string(),
            r#"{job="a"}"#
        );
    }
}
