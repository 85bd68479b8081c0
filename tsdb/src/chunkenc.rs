//! Chunk encodings.
