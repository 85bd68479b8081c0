//! A latency distribution in the configured forms: a native histogram
//! (`<name>`) and classic buckets (`<name>_bucket{le}`, `_sum`, `_count`).

use tsdb::model::SeriesRef;
use tsdb::model::histogram::HistogramValue;

use super::classic::Buckets;
use super::histogram::ExpHistogram;
use super::{MetricsOptions, Writer, series_labels};

#[derive(Debug, Clone, Default)]
pub(super) struct Latency {
    native: ExpHistogram,
    classic: Buckets,
}

impl Latency {
    pub(super) fn observe(&mut self, opts: &MetricsOptions, seconds: f64) {
        if opts.native_latency {
            self.native.observe(seconds);
        }
        if !opts.classic_bounds.is_empty() {
            self.classic.observe(&opts.classic_bounds, seconds);
        }
    }
}

/// The series written for one distribution, to hang exemplars on.
pub(super) struct Written {
    pub native: Option<SeriesRef>,
    /// The classic bucket the exemplar's value falls in.
    pub bucket: Option<SeriesRef>,
}

impl Writer<'_, '_> {
    /// Writes `l` as `name` in the configured forms.
    pub(super) fn latency(
        &mut self,
        name: &str,
        pairs: &[(&str, &str)],
        l: &Latency,
        first: bool,
        exemplar_value: Option<f64>,
    ) -> Written {
        let native = if self.opts.native_latency {
            self.native_histogram(name, pairs, &l.native, first)
        } else {
            None
        };
        let bucket = if self.opts.classic_bounds.is_empty() {
            None
        } else {
            self.classic(name, pairs, &l.classic, first, exemplar_value)
        };
        Written { native, bucket }
    }

    fn native_histogram(
        &mut self,
        name: &str,
        pairs: &[(&str, &str)],
        h: &ExpHistogram,
        first: bool,
    ) -> Option<SeriesRef> {
        let labels = series_labels(name, pairs);
        if first {
            let zero = ExpHistogram::default().to_histogram();
            let res = self
                .app
                .append_histogram(&labels, self.t_ms - 1, HistogramValue::Int(zero));
            self.count(res);
        }
        let h = HistogramValue::Int(h.to_histogram());
        let res = self.app.append_histogram(&labels, self.t_ms, h);
        self.count(res)
    }
}
