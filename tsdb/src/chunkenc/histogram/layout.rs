//! The bucket layout a histogram chunk's first sample writes: every sample
//! of the chunk has it.

use super::ChunkCorrupt;
use crate::chunkenc::bstream::{BitReader, BitWriter};
use crate::chunkenc::varbit::{put_varbit_int, put_varbit_uint, read_varbit_int, read_varbit_uint};
use crate::model::histogram::{CUSTOM_BUCKETS_SCHEMA, Span};

/// Schema, zero threshold, spans and custom bounds of a chunk's samples.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Layout {
    pub schema: i32,
    pub zero_threshold: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    pub custom_values: Vec<f64>,
}

/// Largest `1000·x` written as an integer.
const MAX_SCALED_BOUND: f64 = 33_554_430.0;

impl Layout {
    pub(super) fn write(&self, w: &mut BitWriter) {
        write_zero_threshold(w, self.zero_threshold);
        put_varbit_int(w, i64::from(self.schema));
        write_spans(w, &self.positive_spans);
        write_spans(w, &self.negative_spans);
        if self.schema == CUSTOM_BUCKETS_SCHEMA {
            put_varbit_uint(w, self.custom_values.len() as u64);
            for &x in &self.custom_values {
                let y = x * 1000.0;
                // Exactness is checked both ways: a bound that would not
                // come back as itself is written raw.
                if (0.0..=MAX_SCALED_BOUND).contains(&y) && y.fract() == 0.0 && y / 1000.0 == x {
                    put_varbit_uint(w, y as u64 + 1);
                } else {
                    w.write_bit(false);
                    w.write_bits(x.to_bits(), 64);
                }
            }
        }
    }

    pub(super) fn read(r: &mut BitReader<'_>) -> Result<Layout, ChunkCorrupt> {
        let zero_threshold = read_zero_threshold(r);
        let schema = i32::try_from(read_varbit_int(r))
            .map_err(|_| ChunkCorrupt("histogram schema out of range"))?;
        let positive_spans = read_spans(r)?;
        let negative_spans = read_spans(r)?;
        let mut custom_values = Vec::new();
        if schema == CUSTOM_BUCKETS_SCHEMA {
            let n = read_varbit_uint(r);
            if n > 1 << 20 {
                return Err(ChunkCorrupt("implausible number of custom bounds"));
            }
            for _ in 0..n {
                let v = read_varbit_uint(r);
                custom_values.push(if v == 0 {
                    f64::from_bits(r.read_bits(64))
                } else {
                    (v - 1) as f64 / 1000.0
                });
            }
        }
        if r.overrun() {
            return Err(ChunkCorrupt("histogram chunk layout cut short"));
        }
        Ok(Layout {
            schema,
            zero_threshold,
            positive_spans,
            negative_spans,
            custom_values,
        })
    }

    /// Buckets the positive and negative spans name.
    pub fn bucket_counts(&self) -> (usize, usize) {
        let n = |s: &[Span]| s.iter().map(|s| s.length as usize).sum();
        (n(&self.positive_spans), n(&self.negative_spans))
    }
}

fn write_zero_threshold(w: &mut BitWriter, t: f64) {
    if t == 0.0 {
        w.write_bits(0, 8);
        return;
    }
    // A power of two 0.5·2^e with e in −242…11 takes one byte: e + 243.
    let bits = t.to_bits();
    let mantissa = bits & ((1 << 52) - 1);
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let e = biased - 1022;
    if t > 0.0 && mantissa == 0 && biased != 0 && (-242..=11).contains(&e) {
        w.write_bits((e + 243) as u64, 8);
    } else {
        w.write_bits(0xff, 8);
        w.write_bits(bits, 64);
    }
}

fn read_zero_threshold(r: &mut BitReader<'_>) -> f64 {
    match r.read_byte() {
        0 => 0.0,
        0xff => f64::from_bits(r.read_bits(64)),
        b => f64::from_bits(((i32::from(b) - 243 + 1022) as u64) << 52),
    }
}

fn write_spans(w: &mut BitWriter, spans: &[Span]) {
    put_varbit_uint(w, spans.len() as u64);
    for s in spans {
        put_varbit_uint(w, u64::from(s.length));
        put_varbit_int(w, i64::from(s.offset));
    }
}

fn read_spans(r: &mut BitReader<'_>) -> Result<Vec<Span>, ChunkCorrupt> {
    let n = read_varbit_uint(r);
    if n > 1 << 16 {
        return Err(ChunkCorrupt("implausible number of histogram spans"));
    }
    let mut spans = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let length = u32::try_from(read_varbit_uint(r))
            .map_err(|_| ChunkCorrupt("span length out of range"))?;
        let offset = i32::try_from(read_varbit_int(r))
            .map_err(|_| ChunkCorrupt("span offset out of range"))?;
        spans.push(Span { offset, length });
    }
    Ok(spans)
}
