//! `load_with_nhcb`: native histograms with custom buckets synthesized
//! from the classic-histogram series (`_bucket`, `_count`, `_sum`) of a
//! load block.

use std::collections::{BTreeMap, BTreeSet};

use tsdb::model::{Labels, METRIC_NAME, Sample, is_stale_nan};

use super::histogram::{CUSTOM_BUCKETS_SCHEMA, HistogramLiteral};

/// One synthesized series: labels `base_name{other labels}` and one
/// histogram per timestamp, ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct NhcbSeries {
    pub labels: Labels,
    pub histograms: Vec<(i64, HistogramLiteral)>,
}

#[derive(Default)]
struct Group<'a> {
    /// `(le, samples)` of each `_bucket` series.
    buckets: Vec<(f64, &'a [Sample])>,
    count: Option<&'a [Sample]>,
    sum: Option<&'a [Sample]>,
}

fn value_at(samples: &[Sample], t: i64) -> Option<f64> {
    samples
        .binary_search_by_key(&t, |s| s.t)
        .ok()
        .map(|i| samples[i].v)
}

/// Synthesizes the custom-bucket histograms of one load block's float
/// series (each sorted by time). Series are grouped by base name and all
/// labels but `le`; bucket series whose `le` is `NaN` or not a number are
/// ignored. Errors (naming the series) when bucket counts are negative or
/// not cumulative.
pub fn synthesize(series: &[(Labels, Vec<Sample>)]) -> Result<Vec<NhcbSeries>, String> {
    let mut groups: BTreeMap<Labels, Group<'_>> = BTreeMap::new();
    for (labels, samples) in series {
        let name = labels.metric_name();
        let (base, kind) = if let Some(b) = name.strip_suffix("_bucket") {
            if !labels.has("le") {
                continue;
            }
            (b, 0)
        } else if let Some(b) = name.strip_suffix("_count") {
            (b, 1)
        } else if let Some(b) = name.strip_suffix("_sum") {
            (b, 2)
        } else {
            continue;
        };
        let mut b = labels.builder();
        b.del("le");
        b.set(METRIC_NAME, base);
        let group = groups.entry(b.build()).or_default();
        match kind {
            0 => match labels.get("le").trim().parse::<f64>() {
                Ok(le) if !le.is_nan() => group.buckets.push((le, samples)),
                _ => {}
            },
            1 => group.count = Some(samples),
            _ => group.sum = Some(samples),
        }
    }
    groups
        .into_iter()
        .map(|(labels, g)| {
            let histograms = group_histograms(&g).map_err(|e| format!("{labels}: {e}"))?;
            Ok(NhcbSeries { labels, histograms })
        })
        .collect()
}

fn group_histograms(g: &Group<'_>) -> Result<Vec<(i64, HistogramLiteral)>, String> {
    let all = g
        .buckets
        .iter()
        .map(|(_, s)| *s)
        .chain(g.count)
        .chain(g.sum);
    let times: BTreeSet<i64> = all
        .flat_map(|s| s.iter().filter(|x| !is_stale_nan(x.v)).map(|x| x.t))
        .collect();
    let mut out = Vec::with_capacity(times.len());
    for t in times {
        // Cumulative counts by bound; a repeated bound keeps the last one.
        let mut cumulative: BTreeMap<OrdF64, f64> = BTreeMap::new();
        for (le, samples) in &g.buckets {
            if let Some(v) = value_at(samples, t).filter(|v| !is_stale_nan(*v)) {
                cumulative.insert(OrdF64(*le), v);
            }
        }
        let count = g.count.and_then(|s| value_at(s, t));
        let highest = cumulative.values().next_back().copied();
        let Some(total) = count.or(highest) else {
            continue;
        };
        let mut h = HistogramLiteral {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: total,
            sum: g.sum.and_then(|s| value_at(s, t)).unwrap_or(0.0),
            ..HistogramLiteral::default()
        };
        let mut prev = 0.0;
        let mut has_inf = false;
        for (&OrdF64(le), &c) in &cumulative {
            if c < 0.0 {
                return Err(format!("negative bucket count {c} at le={le}, t={t}"));
            }
            if c < prev {
                return Err(format!(
                    "bucket counts are not cumulative at le={le}, t={t}"
                ));
            }
            if le.is_finite() {
                h.custom_values.push(le);
            } else if le > 0.0 {
                has_inf = true;
            } else {
                continue; // le="-Inf" never holds observations
            }
            h.positive.push(c - prev);
            prev = c;
        }
        if !has_inf {
            if total < prev {
                return Err(format!(
                    "count {total} is below the highest bucket at t={t}"
                ));
            }
            h.positive.push(total - prev);
        }
        out.push((t, h));
    }
    Ok(out)
}

/// A non-NaN float with a total order, for bucket bounds.
#[derive(Debug, Clone, Copy)]
struct OrdF64(f64);

impl PartialEq for OrdF64 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for OrdF64 {}

impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pairs: &[(&str, &str)], values: &[f64]) -> (Labels, Vec<Sample>) {
        let samples = values
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample::new(i as i64 * 1000, v))
            .collect();
        (Labels::from_pairs(pairs), samples)
    }

    #[test]
    fn classic_buckets_become_custom_buckets() {
        let input = vec![
            s(
                &[("__name__", "h_bucket"), ("le", "0.1"), ("j", "a")],
                &[1.0, 2.0],
            ),
            s(
                &[("__name__", "h_bucket"), ("le", "1e0"), ("j", "a")],
                &[3.0, 5.0],
            ),
            s(
                &[("__name__", "h_bucket"), ("le", "+Inf"), ("j", "a")],
                &[4.0, 6.0],
            ),
            s(
                &[("__name__", "h_bucket"), ("le", "NaN"), ("j", "a")],
                &[9.0, 9.0],
            ),
            s(&[("__name__", "h_sum"), ("j", "a")], &[7.0, 8.0]),
            s(&[("__name__", "other"), ("j", "a")], &[1.0]),
        ];
        let got = synthesize(&input).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].labels,
            Labels::from_pairs(&[("__name__", "h"), ("j", "a")])
        );
        let (t, h) = &got[0].histograms[1];
        assert_eq!(*t, 1000);
        assert_eq!(h.schema, CUSTOM_BUCKETS_SCHEMA);
        assert_eq!(h.custom_values, vec![0.1, 1.0]);
        assert_eq!(h.positive, vec![2.0, 3.0, 1.0]);
        assert_eq!((h.count, h.sum), (6.0, 8.0));
    }

    #[test]
    fn missing_inf_bucket_takes_the_count() {
        let input = vec![
            s(&[("__name__", "h_bucket"), ("le", "1")], &[2.0]),
            s(&[("__name__", "h_count")], &[5.0]),
        ];
        let got = synthesize(&input).unwrap();
        assert_eq!(got[0].histograms[0].1.positive, vec![2.0, 3.0]);
        assert_eq!(got[0].histograms[0].1.count, 5.0);
    }

    #[test]
    fn invalid_counts_are_errors() {
        let not_cumulative = vec![
            s(&[("__name__", "h_bucket"), ("le", "1")], &[3.0]),
            s(&[("__name__", "h_bucket"), ("le", "2")], &[2.0]),
        ];
        assert!(synthesize(&not_cumulative).is_err());
        let negative = vec![s(&[("__name__", "h_bucket"), ("le", "1")], &[-1.0])];
        assert!(synthesize(&negative).is_err());
    }
}
