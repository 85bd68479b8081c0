//! One span checked in its encoding: every rule of the store, and every
//! check prost makes when it decodes a `Span` (wire types of known fields,
//! UTF-8 strings, nesting), so bytes accepted here decode later wherever
//! the store reads them.

use std::ops::Range;

use super::Limits;
use crate::id::hex;
use crate::wire::{Field, Fields};

/// Deepest nesting of attribute values (arrays and key-value lists).
/// Prost refuses past 100 levels of messages; a record adds four above a
/// span's values, and each level here is two messages.
const MAX_DEPTH: usize = 32;

/// What the head needs of an accepted span, read while checking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanFacts {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// All zero for a root span.
    pub parent_span_id: [u8; 8],
    pub kind: i32,
    pub status: i32,
    pub start_ns: u64,
    pub end_ns: u64,
    /// Where the name's bytes are in the span's encoding (empty when the
    /// span has none).
    pub name: Range<usize>,
}

/// What the walk saw; the rules are checked on it afterwards.
#[derive(Default)]
struct Seen<'a> {
    trace_id: &'a [u8],
    span_id: &'a [u8],
    parent: &'a [u8],
    name_at: Range<usize>,
    kind: i32,
    start: u64,
    end: u64,
    status: Option<i32>,
}

/// Checks the `Span` encoded in `raw`; the refusal names the span (its
/// name and ids as far as they were read) and the rule it breaks.
pub fn check(raw: &[u8], limits: &Limits) -> Result<SpanFacts, String> {
    let mut s = Seen::default();
    let checked = walk(raw, limits, &mut s).and_then(|()| rules(&s));
    checked.map_err(|e| format!("{}: {e}", describe(raw)))?;
    let id8 = |b: &[u8]| b.try_into().unwrap_or_default();
    Ok(SpanFacts {
        trace_id: s.trace_id.try_into().unwrap_or_default(),
        span_id: id8(s.span_id),
        parent_span_id: id8(s.parent),
        kind: s.kind,
        status: s.status.unwrap_or(0),
        start_ns: s.start,
        end_ns: s.end,
        name: s.name_at,
    })
}

/// A span named as refusals name it, for spans refused before their own
/// check (their resource or scope broke a rule).
pub fn describe(raw: &[u8]) -> String {
    let (mut name, mut id, mut trace): (&[u8], &[u8], &[u8]) = (b"", b"", b"");
    for f in Fields::new(raw).map_while(Result::ok) {
        match f {
            Field::Bytes(1, b) => trace = b,
            Field::Bytes(2, b) => id = b,
            Field::Bytes(5, b) => name = b,
            _ => {}
        }
    }
    format!(
        "span {:?} (id {}, trace {})",
        String::from_utf8_lossy(name),
        hex(id),
        hex(trace)
    )
}

fn walk<'a>(raw: &'a [u8], limits: &Limits, s: &mut Seen<'a>) -> Result<(), String> {
    let mut fields = Fields::new(raw);
    let mut links = 0usize;
    while let Some(f) = fields.next() {
        match f.map_err(|e| format!("does not parse: {e}"))? {
            Field::Bytes(1, b) => s.trace_id = b,
            Field::Bytes(2, b) => s.span_id = b,
            Field::Bytes(3, b) => {
                utf8(b, "trace_state")?;
            }
            Field::Bytes(4, b) => s.parent = b,
            Field::Bytes(5, b) => {
                utf8(b, "name")?;
                let end = raw.len() - fields.remaining();
                s.name_at = end - b.len()..end;
            }
            Field::Varint(6, k) => s.kind = k as i32,
            Field::Fixed64(7, t) => s.start = t,
            Field::Fixed64(8, t) => s.end = t,
            Field::Bytes(9, kv) => attribute(kv, limits)?,
            Field::Varint(10 | 12 | 14, _) | Field::Fixed32(16, _) => {}
            Field::Bytes(11, ev) => event(ev, limits)?,
            Field::Bytes(13, l) => {
                link(l, limits).map_err(|e| format!("link {links}: {e}"))?;
                links += 1;
            }
            Field::Bytes(15, st) => status(st, &mut s.status)?,
            f if f.number() <= 16 => return Err(mismatch(&f)),
            _ => {}
        }
    }
    Ok(())
}

/// The store's rules, in the order their reasons are given.
fn rules(s: &Seen<'_>) -> Result<(), String> {
    check_id(s.trace_id, 16, "trace_id")?;
    check_id(s.span_id, 8, "span_id")?;
    if !s.parent.is_empty() {
        check_id(s.parent, 8, "parent_span_id")?;
    }
    if s.end < s.start {
        return Err(format!(
            "ends before it starts (end {} < start {})",
            s.end, s.start
        ));
    }
    if s.start == 0 {
        return Err("start time is missing (0)".into());
    }
    if !(0..=5).contains(&s.kind) {
        return Err(format!("unknown span kind {}", s.kind));
    }
    if let Some(code) = s.status
        && !(0..=2).contains(&code)
    {
        return Err(format!("unknown status code {code}"));
    }
    Ok(())
}

pub(super) fn check_id(id: &[u8], len: usize, what: &str) -> Result<(), String> {
    if id.len() != len {
        return Err(format!("{what} is {} bytes, not {len}", id.len()));
    }
    if id.iter().all(|&b| b == 0) {
        return Err(format!("{what} is all zeros"));
    }
    Ok(())
}

fn utf8<'a>(b: &'a [u8], what: &str) -> Result<&'a str, String> {
    std::str::from_utf8(b).map_err(|e| format!("{what} is not UTF-8 ({e})"))
}

fn mismatch(f: &Field<'_>) -> String {
    format!(
        "field {} has an unexpected {} payload",
        f.number(),
        f.wire()
    )
}

/// `Status`: the code, merged as prost merges repeated messages (the last
/// code given wins).
fn status(b: &[u8], code: &mut Option<i32>) -> Result<(), String> {
    let mut got = code.unwrap_or(0);
    for f in Fields::new(b) {
        match f.map_err(|e| format!("status does not parse: {e}"))? {
            Field::Bytes(2, m) => {
                utf8(m, "status message")?;
            }
            Field::Varint(3, c) => got = c as i32,
            f if f.number() <= 3 => return Err(format!("status {}", mismatch(&f))),
            _ => {}
        }
    }
    *code = Some(got);
    Ok(())
}

/// `Event`: its attributes within limits; the refusal names the event.
fn event(b: &[u8], limits: &Limits) -> Result<(), String> {
    let mut name: &[u8] = b"";
    let mut first_error = None;
    for f in Fields::new(b) {
        let f = f.map_err(|e| format!("event does not parse: {e}"))?;
        let err = match f {
            Field::Fixed64(1, _) | Field::Varint(4, _) => None,
            Field::Bytes(2, n) => {
                utf8(n, "event name")?;
                name = n;
                None
            }
            Field::Bytes(3, kv) => attribute(kv, limits).err(),
            f if f.number() <= 4 => Some(format!("event {}", mismatch(&f))),
            _ => None,
        };
        first_error = first_error.or(err);
    }
    match first_error {
        None => Ok(()),
        Some(e) => Err(format!("event {:?}: {e}", String::from_utf8_lossy(name))),
    }
}

/// `Link`: ids of the right lengths, attributes within limits.
fn link(b: &[u8], limits: &Limits) -> Result<(), String> {
    let (mut trace_id, mut span_id): (&[u8], &[u8]) = (b"", b"");
    let mut first_error = None;
    for f in Fields::new(b) {
        let f = f.map_err(|e| format!("does not parse: {e}"))?;
        let err = match f {
            Field::Bytes(1, id) => {
                trace_id = id;
                None
            }
            Field::Bytes(2, id) => {
                span_id = id;
                None
            }
            Field::Bytes(3, ts) => utf8(ts, "trace_state").err(),
            Field::Bytes(4, kv) => attribute(kv, limits).err(),
            Field::Varint(5, _) | Field::Fixed32(6, _) => None,
            f if f.number() <= 6 => Some(mismatch(&f)),
            _ => None,
        };
        first_error = first_error.or(err);
    }
    check_id(trace_id, 16, "trace_id")?;
    check_id(span_id, 8, "span_id")?;
    first_error.map_or(Ok(()), Err)
}

/// `KeyValue`: well formed, key and value together within the limit.
pub(super) fn attribute(b: &[u8], limits: &Limits) -> Result<(), String> {
    let (key, size) = key_value(b, 0)?;
    if size > limits.max_attribute_bytes {
        return Err(format!(
            "attribute {:?} is {size} bytes, over the limit of {}",
            key.chars().take(64).collect::<String>(),
            limits.max_attribute_bytes
        ));
    }
    Ok(())
}

/// A `KeyValue`'s key and size: the key's bytes plus its value's.
fn key_value(b: &[u8], depth: usize) -> Result<(&str, usize), String> {
    let mut key = "";
    let mut value = Value::default();
    for f in Fields::new(b) {
        match f.map_err(|e| format!("attribute does not parse: {e}"))? {
            Field::Bytes(1, k) => key = utf8(k, "attribute key")?,
            Field::Bytes(2, v) => value.merge(v, depth)?,
            Field::Varint(3, _) => {}
            f if f.number() <= 3 => return Err(format!("attribute {}", mismatch(&f))),
            _ => {}
        }
    }
    Ok((key, key.len() + value.size))
}

/// An `AnyValue` as prost would decode it: the last variant given wins,
/// and a repeated array or list variant merges into the one before.
#[derive(Default)]
struct Value {
    variant: u32,
    size: usize,
}

impl Value {
    fn merge(&mut self, b: &[u8], depth: usize) -> Result<(), String> {
        if depth >= MAX_DEPTH {
            return Err(format!("attribute values nested deeper than {MAX_DEPTH}"));
        }
        for f in Fields::new(b) {
            let f = f.map_err(|e| format!("attribute value does not parse: {e}"))?;
            let size = match f {
                Field::Bytes(1, s) => utf8(s, "attribute value")?.len(),
                Field::Bytes(7, s) => s.len(),
                Field::Varint(2 | 3 | 8, _) | Field::Fixed64(4, _) => 8,
                Field::Bytes(5, array) => {
                    let mut total = 0;
                    for f in Fields::new(array) {
                        match f.map_err(|e| format!("array value does not parse: {e}"))? {
                            Field::Bytes(1, v) => {
                                let mut element = Value::default();
                                element.merge(v, depth + 1)?;
                                total += element.size;
                            }
                            f if f.number() == 1 => return Err(format!("array {}", mismatch(&f))),
                            _ => {}
                        }
                    }
                    total
                }
                Field::Bytes(6, list) => {
                    let mut total = 0;
                    for f in Fields::new(list) {
                        match f.map_err(|e| format!("key-value list does not parse: {e}"))? {
                            Field::Bytes(1, kv) => total += key_value(kv, depth + 1)?.1,
                            f if f.number() == 1 => {
                                return Err(format!("key-value list {}", mismatch(&f)));
                            }
                            _ => {}
                        }
                    }
                    total
                }
                f if f.number() <= 8 => return Err(format!("attribute value {}", mismatch(&f))),
                _ => continue,
            };
            let n = f.number();
            let merges = n == self.variant && (n == 5 || n == 6);
            self.size = if merges { self.size + size } else { size };
            self.variant = n;
        }
        Ok(())
    }
}
