//! Remote-write ingest side by side: Almanac, VictoriaMetrics and
//! Prometheus (Debian's packages, when installed) receive the same
//! generated data over loopback, one after another.
//!
//! What is measured, per peer: acknowledged samples/s of the whole send
//! (only samples in requests answered 2xx count), the server's CPU seconds,
//! peak RSS (VmHWM), and bytes per acknowledged sample on disk after
//! compaction (Almanac and Prometheus: a snapshot with the head written as
//! a block; VictoriaMetrics: force_flush + force_merge, then a wait until
//! its /metrics shows no pending rows and no merge running, `data/` +
//! `indexdb/`). Ratios are against VictoriaMetrics.
//!
//! Nothing is taken on trust: after the send every peer is asked by PromQL
//! how many series (`count({__name__=~".+"})`) and samples (for each metric
//! name, `sum(count_over_time({__name__="…"}[span + 1m]))`) it holds, and
//! the figures are printed. The run fails (exit 1, after every table and the
//! details are printed) when a request failed (its status and body are
//! shown), when a peer holds other than every generated series and every
//! acknowledged sample, or when it cannot be asked. With `ROUNDS` > 1 every
//! round starts fresh peers in an order rotated by one, so each peer takes
//! each place in turn, and a summary gives the median of the rounds.
//!
//! Then query latency: a set of dashboard range queries (`DASHBOARD`, over
//! the whole ingested span at a 60s step) is run `QUERY_RUNS` times (5)
//! against each peer; the median time per query is reported, and the
//! median over queries compared (VictoriaMetrics with its rollup cache off,
//! `-search.disableCache`).
//!
//! Run: `scripts/bench_ingest.sh` (builds the release binary first), or
//! `cargo bench --bench ingest_compare` with env `SERIES` (default 100000),
//! `SAMPLES` (240), `CONCURRENCY` (4), `PEERS` (`almanac,vm,prometheus`),
//! `ROUNDS` (1), `QUERY_RUNS` (5), `ALMANAC_FLAGS` (extra server flags).

use almanac::bench_env::env_usize;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use almanac::bench_peer::{self, Peer, cpu_seconds, proc_status};
use almanac::datagen::{Fleet, GenOptions};
use almanac::harness::{request, write_request};
use tsdb::model::{Labels, Sample};

/// One remote-write request and the samples it carries.
struct Request {
    body: Vec<u8>,
    samples: u64,
}

/// One shard's requests in send order.
type Shard = Vec<Request>;

/// Dashboard range queries over the generated fleet.
const DASHBOARD: &[&str] = &[
    "sum by (job) (rate(http_requests_total[5m]))",
    "sum by (code) (rate(http_requests_total[5m]))",
    "sum by (handler) (rate(http_requests_total{code=~\"5..\"}[5m])) / sum by (handler) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))",
    "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])",
    "sum by (mode) (rate(node_cpu_seconds_total[5m]))",
    "1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m]))",
    "topk(5, sum by (instance) (rate(node_network_receive_bytes_total[5m])))",
    "sum(rate(node_disk_io_time_seconds_total[5m]))",
];

/// Generated requests per shard, the sample count and the data's span (ms).
fn payloads(series: usize, samples: usize, shards: usize) -> (Vec<Shard>, u64, (i64, i64)) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let interval = 15_000;
    let start = (now - samples as i64 * interval) / 60_000 * 60_000;
    let mut fleet = Fleet::new(GenOptions {
        series,
        start_ms: start,
        interval_ms: interval,
        ..GenOptions::default()
    });
    let labels: Vec<Labels> = fleet.labels();
    let per_shard = series.div_ceil(shards);
    let mut out: Vec<Shard> = (0..shards).map(|_| Vec::new()).collect();
    let mut total = 0u64;
    for _ in 0..samples {
        let mut values: Vec<(i64, f64)> = vec![(0, 0.0); series];
        fleet.scrape(|i, t, v| values[i] = (t, v));
        for (s, shard) in out.iter_mut().enumerate() {
            let lo = s * per_shard;
            let hi = ((s + 1) * per_shard).min(series);
            for batch in (lo..hi).collect::<Vec<_>>().chunks(1000) {
                let req: Vec<(Labels, Vec<Sample>)> = batch
                    .iter()
                    .map(|&i| {
                        (
                            labels[i].clone(),
                            vec![Sample::new(values[i].0, values[i].1)],
                        )
                    })
                    .collect();
                total += req.len() as u64;
                shard.push(Request {
                    body: write_request(&req),
                    samples: req.len() as u64,
                });
            }
        }
    }
    (out, total, (start, start + samples as i64 * interval))
}

/// A keep-alive HTTP/1.1 connection that posts bodies and reads answers.
struct Conn {
    stream: BufReader<TcpStream>,
    addr: SocketAddr,
}

impl Conn {
    fn new(addr: SocketAddr) -> std::io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        Ok(Conn {
            stream: BufReader::new(s),
            addr,
        })
    }

    /// Posts `body`; the answer's status and body.
    fn post(&mut self, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut line = String::new();
        self.stream.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut answer = vec![0u8; len];
        self.stream.read_exact(&mut answer)?;
        Ok((status, answer))
    }
}

struct Row {
    name: &'static str,
    /// 1-based; 0 for a summary.
    round: usize,
    samples_per_s: f64,
    cpu_s: f64,
    peak_rss: u64,
    bytes_per_sample: f64,
    /// Samples in requests answered 2xx.
    acked: u64,
    /// Requests not answered 2xx (or not answered).
    failed: u64,
    /// Series and samples the peer holds after the send, by PromQL.
    stored: Option<(u64, u64)>,
    /// Median seconds per dashboard query, in `DASHBOARD` order (NaN: failed).
    query_s: Vec<f64>,
    /// What went wrong; the run fails when any row has something here.
    problems: Vec<String>,
}

/// Median seconds of `runs` runs of each dashboard query over `span`.
fn query_latency(peer: &Peer, span: (i64, i64), runs: usize) -> Vec<f64> {
    let form = |q: &str| {
        almanac::harness::form(&[
            ("query", q),
            ("start", &format!("{}", span.0 as f64 / 1000.0)),
            ("end", &format!("{}", span.1 as f64 / 1000.0)),
            ("step", "60"),
        ])
    };
    DASHBOARD
        .iter()
        .map(|q| {
            let body = form(q);
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs {
                let t0 = Instant::now();
                let ok = request(
                    peer.addr,
                    "POST",
                    "/api/v1/query_range",
                    &[("Content-Type", "application/x-www-form-urlencoded")],
                    body.as_bytes(),
                )
                .map(|r| r.status == 200)
                .unwrap_or(false);
                if !ok {
                    return f64::NAN;
                }
                times.push(t0.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        })
        .collect()
}

fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What one shard's sender saw.
#[derive(Default)]
struct Sent {
    acked: u64,
    failed: u64,
    /// The first few failures: request index, status or error, body.
    errors: Vec<String>,
}

/// Sends one shard over one keep-alive connection (a new one after a
/// failure), counting the samples of 2xx answers.
fn send_shard(addr: SocketAddr, shard_no: usize, shard: &[Request]) -> Sent {
    let mut sent = Sent::default();
    let mut conn = Conn::new(addr);
    for (i, req) in shard.iter().enumerate() {
        let answer = match &mut conn {
            Ok(c) => c.post("/api/v1/write", &req.body),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        };
        let error = match answer {
            Ok((status, _)) if (200..300).contains(&status) => {
                sent.acked += req.samples;
                continue;
            }
            Ok((status, body)) => format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ),
            Err(e) => e.to_string(),
        };
        sent.failed += 1;
        if sent.errors.len() < 5 {
            sent.errors.push(format!(
                "shard {shard_no} request {i} ({} samples): {error}",
                req.samples
            ));
        }
        conn = Conn::new(addr);
    }
    sent
}

fn run(peer: &Peer, shards: &[Shard], series: usize, span: (i64, i64), round: usize) -> Row {
    let pid = peer.child.id();
    let cpu0 = cpu_seconds(pid);
    let t0 = Instant::now();
    let sent: Vec<Sent> = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter()
            .enumerate()
            .map(|(n, shard)| s.spawn(move || send_shard(peer.addr, n, shard)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| Sent {
                    errors: vec!["a sender thread panicked".into()],
                    failed: 1,
                    ..Sent::default()
                })
            })
            .collect()
    });
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu0;
    let peak = proc_status(pid, "VmHWM:");
    let acked: u64 = sent.iter().map(|s| s.acked).sum();
    let failed: u64 = sent.iter().map(|s| s.failed).sum();
    let mut problems: Vec<String> = Vec::new();
    if failed > 0 {
        problems.push(format!(
            "{failed} requests failed; the first of each sender:"
        ));
        problems.extend(
            sent.iter()
                .flat_map(|s| s.errors.iter().map(|e| format!("  {e}"))),
        );
    }
    let stored = match bench_peer::stored(peer, span) {
        Ok((s, n)) => {
            if s != series as u64 {
                problems.push(format!("holds {s} series, {series} were sent"));
            }
            if n != acked {
                problems.push(format!("holds {n} samples, {acked} were acknowledged"));
            }
            Some((s, n))
        }
        Err(e) => {
            problems.push(format!("could not count what it holds: {e}"));
            None
        }
    };
    let bytes = bench_peer::disk_bytes(peer).unwrap_or_else(|e| {
        problems.push(format!("disk size: {e}"));
        0
    });
    let query_s = query_latency(peer, span, env_usize("QUERY_RUNS", 5));
    Row {
        name: peer.name,
        round,
        samples_per_s: acked as f64 / secs,
        cpu_s: cpu,
        peak_rss: peak,
        bytes_per_sample: bytes as f64 / acked.max(1) as f64,
        acked,
        failed,
        stored,
        query_s,
        problems,
    }
}

fn print_table(rows: &[&Row]) {
    println!(
        "{:<12} {:>14} {:>10} {:>12} {:>10} {:>8} {:>14} {:>10} {:>14}",
        "peer",
        "samples/s",
        "cpu s",
        "peak RSS",
        "B/sample",
        "failed",
        "acknowledged",
        "series",
        "samples held"
    );
    for r in rows {
        let (series, samples) = r.stored.map_or(("?".into(), "?".into()), |(s, n)| {
            (s.to_string(), n.to_string())
        });
        println!(
            "{:<12} {:>14.0} {:>10.1} {:>8.0} MiB {:>10.3} {:>8} {:>14} {:>10} {:>14}",
            r.name,
            r.samples_per_s,
            r.cpu_s,
            r.peak_rss as f64 / 1048576.0,
            r.bytes_per_sample,
            r.failed,
            r.acked,
            series,
            samples
        );
    }
}

/// One row per peer with the median of its rounds (failed requests:
/// summed; the counts were checked in each round).
fn summarise(name: &'static str, rounds: &[&Row]) -> Row {
    let med = |f: &dyn Fn(&Row) -> f64| median(&rounds.iter().map(|r| f(r)).collect::<Vec<_>>());
    Row {
        name,
        round: 0,
        samples_per_s: med(&|r| r.samples_per_s),
        cpu_s: med(&|r| r.cpu_s),
        peak_rss: med(&|r| r.peak_rss as f64) as u64,
        bytes_per_sample: med(&|r| r.bytes_per_sample),
        acked: med(&|r| r.acked as f64) as u64,
        failed: rounds.iter().map(|r| r.failed).sum(),
        stored: rounds.iter().all(|r| r.stored.is_some()).then(|| {
            let at = |f: fn((u64, u64)) -> u64| {
                med(&|r| r.stored.map_or(f64::NAN, |s| f(s) as f64)) as u64
            };
            (at(|s| s.0), at(|s| s.1))
        }),
        query_s: (0..DASHBOARD.len())
            .map(|i| med(&|r| r.query_s[i]))
            .collect(),
        problems: Vec::new(),
    }
}

fn main() {
    let series = env_usize("SERIES", 100_000);
    let samples = env_usize("SAMPLES", 240);
    let conc = env_usize("CONCURRENCY", 4);
    let rounds = env_usize("ROUNDS", 1).max(1);
    let peers_env = std::env::var("PEERS").unwrap_or_else(|_| "almanac,vm,prometheus".into());
    let mut peers: Vec<&'static str> = Vec::new();
    for name in peers_env.split(',') {
        match name.trim() {
            "almanac" => peers.push("almanac"),
            "vm" => peers.push("vm"),
            "prometheus" => peers.push("prometheus"),
            other => println!("unknown peer {other}"),
        }
    }
    let t = Instant::now();
    let (shards, total, span) = payloads(series, samples, conc);
    let bytes: usize = shards.iter().flatten().map(|r| r.body.len()).sum();
    println!(
        "ingest_compare: {series} series x {samples} samples = {total} samples in {} requests ({:.0} MB snappy), encoded in {:.1}s",
        shards.iter().map(Vec::len).sum::<usize>(),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let mut rows: Vec<Row> = Vec::new();
    for round in 0..rounds {
        // Each round starts one place further along, so every peer takes
        // every place in turn.
        let order: Vec<&'static str> = (0..peers.len())
            .map(|i| peers[(i + round) % peers.len()])
            .collect();
        println!("\nround {} of {rounds}: {}", round + 1, order.join(", "));
        let first = rows.len();
        for name in order {
            match bench_peer::start(name) {
                Some(peer) => rows.push(run(&peer, &shards, series, span, round + 1)),
                None => println!("{name}: not available (not installed, or did not start)"),
            }
        }
        print_table(&rows[first..].iter().collect::<Vec<_>>());
    }
    let summary: Vec<Row> = peers
        .iter()
        .filter_map(|&name| {
            let mine: Vec<&Row> = rows.iter().filter(|r| r.name == name).collect();
            (!mine.is_empty()).then(|| summarise(name, &mine))
        })
        .collect();
    if rounds > 1 {
        println!("\nmedian of {rounds} rounds (failed: the sum):");
        print_table(&summary.iter().collect::<Vec<_>>());
    }
    let rows_all = rows;
    let rows = summary;
    println!("\nquery latency, median of runs (ms):");
    for (i, q) in DASHBOARD.iter().enumerate() {
        let cols: Vec<String> = rows
            .iter()
            .map(|r| format!("{}={:.1}", r.name, r.query_s[i] * 1e3))
            .collect();
        println!(
            "  {:<60} {}",
            q.chars().take(60).collect::<String>(),
            cols.join("  ")
        );
    }
    for r in &rows {
        println!(
            "{:<12} median query {:.1} ms",
            r.name,
            median(&r.query_s) * 1e3
        );
    }
    for other in ["vm", "prometheus"] {
        if let (Some(a), Some(o)) = (
            rows.iter().find(|r| r.name == "almanac"),
            rows.iter().find(|r| r.name == other),
        ) {
            println!(
                "almanac / {other}: median query time {:.2}x",
                median(&a.query_s) / median(&o.query_s)
            );
        }
    }
    if let (Some(a), Some(vm)) = (
        rows.iter().find(|r| r.name == "almanac"),
        rows.iter().find(|r| r.name == "vm"),
    ) {
        println!(
            "almanac / vm: ingest {:.2}x, peak RSS {:.2}x, bytes/sample {:.2}x",
            a.samples_per_s / vm.samples_per_s,
            a.peak_rss as f64 / vm.peak_rss as f64,
            a.bytes_per_sample / vm.bytes_per_sample
        );
    }
    if let (Some(a), Some(p)) = (
        rows.iter().find(|r| r.name == "almanac"),
        rows.iter().find(|r| r.name == "prometheus"),
    ) {
        println!(
            "almanac / prometheus: ingest {:.2}x, peak RSS {:.2}x, bytes/sample {:.2}x",
            a.samples_per_s / p.samples_per_s,
            a.peak_rss as f64 / p.peak_rss as f64,
            a.bytes_per_sample / p.bytes_per_sample
        );
    }
    let problems: Vec<String> = rows_all
        .iter()
        .flat_map(|r| {
            r.problems
                .iter()
                .map(move |p| format!("{} (round {}): {p}", r.name, r.round))
        })
        .collect();
    if !problems.is_empty() {
        println!("\nFAILED: the figures above are not to be trusted:");
        for p in &problems {
            println!("  {p}");
        }
        std::process::exit(1);
    }
    println!(
        "\nchecked: every request acknowledged, and every peer holds all {series} series and every acknowledged sample"
    );
}
