use proptest::prelude::*;

use super::*;
use crate::model::histogram::{
    CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram, Histogram, STALE_SUM_BITS, Span,
};

fn int_h(count: u64, deltas: &[i64]) -> Histogram {
    Histogram {
        schema: 1,
        zero_threshold: 2f64.powi(-128),
        zero_count: 1,
        count,
        sum: count as f64 * 1.5,
        positive_spans: vec![Span::new(-1, 2), Span::new(3, 1)],
        positive_deltas: deltas.to_vec(),
        negative_spans: vec![Span::new(0, 1)],
        negative_deltas: vec![1],
        ..Histogram::default()
    }
}

#[test]
fn zero_threshold_takes_one_byte_when_a_small_power_of_two() {
    for (t, first_byte, len) in [
        (0.0, 0u8, 1usize),
        (2f64.powi(-128), 116, 1),
        (1024.0, 254, 1),
        (2048.0, 255, 9),
        (0.001, 255, 9),
        (2f64.powi(-243), 1, 1),
    ] {
        let l = Layout {
            zero_threshold: t,
            ..Layout::default()
        };
        let mut w = BitWriter::default();
        l.write(&mut w);
        let bytes = w.into_bytes();
        assert_eq!(bytes[0], first_byte, "{t}");
        // Schema 0 and two empty span lists: 3 bits after the threshold.
        assert_eq!(bytes.len(), len + 1, "{t}");
        let back = Layout::read(&mut BitReader::new(&bytes)).unwrap();
        assert_eq!(back.zero_threshold.to_bits(), t.to_bits(), "{t}");
    }
}

#[test]
fn custom_bounds_round_trip_scaled_or_raw() {
    let l = Layout {
        schema: CUSTOM_BUCKETS_SCHEMA,
        custom_values: vec![-1.0, 0.001, 0.1, 0.25, 1.0, 2.5, 33554.43, 1e9, 0.0001],
        positive_spans: vec![Span::new(0, 3)],
        ..Layout::default()
    };
    let mut w = BitWriter::default();
    l.write(&mut w);
    let bytes = w.into_bytes();
    assert_eq!(Layout::read(&mut BitReader::new(&bytes)), Ok(l));
}

#[test]
fn integer_chunk_round_trips_with_hints_and_stale_markers() {
    let samples = vec![
        (1000, int_h(5, &[1, 1, 0])),
        (2000, int_h(9, &[2, 1, 1])),
        (3000, int_h(14, &[3, 2, 0])),
        (4100, int_h(14, &[3, 2, 0])),
    ];
    let mut app = HistogramAppender::new(ResetHeader::Unknown);
    for (t, h) in &samples {
        app.append(*t, h);
    }
    let stale = Histogram {
        sum: f64::from_bits(STALE_SUM_BITS),
        ..Histogram::default()
    };
    app.append(5000, &stale);
    app.append(6000, &stale);
    let got = decode_histograms(&app.bytes()).unwrap();
    assert_eq!(got.len(), 6);
    for (i, ((t, want), (gt, g))) in samples.iter().zip(&got).enumerate() {
        let hint = if i == 0 {
            CounterResetHint::Unknown
        } else {
            CounterResetHint::NotCounterReset
        };
        assert_eq!(
            (gt, g),
            (
                t,
                &Histogram {
                    hint,
                    ..want.clone()
                }
            ),
            "sample {i}"
        );
    }
    assert!(got[4].1.sum.to_bits() == STALE_SUM_BITS && got[5].0 == 6000);
}

#[test]
fn float_chunk_round_trips_and_gauge_header_sets_every_hint() {
    let mut app = FloatHistogramAppender::new(ResetHeader::Gauge);
    let hs: Vec<FloatHistogram> = (0..20)
        .map(|i| {
            let mut h = int_h(5 + i, &[1, 1, 0]).to_float();
            h.positive_buckets[0] += i as f64 * 0.25;
            h.sum = (i as f64).sin();
            h.count = h.zero_count + h.positive_buckets.iter().sum::<f64>() + 1.0;
            h
        })
        .collect();
    for (i, h) in hs.iter().enumerate() {
        app.append(i as i64 * 15_000, h);
    }
    let got = decode_float_histograms(&app.bytes()).unwrap();
    for (i, (t, g)) in got.iter().enumerate() {
        assert_eq!(*t, i as i64 * 15_000);
        let want = FloatHistogram {
            hint: CounterResetHint::Gauge,
            ..hs[i].clone()
        };
        assert_eq!(g, &want);
    }
}

#[test]
fn corrupt_chunks_are_errors_not_panics() {
    let mut app = HistogramAppender::new(ResetHeader::Unknown);
    app.append(1, &int_h(5, &[1, 1, 0]));
    app.append(2, &int_h(6, &[1, 1, 1]));
    let bytes = app.bytes();
    assert!(decode_histograms(&bytes[..2]).is_err());
    for cut in 3..bytes.len() - 1 {
        assert!(decode_histograms(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    // A count larger than the samples written.
    let mut more = bytes.clone();
    more[1] = 200;
    assert!(decode_float_histograms(&more).is_err());
    assert!(decode_histograms(&more).is_err());
}

#[test]
fn appendable_cases() {
    let base = int_h(5, &[1, 1, 0]).to_float();
    let layout = Layout {
        schema: base.schema,
        zero_threshold: base.zero_threshold,
        positive_spans: base.positive_spans.clone(),
        negative_spans: base.negative_spans.clone(),
        custom_values: vec![],
    };
    type Case = (&'static str, fn(&mut FloatHistogram), bool, Appendable);
    let cases: Vec<Case> = vec![
        ("same", |_| {}, false, Appendable::Append),
        (
            "grows",
            |h| h.positive_buckets[0] += 1.0,
            false,
            Appendable::Append,
        ),
        (
            "schema",
            |h| h.schema = 2,
            false,
            Appendable::NewChunk { reset: false },
        ),
        (
            "threshold",
            |h| h.zero_threshold = 1.0,
            false,
            Appendable::NewChunk { reset: false },
        ),
        (
            "count_drops",
            |h| h.count = 1.0,
            false,
            Appendable::NewChunk { reset: true },
        ),
        (
            "bucket_drops",
            |h| h.positive_buckets[1] = 0.0,
            false,
            Appendable::NewChunk { reset: true },
        ),
        (
            "gauge_bucket_drops",
            |h| h.positive_buckets[1] = 0.0,
            true,
            Appendable::Append,
        ),
        (
            "populated_bucket_vanishes",
            |h| {
                h.positive_spans = vec![Span::new(-1, 2)];
                h.positive_buckets.pop();
            },
            false,
            Appendable::NewChunk { reset: true },
        ),
        (
            "new_bucket",
            |h| {
                h.positive_spans = vec![Span::new(-1, 3), Span::new(2, 1)];
                h.positive_buckets = vec![1.0, 2.0, 7.0, 2.0];
            },
            false,
            Appendable::Recode {
                positive_spans: vec![Span::new(-1, 3), Span::new(2, 1)],
                negative_spans: vec![Span::new(0, 1)],
            },
        ),
        (
            "stale",
            |h| h.sum = f64::from_bits(STALE_SUM_BITS),
            false,
            Appendable::Append,
        ),
    ];
    for (name, edit, gauge, want) in cases {
        let mut h = base.clone();
        edit(&mut h);
        assert_eq!(appendable(&layout, &base, &h, gauge), want, "{name}");
    }
    let stale = FloatHistogram::stale();
    assert_eq!(
        appendable(&layout, &stale, &base, false),
        Appendable::NewChunk { reset: false },
        "a sample after a stale marker"
    );
}

#[test]
fn recoding_widens_every_sample_and_keeps_the_header() {
    let mut app = HistogramAppender::new(ResetHeader::CounterReset);
    app.append(1000, &int_h(5, &[1, 1, 0]));
    app.append(2000, &int_h(7, &[2, 1, 0]));
    let wider = vec![Span::new(-1, 3), Span::new(2, 1)];
    let mut re = app.recode(&wider, &[Span::new(0, 1)]).unwrap();
    assert_eq!(re.header(), ResetHeader::CounterReset);
    let next = Histogram {
        positive_spans: wider.clone(),
        positive_deltas: vec![2, 1, -3, 4],
        count: 11,
        ..int_h(11, &[])
    };
    re.append(3000, &next);
    let got = decode_histograms(&re.bytes()).unwrap();
    let absolute: Vec<Vec<f64>> = got
        .iter()
        .map(|(_, h)| h.to_float().positive_buckets)
        .collect();
    assert_eq!(
        absolute,
        vec![
            vec![1.0, 2.0, 0.0, 2.0],
            vec![2.0, 3.0, 0.0, 3.0],
            vec![2.0, 3.0, 0.0, 4.0]
        ]
    );
    assert!(got.iter().all(|(_, h)| h.positive_spans == wider));
}

fn arb_series() -> impl Strategy<Value = Vec<(i64, Vec<u32>, f64)>> {
    prop::collection::vec(
        (
            1i64..100_000,
            prop::collection::vec(0u32..1000, 4),
            -1e6f64..1e6,
        ),
        1..120,
    )
}

proptest! {
    #[test]
    fn int_and_float_chunks_round_trip(series in arb_series()) {
        let mut int_app = HistogramAppender::new(ResetHeader::Unknown);
        let mut float_app = FloatHistogramAppender::new(ResetHeader::Unknown);
        let mut t = 0;
        let mut want = Vec::new();
        for (dt, counts, sum) in series {
            t += dt;
            let mut prev = 0i64;
            let deltas: Vec<i64> = counts.iter().map(|&c| {
                let d = i64::from(c) - prev;
                prev = i64::from(c);
                d
            }).collect();
            let h = Histogram {
                schema: 3,
                count: counts.iter().map(|&c| u64::from(c)).sum(),
                sum,
                positive_spans: vec![Span::new(2, 2), Span::new(1, 2)],
                positive_deltas: deltas,
                ..Histogram::default()
            };
            int_app.append(t, &h);
            float_app.append(t, &h.to_float());
            want.push((t, h));
        }
        let ints = decode_histograms(&int_app.bytes()).unwrap();
        let floats = decode_float_histograms(&float_app.bytes()).unwrap();
        prop_assert_eq!(ints.len(), want.len());
        for ((i, (t, w)), ((ti, hi), (tf, hf))) in want.iter().enumerate().zip(ints.iter().zip(&floats)) {
            let hint = if i == 0 { CounterResetHint::Unknown } else { CounterResetHint::NotCounterReset };
            prop_assert_eq!((t, &Histogram { hint, ..w.clone() }), (ti, hi));
            prop_assert_eq!((t, &FloatHistogram { hint, ..w.to_float() }), (tf, hf));
        }
    }
}
