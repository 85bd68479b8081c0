//! The log store: log lines by stream, kept beside the metric store and
//! written through the database's WAL in the same commit as samples and
//! spans.
//!
//! - [`model`]: streams, entries, and what a push carries;
//! - [`admit`]: Loki's limits and ordering rules, with reasons naming the
//!   stream;
//! - [`record`]: the log WAL record;
//! - [`block`]: log blocks on disk (compressed per-stream chunks with
//!   n-gram filters);
//! - [`head`]: every stream with label postings, its entries not yet in a
//!   block, and the blocks holding the rest;
//! - [`logql`]: the LogQL parser and its log-query evaluation;
//! - [`logqltest`]: the runner of the LogQL scripts in `testdata/logql/`;
//! - [`tail`]: live feeds of committed entries;
//! - [`store`]: the store, [`LogStore`], tying them together.

pub mod admit;
pub mod block;
pub mod error;
pub mod head;
pub mod logql;
pub mod logqltest;
pub mod model;
pub mod record;
pub mod store;
pub mod tail;

pub use error::{Error, Result};
pub use store::{LogStore, Options, StreamRetention};
