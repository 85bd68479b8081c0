//! Cardinality limits. They are checked in exactly one place: where the head
//! creates a series, so existing series keep ingesting when a limit is hit,
//! and WAL replay (whose series exist already) never checks them.
//!
//! A refusal names what refused the series ([`LimitKind`]: an error id and
//! the configuration key), the metric, the count it met and the limit, so
//! that senders and operators see the culprit.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use crate::model::{Labels, Matcher};

/// Zero means unlimited.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Maximum number of series in the head.
    pub max_series: u64,
    /// Maximum number of head series sharing one metric name.
    pub max_series_per_metric: u64,
    /// `max_series_per_metric` for particular metric names.
    pub max_series_per_metric_overrides: BTreeMap<String, u64>,
    /// Most labels a series may have (the metric name included).
    pub max_labels_per_series: u64,
    /// Longest label name and label value, in bytes.
    pub max_label_name_bytes: u64,
    pub max_label_value_bytes: u64,
    /// Series matching any of these selectors are counted but never
    /// refused by the per-metric and churn limits.
    pub exempt: Vec<Vec<Matcher>>,
    /// New series per minute (a token bucket whose burst is a minute's
    /// worth).
    pub max_new_series_per_minute: u64,
    /// Distinct values of one label name in the head.
    pub max_values_per_label_name: u64,
}

/// What admission needs to know of the head.
pub trait HeadCounts {
    /// Series in the head.
    fn series(&self) -> u64;
    /// Head series of metric `metric`.
    fn series_of(&self, metric: &str) -> u64;
    /// Distinct values of label `name` in the head, and whether `value` is
    /// one of them.
    fn values_of(&self, name: &str, value: &str) -> (u64, bool);
}

/// Which limit refused a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LimitKind {
    MaxSeries,
    MaxSeriesPerMetric,
    MaxLabelsPerSeries,
    MaxLabelNameBytes,
    MaxLabelValueBytes,
    MaxNewSeriesPerMinute,
    MaxValuesPerLabelName,
}

impl LimitKind {
    /// The error id a refusal starts with.
    pub fn error_id(self) -> &'static str {
        match self {
            LimitKind::MaxSeries => "err-almanac-max-series",
            LimitKind::MaxSeriesPerMetric => "err-almanac-max-series-per-metric",
            LimitKind::MaxLabelsPerSeries => "err-almanac-max-labels-per-series",
            LimitKind::MaxLabelNameBytes => "err-almanac-max-label-name-bytes",
            LimitKind::MaxLabelValueBytes => "err-almanac-max-label-value-bytes",
            LimitKind::MaxNewSeriesPerMinute => "err-almanac-max-new-series-per-minute",
            LimitKind::MaxValuesPerLabelName => "err-almanac-max-values-per-label-name",
        }
    }

    /// The configuration key that sets the limit.
    pub fn config_key(self) -> &'static str {
        match self {
            LimitKind::MaxSeries => "limits.max_series",
            LimitKind::MaxSeriesPerMetric => "limits.max_series_per_metric",
            LimitKind::MaxLabelsPerSeries => "limits.max_labels_per_series",
            LimitKind::MaxLabelNameBytes => "limits.max_label_name_bytes",
            LimitKind::MaxLabelValueBytes => "limits.max_label_value_bytes",
            LimitKind::MaxNewSeriesPerMinute => "limits.max_new_series_per_minute",
            LimitKind::MaxValuesPerLabelName => "limits.max_values_per_label_name",
        }
    }

    /// What `current` counts in a refusal.
    fn counted(self) -> &'static str {
        match self {
            LimitKind::MaxSeries | LimitKind::MaxSeriesPerMetric => "series",
            LimitKind::MaxLabelsPerSeries => "labels",
            LimitKind::MaxLabelNameBytes => "name_bytes",
            LimitKind::MaxLabelValueBytes => "value_bytes",
            LimitKind::MaxNewSeriesPerMinute => "new_series_per_minute",
            LimitKind::MaxValuesPerLabelName => "values",
        }
    }
}

/// A series refused by a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: LimitKind,
    pub metric: String,
    /// The count the series met (head series, series of the metric, its
    /// labels, or the offending label's bytes).
    pub current: u64,
    pub limit: u64,
    /// For the label-size limits: the label that is too long.
    pub label: Option<String>,
    /// For the churn limit: seconds until a new series may be created.
    pub retry_after: Option<u64>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: metric={:?} {}={} limit={} ({})",
            self.kind.error_id(),
            self.metric,
            self.kind.counted(),
            self.current,
            self.limit,
            self.kind.config_key()
        )?;
        if let Some(l) = &self.label {
            write!(f, " label={l:?}")?;
        }
        if let Some(s) = self.retry_after {
            write!(f, " retry_after={s}s")?;
        }
        Ok(())
    }
}

impl Limits {
    /// The per-metric limit for `metric` (0 = none).
    pub fn per_metric(&self, metric: &str) -> u64 {
        self.max_series_per_metric_overrides
            .get(metric)
            .copied()
            .unwrap_or(self.max_series_per_metric)
    }

    /// Whether a new series with `labels` may be created, given the head's
    /// counts and the churn bucket (which it takes a token from when it
    /// admits the series).
    pub fn admit(
        &self,
        labels: &Labels,
        head: &dyn HeadCounts,
        churn: &mut Churn,
        now: Instant,
    ) -> Result<(), Refusal> {
        let metric = labels.metric_name();
        let refuse = |kind, current, limit, label: Option<&str>| Refusal {
            kind,
            metric: metric.to_string(),
            current,
            limit,
            label: label.map(str::to_string),
            retry_after: None,
        };
        let n = labels.len() as u64;
        if self.max_labels_per_series > 0 && n > self.max_labels_per_series {
            return Err(refuse(
                LimitKind::MaxLabelsPerSeries,
                n,
                self.max_labels_per_series,
                None,
            ));
        }
        for l in labels.iter() {
            let (nb, vb) = (l.name.len() as u64, l.value.len() as u64);
            if self.max_label_name_bytes > 0 && nb > self.max_label_name_bytes {
                return Err(refuse(
                    LimitKind::MaxLabelNameBytes,
                    nb,
                    self.max_label_name_bytes,
                    Some(&l.name),
                ));
            }
            if self.max_label_value_bytes > 0 && vb > self.max_label_value_bytes {
                return Err(refuse(
                    LimitKind::MaxLabelValueBytes,
                    vb,
                    self.max_label_value_bytes,
                    Some(&l.name),
                ));
            }
        }
        let head_series = head.series();
        if self.max_series > 0 && head_series >= self.max_series {
            return Err(refuse(
                LimitKind::MaxSeries,
                head_series,
                self.max_series,
                None,
            ));
        }
        if self.max_values_per_label_name > 0 {
            for l in labels
                .iter()
                .filter(|l| &*l.name != crate::model::METRIC_NAME)
            {
                let (n, known) = head.values_of(&l.name, &l.value);
                if !known && n >= self.max_values_per_label_name {
                    return Err(refuse(
                        LimitKind::MaxValuesPerLabelName,
                        n,
                        self.max_values_per_label_name,
                        Some(&l.name),
                    ));
                }
            }
        }
        let exempt = self.is_exempt(labels);
        let per_metric = self.per_metric(metric);
        if per_metric > 0 && !exempt {
            let n = head.series_of(metric);
            if n >= per_metric {
                return Err(refuse(LimitKind::MaxSeriesPerMetric, n, per_metric, None));
            }
        }
        let per_minute = self.max_new_series_per_minute;
        if per_minute > 0
            && let Err(wait) = churn.take(per_minute, now)
            && !exempt
        {
            let mut r = refuse(
                LimitKind::MaxNewSeriesPerMinute,
                per_minute,
                per_minute,
                None,
            );
            r.retry_after = Some(wait.max(1));
            return Err(r);
        }
        Ok(())
    }

    pub fn is_exempt(&self, labels: &Labels) -> bool {
        self.exempt
            .iter()
            .any(|ms| ms.iter().all(|m| m.matches(labels.get(&m.name))))
    }
}

/// The churn limit's token bucket: refills at the limit per minute, holds
/// at most a minute's worth.
#[derive(Debug, Clone)]
pub struct Churn {
    tokens: f64,
    at: Option<Instant>,
}

impl Default for Churn {
    fn default() -> Self {
        Churn {
            tokens: f64::INFINITY,
            at: None,
        }
    }
}

impl Churn {
    /// Takes a token at `now` under a limit of `per_minute`; `Err` with the
    /// whole seconds until one is there. Exempt series take one too when
    /// there is one (they are counted), and are never refused.
    pub fn take(&mut self, per_minute: u64, now: Instant) -> Result<(), u64> {
        let cap = per_minute as f64;
        let rate = cap / 60.0;
        let elapsed = self
            .at
            .map_or(0.0, |at| now.saturating_duration_since(at).as_secs_f64());
        self.tokens = (self.tokens + elapsed * rate).min(cap);
        self.at = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - self.tokens) / rate).ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs)
    }

    /// Head counts: series, series of any metric, values of any label
    /// (none of them the asked one).
    struct Fake(u64, u64, u64);

    impl HeadCounts for Fake {
        fn series(&self) -> u64 {
            self.0
        }
        fn series_of(&self, _: &str) -> u64 {
            self.1
        }
        fn values_of(&self, _: &str, _: &str) -> (u64, bool) {
            (self.2, false)
        }
    }

    #[test]
    fn label_values_limit_refuses_only_new_values() {
        struct Values;
        impl HeadCounts for Values {
            fn series(&self) -> u64 {
                0
            }
            fn series_of(&self, _: &str) -> u64 {
                0
            }
            fn values_of(&self, name: &str, value: &str) -> (u64, bool) {
                (if name == "user" { 10 } else { 1 }, value == "known")
            }
        }
        let limits = Limits {
            max_values_per_label_name: 10,
            ..Limits::default()
        };
        let admit = |pairs: &[(&str, &str)]| {
            limits
                .admit(&l(pairs), &Values, &mut Churn::default(), Instant::now())
                .map_err(|r| (r.kind, r.label, r.current))
        };
        assert_eq!(
            admit(&[("__name__", "m"), ("user", "new")]),
            Err((
                LimitKind::MaxValuesPerLabelName,
                Some("user".to_string()),
                10
            ))
        );
        assert_eq!(admit(&[("__name__", "m"), ("user", "known")]), Ok(()));
        assert_eq!(admit(&[("__name__", "m"), ("path", "new")]), Ok(()));
    }

    #[test]
    fn admission_table() {
        let limits = Limits {
            max_series: 10,
            max_series_per_metric: 3,
            max_series_per_metric_overrides: [("big".to_string(), 5)].into_iter().collect(),
            max_labels_per_series: 3,
            max_label_name_bytes: 8,
            max_label_value_bytes: 5,
            exempt: vec![vec![Matcher::equal("__name__", "up")]],
            max_new_series_per_minute: 0,
            max_values_per_label_name: 0,
        };
        let m = l(&[("__name__", "m"), ("a", "1")]);
        let cases: Vec<(&str, Labels, u64, u64, Option<LimitKind>)> = vec![
            ("fits", m.clone(), 5, 2, None),
            (
                "per metric",
                m.clone(),
                5,
                3,
                Some(LimitKind::MaxSeriesPerMetric),
            ),
            ("override", l(&[("__name__", "big")]), 5, 4, None),
            (
                "override reached",
                l(&[("__name__", "big")]),
                5,
                5,
                Some(LimitKind::MaxSeriesPerMetric),
            ),
            ("exempt", l(&[("__name__", "up")]), 5, 99, None),
            (
                "head full, exempt or not",
                l(&[("__name__", "up")]),
                10,
                0,
                Some(LimitKind::MaxSeries),
            ),
            (
                "too many labels",
                l(&[("__name__", "m"), ("a", "1"), ("b", "2"), ("c", "3")]),
                0,
                0,
                Some(LimitKind::MaxLabelsPerSeries),
            ),
            (
                "long name",
                l(&[("__name__", "m"), ("very_long_name", "1")]),
                0,
                0,
                Some(LimitKind::MaxLabelNameBytes),
            ),
            (
                "long value",
                l(&[("__name__", "m"), ("a", "123456")]),
                0,
                0,
                Some(LimitKind::MaxLabelValueBytes),
            ),
        ];
        for (name, labels, head, of_metric, want) in cases {
            let got = limits
                .admit(
                    &labels,
                    &Fake(head, of_metric, 0),
                    &mut Churn::default(),
                    Instant::now(),
                )
                .err()
                .map(|r| r.kind);
            assert_eq!(got, want, "{name}");
        }
        assert!(
            Limits::default()
                .admit(
                    &m,
                    &Fake(u64::MAX - 1, u64::MAX - 1, u64::MAX - 1),
                    &mut Churn::default(),
                    Instant::now()
                )
                .is_ok(),
            "0 = unlimited"
        );
    }

    #[test]
    fn refusals_name_the_culprit() {
        let r = Refusal {
            kind: LimitKind::MaxSeriesPerMetric,
            metric: "http_requests_total".into(),
            current: 200000,
            limit: 200000,
            label: None,
            retry_after: None,
        };
        assert_eq!(
            r.to_string(),
            r#"err-almanac-max-series-per-metric: metric="http_requests_total" series=200000 limit=200000 (limits.max_series_per_metric)"#
        );
    }

    #[test]
    fn churn_bucket_refills_at_the_limit_per_minute() {
        let limits = Limits {
            max_new_series_per_minute: 60,
            exempt: vec![vec![Matcher::equal("__name__", "up")]],
            ..Limits::default()
        };
        let t0 = Instant::now();
        let mut churn = Churn::default();
        let new = |i: u32| l(&[("__name__", "m"), ("i", &i.to_string())]);
        let admitted = (0..100)
            .filter(|&i| {
                limits
                    .admit(&new(i), &Fake(0, 0, 0), &mut churn, t0)
                    .is_ok()
            })
            .count();
        assert_eq!(admitted, 60, "a minute's worth at once");
        let r = limits
            .admit(&new(100), &Fake(0, 0, 0), &mut churn, t0)
            .unwrap_err();
        assert_eq!(
            (r.kind, r.retry_after),
            (LimitKind::MaxNewSeriesPerMinute, Some(1))
        );
        assert!(
            limits
                .admit(&l(&[("__name__", "up")]), &Fake(0, 0, 0), &mut churn, t0)
                .is_ok(),
            "exempt"
        );
        let later = t0 + std::time::Duration::from_secs(10);
        let admitted = (200..300)
            .filter(|&i| {
                limits
                    .admit(&new(i), &Fake(0, 0, 0), &mut churn, later)
                    .is_ok()
            })
            .count();
        assert_eq!(admitted, 10, "one a second refilled");
    }
}
