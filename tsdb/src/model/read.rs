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
            data: Arc::new(VecSeries {
                samples,
                sts: Vec::new(),
            }),
        }
    }

    /// [`from_samples`](Self::from_samples) with the samples' start
    /// timestamps (`sts` parallel to `samples`, 0 = none; empty = none).
    pub fn from_samples_st(labels: Labels, samples: Vec<Sample>, mut sts: Vec<i64>) -> Self {
        if sts.iter().all(|&st| st == 0) {
            sts.clear();
        }
        sts.resize(if sts.is_empty() { 0 } else { samples.len() }, 0);
        Series {
            labels,
            data: Arc::new(VecSeries { samples, sts }),
        }
    }

    pub fn iter(&self) -> Box<dyn SampleIterator + '_> {
        self.data.iter()
    }

    /// Appends the samples with `mint <= t <= maxt` to `out`, in order.
    pub fn samples_in(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        self.data.samples_in(mint, maxt, out)
    }

    /// See [`SeriesData::samples_st_in`].
    pub fn samples_st_in(
        &self,
        mint: i64,
        maxt: i64,
        out: &mut Vec<Sample>,
        sts: &mut Vec<i64>,
    ) -> bool {
        self.data.samples_st_in(mint, maxt, out, sts)
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

    /// [`samples_in`](Self::samples_in) with the samples' start timestamps
    /// (when the quantity a sample reports started accumulating; 0 =
    /// none). When any appended sample has one, appends one entry per
    /// appended sample to `sts` and returns `true`; otherwise leaves `sts`
    /// alone and returns `false`.
    fn samples_st_in(
        &self,
        mint: i64,
        maxt: i64,
        out: &mut Vec<Sample>,
        _sts: &mut Vec<i64>,
    ) -> bool {
        self.samples_in(mint, maxt, out);
        false
    }
}

/// Samples held in a `Vec`, sorted by time, and their start timestamps
/// (parallel, or empty for none).
struct VecSeries {
    samples: Vec<Sample>,
    sts: Vec<i64>,
}

impl VecSeries {
    fn bounds(&self, mint: i64, maxt: i64) -> (usize, usize) {
        let lo = self.samples.partition_point(|s| s.t < mint);
        let hi = self.samples.partition_point(|s| s.t <= maxt);
        (lo, hi.max(lo))
    }
}

impl SeriesData for VecSeries {
    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(SliceIter {
            samples: &self.samples,
            pos: None,
        })
    }

    fn samples_in(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        let (lo, hi) = self.bounds(mint, maxt);
        out.extend_from_slice(&self.samples[lo..hi]);
    }

    fn samples_st_in(
        &self,
        mint: i64,
        maxt: i64,
        out: &mut Vec<Sample>,
        sts: &mut Vec<i64>,
    ) -> bool {
        let (lo, hi) = self.bounds(mint, maxt);
        out.extend_from_slice(&self.samples[lo..hi]);
        let window = self.sts.get(lo..hi).unwrap_or(&[]);
        if window.iter().all(|&st| st == 0) {
            return false;
        }
        sts.extend_from_slice(window);
        true
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

    #[test]
    fn vec_series_start_timestamps_only_where_set() {
        let samples: Vec<Sample> = (0..4).map(|i| Sample::new(i * 10, 1.0)).collect();
        let s = Series::from_samples_st(
            Labels::from_pairs(&[("a", "b")]),
            samples,
            vec![0, 0, 15, 15],
        );
        let (mut out, mut sts) = (vec![], vec![]);
        assert!(!s.samples_st_in(0, 10, &mut out, &mut sts));
        assert!(sts.is_empty());
        out.clear();
        assert!(s.samples_st_in(10, 30, &mut out, &mut sts));
        assert_eq!(sts, vec![0, 15, 15]);
        assert_eq!(out.len(), 3);
    }
}
