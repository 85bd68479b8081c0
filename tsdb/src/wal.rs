//! The write-ahead log.
//!
//! A directory of numbered segment files (`00000001`, …, at most
//! [`WalOptions::segment_size`] bytes each), optionally preceded by a
//! checkpoint directory (`checkpoint.NNNNNNNN/`, itself WAL-formatted) that
//! holds what survived truncation of the segments up to `NNNNNNNN`.
//!
//! ```text
//! segment file:
//! ┌────────────────────┬──────────────┬──────────────┐
//! │ magic "ALWL" 4B BE │ version 1 1B │ reserved 3B  │
//! ├────────────────────┴──────────────┴──────────────┤
//! │ page 0 (32 KiB) │ page 1 │ … │ page n (may be partial)  │
//! └──────────────────────────────────────────────────┘
//! page: fragments back to back, zero padding after the last one when the
//! next fragment header would not fit.
//! fragment:
//! ┌────────────┬───────────────┬────────────────┬──────────────────┐
//! │ type 1B    │ length u16 BE │ CRC32 u32 BE   │ payload (length) │
//! └────────────┴───────────────┴────────────────┴──────────────────┘
//! type: 0 = padding, 1 = full record, 2 = first, 3 = middle, 4 = last
//! fragment of a record. The CRC (IEEE) covers the payload.
//! ```
//! A record never spans segments, nor does a batch of records logged
//! together; a record may span pages. On open, a torn or
//! garbage tail of the *last* segment is cut at the end of its last good
//! record; damage anywhere else is reported as corruption with file and
//! offset. Record payloads are typed ([`Record`]).

mod checkpoint;
mod reader;
mod record;
mod segment;
mod writer;

pub use checkpoint::CheckpointStats;
pub use reader::WalReader;
pub use record::{
    ExemplarRecord, FloatHistogramRecord, HistogramRecord, Record, RecordFamily, RecordType,
    SampleRecord, SeriesRecord, StartTimeRecord, TombstoneRecord,
};
pub use writer::{RepairReport, SyncPolicy, Wal, WalOptions, WalPos};
