//! In-memory postings: for every label pair the set of series ids carrying it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::select::LabelIndex;
use crate::model::Labels;

/// `(name, value) → series ids`, plus the set of all ids.
///
/// Not synchronised: the head wraps it in a lock. Ids are dense `u32`s
/// handed out by the head; a removed series is removed from every list.
#[derive(Default)]
pub struct MemPostings {
    by_name: HashMap<Arc<str>, BTreeMap<Arc<str>, RoaringBitmap>>,
    all: RoaringBitmap,
}

impl MemPostings {
    pub fn new() -> Self {
        Self::default()
    }

    /// Indexes series `id` under each of its labels.
    pub fn add(&mut self, id: u32, labels: &Labels) {
        for l in labels {
            self.by_name
                .entry(l.name.clone())
                .or_default()
                .entry(l.value.clone())
                .or_default()
                .insert(id);
        }
        self.all.insert(id);
    }

    /// Removes series `id` (indexed under `labels`); empty lists are dropped.
    pub fn remove(&mut self, id: u32, labels: &Labels) {
        for l in labels {
            if let Some(values) = self.by_name.get_mut(&*l.name) {
                if let Some(bm) = values.get_mut(&*l.value) {
                    bm.remove(id);
                    if bm.is_empty() {
                        values.remove(&*l.value);
                    }
                }
                if values.is_empty() {
                    self.by_name.remove(&*l.name);
                }
            }
        }
        self.all.remove(id);
    }

    pub fn num_series(&self) -> u64 {
        self.all.len()
    }

    /// Every `(name, value, count)`, for cardinality statistics.
    pub fn pair_counts(&self) -> impl Iterator<Item = (&str, &str, u64)> {
        self.by_name
            .iter()
            .flat_map(|(n, vs)| vs.iter().map(move |(v, bm)| (&**n, &**v, bm.len())))
    }

    /// Series carrying the label pair `name="value"` (no copy of the list).
    pub fn count(&self, name: &str, value: &str) -> u64 {
        self.by_name
            .get(name)
            .and_then(|vs| vs.get(value))
            .map_or(0, RoaringBitmap::len)
    }

    /// Distinct values of label `name`, and whether `value` is one of them.
    pub fn values_of(&self, name: &str, value: &str) -> (u64, bool) {
        self.by_name
            .get(name)
            .map_or((0, false), |vs| (vs.len() as u64, vs.contains_key(value)))
    }

    /// Number of distinct values per label name.
    pub fn name_cardinalities(&self) -> impl Iterator<Item = (&str, usize)> {
        self.by_name.iter().map(|(n, vs)| (&**n, vs.len()))
    }
}

impl LabelIndex for MemPostings {
    fn all_postings(&self) -> RoaringBitmap {
        self.all.clone()
    }

    fn postings(&self, name: &str, value: &str) -> RoaringBitmap {
        self.by_name
            .get(name)
            .and_then(|vs| vs.get(value))
            .cloned()
            .unwrap_or_default()
    }

    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str, &RoaringBitmap)) {
        if let Some(vs) = self.by_name.get(name) {
            for (v, bm) in vs {
                f(v, bm);
            }
        }
    }

    fn label_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_name.keys().map(|n| n.to_string()).collect();
        names.sort();
        names
    }
}
