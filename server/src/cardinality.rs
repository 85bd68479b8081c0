//! Cardinality exploration: which metrics and labels hold the series,
//! which are new and active, and which metrics anyone queries.
//!
//! - [`stats`]: the statistics of a set of series (pure functions).
//! - [`scope`]: what a request looks at (the head, or `match[]` and a time
//!   range read exactly from the head and blocks, capped), and the
//!   series created and active in it.
//! - [`usage`]: query counts per metric name by source, recorded by a
//!   wrapper of the storage that reads go through.
//!
//! The HTTP handlers are in `api::tsdb_status`, `api::cardinality` and
//! `api::metric_names_stats`.

pub mod scope;
pub mod stats;
pub mod usage;
