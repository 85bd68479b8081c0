//! Raw series for the downsampling tests.

use proptest::prelude::*;

use super::Point;
use crate::model::STALE_NAN;

/// Raw points: counters with resets, gauges set to any value (negative,
/// −0.0, many digits), jitter, gaps, NaNs, staleness markers and start
/// timestamps (restarts, and samples without one).
pub fn series() -> impl Strategy<Value = Vec<Point>> {
    let step = prop_oneof![
        4 => 14_000i64..16_000,
        1 => 60_000i64..4_000_000,
        1 => 1i64..16_000,
    ];
    // (value, 0 = add to the counter, 1 = set)
    let value = prop_oneof![
        10 => (0u32..1000).prop_map(|x| (x as f64 / 10.0, 0u8)),
        2 => Just((0.0, 1)),
        1 => Just((f64::NAN, 1)),
        1 => Just((STALE_NAN, 1)),
        1 => Just((-0.0, 1)),
        1 => (-1000i32..1000).prop_map(|x| (x as f64 * 0.37, 1)),
        1 => (0u32..5).prop_map(|x| (x as f64 * 1e15 + 0.1, 1)),
        1 => any::<f64>().prop_map(|x| (x, 1)),
    ];
    proptest::collection::vec((step, value, 0u8..20), 0..300).prop_map(|raw| {
        let (mut t, mut v, mut st) = (-50_000i64, 0.0f64, 0i64);
        raw.into_iter()
            .map(|(dt, (x, set), restart)| {
                t += dt;
                v = if set == 1 || v.is_nan() { x } else { v + x };
                if restart == 0 {
                    st = t - 1;
                }
                Point::new(t, v, if restart == 1 { 0 } else { st })
            })
            .collect()
    })
}
