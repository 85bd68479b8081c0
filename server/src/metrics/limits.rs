//! Self-metrics of the cardinality limits:
//! - `almanac_rejected_series_total{reason}`: series refused, once per
//!   refused series and write, by the limit that refused it;
//! - `almanac_rejected_series_by_metric{metric}`: the same by metric name,
//!   the 100 most refused metrics and the rest under `__other__`;
//! - `almanac_limit{limit}`: each limit's setting (0 = unlimited);
//! - `almanac_limit_utilization_ratio{limit}`: how full the series limits
//!   are (the fullest metric for the per-metric limit);
//! - `almanac_head_series`: series in the head.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use parking_lot::Mutex;
use tsdb::limits::{LimitKind, Limits};

use super::{escape, header};

/// Metrics listed by name before the rest go under `__other__`.
const TOP_METRICS: usize = 100;

/// The `reason` label of a limit.
pub fn reason(kind: LimitKind) -> &'static str {
    kind.config_key().trim_start_matches("limits.")
}

/// Refused-series counters.
#[derive(Default)]
pub struct LimitCounters {
    by_reason: Mutex<BTreeMap<&'static str, u64>>,
    by_metric: Mutex<HashMap<String, u64>>,
}

impl LimitCounters {
    /// Counts `n` refused series of `metric` by `kind`.
    pub fn record(&self, kind: LimitKind, metric: &str, n: u64) {
        *self.by_reason.lock().entry(reason(kind)).or_default() += n;
        *self.by_metric.lock().entry(metric.to_string()).or_default() += n;
    }

    pub fn render(&self, out: &mut String) {
        header(
            out,
            "almanac_rejected_series_total",
            "Series refused by cardinality limits, by limit.",
            "counter",
        );
        for (r, n) in self.by_reason.lock().iter() {
            let _ = writeln!(out, "almanac_rejected_series_total{{reason=\"{r}\"}} {n}");
        }
        header(
            out,
            "almanac_rejected_series_by_metric",
            "Series refused by cardinality limits, by metric (the top 100; the rest as __other__).",
            "counter",
        );
        let by_metric = self.by_metric.lock();
        let mut all: Vec<(&String, &u64)> = by_metric.iter().collect();
        all.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let other: u64 = all.iter().skip(TOP_METRICS).map(|(_, n)| **n).sum();
        for (m, n) in all.iter().take(TOP_METRICS) {
            let _ = writeln!(
                out,
                "almanac_rejected_series_by_metric{{metric=\"{}\"}} {n}",
                escape(m)
            );
        }
        if other > 0 {
            let _ = writeln!(
                out,
                "almanac_rejected_series_by_metric{{metric=\"__other__\"}} {other}"
            );
        }
    }
}

/// The head's state against the limits: settings, utilisation, series.
pub fn render_state(
    out: &mut String,
    limits: &Limits,
    head_series: u64,
    series_by_metric: &[(String, u64)],
) {
    header(
        out,
        "almanac_limit",
        "Cardinality limits (0 = unlimited).",
        "gauge",
    );
    let settings = [
        ("max_series", limits.max_series),
        ("max_series_per_metric", limits.max_series_per_metric),
        ("max_labels_per_series", limits.max_labels_per_series),
        ("max_label_name_bytes", limits.max_label_name_bytes),
        ("max_label_value_bytes", limits.max_label_value_bytes),
        (
            "max_new_series_per_minute",
            limits.max_new_series_per_minute,
        ),
    ];
    for (name, v) in settings {
        let _ = writeln!(out, "almanac_limit{{limit=\"{name}\"}} {v}");
    }
    header(
        out,
        "almanac_limit_utilization_ratio",
        "How full the series limits are (the fullest metric for the per-metric limit).",
        "gauge",
    );
    if limits.max_series > 0 {
        let r = head_series as f64 / limits.max_series as f64;
        let _ = writeln!(
            out,
            "almanac_limit_utilization_ratio{{limit=\"max_series\"}} {r}"
        );
    }
    let fullest = series_by_metric
        .iter()
        .filter_map(|(m, n)| {
            let l = limits.per_metric(m);
            (l > 0).then(|| *n as f64 / l as f64)
        })
        .fold(None, |acc: Option<f64>, r| {
            Some(acc.map_or(r, |a| a.max(r)))
        });
    if let Some(r) = fullest {
        let _ = writeln!(
            out,
            "almanac_limit_utilization_ratio{{limit=\"max_series_per_metric\"}} {r}"
        );
    }
    header(out, "almanac_head_series", "Series in the head.", "gauge");
    let _ = writeln!(out, "almanac_head_series {head_series}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_state_render() {
        let c = LimitCounters::default();
        c.record(LimitKind::MaxSeriesPerMetric, "m", 50);
        c.record(LimitKind::MaxSeriesPerMetric, "m", 50);
        c.record(LimitKind::MaxLabelValueBytes, "x", 1);
        let mut out = String::new();
        c.render(&mut out);
        assert!(
            out.contains("almanac_rejected_series_total{reason=\"max_series_per_metric\"} 100"),
            "{out}"
        );
        assert!(
            out.contains("almanac_rejected_series_total{reason=\"max_label_value_bytes\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("almanac_rejected_series_by_metric{metric=\"m\"} 100"),
            "{out}"
        );
        assert!(!out.contains("metric=\"__other__\""), "{out}");
        for i in 0..150 {
            c.record(LimitKind::MaxSeries, &format!("z{i:03}"), 1);
        }
        let mut out = String::new();
        c.render(&mut out);
        assert_eq!(
            out.matches("almanac_rejected_series_by_metric{").count(),
            101,
            "{out}"
        );
        assert!(
            out.contains("almanac_rejected_series_by_metric{metric=\"__other__\"} 52"),
            "{out}"
        );

        let limits = Limits {
            max_series: 1000,
            max_series_per_metric: 100,
            ..Limits::default()
        };
        let mut out = String::new();
        render_state(
            &mut out,
            &limits,
            250,
            &[("m".into(), 80), ("n".into(), 20)],
        );
        assert!(
            out.contains("almanac_limit{limit=\"max_series\"} 1000"),
            "{out}"
        );
        assert!(
            out.contains("almanac_limit_utilization_ratio{limit=\"max_series\"} 0.25"),
            "{out}"
        );
        assert!(
            out.contains("almanac_limit_utilization_ratio{limit=\"max_series_per_metric\"} 0.8"),
            "{out}"
        );
        assert!(out.contains("almanac_head_series 250"), "{out}");
    }
}
