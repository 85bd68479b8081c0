//! Span blocks: immutable, checksummed, memory-mapped sets of whole traces.
//!
//! ```text
//! spans/blocks/<ULID>/
//!   data        magic "ASPD" │ version=1 │ payload*           payload = snappy(TracesData protobuf),
//!                                                              one per trace, found through the index
//!   index       magic "ASPI" │ version=1 │ count u32 │ entry × count │ terms │ terms offset u64 │ CRC32 u32
//!     entry     trace id 16B │ offset u64 │ len u32 │ payload CRC32 u32 │ start ns u64 │ end ns u64 │ spans u32
//!               (52 bytes, sorted by trace id: a trace is a binary search away)
//!     terms     count u32 │ (kind u8 │ key len u16 │ key │ value len u16 │ value │ len u32 │ roaring bitmap)*
//!               bitmaps of entry ordinals: which traces have a span with that service, name, status or attribute
//!   meta.json   {"version":1, "ulid", "min_time_ns", "max_time_ns", "traces", "spans", "bytes"}
//! ```
//!
//! Integers are little-endian. The index CRC covers every byte before it;
//! each payload's CRC is in its entry and is checked when it is read. A
//! block appears by renaming its finished temporary directory.

mod reader;
mod terms;
mod writer;

pub use reader::{Block, Entry};
pub use terms::{INDEXED_SPAN_ATTRS, Term, TermKind, span_terms, status_name};
pub use writer::{BlockMeta, write};

const DATA_MAGIC: &[u8; 4] = b"ASPD";
const INDEX_MAGIC: &[u8; 4] = b"ASPI";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 5;
const ENTRY_LEN: usize = 52;
const FOOTER_LEN: usize = 12;
