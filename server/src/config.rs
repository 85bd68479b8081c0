//! Configuration: command-line flags and an optional YAML file with the
//! same settings. A flag given on the command line wins over the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::parse_duration;

/// The default listen address: loopback, on a port that collides with
/// neither Prometheus (9090) nor Alertmanager (9093).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9009";

/// Every setting of a running server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Directory for the WAL and blocks.
    pub data_dir: PathBuf,
    /// Keep data this long (`15d`); `0` keeps it forever.
    pub retention: String,
    /// Keep at most this many bytes of blocks and WAL (0 = unlimited).
    pub retention_size: u64,
    /// Accept samples up to this far behind the newest (`0s` = none).
    pub out_of_order_window: String,
    /// `always` (fsync before acknowledging; default), `interval:<dur>`, `never`.
    pub wal_sync: String,
    /// Maximum series in the head (0 = unlimited).
    pub max_series: u64,
    /// Maximum series per metric name (0 = unlimited).
    pub max_series_per_metric: u64,
    /// Largest accepted request body, compressed and decompressed (bytes).
    pub max_request_bytes: usize,
    pub max_decompressed_bytes: usize,
    /// Query limits.
    pub query_timeout: String,
    pub query_max_samples: usize,
    pub lookback_delta: String,
    /// How often maintenance (compaction, retention) runs.
    pub maintenance_interval: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.to_string(),
            data_dir: PathBuf::from("./data"),
            retention: "15d".to_string(),
            retention_size: 0,
            out_of_order_window: "0s".to_string(),
            wal_sync: "always".to_string(),
            max_series: 0,
            max_series_per_metric: 0,
            max_request_bytes: 32 << 20,
            max_decompressed_bytes: 256 << 20,
            query_timeout: "2m".to_string(),
            query_max_samples: 50_000_000,
            lookback_delta: "5m".to_string(),
            maintenance_interval: "1m".to_string(),
        }
    }
}

/// A setting that cannot work, with the setting's name.
#[derive(Debug, thiserror::Error)]
#[error("config: {field}: {reason}")]
pub struct ConfigError {
    pub field: String,
    pub reason: String,
}

fn bad(field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

impl Config {
    /// Reads a YAML config file (unknown keys are errors).
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(&path.display().to_string(), e.to_string()))?;
        let cfg: Config = serde_yaml_ng::from_str(&text)
            .map_err(|e| bad(&path.display().to_string(), e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|e| bad("listen", format!("{:?}: {e}", self.listen)))
    }

    fn duration(field: &str, v: &str) -> Result<i64, ConfigError> {
        let d = parse_duration(v).map_err(|e| bad(field, e))?;
        if d < 0 {
            return Err(bad(field, "must not be negative"));
        }
        Ok(d)
    }

    pub fn retention_ms(&self) -> Result<i64, ConfigError> {
        Self::duration("retention", &self.retention)
    }

    pub fn ooo_window_ms(&self) -> Result<i64, ConfigError> {
        Self::duration("out_of_order_window", &self.out_of_order_window)
    }

    pub fn query_timeout_ms(&self) -> Result<i64, ConfigError> {
        Self::duration("query_timeout", &self.query_timeout)
    }

    pub fn lookback_ms(&self) -> Result<i64, ConfigError> {
        Self::duration("lookback_delta", &self.lookback_delta)
    }

    pub fn maintenance_ms(&self) -> Result<i64, ConfigError> {
        Self::duration("maintenance_interval", &self.maintenance_interval)
    }

    pub fn wal_sync_policy(&self) -> Result<tsdb::wal::SyncPolicy, ConfigError> {
        use tsdb::wal::SyncPolicy;
        match self.wal_sync.as_str() {
            "always" => Ok(SyncPolicy::Always),
            "never" => Ok(SyncPolicy::Never),
            s => match s.strip_prefix("interval:") {
                Some(d) => Ok(SyncPolicy::Interval(std::time::Duration::from_millis(
                    Self::duration("wal_sync", d)? as u64,
                ))),
                None => Err(bad(
                    "wal_sync",
                    format!("{s:?} is not always, never or interval:<duration>"),
                )),
            },
        }
    }

    /// Checks every setting that can be checked without side effects.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.retention_ms()?;
        self.ooo_window_ms()?;
        self.query_timeout_ms()?;
        self.lookback_ms()?;
        self.maintenance_ms()?;
        self.wal_sync_policy()?;
        Ok(())
    }

    /// Storage options for `Db::open`.
    pub fn db_options(&self) -> Result<tsdb::db::DbOptions, ConfigError> {
        let mut o = tsdb::db::DbOptions::default();
        o.retention.time = self.retention_ms()?;
        o.retention.size = self.retention_size;
        o.ooo_window = self.ooo_window_ms()?;
        o.limits.max_series = self.max_series;
        o.limits.max_series_per_metric = self.max_series_per_metric;
        o.wal.sync = self.wal_sync_policy()?;
        Ok(o)
    }

    pub fn retention_description(&self) -> String {
        match (self.retention.as_str(), self.retention_size) {
            ("0" | "0s", 0) => "unlimited".to_string(),
            (t, 0) => t.to_string(),
            (t, s) => format!("{t} or {s}B"),
        }
    }

    /// The settings as `/api/v1/status/flags` shows them (string values).
    pub fn flags(&self) -> std::collections::BTreeMap<String, String> {
        let v = serde_json::to_value(self).unwrap_or_default();
        v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_yaml_round_trips() {
        let c = Config::default();
        c.validate().unwrap();
        let back: Config = serde_yaml_ng::from_str(&c.to_yaml()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn bad_settings_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[(&str, &str)] = &[
            ("retention: forever\n", "retention"),
            ("listen: nowhere\n", "listen"),
            ("wal_sync: sometimes\n", "wal_sync"),
            ("no_such_key: 1\n", "unknown field"),
        ];
        for (yaml, want) in cases {
            let p = dir.path().join("c.yml");
            std::fs::write(&p, yaml).unwrap();
            let err = Config::from_file(&p).unwrap_err().to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }
}
