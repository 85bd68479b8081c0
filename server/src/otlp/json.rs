//! OTLP/JSON metrics requests into the protobuf message types, following
//! the OTLP spec's JSON rules: field names in lowerCamelCase (the proto
//! names are accepted too), unknown fields ignored, 64-bit integers as
//! strings or numbers, enums as numbers or names, trace and span ids as
//! hex, doubles as numbers or `"NaN"`/`"Infinity"`/`"-Infinity"`.
//!
//! `bytesValue` attributes keep their base64 text as a string value: that
//! text is what Prometheus puts in the label anyway.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{Map, Value};

type Obj = Map<String, Value>;
type Res<T> = Result<T, String>;

/// Decodes an OTLP/JSON `ExportMetricsServiceRequest`.
pub fn decode(body: &[u8]) -> Res<ExportMetricsServiceRequest> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let o = object(&v, "request")?;
    Ok(ExportMetricsServiceRequest {
        resource_metrics: list(o, "resourceMetrics", resource_metrics)?,
    })
}

/// The field by its JSON name or its proto name; `None` when null.
fn field<'a>(o: &'a Obj, camel: &str) -> Option<&'a Value> {
    let v = o.get(camel).or_else(|| {
        let mut snake = String::with_capacity(camel.len() + 4);
        for c in camel.chars() {
            if c.is_ascii_uppercase() {
                snake.push('_');
                snake.push(c.to_ascii_lowercase());
            } else {
                snake.push(c);
            }
        }
        o.get(&snake)
    })?;
    (!v.is_null()).then_some(v)
}

fn object<'a>(v: &'a Value, what: &str) -> Res<&'a Obj> {
    v.as_object()
        .ok_or_else(|| format!("{what}: expected an object, got {v}"))
}

fn list<T>(o: &Obj, name: &str, each: impl Fn(&Obj) -> Res<T>) -> Res<Vec<T>> {
    match field(o, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|i| each(object(i, name)?)).collect(),
        Some(v) => Err(format!("{name}: expected an array, got {v}")),
    }
}

fn child<T>(o: &Obj, name: &str, f: impl Fn(&Obj) -> Res<T>) -> Res<Option<T>> {
    field(o, name).map(|v| f(object(v, name)?)).transpose()
}

fn string(o: &Obj, name: &str) -> Res<String> {
    match field(o, name) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(format!("{name}: expected a string, got {v}")),
    }
}

fn boolean(o: &Obj, name: &str) -> Res<bool> {
    match field(o, name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(format!("{name}: expected a boolean, got {v}")),
    }
}

/// An integer field: a JSON number or a decimal string.
fn integer<T: TryFrom<i128>>(v: &Value, name: &str) -> Res<T> {
    let n: Option<i128> = match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| format!("{name}: expected an integer, got {v}"))
}

fn int_field<T: TryFrom<i128> + Default>(o: &Obj, name: &str) -> Res<T> {
    field(o, name).map_or(Ok(T::default()), |v| integer(v, name))
}

fn double(v: &Value, name: &str) -> Res<f64> {
    let d = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            s => s.parse().ok(),
        },
        _ => None,
    };
    d.ok_or_else(|| format!("{name}: expected a number, got {v}"))
}

fn opt_double(o: &Obj, name: &str) -> Res<Option<f64>> {
    field(o, name).map(|v| double(v, name)).transpose()
}

fn doubles(o: &Obj, name: &str) -> Res<Vec<f64>> {
    match field(o, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(|v| double(v, name)).collect(),
        Some(v) => Err(format!("{name}: expected an array, got {v}")),
    }
}

fn integers<T: TryFrom<i128>>(o: &Obj, name: &str) -> Res<Vec<T>> {
    match field(o, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(|v| integer(v, name)).collect(),
        Some(v) => Err(format!("{name}: expected an array, got {v}")),
    }
}

/// An enum as its number or its name (`AGGREGATION_TEMPORALITY_DELTA`).
fn enumeration(o: &Obj, name: &str, names: &[&str]) -> Res<i32> {
    match field(o, name) {
        None => Ok(0),
        Some(Value::String(s)) if !s.starts_with(|c: char| c.is_ascii_digit()) => names
            .iter()
            .position(|n| n == s)
            .map(|i| i as i32)
            .ok_or_else(|| format!("{name}: unknown value {s:?}")),
        Some(v) => integer(v, name),
    }
}

fn hex(o: &Obj, name: &str) -> Res<Vec<u8>> {
    let s = string(o, name)?;
    if s.len() % 2 != 0 {
        return Err(format!("{name}: odd-length hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| format!("{name}: invalid hex {s:?}"))
        })
        .collect()
}

fn resource_metrics(o: &Obj) -> Res<ResourceMetrics> {
    Ok(ResourceMetrics {
        resource: child(o, "resource", |r| {
            Ok(Resource {
                attributes: list(r, "attributes", key_value)?,
                dropped_attributes_count: int_field(r, "droppedAttributesCount")?,
                entity_refs: Vec::new(),
            })
        })?,
        scope_metrics: list(o, "scopeMetrics", scope_metrics)?,
        schema_url: string(o, "schemaUrl")?,
    })
}

fn scope_metrics(o: &Obj) -> Res<ScopeMetrics> {
    Ok(ScopeMetrics {
        scope: child(o, "scope", |s| {
            Ok(InstrumentationScope {
                name: string(s, "name")?,
                version: string(s, "version")?,
                attributes: list(s, "attributes", key_value)?,
                dropped_attributes_count: int_field(s, "droppedAttributesCount")?,
            })
        })?,
        metrics: list(o, "metrics", metric)?,
        schema_url: string(o, "schemaUrl")?,
    })
}

const TEMPORALITY: &[&str] = &[
    "AGGREGATION_TEMPORALITY_UNSPECIFIED",
    "AGGREGATION_TEMPORALITY_DELTA",
    "AGGREGATION_TEMPORALITY_CUMULATIVE",
];

fn metric(o: &Obj) -> Res<Metric> {
    use metric::Data;
    let temporality = |d: &Obj| enumeration(d, "aggregationTemporality", TEMPORALITY);
    let data = if let Some(d) = child(o, "gauge", |d| {
        Ok(Gauge {
            data_points: list(d, "dataPoints", number_point)?,
        })
    })? {
        Some(Data::Gauge(d))
    } else if let Some(d) = child(o, "sum", |d| {
        Ok(Sum {
            data_points: list(d, "dataPoints", number_point)?,
            aggregation_temporality: temporality(d)?,
            is_monotonic: boolean(d, "isMonotonic")?,
        })
    })? {
        Some(Data::Sum(d))
    } else if let Some(d) = child(o, "histogram", |d| {
        Ok(Histogram {
            data_points: list(d, "dataPoints", histogram_point)?,
            aggregation_temporality: temporality(d)?,
        })
    })? {
        Some(Data::Histogram(d))
    } else if let Some(d) = child(o, "exponentialHistogram", |d| {
        Ok(ExponentialHistogram {
            data_points: list(d, "dataPoints", exponential_point)?,
            aggregation_temporality: temporality(d)?,
        })
    })? {
        Some(Data::ExponentialHistogram(d))
    } else {
        child(o, "summary", |d| {
            Ok(Summary {
                data_points: list(d, "dataPoints", summary_point)?,
            })
        })?
        .map(Data::Summary)
    };
    Ok(Metric {
        name: string(o, "name")?,
        description: string(o, "description")?,
        unit: string(o, "unit")?,
        metadata: list(o, "metadata", key_value)?,
        data,
    })
}

fn number_point(o: &Obj) -> Res<NumberDataPoint> {
    use number_data_point::Value as V;
    let value = number(o)?.map(|n| n.map_or_else(V::AsInt, V::AsDouble));
    Ok(NumberDataPoint {
        attributes: list(o, "attributes", key_value)?,
        start_time_unix_nano: int_field(o, "startTimeUnixNano")?,
        time_unix_nano: int_field(o, "timeUnixNano")?,
        exemplars: list(o, "exemplars", exemplar)?,
        flags: int_field(o, "flags")?,
        value,
    })
}

/// `asDouble` (as `Ok`) or `asInt` (as `Err`), of a point or an exemplar.
fn number(o: &Obj) -> Res<Option<Result<f64, i64>>> {
    match (field(o, "asDouble"), field(o, "asInt")) {
        (Some(d), _) => Ok(Some(Ok(double(d, "asDouble")?))),
        (None, Some(i)) => Ok(Some(Err(integer(i, "asInt")?))),
        (None, None) => Ok(None),
    }
}

fn histogram_point(o: &Obj) -> Res<HistogramDataPoint> {
    Ok(HistogramDataPoint {
        attributes: list(o, "attributes", key_value)?,
        start_time_unix_nano: int_field(o, "startTimeUnixNano")?,
        time_unix_nano: int_field(o, "timeUnixNano")?,
        count: int_field(o, "count")?,
        sum: opt_double(o, "sum")?,
        bucket_counts: integers(o, "bucketCounts")?,
        explicit_bounds: doubles(o, "explicitBounds")?,
        exemplars: list(o, "exemplars", exemplar)?,
        flags: int_field(o, "flags")?,
        min: opt_double(o, "min")?,
        max: opt_double(o, "max")?,
    })
}

fn buckets(o: &Obj) -> Res<Buckets> {
    Ok(Buckets {
        offset: int_field(o, "offset")?,
        bucket_counts: integers(o, "bucketCounts")?,
    })
}

fn exponential_point(o: &Obj) -> Res<ExponentialHistogramDataPoint> {
    Ok(ExponentialHistogramDataPoint {
        attributes: list(o, "attributes", key_value)?,
        start_time_unix_nano: int_field(o, "startTimeUnixNano")?,
        time_unix_nano: int_field(o, "timeUnixNano")?,
        count: int_field(o, "count")?,
        sum: opt_double(o, "sum")?,
        scale: int_field(o, "scale")?,
        zero_count: int_field(o, "zeroCount")?,
        positive: child(o, "positive", buckets)?,
        negative: child(o, "negative", buckets)?,
        flags: int_field(o, "flags")?,
        exemplars: list(o, "exemplars", exemplar)?,
        min: opt_double(o, "min")?,
        max: opt_double(o, "max")?,
        zero_threshold: opt_double(o, "zeroThreshold")?.unwrap_or(0.0),
    })
}

fn summary_point(o: &Obj) -> Res<SummaryDataPoint> {
    Ok(SummaryDataPoint {
        attributes: list(o, "attributes", key_value)?,
        start_time_unix_nano: int_field(o, "startTimeUnixNano")?,
        time_unix_nano: int_field(o, "timeUnixNano")?,
        count: int_field(o, "count")?,
        sum: opt_double(o, "sum")?.unwrap_or(0.0),
        quantile_values: list(o, "quantileValues", |q| {
            Ok(ValueAtQuantile {
                quantile: opt_double(q, "quantile")?.unwrap_or(0.0),
                value: opt_double(q, "value")?.unwrap_or(0.0),
            })
        })?,
        flags: int_field(o, "flags")?,
    })
}

fn exemplar(o: &Obj) -> Res<Exemplar> {
    use exemplar::Value as V;
    let value = number(o)?.map(|n| n.map_or_else(V::AsInt, V::AsDouble));
    Ok(Exemplar {
        filtered_attributes: list(o, "filteredAttributes", key_value)?,
        time_unix_nano: int_field(o, "timeUnixNano")?,
        span_id: hex(o, "spanId")?,
        trace_id: hex(o, "traceId")?,
        value,
    })
}

fn key_value(o: &Obj) -> Res<KeyValue> {
    Ok(KeyValue {
        key: string(o, "key")?,
        value: child(o, "value", any_value)?,
        ..KeyValue::default()
    })
}

fn any_value(o: &Obj) -> Res<AnyValue> {
    use any_value::Value as V;
    let value = if let Some(v) = field(o, "stringValue") {
        Some(V::StringValue(
            v.as_str()
                .ok_or_else(|| format!("stringValue: expected a string, got {v}"))?
                .to_string(),
        ))
    } else if field(o, "boolValue").is_some() {
        Some(V::BoolValue(boolean(o, "boolValue")?))
    } else if let Some(v) = field(o, "intValue") {
        Some(V::IntValue(integer(v, "intValue")?))
    } else if let Some(v) = field(o, "doubleValue") {
        Some(V::DoubleValue(double(v, "doubleValue")?))
    } else if let Some(a) = child(o, "arrayValue", |a| {
        Ok(ArrayValue {
            values: list(a, "values", any_value)?,
        })
    })? {
        Some(V::ArrayValue(a))
    } else if let Some(kv) = child(o, "kvlistValue", |l| {
        Ok(KeyValueList {
            values: list(l, "values", key_value)?,
        })
    })? {
        Some(V::KvlistValue(kv))
    } else if field(o, "bytesValue").is_some() {
        Some(V::StringValue(string(o, "bytesValue")?))
    } else {
        None
    };
    Ok(AnyValue { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quirks_table() {
        let body = br#"{"resourceMetrics":[{"resource":{"attributes":[
            {"key":"service.name","value":{"stringValue":"svc"}},
            {"key":"n","value":{"intValue":"7"}}]},
          "futureField":{"x":1},
          "scopeMetrics":[{"scope":{"name":"s"},"metrics":[
            {"name":"c","unit":"1","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","isMonotonic":true,
              "dataPoints":[{"timeUnixNano":"1700000000000000000","start_time_unix_nano":1600000000000000000,"asInt":"5",
                "exemplars":[{"timeUnixNano":"1","asDouble":"NaN","traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":"b7ad6b7169203331"}]}]}},
            {"name":"g","gauge":{"dataPoints":[{"asDouble":"-Infinity","unknown":true}]}},
            {"name":"h","histogram":{"aggregationTemporality":1,"dataPoints":[{"count":3,"sum":1.5,"bucketCounts":["1",2],"explicitBounds":[1]}]}}
          ]}]}]}"#;
        let req = decode(body).unwrap();
        let rm = &req.resource_metrics[0];
        let attrs = &rm.resource.as_ref().unwrap().attributes;
        assert_eq!(
            attrs[1].value,
            Some(AnyValue {
                value: Some(any_value::Value::IntValue(7))
            })
        );
        let metrics = &rm.scope_metrics[0].metrics;
        let Some(metric::Data::Sum(sum)) = &metrics[0].data else {
            panic!("not a sum")
        };
        assert_eq!(sum.aggregation_temporality, 2, "enum by name");
        assert!(sum.is_monotonic);
        let p = &sum.data_points[0];
        assert_eq!(
            p.time_unix_nano, 1_700_000_000_000_000_000,
            "int64 as string"
        );
        assert_eq!(
            p.start_time_unix_nano, 1_600_000_000_000_000_000,
            "proto name, number"
        );
        assert_eq!(p.value, Some(number_data_point::Value::AsInt(5)));
        let e = &p.exemplars[0];
        assert_eq!(e.trace_id.len(), 16, "hex trace id, upper case");
        assert_eq!(
            e.span_id,
            vec![0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31]
        );
        let Some(metric::Data::Gauge(g)) = &metrics[1].data else {
            panic!("not a gauge")
        };
        assert_eq!(
            g.data_points[0].value,
            Some(number_data_point::Value::AsDouble(f64::NEG_INFINITY))
        );
        let Some(metric::Data::Histogram(h)) = &metrics[2].data else {
            panic!("not a histogram")
        };
        assert_eq!(h.aggregation_temporality, 1, "enum by number");
        assert_eq!(h.data_points[0].bucket_counts, vec![1, 2]);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("not json", b"\x0a\x02hi", "invalid JSON"),
            ("not an object", b"[1]", "request"),
            ("list is a number", br#"{"resourceMetrics":3}"#, "resourceMetrics"),
            ("bad int", br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[{"timeUnixNano":"soon"}]}}]}]}]}"#, "timeUnixNano"),
            ("bad enum", br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"sum":{"aggregationTemporality":"SOMETIMES"}}]}]}]}"#, "aggregationTemporality"),
            ("bad hex", br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[{"exemplars":[{"spanId":"zz"}]}]}}]}]}]}"#, "spanId"),
        ];
        for (name, body, want) in cases {
            let err = decode(body).unwrap_err();
            assert!(err.contains(want), "{name}: {err}");
        }
        assert_eq!(
            decode(b"{}").unwrap(),
            ExportMetricsServiceRequest::default()
        );
    }
}
