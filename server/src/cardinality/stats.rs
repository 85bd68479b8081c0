//! Cardinality statistics of a set of series, from the counts of their
//! label pairs: what `/api/v1/status/tsdb` and Mimir's
//! `/api/v1/cardinality/*` answer. Pure functions: the head's label index
//! and a selection read from blocks feed them alike.

use std::collections::HashMap;
use std::sync::Arc;

use tsdb::model::{Labels, METRIC_NAME};

/// One `{name, value}` entry of a top list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub name: String,
    pub value: u64,
}

/// The first `top` of `counts`, by count (descending), then name.
pub fn top(counts: impl IntoIterator<Item = (String, u64)>, top: usize) -> Vec<Stat> {
    let mut v: Vec<Stat> = counts
        .into_iter()
        .map(|(name, value)| Stat { name, value })
        .collect();
    v.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.name.cmp(&b.name)));
    v.truncate(top);
    v
}

/// How many series carry each label pair (keys share the labels'
/// strings).
#[derive(Debug, Default)]
pub struct PairCounts {
    pairs: HashMap<(Arc<str>, Arc<str>), u64>,
}

impl PairCounts {
    pub fn of_series<'a>(series: impl IntoIterator<Item = &'a Labels>) -> Self {
        let mut pairs: HashMap<(Arc<str>, Arc<str>), u64> = HashMap::new();
        for labels in series {
            for l in labels.iter() {
                *pairs.entry((l.name.clone(), l.value.clone())).or_default() += 1;
            }
        }
        PairCounts { pairs }
    }

    /// Every `(name, value, series)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, u64)> {
        self.pairs.iter().map(|((n, v), c)| (&**n, &**v, *c))
    }
}

/// The lists of `/api/v1/status/tsdb`, each sorted by count and cut.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TsdbLists {
    pub series_by_metric: Vec<Stat>,
    /// Distinct values per label name.
    pub values_by_label_name: Vec<Stat>,
    /// Per label name: the bytes of its values summed over its series
    /// (Prometheus's `memoryInBytesByLabelName`).
    pub memory_by_label_name: Vec<Stat>,
    pub series_by_pair: Vec<Stat>,
    /// Series carrying each label name.
    pub series_by_label_name: Vec<Stat>,
    /// Series per value of the focus label, when one was asked for.
    pub series_by_focus_value: Option<Vec<Stat>>,
    /// Distinct label pairs in all.
    pub total_pairs: u64,
}

/// The statistics of the series whose pairs are `pairs` (each `(name,
/// value, series carrying it)`), lists cut to `limit`.
pub fn tsdb_lists<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str, u64)>,
    focus: Option<&str>,
    limit: usize,
) -> TsdbLists {
    let mut by_metric = Vec::new();
    let mut by_pair = Vec::new();
    let mut focused = Vec::new();
    let mut per_name: HashMap<&str, (u64, u64, u64)> = HashMap::new();
    let mut total_pairs = 0;
    for (n, v, c) in pairs {
        total_pairs += 1;
        if n == METRIC_NAME {
            by_metric.push((v.to_string(), c));
        }
        if focus == Some(n) {
            focused.push((v.to_string(), c));
        }
        by_pair.push((format!("{n}={v}"), c));
        // (distinct values, value bytes over series, series)
        let e = per_name.entry(n).or_default();
        e.0 += 1;
        e.1 += v.len() as u64 * c;
        // A series has one value per label name.
        e.2 += c;
    }
    let column = |f: fn(&(u64, u64, u64)) -> u64| {
        let v: Vec<(String, u64)> = per_name
            .iter()
            .map(|(n, e)| (n.to_string(), f(e)))
            .collect();
        top(v, limit)
    };
    TsdbLists {
        series_by_metric: top(by_metric, limit),
        values_by_label_name: column(|e| e.0),
        memory_by_label_name: column(|e| e.1),
        series_by_pair: top(by_pair, limit),
        series_by_label_name: column(|e| e.2),
        series_by_focus_value: focus.map(|_| top(focused, limit)),
        total_pairs,
    }
}

/// Series per metric name among `series`.
pub fn series_by_metric<'a>(series: impl IntoIterator<Item = &'a Labels>) -> HashMap<String, u64> {
    let mut out: HashMap<String, u64> = HashMap::new();
    for l in series {
        *out.entry(l.get(METRIC_NAME).to_string()).or_default() += 1;
    }
    out
}

/// One label name of Mimir's `label_names` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelNameCount {
    pub label_name: String,
    pub label_values_count: u64,
}

/// Mimir's `label_names`: every label name of `series` with its number
/// of distinct values, most values first (then by name), cut to `limit`;
/// with the total of distinct values over all names and the number of
/// names (both before the cut).
pub fn label_names(pairs: &PairCounts, limit: usize) -> (u64, u64, Vec<LabelNameCount>) {
    let mut per_name: HashMap<&str, u64> = HashMap::new();
    for (n, _, _) in pairs.iter() {
        *per_name.entry(n).or_default() += 1;
    }
    let total: u64 = per_name.values().sum();
    let names = per_name.len() as u64;
    let list = top(per_name.into_iter().map(|(n, c)| (n.to_string(), c)), limit)
        .into_iter()
        .map(|s| LabelNameCount {
            label_name: s.name,
            label_values_count: s.value,
        })
        .collect();
    (total, names, list)
}

/// One label of Mimir's `label_values` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelValuesCount {
    pub label_name: String,
    /// Distinct values (before the cut).
    pub label_values_count: u64,
    /// Series carrying the label.
    pub series_count: u64,
    /// `(value, series)`, most series first (then by value), cut.
    pub cardinality: Vec<Stat>,
}

/// Mimir's `label_values` for each of `names` (in the order asked), each
/// value list cut to `limit`.
pub fn label_values(pairs: &PairCounts, names: &[String], limit: usize) -> Vec<LabelValuesCount> {
    names
        .iter()
        .map(|name| {
            let values: Vec<(String, u64)> = pairs
                .iter()
                .filter(|(n, _, _)| n == name)
                .map(|(_, v, c)| (v.to_string(), c))
                .collect();
            LabelValuesCount {
                label_name: name.clone(),
                label_values_count: values.len() as u64,
                series_count: values.iter().map(|(_, c)| c).sum(),
                cardinality: top(values, limit),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn series() -> Vec<Labels> {
        [
            &[("__name__", "a"), ("job", "x"), ("path", "/1")][..],
            &[("__name__", "a"), ("job", "x"), ("path", "/2")],
            &[("__name__", "a"), ("job", "y")],
            &[("__name__", "b"), ("job", "x")],
        ]
        .iter()
        .map(|p| Labels::from_pairs(p))
        .collect()
    }

    fn stats(v: &[(&str, u64)]) -> Vec<Stat> {
        v.iter()
            .map(|(n, c)| Stat {
                name: n.to_string(),
                value: *c,
            })
            .collect()
    }

    #[test]
    fn tsdb_lists_table() {
        let s = series();
        let pairs = PairCounts::of_series(&s);
        let got = tsdb_lists(pairs.iter(), Some("job"), 2);
        assert_eq!(got.series_by_metric, stats(&[("a", 3), ("b", 1)]));
        assert_eq!(
            got.values_by_label_name,
            stats(&[("__name__", 2), ("job", 2)])
        );
        assert_eq!(
            got.series_by_pair,
            stats(&[("__name__=a", 3), ("job=x", 3)])
        );
        assert_eq!(
            got.series_by_label_name,
            stats(&[("__name__", 4), ("job", 4)])
        );
        assert_eq!(
            got.memory_by_label_name,
            stats(&[("__name__", 4), ("job", 4)])
        );
        assert_eq!(
            got.series_by_focus_value,
            Some(stats(&[("x", 3), ("y", 1)]))
        );
        assert_eq!(got.total_pairs, 6);
        assert_eq!(
            tsdb_lists(pairs.iter(), None, 2).series_by_focus_value,
            None
        );
    }

    #[test]
    fn mimir_label_names_and_values() {
        let s = series();
        let pairs = PairCounts::of_series(&s);
        let (total, names, list) = label_names(&pairs, 2);
        assert_eq!((total, names), (6, 3));
        let got: Vec<(&str, u64)> = list
            .iter()
            .map(|l| (l.label_name.as_str(), l.label_values_count))
            .collect();
        assert_eq!(got, [("__name__", 2), ("job", 2)]);
        let lv = label_values(&pairs, &["path".into(), "job".into(), "none".into()], 1);
        assert_eq!(lv[0].label_name, "path");
        assert_eq!((lv[0].label_values_count, lv[0].series_count), (2, 2));
        assert_eq!(lv[0].cardinality, stats(&[("/1", 1)]));
        assert_eq!(lv[1].cardinality, stats(&[("x", 3)]));
        assert_eq!((lv[2].label_values_count, lv[2].series_count), (0, 0));
    }

    proptest! {
        /// Against brute force over the label sets.
        #[test]
        fn counts_match_brute_force(
            raw in prop::collection::vec((0u8..3, 0u8..4, prop::option::of(0u8..5)), 1..60),
        ) {
            let series: Vec<Labels> = raw
                .iter()
                .map(|(m, j, p)| {
                    let (m, j) = (format!("m{m}"), format!("j{j}"));
                    let mut pairs = vec![("__name__", m.as_str()), ("job", j.as_str())];
                    let p = p.map(|p| format!("/{p}"));
                    if let Some(p) = &p {
                        pairs.push(("path", p.as_str()));
                    }
                    Labels::from_pairs(&pairs)
                })
                .collect();
            let mut unique = series.clone();
            unique.sort();
            unique.dedup();
            let pairs = PairCounts::of_series(&unique);
            let got = tsdb_lists(pairs.iter(), Some("path"), usize::MAX);
            for s in &got.series_by_pair {
                let (n, v) = s.name.split_once('=').unwrap();
                let want = unique.iter().filter(|l| l.get(n) == v && l.has(n)).count() as u64;
                prop_assert_eq!(s.value, want);
            }
            for s in &got.series_by_label_name {
                let want = unique.iter().filter(|l| l.has(&s.name)).count() as u64;
                prop_assert_eq!(s.value, want);
            }
            let metrics = series_by_metric(&unique);
            prop_assert_eq!(got.series_by_metric.len(), metrics.len());
            for s in &got.series_by_metric {
                prop_assert_eq!(metrics.get(&s.name).copied(), Some(s.value));
            }
        }
    }
}
