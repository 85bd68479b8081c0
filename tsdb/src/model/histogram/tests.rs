use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::error::{HistogramError as E, Side};

fn fh(schema: i32, spans: &[(i32, u32)], buckets: &[f64]) -> FloatHistogram {
    let total: f64 = buckets.iter().sum();
    FloatHistogram {
        schema,
        count: total,
        sum: 1.0,
        positive_spans: spans.iter().map(|&(o, l)| Span::new(o, l)).collect(),
        positive_buckets: buckets.to_vec(),
        ..FloatHistogram::default()
    }
}

fn valid_int() -> Histogram {
    Histogram {
        schema: 0,
        zero_threshold: 0.001,
        zero_count: 2,
        count: 14,
        sum: 18.4,
        positive_spans: vec![Span::new(0, 2), Span::new(1, 2)],
        positive_deltas: vec![1, 1, -1, 0],
        negative_spans: vec![Span::new(0, 2)],
        negative_deltas: vec![3, 1],
        ..Histogram::default()
    }
}

#[test]
fn validation_names_each_broken_rule() {
    type Case = (&'static str, fn(&mut Histogram), Option<E>);
    let cases: Vec<Case> = vec![
        ("valid", |_| {}, None),
        (
            "schema_out_of_range",
            |h| h.schema = 9,
            Some(E::InvalidSchema(9)),
        ),
        (
            "negative_offset_after_first_span",
            |h| h.positive_spans[1].offset = -1,
            Some(E::NegativeSpanOffset {
                side: Side::Positive,
                span: 2,
                offset: -1,
            }),
        ),
        (
            "spans_need_more_buckets",
            |h| h.negative_spans[0].length = 3,
            Some(E::SpansBucketsMismatch {
                side: Side::Negative,
                spans: 3,
                buckets: 2,
            }),
        ),
        (
            "negative_bucket_count",
            |h| h.positive_deltas[1] = -2,
            Some(E::NegativeBucketCount {
                side: Side::Positive,
                bucket: 2,
                count: -1.0,
            }),
        ),
        (
            "count_mismatch",
            |h| h.count = 15,
            Some(E::CountMismatch {
                in_buckets: 14.0,
                count: 15.0,
            }),
        ),
        (
            "nan_sum_allows_a_larger_count",
            |h| {
                h.sum = f64::NAN;
                h.count = 15;
            },
            None,
        ),
        (
            "nan_sum_count_too_small",
            |h| {
                h.sum = f64::NAN;
                h.count = 13;
            },
            Some(E::CountNotBigEnough {
                in_buckets: 14.0,
                count: 13.0,
            }),
        ),
        (
            "exponential_with_custom_bounds",
            |h| h.custom_values = vec![1.0],
            Some(E::ExponentialWithCustomBounds),
        ),
    ];
    for (name, edit, want) in cases {
        let mut h = valid_int();
        edit(&mut h);
        assert_eq!(h.validate().err(), want, "{name}");
        // Float histograms are not held to their count (rounding).
        let float_want = match want {
            Some(E::CountMismatch { .. } | E::CountNotBigEnough { .. }) => None,
            w => w,
        };
        assert_eq!(h.to_float().validate().err(), float_want, "{name} (float)");
    }
}

#[test]
fn custom_bucket_validation() {
    let nhcb = |cv: &[f64], spans: &[(i32, u32)], buckets: &[f64]| {
        let mut h = fh(CUSTOM_BUCKETS_SCHEMA, spans, buckets);
        h.custom_values = cv.to_vec();
        h
    };
    type Case = (&'static str, FloatHistogram, Option<E>);
    let cases: Vec<Case> = vec![
        (
            "valid",
            nhcb(&[1.0, 2.0], &[(0, 3)], &[1.0, 2.0, 3.0]),
            None,
        ),
        (
            "not_increasing",
            nhcb(&[2.0, 2.0], &[(0, 1)], &[1.0]),
            Some(E::CustomBoundsNotIncreasing {
                prev: 2.0,
                curr: 2.0,
            }),
        ),
        (
            "nan_bound",
            nhcb(&[1.0, f64::NAN], &[(0, 1)], &[1.0]),
            Some(E::CustomBoundsNotIncreasing {
                prev: 1.0,
                curr: f64::NAN,
            }),
        )
            .clone(),
        (
            "infinite_bound",
            nhcb(&[1.0, f64::INFINITY], &[(0, 1)], &[1.0]),
            Some(E::CustomBoundsInfinite),
        ),
        (
            "too_few_bounds",
            nhcb(&[1.0], &[(0, 1), (1, 1)], &[1.0, 1.0]),
            Some(E::CustomBoundsTooFew {
                bounds: 1,
                span_length: 3,
            }),
        ),
        (
            "zero_count",
            FloatHistogram {
                zero_count: 1.0,
                count: 2.0,
                ..nhcb(&[1.0], &[(0, 1)], &[1.0])
            },
            Some(E::CustomZeroCount),
        ),
        (
            "negative_buckets",
            FloatHistogram {
                negative_spans: vec![Span::new(0, 1)],
                negative_buckets: vec![1.0],
                ..nhcb(&[1.0], &[(0, 1)], &[1.0])
            },
            Some(E::CustomNegativeSpans),
        ),
    ];
    for (name, h, want) in cases {
        let got = h.validate().err();
        // NaN inside the error: compare texts.
        assert_eq!(
            got.as_ref().map(ToString::to_string),
            want.as_ref().map(ToString::to_string),
            "{name}"
        );
    }
}

#[test]
fn exponential_bounds_match_prometheus() {
    // Values of Prometheus's bound table and boundary cases.
    let cases = [
        ("schema0_index1", 0, 1, 2.0),
        ("schema0_index0", 0, 0, 1.0),
        ("schema0_index_minus1", 0, -1, 0.5),
        // Prometheus's 0.7071067811865475, one below the nearest f64 to √½.
        ("schema1_index1", 1, 1, 2.0 * 0.7071067811865475),
        ("schema2_index1", 2, 1, 2.0 * 0.5946035575013605),
        ("schema2_index3", 2, 3, 2.0 * 0.8408964152537144),
        ("schema_minus1_index1", -1, 1, 4.0),
        ("schema_minus4_index1", -4, 1, 65536.0),
        ("schema0_last_finite", 0, 1024, f64::MAX),
        ("schema0_inf_bucket", 0, 1025, f64::INFINITY),
        ("schema8_last_finite", 8, 1024 * 256, f64::MAX),
        ("schema_minus2_last_finite", -2, 256, f64::MAX),
    ];
    for (name, schema, index, want) in cases {
        assert_eq!(bucket_bound(schema, index, &[]), want, "{name}");
    }
    for s in 0..=8 {
        let n = 1 << s;
        assert_eq!(bucket_bound(s, n, &[]), 2.0, "schema {s}: 2^1 at index 2^s");
        for i in 1..n {
            assert!(bucket_bound(s, i, &[]) > bucket_bound(s, i - 1, &[]));
        }
    }
}

#[test]
fn buckets_in_value_order_with_custom_first_bucket() {
    let mut h = fh(CUSTOM_BUCKETS_SCHEMA, &[(0, 2), (1, 1)], &[1.0, 2.0, 3.0]);
    h.custom_values = vec![0.5, 1.0, 4.0];
    let b = buckets(&h);
    let got: Vec<(f64, f64, f64)> = b.iter().map(|b| (b.lower, b.upper, b.count)).collect();
    assert_eq!(
        got,
        vec![
            (f64::NEG_INFINITY, 0.5, 1.0),
            (0.5, 1.0, 2.0),
            (4.0, f64::INFINITY, 3.0)
        ]
    );
    let mut e = valid_int().to_float();
    e.compact(0);
    let b = buckets(&e);
    assert_eq!(b[0].lower, -2.0, "most negative first");
    assert_eq!((b[2].lower, b[2].upper, b[2].count), (-0.001, 0.001, 2.0));
    assert!(b.windows(2).all(|w| w[0].upper <= w[1].lower + 1e-12));
}

#[test]
fn int_to_float_makes_deltas_absolute() {
    let f = valid_int().to_float();
    assert_eq!(f.positive_buckets, vec![1.0, 2.0, 1.0, 1.0]);
    assert_eq!(f.negative_buckets, vec![3.0, 4.0]);
    let idx: Vec<i32> = f.positive().map(|(i, _)| i).collect();
    assert_eq!(idx, vec![0, 1, 3, 4]);
}

#[test]
fn detect_reset_cases() {
    let base = fh(0, &[(0, 3)], &[1.0, 2.0, 3.0]);
    type Case = (&'static str, fn(&mut FloatHistogram), bool);
    let cases: Vec<Case> = vec![
        ("same", |_| {}, false),
        ("bucket_grows", |h| h.positive_buckets[1] = 5.0, false),
        (
            "bucket_shrinks",
            |h| {
                h.positive_buckets[1] = 1.0;
                h.count += 5.0;
            },
            true,
        ),
        ("count_drops", |h| h.count = 1.0, true),
        ("finer_schema", |h| h.schema = 1, true),
        (
            "explicit_reset",
            |h| h.hint = CounterResetHint::CounterReset,
            true,
        ),
        (
            "not_reset_hint_wins",
            |h| {
                h.hint = CounterResetHint::NotCounterReset;
                h.count = 0.0;
            },
            false,
        ),
        (
            "bucket_vanishes",
            |h| {
                h.positive_spans = vec![Span::new(0, 2)];
                h.positive_buckets = vec![1.0, 9.0];
            },
            true,
        ),
    ];
    for (name, edit, want) in cases {
        let mut h = base.clone();
        edit(&mut h);
        assert_eq!(h.detect_reset(&base), want, "{name}");
    }
}

#[test]
fn adding_custom_buckets_with_other_bounds_reconciles_to_the_common_ones() {
    let mut a = fh(CUSTOM_BUCKETS_SCHEMA, &[(0, 3)], &[1.0, 2.0, 3.0]);
    a.custom_values = vec![1.0, 2.0];
    let mut b = fh(CUSTOM_BUCKETS_SCHEMA, &[(0, 3)], &[10.0, 20.0, 30.0]);
    b.custom_values = vec![2.0, 5.0];
    assert_eq!(a.add_assign(&b, false), Ok(true));
    assert_eq!(a.custom_values, vec![2.0]);
    // a: (-inf,2] = 1+2, (2,inf) = 3; b: (-inf,2] = 10, (2,inf) = 20+30.
    assert_eq!(a.positive_buckets, vec![13.0, 53.0]);
    let exp = fh(0, &[(0, 1)], &[1.0]);
    assert_eq!(a.add_assign(&exp, false), Err(E::IncompatibleSchemas));
}

#[test]
fn a_wider_zero_bucket_absorbs_small_buckets() {
    let mut a = fh(0, &[(-2, 4)], &[1.0, 2.0, 3.0, 4.0]); // (1/8,1/4] … (1,2]
    let mut b = fh(0, &[(1, 1)], &[5.0]);
    b.zero_threshold = 0.5;
    b.zero_count = 7.0;
    b.count += 7.0;
    a.add_assign(&b, false).unwrap();
    assert_eq!(a.zero_threshold, 0.5);
    assert_eq!(a.zero_count, 7.0 + 1.0 + 2.0, "buckets up to 0.5 moved");
    assert_eq!(a.positive().collect::<Vec<_>>(), vec![(0, 3.0), (1, 9.0)]);
    assert_eq!(a.count, 10.0 + 12.0);
}

/// A side as a map from index to count, at `schema`.
fn reference(
    items: impl Iterator<Item = (i32, f64)>,
    schema: i32,
    target: i32,
) -> BTreeMap<i32, f64> {
    let mut m = BTreeMap::new();
    for (i, c) in items {
        *m.entry(((i - 1) >> (schema - target)) + 1).or_insert(0.0) += c;
    }
    m.retain(|_, c| *c != 0.0);
    m
}

fn arb_histogram() -> impl Strategy<Value = FloatHistogram> {
    (
        -4i32..=8,
        prop::collection::vec((0i32..4, 1u32..5), 0..4),
        prop::collection::vec(0u32..50, 40),
        -20i32..20,
    )
        .prop_map(|(schema, spans, counts, first)| {
            let spans: Vec<Span> = spans
                .iter()
                .enumerate()
                .map(|(i, &(gap, len))| Span::new(if i == 0 { first } else { gap }, len))
                .collect();
            let n: usize = spans.iter().map(|s| s.length as usize).sum();
            let buckets: Vec<f64> = counts[..n].iter().map(|&c| f64::from(c)).collect();
            FloatHistogram {
                schema,
                count: buckets.iter().sum(),
                sum: 3.5,
                positive_spans: spans,
                positive_buckets: buckets,
                ..FloatHistogram::default()
            }
        })
}

proptest! {
    #[test]
    fn add_matches_a_bucket_map(a in arb_histogram(), b in arb_histogram()) {
        let target = a.schema.min(b.schema);
        let mut want = reference(a.positive(), a.schema, target);
        for (i, c) in reference(b.positive(), b.schema, target) {
            *want.entry(i).or_insert(0.0) += c;
        }
        let mut got = a.clone();
        got.add_assign(&b, false).unwrap();
        prop_assert_eq!(got.schema, target);
        prop_assert_eq!(got.count, a.count + b.count);
        let got_map = reference(got.positive(), target, target);
        prop_assert_eq!(got_map, want);
        prop_assert!(got.validate().is_ok());
        // Subtracting b again gives a back, at the coarser schema.
        got.add_assign(&b, true).unwrap();
        let mut back = a.clone();
        back.reduce_resolution(target);
        got.compact(0);
        back.compact(0);
        prop_assert!(got.same_observations(&back));
    }

    #[test]
    fn reduce_resolution_keeps_every_observation(a in arb_histogram(), by in 0i32..4) {
        let target = (a.schema - by).max(-4);
        let mut r = a.clone();
        r.reduce_resolution(target);
        prop_assert_eq!(reference(r.positive(), r.schema, r.schema), reference(a.positive(), a.schema, target));
        prop_assert!(r.validate().is_ok());
        prop_assert!(!r.detect_reset(&a) || a.schema == target);
    }
}
