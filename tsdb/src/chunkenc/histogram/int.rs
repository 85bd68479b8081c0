//! Integer histogram chunks (Prometheus chunk encoding 2).

use super::appendable::expand;
use super::{ChunkCorrupt, HEADER_LEN, Layout, ResetHeader, XorValue, chunk_header};
use crate::chunkenc::bstream::{BitReader, BitWriter};
use crate::chunkenc::varbit::{put_varbit_int, put_varbit_uint, read_varbit_int, read_varbit_uint};
use crate::model::histogram::{FloatHistogram, Histogram, STALE_SUM_BITS, Span};

/// Most buckets a decoded chunk may name (guards allocation on corrupt
/// input).
pub(super) const MAX_BUCKETS: usize = 1 << 20;

/// Appends integer histograms to one chunk.
///
/// Contract: every appended histogram has the chunk's [`Layout`] (the
/// first one's), or is a stale marker; choosing between appending,
/// recoding and cutting a new chunk is [`super::appendable`]'s job.
#[derive(Debug, Clone)]
pub struct HistogramAppender {
    w: BitWriter,
    n: u16,
    layout: Layout,
    t: i64,
    t_delta: i64,
    count: u64,
    count_delta: i64,
    zero_count: u64,
    zero_delta: i64,
    sum: XorValue,
    /// Each bucket's value (a delta to the previous bucket) and that
    /// value's change since the previous sample.
    positive: Vec<(i64, i64)>,
    negative: Vec<(i64, i64)>,
}

impl HistogramAppender {
    pub fn new(header: ResetHeader) -> HistogramAppender {
        HistogramAppender {
            w: BitWriter::with_bytes(vec![0, 0, header.to_byte()]),
            n: 0,
            layout: Layout::default(),
            t: 0,
            t_delta: 0,
            count: 0,
            count_delta: 0,
            zero_count: 0,
            zero_delta: 0,
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

    /// The last appended sample's time.
    pub fn last_time(&self) -> i64 {
        self.t
    }

    /// The last appended sample with float counts (for
    /// [`super::appendable`]).
    pub fn last(&self) -> FloatHistogram {
        if self.sum.bits == STALE_SUM_BITS {
            return FloatHistogram::stale();
        }
        let cumulative = |v: &[(i64, i64)]| {
            let mut acc = 0i64;
            v.iter()
                .map(|b| {
                    acc = acc.wrapping_add(b.0);
                    acc as f64
                })
                .collect()
        };
        FloatHistogram {
            schema: self.layout.schema,
            zero_threshold: self.layout.zero_threshold,
            zero_count: self.zero_count as f64,
            count: self.count as f64,
            sum: self.sum.value(),
            positive_spans: self.layout.positive_spans.clone(),
            negative_spans: self.layout.negative_spans.clone(),
            positive_buckets: cumulative(&self.positive),
            negative_buckets: cumulative(&self.negative),
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
    ) -> Result<HistogramAppender, ChunkCorrupt> {
        let mut out = HistogramAppender::new(self.header());
        for (t, mut h) in decode_histograms(&self.bytes())? {
            if h.sum.to_bits() != STALE_SUM_BITS {
                h.positive_deltas = relaid(&h.positive_spans, &h.positive_deltas, positive);
                h.negative_deltas = relaid(&h.negative_spans, &h.negative_deltas, negative);
                h.positive_spans = positive.to_vec();
                h.negative_spans = negative.to_vec();
            }
            out.append(t, &h);
        }
        Ok(out)
    }

    pub fn append(&mut self, t: i64, h: &Histogram) {
        let stale = h.sum.to_bits() == STALE_SUM_BITS;
        let stale_h;
        let h = if stale {
            stale_h = Histogram {
                sum: h.sum,
                ..Histogram::default()
            };
            &stale_h
        } else {
            h
        };
        let w = &mut self.w;
        let (mut t_delta, mut count_delta, mut zero_delta) = (0, 0, 0);
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
            put_varbit_uint(w, h.count);
            put_varbit_uint(w, h.zero_count);
            w.write_bits(h.sum.to_bits(), 64);
            self.sum = XorValue::new(h.sum);
            for &b in h.positive_deltas.iter().chain(&h.negative_deltas) {
                put_varbit_int(w, b);
            }
            self.positive = h.positive_deltas.iter().map(|&b| (b, 0)).collect();
            self.negative = h.negative_deltas.iter().map(|&b| (b, 0)).collect();
        } else {
            t_delta = t - self.t;
            count_delta = (h.count as i64).wrapping_sub(self.count as i64);
            zero_delta = (h.zero_count as i64).wrapping_sub(self.zero_count as i64);
            let (count_dod, zero_dod) = if stale {
                (0, 0)
            } else {
                (count_delta - self.count_delta, zero_delta - self.zero_delta)
            };
            put_varbit_int(w, t_delta - self.t_delta);
            put_varbit_int(w, count_dod);
            put_varbit_int(w, zero_dod);
            self.sum.write(w, h.sum);
            for (state, &b) in self
                .positive
                .iter_mut()
                .zip(&h.positive_deltas)
                .chain(self.negative.iter_mut().zip(&h.negative_deltas))
            {
                let delta = b - state.0;
                put_varbit_int(w, delta - state.1);
                *state = (b, delta);
            }
        }
        self.n += 1;
        self.t = t;
        self.t_delta = t_delta;
        self.count = h.count;
        self.count_delta = count_delta;
        self.zero_count = h.zero_count;
        self.zero_delta = zero_delta;
    }
}

/// Delta-coded buckets on `spans` as deltas on `to`, which adds empty
/// buckets.
pub fn relaid(spans: &[Span], deltas: &[i64], to: &[Span]) -> Vec<i64> {
    let mut acc = 0i64;
    let absolute: Vec<f64> = deltas
        .iter()
        .map(|&d| {
            acc = acc.wrapping_add(d);
            acc as f64
        })
        .collect();
    let mut prev = 0i64;
    expand(spans, &absolute, to)
        .into_iter()
        .map(|c| {
            let c = c as i64;
            let d = c.wrapping_sub(prev);
            prev = c;
            d
        })
        .collect()
}

/// Decodes every sample of an integer histogram chunk, with each sample's
/// counter-reset hint from the chunk header.
pub fn decode_histograms(bytes: &[u8]) -> Result<Vec<(i64, Histogram)>, ChunkCorrupt> {
    let (n, header) = chunk_header(bytes)?;
    let mut r = BitReader::new(&bytes[HEADER_LEN..]);
    let mut out = Vec::with_capacity(n);
    let mut layout = Layout::default();
    let (mut t, mut t_delta) = (0i64, 0i64);
    let (mut count, mut count_delta) = (0u64, 0i64);
    let (mut zero, mut zero_delta) = (0u64, 0i64);
    let mut sum = XorValue::new(0.0);
    let mut positive: Vec<(i64, i64)> = Vec::new();
    let mut negative: Vec<(i64, i64)> = Vec::new();
    for i in 0..n {
        if i == 0 {
            layout = Layout::read(&mut r)?;
            let (p, q) = layout.bucket_counts();
            if p + q > MAX_BUCKETS {
                return Err(ChunkCorrupt("implausible number of histogram buckets"));
            }
            t = read_varbit_int(&mut r);
            count = read_varbit_uint(&mut r);
            zero = read_varbit_uint(&mut r);
            sum = XorValue::new(f64::from_bits(r.read_bits(64)));
            if sum.bits != STALE_SUM_BITS {
                positive = (0..p).map(|_| (read_varbit_int(&mut r), 0)).collect();
                negative = (0..q).map(|_| (read_varbit_int(&mut r), 0)).collect();
            }
        } else {
            t_delta = t_delta.wrapping_add(read_varbit_int(&mut r));
            t = t.wrapping_add(t_delta);
            count_delta = count_delta.wrapping_add(read_varbit_int(&mut r));
            count = count.wrapping_add(count_delta as u64);
            zero_delta = zero_delta.wrapping_add(read_varbit_int(&mut r));
            zero = zero.wrapping_add(zero_delta as u64);
            sum.read(&mut r)?;
            if sum.bits != STALE_SUM_BITS {
                for b in positive.iter_mut().chain(negative.iter_mut()) {
                    b.1 = b.1.wrapping_add(read_varbit_int(&mut r));
                    b.0 = b.0.wrapping_add(b.1);
                }
            }
        }
        if r.overrun() {
            return Err(ChunkCorrupt("histogram chunk ends inside a sample"));
        }
        let h = if sum.bits == STALE_SUM_BITS {
            Histogram {
                sum: sum.value(),
                ..Histogram::default()
            }
        } else {
            Histogram {
                hint: header.hint_of(i + 1),
                schema: layout.schema,
                zero_threshold: layout.zero_threshold,
                zero_count: zero,
                count,
                sum: sum.value(),
                positive_spans: layout.positive_spans.clone(),
                negative_spans: layout.negative_spans.clone(),
                positive_deltas: positive.iter().map(|b| b.0).collect(),
                negative_deltas: negative.iter().map(|b| b.0).collect(),
                custom_values: layout.custom_values.clone(),
            }
        };
        out.push((t, h));
    }
    Ok(out)
}
