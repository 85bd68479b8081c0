use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::prompb::{Exemplar, Histogram, Label, TimeSeries, WriteRequest};

/// The borrowed decoding, flattened to compare with `prost`'s.
/// Per series: labels, sample (value bits, timestamp), exemplar count,
/// histograms.
type View = Vec<(
    Vec<(String, String)>,
    Vec<(u64, i64)>,
    usize,
    Vec<Histogram>,
)>;

fn view(r: &WriteRequestRef<'_>) -> View {
    r.series
        .iter()
        .map(|s| {
            (
                r.labels[s.labels.clone()]
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                r.samples[s.samples.clone()]
                    .iter()
                    .map(|x| (x.value.to_bits(), x.timestamp))
                    .collect(),
                s.exemplars.len(),
                r.histograms[s.histograms.clone()].to_vec(),
            )
        })
        .collect()
}

fn prost_view(r: &WriteRequest) -> View {
    r.timeseries
        .iter()
        .map(|t| {
            (
                t.labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect(),
                t.samples
                    .iter()
                    .map(|x| (x.value.to_bits(), x.timestamp))
                    .collect(),
                t.exemplars.len(),
                t.histograms.clone(),
            )
        })
        .collect()
}

fn label() -> impl Strategy<Value = Label> {
    ("[a-z_]{0,8}|\\PC{0,4}", "\\PC{0,12}").prop_map(|(name, value)| Label { name, value })
}

fn request() -> impl Strategy<Value = WriteRequest> {
    let sample = (any::<u64>(), any::<i64>()).prop_map(|(bits, timestamp)| Sample {
        value: f64::from_bits(bits),
        timestamp,
    });
    let exemplar = (
        prop::collection::vec(label(), 0..3),
        any::<f64>(),
        any::<i64>(),
    )
        .prop_map(|(labels, value, timestamp)| Exemplar {
            labels,
            value,
            timestamp,
        });
    let series = (
        prop::collection::vec(label(), 0..6),
        prop::collection::vec(sample, 0..5),
        prop::collection::vec(exemplar, 0..2),
        0..2usize,
    )
        .prop_map(|(labels, samples, exemplars, h)| TimeSeries {
            labels,
            samples,
            exemplars,
            histograms: (0..h)
                .map(|i| Histogram {
                    timestamp: i as i64,
                    schema: 3,
                    sum: 1.5,
                    positive_spans: vec![crate::prompb::BucketSpan {
                        offset: -1,
                        length: 2,
                    }],
                    positive_deltas: vec![4, -2],
                    count: Some(crate::prompb::histogram::Count::CountInt(2 + i as u64)),
                    ..Histogram::default()
                })
                .collect(),
        });
    (prop::collection::vec(series, 0..6), 0..2usize).prop_map(|(timeseries, md)| WriteRequest {
        timeseries,
        metadata: (0..md)
            .map(|_| MetricMetadata {
                metric_family_name: "m".into(),
                help: "h".into(),
                ..Default::default()
            })
            .collect(),
    })
}

proptest! {
    #[test]
    fn decodes_what_prost_encodes(req in request()) {
        let body = req.encode_to_vec();
        let got = decode(&body).expect("valid encoding decodes");
        // Proto3 does not encode zeros (so -0.0 comes back as 0.0): compare
        // with what prost itself decodes.
        let req = WriteRequest::decode(body.as_slice()).expect("prost decodes its own");
        prop_assert_eq!(view(&got), prost_view(&req));
        prop_assert_eq!(got.metadata, req.metadata);
        let ex: Vec<(usize, u64, i64)> = got
            .exemplars
            .iter()
            .map(|e| (e.labels.len(), e.value.to_bits(), e.timestamp))
            .collect();
        let want: Vec<(usize, u64, i64)> = req
            .timeseries
            .iter()
            .flat_map(|t| t.exemplars.iter())
            .map(|e| (e.labels.len(), e.value.to_bits(), e.timestamp))
            .collect();
        prop_assert_eq!(ex, want);
    }

    #[test]
    fn known_label_bytes_skip_decoding(req in request(), known_mask in any::<u64>()) {
        let body = req.encode_to_vec();
        let all = decode(&body).expect("valid encoding decodes");
        // Every series' raw label run decodes to its labels (prost writes
        // them first and together).
        for (i, s) in all.series.iter().enumerate() {
            let raw = &body[s.raw_labels.clone()];
            prop_assert_eq!(raw.is_empty(), s.labels.is_empty());
            let mut again = Vec::new();
            labels_of_run(&mut again, raw, s.raw_labels.start).expect("a run decodes");
            prop_assert_eq!(&again[..], &all.labels[s.labels.clone()], "series {}", i);
        }
        // Series whose label bytes the lookup knows keep its answer and
        // decode no labels; everything else is decoded as before.
        let raws: Vec<&[u8]> = all.series.iter().map(|s| &body[s.raw_labels.clone()]).collect();
        let got = decode_with(&body, |asked| {
            asked
                .iter()
                .map(|raw| {
                    let i = raws.iter().position(|r| r == raw)?;
                    (known_mask >> (i % 64) & 1 == 1).then_some(i)
                })
                .collect()
        })
        .expect("valid encoding decodes");
        prop_assert_eq!(got.series.len(), all.series.len());
        for (s, full) in got.series.iter().zip(&all.series) {
            let bits = |v: &[Sample]| -> Vec<(u64, i64)> {
                v.iter().map(|x| (x.value.to_bits(), x.timestamp)).collect()
            };
            prop_assert_eq!(
                bits(&got.samples[s.samples.clone()]),
                bits(&all.samples[full.samples.clone()])
            );
            prop_assert_eq!(s.raw_labels.clone(), full.raw_labels.clone());
            match s.known {
                Some(_) => prop_assert!(s.labels.is_empty()),
                None => prop_assert_eq!(
                    &got.labels[s.labels.clone()],
                    &all.labels[full.labels.clone()]
                ),
            }
        }
    }

    #[test]
    fn garbage_never_panics_and_agrees_with_prost(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let mine = decode(&body);
        let theirs = WriteRequest::decode(body.as_slice());
        if let (Ok(m), Ok(t)) = (&mine, &theirs) {
            prop_assert_eq!(view(m), prost_view(t));
        }
        if theirs.is_err() {
            prop_assert!(mine.is_err(), "prost rejects what we accept");
        }
    }
}

#[test]
fn labels_after_samples_are_not_a_cache_key() {
    // label, sample, label: the first run is not the whole label set.
    let label = |n: &str, v: &str| {
        Label {
            name: n.into(),
            value: v.into(),
        }
        .encode_to_vec()
    };
    let mut ts = Vec::new();
    for (field, msg) in [
        (1u8, label("__name__", "m")),
        (
            2,
            Sample {
                value: 1.0,
                timestamp: 5,
            }
            .encode_to_vec(),
        ),
        (1, label("a", "b")),
    ] {
        ts.push(field << 3 | 2);
        ts.push(msg.len() as u8);
        ts.extend(msg);
    }
    let mut body = vec![1 << 3 | 2, ts.len() as u8];
    body.extend(ts);
    // Even a lookup that knows every run gets the labels decoded.
    let got = decode_with(&body, |asked| vec![Some(()); asked.len()]).expect("valid");
    let s = &got.series[0];
    assert!(s.known.is_none());
    assert!(s.raw_labels.is_empty());
    assert_eq!(
        got.labels[s.labels.clone()],
        [("__name__", "m"), ("a", "b")]
    );
}

#[test]
fn damage_table() {
    let good = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![Label {
                name: "__name__".into(),
                value: "up".into(),
            }],
            samples: vec![Sample {
                value: 1.0,
                timestamp: 5,
            }],
            ..Default::default()
        }],
        metadata: vec![],
    }
    .encode_to_vec();
    let mut bad_utf8 = good.clone();
    if let Some(p) = bad_utf8.iter().position(|&b| b == b'u') {
        bad_utf8[p] = 0xff;
    }
    let cases: &[(&str, Vec<u8>, &str)] = &[
        ("truncated", good[..good.len() - 3].to_vec(), "past the end"),
        ("bad_utf8", bad_utf8, "UTF-8"),
        ("field_zero", vec![0x00], "invalid field number"),
        ("group_wire_type", vec![0x0b], "invalid wire type"),
        (
            "huge_length",
            vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
            "past the end",
        ),
        (
            "overlong_varint",
            vec![0x28; 1].into_iter().chain([0xff; 11]).collect(),
            "varint",
        ),
    ];
    for (name, body, want) in cases {
        let err = decode(body).expect_err(name);
        assert!(err.to_string().contains(want), "{name}: {err}");
    }
    assert_eq!(decode(&good).map(|r| r.samples.len()), Ok(1));
}
