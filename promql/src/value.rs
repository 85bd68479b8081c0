//! Query results: the four PromQL value types, and the annotations
//! (warnings and infos) a query collects on the way.

use std::collections::BTreeSet;
use std::fmt;

use std::sync::Arc;

use tsdb::model::histogram::FloatHistogram;
use tsdb::model::{HistogramSample, Labels, Sample};

/// One element of an instant vector: a series' labels and its value at
/// `t`: the float `v`, or the native histogram `h` when there is one (`v`
/// is then 0 and means nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
    pub h: Option<Arc<FloatHistogram>>,
}

/// One series of a range vector (matrix): float samples and native
/// histogram samples, each ascending by time, no time in both.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    pub samples: Vec<Sample>,
    pub histograms: Vec<HistogramSample>,
}

/// A scalar at time `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scalar {
    pub t: i64,
    pub v: f64,
}

/// The result of a query.
///
/// Range queries always return `Matrix` (series sorted by labels); instant
/// queries return whatever the expression's type is.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(Scalar),
    String { t: i64, v: String },
    Vector(Vec<VectorSample>),
    Matrix(Vec<RangeSeries>),
}

/// Non-fatal messages of one query, deduplicated, in text order.
///
/// Texts carry Prometheus's prefixes (`PromQL warning: `, `PromQL info: `)
/// so that they read the same as Prometheus's in API responses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    pub warnings: BTreeSet<String>,
    pub infos: BTreeSet<String>,
}

impl Annotations {
    /// Adds a warning; `msg` is the text after `PromQL warning: `.
    pub fn warn(&mut self, msg: impl fmt::Display) {
        self.warnings.insert(format!("PromQL warning: {msg}"));
    }

    /// Adds an info; `msg` is the text after `PromQL info: `.
    pub fn info(&mut self, msg: impl fmt::Display) {
        self.infos.insert(format!("PromQL info: {msg}"));
    }

    pub fn merge(&mut self, other: Annotations) {
        self.warnings.extend(other.warnings);
        self.infos.extend(other.infos);
    }
}

/// Formats a sample value as Prometheus's JSON API does (Go's
/// `strconv.FormatFloat(v, 'f', -1, 64)`): shortest round-trip decimal
/// without exponent, `NaN`, `+Inf`, `-Inf`.
#[derive(Debug, Clone, Copy)]
pub struct FloatDisplay(pub f64);

impl fmt::Display for FloatDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_nan() {
            f.write_str("NaN")
        } else if v == f64::INFINITY {
            f.write_str("+Inf")
        } else if v == f64::NEG_INFINITY {
            f.write_str("-Inf")
        } else {
            write!(f, "{v}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_prometheus_json() {
        let cases = [
            ("nan", f64::NAN, "NaN"),
            ("pos_inf", f64::INFINITY, "+Inf"),
            ("neg_inf", f64::NEG_INFINITY, "-Inf"),
            ("integer", 2.0, "2"),
            ("fraction", 0.1, "0.1"),
            ("large_no_exponent", 1e21, "1000000000000000000000"),
            ("small_no_exponent", 1.5e-7, "0.00000015"),
            ("negative_zero", -0.0, "-0"),
            ("tiny", 1e-7, "0.0000001"),
            ("decimal", 123.456, "123.456"),
        ];
        for (name, v, want) in cases {
            assert_eq!(FloatDisplay(v).to_string(), want, "{name}");
        }
    }
}
