//! The span store: OpenTelemetry spans kept beside the metric store,
//! written through the database's WAL in the same commit as samples.
//!
//! - [`validate`]: what is accepted, and why a span is refused;
//! - [`record`]: the span WAL record;
//! - `wire`: protobuf read in place, for the hot paths;
//! - [`head`]: committed spans by trace until they are decided and in a block;
//! - [`sampling`]: tail sampling with the collector's policies;
//! - [`block`]: immutable span blocks with a trace-id index and postings;
//! - [`traceql`]: the TraceQL parser and evaluator;
//! - [`search`]: TraceQL search over the head and the blocks;
//! - [`spanmetrics`]: RED metrics and the service graph from spans;
//! - [`store`]: the store, [`SpanStore`], tying them together.

pub mod block;
pub mod error;
pub mod head;
pub mod id;
pub mod record;
pub mod sampling;
pub mod search;
pub mod spanmetrics;
pub mod store;
pub mod traceql;
pub mod validate;
mod wire;

pub use error::{Error, Result};
pub use id::TraceId;
pub use store::{Options, SpanStore};
