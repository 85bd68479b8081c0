//! The inverted label index.
//!
//! - [`MemPostings`]: the head's `(name, value) → RoaringBitmap` of series ids.
//! - [`postings_for_matchers`]: resolves matchers to a bitmap of series ids
//!   over anything implementing [`LabelIndex`] (the head and on-disk blocks).

mod mem_postings;
mod select;

pub use mem_postings::MemPostings;
pub use select::{LabelIndex, postings_for_matchers};
