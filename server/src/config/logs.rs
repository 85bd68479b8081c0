//! The `logs:` section: the log store's limits, named as Loki names them.

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, bad};

/// `retention_stream` entry: streams `selector` picks keep `period`; of
/// the entries matching a stream the highest `priority` wins, then the
/// longest period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionStream {
    pub selector: String,
    #[serde(default)]
    pub priority: u32,
    pub period: String,
}

/// What a push may add. Read at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Longest line in bytes (256 KB).
    pub max_line_size: usize,
    pub max_label_names_per_series: usize,
    pub max_label_name_length: usize,
    pub max_label_value_length: usize,
    /// Streams held at once; a push creating more is answered 429.
    pub max_streams: usize,
    /// Refuse entries older than `reject_old_samples_max_age`.
    pub reject_old_samples: bool,
    pub reject_old_samples_max_age: String,
    /// How far past now an entry's time may be.
    pub creation_grace_period: String,
    /// How far behind its stream's newest entry an entry may be.
    pub out_of_order_time_window: String,
    /// Entries older than this before the newest entry are dropped
    /// (`0s`: kept).
    pub retention: String,
    /// Retention per stream selector, as Loki's `retention_stream`.
    pub retention_stream: Vec<RetentionStream>,
    /// Bytes per second (MiB, as Loki counts) pushes may add, and at once.
    pub ingestion_rate_mb: f64,
    pub ingestion_burst_size_mb: f64,
    /// Longest an entry waits in the head before it is flushed into a
    /// block (Loki's name for how long a chunk stays open).
    pub max_chunk_age: String,
    /// MiB of lines in the head that trigger a flush sooner.
    pub flush_head_mb: usize,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            max_line_size: 256 << 10,
            max_label_names_per_series: 15,
            max_label_name_length: 1024,
            max_label_value_length: 2048,
            max_streams: 5000,
            reject_old_samples: true,
            reject_old_samples_max_age: "1w".into(),
            creation_grace_period: "10m".into(),
            out_of_order_time_window: "1h".into(),
            retention: "30d".into(),
            retention_stream: Vec::new(),
            ingestion_rate_mb: 4.0,
            ingestion_burst_size_mb: 6.0,
            max_chunk_age: "30m".into(),
            flush_head_mb: 256,
        }
    }
}

fn duration(field: &str, v: &str) -> Result<std::time::Duration, ConfigError> {
    let ms = Config::duration(field, v)?;
    Ok(std::time::Duration::from_millis(ms.max(0) as u64))
}

impl LogsConfig {
    /// The log store's options.
    pub fn to_options(&self) -> Result<::logs::Options, ConfigError> {
        for (field, v) in [
            ("logs.max_line_size", self.max_line_size),
            (
                "logs.max_label_names_per_series",
                self.max_label_names_per_series,
            ),
            ("logs.max_label_name_length", self.max_label_name_length),
            ("logs.max_label_value_length", self.max_label_value_length),
            ("logs.max_streams", self.max_streams),
        ] {
            if v == 0 {
                return Err(bad(field, "must be positive"));
            }
        }
        for (field, v) in [
            ("logs.ingestion_rate_mb", self.ingestion_rate_mb),
            ("logs.ingestion_burst_size_mb", self.ingestion_burst_size_mb),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(bad(field, "must be a positive number"));
            }
        }
        let limits = ::logs::admit::Limits {
            ingestion_rate_bytes: self.ingestion_rate_mb * 1048576.0,
            ingestion_burst_bytes: self.ingestion_burst_size_mb * 1048576.0,
            max_line_bytes: self.max_line_size,
            max_label_names: self.max_label_names_per_series,
            max_label_name_bytes: self.max_label_name_length,
            max_label_value_bytes: self.max_label_value_length,
            max_streams: self.max_streams,
            max_age: if self.reject_old_samples {
                Some(duration(
                    "logs.reject_old_samples_max_age",
                    &self.reject_old_samples_max_age,
                )?)
            } else {
                None
            },
            creation_grace: duration("logs.creation_grace_period", &self.creation_grace_period)?,
            out_of_order_window: duration(
                "logs.out_of_order_time_window",
                &self.out_of_order_time_window,
            )?,
        };
        let retention = duration("logs.retention", &self.retention)?;
        let retention_streams = self
            .retention_stream
            .iter()
            .map(|r| {
                let field = "logs.retention_stream";
                let matchers = match ::logs::logql::parse(&r.selector) {
                    Ok(::logs::logql::Expr::Log(l)) if l.pipeline.is_empty() => l.matchers,
                    Ok(_) => {
                        return Err(bad(
                            field,
                            format!("{:?}: expected a stream selector", r.selector),
                        ));
                    }
                    Err(e) => return Err(bad(field, format!("{:?}: {e}", r.selector))),
                };
                Ok(::logs::StreamRetention {
                    matchers,
                    priority: r.priority,
                    period: duration(field, &r.period)?,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(::logs::Options {
            limits,
            retention: (!retention.is_zero()).then_some(retention),
            retention_streams,
            flush_bytes: self.flush_head_mb.max(1) << 20,
            flush_age: duration("logs.max_chunk_age", &self.max_chunk_age)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("defaults", "{}", None),
            (
                "loki names",
                "{max_line_size: 1024, max_streams: 10, reject_old_samples: false}",
                None,
            ),
            (
                "zero line size",
                "{max_line_size: 0}",
                Some("logs.max_line_size: must be positive"),
            ),
            (
                "bad duration",
                "{creation_grace_period: soon}",
                Some("logs.creation_grace_period"),
            ),
            (
                "unknown key",
                "{retention_period: 1d}",
                Some("unknown field"),
            ),
        ];
        for (name, yaml, want) in cases {
            let got = serde_yaml_ng::from_str::<LogsConfig>(yaml)
                .map_err(|e| e.to_string())
                .and_then(|c| c.to_options().map_err(|e| e.to_string()));
            match (got, want) {
                (Ok(_), None) => {}
                (Err(e), Some(w)) => assert!(e.contains(w), "{name}: {e}"),
                (g, w) => panic!("{name}: got {:?}, want {w:?}", g.map(|_| ())),
            }
        }
    }
}
