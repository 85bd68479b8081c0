//! Self-metrics of the cardinality limits:
//! - `almanac_rejected_series_total{reason}`: series refused, once per
//!   refused series and write, by the limit that refused it;
//! - `almanac_rejected_series_by_metric{metric}`: the same by metric name,
//!   the 100 most refused metrics and the rest under `__other__`;
//! - `almanac_limit{limit}`: each limit's setting (0 = unlimited);
//! - `almanac_limit_utilization_ratio{limit}`: how full the series limits
//!   are (the fullest metric for the per-metric limit);
//! - `almanac_head_series`: series in the head;
//! - `almanac_active_series`: head series with a sample in the last 10
//!   minutes of its data;
//! - `almanac_series_created_total`: series created in the head (WAL
//!   replay included) since the process started.

use std::collections::{BTreeMap, HashMap, VecDeque};
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
    /// Per reason and metric, for the limits status page.
    by_reason_metric: Mutex<HashMap<(&'static str, String), u64>>,
    /// Per reason, refusals per minute (minute since the epoch, count) for
    /// the last hour.
    recent: Mutex<BTreeMap<&'static str, VecDeque<(i64, u64)>>>,
}

/// Minutes since the Unix epoch, now.
fn minute_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 60) as i64)
}

impl LimitCounters {
    /// Counts `n` refused series of `metric` by `kind`.
    pub fn record(&self, kind: LimitKind, metric: &str, n: u64) {
        self.record_at(kind, metric, n, minute_now());
    }

    fn record_at(&self, kind: LimitKind, metric: &str, n: u64, minute: i64) {
        let r = reason(kind);
        *self.by_reason.lock().entry(r).or_default() += n;
        *self.by_metric.lock().entry(metric.to_string()).or_default() += n;
        *self
            .by_reason_metric
            .lock()
            .entry((r, metric.to_string()))
            .or_default() += n;
        let mut recent = self.recent.lock();
        let q = recent.entry(r).or_default();
        match q.back_mut() {
            Some((m, c)) if *m == minute => *c += n,
            _ => q.push_back((minute, n)),
        }
        while q.front().is_some_and(|(m, _)| *m <= minute - 60) {
            q.pop_front();
        }
    }

    /// Series refused for `reason` in the last hour.
    pub fn last_hour(&self, reason: &str) -> u64 {
        self.last_hour_at(reason, minute_now())
    }

    fn last_hour_at(&self, reason: &str, minute: i64) -> u64 {
        self.recent.lock().get(reason).map_or(0, |q| {
            q.iter()
                .filter(|(m, _)| *m > minute - 60)
                .map(|(_, c)| c)
                .sum()
        })
    }

    /// The metrics with the most series refused for `reason`, most first.
    pub fn top_refused(&self, reason: &str, n: usize) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .by_reason_metric
            .lock()
            .iter()
            .filter(|((r, _), _)| *r == reason)
            .map(|((_, m), c)| (m.clone(), *c))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
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

/// The head's series counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadSeries {
    pub series: u64,
    pub active: u64,
    pub created_total: u64,
}

/// The head's state against the limits: settings, utilisation, series.
pub fn render_state(
    out: &mut String,
    limits: &Limits,
    head: HeadSeries,
    series_by_metric: &[(String, u64)],
) {
    let head_series = head.series;
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
    header(
        out,
        "almanac_active_series",
        "Head series with a sample in the last 10 minutes of its data.",
        "gauge",
    );
    let _ = writeln!(out, "almanac_active_series {}", head.active);
    header(
        out,
        "almanac_series_created_total",
        "Series created in the head.",
        "counter",
    );
    let _ = writeln!(out, "almanac_series_created_total {}", head.created_total);
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
        let head = HeadSeries {
            series: 250,
            active: 200,
            created_total: 300,
        };
        render_state(
            &mut out,
            &limits,
            head,
            &[("m".into(), 80), ("n".into(), 20)],
        );
        assert!(out.contains("almanac_active_series 200"), "{out}");
        assert!(out.contains("almanac_series_created_total 300"), "{out}");
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

    #[test]
    fn the_last_hour_forgets_older_refusals() {
        let c = LimitCounters::default();
        c.record_at(LimitKind::MaxSeries, "a", 5, 1000);
        c.record_at(LimitKind::MaxSeries, "b", 2, 1030);
        c.record_at(LimitKind::MaxSeries, "b", 1, 1059);
        assert_eq!(c.last_hour_at("max_series", 1059), 8);
        assert_eq!(
            c.last_hour_at("max_series", 1060),
            3,
            "minute 1000 has left the hour"
        );
        assert_eq!(c.last_hour_at("max_series_per_metric", 1059), 0);
        assert_eq!(
            c.top_refused("max_series", 10),
            vec![("a".to_string(), 5), ("b".to_string(), 3)]
        );
    }
}
