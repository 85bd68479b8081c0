//! The crate's error type.

use std::fmt;

/// A 1-based line and column (in bytes) within the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    pub line: usize,
    pub col: usize,
}

impl Position {
    /// The position of byte `offset` in `input` (clamped to its end).
    pub fn from_offset(input: &str, offset: usize) -> Position {
        let offset = offset.min(input.len());
        let before = &input.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Position {
            line,
            col: offset - line_start + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query is not valid PromQL (syntax or types), as Prometheus
    /// reports it: `1:15: parse error: unexpected <by>`.
    #[error("{pos}: parse error: {msg}")]
    Parse { pos: Position, msg: String },
    /// Evaluation failed on the data (Prometheus's `execution` errors):
    /// `vector cannot contain metrics with the same labelset`, many-to-many
    /// matching, invalid function arguments.
    #[error("{0}")]
    Execution(String),
    /// The query would hold more samples in memory than allowed.
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// The query ran past its deadline.
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The query was cancelled by its caller.
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    /// The storage failed to answer.
    #[error("storage error: {0}")]
    Storage(String),
}

impl From<tsdb::Error> for Error {
    fn from(e: tsdb::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why text is not a Prometheus duration ([`crate::syntax::parse_duration`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text does not start with `digits unit`.
    #[error("not a duration")]
    Missing,
    /// A unit repeats or follows a smaller one (`1s1m`).
    #[error("units repeat or are out of order")]
    OutOfOrder,
    /// The value does not fit in 64-bit milliseconds.
    #[error("duration out of range")]
    OutOfRange,
    /// Something follows the duration (`1m5`, `1.5m`).
    #[error("unexpected text after the duration")]
    Trailing,
}

/// Text that is neither unix seconds nor RFC 3339
/// ([`crate::syntax::parse_time`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse {0:?} to a valid timestamp")]
pub struct TimeError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_line_and_column() {
        assert_eq!(Position::from_offset("abc", 0).to_string(), "1:1");
        assert_eq!(Position::from_offset("ab\ncd", 4).to_string(), "2:2");
        assert_eq!(Position::from_offset("ab", 10).to_string(), "1:3");
    }
}
