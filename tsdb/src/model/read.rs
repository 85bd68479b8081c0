//! The read side: the only interface between storage and PromQL.

use std::sync::Arc;

use super::labels::Labels;
use super::matcher::Matcher;
use super::sample::{Sample, SampleIterator};
use crate::error::Result;

/// What a query will do with a selection, so storage can skip work.
/// All times are inclusive milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectHints {
    /// First timestamp that can matter (range/lookback already subtracted).
    pub start: i64,
    /// Last timestamp that can matter.
    pub end: i64,
    /// Evaluation step, 0 for instant queries.
    pub step: i64,
    /// Range of the enclosing range selector, 0 for instant selectors.
    pub range: i64,
    /// The function applied to the selection, if any (`rate`, `series` …).
    pub func: Option<String>,
    /// Return at most this many series (0 = no limit).
    pub limit: usize,
}

/// A source of queriers over a time range: the database, the head alone, an
/// in-memory test store.
pub trait Queryable: Send + Sync {
    /// A querier that sees samples in `[mint, maxt]` as of this call: later
    /// commits may or may not be visible, but every commit that completed
    /// before the call is.
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>>;
}

/// Reads series and label metadata of one time range.
pub trait Querier: Send + Sync {
    /// Series with samples in the querier's range matching *all* matchers,
    /// sorted by labels, each appearing once (overlapping data deduplicated).
    /// Samples are not decoded until a series is iterated. An empty matcher
    /// list selects nothing.
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>>;

    /// Sorted, unique label names of the series matching all matchers (all
    /// series when `matchers` is empty).
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>>;

    /// Sorted, unique values of `name` among the series matching all
    /// matchers (all series when `matchers` is empty).
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>>;
}

/// One selected series: its labels and a way to read its samples.
#[derive(Clone)]
pub struct Series {
    pub labels: Labels,
    pub data: Arc<dyn SeriesData>,
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series")
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

impl Series {
    /// A series over samples held in memory (tests, computed results).
    /// `samples` must be sorted by timestamp without duplicates.
    pub fn from_samples(labels: Labels, samples: Vec<Sample>) -> Self {
        Series {
            labels,
            data: Arc::new(VecSeries(samples)),
        }
    }

    pub fn iter(&self) -> Box<dyn SampleIterator + '_> {
        self.data.iter()
    }

    /// Appends the samples with `mint <= t <= maxt` to `out`, in order.
    pub fn samples_in(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        self.data.samples_in(mint, maxt, out)
    }
}

/// The samples of one series, however stored.
pub trait SeriesData: Send + Sync {
    /// An iterator over every sample of the series in the querier's range.
    fn iter(&self) -> Box<dyn SampleIterator + '_>;

    /// Appends the samples with `mint <= t <= maxt` to `out`, in order.
    /// Implementations skip chunks outside the range without decoding them.
    fn samples_in(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        let mut it = self.iter();
        if !it.seek(mint) {
            return;
        }
        loop {
            let s = it.at();
            if s.t > maxt {
                return;
            }
            out.push(s);
            if !it.next() {
                return;
            }
        }
    }
}

/// Samples held in a `Vec`, sorted by time.
struct VecSeries(Vec<Sample>);

impl SeriesData for VecSeries {
    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(SliceIter {
            samples: &self.0,
            pos: None,
        })
    }

    fn samples_in(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        let lo = self.0.partition_point(|s| s.t < mint);
        let hi = self.0.partition_point(|s| s.t <= maxt);
        if lo < hi {
            out.extend_from_slice(&self.0[lo..hi]);
        }
    }
}

/// Iterates a sorted slice of samples.
pub struct SliceIter<'a> {
    samples: &'a [Sample],
    pos: Option<usize>,
}

impl<'a> SliceIter<'a> {
    pub fn new(samples: &'a [Sample]) -> Self {
        SliceIter { samples, pos: None }
    }
}

impl SampleIterator for SliceIter<'_> {
    fn next(&mut self) -> bool {
        let next = self.pos.map_or(0, |p| p + 1);
        self.pos = Some(next.min(self.samples.len()));
        next < self.samples.len()
    }

    fn seek(&mut self, t: i64) -> bool {
        let from = self.pos.unwrap_or(0).min(self.samples.len());
        let idx = from + self.samples[from..].partition_point(|s| s.t < t);
        self.pos = Some(idx);
        idx < self.samples.len()
    }

    fn at(&self) -> Sample {
        self.samples[self.pos.unwrap_or(0)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_series_range_and_seek() {
        let s = Series::from_samples(
            Labels::from_pairs(&[("a", "b")]),
            (0..10).map(|i| Sample::new(i * 10, i as f64)).collect(),
        );
        let mut out = vec![];
        s.samples_in(15, 40, &mut out);
        assert_eq!(
            out.iter().map(|s| s.t).collect::<Vec<_>>(),
            vec![20, 30, 40]
        );
        let mut it = s.iter();
        assert!(it.seek(35));
        assert_eq!(it.at().t, 40);
        assert!(it.seek(0), "seek never moves backwards");
        assert_eq!(it.at().t, 40);
        assert!(it.next());
        assert_eq!(it.at().t, 50);
        assert!(!it.seek(1000));
    }
}
