//! Tail sampling at the store through the real server: the real
//! OpenTelemetry Python SDK sends 2000 traces; with the collector's
//! `status_code: ERROR`, `latency > 500ms` and `probabilistic 10%`
//! policies every error and slow trace is kept, the rest within three
//! points of 10%, the decisions are counted by policy, and a late span of
//! a dropped trace stays dropped.

use std::process::Command;
use std::time::{Duration, Instant};

use almanac::harness::TestServer;
use almanac::span_gen;
use prost::Message;
use serde_json::Value;

const POLICIES: &str = r#"{
  "decision_wait": "1s",
  "policies": [
    {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
    {"name": "slow", "type": "latency", "latency": {"threshold_ms": 500}},
    {"name": "tenth", "type": "probabilistic", "probabilistic": {"sampling_percentage": 10}}
  ]
}"#;

/// The value of an unlabelled or fully labelled sample in `/metrics`.
fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn found(s: &TestServer, id: &str) -> bool {
    let r = almanac::harness::request(
        s.addr,
        "GET",
        &format!("/api/traces/{id}"),
        &[("Accept", "application/protobuf")],
        b"",
    )
    .unwrap();
    assert!(r.status == 200 || r.status == 404, "{id}: {}", r.status);
    r.status == 200
}

#[test]
fn errors_and_slow_traces_are_kept_and_a_tenth_of_the_rest() {
    let s = TestServer::start_with(|c| {
        c.traces.tail_sampling = Some(serde_json::from_str(POLICIES).expect("policies"));
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp/traces.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("http://{}/v1/traces", s.addr))
        .arg("sampling")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kinds: Value = serde_json::from_slice(&out.stdout).expect("recorded JSON");
    let kinds = kinds.as_object().expect("trace kinds");
    assert_eq!(kinds.len(), 2000);

    // Every trace is decided once it has been quiet for a second.
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = s.get("/metrics").text();
        let decided = metric(&text, "almanac_traces_kept_total")
            + metric(&text, "almanac_traces_dropped_total");
        if decided == 2000 {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "{decided} of 2000 decided:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };

    let mut fast = (0, 0);
    for (id, kind) in kinds {
        let kept = found(&s, id);
        match kind.as_str() {
            Some("error") | Some("slow") => assert!(kept, "{kind} trace {id} dropped"),
            _ => {
                fast.0 += 1;
                fast.1 += usize::from(kept);
            }
        }
    }
    let pct = fast.1 as f64 * 100.0 / fast.0 as f64;
    assert!(
        (7.0..=13.0).contains(&pct),
        "kept {pct:.1}% of {} fast traces",
        fast.0
    );

    // Verdicts by the policy that gave them.
    let by = |policy: &str, decision: &str| {
        metric(
            &text,
            &format!(
                "almanac_traces_sampling_decisions_total{{policy=\"{policy}\",decision=\"{decision}\"}}"
            ),
        )
    };
    assert_eq!(by("errors", "sampled"), 200, "{text}");
    assert_eq!(by("slow", "sampled"), 200, "{text}");
    assert_eq!(by("tenth", "sampled") as usize, fast.1, "{text}");
    assert_eq!(
        by("no_policy_matched", "not_sampled") as usize,
        fast.0 - fast.1,
        "{text}"
    );

    // A late span of a dropped trace follows its verdict.
    let dropped = kinds
        .keys()
        .find(|id| !found(&s, id))
        .expect("a dropped trace")
        .clone();
    let mut tid = [0u8; 16];
    for (i, b) in tid.iter_mut().enumerate() {
        *b = u8::from_str_radix(&dropped[2 * i..2 * i + 2], 16).unwrap();
    }
    let late = span_gen::request(
        "late",
        vec![span_gen::span(
            tid,
            77,
            None,
            "late",
            1_765_000_000_000_000_000,
            1_000,
        )],
    );
    let r = s.post(
        "/v1/traces",
        &[("Content-Type", "application/x-protobuf")],
        &late.encode_to_vec(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !found(&s, &dropped),
        "the late span of a dropped trace was kept"
    );
    let text = s.get("/metrics").text();
    assert_eq!(
        metric(&text, "almanac_late_spans_dropped_total"),
        1,
        "{text}"
    );
}
