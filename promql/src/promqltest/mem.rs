//! An in-memory [`Storage`]: enough to run scripts without the storage
//! engine (unit tests of the runner and of the evaluator).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tsdb::model::{Labels, Matcher, Querier, Queryable, Sample, SelectHints, Series};

use super::{Storage, StorageError};

/// Series in a map sorted by labels. Loads merge by timestamp; a load that
/// would give one timestamp two different values is rejected whole.
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    series: Arc<BTreeMap<Labels, Vec<Sample>>>,
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Storage for MemStorage {
    fn clear(&mut self) -> Result<(), StorageError> {
        self.series = Arc::default();
        Ok(())
    }

    fn load(&mut self, series: Vec<(Labels, Vec<Sample>)>) -> Result<(), StorageError> {
        if let Some((l, _)) = series.iter().find(|(l, _)| l.is_empty()) {
            return Err(format!("empty label set {l}").into());
        }
        let mut next = (*self.series).clone();
        for (labels, samples) in series {
            let all = next.entry(labels.clone()).or_default();
            all.extend(samples);
            all.sort_by_key(|s| s.t);
            if let Some(w) = all
                .windows(2)
                .find(|w| w[0].t == w[1].t && !w[0].bit_eq(&w[1]))
            {
                return Err(format!("{labels}: two values at t={}", w[0].t).into());
            }
            all.dedup_by_key(|s| s.t);
        }
        self.series = Arc::new(next);
        Ok(())
    }

    fn queryable(&self) -> &dyn Queryable {
        self
    }
}

impl Queryable for MemStorage {
    fn querier(&self, mint: i64, maxt: i64) -> tsdb::Result<Box<dyn Querier>> {
        Ok(Box::new(MemQuerier {
            series: self.series.clone(),
            mint,
            maxt,
        }))
    }
}

struct MemQuerier {
    series: Arc<BTreeMap<Labels, Vec<Sample>>>,
    mint: i64,
    maxt: i64,
}

impl MemQuerier {
    /// Series matching every matcher with samples in range (all when
    /// `matchers` is empty and `all_if_empty`).
    fn matching<'a>(
        &'a self,
        matchers: &'a [Matcher],
        all_if_empty: bool,
    ) -> impl Iterator<Item = (&'a Labels, &'a [Sample])> + 'a {
        self.series.iter().filter_map(move |(l, s)| {
            if matchers.is_empty() && !all_if_empty {
                return None;
            }
            if !matchers.iter().all(|m| m.matches(l.get(&m.name))) {
                return None;
            }
            let lo = s.partition_point(|x| x.t < self.mint);
            let hi = s.partition_point(|x| x.t <= self.maxt);
            (lo < hi).then(|| (l, &s[lo..hi]))
        })
    }
}

impl Querier for MemQuerier {
    fn select(&self, _hints: &SelectHints, matchers: &[Matcher]) -> tsdb::Result<Vec<Series>> {
        Ok(self
            .matching(matchers, false)
            .map(|(l, s)| Series::from_samples(l.clone(), s.to_vec()))
            .collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> tsdb::Result<Vec<String>> {
        let names: BTreeSet<String> = self
            .matching(matchers, true)
            .flat_map(|(l, _)| l.iter().map(|x| x.name.to_string()))
            .collect();
        Ok(names.into_iter().collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> tsdb::Result<Vec<String>> {
        let values: BTreeSet<String> = self
            .matching(matchers, true)
            .map(|(l, _)| l.get(name).to_string())
            .filter(|v| !v.is_empty())
            .collect();
        Ok(values.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use tsdb::model::MatchOp;

    use super::*;

    fn l(name: &str, a: &str) -> Labels {
        Labels::from_pairs(&[("__name__", name), ("a", a)])
    }

    #[test]
    fn loads_merge_and_select_sorted() {
        let mut m = MemStorage::new();
        m.load(vec![
            (l("x", "2"), vec![Sample::new(0, 1.0)]),
            (l("x", "1"), vec![Sample::new(0, 2.0)]),
        ])
        .unwrap();
        m.load(vec![(
            l("x", "1"),
            vec![Sample::new(10, 3.0), Sample::new(0, 2.0)],
        )])
        .unwrap();
        assert!(
            m.load(vec![(l("x", "1"), vec![Sample::new(10, 4.0)])])
                .is_err()
        );
        let q = m.queryable().querier(0, 5).unwrap();
        let name = Matcher::equal("__name__", "x");
        let got = q
            .select(&SelectHints::default(), std::slice::from_ref(&name))
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].labels, l("x", "1"));
        let mut s = Vec::new();
        got[0].samples_in(i64::MIN, i64::MAX, &mut s);
        assert_eq!(s, vec![Sample::new(0, 2.0)]);
        let re = Matcher::new(MatchOp::RegexMatch, "a", "2").unwrap();
        assert_eq!(q.select(&SelectHints::default(), &[re]).unwrap().len(), 1);
        assert!(q.select(&SelectHints::default(), &[]).unwrap().is_empty());
        assert_eq!(q.label_values("a", &[]).unwrap(), ["1", "2"]);
        assert_eq!(q.label_names(&[name]).unwrap(), ["__name__", "a"]);
        m.clear().unwrap();
        let q = m.queryable().querier(0, 5).unwrap();
        assert!(q.label_names(&[]).unwrap().is_empty());
    }
}
