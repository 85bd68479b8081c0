//! Functions of instant vectors: math, time, labels, classic histograms.
//! (Interface only; the implementations land next.)

use std::cmp::Ordering;

use tsdb::model::Labels;

use super::Elem;
use crate::error::{Error, Result};
use crate::value::Annotations;

/// A function applied to every element's value on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elementwise {
    Abs,
}

impl Elementwise {
    pub fn from_name(name: &str) -> Option<Elementwise> {
        match name {
            "abs" => Some(Elementwise::Abs),
            _ => None,
        }
    }

    /// Whether the output drops the metric name.
    pub fn drops_name(self) -> bool {
        true
    }

    /// `v` is the element's value; `args` the call's other (scalar)
    /// arguments at this step. `None` drops the element.
    pub fn apply(self, v: f64, args: &[f64]) -> Option<f64> {
        let _ = args;
        match self {
            Elementwise::Abs => Some(v.abs()),
        }
    }
}

/// `histogram_quantile(q, input)` over classic `le` buckets at one step.
pub fn histogram_quantile(q: f64, input: Vec<Elem>, ann: &mut Annotations) -> Result<Vec<Elem>> {
    let _ = (q, input, ann);
    Err(Error::Execution(
        "histogram_quantile is not implemented yet".into(),
    ))
}

/// `histogram_fraction(lower, upper, input)` over classic `le` buckets.
pub fn histogram_fraction(
    lower: f64,
    upper: f64,
    input: Vec<Elem>,
    ann: &mut Annotations,
) -> Result<Vec<Elem>> {
    let _ = (lower, upper, input, ann);
    Err(Error::Execution(
        "histogram_fraction is not implemented yet".into(),
    ))
}

/// `label_replace(v, dst, replacement, src, regex)` for one element's labels.
pub fn label_replace(
    labels: &Labels,
    dst: &str,
    replacement: &str,
    src: &str,
    regex: &str,
) -> Result<Labels> {
    let _ = (dst, replacement, src, regex);
    Ok(labels.clone())
}

/// `label_join(v, dst, separator, src...)` for one element's labels.
pub fn label_join(labels: &Labels, dst: &str, sep: &str, srcs: &[String]) -> Result<Labels> {
    let _ = (dst, sep, srcs);
    Ok(labels.clone())
}

/// The order `sort_by_label` uses for label values.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    a.cmp(b)
}
