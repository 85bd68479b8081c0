//! Chunk encodings.
//!
//! - [`bstream`]: bit-level writer and reader.
//! - [`xor`]: the Gorilla chunk (delta-of-delta timestamps, XOR floats);
//!   appendable, so the head uses it.
//! - [`decimal`]: decimal-scaled integers in packed streams; written whole,
//!   for immutable blocks, where it is usually 2–4× smaller than XOR.
//! - [`st`]: start timestamps beside a chunk's samples (encoding 3, which
//!   wraps an XOR or decimal chunk).
//! - [`histogram`]: native histogram chunks, byte-compatible with
//!   Prometheus's (integer and float), with its rules for cutting and
//!   recoding; `varbit`: their variable-width integers.
//! - [`chunk`]: [`Encoding`] (the byte stored beside every chunk on disk),
//!   decoding any encoding ([`Encoding::decode_range`]) and
//!   [`BlockChunkEncoder`], which keeps the smaller encoding of a chunk.
//!
//! Public: [`Encoding`], [`BlockChunkEncoder`], [`XorAppender`] and XOR's
//! [`decode_range`] (benches and wire formats that carry XOR chunks); the
//! rest is the crate's own.
//!
//! Encoding byte 0 is reserved for "none"; 1 is XOR, 2 is decimal, 3 is
//! a chunk with start timestamps, 4 and 5 are integer and float native
//! histograms, 6 histograms with start timestamps, 7 a downsampling tier's
//! bucket summaries ([`crate::downsample::chunk`]).

pub(crate) mod bstream;
mod chunk;
pub(crate) mod decimal;
pub mod histogram;
mod st;
mod varbit;
mod xor;

pub use chunk::{BlockChunkEncoder, Encoding};
pub use xor::{MAX_SAMPLES_PER_CHUNK, XorAppender, decode_range};

pub(crate) use st::{StWriter, wrap as st_wrap};
pub(crate) use xor::{ENCODING_XOR, num_samples as num_samples_xor};
