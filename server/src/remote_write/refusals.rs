//! The series a write had refused by cardinality limits, grouped by limit
//! and metric, for the answer's culprit lines:
//!
//! `err-almanac-max-series-per-metric: metric="m" series=100 limit=100
//! (limits.max_series_per_metric); rejected 150 series; label "id" has 150
//! values; example m{id="u-8812"}`
//!
//! At most [`MAX_LINES`] lines; the label named is the one with the most
//! distinct values among the group's refused series (the likely cause of
//! an explosion).

use std::collections::{BTreeMap, HashSet};

use tsdb::limits::{LimitKind, Refusal};

/// Most culprit lines in one answer.
pub const MAX_LINES: usize = 10;
/// Distinct values remembered per label and group (enough to rank labels).
const MAX_VALUES: usize = 10_000;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Group {
    /// The latest refusal (its counts).
    refusal: Option<Refusal>,
    series: u64,
    example: String,
    values: BTreeMap<String, HashSet<String>>,
}

/// Refused series by `(limit, metric)`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refusals {
    groups: BTreeMap<(LimitKind, String), Group>,
}

impl Refusals {
    /// Records one refused series (`labels`: its sorted label pairs).
    pub fn add(&mut self, r: &Refusal, labels: &[(&str, &str)]) {
        let g = self.groups.entry((r.kind, r.metric.clone())).or_default();
        let wait = g.refusal.as_ref().and_then(|p| p.retry_after);
        let mut r = r.clone();
        r.retry_after = r.retry_after.max(wait);
        g.refusal = Some(r);
        g.series += 1;
        if g.example.is_empty() {
            g.example = show(labels);
        }
        for (n, v) in labels.iter().filter(|(n, _)| *n != "__name__") {
            let vals = g.values.entry((*n).to_string()).or_default();
            if vals.len() < MAX_VALUES {
                vals.insert((*v).to_string());
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Seconds to wait when the churn limit alone refused series.
    pub fn churn_retry_after(&self) -> Option<u64> {
        if self
            .groups
            .keys()
            .any(|(k, _)| *k != LimitKind::MaxNewSeriesPerMinute)
        {
            return None;
        }
        self.groups
            .values()
            .filter_map(|g| g.refusal.as_ref()?.retry_after)
            .max()
    }

    /// `(limit, metric, refused series)` of every group.
    pub fn counts(&self) -> impl Iterator<Item = (LimitKind, &str, u64)> {
        self.groups
            .iter()
            .map(|((kind, metric), g)| (*kind, metric.as_str(), g.series))
    }

    /// The culprit lines, most refused series first.
    pub fn lines(&self) -> Vec<String> {
        let mut groups: Vec<&Group> = self.groups.values().collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.series));
        groups
            .into_iter()
            .take(MAX_LINES)
            .filter_map(|g| {
                let r = g.refusal.as_ref()?;
                let mut line = format!("{r}; rejected {} series", g.series);
                if let Some((label, vals)) = g
                    .values
                    .iter()
                    .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
                {
                    line += &format!("; label {label:?} has {} values", vals.len());
                }
                line += &format!("; example {}", g.example);
                Some(line)
            })
            .collect()
    }
}

/// `name{a="b", …}` of sorted label pairs.
fn show(labels: &[(&str, &str)]) -> String {
    let name = labels
        .iter()
        .find(|(n, _)| *n == "__name__")
        .map_or("", |(_, v)| v);
    let rest: Vec<String> = labels
        .iter()
        .filter(|(n, _)| *n != "__name__")
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn culprit_lines_name_metric_limit_label_and_example() {
        let r = Refusal {
            kind: LimitKind::MaxSeriesPerMetric,
            metric: "http_requests_total".into(),
            current: 200,
            limit: 200,
            label: None,
            retry_after: None,
        };
        let mut refusals = Refusals::default();
        for i in 0..5 {
            let id = format!("/u/{i}");
            refusals.add(
                &r,
                &[
                    ("__name__", "http_requests_total"),
                    ("method", "GET"),
                    ("path", &id),
                ],
            );
        }
        assert_eq!(
            refusals.lines(),
            vec![
                r#"err-almanac-max-series-per-metric: metric="http_requests_total" series=200 limit=200 (limits.max_series_per_metric); rejected 5 series; label "path" has 5 values; example http_requests_total{method="GET",path="/u/0"}"#
            ]
        );
        for m in 0..20 {
            let r = Refusal {
                metric: format!("m{m}"),
                ..r.clone()
            };
            refusals.add(&r, &[("__name__", "x")]);
        }
        assert_eq!(refusals.lines().len(), MAX_LINES);
        assert!(
            refusals.lines()[0].contains("rejected 5 series"),
            "most refused first"
        );
    }
}
