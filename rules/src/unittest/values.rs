//! `input_series` of rule unit tests: a series (`metric{labels}`) and its
//! values in promqltest's expanding notation (`1+2x3`, `_x2`, `stale`,
//! native histograms `{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x3`,
//! `{{…}}+{{…}}x2`), and the histograms of `exp_samples`.

use tsdb::model::histogram::FloatHistogram;
use tsdb::model::{Labels, LabelsBuilder, METRIC_NAME, MatchOp};

/// One position of an expanded series: a value or an omitted sample.
pub type Point = Option<Value>;

/// A position's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Float(f64),
    Histogram(FloatHistogram),
}

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

/// Expands the values notation of promqltest (`1+2x3`, `_x2`, `stale`,
/// histograms) into positions (`None` = omitted).
pub fn expand(values: &str) -> Result<Vec<Point>, String> {
    Ok(promql::promqltest::expand_values(values)?
        .into_iter()
        .map(|p| match p {
            Some(promql::promqltest::Point::Float(v)) => Some(Value::Float(v)),
            Some(promql::promqltest::Point::Histogram(h)) => Some(Value::Histogram(h.value())),
            None => None,
        })
        .collect())
}

/// An expected histogram as `exp_samples` write it (`{{count:2 sum:3
/// buckets:[2]}}`), and whether its counter-reset hint is to be compared
/// (only when spelled out).
pub fn parse_expected_histogram(s: &str) -> Result<(FloatHistogram, bool), String> {
    let body = s
        .trim()
        .strip_prefix("{{")
        .and_then(|b| b.strip_suffix("}}"))
        .ok_or_else(|| format!("{s:?}: a histogram is written {{{{…}}}}"))?;
    let lit = promql::promqltest::parse_histogram(body)?;
    Ok((lit.to_float(), lit.counter_reset_hint.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_and_histograms_expand() {
        assert_eq!(expand("1 _ stale").map(|v| v.len()), Ok(3));
        let got = expand("{{schema:0 count:1 sum:2}}+{{count:1 sum:1}}x2 3").unwrap();
        let counts: Vec<Option<f64>> = got
            .iter()
            .map(|p| match p {
                Some(Value::Histogram(h)) => Some(h.count),
                Some(Value::Float(v)) => Some(*v),
                None => None,
            })
            .collect();
        assert_eq!(counts, vec![Some(1.0), Some(2.0), Some(3.0), Some(3.0)]);
        let (h, hint) = parse_expected_histogram("{{count:2 sum:3 buckets:[2]}}").unwrap();
        assert_eq!((h.count, h.sum, hint), (2.0, 3.0, false));
        let (_, hint) = parse_expected_histogram("{{count:2 counter_reset_hint:gauge}}").unwrap();
        assert!(hint);
        assert!(parse_expected_histogram("count:2").is_err());
        assert!(parse_expected_histogram("{{count:x}}").is_err());
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
