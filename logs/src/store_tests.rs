use std::path::Path;

use tsdb::db::DbOptions;
use tsdb::model::MatchOp;

use super::*;
use crate::logql::{Expr, parse};
use crate::model::Entry;

const NOW: i64 = 1_700_000_000_000_000_000;

fn open(dir: &Path) -> (Arc<LogStore>, Db) {
    let store = LogStore::open(Options::default());
    let db = Db::open_with_stores(
        dir,
        DbOptions::default(),
        vec![store.clone() as Arc<dyn WalStore>],
    )
    .unwrap();
    (store, db)
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
        .select(&l, NOW - 1_000, NOW + 1_000, Direction::Forward, 100)
        .unwrap()
        .into_iter()
        .map(|h| (h.stream.get("app").to_string(), h.line))
        .collect()
}

#[test]
fn pushed_entries_survive_a_restart_once() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (store, db) = open(tmp.path());
        let a = store
            .push(
                &db,
                vec![
                    push("api", &[(NOW, "GET /"), (NOW + 1, "POST /x")]),
                    push("db", &[(NOW, "q")]),
                ],
                NOW,
            )
            .unwrap();
        assert_eq!((a.entries, a.refused), (3, 0));
        // A client's retry of the same push stores nothing twice.
        store
            .push(&db, vec![push("api", &[(NOW, "GET /")])], NOW)
            .unwrap();
        assert_eq!(store.counters.entries_duplicate.load(Ordering::Relaxed), 1);
        assert_ne!(
            store.persisted_through(),
            u64::MAX,
            "the WAL keeps log records"
        );
        db.close().unwrap();
    }
    let (store, _db) = open(tmp.path());
    assert_eq!(store.counters.entries_replayed.load(Ordering::Relaxed), 3);
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        query(&store, r#"{app=~".+"}"#),
        pairs(&[("api", "GET /"), ("db", "q"), ("api", "POST /x")])
    );
    assert_eq!(
        query(&store, r#"{app="api"} |= "POST""#),
        pairs(&[("api", "POST /x")])
    );
    let m = Matcher::new(MatchOp::Equal, "app", "db").unwrap();
    assert_eq!(store.series(&[m], NOW - 1, NOW + 1).len(), 1);
}

#[test]
fn refusals_leave_the_rest_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, db) = open(tmp.path());
    let long = "x".repeat((256 << 10) + 1);
    let a = store
        .push(&db, vec![push("api", &[(NOW, &long), (NOW, "ok")])], NOW)
        .unwrap();
    assert_eq!((a.entries, a.refused), (1, 1));
    assert!(a.reasons[0].contains("max entry size"), "{:?}", a.reasons);
    assert_eq!(
        query(&store, r#"{app="api"}"#),
        vec![("api".to_string(), "ok".to_string())]
    );
}

#[test]
fn retention_drops_entries_older_than_the_newest_less_retention() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LogStore::open(Options {
        retention: Some(std::time::Duration::from_secs(60)),
        ..Options::default()
    });
    let db = Db::open_with_stores(
        tmp.path(),
        DbOptions::default(),
        vec![store.clone() as Arc<dyn WalStore>],
    )
    .unwrap();
    const MIN: i64 = 60_000_000_000;
    store
        .push(
            &db,
            vec![push("api", &[(NOW - 5 * MIN, "old"), (NOW, "new")])],
            NOW,
        )
        .unwrap();
    let everything = |store: &LogStore| -> Vec<String> {
        let m = Matcher::new(MatchOp::Equal, "app", "api").unwrap();
        store
            .head()
            .select(
                &[m],
                i64::MIN,
                i64::MAX,
                Direction::Forward,
                100,
                &crate::head::LineFilter::ALL,
                &mut |l, e| Some(crate::model::Hit::plain(l, e)),
            )
            .unwrap()
            .into_iter()
            .map(|h| h.line)
            .collect()
    };
    assert_eq!(everything(&store), vec!["old", "new"]);
    assert_eq!(
        store.apply_retention().unwrap(),
        1,
        "older than a minute before the newest"
    );
    assert_eq!(everything(&store), vec!["new"]);
    assert_eq!(store.counters.entries_expired.load(Ordering::Relaxed), 1);
    // Per selector: the highest priority wins, then the longest period.
    let rule = |sel: &str, priority: u32, minutes: u64| StreamRetention {
        matchers: promql::parse_series_selector(sel).unwrap(),
        priority,
        period: std::time::Duration::from_secs(minutes * 60),
    };
    let rules = vec![
        rule(r#"{app="api"}"#, 1, 10),
        rule(r#"{app=~"a.*"}"#, 1, 20),
        rule(r#"{app="api"}"#, 2, 5),
    ];
    let labels = Labels::from_pairs(&[("app", "api")]);
    let min = |m: u64| Some(std::time::Duration::from_secs(m * 60));
    assert_eq!(StreamRetention::of(&rules, &labels, min(60)), min(5));
    assert_eq!(StreamRetention::of(&rules[..2], &labels, min(60)), min(20));
    assert_eq!(
        StreamRetention::of(&rules, &Labels::from_pairs(&[("app", "db")]), min(60)),
        min(60)
    );
    assert_eq!(store.apply_retention().unwrap(), 0);
}
