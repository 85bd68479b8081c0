use super::*;

/// Per stream (its labels printed): time, line and metadata count.
type Lines = Vec<(String, Vec<(i64, String, usize)>)>;

fn lines(d: &Decoded) -> Lines {
    d.streams
        .iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.entries
                    .iter()
                    .map(|e| (e.ts, e.line.clone(), e.metadata.len()))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn json_bodies() {
    type Case<'a> = (&'a str, &'a str, usize, usize, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "two streams, metadata",
            r#"{"streams":[{"stream":{"app":"api"},"values":[["1","a"],["2","b",{"trace_id":"t1"}]]},{"stream":{"app":"db"},"values":[["3","c"]]}]}"#,
            3,
            0,
            None,
        ),
        (
            "timestamp as a number",
            r#"{"streams":[{"stream":{"app":"api"},"values":[[1,"a"],["2","b"]]}]}"#,
            1,
            1,
            Some("value 0: timestamp must be a string of nanoseconds, got 1"),
        ),
        (
            "timestamp not an integer",
            r#"{"streams":[{"stream":{"app":"api"},"values":[["soon","a"]]}]}"#,
            0,
            1,
            Some("\"soon\" is not an integer"),
        ),
        (
            "bad label name, other stream kept",
            r#"{"streams":[{"stream":{"a-b":"x"},"values":[["1","a"]]},{"stream":{"app":"ok"},"values":[["1","b"]]}]}"#,
            1,
            1,
            Some("invalid label name \"a-b\""),
        ),
        (
            "label value not a string",
            r#"{"streams":[{"stream":{"app":5},"values":[["1","a"]]}]}"#,
            0,
            1,
            Some("label \"app\" must be a string"),
        ),
        (
            "metadata not strings",
            r#"{"streams":[{"stream":{"app":"x"},"values":[["1","a",{"k":1}]]}]}"#,
            0,
            1,
            Some("structured metadata \"k\" must be a string"),
        ),
        (
            "unknown fields ignored",
            r#"{"streams":[{"stream":{"app":"x"},"values":[["1","a"]],"extra":true}],"more":1}"#,
            1,
            0,
            None,
        ),
    ];
    for (name, body, kept, refused, why) in cases {
        let d = decode_json(body.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: usize = d.streams.iter().map(|s| s.entries.len()).sum();
        assert_eq!((got, d.refused), (kept, refused), "{name}: {:?}", d.reasons);
        if let Some(w) = why {
            assert!(
                d.reasons.iter().any(|r| r.contains(w)),
                "{name}: {:?}",
                d.reasons
            );
        }
    }
    let d = decode_json(cases_first().as_bytes()).unwrap();
    assert_eq!(
        lines(&d),
        vec![(
            "{app=\"api\"}".to_string(),
            vec![(1, "a".to_string(), 0), (2, "b".to_string(), 1)]
        )]
    );
}

fn cases_first() -> String {
    r#"{"streams":[{"stream":{"app":"api"},"values":[["1","a"],["2","b",{"trace_id":"t1"}]]}]}"#
        .into()
}

#[test]
fn json_bodies_that_fail_whole() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("malformed", b"{\"streams\": [", "decoding JSON push body"),
        (
            "not the push shape",
            b"{\"entries\": []}",
            "expected {\"streams\"",
        ),
        ("empty body", b"", "decoding JSON push body"),
    ];
    for (name, body, want) in cases {
        let e = decode_json(body).expect_err(name).to_string();
        assert!(e.contains(want), "{name}: {e}");
    }
}

#[test]
fn json_bytes_that_are_not_utf8_refuse_only_their_value() {
    let mut body =
        br#"{"streams": [{"stream": {"app": "a"}, "values": [["1", "ok"], ["2", "bad "#.to_vec();
    body.extend_from_slice(b"\xff\xfe");
    body.extend_from_slice(br#""], ["3", "also ok \ufffd"]]}]}"#);
    let d = decode_json(&body).expect("the body decodes");
    let lines: Vec<&str> = d.streams[0]
        .entries
        .iter()
        .map(|e| e.line.as_str())
        .collect();
    assert_eq!(
        lines,
        vec!["ok"],
        "a genuine U+FFFD in a damaged body goes too"
    );
    assert_eq!(d.refused, 2);
    let clean = br#"{"streams": [{"stream": {"app": "a"}, "values": [["3", "kept \ufffd"]]}]}"#;
    assert_eq!(
        decode_json(clean).expect("decodes").streams[0]
            .entries
            .len(),
        1
    );
}

fn entry(seconds: i64, line: &[u8]) -> proto::EntryAdapter {
    proto::EntryAdapter {
        timestamp: Some(proto::Timestamp { seconds, nanos: 5 }),
        line: line.to_vec(),
        structured_metadata: vec![],
    }
}

#[test]
fn protobuf_bodies() {
    let req = proto::PushRequest {
        streams: vec![
            proto::StreamAdapter {
                labels: br#"{app="api", env="prod"}"#.to_vec(),
                entries: vec![entry(1, b"ok"), entry(2, b"\xff\xfe"), entry(3, b"fine")],
                hash: 0,
            },
            proto::StreamAdapter {
                labels: br#"{app=~"x"}"#.to_vec(),
                entries: vec![entry(1, b"a")],
                hash: 0,
            },
            proto::StreamAdapter {
                labels: b"not labels".to_vec(),
                entries: vec![entry(1, b"a"), entry(2, b"b")],
                hash: 0,
            },
        ],
    };
    let d = decode_protobuf(&req.encode_to_vec()).unwrap();
    assert_eq!(
        lines(&d),
        vec![(
            "{app=\"api\", env=\"prod\"}".to_string(),
            vec![
                (1_000_000_005, "ok".to_string(), 0),
                (3_000_000_005, "fine".to_string(), 0)
            ]
        )]
    );
    assert_eq!(d.refused, 4, "{:?}", d.reasons);
    let all = d.reasons.join("\n");
    for want in [
        "entry 1: line is not UTF-8",
        "only name=\"value\" pairs",
        "labels \"not labels\"",
    ] {
        assert!(all.contains(want), "{want}: {all}");
    }
    assert!(
        decode_protobuf(b"\x0a\x05ab").is_err(),
        "malformed protobuf fails whole"
    );
}
