//! The span store's one error type. Variants carry the file, offset or
//! span that an operator needs to act on.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

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
    /// Bytes on disk (or in the WAL) that do not decode.
    #[error("corruption in {path} at offset {offset}: {detail}")]
    Corruption {
        path: PathBuf,
        offset: u64,
        detail: String,
    },
    /// A span block written by a newer release.
    #[error("{path}: {detail}")]
    UnsupportedFormat { path: PathBuf, detail: String },
    /// A span WAL record that does not decode (type, version or payload).
    #[error("span WAL record: {0}")]
    BadRecord(String),
    /// The metric store refused the batch (WAL write, closed database).
    #[error(transparent)]
    Tsdb(#[from] tsdb::Error),
    /// A trace id that is not 1 to 32 hex digits.
    #[error("invalid trace id {id:?}: {reason}")]
    InvalidTraceId { id: String, reason: &'static str },
    /// A TraceQL query that does not parse (with its position).
    #[error(transparent)]
    TraceQl(#[from] crate::traceql::ParseError),
    /// An option out of range; names the option.
    #[error("invalid option {name}: {reason}")]
    InvalidOption { name: &'static str, reason: String },
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        detail: impl Into<String>,
    ) -> Self {
        Error::Corruption {
            path: path.into(),
            offset,
            detail: detail.into(),
        }
    }
}

/// Span store errors where the database expects its own (replay, open).
impl From<Error> for tsdb::Error {
    fn from(e: Error) -> tsdb::Error {
        match e {
            Error::Tsdb(e) => e,
            Error::Io { op, path, source } => tsdb::Error::Io { op, path, source },
            Error::Corruption {
                path,
                offset,
                detail,
            } => tsdb::Error::Corruption {
                path,
                offset,
                detail,
            },
            Error::UnsupportedFormat { path, detail } => {
                tsdb::Error::UnsupportedFormat { path, detail }
            }
            other => tsdb::Error::corruption("spans", 0, other.to_string()),
        }
    }
}
