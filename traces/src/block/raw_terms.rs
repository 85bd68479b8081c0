//! A span's index terms read from its encoding without decoding it: the
//! block writer's hot path. The same terms as [`span_terms`] gives, in two
//! parts: [`origin_terms`] once per resource, [`raw_span_terms`] per span.
//!
//! [`span_terms`]: super::terms::span_terms
//! [`origin_terms`]: super::terms::origin_terms

use super::terms::{INDEXED_SPAN_ATTRS, MAX_VALUE, TermKind, status_name};
use crate::wire::{Field, Fields};

/// Walks the fields of a message; `None` at bytes that do not parse.
fn fields<'a>(b: &'a [u8], mut visit: impl FnMut(Field<'a>)) -> Option<()> {
    for f in Fields::new(b) {
        visit(f.ok()?);
    }
    Some(())
}

/// An attribute value as index text (strings up to the indexed length,
/// integers, booleans, whole doubles), from an `AnyValue` encoding.
fn value_text(b: &[u8], out: &mut String) -> Option<bool> {
    let mut found = false;
    out.clear();
    fields(b, |f| match f {
        Field::Bytes(1, s) if s.len() <= MAX_VALUE => {
            if let Ok(s) = std::str::from_utf8(s) {
                out.clear();
                out.push_str(s);
                found = true;
            }
        }
        Field::Varint(2, v) => {
            out.clear();
            out.push_str(if v != 0 { "true" } else { "false" });
            found = true;
        }
        Field::Varint(3, v) => {
            out.clear();
            out.push_str(&(v as i64).to_string());
            found = true;
        }
        Field::Fixed64(4, bits) => {
            let d = f64::from_bits(bits);
            if d.fract() == 0.0 && d.abs() < 1e15 {
                out.clear();
                out.push_str(&(d as i64).to_string());
                found = true;
            }
        }
        _ => {}
    })?;
    Some(found)
}

/// Calls `f` with the span-level terms of the `Span` encoded in `raw`
/// (name, operation of `service`, status, attribute keys, indexed
/// values); `None` when the bytes do not parse.
pub fn raw_span_terms(
    raw: &[u8],
    service: Option<&str>,
    f: &mut dyn FnMut(TermKind, &str, &str),
) -> Option<()> {
    let mut name = "";
    let mut code = 0u64;
    let mut text = String::new();
    let mut ok = true;
    fields(raw, |field| match field {
        Field::Bytes(5, s) => match std::str::from_utf8(s) {
            Ok(s) => name = s,
            Err(_) => ok = false,
        },
        Field::Bytes(9, kv) => {
            let (mut key, mut value) = (None, None);
            let parsed = fields(kv, |f| match f {
                Field::Bytes(1, k) => key = std::str::from_utf8(k).ok(),
                Field::Bytes(2, v) => value = Some(v),
                _ => {}
            });
            let Some(key) = key.filter(|_| parsed.is_some()) else {
                ok = false;
                return;
            };
            f(TermKind::SpanAttrKey, key, "");
            if INDEXED_SPAN_ATTRS.contains(&key)
                && let Some(v) = value
                && value_text(v, &mut text) == Some(true)
            {
                f(TermKind::SpanAttr, key, &text);
            }
        }
        Field::Bytes(15, st) => {
            let parsed = fields(st, |f| {
                if let Field::Varint(3, c) = f {
                    code = c;
                }
            });
            ok &= parsed.is_some();
        }
        _ => {}
    })?;
    if !ok {
        return None;
    }
    f(TermKind::SpanName, "", name);
    if let Some(service) = service {
        f(TermKind::Operation, service, name);
    }
    f(TermKind::Status, "", status_name(code as i32));
    Some(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{Span, Status};
    use proptest::prelude::*;

    use super::super::terms::{origin_terms, span_terms};
    use super::*;
    use crate::head::{HeadSpan, Origin, StoredSpan};

    type Terms = BTreeSet<(TermKind, String, String)>;

    fn collect(run: impl FnOnce(&mut dyn FnMut(TermKind, &str, &str))) -> Terms {
        let mut out = Terms::new();
        run(&mut |k, key, v| {
            out.insert((k, key.to_owned(), v.to_owned()));
        });
        out
    }

    fn value() -> impl Strategy<Value = any_value::Value> {
        use any_value::Value as V;
        prop_oneof![
            "[a-z/0-9]{0,12}".prop_map(V::StringValue),
            "x{250,260}".prop_map(V::StringValue),
            any::<i64>().prop_map(V::IntValue),
            any::<bool>().prop_map(V::BoolValue),
            prop_oneof![Just(500.0), Just(-2.5), Just(1e16), any::<f64>()].prop_map(V::DoubleValue),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("http.route".to_string()),
            Just("http.status_code".to_string()),
            Just("db.system".to_string()),
            "[a-z.]{1,10}",
        ]
    }

    proptest! {
        #[test]
        fn raw_terms_are_the_decoded_terms(
            name in "[a-zA-Z /]{0,20}",
            code in 0i32..3,
            attrs in proptest::collection::vec((key(), value()), 0..8),
            service in proptest::option::of("[a-z]{1,8}"),
        ) {
            let resource = Resource {
                attributes: service.iter().map(|s| KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue(s.clone())) }),
                    ..Default::default()
                }).collect(),
                ..Default::default()
            };
            let origin = Arc::new(Origin { resource: Some(resource), ..Default::default() });
            let span = Span {
                trace_id: vec![1; 16],
                span_id: vec![2; 8],
                name,
                status: (code > 0).then(|| Status { code, message: "m".into() }),
                attributes: attrs.into_iter().map(|(key, v)| KeyValue {
                    key,
                    value: Some(AnyValue { value: Some(v) }),
                    ..Default::default()
                }).collect(),
                ..Default::default()
            };
            let head = HeadSpan { origin: origin.clone(), span };
            let want = collect(|f| span_terms(&head, f));
            let stored = StoredSpan::new(&head);
            let mut parsed = false;
            let got = collect(|f| {
                origin_terms(&origin, f);
                parsed = raw_span_terms(stored.raw(), origin.service_name(), f).is_some();
            });
            prop_assert!(parsed);
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn damaged_bytes_are_refused() {
        for raw in [
            &[0x2a, 0x05, b'a'][..],
            &[0x4a, 0x02, 0x0a, 0x09][..],
            &[0xff][..],
            &[0x0b][..],
        ] {
            assert_eq!(
                raw_span_terms(raw, None, &mut |_, _, _| {}),
                None,
                "{raw:?}"
            );
        }
    }
}
