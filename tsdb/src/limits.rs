//! Cardinality limits. They are checked in exactly one place: where the head
//! creates a series, so existing series keep ingesting when a limit is hit.

/// Zero means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Maximum number of series in the head.
    pub max_series: u64,
    /// Maximum number of head series sharing one metric name.
    pub max_series_per_metric: u64,
}
