//! The span store's counters and gauges in `/metrics`.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use traces::SpanStore;

use crate::metrics::{counter, escape, gauge, header};

pub fn render(out: &mut String, store: &SpanStore) {
    let c = &store.counters;
    let h = &store.head().counters;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let counters = [
        (
            "almanac_spans_received_total",
            "Spans committed through the WAL.",
            load(&c.spans_received),
        ),
        (
            "almanac_spans_refused_total",
            "Spans refused by validation, with their reasons in the answer.",
            load(&c.spans_refused),
        ),
        (
            "almanac_spans_replayed_total",
            "Spans read back from the WAL at start.",
            load(&c.spans_replayed),
        ),
        (
            "almanac_traces_kept_total",
            "Traces decided and kept.",
            load(&c.traces_kept),
        ),
        (
            "almanac_traces_dropped_total",
            "Traces decided and dropped by tail sampling.",
            load(&c.traces_dropped),
        ),
        (
            "almanac_traces_decided_early_total",
            "Traces decided before their wait because the buffer was full.",
            load(&h.decided_early),
        ),
        (
            "almanac_late_spans_kept_total",
            "Spans that came after their trace was kept.",
            load(&h.late_spans_kept),
        ),
        (
            "almanac_late_spans_dropped_total",
            "Spans that came after their trace was dropped.",
            load(&h.late_spans_dropped),
        ),
        (
            "almanac_span_blocks_written_total",
            "Span blocks written.",
            load(&c.blocks_written),
        ),
        (
            "almanac_span_blocks_deleted_total",
            "Span blocks deleted by retention.",
            load(&c.blocks_deleted),
        ),
        (
            "almanac_span_blocks_quarantined_total",
            "Damaged span blocks moved to spans/quarantine at start.",
            load(&c.blocks_quarantined),
        ),
    ];
    counters_of(out, &counters);
    header(
        out,
        "almanac_traces_sampling_decisions_total",
        "Tail-sampling verdicts by the policy that gave them.",
        "counter",
    );
    for ((policy, decision), n) in c.decisions.lock().iter() {
        let _ = writeln!(
            out,
            "almanac_traces_sampling_decisions_total{{policy=\"{}\",decision=\"{decision}\"}} {n}",
            escape(policy)
        );
    }
    if let Some(m) = store.metrics() {
        let mc = &m.counters;
        let counters = [
            (
                "almanac_span_metrics_series_dropped_total",
                "Spans and service-graph edges not counted: span_metrics.max_series was reached.",
                load(&mc.series_dropped),
            ),
            (
                "almanac_span_metrics_samples_written_total",
                "Span-metric samples written into the metric store.",
                load(&mc.samples_written),
            ),
            (
                "almanac_span_metrics_samples_refused_total",
                "Span-metric samples the metric store refused (its limits).",
                load(&mc.samples_refused),
            ),
        ];
        counters_of(out, &counters);
        gauge(
            out,
            "almanac_span_metrics_series",
            "Span-metric series held.",
            m.series() as f64,
        );
    }
    let (spans, bytes) = store.head().size();
    gauge(
        out,
        "almanac_traces_live",
        "Undecided traces in the span head.",
        store.head().live_traces() as f64,
    );
    gauge(
        out,
        "almanac_span_head_spans",
        "Spans in the span head.",
        spans as f64,
    );
    gauge(
        out,
        "almanac_span_head_bytes",
        "Encoded bytes of the spans in the span head.",
        bytes as f64,
    );
    gauge(
        out,
        "almanac_span_blocks",
        "Span blocks on disk.",
        store.blocks().len() as f64,
    );
}

fn counters_of(out: &mut String, counters: &[(&str, &str, u64)]) {
    for (name, help, v) in counters {
        counter(out, name, help, *v);
    }
}
