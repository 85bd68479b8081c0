//! An open histogram chunk of either kind, and the decision of every append:
//! join the chunk as is, join it after recoding it to a wider layout, or
//! start a new chunk (with which counter-reset header) — so that the head
//! and the block writer cut chunks where Prometheus 3.x cuts them.

use super::appendable::expand;
use super::{
    Appendable, ChunkCorrupt, FloatHistogramAppender, HistogramAppender, ResetHeader, appendable,
    relaid,
};
use crate::model::histogram::{CounterResetHint, FloatHistogram, Histogram, HistogramValue};

/// Most samples in one histogram chunk (as for floats).
pub const MAX_HISTOGRAM_CHUNK_SAMPLES: usize = 120;
/// A chunk this large is cut once it has [`MIN_HISTOGRAM_CHUNK_SAMPLES`]
/// (Prometheus's target size for histogram chunks).
pub const TARGET_HISTOGRAM_CHUNK_BYTES: usize = 1024;
pub const MIN_HISTOGRAM_CHUNK_SAMPLES: usize = 10;

/// When a histogram chunk is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    pub max_samples: usize,
    /// Cut once this large and holding at least `min_samples`.
    pub target_bytes: usize,
    pub min_samples: usize,
}

impl ChunkLimits {
    /// The head's (Prometheus 3.x's): small chunks, quick to decode for
    /// recent data.
    pub const HEAD: ChunkLimits = ChunkLimits {
        max_samples: MAX_HISTOGRAM_CHUNK_SAMPLES,
        target_bytes: TARGET_HISTOGRAM_CHUNK_BYTES,
        min_samples: MIN_HISTOGRAM_CHUNK_SAMPLES,
    };

    /// Blocks': up to 240 samples whatever their size, so that a block
    /// repeats a series' full first sample and chunk overhead less often.
    pub const BLOCK: ChunkLimits = ChunkLimits {
        max_samples: 2 * MAX_HISTOGRAM_CHUNK_SAMPLES,
        target_bytes: usize::MAX,
        min_samples: 2 * MAX_HISTOGRAM_CHUNK_SAMPLES,
    };
}

/// One histogram chunk being appended to.
#[derive(Debug, Clone)]
pub enum OpenHistogramChunk {
    Int(HistogramAppender),
    Float(FloatHistogramAppender),
}

impl OpenHistogramChunk {
    /// A new chunk whose first sample is `h` at `t`, with `header`
    /// ([`first_header`] for the first chunk of a series, or what
    /// [`try_append`](Self::try_append) answered).
    pub fn start(t: i64, h: &HistogramValue, header: ResetHeader) -> OpenHistogramChunk {
        match h {
            HistogramValue::Int(h) => {
                let mut a = HistogramAppender::new(header);
                a.append(t, h);
                OpenHistogramChunk::Int(a)
            }
            HistogramValue::Float(h) => {
                let mut a = FloatHistogramAppender::new(header);
                a.append(t, h);
                OpenHistogramChunk::Float(a)
            }
        }
    }

    /// Appends `h` at `t` (after the chunk's last sample) when it can join
    /// the chunk; otherwise appends nothing and returns the header of the
    /// new chunk `h` must start. `Err` only when the chunk itself does not
    /// decode for recoding (never for chunks built here).
    pub fn try_append(
        &mut self,
        t: i64,
        h: &HistogramValue,
    ) -> Result<Option<ResetHeader>, ChunkCorrupt> {
        self.try_append_within(t, h, ChunkLimits::HEAD)
    }

    /// [`try_append`](Self::try_append) under other chunk limits.
    pub fn try_append_within(
        &mut self,
        t: i64,
        h: &HistogramValue,
        limits: ChunkLimits,
    ) -> Result<Option<ResetHeader>, ChunkCorrupt> {
        let gauge = h.hint() == CounterResetHint::Gauge;
        let same_kind = matches!(
            (&*self, h),
            (OpenHistogramChunk::Int(_), HistogramValue::Int(_))
                | (OpenHistogramChunk::Float(_), HistogramValue::Float(_))
        );
        let full = self.num_samples() >= limits.max_samples
            || (self.len_bytes() >= limits.target_bytes
                && self.num_samples() >= limits.min_samples);
        if !same_kind
            || full
            || (!h.is_stale()
                && (gauge != (self.header() == ResetHeader::Gauge)
                    || h.hint() == CounterResetHint::CounterReset))
        {
            return Ok(Some(first_header(h)));
        }
        let hf = h.to_float();
        let decision = appendable(self.layout(), &self.last(), &hf, gauge);
        match decision {
            Appendable::Append => {}
            Appendable::Recode {
                positive_spans,
                negative_spans,
            } => {
                *self = match self {
                    OpenHistogramChunk::Int(a) => {
                        OpenHistogramChunk::Int(a.recode(&positive_spans, &negative_spans)?)
                    }
                    OpenHistogramChunk::Float(a) => {
                        OpenHistogramChunk::Float(a.recode(&positive_spans, &negative_spans)?)
                    }
                };
            }
            Appendable::NewChunk { reset: true } => return Ok(Some(ResetHeader::CounterReset)),
            Appendable::NewChunk { reset: false } => return Ok(Some(first_header(h))),
        }
        match (self, h) {
            (OpenHistogramChunk::Int(a), HistogramValue::Int(h)) => {
                let laid = laid_out_int(h, a.layout());
                a.append(t, &laid);
            }
            (OpenHistogramChunk::Float(a), HistogramValue::Float(h)) => {
                let laid = laid_out_float(h, a.layout());
                a.append(t, &laid);
            }
            (_, h) => return Ok(Some(first_header(h))),
        }
        Ok(None)
    }

    pub fn num_samples(&self) -> usize {
        match self {
            OpenHistogramChunk::Int(a) => a.num_samples(),
            OpenHistogramChunk::Float(a) => a.num_samples(),
        }
    }

    pub fn last_time(&self) -> i64 {
        match self {
            OpenHistogramChunk::Int(a) => a.last_time(),
            OpenHistogramChunk::Float(a) => a.last_time(),
        }
    }

    /// The last sample, with float counts.
    pub fn last(&self) -> FloatHistogram {
        match self {
            OpenHistogramChunk::Int(a) => a.last(),
            OpenHistogramChunk::Float(a) => a.last(),
        }
    }

    pub fn header(&self) -> ResetHeader {
        match self {
            OpenHistogramChunk::Int(a) => a.header(),
            OpenHistogramChunk::Float(a) => a.header(),
        }
    }

    /// The block encoding of the chunk's kind.
    pub fn encoding(&self) -> crate::chunkenc::Encoding {
        match self {
            OpenHistogramChunk::Int(_) => crate::chunkenc::Encoding::Histogram,
            OpenHistogramChunk::Float(_) => crate::chunkenc::Encoding::FloatHistogram,
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        match self {
            OpenHistogramChunk::Int(a) => a.bytes(),
            OpenHistogramChunk::Float(a) => a.bytes(),
        }
    }

    /// Bytes of heap the chunk uses (about: its bit stream).
    pub fn len_bytes(&self) -> usize {
        match self {
            OpenHistogramChunk::Int(a) => a.len_bytes(),
            OpenHistogramChunk::Float(a) => a.len_bytes(),
        }
    }

    fn layout(&self) -> &super::Layout {
        match self {
            OpenHistogramChunk::Int(a) => a.layout(),
            OpenHistogramChunk::Float(a) => a.layout(),
        }
    }
}

/// The header of a chunk whose first sample is `h`: its hint says gauge or
/// counter reset; anything else is unknown (readers detect resets).
pub fn first_header(h: &HistogramValue) -> ResetHeader {
    match h.hint() {
        CounterResetHint::Gauge => ResetHeader::Gauge,
        CounterResetHint::CounterReset => ResetHeader::CounterReset,
        _ => ResetHeader::Unknown,
    }
}

/// `h` with its buckets on the chunk's spans (a superset of its own).
fn laid_out_int(h: &Histogram, l: &super::Layout) -> Histogram {
    if h.is_stale()
        || (h.positive_spans == l.positive_spans && h.negative_spans == l.negative_spans)
    {
        return h.clone();
    }
    Histogram {
        positive_deltas: relaid(&h.positive_spans, &h.positive_deltas, &l.positive_spans),
        negative_deltas: relaid(&h.negative_spans, &h.negative_deltas, &l.negative_spans),
        positive_spans: l.positive_spans.clone(),
        negative_spans: l.negative_spans.clone(),
        ..h.clone()
    }
}

fn laid_out_float(h: &FloatHistogram, l: &super::Layout) -> FloatHistogram {
    if h.is_stale()
        || (h.positive_spans == l.positive_spans && h.negative_spans == l.negative_spans)
    {
        return h.clone();
    }
    FloatHistogram {
        positive_buckets: expand(&h.positive_spans, &h.positive_buckets, &l.positive_spans),
        negative_buckets: expand(&h.negative_spans, &h.negative_buckets, &l.negative_spans),
        positive_spans: l.positive_spans.clone(),
        negative_spans: l.negative_spans.clone(),
        ..h.clone()
    }
}
