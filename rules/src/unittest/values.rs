//! `input_series` of rule unit tests: a series (`metric{labels}`) and its
//! values in promqltest's expanding notation (`1+2x3`, `_x2`, `stale`).

use tsdb::model::{Labels, LabelsBuilder, METRIC_NAME, MatchOp};

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

/// Expands the values notation of promqltest (`1+2x3`, `_x2`, `stale`)
/// into positions (`None` = omitted). Native histograms are refused.
pub fn expand(values: &str) -> Result<Vec<Point>, String> {
    promql::promqltest::expand_values(values)?
        .into_iter()
        .map(|p| match p {
            Some(promql::promqltest::Point::Float(v)) => Ok(Some(v)),
            Some(promql::promqltest::Point::Histogram(_)) => {
                Err("native histograms are not supported by Almanac".to_string())
            }
            None => Ok(None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_refused() {
        assert_eq!(expand("1 _ stale").map(|v| v.len()), Ok(3));
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
