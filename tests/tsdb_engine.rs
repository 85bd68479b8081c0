//! The storage engine end to end through `Db`: compaction, retention,
//! out-of-order data, deletion, snapshots and concurrent use.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tsdb::db::{Db, DbOptions};
use tsdb::model::{Labels, MatchOp, Matcher, Queryable, Sample, SampleBuf, SelectHints};
use tsdb::retention::Retention;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn opts() -> DbOptions {
    DbOptions {
        block_range: HOUR,
        retention: Retention::default(),
        ..DbOptions::default()
    }
}

fn series_labels(i: usize) -> Labels {
    Labels::from_pairs(&[
        ("__name__", "m"),
        ("i", &i.to_string()),
        ("parity", if i.is_multiple_of(2) { "even" } else { "odd" }),
    ])
}

/// Writes `n` series with one sample per minute in `[from, to)`.
fn write(db: &Db, n: usize, from: i64, to: i64) {
    let mut t = from;
    while t < to {
        let mut app = db.appender();
        for i in 0..n {
            app.append(&series_labels(i), t, (t / MIN) as f64 + i as f64)
                .unwrap();
        }
        app.commit().unwrap();
        t += MIN;
    }
}

/// Every series with its samples, for comparisons.
fn dump(db: &Db, matchers: &[Matcher]) -> Vec<(String, Vec<(i64, f64)>)> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    q.select(&SelectHints::default(), matchers)
        .unwrap()
        .into_iter()
        .map(|s| {
            let mut v: Vec<Sample> = vec![];
            s.samples_in(i64::MIN, i64::MAX, &mut v);
            (
                s.labels.to_string(),
                v.into_iter().map(|x| (x.t, x.v)).collect(),
            )
        })
        .collect()
}

fn all() -> Matcher {
    Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap()
}

#[test]
fn head_compaction_keeps_every_sample_and_truncates_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 20, 0, 4 * HOUR);
    let before = dump(&db, &[all()]);
    assert_eq!(before.len(), 20);
    assert_eq!(before[0].1.len(), 240);
    let wal_before = db.wal_size();

    let report = db.compact().unwrap();
    // [0,1h), [1h,2h) and [2h,3h) are cut from the head; the three 1h
    // blocks then fill one 3h window and are merged.
    assert_eq!(report.head_blocks, 3, "{report:?}");
    let metas: Vec<_> = db.blocks().iter().map(|b| b.meta().clone()).collect();
    assert_eq!(metas.len(), 1, "{metas:?}");
    assert_eq!((metas[0].min_time, metas[0].max_time), (0, 3 * HOUR));
    assert_eq!(metas[0].stats.num_samples, 20 * 180);
    assert!(db.head_stats().min_time >= 2 * HOUR);
    assert_eq!(
        dump(&db, &[all()]),
        before,
        "compaction changed query results"
    );
    assert!(
        db.wal_size() < wal_before,
        "WAL not truncated: {} >= {wal_before}",
        db.wal_size()
    );

    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db, &[all()]), before, "reopen changed query results");
}

#[test]
fn blocks_merge_into_larger_levels() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 5, 0, 8 * HOUR);
    let before = dump(&db, &[all()]);
    db.compact().unwrap();
    let metas: Vec<_> = db.blocks().iter().map(|b| b.meta().clone()).collect();
    // 1h blocks for [0, 6h) were merged into one 3h-aligned or larger block.
    assert!(metas.iter().any(|m| m.compaction.level >= 2), "{metas:?}");
    assert!(
        metas.windows(2).all(|w| w[0].max_time <= w[1].min_time),
        "overlap: {metas:?}"
    );
    assert_eq!(dump(&db, &[all()]), before);
}

#[test]
fn retention_by_time_and_size_deletes_whole_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts();
    o.retention = Retention {
        time: 3 * HOUR,
        size: 0,
    };
    o.max_block_range = HOUR;
    let db = Db::open(dir.path(), o).unwrap();
    write(&db, 3, 0, 8 * HOUR);
    db.compact().unwrap();
    let oldest = db.blocks().first().map(|b| b.meta().min_time).unwrap();
    let newest = db.blocks().last().map(|b| b.meta().max_time).unwrap();
    assert!(newest - oldest <= 3 * HOUR, "kept {oldest}..{newest}");
    let data = dump(&db, &[all()]);
    assert!(data[0].1[0].0 >= oldest);

    let dir2 = tempfile::tempdir().unwrap();
    let mut o = opts();
    o.max_block_range = HOUR;
    o.retention = Retention { time: 0, size: 1 };
    let db = Db::open(dir2.path(), o).unwrap();
    write(&db, 3, 0, 4 * HOUR);
    db.compact().unwrap();
    assert!(
        db.blocks().is_empty(),
        "size retention kept {} blocks",
        db.blocks().len()
    );
}

#[test]
fn out_of_order_data_is_merged_and_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts();
    o.ooo_window = 30 * MIN;
    let db = Db::open(dir.path(), o).unwrap();
    let l = series_labels(0);
    let mut app = db.appender();
    for t in (0..120).map(|m| m * MIN).filter(|t| t % (2 * MIN) == 0) {
        app.append(&l, t, 1.0).unwrap();
    }
    app.commit().unwrap();
    // Odd minutes of the last 30 minutes arrive late.
    let mut app = db.appender();
    for m in (91..120).step_by(2) {
        app.append(&l, m * MIN, 2.0).unwrap();
    }
    let err = app.append(&l, 10 * MIN + 1, 3.0).unwrap_err();
    assert!(err.to_string().contains("out of order"), "{err}");
    app.commit().unwrap();
    let got = dump(&db, &[all()]);
    assert_eq!(got[0].1.len(), 60 + 15);
    assert!(got[0].1.windows(2).all(|w| w[0].0 < w[1].0));
    write(&db, 1, 120 * MIN, 240 * MIN);
    db.compact().unwrap();
    let after = dump(&db, &[all()]);
    assert_eq!(after[0].1.iter().filter(|s| s.0 < 120 * MIN).count(), 75);
}

#[test]
fn deletion_hides_at_once_and_survives_cleanup_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 4, 0, 3 * HOUR);
    db.compact().unwrap();
    let odd = Matcher::new(MatchOp::Equal, "parity", "odd").unwrap();
    db.delete(std::slice::from_ref(&odd), 0, 2 * HOUR).unwrap();
    let check = |db: &Db| {
        for (labels, samples) in dump(db, &[all()]) {
            if labels.contains("odd") {
                assert!(
                    samples.iter().all(|s| s.0 > 2 * HOUR),
                    "{labels} kept deleted data"
                );
                assert!(!samples.is_empty());
            } else {
                assert_eq!(samples.len(), 180, "{labels}");
            }
        }
    };
    check(&db);
    db.clean_tombstones().unwrap();
    check(&db);
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    check(&db);
}

#[test]
fn snapshot_is_an_openable_copy() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 3, 0, 3 * HOUR);
    db.compact().unwrap();
    let want = dump(&db, &[all()]);
    let snap = tempfile::tempdir().unwrap();
    let names = db.snapshot(&snap.path().join("blocks"), true).unwrap();
    assert!(names.len() >= 2);
    let copy = Db::open(snap.path(), opts()).unwrap();
    assert_eq!(dump(&copy, &[all()]), want);
}

#[test]
fn concurrent_appends_and_queries_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), opts()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    const WRITERS: usize = 4;
    const PER: usize = 25;
    const STEPS: i64 = 200;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for step in 0..STEPS {
                    let mut app = db.appender();
                    for i in 0..PER {
                        app.append(&series_labels(w * PER + i), step * 1000, step as f64)
                            .unwrap();
                    }
                    app.commit().unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let db = db.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut last = std::collections::HashMap::new();
                let mut rounds = 0;
                while !stop.load(Ordering::Relaxed) || rounds == 0 {
                    for (labels, samples) in dump(&db, &[all()]) {
                        // Samples are a gapless prefix 0, 1, 2, … of what was written.
                        for (n, s) in samples.iter().enumerate() {
                            assert_eq!(*s, (n as i64 * 1000, n as f64), "{labels}");
                        }
                        let prev = last.insert(labels.clone(), samples.len()).unwrap_or(0);
                        assert!(samples.len() >= prev, "{labels} went back in time");
                    }
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    let all = dump(&db, &[all()]);
    assert_eq!(all.len(), WRITERS * PER);
    assert!(all.iter().all(|(_, s)| s.len() == STEPS as usize));
}

/// Every series with `(t, st)` of its samples (st 0 = none).
fn dump_st(db: &Db) -> Vec<(String, Vec<(i64, i64)>)> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    q.select(&SelectHints::default(), &[all()])
        .unwrap()
        .into_iter()
        .map(|s| {
            let mut buf = SampleBuf::new();
            s.read(i64::MIN, i64::MAX, &mut buf);
            let sts = buf
                .start_timestamps()
                .map_or(vec![0; buf.len()], <[i64]>::to_vec);
            assert_eq!(buf.len(), sts.len());
            let pairs = buf
                .floats()
                .iter()
                .zip(sts)
                .map(|(x, st)| (x.t, st))
                .collect();
            (s.labels.to_string(), pairs)
        })
        .collect()
}

#[test]
fn start_timestamps_survive_replay_compaction_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    // (name, start timestamp of the sample at t)
    type Kind = (&'static str, fn(i64) -> i64);
    let kinds: [Kind; 4] = [
        ("none", |_| 0),
        (
            "cumulative",
            |t| if t < 90 * MIN { 1 } else { 90 * MIN - 1 },
        ),
        ("delta", |t| t - MIN),
        ("late_start", |t| if t < 30 * MIN { 0 } else { t - 1 }),
    ];
    let mut t = 0;
    while t < 3 * HOUR {
        let mut app = db.appender();
        for (name, st) in kinds {
            let labels = Labels::from_pairs(&[("__name__", "c"), ("kind", name)]);
            app.append(&labels, t, (t / MIN) as f64).unwrap();
            app.set_start_timestamp(st(t));
        }
        app.commit().unwrap();
        t += MIN;
    }
    let before = dump_st(&db);
    assert_eq!(before.len(), 4);
    let late = &before
        .iter()
        .find(|(l, _)| l.contains("late_start"))
        .unwrap()
        .1;
    assert_eq!(late[29], (29 * MIN, 0));
    assert_eq!(late[30], (30 * MIN, 30 * MIN - 1));

    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump_st(&db), before, "WAL replay changed start timestamps");

    let report = db.compact().unwrap();
    assert!(report.head_blocks > 0, "{report:?}");
    assert_eq!(dump_st(&db), before, "compaction changed start timestamps");
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump_st(&db), before, "reopen changed start timestamps");
}

/// A block whose files are corrupt is moved to `quarantine/` when the
/// database opens; everything else opens, reads and compacts as before.
#[test]
fn a_corrupt_block_is_quarantined_and_the_rest_opens() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 4, 0, 5 * HOUR);
    db.compact().unwrap();
    let blocks = db.blocks();
    assert!(blocks.len() >= 2, "{} blocks", blocks.len());
    let bad = blocks[0].meta().ulid.clone();
    let bad_range = (blocks[0].meta().min_time, blocks[0].meta().max_time);
    db.close().unwrap();
    drop(db);
    let index = dir.path().join("blocks").join(&bad).join("index");
    let mut bytes = std::fs::read(&index).unwrap();
    bytes[..4].copy_from_slice(b"oops");
    std::fs::write(&index, bytes).unwrap();

    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.blocks().len(), blocks.len() - 1);
    assert!(db.blocks().iter().all(|b| b.meta().ulid != bad));
    assert!(
        dir.path()
            .join("quarantine")
            .join(&bad)
            .join("index")
            .exists()
    );
    assert_eq!(db.counters.quarantined_blocks.load(Ordering::Relaxed), 1);
    // Everything outside the quarantined block's range is still there.
    let all = dump(
        &db,
        &[Matcher::new(MatchOp::Equal, "__name__", "m").unwrap()],
    );
    assert_eq!(all.len(), 4);
    for (_, samples) in &all {
        assert!(
            samples
                .iter()
                .all(|(t, _)| *t < bad_range.0 || *t >= bad_range.1)
        );
        assert!(samples.iter().any(|(t, _)| *t >= bad_range.1));
    }
    write(&db, 4, 5 * HOUR, 8 * HOUR);
    db.compact().unwrap();
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.counters.quarantined_blocks.load(Ordering::Relaxed), 1);
}

/// A block that opens but whose chunks turn out corrupt when a merge
/// reads them is quarantined; the merge goes on without it and
/// maintenance succeeds.
#[test]
fn a_block_found_corrupt_while_merging_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 4, 0, 150 * MIN);
    db.compact().unwrap();
    let first = db.blocks()[0].meta().clone();
    assert_eq!(first.compaction.level, 1);
    // Flip bytes in the middle of the first block's chunk data.
    let seg = dir
        .path()
        .join("blocks")
        .join(&first.ulid)
        .join("chunks")
        .join("000001");
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 8] {
        *b ^= 0xff;
    }
    std::fs::write(&seg, bytes).unwrap();
    write(&db, 4, 150 * MIN, 10 * HOUR);
    let report = db.compact().unwrap();
    assert!(report.merged_blocks > 0, "{report:?}");
    assert!(db.blocks().iter().all(|b| b.meta().ulid != first.ulid));
    assert!(dir.path().join("quarantine").join(&first.ulid).exists());
    assert_eq!(db.counters.quarantined_blocks.load(Ordering::Relaxed), 1);
    let all = dump(
        &db,
        &[Matcher::new(MatchOp::Equal, "__name__", "m").unwrap()],
    );
    for (_, samples) in &all {
        assert!(samples.iter().all(|(t, _)| *t >= first.max_time));
    }
}

/// A block of a format version this build does not read is not corrupt:
/// opening fails with the reason and the block stays where it is.
#[test]
fn a_block_of_an_unknown_version_stops_the_open_and_stays() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 2, 0, 5 * HOUR);
    db.compact().unwrap();
    let ulid = db.blocks()[0].meta().ulid.clone();
    db.close().unwrap();
    drop(db);
    let meta = dir.path().join("blocks").join(&ulid).join("meta.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, text.replace("\"version\": 1", "\"version\": 99")).unwrap();
    assert!(std::fs::read_to_string(&meta).unwrap().contains("99"));
    let err = Db::open(dir.path(), opts()).err().expect("open fails");
    assert!(
        err.to_string().contains("unsupported block version 99"),
        "{err}"
    );
    assert!(meta.exists());
    assert!(!dir.path().join("quarantine").exists());
}
