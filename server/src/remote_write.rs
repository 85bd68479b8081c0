//! `POST /api/v1/write`: remote write 1.0 and 2.0.
//!
//! The body is snappy *block* format (`snap::raw`); its decompressed length
//! is read from the header and checked against the limit before anything
//! is allocated. Every series is validated on its own: a bad series or
//! sample is rejected and counted by reason while the rest of the request is
//! stored. The answer is 204 when everything was stored, and 400 with a
//! one-line reason (how many were rejected, and why) otherwise — never a
//! 5xx for bad data, since senders retry those forever.

use std::collections::BTreeMap;

use prost::Message;

mod inflight;
mod refusals;
mod series_cache;
mod wire;
pub use inflight::{InflightLimit, Permit};
pub use series_cache::SeriesCache;
use tsdb::db::Appender;
use tsdb::db::SeriesHandle;
use tsdb::exemplars::Exemplar;
use tsdb::model::{Label, Labels, METRIC_NAME, hash_label_pairs};

use crate::error::ApiError;
use crate::prompb;
use crate::state::State;

/// Size limits for one request.
#[derive(Debug, Clone, Copy)]
pub struct WriteLimits {
    /// Largest compressed body accepted.
    pub max_body: usize,
    /// Largest decompressed body accepted.
    pub max_decoded: usize,
    /// Most labels one series may have.
    pub max_labels: usize,
}

impl Default for WriteLimits {
    fn default() -> Self {
        WriteLimits {
            max_body: 32 << 20,
            max_decoded: 256 << 20,
            max_labels: 256,
        }
    }
}

/// Which protocol a request speaks, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    V1,
    V2,
}

impl Protocol {
    /// `application/x-protobuf` (1.0), `…;proto=prometheus.WriteRequest`
    /// (1.0) or `…;proto=io.prometheus.write.v2.Request` (2.0). A missing
    /// content type means 1.0, as old senders omit it.
    pub fn from_content_type(ct: Option<&str>) -> Result<Protocol, ApiError> {
        let Some(ct) = ct else {
            return Ok(Protocol::V1);
        };
        let mut parts = ct.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        if !media.eq_ignore_ascii_case("application/x-protobuf") {
            return Err(ApiError::BadData(format!(
                "unsupported content type {ct:?}"
            )));
        }
        for p in parts {
            if let Some(proto) = p.strip_prefix("proto=") {
                return match proto {
                    "prometheus.WriteRequest" => Ok(Protocol::V1),
                    "io.prometheus.write.v2.Request" => Ok(Protocol::V2),
                    other => Err(ApiError::BadData(format!(
                        "unsupported remote write protobuf {other:?}"
                    ))),
                };
            }
        }
        Ok(Protocol::V1)
    }
}

/// What happened to a request's data.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    pub samples_written: u64,
    pub exemplars_written: u64,
    pub histograms_written: u64,
    /// Exemplars not stored (out of order, too long, no series).
    pub exemplars_rejected: u64,
    /// Rejected samples (or series) by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// The first rejection's full message, for the response line.
    pub first_error: Option<String>,
    /// Series refused by cardinality limits, for the culprit lines.
    pub refusals: refusals::Refusals,
}

impl WriteOutcome {
    fn reject(&mut self, reason: &'static str, n: u64, detail: impl FnOnce() -> String) {
        if n == 0 {
            return;
        }
        *self.rejected.entry(reason).or_default() += n;
        if self.first_error.is_none() {
            self.first_error = Some(detail());
        }
    }

    pub fn total_rejected(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Whether every rejection was a cardinality limit's.
    pub fn only_limits_refused(&self) -> bool {
        !self.refusals.is_empty() && self.rejected.keys().all(|r| *r == "cardinality limit")
    }

    /// The answer to a write with rejections: a line `N samples rejected
    /// (reason: n, …); first: …`, then one line per culprit of the
    /// cardinality limits (see [`refusals`]).
    pub fn summary(&self) -> String {
        let mut s = self.summary_line();
        for line in self.refusals.lines() {
            s.push('\n');
            s.push_str(&line);
        }
        s
    }

    fn summary_line(&self) -> String {
        let reasons: Vec<String> = self
            .rejected
            .iter()
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        format!(
            "{} rejected ({}); stored {} samples and {} histograms; first error: {}",
            self.total_rejected(),
            reasons.join(", "),
            self.samples_written,
            self.histograms_written,
            self.first_error.as_deref().unwrap_or("")
        )
    }
}

/// The decompressed length a snappy block body claims, checked against
/// the limits (413 when over them, 400 when unreadable).
pub fn decompressed_len(body: &[u8], limits: &WriteLimits) -> Result<usize, ApiError> {
    if body.len() > limits.max_body {
        return Err(ApiError::TooLarge(format!(
            "request body of {} bytes is over the limit of {} bytes",
            body.len(),
            limits.max_body
        )));
    }
    let len = snap::raw::decompress_len(body)
        .map_err(|e| ApiError::BadData(format!("decoding snappy body: {e}")))?;
    if len > limits.max_decoded {
        return Err(ApiError::TooLarge(format!(
            "decompressed body of {len} bytes is over the limit of {} bytes",
            limits.max_decoded
        )));
    }
    Ok(len)
}

/// Decompresses a snappy block body within the limits.
pub fn decompress(body: &[u8], limits: &WriteLimits) -> Result<Vec<u8>, ApiError> {
    decompressed_len(body, limits)?;
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| ApiError::BadData(format!("decoding snappy body: {e}")))
}

/// Decodes and stores one request.
pub fn ingest(state: &State, protocol: Protocol, body: &[u8]) -> Result<WriteOutcome, ApiError> {
    let len = decompressed_len(body, &state.write_limits)?;
    let _permit = state
        .write_inflight
        .try_acquire(body.len() + len)
        .ok_or_else(|| {
            ApiError::Overloaded(format!(
                "too many remote writes in flight ({} bytes); retry later",
                state.write_inflight.used()
            ))
        })?;
    let raw = decompress(body, &state.write_limits)?;
    match protocol {
        Protocol::V1 => {
            let cache = &state.series_cache;
            cache.forget_removed(state.db.series_generation());
            let req = wire::decode_with(&raw, |labels| cache.get_many(labels))
                .map_err(|e| ApiError::BadData(format!("protobuf: {e}")))?;
            state.metadata.record_v1(&req.metadata);
            let series = req.series.iter().map(|ts| SeriesIn {
                labels: &req.labels[ts.labels.clone()],
                known: ts.known.clone(),
                raw_labels: &raw[ts.raw_labels.clone()],
                samples: &req.samples[ts.samples.clone()],
                histograms: &req.histograms[ts.histograms.clone()],
                start_time: 0,
                exemplars: req.exemplars[ts.exemplars.clone()]
                    .iter()
                    .map(|e| Exemplar {
                        labels: Labels::from_pairs(&req.exemplar_labels[e.labels.clone()]),
                        t: e.timestamp,
                        v: e.value,
                    })
                    .collect(),
            });
            store(state, series)
        }
        Protocol::V2 => {
            let req = prompb::v2::Request::decode(raw.as_slice())
                .map_err(|e| ApiError::BadData(format!("protobuf: {e}")))?;
            let sym = |i: u32| req.symbols.get(i as usize).map(String::as_str);
            let mut series = Vec::with_capacity(req.timeseries.len());
            let mut label_sets = Vec::with_capacity(req.timeseries.len());
            for ts in &req.timeseries {
                if ts.labels_refs.len() % 2 != 0 {
                    return Err(ApiError::BadData("odd number of label references".into()));
                }
                let mut labels = Vec::with_capacity(ts.labels_refs.len() / 2);
                for pair in ts.labels_refs.chunks_exact(2) {
                    match (sym(pair[0]), sym(pair[1])) {
                        (Some(n), Some(v)) => labels.push((n, v)),
                        _ => {
                            return Err(ApiError::BadData(
                                "label reference outside the symbol table".into(),
                            ));
                        }
                    }
                }
                if let Some(md) = &ts.metadata {
                    let name = labels
                        .iter()
                        .find(|l| l.0 == METRIC_NAME)
                        .map_or("", |l| l.1);
                    state.metadata.record_v2(name, md, &sym);
                }
                let mut exemplars = Vec::with_capacity(ts.exemplars.len());
                for e in &ts.exemplars {
                    let mut pairs = Vec::with_capacity(e.labels_refs.len() / 2);
                    for pair in e.labels_refs.chunks_exact(2) {
                        match (sym(pair[0]), sym(pair[1])) {
                            (Some(n), Some(v)) => pairs.push((n, v)),
                            _ => {
                                return Err(ApiError::BadData(
                                    "exemplar label reference outside the symbol table".into(),
                                ));
                            }
                        }
                    }
                    exemplars.push(Exemplar {
                        labels: Labels::from_pairs(&pairs),
                        t: e.timestamp,
                        v: e.value,
                    });
                }
                label_sets.push(labels);
                series.push((ts, exemplars));
            }
            let series = series
                .into_iter()
                .zip(&label_sets)
                .map(|((ts, exemplars), labels)| SeriesIn {
                    labels,
                    known: None,
                    raw_labels: &[],
                    samples: &ts.samples,
                    histograms: &ts.histograms,
                    start_time: ts.created_timestamp,
                    exemplars,
                });
            store(state, series)
        }
    }
}

/// One decoded series, borrowing from the request.
pub(crate) struct SeriesIn<'a> {
    /// Decoded labels; empty when `known`.
    pub(crate) labels: &'a [(&'a str, &'a str)],
    /// The head series the label bytes were last seen as (validated then).
    pub(crate) known: Option<SeriesHandle>,
    /// The raw bytes of the label fields, the [`SeriesCache`] key; empty
    /// when they cannot be one.
    pub(crate) raw_labels: &'a [u8],
    pub(crate) samples: &'a [prompb::Sample],
    pub(crate) histograms: &'a [prompb::Histogram],
    /// The series' created timestamp (remote write 2.0; 0 = none): the
    /// start timestamp of every one of its samples.
    pub(crate) start_time: i64,
    pub(crate) exemplars: Vec<Exemplar>,
}

/// Why a label set is unacceptable, or `None`.
fn invalid_labels(labels: &[(&str, &str)], max: usize) -> Option<&'static str> {
    if labels.len() > max {
        return Some("too many labels");
    }
    let mut has_name = false;
    for (i, (n, v)) in labels.iter().enumerate() {
        if n.is_empty() {
            return Some("empty label name");
        }
        if *n == METRIC_NAME {
            if v.is_empty() {
                return Some("empty metric name");
            }
            has_name = true;
        }
        if i > 0 {
            let prev = labels[i - 1].0;
            if prev == *n {
                return Some("duplicate label name");
            }
            if prev > *n {
                return Some("labels out of order");
            }
        }
    }
    if !has_name {
        return Some("missing metric name");
    }
    None
}

pub(crate) fn store<'a>(
    state: &State,
    series: impl Iterator<Item = SeriesIn<'a>>,
) -> Result<WriteOutcome, ApiError> {
    let mut out = WriteOutcome::default();
    let mut app = state.db.appender();
    // Label bytes → series to remember in the cache.
    let mut learned = Vec::new();
    let mut histograms = 0u64;
    for ts in series {
        let n = (ts.samples.len() + ts.histograms.len()) as u64;
        let mut handle = ts.known;
        let mut fresh = handle.is_none();
        let mut pairs: std::borrow::Cow<'_, [(&str, &str)]> = ts.labels.into();
        if handle.is_none() {
            if let Some(reason) = invalid_labels(ts.labels, state.write_limits.max_labels) {
                out.reject(reason, n.max(1), || {
                    let shown: Vec<String> = ts
                        .labels
                        .iter()
                        .take(8)
                        .map(|(a, b)| format!("{a}={b:?}"))
                        .collect();
                    format!("invalid series {{{}}}: {reason}", shown.join(", "))
                });
                continue;
            }
            // Empty values mean "no such label".
            if ts.labels.iter().any(|l| l.1.is_empty()) {
                pairs = ts
                    .labels
                    .iter()
                    .copied()
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
            }
            let hash = hash_label_pairs(pairs.iter().copied());
            handle = state.db.series_for_pairs(hash, pairs.iter().copied());
        }
        // A series a limit refused is reported once, whatever its samples.
        let mut refused = false;
        let mut note = |out: &mut WriteOutcome, e: &tsdb::Error| {
            if let tsdb::Error::CardinalityLimit(r) = e
                && !refused
            {
                refused = true;
                out.refusals.add(r, &pairs);
            }
            out.reject(rejection(e), 1, || e.to_string());
        };
        for s in ts.samples {
            let res = append_sample(&mut app, &mut handle, &pairs, s.timestamp, s.value);
            match res {
                Ok(changed) => {
                    fresh |= changed;
                    if ts.start_time != 0 {
                        app.set_start_timestamp(ts.start_time);
                    }
                }
                Err(e) => note(&mut out, &e),
            }
        }
        for h in ts.histograms {
            match append_histogram(&mut app, &mut handle, &pairs, h) {
                Ok(changed) => {
                    fresh |= changed;
                    histograms += 1;
                    // The histogram's own start time, else the series'.
                    let st = match h.start_timestamp {
                        0 => ts.start_time,
                        st => st,
                    };
                    if st != 0 {
                        app.set_start_timestamp(st);
                    }
                }
                Err(e) => note(&mut out, &e),
            }
        }
        if fresh
            && !ts.raw_labels.is_empty()
            && let Some(h) = &handle
        {
            learned.push((ts.raw_labels, h.clone()));
        }
        let sref = handle.as_ref().map(|h| h.series_ref());
        for e in ts.exemplars {
            // As in Prometheus, a bad exemplar is counted, not an error for
            // the request: the samples it came with are fine.
            let ok = sref.is_some_and(|r| app.append_exemplar(r, e).is_ok());
            if !ok {
                out.exemplars_rejected += 1;
            }
        }
    }
    state.series_cache.insert_many(learned);
    let stats = app.commit().map_err(ApiError::from)?;
    out.exemplars_written = stats.exemplars;
    let stored = stats.in_order + stats.out_of_order + stats.duplicates;
    out.histograms_written = histograms.min(stored);
    out.samples_written = stored - out.histograms_written;
    out.reject("out of order sample", stats.rejected, || {
        "out of order sample".to_string()
    });
    state.metrics.record_ingest(&out);
    Ok(out)
}

/// The rejection reason counted for an append error.
fn rejection(e: &tsdb::Error) -> &'static str {
    match e {
        tsdb::Error::OutOfOrder { .. } => "out of order sample",
        tsdb::Error::OutOfBounds { .. } => "out of bounds",
        tsdb::Error::DuplicateSample { .. } => "duplicate sample for timestamp",
        tsdb::Error::CardinalityLimit { .. } => "cardinality limit",
        tsdb::Error::InvalidHistogram(_) => "invalid histogram",
        _ => "invalid sample",
    }
}

/// Appends one sample to `handle`'s series, or by labels (`handle`'s own
/// once the head removed its series, else `pairs`) when there is no live
/// handle; returns whether `handle` changed.
fn append_sample(
    app: &mut Appender<'_>,
    handle: &mut Option<SeriesHandle>,
    pairs: &[(&str, &str)],
    t: i64,
    v: f64,
) -> tsdb::Result<bool> {
    append_with(
        app,
        handle,
        pairs,
        || v,
        |app, s, v| app.append_to(s, t, v),
        |app, l, v| app.append_new(l, t, v),
    )
}

/// [`append_sample`] for a native histogram.
fn append_histogram(
    app: &mut Appender<'_>,
    handle: &mut Option<SeriesHandle>,
    pairs: &[(&str, &str)],
    h: &prompb::Histogram,
) -> tsdb::Result<bool> {
    append_with(
        app,
        handle,
        pairs,
        || h.to_model(),
        |app, s, v| app.append_histogram_to(s, h.timestamp, v),
        |app, l, v| app.append_histogram_new(l, h.timestamp, v),
    )
}

/// The lookup of [`append_sample`] for any sample kind: `value` makes the
/// sample (again only when the handle's series is gone, so histograms
/// are not copied in the common case).
fn append_with<V>(
    app: &mut Appender<'_>,
    handle: &mut Option<SeriesHandle>,
    pairs: &[(&str, &str)],
    value: impl Fn() -> V,
    to: impl Fn(&mut Appender<'_>, &SeriesHandle, V) -> tsdb::Result<()>,
    new: impl Fn(&mut Appender<'_>, &Labels, V) -> tsdb::Result<SeriesHandle>,
) -> tsdb::Result<bool> {
    let labels = match handle {
        Some(s) => match to(app, s, value()) {
            Err(tsdb::Error::UnknownSeries { .. }) => s.labels().clone(),
            r => return r.map(|()| false),
        },
        None => Labels::from_sorted(pairs.iter().map(|(n, v)| Label::new(*n, *v)).collect()),
    };
    *handle = Some(new(app, &labels, value())?);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_validation_table() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Option<&'a str>);
        let cases: &[Case] = &[
            ("ok", &[("__name__", "up"), ("job", "a")], None),
            ("missing name", &[("job", "a")], Some("missing metric name")),
            (
                "empty name",
                &[("__name__", ""), ("job", "a")],
                Some("empty metric name"),
            ),
            (
                "out of order",
                &[("__name__", "up"), ("b", "1"), ("a", "1")],
                Some("labels out of order"),
            ),
            (
                "duplicate",
                &[("__name__", "up"), ("a", "1"), ("a", "2")],
                Some("duplicate label name"),
            ),
            (
                "empty label name",
                &[("", "x"), ("__name__", "up")],
                Some("empty label name"),
            ),
        ];
        for (name, labels, want) in cases {
            assert_eq!(invalid_labels(labels, 10), *want, "case {name}");
        }
        let many: Vec<(String, String)> =
            (0..20).map(|i| (format!("l{i:02}"), "v".into())).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(invalid_labels(&many, 10), Some("too many labels"));
    }

    #[test]
    fn content_types() {
        assert_eq!(Protocol::from_content_type(None).unwrap(), Protocol::V1);
        assert_eq!(
            Protocol::from_content_type(Some("application/x-protobuf")).unwrap(),
            Protocol::V1
        );
        assert_eq!(
            Protocol::from_content_type(Some(
                "application/x-protobuf;proto=io.prometheus.write.v2.Request"
            ))
            .unwrap(),
            Protocol::V2
        );
        assert!(Protocol::from_content_type(Some("application/json")).is_err());
        assert!(Protocol::from_content_type(Some("application/x-protobuf;proto=x.Y")).is_err());
    }

    #[test]
    fn huge_claimed_length_is_rejected_before_allocating() {
        // A snappy header claiming ~4 GiB followed by nothing.
        let body = [0xff, 0xff, 0xff, 0xff, 0x0f];
        let err = decompress(&body, &WriteLimits::default()).unwrap_err();
        assert!(matches!(err, ApiError::TooLarge(_)), "{err:?}");
    }
}
