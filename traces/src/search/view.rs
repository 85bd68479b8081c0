//! One trace's spans as TraceQL sees them ([`TraceView`]).

use std::collections::HashMap;

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};

use crate::head::HeadSpan;
use crate::id::hex;
use crate::traceql::{Kind, Status, TraceView, Value};

/// The spans of one trace, each with its resource's attributes.
pub struct SpanSet<'a> {
    pub spans: Vec<(&'a Span, &'a [KeyValue])>,
    parents: Vec<Option<usize>>,
    ids: Vec<String>,
    parent_ids: Vec<String>,
    trace_id: String,
    root: Option<usize>,
    start_ns: u64,
    end_ns: u64,
}

impl<'a> SpanSet<'a> {
    pub fn from_otlp(batch: &'a [ResourceSpans]) -> SpanSet<'a> {
        let mut spans = Vec::new();
        for rs in batch {
            let attrs = rs.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
            for ss in &rs.scope_spans {
                spans.extend(ss.spans.iter().map(|s| (s, attrs)));
            }
        }
        SpanSet::new(spans)
    }

    pub fn from_head(head: &'a [HeadSpan]) -> SpanSet<'a> {
        let spans = head
            .iter()
            .map(|h| {
                let attrs = h
                    .origin
                    .resource
                    .as_ref()
                    .map_or(&[][..], |r| &r.attributes[..]);
                (&h.span, attrs)
            })
            .collect();
        SpanSet::new(spans)
    }

    fn new(spans: Vec<(&'a Span, &'a [KeyValue])>) -> SpanSet<'a> {
        let by_id: HashMap<&[u8], usize> = spans
            .iter()
            .enumerate()
            .map(|(i, (s, _))| (&s.span_id[..], i))
            .collect();
        let parents: Vec<Option<usize>> = spans
            .iter()
            .map(|(s, _)| by_id.get(&s.parent_span_id[..]).copied())
            .collect();
        // The root: the span without a parent id; else (a partial trace)
        // the earliest span whose parent is not here.
        let root = spans
            .iter()
            .position(|(s, _)| s.parent_span_id.is_empty())
            .or_else(|| {
                (0..spans.len())
                    .filter(|&i| parents[i].is_none())
                    .min_by_key(|&i| spans[i].0.start_time_unix_nano)
            });
        let start_ns = spans
            .iter()
            .map(|(s, _)| s.start_time_unix_nano)
            .min()
            .unwrap_or(0);
        let end_ns = spans
            .iter()
            .map(|(s, _)| s.end_time_unix_nano)
            .max()
            .unwrap_or(0);
        SpanSet {
            ids: spans.iter().map(|(s, _)| hex(&s.span_id)).collect(),
            parent_ids: spans.iter().map(|(s, _)| hex(&s.parent_span_id)).collect(),
            trace_id: spans
                .first()
                .map_or_else(String::new, |(s, _)| hex(&s.trace_id)),
            spans,
            parents,
            root,
            start_ns,
            end_ns,
        }
    }

    pub fn start_ns(&self) -> u64 {
        self.start_ns
    }

    pub fn root(&self) -> Option<usize> {
        self.root
    }

    /// The `service.name` of span `i`'s resource.
    pub fn service(&self, i: usize) -> Option<&'a str> {
        string_attr(self.spans[i].1, "service.name")
    }
}

fn string_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

fn value<'a>(attrs: &'a [KeyValue], key: &str) -> Option<Value<'a>> {
    let v = attrs
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?;
    Some(match v {
        any_value::Value::StringValue(s) => Value::Str(s),
        any_value::Value::IntValue(i) => Value::Int(*i),
        any_value::Value::DoubleValue(d) => Value::Float(*d),
        any_value::Value::BoolValue(b) => Value::Bool(*b),
        _ => return None,
    })
}

/// The TraceQL kind of an OTLP span kind.
pub fn kind(k: i32) -> Kind {
    match k {
        1 => Kind::Internal,
        2 => Kind::Server,
        3 => Kind::Client,
        4 => Kind::Producer,
        5 => Kind::Consumer,
        _ => Kind::Unspecified,
    }
}

/// The TraceQL status of an OTLP status code.
pub fn status(s: &Span) -> Status {
    match s.status.as_ref().map_or(0, |st| st.code) {
        1 => Status::Ok,
        2 => Status::Error,
        _ => Status::Unset,
    }
}

impl TraceView for SpanSet<'_> {
    fn len(&self) -> usize {
        self.spans.len()
    }

    fn name(&self, span: usize) -> &str {
        &self.spans[span].0.name
    }

    fn status(&self, span: usize) -> Status {
        status(self.spans[span].0)
    }

    fn status_message(&self, span: usize) -> &str {
        self.spans[span]
            .0
            .status
            .as_ref()
            .map_or("", |s| s.message.as_str())
    }

    fn kind(&self, span: usize) -> Kind {
        kind(self.spans[span].0.kind)
    }

    fn duration_ns(&self, span: usize) -> u64 {
        let s = self.spans[span].0;
        s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano)
    }

    fn parent(&self, span: usize) -> Option<usize> {
        self.parents[span]
    }

    fn span_attr(&self, span: usize, key: &str) -> Option<Value<'_>> {
        value(&self.spans[span].0.attributes, key)
    }

    fn resource_attr(&self, span: usize, key: &str) -> Option<Value<'_>> {
        value(self.spans[span].1, key)
    }

    fn root_name(&self) -> Option<&str> {
        self.root.map(|r| self.spans[r].0.name.as_str())
    }

    fn root_service_name(&self) -> Option<&str> {
        self.root.and_then(|r| self.service(r))
    }

    fn trace_duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    fn span_id(&self, span: usize) -> Option<&str> {
        Some(&self.ids[span])
    }

    fn parent_id(&self, span: usize) -> Option<&str> {
        Some(self.parent_ids[span].as_str()).filter(|s| !s.is_empty())
    }

    fn trace_id(&self) -> Option<&str> {
        Some(&self.trace_id)
    }
}
