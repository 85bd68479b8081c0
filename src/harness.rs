//! End-to-end test harness: a real server on a free loopback port, a small
//! blocking HTTP client, and a remote-write encoder.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use prost::Message;
use server::prompb;
use server::{Config, Server};
use tsdb::model::{Labels, Sample};

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends one HTTP/1.1 request (`Connection: close`) and reads the answer.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::other(format!(
            "bad HTTP response: {:?}",
            String::from_utf8_lossy(&raw)
        ))
    })
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..nl]).ok()?.trim(), 16).ok()?;
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        body = out;
    }
    Some(Response {
        status,
        headers,
        body,
    })
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `k1=v1&k2=v2`, values encoded.
pub fn form(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A snappy-compressed remote-write 1.0 request.
pub fn write_request(series: &[(Labels, Vec<Sample>)]) -> Vec<u8> {
    snappy(&write_request_proto(series).encode_to_vec())
}

/// The remote-write 1.0 request for `series`, before encoding.
pub fn write_request_proto(series: &[(Labels, Vec<Sample>)]) -> prompb::WriteRequest {
    prompb::WriteRequest {
        timeseries: series
            .iter()
            .map(|(labels, samples)| prompb::TimeSeries {
                labels: labels
                    .iter()
                    .map(|l| prompb::Label {
                        name: l.name.to_string(),
                        value: l.value.to_string(),
                    })
                    .collect(),
                samples: samples
                    .iter()
                    .map(|s| prompb::Sample {
                        value: s.v,
                        timestamp: s.t,
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        metadata: vec![],
    }
}

/// Sends a remote-write 1.0 request to any receiver (Almanac, or a
/// Prometheus started with `--web.enable-remote-write-receiver`).
pub fn remote_write_to(
    addr: SocketAddr,
    series: &[(Labels, Vec<Sample>)],
) -> std::io::Result<Response> {
    request(
        addr,
        "POST",
        "/api/v1/write",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        &write_request(series),
    )
}

pub fn snappy(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(raw)
        .unwrap_or_default()
}

/// A server running in its own runtime thread, on a fresh or given data
/// directory.
pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    rt: Option<tokio::runtime::Runtime>,
    handle: Option<server::Handle>,
}

impl TestServer {
    /// Starts on a new temporary data directory.
    pub fn start() -> TestServer {
        Self::start_with(|_| {})
    }

    /// Starts with `tweak` applied to the default test config.
    pub fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = Self::start_in(tmp.path(), tweak);
        s._tmp = Some(tmp);
        s
    }

    /// Starts on `dir` (kept after the server stops).
    pub fn start_in(dir: &Path, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.to_path_buf(),
            ..Config::default()
        };
        tweak(&mut config);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let handle = rt.block_on(Server::start(config)).expect("server start");
        TestServer {
            addr: handle.addr,
            data_dir: dir.to_path_buf(),
            _tmp: None,
            rt: Some(rt),
            handle: Some(handle),
        }
    }

    pub fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], b"").expect("GET")
    }

    pub fn post_form(&self, path: &str, params: &[(&str, &str)]) -> Response {
        let body = form(params);
        request(
            self.addr,
            "POST",
            path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
        .expect("POST")
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        request(self.addr, "POST", path, headers, body).expect("POST")
    }

    /// Sends a remote-write request and returns the response.
    pub fn remote_write(&self, series: &[(Labels, Vec<Sample>)]) -> Response {
        remote_write_to(self.addr, series).expect("POST")
    }

    /// Sends a remote-write 2.0 request and returns the response.
    pub fn remote_write_v2(&self, req: &prompb::v2::Request) -> Response {
        self.post(
            "/api/v1/write",
            &[(
                "Content-Type",
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            )],
            &snappy(&req.encode_to_vec()),
        )
    }

    /// The running server's shared state (to set a reloader, read rules).
    pub fn state(&self) -> Option<std::sync::Arc<server::state::State>> {
        self.handle.as_ref().map(|h| h.state.clone())
    }

    /// Stops the server gracefully (WAL synced).
    pub fn stop(&mut self) {
        if let (Some(rt), Some(h)) = (self.rt.as_ref(), self.handle.take()) {
            let _ = rt.block_on(h.shutdown());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A server in a child process, for crash tests: the test binary runs
/// itself again with only `test` (which starts a server on `dir` when the
/// environment variable `env` names it, prints `addr <address>` and
/// waits), so the test can kill it with SIGKILL.
pub struct CrashChild {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl CrashChild {
    pub fn spawn(test: &str, env: &str, dir: &Path) -> CrashChild {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(env, dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("child test process");
        let stdout = child.stdout.take().expect("child stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines.next().expect("child output").expect("child line");
            if let Some((_, a)) = line.rsplit_once("addr ") {
                break a.trim().parse().expect("child address");
            }
        };
        CrashChild { child, addr }
    }

    /// SIGKILL, then reaped.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The child's side: when `env` names a directory, serves on it with
    /// `tweak`, prints the address and never returns.
    pub fn serve_if_asked(env: &str, tweak: impl FnOnce(&mut Config)) {
        use std::io::Write;
        let Ok(dir) = std::env::var(env) else {
            return;
        };
        let s = TestServer::start_in(Path::new(&dir), tweak);
        let mut out = std::io::stdout().lock();
        writeln!(out, "addr {}", s.addr).expect("stdout");
        out.flush().expect("flush");
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
}

/// Tears the newest WAL segment's tail under `dir`: a partial record, as
/// a crash in the middle of a write leaves it.
pub fn tear_wal(dir: &Path) {
    use std::io::Write;
    let newest = std::fs::read_dir(dir.join("wal"))
        .expect("wal dir")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .max_by_key(|e| e.file_name())
        .expect("a WAL segment");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(newest.path())
        .expect("open segment");
    f.write_all(&[0x01, 0x00, 0x40, 0x00, 0xde, 0xad])
        .expect("tear");
}
