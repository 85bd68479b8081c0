use super::super::{Db, DbOptions};
use super::RetentionRule;
use crate::model::{Labels, MatchOp, Matcher, Queryable, SelectHints};
use crate::querier::BlockReader;
use crate::retention::Retention;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn rules() -> Vec<RetentionRule> {
    vec![
        RetentionRule {
            matchers: vec![Matcher::equal("env", "dev")],
            retention: DAY,
        },
        RetentionRule {
            matchers: vec![Matcher::new(MatchOp::RegexMatch, "__name__", "slo_.*").unwrap()],
            retention: 0,
        },
    ]
}

fn opts(with_rules: bool) -> DbOptions {
    DbOptions {
        retention: Retention {
            time: 2 * DAY,
            size: 0,
        },
        retention_rules: if with_rules { rules() } else { Vec::new() },
        ..DbOptions::default()
    }
}

fn series() -> Vec<Labels> {
    vec![
        Labels::from_pairs(&[("__name__", "m"), ("env", "dev")]),
        Labels::from_pairs(&[("__name__", "m"), ("env", "prod")]),
        Labels::from_pairs(&[("__name__", "slo_errors"), ("env", "dev")]),
    ]
}

/// Four days of a sample a minute per series, with maintenance.
fn fill(db: &Db) {
    for chunk in (1..=4 * DAY / 60_000).collect::<Vec<_>>().chunks(600) {
        let mut app = db.appender();
        for &i in chunk {
            for l in series() {
                app.append(&l, i * 60_000, i as f64).unwrap();
            }
        }
        app.commit().unwrap();
        db.compact().unwrap();
    }
}

/// The oldest visible sample time of each series, by labels.
fn oldest(db: &Db) -> Vec<(String, i64)> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let all = Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap();
    let mut out: Vec<(String, i64)> = q
        .select(&SelectHints::default(), &[all])
        .unwrap()
        .into_iter()
        .filter_map(|s| {
            let mut v = Vec::new();
            s.samples_in(i64::MIN, i64::MAX, &mut v);
            v.first().map(|p| (s.labels.to_string(), p.t))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn first_matching_rule_decides() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts(true)).unwrap();
    let want = [(Some(0), DAY), (None, 2 * DAY), (Some(0), DAY)];
    for (l, want) in series().iter().zip(want) {
        assert_eq!(db.effective_retention(l), want, "{l}");
    }
    let slo = Labels::from_pairs(&[("__name__", "slo_x"), ("env", "prod")]);
    assert_eq!(db.effective_retention(&slo), (Some(1), 0));
}

#[test]
fn rules_hide_at_once_and_leave_the_disk_at_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        fill(&db);
    }
    let db = Db::open(dir.path(), opts(true)).unwrap();
    let newest = db.newest_time().unwrap();
    // At once, before any maintenance: dev series (the first rule, even
    // slo_errors{env="dev"}) show only their last day.
    for (l, t) in oldest(&db) {
        if l.contains("dev") {
            assert!(t > newest - DAY, "{l} visible from {t}");
        } else {
            assert_eq!(t, 60_000, "{l}");
        }
    }
    let report = db.compact().unwrap();
    assert!(report.rule_rewrites > 0, "{report:?}");
    // On disk: no block past a day old holds a dev series; blocks past two
    // days are gone but where a slo series (none here: the dev rule comes
    // first) would keep them; prod follows the global retention.
    let dev = Matcher::equal("env", "dev");
    for b in db.blocks() {
        if b.meta().max_time <= newest - DAY {
            assert!(
                b.postings(std::slice::from_ref(&dev)).unwrap().is_empty(),
                "dev data in an old block"
            );
        }
    }
    let cutoff = db.blocks().iter().map(|b| b.meta().max_time).max().unwrap() - 2 * DAY;
    assert!(db.blocks().iter().all(|b| b.meta().max_time > cutoff));
}

#[test]
fn a_longer_rule_keeps_its_series_past_the_global_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(true);
    // slo first: it now wins for slo_errors{env="dev"}.
    o.retention_rules.reverse();
    let db = Db::open(dir.path(), o).unwrap();
    fill(&db);
    let seen = oldest(&db);
    let slo = seen.iter().find(|(l, _)| l.contains("slo_errors")).unwrap();
    assert_eq!(slo.1, 60_000, "kept from the start");
    let prod = seen.iter().find(|(l, _)| l.contains("prod")).unwrap();
    assert!(prod.1 > 60_000, "prod expired with the global retention");
    // The oldest block holds the slo series only.
    let first = db.blocks().into_iter().next().unwrap();
    let all = Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap();
    assert_eq!(first.postings(&[all]).unwrap().len(), 1);
}
