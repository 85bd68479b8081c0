use std::sync::atomic::Ordering;

use tsdb::model::Labels;

use crate::logql::{Expr, parse};
use crate::model::{Direction, Entry, StreamPush};
use crate::store::LogStore;
use crate::store::disk::tests::{NOW, SEC, open};

fn all(store: &LogStore) -> Vec<(String, i64, String)> {
    let Ok(Expr::Log(l)) = parse("{app=~\".+\"}") else {
        panic!()
    };
    store
        .select(
            &l,
            NOW - 3600 * SEC,
            NOW + 3600 * SEC,
            Direction::Forward,
            10_000,
        )
        .unwrap()
        .into_iter()
        .map(|h| (h.stream.get("app").to_string(), h.ts, h.line))
        .collect()
}

#[test]
fn small_blocks_merge_into_one_that_answers_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let before;
    {
        let (store, db) = open(tmp.path());
        // Five flushes of a few lines each, two streams, a same-time pair
        // split across flushes, one stream missing from one flush.
        for k in 0..5i64 {
            let mut push = vec![StreamPush {
                labels: Labels::from_pairs(&[("app", "api")]),
                entries: (0..3)
                    .map(|i| Entry::new(NOW + (k * 10 + i) * SEC, format!("api {k}.{i}")))
                    .collect(),
            }];
            if k != 2 {
                push.push(StreamPush {
                    labels: Labels::from_pairs(&[("app", "db")]),
                    entries: vec![Entry::new(NOW + 40 * SEC, format!("db at 40, flush {k}"))],
                });
            }
            store.push(&db, push, NOW + 3600 * SEC).unwrap();
            store.flush(&db, true).unwrap();
        }
        assert_eq!(store.head().blocks().len(), 5);
        before = all(&store);
        assert_eq!(store.merge_small_blocks().unwrap(), 5);
        assert_eq!(store.head().blocks().len(), 1);
        assert_eq!(all(&store), before, "the merged block answers the same");
        assert_eq!(store.counters.blocks_merged.load(Ordering::Relaxed), 5);
        assert_eq!(
            store.merge_small_blocks().unwrap(),
            0,
            "nothing left to merge"
        );
        db.close().unwrap();
    }
    let dirs = std::fs::read_dir(tmp.path().join("logs/blocks"))
        .unwrap()
        .count();
    assert_eq!(dirs, 1, "the merged blocks' directories are gone");
    let (store, _db) = open(tmp.path());
    assert_eq!(
        all(&store),
        before,
        "after a restart, nothing replayed twice"
    );
}
