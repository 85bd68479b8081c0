//! `/loki/api/v1/tail` through the real server: Node's own WebSocket
//! client tails a query while lines are pushed; a raw socket checks the
//! handshake, ping/pong and the close on server stop; bad requests get a
//! 400 with the reason.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use almanac::harness::{TestServer, request, urlencode};
use serde_json::{Value, json};

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn push(s: &TestServer, app: &str, lines: &[(i64, &str)]) {
    let values: Vec<Value> = lines
        .iter()
        .map(|(t, l)| json!([t.to_string(), l]))
        .collect();
    let body = json!({"streams": [{"stream": {"app": app}, "values": values}]});
    let r = s.post(
        "/loki/api/v1/push",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 204, "{}", r.text());
}

/// `(line, labels)` of every entry of the tail messages, in order.
fn entries(messages: &[Value]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for m in messages {
        let mut batch: Vec<(i64, String, Value)> = Vec::new();
        for s in m["streams"].as_array().unwrap() {
            for v in s["values"].as_array().unwrap() {
                let ts: i64 = v[0].as_str().unwrap().parse().unwrap();
                batch.push((ts, v[1].as_str().unwrap().into(), s["stream"].clone()));
            }
        }
        batch.sort_by_key(|(ts, _, _)| *ts);
        out.extend(batch.into_iter().map(|(_, l, s)| (l, s)));
    }
    out
}

#[test]
fn node_websocket_client_tails_history_then_live_lines() {
    let s = TestServer::start();
    let t = now_ns() - 60_000_000_000;
    push(
        &s,
        "web",
        &[
            (t, "GET /a 200"),
            (t + 1, "GET /b 500"),
            (t + 2, "GET /c 200"),
        ],
    );
    let q = urlencode(r#"{app="web"} != "/b" | pattern "<method> <path> <status>""#);
    let url = format!("ws://{}/loki/api/v1/tail?query={q}&limit=10", s.addr);
    let mut node = Command::new("node")
        .arg("--experimental-websocket")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/logs/tail.js"))
        .arg(&url)
        .arg("5")
        .arg("30")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (scripts/test.sh installs it)");
    let mut out = BufReader::new(node.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first.trim(), "history 2", "the filter left out /b");
    // Live: one line the filter drops, one for another app, three kept
    // (one older than the history's: live lines go out as they come).
    let now = now_ns();
    push(&s, "web", &[(now, "POST /d 201"), (now + 1, "GET /b 404")]);
    push(&s, "other", &[(now, "GET /x 200")]);
    push(
        &s,
        "web",
        &[(now + 2, "GET /e 200"), (t - 5, "GET /late 200")],
    );
    let mut last = String::new();
    out.read_to_string(&mut last).unwrap();
    let status = node.wait().unwrap();
    assert!(status.success());
    let v: Value = serde_json::from_str(last.trim()).unwrap();
    assert_eq!(v["why"], "done", "{v}");
    assert_eq!(v["code"], 1000, "the server answered the close: {v}");
    let got = entries(v["messages"].as_array().unwrap());
    let lines: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
    // A commit's lines go out together, in time order.
    assert_eq!(
        lines,
        [
            "GET /a 200",
            "GET /c 200",
            "POST /d 201",
            "GET /late 200",
            "GET /e 200"
        ]
    );
    assert_eq!(
        got[2].1,
        json!({"app": "web", "method": "POST", "path": "/d", "status": "201"}),
        "parsed labels join the stream's, as Loki's tail gives them"
    );
}

/// A raw WebSocket client, enough to check the protocol.
struct Raw(TcpStream);

impl Raw {
    /// Sends the handshake for `path` with RFC 6455's example key; returns
    /// the response head.
    fn open(addr: std::net::SocketAddr, path: &str) -> (Raw, String) {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        (Raw(s), String::from_utf8(head).unwrap())
    }

    /// The next server frame: opcode and payload (servers do not mask).
    fn frame(&mut self) -> (u8, Vec<u8>) {
        let mut h = [0u8; 2];
        self.0.read_exact(&mut h).unwrap();
        assert_eq!(h[0] & 0x80, 0x80, "whole frames");
        assert_eq!(h[1] & 0x80, 0, "server frames are not masked");
        let len = match h[1] & 0x7F {
            126 => {
                let mut l = [0u8; 2];
                self.0.read_exact(&mut l).unwrap();
                u16::from_be_bytes(l) as usize
            }
            127 => {
                let mut l = [0u8; 8];
                self.0.read_exact(&mut l).unwrap();
                u64::from_be_bytes(l) as usize
            }
            n => n as usize,
        };
        let mut p = vec![0u8; len];
        self.0.read_exact(&mut p).unwrap();
        (h[0] & 0x0F, p)
    }

    /// Sends a masked frame.
    fn send(&mut self, opcode: u8, payload: &[u8]) {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let mut f = vec![0x80 | opcode, 0x80 | payload.len() as u8];
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.0.write_all(&f).unwrap();
    }
}

#[test]
fn raw_handshake_ping_and_close_on_stop() {
    let mut s = TestServer::start();
    let t = now_ns();
    push(&s, "raw", &[(t, "hello")]);
    let q = urlencode(r#"{app="raw"}"#);
    let (mut ws, head) = Raw::open(s.addr, &format!("/loki/api/v1/tail?query={q}"));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "RFC 6455's example answer: {head}"
    );
    let (op, history) = ws.frame();
    assert_eq!(op, 0x1, "text");
    let history: Value = serde_json::from_slice(&history).unwrap();
    assert_eq!(
        history,
        json!({"streams": [{"stream": {"app": "raw"}, "values": [[t.to_string(), "hello"]]}]})
    );
    ws.send(0x9, b"are you there");
    assert_eq!(ws.frame(), (0xA, b"are you there".to_vec()), "pong echoes");
    let metrics = s.get("/metrics").text();
    assert!(metrics.contains("almanac_log_tail_sessions 1"), "{metrics}");
    s.stop();
    let (op, payload) = ws.frame();
    assert_eq!(op, 0x8, "close");
    assert_eq!(&payload[..2], &1001u16.to_be_bytes(), "going away");
}

#[test]
fn bad_tail_requests_get_a_reason() {
    let s = TestServer::start();
    let sel = urlencode(r#"{app="x"}"#);
    let upgrade = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];
    let metric = urlencode(r#"count_over_time({app="x"}[1m])"#);
    // (name, query string, headers, what the reason says)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        ("no upgrade", format!("query={sel}"), vec![], "WebSocket"),
        ("no query", String::new(), upgrade.to_vec(), "query"),
        (
            "metric query",
            format!("query={metric}"),
            upgrade.to_vec(),
            "log query",
        ),
        (
            "bad query",
            "query=%7Bapp%3D".into(),
            upgrade.to_vec(),
            "parse",
        ),
        (
            "delay over 5s",
            format!("query={sel}&delay_for=9"),
            upgrade.to_vec(),
            "delay_for",
        ),
        (
            "old version",
            format!("query={sel}"),
            vec![
                upgrade[0],
                upgrade[1],
                upgrade[2],
                ("Sec-WebSocket-Version", "8"),
            ],
            "version",
        ),
        (
            "bad key",
            format!("query={sel}"),
            vec![
                upgrade[0],
                upgrade[1],
                ("Sec-WebSocket-Key", "x"),
                upgrade[3],
            ],
            "Sec-WebSocket-Key",
        ),
    ];
    for (name, query, headers, want) in cases {
        let r = request(
            s.addr,
            "GET",
            &format!("/loki/api/v1/tail?{query}"),
            &headers,
            b"",
        )
        .unwrap();
        assert_eq!(r.status, 400, "{name}: {}", r.text());
        assert!(r.text().contains(want), "{name}: {}", r.text());
    }
}

#[test]
fn at_most_ten_sessions_at_once() {
    let s = TestServer::start();
    let q = urlencode(r#"{app="x"}"#);
    let path = format!("/loki/api/v1/tail?query={q}");
    let mut open: Vec<Raw> = (0..10)
        .map(|i| {
            let (mut ws, head) = Raw::open(s.addr, &path);
            assert!(head.starts_with("HTTP/1.1 101"), "session {i}: {head}");
            assert_eq!(ws.frame().0, 0x1, "session {i} gets its history");
            ws
        })
        .collect();
    let (_, head) = Raw::open(s.addr, &path);
    assert!(head.starts_with("HTTP/1.1 400"), "the eleventh: {head}");
    // One closes; its slot is free again once the server has seen it go.
    let mut gone = open.pop().unwrap();
    gone.send(0x8, &1000u16.to_be_bytes());
    assert_eq!(gone.frame().0, 0x8, "close answered");
    drop(gone);
    let mut head = String::new();
    for _ in 0..50 {
        head = Raw::open(s.addr, &path).1;
        if head.starts_with("HTTP/1.1 101") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
}
