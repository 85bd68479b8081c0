//! Attribute names and values for search autocompletion: from the blocks'
//! terms and a scan of the head.
//!
//! Block terms hold every resource attribute with a short string value,
//! every span attribute key, and the values of the indexed span
//! attributes; values of other span attributes are listed from the head.

use std::collections::BTreeSet;

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};

use crate::block::{TermKind, status_name};
use crate::store::SpanStore;

/// Where an attribute lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagScope {
    Span,
    Resource,
}

/// A tag value with its TraceQL type (`string`, `int`, `float`, `bool`,
/// `keyword` for status and kind literals).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TagValue {
    pub kind: &'static str,
    pub value: String,
}

impl SpanStore {
    /// Attribute names in `scope`, sorted.
    pub fn tag_names(&self, scope: TagScope) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for b in self.blocks() {
            for t in b.terms() {
                let wanted = match scope {
                    TagScope::Span => t.kind == TermKind::SpanAttrKey,
                    TagScope::Resource => t.kind == TermKind::ResourceAttr,
                };
                if wanted {
                    out.insert(t.key.clone());
                }
            }
        }
        self.head().for_each_trace(&mut |_, spans| {
            for s in spans {
                let attrs: &[KeyValue] = match scope {
                    TagScope::Span => &s.span.attributes,
                    TagScope::Resource => s.origin.resource.as_ref().map_or(&[], |r| &r.attributes),
                };
                out.extend(attrs.iter().map(|kv| kv.key.clone()));
            }
        });
        out
    }

    /// Values of attribute `key` in `scope` (`None`: either scope).
    pub fn tag_values(&self, scope: Option<TagScope>, key: &str) -> BTreeSet<TagValue> {
        let mut out = BTreeSet::new();
        for b in self.blocks() {
            for t in b.terms() {
                let in_scope = match t.kind {
                    TermKind::ResourceAttr => scope != Some(TagScope::Span),
                    TermKind::SpanAttr => scope != Some(TagScope::Resource),
                    _ => false,
                };
                if in_scope && t.key == key {
                    out.insert(TagValue {
                        kind: "string",
                        value: t.value.clone(),
                    });
                }
            }
        }
        self.head().for_each_trace(&mut |_, spans| {
            for s in spans {
                let resource = s
                    .origin
                    .resource
                    .as_ref()
                    .map_or(&[][..], |r| &r.attributes[..]);
                let lists: [(&[KeyValue], bool); 2] = [
                    (&s.span.attributes, scope != Some(TagScope::Resource)),
                    (resource, scope != Some(TagScope::Span)),
                ];
                for (attrs, wanted) in lists {
                    if !wanted {
                        continue;
                    }
                    for kv in attrs.iter().filter(|kv| kv.key == key) {
                        if let Some(v) = typed(kv) {
                            out.insert(v);
                        }
                    }
                }
            }
        });
        out
    }

    /// Values of an intrinsic: `name`, `status`, `kind`, `rootServiceName`.
    pub fn intrinsic_values(&self, intrinsic: &str) -> BTreeSet<TagValue> {
        let keyword = |v: &str| TagValue {
            kind: "keyword",
            value: v.to_owned(),
        };
        match intrinsic {
            "status" => (0..3).map(|c| keyword(status_name(c))).collect(),
            "kind" => [
                "unspecified",
                "internal",
                "server",
                "client",
                "producer",
                "consumer",
            ]
            .into_iter()
            .map(keyword)
            .collect(),
            "name" => self.term_values(TermKind::SpanName),
            "rootServiceName" | "resource.service.name" => self.term_values(TermKind::Service),
            _ => BTreeSet::new(),
        }
    }

    /// The span names of `service` (Jaeger's operations), sorted.
    pub fn operations(&self, service: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for b in self.blocks() {
            let terms = b
                .terms()
                .filter(|t| t.kind == TermKind::Operation && t.key == service);
            out.extend(terms.map(|t| t.value.clone()));
        }
        self.head().for_each_trace(&mut |_, spans| {
            for s in spans {
                if s.origin.service_name() == Some(service) {
                    out.insert(s.span.name.clone());
                }
            }
        });
        out
    }

    fn term_values(&self, kind: TermKind) -> BTreeSet<TagValue> {
        let mut out = BTreeSet::new();
        for b in self.blocks() {
            for t in b.terms().filter(|t| t.kind == kind) {
                out.insert(TagValue {
                    kind: "string",
                    value: t.value.clone(),
                });
            }
        }
        self.head().for_each_trace(&mut |_, spans| {
            for s in spans {
                let v = match kind {
                    TermKind::SpanName => Some(s.span.name.clone()),
                    _ => s.origin.resource.as_ref().and_then(|r| {
                        r.attributes
                            .iter()
                            .find(|kv| kv.key == "service.name")
                            .and_then(|kv| typed(kv).map(|v| v.value))
                    }),
                };
                if let Some(value) = v {
                    out.insert(TagValue {
                        kind: "string",
                        value,
                    });
                }
            }
        });
        out
    }
}

fn typed(kv: &KeyValue) -> Option<TagValue> {
    let (kind, value) = match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => ("string", s.clone()),
        any_value::Value::IntValue(i) => ("int", i.to_string()),
        any_value::Value::DoubleValue(d) => ("float", d.to_string()),
        any_value::Value::BoolValue(b) => ("bool", b.to_string()),
        _ => return None,
    };
    Some(TagValue { kind, value })
}
