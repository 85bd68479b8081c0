//! Span blocks: immutable, checksummed, memory-mapped sets of whole traces.
//!
//! ```text
//! spans/blocks/<ULID>/
//!   data        magic "ASPD" │ version=2 │ frame*             frame = zstd(trace payload*),
//!                                                              payload = TracesData protobuf of one trace
//!   index       magic "ASPI" │ version=2 │ count u32 │ entry × count │ frames u32 │ frame × frames
//!               │ terms │ terms offset u64 │ CRC32 u32
//!     entry     trace id 16B │ frame u32 │ offset in frame u32 │ len u32 │ start ns u64 │ end ns u64 │ spans u32
//!               (48 bytes, sorted by trace id: a trace is a binary search away)
//!     frame     offset u64 │ len u32 │ uncompressed len u32 │ CRC32 u32 (of the compressed bytes; 20 bytes)
//!     terms     count u32 │ (kind u8 │ key len u16 │ key │ value len u16 │ value │ len u32 │ roaring bitmap)*
//!               bitmaps of entry ordinals: which traces have a span with that service, name, status or attribute
//!   meta.json   {"version":2, "ulid", "min_time_ns", "max_time_ns", "traces", "spans", "bytes"}
//! ```
//!
//! Integers are little-endian. The index CRC covers every byte before it;
//! each frame's CRC is in the frame table and is checked when the frame is
//! read. Traces fill frames in id order, about 256 KiB of protobuf each,
//! so zstd compresses what neighbouring traces share. A block appears by
//! renaming its finished temporary directory.

mod raw_terms;
mod reader;
mod terms;
mod writer;

pub use reader::{Block, Entry};
pub use terms::{INDEXED_SPAN_ATTRS, Term, TermKind, span_terms, status_name};
pub use writer::{BlockMeta, write};

const DATA_MAGIC: &[u8; 4] = b"ASPD";
const INDEX_MAGIC: &[u8; 4] = b"ASPI";
const VERSION: u8 = 2;
const HEADER_LEN: usize = 5;
const ENTRY_LEN: usize = 48;
const FRAME_LEN: usize = 20;
const FOOTER_LEN: usize = 12;
