//! Which metrics are queried, how often and when last, by where the
//! query came from (VictoriaMetrics' `metric_names_stats`): a metric
//! counts once per select that returned series of it. Reads go through
//! [`RecordingStorage`], which notes the metric names of every selection.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tsdb::model::{METRIC_NAME, Matcher, Querier, Queryable, SelectHints, Series};

/// Where a read came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `/api/v1/query`, `/api/v1/query_range` and the other HTTP reads.
    Api,
    /// Recording and alerting rules.
    Rules,
    /// Remote read.
    RemoteRead,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Api, Source::Rules, Source::RemoteRead];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Rules => "rules",
            Source::RemoteRead => "remote_read",
        }
    }

    /// The position of this source's count in [`Usage::requests`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One metric's record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Selections that returned the metric, by [`Source`].
    pub requests: [u64; 3],
    /// Unix seconds of the last one.
    pub last_request: i64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.requests.iter().sum()
    }
}

/// The records since the last reset.
#[derive(Debug)]
pub struct MetricUsage {
    inner: Mutex<Records>,
}

#[derive(Debug)]
struct Records {
    by_metric: HashMap<String, Usage>,
    /// Unix seconds when collection started (or was last reset).
    since: i64,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Default for MetricUsage {
    fn default() -> Self {
        MetricUsage {
            inner: Mutex::new(Records {
                by_metric: HashMap::new(),
                since: now_secs(),
            }),
        }
    }
}

impl MetricUsage {
    /// Counts one request from `source` for each distinct name in `names`.
    pub fn record<'a>(&self, source: Source, names: impl IntoIterator<Item = &'a str>) {
        let mut distinct: Vec<&str> = names.into_iter().filter(|n| !n.is_empty()).collect();
        if distinct.is_empty() {
            return;
        }
        distinct.sort_unstable();
        distinct.dedup();
        let now = now_secs();
        let mut r = self.inner.lock();
        for name in distinct {
            let u = match r.by_metric.get_mut(name) {
                Some(u) => u,
                None => r.by_metric.entry(name.to_string()).or_default(),
            };
            u.requests[source.index()] += 1;
            u.last_request = now;
        }
    }

    /// Every metric's record, and when collection started.
    pub fn snapshot(&self) -> (i64, Vec<(String, Usage)>) {
        let r = self.inner.lock();
        let v = r.by_metric.iter().map(|(k, u)| (k.clone(), *u)).collect();
        (r.since, v)
    }

    /// About the heap bytes the records use.
    pub fn heap_bytes(&self) -> usize {
        let r = self.inner.lock();
        r.by_metric.keys().map(|k| k.len()).sum::<usize>()
            + r.by_metric.capacity() * (std::mem::size_of::<(String, Usage)>() + 1)
    }

    /// Forgets every record and starts again now.
    pub fn reset(&self) {
        let mut r = self.inner.lock();
        r.by_metric.clear();
        r.since = now_secs();
    }
}

/// A [`Queryable`] that records the metric names of every selection.
pub struct RecordingStorage {
    pub inner: Arc<dyn Queryable>,
    pub usage: Arc<MetricUsage>,
    pub source: Source,
}

impl Queryable for RecordingStorage {
    fn querier(&self, mint: i64, maxt: i64) -> tsdb::Result<Box<dyn Querier>> {
        Ok(Box::new(RecordingQuerier {
            inner: self.inner.querier(mint, maxt)?,
            usage: self.usage.clone(),
            source: self.source,
        }))
    }

    fn tiering(&self) -> tsdb::model::Tiering {
        self.inner.tiering()
    }

    fn select_summaries(
        &self,
        res: i64,
        into: i64,
        matchers: &[Matcher],
        lo: i64,
        hi: i64,
    ) -> tsdb::Result<Vec<(tsdb::model::Labels, tsdb::downsample::StoredSummaries)>> {
        // Not recorded: the query lists the same series from raw data
        // too (a labels-only selection), and that selection is counted.
        self.inner.select_summaries(res, into, matchers, lo, hi)
    }
}

struct RecordingQuerier {
    inner: Box<dyn Querier>,
    usage: Arc<MetricUsage>,
    source: Source,
}

impl Querier for RecordingQuerier {
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> tsdb::Result<Vec<Series>> {
        let out = self.inner.select(hints, matchers)?;
        // A tier read's raw tail was counted with its labels-only listing.
        if hints.func.as_deref() != Some(tsdb::model::TIER_TAIL) {
            self.usage
                .record(self.source, out.iter().map(|s| s.labels.get(METRIC_NAME)));
        }
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> tsdb::Result<Vec<String>> {
        self.inner.label_names(matchers)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> tsdb::Result<Vec<String>> {
        self.inner.label_values(name, matchers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_select_counts_each_metric_once_by_source() {
        let u = MetricUsage::default();
        u.record(Source::Api, ["a", "a", "b"]);
        u.record(Source::Rules, ["a"]);
        u.record(Source::RemoteRead, [""]);
        let (_, mut v) = u.snapshot();
        v.sort_by(|x, y| x.0.cmp(&y.0));
        let got: Vec<(&str, [u64; 3])> = v.iter().map(|(n, u)| (n.as_str(), u.requests)).collect();
        assert_eq!(got, [("a", [1, 1, 0]), ("b", [1, 0, 0])]);
        u.reset();
        assert!(u.snapshot().1.is_empty());
    }

    /// Reads through the wrapper record the metric names they return.
    #[test]
    fn recording_storage_notes_selected_metrics() {
        let mem = promql::promqltest::MemStorage::new();
        for name in ["a", "b"] {
            let l = tsdb::model::Labels::from_pairs(&[("__name__", name)]);
            mem.append(&l, 0, 1.0).unwrap();
        }
        let usage = Arc::new(MetricUsage::default());
        let rec = RecordingStorage {
            inner: Arc::new(mem),
            usage: usage.clone(),
            source: Source::Rules,
        };
        let q = rec.querier(0, 10).unwrap();
        let all = Matcher::new(tsdb::model::MatchOp::RegexMatch, METRIC_NAME, "a").unwrap();
        assert_eq!(
            q.select(&SelectHints::default(), std::slice::from_ref(&all))
                .unwrap()
                .len(),
            1
        );
        // A tier read's raw tail is not counted again.
        let tail = SelectHints {
            func: Some(tsdb::model::TIER_TAIL.to_string()),
            ..SelectHints::default()
        };
        assert_eq!(q.select(&tail, &[all]).unwrap().len(), 1);
        let (_, v) = usage.snapshot();
        assert_eq!(
            v,
            [(
                "a".to_string(),
                Usage {
                    requests: [0, 1, 0],
                    last_request: v[0].1.last_request
                }
            )]
        );
    }
}
