//! Queries over downsampling tiers against the same data kept raw: every
//! covered function on aligned ranges gives the raw answer, wherever the
//! raw/tier boundary lies; unaligned queries where only tiers hold the
//! data are answered approximately and say so.

use promql::eval::{Engine, EngineOptions, SourceResolution};
use tsdb::db::{Appender, Db, DbOptions, RetentionRule};
use tsdb::downsample::testing::two_tiers as tiers;
use tsdb::downsample::{Columns, CounterSuffixes, Tiers};
use tsdb::model::histogram::HistogramValue;
use tsdb::model::{Labels, Matcher, STALE_NAN};
use tsdb::retention::Retention;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const DAYS: i64 = 4;

fn open(dir: &std::path::Path, raw_retention: i64, tiers: Tiers) -> Db {
    let opts = DbOptions {
        retention: Retention {
            time: raw_retention,
            size: 0,
        },
        downsampling: tiers,
        ..DbOptions::default()
    };
    Db::open(dir, opts).expect("open")
}

/// Counters with resets and jitter, a gauge with gaps and staleness, on
/// 15 s scrapes for [`DAYS`] days; written in time order with
/// maintenance between batches.
fn fill(db: &Db) {
    let mut batch = Vec::new();
    for i in 1..=DAYS * DAY / 15_000 {
        let t = i * 15_000 + (i * 7) % 5;
        for (k, job) in ["a", "b", "c"].iter().enumerate() {
            let l = Labels::from_pairs(&[("__name__", "req_total"), ("job", job)]);
            let v = ((i + k as i64 * 333) % (1500 + k as i64 * 200)) as f64 * 2.5;
            batch.push((l, t, v));
        }
        let hour = (t % DAY) / HOUR;
        if hour != 3 {
            let v = if hour == 2 && t % HOUR > 58 * MINUTE {
                STALE_NAN
            } else {
                ((i * 7919) % 2000) as f64 / 16.0 - 40.0
            };
            batch.push((Labels::from_pairs(&[("__name__", "temp")]), t, v));
        }
        if batch.len() >= 8000 {
            write(db, &mut batch);
        }
    }
    write(db, &mut batch);
    db.compact().expect("final maintenance");
}

/// Writes `batch`, and over the last two hours a native histogram `lat`
/// beside each `req_total` sample of job `a` (tiers do not hold
/// histograms: the planner must read them raw).
fn write(db: &Db, batch: &mut Vec<(Labels, i64, f64)>) {
    let mut app = db.appender();
    let mut hists = almanac::hist_gen::HistogramFleet::new(1, 42);
    let lat = Labels::from_pairs(&[("__name__", "lat")]);
    for (l, t, v) in batch.drain(..) {
        app.append(&l, t, v).expect("append");
        if l.get("job") == "a" && t > DAYS * DAY - 2 * HOUR {
            let mut h = None;
            hists.scrape(|_, x| h = Some(x));
            if let Some(h) = h {
                app.append_histogram(&lat, t, HistogramValue::Int(h))
                    .expect("append histogram");
            }
        }
    }
    app.commit().expect("commit");
    db.compact().expect("maintenance");
}

const EXPRS: &[&str] = &[
    "rate(req_total[5m])",
    "increase(req_total[1h])",
    "irate(req_total[5m])",
    "resets(req_total[1h])",
    "changes(temp[15m])",
    "delta(temp[10m])",
    "idelta(temp[5m])",
    "sum_over_time(temp[30m])",
    "avg_over_time(temp[1h])",
    "min_over_time(temp[5m])",
    "max_over_time(temp[20m])",
    "count_over_time(temp[5m])",
    "last_over_time(temp[5m])",
    "first_over_time(req_total[10m])",
    "present_over_time(temp[5m])",
    "sum by (job) (rate(req_total[15m]))",
];

/// A range query's points `(labels, t, v)`, sorted; the tiers it read;
/// its infos.
type Answer = (Vec<(String, i64, f64)>, Vec<i64>, Vec<String>);

fn run(db: &Db, engine: &Engine, q: &str, start: i64, end: i64, step: i64) -> Answer {
    let expr = promql::parse(q).expect("parse");
    let res = engine.range(db, &expr, start, end, step).expect("query");
    let promql::value::Value::Matrix(m) = res.value else {
        panic!("{q}: not a matrix");
    };
    let mut out: Vec<(String, i64, f64)> = m
        .iter()
        .flat_map(|s| {
            s.samples
                .iter()
                .map(move |p| (s.labels.to_string(), p.t, p.v))
        })
        .collect();
    out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    (out, res.tiers, res.infos)
}

fn close(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
        || (a.is_nan() && b.is_nan())
        || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

#[test]
fn aligned_queries_equal_raw_wherever_the_boundary_lies() {
    let raw_dir = tempfile::tempdir().unwrap();
    let raw = open(raw_dir.path(), 0, Tiers::default());
    fill(&raw);
    let engine = Engine::new(EngineOptions::default());
    // Raw kept 1, 2 and 3 days: the raw/tier boundary in three places.
    for raw_days in [1, 2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path(), raw_days * DAY, tiers());
        fill(&db);
        assert!(!db.tier_blocks().is_empty());
        let oldest_raw = db.blocks().iter().map(|b| b.meta().min_time).min().unwrap();
        assert!(oldest_raw > HOUR, "raw data expired ({raw_days}d)");
        for q in EXPRS {
            for (start, end, step) in [
                (2 * HOUR, DAYS * DAY, HOUR),
                (6 * HOUR, 30 * HOUR, 5 * MINUTE),
                (DAY + 17 * MINUTE, DAY + 5 * HOUR, 15 * MINUTE),
            ] {
                let (want, ..) = run(&raw, &engine, q, start, end, step);
                let (got, used, infos) = run(&db, &engine, q, start, end, step);
                assert!(!want.is_empty(), "{q}: raw answer empty");
                assert!(!used.is_empty(), "{q} ({raw_days}d raw): no tier read");
                assert!(
                    infos.iter().all(|i| !i.contains("approximately")),
                    "{q}: {infos:?}"
                );
                assert_eq!(
                    got.len(),
                    want.len(),
                    "{q} ({raw_days}d raw) {start}..{end}/{step}"
                );
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        g.0 == w.0 && g.1 == w.1 && close(g.2, w.2),
                        "{q} ({raw_days}d raw): tier {g:?} vs raw {w:?}"
                    );
                }
            }
        }
    }
}

/// Plain selectors: where raw data has expired, read from the finest tier.
const INSTANT_EXPRS: &[&str] = &[
    "temp",
    "timestamp(temp)",
    "req_total",
    "sum by (job) (req_total)",
];

#[test]
fn plain_selectors_over_expired_raw_data_equal_raw() {
    let raw_dir = tempfile::tempdir().unwrap();
    let raw = open(raw_dir.path(), 0, Tiers::default());
    fill(&raw);
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), DAY, tiers());
    fill(&db);
    let engine = Engine::new(EngineOptions::default());
    for q in INSTANT_EXPRS {
        // Across the raw/tier boundary, at 1m-aligned steps; the gauge is
        // stale from 02:58 to 03:00 and absent from 03:00 to 04:00 every day.
        let (want, ..) = run(&raw, &engine, q, HOUR, DAYS * DAY, 7 * MINUTE);
        let (got, used, infos) = run(&db, &engine, q, HOUR, DAYS * DAY, 7 * MINUTE);
        assert_eq!(
            used,
            [MINUTE],
            "{q}: the 1m tier answers where raw data expired"
        );
        assert!(infos.is_empty(), "{q}: {infos:?}");
        if got.len() != want.len() {
            let extra: Vec<_> = got
                .iter()
                .filter(|g| !want.iter().any(|w| w.0 == g.0 && w.1 == g.1))
                .collect();
            let missing: Vec<_> = want
                .iter()
                .filter(|w| !got.iter().any(|g| w.0 == g.0 && w.1 == g.1))
                .collect();
            panic!("{q}: extra {extra:?} missing {missing:?}");
        }
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g.0 == w.0 && g.1 == w.1 && close(g.2, w.2),
                "{q}: tier {g:?} vs raw {w:?}"
            );
        }
    }
    // Unaligned steps where only the tier holds the data: approximate.
    let (got, _, infos) = run(&db, &engine, "temp", HOUR + 7_000, 5 * HOUR, 61_000);
    assert!(!got.is_empty());
    assert!(
        infos
            .iter()
            .any(|i| i.contains("instant selector evaluated approximately")),
        "{infos:?}"
    );
}

#[test]
fn unaligned_queries_on_tiers_only_are_approximate_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), DAY, tiers());
    fill(&db);
    let engine = Engine::new(EngineOptions::default());
    // An hour that only tiers hold, at unaligned times.
    let (got, used, infos) = run(
        &db,
        &engine,
        "rate(req_total[5m])",
        5 * HOUR + 7_000,
        6 * HOUR,
        60_000,
    );
    assert!(!got.is_empty(), "never silently empty");
    assert_eq!(used, [MINUTE], "the finest tier holding the range");
    assert!(
        infos
            .iter()
            .any(|i| i.contains("approximately on the 1m downsampling tier")),
        "{infos:?}"
    );
    // Raw only: nothing there any more.
    let raw_only = Engine::new(EngineOptions {
        max_source_resolution: SourceResolution::Raw,
        ..EngineOptions::default()
    });
    let (got, used, _) = run(
        &db,
        &raw_only,
        "rate(req_total[5m])",
        5 * HOUR,
        6 * HOUR,
        5 * MINUTE,
    );
    assert!(got.is_empty() && used.is_empty());
    // At most 1m: the 1m tier even where 5m would be exact.
    let capped = Engine::new(EngineOptions {
        max_source_resolution: SourceResolution::AtMost(MINUTE),
        ..EngineOptions::default()
    });
    let (_, used, _) = run(
        &db,
        &capped,
        "rate(req_total[5m])",
        5 * HOUR,
        6 * HOUR,
        5 * MINUTE,
    );
    assert_eq!(used, [MINUTE]);
}

#[test]
fn native_histograms_are_read_raw_when_the_planner_picks_a_tier() {
    let raw_dir = tempfile::tempdir().unwrap();
    let raw = open(raw_dir.path(), 0, Tiers::default());
    fill(&raw);
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), 3 * DAY, tiers());
    fill(&db);
    let engine = Engine::new(EngineOptions::default());
    // Aligned times over a range the 1m tier overlaps: the tier is chosen
    // for the selector, and the histogram series must still answer from
    // raw data (it has samples in the last two hours only).
    let q = "histogram_count(rate(lat[5m]))";
    let (start, end) = (3 * DAY, DAYS * DAY);
    let (want, ..) = run(&raw, &engine, q, start, end, 5 * MINUTE);
    let (got, ..) = run(&db, &engine, q, start, end, 5 * MINUTE);
    assert!(!want.is_empty());
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(
            g.0 == w.0 && g.1 == w.1 && close(g.2, w.2),
            "{g:?} vs {w:?}"
        );
    }
}

#[test]
fn counter_sums_read_raw_while_it_covers_and_are_estimated_after() {
    let raw_dir = tempfile::tempdir().unwrap();
    let raw = open(raw_dir.path(), 0, Tiers::default());
    fill(&raw);
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), 2 * DAY, tiers());
    fill(&db);
    let engine = Engine::new(EngineOptions::default());
    let q = "sum_over_time(req_total[1h])";
    // Where raw data covers the query: the raw answer, no annotation.
    let (start, end) = (3 * DAY, DAYS * DAY);
    let (want, ..) = run(&raw, &engine, q, start, end, HOUR);
    let (got, used, infos) = run(&db, &engine, q, start, end, HOUR);
    // The planner picks a tier for the selector, but every series is a
    // counter without sums there: all read raw, and no tier is reported.
    assert!(used.is_empty(), "{used:?}");
    assert!(infos.is_empty(), "{infos:?}");
    assert!(!want.is_empty() && got.len() == want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(
            g.0 == w.0 && g.1 == w.1 && close(g.2, w.2),
            "{g:?} vs {w:?}"
        );
    }
    // Where only tiers hold it: estimated, said so, and an average
    // between the window's raw minimum and maximum.
    let (start, end) = (2 * HOUR, DAY);
    let q = "avg_over_time(req_total[1h])";
    let (got, used, infos) = run(&db, &engine, q, start, end, HOUR);
    assert!(!used.is_empty());
    assert!(
        infos
            .iter()
            .any(|i| i.contains("avg_over_time of counters is estimated")),
        "{infos:?}"
    );
    let (lo, ..) = run(
        &raw,
        &engine,
        "min_over_time(req_total[1h])",
        start,
        end,
        HOUR,
    );
    let (hi, ..) = run(
        &raw,
        &engine,
        "max_over_time(req_total[1h])",
        start,
        end,
        HOUR,
    );
    assert!(!got.is_empty() && got.len() == lo.len() && got.len() == hi.len());
    for ((g, l), h) in got.iter().zip(&lo).zip(&hi) {
        assert!(
            g.0 == l.0 && g.1 == l.1 && l.2 <= g.2 && g.2 <= h.2,
            "{g:?} outside [{l:?}, {h:?}]"
        );
    }
    // With every sum kept, the tiers answer exactly.
    let all_dir = tempfile::tempdir().unwrap();
    let all = Db::open(
        all_dir.path(),
        DbOptions {
            retention: Retention {
                time: 2 * DAY,
                size: 0,
            },
            downsampling: tiers(),
            counter_suffixes: CounterSuffixes::none(),
            ..DbOptions::default()
        },
    )
    .expect("open");
    fill(&all);
    let (want, ..) = run(&raw, &engine, q, start, end, HOUR);
    let (got, used, infos) = run(&all, &engine, q, start, end, HOUR);
    assert!(!used.is_empty() && infos.is_empty(), "{infos:?}");
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(
            g.0 == w.0 && g.1 == w.1 && close(g.2, w.2),
            "{g:?} vs {w:?}"
        );
    }
}

#[test]
fn optional_columns_answer_stddev_and_deriv_from_tiers() {
    let raw_dir = tempfile::tempdir().unwrap();
    let raw = open(raw_dir.path(), 0, Tiers::default());
    fill(&raw);
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention: Retention { time: DAY, size: 0 },
            downsampling: tiers(),
            tier_columns: Columns {
                moments: true,
                trend: true,
            },
            ..DbOptions::default()
        },
    )
    .expect("open");
    fill(&db);
    let engine = Engine::new(EngineOptions::default());
    // Merged moments and least-squares lines agree with the raw rollups
    // to 1e-9 (relative, or absolute near 0).
    let near = |a: f64, b: f64| {
        (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    };
    for q in [
        "stddev_over_time(temp[1h])",
        "stdvar_over_time(temp[30m])",
        "deriv(temp[1h])",
        "predict_linear(temp[2h], 600)",
        "deriv(req_total[15m])",
    ] {
        for (start, end, step) in [
            (2 * HOUR, DAYS * DAY, HOUR),
            (6 * HOUR, 30 * HOUR, 5 * MINUTE),
        ] {
            let (want, ..) = run(&raw, &engine, q, start, end, step);
            let (got, used, infos) = run(&db, &engine, q, start, end, step);
            assert!(!want.is_empty(), "{q}: raw answer empty");
            assert!(!used.is_empty(), "{q}: no tier read");
            assert!(infos.is_empty(), "{q}: {infos:?}");
            assert_eq!(got.len(), want.len(), "{q} {start}..{end}/{step}");
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    g.0 == w.0 && g.1 == w.1 && near(g.2, w.2),
                    "{q}: tier {g:?} vs raw {w:?}"
                );
            }
        }
    }
    // Without the columns, the tiers do not answer them and say so.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = open(plain_dir.path(), DAY, tiers());
    fill(&plain);
    let q = "stddev_over_time(temp[1h])";
    let (got, used, infos) = run(&plain, &engine, q, 2 * HOUR, DAY, HOUR);
    assert!(got.is_empty() && used.is_empty(), "{got:?} {used:?}");
    assert!(
        infos
            .iter()
            .any(|i| i.contains("stddev_over_time answered from raw data only")),
        "{infos:?}"
    );
}

#[test]
fn tier_buckets_count_toward_the_sample_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), DAY, tiers());
    fill(&db);
    // Three req_total series over two days only the tiers hold: 2 × 288
    // five-minute buckets each, far fewer than their raw samples.
    let (start, end) = (2 * HOUR, 2 * DAY);
    let q = promql::parse("rate(req_total[1h])").expect("parse");
    for (max_samples, fails) in [(100, true), (100_000, false)] {
        let engine = Engine::new(EngineOptions {
            max_samples,
            ..EngineOptions::default()
        });
        let res = engine.range(&db, &q, start, end, HOUR);
        match res {
            Err(promql::Error::TooManySamples(stage)) if fails => {
                assert_eq!(stage, "query preparation")
            }
            Ok(r) if !fails => assert!(!r.tiers.is_empty()),
            Err(e) => panic!("max_samples {max_samples}: {e}"),
            Ok(_) => panic!("max_samples {max_samples}: no error"),
        }
    }
}

#[test]
fn a_retention_rules_series_is_answered_from_tiers_where_its_raw_data_is_gone() {
    let raw_dir = tempfile::tempdir().unwrap();
    let raw = open(raw_dir.path(), 0, Tiers::default());
    fill(&raw);
    // Raw data kept 3 days, but job "a"'s only 1 day: between the two,
    // only the tiers hold job "a".
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention: Retention {
                time: 3 * DAY,
                size: 0,
            },
            downsampling: tiers(),
            retention_rules: vec![RetentionRule {
                matchers: vec![Matcher::equal("job", "a")],
                retention: DAY,
            }],
            ..DbOptions::default()
        },
    )
    .expect("open");
    fill(&db);
    let engine = Engine::new(EngineOptions::default());
    let job = |labels: &str, j: &str| labels.contains(&format!("job=\"{j}\""));
    // Unaligned: job "a" approximately from the 1m tier, the others exact
    // from raw data; nothing silently empty.
    let (start, end, step) = (2 * DAY + 7_000, 2 * DAY + 2 * HOUR, 60_000);
    let q = "rate(req_total[5m])";
    let (want, ..) = run(&raw, &engine, q, start, end, step);
    let (got, used, infos) = run(&db, &engine, q, start, end, step);
    assert_eq!(used, [MINUTE]);
    assert!(
        infos
            .iter()
            .any(|i| i.contains("approximately on the 1m downsampling tier")),
        "{infos:?}"
    );
    let count = |v: &[(String, i64, f64)], j: &str| v.iter().filter(|p| job(&p.0, j)).count();
    assert_eq!(
        count(&got, "a"),
        count(&want, "a"),
        "job a answered at every step"
    );
    let exact: Vec<_> = got.iter().filter(|p| !job(&p.0, "a")).collect();
    let want_exact: Vec<_> = want.iter().filter(|p| !job(&p.0, "a")).collect();
    assert_eq!(exact.len(), want_exact.len());
    for (g, w) in exact.iter().zip(&want_exact) {
        assert!(
            g.0 == w.0 && g.1 == w.1 && close(g.2, w.2),
            "{g:?} vs {w:?}"
        );
    }
    // A plain selector at aligned steps: job "a" from the tier, exactly.
    let (want, ..) = run(&raw, &engine, "req_total", start - 7_000, end, 5 * MINUTE);
    let (got, used, _) = run(&db, &engine, "req_total", start - 7_000, end, 5 * MINUTE);
    assert_eq!(used, [MINUTE]);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(
            g.0 == w.0 && g.1 == w.1 && close(g.2, w.2),
            "{g:?} vs {w:?}"
        );
    }
}

/// `switch` is a float counter for two days, then a native histogram
/// (a metric that changed type), on 15 s scrapes for [`DAYS`] days.
/// Calls `scrape(app, i, t)` for every 15 s scrape of [`DAYS`] days in
/// time order, committing and running maintenance every two hours of data.
fn fill_scrapes(db: &Db, mut scrape: impl FnMut(&mut Appender<'_>, i64, i64)) {
    let mut app = db.appender();
    for i in 1..=DAYS * DAY / 15_000 {
        scrape(&mut app, i, i * 15_000);
        if i % 480 == 0 {
            app.commit().expect("commit");
            db.compact().expect("maintenance");
            app = db.appender();
        }
    }
    app.commit().expect("commit");
    db.compact().expect("final maintenance");
}

/// The next histogram of a one-series fleet.
fn next_histogram(fleet: &mut almanac::hist_gen::HistogramFleet) -> HistogramValue {
    let mut h = None;
    fleet.scrape(|_, x| h = Some(x));
    HistogramValue::Int(h.expect("a histogram a scrape"))
}

fn fill_switch(db: &Db) {
    let labels = Labels::from_pairs(&[("__name__", "switch")]);
    let mut hists = almanac::hist_gen::HistogramFleet::new(1, 7);
    fill_scrapes(db, |app, i, t| {
        if t <= 2 * DAY {
            app.append(&labels, t, (i % 700) as f64).expect("append");
        } else {
            let h = next_histogram(&mut hists);
            app.append_histogram(&labels, t, h)
                .expect("append histogram");
        }
    });
}

#[test]
fn series_that_hold_native_histograms_are_read_raw() {
    let raw_dir = tempfile::tempdir().unwrap();
    let raw = open(raw_dir.path(), 0, Tiers::default());
    fill_switch(&raw);
    let engine = Engine::new(EngineOptions::default());
    // Aligned over the switch, where the tiers hold the floats and mark
    // the buckets that held histograms: raw data answers, as without tiers.
    let (start, end, step) = (2 * DAY - 2 * HOUR, 2 * DAY + 2 * HOUR, 5 * MINUTE);
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), 3 * DAY, tiers());
    fill_switch(&db);
    for q in [
        "rate(switch[5m])",
        "histogram_count(rate(switch[5m]))",
        "count_over_time(switch[1h])",
    ] {
        let (want, _, want_infos) = run(&raw, &engine, q, start, end, step);
        let (got, _, infos) = run(&db, &engine, q, start, end, step);
        assert!(!want.is_empty(), "{q}");
        assert_eq!(got.len(), want.len(), "{q}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g.0 == w.0 && g.1 == w.1 && close(g.2, w.2),
                "{q}: {g:?} vs {w:?}"
            );
        }
        assert_eq!(infos, want_infos, "{q}");
    }
    // Raw data kept a day: the same range is past it, and the answer says
    // the tiers do not keep series of both kinds.
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), DAY, tiers());
    fill_switch(&db);
    for q in ["rate(switch[5m])", "switch"] {
        let (got, _, infos) = run(&db, &engine, q, start, end, step);
        assert!(
            infos
                .iter()
                .any(|i| i.contains("the downsampling tiers keep either kind of series, not both")),
            "{q}: {infos:?}"
        );
        assert!(got.is_empty(), "{q}: raw data is gone: {got:?}");
    }
}

/// A native histogram counter on 15 s scrapes for [`DAYS`] days,
/// restarting (a counter reset) at 12:00 and going stale for half an hour
/// at 03:00 every day.
fn fill_histograms(db: &Db) {
    let labels = Labels::from_pairs(&[("__name__", "hist")]);
    let mut fleet = almanac::hist_gen::HistogramFleet::new(1, 11);
    fill_scrapes(db, |app, _, t| {
        let of_day = t % DAY;
        if of_day == 12 * HOUR {
            fleet = almanac::hist_gen::HistogramFleet::new(1, 11 + (t / DAY) as u64);
        }
        if of_day == 3 * HOUR {
            let stale = tsdb::model::histogram::FloatHistogram::stale();
            app.append_histogram(&labels, t, HistogramValue::Float(stale))
                .expect("append stale marker");
        } else if !(3 * HOUR..3 * HOUR + 30 * MINUTE).contains(&of_day) {
            let h = next_histogram(&mut fleet);
            app.append_histogram(&labels, t, h)
                .expect("append histogram");
        }
    });
}

const HISTOGRAM_EXPRS: &[&str] = &[
    "histogram_count(rate(hist[1h]))",
    "histogram_sum(increase(hist[1h]))",
    "histogram_count(delta(hist[5m]))",
    "histogram_count(irate(hist[5m]))",
    "histogram_sum(idelta(hist[1h]))",
    "resets(hist[1h])",
    "changes(hist[5m])",
    "count_over_time(hist[1h])",
    "present_over_time(hist[1h])",
    "histogram_count(last_over_time(hist[1h]))",
    "histogram_sum(first_over_time(hist[5m]))",
    "histogram_count(hist)",
    "timestamp(hist)",
];

#[test]
fn native_histogram_series_are_answered_from_tiers_as_from_raw() {
    let raw_dir = tempfile::tempdir().unwrap();
    let raw = open(raw_dir.path(), 0, Tiers::default());
    fill_histograms(&raw);
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), DAY, tiers());
    fill_histograms(&db);
    let engine = Engine::new(EngineOptions::default());
    // Where raw data expired (before day 3) and across the boundary.
    for q in HISTOGRAM_EXPRS {
        for (start, end, step) in [(2 * HOUR, 3 * DAY, HOUR), (DAY, 2 * DAY, 5 * MINUTE)] {
            let (want, ..) = run(&raw, &engine, q, start, end, step);
            let (got, used, infos) = run(&db, &engine, q, start, end, step);
            assert!(!want.is_empty(), "{q}");
            assert!(!used.is_empty(), "{q}: answered from a tier");
            assert!(infos.is_empty(), "{q}: {infos:?}");
            assert_eq!(got.len(), want.len(), "{q} at step {step}");
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    g.0 == w.0 && g.1 == w.1 && close(g.2, w.2),
                    "{q}: tier {g:?} vs raw {w:?}"
                );
            }
        }
    }
    // Where raw data covers the query, a histogram series reads it (a
    // type change after the tiers would only show there).
    let q = "histogram_count(rate(hist[1h]))";
    let (start, end) = (3 * DAY + 4 * HOUR, DAYS * DAY - 4 * HOUR);
    let (want, ..) = run(&raw, &engine, q, start, end, HOUR);
    let (got, used, _) = run(&db, &engine, q, start, end, HOUR);
    assert!(
        !want.is_empty() && got == want && used.is_empty(),
        "{used:?}"
    );
    // Unaligned where only the tiers hold the data: approximate, and said.
    let (got, used, infos) = run(&db, &engine, q, 2 * HOUR + 7_000, DAY, HOUR);
    assert!(!got.is_empty() && !used.is_empty());
    assert!(
        infos
            .iter()
            .any(|i| i.contains("evaluated approximately on the 1m downsampling tier")),
        "{infos:?}"
    );
    // Raw data only (Thanos's max_source_resolution=raw): gone there.
    let raw_only = Engine::new(EngineOptions {
        max_source_resolution: SourceResolution::Raw,
        ..EngineOptions::default()
    });
    let (got, used, _) = run(&db, &raw_only, q, 2 * HOUR, DAY - HOUR, HOUR);
    assert!(got.is_empty() && used.is_empty(), "{got:?} {used:?}");
    // Sums of histograms are not kept: raw data only, and it has expired.
    let q = "histogram_count(sum_over_time(hist[1h]))";
    let (got, _, infos) = run(&db, &engine, q, 2 * HOUR, 2 * DAY, HOUR);
    assert!(got.is_empty(), "{got:?}");
    assert!(
        infos
            .iter()
            .any(|i| i.contains("keep no sums of native histograms")),
        "{infos:?}"
    );
}
