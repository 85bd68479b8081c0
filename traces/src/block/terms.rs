//! The index terms of a span: what a block's postings can find.

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};

use crate::head::{HeadSpan, Origin};

/// What a term says of a trace: it has a span with …
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum TermKind {
    /// … resource attribute `service.name` = value.
    Service = 1,
    /// … this name.
    SpanName = 2,
    /// … this status code (`unset`, `ok`, `error`).
    Status = 3,
    /// … a resource attribute key = value (strings, integers, booleans as text).
    ResourceAttr = 4,
    /// … an indexed string span attribute key = value.
    SpanAttr = 5,
    /// … a span attribute with this key (value empty).
    SpanAttrKey = 6,
    /// … a span of service key with this name (Jaeger's operations).
    Operation = 7,
}

impl TermKind {
    pub fn from_u8(b: u8) -> Option<TermKind> {
        Some(match b {
            1 => TermKind::Service,
            2 => TermKind::SpanName,
            3 => TermKind::Status,
            4 => TermKind::ResourceAttr,
            5 => TermKind::SpanAttr,
            6 => TermKind::SpanAttrKey,
            7 => TermKind::Operation,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Term {
    pub kind: TermKind,
    pub key: String,
    pub value: String,
}

impl Term {
    pub fn new(kind: TermKind, key: &str, value: &str) -> Term {
        Term {
            kind,
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }
}

/// Longest attribute value indexed; longer ones are found by scanning.
pub(super) const MAX_VALUE: usize = 256;

/// Span attributes indexed by value (besides their keys): the
/// low-cardinality ones dashboards filter on.
pub const INDEXED_SPAN_ATTRS: &[&str] = &[
    "http.method",
    "http.request.method",
    "http.status_code",
    "http.response.status_code",
    "http.route",
    "db.system",
    "rpc.system",
    "rpc.service",
    "rpc.method",
    "messaging.system",
];

/// The status name of an OTLP status code.
pub fn status_name(code: i32) -> &'static str {
    match code {
        1 => "ok",
        2 => "error",
        _ => "unset",
    }
}

/// Calls `f` with every term of `s`.
pub fn span_terms(s: &HeadSpan, f: &mut dyn FnMut(TermKind, &str, &str)) {
    origin_terms(&s.origin, f);
    f(TermKind::SpanName, "", &s.span.name);
    if let Some(service) = s.origin.service_name() {
        f(TermKind::Operation, service, &s.span.name);
    }
    let code = s.span.status.as_ref().map_or(0, |st| st.code);
    f(TermKind::Status, "", status_name(code));
    for kv in &s.span.attributes {
        f(TermKind::SpanAttrKey, &kv.key, "");
        if INDEXED_SPAN_ATTRS.contains(&kv.key.as_str())
            && let Some(v) = scalar_text(kv)
        {
            f(TermKind::SpanAttr, &kv.key, &v);
        }
    }
}

/// Calls `f` with the terms of a resource (those every span of it has).
pub fn origin_terms(origin: &Origin, f: &mut dyn FnMut(TermKind, &str, &str)) {
    let Some(r) = &origin.resource else { return };
    for kv in &r.attributes {
        if kv.key == "service.name"
            && let Some(v) = short_string(kv)
        {
            f(TermKind::Service, "", v);
        }
        if let Some(v) = scalar_text(kv) {
            f(TermKind::ResourceAttr, &kv.key, &v);
        }
    }
}

fn short_string(kv: &KeyValue) -> Option<&str> {
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) if s.len() <= MAX_VALUE => Some(s),
        _ => None,
    }
}

/// Strings, integers, whole doubles and booleans as text (status codes
/// are often ints).
fn scalar_text(kv: &KeyValue) -> Option<String> {
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) if s.len() <= MAX_VALUE => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        // Whole doubles as integers, so `= 500` finds 500.0 too.
        any_value::Value::DoubleValue(d) if d.fract() == 0.0 && d.abs() < 1e15 => {
            Some((*d as i64).to_string())
        }
        _ => None,
    }
}
