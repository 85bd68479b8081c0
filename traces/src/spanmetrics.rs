//! Span metrics: request rate, errors and duration by service and
//! operation, and the service graph, derived from every committed span
//! (before sampling) and written into the metric store through its
//! appender, so the store's limits apply to them as to any series.
//!
//! - [`histogram`]: the latency histogram;
//! - [`graph`]: the service-graph edges of a trace;
//! - [`classic`]: classic latency buckets, when asked for.
//!
//! The series, named as Tempo's metrics generator names them so that
//! Grafana's Tempo views find them:
//!
//! | series | labels |
//! |---|---|
//! | `traces_spanmetrics_calls_total` (counter) | `service`, `span_name`, `span_kind`, `status_code` |
//! | `traces_spanmetrics_latency` (native histogram, seconds) | the same |
//! | `traces_spanmetrics_latency_bucket`/`_sum`/`_count` (classic, when configured) | the same, and `le` |
//! | `traces_service_graph_request_total` (counter) | `client`, `server` |
//! | `traces_service_graph_request_failed_total` (counter) | `client`, `server` |
//! | `traces_service_graph_request_server_seconds`, `…_client_seconds` (as the latency) | `client`, `server` |
//!
//! Contracts:
//! - the span-metric series carry an exemplar `{trace_id="<32 hex>"}` of
//!   the latest span seen since the last write;
//! - a series is written first as zero, a millisecond before its first
//!   value, so `increase` and `rate` count its first requests;
//! - RED counts are taken when a batch commits; edges when its trace is
//!   decided, with all its spans in view; replayed spans are not counted
//!   again (the counters restart with the process, as any counter);
//! - past `max_series` new series are not created (counted); a series with
//!   no span for `stale_after` is no longer written.

pub mod classic;
pub mod graph;
pub mod histogram;
mod latency;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use parking_lot::Mutex;
use tsdb::db::Appender;
use tsdb::exemplars::Exemplar;
use tsdb::model::Labels;

use crate::head::StoredSpan;
use crate::id::TraceId;
use latency::Latency;

pub const CALLS: &str = "traces_spanmetrics_calls_total";
pub const LATENCY: &str = "traces_spanmetrics_latency";
pub const GRAPH_REQUESTS: &str = "traces_service_graph_request_total";
pub const GRAPH_FAILED: &str = "traces_service_graph_request_failed_total";
pub const GRAPH_SERVER_SECONDS: &str = "traces_service_graph_request_server_seconds";
pub const GRAPH_CLIENT_SECONDS: &str = "traces_service_graph_request_client_seconds";

/// How span metrics are kept.
#[derive(Debug, Clone)]
pub struct MetricsOptions {
    /// Most series held (span-metric keys plus service-graph edges).
    pub max_series: usize,
    /// A series with no span for this long is no longer written.
    pub stale_after: Duration,
    /// Write the latency as a native histogram.
    pub native_latency: bool,
    /// Write the latency as classic buckets with these bounds (seconds,
    /// ascending); empty: none.
    pub classic_bounds: Vec<f64>,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            max_series: 10_000,
            stale_after: Duration::from_secs(15 * 60),
            native_latency: true,
            classic_bounds: Vec::new(),
        }
    }
}

#[derive(Debug, Default)]
pub struct MetricsCounters {
    /// Spans or edges not counted because `max_series` was reached.
    pub series_dropped: AtomicU64,
    /// Samples the metric store refused (its limits, say).
    pub samples_refused: AtomicU64,
    pub samples_written: AtomicU64,
}

/// The aggregates between writes.
pub struct SpanMetrics {
    opts: MetricsOptions,
    state: Mutex<State>,
    pub counters: MetricsCounters,
}

#[derive(Default)]
struct State {
    red: HashMap<RedKey, Red>,
    /// The key of the span being counted.
    scratch: RedKey,
    edges: HashMap<(String, String), EdgeCounts>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct RedKey {
    service: String,
    span_name: String,
    kind: i32,
    status: i32,
}

#[derive(Default)]
struct Red {
    calls: u64,
    latency: Latency,
    exemplar: Option<SpanExemplar>,
    exemplar_written_ms: i64,
    updated_ms: i64,
    written: bool,
}

struct SpanExemplar {
    trace_id: TraceId,
    t_ms: i64,
    seconds: f64,
}

#[derive(Default)]
struct EdgeCounts {
    total: u64,
    failed: u64,
    server: Latency,
    client: Latency,
    updated_ms: i64,
    written: bool,
}

impl SpanMetrics {
    pub fn new(opts: MetricsOptions) -> SpanMetrics {
        SpanMetrics {
            opts,
            state: Mutex::default(),
            counters: MetricsCounters::default(),
        }
    }

    /// Counts committed spans into the RED aggregates.
    pub fn observe_spans(&self, spans: &[(TraceId, StoredSpan)], now_ms: i64) {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        for (id, s) in spans {
            // The key is built in a buffer kept between spans: a span of a
            // known series allocates nothing.
            let key = &mut st.scratch;
            key.service.clear();
            key.service.push_str(graph::service_of(&s.origin));
            key.span_name.clear();
            key.span_name.push_str(s.name());
            key.kind = s.kind;
            key.status = s.status;
            if !st.red.contains_key(key) {
                if st.red.len() + st.edges.len() >= self.opts.max_series {
                    self.counters.series_dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                st.red.insert(key.clone(), Red::default());
            }
            let Some(red) = st.red.get_mut(&st.scratch) else {
                continue;
            };
            let seconds = s.end_ns.saturating_sub(s.start_ns) as f64 / 1e9;
            red.calls += 1;
            red.latency.observe(&self.opts, seconds);
            red.updated_ms = now_ms;
            let t_ms = (s.end_ns / 1_000_000) as i64;
            if red.exemplar.as_ref().is_none_or(|e| t_ms >= e.t_ms) {
                red.exemplar = Some(SpanExemplar {
                    trace_id: *id,
                    t_ms,
                    seconds,
                });
            }
        }
    }

    /// Counts the service-graph edges of a trace being decided.
    pub fn observe_trace(&self, spans: &[StoredSpan], now_ms: i64) {
        let edges = graph::edges(spans);
        if edges.is_empty() {
            return;
        }
        let mut st = self.state.lock();
        for e in edges {
            let key = (e.client, e.server);
            if !st.edges.contains_key(&key) && st.len() >= self.opts.max_series {
                self.counters.series_dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let c = st.edges.entry(key).or_default();
            c.total += 1;
            c.failed += u64::from(e.failed);
            c.server.observe(&self.opts, e.server_seconds);
            c.client.observe(&self.opts, e.client_seconds);
            c.updated_ms = now_ms;
        }
    }

    /// Adds one sample per live series at `t_ms` to `app` (and exemplars
    /// newer than the last written); forgets stale series first. Refused
    /// samples are counted, not returned: the rest of the batch stands.
    pub fn write(&self, app: &mut Appender<'_>, t_ms: i64) {
        let mut st = self.state.lock();
        let fresh_since = t_ms.saturating_sub(self.opts.stale_after.as_millis() as i64);
        st.red.retain(|_, r| r.updated_ms >= fresh_since);
        st.edges.retain(|_, e| e.updated_ms >= fresh_since);
        let mut w = Writer {
            opts: &self.opts,
            app,
            t_ms,
            written: 0,
            refused: 0,
        };
        for (k, r) in st.red.iter_mut() {
            w.red(k, r);
        }
        for ((client, server), e) in st.edges.iter_mut() {
            let pairs = [("client", client.as_str()), ("server", server.as_str())];
            let first = !e.written;
            let ok = w
                .counter(GRAPH_REQUESTS, &pairs, e.total as f64, first)
                .is_some();
            w.counter(GRAPH_FAILED, &pairs, e.failed as f64, first);
            w.latency(GRAPH_SERVER_SECONDS, &pairs, &e.server, first, None);
            w.latency(GRAPH_CLIENT_SECONDS, &pairs, &e.client, first, None);
            e.written |= ok;
        }
        let c = &self.counters;
        c.samples_written.fetch_add(w.written, Ordering::Relaxed);
        c.samples_refused.fetch_add(w.refused, Ordering::Relaxed);
    }

    /// Series held now.
    pub fn series(&self) -> usize {
        self.state.lock().len()
    }
}

impl State {
    fn len(&self) -> usize {
        self.red.len() + self.edges.len()
    }
}

/// One write's appends, counting what was written and refused.
struct Writer<'a, 'b> {
    opts: &'a MetricsOptions,
    app: &'a mut Appender<'b>,
    t_ms: i64,
    written: u64,
    refused: u64,
}

impl Writer<'_, '_> {
    fn red(&mut self, k: &RedKey, r: &mut Red) {
        let kind = SpanKind::try_from(k.kind).map_or("SPAN_KIND_UNSPECIFIED", |x| x.as_str_name());
        let status =
            StatusCode::try_from(k.status).map_or("STATUS_CODE_UNSET", |x| x.as_str_name());
        let pairs = [
            ("service", k.service.as_str()),
            ("span_name", k.span_name.as_str()),
            ("span_kind", kind),
            ("status_code", status),
        ];
        let first = !r.written;
        let calls = self.counter(CALLS, &pairs, r.calls as f64, first);
        let fresh = r
            .exemplar
            .as_ref()
            .filter(|e| e.t_ms > r.exemplar_written_ms);
        let written = self.latency(LATENCY, &pairs, &r.latency, first, fresh.map(|e| e.seconds));
        let (latency, bucket) = (written.native, written.bucket);
        r.written |= calls.is_some();
        let Some(e) = fresh else {
            return;
        };
        let labels = Labels::from_pairs(&[("trace_id", e.trace_id.to_string())]);
        for (series, v) in [(calls, 1.0), (latency, e.seconds), (bucket, e.seconds)] {
            if let Some(series) = series {
                let ex = Exemplar {
                    labels: labels.clone(),
                    t: e.t_ms,
                    v,
                };
                // An exemplar the store will not keep costs only itself.
                let _ = self.app.append_exemplar(series, ex);
            }
        }
        r.exemplar_written_ms = e.t_ms;
    }

    fn counter(
        &mut self,
        name: &str,
        pairs: &[(&str, &str)],
        v: f64,
        first: bool,
    ) -> Option<tsdb::model::SeriesRef> {
        let labels = series_labels(name, pairs);
        if first {
            let res = self.app.append(&labels, self.t_ms - 1, 0.0);
            self.count(res);
        }
        let res = self.app.append(&labels, self.t_ms, v);
        self.count(res)
    }

    fn count<T>(&mut self, res: tsdb::Result<T>) -> Option<T> {
        match res {
            Ok(v) => {
                self.written += 1;
                Some(v)
            }
            Err(e) => {
                tracing::debug!(error = %e, "span metric sample refused");
                self.refused += 1;
                None
            }
        }
    }
}

fn series_labels(name: &str, pairs: &[(&str, &str)]) -> Labels {
    let mut all = Vec::with_capacity(pairs.len() + 1);
    all.push(("__name__", name));
    all.extend_from_slice(pairs);
    Labels::from_pairs(&all)
}

#[cfg(test)]
#[path = "spanmetrics_tests.rs"]
mod tests;
