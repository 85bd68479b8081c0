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

/// An entry as a query returns it: after the pipeline, with its labels
/// by where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub ts: i64,
    pub line: String,
    /// The stream's labels (less what `drop`/`keep` removed).
    pub stream: Labels,
    /// Structured metadata kept.
    pub metadata: Vec<(String, String)>,
    /// Labels the pipeline extracted or formatted.
    pub parsed: Vec<(String, String)>,
}

impl Hit {
    /// An entry as it is, with its stream's labels.
    pub fn plain(stream: &Labels, e: &Entry) -> Hit {
        Hit {
            ts: e.ts,
            line: e.line.clone(),
            stream: stream.clone(),
            metadata: e.metadata.clone(),
            parsed: Vec::new(),
        }
    }

    /// Every label of the entry: stream, metadata, parsed (later wins).
    pub fn all_labels(&self) -> Labels {
        if self.metadata.is_empty() && self.parsed.is_empty() {
            return self.stream.clone();
        }
        let mut b = self.stream.builder();
        for (n, v) in self.metadata.iter().chain(&self.parsed) {
            b.set(n, v);
        }
        b.build()
    }
}
