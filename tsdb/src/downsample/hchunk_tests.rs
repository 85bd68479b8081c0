use proptest::prelude::*;

use super::super::hsummary::summarize_histograms;
use super::super::summary::coarsen_into;
use super::super::testing::{histogram, histogram_series, split};
use super::*;

const MINUTE: i64 = 60_000;

fn steady(n: i64, step: i64) -> Vec<HistogramSample> {
    (1..=n)
        .map(|i| HistogramSample {
            t: i * step,
            st: 0,
            h: Arc::new(histogram(
                2,
                &[i as f64, 2.0 * i as f64, 7.0, (i / 3) as f64],
            )),
        })
        .collect()
}

/// Against the raw float histogram chunk of the same samples (a small
/// 4-bucket histogram, so the per-bucket header weighs): 5m buckets of
/// 15 s scrapes take under 45% of its bytes, 1h buckets under 4.5%
/// (measured: 39% and 3.9%; `HISTOGRAMS=1 cargo bench --bench
/// tier_footprint` measures realistic histograms).
#[test]
fn steady_counter_round_trips_smaller_than_raw() {
    use crate::chunkenc::histogram::{FloatHistogramAppender, ResetHeader};
    let raw = steady(480, 15_000);
    let mut chunk = FloatHistogramAppender::new(ResetHeader::Unknown);
    raw.iter().for_each(|h| chunk.append(h.t, &h.h));
    let raw_bytes = chunk.bytes().len();
    let five = summarize_histograms(&[], &raw, 5 * MINUTE);
    let mut hour = Vec::new();
    coarsen_into(&five, 60 * MINUTE, &mut hour);
    for (res, buckets, most) in [(5, &five, 0.45), (60, &hour, 0.045)] {
        let mut bytes = Vec::new();
        encode(res * MINUTE, buckets, &mut bytes).unwrap();
        assert_eq!(decode(&bytes).unwrap(), (res * MINUTE, buckets.clone()));
        let share = bytes.len() as f64 / raw_bytes as f64;
        assert!(share < most, "{res}m: {} of {raw_bytes} bytes", bytes.len());
    }
}

#[test]
fn decode_range_keeps_the_buckets_in_range() {
    let raw = steady(100, 15_000);
    let buckets = summarize_histograms(&[], &raw, MINUTE);
    let mut bytes = Vec::new();
    encode(MINUTE, &buckets, &mut bytes).unwrap();
    let mut got = Vec::new();
    decode_range(&bytes, 5 * MINUTE, 9 * MINUTE, &mut got).unwrap();
    let want: Vec<i64> = (6..=9).map(|k| k * MINUTE).collect();
    assert_eq!(got.iter().map(|b| b.end).collect::<Vec<_>>(), want);
}

#[test]
fn bad_input_is_refused() {
    let raw = steady(4, 15_000);
    let mut buckets = summarize_histograms(&[], &raw, MINUTE);
    type Spoil = fn(&mut Vec<HistSummary>);
    let cases: [(&str, i64, Spoil); 4] = [
        ("no buckets", MINUTE, |b| b.clear()),
        ("zero resolution", 0, |_| {}),
        ("off the grid", MINUTE, |b| b[0].end += 1),
        ("count and prev disagree", MINUTE, |b| {
            if let Some(a) = &mut b[0].agg {
                a.prev = None;
            }
        }),
    ];
    for (name, res, spoil) in cases {
        let mut bad = buckets.clone();
        spoil(&mut bad);
        assert!(encode(res, &bad, &mut Vec::new()).is_err(), "{name}");
    }
    buckets.truncate(1);
    let mut bytes = Vec::new();
    encode(MINUTE, &buckets, &mut bytes).unwrap();
    bytes[0] = 9;
    assert!(decode(&bytes).is_err(), "unknown version");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn summaries_round_trip_bit_for_bit(raw in histogram_series(), k in 1i64..13) {
        let (floats, hists) = split(&raw);
        let fine = summarize_histograms(&floats, &hists, MINUTE);
        let mut buckets = Vec::new();
        coarsen_into(&fine, k * MINUTE, &mut buckets);
        if buckets.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        encode(k * MINUTE, &buckets, &mut bytes).unwrap();
        let (res, got) = decode(&bytes).unwrap();
        prop_assert_eq!(res, k * MINUTE);
        // Debug output shows NaN bits apart; equality on it is bitwise.
        prop_assert_eq!(format!("{got:?}"), format!("{buckets:?}"));
        prop_assert_eq!(num_buckets(&bytes), buckets.len());
    }

    /// Damaged chunks are errors or some summaries, never a panic.
    #[test]
    fn damaged_chunks_never_panic(raw in histogram_series(), at in any::<usize>(), x in any::<u8>(), cut in any::<usize>()) {
        let (floats, hists) = split(&raw);
        let buckets = summarize_histograms(&floats, &hists, MINUTE);
        if buckets.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        encode(MINUTE, &buckets, &mut bytes).unwrap();
        let i = at % bytes.len();
        bytes[i] ^= x;
        let _ = decode(&bytes);
        bytes.truncate(cut % (bytes.len() + 1));
        let _ = decode(&bytes);
        let _ = validate(&bytes);
    }
}

/// A chunk the version 1 encoder wrote: three buckets of a counter with a
/// reset, a start time, and a switch to custom buckets.
const VERSION_1: &[u8] = &[
    1, 224, 212, 3, 3, 2, 33, 3, 1, 2, 159, 156, 1, 0, 0, 4, 0, 1, 0, 3, 0, 0, 40, 1, 0, 0, 0, 0,
    0, 0, 41, 64, 0, 4, 8, 28, 0, 242, 168, 2, 4, 24, 1, 0, 0, 0, 0, 0, 0, 52, 64, 0, 8, 16, 0,
    160, 156, 1, 0, 4, 10, 1, 0, 0, 0, 0, 0, 64, 48, 64, 0, 2, 6, 0, 4, 0, 0, 0, 0, 0, 0, 0, 33, 3,
    1, 2, 159, 156, 1, 0, 4, 24, 1, 0, 0, 0, 0, 0, 192, 55, 64, 0, 8, 16, 0, 0, 0, 4, 70, 1, 0, 0,
    0, 0, 0, 0, 244, 63, 0, 10, 30, 26, 160, 156, 1, 0, 4, 84, 1, 0, 0, 0, 0, 0, 128, 59, 64, 0,
    16, 40, 28, 4, 0, 0, 0, 0, 0, 0, 0, 41, 3, 2, 2, 159, 156, 1, 0, 4, 24, 1, 0, 0, 0, 0, 0, 128,
    65, 64, 0, 8, 16, 0, 0, 0, 4, 24, 1, 0, 0, 0, 0, 0, 64, 69, 64, 0, 8, 16, 0, 160, 156, 1, 0, 0,
    105, 0, 1, 0, 3, 0, 2, 4, 16, 12, 1, 0, 0, 0, 0, 0, 0, 14, 64, 0, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0,
];

#[test]
fn version_1_chunks_still_decode() {
    let hs: Vec<HistogramSample> = (1..=9i64)
        .map(|i| {
            let h = match i {
                6 => histogram(2, &[1.0, 0.0, 0.0]),
                8 => histogram(-53, &[1.0, 1.0, 1.0]),
                _ => histogram(2, &[i as f64, 2.0 * i as f64, 7.0]),
            };
            HistogramSample {
                t: i * 20_000,
                st: if i == 3 { 41_000 } else { 0 },
                h: Arc::new(h),
            }
        })
        .collect();
    let want = summarize_histograms(&[], &hs, MINUTE);
    assert_eq!(decode(VERSION_1).unwrap(), (MINUTE, want));
}

/// Damaged headers that once reached plain arithmetic: a bucket end near
/// `i64::MIN`. An error or wrapped times, never a panic (this test also
/// runs in debug builds, where overflow panics).
#[test]
fn extreme_bucket_ends_never_panic() {
    // Version 2, resolution 1, one bucket at k = i64::MIN, then at
    // k = i64::MAX with two samples; flags 1, counts and times after.
    let cases: [&[u8]; 2] = [
        &[
            2, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 1, 1, 0, 0, 0,
        ],
        &[
            2, 1, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 1, 2, 0, 0, 0,
        ],
    ];
    for bytes in cases {
        let _ = decode(bytes);
        let _ = validate(bytes);
    }
}

#[test]
fn histograms_too_wide_for_a_chunk_are_refused_and_reported() {
    let wide = histogram(0, &vec![1.0; MAX_HISTOGRAM_BUCKETS + 1]);
    let hs = [HistogramSample {
        t: 1,
        st: 0,
        h: Arc::new(wide),
    }];
    let buckets = summarize_histograms(&[], &hs, MINUTE);
    assert!(!storable(&buckets));
    assert!(encode(MINUTE, &buckets, &mut Vec::new()).is_err());
}
