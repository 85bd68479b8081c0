//! OTLP/JSON metrics requests into the protobuf message types, by the
//! rules of [`super::jsonpb`].

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use serde_json::Value;

use super::jsonpb::{
    Obj, Res, boolean, child, double, doubles, enumeration, field, hex, int_field, integer,
    integers, key_value, list, object, opt_double, resource, scope, string,
};

/// Decodes an OTLP/JSON `ExportMetricsServiceRequest`.
pub fn decode(body: &[u8]) -> Res<ExportMetricsServiceRequest> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let o = object(&v, "request")?;
    Ok(ExportMetricsServiceRequest {
        resource_metrics: list(o, "resourceMetrics", resource_metrics)?,
    })
}

fn resource_metrics(o: &Obj) -> Res<ResourceMetrics> {
    Ok(ResourceMetrics {
        resource: child(o, "resource", resource)?,
        scope_metrics: list(o, "scopeMetrics", scope_metrics)?,
        schema_url: string(o, "schemaUrl")?,
    })
}

fn scope_metrics(o: &Obj) -> Res<ScopeMetrics> {
    Ok(ScopeMetrics {
        scope: child(o, "scope", scope)?,
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
