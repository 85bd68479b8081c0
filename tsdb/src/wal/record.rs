//! Typed WAL records and their encoding.
//!
//! Every record starts with a [`RecordType`] byte. Types are never reused;
//! a reader meeting an unknown type reports it instead of guessing.
//!
//! ```text
//! Series:     type=1 │ count uvarint │ (ref uvarint │ nlabels uvarint │ (name, value: len uvarint + bytes)*)*
//! Samples:    type=2 │ count uvarint │ base ref uvarint │ base t varint │
//!                      (Δref varint │ Δt varint │ value 8B BE)*      Δ relative to the base
//! Tombstones: type=3 │ count uvarint │ (ref uvarint │ mint varint │ maxt varint)*
//! Exemplars:  type=4 │ count uvarint │ (ref uvarint │ t varint │ value 8B BE │ labels as in Series)*
//! StartTimes: type=7 │ count uvarint │ (ref uvarint │ t varint │ t - st varint)*
//! Histograms, FloatHistograms: types 8 and 9, see [`histogram`]
//! ```
//!
//! Types 5 and 6 were reserved for spans and logs before record families
//! existed and were never written; they stay unused.
//!
//! Record types are allocated to families, each owned by one store
//! ([`RecordFamily`]): this module encodes the metric family; the span and
//! log stores encode their own records in their ranges.
//!
//! A start-times record gives the start timestamps of samples of the
//! samples record that follows it in the same batch (only samples that
//! have one are listed); replay applies them together.

mod histogram;

use std::sync::Arc;

pub use histogram::{FloatHistogramRecord, HistogramRecord};

use crate::encoding::{Decbuf, DecodeError, put_bytes, put_uvarint, put_varint};
use crate::error::{Error, Result};
use crate::model::{Label, Labels};

/// The families of WAL record types, by the store that owns them. A
/// record's first byte says its type, and the type's range its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordFamily {
    /// Types 1–31: series, samples, exemplars, tombstones, start times
    /// ([`Record`]), owned by the metric store.
    Metrics,
    /// Types 32–63, owned by the span store.
    Spans,
    /// Types 64–95, owned by the log store.
    Logs,
}

impl RecordFamily {
    /// The family of a record type byte; `None` for unallocated types
    /// (0 and 96–255).
    pub fn of(record_type: u8) -> Option<RecordFamily> {
        match record_type {
            1..=31 => Some(RecordFamily::Metrics),
            32..=63 => Some(RecordFamily::Spans),
            64..=95 => Some(RecordFamily::Logs),
            _ => None,
        }
    }

    /// The family of an encoded record (by its first byte).
    pub fn of_record(record: &[u8]) -> Option<RecordFamily> {
        record.first().copied().and_then(Self::of)
    }

    pub fn name(self) -> &'static str {
        match self {
            RecordFamily::Metrics => "metrics",
            RecordFamily::Spans => "spans",
            RecordFamily::Logs => "logs",
        }
    }
}

/// Metric record type bytes. Numbers 10–31 are reserved for future metric
/// types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    Series = 1,
    Samples = 2,
    Tombstones = 3,
    Exemplars = 4,
    StartTimes = 7,
    Histograms = 8,
    FloatHistograms = 9,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRecord {
    pub series_ref: u64,
    pub labels: Labels,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRecord {
    pub series_ref: u64,
    pub t: i64,
    pub v: f64,
}

/// The start timestamp `st` of the sample of `series_ref` at `t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartTimeRecord {
    pub series_ref: u64,
    pub t: i64,
    pub st: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TombstoneRecord {
    pub series_ref: u64,
    pub mint: i64,
    pub maxt: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExemplarRecord {
    pub series_ref: u64,
    pub t: i64,
    pub v: f64,
    pub labels: Labels,
}

/// One decoded WAL record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Series(Vec<SeriesRecord>),
    Samples(Vec<SampleRecord>),
    Tombstones(Vec<TombstoneRecord>),
    Exemplars(Vec<ExemplarRecord>),
    StartTimes(Vec<StartTimeRecord>),
    Histograms(Vec<HistogramRecord>),
    FloatHistograms(Vec<FloatHistogramRecord>),
}

fn put_labels(b: &mut Vec<u8>, labels: &Labels) {
    put_uvarint(b, labels.len() as u64);
    for l in labels {
        put_bytes(b, l.name.as_bytes());
        put_bytes(b, l.value.as_bytes());
    }
}

fn get_labels(d: &mut Decbuf) -> std::result::Result<Labels, DecodeError> {
    let n = d.len("label count")?;
    let mut v = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let name = d.str("label name")?;
        let value = d.str("label value")?;
        v.push(Label::new(Arc::<str>::from(name), Arc::<str>::from(value)));
    }
    let at = d.position();
    Labels::try_from_unsorted(v).map_err(|what| DecodeError { offset: at, what })
}

impl Record {
    pub fn record_type(&self) -> RecordType {
        match self {
            Record::Series(_) => RecordType::Series,
            Record::Samples(_) => RecordType::Samples,
            Record::Tombstones(_) => RecordType::Tombstones,
            Record::Exemplars(_) => RecordType::Exemplars,
            Record::StartTimes(_) => RecordType::StartTimes,
            Record::Histograms(_) => RecordType::Histograms,
            Record::FloatHistograms(_) => RecordType::FloatHistograms,
        }
    }

    /// Appends the encoded record to `b`.
    pub fn encode(&self, b: &mut Vec<u8>) {
        b.push(self.record_type() as u8);
        match self {
            Record::Series(series) => {
                put_uvarint(b, series.len() as u64);
                for s in series {
                    put_uvarint(b, s.series_ref);
                    put_labels(b, &s.labels);
                }
            }
            Record::Samples(samples) => {
                put_uvarint(b, samples.len() as u64);
                if let Some(first) = samples.first() {
                    put_uvarint(b, first.series_ref);
                    put_varint(b, first.t);
                    for s in samples {
                        put_varint(b, s.series_ref.wrapping_sub(first.series_ref) as i64);
                        put_varint(b, s.t.wrapping_sub(first.t));
                        b.extend_from_slice(&s.v.to_bits().to_be_bytes());
                    }
                }
            }
            Record::Tombstones(ts) => {
                put_uvarint(b, ts.len() as u64);
                for t in ts {
                    put_uvarint(b, t.series_ref);
                    put_varint(b, t.mint);
                    put_varint(b, t.maxt);
                }
            }
            Record::Exemplars(es) => {
                put_uvarint(b, es.len() as u64);
                for e in es {
                    put_uvarint(b, e.series_ref);
                    put_varint(b, e.t);
                    b.extend_from_slice(&e.v.to_bits().to_be_bytes());
                    put_labels(b, &e.labels);
                }
            }
            Record::StartTimes(v) => {
                put_uvarint(b, v.len() as u64);
                for s in v {
                    put_uvarint(b, s.series_ref);
                    put_varint(b, s.t);
                    put_varint(b, s.t.wrapping_sub(s.st));
                }
            }
            Record::Histograms(v) => {
                put_uvarint(b, v.len() as u64);
                for s in v {
                    put_uvarint(b, s.series_ref);
                    put_varint(b, s.t);
                    histogram::put_histogram(b, &s.h);
                }
            }
            Record::FloatHistograms(v) => {
                put_uvarint(b, v.len() as u64);
                for s in v {
                    put_uvarint(b, s.series_ref);
                    put_varint(b, s.t);
                    histogram::put_float_histogram(b, &s.h);
                }
            }
        }
    }

    /// Decodes one record. Errors say what was wrong and at which byte of
    /// the record (the caller adds file and record offset).
    pub fn decode(rec: &[u8]) -> Result<Record> {
        Self::decode_inner(rec)
            .map_err(|e| Error::corruption("", e.offset as u64, format!("WAL record: {}", e.what)))
    }

    fn decode_inner(rec: &[u8]) -> std::result::Result<Record, DecodeError> {
        let mut d = Decbuf::new(rec);
        let t = d.u8("record type")?;
        let count = |d: &mut Decbuf| -> std::result::Result<usize, DecodeError> {
            let n = d.uvarint("count")?;
            // Every entry takes at least one byte: bound allocations.
            usize::try_from(n)
                .ok()
                .filter(|&n| n <= d.remaining())
                .ok_or(DecodeError {
                    offset: d.position(),
                    what: "count larger than the record",
                })
        };
        let rec = match t {
            1 => {
                let n = count(&mut d)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    let series_ref = d.uvarint("series ref")?;
                    let labels = get_labels(&mut d)?;
                    v.push(SeriesRecord { series_ref, labels });
                }
                Record::Series(v)
            }
            2 => {
                let n = count(&mut d)?;
                let mut v = Vec::with_capacity(n);
                if n > 0 {
                    let base_ref = d.uvarint("base ref")?;
                    let base_t = d.varint("base time")?;
                    for _ in 0..n {
                        let dr = d.varint("ref delta")?;
                        let dt = d.varint("time delta")?;
                        let bits = d.u64_be("value")?;
                        v.push(SampleRecord {
                            series_ref: base_ref.wrapping_add(dr as u64),
                            t: base_t.wrapping_add(dt),
                            v: f64::from_bits(bits),
                        });
                    }
                }
                Record::Samples(v)
            }
            3 => {
                let n = count(&mut d)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(TombstoneRecord {
                        series_ref: d.uvarint("series ref")?,
                        mint: d.varint("mint")?,
                        maxt: d.varint("maxt")?,
                    });
                }
                Record::Tombstones(v)
            }
            4 => {
                let n = count(&mut d)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    let series_ref = d.uvarint("series ref")?;
                    let t = d.varint("time")?;
                    let bits = d.u64_be("value")?;
                    let labels = get_labels(&mut d)?;
                    v.push(ExemplarRecord {
                        series_ref,
                        t,
                        v: f64::from_bits(bits),
                        labels,
                    });
                }
                Record::Exemplars(v)
            }
            7 => {
                let n = count(&mut d)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    let series_ref = d.uvarint("series ref")?;
                    let t = d.varint("time")?;
                    let st = t.wrapping_sub(d.varint("start time")?);
                    v.push(StartTimeRecord { series_ref, t, st });
                }
                Record::StartTimes(v)
            }
            8 => {
                let n = count(&mut d)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(HistogramRecord {
                        series_ref: d.uvarint("series ref")?,
                        t: d.varint("time")?,
                        h: histogram::get_histogram(&mut d)?,
                    });
                }
                Record::Histograms(v)
            }
            9 => {
                let n = count(&mut d)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(FloatHistogramRecord {
                        series_ref: d.uvarint("series ref")?,
                        t: d.varint("time")?,
                        h: histogram::get_float_histogram(&mut d)?,
                    });
                }
                Record::FloatHistograms(v)
            }
            _ => {
                return Err(DecodeError {
                    offset: 0,
                    what: "unknown record type",
                });
            }
        };
        if !d.is_empty() {
            return Err(DecodeError {
                offset: d.position(),
                what: "trailing bytes after record",
            });
        }
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels_strategy() -> impl Strategy<Value = Labels> {
        prop::collection::vec(("[a-z_]{1,6}", "[a-z0-9.]{1,6}"), 0..5)
            .prop_map(|pairs| Labels::from_pairs(&pairs))
    }

    fn histogram_strategy() -> impl Strategy<Value = crate::model::histogram::Histogram> {
        use crate::model::histogram::{CounterResetHint, Histogram, Span};
        (
            -53i32..9,
            0u8..4,
            any::<u64>(),
            prop::collection::vec((any::<i32>(), any::<u32>()), 0..3),
            prop::collection::vec(any::<i64>(), 0..6),
            prop::collection::vec(-1e9f64..1e9, 0..4),
        )
            .prop_map(|(schema, hint, count, spans, deltas, custom)| Histogram {
                hint: CounterResetHint::from_u8(hint).unwrap_or_default(),
                schema,
                zero_threshold: 1e-128,
                zero_count: count / 3,
                count,
                sum: count as f64 * 0.5,
                positive_spans: spans.iter().map(|&(o, l)| Span::new(o, l)).collect(),
                negative_spans: spans.iter().rev().map(|&(o, l)| Span::new(o, l)).collect(),
                positive_deltas: deltas.clone(),
                negative_deltas: deltas.into_iter().rev().collect(),
                custom_values: custom,
            })
    }

    fn record_strategy() -> impl Strategy<Value = Record> {
        prop_oneof![
            prop::collection::vec((any::<u64>(), labels_strategy()), 0..5).prop_map(|v| {
                Record::Series(
                    v.into_iter()
                        .map(|(series_ref, labels)| SeriesRecord { series_ref, labels })
                        .collect(),
                )
            }),
            prop::collection::vec((any::<u64>(), any::<i64>(), any::<u64>()), 0..20).prop_map(
                |v| Record::Samples(
                    v.into_iter()
                        .map(|(series_ref, t, b)| SampleRecord {
                            series_ref,
                            t,
                            v: f64::from_bits(b)
                        })
                        .collect()
                )
            ),
            prop::collection::vec((any::<u64>(), any::<i64>(), any::<i64>()), 0..5).prop_map(|v| {
                Record::Tombstones(
                    v.into_iter()
                        .map(|(series_ref, mint, maxt)| TombstoneRecord {
                            series_ref,
                            mint,
                            maxt,
                        })
                        .collect(),
                )
            }),
            prop::collection::vec(
                (any::<u64>(), any::<i64>(), any::<u64>(), labels_strategy()),
                0..5
            )
            .prop_map(|v| {
                Record::Exemplars(
                    v.into_iter()
                        .map(|(series_ref, t, b, labels)| ExemplarRecord {
                            series_ref,
                            t,
                            v: f64::from_bits(b),
                            labels,
                        })
                        .collect(),
                )
            }),
            prop::collection::vec((any::<u64>(), any::<i64>(), histogram_strategy()), 0..4)
                .prop_map(|v| {
                    Record::Histograms(
                        v.into_iter()
                            .map(|(series_ref, t, h)| HistogramRecord { series_ref, t, h })
                            .collect(),
                    )
                }),
            prop::collection::vec((any::<u64>(), any::<i64>(), histogram_strategy()), 0..4)
                .prop_map(|v| {
                    Record::FloatHistograms(
                        v.into_iter()
                            .map(|(series_ref, t, h)| FloatHistogramRecord {
                                series_ref,
                                t,
                                h: h.to_float(),
                            })
                            .collect(),
                    )
                }),
            prop::collection::vec((any::<u64>(), any::<i64>(), any::<i64>()), 0..5).prop_map(|v| {
                Record::StartTimes(
                    v.into_iter()
                        .map(|(series_ref, t, st)| StartTimeRecord { series_ref, t, st })
                        .collect(),
                )
            }),
        ]
    }

    /// Compares with value bits, so NaN payloads count.
    fn same(a: &Record, b: &Record) -> bool {
        match (a, b) {
            (Record::Samples(x), Record::Samples(y)) => {
                x.len() == y.len()
                    && x.iter().zip(y).all(|(p, q)| {
                        p.series_ref == q.series_ref && p.t == q.t && p.v.to_bits() == q.v.to_bits()
                    })
            }
            (Record::Exemplars(x), Record::Exemplars(y)) => {
                x.len() == y.len()
                    && x.iter().zip(y).all(|(p, q)| {
                        p.series_ref == q.series_ref
                            && p.t == q.t
                            && p.v.to_bits() == q.v.to_bits()
                            && p.labels == q.labels
                    })
            }
            _ => a == b,
        }
    }

    proptest! {
        #[test]
        fn round_trip(rec in record_strategy()) {
            let mut b = Vec::new();
            rec.encode(&mut b);
            let back = Record::decode(&b).unwrap();
            prop_assert!(same(&rec, &back), "{rec:?} != {back:?}");
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(b in prop::collection::vec(any::<u8>(), 0..100)) {
            let _ = Record::decode(&b);
        }
    }

    #[test]
    fn unknown_type_is_reported() {
        let err = Record::decode(&[99, 0]).unwrap_err().to_string();
        assert!(err.contains("unknown record type"), "{err}");
    }
}
