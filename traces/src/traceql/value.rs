//! What the evaluator reads: typed span values and the [`TraceView`] a
//! store implements for one trace.

use std::fmt;

/// A typed value read from a span (or written in a query).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Nanoseconds.
    Duration(u64),
    Status(Status),
    Kind(Kind),
}

/// A span's status code, as OTLP defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Unset,
    Ok,
    Error,
}

/// A span's kind, as OTLP defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl Status {
    /// Every status with its TraceQL literal.
    pub const ALL: [(Status, &'static str); 3] = [
        (Status::Unset, "unset"),
        (Status::Ok, "ok"),
        (Status::Error, "error"),
    ];

    /// The TraceQL literal for this status (`ok`, `error`, `unset`).
    pub fn literal(self) -> &'static str {
        match self {
            Status::Unset => "unset",
            Status::Ok => "ok",
            Status::Error => "error",
        }
    }
}

impl Kind {
    /// Every kind with its TraceQL literal.
    pub const ALL: [(Kind, &'static str); 6] = [
        (Kind::Unspecified, "unspecified"),
        (Kind::Internal, "internal"),
        (Kind::Server, "server"),
        (Kind::Client, "client"),
        (Kind::Producer, "producer"),
        (Kind::Consumer, "consumer"),
    ];

    /// The TraceQL literal for this kind (`server`, `client`, …).
    pub fn literal(self) -> &'static str {
        match self {
            Kind::Unspecified => "unspecified",
            Kind::Internal => "internal",
            Kind::Server => "server",
            Kind::Client => "client",
            Kind::Producer => "producer",
            Kind::Consumer => "consumer",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.literal())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.literal())
    }
}

/// One trace as the evaluator sees it: spans by index `0..len()`.
///
/// Contract: every method taking `span` is only called with
/// `span < self.len()`; implementations may panic otherwise. Answers must
/// be stable for the lifetime of the borrow (the evaluator may ask twice).
pub trait TraceView {
    /// Number of spans in the trace.
    fn len(&self) -> usize;
    /// Whether the trace has no spans (no query matches it).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The span's name (`span:name`).
    fn name(&self, span: usize) -> &str;
    /// The span's status code (`span:status`).
    fn status(&self, span: usize) -> Status;
    /// The span's status message (`span:statusMessage`), empty if none.
    fn status_message(&self, span: usize) -> &str;
    /// The span's kind (`span:kind`).
    fn kind(&self, span: usize) -> Kind;
    /// The span's duration in nanoseconds (`span:duration`).
    fn duration_ns(&self, span: usize) -> u64;
    /// Index of the span's parent within this trace, `None` for a root or a
    /// parent not present. Following parents must not cycle; the evaluator
    /// stops after `len()` steps if it does.
    fn parent(&self, span: usize) -> Option<usize>;
    /// The span attribute `key` (`span.key`), `None` if absent.
    fn span_attr(&self, span: usize, key: &str) -> Option<Value<'_>>;
    /// The attribute `key` of the span's resource (`resource.key`), `None`
    /// if absent.
    fn resource_attr(&self, span: usize, key: &str) -> Option<Value<'_>>;
    /// The root span's name (`trace:rootName`), `None` without a root.
    fn root_name(&self) -> Option<&str>;
    /// The root span's `service.name` (`trace:rootService`), `None` without
    /// a root.
    fn root_service_name(&self) -> Option<&str>;
    /// End of the last span minus start of the first, in nanoseconds
    /// (`trace:duration`).
    fn trace_duration_ns(&self) -> u64;
    /// The span's id as lowercase hex (`span:id`). The default knows none,
    /// so comparisons on `span:id` are false.
    fn span_id(&self, _span: usize) -> Option<&str> {
        None
    }
    /// The span's parent id as lowercase hex (`span:parentID`), `None` for
    /// a root. The default knows none.
    fn parent_id(&self, _span: usize) -> Option<&str> {
        None
    }
    /// The trace id as lowercase hex (`trace:id`). The default knows none.
    fn trace_id(&self) -> Option<&str> {
        None
    }
}
