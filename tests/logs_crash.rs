//! Crash safety of the log store: a server in a child process takes Loki
//! pushes while another client keeps asking it to flush everything into
//! blocks (`/api/v1/admin/tsdb/compact`), and is killed with SIGKILL
//! mid-stream, its WAL tail then torn by hand; after a restart every
//! acknowledged line is there exactly once (blocks and the WAL replay
//! agree), and a second round on the same directory keeps the first
//! round's lines.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use almanac::harness::{CrashChild, TestServer, request, tear_wal, urlencode};
use serde_json::json;

const ENV: &str = "ALMANAC_LOG_CRASH_DIR";
const LINES_PER_PUSH: u64 = 5;

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

#[test]
fn log_crash_child() {
    CrashChild::serve_if_asked(ENV, |_| {});
}

/// Pushes from `first` until `stop`; returns the acknowledged push numbers.
fn send(
    addr: std::net::SocketAddr,
    first: u64,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<u64>>>,
) {
    for i in first.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let t = now_ns();
        let values: Vec<_> = (0..LINES_PER_PUSH)
            .map(|k| json!([(t + k as i64).to_string(), format!("push {i} line {k}")]))
            .collect();
        let body = json!({"streams": [{"stream": {"app": "crash", "shard": (i % 3).to_string()}, "values": values}]});
        match request(
            addr,
            "POST",
            "/loki/api/v1/push",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        ) {
            Ok(r) if r.status == 204 => acked.lock().unwrap().push(i),
            _ => return,
        }
    }
}

/// Flushes every line into blocks, over and over, until `stop`; returns
/// how many flushes answered.
fn flush(addr: std::net::SocketAddr, stop: Arc<AtomicBool>) -> usize {
    let mut done = 0;
    while !stop.load(Ordering::Relaxed) {
        match request(addr, "POST", "/api/v1/admin/tsdb/compact", &[], b"") {
            Ok(r) if r.status == 200 => done += 1,
            _ => return done,
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    done
}

/// Every line stored, with how many times.
fn stored(s: &TestServer) -> Vec<String> {
    let path = format!(
        "/loki/api/v1/query_range?query={}&start={}&limit=1000000&direction=forward",
        urlencode(r#"{app="crash"}"#),
        now_ns() - 3_600_000_000_000
    );
    let v = s.get(&path).json();
    v["data"]["result"]
        .as_array()
        .expect("streams")
        .iter()
        .flat_map(|s| s["values"].as_array().expect("values").clone())
        .map(|v| v[1].as_str().expect("line").to_string())
        .collect()
}

#[test]
fn acknowledged_lines_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut all_acked: Vec<u64> = Vec::new();
    for round in 0..2u64 {
        let child = CrashChild::spawn("log_crash_child", ENV, dir.path());
        let addr = child.addr;
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let sender = {
            let (stop, acked) = (stop.clone(), acked.clone());
            std::thread::spawn(move || send(addr, round * 1_000_000, stop, acked))
        };
        let flusher = {
            let stop = stop.clone();
            std::thread::spawn(move || flush(addr, stop))
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while acked.lock().unwrap().len() < 1000 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill();
        stop.store(true, Ordering::Relaxed);
        sender.join().unwrap();
        let flushes = flusher.join().unwrap();
        assert!(flushes > 0, "round {round}: no flush answered");
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        assert!(
            acked.len() >= 50,
            "round {round}: only {} acknowledged",
            acked.len()
        );
        all_acked.extend(acked);
        tear_wal(dir.path());

        let s = TestServer::start_in(dir.path(), |_| {});
        let blocks = dir.path().join("logs/blocks");
        assert!(
            std::fs::read_dir(&blocks).map_or(0, |d| d.count()) > 0,
            "round {round}: lines reached blocks before the kill"
        );
        let lines = stored(&s);
        let unique: BTreeSet<&String> = lines.iter().collect();
        assert_eq!(
            unique.len(),
            lines.len(),
            "round {round}: a line stored twice"
        );
        for &i in &all_acked {
            for k in 0..LINES_PER_PUSH {
                let line = format!("push {i} line {k}");
                assert!(
                    unique.contains(&line),
                    "round {round}: acknowledged {line:?} lost"
                );
            }
        }
    }
}
