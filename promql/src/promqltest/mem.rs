//! An in-memory [`Storage`] and [`Queryable`]: enough to run scripts, rule
//! groups and rule unit tests without the storage engine.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, PoisonError, RwLock};

use tsdb::model::histogram::FloatHistogram;
use tsdb::model::{
    HistogramSample, Labels, Matcher, Querier, Queryable, Sample, SampleBuf, SelectHints, Series,
};

use super::{Storage, StorageError};

/// One series: float samples and histogram samples, each sorted by time.
#[derive(Debug, Clone, Default)]
struct MemSeries {
    floats: Vec<Sample>,
    hists: Vec<HistogramSample>,
}

impl MemSeries {
    fn last_t(&self) -> Option<i64> {
        self.floats
            .last()
            .map(|s| s.t)
            .max(self.hists.last().map(|h| h.t))
    }
}

type SeriesMap = BTreeMap<Labels, MemSeries>;

/// Series in a map sorted by labels, each with its float and histogram
/// samples sorted by time. Loads merge by timestamp; a load that would
/// give one timestamp two different values is rejected whole. A querier
/// sees the data as it was when the querier was made.
#[derive(Debug, Default)]
pub struct MemStorage {
    series: RwLock<Arc<SeriesMap>>,
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn snapshot(&self) -> Arc<SeriesMap> {
        self.series
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update<T>(&self, f: impl FnOnce(&mut SeriesMap) -> T) -> T {
        let mut guard = self.series.write().unwrap_or_else(PoisonError::into_inner);
        f(Arc::make_mut(&mut guard))
    }

    /// Appends one sample after the series' last, as a storage appender
    /// does. A repeat of the last sample (same time, same bits) is
    /// accepted and ignored; an earlier time or another value at the last
    /// time is an error and stores nothing.
    pub fn append(&self, labels: &Labels, t: i64, v: f64) -> Result<(), StorageError> {
        self.update(|m| {
            let s = m.entry(labels.clone()).or_default();
            match s.last_t() {
                Some(last) if last > t => Err("out of order sample".into()),
                Some(last) if last == t => match s.floats.last() {
                    Some(f) if f.t == t && f.v.to_bits() == v.to_bits() => Ok(()),
                    _ => Err("duplicate sample for timestamp".into()),
                },
                _ => {
                    s.floats.push(Sample::new(t, v));
                    Ok(())
                }
            }
        })
    }

    /// [`append`](Self::append) for a native histogram sample.
    pub fn append_histogram(
        &self,
        labels: &Labels,
        t: i64,
        h: Arc<FloatHistogram>,
    ) -> Result<(), StorageError> {
        self.update(|m| {
            let s = m.entry(labels.clone()).or_default();
            match s.last_t() {
                Some(last) if last > t => Err("out of order sample".into()),
                Some(last) if last == t => match s.hists.last() {
                    Some(x) if x.t == t && x.h == h => Ok(()),
                    _ => Err("duplicate sample for timestamp".into()),
                },
                _ => {
                    s.hists.push(HistogramSample { t, st: 0, h });
                    Ok(())
                }
            }
        })
    }

    /// Replaces a series' samples (each sorted by time; no time in both).
    pub fn set(&self, labels: Labels, floats: Vec<Sample>, hists: Vec<HistogramSample>) {
        self.update(|m| m.insert(labels, MemSeries { floats, hists }));
    }
}

impl Storage for MemStorage {
    fn clear(&mut self) -> Result<(), StorageError> {
        self.update(BTreeMap::clear);
        Ok(())
    }

    fn load(&mut self, series: Vec<(Labels, Vec<Sample>)>) -> Result<(), StorageError> {
        if let Some((l, _)) = series.iter().find(|(l, _)| l.is_empty()) {
            return Err(format!("empty label set {l}").into());
        }
        let mut next = (*self.snapshot()).clone();
        for (labels, samples) in series {
            let all = &mut next.entry(labels.clone()).or_default().floats;
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
        self.update(|m| *m = next);
        Ok(())
    }

    fn load_histograms(
        &mut self,
        series: Vec<(Labels, Vec<HistogramSample>)>,
    ) -> Result<(), StorageError> {
        let mut next = (*self.snapshot()).clone();
        for (labels, hists) in series {
            let all = &mut next.entry(labels.clone()).or_default().hists;
            all.extend(hists);
            all.sort_by_key(|h| h.t);
            if let Some(w) = all
                .windows(2)
                .find(|w| w[0].t == w[1].t && w[0].h != w[1].h)
            {
                return Err(format!("{labels}: two histograms at t={}", w[0].t).into());
            }
            all.dedup_by_key(|h| h.t);
        }
        self.update(|m| *m = next);
        Ok(())
    }

    fn queryable(&self) -> &dyn Queryable {
        self
    }
}

impl Queryable for MemStorage {
    fn querier(&self, mint: i64, maxt: i64) -> tsdb::Result<Box<dyn Querier>> {
        Ok(Box::new(MemQuerier {
            series: self.snapshot(),
            mint,
            maxt,
        }))
    }
}

struct MemQuerier {
    series: Arc<SeriesMap>,
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
    ) -> impl Iterator<Item = (&'a Labels, &'a [Sample], &'a [HistogramSample])> + 'a {
        self.series.iter().filter_map(move |(l, s)| {
            if matchers.is_empty() && !all_if_empty {
                return None;
            }
            if !matchers.iter().all(|m| m.matches(l.get(&m.name))) {
                return None;
            }
            let lo = s.floats.partition_point(|x| x.t < self.mint);
            let hi = s.floats.partition_point(|x| x.t <= self.maxt);
            let hlo = s.hists.partition_point(|x| x.t < self.mint);
            let hhi = s.hists.partition_point(|x| x.t <= self.maxt);
            (lo < hi || hlo < hhi).then(|| (l, &s.floats[lo..hi], &s.hists[hlo..hhi]))
        })
    }
}

impl Querier for MemQuerier {
    fn select(&self, _hints: &SelectHints, matchers: &[Matcher]) -> tsdb::Result<Vec<Series>> {
        Ok(self
            .matching(matchers, false)
            .map(|(l, s, h)| {
                let buf = SampleBuf::from_parts(s.to_vec(), Vec::new()).with_histograms(h.to_vec());
                Series::from_buf(l.clone(), buf)
            })
            .collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> tsdb::Result<Vec<String>> {
        let names: BTreeSet<String> = self
            .matching(matchers, true)
            .flat_map(|(l, _, _)| l.iter().map(|x| x.name.to_string()))
            .collect();
        Ok(names.into_iter().collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> tsdb::Result<Vec<String>> {
        let values: BTreeSet<String> = self
            .matching(matchers, true)
            .map(|(l, _, _)| l.get(name).to_string())
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

    #[test]
    fn appends_follow_the_last_sample() {
        let m = MemStorage::new();
        let cases: &[(&str, i64, f64, bool)] = &[
            ("first", 10, 1.0, true),
            ("later", 20, 2.0, true),
            ("repeat_of_last", 20, 2.0, true),
            ("other_value_at_last", 20, 3.0, false),
            ("out_of_order", 15, 1.0, false),
        ];
        for (name, t, v, ok) in cases {
            assert_eq!(m.append(&l("x", "1"), *t, *v).is_ok(), *ok, "{name}");
        }
        let q = m.querier(0, 100).unwrap();
        let got = q
            .select(&SelectHints::default(), &[Matcher::equal("a", "1")])
            .unwrap();
        let mut s = Vec::new();
        got[0].samples_in(i64::MIN, i64::MAX, &mut s);
        assert_eq!(s, [Sample::new(10, 1.0), Sample::new(20, 2.0)]);
        // A querier keeps its view; `set` replaces a series.
        m.set(l("x", "1"), vec![Sample::new(50, 5.0)], Vec::new());
        assert_eq!(
            q.select(&SelectHints::default(), &[Matcher::equal("a", "1")])
                .unwrap()
                .len(),
            1
        );
        let q = m.querier(0, 40).unwrap();
        assert!(
            q.select(&SelectHints::default(), &[Matcher::equal("a", "1")])
                .unwrap()
                .is_empty()
        );
    }
}
