//! The span store's HTTP side: the OTLP traces receiver and the Tempo and
//! Jaeger query APIs.
//!
//! - [`ingest`]: `POST /v1/traces`;
//! - [`otlp_json`]: OTLP/JSON trace requests;
//! - [`render`]: spans as OTLP/JSON;
//! - [`tempo`]: Tempo's health, build info and trace-by-id endpoints;
//! - [`search`]: Tempo's search and tag endpoints;
//! - [`jaeger`]: the Jaeger query API under `/jaeger`;
//! - [`self_metrics`]: the store's counters in `/metrics`.

pub mod ingest;
pub mod jaeger;
mod otlp_json;
mod render;
pub mod search;
pub mod self_metrics;
pub mod tempo;
