//! The native histogram of remote write 1.0 and 2.0, and its conversion
//! to and from the storage model.

use tsdb::model::histogram::{
    CounterResetHint, FloatHistogram, Histogram as IntHistogram, HistogramValue, Span,
};

/// `prometheus.Histogram` / `io.prometheus.write.v2.Histogram`: integer
/// counts (`count_int`, deltas) or float counts (`count_float`, absolute
/// counts); field 17 (start timestamp) exists in 2.0 only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    #[prost(oneof = "histogram::Count", tags = "1, 2")]
    pub count: Option<histogram::Count>,
    #[prost(double, tag = "3")]
    pub sum: f64,
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    #[prost(oneof = "histogram::ZeroCount", tags = "6, 7")]
    pub zero_count: Option<histogram::ZeroCount>,
    #[prost(message, repeated, tag = "8")]
    pub negative_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "9")]
    pub negative_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "10")]
    pub negative_counts: Vec<f64>,
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "13")]
    pub positive_counts: Vec<f64>,
    #[prost(enumeration = "ResetHint", tag = "14")]
    pub reset_hint: i32,
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
    #[prost(double, repeated, tag = "16")]
    pub custom_values: Vec<f64>,
    #[prost(int64, tag = "17")]
    pub start_timestamp: i64,
}

/// The oneofs of [`Histogram`].
pub mod histogram {
    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum Count {
        #[prost(uint64, tag = "1")]
        CountInt(u64),
        #[prost(double, tag = "2")]
        CountFloat(f64),
    }

    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum ZeroCount {
        #[prost(uint64, tag = "6")]
        ZeroCountInt(u64),
        #[prost(double, tag = "7")]
        ZeroCountFloat(f64),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct BucketSpan {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ResetHint {
    Unknown = 0,
    Yes = 1,
    No = 2,
    Gauge = 3,
}

fn spans(v: &[BucketSpan]) -> Vec<Span> {
    v.iter().map(|s| Span::new(s.offset, s.length)).collect()
}

fn wire_spans(v: &[Span]) -> Vec<BucketSpan> {
    v.iter()
        .map(|s| BucketSpan {
            offset: s.offset,
            length: s.length,
        })
        .collect()
}

fn hint(v: i32) -> CounterResetHint {
    CounterResetHint::from_u8(u8::try_from(v).unwrap_or(0)).unwrap_or_default()
}

impl Histogram {
    /// Whether the counts are floats (`count_float` set).
    pub fn is_float(&self) -> bool {
        matches!(self.count, Some(histogram::Count::CountFloat(_)))
    }

    /// The histogram in the storage model (not yet validated).
    pub fn to_model(&self) -> HistogramValue {
        let hint = hint(self.reset_hint);
        if self.is_float() {
            let count = match self.count {
                Some(histogram::Count::CountFloat(c)) => c,
                Some(histogram::Count::CountInt(c)) => c as f64,
                None => 0.0,
            };
            let zero_count = match self.zero_count {
                Some(histogram::ZeroCount::ZeroCountFloat(c)) => c,
                Some(histogram::ZeroCount::ZeroCountInt(c)) => c as f64,
                None => 0.0,
            };
            return HistogramValue::Float(FloatHistogram {
                hint,
                schema: self.schema,
                zero_threshold: self.zero_threshold,
                zero_count,
                count,
                sum: self.sum,
                positive_spans: spans(&self.positive_spans),
                negative_spans: spans(&self.negative_spans),
                positive_buckets: self.positive_counts.clone(),
                negative_buckets: self.negative_counts.clone(),
                custom_values: self.custom_values.clone(),
            });
        }
        let count = match self.count {
            Some(histogram::Count::CountInt(c)) => c,
            _ => 0,
        };
        let zero_count = match self.zero_count {
            Some(histogram::ZeroCount::ZeroCountInt(c)) => c,
            _ => 0,
        };
        HistogramValue::Int(IntHistogram {
            hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count,
            count,
            sum: self.sum,
            positive_spans: spans(&self.positive_spans),
            negative_spans: spans(&self.negative_spans),
            positive_deltas: self.positive_deltas.clone(),
            negative_deltas: self.negative_deltas.clone(),
            custom_values: self.custom_values.clone(),
        })
    }

    /// The wire form of an integer histogram at `timestamp`.
    pub fn from_int(h: &IntHistogram, timestamp: i64) -> Histogram {
        Histogram {
            count: Some(histogram::Count::CountInt(h.count)),
            sum: h.sum,
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count: Some(histogram::ZeroCount::ZeroCountInt(h.zero_count)),
            negative_spans: wire_spans(&h.negative_spans),
            negative_deltas: h.negative_deltas.clone(),
            positive_spans: wire_spans(&h.positive_spans),
            positive_deltas: h.positive_deltas.clone(),
            reset_hint: h.hint as i32,
            timestamp,
            custom_values: h.custom_values.clone(),
            ..Histogram::default()
        }
    }

    /// The wire form of a float histogram at `timestamp`.
    pub fn from_float(h: &FloatHistogram, timestamp: i64) -> Histogram {
        Histogram {
            count: Some(histogram::Count::CountFloat(h.count)),
            sum: h.sum,
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count: Some(histogram::ZeroCount::ZeroCountFloat(h.zero_count)),
            negative_spans: wire_spans(&h.negative_spans),
            negative_counts: h.negative_buckets.clone(),
            positive_spans: wire_spans(&h.positive_spans),
            positive_counts: h.positive_buckets.clone(),
            reset_hint: h.hint as i32,
            timestamp,
            custom_values: h.custom_values.clone(),
            ..Histogram::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn model_round_trips_through_the_wire() {
        let int = IntHistogram {
            hint: CounterResetHint::Gauge,
            schema: 3,
            zero_threshold: 1e-128,
            zero_count: 2,
            count: 9,
            sum: -4.5,
            positive_spans: vec![Span::new(-2, 2), Span::new(1, 1)],
            positive_deltas: vec![1, 2, -1],
            negative_spans: vec![Span::new(0, 1)],
            negative_deltas: vec![3],
            custom_values: vec![],
        };
        let wire = Histogram::decode(&*Histogram::from_int(&int, 7).encode_to_vec()).unwrap();
        assert_eq!(wire.timestamp, 7);
        assert_eq!(wire.to_model(), HistogramValue::Int(int.clone()));
        let float = int.to_float();
        let wire = Histogram::decode(&*Histogram::from_float(&float, 8).encode_to_vec()).unwrap();
        assert_eq!(wire.to_model(), HistogramValue::Float(float));
    }
}
