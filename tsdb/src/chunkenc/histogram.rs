//! Native histogram chunks, bit for bit as Prometheus writes them, so that
//! remote read can hand them out as chunk types 2 (histogram) and 3 (float
//! histogram) and chunks written by Prometheus decode here.
//!
//! ```text
//! ┌──────────────────────┬──────────────┬─────────────────────────────┐
//! │ samples u16 BE       │ header 1B    │ bit stream …                │
//! └──────────────────────┴──────────────┴─────────────────────────────┘
//! header: top two bits 10 = counter reset, 01 = not a reset, 11 = gauge,
//!         00 = unknown (the chunk's first sample; later samples of a
//!         counter chunk are never resets).
//! bit stream, with sample 0:
//!   layout: zero threshold (1 byte: 0 → 0; 1…254 → 0.5·2^(b−243);
//!           255 → a raw f64 follows), schema varbit_int,
//!           positive spans, negative spans (varbit_uint count, then per
//!           span varbit_uint length, varbit_int offset), and for schema
//!           −53 the custom bounds (varbit_uint count, per bound
//!           varbit_uint(1000·x + 1) when that is exact, else 0 + raw f64).
//!   integer chunk: t varbit_int, count and zero count varbit_uint, sum raw
//!           f64, each bucket (as a delta to the previous bucket)
//!           varbit_int.
//!   float chunk:   t varbit_int, count, zero count, sum, each bucket: raw
//!           f64.
//! later samples:
//!   integer: Δ of Δ of t, count and zero count (varbit_int), sum XOR-coded
//!           as in XOR chunks, each bucket's Δ of Δ (varbit_int).
//!   float:   Δ of Δ of t, then count, zero count, sum and each bucket
//!           XOR-coded, each with its own leading/trailing window.
//! A stale marker (sum = stale NaN) writes t, zero Δs, the sum and no
//! buckets; only stale markers follow it in a chunk.
//! ```
//! Varbit integers are described in [`super::varbit`].

mod appendable;
mod float;
mod int;
mod layout;
mod open_chunk;
mod with_st;

#[cfg(test)]
mod tests;

pub use appendable::{Appendable, appendable, expand};
pub use float::{FloatHistogramAppender, decode_float_histograms};
pub use int::{HistogramAppender, decode_histograms, relaid};
pub use layout::Layout;
pub use open_chunk::{ChunkLimits, MAX_HISTOGRAM_CHUNK_SAMPLES, OpenHistogramChunk, first_header};
pub use with_st::{
    StHistogramChunk, TimedHistogram, decode_values, encode_values, latest_per_time,
};

use super::bstream::{BitReader, BitWriter};
use crate::model::histogram::CounterResetHint;

/// The encoding byte of integer histogram chunks in blocks (Prometheus
/// numbers it 2, which is Almanac's decimal encoding; remote read maps it).
pub const ENCODING_HISTOGRAM: u8 = 4;
/// The encoding byte of float histogram chunks in blocks (Prometheus: 3).
pub const ENCODING_FLOAT_HISTOGRAM: u8 = 5;

/// Samples count and header byte before the bit stream.
pub const HEADER_LEN: usize = 3;

/// The counter-reset bits of a chunk's third byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResetHeader {
    #[default]
    Unknown,
    CounterReset,
    NotCounterReset,
    Gauge,
}

impl ResetHeader {
    pub fn to_byte(self) -> u8 {
        match self {
            ResetHeader::Unknown => 0,
            ResetHeader::CounterReset => 0x80,
            ResetHeader::NotCounterReset => 0x40,
            ResetHeader::Gauge => 0xC0,
        }
    }

    pub fn from_byte(b: u8) -> ResetHeader {
        match b & 0xC0 {
            0x80 => ResetHeader::CounterReset,
            0x40 => ResetHeader::NotCounterReset,
            0xC0 => ResetHeader::Gauge,
            _ => ResetHeader::Unknown,
        }
    }

    /// The hint of the `n`th sample read (1-based) of a chunk with this
    /// header.
    pub fn hint_of(self, n: usize) -> CounterResetHint {
        match self {
            ResetHeader::Gauge => CounterResetHint::Gauge,
            _ if n > 1 => CounterResetHint::NotCounterReset,
            ResetHeader::CounterReset => CounterResetHint::CounterReset,
            _ => CounterResetHint::Unknown,
        }
    }
}

/// What a chunk that does not decode got wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkCorrupt(pub &'static str);

/// A chunk's sample count and reset header, or corruption.
fn chunk_header(bytes: &[u8]) -> Result<(usize, ResetHeader), ChunkCorrupt> {
    match bytes {
        [a, b, h, ..] => Ok((
            usize::from(u16::from_be_bytes([*a, *b])),
            ResetHeader::from_byte(*h),
        )),
        _ => Err(ChunkCorrupt("histogram chunk shorter than its header")),
    }
}

/// A float value coded as the XOR with its predecessor, with the window of
/// meaningful bits carried from sample to sample (Gorilla).
#[derive(Debug, Clone, Copy)]
pub(crate) struct XorValue {
    bits: u64,
    leading: u8,
    trailing: u8,
}

impl XorValue {
    pub(crate) fn new(v: f64) -> XorValue {
        XorValue {
            bits: v.to_bits(),
            leading: 0xff,
            trailing: 0,
        }
    }

    pub(crate) fn value(&self) -> f64 {
        f64::from_bits(self.bits)
    }

    pub(crate) fn write(&mut self, w: &mut BitWriter, v: f64) {
        let x = v.to_bits() ^ self.bits;
        self.bits = v.to_bits();
        if x == 0 {
            w.write_bit(false);
            return;
        }
        w.write_bit(true);
        let leading = (x.leading_zeros() as u8).min(31);
        let trailing = x.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            w.write_bit(false);
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            w.write_bits(x >> self.trailing, sig);
            return;
        }
        (self.leading, self.trailing) = (leading, trailing);
        w.write_bit(true);
        w.write_bits(u64::from(leading), 5);
        let sig = 64 - u32::from(leading) - u32::from(trailing);
        w.write_bits(u64::from(sig) & 63, 6);
        w.write_bits(x >> trailing, sig);
    }

    pub(crate) fn read(&mut self, r: &mut BitReader<'_>) -> Result<(), ChunkCorrupt> {
        if r.read_bits(1) == 0 {
            return Ok(());
        }
        if r.read_bits(1) == 1 {
            let leading = r.read_bits(5) as u8;
            let sig = match r.read_bits(6) as u8 {
                0 => 64,
                s => s,
            };
            if u32::from(leading) + u32::from(sig) > 64 {
                return Err(ChunkCorrupt("XOR window wider than 64 bits"));
            }
            (self.leading, self.trailing) = (leading, 64 - leading - sig);
        } else if self.leading == 0xff {
            return Err(ChunkCorrupt("XOR value reuses a window never set"));
        }
        let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
        self.bits ^= r.read_bits(sig) << self.trailing;
        Ok(())
    }
}
