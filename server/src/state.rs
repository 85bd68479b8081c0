//! What every request handler shares.

use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::RwLock;
use rules::RuleManager;
use tsdb::db::Db;

use crate::config::{Config, ConfigError};
use crate::metadata::MetadataStore;
use crate::metrics::Metrics;
use crate::remote_write::{InflightLimit, SeriesCache, WriteLimits};

/// Shared server state; one per running server, behind an `Arc`. It exists
/// once the storage is open: requests that arrive during WAL replay are
/// answered by [`crate::http::answer_while_replaying`].
pub struct State {
    pub db: Arc<Db>,
    /// The span store, writing through `db`'s WAL.
    pub spans: Arc<traces::SpanStore>,
    /// The log store, writing through `db`'s WAL.
    pub logs: Arc<logs::LogStore>,
    /// What a span may be (read at start).
    pub trace_limits: traces::validate::Limits,
    pub config: RwLock<Config>,
    pub metadata: MetadataStore,
    pub metrics: Metrics,
    pub write_limits: WriteLimits,
    /// Bytes of remote-write bodies being decoded and stored.
    pub write_inflight: InflightLimit,
    /// Remote-write series by the raw bytes of their labels.
    pub series_cache: SeriesCache,
    pub started: SystemTime,
    /// Re-reads the configuration (file + flags) for `/-/reload` and SIGHUP.
    pub reloader: RwLock<Option<Reloader>>,
    /// Recording and alerting rules.
    pub rules: RuleManager,
    /// Which metrics are queried, by whom (`metric_names_stats`).
    pub usage: Arc<crate::cardinality::usage::MetricUsage>,
}

impl State {
    /// The database as API reads see it: every selection is recorded in
    /// [`usage`](Self::usage).
    pub fn api_reads(&self) -> crate::cardinality::usage::RecordingStorage {
        crate::cardinality::usage::RecordingStorage {
            inner: self.db.clone(),
            usage: self.usage.clone(),
            source: crate::cardinality::usage::Source::Api,
        }
    }
}

/// Produces a fresh configuration.
pub type Reloader = Box<dyn Fn() -> Result<Config, ConfigError> + Send + Sync>;

impl State {
    pub fn set_reloader(&self, r: Reloader) {
        *self.reloader.write() = Some(r);
    }

    /// Re-reads the configuration. Settings read per request (limits,
    /// query settings), cardinality limits (for series created afterwards)
    /// and rule files apply at once (invalid rule files fail the reload
    /// and keep the running rules); other storage settings apply at
    /// restart.
    pub fn reload(&self) -> Result<(), ConfigError> {
        let fresh = match &*self.reloader.read() {
            Some(r) => r()?,
            None => return Ok(()),
        };
        fresh.validate()?;
        self.rules
            .apply(&fresh.rules_config())
            .map_err(|errs| ConfigError {
                field: "rule_files".into(),
                reason: rules::join_rule_errors(&errs),
            })?;
        self.db.set_limits(fresh.limits.to_tsdb()?);
        *self.config.write() = fresh;
        Ok(())
    }
}
