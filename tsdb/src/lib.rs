//! Almanac's storage engine.
//!
//! - [`model`]: the data model every crate shares (labels, matchers, samples,
//!   the read traits).
//! - [`chunkenc`]: Gorilla (XOR) compressed chunks.
//! - [`error`]: the crate's one error type.

pub mod chunkenc;
pub mod error;
pub mod model;

pub use error::{Error, Result};
