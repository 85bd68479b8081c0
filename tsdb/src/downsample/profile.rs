//! What a tier keeps beyond the summary every function needs: the sum,
//! except for counters ([`CounterSuffixes`]), and on request the columns
//! of `stddev/stdvar_over_time` and `deriv/predict_linear` ([`Columns`]).
//!
//! The sum is a tier's costliest column (its residual is the bucket's
//! shape, about 1.5 bytes a 5m bucket at 15 s scrape, a third of the
//! bucket), and `sum_over_time` or `avg_over_time` of a counter is a
//! question nobody asks: counters' tiers leave it out. Such a series
//! answers those two from raw data while raw data covers the query, and
//! approximately (each bucket's values on the line from its first to its
//! last, with an info annotation) where only a tier does. Every other
//! function the tier covers stays exact.

use crate::model::{Labels, METRIC_NAME};

/// Metric-name suffixes that mark counters (OpenMetrics reserves
/// `_total` for counters and `_bucket`/`_count` for histogram and summary
/// series). A series whose name ends in one keeps no sum in its tiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSuffixes(pub Vec<String>);

impl Default for CounterSuffixes {
    fn default() -> Self {
        CounterSuffixes(["_total", "_bucket", "_count"].map(String::from).to_vec())
    }
}

impl CounterSuffixes {
    /// None: every series keeps its sum.
    pub fn none() -> Self {
        CounterSuffixes(Vec::new())
    }

    /// Whether `labels` name a counter whose tiers keep no sum.
    pub fn is_counter(&self, labels: &Labels) -> bool {
        let name = labels.get(METRIC_NAME);
        self.0
            .iter()
            .any(|s| !s.is_empty() && name.ends_with(s.as_str()))
    }
}

/// A part of a summary that not every tier keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `sum_over_time`, `avg_over_time`: all but counters.
    Sum,
    /// `stddev_over_time`, `stdvar_over_time`: on request.
    Moments,
    /// `deriv`, `predict_linear`: on request.
    Trend,
}

/// The optional columns a tier keeps (`downsampling.columns`: `stddev`,
/// `deriv`). Each costs about as much again as the rest of a bucket: they
/// are floats no decimal holds, stored XOR-compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Columns {
    pub moments: bool,
    pub trend: bool,
}

impl Columns {
    /// Both optional columns.
    pub const ALL: Columns = Columns {
        moments: true,
        trend: true,
    };

    /// From the configuration's names; the unknown name otherwise.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> std::result::Result<Columns, String> {
        let mut c = Columns::default();
        for n in names {
            match n.as_ref() {
                "stddev" => c.moments = true,
                "deriv" => c.trend = true,
                other => return Err(other.to_string()),
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_table() {
        let d = CounterSuffixes::default();
        for (name, want) in [
            ("http_requests_total", true),
            ("http_request_duration_seconds_bucket", true),
            ("http_request_duration_seconds_count", true),
            ("http_request_duration_seconds_sum", false),
            ("node_memory_MemFree_bytes", false),
            ("total", false),
            ("", false),
        ] {
            let labels = Labels::from_pairs(&[(METRIC_NAME, name)]);
            assert_eq!(d.is_counter(&labels), want, "{name:?}");
            assert!(!CounterSuffixes::none().is_counter(&labels), "{name:?}");
        }
        assert_eq!(
            Columns::from_names(&["deriv", "stddev"]),
            Ok(Columns {
                moments: true,
                trend: true
            })
        );
        assert_eq!(Columns::from_names(&["mad"]), Err("mad".to_string()));
        let empty = CounterSuffixes(vec![String::new()]);
        assert!(!empty.is_counter(&Labels::from_pairs(&[(METRIC_NAME, "x")])));
    }
}
