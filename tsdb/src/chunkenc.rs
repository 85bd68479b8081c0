//! Chunk encodings.
//!
//! - [`bstream`]: bit-level writer and reader.
//! - [`xor`]: the Gorilla chunk (delta-of-delta timestamps, XOR floats).
//!
//! Every chunk reference on disk carries an encoding byte; [`ENCODING_XOR`]
//! is the only encoding so far (0 is reserved for "none").

mod bstream;
mod xor;

pub use xor::{
    ENCODING_XOR, MAX_SAMPLES_PER_CHUNK, XorAppender, XorChunk, XorIter, decode_range, num_samples,
};
