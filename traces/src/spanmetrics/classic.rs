//! Classic latency buckets (`<name>_bucket{le}`, `_sum`, `_count`), for
//! dashboards and Grafana views that read classic histograms; written
//! besides or instead of the native histogram
//! (`span_metrics.latency_histogram`).

use tsdb::model::SeriesRef;

use super::Writer;

/// Tempo's default bounds, in seconds.
pub const DEFAULT_BOUNDS: &[f64] = &[
    0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
    16.384,
];

/// Counts per bucket (not cumulative, the last for values past every
/// bound), with the sum and count of the values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Buckets {
    pub fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.counts.len() != bounds.len() + 1 {
            self.counts = vec![0; bounds.len() + 1];
        }
        self.counts[bucket(bounds, v)] += 1;
        self.sum += v;
        self.count += 1;
    }
}

/// The bucket of `v`: the first bound at or above it.
fn bucket(bounds: &[f64], v: f64) -> usize {
    bounds.partition_point(|b| *b < v)
}

/// A bound as the `le` label writes it.
fn le(bound: Option<f64>) -> String {
    bound.map_or_else(|| "+Inf".to_owned(), |b| b.to_string())
}

impl Writer<'_, '_> {
    /// Writes the buckets (cumulative), sum and count of one series as
    /// `<name>_bucket`, `<name>_sum`, `<name>_count` with the configured
    /// bounds; returns the bucket series that `exemplar_value` falls in.
    pub(super) fn classic(
        &mut self,
        name: &str,
        pairs: &[(&str, &str)],
        buckets: &Buckets,
        first: bool,
        exemplar_value: Option<f64>,
    ) -> Option<SeriesRef> {
        let bounds = &self.opts.classic_bounds;
        let mut cumulative = 0;
        let mut exemplar_series = None;
        let target = exemplar_value.map(|v| bucket(bounds, v));
        for i in 0..=bounds.len() {
            cumulative += buckets.counts.get(i).copied().unwrap_or(0);
            let le = le(bounds.get(i).copied());
            let mut with_le = pairs.to_vec();
            with_le.push(("le", &le));
            let r = self.counter(
                &format!("{name}_bucket"),
                &with_le,
                cumulative as f64,
                first,
            );
            if target == Some(i) {
                exemplar_series = r;
            }
        }
        self.counter(&format!("{name}_sum"), pairs, buckets.sum, first);
        let count = buckets.count as f64;
        self.counter(&format!("{name}_count"), pairs, count, first);
        exemplar_series
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_upper_inclusive() {
        let bounds = [0.1, 1.0];
        let mut b = Buckets::default();
        for v in [0.05, 0.1, 0.5, 1.0, 3.0] {
            b.observe(&bounds, v);
        }
        assert_eq!((b.counts, b.count), (vec![2, 2, 1], 5));
        assert_eq!(
            (le(Some(0.002)), le(Some(16.384)), le(None)),
            ("0.002".into(), "16.384".into(), "+Inf".into())
        );
    }
}
