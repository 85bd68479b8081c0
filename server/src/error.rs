//! The server's one error type and the one place errors become HTTP status
//! codes and Prometheus `errorType`s.

use hyper::StatusCode;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request itself is wrong (400 `bad_data`).
    #[error("{0}")]
    BadData(String),
    /// A query that parsed but failed to evaluate (422 `execution`).
    #[error("{0}")]
    Execution(String),
    /// A query that ran out of time (503 `timeout`).
    #[error("{0}")]
    Timeout(String),
    /// A query that was cancelled (503 `canceled`).
    #[error("{0}")]
    Canceled(String),
    /// The server cannot serve this now (503 `unavailable`).
    #[error("{0}")]
    Unavailable(String),
    /// Too much: the body is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// Overloaded ingest: retry later (429 with `Retry-After`).
    #[error("{0}")]
    Overloaded(String),
    /// No such endpoint (404 `not_found`).
    #[error("{0}")]
    NotFound(String),
    /// Method not allowed on this endpoint (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A storage failure that is the server's fault (500 `internal`).
    #[error("{0}")]
    Internal(String),
    /// A write stored in part: 400 `bad_data` (429 when `retry`, for
    /// senders that should retry), with the written counts as headers.
    #[error("{message}")]
    PartialWrite {
        message: String,
        retry: bool,
        headers: Vec<(&'static str, String)>,
    },
    /// An OTLP receiver's error: the status is `inner`'s; the body is a
    /// `google.rpc.Status` in the request's encoding (JSON when `json`).
    #[error("{inner}")]
    Otlp { inner: Box<ApiError>, json: bool },
    /// A Jaeger query API error: the status is the inner error's; the body
    /// is Jaeger's envelope with `errors: [{code, msg}]`.
    #[error("{0}")]
    Jaeger(Box<ApiError>),
    /// A Loki API error: the status is the inner error's; the body is the
    /// message as plain text, as Loki answers.
    #[error("{0}")]
    Loki(Box<ApiError>),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadData(_) => StatusCode::BAD_REQUEST,
            ApiError::Execution(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Timeout(_) | ApiError::Canceled(_) | ApiError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Overloaded(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::PartialWrite { retry: false, .. } => StatusCode::BAD_REQUEST,
            ApiError::PartialWrite { retry: true, .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Otlp { inner, .. } | ApiError::Jaeger(inner) | ApiError::Loki(inner) => {
                inner.status()
            }
        }
    }

    /// Headers the answer carries besides the status.
    pub fn headers(&self) -> &[(&'static str, String)] {
        match self {
            ApiError::PartialWrite { headers, .. } => headers,
            ApiError::Otlp { inner, .. } | ApiError::Jaeger(inner) | ApiError::Loki(inner) => {
                inner.headers()
            }
            _ => &[],
        }
    }

    /// Prometheus's `errorType` for the JSON envelope.
    pub fn error_type(&self) -> &'static str {
        match self {
            ApiError::BadData(_)
            | ApiError::TooLarge(_)
            | ApiError::MethodNotAllowed
            | ApiError::PartialWrite { .. } => "bad_data",
            ApiError::Execution(_) => "execution",
            ApiError::Timeout(_) => "timeout",
            ApiError::Canceled(_) => "canceled",
            ApiError::Unavailable(_) | ApiError::Overloaded(_) => "unavailable",
            ApiError::NotFound(_) => "not_found",
            ApiError::Internal(_) => "internal",
            ApiError::Otlp { inner, .. } | ApiError::Jaeger(inner) | ApiError::Loki(inner) => {
                inner.error_type()
            }
        }
    }

    /// Seconds a sender should wait before retrying, for overload errors.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            ApiError::Overloaded(_) | ApiError::Unavailable(_) => Some(1),
            ApiError::Otlp { inner, .. } | ApiError::Jaeger(inner) | ApiError::Loki(inner) => {
                inner.retry_after()
            }
            _ => None,
        }
    }
}

impl From<promql::Error> for ApiError {
    fn from(e: promql::Error) -> Self {
        use promql::Error as E;
        match e {
            E::Parse { .. } => ApiError::BadData(e.to_string()),
            E::Timeout(_) => ApiError::Timeout(e.to_string()),
            E::Canceled(_) => ApiError::Canceled(e.to_string()),
            E::Storage(_) => ApiError::Internal(e.to_string()),
            _ => ApiError::Execution(e.to_string()),
        }
    }
}

impl From<tsdb::Error> for ApiError {
    fn from(e: tsdb::Error) -> Self {
        use tsdb::Error as E;
        match e {
            E::OutOfOrder { .. }
            | E::OutOfBounds { .. }
            | E::DuplicateSample { .. }
            | E::InvalidLabels { .. }
            | E::InvalidRegex { .. }
            | E::CardinalityLimit { .. }
            | E::UnknownSeries { .. } => ApiError::BadData(e.to_string()),
            // A full disk frees up and a closed database restarts: retry.
            E::Closed { .. } | E::StorageFull { .. } => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// This error as an OTLP receiver answers it.
    pub fn otlp(self, json: bool) -> ApiError {
        match self {
            e @ ApiError::Otlp { .. } => e,
            e => ApiError::Otlp {
                inner: Box::new(e),
                json,
            },
        }
    }

    /// This error as the Jaeger query API answers it.
    pub fn jaeger(self) -> ApiError {
        match self {
            e @ ApiError::Jaeger(_) => e,
            e => ApiError::Jaeger(Box::new(e)),
        }
    }

    /// This error as the Loki API answers it.
    pub fn loki(self) -> ApiError {
        match self {
            e @ ApiError::Loki(_) => e,
            e => ApiError::Loki(Box::new(e)),
        }
    }

    /// The gRPC status code of this error (`google.rpc.Code`).
    pub fn grpc_code(&self) -> i32 {
        match self.status().as_u16() {
            400 | 404 | 405 | 422 => 3, // INVALID_ARGUMENT
            413 | 429 => 8,             // RESOURCE_EXHAUSTED
            503 => 14,                  // UNAVAILABLE
            _ => 13,                    // INTERNAL
        }
    }
}

impl From<traces::Error> for ApiError {
    fn from(e: traces::Error) -> Self {
        match e {
            traces::Error::Tsdb(e) => e.into(),
            e @ (traces::Error::InvalidTraceId { .. } | traces::Error::TraceQl(_)) => {
                ApiError::BadData(e.to_string())
            }
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<logs::Error> for ApiError {
    fn from(e: logs::Error) -> Self {
        match e {
            logs::Error::Tsdb(e) => e.into(),
            e @ (logs::Error::LogQl(_) | logs::Error::BadQuery(_)) => {
                ApiError::BadData(e.to_string())
            }
            e => ApiError::Internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_errors_map_to_prometheus_statuses() {
        let parse = promql::parse("sum(").err().map(ApiError::from);
        let cases: Vec<(&str, ApiError, u16, &str)> = vec![
            (
                "parse",
                parse.unwrap_or(ApiError::Internal(String::new())),
                400,
                "bad_data",
            ),
            (
                "execution",
                promql::Error::Execution("many-to-many".into()).into(),
                422,
                "execution",
            ),
            (
                "too_many_samples",
                promql::Error::TooManySamples("query execution").into(),
                422,
                "execution",
            ),
            (
                "timeout",
                promql::Error::Timeout("query execution").into(),
                503,
                "timeout",
            ),
            (
                "canceled",
                promql::Error::Canceled("query execution").into(),
                503,
                "canceled",
            ),
            (
                "storage",
                promql::Error::Storage("disk".into()).into(),
                500,
                "internal",
            ),
        ];
        for (name, e, status, ty) in cases {
            assert_eq!(e.status().as_u16(), status, "{name}");
            assert_eq!(e.error_type(), ty, "{name}");
        }
    }
}

/// Why a WebSocket session ends early: after the upgrade, so a close frame
/// with [`close_code`](WsError::close_code) rather than an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    #[error("websocket I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The peer broke RFC 6455 (an unmasked frame, a fragmented control
    /// frame, a reserved bit or opcode).
    #[error("websocket protocol: {0}")]
    Protocol(&'static str),
    #[error("websocket message of {0} bytes is over the limit")]
    TooLarge(u64),
}

impl WsError {
    /// The close code (RFC 6455 §7.4.1) that says why.
    pub fn close_code(&self) -> u16 {
        match self {
            WsError::Io(_) => 1011,
            WsError::Protocol(_) => 1002,
            WsError::TooLarge(_) => 1009,
        }
    }
}
