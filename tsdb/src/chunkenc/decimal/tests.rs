//! Decimal chunks against a plain `Vec` of samples.

use super::*;
use crate::model::STALE_NAN;
use proptest::prelude::*;

fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
    let s: Vec<Sample> = samples.iter().map(|&(t, v)| Sample::new(t, v)).collect();
    let mut out = Vec::new();
    assert!(DecimalEncoder::default().encode(&s, &mut out));
    out
}

fn decode(bytes: &[u8]) -> Vec<(i64, u64)> {
    let mut it = DecimalIter::new(bytes);
    assert_eq!(it.err(), None);
    let mut out = vec![];
    while it.next() {
        let s = it.at();
        out.push((s.t, s.v.to_bits()));
    }
    out
}

fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

fn regular(values: &[f64]) -> Vec<(i64, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| (1_700_000_000_000 + i as i64 * 15_000, v))
        .collect()
}

#[test]
fn table() {
    let counter: Vec<f64> = (0..120).map(|i| f64::from(i * 37 + i % 7)).collect();
    // A 2-decimal random walk (xorshift steps of −0.10 … +0.10).
    let mut x = 88_172_645_463_325_252u64;
    let mut m = 5000i64;
    let gauge: Vec<f64> = (0..120)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            m += (x % 21) as i64 - 10;
            m as f64 / 100.0
        })
        .collect();
    let mut reset = counter.clone();
    for v in &mut reset[60..] {
        *v -= 2000.0;
    }
    let mut stale = gauge.clone();
    stale[119] = STALE_NAN;
    // (name, samples, largest acceptable size; 0: any)
    type Case = (&'static str, Vec<(i64, f64)>, usize);
    let cases: Vec<Case> = vec![
        ("one sample", vec![(1000, 1.5)], 6),
        ("two samples", vec![(1000, 1.5), (2000, 2.5)], 11),
        ("constant at 15 s", regular(&[1.0; 120]), 16),
        ("integer counter", regular(&counter), 33),
        ("2-decimal gauge", regular(&gauge), 93),
        ("counter with a reset", regular(&reset), 72),
        ("gauge ending stale", regular(&stale), 103),
        (
            "stale marker",
            vec![(0, 1.0), (15_000, STALE_NAN), (30_000, 1.0)],
            0,
        ),
        (
            "negative zero after zero",
            vec![(0, 0.0), (1, -0.0), (2, 0.0)],
            0,
        ),
        (
            "infinities and NaN",
            vec![(0, f64::INFINITY), (1, f64::NEG_INFINITY), (2, f64::NAN)],
            0,
        ),
        (
            "subnormal and extremes",
            vec![(0, 5e-324), (1, f64::MIN_POSITIVE), (2, f64::MAX)],
            0,
        ),
        (
            "mixed precision",
            vec![(0, 1.0), (1, 0.5), (2, 0.25), (3, 0.125), (4, 1e-15)],
            0,
        ),
        (
            "large integers",
            vec![(0, 9.0e18), (1, -9.0e18), (2, 4.5e15), (3, 0.001)],
            0,
        ),
        (
            "extreme timestamps",
            vec![(i64::MIN, 1.0), (0, 2.0), (i64::MAX, 3.0)],
            0,
        ),
        (
            "jittered timestamps",
            (0..120)
                .map(|i| (i * 15_000 + (i * 7) % 5, 1.0 + f64::from(i as i32)))
                .collect(),
            28,
        ),
    ];
    for (name, samples, max_len) in cases {
        let bytes = encode(&samples);
        assert_eq!(decode(&bytes), bits(&samples), "case {name}");
        assert_eq!(num_samples(&bytes), samples.len(), "case {name}");
        assert!(
            max_len == 0 || bytes.len() <= max_len,
            "case {name}: {} bytes, expected at most {max_len}",
            bytes.len()
        );
    }
}

#[test]
fn empty_and_oversized_are_refused() {
    let mut out = vec![];
    assert!(!DecimalEncoder::default().encode(&[], &mut out));
    let many = vec![Sample::new(0, 1.0); usize::from(u16::MAX) + 1];
    assert!(!DecimalEncoder::default().encode(&many, &mut out));
    assert!(out.is_empty());
}

#[test]
fn bad_headers_are_reported_with_offsets() {
    let good = encode(&regular(&[1.5, 2.5, 3.5]));
    let cases: Vec<(&str, Vec<u8>, usize, &str)> = vec![
        ("empty", vec![], 0, "decimal chunk version"),
        (
            "too many samples",
            vec![DECIMAL_VERSION, 0x80, 0x80, 0x04],
            1,
            "more than 65535 samples in a decimal chunk",
        ),
        (
            "reserved scale bit",
            {
                let mut b = encode(&[(0, 1.0)]);
                b[3] |= RESERVED;
                b
            },
            3,
            "bad decimal scale byte",
        ),
        (
            "future version",
            {
                let mut b = good.clone();
                b[0] = 9;
                b
            },
            0,
            "unsupported decimal chunk version",
        ),
        ("truncated", good[..good.len() - 1].to_vec(), 0, ""),
    ];
    for (name, bytes, offset, what) in cases {
        let err = DecimalIter::try_new(&bytes).expect_err(name);
        if !what.is_empty() {
            assert_eq!((err.offset, err.what), (offset, what), "case {name}");
        }
        let mut it = DecimalIter::new(&bytes);
        assert!(!it.next(), "case {name}");
        assert!(it.err().is_some(), "case {name}");
    }
}

/// Values shaped like real metrics, and arbitrary bit patterns.
fn value_strategy() -> impl Strategy<Value = Vec<f64>> {
    let decimals = (0u32..=8, -1_000_000_000i64..1_000_000_000, 1usize..300).prop_flat_map(
        |(places, start, n)| {
            prop::collection::vec(-5000i64..5000, n).prop_map(move |steps| {
                let p = 10f64.powi(places as i32);
                let mut m = start;
                steps
                    .into_iter()
                    .map(|s| {
                        m += s;
                        m as f64 / p
                    })
                    .collect::<Vec<f64>>()
            })
        },
    );
    let counter = (
        0u64..1 << 40,
        prop::collection::vec((0u64..10_000, 0u8..100), 1..300),
    )
        .prop_map(|(start, steps)| {
            let mut c = start;
            steps
                .into_iter()
                .map(|(inc, r)| {
                    c = if r == 0 { inc } else { c + inc };
                    c as f64
                })
                .collect::<Vec<f64>>()
        });
    let special = prop_oneof![
        Just(STALE_NAN.to_bits()),
        Just(f64::NAN.to_bits()),
        Just(f64::INFINITY.to_bits()),
        Just(f64::NEG_INFINITY.to_bits()),
        Just((-0.0f64).to_bits()),
        Just(0x7ff8_dead_beef_0001u64),
        any::<u64>(),
    ];
    let mixed = prop::collection::vec(
        prop_oneof![
            4 => (-1_000_000i64..1_000_000).prop_map(|m| m as f64 / 100.0),
            1 => special.prop_map(f64::from_bits),
        ],
        1..300,
    );
    let bits = prop::collection::vec(any::<u64>().prop_map(f64::from_bits), 1..200);
    prop_oneof![decimals, counter, mixed, bits]
}

fn samples_strategy() -> impl Strategy<Value = Vec<(i64, f64)>> {
    (
        value_strategy(),
        prop_oneof![Just(0i64), 1i64..5, 1i64..100_000],
        prop_oneof![Just(15_000i64), 1i64..100, 1i64..(1 << 40)],
        any::<i64>(),
    )
        .prop_map(|(values, jitter, step, seed)| {
            let mut t = seed >> 2;
            let mut x = seed as u64 | 1;
            values
                .into_iter()
                .map(|v| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    t = t.wrapping_add(step + (x % (jitter as u64 + 1)) as i64);
                    (t, v)
                })
                .collect()
        })
}

proptest! {
    #[test]
    fn round_trips_against_vec(samples in samples_strategy()) {
        prop_assert_eq!(decode(&encode(&samples)), bits(&samples));
    }

    #[test]
    fn range_matches_reference(
        samples in samples_strategy(),
        q in any::<prop::sample::Index>(),
        off in -2i64..2,
        span in 0i64..(1 << 20),
    ) {
        let bytes = encode(&samples);
        let q = samples[q.index(samples.len())].0.saturating_add(off);
        let maxt = q.saturating_add(span);
        let mut out = vec![];
        decode_range(&bytes, q, maxt, &mut out);
        let want: Vec<(i64, u64)> =
            bits(&samples).into_iter().filter(|s| s.0 >= q && s.0 <= maxt).collect();
        let got: Vec<(i64, u64)> = out.iter().map(|s| (s.t, s.v.to_bits())).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut it = DecimalIter::new(&bytes);
        let mut n = 0;
        while it.next() {
            n += 1;
        }
        prop_assert!(n <= it.num_samples());
        let mut out = vec![];
        decode_range(&bytes, i64::MIN, i64::MAX, &mut out);
    }

    #[test]
    fn damaged_chunks_never_panic(samples in samples_strategy(), at in any::<prop::sample::Index>(), x in 1u8..) {
        let mut bytes = encode(&samples);
        let i = at.index(bytes.len());
        bytes[i] ^= x;
        let mut it = DecimalIter::new(&bytes);
        while it.next() {}
        bytes.truncate(i);
        prop_assert!(DecimalIter::try_new(&bytes).is_err(), "a cut chunk is always detected");
    }
}

/// The worked example of `docs/format/chunks.md`, byte for byte.
#[test]
fn documented_example() {
    let samples = [
        (1000, 12.34),
        (16_000, 12.36),
        (31_000, 12.35),
        (46_000, 12.39),
    ];
    let bytes = encode(&samples);
    let want = [
        0x01, 0x04, // version, n
        0xD0, 0x0F, // t₀ = 1000
        0xB0, 0xEA, 0x01, 0x7F, // Δt: all 15000
        0x02, // scale: e = 2, deltas, no raw values
        0xA4, 0x13, // m₀ = 1234
        0x01, 0x03, 0x62, 0x80, 0x00, // Δm: base −1, w = 3, fields 3 0 5, no exceptions
    ];
    assert_eq!(bytes, want);
    assert_eq!(decode(&bytes), bits(&samples));
    let mut xor = crate::chunkenc::XorAppender::new();
    for (t, v) in samples {
        xor.append(t, v);
    }
    assert_eq!(xor.to_bytes().len(), 36, "the page compares with XOR");
}
