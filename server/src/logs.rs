//! The log store's HTTP side: Loki's push and query APIs under
//! `/loki/api/v1`.
//!
//! - [`push`]: `POST /loki/api/v1/push` (JSON and snappy protobuf);
//! - [`otlp`]: OpenTelemetry logs at `/v1/logs` and `/otlp/v1/logs`;
//! - [`rules`]: LogQL rules evaluated on the log store;
//! - [`query`]: `query` and `query_range` for log queries;
//! - [`delete`]: deletion by query;
//! - [`index`]: index stats and volumes, detected fields and labels,
//!   patterns;
//! - [`meta`]: labels, label values, series, build info, format_query;
//! - [`tail`]: live entries over WebSocket;
//! - [`self_metrics`]: the store's counters in `/metrics`;
//! - `proto`: Loki's push protobuf messages;
//! - `time`: Loki's time parameters (nanoseconds, RFC 3339, seconds).

pub mod delete;
pub mod index;
pub mod meta;
pub mod otlp;
pub mod proto;
pub mod push;
pub mod query;
pub mod rules;
pub mod self_metrics;
pub mod tail;
mod time;
