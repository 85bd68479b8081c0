//! What the span store accepts. A span that breaks a rule is refused with
//! its reason, whole: nothing is truncated or repaired, and the request's
//! other spans are kept.

mod span;

use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

pub use span::SpanFacts;

use crate::head::{Origin, StoredSpan};
use crate::id::TraceId;
use crate::wire::{Field, Fields};

/// Limits on one span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of an attribute (key and value, nested values summed),
    /// of the span, its resource, events and links.
    pub max_attribute_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_attribute_bytes: 16 << 10,
        }
    }
}

impl Limits {
    /// No limit beyond the rules every span keeps (replay: what was
    /// accepted once stays accepted whatever the limits are now).
    pub const NONE: Limits = Limits {
        max_attribute_bytes: usize::MAX,
    };
}

/// What validation kept and refused of a request.
#[derive(Debug, Default)]
pub struct Validated {
    /// The accepted spans, each its own bytes copied out of the request.
    pub spans: Vec<(TraceId, StoredSpan)>,
    pub rejected_spans: usize,
    /// The first few reasons, each naming its span.
    pub reasons: Vec<String>,
}

impl Validated {
    fn refuse(&mut self, reason: impl FnOnce() -> String) {
        self.rejected_spans += 1;
        if self.reasons.len() < MAX_REASONS {
            self.reasons.push(reason());
        }
    }
}

const MAX_REASONS: usize = 5;

/// Splits an encoded export request (or `TracesData`: both hold their
/// `ResourceSpans` in field 1) into accepted spans and refusals, without
/// decoding the spans. `Err` when the structure around the spans does not
/// parse (the request, a `ResourceSpans`, a `ScopeSpans`); a span whose
/// own bytes do not parse is refused alone.
pub fn validate(request: &[u8], limits: &Limits) -> Result<Validated, String> {
    let mut out = Validated::default();
    for f in Fields::new(request) {
        match f.map_err(|e| format!("request does not parse: {e}"))? {
            Field::Bytes(1, rs) => resource_spans(rs, limits, &mut out)?,
            f if f.number() == 1 => return Err(mismatch("request", &f)),
            _ => {}
        }
    }
    Ok(out)
}

fn mismatch(what: &str, f: &Field<'_>) -> String {
    format!(
        "{what} field {} has an unexpected {} payload",
        f.number(),
        f.wire()
    )
}

/// What the spans of one `ScopeSpans` share, and why they are all refused
/// when their resource or scope breaks a rule.
struct Base<'a> {
    resource: Option<&'a Resource>,
    schema_url: &'a str,
    refusal: Option<&'a str>,
}

fn resource_spans(b: &[u8], limits: &Limits, out: &mut Validated) -> Result<(), String> {
    let mut resource: Option<Resource> = None;
    let mut schema_url = "";
    let mut scopes = Vec::new();
    let mut refusal = None;
    for f in Fields::new(b) {
        match f.map_err(|e| format!("resource_spans does not parse: {e}"))? {
            Field::Bytes(1, r) => {
                if let Err(e) = resource.get_or_insert_default().merge(r) {
                    refusal.get_or_insert(format!("resource does not decode: {e}"));
                }
            }
            Field::Bytes(2, ss) => scopes.push(ss),
            Field::Bytes(3, u) => match std::str::from_utf8(u) {
                Ok(u) => schema_url = u,
                Err(_) => {
                    refusal.get_or_insert("resource schema_url is not UTF-8".to_string());
                }
            },
            f if f.number() <= 3 => return Err(mismatch("resource_spans", &f)),
            _ => {}
        }
    }
    if refusal.is_none()
        && let Some(r) = &resource
    {
        refusal = check_attributes(&r.attributes, limits).map(|e| format!("resource {e}"));
    }
    let base = Base {
        resource: resource.as_ref(),
        schema_url,
        refusal: refusal.as_deref(),
    };
    for ss in scopes {
        scope_spans(ss, &base, limits, out)?;
    }
    Ok(())
}

fn scope_spans(
    b: &[u8],
    base: &Base<'_>,
    limits: &Limits,
    out: &mut Validated,
) -> Result<(), String> {
    let mut scope: Option<InstrumentationScope> = None;
    let mut schema_url = "";
    let mut spans = Vec::new();
    let mut refusal = base.refusal.map(str::to_owned);
    for f in Fields::new(b) {
        match f.map_err(|e| format!("scope_spans does not parse: {e}"))? {
            Field::Bytes(1, s) => {
                if let Err(e) = scope.get_or_insert_default().merge(s) {
                    refusal.get_or_insert(format!("scope does not decode: {e}"));
                }
            }
            Field::Bytes(2, span) => spans.push(span),
            Field::Bytes(3, u) => match std::str::from_utf8(u) {
                Ok(u) => schema_url = u,
                Err(_) => {
                    refusal.get_or_insert("scope schema_url is not UTF-8".to_string());
                }
            },
            f if f.number() <= 3 => return Err(mismatch("scope_spans", &f)),
            _ => {}
        }
    }
    if refusal.is_none()
        && let Some(s) = &scope
    {
        refusal = check_attributes(&s.attributes, limits).map(|e| format!("scope {e}"));
    }
    if let Some(why) = refusal {
        for raw in spans {
            out.refuse(|| format!("{}: {why}", span::describe(raw)));
        }
        return Ok(());
    }
    let origin = Arc::new(Origin {
        resource: base.resource.cloned(),
        resource_schema_url: base.schema_url.to_owned(),
        scope,
        scope_schema_url: schema_url.to_owned(),
    });
    out.spans.reserve(spans.len());
    for raw in spans {
        match span::check(raw, limits) {
            Ok(facts) => out.spans.push((
                TraceId(facts.trace_id),
                StoredSpan::from_checked(origin.clone(), raw, facts),
            )),
            Err(why) => out.refuse(|| why),
        }
    }
    Ok(())
}

fn check_attributes(attrs: &[KeyValue], limits: &Limits) -> Option<String> {
    attrs.iter().find_map(|kv| {
        let size = kv.key.len() + kv.value.as_ref().map_or(0, value_size);
        (size > limits.max_attribute_bytes).then(|| {
            format!(
                "attribute {:?} is {size} bytes, over the limit of {}",
                kv.key.chars().take(64).collect::<String>(),
                limits.max_attribute_bytes
            )
        })
    })
}

fn value_size(v: &AnyValue) -> usize {
    match &v.value {
        None => 0,
        Some(any_value::Value::StringValue(s)) => s.len(),
        Some(any_value::Value::BytesValue(b)) => b.len(),
        Some(any_value::Value::ArrayValue(a)) => a.values.iter().map(value_size).sum(),
        Some(any_value::Value::KvlistValue(l)) => l
            .values
            .iter()
            .map(|kv| kv.key.len() + kv.value.as_ref().map_or(0, value_size))
            .sum(),
        Some(_) => 8,
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
