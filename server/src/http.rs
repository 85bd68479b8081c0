//! Routing, body limits, and the one place where handler results and
//! errors become HTTP responses.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Request, Response, StatusCode};

use crate::api::{self, BodySink, Params, Reply, Req};
use crate::error::ApiError;
use crate::state::State;

/// A response body fed by a [`BodySink`].
struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|p| p.map(|b| Ok(Frame::data(b))))
    }
}

/// The body of every response.
pub type Body = BoxBody<Bytes, Infallible>;

/// Serves one HTTP request. Never fails: errors become responses. A
/// WebSocket upgrade of `/loki/api/v1/tail` starts a session that ends
/// when `stop` changes.
pub async fn serve(
    state: Arc<State>,
    stop: tokio::sync::watch::Receiver<bool>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let path = req.uri().path().to_string();
    let handler = api::handler_name(&path);
    if path == "/loki/api/v1/tail"
        && req.method() == hyper::Method::GET
        && crate::websocket::wants_upgrade(req.headers())
    {
        let resp = crate::logs::tail::upgrade(state.clone(), stop, req);
        state
            .metrics
            .record_http(handler, resp.status().as_u16(), started.elapsed());
        return Ok(resp);
    }
    let result = match read(&state, req).await {
        Ok(r) => dispatch(state.clone(), r).await,
        Err(e) => Err(e),
    };
    let resp = respond(result);
    state
        .metrics
        .record_http(handler, resp.status().as_u16(), started.elapsed());
    Ok(resp)
}

async fn read(state: &State, req: Request<Incoming>) -> Result<Req, ApiError> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let content_encoding = req
        .headers()
        .get(hyper::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let accept = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let encoding_flags = req
        .headers()
        .get("x-loki-response-encoding-flags")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut params = Params::default();
    if let Some(q) = req.uri().query() {
        params.parse_into(q);
    }
    let limit = state.write_limits.max_body;
    let body = Limited::new(req.into_body(), limit)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                ApiError::TooLarge(format!("request body is over the limit of {limit} bytes"))
            } else {
                ApiError::BadData(format!("reading request body: {e}"))
            }
        })?
        .to_bytes();
    if content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        params.parse_into(&String::from_utf8_lossy(&body));
    }
    Ok(Req {
        method,
        path,
        content_type,
        content_encoding,
        accept,
        encoding_flags,
        params,
        body,
    })
}

/// Runs the handler off the async workers: handlers do storage I/O and
/// CPU-heavy evaluation.
async fn dispatch(state: Arc<State>, req: Req) -> Result<Reply, ApiError> {
    tokio::task::spawn_blocking(move || api::route(&state, &req))
        .await
        .unwrap_or_else(|e| Err(ApiError::Internal(format!("handler failed: {e}"))))
}

/// The answer to a request that arrives while the storage opens (WAL
/// replay, which can take minutes; there is no [`State`] yet):
/// `/-/healthy` is 200, everything else 503 `unavailable` with
/// `Retry-After`. Every answer carries `Connection: close`, so that clients
/// come back on a new connection to the real server.
pub fn answer_while_replaying(path: &str) -> Response<Body> {
    let result = if path == "/-/healthy" {
        Ok(api::healthy_reply())
    } else {
        Err(ApiError::Unavailable(
            "storage is replaying its write-ahead log".into(),
        ))
    };
    let mut r = respond(result);
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Turns a handler result into a response: the one place statuses are set.
pub fn respond(result: Result<Reply, ApiError>) -> Response<Body> {
    match result {
        Ok(Reply::Json(v)) => json_response(StatusCode::OK, &v),
        Ok(Reply::Empty(status, headers)) => {
            let mut r = Response::new(Full::new(Bytes::new()).boxed());
            *r.status_mut() = status;
            for (k, v) in headers {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    r.headers_mut().insert(k, v);
                }
            }
            r
        }
        Ok(Reply::Body(status, ct, body)) => {
            let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
            *r.status_mut() = status;
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
            r
        }
        Ok(Reply::Stream(ct, produce)) => {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tokio::task::spawn_blocking(move || produce(&BodySink(tx)));
            let mut r = Response::new(ChannelBody(rx).boxed());
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
            r
        }
        Err(e) => {
            let mut r = match &e {
                ApiError::Otlp { inner, json } => {
                    let (ct, body) = crate::otlp::rpc_status(inner, *json);
                    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
                    *r.status_mut() = e.status();
                    r.headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
                    r
                }
                ApiError::Jaeger(inner) => {
                    let body = serde_json::json!({
                        "data": null,
                        "total": 0,
                        "limit": 0,
                        "offset": 0,
                        "errors": [{"code": e.status().as_u16(), "msg": inner.to_string()}],
                    });
                    json_response(e.status(), &body)
                }
                ApiError::Loki(inner) => {
                    let mut r = Response::new(Full::new(Bytes::from(format!("{inner}\n"))).boxed());
                    *r.status_mut() = e.status();
                    r.headers_mut().insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=utf-8"),
                    );
                    r
                }
                _ => json_response(e.status(), &api::json::error(&e)),
            };
            if let Some(s) = e.retry_after() {
                r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(s));
            }
            for (k, v) in e.headers() {
                if let Ok(v) = HeaderValue::from_str(v) {
                    r.headers_mut().insert(*k, v);
                }
            }
            r
        }
    }
}

/// An empty body.
pub fn empty_body() -> Body {
    Full::new(Bytes::new()).boxed()
}

fn json_response(status: StatusCode, v: &serde_json::Value) -> Response<Body> {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}
