//! The caller's buffer of the one bulk read ([`SeriesData::read`]).
//!
//! [`SeriesData::read`]: super::SeriesData::read

use super::sample::{HistogramSample, Sample};

/// One series' samples of a time range, in increasing time order, as a
/// read leaves them: float samples and, parallel to them, their start
/// timestamps (when the quantity a sample reports started accumulating);
/// and, as a second column, native histogram samples.
///
/// A series that switched between floats and histograms has samples in
/// both columns, each in increasing time order; no timestamp is in both.
/// Start timestamps are stored only when some float sample has one: then
/// there is exactly one per float sample (0 = none); otherwise none are
/// stored. Reuse one buffer across series: [`clear`](Self::clear) keeps
/// the allocations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleBuf {
    floats: Vec<Sample>,
    /// Empty, or parallel to `floats`.
    sts: Vec<i64>,
    hists: Vec<HistogramSample>,
}

impl SampleBuf {
    pub fn new() -> Self {
        Self::default()
    }

    /// A buffer holding `floats` (sorted by time, unique timestamps) and
    /// their start timestamps (`sts` parallel to them; empty = none).
    pub fn from_parts(floats: Vec<Sample>, mut sts: Vec<i64>) -> Self {
        if sts.iter().all(|&st| st == 0) {
            sts.clear();
        }
        sts.resize(if sts.is_empty() { 0 } else { floats.len() }, 0);
        SampleBuf {
            floats,
            sts,
            hists: Vec::new(),
        }
    }

    /// [`from_parts`](Self::from_parts) with histogram samples (sorted by
    /// time, no timestamp among the floats').
    pub fn with_histograms(mut self, hists: Vec<HistogramSample>) -> Self {
        self.hists = hists;
        self
    }

    pub fn clear(&mut self) {
        self.floats.clear();
        self.sts.clear();
        self.hists.clear();
    }

    /// Samples of both kinds.
    pub fn len(&self) -> usize {
        self.floats.len() + self.hists.len()
    }

    pub fn is_empty(&self) -> bool {
        self.floats.is_empty() && self.hists.is_empty()
    }

    /// The histogram samples, ascending by time.
    pub fn histograms(&self) -> &[HistogramSample] {
        &self.hists
    }

    /// Appends a histogram sample; `h.t` must be after the last one's.
    pub fn push_histogram(&mut self, h: HistogramSample) {
        self.hists.push(h);
    }

    /// The histogram samples, for decoders, merges and readers that
    /// rewrite them in place; they must stay ascending by time.
    pub fn histograms_mut(&mut self) -> &mut Vec<HistogramSample> {
        &mut self.hists
    }

    /// The float samples, ascending by time.
    pub fn floats(&self) -> &[Sample] {
        &self.floats
    }

    /// The start timestamps parallel to [`floats`](Self::floats) (0 =
    /// none), or `None` when no sample has one.
    pub fn start_timestamps(&self) -> Option<&[i64]> {
        (!self.sts.is_empty()).then_some(&self.sts[..])
    }

    /// Appends a sample with start timestamp `st` (0 = none); `s.t` must
    /// be after the last sample's.
    pub fn push(&mut self, s: Sample, st: i64) {
        if st != 0 && self.sts.is_empty() {
            self.sts.resize(self.floats.len(), 0);
        }
        self.floats.push(s);
        if !self.sts.is_empty() {
            self.sts.push(st);
        }
    }

    /// Keeps the samples (of both kinds) whose timestamps `keep` accepts,
    /// floats with their start timestamps.
    pub fn retain_times(&mut self, keep: impl Fn(i64) -> bool) {
        self.hists.retain(|h| keep(h.t));
        self.retain(|s| keep(s.t));
    }

    /// Keeps the float samples `keep` accepts (with their start
    /// timestamps); histograms are untouched.
    pub fn retain(&mut self, keep: impl Fn(&Sample) -> bool) {
        if self.sts.is_empty() {
            self.floats.retain(keep);
            return;
        }
        let mut w = 0;
        for r in 0..self.floats.len() {
            if keep(&self.floats[r]) {
                self.floats[w] = self.floats[r];
                self.sts[w] = self.sts[r];
                w += 1;
            }
        }
        self.floats.truncate(w);
        self.sts.truncate(w);
        self.drop_empty_sts();
    }

    /// The float samples and their start timestamps (empty = none); the
    /// histograms are dropped (see [`histograms`](Self::histograms)).
    pub fn into_parts(self) -> (Vec<Sample>, Vec<i64>) {
        (self.floats, self.sts)
    }

    /// The float samples, for decoders appending to them. A decoder that
    /// appends floats while start timestamps are stored must append as
    /// many start timestamps ([`floats_and_sts_mut`](Self::floats_and_sts_mut)).
    pub(crate) fn floats_mut(&mut self) -> &mut Vec<Sample> {
        &mut self.floats
    }

    /// Both columns, after making start timestamps parallel to the floats
    /// (so a decoder of a chunk with start timestamps appends to both).
    pub(crate) fn floats_and_sts_mut(&mut self) -> (&mut Vec<Sample>, &mut Vec<i64>) {
        self.sts.resize(self.floats.len(), 0);
        (&mut self.floats, &mut self.sts)
    }

    /// Pads start timestamps with zeros up to the floats (after floats
    /// without them were appended), or drops them when all are 0.
    pub(crate) fn settle_sts(&mut self) {
        if !self.sts.is_empty() {
            self.sts.resize(self.floats.len(), 0);
            self.drop_empty_sts();
        }
    }

    fn drop_empty_sts(&mut self) {
        if self.sts.iter().all(|&st| st == 0) {
            self.sts.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_timestamps_are_stored_only_when_some_sample_has_one() {
        let mut b = SampleBuf::new();
        b.push(Sample::new(1, 1.0), 0);
        assert_eq!(b.start_timestamps(), None);
        b.push(Sample::new(2, 1.0), 1);
        b.push(Sample::new(3, 1.0), 0);
        assert_eq!(b.start_timestamps(), Some(&[0, 1, 0][..]));
        b.retain(|s| s.t != 2);
        assert_eq!(b.start_timestamps(), None, "the only start timestamp went");
        assert_eq!(b.len(), 2);
        let b = SampleBuf::from_parts(vec![Sample::new(1, 1.0)], vec![0]);
        assert_eq!(b.start_timestamps(), None);
    }
}
