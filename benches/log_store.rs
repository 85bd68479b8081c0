//! The log store measured through the real binary over loopback: Loki push
//! (snappy protobuf, as Grafana Alloy and promtail send it) of realistic
//! mixed logfmt, JSON and plain lines with the WAL, head memory per MB of
//! lines, a line-filter scan and a metric query over the hour the lines
//! cover.
//!
//! Requests are encoded before the clock starts: bodies of 10 streams ×
//! 200 lines (about 110 bytes a line; streams labelled by app, pod and
//! level), times spread over the hour before the run. One line in 10,000
//! holds the word `needle`, one in 2,000,003 the word `kestrel`.
//!
//! After the ingest, the queries run on what the head holds; then
//! `/api/v1/admin/tsdb/compact` flushes every line into blocks, the bench
//! prints the bytes on disk, and runs the queries again from the blocks,
//! with the chunks the rare word's n-gram filters let the scan skip.
//!
//! Run: `cargo build --release --bin almanac && cargo bench --bench
//! log_store`, with env `LOG_MB` (1,000 MB of lines), `CONCURRENCY` (2),
//! `STREAMS` (50,000, for memory per stream).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use almanac::bench_env::env_usize;
use almanac::bench_peer::{self, Peer, cpu_seconds, proc_status};
use almanac::harness::{request, snappy, urlencode};
use almanac::log_gen::line;
use prost::Message;
use server::logs::proto::{EntryAdapter, PushRequest, StreamAdapter, Timestamp};

const STREAMS_PER_REQUEST: usize = 10;
const LINES_PER_STREAM: usize = 200;
const APPS: usize = 20;
const HOUR_NS: i64 = 3_600_000_000_000;

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Request `r` of `n`, its lines at times spread over the hour before
/// `base`; returns the body and the bytes of its lines.
fn body(r: u64, n: u64, base: i64) -> (Vec<u8>, u64) {
    let t0 = base - HOUR_NS + HOUR_NS * r as i64 / n.max(1) as i64;
    let mut raw = 0u64;
    let streams = (0..STREAMS_PER_REQUEST)
        .map(|s| {
            let app = (r as usize * STREAMS_PER_REQUEST + s) % APPS;
            let entries = (0..LINES_PER_STREAM)
                .map(|k| {
                    let seq = (r * STREAMS_PER_REQUEST as u64 + s as u64) * LINES_PER_STREAM as u64
                        + k as u64;
                    let l = line(seq);
                    raw += l.len() as u64;
                    let ts = t0 + k as i64 * 1_000;
                    EntryAdapter {
                        timestamp: Some(Timestamp {
                            seconds: ts.div_euclid(1_000_000_000),
                            nanos: ts.rem_euclid(1_000_000_000) as i32,
                        }),
                        line: l.into_bytes(),
                        structured_metadata: Vec::new(),
                    }
                })
                .collect();
            StreamAdapter {
                labels: format!(
                    "{{app=\"app{app}\", env=\"prod\", pod=\"pod-{s}\", level=\"{}\"}}",
                    ["info", "warn", "error", "debug"][s % 4]
                )
                .into_bytes(),
                entries,
                hash: 0,
            }
        })
        .collect();
    (snappy(&PushRequest { streams }.encode_to_vec()), raw)
}

fn start() -> Peer {
    // Limits far above the run: the bench measures the store, not them.
    bench_peer::start_with_config(
        "almanac",
        "wal_sync: interval:1s\nlogs: {ingestion_rate_mb: 100000, ingestion_burst_size_mb: 100000, max_streams: 1000000}\n",
    )
    .expect("the release binary starts (cargo build --release --bin almanac)")
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mb = env_usize("LOG_MB", 1000) as u64;
    // Requests hold about 110 bytes a line; size the run from one.
    let base = now_ns();
    let per_request = body(0, 1, base).1.max(1);
    let n = (mb << 20) / per_request;
    let bodies: Vec<(Vec<u8>, u64)> = (0..n).map(|r| body(r, n, base)).collect();
    let raw: u64 = bodies.iter().map(|b| b.1).sum();
    let sent: u64 = bodies.iter().map(|b| b.0.len() as u64).sum();
    let bodies = Arc::new(bodies);
    per_stream_memory();
    let peer = start();
    let pid = peer.child.id();
    let rss_before = proc_status(pid, "VmRSS:");
    let cpu_before = cpu_seconds(pid);
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..env_usize("CONCURRENCY", 2))
        .map(|_| {
            let (next, failures, bodies) = (next.clone(), failures.clone(), bodies.clone());
            let addr = peer.addr;
            std::thread::spawn(move || {
                loop {
                    let r = next.fetch_add(1, Ordering::Relaxed);
                    if r >= n {
                        break;
                    }
                    let headers = [("Content-Type", "application/x-protobuf")];
                    match request(
                        addr,
                        "POST",
                        "/loki/api/v1/push",
                        &headers,
                        &bodies[r as usize].0,
                    ) {
                        Ok(resp) if resp.status == 204 => {}
                        other => {
                            if failures.fetch_add(1, Ordering::Relaxed) < 3 {
                                eprintln!("request {r}: {:?}", other.map(|r| r.text()));
                            }
                        }
                    }
                }
            })
        })
        .collect();
    let watcher = {
        let (peak, next) = (peak.clone(), next.clone());
        std::thread::spawn(move || {
            while next.load(Ordering::Relaxed) < n {
                peak.fetch_max(proc_status(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    for t in threads {
        let _ = t.join();
    }
    let took = started.elapsed().as_secs_f64();
    let _ = watcher.join();
    assert_eq!(failures.load(Ordering::Relaxed), 0, "requests failed");
    let cpu = cpu_seconds(pid) - cpu_before;
    let rss = proc_status(pid, "VmRSS:");
    let peak = peak.load(Ordering::Relaxed).max(rss);
    let mib = |b: u64| b as f64 / 1048576.0;
    println!(
        "log store: {:.0} MB of lines ({} lines, {:.0} bytes a line) in {n} requests ({:.0} MB snappy protobuf sent)",
        mib(raw),
        n * (STREAMS_PER_REQUEST * LINES_PER_STREAM) as u64,
        raw as f64 / (n * (STREAMS_PER_REQUEST * LINES_PER_STREAM) as u64) as f64,
        mib(sent)
    );
    println!(
        "ingest: {:.1} MB/s of lines ({took:.1} s; server CPU {cpu:.1} s = {:.2} s per GB; peak RSS {:.0} MiB)",
        mib(raw) / took,
        cpu / (raw as f64 / 1e9),
        mib(peak)
    );
    let in_head = metric(&peer, "almanac_log_head_bytes ") as u64;
    println!(
        "memory: RSS +{:.0} MiB for {:.0} MB of lines = {:.2} MiB per MB ({:.0} MB of lines still in the head, the rest flushed during the run); {APPS} apps × {STREAMS_PER_REQUEST} pods = {} streams",
        mib(rss.saturating_sub(rss_before)),
        mib(raw),
        mib(rss.saturating_sub(rss_before)) / mib(raw),
        mib(in_head),
        APPS * STREAMS_PER_REQUEST
    );
    queries(&peer, base, raw, "head");
    let t = Instant::now();
    let r = request(peer.addr, "POST", "/api/v1/admin/tsdb/compact", &[], b"").expect("compact");
    assert_eq!(r.status, 200, "{}", r.text());
    let flush = t.elapsed().as_secs_f64();
    let wal = bench_peer::dir_bytes(&peer.data_dir().join("wal"));
    let blocks = bench_peer::dir_bytes(&peer.data_dir().join("logs"));
    println!(
        "flush: {flush:.1} s; disk: blocks {:.1} MiB = 1/{:.1} of the raw lines ({:.2}%), WAL {:.1} MiB; total 1/{:.1}",
        mib(blocks),
        raw as f64 / blocks as f64,
        100.0 * blocks as f64 / raw as f64,
        mib(wal),
        raw as f64 / (blocks + wal) as f64
    );
    queries(&peer, base, raw, "blocks");
}

/// Head memory per active stream: a server of its own takes `STREAMS`
/// (env, 50,000) streams of one short line each; RSS grows by about the
/// streams' cost (labels, postings, the stream's record).
fn per_stream_memory() {
    let streams = env_usize("STREAMS", 50_000);
    let peer = start();
    let pid = peer.child.id();
    let before = proc_status(pid, "VmRSS:");
    let t = now_ns() - 60_000_000_000;
    for batch in 0..streams.div_ceil(500) {
        let streams = (batch * 500..((batch + 1) * 500).min(streams))
            .map(|i| StreamAdapter {
                labels: format!("{{app=\"app{}\", pod=\"pod-{i}\", env=\"prod\"}}", i % 20)
                    .into_bytes(),
                entries: vec![EntryAdapter {
                    timestamp: Some(Timestamp {
                        seconds: t / 1_000_000_000,
                        nanos: 0,
                    }),
                    line: format!("stream {i} started").into_bytes(),
                    structured_metadata: Vec::new(),
                }],
                hash: 0,
            })
            .collect();
        let body = snappy(&PushRequest { streams }.encode_to_vec());
        let headers = [("Content-Type", "application/x-protobuf")];
        let r = request(peer.addr, "POST", "/loki/api/v1/push", &headers, &body).expect("push");
        assert_eq!(r.status, 204, "{}", r.text());
    }
    let after = proc_status(pid, "VmRSS:");
    println!(
        "memory per active stream: RSS +{:.1} MiB for {streams} streams of one line = {:.0} bytes a stream",
        after.saturating_sub(before) as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / streams as f64
    );
}

/// The line-filter scans and metric queries over the hour of lines, on
/// whatever holds them now (`from` says what).
fn queries(peer: &Peer, base: i64, raw: u64, from: &str) {
    let window = format!("start={}&end={}", base - HOUR_NS - 1, base + 1);
    for (q, what) in [
        (r#"{app="app3"} |= "needle""#, "scan"),
        (r#"{env="prod"} |= "needle""#, "scan"),
        (r#"{env="prod"} |= "kestrel""#, "rare"),
        // A negated filter rules out no chunk: every line is read.
        (r#"{env="prod"} != "served""#, "full"),
    ] {
        let path = format!(
            "/loki/api/v1/query_range?query={}&{window}&limit=1000",
            urlencode(q)
        );
        let chunks = chunk_counters(peer);
        let t = Instant::now();
        let r = request(peer.addr, "GET", &path, &[], b"").expect("query");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(r.status, 200, "{}", r.text());
        let (read, skipped) = chunk_counters(peer);
        let (read, skipped) = (read - chunks.0, skipped - chunks.1);
        let hits: usize = r.json()["data"]["result"].as_array().map_or(0, |a| {
            a.iter()
                .map(|s| s["values"].as_array().map_or(0, Vec::len))
                .sum()
        });
        let scanned = if q.contains("app3") {
            raw / APPS as u64
        } else {
            raw
        };
        let skip = if read + skipped > 0 {
            format!(
                "; chunks read {read}, skipped {skipped} ({:.1}%)",
                100.0 * skipped as f64 / (read + skipped) as f64
            )
        } else {
            String::new()
        };
        println!(
            "{from} {what} {q:<28}: {:>8.1} ms, {hits} lines, {:.2} GB/s of lines{skip}",
            secs * 1000.0,
            scanned as f64 / 1e9 / secs
        );
    }
    for q in [
        r#"sum by (level) (count_over_time({app="app3"}[1m]))"#,
        r#"sum by (app) (count_over_time({env="prod"}[1m]))"#,
    ] {
        let path = format!(
            "/loki/api/v1/query_range?query={}&{window}&step=60",
            urlencode(q)
        );
        let t = Instant::now();
        let r = request(peer.addr, "GET", &path, &[], b"").expect("query");
        assert_eq!(r.status, 200, "{}", r.text());
        println!(
            "{from} metric {q} over 1 h, step 1m: {:.1} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
}

/// Chunks read and skipped so far, from `/metrics`.
fn chunk_counters(peer: &Peer) -> (u64, u64) {
    (
        metric(peer, "almanac_log_chunks_read_total ") as u64,
        metric(peer, "almanac_log_chunks_skipped_total ") as u64,
    )
}

/// A value of `/metrics` (`name` with its trailing space).
fn metric(peer: &Peer, name: &str) -> f64 {
    let r = request(peer.addr, "GET", "/metrics", &[], b"").expect("metrics");
    r.text()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}
