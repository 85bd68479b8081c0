//! `POST /loki/api/v1/push`: Loki's push API.
//!
//! Bodies: JSON (`Content-Type: application/json`, gzip or not)
//! `{"streams":[{"stream":{…},"values":[["<ns>","line",{metadata}]]}]}`,
//! or a snappy block of `PushRequest` protobuf (any other content type, as
//! Loki reads it). Answers 204 when every entry is stored; when some are
//! refused, the others are stored and the answer is 400 (429 when a retry
//! can succeed: the stream limit) with the reasons as text. A body that
//! does not decode stores nothing (400).

use std::collections::HashSet;

use hyper::Method;
use logs::model::{Entry, StreamPush};
use prost::Message;
use serde_json::Value;
use tsdb::model::{Labels, MatchOp};

use super::proto;
use crate::api::{Reply, Req, allow, no_content};
use crate::error::ApiError;
use crate::state::State;

/// What a body decoded to: the streams, and the entries refused while
/// decoding (bad labels, a timestamp that is not one, a line that is not
/// UTF-8) with why.
#[derive(Debug, Default)]
pub struct Decoded {
    pub streams: Vec<StreamPush>,
    pub refused: usize,
    pub reasons: Vec<String>,
}

impl Decoded {
    fn refuse(&mut self, n: usize, why: impl FnOnce() -> String) {
        self.refused += n;
        if self.reasons.len() < 5 {
            self.reasons.push(why());
        }
    }
}

/// The handler of `/loki/api/v1/push` (and `/api/prom/push`).
pub fn push(state: &State, req: &Req) -> Result<Reply, ApiError> {
    receive(state, req).map_err(ApiError::loki)
}

fn receive(state: &State, req: &Req) -> Result<Reply, ApiError> {
    allow(req, &[Method::POST])?;
    let limits = &state.write_limits;
    if req.body.len() > limits.max_body {
        return Err(ApiError::TooLarge(format!(
            "request body of {} bytes is over the limit of {} bytes",
            req.body.len(),
            limits.max_body
        )));
    }
    let json = req
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
    let decoded = if json {
        let raw = crate::otlp::decompress(&req.body, req.content_encoding.as_deref(), limits)?;
        decode_json(&raw)?
    } else {
        let raw = crate::remote_write::decompress(&req.body, limits)?;
        decode_protobuf(&raw)?
    };
    let _permit = state
        .write_inflight
        .try_acquire(req.body.len())
        .ok_or_else(|| ApiError::Overloaded("too many writes in flight; retry later".into()))?;
    let now = super::time::now_ns();
    let admitted = state.logs.push(&state.db, decoded.streams, now)?;
    let refused = decoded.refused + admitted.refused;
    if refused == 0 {
        return Ok(no_content());
    }
    state
        .logs
        .counters
        .entries_refused
        .fetch_add(decoded.refused as u64, std::sync::atomic::Ordering::Relaxed);
    let mut reasons = decoded.reasons;
    reasons.extend(admitted.reasons);
    let message = format!(
        "{refused} of {} entries refused (the others are stored): {}",
        refused + admitted.entries,
        reasons.join("; ")
    );
    Err(if admitted.stream_limit || admitted.rate_limited {
        ApiError::Overloaded(message)
    } else {
        ApiError::BadData(message)
    })
}

/// A stream's labels from name-value pairs: valid names, each once.
fn stream_labels(pairs: Vec<(String, String)>) -> Result<Labels, String> {
    let mut seen = HashSet::new();
    let mut kept = Vec::with_capacity(pairs.len());
    for (n, v) in pairs {
        if !is_label_name(&n) {
            return Err(format!("invalid label name {n:?}"));
        }
        if !seen.insert(n.clone()) {
            return Err(format!("duplicate label name {n:?}"));
        }
        if !v.is_empty() {
            kept.push((n, v));
        }
    }
    Ok(Labels::from_pairs(&kept))
}

fn is_label_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Labels written as a selector, `{a="b", c="d"}`.
fn parse_label_string(s: &str) -> Result<Labels, String> {
    let matchers = promql::parse_series_selector(s).map_err(|e| format!("labels {s:?}: {e}"))?;
    let mut pairs = Vec::with_capacity(matchers.len());
    for m in matchers {
        if m.op != MatchOp::Equal {
            return Err(format!(
                "labels {s:?}: only name=\"value\" pairs are allowed"
            ));
        }
        pairs.push((m.name, m.value));
    }
    stream_labels(pairs).map_err(|e| format!("labels {s:?}: {e}"))
}

/// Decodes a JSON push body. A body that is not the push shape fails
/// whole; a stream or value inside it that breaks a rule is refused alone.
/// A body with bytes that are not UTF-8 is read with each bad sequence
/// replaced (as Go's decoder does); then the values holding a replacement
/// character are refused as not UTF-8 (a genuine U+FFFD in the same body
/// is refused with them).
pub fn decode_json(raw: &[u8]) -> Result<Decoded, ApiError> {
    let (text, damaged) = match std::str::from_utf8(raw) {
        Ok(t) => (std::borrow::Cow::Borrowed(t), false),
        Err(_) => (String::from_utf8_lossy(raw), true),
    };
    let body: Value = serde_json::from_str(&text)
        .map_err(|e| ApiError::BadData(format!("decoding JSON push body: {e}")))?;
    let streams = body
        .get("streams")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::BadData("JSON push body: expected {\"streams\": [...]}".into()))?;
    let mut out = Decoded::default();
    for (i, s) in streams.iter().enumerate() {
        let values = s.get("values").and_then(Value::as_array);
        let n = values.map_or(0, Vec::len);
        let labels = match s.get("stream").and_then(Value::as_object) {
            None => Err("\"stream\" must be an object of label names to string values".to_string()),
            Some(obj) => obj
                .iter()
                .map(|(k, v)| match v.as_str() {
                    Some(v) => Ok((k.clone(), v.to_string())),
                    None => Err(format!("label {k:?} must be a string, got {v}")),
                })
                .collect::<Result<Vec<_>, _>>()
                .and_then(stream_labels),
        };
        let labels = match labels {
            Ok(l) => l,
            Err(e) => {
                out.refuse(n.max(1), || format!("stream {i}: {e}"));
                continue;
            }
        };
        let Some(values) = values else {
            out.refuse(1, || {
                format!("stream '{labels}': \"values\" must be an array")
            });
            continue;
        };
        let mut entries = Vec::with_capacity(values.len());
        for (j, v) in values.iter().enumerate() {
            match json_entry(v).and_then(|e| utf8_intact(e, damaged)) {
                Ok(e) => entries.push(e),
                Err(e) => out.refuse(1, || format!("stream '{labels}': value {j}: {e}")),
            }
        }
        out.streams.push(StreamPush { labels, entries });
    }
    Ok(out)
}

/// `e`, unless the body was not UTF-8 and `e` holds what replaced it.
fn utf8_intact(e: Entry, damaged: bool) -> Result<Entry, String> {
    const BAD: char = char::REPLACEMENT_CHARACTER;
    let hit = e.line.contains(BAD)
        || e.metadata
            .iter()
            .any(|(n, v)| n.contains(BAD) || v.contains(BAD));
    if damaged && hit {
        return Err("line is not UTF-8".into());
    }
    Ok(e)
}

/// `["<ns>", "line"]` or `["<ns>", "line", {"name": "value"}]`.
fn json_entry(v: &Value) -> Result<Entry, String> {
    let Some(parts) = v.as_array().filter(|p| (2..=3).contains(&p.len())) else {
        return Err(
            "expected [\"<unix ns>\", \"<line>\"] or with a third element of structured metadata"
                .into(),
        );
    };
    let ts = match &parts[0] {
        Value::String(s) => s
            .parse::<i64>()
            .map_err(|_| format!("timestamp {s:?} is not an integer of nanoseconds"))?,
        other => {
            return Err(format!(
                "timestamp must be a string of nanoseconds, got {other}"
            ));
        }
    };
    let line = parts[1]
        .as_str()
        .ok_or_else(|| format!("line must be a string, got {}", parts[1]))?
        .to_string();
    let mut metadata = Vec::new();
    if let Some(m) = parts.get(2) {
        let obj = m
            .as_object()
            .ok_or_else(|| format!("structured metadata must be an object, got {m}"))?;
        for (k, v) in obj {
            let v = v
                .as_str()
                .ok_or_else(|| format!("structured metadata {k:?} must be a string"))?;
            metadata.push((k.clone(), v.to_string()));
        }
    }
    Ok(Entry { ts, line, metadata })
}

/// Decodes a (decompressed) protobuf push body.
pub fn decode_protobuf(raw: &[u8]) -> Result<Decoded, ApiError> {
    let req = proto::PushRequest::decode(raw)
        .map_err(|e| ApiError::BadData(format!("decoding protobuf push body: {e}")))?;
    let mut out = Decoded::default();
    for s in req.streams {
        let n = s.entries.len();
        let text = String::from_utf8_lossy(&s.labels).into_owned();
        let labels = match std::str::from_utf8(&s.labels)
            .map_err(|_| format!("labels {text:?} are not UTF-8"))
            .and_then(parse_label_string)
        {
            Ok(l) => l,
            Err(e) => {
                out.refuse(n.max(1), || e);
                continue;
            }
        };
        let mut entries = Vec::with_capacity(n);
        for (j, e) in s.entries.into_iter().enumerate() {
            match proto_entry(e) {
                Ok(e) => entries.push(e),
                Err(e) => out.refuse(1, || format!("stream '{labels}': entry {j}: {e}")),
            }
        }
        out.streams.push(StreamPush { labels, entries });
    }
    Ok(out)
}

fn proto_entry(e: proto::EntryAdapter) -> Result<Entry, String> {
    let ts = e.timestamp.map_or(0, |t| {
        t.seconds
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(t.nanos))
    });
    let line = String::from_utf8(e.line).map_err(|_| "line is not UTF-8".to_string())?;
    let metadata = e
        .structured_metadata
        .into_iter()
        .map(
            |p| match (String::from_utf8(p.name), String::from_utf8(p.value)) {
                (Ok(n), Ok(v)) => Ok((n, v)),
                _ => Err("structured metadata is not UTF-8".to_string()),
            },
        )
        .collect::<Result<_, _>>()?;
    Ok(Entry { ts, line, metadata })
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
