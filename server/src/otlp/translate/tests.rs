use super::*;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, ResourceMetrics,
    ScopeMetrics, Sum, Summary, exponential_histogram_data_point::Buckets,
    summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..KeyValue::default()
    }
}

const T: u64 = 1_700_000_000_000_000_000;
const T_MS: i64 = 1_700_000_000_000;
const CUMULATIVE: i32 = AggregationTemporality::Cumulative as i32;
const DELTA: i32 = AggregationTemporality::Delta as i32;

fn num(v: f64, attrs: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: T - 60_000_000_000,
        time_unix_nano: T,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    }
}

fn request(metrics: Vec<Metric>, resource: Vec<KeyValue>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metric(name: &str, unit: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: "help".into(),
        data: Some(data),
        ..Default::default()
    }
}

const OPTS: Options<'static> = Options {
    strategy: TranslationStrategy::UnderscoreEscapingWithSuffixes,
    promote: &[],
    nhcb: false,
    target_info_interval: 150_000,
};

/// `{name="…",…} value` lines of every series, for compact expectations.
fn render(tr: &Translation) -> Vec<String> {
    tr.series
        .iter()
        .filter(|s| !s.labels.iter().any(|l| l.1 == "target_info"))
        .map(|s| {
            let l: Vec<String> = s.labels.iter().map(|(n, v)| format!("{n}={v}")).collect();
            format!("{{{}}} {}", l.join(","), s.samples[0].value)
        })
        .collect()
}

#[test]
fn metric_kinds_table() {
    let svc = || vec![kv("service.name", "api"), kv("service.namespace", "shop")];
    let cases: Vec<(&str, Data, Vec<&str>)> = vec![
        (
            "gauge",
            Data::Gauge(Gauge {
                data_points: vec![num(3.5, vec![kv("http.method", "GET")])],
            }),
            vec!["{__name__=m_seconds,http_method=GET,job=shop/api} 3.5"],
        ),
        (
            "counter",
            Data::Sum(Sum {
                data_points: vec![num(7.0, vec![])],
                aggregation_temporality: CUMULATIVE,
                is_monotonic: true,
            }),
            vec!["{__name__=m_seconds_total,job=shop/api} 7"],
        ),
        (
            "up-down counter",
            Data::Sum(Sum {
                data_points: vec![num(-2.0, vec![])],
                aggregation_temporality: CUMULATIVE,
                is_monotonic: false,
            }),
            vec!["{__name__=m_seconds,job=shop/api} -2"],
        ),
        (
            "histogram",
            Data::Histogram(Histogram {
                aggregation_temporality: CUMULATIVE,
                data_points: vec![HistogramDataPoint {
                    time_unix_nano: T,
                    count: 6,
                    sum: Some(9.5),
                    bucket_counts: vec![1, 2, 3],
                    explicit_bounds: vec![0.5, 1.0],
                    ..Default::default()
                }],
            }),
            vec![
                "{__name__=m_seconds_bucket,job=shop/api,le=0.5} 1",
                "{__name__=m_seconds_bucket,job=shop/api,le=1} 3",
                "{__name__=m_seconds_bucket,job=shop/api,le=+Inf} 6",
                "{__name__=m_seconds_sum,job=shop/api} 9.5",
                "{__name__=m_seconds_count,job=shop/api} 6",
            ],
        ),
        (
            "summary",
            Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    time_unix_nano: T,
                    count: 4,
                    sum: 2.0,
                    quantile_values: vec![ValueAtQuantile {
                        quantile: 0.99,
                        value: 1.5,
                    }],
                    ..Default::default()
                }],
            }),
            vec![
                "{__name__=m_seconds,job=shop/api,quantile=0.99} 1.5",
                "{__name__=m_seconds_sum,job=shop/api} 2",
                "{__name__=m_seconds_count,job=shop/api} 4",
            ],
        ),
    ];
    for (name, data, want) in cases {
        let tr = translate(&request(vec![metric("m", "s", data)], svc()), &OPTS);
        assert_eq!(render(&tr), want, "case {name}");
        assert_eq!(tr.rejected_points, 0, "case {name}");
        assert_eq!(tr.series[0].samples[0].timestamp, T_MS, "case {name}");
    }
}

#[test]
fn refusals_table() {
    let exp = ExponentialHistogramDataPoint {
        time_unix_nano: T,
        ..Default::default()
    };
    let cases: Vec<(&str, Data, &str)> = vec![
        (
            "delta sum",
            Data::Sum(Sum {
                data_points: vec![num(1.0, vec![])],
                aggregation_temporality: DELTA,
                is_monotonic: true,
            }),
            "metric \"m\": delta temporality is not supported",
        ),
        (
            "unspecified temporality",
            Data::Histogram(Histogram {
                data_points: vec![Default::default()],
                aggregation_temporality: 0,
            }),
            "temporality is unspecified",
        ),
        (
            "exponential histogram with a bad scale",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint { scale: -9, ..exp }],
                aggregation_temporality: DELTA,
            }),
            "scale -9",
        ),
    ];
    for (name, data, want) in cases {
        let tr = translate(&request(vec![metric("m", "", data)], vec![]), &OPTS);
        assert_eq!(tr.rejected_points, 1, "case {name}");
        assert!(tr.series.is_empty(), "case {name}");
        assert!(tr.errors[0].contains(want), "case {name}: {:?}", tr.errors);
    }
}

#[test]
fn native_histograms_become_series_of_the_metric_name() {
    let exp = Data::ExponentialHistogram(ExponentialHistogram {
        data_points: vec![ExponentialHistogramDataPoint {
            count: 3,
            sum: Some(6.0),
            scale: 10,
            time_unix_nano: 5_000_000_000,
            positive: Some(Buckets {
                offset: 0,
                bucket_counts: vec![1, 2],
            }),
            ..Default::default()
        }],
        aggregation_temporality: CUMULATIVE,
    });
    let tr = translate(&request(vec![metric("lat", "", exp)], vec![]), &OPTS);
    assert_eq!(tr.rejected_points, 0, "{:?}", tr.errors);
    let s = &tr.series[0];
    assert!(
        s.labels
            .contains(&("__name__".to_string(), "lat".to_string()))
    );
    assert!(s.samples.is_empty());
    let h = &s.histograms[0];
    // Scale 10 is reduced to schema 8: both buckets merge into one.
    assert_eq!((h.schema, h.timestamp, h.sum), (8, 5000, 6.0));
    assert_eq!(h.positive_deltas, vec![3]);
    // With NHCB conversion, explicit histograms become custom buckets.
    let explicit = Data::Histogram(Histogram {
        data_points: vec![HistogramDataPoint {
            count: 1,
            bucket_counts: vec![1, 0],
            explicit_bounds: vec![0.5],
            ..Default::default()
        }],
        aggregation_temporality: CUMULATIVE,
    });
    let opts = Options { nhcb: true, ..OPTS };
    let tr = translate(&request(vec![metric("m", "", explicit)], vec![]), &opts);
    assert_eq!(tr.rejected_points, 0, "{:?}", tr.errors);
    let h = &tr.series[0].histograms[0];
    assert_eq!((h.schema, h.custom_values.clone()), (-53, vec![0.5]));
}

#[test]
fn one_bad_point_leaves_the_rest() {
    let mut bad = num(0.0, vec![kv("k", "bad")]);
    bad.value = None;
    let g = Data::Gauge(Gauge {
        data_points: vec![num(1.0, vec![kv("k", "good")]), bad],
    });
    let tr = translate(&request(vec![metric("g", "", g)], vec![]), &OPTS);
    assert_eq!(render(&tr), vec!["{__name__=g,k=good} 1"]);
    assert_eq!(tr.rejected_points, 1);
    assert!(tr.errors[0].contains("without a value"), "{:?}", tr.errors);
}

#[test]
fn resource_labels_target_info_and_promotion() {
    let res = vec![
        kv("service.name", "api"),
        kv("service.instance.id", "i-1"),
        kv("host.name", "h1"),
        kv("cloud.region", "eu"),
    ];
    let promote = vec!["cloud.region".to_string()];
    let opts = Options {
        promote: &promote,
        ..OPTS
    };
    let mut p1 = num(1.0, vec![kv("a.b", "x"), kv("a_b", "y")]);
    p1.time_unix_nano = T - 400_000_000_000;
    let g = Data::Gauge(Gauge {
        data_points: vec![p1, num(2.0, vec![])],
    });
    let tr = translate(&request(vec![metric("g", "", g)], res), &opts);
    assert_eq!(
        render(&tr),
        vec![
            "{__name__=g,a_b=x;y,cloud_region=eu,instance=i-1,job=api} 1",
            "{__name__=g,cloud_region=eu,instance=i-1,job=api} 2",
        ]
    );
    let ti = tr.series.last().unwrap();
    let labels: Vec<String> = ti.labels.iter().map(|(n, v)| format!("{n}={v}")).collect();
    assert_eq!(
        labels,
        [
            "__name__=target_info",
            "cloud_region=eu",
            "host_name=h1",
            "instance=i-1",
            "job=api"
        ]
    );
    let times: Vec<i64> = ti.samples.iter().map(|s| s.timestamp).collect();
    let first = T_MS - 400_000;
    assert_eq!(times, [first, first + 150_000, first + 300_000, T_MS]);
    assert!(tr.metadata.iter().any(|m| m.name == "target_info"));
}

#[test]
fn start_times_exemplars_and_staleness() {
    let mut p = num(5.0, vec![]);
    p.exemplars = vec![OtlpExemplar {
        time_unix_nano: T,
        trace_id: vec![0xab; 16],
        span_id: vec![0x01; 8],
        value: Some(exemplar::Value::AsInt(3)),
        ..Default::default()
    }];
    let mut stale = num(0.0, vec![kv("s", "1")]);
    stale.flags = DataPointFlags::NoRecordedValueMask as u32;
    let c = Data::Sum(Sum {
        data_points: vec![p, stale],
        aggregation_temporality: CUMULATIVE,
        is_monotonic: true,
    });
    let tr = translate(&request(vec![metric("c", "", c)], vec![]), &OPTS);
    assert_eq!(tr.series[0].start_ms, T_MS - 60_000);
    let e = &tr.series[0].exemplars[0];
    assert_eq!((e.t, e.v), (T_MS, 3.0));
    assert_eq!(e.labels.get("span_id"), "0101010101010101");
    assert!(tsdb::model::is_stale_nan(tr.series[1].samples[0].value));
    let md = &tr.metadata[0];
    assert_eq!(
        (md.name.as_str(), md.kind, md.help.as_str()),
        ("c_total", MetricType::Counter, "help")
    );
}

#[test]
fn attribute_values_as_strings() {
    use any_value::Value as V;
    let cases: Vec<(&str, V, &str)> = vec![
        ("bool", V::BoolValue(true), "true"),
        ("int", V::IntValue(-3), "-3"),
        ("double", V::DoubleValue(0.25), "0.25"),
        ("bytes", V::BytesValue(b"hi!?".to_vec()), "aGkhPw=="),
        (
            "array",
            V::ArrayValue(opentelemetry_proto::tonic::common::v1::ArrayValue {
                values: vec![AnyValue {
                    value: Some(V::StringValue("a".into())),
                }],
            }),
            "[\"a\"]",
        ),
    ];
    for (name, v, want) in cases {
        assert_eq!(
            value_string(Some(&AnyValue { value: Some(v) })),
            want,
            "case {name}"
        );
    }
    assert_eq!(format_float(1e21), "1000000000000000000000");
}
