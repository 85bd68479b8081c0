//! Float histogram chunks (Prometheus chunk encoding 3).

use super::appendable::expand;
use super::int::MAX_BUCKETS;
use super::{ChunkCorrupt, HEADER_LEN, Layout, ResetHeader, XorValue, chunk_header};
use crate::chunkenc::bstream::{BitReader, BitWriter};
use crate::chunkenc::varbit::{put_varbit_int, read_varbit_int};
use crate::model::histogram::{FloatHistogram, STALE_SUM_BITS, Span};

/// Appends float histograms to one chunk; the same contract as
/// [`super::HistogramAppender`].
#[derive(Debug, Clone)]
pub struct FloatHistogramAppender {
    w: BitWriter,
    n: u16,
    layout: Layout,
    t: i64,
    t_delta: i64,
    count: XorValue,
    zero_count: XorValue,
    sum: XorValue,
    positive: Vec<XorValue>,
    negative: Vec<XorValue>,
}

impl FloatHistogramAppender {
    pub fn new(header: ResetHeader) -> FloatHistogramAppender {
        FloatHistogramAppender {
            w: BitWriter::with_bytes(vec![0, 0, header.to_byte()]),
            n: 0,
            layout: Layout::default(),
            t: 0,
            t_delta: 0,
            count: XorValue::new(0.0),
            zero_count: XorValue::new(0.0),
            sum: XorValue::new(0.0),
            positive: Vec::new(),
            negative: Vec::new(),
        }
    }

    pub fn num_samples(&self) -> usize {
        usize::from(self.n)
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn header(&self) -> ResetHeader {
        ResetHeader::from_byte(self.w.bytes()[2])
    }

    pub fn set_header(&mut self, h: ResetHeader) {
        self.w.bytes_mut()[2] = h.to_byte();
    }

    /// Length of the chunk's bytes so far.
    pub fn len_bytes(&self) -> usize {
        self.w.bytes().len()
    }

    /// The chunk's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut b = self.w.bytes().to_vec();
        b[..2].copy_from_slice(&self.n.to_be_bytes());
        b
    }

    pub fn last_time(&self) -> i64 {
        self.t
    }

    /// The last appended sample (for [`super::appendable`]).
    pub fn last(&self) -> FloatHistogram {
        if self.sum.bits == STALE_SUM_BITS {
            return FloatHistogram::stale();
        }
        FloatHistogram {
            schema: self.layout.schema,
            zero_threshold: self.layout.zero_threshold,
            zero_count: self.zero_count.value(),
            count: self.count.value(),
            sum: self.sum.value(),
            positive_spans: self.layout.positive_spans.clone(),
            negative_spans: self.layout.negative_spans.clone(),
            positive_buckets: self.positive.iter().map(XorValue::value).collect(),
            negative_buckets: self.negative.iter().map(XorValue::value).collect(),
            custom_values: self.layout.custom_values.clone(),
            ..FloatHistogram::default()
        }
    }

    /// This chunk re-encoded with every sample laid out on `positive` and
    /// `negative` spans (supersets of the chunk's), the added buckets
    /// empty.
    pub fn recode(
        &self,
        positive: &[Span],
        negative: &[Span],
    ) -> Result<FloatHistogramAppender, ChunkCorrupt> {
        let mut out = FloatHistogramAppender::new(self.header());
        for (t, mut h) in decode_float_histograms(&self.bytes())? {
            if !h.is_stale() {
                h.positive_buckets = expand(&h.positive_spans, &h.positive_buckets, positive);
                h.negative_buckets = expand(&h.negative_spans, &h.negative_buckets, negative);
                h.positive_spans = positive.to_vec();
                h.negative_spans = negative.to_vec();
            }
            out.append(t, &h);
        }
        Ok(out)
    }

    pub fn append(&mut self, t: i64, h: &FloatHistogram) {
        let stale_h;
        let h = if h.sum.to_bits() == STALE_SUM_BITS {
            stale_h = FloatHistogram {
                sum: h.sum,
                ..FloatHistogram::default()
            };
            &stale_h
        } else {
            h
        };
        let w = &mut self.w;
        let mut t_delta = 0;
        if self.n == 0 {
            self.layout = Layout {
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                positive_spans: h.positive_spans.clone(),
                negative_spans: h.negative_spans.clone(),
                custom_values: h.custom_values.clone(),
            };
            self.layout.write(w);
            put_varbit_int(w, t);
            for v in [h.count, h.zero_count, h.sum]
                .iter()
                .chain(&h.positive_buckets)
                .chain(&h.negative_buckets)
            {
                w.write_bits(v.to_bits(), 64);
            }
            self.count = XorValue::new(h.count);
            self.zero_count = XorValue::new(h.zero_count);
            self.sum = XorValue::new(h.sum);
            self.positive = h
                .positive_buckets
                .iter()
                .map(|&v| XorValue::new(v))
                .collect();
            self.negative = h
                .negative_buckets
                .iter()
                .map(|&v| XorValue::new(v))
                .collect();
        } else {
            t_delta = t - self.t;
            put_varbit_int(w, t_delta - self.t_delta);
            self.count.write(w, h.count);
            self.zero_count.write(w, h.zero_count);
            self.sum.write(w, h.sum);
            for (state, &v) in self
                .positive
                .iter_mut()
                .zip(&h.positive_buckets)
                .chain(self.negative.iter_mut().zip(&h.negative_buckets))
            {
                state.write(w, v);
            }
        }
        self.n += 1;
        self.t = t;
        self.t_delta = t_delta;
    }
}

/// Decodes every sample of a float histogram chunk, with each sample's
/// counter-reset hint from the chunk header.
pub fn decode_float_histograms(bytes: &[u8]) -> Result<Vec<(i64, FloatHistogram)>, ChunkCorrupt> {
    let (n, header) = chunk_header(bytes)?;
    let mut r = BitReader::new(&bytes[HEADER_LEN..]);
    let mut out = Vec::with_capacity(n);
    let mut layout = Layout::default();
    let (mut t, mut t_delta) = (0i64, 0i64);
    let mut count = XorValue::new(0.0);
    let mut zero = XorValue::new(0.0);
    let mut sum = XorValue::new(0.0);
    let mut positive: Vec<XorValue> = Vec::new();
    let mut negative: Vec<XorValue> = Vec::new();
    for i in 0..n {
        if i == 0 {
            layout = Layout::read(&mut r)?;
            let (p, q) = layout.bucket_counts();
            if p + q > MAX_BUCKETS {
                return Err(ChunkCorrupt("implausible number of histogram buckets"));
            }
            t = read_varbit_int(&mut r);
            let mut raw = || XorValue::new(f64::from_bits(r.read_bits(64)));
            count = raw();
            zero = raw();
            sum = raw();
            if sum.bits != STALE_SUM_BITS {
                positive = (0..p).map(|_| raw()).collect();
                negative = (0..q).map(|_| raw()).collect();
            }
        } else {
            t_delta = t_delta.wrapping_add(read_varbit_int(&mut r));
            t = t.wrapping_add(t_delta);
            count.read(&mut r)?;
            zero.read(&mut r)?;
            sum.read(&mut r)?;
            if sum.bits != STALE_SUM_BITS {
                for b in positive.iter_mut().chain(negative.iter_mut()) {
                    b.read(&mut r)?;
                }
            }
        }
        if r.overrun() {
            return Err(ChunkCorrupt("float histogram chunk ends inside a sample"));
        }
        let h = if sum.bits == STALE_SUM_BITS {
            FloatHistogram::stale()
        } else {
            FloatHistogram {
                hint: header.hint_of(i + 1),
                schema: layout.schema,
                zero_threshold: layout.zero_threshold,
                zero_count: zero.value(),
                count: count.value(),
                sum: sum.value(),
                positive_spans: layout.positive_spans.clone(),
                negative_spans: layout.negative_spans.clone(),
                positive_buckets: positive.iter().map(XorValue::value).collect(),
                negative_buckets: negative.iter().map(XorValue::value).collect(),
                custom_values: layout.custom_values.clone(),
            }
        };
        out.push((t, h));
    }
    Ok(out)
}
