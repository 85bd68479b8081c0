//! Native histograms through the whole database: the WAL and its replay,
//! head chunks, blocks, compaction and deletion, out-of-order samples,
//! and series that switch between floats and histograms.

use super::{Db, DbOptions};
use crate::model::histogram::{CounterResetHint, FloatHistogram, Histogram, HistogramValue, Span};
use crate::model::{Labels, Matcher, Queryable, SampleBuf, SelectHints};

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

fn opts() -> DbOptions {
    DbOptions {
        block_range: HOUR,
        ..DbOptions::default()
    }
}

fn series(name: &str) -> Labels {
    Labels::from_pairs(&[("__name__", name)])
}

/// A counter histogram after `n` observations spread over two buckets;
/// from `n = 100` on the layout gains a third bucket.
fn counter(n: u64) -> HistogramValue {
    let (spans, deltas) = if n >= 100 {
        (
            vec![Span::new(0, 2), Span::new(1, 1)],
            vec![n as i64, -(n as i64) + 1, 0],
        )
    } else {
        (vec![Span::new(0, 2)], vec![n as i64, -(n as i64) + 1])
    };
    HistogramValue::Int(Histogram {
        schema: 1,
        count: n + 1 + u64::from(n >= 100),
        sum: n as f64 * 0.5,
        positive_spans: spans,
        positive_deltas: deltas,
        ..Histogram::default()
    })
}

fn gauge(v: f64) -> HistogramValue {
    HistogramValue::Float(FloatHistogram {
        hint: CounterResetHint::Gauge,
        schema: 0,
        count: v,
        sum: -v,
        negative_spans: vec![Span::new(1, 1)],
        negative_buckets: vec![v],
        ..FloatHistogram::default()
    })
}

/// What the database must hold, as `(name, t, kind)`.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Float(f64),
    Hist(FloatHistogram),
}

fn dump(db: &Db, mint: i64, maxt: i64) -> Vec<(String, i64, Value)> {
    let q = db.querier(mint, maxt).unwrap();
    let all = Matcher::new(crate::model::MatchOp::RegexMatch, "__name__", ".+").unwrap();
    let mut out = Vec::new();
    let mut buf = SampleBuf::new();
    for s in q.select(&SelectHints::default(), &[all]).unwrap() {
        s.read(mint, maxt, &mut buf);
        let name = s.labels.get("__name__").to_string();
        for f in buf.floats() {
            out.push((name.clone(), f.t, Value::Float(f.v)));
        }
        for h in buf.histograms() {
            // Hints depend on where chunks were cut; compare observations.
            let mut x = (*h.h).clone();
            x.hint = CounterResetHint::Unknown;
            x.compact(0);
            out.push((name.clone(), h.t, Value::Hist(x)));
        }
    }
    out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    out
}

fn expected(
    samples: &[(&str, i64, HistogramValue)],
    floats: &[(&str, i64, f64)],
) -> Vec<(String, i64, Value)> {
    let mut out: Vec<(String, i64, Value)> = samples
        .iter()
        .map(|(n, t, h)| {
            let mut x = h.to_float();
            x.hint = CounterResetHint::Unknown;
            x.compact(0);
            (n.to_string(), *t, Value::Hist(x))
        })
        .chain(
            floats
                .iter()
                .map(|(n, t, v)| (n.to_string(), *t, Value::Float(*v))),
        )
        .collect();
    out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    out
}

/// Asserts equality, showing only the first difference.
fn same(got: Vec<(String, i64, Value)>, want: &[(String, i64, Value)], what: &str) {
    let first = got.iter().zip(want).position(|(a, b)| a != b);
    if let Some(i) = first {
        panic!("{what}: at {i}: got {:?}, want {:?}", got[i], want[i]);
    }
    assert_eq!(got.len(), want.len(), "{what}: lengths");
}

#[test]
fn histograms_survive_replay_compaction_and_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let mut hists = Vec::new();
    let mut floats = Vec::new();
    // Three hours, a sample a minute: a counter histogram with a reset
    // and a growing layout, a gauge histogram, and a series that is a
    // float for its first 30 minutes of every hour.
    for m in 0..180i64 {
        let t = m * MINUTE;
        let n = if m < 90 {
            m as u64
        } else {
            (m - 80) as u64 * 12
        };
        hists.push(("c", t, counter(n)));
        hists.push(("g", t, gauge((m % 7) as f64)));
        if m % 60 < 30 {
            floats.push(("mixed", t, m as f64));
        } else {
            hists.push(("mixed", t, counter(m as u64)));
        }
    }
    // Written in time order, floats and histograms in the same batches.
    let mut all: Vec<(&str, i64, Option<HistogramValue>, f64)> = hists
        .iter()
        .map(|(n, t, h)| (*n, *t, Some(h.clone()), 0.0))
        .chain(floats.iter().map(|(n, t, v)| (*n, *t, None, *v)))
        .collect();
    all.sort_by_key(|x| x.1);
    let want = expected(&hists, &floats);
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        for chunk in all.chunks(40) {
            let mut app = db.appender();
            for (name, t, h, v) in chunk {
                match h {
                    Some(h) => app.append_histogram(&series(name), *t, h.clone()).map(drop),
                    None => app.append(&series(name), *t, *v).map(drop),
                }
                .unwrap();
            }
            app.commit().unwrap();
        }
        same(dump(&db, 0, i64::MAX), &want, "head");
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    same(dump(&db, 0, i64::MAX), &want, "after WAL replay");
    db.compact().unwrap();
    assert!(!db.blocks().is_empty(), "the head was cut into blocks");
    same(dump(&db, 0, i64::MAX), &want, "blocks and head");
    // A deletion inside a block: compaction re-encodes what is left.
    db.delete(&[Matcher::equal("__name__", "c")], 10 * MINUTE, 20 * MINUTE)
        .unwrap();
    db.clean_tombstones().unwrap();
    let mut want_deleted = want.clone();
    want_deleted.retain(|(n, t, _)| !(n == "c" && (10 * MINUTE..=20 * MINUTE).contains(t)));
    same(dump(&db, 0, i64::MAX), &want_deleted, "after deletion");
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    same(dump(&db, 0, i64::MAX), &want_deleted, "reopened");
    // A range read cuts inside chunks.
    let part: Vec<_> = want_deleted
        .iter()
        .filter(|(_, t, _)| (25 * MINUTE..=95 * MINUTE).contains(t))
        .cloned()
        .collect();
    same(dump(&db, 25 * MINUTE, 95 * MINUTE), &part, "a range");
}

/// Out-of-order histograms within the window are kept, read in time order
/// with the in-order ones, replayed from the WAL and compacted; older
/// ones are refused.
#[test]
fn out_of_order_histograms_within_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let ooo = DbOptions {
        ooo_window: 30 * MINUTE,
        ..opts()
    };
    // Every even minute in order, then the odd minutes late.
    let mut want = Vec::new();
    {
        let db = Db::open(dir.path(), ooo.clone()).unwrap();
        let mut app = db.appender();
        for m in (0..120i64).step_by(2) {
            app.append_histogram(&series("c"), m * MINUTE, counter(m as u64))
                .unwrap();
            want.push(("c", m * MINUTE, counter(m as u64)));
        }
        app.commit().unwrap();
        let mut app = db.appender();
        for m in (91..120i64).step_by(2) {
            app.append_histogram(&series("c"), m * MINUTE, counter(m as u64))
                .unwrap();
            want.push(("c", m * MINUTE, counter(m as u64)));
        }
        // Beyond the window: refused, the batch goes on.
        let late = app.append_histogram(&series("c"), MINUTE, counter(1));
        assert!(late.is_err(), "{late:?}");
        app.commit().unwrap();
        // The same late sample again is a duplicate, another value at its
        // time is refused.
        let mut app = db.appender();
        assert!(
            app.append_histogram(&series("c"), 91 * MINUTE, counter(91))
                .is_ok()
        );
        app.commit().unwrap();
        let mut app = db.appender();
        let conflict = app.append_histogram(&series("c"), 91 * MINUTE, counter(7));
        assert!(conflict.is_err(), "{conflict:?}");
        app.commit().unwrap();
        let want = expected(&want, &[]);
        same(dump(&db, 0, i64::MAX), &want, "head");
    }
    let want = expected(&want, &[]);
    let db = Db::open(dir.path(), ooo).unwrap();
    same(dump(&db, 0, i64::MAX), &want, "after WAL replay");
    db.compact().unwrap();
    same(dump(&db, 0, i64::MAX), &want, "after compaction");
}

#[test]
fn invalid_histograms_are_refused_with_their_rule_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    let bad = HistogramValue::Int(Histogram {
        count: 1,
        positive_spans: vec![Span::new(0, 2)],
        positive_deltas: vec![1],
        ..Histogram::default()
    });
    let err = app.append_histogram(&series("x"), 1000, bad).unwrap_err();
    assert!(err.to_string().contains("spans"), "{err}");
    app.append_histogram(&series("x"), 1000, counter(3))
        .unwrap();
    assert_eq!(app.commit().unwrap().in_order, 1);
    assert_eq!(dump(&db, 0, i64::MAX).len(), 1);
}

/// Every histogram series with `(t, st)` of its samples (st 0 = none).
fn dump_hist_sts(db: &Db) -> Vec<(String, Vec<(i64, i64)>)> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let all = Matcher::new(crate::model::MatchOp::RegexMatch, "__name__", ".+").unwrap();
    let mut buf = SampleBuf::new();
    let mut out = Vec::new();
    for s in q.select(&SelectHints::default(), &[all]).unwrap() {
        s.read(i64::MIN, i64::MAX, &mut buf);
        let pairs = buf.histograms().iter().map(|h| (h.t, h.st)).collect();
        out.push((s.labels.to_string(), pairs));
    }
    out
}

/// Start timestamps of histogram samples (cumulative, delta, set from
/// the middle of a chunk on, and mixed with floats) are kept by the head,
/// the WAL's replay, compaction into blocks and a reopen.
#[test]
fn histogram_start_timestamps_survive_replay_compaction_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    type Kind = (&'static str, fn(i64) -> i64);
    let kinds: [Kind; 4] = [
        ("none", |_| 0),
        ("cumulative", |t| {
            if t < 90 * MINUTE { 1 } else { 90 * MINUTE - 1 }
        }),
        ("delta", |t| t - MINUTE),
        ("late_start", |t| if t < 30 * MINUTE { 0 } else { t - 1 }),
    ];
    let db = Db::open(dir.path(), opts()).unwrap();
    for m in 0..180i64 {
        let t = m * MINUTE;
        let mut app = db.appender();
        for (name, st) in kinds {
            app.append_histogram(&series(name), t, counter(m as u64))
                .unwrap();
            app.set_start_timestamp(st(t));
        }
        // A float sample between two histograms of one batch keeps its
        // own start timestamp (none) apart from theirs.
        app.append(&series("floats"), t, m as f64).unwrap();
        app.commit().unwrap();
    }
    let before = dump_hist_sts(&db);
    let late = &before.iter().find(|(l, _)| l.contains("late")).unwrap().1;
    assert_eq!(late[29], (29 * MINUTE, 0));
    assert_eq!(late[30], (30 * MINUTE, 30 * MINUTE - 1));
    let delta = &before.iter().find(|(l, _)| l.contains("delta")).unwrap().1;
    assert_eq!(delta[5], (5 * MINUTE, 4 * MINUTE));
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(
        dump_hist_sts(&db),
        before,
        "WAL replay changed start timestamps"
    );
    db.compact().unwrap();
    assert!(!db.blocks().is_empty(), "the head was cut into blocks");
    assert_eq!(
        dump_hist_sts(&db),
        before,
        "compaction changed start timestamps"
    );
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(
        dump_hist_sts(&db),
        before,
        "reopen changed start timestamps"
    );
}
