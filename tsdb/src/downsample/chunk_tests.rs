use proptest::prelude::*;

use super::super::testdata::series;
use super::super::{Columns, Point, Summary, summarize};
use super::*;

/// Bit-equal field by field.
fn assert_bit_eq(got: &[Summary], want: &[Summary]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            (g.end, g.stale, g.histograms),
            (w.end, w.stale, w.histograms)
        );
        match (&g.agg, &w.agg) {
            (Some(a), Some(b)) => {
                assert_eq!(
                    (a.count, a.resets, a.changes, a.overlap),
                    (b.count, b.resets, b.changes, b.overlap)
                );
                assert!(
                    a.first.bit_eq(&b.first),
                    "first {:?} {:?}",
                    a.first,
                    b.first
                );
                assert!(a.last.bit_eq(&b.last), "last {:?} {:?}", a.last, b.last);
                match (a.prev, b.prev) {
                    (Some(x), Some(y)) => assert!(x.bit_eq(&y), "prev {x:?} {y:?}"),
                    (x, y) => assert_eq!(x, y),
                }
                assert_eq!(a.sum.map(f64::to_bits), b.sum.map(f64::to_bits), "sum");
                let bits = |a: &crate::downsample::Aggregates| {
                    let m = a.moments.map(|m| [m.mean, m.m2].map(f64::to_bits));
                    let t = a
                        .trend
                        .map(|t| [t.mean_x, t.mean_y, t.sxx, t.sxy].map(f64::to_bits));
                    (m, t)
                };
                assert_eq!(bits(a), bits(b), "optional columns");
                for (x, y, what) in [
                    (a.min, b.min, "min"),
                    (a.max, b.max, "max"),
                    (a.reset_correction, b.reset_correction, "correction"),
                ] {
                    assert_eq!(x.to_bits(), y.to_bits(), "{what}: {x} vs {y}");
                }
            }
            (a, b) => assert_eq!(a.is_none(), b.is_none()),
        }
    }
}

fn roundtrip(res: i64, buckets: &[Summary]) -> Vec<u8> {
    roundtrip_as(AGGREGATE_VERSION, res, buckets)
}

fn roundtrip_as(version: u8, res: i64, buckets: &[Summary]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_as(version, res, buckets, &mut out).expect("valid summaries");
    assert_eq!(out[0], version);
    let (r, got) = decode(&out).expect("decodes");
    assert_eq!(r, res);
    assert_bit_eq(&got, buckets);
    out
}

/// A counter scraped every 15 s for `hours`, growing by a pseudo-random
/// 0 to 9 a scrape.
fn steady_counter(hours: i64) -> Vec<Point> {
    let (mut v, mut x) = (1_000_000u64, 12345u64);
    (1..=hours * 240)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            v += (x >> 33) % 10;
            Point::new(i * 15_000, v as f64, 0)
        })
        .collect()
}

#[test]
fn counter_tiers_are_a_fraction_of_raw_chunks() {
    // Ten days: an hourly chunk then holds 240 buckets, as a tier block
    // built from a 10-day range does.
    let points = steady_counter(240);
    let samples: Vec<_> = points.iter().map(|p| p.sample()).collect();
    let mut raw = Vec::new();
    let mut enc = crate::chunkenc::decimal::DecimalEncoder::default();
    for chunk in samples.chunks(240) {
        enc.encode(chunk, &mut raw);
    }
    let mut five = summarize(points.iter().copied(), 300_000, Columns::ALL);
    five.iter_mut()
        .for_each(|b| b.keep_only(crate::downsample::Columns::default()));
    let hourly = crate::downsample::coarsen(&five, 3_600_000);
    let (five, hourly) = (roundtrip(300_000, &five), roundtrip(3_600_000, &hourly));
    eprintln!(
        "raw {} B, 5m {} B, 1h {} B",
        raw.len(),
        five.len(),
        hourly.len()
    );
    // This counter's increments (0–9, uniform) cost raw chunks 4.6 bits a
    // sample, close to their entropy; the tiers keep about five values per
    // bucket. The storage aims (5m ≤ 25%, 1h ≤ 3% of raw) are measured on
    // the lab generator's data by `benches/tier_footprint.rs`.
    assert!(
        five.len() * 100 <= raw.len() * 30,
        "5m {} of raw {}",
        five.len(),
        raw.len()
    );
    assert!(
        hourly.len() * 100 <= raw.len() * 4,
        "1h {} of raw {}",
        hourly.len(),
        raw.len()
    );
}

/// `steady_counter` with resets: to 0, to a small value, twice in one
/// bucket, and back to back.
fn resetting_counter(hours: i64, resets_at: &[(i64, f64)]) -> Vec<Point> {
    let mut points = steady_counter(hours);
    for &(i, to) in resets_at {
        let drop = points[i as usize].v - to;
        points[i as usize..].iter_mut().for_each(|p| p.v -= drop);
    }
    points
}

#[test]
fn counter_predictions_table() {
    // Every case round-trips bit for bit in both layouts, and the counter
    // model (version 3) is never more than a few bytes larger than
    // version 2. This counter's increments are uniform noise, so
    // predicting one bucket's increase from the last gains little; the
    // lab generator's steadier counters gain a quarter (see
    // `benches/tier_footprint.rs`). Resets are where it gains here.
    let cases: Vec<(&str, Vec<Point>)> = vec![
        ("steady", steady_counter(48)),
        ("one reset to 0", resetting_counter(48, &[(1000, 0.0)])),
        (
            "reset to a small value",
            resetting_counter(48, &[(1000, 7.0)]),
        ),
        (
            "two resets in one hour",
            resetting_counter(48, &[(1000, 0.0), (1100, 3.0)]),
        ),
        (
            "resets back to back",
            resetting_counter(48, &[(1000, 0.0), (1001, 0.0), (1002, 0.0)]),
        ),
        (
            "reset in the first and last bucket",
            resetting_counter(48, &[(3, 0.0), (48 * 240 - 2, 0.0)]),
        ),
        (
            "many resets",
            resetting_counter(48, &(1..40).map(|k| (k * 271, 0.0)).collect::<Vec<_>>()),
        ),
    ];
    for (name, points) in cases {
        for res in [300_000, 3_600_000] {
            let mut buckets = summarize(points.iter().copied(), res, Columns::default());
            buckets.iter_mut().for_each(Summary::drop_sum);
            let v3 = roundtrip(res, &buckets).len();
            let v2 = roundtrip_as(2, res, &buckets).len();
            eprintln!("{name} at {res}: v2 {v2} B, v3 {v3} B");
            assert!(v3 <= v2 + 16, "{name} at {res}: v3 {v3} B vs v2 {v2} B");
            if name == "many resets" {
                assert!(v3 < v2, "{name} at {res}: v3 {v3} B vs v2 {v2} B");
            }
        }
    }
}

#[test]
fn invalid_input_table() {
    let ok = summarize(steady_counter(1), 300_000, Columns::ALL);
    let mut off_grid = ok.clone();
    off_grid[0].end += 1;
    let mut descending = ok.clone();
    descending.swap(0, 1);
    let mut outside = ok.clone();
    let end = outside[0].end;
    if let Some(a) = &mut outside[0].agg {
        a.last.t = end + 1;
    }
    let too_many: Vec<Summary> = (1..=MAX_BUCKETS as i64 + 1)
        .map(|k| Summary {
            end: k * 10,
            ..ok[0]
        })
        .collect();
    let cases: Vec<(&str, i64, &[Summary])> = vec![
        ("zero resolution", 0, &ok),
        ("no buckets", 300_000, &[]),
        ("end off the grid", 300_000, &off_grid),
        ("not ascending", 300_000, &descending),
        ("time outside its bucket", 300_000, &outside),
        ("too many buckets", 10, &too_many),
    ];
    for (name, res, buckets) in cases {
        let mut out = Vec::new();
        let err = encode(res, buckets, &mut out);
        assert!(
            matches!(err, Err(Error::InvalidSummaries { .. })),
            "{name}: {err:?}"
        );
        assert!(out.is_empty(), "{name}: wrote on failure");
    }
}

#[test]
fn corrupt_chunks_fail_or_decode_without_panicking() {
    let b = summarize(steady_counter(2), 300_000, Columns::ALL);
    let mut good = Vec::new();
    encode(300_000, &b, &mut good).unwrap();
    for cut in 0..good.len() {
        // Truncated: an error, never a panic.
        assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
    }
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        let _ = decode(&bad);
    }
    let mut future = good.clone();
    future[0] = AGGREGATE_VERSION + 1;
    assert_eq!(
        decode(&future).unwrap_err().what,
        "unknown aggregate chunk version"
    );
}

proptest! {
    #[test]
    fn every_summary_round_trips(points in series(), res in prop_oneof![Just(60_000i64), Just(300_000), Just(3_600_000)]) {
        let buckets = summarize(points, res, Columns::ALL);
        if !buckets.is_empty() {
            roundtrip(res, &buckets);
            // Without sums (a counter's tier), and without the optional
            // columns: the rest intact.
            let mut sumless = buckets.clone();
            sumless.iter_mut().for_each(Summary::drop_sum);
            roundtrip(res, &sumless);
            // Version 2 chunks, written before counters had their own
            // predictions, still read back.
            roundtrip_as(2, res, &buckets);
            roundtrip_as(2, res, &sumless);
            sumless.iter_mut().for_each(|b| b.keep_only(Columns { moments: true, trend: false }));
            roundtrip(res, &sumless);
            sumless.iter_mut().for_each(|b| b.keep_only(Columns::default()));
            roundtrip(res, &sumless);
            // Buckets marked for native histograms, some with no float
            // data at all.
            let mut marked = buckets.clone();
            let times: Vec<i64> = marked.iter().step_by(3).map(|b| b.end).chain([i64::MAX / 4]).collect();
            crate::downsample::mark_histograms(&mut marked, times, res);
            roundtrip(res, &marked);
        }
    }
}

#[test]
fn a_raw_value_for_the_absent_sum_column_is_refused() {
    // A counter's chunk (no sum) whose last value is NaN: one raw value,
    // `last` of the last bucket, the chunk's last 11 bytes.
    let mut points = steady_counter(1);
    if let Some(p) = points.last_mut() {
        p.v = f64::NAN;
    }
    let mut buckets = summarize(points, 300_000, Columns::default());
    buckets.iter_mut().for_each(Summary::drop_sum);
    let mut good = Vec::new();
    encode(300_000, &buckets, &mut good).unwrap();
    assert!(decode(&good).is_ok());
    let column_at = good.len() - 9;
    assert_eq!(usize::from(good[column_at]), L, "the raw value is `last`");
    let mut bad = good.clone();
    bad[column_at] = S as u8;
    assert_eq!(decode(&bad).unwrap_err().what, "raw value out of place");
}

#[test]
fn version_1_chunks_are_refused() {
    let mut old = Vec::new();
    encode(
        300_000,
        &summarize(steady_counter(1), 300_000, Columns::ALL),
        &mut old,
    )
    .unwrap();
    old[0] = 1;
    assert_eq!(
        decode(&old).unwrap_err().what,
        "unknown aggregate chunk version"
    );
}
