//! Exemplars: sample-linked labels (usually a trace id), kept per series in
//! a bounded store. When the store is full, the oldest exemplar overall is
//! evicted. Exemplars travel through the WAL with their series.

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;

use crate::model::{Labels, Matcher};

/// One exemplar of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// Why an exemplar was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExemplarRejection {
    /// Older than the newest exemplar of its series.
    OutOfOrder,
    /// Labels longer than the 128 UTF-8 characters the OpenMetrics spec allows.
    TooLong,
}

#[derive(Default)]
struct Inner {
    by_series: HashMap<u64, (Labels, VecDeque<Exemplar>)>,
    /// Series of each stored exemplar, oldest first (for eviction).
    order: VecDeque<u64>,
}

/// Bounded exemplar storage, safe to share.
pub struct ExemplarStore {
    max: usize,
    inner: Mutex<Inner>,
}

impl ExemplarStore {
    /// A store keeping at most `max` exemplars (0 keeps none).
    pub fn new(max: usize) -> Self {
        ExemplarStore {
            max,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Whether `e` would be stored for `series_ref` (used before logging).
    pub fn check(&self, series_ref: u64, e: &Exemplar) -> Result<(), ExemplarRejection> {
        let chars: usize = e
            .labels
            .iter()
            .map(|l| l.name.chars().count() + l.value.chars().count())
            .sum();
        if chars > 128 {
            return Err(ExemplarRejection::TooLong);
        }
        let inner = self.inner.lock();
        if let Some((_, q)) = inner.by_series.get(&series_ref)
            && let Some(last) = q.back()
            && e.t < last.t
        {
            return Err(ExemplarRejection::OutOfOrder);
        }
        Ok(())
    }

    /// Stores `e` for the series; an exact repeat of the newest exemplar is
    /// ignored. Returns whether it was stored.
    pub fn add(&self, series_ref: u64, series: &Labels, e: Exemplar) -> bool {
        if self.max == 0 || self.check(series_ref, &e).is_err() {
            return false;
        }
        let mut inner = self.inner.lock();
        let entry = inner
            .by_series
            .entry(series_ref)
            .or_insert_with(|| (series.clone(), VecDeque::new()));
        if entry.1.back().is_some_and(|last| {
            last.t == e.t && last.v.to_bits() == e.v.to_bits() && last.labels == e.labels
        }) {
            return false;
        }
        entry.1.push_back(e);
        inner.order.push_back(series_ref);
        while inner.order.len() > self.max {
            let Some(victim) = inner.order.pop_front() else {
                break;
            };
            if let Some((_, q)) = inner.by_series.get_mut(&victim) {
                q.pop_front();
                if q.is_empty() {
                    inner.by_series.remove(&victim);
                }
            }
        }
        true
    }

    /// Exemplars in `[mint, maxt]` of the series whose labels satisfy any of
    /// the matcher sets, sorted by series labels; exemplars in time order.
    pub fn query(
        &self,
        matcher_sets: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Vec<(Labels, Vec<Exemplar>)> {
        let inner = self.inner.lock();
        let mut out: Vec<(Labels, Vec<Exemplar>)> = inner
            .by_series
            .values()
            .filter(|(labels, _)| {
                matcher_sets
                    .iter()
                    .any(|ms| ms.iter().all(|m| m.matches(labels.get(&m.name))))
            })
            .filter_map(|(labels, q)| {
                let es: Vec<Exemplar> = q
                    .iter()
                    .filter(|e| e.t >= mint && e.t <= maxt)
                    .cloned()
                    .collect();
                (!es.is_empty()).then(|| (labels.clone(), es))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub fn len(&self) -> usize {
        self.inner.lock().order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(t: i64, id: &str) -> Exemplar {
        Exemplar {
            labels: Labels::from_pairs(&[("trace_id", id)]),
            t,
            v: 1.0,
        }
    }

    #[test]
    fn bounded_ordered_and_queryable() {
        let s = ExemplarStore::new(3);
        let a = Labels::from_pairs(&[("__name__", "a")]);
        let b = Labels::from_pairs(&[("__name__", "b")]);
        assert!(s.add(1, &a, ex(10, "x")));
        assert!(!s.add(1, &a, ex(10, "x")), "exact repeat ignored");
        assert_eq!(s.check(1, &ex(5, "y")), Err(ExemplarRejection::OutOfOrder));
        assert!(s.add(2, &b, ex(11, "y")));
        assert!(s.add(1, &a, ex(12, "z")));
        assert!(s.add(2, &b, ex(13, "w"))); // evicts a@10
        assert_eq!(s.len(), 3);
        let all = vec![vec![
            Matcher::new(crate::model::MatchOp::RegexMatch, "__name__", ".+").unwrap(),
        ]];
        let got = s.query(&all, 0, 100);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1.iter().map(|e| e.t).collect::<Vec<_>>(), vec![12]);
        assert_eq!(
            got[1].1.iter().map(|e| e.t).collect::<Vec<_>>(),
            vec![11, 13]
        );
        assert_eq!(s.query(&all, 12, 12).len(), 1);
        let long = Exemplar {
            labels: Labels::from_pairs(&[("trace_id", &"x".repeat(130))]),
            t: 20,
            v: 1.0,
        };
        assert_eq!(s.check(3, &long), Err(ExemplarRejection::TooLong));
    }
}
