//! Query results written straight to JSON text, in Prometheus's envelope.
//!
//! A range query over thousands of series has hundreds of thousands of
//! points; building a `serde_json::Value` per point (and parsing each
//! timestamp back from a string) cost more than evaluating the query. This
//! writer produces the same bytes Prometheus does: timestamps as numbers
//! of seconds with up to millisecond decimals, values as strings
//! (`"NaN"`, `"+Inf"`, shortest round-trip decimals), labels as objects.
//! Native histograms are `{"count":"…","sum":"…","buckets":[[rule,"lo",
//! "hi","n"],…]}` (non-empty buckets in ascending order; rule 0 is
//! `(lo,hi]`, 1 `[lo,hi)`, 2 `(lo,hi)`, 3 `[lo,hi]`), under `"histogram"`
//! in a vector element and `"histograms"` beside `"values"` in a matrix
//! series; either key is left out when it has nothing.

use std::fmt::Write;

use promql::value::{FloatDisplay, Value};
use tsdb::model::Labels;
use tsdb::model::histogram::{FloatHistogram, buckets};

/// The whole success envelope for a query result with at most `limit`
/// series (0: all); `truncated` is set when series were left out.
pub fn envelope(v: &Value, limit: usize, warnings: &[String], infos: &[String]) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push_str(r#"{"status":"success","data":"#);
    let truncated = data(&mut out, v, limit);
    let mut warnings = warnings.to_vec();
    if truncated {
        warnings.push("results truncated due to limit".into());
    }
    for (key, list) in [("warnings", &warnings[..]), ("infos", infos)] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, r#","{key}":["#);
        for (i, w) in list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            string(&mut out, w);
        }
        out.push(']');
    }
    out.push('}');
    out.into_bytes()
}

/// The `data` object; returns whether series were left out.
fn data(out: &mut String, v: &Value, limit: usize) -> bool {
    let cap = |n: usize| if limit > 0 { n.min(limit) } else { n };
    match v {
        Value::Scalar(s) => {
            out.push_str(r#"{"resultType":"scalar","result":"#);
            point(out, s.t, s.v);
            out.push('}');
            false
        }
        Value::String { t, v } => {
            out.push_str(r#"{"resultType":"string","result":["#);
            time(out, *t);
            out.push(',');
            string(out, v);
            out.push_str("]}");
            false
        }
        Value::Vector(vec) => {
            let n = cap(vec.len());
            out.push_str(r#"{"resultType":"vector","result":["#);
            for (i, s) in vec[..n].iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                labels(out, &s.labels);
                match &s.h {
                    Some(h) => {
                        out.push_str(r#","histogram":"#);
                        histogram_point(out, s.t, h);
                    }
                    None => {
                        out.push_str(r#","value":"#);
                        point(out, s.t, s.v);
                    }
                }
                out.push('}');
            }
            out.push_str("]}");
            n < vec.len()
        }
        Value::Matrix(m) => {
            let n = cap(m.len());
            out.push_str(r#"{"resultType":"matrix","result":["#);
            for (i, s) in m[..n].iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                labels(out, &s.labels);
                if !s.samples.is_empty() || s.histograms.is_empty() {
                    out.push_str(r#","values":["#);
                    for (j, p) in s.samples.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        point(out, p.t, p.v);
                    }
                    out.push(']');
                }
                if !s.histograms.is_empty() {
                    out.push_str(r#","histograms":["#);
                    for (j, p) in s.histograms.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        histogram_point(out, p.t, &p.h);
                    }
                    out.push(']');
                }
                out.push('}');
            }
            out.push_str("]}");
            n < m.len()
        }
    }
}

fn point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    time(out, t);
    let _ = write!(out, r#","{}"]"#, FloatDisplay(v));
}

fn histogram_point(out: &mut String, t: i64, h: &FloatHistogram) {
    out.push('[');
    time(out, t);
    out.push(',');
    histogram(out, h);
    out.push(']');
}

/// One histogram object (Prometheus's `jsonutil` shape).
fn histogram(out: &mut String, h: &FloatHistogram) {
    let _ = write!(
        out,
        r#"{{"count":"{}","sum":"{}""#,
        FloatDisplay(h.count),
        FloatDisplay(h.sum)
    );
    let mut first = true;
    for b in buckets(h).into_iter().filter(|b| b.count != 0.0) {
        out.push_str(if first { r#","buckets":["# } else { "," });
        first = false;
        let rule = match (b.lower_inclusive, b.upper_inclusive) {
            (true, true) => 3,
            (false, true) => 0,
            (true, false) => 1,
            (false, false) => 2,
        };
        let _ = write!(
            out,
            r#"[{rule},"{}","{}","{}"]"#,
            FloatDisplay(b.lower),
            FloatDisplay(b.upper),
            FloatDisplay(b.count)
        );
    }
    if !first {
        out.push(']');
    }
    out.push('}');
}

fn time(out: &mut String, t_ms: i64) {
    super::json::write_time(out, t_ms);
}

fn labels(out: &mut String, l: &Labels) {
    out.push('{');
    for (i, l) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, &l.name);
        out.push(':');
        string(out, &l.value);
    }
    out.push('}');
}

/// A JSON string literal, escaped as serde_json escapes.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use promql::value::{RangeSeries, Scalar, VectorSample};
    use serde_json::json;
    use tsdb::model::Sample;

    use super::*;

    /// What the `serde_json` tree would print, as a reference.
    fn reference(v: &Value) -> serde_json::Value {
        let t = |ms: i64| -> serde_json::Value {
            serde_json::from_str(&{
                let mut s = String::new();
                time(&mut s, ms);
                s
            })
            .unwrap_or_default()
        };
        let labels = |l: &Labels| -> serde_json::Value {
            l.iter()
                .map(|l| (l.name.to_string(), json!(l.value.to_string())))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let data = match v {
            Value::Scalar(s) => {
                json!({"resultType": "scalar", "result": [t(s.t), FloatDisplay(s.v).to_string()]})
            }
            Value::String { t: ts, v } => json!({"resultType": "string", "result": [t(*ts), v]}),
            Value::Vector(vec) => {
                json!({"resultType": "vector", "result": vec.iter().map(|s| json!({"metric": labels(&s.labels), "value": [t(s.t), FloatDisplay(s.v).to_string()]})).collect::<Vec<_>>()})
            }
            Value::Matrix(m) => {
                json!({"resultType": "matrix", "result": m.iter().map(|s| json!({"metric": labels(&s.labels), "values": s.samples.iter().map(|p| json!([t(p.t), FloatDisplay(p.v).to_string()])).collect::<Vec<_>>()})).collect::<Vec<_>>()})
            }
        };
        json!({"status": "success", "data": data})
    }

    #[test]
    fn same_json_as_a_serde_tree() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("odd", "q\"uote\\ \n\u{1}é")]);
        let cases = [
            ("scalar", Value::Scalar(Scalar { t: 4000, v: 2.0 })),
            (
                "negative_time",
                Value::Scalar(Scalar {
                    t: -1500,
                    v: f64::NAN,
                }),
            ),
            (
                "string",
                Value::String {
                    t: 1,
                    v: "a\"b".into(),
                },
            ),
            (
                "vector",
                Value::Vector(vec![VectorSample {
                    labels: l.clone(),
                    t: 1_700_000_000_123,
                    v: f64::INFINITY,
                    h: None,
                }]),
            ),
            (
                "matrix",
                Value::Matrix(vec![RangeSeries {
                    labels: l.clone(),
                    samples: vec![Sample::new(10, -0.5), Sample::new(1_010, 1e21)],
                    histograms: vec![],
                }]),
            ),
        ];
        for (name, v) in cases {
            let text = envelope(&v, 0, &[], &[]);
            let got: serde_json::Value = serde_json::from_slice(&text).expect(name);
            assert_eq!(got, reference(&v), "{name}");
        }
    }

    #[test]
    fn limit_truncates_with_a_warning_and_annotations_follow() {
        let s = |v| VectorSample {
            labels: Labels::empty(),
            t: 0,
            v,
            h: None,
        };
        let v = Value::Vector(vec![s(1.0), s(2.0)]);
        let text =
            String::from_utf8(envelope(&v, 1, &[], &["PromQL info: x".into()])).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[0,"1"]}]},"warnings":["results truncated due to limit"],"infos":["PromQL info: x"]}"#
        );
    }

    #[test]
    fn histograms_in_prometheus_shape() {
        use std::sync::Arc;
        use tsdb::model::HistogramSample;
        use tsdb::model::histogram::Span;
        let h = Arc::new(FloatHistogram {
            schema: 0,
            count: 5.0,
            sum: 10.0,
            zero_threshold: 0.001,
            zero_count: 1.0,
            positive_spans: vec![Span::new(0, 3)],
            positive_buckets: vec![1.0, 2.0, 0.0],
            negative_spans: vec![Span::new(0, 1)],
            negative_buckets: vec![1.0],
            ..FloatHistogram::default()
        });
        let body = r#"{"count":"5","sum":"10","buckets":[[1,"-1","-0.5","1"],[3,"-0.001","0.001","1"],[0,"0.5","1","1"],[0,"1","2","2"]]}"#;
        let v = Value::Vector(vec![VectorSample {
            labels: Labels::empty(),
            t: 1000,
            v: 0.0,
            h: Some(h.clone()),
        }]);
        let text = String::from_utf8(envelope(&v, 0, &[], &[])).unwrap_or_default();
        assert_eq!(
            text,
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"histogram":[1,{body}]}}]}}}}"#
            )
        );
        let m = Value::Matrix(vec![RangeSeries {
            labels: Labels::empty(),
            samples: vec![],
            histograms: vec![HistogramSample { t: 2000, st: 0, h }],
        }]);
        let text = String::from_utf8(envelope(&m, 0, &[], &[])).unwrap_or_default();
        assert_eq!(
            text,
            format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"histograms":[[2,{body}]]}}]}}}}"#
            )
        );
        let empty = FloatHistogram::default();
        let mut out = String::new();
        histogram(&mut out, &empty);
        assert_eq!(out, r#"{"count":"0","sum":"0"}"#, "no buckets key");
    }
}
