//! Log blocks: immutable, checksummed, memory-mapped sets of compressed
//! per-stream chunks, with each chunk's time range and n-gram filter.
//!
//! ```text
//! logs/blocks/<ULID>/
//!   chunks      magic "ALGC" │ version=1 │ chunk*           chunk = zstd(payload), see [`chunk`]
//!   index       magic "ALGI" │ version=1 │ streams: uvarint │ stream × streams │ CRC32 u32
//!     stream    labels: uvarint │ (name: str │ value: str) × labels │ chunks: uvarint │ ref × chunks
//!     ref       offset u64 │ len u32 │ raw len u32 │ entries u32 │ min ts i64 │ max ts i64
//!               │ CRC32 u32 (of the compressed bytes) │ filter len u32 │ filter bytes
//!   meta.json   {"version":1, "ulid", "min_time_ns", "max_time_ns", "streams", "chunks",
//!                "entries", "line_bytes", "bytes", "wal_through", "replaces"}
//! ```
//!
//! Fixed-width integers are big-endian; `str` is a uvarint length and
//! UTF-8 bytes. The index CRC (IEEE) covers every byte before it and is
//! checked at open; a chunk's CRC when it is read, and it must decompress
//! to exactly its raw length. A stream's chunks are in time order and
//! hold its entries from WAL segments up to `wal_through`. A block
//! appears by renaming its finished temporary directory; one that
//! `replaces` others (a rewrite after a deletion) makes them garbage.

pub mod bloom;
pub mod chunk;
mod compress;
mod reader;
mod writer;

pub use reader::{Block, BlockStream, ChunkRef};
pub use writer::{BlockMeta, write};

const CHUNKS_MAGIC: &[u8; 4] = b"ALGC";
const INDEX_MAGIC: &[u8; 4] = b"ALGI";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 5;

/// Lines (raw bytes) per chunk: about 1 MiB, where zstd's ratio on log
/// lines levels off (benchmarks in docs/BENCHMARKS.md).
pub const CHUNK_BYTES: usize = 1 << 20;

/// The zstd level of chunks, chosen by measurement (`benches/log_codec.rs`,
/// docs/BENCHMARKS.md): on realistic mixed lines level 1 compresses
/// better than levels 3 and 6 (9.4× against 8.5× and 8.9×) and 6 times
/// faster than level 6; level 9 gains 6% more at a ninth of the speed.
pub const ZSTD_LEVEL: i32 = 1;
