//! Almanac's storage engine.
//!
//! - [`model`]: the data model every crate shares (labels, matchers, samples,
//!   the read traits).
//! - [`chunkenc`]: compressed chunks: Gorilla (XOR) for the head, and
//!   decimal-scaled packed integers where blocks find them smaller (the
//!   encoders and decoders other crates use; the bit streams inside are
//!   private).
//! - [`wal`]: the write-ahead log (segments, CRC'd records, repair, checkpoints).
//! - [`index`]: the inverted label index (roaring-bitmap postings).
//! - `head`: the in-memory, appendable head; [`Head`] and its options are
//!   public for benches and tests that use a head without a database.
//! - [`block`]: immutable on-disk blocks read through mmap.
//! - [`querier`]: readers of the head and blocks merged into one querier.
//! - [`db`]: all of it together: open, append, query, compact.
//! - [`downsample`]: tier summaries, exact on aligned windows.
//! - [`compact`], [`retention`]: planning as pure functions over block metadata.
//! - [`tombstones`], [`limits`]: deletions and cardinality limits.
//! - [`exemplars`]: bounded per-series exemplar storage.
//! - [`encoding`]: varints and a bounds-checked decoder for the file formats
//!   (the companion stores' WAL records use it too).
//! - [`error`]: the crate's one error type.

pub mod block;
pub mod chunkenc;
pub mod compact;
pub mod db;
pub mod downsample;
pub mod encoding;
pub mod error;
pub mod exemplars;
pub mod fsutil;
pub(crate) mod head;
pub mod index;
pub mod limits;
pub mod model;
pub mod querier;
pub mod retention;
pub mod tombstones;
pub mod wal;

pub use error::{Error, Result};
pub use head::{CommitStats, Head, HeadAppender, HeadOptions, HeadStats, RangeHead};
