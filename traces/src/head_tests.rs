use std::sync::Arc;

use opentelemetry_proto::tonic::trace::v1::Span;

use super::*;

fn span(trace: u8, id: u8) -> (TraceId, StoredSpan) {
    let tid = TraceId([trace; 16]);
    (
        tid,
        StoredSpan::new(&HeadSpan {
            origin: Arc::new(Origin::default()),
            span: Span {
                trace_id: tid.0.to_vec(),
                span_id: vec![id; 8],
                start_time_unix_nano: 1,
                end_time_unix_nano: 2,
                ..Default::default()
            },
        }),
    )
}

fn keep_all(_: &TraceId, _: &LiveTrace) -> Verdict {
    Verdict::Keep
}

#[test]
fn traces_are_decided_once_quiet() {
    let head = Head::new(100);
    head.apply(vec![span(1, 1), span(1, 2)], 3, 1_000);
    head.apply(vec![span(2, 1)], 4, 5_000);
    assert_eq!(head.live_traces(), 2);
    assert_eq!(head.min_segment(), Some(3));
    let decided = head.decide(2_000, 0, &keep_all);
    assert_eq!(decided, vec![(TraceId([1; 16]), Verdict::Keep)]);
    assert_eq!(head.live_traces(), 1);
    assert_eq!(
        head.trace(&TraceId([1; 16])).len(),
        2,
        "kept traces are read"
    );
    assert_eq!(head.kept_size().1, Some(1_000));
}

#[test]
fn late_spans_follow_the_recorded_verdict() {
    let head = Head::new(100);
    head.apply(vec![span(1, 1), span(2, 1)], 1, 0);
    let drop_two = |id: &TraceId, _: &LiveTrace| {
        if id.0[0] == 2 {
            Verdict::Drop
        } else {
            Verdict::Keep
        }
    };
    head.decide(0, 0, &drop_two);
    head.apply(vec![span(1, 2), span(2, 2)], 2, 10);
    assert_eq!(head.live_traces(), 0, "late spans start no new trace");
    assert_eq!(head.trace(&TraceId([1; 16])).len(), 2);
    assert!(head.trace(&TraceId([2; 16])).is_empty());
    assert_eq!(head.counters.late_spans_dropped.load(Ordering::Relaxed), 1);
    assert_eq!(head.counters.late_spans_kept.load(Ordering::Relaxed), 1);
}

#[test]
fn the_oldest_traces_are_decided_early() {
    let head = Head::new(100);
    for (i, t) in [10, 30, 20].into_iter().enumerate() {
        head.apply(vec![span(i as u8 + 1, 1)], 1, t);
    }
    let decided = head.decide(0, 2, &keep_all);
    let mut ids: Vec<u8> = decided.iter().map(|(id, _)| id.0[0]).collect();
    ids.sort();
    assert_eq!(ids, vec![1, 3], "first arrivals 10 and 20");
    assert_eq!(head.counters.decided_early.load(Ordering::Relaxed), 2);
}

#[test]
fn a_flush_that_fails_puts_its_traces_back() {
    let head = Head::new(100);
    head.apply(vec![span(2, 1), span(1, 1)], 7, 0);
    head.decide(0, 0, &keep_all);
    let f = head.start_flush().unwrap();
    assert_eq!(
        f.iter().map(|(id, _)| id.0[0]).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(head.start_flush().is_none(), "one flush at a time");
    assert_eq!(head.trace(&TraceId([2; 16])).len(), 1, "flushing is read");
    assert_eq!(head.min_segment(), Some(7));
    drop(f);
    head.finish_flush(false);
    assert!(head.kept_size().0 > 0);
    let f = head.start_flush().unwrap();
    drop(f);
    head.finish_flush(true);
    assert_eq!(head.min_segment(), None);
    assert!(head.trace(&TraceId([1; 16])).is_empty());
}
