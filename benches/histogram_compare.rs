//! Native histograms side by side: Almanac and Prometheus (Debian's 2.42
//! with `--enable-feature=native-histograms`, when installed) receive the
//! same latency histograms by remote write 1.0 over loopback, one after the
//! other.
//!
//! What is measured, per peer: acknowledged histogram samples/s of the
//! whole send (one connection, requests of 10 minutes × 100 series, oldest
//! first), bytes per histogram sample on disk after compaction (a snapshot
//! with the head written as a block), and the median time of
//! `histogram_quantile(0.99, sum(rate(x[5m])))` as a range query over the
//! whole span at a 60 s step (`QUERY_RUNS` runs). The answers of the two
//! peers are compared (same steps, values within 1e-6 relative; 2.42
//! interpolates inside exponential buckets linearly, 3.x exponentially, so
//! the comparison is of `histogram_count(sum(rate(x[5m])))`, at the steps
//! whose window lies after the first sample: before it, 3.x stops a
//! counter's extrapolation at zero and 2.42 does not).
//!
//! Nothing is taken on trust: each peer is asked how many series and
//! histogram samples it holds (`count(x)`, `count_over_time`), and the run
//! fails when a request failed or a peer lost data.
//!
//! Run: `cargo build --release && cargo bench --bench histogram_compare`,
//! env `SERIES` (default 1000), `SAMPLES` (480: two hours at 15 s),
//! `QUERY_RUNS` (5), `PEERS` (`almanac,prometheus`).

use almanac::bench_env::env_usize;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use almanac::bench_peer::{self, Peer, cpu_seconds, proc_status};
use almanac::harness::{form, request, snappy};
use almanac::hist_gen::HistogramFleet;
use prost::Message;
use server::prompb;
use tsdb::model::histogram::Histogram;

const INTERVAL: i64 = 15_000;
const NAME: &str = "http_request_duration_seconds";

/// The remote-write bodies, oldest first, and the span `(first, last)`
/// (its start moved off the sample grid).
fn payloads(series: usize, samples: usize) -> (Vec<Vec<u8>>, (i64, i64)) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let start = (now - samples as i64 * INTERVAL) / INTERVAL * INTERVAL + 311;
    let mut fleet = HistogramFleet::new(series, 42);
    let mut all: Vec<Vec<(i64, Histogram)>> = vec![Vec::with_capacity(samples); series];
    for k in 0..samples {
        let t = start + k as i64 * INTERVAL;
        fleet.scrape(|i, h| all[i].push((t, h)));
    }
    let per_request = 40; // ten minutes
    let mut bodies = Vec::new();
    for from in (0..samples).step_by(per_request) {
        let to = (from + per_request).min(samples);
        for group in (0..series).collect::<Vec<_>>().chunks(100) {
            let req = prompb::WriteRequest {
                timeseries: group
                    .iter()
                    .map(|&i| prompb::TimeSeries {
                        labels: vec![
                            prompb::Label {
                                name: "__name__".into(),
                                value: NAME.into(),
                            },
                            prompb::Label {
                                name: "instance".into(),
                                value: format!("host-{i}"),
                            },
                            prompb::Label {
                                name: "job".into(),
                                value: format!("api-{}", i % 10),
                            },
                        ],
                        histograms: all[i][from..to]
                            .iter()
                            .map(|(t, h)| prompb::Histogram::from_int(h, *t))
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                metadata: vec![],
            };
            bodies.push(snappy(&req.encode_to_vec()));
        }
    }
    // Query steps fall between samples, where 2.42's closed windows and
    // 3.x's left-open ones select the same samples.
    let last = start + (samples as i64 - 1) * INTERVAL;
    (bodies, (start + 7_126, last))
}

/// One peer's figures.
struct Row {
    name: &'static str,
    rate: f64,
    cpu_s: f64,
    rss_mib: f64,
    bytes_per_sample: f64,
    query_s: f64,
    count_answer: Vec<(i64, f64)>,
    problems: Vec<String>,
}

fn range_query(peer: &Peer, q: &str, span: (i64, i64)) -> Result<Vec<(i64, f64)>, String> {
    let body = form(&[
        ("query", q),
        ("start", &format!("{}", span.0 as f64 / 1000.0)),
        ("end", &format!("{}", span.1 as f64 / 1000.0)),
        ("step", "60"),
    ]);
    let r = request(
        peer.addr,
        "POST",
        "/api/v1/query_range",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    if r.status != 200 {
        return Err(format!("{q}: {} {}", r.status, r.text()));
    }
    let v = r.json();
    let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
    let Some(s) = result.first() else {
        return Ok(Vec::new());
    };
    Ok(s["values"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let t = (p[0].as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
            let x = p[1]
                .as_str()
                .and_then(|x| x.parse().ok())
                .unwrap_or(f64::NAN);
            (t, x)
        })
        .collect())
}

fn instant_number(peer: &Peer, q: &str, t: i64) -> Result<f64, String> {
    let body = form(&[("query", q), ("time", &format!("{}", t as f64 / 1000.0))]);
    let r = request(
        peer.addr,
        "POST",
        "/api/v1/query",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let v = r.json();
    v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|x| x.parse().ok())
        .ok_or_else(|| format!("{q}: {} {}", r.status, r.text()))
}

fn run(
    peer: &Peer,
    bodies: &[Vec<u8>],
    series: usize,
    samples: usize,
    span: (i64, i64),
    runs: usize,
) -> Row {
    let mut problems = Vec::new();
    let headers = [
        ("Content-Encoding", "snappy"),
        ("Content-Type", "application/x-protobuf"),
    ];
    let cpu0 = cpu_seconds(peer.child.id());
    let t0 = Instant::now();
    let mut acked = 0usize;
    for (k, b) in bodies.iter().enumerate() {
        match request(peer.addr, "POST", "/api/v1/write", &headers, b) {
            Ok(r) if r.status / 100 == 2 => acked += 1,
            Ok(r) => problems.push(format!("request {k}: {} {}", r.status, r.text())),
            Err(e) => problems.push(format!("request {k}: {e}")),
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu_s = cpu_seconds(peer.child.id()) - cpu0;
    let total = (series * samples) as f64;
    let rate = total * acked as f64 / bodies.len() as f64 / secs;
    let rss_mib = proc_status(peer.child.id(), "VmHWM:") as f64 / (1 << 20) as f64;

    // What the peer holds.
    match instant_number(peer, &format!("count({NAME})"), span.1) {
        Ok(n) if n as usize == series => {}
        other => problems.push(format!("series held: {other:?}, sent {series}")),
    }
    let window = format!("{}s", (span.1 - span.0) / 1000 + 60);
    match instant_number(
        peer,
        &format!("sum(count_over_time({NAME}[{window}]))"),
        span.1,
    ) {
        Ok(n) if n as usize == series * samples => {}
        other => problems.push(format!(
            "samples held: {other:?}, sent {}",
            series * samples
        )),
    }

    let q = format!("histogram_quantile(0.99, sum(rate({NAME}[5m])))");
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        match range_query(peer, &q, span) {
            Ok(pts) if !pts.is_empty() => times.push(t.elapsed().as_secs_f64()),
            other => problems.push(format!("{q}: {other:?}")),
        }
    }
    times.sort_by(f64::total_cmp);
    let query_s = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
    let count_answer = range_query(
        peer,
        &format!("histogram_count(sum(rate({NAME}[5m])))"),
        span,
    )
    .unwrap_or_else(|e| {
        problems.push(e);
        Vec::new()
    });
    let bytes_per_sample = match bench_peer::disk_bytes(peer) {
        Ok(b) => b as f64 / total,
        Err(e) => {
            problems.push(e);
            f64::NAN
        }
    };
    Row {
        name: peer.name,
        rate,
        cpu_s,
        rss_mib,
        bytes_per_sample,
        query_s,
        count_answer,
        problems,
    }
}

fn main() {
    let series = env_usize("SERIES", 1000);
    let samples = env_usize("SAMPLES", 480);
    let runs = env_usize("QUERY_RUNS", 5).max(1);
    let peers_env = std::env::var("PEERS").unwrap_or_else(|_| "almanac,prometheus".into());
    let t = Instant::now();
    let (bodies, span) = payloads(series, samples);
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    println!(
        "histogram_compare: {series} series x {samples} native histograms = {} samples in {} requests ({:.1} MB snappy), built in {:.1}s",
        series * samples,
        bodies.len(),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let mut rows = Vec::new();
    for name in peers_env.split(',').map(str::trim) {
        let name: &'static str = match name {
            "almanac" => "almanac",
            "prometheus" => "prometheus",
            other => {
                println!("unknown peer {other}");
                continue;
            }
        };
        let extra: &[&str] = if name == "prometheus" {
            &["--enable-feature=native-histograms"]
        } else {
            &[]
        };
        match bench_peer::start_with(name, extra) {
            Some(peer) => rows.push(run(&peer, &bodies, series, samples, span, runs)),
            None => println!("{name}: not available (not installed, or did not start)"),
        }
    }
    println!(
        "\n{:<12} {:>14} {:>8} {:>9} {:>12} {:>14}",
        "peer", "histograms/s", "cpu s", "RSS MiB", "B/sample", "p99 query ms"
    );
    for r in &rows {
        println!(
            "{:<12} {:>14.0} {:>8.1} {:>9.0} {:>12.2} {:>14.1}",
            r.name,
            r.rate,
            r.cpu_s,
            r.rss_mib,
            r.bytes_per_sample,
            r.query_s * 1e3
        );
    }
    let mut failed = false;
    if let (Some(a), Some(p)) = (
        rows.iter().find(|r| r.name == "almanac"),
        rows.iter().find(|r| r.name == "prometheus"),
    ) {
        println!(
            "almanac / prometheus: append {:.2}x, bytes per sample {:.2}x, quantile query {:.2}x faster",
            a.rate / p.rate,
            a.bytes_per_sample / p.bytes_per_sample,
            p.query_s / a.query_s
        );
        // Windows reaching before the first sample are left out: there 3.x
        // stops a counter's extrapolation where its count reaches zero,
        // 2.42 does not.
        let full = |pts: &[(i64, f64)]| -> Vec<(i64, f64)> {
            pts.iter()
                .copied()
                .filter(|p| p.0 - 300_000 >= span.0)
                .collect()
        };
        let (ac, pc) = (full(&a.count_answer), full(&p.count_answer));
        let close = |x: &(i64, f64), y: &(i64, f64)| {
            x.0 == y.0 && (x.1 - y.1).abs() <= 1e-6 * x.1.abs().max(y.1.abs())
        };
        let agree =
            !ac.is_empty() && ac.len() == pc.len() && ac.iter().zip(&pc).all(|(x, y)| close(x, y));
        println!(
            "histogram_count(sum(rate(…[5m]))): {} steps with full windows, answers {}",
            ac.len(),
            if agree { "agree" } else { "DIFFER" }
        );
        if !agree {
            let differ: Vec<String> = ac
                .iter()
                .zip(&pc)
                .filter(|(x, y)| !close(x, y))
                .take(5)
                .map(|(x, y)| format!("{x:?} vs {y:?}"))
                .collect();
            println!("  first differing steps (almanac vs prometheus): {differ:?}");
        }
        failed |= !agree;
    }
    for r in &rows {
        for p in &r.problems {
            println!("{}: {p}", r.name);
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
