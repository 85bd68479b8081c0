//! Downsampling in the database: tier blocks equal the summaries of the
//! raw data, raw blocks expire only once covered, backfill re-derives a
//! window, and an interrupted tier block is cleaned up and built again.

use std::sync::atomic::Ordering;

use super::super::{Db, DbOptions};
use crate::downsample::{
    Column, Columns, CounterSuffixes, Point, Summary, coarsen, coarsen_into, summarize,
};
use crate::model::{Labels, Matcher, STALE_NAN};
use crate::retention::Retention;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

fn opts(raw_retention: i64) -> DbOptions {
    DbOptions {
        retention: Retention {
            time: raw_retention,
            size: 0,
        },
        downsampling: crate::downsample::testing::two_tiers(),
        ..DbOptions::default()
    }
}

fn labels(name: &str) -> Labels {
    Labels::from_pairs(&[("__name__", name)])
}

/// Two series over `days` days of 15 s scrapes: a counter that resets
/// every 1000 samples, and a gauge that goes stale for an hour every day.
fn data(days: i64) -> Vec<(&'static str, Point)> {
    let mut out = Vec::new();
    for i in 1..=days * DAY / 15_000 {
        let t = i * 15_000 + (i % 3);
        out.push(("c_total", Point::new(t, (i % 1000) as f64 * 1.5, 0)));
        let v = match (t % DAY) / HOUR {
            5 => continue,
            4 if t % HOUR > 59 * MINUTE => STALE_NAN,
            _ => ((i * 7919) % 1000) as f64 / 8.0,
        };
        out.push(("g", Point::new(t, v, 0)));
    }
    out
}

fn write_all(db: &Db, points: &[(&str, Point)]) {
    for chunk in points.chunks(5000) {
        let mut app = db.appender();
        for (name, p) in chunk {
            app.append(&labels(name), p.t, p.v).expect("append");
        }
        app.commit().expect("commit");
        db.compact().expect("compact");
    }
}

fn raw_points(points: &[(&str, Point)], name: &str) -> Vec<Point> {
    points
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .collect()
}

fn stored(db: &Db, res: i64, name: &str, lo: i64, hi: i64) -> Vec<Summary> {
    let mut got = db
        .select_summaries(res, res, &[Matcher::equal("__name__", name)], lo, hi)
        .expect("select");
    got.pop().map(|(_, s)| s.read()).unwrap_or_default()
}

/// Every stored bucket equals the one built from raw (sums to 1e-12).
fn check_against_raw(db: &Db, res: i64, name: &str, raw: &[Point]) -> usize {
    let want = summarize(raw.iter().copied(), res, Columns::default());
    let got = stored(db, res, name, i64::MIN / 2, i64::MAX / 2);
    for g in &got {
        let w = want.iter().find(|w| w.end == g.end).expect("bucket in raw");
        assert_eq!(g.stale, w.stale);
        let (Some(ga), Some(wa)) = (g.agg, w.agg) else {
            assert_eq!(g.agg, w.agg);
            continue;
        };
        assert_eq!(
            (ga.count, ga.resets, ga.changes),
            (wa.count, wa.resets, wa.changes)
        );
        assert!(
            ga.first.bit_eq(&wa.first) && ga.last.bit_eq(&wa.last),
            "{g:?} vs {w:?}"
        );
        assert_eq!(
            (ga.min.to_bits(), ga.max.to_bits()),
            (wa.min.to_bits(), wa.max.to_bits())
        );
        // Counters' tiers keep no sum; the others' equal raw.
        let counter =
            CounterSuffixes::default().is_counter(&Labels::from_pairs(&[("__name__", name)]));
        match (ga.sum, wa.sum) {
            (None, Some(_)) if counter => {}
            (Some(a), Some(b)) if !counter => {
                assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}")
            }
            (a, b) => panic!("{name}: sum {a:?}, from raw {b:?}"),
        }
    }
    got.len()
}

#[test]
fn tiers_equal_raw_and_raw_expires_once_covered() {
    let dir = tempfile::tempdir().unwrap();
    let points = data(4);
    let db = Db::open(dir.path(), opts(3 * DAY)).unwrap();
    write_all(&db, &points);
    let report = db.compact().unwrap();
    assert_eq!(report.rederived_tier_blocks, 0);

    for (res, name) in [
        (MINUTE, "c_total"),
        (MINUTE, "g"),
        (5 * MINUTE, "c_total"),
        (5 * MINUTE, "g"),
    ] {
        let n = check_against_raw(&db, res, name, &raw_points(&points, name));
        assert!(n > 0, "no {res} ms buckets of {name}");
    }
    // Raw blocks older than 3 days (from the newest block's end, as raw
    // retention counts) are gone, and tier 1 holds their range.
    let raw = db.blocks();
    let cutoff = raw.iter().map(|b| b.meta().max_time).max().unwrap() - 3 * DAY;
    assert!(raw.iter().all(|b| b.meta().max_time > cutoff));
    let oldest_raw = raw.iter().map(|b| b.meta().min_time).min().unwrap();
    assert!(oldest_raw > 0, "some raw block expired");
    let first_minute = stored(&db, MINUTE, "c_total", 0, DAY);
    assert_eq!(
        first_minute.first().map(|b| b.end),
        Some(MINUTE),
        "tier 1 holds the expired range"
    );
}

#[test]
fn selected_summaries_read_coarsened_and_know_their_columns() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts(3 * DAY)).unwrap();
    write_all(&db, &data(2));
    db.compact().unwrap();
    let select = |name: &str, res: i64, into: i64| {
        let mut got = db
            .select_summaries(res, into, &[Matcher::equal("__name__", name)], 0, 2 * DAY)
            .unwrap();
        assert_eq!(got.len(), 1, "{name} at {res} into {into}");
        got.pop().unwrap().1
    };
    for name in ["c_total", "g"] {
        let fine = select(name, MINUTE, MINUTE).read();
        assert!(!fine.is_empty(), "{name}");
        // Read coarsened, as if coarsened after reading; appended to
        // buckets already read, the boundary bucket merges.
        let hourly = select(name, MINUTE, HOUR);
        assert_eq!(hourly.read(), coarsen(&fine, HOUR), "{name}");
        assert!(hourly.bucket_bound() >= fine.len(), "{name}");
        let half = fine.len() / 2 + 7;
        let mut joined = coarsen(&fine[..half], HOUR);
        coarsen_into(&fine[half..], HOUR, &mut joined);
        assert_eq!(joined, coarsen(&fine, HOUR), "{name}");
        // Chunk headers tell what every bucket keeps.
        for column in [Column::Sum, Column::Moments, Column::Trend] {
            assert_eq!(
                hourly.keeps(column),
                fine.iter().all(|b| b.keeps(column)),
                "{name} {column:?}"
            );
        }
    }
    // A chunk that starts before `hi` but whose first bucket ends after
    // it holds nothing in range: the series is left out.
    let first_end = select("c_total", MINUTE, MINUTE).read()[0].end;
    let none = db
        .select_summaries(
            MINUTE,
            MINUTE,
            &[Matcher::equal("__name__", "c_total")],
            0,
            first_end - 1,
        )
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    assert!(!select("c_total", MINUTE, MINUTE).keeps(Column::Sum));
    assert!(select("g", MINUTE, MINUTE).keeps(Column::Sum));
}

#[test]
fn raw_blocks_stay_until_a_tier_covers_them() {
    let dir = tempfile::tempdir().unwrap();
    let points = data(4);
    // Without tiers first: raw blocks are written and merged, nothing
    // downsampled, nothing expired (retention forever).
    {
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        write_all(&db, &points);
        assert!(db.tier_blocks().is_empty());
    }
    let db = Db::open(dir.path(), opts(3 * DAY)).unwrap();
    let old = db.blocks().into_iter().next().unwrap();
    assert!(!db.tier_covers(&old).unwrap(), "nothing downsampled yet");
    assert_eq!(db.apply_retention().unwrap(), 0, "uncovered raw data stays");
    assert!(db.counters.retention_blocked.load(Ordering::Relaxed) > 0);
    // The next maintenance pass downsamples first, then expires.
    let report = db.compact().unwrap();
    assert!(
        report.tier_blocks > 0 && report.deleted_blocks > 0,
        "{report:?}"
    );
    assert!(db.tier_covers(&old).unwrap());
}

#[test]
fn backfill_into_a_downsampled_window_rederives_it() {
    let dir = tempfile::tempdir().unwrap();
    let points = data(2);
    let mut o = opts(5 * DAY);
    o.ooo_window = 3 * DAY;
    let db = Db::open(dir.path(), o).unwrap();
    write_all(&db, &points);
    let before = stored(&db, MINUTE, "late", 0, DAY);
    assert!(before.is_empty());
    assert!(!stored(&db, MINUTE, "c_total", 0, DAY).is_empty());
    // A series written late into the first day.
    let late: Vec<(&str, Point)> = (1..=100)
        .map(|i| ("late", Point::new(HOUR + i * 15_000, i as f64, 0)))
        .collect();
    write_all(&db, &late);
    for _ in 0..3 {
        db.compact().unwrap();
    }
    let after = stored(&db, MINUTE, "late", 0, DAY);
    assert_eq!(
        after.len(),
        25,
        "re-derived with the late series: {after:?}"
    );
    check_against_raw(&db, MINUTE, "c_total", &raw_points(&points, "c_total"));
}

#[test]
fn an_interrupted_tier_block_is_removed_and_built_again() {
    let dir = tempfile::tempdir().unwrap();
    let points = data(2);
    {
        let db = Db::open(dir.path(), opts(5 * DAY)).unwrap();
        write_all(&db, &points);
        assert!(!db.tier_blocks().is_empty());
        // A crash half-way through writing a tier block leaves `.tmp`.
        let victim = db.tier_blocks().pop().unwrap();
        let tmp = dir
            .path()
            .join("blocks")
            .join(format!("{}.tmp", victim.meta().ulid));
        crate::fsutil::copy_dir(victim.dir(), &tmp).unwrap();
        std::fs::remove_dir_all(victim.dir()).unwrap();
    }
    let db = Db::open(dir.path(), opts(5 * DAY)).unwrap();
    assert!(
        !dir.path().join("blocks").read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
    let report = db.compact().unwrap();
    assert_eq!(report.tier_blocks, 1, "the missing window is built again");
    check_against_raw(&db, MINUTE, "c_total", &raw_points(&points, "c_total"));
    check_against_raw(&db, MINUTE, "g", &raw_points(&points, "g"));
}

#[test]
fn a_corrupt_source_block_is_quarantined_and_the_rest_is_downsampled() {
    let dir = tempfile::tempdir().unwrap();
    let points = data(3);
    {
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        write_all(&db, &points);
    }
    // Flip bytes in the middle of the oldest raw block's chunk data: it
    // opens, and fails when its chunks are read.
    let oldest = {
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        db.blocks()[0].meta().clone()
    };
    let seg = dir
        .path()
        .join("blocks")
        .join(&oldest.ulid)
        .join("chunks")
        .join("000001");
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 8].iter_mut().for_each(|b| *b ^= 0xff);
    std::fs::write(&seg, bytes).unwrap();

    let db = Db::open(dir.path(), opts(2 * DAY)).unwrap();
    let report = db.compact().expect("maintenance goes on");
    assert!(report.tier_blocks > 0, "{report:?}");
    assert!(dir.path().join("quarantine").join(&oldest.ulid).exists());
    assert_eq!(db.counters.quarantined_blocks.load(Ordering::Relaxed), 1);
    // Windows after the quarantined block's range are built from raw.
    let lo = oldest.max_time + DAY;
    let want: Vec<i64> = summarize(raw_points(&points, "g"), MINUTE, Columns::default())
        .iter()
        .map(|b| b.end)
        .filter(|&e| e > lo && e <= 2 * DAY)
        .collect();
    let got: Vec<i64> = stored(&db, MINUTE, "g", lo, 2 * DAY)
        .iter()
        .map(|b| b.end)
        .collect();
    assert!(!got.is_empty());
    assert_eq!(got, want);
}

#[test]
fn deleted_series_leave_the_tiers_too() {
    let dir = tempfile::tempdir().unwrap();
    let points = data(2);
    let db = Db::open(dir.path(), opts(5 * DAY)).unwrap();
    write_all(&db, &points);
    assert!(!stored(&db, MINUTE, "g", 0, DAY).is_empty());
    db.delete(&[Matcher::equal("__name__", "g")], 0, 12 * HOUR)
        .unwrap();
    let left = stored(&db, MINUTE, "g", 0, DAY);
    assert!(
        left.iter().all(|b| b.end - MINUTE >= 12 * HOUR),
        "no bucket touching the deleted time"
    );
    assert!(!left.is_empty(), "the rest of the day stays");
    assert_eq!(
        stored(&db, MINUTE, "c_total", 0, DAY).len(),
        1440,
        "other series untouched"
    );
}

/// A histogram counter of 15 s scrapes from `from` to `to` (ms, exclusive
/// of `from`).
fn histograms(from: i64, to: i64) -> Vec<crate::model::HistogramSample> {
    (from / 15_000 + 1..=to / 15_000)
        .map(|i| crate::model::HistogramSample {
            t: i * 15_000,
            st: 0,
            h: std::sync::Arc::new(crate::downsample::testing::histogram(
                1,
                &[(i % 500) as f64, 2.0 * (i % 500) as f64, 3.0],
            )),
        })
        .collect()
}

#[test]
fn histogram_series_and_mixed_windows_keep_every_sample_in_the_tiers() {
    use crate::downsample::{HistSummary, summarize_histograms};
    use crate::model::histogram::{CounterResetHint, HistogramValue};
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts(DAY)).unwrap();
    // "h": histograms throughout; "switch": floats, then histograms from
    // 1d 00:07:30, inside a tier window and inside a 1m bucket.
    let switch = DAY + 7 * MINUTE + 30_000;
    let hs = histograms(0, 3 * DAY);
    for part in hs.chunks(2000) {
        let mut app = db.appender();
        for h in part {
            let v = HistogramValue::Float((*h.h).clone());
            app.append_histogram(&labels("h"), h.t, v.clone()).unwrap();
            if h.t <= switch {
                app.append(&labels("switch"), h.t, h.t as f64).unwrap();
            } else {
                app.append_histogram(&labels("switch"), h.t, v).unwrap();
            }
        }
        app.commit().unwrap();
        db.compact().unwrap();
    }
    let (lo, hi) = (DAY - HOUR, DAY + HOUR);
    let select = |name: &str| {
        let mut got = db
            .select_summaries(MINUTE, MINUTE, &[Matcher::equal("__name__", name)], lo, hi)
            .unwrap();
        got.pop().map(|(_, s)| s).expect("stored")
    };
    // Raw data of that range has expired; the 1m tier holds it.
    assert!(db.blocks().iter().all(|b| b.meta().min_time > hi));
    let h = select("h");
    assert!(h.histograms() && !h.histograms_too());
    let mut got = Vec::new();
    h.read_hist_into(&mut Vec::new(), &mut got);
    let inside: Vec<_> = hs
        .iter()
        .filter(|x| x.t > lo && x.t <= hi)
        .cloned()
        .collect();
    // As raw reads give them, but for the hints, which chunks set.
    let unhinted = |buckets: Vec<HistSummary>| -> Vec<HistSummary> {
        let plain = |h: &mut crate::model::HistogramSample| {
            let mut f = (*h.h).clone();
            f.hint = CounterResetHint::Unknown;
            h.h = std::sync::Arc::new(f);
        };
        let mut buckets = buckets;
        for a in buckets.iter_mut().filter_map(|b| b.agg.as_mut()) {
            plain(&mut a.first);
            plain(&mut a.last);
            a.prev.iter_mut().for_each(plain);
            if let Some(c) = &mut a.correction {
                c.hint = CounterResetHint::Unknown;
            }
        }
        buckets
    };
    let want = summarize_histograms(&[], &inside, MINUTE);
    assert!(unhinted(got) == want, "1m buckets of h differ from raw");
    // Both kinds of the switching window are kept, each marking the other.
    let s = select("switch");
    assert!(s.histograms_too() && !s.histograms());
    let floats: u64 = s.read().iter().filter_map(|b| b.agg).map(|a| a.count).sum();
    let mut hists = Vec::new();
    s.read_hist_into(&mut Vec::new(), &mut hists);
    let held: u64 = hists
        .iter()
        .filter_map(|b| b.agg.as_ref())
        .map(|a| a.count)
        .sum();
    let before = inside.iter().filter(|x| x.t <= switch).count() as u64;
    assert_eq!((floats, held), (before, inside.len() as u64 - before));
    assert!(
        hists.iter().any(|b| b.floats),
        "the switch's bucket marks its floats"
    );
}

#[test]
fn histogram_staleness_and_too_wide_histograms_keep_downsampling_going() {
    use crate::model::histogram::{FloatHistogram, HistogramValue};
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts(DAY)).unwrap();
    let wide = crate::downsample::testing::histogram(0, &vec![1.0; (1 << 16) + 1]);
    let stale_at = DAY + 30 * MINUTE;
    for part in (1..=2 * DAY / 15_000).collect::<Vec<_>>().chunks(2000) {
        let mut app = db.appender();
        for &i in part {
            let t = i * 15_000;
            // "f": floats, ended once by a histogram staleness marker.
            if t == stale_at {
                let stale = HistogramValue::Float(FloatHistogram::stale());
                app.append_histogram(&labels("f"), t, stale).unwrap();
            } else {
                app.append(&labels("f"), t, (i % 100) as f64).unwrap();
            }
            if i % 240 == 0 {
                let v = HistogramValue::Float(wide.clone());
                app.append_histogram(&labels("wide"), t, v).unwrap();
            }
        }
        app.commit().unwrap();
        db.compact().unwrap();
    }
    let (lo, hi) = (DAY, DAY + HOUR);
    let select = |name: &str| {
        let mut got = db
            .select_summaries(MINUTE, MINUTE, &[Matcher::equal("__name__", name)], lo, hi)
            .unwrap();
        got.pop().map(|(_, s)| s).expect("stored")
    };
    // The marker ends the float series in its bucket, as a float one would.
    let f = select("f");
    assert!(!f.histograms() && !f.histograms_too());
    let bucket = f
        .read()
        .into_iter()
        .find(|b| b.end == stale_at)
        .expect("bucket");
    assert_eq!(bucket.stale, Some(stale_at));
    // Histograms wider than a chunk holds are marked, not kept, and the
    // rest of the window was downsampled.
    let wide = select("wide");
    assert!(wide.histograms_too() && !wide.histograms());
}
