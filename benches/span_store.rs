//! The span store measured through the real binary over loopback: OTLP/HTTP
//! ingest of realistic spans (ten attributes and two events each, traces of
//! ten spans from four services) with the WAL, bytes per span on disk once
//! in blocks against the OTLP protobuf size, trace by id at the stored
//! volume, TraceQL searches over the hour the spans cover, and memory per
//! buffered span and undecided trace.
//!
//! Requests are made before the clock starts: `TEMPLATES` requests of 100
//! distinct traces (span durations, users and row counts vary per span)
//! are encoded once, and each request sent is a copy of one with its trace
//! ids and timestamps rewritten in place (fixed-width fields), so the
//! sender costs almost nothing and every trace id is new. With the default
//! 1,000 templates a trace's content repeats once per 100,000 traces,
//! which a 256 KiB compression frame (about 60 traces) does not see.
//! Timestamps spread the traces evenly over the hour before the run.
//!
//! Run: `cargo build --release --bin almanac && cargo bench --bench
//! span_store`, with env `SPANS` (10,000,000), `TEMPLATES` (1,000),
//! `CONCURRENCY` (2 senders),
//! `LOOKUPS` (2,000 trace-by-id requests), `BUFFERED_SPANS` (1,000,000 for
//! the memory phase; 0 skips it).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use almanac::bench_env::env_usize;
use almanac::bench_peer::{self, Peer, cpu_seconds, proc_status};
use almanac::harness::{request, urlencode};
use almanac::span_gen::{self, mix};
use prost::Message;

const SPANS_PER_TRACE: usize = 10;
const TRACES_PER_REQUEST: usize = 100;
const NS: u64 = 1_000_000_000;

/// An encoded request with where its trace ids and times sit.
struct Template {
    body: Vec<u8>,
    /// Per trace of the request: the offsets of its 16-byte id.
    ids: Vec<Vec<usize>>,
    /// Offsets of every fixed64 timestamp (span start/end, event times).
    times: Vec<usize>,
}

impl Template {
    fn new(seed: u64) -> Template {
        let mut spans = Vec::new();
        for k in 0..TRACES_PER_REQUEST as u64 {
            let i = seed * 1_000_000 + k;
            spans.extend(span_gen::realistic_trace(
                i,
                SPANS_PER_TRACE,
                NS * (1000 + k),
            ));
        }
        let body = span_gen::request("shop", spans.clone()).encode_to_vec();
        // Fields are encoded in order: walk forward to each span's id and
        // times (start, end, then its events').
        let mut ids = vec![Vec::new(); TRACES_PER_REQUEST];
        let mut times = Vec::new();
        let mut at = 0;
        for (n, s) in spans.iter().enumerate() {
            at = find(&body, at, &s.trace_id);
            ids[n / SPANS_PER_TRACE].push(at);
            let mut ts = vec![s.start_time_unix_nano, s.end_time_unix_nano];
            ts.extend(s.events.iter().map(|e| e.time_unix_nano));
            for t in ts {
                at = find(&body, at, &t.to_le_bytes());
                times.push(at);
            }
        }
        Template { body, ids, times }
    }

    /// Request `r`: traces `r * 100 ..`, times moved by `shift_ns`.
    fn request(&self, r: u64, shift_ns: u64) -> Vec<u8> {
        let mut b = self.body.clone();
        for (k, offsets) in self.ids.iter().enumerate() {
            let id = trace_id(r, k);
            for &o in offsets {
                b[o..o + 16].copy_from_slice(&id);
            }
        }
        for &o in &self.times {
            let v = u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or_default());
            b[o..o + 8].copy_from_slice(&(v + shift_ns).to_le_bytes());
        }
        b
    }
}

/// The offset of `needle` in `hay` at or after `from`.
fn find(hay: &[u8], from: usize, needle: &[u8]) -> usize {
    from + hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("a generated field is in its encoding")
}

fn trace_id(r: u64, k: usize) -> [u8; 16] {
    span_gen::trace_id(0x1000_0000 + r * TRACES_PER_REQUEST as u64 + k as u64)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn start(config: &str) -> Peer {
    bench_peer::start_with_config("almanac", config)
        .expect("the release binary starts (cargo build --release --bin almanac)")
}

fn metric(peer: &Peer, name: &str) -> f64 {
    let text = request(peer.addr, "GET", "/metrics", &[], b"")
        .map(|r| r.text())
        .unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// Sends requests `0..n` from `concurrency` threads; returns the OTLP
/// bytes sent.
fn send(peer: &Peer, templates: &Arc<Vec<Template>>, n: u64, span_ns: u64, base_ns: u64) -> u64 {
    let next = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..env_usize("CONCURRENCY", 2))
        .map(|_| {
            let (next, bytes, failures) = (next.clone(), bytes.clone(), failures.clone());
            let templates = templates.clone();
            let addr = peer.addr;
            std::thread::spawn(move || {
                loop {
                    let r = next.fetch_add(1, Ordering::Relaxed);
                    if r >= n {
                        break;
                    }
                    let t = &templates[(r % templates.len() as u64) as usize];
                    let shift = base_ns + span_ns * r / n.max(1);
                    let body = t.request(r, shift);
                    bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                    let headers = [("Content-Type", "application/x-protobuf")];
                    match request(addr, "POST", "/v1/traces", &headers, &body) {
                        Ok(resp) if resp.status == 200 => {}
                        Ok(resp) => {
                            if failures.fetch_add(1, Ordering::Relaxed) < 3 {
                                eprintln!("request {r}: {} {}", resp.status, resp.text());
                            }
                        }
                        Err(e) => {
                            if failures.fetch_add(1, Ordering::Relaxed) < 3 {
                                eprintln!("request {r}: {e}");
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let failed = failures.load(Ordering::Relaxed);
    assert_eq!(failed, 0, "{failed} requests failed");
    bytes.load(Ordering::Relaxed)
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let spans = env_usize("SPANS", 10_000_000) as u64;
    let requests = spans / (SPANS_PER_TRACE * TRACES_PER_REQUEST) as u64;
    let templates = env_usize("TEMPLATES", 1000) as u64;
    let templates: Arc<Vec<Template>> = Arc::new((0..templates).map(Template::new).collect());
    let hour = 3600 * NS;
    let base = now_ns() - hour - 60 * NS - 1000 * NS;
    println!(
        "span store: {} spans in {} traces",
        requests * 1000,
        requests * 100
    );

    // Ingest.
    let peer = start(
        "traces: {trace_idle_period: 2s, max_block_duration: 10s}\n\
         wal_sync: interval:1s\n",
    );
    let pid = peer.child.id();
    let cpu0 = cpu_seconds(pid);
    let t0 = Instant::now();
    let otlp_bytes = send(&peer, &templates, requests, hour, base);
    let took = t0.elapsed();
    let cpu = cpu_seconds(pid) - cpu0;
    let sent = (requests * 1000) as f64;
    println!(
        "ingest: {:.0} spans/s ({:.1} s; server CPU {:.1} s, {:.2} µs/span; peak RSS {} MiB)",
        sent / took.as_secs_f64(),
        took.as_secs_f64(),
        cpu,
        cpu * 1e6 / sent,
        proc_status(pid, "VmHWM:") >> 20,
    );

    // Blocks.
    wait_until("every span in a block", Duration::from_secs(600), || {
        metric(&peer, "almanac_span_head_spans") == 0.0
    });
    let on_disk = bench_peer::dir_bytes(&peer.data_dir().join("spans/blocks"));
    println!(
        "disk: {:.1} bytes/span in blocks; OTLP protobuf {:.1} bytes/span (ratio 1/{:.2}); {} blocks",
        on_disk as f64 / sent,
        otlp_bytes as f64 / sent,
        otlp_bytes as f64 / on_disk.max(1) as f64,
        metric(&peer, "almanac_span_blocks"),
    );

    if std::env::var_os("BENCH_DISK_DETAIL").is_some() {
        let blocks = peer.data_dir().join("spans/blocks");
        for e in std::fs::read_dir(&blocks).into_iter().flatten().flatten() {
            let size = |f: &str| std::fs::metadata(e.path().join(f)).map_or(0, |m| m.len());
            let meta = std::fs::read_to_string(e.path().join("meta.json")).unwrap_or_default();
            let spans: f64 = serde_json::from_str::<serde_json::Value>(&meta)
                .ok()
                .and_then(|m| m["spans"].as_f64())
                .unwrap_or(f64::NAN);
            println!(
                "  block {}: data {:.1} + index {:.1} bytes/span ({} spans)",
                e.file_name().to_string_lossy(),
                size("data") as f64 / spans,
                size("index") as f64 / spans,
                spans
            );
        }
    }

    // Trace by id.
    let lookups = env_usize("LOOKUPS", 2000) as u64;
    let mut times = Vec::with_capacity(lookups as usize);
    for l in 0..lookups {
        let x = mix(l);
        let id = hex(&trace_id(
            x % requests,
            (x >> 32) as usize % TRACES_PER_REQUEST,
        ));
        let headers = [("Accept", "application/protobuf")];
        let t = Instant::now();
        let r = request(
            peer.addr,
            "GET",
            &format!("/api/v2/traces/{id}"),
            &headers,
            b"",
        )
        .expect("trace by id");
        times.push(t.elapsed());
        assert_eq!(r.status, 200, "{id}");
        assert!(r.body.len() > 1000, "{id}: the whole trace");
    }
    times.sort();
    println!(
        "trace by id ({lookups} random ids of {} stored spans): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        requests * 1000,
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );

    // TraceQL over the hour.
    let (start_s, end_s) = (base / NS, (base + hour) / NS + 1100);
    for q in [
        "{ span.http.status_code = 500 }",
        "{ status = error }",
        r#"{ span.http.route = "/api/cart" && duration > 15ms }"#,
        r#"{ span.user.id = "u42" }"#,
        "{ duration > 18ms }",
    ] {
        let mut runs = Vec::new();
        let mut found = 0;
        for _ in 0..3 {
            let path = format!(
                "/api/search?q={}&start={start_s}&end={end_s}&limit=20",
                urlencode(q)
            );
            let t = Instant::now();
            let r = request(peer.addr, "GET", &path, &[], b"").expect("search");
            runs.push(t.elapsed());
            assert_eq!(r.status, 200, "{q}: {}", r.text());
            found = r.json()["traces"].as_array().map_or(0, Vec::len);
        }
        runs.sort();
        println!(
            "search {q:<50} limit 20: {:>8.1} ms (median of 3), {found} traces",
            runs[1].as_secs_f64() * 1e3
        );
    }
    drop(peer);

    // Memory of buffered spans: nothing is decided for an hour.
    let buffered = env_usize("BUFFERED_SPANS", 1_000_000) as u64;
    if buffered > 0 {
        let peer = start(
            "traces:\n  tail_sampling:\n    decision_wait: 1h\n    num_traces: 10000000\n    \
             policies: [{name: all, type: always_sample}]\n",
        );
        let pid = peer.child.id();
        let before = proc_status(pid, "VmRSS:");
        let n = buffered / 1000;
        send(&peer, &templates, n, hour, base);
        std::thread::sleep(Duration::from_secs(2));
        let after = proc_status(pid, "VmRSS:");
        let grown = after.saturating_sub(before) as f64;
        let spans = (n * 1000) as f64;
        println!(
            "buffered: {} spans in {} undecided traces: RSS +{} MiB = {:.0} bytes/span, {:.0} bytes/trace (encoded {:.0} bytes/span)",
            n * 1000,
            n * 100,
            (grown as u64) >> 20,
            grown / spans,
            grown / (spans / SPANS_PER_TRACE as f64),
            metric(&peer, "almanac_span_head_bytes") / spans,
        );
    }
    let _ = std::io::stdout().flush();
}
