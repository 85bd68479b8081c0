//! Configuration: command-line flags and an optional YAML file with the
//! same settings. A flag given on the command line wins over the file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use rules::config::{AlertmanagerConfig, BasicAuth};

mod logs;
mod traces;

pub use logs::LogsConfig;
pub use traces::{SpanMetricsConfig, TailSamplingConfig, TracesConfig};

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
    /// Downsampling tiers (none by default). Read at start; a reload
    /// checks them.
    pub downsampling: DownsamplingConfig,
    /// Raw retention per selector, first match wins (none by default).
    /// Read at start; a reload checks them.
    pub retention_rules: Vec<RetentionRuleConfig>,
    /// Accept samples up to this far behind the newest (`0s` = none).
    pub out_of_order_window: String,
    /// `interval:<dur>` (written before acknowledging, fsynced every
    /// `dur`; default `interval:1s`, the durability of Prometheus's and
    /// VictoriaMetrics' ingest), `always` (fsync before acknowledging),
    /// `never`.
    pub wal_sync: String,
    /// Cardinality limits on series creation.
    pub limits: LimitsConfig,
    /// Largest accepted request body, compressed and decompressed (bytes).
    pub max_request_bytes: usize,
    pub max_decompressed_bytes: usize,
    /// Most bytes of remote-write bodies (compressed plus decompressed)
    /// in flight at once; more gets 429 with `Retry-After`. 0 = no limit.
    pub max_inflight_write_bytes: usize,
    /// Query limits.
    pub query_timeout: String,
    pub query_max_samples: usize,
    pub lookback_delta: String,
    /// How often maintenance (compaction, retention) runs.
    pub maintenance_interval: String,
    /// Log filter, `tracing-subscriber` syntax (`info`, `warn,server=debug`).
    pub log_level: String,
    /// Rule files (globs allowed), as Prometheus's `rule_files`.
    pub rule_files: Vec<String>,
    /// Rule files whose expressions are LogQL metric queries over the log
    /// store (Loki's ruler format); results and alerts go where the
    /// PromQL rules' go.
    pub log_rule_files: Vec<String>,
    /// Interval of rule groups that set none.
    pub evaluation_interval: String,
    /// `query_offset` of rule groups that set none.
    pub rule_query_offset: String,
    /// Labels attached to alerts sent to Alertmanager (`$externalLabels`).
    pub external_labels: BTreeMap<String, String>,
    /// Base URL of this server for alerts' `generatorURL` and
    /// `$externalURL`; empty means `http://<listen>`.
    pub external_url: String,
    /// Alertmanagers to send alerts to.
    pub alertmanagers: Vec<AlertmanagerConfig>,
    /// Alerts waiting per Alertmanager; more are dropped and counted.
    pub notification_queue_capacity: usize,
    /// Restore alerts' `for` state only from series this recent.
    pub for_outage_tolerance: String,
    /// Least time an alert stays pending after its `for` state is restored.
    pub for_grace_period: String,
    /// How often firing alerts are sent again.
    pub resend_delay: String,
    /// The OpenTelemetry metrics receiver (`/v1/metrics`).
    pub otlp: OtlpConfig,
    /// The span store.
    pub traces: TracesConfig,
    /// The log store's limits.
    pub logs: LogsConfig,
}

/// The `limits:` section: cardinality limits that refuse only the new
/// series that break them (0 = unlimited). Reloads apply them to series
/// created afterwards; existing series are never dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_series: u64,
    pub max_series_per_metric: u64,
    pub max_series_per_metric_overrides: BTreeMap<String, u64>,
    pub max_labels_per_series: u64,
    pub max_label_name_bytes: u64,
    pub max_label_value_bytes: u64,
    /// Series selectors whose series are counted but never refused by the
    /// per-metric limit.
    pub exempt: Vec<String>,
    /// New series per minute (0 = unlimited): a token bucket whose burst
    /// is a minute's worth; a write refused by it alone gets 429 with
    /// `Retry-After`.
    pub max_new_series_per_minute: u64,
    /// Distinct values of one label name in the head (0 = unlimited).
    pub max_values_per_label_name: u64,
    /// The status of a write that had series refused: 400, or 429 for
    /// senders that should retry.
    pub series_limit_status: u16,
    /// Series one cardinality-explorer request may read for `match[]` or
    /// a time range; more is refused with 422 (0 = unlimited).
    pub max_explorer_series: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_series: 0,
            max_series_per_metric: 0,
            max_series_per_metric_overrides: BTreeMap::new(),
            max_labels_per_series: 64,
            max_label_name_bytes: 1024,
            max_label_value_bytes: 4096,
            exempt: vec![r#"{__name__=~"up|ALERTS|ALERTS_FOR_STATE"}"#.to_string()],
            max_new_series_per_minute: 0,
            max_values_per_label_name: 0,
            series_limit_status: 400,
            max_explorer_series: 1_000_000,
        }
    }
}

/// One `retention_rules:` entry: `{match: '{env="dev"}', retention: 3d}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRuleConfig {
    /// A series selector.
    pub r#match: String,
    /// Raw retention of the series it matches (`0` = forever).
    pub retention: String,
}

impl Config {
    /// The storage's retention rules.
    pub fn retention_rules(&self) -> Result<Vec<tsdb::db::RetentionRule>, ConfigError> {
        let mut out = Vec::with_capacity(self.retention_rules.len());
        for (i, r) in self.retention_rules.iter().enumerate() {
            let matchers = promql::parse_series_selector(&r.r#match).map_err(|e| {
                bad(
                    &format!("retention_rules[{i}].match"),
                    format!("{:?}: {e}", r.r#match),
                )
            })?;
            out.push(tsdb::db::RetentionRule {
                matchers,
                retention: Self::duration(
                    &format!("retention_rules[{i}].retention"),
                    &r.retention,
                )?,
            });
        }
        Ok(out)
    }
}

/// The `downsampling:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DownsamplingConfig {
    /// Finest first; each resolution a multiple of the previous one.
    pub tiers: Vec<TierConfig>,
    /// Metric-name suffixes of counters, whose tiers keep no sum (absent:
    /// `_total`, `_bucket`, `_count`; `[]` keeps every sum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter_suffixes: Option<Vec<String>>,
    /// Optional columns: `stddev` (stddev/stdvar_over_time), `deriv`
    /// (deriv, predict_linear).
    pub columns: Vec<String>,
}

/// One tier: `{resolution: 5m, after: 36h, retention: 90d}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    pub resolution: String,
    /// Built once the data is this old (from the newest sample).
    pub after: String,
    /// Kept this long (`0` = forever).
    pub retention: String,
}

impl DownsamplingConfig {
    /// The storage's tiers, checked against the raw retention (ms).
    pub fn to_tsdb(&self, raw_retention: i64) -> Result<tsdb::downsample::Tiers, ConfigError> {
        let mut tiers = Vec::with_capacity(self.tiers.len());
        for (i, t) in self.tiers.iter().enumerate() {
            let field = |k: &str| format!("downsampling.tiers[{i}].{k}");
            tiers.push(tsdb::downsample::Tier {
                resolution: Config::duration(&field("resolution"), &t.resolution)?,
                after: Config::duration(&field("after"), &t.after)?,
                retention: Config::duration(&field("retention"), &t.retention)?,
            });
        }
        let tiers = tsdb::downsample::Tiers(tiers);
        tiers
            .validate(raw_retention, tsdb::db::DbOptions::default().block_range)
            .map_err(|e| match e {
                tsdb::Error::InvalidOption { reason, .. } => bad("downsampling.tiers", reason),
                other => bad("downsampling.tiers", other.to_string()),
            })?;
        Ok(tiers)
    }
}

impl LimitsConfig {
    /// The storage's limits; a selector that does not parse is an error.
    pub fn to_tsdb(&self) -> Result<tsdb::limits::Limits, ConfigError> {
        let mut exempt = Vec::with_capacity(self.exempt.len());
        for sel in &self.exempt {
            let ms = promql::parse_series_selector(sel).map_err(|e| ConfigError {
                field: "limits.exempt".into(),
                reason: format!("{sel:?}: {e}"),
            })?;
            exempt.push(ms);
        }
        if !matches!(self.series_limit_status, 400 | 429) {
            return Err(ConfigError {
                field: "limits.series_limit_status".into(),
                reason: format!("{} is neither 400 nor 429", self.series_limit_status),
            });
        }
        Ok(tsdb::limits::Limits {
            max_series: self.max_series,
            max_series_per_metric: self.max_series_per_metric,
            max_series_per_metric_overrides: self.max_series_per_metric_overrides.clone(),
            max_labels_per_series: self.max_labels_per_series,
            max_label_name_bytes: self.max_label_name_bytes,
            max_label_value_bytes: self.max_label_value_bytes,
            exempt,
            max_new_series_per_minute: self.max_new_series_per_minute,
            max_values_per_label_name: self.max_values_per_label_name,
        })
    }
}

/// OTLP metrics translation, as Prometheus's `otlp:` section names it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpConfig {
    /// How metric and label names are translated.
    pub translation_strategy: TranslationStrategy,
    /// Resource attributes copied as labels onto every series of their
    /// resource (all of them are on `target_info` anyway).
    pub promote_resource_attributes: Vec<String>,
    /// Explicit-bucket histograms become custom-bucket native histograms
    /// instead of classic `_bucket`/`_sum`/`_count` series.
    pub convert_histograms_to_nhcb: bool,
}

/// Prometheus's `otlp.translation_strategy` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TranslationStrategy {
    /// Names escaped to `[a-zA-Z0-9_:]`, with unit and type suffixes.
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// Names escaped, no suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// UTF-8 names kept as they are, with suffixes.
    #[serde(rename = "NoUTF8EscapingWithSuffixes")]
    NoUtf8EscapingWithSuffixes,
    /// Names kept exactly as sent: no escaping, no suffixes.
    NoTranslation,
}

impl TranslationStrategy {
    /// Whether names are escaped to the classic character set.
    pub fn escapes(self) -> bool {
        matches!(
            self,
            TranslationStrategy::UnderscoreEscapingWithSuffixes
                | TranslationStrategy::UnderscoreEscapingWithoutSuffixes
        )
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.to_string(),
            data_dir: PathBuf::from("./data"),
            retention: "15d".to_string(),
            retention_size: 0,
            out_of_order_window: "0s".to_string(),
            wal_sync: "interval:1s".to_string(),
            limits: LimitsConfig::default(),
            max_request_bytes: 32 << 20,
            max_decompressed_bytes: 256 << 20,
            max_inflight_write_bytes: 1 << 30,
            query_timeout: "2m".to_string(),
            query_max_samples: 50_000_000,
            lookback_delta: "5m".to_string(),
            maintenance_interval: "1m".to_string(),
            log_level: "info".to_string(),
            rule_files: Vec::new(),
            log_rule_files: Vec::new(),
            evaluation_interval: "1m".to_string(),
            rule_query_offset: "0s".to_string(),
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            alertmanagers: Vec::new(),
            notification_queue_capacity: 10_000,
            for_outage_tolerance: "1h".to_string(),
            for_grace_period: "10m".to_string(),
            resend_delay: "1m".to_string(),
            otlp: OtlpConfig::default(),
            traces: TracesConfig::default(),
            logs: LogsConfig::default(),
            downsampling: DownsamplingConfig::default(),
            retention_rules: Vec::new(),
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
    /// Reads a YAML config file (unknown keys are errors); relative
    /// `rule_files` are taken relative to the file's directory.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(&path.display().to_string(), e.to_string()))?;
        let mut cfg: Config = serde_yaml_ng::from_str(&text)
            .map_err(|e| bad(&path.display().to_string(), e.to_string()))?;
        // As in Prometheus, relative rule files are relative to the file.
        if let Some(dir) = path.parent() {
            for f in cfg
                .rule_files
                .iter_mut()
                .chain(cfg.log_rule_files.iter_mut())
            {
                if Path::new(f.as_str()).is_relative() {
                    *f = dir.join(&*f).display().to_string();
                }
            }
        }
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

    pub fn evaluation_interval_ms(&self) -> Result<i64, ConfigError> {
        match Self::duration("evaluation_interval", &self.evaluation_interval)? {
            0 => Err(bad("evaluation_interval", "must be positive")),
            d => Ok(d),
        }
    }

    pub fn rule_query_offset_ms(&self) -> Result<i64, ConfigError> {
        Self::duration("rule_query_offset", &self.rule_query_offset)
    }

    pub fn for_outage_tolerance_ms(&self) -> Result<i64, ConfigError> {
        Self::duration("for_outage_tolerance", &self.for_outage_tolerance)
    }

    pub fn for_grace_period_ms(&self) -> Result<i64, ConfigError> {
        Self::duration("for_grace_period", &self.for_grace_period)
    }

    pub fn resend_delay_ms(&self) -> Result<i64, ConfigError> {
        Self::duration("resend_delay", &self.resend_delay)
    }

    /// What the rule manager needs of this configuration; a setting that
    /// does not parse takes its default (`validate` reports it).
    pub fn rules_config(&self) -> rules::ManagerConfig {
        let defaults = rules::ManagerConfig::default();
        rules::ManagerConfig {
            rule_files: self.rule_files.clone(),
            log_rule_files: self.log_rule_files.clone(),
            evaluation_interval_ms: self
                .evaluation_interval_ms()
                .unwrap_or(defaults.evaluation_interval_ms),
            query_offset_ms: self
                .rule_query_offset_ms()
                .unwrap_or(defaults.query_offset_ms),
            engine: promql::eval::EngineOptions {
                lookback: self.lookback_ms().unwrap_or(defaults.engine.lookback),
                max_samples: self.query_max_samples,
                timeout: self
                    .query_timeout_ms()
                    .ok()
                    .filter(|t| *t > 0)
                    .map(|t| std::time::Duration::from_millis(t as u64)),
                ..defaults.engine
            },
            external_labels: self.external_labels.clone(),
            external_url: self.external_url_or_default(),
            resend_ms: self.resend_delay_ms().unwrap_or(defaults.resend_ms).max(1),
            outage_tolerance_ms: self
                .for_outage_tolerance_ms()
                .unwrap_or(defaults.outage_tolerance_ms),
            grace_ms: self.for_grace_period_ms().unwrap_or(defaults.grace_ms),
            alertmanagers: self.alertmanagers.clone(),
            notification_queue_capacity: self.notification_queue_capacity,
        }
    }

    /// `external_url`, or `http://<listen>` when unset, without a trailing `/`.
    pub fn external_url_or_default(&self) -> String {
        let u = if self.external_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.external_url.clone()
        };
        u.trim_end_matches('/').to_string()
    }

    fn check_alertmanagers(&self) -> Result<(), ConfigError> {
        for (i, am) in self.alertmanagers.iter().enumerate() {
            let field = format!("alertmanagers[{i}]");
            if !am.url.starts_with("http://") || am.url.parse::<hyper::Uri>().is_err() {
                return Err(bad(
                    &field,
                    format!("url {:?} is not an http:// URL", am.url),
                ));
            }
            Self::duration(&format!("{field}.timeout"), &am.timeout)?;
        }
        for k in self.external_labels.keys() {
            if k.is_empty() || k == "__name__" {
                return Err(bad("external_labels", format!("invalid label name {k:?}")));
            }
        }
        Ok(())
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
        self.limits.to_tsdb()?;
        self.downsampling.to_tsdb(self.retention_ms()?)?;
        self.db_options()?;
        self.ooo_window_ms()?;
        self.query_timeout_ms()?;
        self.lookback_ms()?;
        self.maintenance_ms()?;
        self.wal_sync_policy()?;
        self.evaluation_interval_ms()?;
        self.rule_query_offset_ms()?;
        self.for_outage_tolerance_ms()?;
        self.for_grace_period_ms()?;
        self.resend_delay_ms()?;
        self.check_alertmanagers()?;
        self.check_otlp()?;
        self.traces.to_options()?;
        self.logs.to_options()?;
        Ok(())
    }

    fn check_otlp(&self) -> Result<(), ConfigError> {
        let attrs = &self.otlp.promote_resource_attributes;
        for (i, a) in attrs.iter().enumerate() {
            if a.trim().is_empty() {
                return Err(bad("otlp.promote_resource_attributes", "empty attribute"));
            }
            if attrs[..i].contains(a) {
                return Err(bad(
                    "otlp.promote_resource_attributes",
                    format!("duplicated attribute {a:?}"),
                ));
            }
        }
        Ok(())
    }

    /// Storage options for `Db::open`.
    pub fn db_options(&self) -> Result<tsdb::db::DbOptions, ConfigError> {
        let mut o = tsdb::db::DbOptions::default();
        o.retention.time = self.retention_ms()?;
        o.retention.size = self.retention_size;
        o.ooo_window = self.ooo_window_ms()?;
        o.limits = self.limits.to_tsdb()?;
        o.downsampling = self.downsampling.to_tsdb(o.retention.time)?;
        o.tier_columns = tsdb::downsample::Columns::from_names(&self.downsampling.columns)
            .map_err(|name| {
                bad(
                    "downsampling.columns",
                    format!("unknown column {name:?} (stddev, deriv)"),
                )
            })?;
        if let Some(suffixes) = &self.downsampling.counter_suffixes {
            o.counter_suffixes = tsdb::downsample::CounterSuffixes(suffixes.clone());
        }
        o.retention_rules = self.retention_rules()?;
        o.validate().map_err(|e| match e {
            tsdb::Error::InvalidOption { name, reason } => bad(name, reason),
            other => bad("storage", other.to_string()),
        })?;
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
    fn otlp_section_parses_as_prometheus_names_it() {
        let yaml = "otlp:\n  translation_strategy: NoUTF8EscapingWithSuffixes\n  \
                    promote_resource_attributes: [service.version]\n  \
                    convert_histograms_to_nhcb: true\n";
        let c: Config = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(
            c.otlp.translation_strategy,
            TranslationStrategy::NoUtf8EscapingWithSuffixes
        );
        assert_eq!(c.otlp.promote_resource_attributes, ["service.version"]);
        assert!(c.otlp.convert_histograms_to_nhcb);
        c.validate().unwrap();
    }

    #[test]
    fn downsampling_section_parses_into_tiers() {
        let yaml = "downsampling:\n  tiers:\n    - {resolution: 5m, after: 36h, retention: 90d}\n    \
                    - {resolution: 1h, after: 10d, retention: 2y}\n";
        let c: Config = serde_yaml_ng::from_str(yaml).unwrap();
        c.validate().unwrap();
        let tiers = c.db_options().unwrap().downsampling;
        assert_eq!(
            c.db_options().unwrap().counter_suffixes,
            tsdb::downsample::CounterSuffixes::default()
        );
        let none: Config =
            serde_yaml_ng::from_str("downsampling: {counter_suffixes: []}\n").unwrap();
        assert_eq!(
            none.db_options().unwrap().counter_suffixes,
            tsdb::downsample::CounterSuffixes::none()
        );
        let both: Config =
            serde_yaml_ng::from_str("downsampling: {columns: [stddev, deriv]}\n").unwrap();
        let cols = both.db_options().unwrap().tier_columns;
        assert!(cols.moments && cols.trend);
        let hour = 3_600_000;
        assert_eq!(
            tiers.0,
            [
                tsdb::downsample::Tier {
                    resolution: 300_000,
                    after: 36 * hour,
                    retention: 90 * 24 * hour
                },
                tsdb::downsample::Tier {
                    resolution: hour,
                    after: 240 * hour,
                    retention: 2 * 365 * 24 * hour
                },
            ]
        );
    }

    #[test]
    fn retention_rules_parse_in_order() {
        let yaml = "retention_rules:\n  - {match: '{env=\"dev\"}', retention: 3d}\n  \
                    - {match: '{__name__=~\"slo_.*\"}', retention: 400d}\n";
        let c: Config = serde_yaml_ng::from_str(yaml).unwrap();
        c.validate().unwrap();
        let rules = c.db_options().unwrap().retention_rules;
        let day = 24 * 3_600_000;
        assert_eq!(rules.len(), 2);
        assert_eq!(
            (rules[0].retention, rules[1].retention),
            (3 * day, 400 * day)
        );
        assert_eq!(rules[0].matchers[0].value, "dev");
    }

    #[test]
    fn rule_files_are_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yml");
        std::fs::write(&p, "rule_files: [rules/*.yml, /abs/x.yml]\n").unwrap();
        let c = Config::from_file(&p).unwrap();
        let want = dir.path().join("rules/*.yml").display().to_string();
        assert_eq!(c.rule_files, vec![want, "/abs/x.yml".to_string()]);
    }

    #[test]
    fn bad_settings_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[(&str, &str)] = &[
            ("retention: forever\n", "retention"),
            ("listen: nowhere\n", "listen"),
            ("wal_sync: sometimes\n", "wal_sync"),
            ("no_such_key: 1\n", "unknown field"),
            ("evaluation_interval: 0s\n", "evaluation_interval"),
            ("alertmanagers: [{url: 'ftp://x'}]\n", "alertmanagers[0]"),
            (
                "alertmanagers: [{url: 'http://x', timeout: soon}]\n",
                "alertmanagers[0].timeout",
            ),
            (
                "otlp: {translation_strategy: Escaping}\n",
                "unknown variant",
            ),
            (
                "otlp: {promote_resource_attributes: [a, a]}\n",
                "otlp.promote_resource_attributes",
            ),
            (
                "downsampling: {tiers: [{resolution: soon, after: 36h, retention: 90d}]}\n",
                "downsampling.tiers[0].resolution",
            ),
            (
                "retention: 36h\ndownsampling: {tiers: [{resolution: 5m, after: 36h, retention: 90d}]}\n",
                "data would expire",
            ),
            (
                "downsampling: {tiers: [{resolution: 5m, after: 36h, retention: 90d}, {resolution: 7m, after: 10d, retention: 2y}]}\n",
                "not a multiple",
            ),
            (
                "downsampling: {tiers: [{resolution: 5m, after: 36h, retention: 10d}]}\n",
                "keeps nothing",
            ),
            (
                "downsampling: {tiers: [{resolution: 5m, after: 36h}]}\n",
                "missing field `retention`",
            ),
            ("downsampling: {columns: [mad]}\n", "downsampling.columns"),
            (
                "retention_rules: [{match: '{env=dev', retention: 3d}]\n",
                "retention_rules[0].match",
            ),
            (
                "retention_rules: [{match: '{env=\"dev\"}', retention: soon}]\n",
                "retention_rules[0].retention",
            ),
            (
                "downsampling: {tiers: [{resolution: 5m, after: 36h, retention: 90d}]}\nretention_rules: [{match: '{env=\"dev\"}', retention: 1d}]\n",
                "rule 1: raw data kept",
            ),
        ];
        for (yaml, want) in cases {
            let p = dir.path().join("c.yml");
            std::fs::write(&p, yaml).unwrap();
            let err = Config::from_file(&p).unwrap_err().to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }
}
