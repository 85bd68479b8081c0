//! The Alertmanager client (API v2, `POST <base>/api/v2/alerts`). Each
//! Alertmanager has its own bounded queue and sender task, so a dead one
//! delays no other: alerts are sent in batches, a failed batch is retried
//! with exponential backoff for up to a minute (new alerts for the same
//! label set replace queued ones), and alerts that do not fit the queue
//! are dropped and counted.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::config::AlertmanagerConfig;
use crate::error::NotifyError;

/// Most alerts in one request.
pub const MAX_BATCH: usize = 64;
/// How long a failed batch is retried.
const RETRY_FOR: Duration = Duration::from_secs(60);
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// An alert as Alertmanager's API takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct AmAlert {
    /// Sorted label pairs (external labels already merged in).
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    /// RFC 3339 times.
    pub starts_at: String,
    pub ends_at: String,
    pub generator_url: String,
}

impl AmAlert {
    pub fn to_json(&self) -> Value {
        let map = |v: &[(String, String)]| -> serde_json::Map<String, Value> {
            v.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect()
        };
        json!({
            "labels": map(&self.labels),
            "annotations": map(&self.annotations),
            "startsAt": self.starts_at,
            "endsAt": self.ends_at,
            "generatorURL": self.generator_url,
        })
    }
}

/// Counters of one Alertmanager.
#[derive(Debug, Default)]
pub struct AmStats {
    pub sent: AtomicU64,
    pub errors: AtomicU64,
    pub dropped: AtomicU64,
}

struct Target {
    cfg: AlertmanagerConfig,
    queue: Mutex<VecDeque<AmAlert>>,
    wake: Notify,
    stats: AmStats,
}

/// Sends alerts to every configured Alertmanager.
pub struct Notifier {
    targets: Vec<Arc<Target>>,
    capacity: usize,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Notifier {
    /// Starts one sender task per Alertmanager on the current runtime.
    pub fn start(ams: &[AlertmanagerConfig], capacity: usize) -> Notifier {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let targets: Vec<Arc<Target>> = ams
            .iter()
            .map(|cfg| {
                Arc::new(Target {
                    cfg: cfg.clone(),
                    queue: Mutex::new(VecDeque::new()),
                    wake: Notify::new(),
                    stats: AmStats::default(),
                })
            })
            .collect();
        for t in &targets {
            tokio::spawn(run(t.clone(), client.clone(), stop_rx.clone()));
        }
        Notifier {
            targets,
            capacity: capacity.max(1),
            stop,
        }
    }

    /// Queues alerts for every Alertmanager; when a queue is full the
    /// oldest alerts are dropped.
    pub fn send(&self, alerts: &[AmAlert]) {
        for t in &self.targets {
            let mut q = t.queue.lock();
            for a in alerts {
                q.push_back(a.clone());
            }
            let over = q.len().saturating_sub(self.capacity);
            if over > 0 {
                q.drain(..over);
                t.stats.dropped.fetch_add(over as u64, Ordering::Relaxed);
            }
            drop(q);
            t.wake.notify_one();
        }
    }

    /// Stops the sender tasks (queued alerts are not sent).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Renders the notifier's metrics.
    pub fn render_metrics(&self, out: &mut String) {
        use promql::syntax::exposition::{escape, header};
        use std::fmt::Write;
        let rows =
            |out: &mut String, name: &str, help: &str, kind: &str, f: &dyn Fn(&Target) -> u64| {
                header(out, name, help, kind);
                for t in &self.targets {
                    let _ = writeln!(
                        out,
                        "{name}{{alertmanager=\"{}\"}} {}",
                        escape(&t.cfg.url),
                        f(t)
                    );
                }
            };
        rows(
            out,
            "almanac_notifications_sent_total",
            "Alerts sent to Alertmanager.",
            "counter",
            &|t| t.stats.sent.load(Ordering::Relaxed),
        );
        rows(
            out,
            "almanac_notifications_errors_total",
            "Failed requests to Alertmanager.",
            "counter",
            &|t| t.stats.errors.load(Ordering::Relaxed),
        );
        rows(
            out,
            "almanac_notifications_dropped_total",
            "Alerts dropped: queue full or retries exhausted.",
            "counter",
            &|t| t.stats.dropped.load(Ordering::Relaxed),
        );
        rows(
            out,
            "almanac_notifications_queue_length",
            "Alerts waiting to be sent.",
            "gauge",
            &|t| t.queue.lock().len() as u64,
        );
        promql::syntax::exposition::gauge(
            out,
            "almanac_notifications_queue_capacity",
            "Queue capacity per Alertmanager.",
            self.capacity as f64,
        );
        promql::syntax::exposition::gauge(
            out,
            "almanac_notifications_alertmanagers_discovered",
            "Configured Alertmanagers.",
            self.targets.len() as f64,
        );
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Takes up to [`MAX_BATCH`] alerts off the queue into `batch`, a newer
/// alert replacing a queued one with the same labels.
fn fill(batch: &mut Vec<AmAlert>, q: &mut VecDeque<AmAlert>) {
    while let Some(a) = q.front() {
        if let Some(same) = batch.iter_mut().find(|b| b.labels == a.labels) {
            if let Some(a) = q.pop_front() {
                *same = a;
            }
            continue;
        }
        if batch.len() >= MAX_BATCH {
            break;
        }
        if let Some(a) = q.pop_front() {
            batch.push(a);
        }
    }
}

async fn run(
    t: Arc<Target>,
    client: Client<HttpConnector, Full<Bytes>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut batch: Vec<AmAlert> = Vec::new();
    let mut backoff = BACKOFF_MIN;
    let mut failing_since: Option<tokio::time::Instant> = None;
    loop {
        fill(&mut batch, &mut t.queue.lock());
        if batch.is_empty() {
            tokio::select! {
                _ = t.wake.notified() => continue,
                _ = stop.changed() => return,
            }
        }
        match post(&client, &t.cfg, &batch).await {
            Ok(()) => {
                t.stats
                    .sent
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
                backoff = BACKOFF_MIN;
                failing_since = None;
            }
            Err(e) => {
                t.stats.errors.fetch_add(1, Ordering::Relaxed);
                let since = *failing_since.get_or_insert_with(tokio::time::Instant::now);
                if since.elapsed() >= RETRY_FOR {
                    tracing::error!(alertmanager = %t.cfg.url, error = %e, dropped = batch.len(), "giving up on a batch of alerts");
                    t.stats
                        .dropped
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    batch.clear();
                    failing_since = None;
                    backoff = BACKOFF_MIN;
                    continue;
                }
                tracing::warn!(alertmanager = %t.cfg.url, error = %e, retry_in = ?backoff, "sending alerts failed");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

async fn post(
    client: &Client<HttpConnector, Full<Bytes>>,
    cfg: &AlertmanagerConfig,
    batch: &[AmAlert],
) -> Result<(), NotifyError> {
    let url = format!("{}/api/v2/alerts", cfg.url.trim_end_matches('/'));
    let body = serde_json::to_vec(&Value::Array(batch.iter().map(AmAlert::to_json).collect()))
        .unwrap_or_default();
    let mut req = hyper::Request::post(&url)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("Almanac/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(b) = &cfg.basic_auth {
        req = req.header(
            hyper::header::AUTHORIZATION,
            format!(
                "Basic {}",
                base64(format!("{}:{}", b.username, b.password).as_bytes())
            ),
        );
    } else if let Some(token) = &cfg.bearer_token {
        req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| NotifyError::BadUrl(url.clone()))?;
    let timeout_ms = promql::syntax::parse_duration(&cfg.timeout)
        .unwrap_or(10_000)
        .max(1) as u64;
    let resp =
        match tokio::time::timeout(Duration::from_millis(timeout_ms), client.request(req)).await {
            Err(_) => {
                return Err(NotifyError::Timeout {
                    url,
                    ms: timeout_ms,
                });
            }
            Ok(Err(source)) => return Err(NotifyError::Transport { url, source }),
            Ok(Ok(r)) => r,
        };
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let body = match tokio::time::timeout(
        Duration::from_millis(timeout_ms),
        resp.into_body().collect(),
    )
    .await
    {
        Ok(Ok(b)) => String::from_utf8_lossy(&b.to_bytes())
            .chars()
            .take(512)
            .collect(),
        _ => String::new(),
    };
    Err(NotifyError::Status {
        url,
        status: status.as_u16(),
        body,
    })
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "notifier_tests.rs"]
mod tests;
