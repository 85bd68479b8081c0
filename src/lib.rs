//! Almanac: a Prometheus-compatible time-series database.
//!
//! This root package owns the workspace's end-to-end tests (`tests/`) and
//! criterion benchmarks (`benches/`); the code lives in the member crates:
//! [`tsdb`] (storage engine) and [`promql`] (query language). It adds:
//! - [`datagen`]: a deterministic generator of realistic scrape data.
//! - [`hist_gen`]: the same for native histograms (latency histograms).
//! - [`bench_env`]: benchmark settings from the environment, RSS.
//! - [`bench_series`]: series and limits shared by storage benchmarks.
//! - [`harness`]: end-to-end test harness (server on a free port, HTTP client).
//! - [`span_gen`]: OTLP spans for span-store tests and benchmarks.
//! - [`log_gen`]: realistic log lines for log-store benchmarks.
//! - [`peers`]: real Prometheus/Alertmanager processes for end-to-end tests.
//! - [`bench_peer`]: the servers the ingest benchmark compares, and what is
//!   measured of them.

pub mod bench_env;
pub mod bench_peer;
pub mod bench_series;
pub mod datagen;
pub mod harness;
pub mod hist_gen;
pub mod log_gen;
pub mod peers;
pub mod span_gen;

pub use promql;
pub use tsdb;
