//! Prometheus's text notations outside the query grammar proper, with one
//! implementation each for the parser, the script runner, rule files, the
//! HTTP API and the templates: durations (`1h30m`) and calendar times
//! (RFC 3339, unix seconds); and the lines of the metrics text format.

mod duration;
pub mod exposition;
mod time;

pub use duration::{format_duration, parse_duration, scan_duration};
pub use time::{civil_from_days, days_from_civil, format_rfc3339, parse_time};
