//! Almanac's own metrics, exposed at `/metrics` in the Prometheus text
//! format. Counters live here; storage figures are read from the database
//! at scrape time.

pub mod limits;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

pub use promql::syntax::exposition::{counter, escape, gauge, header};

use crate::remote_write::WriteOutcome;

/// Upper bounds (seconds) of the duration histograms.
const BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS.len()];
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in BUCKETS.iter().enumerate() {
            let c = self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {c}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// Renders metrics owned by another subsystem into the exposition.
pub type Renderer = Box<dyn Fn(&mut String) + Send + Sync>;

/// Counters and histograms updated by request handlers.
#[derive(Default)]
pub struct Metrics {
    pub samples_ingested: AtomicU64,
    pub remote_write_requests: AtomicU64,
    pub exemplars_ingested: AtomicU64,
    pub exemplars_rejected: AtomicU64,
    samples_rejected: Mutex<BTreeMap<&'static str, u64>>,
    http_requests: Mutex<BTreeMap<(String, u16), u64>>,
    http_durations: Mutex<BTreeMap<String, Histogram>>,
    query_durations: Mutex<BTreeMap<&'static str, Histogram>>,
    /// Queries by the data they read: `raw`, or a tier's resolution.
    query_sources: Mutex<BTreeMap<String, u64>>,
    /// Series refused by cardinality limits.
    pub limit_counters: limits::LimitCounters,
    /// Extra text appended by other subsystems (rules, notifier).
    extra: Mutex<Vec<Renderer>>,
}

impl Metrics {
    pub fn record_ingest(&self, o: &WriteOutcome) {
        self.remote_write_requests.fetch_add(1, Ordering::Relaxed);
        self.samples_ingested
            .fetch_add(o.samples_written, Ordering::Relaxed);
        self.exemplars_ingested
            .fetch_add(o.exemplars_written, Ordering::Relaxed);
        self.exemplars_rejected
            .fetch_add(o.exemplars_rejected, Ordering::Relaxed);
        if !o.rejected.is_empty() {
            let mut m = self.samples_rejected.lock();
            for (r, n) in &o.rejected {
                *m.entry(r).or_default() += n;
            }
        }
        for (kind, metric, n) in o.refusals.counts() {
            self.limit_counters.record(kind, metric, n);
        }
    }

    pub fn record_http(&self, handler: &str, code: u16, took: Duration) {
        *self
            .http_requests
            .lock()
            .entry((handler.to_string(), code))
            .or_default() += 1;
        self.http_durations
            .lock()
            .entry(handler.to_string())
            .or_default()
            .observe(took.as_secs_f64());
    }

    /// Records a query's duration and the downsampling tiers (resolutions
    /// in ms) it read, none for raw data only.
    pub fn record_query(&self, endpoint: &'static str, took: Duration, tiers: &[i64]) {
        self.query_durations
            .lock()
            .entry(endpoint)
            .or_default()
            .observe(took.as_secs_f64());
        let mut sources = self.query_sources.lock();
        if tiers.is_empty() {
            *sources.entry("raw".to_string()).or_default() += 1;
        }
        for r in tiers {
            *sources.entry(r.to_string()).or_default() += 1;
        }
    }

    /// Registers a renderer for metrics owned elsewhere.
    pub fn register(&self, f: Renderer) {
        self.extra.lock().push(f);
    }

    /// Renders the counters kept here.
    pub fn render(&self, out: &mut String) {
        self.limit_counters.render(out);
        counter(
            out,
            "almanac_samples_ingested_total",
            "Samples stored from remote write.",
            self.samples_ingested.load(Ordering::Relaxed),
        );
        counter(
            out,
            "almanac_remote_write_requests_total",
            "Remote-write requests handled.",
            self.remote_write_requests.load(Ordering::Relaxed),
        );
        counter(
            out,
            "almanac_exemplars_ingested_total",
            "Exemplars stored from remote write.",
            self.exemplars_ingested.load(Ordering::Relaxed),
        );
        counter(
            out,
            "almanac_exemplars_rejected_total",
            "Exemplars not stored (out of order, too long).",
            self.exemplars_rejected.load(Ordering::Relaxed),
        );
        header(
            out,
            "almanac_discarded_samples_total",
            "Samples not stored at ingest, by reason.",
            "counter",
        );
        for (r, n) in self.samples_rejected.lock().iter() {
            let _ = writeln!(
                out,
                "almanac_discarded_samples_total{{reason=\"{}\"}} {n}",
                escape(r)
            );
        }
        header(
            out,
            "almanac_http_requests_total",
            "HTTP requests by handler and status code.",
            "counter",
        );
        for ((h, c), n) in self.http_requests.lock().iter() {
            let _ = writeln!(
                out,
                "almanac_http_requests_total{{handler=\"{}\",code=\"{c}\"}} {n}",
                escape(h)
            );
        }
        header(
            out,
            "almanac_http_request_duration_seconds",
            "HTTP request latency by handler.",
            "histogram",
        );
        for (h, hist) in self.http_durations.lock().iter() {
            hist.render(
                out,
                "almanac_http_request_duration_seconds",
                &format!("handler=\"{}\"", escape(h)),
            );
        }
        header(
            out,
            "almanac_query_source_total",
            "Queries by the data they read: raw samples only (raw), or a downsampling tier (its resolution in ms).",
            "counter",
        );
        for (src, n) in self.query_sources.lock().iter() {
            let _ = writeln!(out, "almanac_query_source_total{{source=\"{src}\"}} {n}");
        }
        header(
            out,
            "almanac_query_duration_seconds",
            "PromQL evaluation time by endpoint.",
            "histogram",
        );
        for (e, hist) in self.query_durations.lock().iter() {
            hist.render(
                out,
                "almanac_query_duration_seconds",
                &format!("endpoint=\"{e}\""),
            );
        }
        for f in self.extra.lock().iter() {
            f(out);
        }
    }
}
