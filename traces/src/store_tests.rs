use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span};
use tsdb::db::DbOptions;

use super::*;

fn batch(trace: u8, spans: std::ops::Range<u8>) -> Vec<ResourceSpans> {
    vec![ResourceSpans {
        scope_spans: vec![ScopeSpans {
            spans: spans
                .map(|i| Span {
                    trace_id: vec![trace; 16],
                    span_id: vec![i; 8],
                    name: format!("op{i}"),
                    start_time_unix_nano: now_ns(),
                    end_time_unix_nano: now_ns() + 1,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }]
}

fn span_ids(rs: &[ResourceSpans]) -> Vec<u8> {
    let mut ids: Vec<u8> = rs
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.span_id[0])
        .collect();
    ids.sort();
    ids
}

fn open(dir: &Path, opts: Options) -> (Arc<SpanStore>, Db) {
    let store = SpanStore::open(&dir.join("spans"), opts).unwrap();
    let db = Db::open_with_stores(
        dir,
        DbOptions::default(),
        vec![store.clone() as Arc<dyn WalStore>],
    )
    .unwrap();
    store.replayed();
    (store, db)
}

#[test]
fn a_damaged_block_is_moved_aside_and_the_rest_served() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (store, db) = open(tmp.path(), Options::default());
        store.append(&db, batch(1, 1..3)).unwrap();
        store.flush_all().unwrap();
        store.append(&db, batch(2, 1..2)).unwrap();
        store.flush_all().unwrap();
        assert_eq!(store.blocks().len(), 2);
        let damaged = store.blocks()[0].dir().join("index");
        let mut bytes = std::fs::read(&damaged).unwrap();
        bytes[10] ^= 0xff;
        std::fs::write(&damaged, bytes).unwrap();
    }
    let (store, _db) = open(tmp.path(), Options::default());
    assert_eq!(store.blocks().len(), 1);
    assert_eq!(store.counters.blocks_quarantined.load(Ordering::Relaxed), 1);
    let moved = std::fs::read_dir(tmp.path().join("spans/quarantine"))
        .unwrap()
        .count();
    assert_eq!(moved, 1);
    assert_eq!(span_ids(&store.trace(&TraceId([2; 16])).unwrap()), vec![1]);
}

#[test]
fn committed_spans_survive_a_restart_from_the_wal_and_from_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let id = TraceId([1; 16]);
    {
        let (store, db) = open(tmp.path(), Options::default());
        store.append(&db, batch(1, 1..4)).unwrap();
        assert_eq!(span_ids(&store.trace(&id).unwrap()), vec![1, 2, 3]);
        assert!(
            store.persisted_through() < db.wal_segment(),
            "the WAL keeps unflushed spans"
        );
    }
    {
        let (store, db) = open(tmp.path(), Options::default());
        assert_eq!(
            span_ids(&store.trace(&id).unwrap()),
            vec![1, 2, 3],
            "replayed"
        );
        store.flush_all().unwrap();
        assert_eq!(store.blocks().len(), 1);
        assert_eq!(store.persisted_through(), u64::MAX, "nothing left to keep");
        // A late span after the block: goes to the head, then a second block.
        store.append(&db, batch(1, 4..5)).unwrap();
        assert_eq!(span_ids(&store.trace(&id).unwrap()), vec![1, 2, 3, 4]);
    }
    let (store, _db) = open(tmp.path(), Options::default());
    assert_eq!(
        span_ids(&store.trace(&id).unwrap()),
        vec![1, 2, 3, 4],
        "block + replay, no duplicates"
    );
    assert_eq!(
        store.counters.spans_replay_skipped.load(Ordering::Relaxed),
        3
    );
    assert!(store.trace(&TraceId([9; 16])).unwrap().is_empty());
}

#[test]
fn dropped_traces_never_reach_a_block_and_late_spans_stay_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let policies: Vec<crate::sampling::PolicyConfig> = serde_json::from_str(
        r#"[{"name":"errors","type":"status_code","status_code":{"status_codes":["ERROR"]}}]"#,
    )
    .unwrap();
    let opts = Options {
        sampler: Some(Arc::new(Sampler::new(&policies).unwrap())),
        decision_wait: Duration::ZERO,
        ..Options::default()
    };
    let (store, db) = open(tmp.path(), opts);
    store.append(&db, batch(2, 1..3)).unwrap();
    store.maintain(true).unwrap();
    assert!(store.trace(&TraceId([2; 16])).unwrap().is_empty());
    assert!(store.blocks().is_empty());
    store.append(&db, batch(2, 3..4)).unwrap();
    assert!(
        store.trace(&TraceId([2; 16])).unwrap().is_empty(),
        "late span dropped"
    );
    let decisions = store.counters.decisions.lock().clone();
    assert_eq!(
        decisions.get(&(crate::sampling::NO_POLICY.to_string(), "not_sampled")),
        Some(&1)
    );
}

#[test]
fn retention_deletes_blocks_past_it() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options {
        retention: Duration::from_secs(3600),
        ..Options::default()
    };
    let (store, db) = open(tmp.path(), opts);
    let mut old = batch(3, 1..2);
    old[0].scope_spans[0].spans[0].start_time_unix_nano = 1_000;
    old[0].scope_spans[0].spans[0].end_time_unix_nano = 2_000;
    store.append(&db, old).unwrap();
    store.flush_all().unwrap();
    store.append(&db, batch(4, 1..2)).unwrap();
    store.flush_all().unwrap();
    assert_eq!(store.blocks().len(), 2);
    store.maintain(false).unwrap();
    assert_eq!(store.blocks().len(), 1);
    assert!(store.trace(&TraceId([3; 16])).unwrap().is_empty());
    assert_eq!(span_ids(&store.trace(&TraceId([4; 16])).unwrap()), vec![1]);
}
