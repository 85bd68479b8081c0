use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, Status};

use super::*;
use crate::head::Origin;

fn policies(yaml: &str) -> Vec<PolicyConfig> {
    serde_json::from_str(yaml).unwrap()
}

fn attr(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

/// A trace of `n` spans lasting `ms`, with an error when `error`.
fn trace(n: usize, ms: u64, error: bool, attrs: Vec<KeyValue>) -> Vec<HeadSpan> {
    let origin = Arc::new(Origin::default());
    (0..n)
        .map(|i| HeadSpan {
            origin: origin.clone(),
            span: Span {
                trace_id: vec![1; 16],
                span_id: vec![i as u8 + 1; 8],
                start_time_unix_nano: 1_000_000_000,
                end_time_unix_nano: 1_000_000_000 + ms * 1_000_000,
                status: (error && i == n - 1).then(|| Status {
                    code: 2,
                    message: String::new(),
                }),
                attributes: attrs.clone(),
                ..Default::default()
            },
        })
        .collect()
}

const STANDARD: &str = r#"[
  {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
  {"name": "slow", "type": "latency", "latency": {"threshold_ms": 500}},
  {"name": "tenth", "type": "probabilistic", "probabilistic": {"sampling_percentage": 10}}
]"#;

#[test]
fn errors_and_slow_traces_are_kept_and_a_tenth_of_the_rest() {
    let s = Sampler::new(&policies(STANDARD)).unwrap();
    let id = TraceId([7; 16]);
    assert_eq!(
        s.decide(&id, &trace(3, 10, true, vec![])),
        (Verdict::Keep, "errors".into())
    );
    assert_eq!(
        s.decide(&id, &trace(3, 500, false, vec![])),
        (Verdict::Keep, "slow".into())
    );
    let mut kept = 0;
    let n = 20_000u64;
    for i in 0..n {
        // Ids as SDKs make them: random bytes (here a fixed-seed mix).
        let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (i << 29);
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&x.rotate_left(17).to_be_bytes());
        b[8..].copy_from_slice(&x.to_be_bytes());
        if s.decide(&TraceId(b), &trace(2, 10, false, vec![])).0 == Verdict::Keep {
            kept += 1;
        }
    }
    let pct = kept as f64 * 100.0 / n as f64;
    assert!((9.0..=11.0).contains(&pct), "kept {pct}%");
}

#[test]
fn policy_rules() {
    use any_value::Value::*;
    let cases: Vec<(&str, &str, Vec<HeadSpan>, Verdict)> = vec![
        (
            "always",
            r#"[{"name":"a","type":"always_sample"}]"#,
            trace(1, 1, false, vec![]),
            Verdict::Keep,
        ),
        (
            "no policy matched",
            r#"[{"name":"s","type":"span_count","span_count":{"min_spans":3}}]"#,
            trace(2, 1, false, vec![]),
            Verdict::Drop,
        ),
        (
            "span count",
            r#"[{"name":"s","type":"span_count","span_count":{"min_spans":2,"max_spans":2}}]"#,
            trace(2, 1, false, vec![]),
            Verdict::Keep,
        ),
        (
            "latency upper bound",
            r#"[{"name":"l","type":"latency","latency":{"threshold_ms":100,"upper_threshold_ms":200}}]"#,
            trace(1, 300, false, vec![]),
            Verdict::Drop,
        ),
        (
            "string attribute",
            r#"[{"name":"x","type":"string_attribute","string_attribute":{"key":"tier","values":["gold"]}}]"#,
            trace(1, 1, false, vec![attr("tier", StringValue("gold".into()))]),
            Verdict::Keep,
        ),
        (
            "string attribute regex",
            r#"[{"name":"x","type":"string_attribute","string_attribute":{"key":"route","values":["^/api/"],"enabled_regex_matching":true}}]"#,
            trace(
                1,
                1,
                false,
                vec![attr("route", StringValue("/api/v1".into()))],
            ),
            Verdict::Keep,
        ),
        (
            "inverted match drops",
            r#"[{"name":"x","type":"string_attribute","string_attribute":{"key":"route","values":["/health"],"invert_match":true}}, {"name":"a","type":"always_sample"}]"#,
            trace(
                1,
                1,
                false,
                vec![attr("route", StringValue("/health".into()))],
            ),
            Verdict::Drop,
        ),
        (
            "inverted no match keeps",
            r#"[{"name":"x","type":"string_attribute","string_attribute":{"key":"route","values":["/health"],"invert_match":true}}]"#,
            trace(1, 1, false, vec![attr("route", StringValue("/api".into()))]),
            Verdict::Keep,
        ),
        (
            "numeric attribute",
            r#"[{"name":"n","type":"numeric_attribute","numeric_attribute":{"key":"code","min_value":500,"max_value":599}}]"#,
            trace(1, 1, false, vec![attr("code", IntValue(503))]),
            Verdict::Keep,
        ),
        (
            "numeric out of range",
            r#"[{"name":"n","type":"numeric_attribute","numeric_attribute":{"key":"code","min_value":500,"max_value":599}}]"#,
            trace(1, 1, false, vec![attr("code", IntValue(200))]),
            Verdict::Drop,
        ),
        (
            "boolean attribute",
            r#"[{"name":"b","type":"boolean_attribute","boolean_attribute":{"key":"debug","value":true}}]"#,
            trace(1, 1, false, vec![attr("debug", BoolValue(true))]),
            Verdict::Keep,
        ),
        (
            "and needs all",
            r#"[{"name":"and","type":"and","and":{"and_sub_policy":[{"name":"e","type":"status_code","status_code":{"status_codes":["ERROR"]}},{"name":"l","type":"latency","latency":{"threshold_ms":100}}]}}]"#,
            trace(1, 50, true, vec![]),
            Verdict::Drop,
        ),
        (
            "drop wins",
            r#"[{"name":"a","type":"always_sample"},{"name":"d","type":"drop","drop":{"drop_sub_policy":[{"name":"e","type":"status_code","status_code":{"status_codes":["ERROR"]}}]}}]"#,
            trace(1, 1, true, vec![]),
            Verdict::Drop,
        ),
        (
            "composite",
            r#"[{"name":"c","type":"composite","composite":{"max_total_spans_per_second":100,"policy_order":["e"],"composite_sub_policy":[{"name":"e","type":"status_code","status_code":{"status_codes":["ERROR"]}}],"rate_allocation":[{"policy":"e","percent":50}]}}]"#,
            trace(2, 1, true, vec![]),
            Verdict::Keep,
        ),
    ];
    for (name, config, spans, want) in cases {
        let s = Sampler::new(&policies(config)).unwrap();
        assert_eq!(s.decide(&TraceId([1; 16]), &spans).0, want, "{name}");
    }
}

#[test]
fn rate_limiting_caps_spans_per_second() {
    let config = r#"[{"name":"r","type":"rate_limiting","rate_limiting":{"spans_per_second":5}}]"#;
    let secs = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    // Within one second, two traces of two spans fit under five spans a
    // second and the next two do not; try again if the second turned over.
    for _ in 0..5 {
        let s = Sampler::new(&policies(config)).unwrap();
        let before = secs();
        let verdicts: Vec<Verdict> = (0..4)
            .map(|_| s.decide(&TraceId([1; 16]), &trace(2, 1, false, vec![])).0)
            .collect();
        if secs() == before {
            assert_eq!(
                verdicts,
                vec![Verdict::Keep, Verdict::Keep, Verdict::Drop, Verdict::Drop]
            );
            return;
        }
    }
    panic!("five tries each crossed a second boundary");
}

#[test]
fn bad_configurations_name_the_policy() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "unknown type",
            r#"[{"name":"x","type":"nope"}]"#,
            "policies[0] (x): unknown policy type \"nope\"",
        ),
        (
            "missing section",
            r#"[{"name":"x","type":"latency"}]"#,
            "needs a `latency:` section",
        ),
        (
            "bad status",
            r#"[{"name":"x","type":"status_code","status_code":{"status_codes":["BAD"]}}]"#,
            "unknown status code \"BAD\"",
        ),
        (
            "bad percentage",
            r#"[{"name":"x","type":"probabilistic","probabilistic":{"sampling_percentage":120}}]"#,
            "sampling_percentage",
        ),
        (
            "bad regex",
            r#"[{"name":"x","type":"string_attribute","string_attribute":{"key":"k","values":["("],"enabled_regex_matching":true}}]"#,
            "regex \"(\"",
        ),
        (
            "empty and",
            r#"[{"name":"x","type":"and","and":{"and_sub_policy":[]}}]"#,
            "and_sub_policy is empty",
        ),
        (
            "nested error",
            r#"[{"name":"x","type":"and","and":{"and_sub_policy":[{"name":"y","type":"latency"}]}}]"#,
            "policies[0] (x).and_sub_policy[0] (y)",
        ),
        (
            "composite order",
            r#"[{"name":"c","type":"composite","composite":{"policy_order":["zz"],"composite_sub_policy":[{"name":"a","type":"always_sample"}]}}]"#,
            "policy_order names \"zz\"",
        ),
    ];
    for (name, config, want) in cases {
        let err = Sampler::new(&policies(config)).unwrap_err().to_string();
        assert!(err.contains(want), "{name}: {err}");
    }
}
