//! The log store's one error type. Variants carry the file, offset or
//! query that an operator needs to act on.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A log WAL record that does not decode (type, version or payload).
    #[error("log WAL record: {0}")]
    BadRecord(String),
    /// The metric store refused the batch (WAL write, closed database).
    #[error(transparent)]
    Tsdb(#[from] tsdb::Error),
    /// A LogQL query that does not parse (with its position).
    #[error(transparent)]
    LogQl(#[from] crate::logql::ParseError),
    /// A query the store cannot answer as asked (names what).
    #[error("{0}")]
    BadQuery(String),
    /// An operating-system I/O failure on `path`.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bytes of a log block that do not decode.
    #[error("corruption in {path} at offset {offset}: {detail}")]
    Corruption {
        path: PathBuf,
        offset: u64,
        detail: String,
    },
    /// A log block written by a newer release.
    #[error("{path}: {detail}")]
    UnsupportedFormat { path: PathBuf, detail: String },
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

/// Log store errors where the database expects its own (replay, open).
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
            other => tsdb::Error::corruption("logs", 0, other.to_string()),
        }
    }
}
