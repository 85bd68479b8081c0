//! The log store's counters and gauges in `/metrics`.

use std::sync::atomic::Ordering;

use logs::LogStore;

use crate::metrics::{counter, gauge};

pub fn render(out: &mut String, store: &LogStore) {
    let c = &store.counters;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    for (name, help, v) in [
        (
            "almanac_log_entries_received_total",
            "Log entries committed through the WAL.",
            load(&c.entries_received),
        ),
        (
            "almanac_log_bytes_received_total",
            "Bytes of log lines committed through the WAL.",
            load(&c.bytes_received),
        ),
        (
            "almanac_log_entries_refused_total",
            "Log entries refused (limits, ordering, bad input), with their reasons in the answer.",
            load(&c.entries_refused),
        ),
        (
            "almanac_log_entries_duplicate_total",
            "Log entries equal to one held, dropped (retried pushes).",
            load(&c.entries_duplicate),
        ),
        (
            "almanac_log_entries_replayed_total",
            "Log entries read back from the WAL at start.",
            load(&c.entries_replayed),
        ),
        (
            "almanac_log_entries_expired_total",
            "Log entries dropped by retention.",
            load(&c.entries_expired),
        ),
        (
            "almanac_log_entries_deleted_total",
            "Log entries removed by deletion requests.",
            load(&c.entries_deleted),
        ),
        (
            "almanac_log_streams_created_total",
            "Log streams created.",
            load(&c.streams_created),
        ),
        (
            "almanac_log_entries_replay_skipped_total",
            "Log entries read back from the WAL at start that blocks held already.",
            load(&c.entries_replay_skipped),
        ),
        (
            "almanac_log_entries_flushed_total",
            "Log entries written into blocks.",
            load(&c.entries_flushed),
        ),
        (
            "almanac_log_blocks_written_total",
            "Log blocks written by flushes.",
            load(&c.blocks_written),
        ),
        (
            "almanac_log_blocks_deleted_total",
            "Log blocks deleted by retention.",
            load(&c.blocks_deleted),
        ),
        (
            "almanac_log_blocks_merged_total",
            "Small log blocks merged into bigger ones.",
            load(&c.blocks_merged),
        ),
        (
            "almanac_log_chunks_read_total",
            "Log block chunks queries decompressed.",
            load(&store.head().reads.chunks_read),
        ),
        (
            "almanac_log_chunks_skipped_total",
            "Log block chunks queries skipped because their n-gram filter rules out a line filter.",
            load(&store.head().reads.chunks_skipped),
        ),
    ] {
        counter(out, name, help, v);
    }
    gauge(
        out,
        "almanac_log_streams",
        "Log streams held.",
        store.head().streams() as f64,
    );
    gauge(
        out,
        "almanac_log_blocks_quarantined",
        "Damaged log blocks moved aside at start.",
        load(&c.blocks_quarantined) as f64,
    );
    gauge(
        out,
        "almanac_log_blocks",
        "Log blocks held.",
        store.head().blocks().len() as f64,
    );
    gauge(
        out,
        "almanac_log_tail_sessions",
        "Live tail sessions (/loki/api/v1/tail) open.",
        store.taps.active() as f64,
    );
    gauge(
        out,
        "almanac_log_head_bytes",
        "Bytes of log lines in the head, not yet in blocks.",
        store.head().bytes() as f64,
    );
}
