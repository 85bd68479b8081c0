use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use proptest::prelude::*;

use super::*;

fn good() -> Span {
    Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: "op".into(),
        start_time_unix_nano: 100,
        end_time_unix_nano: 200,
        ..Default::default()
    }
}

fn string_attr(key: &str, len: usize) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue("x".repeat(len))),
        }),
        ..Default::default()
    }
}

const LIMITS: Limits = Limits {
    max_attribute_bytes: 100,
};

fn check(span: &Span) -> Result<SpanFacts, String> {
    span::check(&span.encode_to_vec(), &LIMITS)
}

#[test]
fn span_rules() {
    let nested = |depth: usize| {
        let mut v = AnyValue {
            value: Some(any_value::Value::IntValue(1)),
        };
        for _ in 0..depth {
            v = AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![v] })),
            };
        }
        KeyValue {
            key: "deep".into(),
            value: Some(v),
            ..Default::default()
        }
    };
    let cases: Vec<(&str, Span, Option<&str>)> = vec![
        ("valid", good(), None),
        (
            "short trace id",
            Span {
                trace_id: vec![1; 8],
                ..good()
            },
            Some("trace_id is 8 bytes, not 16"),
        ),
        (
            "zero span id",
            Span {
                span_id: vec![0; 8],
                ..good()
            },
            Some("span_id is all zeros"),
        ),
        (
            "bad parent",
            Span {
                parent_span_id: vec![3; 4],
                ..good()
            },
            Some("parent_span_id is 4 bytes"),
        ),
        (
            "ends first",
            Span {
                end_time_unix_nano: 50,
                ..good()
            },
            Some("ends before it starts"),
        ),
        (
            "no start",
            Span {
                start_time_unix_nano: 0,
                end_time_unix_nano: 0,
                ..good()
            },
            Some("start time is missing"),
        ),
        (
            "kind",
            Span { kind: 9, ..good() },
            Some("unknown span kind 9"),
        ),
        (
            "status",
            Span {
                status: Some(Status {
                    code: 7,
                    message: String::new(),
                }),
                ..good()
            },
            Some("unknown status code 7"),
        ),
        (
            "attribute at the limit",
            Span {
                attributes: vec![string_attr("k", 99)],
                ..good()
            },
            None,
        ),
        (
            "attribute over the limit",
            Span {
                attributes: vec![string_attr("k", 100)],
                ..good()
            },
            Some("attribute \"k\" is 101 bytes"),
        ),
        (
            "event attribute over the limit",
            Span {
                events: vec![Event {
                    name: "ev".into(),
                    attributes: vec![string_attr("k", 100)],
                    ..Default::default()
                }],
                ..good()
            },
            Some("event \"ev\": attribute \"k\""),
        ),
        (
            "list of values summed",
            Span {
                attributes: vec![KeyValue {
                    key: "l".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::KvlistValue(KeyValueList {
                            values: vec![string_attr("a", 50), string_attr("b", 50)],
                        })),
                    }),
                    ..Default::default()
                }],
                ..good()
            },
            Some("attribute \"l\" is 103 bytes"),
        ),
        (
            "link with a bad id",
            Span {
                links: vec![Link {
                    trace_id: vec![1; 16],
                    span_id: vec![],
                    ..Default::default()
                }],
                ..good()
            },
            Some("link 0: span_id is 0 bytes"),
        ),
        (
            "nested 31 deep",
            Span {
                attributes: vec![nested(31)],
                ..good()
            },
            None,
        ),
        (
            "nested 32 deep",
            Span {
                attributes: vec![nested(32)],
                ..good()
            },
            Some("nested deeper than 32"),
        ),
    ];
    for (name, span, want) in cases {
        match (check(&span), want) {
            (Ok(_), None) => {}
            (Err(g), Some(w)) => {
                assert!(g.contains(w), "{name}: {g}");
                assert!(
                    g.starts_with(&format!("span {:?}", span.name)),
                    "{name}: {g}"
                );
            }
            (g, w) => panic!("{name}: got {g:?}, want {w:?}"),
        }
    }
}

/// Bytes prost would not decode are refused with the reason.
#[test]
fn encodings_prost_refuses() {
    let base = good().encode_to_vec();
    let with = |extra: &[u8]| [&base[..], extra].concat();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "name not UTF-8",
            with(&[0x2a, 2, 0xff, 0xfe]),
            "name is not UTF-8",
        ),
        (
            "name as a varint",
            with(&[0x28, 1]),
            "field 5 has an unexpected varint",
        ),
        (
            "kind as bytes",
            with(&[0x32, 0]),
            "field 6 has an unexpected length-delimited",
        ),
        (
            "truncated",
            with(&[0x2a, 9, b'a']),
            "does not parse: truncated",
        ),
        (
            "attribute key not UTF-8",
            with(&[0x4a, 4, 0x0a, 2, 0xc3, 0x28]),
            "attribute key is not UTF-8",
        ),
        (
            "status message not UTF-8",
            with(&[0x7a, 3, 0x12, 1, 0xff]),
            "status message is not UTF-8",
        ),
    ];
    for (name, raw, want) in cases {
        assert!(Span::decode(&raw[..]).is_err(), "{name}: prost decodes it");
        let got = span::check(&raw, &LIMITS).unwrap_err();
        assert!(got.contains(want), "{name}: {got}");
    }
}

fn request(spans: Vec<Vec<Span>>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: spans
            .into_iter()
            .map(|spans| ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
    .encode_to_vec()
}

#[test]
fn refused_spans_leave_the_rest() {
    let bad = Span {
        trace_id: vec![],
        ..good()
    };
    let v = validate(
        &request(vec![vec![good(), bad.clone()], vec![bad]]),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((v.spans.len(), v.rejected_spans), (1, 2));
    assert_eq!(v.spans[0].1.decode().span, good());
    assert_eq!(v.spans[0].1.name(), "op");
    assert_eq!(v.reasons.len(), 2);
    assert!(
        v.reasons[0].contains("trace_id is 0 bytes"),
        "{:?}",
        v.reasons
    );
}

#[test]
fn a_resource_over_the_limits_refuses_its_spans_only() {
    let mut req =
        ExportTraceServiceRequest::decode(&request(vec![vec![good()], vec![good()]])[..]).unwrap();
    req.resource_spans[0].resource = Some(Resource {
        attributes: vec![string_attr("big", 200)],
        ..Default::default()
    });
    let v = validate(&req.encode_to_vec(), &LIMITS).unwrap();
    assert_eq!((v.spans.len(), v.rejected_spans), (1, 1));
    assert!(
        v.reasons[0].starts_with("span \"op\" (id 0202020202020202")
            && v.reasons[0].contains("resource attribute \"big\""),
        "{:?}",
        v.reasons
    );
}

#[test]
fn structure_that_does_not_parse_fails_the_request() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("truncated", &[0x0a, 0x05, 1], "request does not parse"),
        ("resource_spans as varint", &[0x08, 1], "request field 1"),
        (
            "scope_spans truncated",
            &[0x0a, 0x02, 0x12, 0x05],
            "resource_spans does not parse",
        ),
    ];
    for (name, b, want) in cases {
        let got = validate(b, &LIMITS).unwrap_err();
        assert!(got.contains(want), "{name}: {got}");
    }
    let empty = validate(&[], &LIMITS).unwrap();
    assert_eq!((empty.spans.len(), empty.rejected_spans), (0, 0));
}

/// The reference: prost's decoding and the rules applied to the message.
fn reference_ok(span: &Span) -> bool {
    let id = |b: &[u8], n: usize| b.len() == n && b.iter().any(|&x| x != 0);
    let attrs_ok = |a: &[KeyValue]| check_attributes(a, &LIMITS).is_none();
    id(&span.trace_id, 16)
        && id(&span.span_id, 8)
        && (span.parent_span_id.is_empty() || id(&span.parent_span_id, 8))
        && span.end_time_unix_nano >= span.start_time_unix_nano
        && span.start_time_unix_nano != 0
        && (0..=5).contains(&span.kind)
        && span
            .status
            .as_ref()
            .is_none_or(|s| (0..=2).contains(&s.code))
        && attrs_ok(&span.attributes)
        && span.events.iter().all(|e| attrs_ok(&e.attributes))
        && span
            .links
            .iter()
            .all(|l| id(&l.trace_id, 16) && id(&l.span_id, 8) && attrs_ok(&l.attributes))
}

fn value() -> impl Strategy<Value = AnyValue> {
    use any_value::Value as V;
    let leaf = prop_oneof![
        "[a-z]{0,40}".prop_map(V::StringValue),
        any::<i64>().prop_map(V::IntValue),
        any::<bool>().prop_map(V::BoolValue),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(V::BytesValue),
    ]
    .prop_map(|v| AnyValue { value: Some(v) });
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|values| AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue { values }))
            }),
            proptest::collection::vec(("[a-z]{1,5}", inner), 0..4).prop_map(|kvs| AnyValue {
                value: Some(any_value::Value::KvlistValue(KeyValueList {
                    values: kvs
                        .into_iter()
                        .map(|(key, v)| KeyValue {
                            key,
                            value: Some(v),
                            ..Default::default()
                        })
                        .collect(),
                })),
            }),
        ]
    })
}

fn attrs() -> impl Strategy<Value = Vec<KeyValue>> {
    proptest::collection::vec(("[a-z.]{1,20}", value()), 0..4).prop_map(|kvs| {
        kvs.into_iter()
            .map(|(key, v)| KeyValue {
                key,
                value: Some(v),
                ..Default::default()
            })
            .collect()
    })
}

fn span_strategy() -> impl Strategy<Value = Span> {
    let id = |n: usize| {
        prop_oneof![
            Just(vec![7; n]),
            proptest::collection::vec(any::<u8>(), 0..18)
        ]
    };
    (
        (
            id(16),
            id(8),
            prop_oneof![Just(vec![]), id(8)],
            "[a-zA-Z /]{0,12}",
        ),
        (
            0..7i32,
            0u64..3,
            0u64..3,
            prop_oneof![Just(None), (0..4i32).prop_map(Some)],
        ),
        (attrs(), attrs(), proptest::option::of((id(16), id(8)))),
    )
        .prop_map(
            |(
                (trace_id, span_id, parent_span_id, name),
                (kind, start, len, status),
                (attributes, event_attrs, link),
            )| Span {
                trace_id,
                span_id,
                parent_span_id,
                name,
                kind,
                start_time_unix_nano: start,
                end_time_unix_nano: (start + len).saturating_sub(1),
                status: status.map(|code| Status {
                    code,
                    message: "m".into(),
                }),
                attributes,
                events: vec![Event {
                    name: "e".into(),
                    attributes: event_attrs,
                    ..Default::default()
                }],
                links: link
                    .map(|(trace_id, span_id)| Link {
                        trace_id,
                        span_id,
                        ..Default::default()
                    })
                    .into_iter()
                    .collect(),
                ..Default::default()
            },
        )
}

proptest! {
    /// A span prost encodes is accepted exactly when the rules hold of the
    /// decoded message, and the facts read are the message's.
    #[test]
    fn agrees_with_the_decoded_reference(span in span_strategy()) {
        let raw = span.encode_to_vec();
        match span::check(&raw, &LIMITS) {
            Ok(facts) => {
                prop_assert!(reference_ok(&span));
                prop_assert_eq!(&facts.trace_id[..], &span.trace_id[..]);
                prop_assert_eq!(&raw[facts.name.clone()], span.name.as_bytes());
                prop_assert_eq!(facts.kind, span.kind);
                prop_assert_eq!(facts.status, span.status.as_ref().map_or(0, |s| s.code));
                prop_assert_eq!((facts.start_ns, facts.end_ns), (span.start_time_unix_nano, span.end_time_unix_nano));
            }
            Err(why) => prop_assert!(!reference_ok(&span), "refused: {}", why),
        }
    }

    /// Whatever the bytes, an accepted span decodes with prost.
    #[test]
    fn accepted_bytes_decode(span in span_strategy(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut raw = span.encode_to_vec();
        for (at, byte) in flips {
            if !raw.is_empty() {
                let i = at.index(raw.len());
                raw[i] = byte;
            }
        }
        if let Ok(facts) = span::check(&raw, &Limits::NONE) {
            let decoded = Span::decode(&raw[..]);
            prop_assert!(decoded.is_ok(), "accepted but prost says {:?}", decoded.err());
            let decoded = decoded.unwrap();
            prop_assert_eq!(&facts.trace_id[..], &decoded.trace_id[..]);
            prop_assert_eq!(&raw[facts.name], decoded.name.as_bytes());
        }
    }
}
