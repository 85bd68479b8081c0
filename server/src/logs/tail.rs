//! `GET /loki/api/v1/tail`: a log query's entries live, over WebSocket, as
//! Loki streams them to Grafana's live view and `logcli --tail`.
//!
//! Parameters: `query` (a log query), `limit` (100: the history sent
//! first), `start` (an hour ago: where the history begins) and `delay_for`
//! (0–5 seconds that each live entry is held, so that lines arriving late
//! go out in time order). Each text message is
//! `{"streams": [{"stream": {…}, "values": [["<ns>", "<line>"], …]}],
//! "dropped_entries": [{"labels": {…}, "timestamp": "<RFC 3339>"}]}`
//! (`dropped_entries` only when some were): the history (the newest
//! `limit` entries from `start`, oldest first) in one message, then what
//! each commit adds that the query keeps.
//!
//! Contracts:
//! - an entry of a selected stream acknowledged after the session opened
//!   is sent once, or dropped when the client reads too slowly (more than
//!   [`QUEUE`] commits or [`QUEUE_BYTES`] of the session's entries waiting,
//!   or held for `delay_for`): the first [`MAX_DROPPED_NAMED`] dropped
//!   since the last message are named in `dropped_entries` (other streams'
//!   entries are never queued, counted or named); one in both the history
//!   and the live feed is sent once;
//! - live entries go out in time order within what is held together;
//!   across `delay_for`, a later message may hold older entries (as Loki's);
//! - at most [`MAX_SESSIONS`] sessions at once (Loki's
//!   `max_concurrent_tail_requests`); the server's stop closes them (1001);
//!   a client that takes no data for 10 s is dropped.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use logs::logql::pipeline::Pipeline;
use logs::logql::{Expr, LogExpr};
use logs::model::StreamPush;
use logs::model::{Direction, Hit};
use logs::tail::Feed;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tsdb::model::{Labels, Matcher};

use super::query::label_map;
use super::time;
use crate::api::{Params, Reply, Req};
use crate::error::{ApiError, WsError};
use crate::http::Body;
use crate::state::State;
use crate::websocket::{self, frame};

/// Sessions open at once.
pub const MAX_SESSIONS: usize = 10;
/// Commits queued for a session before their entries are dropped.
pub const QUEUE: usize = 1024;
/// Bytes of entries (lines and metadata) queued for a session before
/// more are dropped: what a stalled client can hold in memory.
pub const QUEUE_BYTES: usize = 16 << 20;
/// Dropped entries named per message, at most.
pub const MAX_DROPPED_NAMED: usize = 1000;
/// How long a write may wait for the client to read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often held entries are checked for being due.
const TICK: Duration = Duration::from_millis(100);
/// The largest client message read (clients send only control frames).
const MAX_CLIENT_FRAME: u64 = 64 * 1024;

/// What a tail request asks for.
struct Ask {
    log: LogExpr,
    limit: usize,
    start: i64,
    delay: Duration,
}

fn ask(params: &Params) -> Result<Ask, ApiError> {
    let q = params
        .get("query")
        .ok_or_else(|| ApiError::BadData("invalid parameter \"query\": missing".into()))?;
    let log = match logs::logql::parse(q).map_err(logs::Error::from)? {
        Expr::Log(l) => l,
        Expr::Metric(_) => {
            return Err(ApiError::BadData(
                "tail needs a log query, not a metric query".into(),
            ));
        }
    };
    let delay = match params.get("delay_for") {
        None | Some("") => 0,
        Some(v) => v.parse::<u64>().ok().filter(|d| *d <= 5).ok_or_else(|| {
            ApiError::BadData(format!(
                "invalid parameter \"delay_for\": {v:?} (whole seconds, at most 5)"
            ))
        })?,
    };
    let now = time::now_ns();
    Ok(Ask {
        log,
        limit: params.usize_or("limit", 100)?,
        start: time::param(params, "start", now - 3_600_000_000_000)?,
        delay: Duration::from_secs(delay),
    })
}

/// A plain HTTP request for the tail endpoint: it needs the upgrade.
pub fn without_upgrade(_: &State, _: &Req) -> Result<Reply, ApiError> {
    Err(ApiError::BadData("tail streams over WebSocket: send the upgrade handshake".into()).loki())
}

/// Answers an upgrade request: `101` and a session on the upgraded
/// connection, or the reason it cannot start (as Loki's plain-text 400).
pub fn upgrade(
    state: Arc<State>,
    stop: watch::Receiver<bool>,
    req: Request<Incoming>,
) -> Response<Body> {
    let mut params = Params::default();
    if let Some(q) = req.uri().query() {
        params.parse_into(q);
    }
    let started = (|| {
        let ask = ask(&params)?;
        let pipeline = Pipeline::new(&ask.log.pipeline).map_err(ApiError::BadData)?;
        let resp = websocket::accept(req.headers())?;
        // Subscribed before the history is read, so that nothing committed
        // in between is missed (what both see is sent once).
        let feed = Subscription::new(&state, ask.log.matchers.clone()).ok_or_else(|| {
            ApiError::BadData(format!(
                "max concurrent tail requests limit exceeded, count > limit ({MAX_SESSIONS})"
            ))
        })?;
        Ok((ask, pipeline, resp, feed))
    })()
    .map_err(ApiError::loki);
    let (ask, pipeline, resp, feed) = match started {
        Ok(s) => s,
        Err(e) => return crate::http::respond(Err(e)),
    };
    tokio::spawn(async move {
        let io = match hyper::upgrade::on(req).await {
            Ok(u) => TokioIo::new(u),
            Err(e) => {
                tracing::debug!(error = %e, "tail upgrade failed");
                return;
            }
        };
        let session = Session {
            state,
            pipeline: Arc::new(pipeline),
            ask,
            feed,
            stop,
        };
        if let Err(e) = session.run(io).await {
            tracing::debug!(error = %e, "tail session ended");
        }
    });
    resp
}

/// Bytes of a feed's entries.
fn feed_bytes(f: &Feed) -> usize {
    f.iter().flat_map(|s| &s.entries).map(|e| e.size()).sum()
}

/// The store's side of a session's feed: queues each commit while fewer
/// than a number of commits and of bytes wait, else names its entries
/// dropped (the first [`MAX_DROPPED_NAMED`] since the session last took
/// them).
struct Queue {
    tx: mpsc::Sender<Feed>,
    queued: Arc<AtomicUsize>,
    dropped: Arc<Mutex<Vec<(Labels, i64)>>>,
    max_bytes: usize,
    /// The streams the session's query selects: only their entries are
    /// queued, counted and named.
    matchers: Vec<Matcher>,
}

/// The session's side of its feed.
struct Inbox {
    rx: mpsc::Receiver<Feed>,
    /// Bytes of the feeds in `rx`.
    queued: Arc<AtomicUsize>,
    dropped: Arc<Mutex<Vec<(Labels, i64)>>>,
}

/// A queue of the streams `matchers` select, holding at most `commits`
/// commits and `max_bytes` of entries.
fn queue(commits: usize, max_bytes: usize, matchers: Vec<Matcher>) -> (Queue, Inbox) {
    let (tx, rx) = mpsc::channel(commits);
    let queued = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let inbox = Inbox {
        rx,
        queued: queued.clone(),
        dropped: dropped.clone(),
    };
    let queue = Queue {
        tx,
        queued,
        dropped,
        max_bytes,
        matchers,
    };
    (queue, inbox)
}

impl Queue {
    /// Takes a commit's feed; `false` once the session is gone.
    fn offer(&self, f: &Feed) -> bool {
        if self.tx.is_closed() {
            return false;
        }
        let selected = |s: &StreamPush| {
            self.matchers
                .iter()
                .all(|m| m.matches(s.labels.get(&m.name)))
        };
        let f: Feed = if f.iter().all(selected) {
            f.clone()
        } else {
            let mine: Vec<StreamPush> = f.iter().filter(|s| selected(s)).cloned().collect();
            if mine.is_empty() {
                return true;
            }
            mine.into()
        };
        let bytes = feed_bytes(&f);
        let before = self.queued.fetch_add(bytes, Ordering::AcqRel);
        let refused = if before.saturating_add(bytes) > self.max_bytes {
            Some(f)
        } else {
            match self.tx.try_send(f) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(f)) => Some(f),
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        };
        if refused.is_some() {
            self.queued.fetch_sub(bytes, Ordering::AcqRel);
        }
        if let Some(f) = refused {
            let mut d = self.dropped.lock();
            let room = MAX_DROPPED_NAMED.saturating_sub(d.len());
            let named = f
                .iter()
                .flat_map(|s| s.entries.iter().map(|e| (s.labels.clone(), e.ts)));
            d.extend(named.take(room));
        }
        true
    }
}

impl Inbox {
    /// The next feed, once it has come (`None`: the store is gone).
    async fn next(&mut self) -> Option<Feed> {
        let f = self.rx.recv().await?;
        self.queued.fetch_sub(feed_bytes(&f), Ordering::AcqRel);
        Some(f)
    }

    /// The entries dropped since the last call, named.
    fn take_dropped(&self) -> Vec<(Labels, i64)> {
        std::mem::take(&mut *self.dropped.lock())
    }
}

/// A live feed of the log store's commits; unsubscribes when dropped.
struct Subscription {
    state: Arc<State>,
    id: u64,
    inbox: Inbox,
}

impl Subscription {
    /// A new subscription; `None` when [`MAX_SESSIONS`] are open.
    fn new(state: &Arc<State>, matchers: Vec<Matcher>) -> Option<Subscription> {
        let (queue, inbox) = queue(QUEUE, QUEUE_BYTES, matchers);
        let id = state
            .logs
            .taps
            .try_subscribe(MAX_SESSIONS, Box::new(move |f: &Feed| queue.offer(f)))?;
        Some(Subscription {
            state: state.clone(),
            id,
            inbox,
        })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.state.logs.taps.unsubscribe(self.id);
    }
}

/// What the client sent that the session acts on.
enum FromClient {
    Ping(Vec<u8>),
    Close,
    Failed(WsError),
}

struct Session {
    state: Arc<State>,
    pipeline: Arc<Pipeline>,
    ask: Ask,
    feed: Subscription,
    stop: watch::Receiver<bool>,
}

impl Session {
    async fn run(mut self, io: TokioIo<hyper::upgrade::Upgraded>) -> Result<(), WsError> {
        let (mut rd, mut wr) = tokio::io::split(io);
        let (events_tx, mut events) = mpsc::channel(8);
        let reader = tokio::spawn(async move {
            loop {
                let ev = match frame::read(&mut rd, MAX_CLIENT_FRAME).await {
                    Ok(f) if f.opcode == frame::PING => FromClient::Ping(f.payload),
                    Ok(f) if f.opcode == frame::CLOSE => FromClient::Close,
                    Ok(_) => continue,
                    Err(e) => FromClient::Failed(e),
                };
                let last = !matches!(ev, FromClient::Ping(_));
                if events_tx.send(ev).await.is_err() || last {
                    return;
                }
            }
        });
        let res = self.stream(&mut wr, &mut events).await;
        reader.abort();
        let (code, reason) = match &res {
            Ok(Some(code)) => (*code, ""),
            Ok(None) => return Ok(()),
            Err(e) => (e.close_code(), "error"),
        };
        let _ = write(&mut wr, &frame::close(code, reason)).await;
        let _ = tokio::time::timeout(WRITE_TIMEOUT, wr.shutdown()).await;
        res.map(|_| ())
    }

    /// Sends the history, then live entries, until the client closes or
    /// the server stops: the close code to send (`None`: the connection
    /// is gone).
    async fn stream<W: AsyncWrite + Unpin>(
        &mut self,
        wr: &mut W,
        events: &mut mpsc::Receiver<FromClient>,
    ) -> Result<Option<u16>, WsError> {
        let history = self.history().await;
        let seen: HashSet<(i64, String, Labels)> = history
            .iter()
            .map(|h| (h.ts, h.line.clone(), h.stream.clone()))
            .collect();
        send(wr, &history, &[]).await?;
        // Kept entries waiting out `delay_for`, by arrival (in order).
        let mut held: VecDeque<(Instant, Hit)> = VecDeque::new();
        let mut held_bytes = 0usize;
        let mut overflow: Vec<(Labels, i64)> = Vec::new();
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                feed = self.feed.inbox.next() => match feed {
                    Some(f) => {
                        let now = Instant::now();
                        for h in self.keep(&f) {
                            if seen.contains(&(h.ts, h.line.clone(), h.stream.clone())) {
                                continue;
                            }
                            if held_bytes + h.line.len() > QUEUE_BYTES {
                                if overflow.len() < MAX_DROPPED_NAMED {
                                    overflow.push((h.stream.clone(), h.ts));
                                }
                                continue;
                            }
                            held_bytes += h.line.len();
                            held.push_back((now, h));
                        }
                    }
                    None => return Ok(Some(1011)),
                },
                ev = events.recv() => match ev {
                    Some(FromClient::Ping(p)) => write(wr, &frame::encode(frame::PONG, &p)).await?,
                    Some(FromClient::Close) => return Ok(Some(1000)),
                    Some(FromClient::Failed(WsError::Io(_))) | None => return Ok(None),
                    Some(FromClient::Failed(e)) => return Err(e),
                },
                _ = tick.tick() => {}
                _ = self.stop.changed() => return Ok(Some(1001)),
            }
            let now = Instant::now();
            let mut due: Vec<Hit> = Vec::new();
            while held
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) >= self.ask.delay)
            {
                if let Some((_, h)) = held.pop_front() {
                    held_bytes -= h.line.len();
                    due.push(h);
                }
            }
            let mut dropped = self.feed.inbox.take_dropped();
            dropped.append(&mut overflow);
            if !due.is_empty() || !dropped.is_empty() {
                due.sort_by_key(|h| h.ts);
                send(wr, &due, &dropped).await?;
            }
        }
    }

    /// The newest `limit` entries from `start` until now, oldest first.
    async fn history(&self) -> Vec<Hit> {
        let (state, log) = (self.state.clone(), self.ask.log.clone());
        let (start, limit) = (self.ask.start, self.ask.limit);
        let res = tokio::task::spawn_blocking(move || {
            state
                .logs
                .select(&log, start, time::now_ns(), Direction::Backward, limit)
        })
        .await;
        match res {
            Ok(Ok(mut hits)) => {
                hits.reverse();
                hits
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "tail history query failed");
                Vec::new()
            }
            Err(e) => {
                tracing::warn!(error = %e, "tail history task failed");
                Vec::new()
            }
        }
    }

    /// The entries of a commit the query keeps.
    fn keep(&self, feed: &Feed) -> Vec<Hit> {
        let matchers = &self.ask.log.matchers;
        feed.iter()
            .filter(|s| matchers.iter().all(|m| m.matches(s.labels.get(&m.name))))
            .flat_map(|s| {
                s.entries
                    .iter()
                    .filter(|e| e.ts >= self.ask.start)
                    .filter_map(|e| self.pipeline.run(&s.labels, e))
            })
            .collect()
    }
}

/// Sends one message: `hits` by their labels, and the dropped entries.
async fn send<W: AsyncWrite + Unpin>(
    wr: &mut W,
    hits: &[Hit],
    dropped: &[(Labels, i64)],
) -> Result<(), WsError> {
    let body = message(hits, dropped).to_string();
    write(wr, &frame::encode(frame::TEXT, body.as_bytes())).await
}

/// Writes a frame, failing when the client has not taken it within
/// [`WRITE_TIMEOUT`] (a client that stopped reading frees its session).
async fn write<W: AsyncWrite + Unpin>(wr: &mut W, frame: &[u8]) -> Result<(), WsError> {
    let written = async {
        wr.write_all(frame).await?;
        wr.flush().await
    };
    match tokio::time::timeout(WRITE_TIMEOUT, written).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(WsError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client took no data for 10 s",
        ))),
    }
}

/// Loki's tail message.
fn message(hits: &[Hit], dropped: &[(Labels, i64)]) -> Value {
    let mut groups: BTreeMap<Labels, Vec<Value>> = BTreeMap::new();
    for h in hits {
        groups
            .entry(h.all_labels())
            .or_default()
            .push(json!([h.ts.to_string(), h.line]));
    }
    let streams: Vec<Value> = groups
        .into_iter()
        .map(|(l, values)| json!({"stream": label_map(&l), "values": values}))
        .collect();
    let mut m = json!({ "streams": streams });
    if !dropped.is_empty() {
        m["dropped_entries"] = dropped
            .iter()
            .take(MAX_DROPPED_NAMED)
            .map(|(l, ts)| json!({"labels": label_map(l), "timestamp": promql::syntax::format_rfc3339(ts.div_euclid(1_000_000))}))
            .collect();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(app: &str, ts: i64, line: &str, parsed: &[(&str, &str)]) -> Hit {
        Hit {
            stream: Labels::from_pairs(&[("app", app)]),
            ts,
            line: line.into(),
            metadata: Vec::new(),
            parsed: parsed
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn feed(app: &str, lines: &[(i64, &str)]) -> Feed {
        vec![logs::model::StreamPush {
            labels: Labels::from_pairs(&[("app", app)]),
            entries: lines
                .iter()
                .map(|(t, l)| logs::model::Entry::new(*t, *l))
                .collect(),
        }]
        .into()
    }

    #[tokio::test]
    async fn a_slow_session_drops_commits_past_its_queue_and_names_them() {
        // Two commits or 10 bytes of entries wait at most.
        let everything = Matcher::new(tsdb::model::MatchOp::RegexMatch, "app", ".*").unwrap();
        let (q, mut inbox) = queue(2, 10, vec![everything.clone()]);
        assert!(q.offer(&feed("a", &[(1, "1234")])));
        assert!(q.offer(&feed("a", &[(2, "5678")])));
        assert!(
            q.offer(&feed("b", &[(3, "x")])),
            "two commits wait: dropped"
        );
        assert_eq!(inbox.next().await.unwrap()[0].entries[0].line, "1234");
        assert!(
            q.offer(&feed("c", &[(4, "abcdefg")])),
            "8 + 7 > 10 bytes: dropped"
        );
        assert!(q.offer(&feed("d", &[(5, "ab")])), "8 + 2 bytes fit");
        let names: Vec<(String, i64)> = inbox
            .take_dropped()
            .into_iter()
            .map(|(l, t)| (l.get("app").to_string(), t))
            .collect();
        assert_eq!(names, [("b".to_string(), 3), ("c".to_string(), 4)]);
        assert!(inbox.take_dropped().is_empty(), "taken once");
        assert_eq!(inbox.next().await.unwrap()[0].entries[0].line, "5678");
        assert_eq!(inbox.next().await.unwrap()[0].entries[0].line, "ab");
        drop(inbox);
        assert!(!q.offer(&feed("e", &[(6, "z")])), "the session is gone");
    }

    #[tokio::test]
    async fn only_the_selected_streams_are_queued_counted_and_named() {
        let a = Matcher::equal("app", "a");
        let (q, mut inbox) = queue(1, 1 << 20, vec![a]);
        let mut both: Vec<StreamPush> = feed("a", &[(1, "mine")]).to_vec();
        both.extend(feed("b", &[(2, "theirs")]).iter().cloned());
        assert!(q.offer(&both.clone().into()));
        assert!(
            q.offer(&feed("b", &[(3, "other")])),
            "nothing selected: not queued"
        );
        assert!(q.offer(&both.into()), "one commit waits: dropped");
        let names: Vec<(String, i64)> = inbox
            .take_dropped()
            .into_iter()
            .map(|(l, t)| (l.get("app").to_string(), t))
            .collect();
        assert_eq!(names, [("a".to_string(), 1)], "b's entries are not named");
        let got = inbox.next().await.unwrap();
        assert_eq!(got.len(), 1, "b's stream left out");
        assert_eq!(got[0].entries[0].line, "mine");
        assert_eq!(inbox.queued.load(Ordering::Acquire), 0);
    }

    #[test]
    fn dropped_entries_named_are_bounded() {
        let everything = Matcher::new(tsdb::model::MatchOp::RegexMatch, "app", ".*").unwrap();
        let (q, _inbox) = queue(1, 1 << 20, vec![everything]);
        let many: Vec<(i64, String)> = (0..3000).map(|i| (i, format!("{i}"))).collect();
        let refs: Vec<(i64, &str)> = many.iter().map(|(t, l)| (*t, l.as_str())).collect();
        q.offer(&feed("a", &[(0, "first")]));
        q.offer(&feed("a", &refs));
        assert_eq!(q.dropped.lock().len(), MAX_DROPPED_NAMED);
    }

    #[test]
    fn messages_group_by_all_labels_and_name_dropped_entries() {
        let hits = [
            hit("a", 2, "two", &[]),
            hit("a", 3, "three", &[("level", "warn")]),
            hit("b", 1, "one", &[]),
        ];
        let dropped = [(
            Labels::from_pairs(&[("app", "a")]),
            1_500_000_000_123_456_789,
        )];
        let cases = [
            (
                "entries only",
                message(&hits, &[]),
                json!({"streams": [
                    {"stream": {"app": "a"}, "values": [["2", "two"]]},
                    {"stream": {"app": "a", "level": "warn"}, "values": [["3", "three"]]},
                    {"stream": {"app": "b"}, "values": [["1", "one"]]},
                ]}),
            ),
            (
                "dropped only",
                message(&[], &dropped),
                json!({"streams": [], "dropped_entries": [
                    {"labels": {"app": "a"}, "timestamp": "2017-07-14T02:40:00.123Z"},
                ]}),
            ),
        ];
        for (name, got, want) in cases {
            assert_eq!(got, want, "{name}");
        }
    }
}
