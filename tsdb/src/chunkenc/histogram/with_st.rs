//! Histogram chunks together with their samples' start timestamps: the
//! chunk being built ([`StHistogramChunk`], the head's open histogram
//! chunk and every chunk the block writer and remote read cut), and
//! histogram sample lists decoded from and encoded into chunks.
//!
//! A chunk none of whose samples has a start timestamp is a plain
//! encoding-4/5 chunk; once one has, the chunk is wrapped as encoding 6
//! ([`st`](crate::chunkenc::st)), earlier samples getting "none".

use super::{ChunkCorrupt, ChunkLimits, OpenHistogramChunk, ResetHeader, first_header};
use crate::chunkenc::Encoding;
use crate::chunkenc::st::{self, StReader, StWriter};
use crate::model::histogram::HistogramValue;

/// One stored histogram sample: time, start timestamp (0 = none) and the
/// value with the counts it was written with (integer or float).
#[derive(Debug, Clone, PartialEq)]
pub struct TimedHistogram {
    pub t: i64,
    pub st: i64,
    pub h: HistogramValue,
}

/// A histogram chunk being appended to, with its first sample's time and
/// the start timestamps of its samples once any has one.
#[derive(Debug, Clone)]
pub struct StHistogramChunk {
    pub min_t: i64,
    pub chunk: OpenHistogramChunk,
    sts: Option<Box<StWriter>>,
}

impl StHistogramChunk {
    /// A chunk whose first sample is `h` at `t` with start `st`, with
    /// `header` (see [`OpenHistogramChunk::start`]).
    pub fn start(t: i64, st: i64, h: &HistogramValue, header: ResetHeader) -> Self {
        let mut c = StHistogramChunk {
            min_t: t,
            chunk: OpenHistogramChunk::start(t, h, header),
            sts: None,
        };
        c.note_st(None, t, st);
        c
    }

    /// [`OpenHistogramChunk::try_append_within`], recording `st` when the
    /// sample joins.
    pub fn try_append(
        &mut self,
        t: i64,
        st: i64,
        h: &HistogramValue,
        limits: ChunkLimits,
    ) -> Result<Option<ResetHeader>, ChunkCorrupt> {
        let prev_t = self.chunk.last_time();
        let header = self.chunk.try_append_within(t, h, limits)?;
        if header.is_none() {
            self.note_st(Some(prev_t), t, st);
        }
        Ok(header)
    }

    /// Records the start timestamp of the sample just appended at `t`,
    /// the one before it at `prev_t`.
    fn note_st(&mut self, prev_t: Option<i64>, t: i64, st: i64) {
        if st != 0 && self.sts.is_none() {
            let before = self.chunk.num_samples() - 1;
            self.sts = Some(Box::new(StWriter::with_leading_none(before, prev_t)));
        }
        if let Some(w) = &mut self.sts {
            w.append(t, st);
        }
    }

    pub fn max_t(&self) -> i64 {
        self.chunk.last_time()
    }

    pub fn num_samples(&self) -> usize {
        self.chunk.num_samples()
    }

    /// The stored form: a plain histogram chunk, or one wrapped with its
    /// start timestamps.
    pub fn encoded(&self) -> (Encoding, Vec<u8>) {
        let inner = self.chunk.bytes();
        match &self.sts {
            None => (self.chunk.encoding(), inner),
            Some(w) => {
                let mut out = Vec::new();
                st::wrap(self.chunk.encoding().byte(), &inner, w.bytes(), &mut out);
                (Encoding::HistogramWithSt, out)
            }
        }
    }

    /// Heap bytes held (about: the bit streams).
    pub fn heap_bytes(&self) -> usize {
        self.chunk.len_bytes() + self.sts.as_ref().map_or(0, |w| w.heap_bytes())
    }
}

/// The samples of a histogram chunk (encoding 4, 5 or 6) with the counts
/// it stores and their start timestamps; nothing for other encodings or a
/// chunk that does not decode.
pub fn decode_values(encoding: Encoding, bytes: &[u8]) -> Vec<TimedHistogram> {
    let Some((e, inner)) = encoding.histogram_bytes(bytes) else {
        return Vec::new();
    };
    let values: Vec<(i64, HistogramValue)> = match e {
        Encoding::Histogram => super::decode_histograms(inner)
            .unwrap_or_default()
            .into_iter()
            .map(|(t, h)| (t, HistogramValue::Int(h)))
            .collect(),
        _ => super::decode_float_histograms(inner)
            .unwrap_or_default()
            .into_iter()
            .map(|(t, h)| (t, HistogramValue::Float(h)))
            .collect(),
    };
    let stream = match encoding {
        Encoding::HistogramWithSt => st::split(bytes).map_or(&[][..], |(_, _, s)| s),
        _ => &[],
    };
    let mut sts = StReader::new(stream);
    values
        .into_iter()
        .map(|(t, h)| TimedHistogram {
            t,
            st: if stream.is_empty() { 0 } else { sts.next(t) },
            h,
        })
        .collect()
}

/// Histogram samples (ascending, unique times) as chunks cut by the
/// head's rules under `limits`.
pub fn encode_values(samples: &[TimedHistogram], limits: ChunkLimits) -> Vec<StHistogramChunk> {
    let mut out: Vec<StHistogramChunk> = Vec::new();
    for s in samples {
        let header = match out.last_mut() {
            Some(c) => c
                .try_append(s.t, s.st, &s.h, limits)
                .unwrap_or(Some(first_header(&s.h))),
            None => Some(first_header(&s.h)),
        };
        if let Some(header) = header {
            out.push(StHistogramChunk::start(s.t, s.st, &s.h, header));
        }
    }
    out
}

/// Histogram samples from chunks listed oldest data first, ordered by
/// time with one sample per time: the one listed last wins.
pub fn latest_per_time(mut samples: Vec<TimedHistogram>) -> Vec<TimedHistogram> {
    // Stable: among equal times the later-listed sample stays last.
    samples.sort_by_key(|s| s.t);
    let mut out: Vec<TimedHistogram> = Vec::with_capacity(samples.len());
    for s in samples {
        match out.last_mut() {
            Some(last) if last.t == s.t => *last = s,
            _ => out.push(s),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::histogram::{Histogram, Span};

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

    fn samples(sts: &[i64]) -> Vec<TimedHistogram> {
        sts.iter()
            .enumerate()
            .map(|(i, &st)| TimedHistogram {
                t: 1000 * (i as i64 + 1),
                st,
                h: h(i as u64 + 1),
            })
            .collect()
    }

    #[test]
    fn start_timestamps_round_trip_table() {
        let cases: &[(&str, &[i64], Encoding)] = &[
            ("none", &[0, 0, 0], Encoding::Histogram),
            ("cumulative", &[500, 500, 500], Encoding::HistogramWithSt),
            (
                "from the second sample",
                &[0, 500, 500],
                Encoding::HistogramWithSt,
            ),
            ("delta", &[0, 1000, 2000, 3000], Encoding::HistogramWithSt),
            (
                "restart",
                &[500, 500, 2500, 2500],
                Encoding::HistogramWithSt,
            ),
            ("only the last", &[0, 0, 0, 3999], Encoding::HistogramWithSt),
        ];
        for &(name, sts, want_encoding) in cases {
            let want = samples(sts);
            let chunks = encode_values(&want, ChunkLimits::BLOCK);
            assert_eq!(chunks.len(), 1, "case {name}");
            let (encoding, bytes) = chunks[0].encoded();
            assert_eq!(encoding, want_encoding, "case {name}");
            assert!(encoding.validate(&bytes).is_ok(), "case {name}");
            assert_eq!(encoding.num_samples(&bytes), want.len(), "case {name}");
            // Hints are the chunk's to set (later samples read "not a reset").
            let key = |v: &[TimedHistogram]| -> Vec<(i64, i64, f64)> {
                v.iter()
                    .map(|s| (s.t, s.st, s.h.to_float().count))
                    .collect()
            };
            assert_eq!(
                key(&decode_values(encoding, &bytes)),
                key(&want),
                "case {name}"
            );
            let (plain, inner) = encoding.histogram_bytes(&bytes).unwrap();
            assert_eq!(plain, Encoding::Histogram, "case {name}");
            assert_eq!(
                inner,
                chunks[0].chunk.bytes(),
                "case {name}: the inner chunk is Prometheus's"
            );
        }
    }

    #[test]
    fn a_wrapped_chunk_with_a_float_inner_chunk_is_invalid() {
        let mut bytes = Vec::new();
        st::wrap(crate::chunkenc::ENCODING_XOR, &[0, 0], &[], &mut bytes);
        assert!(Encoding::HistogramWithSt.validate(&bytes).is_err());
        assert!(decode_values(Encoding::HistogramWithSt, &bytes).is_empty());
    }
}
