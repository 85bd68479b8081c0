use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};

use super::super::writer::write_framed;
use super::super::{Term, TermKind, write};
use super::*;
use crate::head::{HeadSpan, LiveTrace, Origin, StoredSpan};

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn trace(id: u8, service: &str, names: &[&str], error: bool) -> (TraceId, LiveTrace) {
    let origin = Arc::new(Origin {
        resource: Some(Resource {
            attributes: vec![kv("service.name", service)],
            ..Default::default()
        }),
        ..Default::default()
    });
    let mut t = LiveTrace::new(0, 1);
    for (i, name) in names.iter().enumerate() {
        let span = Span {
            trace_id: vec![id; 16],
            span_id: vec![i as u8 + 1; 8],
            name: (*name).into(),
            start_time_unix_nano: 1_000 * u64::from(id) + i as u64,
            end_time_unix_nano: 1_000 * u64::from(id) + 10 + i as u64,
            attributes: vec![kv("http.route", "/x"), kv("user", "u1")],
            status: error.then(|| Status {
                code: 2,
                message: "boom".into(),
            }),
            ..Default::default()
        };
        t.push(
            StoredSpan::new(&HeadSpan {
                origin: origin.clone(),
                span,
            }),
            0,
            1,
        );
    }
    (TraceId([id; 16]), t)
}

fn sample_block(dir: &Path) -> Block {
    sample_block_framed(dir, None)
}

/// The sample block, with frames of `frame_bytes` (`None`: the default).
fn sample_block_framed(dir: &Path, frame_bytes: Option<usize>) -> Block {
    let traces = vec![
        trace(1, "api", &["GET /", "db"], false),
        trace(3, "api", &["POST /"], true),
        trace(7, "web", &["render"], false),
    ];
    let at = match frame_bytes {
        None => write(dir, &traces).unwrap(),
        Some(n) => write_framed(dir, &traces, n).unwrap(),
    };
    Block::open(&at).unwrap()
}

#[test]
fn traces_are_found_by_id_and_read_back_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let b = sample_block(tmp.path());
    assert_eq!((b.len(), b.meta().spans), (3, 4));
    assert_eq!((b.meta().min_time_ns, b.meta().max_time_ns), (1_000, 7_010));
    assert_eq!(b.find(&TraceId([2; 16])), None);
    let i = b.find(&TraceId([1; 16])).unwrap();
    let e = b.entry(i);
    assert_eq!((e.start_ns, e.end_ns, e.spans), (1_000, 1_011, 2));
    let rs = b.read(i).unwrap();
    let names: Vec<&str> = rs
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, vec!["GET /", "db"]);
    assert_eq!(rs.len(), 1, "one resource for spans of one origin");
}

#[test]
fn postings_find_traces_by_term() {
    let tmp = tempfile::tempdir().unwrap();
    let b = sample_block(tmp.path());
    let cases: &[(&str, Term, &[u32])] = &[
        ("service", Term::new(TermKind::Service, "", "api"), &[0, 1]),
        ("name", Term::new(TermKind::SpanName, "", "render"), &[2]),
        ("status", Term::new(TermKind::Status, "", "error"), &[1]),
        (
            "indexed attribute",
            Term::new(TermKind::SpanAttr, "http.route", "/x"),
            &[0, 1, 2],
        ),
        (
            "unindexed value",
            Term::new(TermKind::SpanAttr, "user", "u1"),
            &[],
        ),
        (
            "attribute key",
            Term::new(TermKind::SpanAttrKey, "user", ""),
            &[0, 1, 2],
        ),
        ("absent", Term::new(TermKind::Service, "", "nope"), &[]),
    ];
    for (name, term, want) in cases {
        let got: Vec<u32> = b.postings(term).unwrap().iter().collect();
        assert_eq!(&got, want, "{name}");
    }
}

#[test]
fn damage_is_reported_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    // One trace per frame, so damage to one frame spares the others.
    let b = sample_block_framed(tmp.path(), Some(1));
    let dir = b.dir().to_path_buf();
    drop(b);
    let cases: &[(&str, &str, usize, &str)] = &[
        ("index byte", "index", 20, "index checksum mismatch"),
        ("index magic", "index", 0, "bad magic"),
        ("data magic", "data", 1, "bad magic"),
    ];
    for (name, file, at, want) in cases {
        let path = dir.join(file);
        let good = std::fs::read(&path).unwrap();
        let mut bad = good.clone();
        bad[*at] ^= 0xff;
        std::fs::write(&path, &bad).unwrap();
        let err = Block::open(&dir)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(want), "{name}: {err}");
        std::fs::write(&path, &good).unwrap();
    }
    // A damaged frame fails its own reads only.
    let path = dir.join("data");
    let mut bad = std::fs::read(&path).unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    std::fs::write(&path, &bad).unwrap();
    let b = Block::open(&dir).unwrap();
    assert!(b.read(0).is_ok());
    let err = b.read(2).unwrap_err().to_string();
    assert!(err.contains("checksum mismatch in frame 2"), "{err}");
}

#[test]
fn a_newer_version_is_unsupported_not_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let b = sample_block(tmp.path());
    let dir = b.dir().to_path_buf();
    drop(b);
    let meta = dir.join("meta.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, text.replace("\"version\": 2", "\"version\": 9")).unwrap();
    let err = Block::open(&dir).err().unwrap();
    assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err}");
}

#[test]
fn traces_share_frames_and_read_back_in_any_order() {
    let tmp = tempfile::tempdir().unwrap();
    for frame_bytes in [1, 64, 1 << 20] {
        let traces: Vec<(TraceId, LiveTrace)> = (1..=40u8)
            .map(|i| {
                trace(
                    i,
                    if i % 2 == 0 { "api" } else { "web" },
                    &["a", "b", "c"],
                    i % 5 == 0,
                )
            })
            .collect();
        let b = Block::open(&write_framed(tmp.path(), &traces, frame_bytes).unwrap()).unwrap();
        for i in (0..40).rev().chain(0..40) {
            let rs = b.read(i).unwrap();
            let ids: Vec<u8> = rs
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .map(|s| s.trace_id[0])
                .collect();
            assert_eq!(
                ids,
                vec![i as u8 + 1; 3],
                "frames of {frame_bytes} bytes, trace {i}"
            );
        }
    }
}
