//! The database's write contracts under injected WAL faults, WAL replay
//! under lowered limits, and the companion-store mechanism.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::{Db, DbOptions, WalStore};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::model::{Labels, Matcher, Queryable, Sample, SelectHints};
use crate::wal::{RecordFamily, SyncPolicy, Wal, WalOptions};

const HOUR: i64 = 3_600_000;

fn opts() -> DbOptions {
    DbOptions {
        block_range: HOUR,
        ..DbOptions::default()
    }
}

fn series(i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())])
}

fn write(db: &Db, i: usize, t: i64, v: f64) -> Result<()> {
    let mut app = db.appender();
    app.append(&series(i), t, v)?;
    app.commit().map(|_| ())
}

/// Every sample in the database as `(series label i, t, v)`.
fn dump(db: &Db) -> Vec<(String, i64, f64)> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let mut out = Vec::new();
    let all = Matcher::equal("__name__", "m");
    for s in q.select(&SelectHints::default(), &[all]).unwrap() {
        let mut v: Vec<Sample> = vec![];
        s.samples_in(i64::MIN, i64::MAX, &mut v);
        let i = s.labels.get("i").to_string();
        out.extend(v.into_iter().map(|x| (i.clone(), x.t, x.v)));
    }
    out.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out
}

#[test]
fn a_failed_wal_write_applies_nothing_and_the_next_batch_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        write(&db, 1, 1000, 1.0).unwrap();
        db.wal.faults.writes.store(1, Ordering::Release);
        // The failed batch creates series 2 in the head, not in the WAL.
        let err = write(&db, 2, 2000, 2.0).unwrap_err();
        assert!(matches!(err, Error::StorageFull { .. }), "{err}");
        assert_eq!(dump(&db), vec![("1".into(), 1000, 1.0)], "nothing applied");
        // Space is back: the next batch lands behind the last whole one,
        // and logs series 2 with its sample.
        write(&db, 1, 3000, 3.0).unwrap();
        write(&db, 2, 3000, 4.0).unwrap();
        db.close().unwrap();
    }
    let (_, repair) = Wal::open(&dir.path().join("wal"), WalOptions::default()).unwrap();
    assert_eq!(repair, None, "no torn record in the WAL");
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(
        dump(&db),
        vec![
            ("1".into(), 1000, 1.0),
            ("1".into(), 3000, 3.0),
            ("2".into(), 3000, 4.0)
        ]
    );
}

#[test]
fn a_failed_fsync_applies_nothing_and_closes_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let o = DbOptions {
        wal: WalOptions {
            sync: SyncPolicy::Always,
            ..WalOptions::default()
        },
        ..opts()
    };
    let db = Db::open(dir.path(), o.clone()).unwrap();
    write(&db, 1, 1000, 1.0).unwrap();
    db.wal.faults.fsync.store(true, Ordering::Release);
    let err = write(&db, 1, 2000, 2.0).unwrap_err();
    assert!(matches!(err, Error::Io { op: "fsync", .. }), "{err}");
    assert_eq!(dump(&db), vec![("1".into(), 1000, 1.0)], "nothing applied");
    let err = write(&db, 1, 3000, 3.0).unwrap_err();
    assert!(
        matches!(&err, Error::Closed { reason } if reason.contains("could not be synced")),
        "{err}"
    );
    assert!(matches!(db.compact(), Err(Error::Closed { .. })));
    assert_eq!(dump(&db).len(), 1, "reads keep working");
    drop(db);
    // A restart replays what reached the disk and takes writes again.
    let db = Db::open(dir.path(), o).unwrap();
    write(&db, 1, 4000, 4.0).unwrap();
    assert!(dump(&db).contains(&("1".into(), 4000, 4.0)));
}

#[test]
fn close_refuses_later_writes_and_keeps_reads() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 1, 1000, 1.0).unwrap();
    db.close().unwrap();
    db.close().unwrap();
    let err = write(&db, 1, 2000, 2.0).unwrap_err();
    assert!(matches!(err, Error::Closed { .. }), "{err}");
    assert!(matches!(
        db.snapshot(&dir.path().join("s"), true),
        Err(Error::Closed { .. })
    ));
    assert_eq!(dump(&db), vec![("1".into(), 1000, 1.0)]);
}

#[test]
fn replay_never_rejects_series_when_limits_were_lowered() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        for i in 0..10 {
            write(&db, i, 1000, i as f64).unwrap();
        }
    } // dropped without close: as after kill -9
    let lowered = DbOptions {
        limits: Limits {
            max_series: 5,
            ..Limits::default()
        },
        ..opts()
    };
    let db = Db::open(dir.path(), lowered).unwrap();
    assert_eq!(db.head.num_series(), 10, "every stored series kept");
    write(&db, 3, 2000, 1.0).expect("appends to stored series still work");
    let err = write(&db, 99, 2000, 1.0).unwrap_err();
    assert!(matches!(err, Error::CardinalityLimit { .. }), "{err}");
}

/// Writers racing to create series of one metric end with exactly the
/// per-metric limit, and a lowered limit applies to new series only.
#[test]
fn racing_writers_never_overshoot_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let limited = DbOptions {
        limits: Limits {
            max_series_per_metric: 100,
            ..Limits::default()
        },
        ..opts()
    };
    let db = Arc::new(Db::open(dir.path(), limited).unwrap());
    let threads: Vec<_> = (0..16)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut created = 0;
                for i in 0..50 {
                    let l = Labels::from_pairs(&[("__name__", "m"), ("id", &format!("{w}-{i}"))]);
                    let mut app = db.appender();
                    match app.append(&l, 1000, 1.0) {
                        Ok(_) => {
                            app.commit().unwrap();
                            created += 1;
                        }
                        Err(Error::CardinalityLimit(r)) => {
                            assert_eq!(r.kind, crate::limits::LimitKind::MaxSeriesPerMetric);
                            assert_eq!((r.metric.as_str(), r.limit), ("m", 100));
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
                created
            })
        })
        .collect();
    let created: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(created, 100);
    assert_eq!(db.head.num_series(), 100);
    db.set_limits(Limits {
        max_series_per_metric: 50,
        ..Limits::default()
    });
    let existing = Labels::from_pairs(&[("__name__", "m"), ("id", "0-0")]);
    let mut app = db.appender();
    if app.append(&existing, 2000, 2.0).is_ok() {
        app.commit().unwrap();
    }
    assert_eq!(
        db.head.num_series(),
        100,
        "existing series are never dropped"
    );
}

/// A companion store that keeps its records in memory and "persists"
/// when told to.
struct MemStore {
    family: RecordFamily,
    /// `(segment, record)` in the order applied.
    applied: Mutex<Vec<(u64, Vec<u8>)>>,
    persisted: AtomicU64,
}

impl MemStore {
    fn new(family: RecordFamily) -> Arc<MemStore> {
        Arc::new(MemStore {
            family,
            applied: Mutex::new(Vec::new()),
            persisted: AtomicU64::new(0),
        })
    }

    fn payloads(&self) -> Vec<Vec<u8>> {
        self.applied.lock().iter().map(|(_, r)| r.clone()).collect()
    }
}

impl WalStore for MemStore {
    fn family(&self) -> RecordFamily {
        self.family
    }

    fn replay(&self, record: &[u8], segment: u64) -> Result<()> {
        if segment > self.persisted.load(Ordering::Acquire) {
            self.applied.lock().push((segment, record.to_vec()));
        }
        Ok(())
    }

    fn persisted_through(&self) -> u64 {
        self.persisted.load(Ordering::Acquire)
    }
}

/// Adds a span record (type 32) and a sample in one batch.
fn commit_span(db: &Db, store: &Arc<MemStore>, payload: u8, t: i64) -> Result<()> {
    let mut app = db.appender();
    app.append(&series(0), t, 1.0)?;
    let s = store.clone();
    app.add_record(vec![32, payload], move |pos| {
        s.applied.lock().push((pos.segment, vec![32, payload]));
    })?;
    app.commit().map(|_| ())
}

fn open_with(dir: &std::path::Path, store: &Arc<MemStore>) -> Result<Db> {
    Db::open_with_stores(dir, opts(), vec![store.clone() as Arc<dyn WalStore>])
}

#[test]
fn store_records_commit_with_samples_and_replay_to_their_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemStore::new(RecordFamily::Spans);
    {
        let db = open_with(dir.path(), &store).unwrap();
        commit_span(&db, &store, 1, 1000).unwrap();
        // Rolled back or failed batches run no callback.
        let mut app = db.appender();
        app.add_record(vec![32, 2], |_| panic!("rolled back"))
            .unwrap();
        app.rollback();
        db.wal.faults.writes.store(1, Ordering::Release);
        commit_span(&db, &store, 3, 2000).unwrap_err();
        commit_span(&db, &store, 4, 3000).unwrap();
        assert_eq!(store.payloads(), vec![vec![32, 1], vec![32, 4]]);
    }
    let replayed = MemStore::new(RecordFamily::Spans);
    let db = open_with(dir.path(), &replayed).unwrap();
    assert_eq!(replayed.payloads(), vec![vec![32, 1], vec![32, 4]]);
    assert_eq!(dump(&db).len(), 2, "the batches' samples replay too");
}

#[test]
fn records_without_an_open_store_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemStore::new(RecordFamily::Spans);
    {
        let db = open_with(dir.path(), &store).unwrap();
        let mut app = db.appender();
        for bad in [vec![64, 0], vec![1, 0], vec![200], vec![]] {
            let err = app.add_record(bad.clone(), |_| {}).unwrap_err();
            assert!(matches!(err, Error::UnownedRecord { .. }), "{bad:?}: {err}");
        }
        drop(app);
        commit_span(&db, &store, 1, 1000).unwrap();
    }
    // The WAL holds span records: opening without the span store fails
    // rather than dropping them.
    let err = Db::open(dir.path(), opts()).err().unwrap();
    assert!(
        matches!(
            err,
            Error::UnownedRecord {
                record_type: 32,
                family: "spans"
            }
        ),
        "{err}"
    );
    let twice = vec![
        store.clone() as Arc<dyn WalStore>,
        store.clone() as Arc<dyn WalStore>,
    ];
    assert!(Db::open_with_stores(dir.path(), opts(), twice).is_err());
}

#[test]
fn wal_truncation_waits_for_the_slowest_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemStore::new(RecordFamily::Spans);
    let segments = |db: &Db| db.wal.segments().unwrap();
    {
        let db = open_with(dir.path(), &store).unwrap();
        commit_span(&db, &store, 1, 0).unwrap();
        // Three hours of samples: the head cuts a block and truncates.
        for m in 1..180 {
            write(&db, 0, m * 60_000, 1.0).unwrap();
        }
        db.compact().unwrap();
        let cut = db.blocks().len();
        assert!(cut > 0, "the head was cut into blocks");
        assert_eq!(segments(&db)[0], 1, "segment 1 holds an unpersisted span");
        // The store persists span 1 (its blocks now hold that segment).
        let first = store.applied.lock()[0].0;
        assert!(first < *segments(&db).last().unwrap());
        store.persisted.store(first, Ordering::Release);
        commit_span(&db, &store, 2, 180 * 60_000).unwrap();
        for m in 181..240 {
            write(&db, 0, m * 60_000, 1.0).unwrap();
        }
        db.compact().unwrap();
        assert!(db.head.min_time() >= 3 * HOUR, "the head was cut again");
        assert!(segments(&db)[0] > first, "persisted segments are gone");
    }
    let replayed = MemStore::new(RecordFamily::Spans);
    replayed
        .persisted
        .store(store.persisted_through(), Ordering::Release);
    let _db = open_with(dir.path(), &replayed).unwrap();
    assert_eq!(
        replayed.payloads(),
        vec![vec![32, 2]],
        "only the unpersisted span replays"
    );
}

#[test]
fn a_labels_only_selection_names_the_same_series_without_their_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    for i in 0..3 {
        write(&db, i, 1000, 1.0).unwrap();
    }
    // Into a block, then one more series in the head.
    write(&db, 0, 3 * HOUR, 2.0).unwrap();
    db.compact().unwrap();
    write(&db, 3, 3 * HOUR + 1, 3.0).unwrap();
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let all = [Matcher::equal("__name__", "m")];
    let full = q.select(&SelectHints::default(), &all).unwrap();
    let hints = SelectHints {
        func: Some(crate::model::LABELS_ONLY.to_string()),
        ..SelectHints::default()
    };
    let bare = q.select(&hints, &all).unwrap();
    let labels = |s: &[crate::model::Series]| -> Vec<Labels> {
        s.iter().map(|s| s.labels.clone()).collect()
    };
    assert_eq!(labels(&bare), labels(&full));
    assert_eq!(full.len(), 4);
    let mut v: Vec<Sample> = vec![];
    bare[1].samples_in(i64::MIN, i64::MAX, &mut v);
    assert!(v.is_empty(), "a block series comes without its chunks");
}
