//! A 30-day dashboard query at a 1h step, answered from downsampling tiers
//! and from raw blocks (`max_source_resolution=raw`), side by side: the
//! median of `RUNS` runs each, their ratio, and whether the answers agree.
//!
//! Data: `SERIES` series (default 200) of `almanac::datagen` at 15 s for
//! `DAYS` days (default 31), written through a database with tiers `5m`
//! (after 36h) and `1h` (after 10d) and a raw retention long enough to
//! keep all of it. Two ranges: the last 30 days (the 1h tier, the 5m tier
//! and raw data each hold part of it), and the newest 30 days the 1h tier
//! holds (all of it from tiers; with `DAYS=53` the 1h tier holds 36 days),
//! or as many as it holds.
//!
//! Run: `cargo bench --bench tier_query` (env `SERIES`, `RUNS`, `DAYS`;
//! `TIER_RUNS` repeats each tier query alone first, for a profiler).

use almanac::bench_env::env_usize;
use std::time::Instant;

use almanac::datagen::{Fleet, GenOptions};
use promql::eval::{Engine, EngineOptions, QueryResult, SourceResolution};
use tsdb::db::{Db, DbOptions};
use tsdb::downsample::{Tier, Tiers};
use tsdb::model::SeriesRef;
use tsdb::retention::Retention;
use tsdb::wal::{SyncPolicy, WalOptions};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const QUERY: &str = "sum by (job, code) (rate(http_requests_total[1h]))";

/// Median seconds of `runs` runs, and the last answer.
fn time(runs: usize, mut f: impl FnMut() -> QueryResult) -> (f64, QueryResult) {
    let mut secs = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        secs.push(t.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    (secs[secs.len() / 2], last.expect("at least one run"))
}

fn main() {
    let (series, runs) = (env_usize("SERIES", 200), env_usize("RUNS", 5).max(1));
    let start = 1_700_000_000_000i64.div_euclid(DAY) * DAY;
    let days = env_usize("DAYS", 31) as i64;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention: Retention {
                time: (days + 30) * DAY,
                size: 0,
            },
            downsampling: Tiers(vec![
                Tier {
                    resolution: 5 * MINUTE,
                    after: 36 * HOUR,
                    retention: 90 * DAY,
                },
                Tier {
                    resolution: HOUR,
                    after: 10 * DAY,
                    retention: 730 * DAY,
                },
            ]),
            wal: WalOptions {
                sync: SyncPolicy::Never,
                ..WalOptions::default()
            },
            ..DbOptions::default()
        },
    )
    .expect("open");
    let mut fleet = Fleet::new(GenOptions {
        series,
        start_ms: start,
        ..GenOptions::default()
    });
    let labels = fleet.labels();
    let mut refs: Vec<Option<SeriesRef>> = vec![None; series];
    let scrapes = days * DAY / 15_000;
    for k in 0..scrapes {
        let mut app = db.appender();
        fleet.scrape(|i, t, v| match refs[i] {
            Some(r) => app.append_ref(r, t, v).expect("append"),
            None => refs[i] = Some(app.append(&labels[i], t, v).expect("append")),
        });
        app.commit().expect("commit");
        if k % (2 * HOUR / 15_000) == 0 {
            db.compact().expect("maintenance");
        }
    }
    db.compact().expect("maintenance");
    let tiers = db.tier_spans().tiers;
    println!("tier_query: {series} series x {days} days at 15 s; tiers {tiers:?}");

    let end = (start + days * DAY).div_euclid(HOUR) * HOUR;
    let hourly_hi = tiers
        .iter()
        .find(|t| t.resolution == HOUR)
        .map_or(start, |t| t.hi);
    let first_hour = start.div_euclid(HOUR) * HOUR + HOUR;
    let expr = promql::parse(QUERY).expect("parse");
    let engine = |max| {
        Engine::new(EngineOptions {
            max_source_resolution: max,
            ..EngineOptions::default()
        })
    };
    let (raw_engine, tier_engine) = (
        engine(SourceResolution::Raw),
        engine(SourceResolution::Auto),
    );
    println!("  {QUERY} at a 1h step, median of {runs}:");
    for (what, qs, qe) in [
        ("the last 30 days", end - 30 * DAY, end),
        (
            "30 days (or fewer) the 1h tier holds",
            first_hour.max(hourly_hi - 30 * DAY),
            hourly_hi,
        ),
    ] {
        // `TIER_RUNS` repeats the tier query alone first (for profiling).
        for _ in 0..env_usize("TIER_RUNS", 0) {
            tier_engine
                .range(&db, &expr, qs, qe, HOUR)
                .expect("tier query");
        }
        let (raw_s, raw) = time(runs, || {
            raw_engine
                .range(&db, &expr, qs, qe, HOUR)
                .expect("raw query")
        });
        let (tier_s, tiered) = time(runs, || {
            tier_engine
                .range(&db, &expr, qs, qe, HOUR)
                .expect("tier query")
        });
        println!(
            "  {what} ({:.1} days): raw blocks {:.1} ms, tiers {:.1} ms (read {:?}): ratio {:.1}x (aim >= 10x); largest relative difference {:e}",
            (qe - qs) as f64 / DAY as f64,
            raw_s * 1e3,
            tier_s * 1e3,
            tiered.tiers,
            raw_s / tier_s,
            max_rel_diff(&raw, &tiered)
        );
    }
}

/// The largest relative difference between two matrices' points (∞ when
/// their series or times differ).
fn max_rel_diff(a: &QueryResult, b: &QueryResult) -> f64 {
    use promql::value::Value;
    let (Value::Matrix(a), Value::Matrix(b)) = (&a.value, &b.value) else {
        return f64::INFINITY;
    };
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        if x.labels != y.labels || x.samples.len() != y.samples.len() {
            return f64::INFINITY;
        }
        for (p, q) in x.samples.iter().zip(&y.samples) {
            if p.t != q.t {
                return f64::INFINITY;
            }
            let d = (p.v - q.v).abs() / p.v.abs().max(q.v.abs()).max(f64::MIN_POSITIVE);
            worst = worst.max(if p.v == q.v { 0.0 } else { d });
        }
    }
    worst
}
