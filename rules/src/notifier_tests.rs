//! The notifier against a fake Alertmanager on loopback.

use super::*;
use std::sync::atomic::AtomicUsize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn alert(name: &str) -> AmAlert {
    AmAlert {
        labels: vec![("alertname".into(), name.into())],
        annotations: vec![("summary".into(), "s".into())],
        starts_at: "2026-01-01T00:00:00.000Z".into(),
        ends_at: "2026-01-01T00:04:00.000Z".into(),
        generator_url: "http://a/graph".into(),
    }
}

/// A fake Alertmanager: answers 500 to the first `fail` requests, then
/// 200; keeps (authorization header, body) of each request.
struct FakeAm {
    url: String,
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

async fn fake_am(fail: usize) -> FakeAm {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let count = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let seen = seen.clone();
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                loop {
                    let n = s.read(&mut tmp).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let head = text[..end].to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    let auth = head
                        .lines()
                        .find_map(|l| l.strip_prefix("authorization:"))
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default();
                    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    let status = if n < fail {
                        "500 Internal Server Error"
                    } else {
                        "200 OK"
                    };
                    if n >= fail {
                        seen.lock().push((auth, body));
                    }
                    let resp = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
                    let _ = s.write_all(resp.as_bytes()).await;
                    buf.clear();
                }
            });
        }
    });
    FakeAm { url, requests }
}

async fn wait_for(f: impl Fn() -> bool) -> bool {
    for _ in 0..100 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn delivers_batches_with_auth_and_retries_failures() {
    let am = fake_am(2).await;
    let cfg = AlertmanagerConfig {
        url: am.url.clone(),
        bearer_token: Some("tok".into()),
        ..AlertmanagerConfig::default()
    };
    let n = Notifier::start(&[cfg], 100);
    n.send(&[alert("A"), alert("B")]);
    let reqs = am.requests.clone();
    assert!(
        wait_for(|| !reqs.lock().is_empty()).await,
        "not delivered after retries"
    );
    let (auth, body) = reqs.lock()[0].clone();
    assert_eq!(auth, "bearer tok");
    let v: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["A", "B"]);
    assert_eq!(v[0]["generatorURL"], "http://a/graph");
    assert_eq!(v[0]["endsAt"], "2026-01-01T00:04:00.000Z");
    let t = &n.targets[0];
    assert_eq!(t.stats.errors.load(Ordering::Relaxed), 2);
    assert_eq!(t.stats.sent.load(Ordering::Relaxed), 2);
    let mut m = String::new();
    n.render_metrics(&mut m);
    assert!(
        m.contains(&format!(
            "almanac_notifications_sent_total{{alertmanager=\"{}\"}} 2",
            am.url
        )),
        "{m}"
    );
}

#[tokio::test]
async fn full_queue_drops_oldest() {
    // Nothing listens on this port: everything stays queued.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = AlertmanagerConfig {
        url: format!("http://127.0.0.1:{port}"),
        ..AlertmanagerConfig::default()
    };
    let n = Notifier::start(&[cfg], 3);
    let many: Vec<AmAlert> = (0..5).map(|i| alert(&format!("A{i}"))).collect();
    n.send(&many);
    let t = &n.targets[0];
    assert_eq!(t.stats.dropped.load(Ordering::Relaxed), 2);
    let q = t.queue.lock();
    assert!(q.len() <= 3);
    assert_eq!(
        q.back().map(|a| a.labels[0].1.as_str()),
        Some("A4"),
        "newest kept"
    );
}

#[test]
fn batches_merge_same_labels_and_are_bounded() {
    let mut q: VecDeque<AmAlert> = (0..100).map(|i| alert(&format!("A{i}"))).collect();
    let mut newer = alert("A0");
    newer.ends_at = "later".into();
    q.insert(1, newer);
    let mut batch = Vec::new();
    fill(&mut batch, &mut q);
    assert_eq!(batch.len(), MAX_BATCH);
    assert_eq!(
        batch[0].ends_at, "later",
        "a newer alert replaces the queued one"
    );
    assert_eq!(q.len(), 100 - MAX_BATCH);
}

#[test]
fn base64_table() {
    let cases = [
        ("empty", "", ""),
        ("one", "f", "Zg=="),
        ("two", "fo", "Zm8="),
        ("three", "foo", "Zm9v"),
        ("user", "user:pass", "dXNlcjpwYXNz"),
    ];
    for (name, input, want) in cases {
        assert_eq!(base64(input.as_bytes()), want, "{name}");
    }
}
