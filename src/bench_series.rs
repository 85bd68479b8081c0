//! Series shared by the storage-engine benchmarks: HTTP request counters
//! with realistic labels, and a set of cardinality limits with every limit
//! on and none reached by them.

use tsdb::limits::Limits;
use tsdb::model::{Labels, Matcher};

/// Series `i` of an `http_requests_total` family (six labels, unique per
/// `i`); with `per_user`, a seventh label whose value is unique to it.
pub fn http_labels(i: usize, per_user: bool) -> Labels {
    let (instance, handler, user) = (
        format!("host-{}:8080", i / 10),
        format!("/api/v{}", i % 7),
        format!("u-{i}"),
    );
    let mut pairs = vec![
        ("__name__", "http_requests_total"),
        ("job", if i.is_multiple_of(2) { "api" } else { "node" }),
        ("instance", instance.as_str()),
        ("zone", ["a", "b", "c"][(i / 3) % 3]),
        ("code", ["200", "404", "500"][i % 3]),
        ("handler", handler.as_str()),
    ];
    if per_user {
        pairs.push(("user", user.as_str()));
    }
    Labels::from_pairs(&pairs)
}

/// Every cardinality limit on, none of them reached by the bench data.
pub fn all_limits() -> Limits {
    Limits {
        max_series: 10_000_000,
        max_series_per_metric: 10_000_000,
        max_series_per_metric_overrides: [("other".to_string(), 5)].into_iter().collect(),
        max_labels_per_series: 64,
        max_label_name_bytes: 1024,
        max_label_value_bytes: 4096,
        exempt: vec![vec![Matcher::equal("__name__", "up")]],
        max_new_series_per_minute: u64::MAX / 2,
        max_values_per_label_name: 10_000_000,
    }
}
