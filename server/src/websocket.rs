//! WebSocket (RFC 6455), as far as a server that streams text to a client
//! needs it: the opening handshake over an HTTP/1.1 upgrade, and frames.
//!
//! - `handshake`: `Sec-WebSocket-Accept` (SHA-1 and base64);
//! - [`frame`]: reading client frames, writing server frames.

pub mod frame;
mod handshake;

use hyper::header::{CONNECTION, HeaderMap, HeaderValue, UPGRADE};
use hyper::{Response, StatusCode};

use crate::error::ApiError;
use crate::http::Body;

/// Whether a request asks to upgrade to WebSocket.
pub fn wants_upgrade(headers: &HeaderMap) -> bool {
    let has = |name, token: &str| {
        headers.get_all(name).iter().any(|v: &HeaderValue| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has(UPGRADE, "websocket") && has(CONNECTION, "upgrade")
}

/// The `101 Switching Protocols` answer to an upgrade request, or why the
/// request is not a valid opening handshake (version 13, a 16-byte key).
pub fn accept(headers: &HeaderMap) -> Result<Response<Body>, ApiError> {
    let version = headers
        .get("sec-websocket-version")
        .and_then(|v| v.to_str().ok());
    if version != Some("13") {
        return Err(ApiError::BadData(format!(
            "websocket version {version:?} is not supported (13 is)"
        )));
    }
    let key = headers
        .get("sec-websocket-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| handshake::valid_key(k))
        .ok_or_else(|| {
            ApiError::BadData("websocket handshake without a valid Sec-WebSocket-Key".into())
        })?;
    let accept = HeaderValue::from_str(&handshake::accept_key(key))
        .map_err(|e| ApiError::Internal(format!("websocket accept key: {e}")))?;
    let mut r = Response::new(crate::http::empty_body());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert("sec-websocket-accept", accept);
    Ok(r)
}
