//! The read side: the only interface between storage and PromQL.

use std::sync::Arc;

use super::labels::Labels;
use super::matcher::Matcher;
use super::sample::Sample;
use super::sample_buf::SampleBuf;
use crate::downsample::StoredSummaries;
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
    /// [`LABELS_ONLY`] (`series`, as Prometheus's `/api/v1/series` hints
    /// it): only the labels are wanted, and a querier may return series
    /// without their data.
    pub func: Option<String>,
    /// Return at most this many series (0 = no limit).
    pub limit: usize,
}

/// [`SelectHints::func`] of a selection that wants labels only.
pub const LABELS_ONLY: &str = "series";

/// [`SelectHints::func`] of the raw samples a downsampling-tier read joins
/// to its buckets: the same series a [`LABELS_ONLY`] selection over the
/// whole range listed just before (usage records count that one).
pub const TIER_TAIL: &str = "tier-tail";

/// A source of queriers over a time range: the database, the head alone, an
/// in-memory test store.
pub trait Queryable: Send + Sync {
    /// A querier that sees samples in `[mint, maxt]` as of this call: later
    /// commits may or may not be visible, but every commit that completed
    /// before the call is.
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>>;

    /// The downsampling tiers this storage holds and where its raw data
    /// starts; none by default.
    fn tiering(&self) -> Tiering {
        Tiering::default()
    }

    /// The bucket summaries of resolution `res` of the series matching
    /// *all* matchers, for the buckets ending in `(lo, hi]`, to be read
    /// (decoded where the query evaluates the series) as buckets of
    /// resolution `into` (a multiple of `res`; `res` itself keeps them);
    /// series without a chunk holding such a bucket are left out. None by
    /// default.
    fn select_summaries(
        &self,
        res: i64,
        into: i64,
        matchers: &[Matcher],
        lo: i64,
        hi: i64,
    ) -> Result<Vec<(Labels, StoredSummaries)>> {
        let _ = (res, into, matchers, lo, hi);
        Ok(Vec::new())
    }
}

/// What a storage holds besides raw samples: its downsampling tiers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tiering {
    /// The oldest raw sample time (`None`: no raw data, or unknown).
    pub raw_from: Option<i64>,
    /// Tiers with data, finest first.
    pub tiers: Vec<TierSpan>,
    /// Raw retention per selector, first match wins: the series a rule
    /// matches have raw samples only from its cutoff.
    pub rules: Vec<RawCutoff>,
}

/// Where a retention rule's series' raw samples start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCutoff {
    pub matchers: Vec<Matcher>,
    /// The oldest raw sample time a matching series keeps (`None`: the
    /// rule keeps raw data forever).
    pub from: Option<i64>,
}

impl Tiering {
    /// The oldest raw sample time of the series `labels`, as queries see
    /// it: the later of [`raw_from`](Self::raw_from) and its rule's cutoff.
    pub fn raw_from_of(&self, labels: &Labels) -> Option<i64> {
        let rule = self
            .rules
            .iter()
            .find(|r| r.matchers.iter().all(|m| m.matches(labels.get(&m.name))));
        match rule.and_then(|r| r.from) {
            Some(cut) => self.raw_from.map(|r| r.max(cut)),
            None => self.raw_from,
        }
    }

    /// The latest time any series' raw samples may start from: before it,
    /// some series may have only tier data.
    pub fn latest_raw_from(&self) -> Option<i64> {
        let cuts = self.rules.iter().filter_map(|r| r.from);
        self.raw_from.map(|r| cuts.fold(r, i64::max))
    }
}

/// One tier's stored buckets: those ending in `(lo, hi]`, every bucket of
/// the range there (none missing but where no sample was).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierSpan {
    pub resolution: i64,
    pub lo: i64,
    pub hi: i64,
}

/// Reads series and label metadata of one time range.
pub trait Querier: Send + Sync {
    /// Series with samples in the querier's range matching *all* matchers,
    /// sorted by labels, each appearing once (overlapping data deduplicated).
    /// Samples are not decoded until a series is read. An empty matcher
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
        Self::from_samples_st(labels, samples, Vec::new())
    }

    /// [`from_samples`](Self::from_samples) with the samples' start
    /// timestamps (`sts` parallel to `samples`, 0 = none; empty = none).
    pub fn from_samples_st(labels: Labels, samples: Vec<Sample>, sts: Vec<i64>) -> Self {
        Series {
            labels,
            data: Arc::new(VecSeries(SampleBuf::from_parts(samples, sts))),
        }
    }

    /// A series over any samples held in memory, histograms included
    /// (each column sorted by time, no timestamp in both).
    pub fn from_buf(labels: Labels, samples: SampleBuf) -> Self {
        Series {
            labels,
            data: Arc::new(VecSeries(samples)),
        }
    }

    /// See [`SeriesData::read`].
    pub fn read(&self, mint: i64, maxt: i64, buf: &mut SampleBuf) {
        self.data.read(mint, maxt, buf)
    }

    /// Appends the float samples of [`read`](Self::read) to `out`: a
    /// shorthand for callers that need nothing else and read once.
    pub fn samples_in(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        let mut buf = SampleBuf::new();
        self.data.read(mint, maxt, &mut buf);
        out.extend_from_slice(buf.floats());
    }
}

/// The samples of one series, however stored: the one bulk read of the
/// read side, implemented over head chunks, block chunks, merged sources
/// and in-memory samples.
pub trait SeriesData: Send + Sync {
    /// Replaces the content of `buf` with the samples with
    /// `mint <= t <= maxt`, in increasing time order, with their start
    /// timestamps where any has one.
    ///
    /// Infallible: every chunk was loaded and checked (CRC, headers) when
    /// the series was selected. Chunks outside the range are skipped
    /// without decoding.
    fn read(&self, mint: i64, maxt: i64, buf: &mut SampleBuf);
}

/// Samples held in memory, sorted by time.
struct VecSeries(SampleBuf);

impl SeriesData for VecSeries {
    fn read(&self, mint: i64, maxt: i64, buf: &mut SampleBuf) {
        buf.clear();
        let all = self.0.floats();
        let lo = all.partition_point(|s| s.t < mint);
        let hi = all.partition_point(|s| s.t <= maxt).max(lo);
        match self.0.start_timestamps() {
            None => buf.floats_mut().extend_from_slice(&all[lo..hi]),
            Some(sts) => {
                let (floats, out_sts) = buf.floats_and_sts_mut();
                floats.extend_from_slice(&all[lo..hi]);
                out_sts.extend_from_slice(&sts[lo..hi]);
                buf.settle_sts();
            }
        }
        let hists = self.0.histograms();
        let lo = hists.partition_point(|s| s.t < mint);
        let hi = hists.partition_point(|s| s.t <= maxt).max(lo);
        buf.histograms_mut().extend_from_slice(&hists[lo..hi]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_series_reads_a_range() {
        let s = Series::from_samples(
            Labels::from_pairs(&[("a", "b")]),
            (0..10).map(|i| Sample::new(i * 10, i as f64)).collect(),
        );
        let mut buf = SampleBuf::new();
        buf.push(Sample::new(-5, 0.0), 3);
        s.read(15, 40, &mut buf);
        let ts: Vec<i64> = buf.floats().iter().map(|s| s.t).collect();
        assert_eq!(ts, vec![20, 30, 40], "read replaces the content");
        assert_eq!(buf.start_timestamps(), None);
        s.read(100, 200, &mut buf);
        assert!(buf.is_empty());
    }

    #[test]
    fn vec_series_start_timestamps_only_where_set() {
        let samples: Vec<Sample> = (0..4).map(|i| Sample::new(i * 10, 1.0)).collect();
        let s = Series::from_samples_st(
            Labels::from_pairs(&[("a", "b")]),
            samples,
            vec![0, 0, 15, 15],
        );
        let mut buf = SampleBuf::new();
        s.read(0, 10, &mut buf);
        assert_eq!(buf.start_timestamps(), None);
        assert_eq!(buf.len(), 2);
        s.read(10, 30, &mut buf);
        assert_eq!(buf.start_timestamps(), Some(&[0, 15, 15][..]));
        assert_eq!(buf.len(), 3);
    }
}
