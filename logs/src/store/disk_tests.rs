use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tsdb::db::{Db, DbOptions, WalStore};
use tsdb::model::{Labels, MatchOp, Matcher};

use crate::logql::eval::Grid;
use crate::logql::{Expr, MetricExpr, parse};
use crate::model::{Direction, Entry, StreamPush};
use crate::store::{LogStore, Options};

pub(crate) const NOW: i64 = 1_700_000_000_000_000_000;
pub(crate) const SEC: i64 = 1_000_000_000;
/// A wall clock after every entry pushed (admission refuses entries from
/// the future).
const LATER: i64 = NOW + 5000 * SEC;

fn open_with(dir: &Path, opts: Options) -> (Arc<LogStore>, Db) {
    let store = LogStore::open_dir(&dir.join("logs"), opts).unwrap();
    let db = Db::open_with_stores(
        dir,
        DbOptions::default(),
        vec![store.clone() as Arc<dyn WalStore>],
    )
    .unwrap();
    (store, db)
}

pub(crate) fn open(dir: &Path) -> (Arc<LogStore>, Db) {
    open_with(dir, Options::default())
}

fn push(app: &str, entries: &[(i64, &str)]) -> StreamPush {
    StreamPush {
        labels: Labels::from_pairs(&[("app", app)]),
        entries: entries.iter().map(|(t, l)| Entry::new(*t, *l)).collect(),
    }
}

/// `(app, line)` of each entry a query returns, oldest first.
fn query(store: &LogStore, q: &str) -> Vec<(String, String)> {
    let Ok(Expr::Log(l)) = parse(q) else {
        panic!("{q}: not a log query")
    };
    store
        .select(
            &l,
            NOW - 3600 * SEC,
            NOW + 3600 * SEC,
            Direction::Forward,
            1000,
        )
        .unwrap()
        .into_iter()
        .map(|h| (h.stream.get("app").to_string(), h.line))
        .collect()
}

fn count(store: &LogStore, q: &str) -> f64 {
    let Ok(Expr::Metric(m)) = parse(q) else {
        panic!("{q}: not a metric query")
    };
    let m: MetricExpr = m;
    let t = (NOW + 3600 * SEC) / 1_000_000;
    let res = store
        .evaluate(&m, Grid::instant(t), Default::default())
        .unwrap();
    match res.value {
        promql::value::Value::Vector(v) => v.iter().map(|s| s.v).sum(),
        other => panic!("{other:?}"),
    }
}

fn lines(n: i64, app: &str) -> StreamPush {
    let es: Vec<(i64, String)> = (0..n)
        .map(|i| (NOW + i * SEC, format!("line {i} of {app}")))
        .collect();
    let refs: Vec<(i64, &str)> = es.iter().map(|(t, l)| (*t, l.as_str())).collect();
    push(app, &refs)
}

#[test]
fn flushed_entries_are_read_from_blocks_once_and_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let before;
    {
        let (store, db) = open(tmp.path());
        store
            .push(&db, vec![lines(50, "api"), lines(20, "db")], NOW)
            .unwrap();
        before = query(&store, "{app=~\".+\"}");
        assert_eq!(before.len(), 70);
        store.flush(&db, true).unwrap();
        assert_eq!(store.head().bytes(), 0, "every line moved into the block");
        assert_eq!(store.head().blocks().len(), 1);
        assert_eq!(
            query(&store, "{app=~\".+\"}"),
            before,
            "read from the block"
        );
        // More lines after the flush: head and block answer together.
        store
            .push(&db, vec![push("api", &[(NOW + 100 * SEC, "late")])], NOW)
            .unwrap();
        assert_eq!(
            count(&store, "sum(count_over_time({app=\"api\"}[2h]))"),
            51.0
        );
        db.close().unwrap();
    }
    let (store, _db) = open(tmp.path());
    let mut want = before;
    want.push(("api".into(), "late".into()));
    want.sort_by_key(|(app, _)| app.clone());
    let mut got = query(&store, "{app=~\".+\"}");
    got.sort_by_key(|(app, _)| app.clone());
    assert_eq!(got, want, "nothing lost, nothing twice");
    let c = &store.counters;
    assert_eq!(c.entries_replay_skipped.load(Ordering::Relaxed), 70);
    assert_eq!(c.entries_replayed.load(Ordering::Relaxed), 1);
}

#[test]
fn flushing_frees_the_wal() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, db) = open(tmp.path());
    for k in 0..5 {
        let mut p = lines(200, "api");
        for e in &mut p.entries {
            e.ts += k * 500 * SEC;
        }
        store.push(&db, vec![p], LATER).unwrap();
        db.cut_wal_segment().unwrap();
    }
    assert!(store.persisted_through() < 5, "the head needs its segments");
    store.flush(&db, true).unwrap();
    db.compact().unwrap();
    let wal = std::fs::read_dir(tmp.path().join("wal")).unwrap().count();
    assert!(wal <= 3, "segments folded away: {wal} entries left in wal/");
    drop(db);
    let (store, _db) = open(tmp.path());
    assert_eq!(
        count(&store, "sum(count_over_time({app=\"api\"}[3h]))"),
        1000.0
    );
}

#[test]
fn line_filters_skip_chunks_their_filters_rule_out() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, db) = open(tmp.path());
    // Ten flushes, ten blocks; one line in one of them has the word.
    for k in 0..10 {
        let mut p = lines(100, "api");
        for e in &mut p.entries {
            e.ts += k * 200 * SEC;
        }
        if k == 6 {
            p.entries[40].line = "payment kestrel-42 failed".into();
        }
        store.push(&db, vec![p], LATER).unwrap();
        store.flush(&db, true).unwrap();
    }
    let reads = &store.head().reads;
    let (read0, skipped0) = (
        reads.chunks_read.load(Ordering::Relaxed),
        reads.chunks_skipped.load(Ordering::Relaxed),
    );
    let got = query(&store, "{app=\"api\"} |= \"kestrel-42\"");
    assert_eq!(
        got,
        vec![("api".into(), "payment kestrel-42 failed".into())]
    );
    let read = reads.chunks_read.load(Ordering::Relaxed) - read0;
    let skipped = reads.chunks_skipped.load(Ordering::Relaxed) - skipped0;
    assert_eq!(read + skipped, 10, "one chunk per block");
    assert!(skipped >= 8, "{skipped} of 10 skipped");
    // A pattern filter's literals rule chunks out too.
    let s0 = reads.chunks_skipped.load(Ordering::Relaxed);
    let got = query(&store, "{app=\"api\"} |> \"<_> kestrel-42 <_>\"");
    assert_eq!(got.len(), 1);
    assert!(reads.chunks_skipped.load(Ordering::Relaxed) - s0 >= 8);
    // A regex or a negated filter cannot skip: every chunk is read.
    let (r0, s0) = (
        reads.chunks_read.load(Ordering::Relaxed),
        reads.chunks_skipped.load(Ordering::Relaxed),
    );
    assert_eq!(query(&store, "{app=\"api\"} != \"line\"").len(), 1);
    assert_eq!(reads.chunks_read.load(Ordering::Relaxed) - r0, 10);
    assert_eq!(reads.chunks_skipped.load(Ordering::Relaxed), s0);
}

#[test]
fn deletion_rewrites_blocks_and_spares_later_lines() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (store, db) = open(tmp.path());
        store
            .push(
                &db,
                vec![push("api", &[(NOW, "secret=1"), (NOW + SEC, "fine")])],
                NOW,
            )
            .unwrap();
        store.flush(&db, true).unwrap();
        let Ok(Expr::Log(q)) = parse("{app=\"api\"} |= \"secret\"") else {
            panic!()
        };
        store.delete(&db, &q, NOW - SEC, NOW + 10 * SEC).unwrap();
        assert_eq!(
            query(&store, "{app=\"api\"}"),
            vec![("api".into(), "fine".into())]
        );
        // A line the deletion would match, pushed after it: kept.
        store
            .push(&db, vec![push("api", &[(NOW + 2 * SEC, "secret=2")])], NOW)
            .unwrap();
        store.flush(&db, true).unwrap();
        db.close().unwrap();
    }
    let (store, _db) = open(tmp.path());
    assert_eq!(
        query(&store, "{app=\"api\"}"),
        vec![
            ("api".into(), "fine".into()),
            ("api".into(), "secret=2".into())
        ],
        "the deletion replayed touches only blocks written before it"
    );
    assert_eq!(store.head().blocks().len(), 2);
}

#[test]
fn retention_hides_old_block_entries_and_drops_expired_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options {
        retention: Some(std::time::Duration::from_secs(60)),
        ..Options::default()
    };
    let (store, db) = open_with(tmp.path(), opts);
    store
        .push(&db, vec![push("api", &[(NOW - 600 * SEC, "old")])], NOW)
        .unwrap();
    store.flush(&db, true).unwrap();
    store
        .push(
            &db,
            vec![push("api", &[(NOW - 30 * SEC, "middle"), (NOW, "new")])],
            NOW,
        )
        .unwrap();
    store.flush(&db, true).unwrap();
    assert_eq!(store.head().blocks().len(), 2);
    store.apply_retention().unwrap();
    assert_eq!(
        query(&store, "{app=\"api\"}"),
        vec![
            ("api".into(), "middle".into()),
            ("api".into(), "new".into())
        ]
    );
    assert_eq!(store.head().blocks().len(), 1, "the block of `old` is gone");
    assert_eq!(store.counters.blocks_deleted.load(Ordering::Relaxed), 1);
}

#[test]
fn a_damaged_block_is_quarantined_and_the_rest_served() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (store, db) = open(tmp.path());
        store.push(&db, vec![lines(10, "api")], NOW).unwrap();
        store.flush(&db, true).unwrap();
        store.push(&db, vec![lines(5, "db")], NOW).unwrap();
        store.flush(&db, true).unwrap();
        db.compact().unwrap();
        db.close().unwrap();
    }
    let blocks = tmp.path().join("logs/blocks");
    let mut dirs: Vec<_> = std::fs::read_dir(&blocks)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    let index = dirs[0].join("index");
    let mut bytes = std::fs::read(&index).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&index, bytes).unwrap();
    let (store, _db) = open(tmp.path());
    assert_eq!(store.counters.blocks_quarantined.load(Ordering::Relaxed), 1);
    assert!(
        tmp.path()
            .join("logs/quarantine")
            .read_dir()
            .unwrap()
            .count()
            == 1
    );
    assert_eq!(
        query(&store, "{app=\"db\"}").len(),
        5,
        "the other block serves"
    );
}

#[test]
fn out_of_order_entries_merge_in_time_order_across_blocks_and_head() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, db) = open(tmp.path());
    store
        .push(
            &db,
            vec![push("api", &[(NOW, "b"), (NOW + 4 * SEC, "e")])],
            NOW,
        )
        .unwrap();
    store.flush(&db, true).unwrap();
    store
        .push(
            &db,
            vec![push("api", &[(NOW - SEC, "a"), (NOW + 2 * SEC, "c")])],
            NOW,
        )
        .unwrap();
    store.flush(&db, true).unwrap();
    store
        .push(&db, vec![push("api", &[(NOW + 3 * SEC, "d")])], NOW)
        .unwrap();
    let got: Vec<String> = query(&store, "{app=\"api\"}")
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert_eq!(got, vec!["a", "b", "c", "d", "e"]);
    let m = Matcher::new(MatchOp::Equal, "app", "api").unwrap();
    assert_eq!(store.series(&[m], NOW, NOW + SEC).len(), 1);
}

#[test]
fn every_query_answers_the_same_from_blocks_as_from_the_head() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, db) = open(tmp.path());
    let mut pushes = Vec::new();
    for (app, n) in [("api", 300), ("db", 120)] {
        let mut p = StreamPush {
            labels: Labels::from_pairs(&[("app", app)]),
            entries: Vec::new(),
        };
        for i in 0..n {
            let level = ["info", "warn", "error"][i % 3];
            let mut e = Entry::new(
                NOW + i as i64 * 7 * SEC,
                format!("{{\"level\":\"{level}\",\"took\":{i},\"msg\":\"req {i}\"}}"),
            );
            if i % 5 == 0 {
                e.metadata.push(("trace_id".into(), format!("t{i}")));
            }
            p.entries.push(e);
        }
        pushes.push(p);
    }
    store.push(&db, pushes, LATER).unwrap();
    let metric = [
        "sum by (app) (count_over_time({app=~\".+\"}[5m]))",
        "sum(bytes_over_time({app=\"api\"} |= \"error\" [10m]))",
        "sum by (trace_id) (count_over_time({app=\"api\"} |= \"warn\" [30m]))",
        "sum by (level) (rate({app=~\".+\"} | json [10m]))",
        "sum by (app) (sum_over_time({app=~\".+\"} | json | unwrap took [10m]))",
    ];
    let logs = [
        "{app=~\".+\"}",
        "{app=\"db\"} |= \"req 1\"",
        "{app=\"api\"} | json | level=\"warn\"",
    ];
    let answers = |store: &LogStore| -> Vec<String> {
        let end = (NOW + 3600 * SEC) / 1_000_000;
        let mut out: Vec<String> = metric
            .iter()
            .map(|q| {
                let Ok(Expr::Metric(m)) = parse(q) else {
                    panic!("{q}")
                };
                let grid = Grid {
                    start: end - 3_600_000,
                    end,
                    step: 60_000,
                };
                format!(
                    "{:?}",
                    store.evaluate(&m, grid, Default::default()).unwrap().value
                )
            })
            .collect();
        out.extend(logs.iter().map(|q| format!("{:?}", query(store, q))));
        out
    };
    let before = answers(&store);
    for (i, a) in before.iter().enumerate() {
        assert!(
            !a.ends_with("([])") && a != "[]",
            "query {i} answers something: {a}"
        );
    }
    store.flush(&db, true).unwrap();
    assert_eq!(store.head().bytes(), 0);
    let after = answers(&store);
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(b, a, "query {i}");
    }
}

#[test]
fn pushes_wait_while_the_head_is_four_flushes_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options {
        flush_bytes: 1024,
        ..Options::default()
    };
    let (store, db) = open_with(tmp.path(), opts);
    let a = store.push(&db, vec![lines(300, "api")], LATER).unwrap();
    assert_eq!(a.refused, 0, "under the bound when it came");
    assert!(store.head().bytes() >= 4096);
    let a = store.push(&db, vec![lines(1, "db")], LATER).unwrap();
    assert!(a.rate_limited && a.refused == 1, "{a:?}");
    assert!(
        a.reasons[0].contains("not yet written to blocks"),
        "{:?}",
        a.reasons
    );
    store.flush(&db, true).unwrap();
    let a = store.push(&db, vec![lines(1, "db")], LATER).unwrap();
    assert_eq!(a.refused, 0, "accepted again once flushed");
}

/// Limited log queries read the newest (or oldest) chunks first and stop
/// once no other chunk can do better, with the answer of a full scan.
#[test]
fn limited_queries_stop_early_with_the_full_answer() {
    use proptest::prelude::*;
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 12,
        ..Default::default()
    });
    let flushes = prop::collection::vec(prop::collection::vec((0usize..3, 0i64..500), 1..40), 1..6);
    let result = runner.run(
        &(flushes, 1usize..30, any::<bool>()),
        |(flushes, limit, fwd)| {
            let tmp = tempfile::tempdir().unwrap();
            let (store, db) = open(tmp.path());
            let mut all: Vec<(i64, String)> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (k, batch) in flushes.iter().enumerate() {
                let mut pushes: Vec<StreamPush> = Vec::new();
                for (j, (app, t)) in batch.iter().enumerate() {
                    // Distinct times: the order of the answer is then unique.
                    let ts = NOW + (t * 1000 + (k * 40 + j) as i64) * 1000;
                    if !seen.insert(ts) {
                        continue;
                    }
                    let line = format!("app{app} flush {k} entry {j}");
                    all.push((ts, line.clone()));
                    pushes.push(push(&format!("app{app}"), &[(ts, line.as_str())]));
                }
                store.push(&db, pushes, LATER).unwrap();
                if k + 1 < flushes.len() {
                    store.flush(&db, true).unwrap();
                }
            }
            all.sort();
            if !fwd {
                all.reverse();
            }
            all.truncate(limit);
            let Ok(Expr::Log(q)) = parse("{app=~\"app.*\"}") else {
                panic!()
            };
            let dir = if fwd {
                Direction::Forward
            } else {
                Direction::Backward
            };
            let got: Vec<(i64, String)> = store
                .select(&q, NOW - SEC, NOW + 3600 * SEC, dir, limit)
                .unwrap()
                .into_iter()
                .map(|h| (h.ts, h.line))
                .collect();
            prop_assert_eq!(got, all);
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    // Ten blocks in time order: the newest five lines are in the last.
    let tmp = tempfile::tempdir().unwrap();
    let (store, db) = open(tmp.path());
    for k in 0..10 {
        let mut p = lines(20, "api");
        for e in &mut p.entries {
            e.ts += k * 100 * SEC;
        }
        store.push(&db, vec![p], LATER).unwrap();
        store.flush(&db, true).unwrap();
    }
    let reads = &store.head().reads;
    let before = reads.chunks_read.load(Ordering::Relaxed);
    let Ok(Expr::Log(q)) = parse("{app=\"api\"}") else {
        panic!()
    };
    let got = store
        .select(&q, NOW - SEC, NOW + 3600 * SEC, Direction::Backward, 5)
        .unwrap();
    assert_eq!(got.len(), 5);
    assert_eq!(got[0].ts, NOW + 919 * SEC, "the newest first");
    assert_eq!(
        reads.chunks_read.load(Ordering::Relaxed) - before,
        1,
        "one chunk of ten read"
    );
}

#[test]
fn a_retry_of_a_flushed_push_stores_nothing_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, db) = open(tmp.path());
    let first = vec![push("api", &[(NOW, "a"), (NOW + SEC, "b")])];
    store.push(&db, first.clone(), LATER).unwrap();
    store.flush(&db, true).unwrap();
    // The retry, with one new line at a time the block covers.
    let mut retry = first;
    retry[0].entries.push(Entry::new(NOW + SEC, "b2"));
    let a = store.push(&db, retry, LATER).unwrap();
    assert_eq!((a.entries, a.duplicates, a.refused), (1, 2, 0));
    let got: Vec<String> = query(&store, "{app=\"api\"}")
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert_eq!(got, vec!["a", "b", "b2"]);
    assert_eq!(store.counters.entries_duplicate.load(Ordering::Relaxed), 2);
}

#[test]
fn index_stats_answer_the_same_from_blocks_as_from_the_head() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, db) = open(tmp.path());
    store
        .push(&db, vec![lines(50, "api"), lines(20, "db")], NOW)
        .unwrap();
    let stats = |after: i64, through: i64| {
        let mut out = Vec::new();
        let m = [Matcher::new(MatchOp::RegexMatch, "app", ".+").unwrap()];
        store
            .head()
            .for_each_stream_stats(&m, after, through, &mut |l, s| {
                out.push((l.get("app").to_string(), s.entries, s.bytes, s.chunks))
            })
            .unwrap();
        out
    };
    let windows = [
        (NOW - SEC, NOW + 100 * SEC),
        (NOW + 9 * SEC, NOW + 30 * SEC),
    ];
    let before: Vec<_> = windows.iter().map(|(a, t)| stats(*a, *t)).collect();
    assert_eq!(before[0][0].0, "api");
    assert_eq!((before[0][0].1, before[0][1].1), (50, 20));
    // "line 10 of api" .. "line 30 of api": 21 lines of 14 bytes.
    assert_eq!((before[1][0].1, before[1][0].2), (21, 21 * 14));
    store.flush(&db, true).unwrap();
    let after: Vec<_> = windows.iter().map(|(a, t)| stats(*a, *t)).collect();
    assert_eq!(after, before, "same counts, one chunk a stream either way");
}
