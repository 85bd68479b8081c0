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
//!   decoding any encoding ([`ChunkIter`], [`Encoding::decode_range`]) and
//!   [`BlockChunkEncoder`], which keeps the smaller encoding of a chunk.
//!
//! Encoding byte 0 is reserved for "none"; 1 is XOR, 2 is decimal, 3 is
//! a chunk with start timestamps.

mod bstream;
mod chunk;
mod decimal;
pub mod histogram;
mod st;
mod varbit;
mod xor;

pub use chunk::{BlockChunkEncoder, ChunkIter, Encoding};
pub use decimal::{DECIMAL_VERSION, DecimalEncoder, DecimalIter, ENCODING_DECIMAL, MAX_EXP};
pub use st::{StWriter, wrap as st_wrap};
pub use xor::{
    ENCODING_XOR, MAX_SAMPLES_PER_CHUNK, XorAppender, XorChunk, XorIter, decode_range, num_samples,
};
