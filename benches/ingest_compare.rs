//! Remote-write ingest side by side: Almanac, VictoriaMetrics and
//! Prometheus (Debian's packages, when installed) receive the same
//! generated data over loopback, one after another.
//!
//! What is measured, per peer: samples/s of the whole send (all requests
//! acknowledged), the server's CPU seconds, peak RSS (VmHWM), and bytes per
//! sample on disk after compaction (Almanac and Prometheus: a snapshot with
//! the head written as a block; VictoriaMetrics: force_flush + force_merge,
//! `data/` + `indexdb/`). Ratios are against VictoriaMetrics.
//!
//! Then query latency: a set of dashboard range queries (`DASHBOARD`, over
//! the whole ingested span at a 60s step) is run `QUERY_RUNS` times (5)
//! against each peer; the median time per query is reported, and the
//! median over queries compared (VictoriaMetrics with its rollup cache off,
//! `-search.disableCache`).
//!
//! Run: `scripts/bench_ingest.sh` (builds the release binary first), or
//! `cargo bench --bench ingest_compare` with env `SERIES` (default 100000),
//! `SAMPLES` (240), `CONCURRENCY` (4), `PEERS` (`almanac,vm,prometheus`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use almanac::datagen::{Fleet, GenOptions};
use almanac::harness::{request, write_request};
use almanac::peers::{free_port, wait_for};
use tsdb::model::{Labels, Sample};

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// One shard's requests in send order.
type Shard = Vec<Vec<u8>>;

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
    let mut out: Vec<Shard> = vec![Vec::new(); shards];
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
                shard.push(write_request(&req));
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

    fn post(&mut self, path: &str, body: &[u8]) -> std::io::Result<u16> {
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
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body)?;
        Ok(status)
    }
}

struct Peer {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

fn almanac_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("almanac");
    p.is_file().then_some(p)
}

fn start(name: &'static str) -> Option<Peer> {
    let dir = tempfile::tempdir().ok()?;
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().ok()?;
    let d = dir.path().display().to_string();
    let (cmd, ready): (Command, &str) = match name {
        "almanac" => {
            let mut c = Command::new(almanac_binary()?);
            c.args([
                "--listen",
                &addr.to_string(),
                "--data-dir",
                &d,
                "--log-level",
                "warn",
            ]);
            if let Ok(extra) = std::env::var("ALMANAC_FLAGS") {
                c.args(extra.split_whitespace());
            }
            (c, "/-/ready")
        }
        "vm" => {
            let mut c = Command::new(which("victoria-metrics")?);
            c.args([
                format!("-httpListenAddr={addr}"),
                format!("-storageDataPath={d}/vm"),
                "-retentionPeriod=100y".into(),
                "-search.disableCache".into(),
            ]);
            (c, "/health")
        }
        "prometheus" => {
            let cfg = dir.path().join("p.yml");
            std::fs::write(&cfg, "global: {scrape_interval: 15s}\nscrape_configs: []\n").ok()?;
            let mut c = Command::new(which("prometheus")?);
            c.args([
                format!("--config.file={}", cfg.display()),
                format!("--storage.tsdb.path={d}/prom"),
                format!("--web.listen-address={addr}"),
                "--web.enable-remote-write-receiver".into(),
                "--web.enable-admin-api".into(),
                "--storage.tsdb.retention.time=100y".into(),
            ]);
            (c, "/-/ready")
        }
        _ => return None,
    };
    let mut cmd = cmd;
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let peer = Peer {
        name,
        child,
        addr,
        dir,
    };
    wait_for(Duration::from_secs(60), || {
        request(addr, "GET", ready, &[], b"")
            .ok()
            .filter(|r| r.status == 200)
    })?;
    Some(peer)
}

fn proc_status(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn du(p: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(p) else {
        return std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                du(&e.path())
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

/// Bytes on disk of the compacted data.
fn disk_bytes(peer: &Peer) -> u64 {
    let d = peer.dir.path();
    match peer.name {
        "almanac" | "prometheus" => {
            let path = if peer.name == "almanac" {
                "/api/v1/admin/tsdb/snapshot"
            } else {
                "/api/v1/admin/tsdb/snapshot?skip_head=false"
            };
            let Ok(r) = request(peer.addr, "POST", path, &[], b"") else {
                return 0;
            };
            let name = r.json()["data"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let snap = if peer.name == "almanac" {
                d.join("snapshots").join(&name)
            } else {
                d.join("prom/snapshots").join(&name)
            };
            du(&snap)
        }
        "vm" => {
            let _ = request(peer.addr, "GET", "/internal/force_flush", &[], b"");
            let _ = request(peer.addr, "GET", "/internal/force_merge", &[], b"");
            std::thread::sleep(Duration::from_secs(5));
            du(&d.join("vm/data")) + du(&d.join("vm/indexdb"))
        }
        _ => 0,
    }
}

struct Row {
    name: &'static str,
    samples_per_s: f64,
    cpu_s: f64,
    peak_rss: u64,
    bytes_per_sample: f64,
    failed: u64,
    /// Median seconds per dashboard query, in `DASHBOARD` order (NaN: failed).
    query_s: Vec<f64>,
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

fn run(peer: &Peer, shards: &[Shard], total: u64, span: (i64, i64)) -> Row {
    let pid = peer.child.id();
    let cpu0 = cpu_seconds(pid);
    let t0 = Instant::now();
    let failed: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter()
            .map(|shard| {
                s.spawn(move || {
                    let mut failed = 0;
                    let mut conn = Conn::new(peer.addr).expect("connect");
                    for body in shard {
                        let ok = conn
                            .post("/api/v1/write", body)
                            .map(|c| (200..300).contains(&c))
                            .unwrap_or(false);
                        if !ok {
                            failed += 1;
                            conn = Conn::new(peer.addr).expect("reconnect");
                        }
                    }
                    failed
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu0;
    let peak = proc_status(pid, "VmHWM:");
    let bytes = disk_bytes(peer);
    let query_s = query_latency(peer, span, env_usize("QUERY_RUNS", 5));
    Row {
        name: peer.name,
        samples_per_s: total as f64 / secs,
        cpu_s: cpu,
        peak_rss: peak,
        bytes_per_sample: bytes as f64 / total as f64,
        failed,
        query_s,
    }
}

fn main() {
    let series = env_usize("SERIES", 100_000);
    let samples = env_usize("SAMPLES", 240);
    let conc = env_usize("CONCURRENCY", 4);
    let peers = std::env::var("PEERS").unwrap_or_else(|_| "almanac,vm,prometheus".into());
    let t = Instant::now();
    let (shards, total, span) = payloads(series, samples, conc);
    let bytes: usize = shards.iter().flatten().map(Vec::len).sum();
    println!(
        "ingest_compare: {series} series x {samples} samples = {total} samples in {} requests ({:.0} MB snappy), encoded in {:.1}s",
        shards.iter().map(Vec::len).sum::<usize>(),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let mut rows = Vec::new();
    for name in peers.split(',') {
        let name: &'static str = match name.trim() {
            "almanac" => "almanac",
            "vm" => "vm",
            "prometheus" => "prometheus",
            other => {
                println!("unknown peer {other}");
                continue;
            }
        };
        match start(name) {
            Some(peer) => rows.push(run(&peer, &shards, total, span)),
            None => println!("{name}: not available (not installed, or did not start)"),
        }
    }
    println!(
        "{:<12} {:>14} {:>10} {:>12} {:>12} {:>8}",
        "peer", "samples/s", "cpu s", "peak RSS", "B/sample", "failed"
    );
    for r in &rows {
        println!(
            "{:<12} {:>14.0} {:>10.1} {:>9.0} MiB {:>12.3} {:>8}",
            r.name,
            r.samples_per_s,
            r.cpu_s,
            r.peak_rss as f64 / 1048576.0,
            r.bytes_per_sample,
            r.failed
        );
    }
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
}
