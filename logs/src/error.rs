//! The log store's one error type.

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
}

/// Log store errors where the database expects its own (replay).
impl From<Error> for tsdb::Error {
    fn from(e: Error) -> tsdb::Error {
        match e {
            Error::Tsdb(e) => e,
            other => tsdb::Error::corruption("logs", 0, other.to_string()),
        }
    }
}
