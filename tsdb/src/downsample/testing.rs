//! Test material shared with the crates that test against tiers (feature
//! `testing`): the two-tier configuration the database tests use, and raw
//! native histogram series for property tests.

use proptest::prelude::*;

use super::{Tier, Tiers};
use crate::model::STALE_NAN;

/// Tiers of 1m (built after 2h, kept 10 days) and 5m (after 8h, kept 30
/// days).
pub fn two_tiers() -> Tiers {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    Tiers(vec![
        Tier {
            resolution: MINUTE,
            after: 2 * HOUR,
            retention: 10 * DAY,
        },
        Tier {
            resolution: 5 * MINUTE,
            after: 8 * HOUR,
            retention: 30 * DAY,
        },
    ])
}

/// One raw sample of a native histogram series: a histogram, a float
/// staleness marker, or (rarely) a float.
#[derive(Debug, Clone)]
pub enum RawHist {
    Hist(crate::model::HistogramSample),
    Float(crate::model::Sample),
}

/// A histogram of `counts` in consecutive buckets from index 0 (custom
/// bounds 1, 2, 5, … for schema −53), its sum a multiple of 1/4 so that
/// adding them in any grouping is exact.
pub fn histogram(schema: i32, counts: &[f64]) -> crate::model::histogram::FloatHistogram {
    use crate::model::histogram::{FloatHistogram, Span};
    let count: f64 = counts.iter().sum();
    FloatHistogram {
        schema,
        count,
        sum: count * 1.25,
        positive_spans: vec![Span::new(0, counts.len() as u32)],
        positive_buckets: counts.to_vec(),
        custom_values: if schema == -53 {
            (1..counts.len()).map(|i| (i * i) as f64).collect()
        } else {
            Vec::new()
        },
        ..FloatHistogram::default()
    }
}

/// Raw native histogram series: counters growing by whole counts, with
/// resets, schema changes (coarser: no reset; finer or custom: a reset),
/// counter-reset hints, start times, jitter, gaps, histogram and float
/// staleness markers, and now and then a float.
pub fn histogram_series() -> impl Strategy<Value = Vec<RawHist>> {
    use std::sync::Arc;

    use crate::model::histogram::{CounterResetHint as Hint, FloatHistogram};
    use crate::model::{HistogramSample, Sample};
    let step = prop_oneof![
        4 => 14_000i64..16_000,
        1 => 60_000i64..4_000_000,
        1 => 1i64..16_000,
    ];
    // 0–5 add to bucket (k % 4), 6 reset, 7 coarser, 8 finer, 9 custom
    // buckets, 10 exponential again, 11 histogram stale, 12 float stale,
    // 13 a float.
    let action = prop_oneof![
        30 => 0u8..6,
        2 => Just(6u8),
        1 => 7u8..11,
        1 => 11u8..14,
    ];
    let hint = prop_oneof![
        12 => Just(Hint::Unknown),
        1 => Just(Hint::NotCounterReset),
        1 => Just(Hint::CounterReset),
        1 => Just(Hint::Gauge),
    ];
    proptest::collection::vec((step, action, 1u8..4, hint, 0u8..20), 0..200).prop_map(|raw| {
        let (mut t, mut st) = (-50_000i64, 0i64);
        let (mut schema, mut counts) = (1, vec![0.0; 4]);
        let mut out = Vec::new();
        for (dt, action, add, hint, restart) in raw {
            t += dt;
            match action {
                0..6 => counts[usize::from(action) % 4] += f64::from(add),
                6 => counts.iter_mut().for_each(|c| *c = (*c / 4.0).floor()),
                7 if schema > 0 => schema -= 1,
                8 if (0..2).contains(&schema) => schema += 1,
                9 => schema = -53,
                10 => schema = 1,
                11 => {
                    let h = HistogramSample {
                        t,
                        st: 0,
                        h: Arc::new(FloatHistogram::stale()),
                    };
                    out.push(RawHist::Hist(h));
                    continue;
                }
                12 => {
                    out.push(RawHist::Float(Sample::new(t, STALE_NAN)));
                    continue;
                }
                13 => {
                    out.push(RawHist::Float(Sample::new(t, f64::from(add))));
                    continue;
                }
                _ => {}
            }
            if restart == 0 {
                st = t - 1;
            }
            let mut h = histogram(schema, &counts);
            h.hint = hint;
            out.push(RawHist::Hist(HistogramSample {
                t,
                st: if restart == 1 { 0 } else { st },
                h: Arc::new(h),
            }));
        }
        out
    })
}

/// The floats and histograms of `raw`, each ascending.
pub fn split(
    raw: &[RawHist],
) -> (
    Vec<crate::model::Sample>,
    Vec<crate::model::HistogramSample>,
) {
    let (mut floats, mut hists) = (Vec::new(), Vec::new());
    for r in raw {
        match r {
            RawHist::Hist(h) => hists.push(h.clone()),
            RawHist::Float(s) => floats.push(*s),
        }
    }
    (floats, hists)
}
