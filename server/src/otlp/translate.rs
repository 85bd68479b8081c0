//! OTLP metrics into Prometheus series, as Prometheus 3.x translates them:
//! - gauges and non-monotonic sums → gauges; cumulative monotonic sums →
//!   counters (`_total`);
//! - explicit-bucket histograms → `_bucket{le}` (cumulative, with `+Inf`),
//!   `_sum` (when sent) and `_count`; summaries → `{quantile}` series,
//!   `_sum` and `_count`;
//! - labels: the point's attributes (keys that escape to the same name
//!   have their values joined with `;` in key order), then promoted
//!   resource attributes the point does not set, then `job` (from
//!   `service.namespace`/`service.name`) and `instance` (from
//!   `service.instance.id`);
//! - `target_info{job, instance, <other resource attributes>} 1` from the
//!   first to the last timestamp of its resource, a sample every
//!   `target_info_interval`;
//! - a point flagged "no recorded value" is a stale marker; the start time
//!   of a cumulative point is its samples' start timestamp; exemplars of
//!   sums and histogram buckets are kept with `trace_id`/`span_id` labels.
//!
//! Delta temporality is refused with the metric's name; exponential
//! histograms (and explicit ones with `convert_histograms_to_nhcb`) become
//! native histograms (integer counts; scales above 8 reduced, below −4
//! refused). Every refused point is counted.

use super::jsonpb::base64_encode as base64;
use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, DataPointFlags, Exemplar as OtlpExemplar, HistogramDataPoint, Metric,
    NumberDataPoint, SummaryDataPoint, exemplar, metric::Data, number_data_point,
};
use tsdb::exemplars::Exemplar;
use tsdb::model::{Labels, METRIC_NAME, STALE_NAN};

use super::names::{Kind, label_name, metric_name, unit_name};
use super::native;
use crate::config::TranslationStrategy;
use crate::prompb::{MetricType, Sample};

/// Settings of one translation.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub strategy: TranslationStrategy,
    pub promote: &'a [String],
    pub nhcb: bool,
    /// Spacing of `target_info` samples, ms (half the lookback delta).
    pub target_info_interval: i64,
}

/// One series to store.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesOut {
    /// Sorted by name, `__name__` included.
    pub labels: Vec<(String, String)>,
    pub samples: Vec<Sample>,
    /// Native histogram samples, in the remote-write form.
    pub histograms: Vec<crate::prompb::Histogram>,
    /// Start timestamp of every sample, ms; 0 = none.
    pub start_ms: i64,
    pub exemplars: Vec<Exemplar>,
}

/// Metadata of one metric family.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataOut {
    pub name: String,
    pub kind: MetricType,
    pub help: String,
    pub unit: String,
}

/// What a request becomes.
#[derive(Debug, Default)]
pub struct Translation {
    pub series: Vec<SeriesOut>,
    pub metadata: Vec<MetadataOut>,
    /// Data points refused, with the first few distinct reasons.
    pub rejected_points: u64,
    pub errors: Vec<String>,
}

/// At most this many distinct reasons are reported.
const MAX_ERRORS: usize = 8;

impl Translation {
    fn reject(&mut self, points: usize, msg: String) {
        if points == 0 {
            return;
        }
        self.rejected_points += points as u64;
        if self.errors.len() < MAX_ERRORS && !self.errors.contains(&msg) {
            self.errors.push(msg);
        }
    }
}

/// Translates a whole request.
pub fn translate(req: &ExportMetricsServiceRequest, opts: &Options<'_>) -> Translation {
    let mut out = Translation::default();
    for rm in &req.resource_metrics {
        let attrs = rm.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
        let res = ResourceLabels::new(attrs, opts);
        let first_series = out.series.len();
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                metric(m, &res, opts, &mut out);
            }
        }
        let times = out.series[first_series..]
            .iter()
            .flat_map(|s| s.samples.iter().map(|x| x.timestamp));
        let (lo, hi) = times.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
        if lo <= hi
            && let Some(ti) = res.target_info(attrs, opts, lo, hi)
        {
            out.series.push(ti);
            out.metadata.push(MetadataOut {
                name: "target_info".into(),
                kind: MetricType::Gauge,
                help: "Target metadata".into(),
                unit: String::new(),
            });
        }
    }
    out
}

/// Labels every series of a resource gets.
struct ResourceLabels {
    promoted: Vec<(String, String)>,
    job: Option<String>,
    instance: Option<String>,
}

const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE: &str = "service.instance.id";

impl ResourceLabels {
    fn new(attrs: &[KeyValue], opts: &Options<'_>) -> ResourceLabels {
        let get = |k: &str| {
            attrs
                .iter()
                .find(|a| a.key == k)
                .map(|a| value_string(a.value.as_ref()))
        };
        let job = get(SERVICE_NAME).map(|name| match get(SERVICE_NAMESPACE) {
            Some(ns) => format!("{ns}/{name}"),
            None => name,
        });
        let chosen: Vec<KeyValue> = attrs
            .iter()
            .filter(|a| opts.promote.contains(&a.key))
            .cloned()
            .collect();
        ResourceLabels {
            promoted: escaped(&chosen, opts.strategy).into_iter().collect(),
            job,
            instance: get(SERVICE_INSTANCE),
        }
    }

    /// The labels of a point: `attrs`, promoted ones, job/instance, then
    /// `extra` (`__name__`, `le`, `quantile`).
    fn labels(
        &self,
        attrs: &[KeyValue],
        strategy: TranslationStrategy,
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let mut m = escaped(attrs, strategy);
        for (k, v) in &self.promoted {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if let Some(j) = &self.job {
            m.insert("job".into(), j.clone());
        }
        if let Some(i) = &self.instance {
            m.insert("instance".into(), i.clone());
        }
        for (k, v) in extra {
            m.insert((*k).into(), (*v).into());
        }
        m.into_iter().collect()
    }

    /// `target_info` for a resource with attributes beyond the service
    /// ones and with a job or an instance.
    fn target_info(
        &self,
        attrs: &[KeyValue],
        opts: &Options<'_>,
        first: i64,
        last: i64,
    ) -> Option<SeriesOut> {
        let rest: Vec<KeyValue> = attrs
            .iter()
            .filter(|a| {
                ![SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_INSTANCE].contains(&a.key.as_str())
            })
            .cloned()
            .collect();
        if rest.is_empty() || (self.job.is_none() && self.instance.is_none()) {
            return None;
        }
        let bare = ResourceLabels {
            promoted: Vec::new(),
            job: self.job.clone(),
            instance: self.instance.clone(),
        };
        let labels = bare.labels(&rest, opts.strategy, &[(METRIC_NAME, "target_info")]);
        let step = opts.target_info_interval.max(1);
        let mut samples: Vec<Sample> = std::iter::successors(Some(first), |t| Some(t + step))
            .take_while(|t| *t < last)
            .map(|t| Sample {
                value: 1.0,
                timestamp: t,
            })
            .collect();
        samples.push(Sample {
            value: 1.0,
            timestamp: last,
        });
        Some(SeriesOut {
            labels,
            samples,
            histograms: Vec::new(),
            start_ms: 0,
            exemplars: Vec::new(),
        })
    }
}

/// Attributes as label pairs; keys that escape alike join their values.
fn escaped(attrs: &[KeyValue], strategy: TranslationStrategy) -> BTreeMap<String, String> {
    let mut sorted: Vec<&KeyValue> = attrs.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut m: BTreeMap<String, String> = BTreeMap::new();
    for kv in sorted {
        let Some(name) = label_name(&kv.key, strategy) else {
            continue;
        };
        let v = value_string(kv.value.as_ref());
        m.entry(name)
            .and_modify(|old| {
                old.push(';');
                old.push_str(&v);
            })
            .or_insert(v);
    }
    m
}

/// An attribute value as a label value (as OpenTelemetry's `AsString`).
fn value_string(v: Option<&AnyValue>) -> String {
    use any_value::Value as V;
    match v.and_then(|v| v.value.as_ref()) {
        None | Some(V::StringValueStrindex(_)) => String::new(),
        Some(V::StringValue(s)) => s.clone(),
        Some(V::BoolValue(b)) => b.to_string(),
        Some(V::IntValue(i)) => i.to_string(),
        Some(V::DoubleValue(d)) => format_float(*d),
        Some(V::BytesValue(b)) => base64(b),
        Some(other) => json_value(Some(other)).to_string(),
    }
}

fn json_value(v: Option<&any_value::Value>) -> serde_json::Value {
    use any_value::Value as V;
    use serde_json::Value as J;
    match v {
        None | Some(V::StringValueStrindex(_)) => J::Null,
        Some(V::StringValue(s)) => J::String(s.clone()),
        Some(V::BoolValue(b)) => J::Bool(*b),
        Some(V::IntValue(i)) => J::from(*i),
        Some(V::DoubleValue(d)) => {
            serde_json::Number::from_f64(*d).map_or_else(|| J::String(format_float(*d)), J::Number)
        }
        Some(V::BytesValue(b)) => J::String(base64(b)),
        Some(V::ArrayValue(a)) => J::Array(
            a.values
                .iter()
                .map(|x| json_value(x.value.as_ref()))
                .collect(),
        ),
        Some(V::KvlistValue(l)) => J::Object(
            l.values
                .iter()
                .map(|kv| {
                    let v = kv.value.as_ref().and_then(|v| v.value.as_ref());
                    (kv.key.clone(), json_value(v))
                })
                .collect(),
        ),
    }
}

/// A float as Prometheus writes `le` and `quantile` values.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        f.to_string()
    }
}

fn ms(ns: u64) -> i64 {
    (ns / 1_000_000) as i64
}

fn no_value(flags: u32) -> bool {
    flags & DataPointFlags::NoRecordedValueMask as u32 != 0
}

fn exemplar(e: &OtlpExemplar, strategy: TranslationStrategy) -> Exemplar {
    let mut m = escaped(&e.filtered_attributes, strategy);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    if !e.trace_id.is_empty() {
        m.insert("trace_id".into(), hex(&e.trace_id));
    }
    if !e.span_id.is_empty() {
        m.insert("span_id".into(), hex(&e.span_id));
    }
    let pairs: Vec<(String, String)> = m.into_iter().collect();
    Exemplar {
        labels: Labels::from_pairs(&pairs),
        t: ms(e.time_unix_nano),
        v: match e.value {
            Some(exemplar::Value::AsDouble(d)) => d,
            Some(exemplar::Value::AsInt(i)) => i as f64,
            None => 0.0,
        },
    }
}

fn temporality_refusal(name: &str, t: i32) -> Option<String> {
    if t == AggregationTemporality::Cumulative as i32 {
        None
    } else if t == AggregationTemporality::Delta as i32 {
        Some(format!(
            "metric {name:?}: delta temporality is not supported; send cumulative data"
        ))
    } else {
        Some(format!(
            "metric {name:?}: aggregation temporality is unspecified"
        ))
    }
}

fn metric(m: &Metric, res: &ResourceLabels, opts: &Options<'_>, out: &mut Translation) {
    let Some(data) = &m.data else {
        return;
    };
    let (kind, points) = match data {
        Data::Gauge(g) => (Kind::Gauge, g.data_points.len()),
        Data::Sum(s) if s.is_monotonic => (Kind::Counter, s.data_points.len()),
        Data::Sum(s) => (Kind::UpDownCounter, s.data_points.len()),
        Data::Histogram(h) => (Kind::Histogram, h.data_points.len()),
        Data::ExponentialHistogram(h) => (Kind::ExponentialHistogram, h.data_points.len()),
        Data::Summary(s) => (Kind::Summary, s.data_points.len()),
    };
    let temporality = match data {
        Data::Sum(s) => Some(s.aggregation_temporality),
        Data::Histogram(h) => Some(h.aggregation_temporality),
        Data::ExponentialHistogram(h) => Some(h.aggregation_temporality),
        Data::Gauge(_) | Data::Summary(_) => None,
    };
    let delta_allowed = kind == Kind::ExponentialHistogram;
    if let Some(t) = temporality
        && let Some(why) = temporality_refusal(&m.name, t)
        && !(delta_allowed && t == AggregationTemporality::Delta as i32)
    {
        out.reject(points, why);
        return;
    }
    let name = metric_name(&m.name, &m.unit, kind, opts.strategy);
    if name.is_empty() {
        out.reject(points, format!("metric {:?}: empty name", m.name));
        return;
    }
    let native = kind == Kind::ExponentialHistogram || (kind == Kind::Histogram && opts.nhcb);
    if !native {
        out.metadata.push(MetadataOut {
            name: name.clone(),
            kind: match kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge | Kind::UpDownCounter => MetricType::Gauge,
                Kind::Histogram | Kind::ExponentialHistogram => MetricType::Histogram,
                Kind::Summary => MetricType::Summary,
            },
            help: m.description.clone(),
            unit: unit_name(&m.unit),
        });
    }
    let cx = Cx {
        name: &name,
        res,
        opts,
    };
    match data {
        Data::Gauge(g) => g.data_points.iter().for_each(|p| cx.number(p, false, out)),
        Data::Sum(s) => s.data_points.iter().for_each(|p| cx.number(p, true, out)),
        Data::Histogram(h) if opts.nhcb => {
            for p in &h.data_points {
                match native::custom_buckets(p, h.aggregation_temporality) {
                    Ok(n) => cx.native(&p.attributes, ms(p.time_unix_nano), &n, out),
                    Err(why) => out.reject(1, format!("metric {:?}: {why}", m.name)),
                }
            }
        }
        Data::Histogram(h) => h.data_points.iter().for_each(|p| cx.histogram(p, out)),
        Data::ExponentialHistogram(h) => {
            for p in &h.data_points {
                match native::exponential(p, h.aggregation_temporality) {
                    Ok(n) => cx.native(&p.attributes, ms(p.time_unix_nano), &n, out),
                    Err(why) => out.reject(1, format!("metric {:?}: {why}", m.name)),
                }
            }
        }
        Data::Summary(s) => s.data_points.iter().for_each(|p| cx.summary(p, out)),
    }
}

/// What the points of one metric share.
struct Cx<'a> {
    name: &'a str,
    res: &'a ResourceLabels,
    opts: &'a Options<'a>,
}

impl Cx<'_> {
    fn series(
        &self,
        attrs: &[KeyValue],
        extra: &[(&str, &str)],
        t: i64,
        v: f64,
        start_ms: i64,
        exemplars: Vec<Exemplar>,
    ) -> SeriesOut {
        SeriesOut {
            labels: self.res.labels(attrs, self.opts.strategy, extra),
            samples: vec![Sample {
                value: v,
                timestamp: t,
            }],
            histograms: Vec::new(),
            start_ms,
            exemplars,
        }
    }

    /// One native histogram point as a series of the metric's name.
    fn native(
        &self,
        attrs: &[KeyValue],
        t: i64,
        h: &tsdb::model::histogram::Histogram,
        out: &mut Translation,
    ) {
        out.series.push(SeriesOut {
            labels: self
                .res
                .labels(attrs, self.opts.strategy, &[(METRIC_NAME, self.name)]),
            samples: Vec::new(),
            histograms: vec![crate::prompb::Histogram::from_int(h, t)],
            start_ms: 0,
            exemplars: Vec::new(),
        });
    }

    fn number(&self, p: &NumberDataPoint, cumulative: bool, out: &mut Translation) {
        let v = match p.value {
            _ if no_value(p.flags) => STALE_NAN,
            Some(number_data_point::Value::AsDouble(d)) => d,
            Some(number_data_point::Value::AsInt(i)) => i as f64,
            None => {
                out.reject(
                    1,
                    format!("metric {:?}: data point without a value", self.name),
                );
                return;
            }
        };
        let (start, exemplars) = if cumulative {
            let ex = p.exemplars.iter().map(|e| exemplar(e, self.opts.strategy));
            (ms(p.start_time_unix_nano), ex.collect())
        } else {
            (0, Vec::new())
        };
        let s = self.series(
            &p.attributes,
            &[(METRIC_NAME, self.name)],
            ms(p.time_unix_nano),
            v,
            start,
            exemplars,
        );
        out.series.push(s);
    }

    fn histogram(&self, p: &HistogramDataPoint, out: &mut Translation) {
        let n = p.explicit_bounds.len();
        if !p.bucket_counts.is_empty() && p.bucket_counts.len() != n + 1 {
            let msg = format!(
                "metric {:?}: {} bucket counts for {n} explicit bounds",
                self.name,
                p.bucket_counts.len()
            );
            out.reject(1, msg);
            return;
        }
        let stale = no_value(p.flags);
        let val = |v: f64| if stale { STALE_NAN } else { v };
        let (t, st) = (ms(p.time_unix_nano), ms(p.start_time_unix_nano));
        let mut exemplars: Vec<Vec<Exemplar>> = vec![Vec::new(); n + 1];
        for e in &p.exemplars {
            let e = exemplar(e, self.opts.strategy);
            let i = p
                .explicit_bounds
                .iter()
                .position(|b| e.v <= *b)
                .unwrap_or(n);
            exemplars[i].push(e);
        }
        let bucket = format!("{}_bucket", self.name);
        let mut cumulative = 0u64;
        for (i, ex) in exemplars.into_iter().enumerate() {
            let (le, count) = match p.explicit_bounds.get(i) {
                Some(b) => {
                    cumulative += p.bucket_counts.get(i).copied().unwrap_or(0);
                    (format_float(*b), cumulative)
                }
                None => ("+Inf".to_string(), p.count),
            };
            let extra = [(METRIC_NAME, bucket.as_str()), ("le", le.as_str())];
            let s = self.series(&p.attributes, &extra, t, val(count as f64), st, ex);
            out.series.push(s);
        }
        if let Some(sum) = p.sum {
            let name = format!("{}_sum", self.name);
            let extra = [(METRIC_NAME, name.as_str())];
            out.series
                .push(self.series(&p.attributes, &extra, t, val(sum), st, vec![]));
        }
        let name = format!("{}_count", self.name);
        let extra = [(METRIC_NAME, name.as_str())];
        let count = val(p.count as f64);
        out.series
            .push(self.series(&p.attributes, &extra, t, count, st, vec![]));
    }

    fn summary(&self, p: &SummaryDataPoint, out: &mut Translation) {
        let stale = no_value(p.flags);
        let val = |v: f64| if stale { STALE_NAN } else { v };
        let (t, st) = (ms(p.time_unix_nano), ms(p.start_time_unix_nano));
        for q in &p.quantile_values {
            let quantile = format_float(q.quantile);
            let extra = [(METRIC_NAME, self.name), ("quantile", quantile.as_str())];
            out.series
                .push(self.series(&p.attributes, &extra, t, val(q.value), st, vec![]));
        }
        for (suffix, v) in [("_sum", p.sum), ("_count", p.count as f64)] {
            let name = format!("{}{suffix}", self.name);
            let extra = [(METRIC_NAME, name.as_str())];
            out.series
                .push(self.series(&p.attributes, &extra, t, val(v), st, vec![]));
        }
    }
}

#[cfg(test)]
mod tests;
