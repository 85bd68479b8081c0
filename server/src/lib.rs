//! The `almanac` server: Prometheus's HTTP API, remote-write ingest and
//! self-monitoring over the [`tsdb`] storage engine.
//!
//! [`Server::start`] runs a server in-process (tests use it); `main.rs`
//! wraps it with flags, signals and logging.

pub mod api;
pub mod cardinality;
pub mod config;
pub mod error;
pub mod http;
pub mod logs;
pub mod metadata;
pub mod metrics;
pub mod otlp;
pub mod prompb;
pub mod remote_read;
pub mod remote_write;
mod selector;
pub mod spans;
pub mod state;
pub mod websocket;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use parking_lot::RwLock;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tsdb::db::Db;
use tsdb::wal::SyncPolicy;

pub use config::Config;
pub use error::ApiError;

use crate::remote_write::{InflightLimit, SeriesCache, WriteLimits};
use crate::state::State;

/// Memory for remote write's series-by-label-bytes cache: about 300k
/// series of typical label sets.
const SERIES_CACHE_BYTES: usize = 64 << 20;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("open storage in {dir}: {source}")]
    Storage { dir: String, source: tsdb::Error },
    /// The task that opens the storage did not finish (it panicked).
    #[error("open storage in {dir}: the opening task failed: {source}")]
    StorageTask {
        dir: String,
        source: tokio::task::JoinError,
    },
    #[error("invalid rule files:\n{}", rules::join_rule_errors(.0))]
    Rules(Vec<rules::RuleError>),
}

/// Starts servers.
pub struct Server;

/// A running server. Dropping it does not stop the server; call
/// [`shutdown`](Handle::shutdown).
pub struct Handle {
    pub addr: SocketAddr,
    pub state: Arc<State>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    /// Opens the storage (replaying the WAL), binds the listener and
    /// serves until [`Handle::shutdown`]. `/-/healthy` answers at once;
    /// everything else once the storage is open.
    pub async fn start(config: Config) -> Result<Handle, StartError> {
        config.validate()?;
        let sm = &config.traces.span_metrics;
        let span_metrics_every = if sm.enabled {
            Some(sm.interval()?)
        } else {
            None
        };
        let addr = config.listen_addr()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Listen { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Listen { addr, source })?;
        let opts = config.db_options()?;
        // Bad rule files fail the start before a long WAL replay, not after.
        let groups = rules::load_all(&config.rules_config()).map_err(StartError::Rules)?;
        let dir = config.data_dir.clone();
        let span_opts = config.traces.to_options()?;
        let log_opts = config.logs.to_options()?;
        let open =
            tokio::task::spawn_blocking(move || open_stores(&dir, opts, span_opts, log_opts));
        let (db, spans, logs) = opened(&config, while_replaying(&listener, open).await)?;
        let write_limits = WriteLimits {
            max_body: config.max_request_bytes,
            max_decoded: config.max_decompressed_bytes,
            ..WriteLimits::default()
        };
        let write_inflight = InflightLimit::new(config.max_inflight_write_bytes);
        let maintenance = Duration::from_millis(config.maintenance_ms()?.max(1000) as u64);
        let db = Arc::new(db);
        let usage = Arc::new(cardinality::usage::MetricUsage::default());
        let rule_reads = Arc::new(cardinality::usage::RecordingStorage {
            inner: db.clone(),
            usage: usage.clone(),
            source: cardinality::usage::Source::Rules,
        });
        let rules = rules::RuleManager::with_reads(
            db.clone(),
            rule_reads,
            tokio::runtime::Handle::current(),
        );
        rules.set_log_queries(Arc::new(crate::logs::rules::LogRules(logs.clone())));
        rules.apply_groups(&config.rules_config(), groups);
        let trace_limits = config.traces.limits();
        let state = Arc::new(State {
            db,
            spans,
            logs,
            trace_limits,
            config: RwLock::new(config),
            metadata: Default::default(),
            metrics: Default::default(),
            write_limits,
            write_inflight,
            series_cache: SeriesCache::new(SERIES_CACHE_BYTES),
            started: SystemTime::now(),
            reloader: RwLock::new(None),
            rules,
            usage,
        });
        let weak = Arc::downgrade(&state);
        state.metrics.register(Box::new(move |out| {
            if let Some(s) = weak.upgrade() {
                s.rules.render_metrics(out);
            }
        }));
        let weak = Arc::downgrade(&state);
        state.metrics.register(Box::new(move |out| {
            if let Some(s) = weak.upgrade() {
                spans::self_metrics::render(out, &s.spans);
                logs::self_metrics::render(out, &s.logs);
            }
        }));
        let weak = Arc::downgrade(&state);
        state.metrics.register(Box::new(move |out| {
            if let Some(s) = weak.upgrade() {
                let by_metric: Vec<(String, u64)> = s.db.with_head_postings(|p| {
                    p.pair_counts()
                        .filter(|(n, _, _)| *n == tsdb::model::METRIC_NAME)
                        .map(|(_, v, c)| (v.to_string(), c))
                        .collect()
                });
                let hs = s.db.head_stats();
                let head = metrics::limits::HeadSeries {
                    series: hs.num_series,
                    active: s
                        .db
                        .head_active_series(cardinality::scope::ACTIVE_WINDOW_MS),
                    created_total: hs.series_created,
                };
                metrics::limits::render_state(out, &s.db.limits(), head, &by_metric);
            }
        }));
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, state.clone(), stop_rx.clone()));
        if let SyncPolicy::Interval(every) = state.db.options().wal.sync {
            tokio::spawn(sync_wal_every(state.clone(), every, stop_rx.clone()));
        }
        tokio::spawn(maintain_spans(state.clone(), stop_rx.clone()));
        if let Some(every) = span_metrics_every {
            tokio::spawn(write_span_metrics(state.clone(), every, stop_rx.clone()));
        }
        tokio::spawn(maintain_logs(state.clone(), stop_rx.clone()));
        tokio::spawn(maintain(state.clone(), maintenance, stop_rx));
        tracing::info!(%addr, "almanac listening");
        Ok(Handle {
            addr,
            state,
            stop,
            task,
        })
    }
}

impl Handle {
    /// Stops accepting connections, lets in-flight requests finish (up to
    /// 30 s), and syncs the WAL.
    pub async fn shutdown(self) -> Result<(), tsdb::Error> {
        self.state.rules.stop();
        let _ = self.stop.send(true);
        let _ = self.task.await;
        // Tail sessions live on upgraded connections, which the HTTP
        // server no longer tracks: give them the time to send their close
        // frame (1001) before the runtime goes.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.state.logs.taps.active() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let db = self.state.db.clone();
        tokio::task::spawn_blocking(move || db.close())
            .await
            .unwrap_or(Ok(()))
    }
}

async fn serve(listener: TcpListener, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let (state, stop) = (state.clone(), stop.clone());
                let service = hyper::service::service_fn(move |req| {
                    http::serve(state.clone(), stop.clone(), req)
                });
                let conn = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(30), graceful.shutdown()).await;
}

/// Opens the span and log stores, then the database with them (one WAL
/// replay feeds all three).
fn open_stores(
    dir: &std::path::Path,
    opts: tsdb::db::DbOptions,
    span_opts: traces::Options,
    log_opts: ::logs::Options,
) -> tsdb::Result<(Db, Arc<traces::SpanStore>, Arc<::logs::LogStore>)> {
    let spans = traces::SpanStore::open(&dir.join("spans"), span_opts)?;
    let logs = ::logs::LogStore::open_dir(&dir.join("logs"), log_opts)?;
    let db = Db::open_with_stores(
        dir,
        opts,
        vec![
            spans.clone() as Arc<dyn tsdb::db::WalStore>,
            logs.clone() as Arc<dyn tsdb::db::WalStore>,
        ],
    )?;
    spans.replayed();
    Ok((db, spans, logs))
}

/// What the storage-opening task gave, as a start error.
fn opened<T>(
    config: &Config,
    res: Result<tsdb::Result<T>, tokio::task::JoinError>,
) -> Result<T, StartError> {
    let dir = || config.data_dir.display().to_string();
    match res {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(source)) => Err(StartError::Storage { dir: dir(), source }),
        Err(source) => Err(StartError::StorageTask { dir: dir(), source }),
    }
}

/// Answers on `listener` while the storage opens, with
/// [`http::answer_while_replaying`]. Returns what `open` returns.
async fn while_replaying<T>(
    listener: &TcpListener,
    open: JoinHandle<T>,
) -> Result<T, tokio::task::JoinError> {
    tokio::pin!(open);
    loop {
        tokio::select! {
            res = &mut open => return res,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let service = hyper::service::service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    Ok::<_, std::convert::Infallible>(http::answer_while_replaying(req.uri().path()))
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// Ticks every `every` (late ticks are delayed, not bunched) until `stop`
/// changes.
struct Ticker {
    tick: tokio::time::Interval,
    stop: watch::Receiver<bool>,
}

impl Ticker {
    fn new(every: Duration, stop: watch::Receiver<bool>) -> Ticker {
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ticker { tick, stop }
    }

    /// Waits for the next tick; `false` once stopped.
    async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.tick.tick() => true,
            _ = self.stop.changed() => false,
        }
    }
}

/// The `interval` WAL sync policy: fsyncs what was written every `every`.
async fn sync_wal_every(state: Arc<State>, every: Duration, stop: watch::Receiver<bool>) {
    let mut ticker = Ticker::new(every, stop);
    while ticker.next().await {
        let db = state.db.clone();
        match tokio::task::spawn_blocking(move || db.sync_wal()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "WAL sync failed"),
            Err(e) => tracing::error!(error = %e, "WAL sync task failed"),
        }
    }
}

/// The span store's decisions, block cuts and retention, every second
/// (decision waits are seconds long).
async fn maintain_spans(state: Arc<State>, stop: watch::Receiver<bool>) {
    let mut ticker = Ticker::new(Duration::from_secs(1), stop);
    while ticker.next().await {
        let spans = state.spans.clone();
        match tokio::task::spawn_blocking(move || spans.maintain(false)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "span store maintenance failed"),
            Err(e) => tracing::error!(error = %e, "span store maintenance task failed"),
        }
    }
}

/// The log store's flushes, checked every second (a flush is due at
/// `logs.flush_head_mb` of lines, which a fast ingest reaches in
/// seconds); retention runs with the metric maintenance.
async fn maintain_logs(state: Arc<State>, stop: watch::Receiver<bool>) {
    let mut ticker = Ticker::new(Duration::from_secs(1), stop);
    while ticker.next().await {
        let (logs, db) = (state.logs.clone(), state.db.clone());
        match tokio::task::spawn_blocking(move || logs.flush_and_release(&db, false)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "log store maintenance failed"),
            Err(e) => tracing::error!(error = %e, "log store maintenance task failed"),
        }
    }
}

/// Span metrics into the metric store, every `every`.
async fn write_span_metrics(state: Arc<State>, every: Duration, stop: watch::Receiver<bool>) {
    let mut ticker = Ticker::new(every, stop);
    while ticker.next().await {
        let (spans, db) = (state.spans.clone(), state.db.clone());
        match tokio::task::spawn_blocking(move || spans.write_metrics(&db)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "writing span metrics failed"),
            Err(e) => tracing::error!(error = %e, "span metrics task failed"),
        }
    }
}

/// Compaction, retention and WAL syncing in the background.
async fn maintain(state: Arc<State>, every: Duration, stop: watch::Receiver<bool>) {
    let mut ticker = Ticker::new(every, stop);
    while ticker.next().await {
        let (db, logs) = (state.db.clone(), state.logs.clone());
        let res = tokio::task::spawn_blocking(move || {
            // Before compaction, so the WAL it truncates follows.
            if let Err(e) = logs.apply_retention() {
                tracing::error!(error = %e, "log retention failed");
            }
            db.sync_wal()?;
            db.compact()
        })
        .await;
        match res {
            Ok(Ok(report)) if report != Default::default() => {
                tracing::info!(?report, "maintenance")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "maintenance failed"),
            Err(e) => tracing::error!(error = %e, "maintenance task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        out
    }

    #[tokio::test]
    async fn healthy_but_not_ready_while_the_storage_opens() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let open = tokio::task::spawn_blocking(move || wait.recv().map(|_| 42));
        let replay = tokio::spawn(async move { while_replaying(&listener, open).await });
        let healthy = get(addr, "/-/healthy").await;
        assert!(healthy.starts_with("HTTP/1.1 200"), "{healthy}");
        for path in ["/-/ready", "/api/v1/query?query=up", "/metrics"] {
            let answer = get(addr, path).await.to_ascii_lowercase();
            assert!(answer.starts_with("http/1.1 503"), "{path}: {answer}");
            assert!(answer.contains("\"errortype\":\"unavailable\""), "{answer}");
            assert!(answer.contains("retry-after: 1\r\n"), "{answer}");
            assert!(answer.contains("connection: close\r\n"), "{answer}");
        }
        release.send(()).expect("release");
        let opened = replay.await.expect("task").expect("join");
        assert_eq!(opened, Ok(42));
    }
}

#[cfg(test)]
mod start_tests {
    use super::*;

    #[tokio::test]
    async fn bad_rule_files_fail_the_start_before_the_storage_opens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = dir.path().join("bad.yml");
        std::fs::write(
            &rules,
            "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: sum(\n",
        )
        .expect("write rules");
        let data = dir.path().join("data");
        let config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: data.clone(),
            rule_files: vec![rules.display().to_string()],
            ..Config::default()
        };
        let err = Server::start(config).await.err().expect("start fails");
        assert!(matches!(err, StartError::Rules(_)), "{err}");
        assert!(!data.join("wal").exists(), "the storage was not opened");
    }

    #[tokio::test]
    async fn a_storage_that_cannot_open_fails_the_start_with_its_cause() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::write(&data, "a file, not a directory").expect("write");
        let config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: data.clone(),
            ..Config::default()
        };
        let err = Server::start(config).await.err().expect("start fails");
        match &err {
            StartError::Storage { dir, source } => {
                assert_eq!(dir, &data.display().to_string());
                assert!(matches!(source, tsdb::Error::Io { .. }), "{source:?}");
            }
            other => panic!("want StartError::Storage, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_opening_task_that_panics_is_reported_as_such() {
        let config = Config {
            data_dir: "/nowhere".into(),
            ..Config::default()
        };
        let task = tokio::task::spawn_blocking(|| -> tsdb::Result<()> { panic!("replay blew up") });
        let err = opened(&config, task.await).expect_err("a failed task");
        match &err {
            StartError::StorageTask { dir, source } => {
                assert_eq!(dir, "/nowhere");
                assert!(source.is_panic(), "{source:?}");
            }
            other => panic!("want StartError::StorageTask, got {other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("/nowhere") && text.contains("replay blew up"),
            "{text}"
        );
    }
}
