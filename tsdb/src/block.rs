//! Immutable on-disk blocks.
//!
//! A block directory holds `meta.json` ([`BlockMeta`]), an `index`
//! (symbols, series, roaring postings), chunk segments under `chunks/` read
//! through mmap, and an optional `tombstones` file. Each binary file starts
//! with a magic number and a version byte and carries CRC32s; the layouts
//! are drawn in the submodules and in `docs/format/`.

mod chunks;
mod index_reader;
mod index_writer;
mod meta;
mod reader;
mod tombstones_file;
mod writer;

pub use chunks::{ChunkReader, ChunkWriter};
pub use index_reader::IndexReader;
pub use index_writer::{IndexChunk, IndexWriter};
pub use meta::{BLOCK_VERSION, BlockMeta, BlockStats, CompactionMeta, new_ulid};
pub use reader::Block;
pub(crate) use writer::write_atomically;
pub use writer::{BLOCK_CHUNK_SAMPLES, BlockPlan, write_block};
