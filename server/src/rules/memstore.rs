//! A small in-memory [`Queryable`] for `almanac test rules` and the rule
//! tests: a sorted map of series, each a sorted vector of samples.

use std::collections::BTreeMap;

use parking_lot::RwLock;
use tsdb::model::{Labels, Matcher, Querier, Queryable, Sample, SelectHints, Series};

/// Series in memory. Appends must be in time order per series.
#[derive(Default)]
pub struct MemStore {
    series: RwLock<BTreeMap<Labels, Vec<Sample>>>,
}

/// Why a sample was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    OutOfOrder,
    Duplicate,
}

impl MemStore {
    /// Appends one sample. A repeat of the last sample (same time, same
    /// bits) is accepted and ignored.
    pub fn append(&self, labels: &Labels, t: i64, v: f64) -> Result<(), Rejected> {
        let mut m = self.series.write();
        let s = m.entry(labels.clone()).or_default();
        match s.last() {
            Some(last) if last.t > t => Err(Rejected::OutOfOrder),
            Some(last) if last.t == t => {
                if last.v.to_bits() == v.to_bits() {
                    Ok(())
                } else {
                    Err(Rejected::Duplicate)
                }
            }
            _ => {
                s.push(Sample::new(t, v));
                Ok(())
            }
        }
    }

    /// Replaces a series' samples (later `input_series` lines win).
    pub fn set(&self, labels: Labels, samples: Vec<Sample>) {
        self.series.write().insert(labels, samples);
    }
}

impl Queryable for MemStore {
    fn querier(&self, mint: i64, maxt: i64) -> tsdb::Result<Box<dyn Querier>> {
        let series = self
            .series
            .read()
            .iter()
            .filter_map(|(l, s)| {
                let lo = s.partition_point(|x| x.t < mint);
                let hi = s.partition_point(|x| x.t <= maxt);
                (lo < hi).then(|| (l.clone(), s[lo..hi].to_vec()))
            })
            .collect();
        Ok(Box::new(MemQuerier { series }))
    }
}

struct MemQuerier {
    series: Vec<(Labels, Vec<Sample>)>,
}

impl MemQuerier {
    fn matching<'a>(
        &'a self,
        matchers: &'a [Matcher],
    ) -> impl Iterator<Item = &'a (Labels, Vec<Sample>)> + 'a {
        self.series
            .iter()
            .filter(move |(l, _)| matchers.iter().all(|m| m.matches(l.get(&m.name))))
    }
}

impl Querier for MemQuerier {
    fn select(&self, _: &SelectHints, matchers: &[Matcher]) -> tsdb::Result<Vec<Series>> {
        if matchers.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .matching(matchers)
            .map(|(l, s)| Series::from_samples(l.clone(), s.clone()))
            .collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> tsdb::Result<Vec<String>> {
        let mut names: Vec<String> = self
            .matching(matchers)
            .flat_map(|(l, _)| l.iter().map(|x| x.name.to_string()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> tsdb::Result<Vec<String>> {
        let mut vals: Vec<String> = self
            .matching(matchers)
            .map(|(l, _)| l.get(name).to_string())
            .filter(|v| !v.is_empty())
            .collect();
        vals.sort();
        vals.dedup();
        Ok(vals)
    }
}
