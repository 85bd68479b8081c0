//! The servers `benches/ingest_compare.rs` measures side by side: Almanac,
//! VictoriaMetrics and Prometheus on loopback with temporary data, and what
//! is measured of them afterwards: process CPU and memory, bytes on disk
//! once compacted, and the series and samples they hold.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::request;
use crate::peers::{find_binary, free_port, wait_for};

/// A peer server on a loopback port with a temporary data directory,
/// killed when dropped.
pub struct Peer {
    /// `almanac`, `vm` or `prometheus`.
    pub name: &'static str,
    pub child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Peer {
    /// The peer's temporary data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn almanac_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("almanac");
    p.is_file().then_some(p)
}

/// Starts `name` (`almanac`: the release binary beside the bench, with
/// `ALMANAC_FLAGS`; `vm`, `prometheus`: Debian's packages) and waits until
/// it is ready; `None` when it is not installed or does not start.
pub fn start(name: &'static str) -> Option<Peer> {
    start_with(name, &[])
}

/// [`start`] with extra command-line flags for the peer.
/// Starts `name` (Almanac) with a configuration file holding `config`;
/// the file lives as long as the process.
pub fn start_with_config(name: &'static str, config: &str) -> Option<Peer> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join("almanac.yml");
    std::fs::write(&path, config).ok()?;
    let path = path.display().to_string();
    let peer = start_with(name, &["--config", &path]);
    std::mem::forget(dir);
    peer
}

pub fn start_with(name: &'static str, extra: &[&str]) -> Option<Peer> {
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
            let mut c = Command::new(find_binary("victoria-metrics")?);
            c.args([
                format!("-httpListenAddr={addr}"),
                format!("-storageDataPath={d}/vm"),
                "-retentionPeriod=100y".into(),
                "-search.disableCache".into(),
                // Room for the count check over every sample.
                "-search.maxQueryDuration=10m".into(),
            ]);
            (c, "/health")
        }
        "prometheus" => {
            let cfg = dir.path().join("p.yml");
            std::fs::write(&cfg, "global: {scrape_interval: 15s}\nscrape_configs: []\n").ok()?;
            let mut c = Command::new(find_binary("prometheus")?);
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
    cmd.args(extra);
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

/// A `/proc/PID/status` figure in bytes (`VmHWM:`, `VmRSS:`); 0 if absent.
pub fn proc_status(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// User + system CPU seconds of a process.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// Prints every file under `p` with its size (`BENCH_DISK_DETAIL=1`).
fn print_tree(p: &Path) {
    for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            print_tree(&e.path());
        } else {
            println!("    {:>12} {}", dir_bytes(&e.path()), e.path().display());
        }
    }
}

/// Bytes of the files under `p`, recursively (a file's own size when `p`
/// is one; 0 where unreadable).
pub fn dir_bytes(p: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(p) else {
        return std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                dir_bytes(&e.path())
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

/// Sum of every sample of the metric `name` in a Prometheus text exposition
/// (`None` when there is none).
fn metric_sum(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        if let Some(v) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// Waits until VictoriaMetrics has no pending rows and no merge running
/// (`vm_pending_rows`, `vm_active_merges`, `vm_active_force_merges` all 0)
/// and its parts, rows and merge counts (`vm_parts`, `vm_rows`,
/// `vm_merges_total`) stayed the same over three polls 500 ms apart.
/// Returns how long that took.
fn vm_settle(addr: SocketAddr) -> Result<Duration, String> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(600);
    let (mut last, mut same) = (None, 0);
    loop {
        let text = request(addr, "GET", "/metrics", &[], b"")
            .map_err(|e| format!("GET /metrics: {e}"))?
            .text();
        let sum = |name| metric_sum(&text, name);
        let busy = [
            "vm_pending_rows",
            "vm_active_merges",
            "vm_active_force_merges",
        ]
        .map(|n| sum(n).ok_or(format!("{n} is not in VictoriaMetrics' /metrics")));
        let shape = ["vm_parts", "vm_rows", "vm_merges_total"].map(sum);
        let idle = busy
            .iter()
            .try_fold(true, |idle, b| Ok::<_, String>(idle && *b.as_ref()? == 0.0))?;
        same = if idle && last == Some(shape) {
            same + 1
        } else {
            0
        };
        if same >= 3 {
            return Ok(started.elapsed());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "still merging after {:?}: {busy:?}",
                started.elapsed()
            ));
        }
        last = Some(shape);
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Bytes on disk of the compacted data.
pub fn disk_bytes(peer: &Peer) -> Result<u64, String> {
    let d = peer.dir.path();
    match peer.name {
        "almanac" | "prometheus" => {
            let path = if peer.name == "almanac" {
                "/api/v1/admin/tsdb/snapshot"
            } else {
                "/api/v1/admin/tsdb/snapshot?skip_head=false"
            };
            let r =
                request(peer.addr, "POST", path, &[], b"").map_err(|e| format!("snapshot: {e}"))?;
            let name = serde_json::from_slice::<serde_json::Value>(&r.body)
                .ok()
                .and_then(|v| v["data"]["name"].as_str().map(str::to_string))
                .ok_or_else(|| format!("snapshot: {} {}", r.status, r.text()))?;
            let snap = if peer.name == "almanac" {
                d.join("snapshots").join(&name)
            } else {
                d.join("prom/snapshots").join(&name)
            };
            if std::env::var_os("BENCH_DISK_DETAIL").is_some() {
                print_tree(&snap);
            }
            Ok(dir_bytes(&snap))
        }
        "vm" => {
            for path in ["/internal/force_flush", "/internal/force_merge"] {
                let r = request(peer.addr, "GET", path, &[], b"")
                    .map_err(|e| format!("{path}: {e}"))?;
                if r.status != 200 {
                    return Err(format!("{path}: {} {}", r.status, r.text()));
                }
            }
            let waited = vm_settle(peer.addr)?;
            println!(
                "  vm: merges settled {:.1}s after force_merge",
                waited.as_secs_f64()
            );
            Ok(dir_bytes(&d.join("vm/data")) + dir_bytes(&d.join("vm/indexdb")))
        }
        _ => Ok(0),
    }
}

/// The value of a one-element instant-query answer (0 for an empty one).
fn instant_value(peer: &Peer, query: &str, time_ms: i64) -> Result<u64, String> {
    let body = crate::harness::form(&[
        ("query", query),
        ("time", &format!("{}.{:03}", time_ms / 1000, time_ms % 1000)),
        // VictoriaMetrics moves a `time` within 30 s of now back to now - 30 s
        // unless told not to.
        ("nocache", "1"),
    ]);
    let r = request(
        peer.addr,
        "POST",
        "/api/v1/query",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .map_err(|e| format!("{query}: {e}"))?;
    let v: serde_json::Value = serde_json::from_slice(&r.body)
        .map_err(|e| format!("{query}: {} {e}: {}", r.status, r.text()))?;
    let result = &v["data"]["result"];
    if r.status != 200 || !result.is_array() {
        return Err(format!("{query}: {} {}", r.status, r.text()));
    }
    match result.as_array().map(Vec::as_slice) {
        Some([]) => Ok(0),
        Some([one]) => one["value"][1]
            .as_str()
            .and_then(|x| x.parse::<f64>().ok())
            .map(|x| x as u64)
            .ok_or_else(|| format!("{query}: {one}")),
        _ => Err(format!("{query}: more than one series: {}", r.text())),
    }
}

/// Series and samples the peer holds over `span`, asked by PromQL at its
/// end: every series has a sample in the last scrape interval, and the
/// window reaches a minute before the first sample. Samples are counted one
/// metric name at a time: Prometheus 2.42 refuses
/// `count_over_time({__name__=~".+"}[…])` (it drops the names, and the
/// series of different metrics then collide).
pub fn stored(peer: &Peer, span: (i64, i64)) -> Result<(u64, u64), String> {
    if peer.name == "vm" {
        // Rows still buffered in memory are not searchable yet.
        request(peer.addr, "GET", "/internal/force_flush", &[], b"")
            .map_err(|e| format!("force_flush: {e}"))?;
    }
    let window_s = (span.1 - span.0) / 1000 + 60;
    let series = instant_value(peer, r#"count({__name__=~".+"})"#, span.1)?;
    let r = request(peer.addr, "GET", "/api/v1/label/__name__/values", &[], b"")
        .map_err(|e| format!("metric names: {e}"))?;
    let names: Vec<String> = serde_json::from_slice::<serde_json::Value>(&r.body)
        .ok()
        .and_then(|v| serde_json::from_value(v["data"].clone()).ok())
        .ok_or_else(|| format!("metric names: {} {}", r.status, r.text()))?;
    let mut samples = 0;
    for name in &names {
        samples += instant_value(
            peer,
            &format!(r#"sum(count_over_time({{__name__="{name}"}}[{window_s}s]))"#),
            span.1,
        )?;
    }
    Ok((series, samples))
}

#[cfg(test)]
mod tests {
    use super::metric_sum;

    #[test]
    fn metric_sum_adds_every_label_set_of_exactly_that_name() {
        let text = "# HELP vm_rows rows\n\
                    vm_rows{type=\"indexdb\"} 10\n\
                    vm_rows{type=\"storage/small\"} 5\n\
                    vm_rows_merged_total{type=\"indexdb\"} 99\n\
                    vm_active_force_merges 0\n";
        let cases: &[(&str, Option<f64>)] = &[
            ("vm_rows", Some(15.0)),
            ("vm_rows_merged_total", Some(99.0)),
            ("vm_active_force_merges", Some(0.0)),
            ("vm_pending_rows", None),
        ];
        for (name, want) in cases {
            assert_eq!(metric_sum(text, name), *want, "{name}");
        }
    }
}
