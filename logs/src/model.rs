//! Streams and entries.

use tsdb::model::Labels;

/// One log line: its time, text and structured metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Nanoseconds since the Unix epoch.
    pub ts: i64,
    pub line: String,
    /// Name-value pairs kept with the line but not part of the stream
    /// (Loki's structured metadata), in the order given.
    pub metadata: Vec<(String, String)>,
}

impl Entry {
    pub fn new(ts: i64, line: impl Into<String>) -> Entry {
        Entry {
            ts,
            line: line.into(),
            metadata: Vec::new(),
        }
    }

    /// Bytes the entry holds (line and metadata), as limits count them.
    pub fn size(&self) -> usize {
        self.line.len()
            + self
                .metadata
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    }
}

/// The entries a push carries for one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPush {
    pub labels: Labels,
    pub entries: Vec<Entry>,
}

/// Which end of a time range a query reads first (Loki's `direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Newest first (Loki's default).
    #[default]
    Backward,
    Forward,
}
