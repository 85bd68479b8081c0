//! The `almanac` binary, its configuration file and its signals: flags win
//! over the file, SIGHUP and `POST /-/reload` reload the file, SIGTERM and
//! SIGINT stop it cleanly (exit 0, the WAL synced, the data there after a
//! restart); while it replays its WAL it is healthy but answers 503.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use prost::Message;
use server::prompb;

fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr")
}

/// One HTTP/1.1 request; `(status, body)`.
fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Almanac {
    child: Child,
    addr: SocketAddr,
}

impl Almanac {
    fn start(data: &Path, config: &Path) -> Almanac {
        let a = Almanac::spawn(data, config);
        wait_until("/-/ready", || {
            http(a.addr, "GET", "/-/ready", b"").is_ok_and(|(s, _)| s == 200)
        });
        a
    }

    /// Starts the process without waiting for it to listen.
    fn spawn(data: &Path, config: &Path) -> Almanac {
        let addr = free_addr();
        let child = Command::new(env!("CARGO_BIN_EXE_almanac"))
            .args(["--config".as_ref(), config.as_os_str()])
            .args(["--listen", &addr.to_string()])
            .args(["--data-dir".as_ref(), data.as_os_str()])
            .args(["--log-level", "warn"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start almanac");
        Almanac { child, addr }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{name}");
    }

    fn wait(mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(Instant::now() < deadline, "almanac did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn flag(&self, name: &str) -> String {
        let (_, body) = http(self.addr, "GET", "/api/v1/status/flags", b"").expect("flags");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v["data"][name].as_str().unwrap_or_default().to_string()
    }

    fn query(&self, q: &str) -> String {
        let path = format!("/api/v1/query?query={q}&time=1000");
        http(self.addr, "GET", &path, b"").expect("query").1
    }
}

impl Drop for Almanac {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_sample(addr: SocketAddr) {
    let req = prompb::WriteRequest {
        timeseries: vec![prompb::TimeSeries {
            labels: vec![
                prompb::Label {
                    name: "__name__".into(),
                    value: "signal_test".into(),
                },
                prompb::Label {
                    name: "job".into(),
                    value: "a".into(),
                },
            ],
            samples: vec![prompb::Sample {
                value: 7.0,
                timestamp: 999_000,
            }],
            ..Default::default()
        }],
        metadata: vec![],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .expect("snappy");
    let (status, text) = http(addr, "POST", "/api/v1/write", &body).expect("write");
    assert_eq!(status, 204, "{text}");
}

#[test]
fn sighup_reloads_and_sigterm_and_sigint_stop_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("almanac.yml");
    std::fs::write(&config, "query_timeout: 2m\n").expect("config");

    let a = Almanac::start(&data, &config);
    assert_eq!(a.flag("query_timeout"), "2m");
    write_sample(a.addr);
    std::fs::write(&config, "query_timeout: 45s\n").expect("config");
    a.signal("HUP");
    wait_until("the reloaded query_timeout", || {
        a.flag("query_timeout") == "45s"
    });
    a.signal("TERM");
    assert!(a.wait().success(), "SIGTERM exits 0");

    let b = Almanac::start(&data, &config);
    assert!(
        b.query("signal_test").contains(r#""value":[1000,"7"]"#),
        "the sample survived: {}",
        b.query("signal_test")
    );
    b.signal("INT");
    assert!(b.wait().success(), "SIGINT exits 0");
}

/// One remote-write request: `series` series `replay_test{i}` with one
/// sample each at `t`.
fn wide_request(series: usize, t: i64) -> Vec<u8> {
    let req = prompb::WriteRequest {
        timeseries: (0..series)
            .map(|i| prompb::TimeSeries {
                labels: vec![
                    prompb::Label {
                        name: "__name__".into(),
                        value: "replay_test".into(),
                    },
                    prompb::Label {
                        name: "i".into(),
                        value: i.to_string(),
                    },
                ],
                samples: vec![prompb::Sample {
                    value: t as f64,
                    timestamp: t,
                }],
                ..Default::default()
            })
            .collect(),
        metadata: vec![],
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .expect("snappy")
}

#[test]
fn healthy_and_503_unavailable_while_the_wal_replays_then_ready() {
    const SERIES: usize = 10_000;
    const SCRAPES: i64 = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("almanac.yml");
    std::fs::write(&config, "").expect("config");

    // A WAL of 2M samples, which takes a while to replay.
    let mut a = Almanac::start(&data, &config);
    for k in 0..SCRAPES {
        let body = wide_request(SERIES, 1_000_000 + k * 15_000);
        let (status, text) = http(a.addr, "POST", "/api/v1/write", &body).expect("write");
        assert_eq!(status, 204, "{text}");
    }
    // SIGKILL: nothing is compacted or checkpointed, the WAL holds it all.
    a.child.kill().expect("kill");
    a.child.wait().expect("wait");

    let b = Almanac::spawn(&data, &config);
    let last = 1_000 + (SCRAPES - 1) * 15; // seconds
    let query = format!("/api/v1/query?query=count(replay_test)&time={last}");
    let mut unavailable = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    let answer = loop {
        assert!(Instant::now() < deadline, "never ready");
        // Asked before the query: if the query is refused, the server was
        // replaying when this was answered too.
        let healthy = http(b.addr, "GET", "/-/healthy", b"");
        match http(b.addr, "GET", &query, b"") {
            Err(_) => std::thread::sleep(Duration::from_millis(2)), // not listening yet
            // The listener came up between the two requests: ask again.
            Ok((503, _)) if healthy.is_err() => {}
            Ok((503, body)) => {
                assert!(body.contains(r#""errorType":"unavailable""#), "{body}");
                let (status, body) = healthy.expect("healthy answers while replaying");
                assert_eq!(status, 200, "/-/healthy while replaying: {body}");
                let (status, _) = http(b.addr, "GET", "/-/ready", b"").expect("ready");
                // 503 unless the replay ended in between.
                assert!(status == 503 || status == 200, "/-/ready: {status}");
                unavailable += 1;
            }
            Ok((200, body)) => break body,
            Ok((status, body)) => panic!("{status} {body}"),
        }
    };
    println!("{unavailable} queries answered 503 during the replay");
    assert!(
        unavailable > 0,
        "no request arrived during the replay; make the WAL larger"
    );
    assert!(
        answer.contains(&format!(r#""value":[{last},"{SERIES}"]"#)),
        "every series replayed: {answer}"
    );
    let (status, _) = http(b.addr, "GET", "/-/ready", b"").expect("ready");
    assert_eq!(status, 200);
}
