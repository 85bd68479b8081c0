//! Native histogram samples of a head series: the same ordering rules as
//! floats, their own chunks, and the switch between the two kinds.
//!
//! A series holds one open chunk at a time: a float sample closes an open
//! histogram chunk and a histogram closes an open float chunk, so the
//! closed chunks alternate kinds in time order and never overlap.
//! Out-of-order histogram samples (within the out-of-order window) are
//! kept apart, sorted, and read as chunks of their own that overlap the
//! in-order ones; readers and compaction merge them by time.

use std::sync::Arc;

use super::series::{AppendBounds, Appended, ClosedChunk, SeriesState, next_boundary};
use crate::chunkenc::histogram::{
    ChunkLimits, OpenHistogramChunk, StHistogramChunk, TimedHistogram, first_header,
};
use crate::error::{Error, Result};
use crate::model::Sample;
use crate::model::histogram::{FloatHistogram, Histogram, HistogramValue, STALE_SUM_BITS};
use crate::querier::{ChunkBytes, ChunkMeta};

/// A histogram chunk (open, or encoded from out-of-order samples) as a
/// reader sees it.
pub(super) fn chunk_meta(c: &StHistogramChunk) -> ChunkMeta {
    let (encoding, bytes) = c.encoded();
    ChunkMeta {
        min_t: c.min_t,
        max_t: c.max_t(),
        encoding,
        data: ChunkBytes::Heap(Arc::from(bytes)),
    }
}

impl SeriesState {
    /// Checks a histogram sample without storing it.
    pub fn check_histogram(&self, t: i64, h: &HistogramValue, b: &AppendBounds) -> Result<()> {
        match self.last {
            Some(last) if t < last.t && t < b.ooo_min => {
                if self.holds_histogram(t, &h.to_float()) {
                    // A resend of a stored sample: a duplicate.
                    return Ok(());
                }
                Err(Error::OutOfOrder {
                    t,
                    min_valid: last.t,
                })
            }
            Some(last) if t < last.t => {
                let o = &self.ooo_hists;
                let same = o
                    .binary_search_by_key(&t, |x| x.t)
                    .ok()
                    .map(|i| o[i].h.to_float().same_observations(&h.to_float()));
                match same {
                    Some(false) => Err(Error::DuplicateSample { t }),
                    _ => Ok(()),
                }
            }
            Some(last) if t == last.t && !self.is_last_histogram(h) => {
                Err(Error::DuplicateSample { t })
            }
            _ if t < b.min_valid => Err(Error::OutOfBounds {
                t,
                min_valid: b.min_valid,
            }),
            _ => Ok(()),
        }
    }

    /// [`check_histogram`](Self::check_histogram), then counts the sample
    /// as pending like [`hold`](Self::hold).
    pub fn hold_histogram(
        &mut self,
        id: u32,
        t: i64,
        h: &HistogramValue,
        b: &AppendBounds,
    ) -> Result<()> {
        if self.removed() {
            return Err(Error::UnknownSeries {
                series_ref: u64::from(id),
            });
        }
        self.check_histogram(t, h, b)?;
        self.add_pending();
        Ok(())
    }

    /// Stores a histogram sample with start timestamp `st` (0: none),
    /// re-checking it. As for floats, out-of-order samples keep no start
    /// timestamp and a duplicate does not change the stored one.
    pub fn append_histogram(
        &mut self,
        t: i64,
        h: &HistogramValue,
        st: i64,
        b: &AppendBounds,
    ) -> Result<Appended> {
        self.check_histogram(t, h, b)?;
        if self.last.is_some_and(|last| last.t == t) {
            return Ok(Appended::Duplicate);
        }
        if self.last.is_some_and(|last| t < last.t && t < b.ooo_min) {
            return Ok(Appended::Duplicate);
        }
        if self.last.is_some_and(|last| t < last.t) {
            return match self.ooo_hists.binary_search_by_key(&t, |x| x.t) {
                Ok(_) => Ok(Appended::Duplicate),
                Err(i) => {
                    let sample = TimedHistogram {
                        t,
                        st: 0,
                        h: h.clone(),
                    };
                    self.ooo_hists.insert(i, sample);
                    Ok(Appended::OutOfOrder)
                }
            };
        }
        self.close_head();
        let header = match &mut self.hist_head {
            // A chunk that would not decode for recoding (never one built
            // here) is closed rather than extended.
            Some(open) if t < self.head_end => open
                .try_append(t, st, h, ChunkLimits::HEAD)
                .unwrap_or(Some(first_header(h))),
            _ => Some(first_header(h)),
        };
        if let Some(header) = header {
            self.close_hist_head();
            self.hist_head = Some(Box::new(StHistogramChunk::start(t, st, h, header)));
            self.head_end = next_boundary(t, b.chunk_range);
        }
        self.last = Some(Sample::new(t, f64::NAN));
        self.last_is_histogram = true;
        Ok(Appended::InOrder)
    }

    /// A histogram stale marker of the open histogram chunk's kind.
    pub(super) fn histogram_stale_marker(&self) -> HistogramValue {
        match self.hist_head.as_ref().map(|h| &h.chunk) {
            Some(OpenHistogramChunk::Float(_)) => HistogramValue::Float(FloatHistogram::stale()),
            _ => HistogramValue::Int(Histogram {
                sum: f64::from_bits(STALE_SUM_BITS),
                ..Histogram::default()
            }),
        }
    }

    /// Moves the open histogram chunk to the closed chunks.
    pub(super) fn close_hist_head(&mut self) {
        if let Some(h) = self.hist_head.take() {
            let (encoding, bytes) = h.encoded();
            self.closed.push(ClosedChunk {
                min_t: h.min_t,
                max_t: h.max_t(),
                encoding,
                bytes: Arc::from(bytes),
            });
        }
    }

    /// Whether the last sample is a histogram with the same observations
    /// as `h` (a resent sample, not a conflicting one).
    fn is_last_histogram(&self, h: &HistogramValue) -> bool {
        self.last_is_histogram
            && self
                .hist_head
                .as_ref()
                .is_some_and(|open| open.chunk.last().same_observations(&h.to_float()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::series::MemSeries;
    use super::*;
    use crate::chunkenc::Encoding;
    use crate::model::histogram::{CounterResetHint, Histogram, Span};
    use crate::model::{Labels, SampleBuf, SeriesData};
    use crate::querier::ChunkSeries;
    use crate::tombstones::Intervals;

    fn bounds() -> AppendBounds {
        AppendBounds {
            min_valid: i64::MIN,
            ooo_min: i64::MAX,
            chunk_range: 7_200_000,
        }
    }

    fn h(count: u64) -> HistogramValue {
        HistogramValue::Int(Histogram {
            schema: 0,
            count,
            sum: count as f64,
            positive_spans: vec![Span::new(0, 1)],
            positive_deltas: vec![count as i64],
            ..Histogram::default()
        })
    }

    fn read_all(st: &SeriesState) -> SampleBuf {
        let cs = ChunkSeries::new(st.chunks(i64::MIN, i64::MAX), Intervals::new());
        let mut buf = SampleBuf::new();
        cs.read(i64::MIN, i64::MAX, &mut buf);
        buf
    }

    #[test]
    fn ordering_rules_table() {
        type Case = (
            &'static str,
            i64,
            HistogramValue,
            std::result::Result<Appended, &'static str>,
        );
        let cases: Vec<Case> = vec![
            ("in order", 200, h(6), Ok(Appended::InOrder)),
            ("resent", 100, h(5), Ok(Appended::Duplicate)),
            (
                "same time, other value",
                100,
                h(7),
                Err("duplicate sample for timestamp 100"),
            ),
            (
                "older",
                90,
                h(5),
                Err("out of order sample: timestamp 90 is older than 100"),
            ),
        ];
        for (name, t, v, want) in cases {
            let s = MemSeries::new(1, Labels::from_pairs(&[("a", "b")]));
            let mut st = s.state.lock();
            st.append_histogram(100, &h(5), 0, &bounds()).unwrap();
            let got = st
                .append_histogram(t, &v, 0, &bounds())
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "case {name}");
        }
    }

    #[test]
    fn a_float_stale_marker_ends_a_histogram_series_as_a_histogram_one() {
        let s = MemSeries::new(1, Labels::from_pairs(&[("a", "b")]));
        let mut st = s.state.lock();
        st.append_histogram(1000, &h(1), 0, &bounds()).unwrap();
        let stale = crate::model::STALE_NAN;
        assert_eq!(
            st.append(2000, stale, 0, &bounds()).unwrap(),
            Appended::InOrder
        );
        let buf = read_all(&st);
        assert!(buf.floats().is_empty());
        let hists: Vec<(i64, bool)> = buf
            .histograms()
            .iter()
            .map(|x| (x.t, x.h.is_stale()))
            .collect();
        assert_eq!(hists, [(1000, false), (2000, true)]);
        assert_eq!(st.num_chunks(), 1, "the marker joins the open chunk");
    }

    #[test]
    fn a_series_switches_between_floats_and_histograms() {
        let s = MemSeries::new(1, Labels::from_pairs(&[("a", "b")]));
        let mut st = s.state.lock();
        let b = bounds();
        st.append(1000, 1.0, 0, &b).unwrap();
        st.append(2000, 2.0, 0, &b).unwrap();
        st.append_histogram(3000, &h(1), 0, &b).unwrap();
        st.append_histogram(4000, &h(2), 0, &b).unwrap();
        // A float at a histogram's time conflicts with it.
        assert!(st.append(4000, 2.0, 0, &b).is_err());
        st.append(5000, 5.0, 0, &b).unwrap();
        st.append_histogram(6000, &h(3), 0, &b).unwrap();
        let encodings: Vec<Encoding> = st
            .chunks(i64::MIN, i64::MAX)
            .iter()
            .map(|c| c.encoding)
            .collect();
        assert_eq!(
            encodings,
            [
                Encoding::Xor,
                Encoding::Histogram,
                Encoding::Xor,
                Encoding::Histogram
            ]
        );
        let buf = read_all(&st);
        let floats: Vec<i64> = buf.floats().iter().map(|s| s.t).collect();
        let hists: Vec<(i64, f64)> = buf.histograms().iter().map(|s| (s.t, s.h.count)).collect();
        assert_eq!(floats, [1000, 2000, 5000]);
        assert_eq!(hists, [(3000, 1.0), (4000, 2.0), (6000, 3.0)]);
    }

    #[test]
    fn chunks_are_cut_at_resets_and_layout_changes_and_recoded_for_new_buckets() {
        let s = MemSeries::new(1, Labels::from_pairs(&[("a", "b")]));
        let mut st = s.state.lock();
        let b = bounds();
        st.append_histogram(1000, &h(5), 0, &b).unwrap();
        // A new bucket: the chunk is recoded, not cut.
        let wider = HistogramValue::Int(Histogram {
            count: 7,
            sum: 7.0,
            positive_spans: vec![Span::new(0, 2)],
            positive_deltas: vec![5, -3],
            ..Histogram::default()
        });
        st.append_histogram(2000, &wider, 0, &b).unwrap();
        assert_eq!(st.num_chunks(), 1);
        // A counter reset cuts, with the header saying so.
        st.append_histogram(3000, &h(1), 0, &b).unwrap();
        // Another schema cuts too.
        let finer = HistogramValue::Int(Histogram {
            schema: 1,
            ..match h(2) {
                HistogramValue::Int(x) => x,
                HistogramValue::Float(_) => unreachable!(),
            }
        });
        st.append_histogram(4000, &finer, 0, &b).unwrap();
        assert_eq!(st.num_chunks(), 3);
        let buf = read_all(&st);
        let got: Vec<(i64, f64, CounterResetHint)> = buf
            .histograms()
            .iter()
            .map(|s| (s.t, s.h.count, s.h.hint))
            .collect();
        assert_eq!(
            got,
            [
                (1000, 5.0, CounterResetHint::Unknown),
                (2000, 7.0, CounterResetHint::NotCounterReset),
                (3000, 1.0, CounterResetHint::CounterReset),
                (4000, 2.0, CounterResetHint::Unknown),
            ]
        );
        // The recoded first chunk holds the first sample with an empty
        // second bucket.
        assert_eq!(buf.histograms()[0].h.positive_buckets, [5.0, 0.0]);
    }
}
