//! The storage engine's one error type. Every variant carries enough context
//! (file, offset, series) to act on without a debugger.

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way the storage engine can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O failure on `path`.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bytes on disk that do not decode: the file, the byte offset and what was wrong.
    #[error("corruption in {path} at offset {offset}: {detail}")]
    Corruption {
        path: PathBuf,
        offset: u64,
        detail: String,
    },
    /// A file of a format version this build does not read (written by a
    /// newer release): not corruption, so never quarantined.
    #[error("{path}: {detail}")]
    UnsupportedFormat { path: PathBuf, detail: String },
    /// A sample older than the head accepts (outside the out-of-order window).
    #[error("out of order sample: timestamp {t} is older than {min_valid}")]
    OutOfOrder { t: i64, min_valid: i64 },
    /// A sample outside the accepted time window for the head.
    #[error("out of bounds: timestamp {t} is before the head's lower bound {min_valid}")]
    OutOfBounds { t: i64, min_valid: i64 },
    /// Same timestamp appended twice with different values.
    #[error("duplicate sample for timestamp {t}")]
    DuplicateSample { t: i64 },
    /// Creating the series would exceed a configured cardinality limit;
    /// the refusal names the limit, the metric and the counts.
    #[error("{0}")]
    CardinalityLimit(Box<crate::limits::Refusal>),
    /// Labels that the data model does not accept (empty, unsorted, duplicate names).
    #[error("invalid labels {labels}: {reason}")]
    InvalidLabels {
        labels: String,
        reason: &'static str,
    },
    /// A matcher whose regular expression does not compile.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex { pattern: String, reason: String },
    /// A series ref that the head does not know (never created, or removed).
    #[error("unknown series ref {series_ref}")]
    UnknownSeries { series_ref: u64 },
    /// The disk (or the quota) is full: the write was not made and may be
    /// retried once space is freed.
    #[error("{op} {path}: no space left on the device")]
    StorageFull { op: &'static str, path: PathBuf },
    /// The database takes no more writes: it was closed, or a failed fsync
    /// left the WAL's state unknown (restart to replay what is on disk).
    #[error("database is closed: {reason}")]
    Closed { reason: String },
    /// A record whose type belongs to no open store (a batch's record, or
    /// one met in WAL replay when its store is not open).
    #[error("WAL record type {record_type} ({family}) has no open store")]
    UnownedRecord {
        record_type: u8,
        family: &'static str,
    },
    /// A native histogram that breaks a rule of the model.
    #[error("invalid histogram: {0}")]
    InvalidHistogram(#[from] HistogramError),
    /// A configuration value that cannot work.
    #[error("invalid option {name}: {reason}")]
    InvalidOption { name: &'static str, reason: String },
    /// Bucket summaries a tier chunk cannot hold as given (not ascending,
    /// ends off the resolution's grid, too many).
    #[error("invalid tier summaries: {reason}")]
    InvalidSummaries { reason: String },
}

impl Error {
    /// Wraps an I/O error with the operation and path it happened on.
    /// A full disk or quota becomes [`Error::StorageFull`].
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        if is_storage_full(&source) {
            return Error::StorageFull {
                op,
                path: path.into(),
            };
        }
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A corruption error at `offset` of `path`.
    pub fn corruption(path: impl Into<PathBuf>, offset: u64, detail: impl Into<String>) -> Self {
        Error::Corruption {
            path: path.into(),
            offset,
            detail: detail.into(),
        }
    }
}

fn is_storage_full(e: &std::io::Error) -> bool {
    // ENOSPC and EDQUOT on Linux.
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(28 | 122))
}

/// Which bucket side of a histogram an error is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Positive,
    Negative,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Positive => "positive",
            Side::Negative => "negative",
        })
    }
}

/// A native histogram that breaks a rule of the model, one variant per
/// rule. The texts are Prometheus's, so senders see the same reasons.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistogramError {
    #[error("histogram has an invalid schema, which must be between -4 and 8 or -53, got {0}")]
    InvalidSchema(i32),
    #[error(
        "{side} side: span number {span} with offset {offset}: histogram has a span whose offset is negative"
    )]
    NegativeSpanOffset {
        side: Side,
        span: usize,
        offset: i32,
    },
    #[error(
        "{side} side: spans need {spans} buckets, have {buckets} buckets: histogram spans specify different number of buckets than provided"
    )]
    SpansBucketsMismatch {
        side: Side,
        spans: u64,
        buckets: usize,
    },
    #[error(
        "{side} side: bucket number {bucket} has observation count of {count}: histogram has a bucket whose observation count is negative"
    )]
    NegativeBucketCount {
        side: Side,
        bucket: usize,
        count: f64,
    },
    #[error(
        "{in_buckets} observations found in buckets, but the Count field is {count}: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)"
    )]
    CountMismatch { in_buckets: f64, count: f64 },
    #[error(
        "{in_buckets} observations found in buckets, but the Count field is {count}: histogram's observation count should be at least the number of observations found in the buckets"
    )]
    CountNotBigEnough { in_buckets: f64, count: f64 },
    #[error(
        "custom buckets: previous bound is {prev} and current is {curr}: histogram custom bounds must be in strictly increasing order"
    )]
    CustomBoundsNotIncreasing { prev: f64, curr: f64 },
    #[error(
        "custom buckets: last +Inf bound must not be explicitly defined: histogram custom bounds must be finite"
    )]
    CustomBoundsInfinite,
    #[error(
        "custom buckets: only {bounds} custom bounds defined which is insufficient to cover total span length of {span_length}: histogram custom bounds are too few"
    )]
    CustomBoundsTooFew { bounds: usize, span_length: i64 },
    #[error("custom buckets: must have zero count of 0")]
    CustomZeroCount,
    #[error("custom buckets: must have zero threshold of 0")]
    CustomZeroThreshold,
    #[error("custom buckets: must not have negative spans")]
    CustomNegativeSpans,
    #[error("custom buckets: must not have negative buckets")]
    CustomNegativeBuckets,
    #[error("histogram with exponential schema must not have custom bounds")]
    ExponentialWithCustomBounds,
    #[error(
        "cannot apply this operation on histograms with a mix of exponential and custom bucket schemas"
    )]
    IncompatibleSchemas,
}
